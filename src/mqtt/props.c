/* SPDX-License-Identifier: MIT */
/*
 * Property blocks (MQTT 5.0 2.2.2): a Variable Byte Integer length, then
 * identifier/value pairs. "Validate once, iterate lazily": hmq_props_read()
 * checks the whole block when a packet is decoded (known ids, allowed in
 * this packet, no forbidden repeats, values in range, UTF-8) and fills the
 * flat hmq_props; repeated properties (User Property, Subscription
 * Identifier) are walked later with hmq_props_next() over the raw bytes.
 *
 * One table describes every property: its value type and where it lives in
 * hmq_props. Reading, writing, sizing and iterating all use it, so the four
 * cannot disagree.
 */
#include "mqtt/wire.h"

#include <stddef.h>
#include <string.h>

enum hmq_prop_kind {
  HMQ_PK_NONE = 0, /* not a property id */
  HMQ_PK_BYTE,     /* Byte; every Byte property of MQTT 5 is 0 or 1 */
  HMQ_PK_U16,      /* Two Byte Integer */
  HMQ_PK_U32,      /* Four Byte Integer */
  HMQ_PK_VARINT,   /* Variable Byte Integer (Subscription Identifier) */
  HMQ_PK_STR,      /* UTF-8 Encoded String */
  HMQ_PK_BIN,      /* Binary Data */
  HMQ_PK_PAIR      /* UTF-8 String Pair (User Property) */
};

#define HMQ_PROP_MAX_ID 0x2A

#define HMQ_PD(kind, member)                                                                       \
  { kind, (uint16_t)offsetof(hmq_props, member) }

static const struct {
  uint8_t kind;
  uint16_t off; /* offset of the value in hmq_props */
} hmq_prop_defs[HMQ_PROP_MAX_ID + 1] = {
    [HMQ_PROP_PAYLOAD_FORMAT] = HMQ_PD(HMQ_PK_BYTE, payload_format),
    [HMQ_PROP_MESSAGE_EXPIRY] = HMQ_PD(HMQ_PK_U32, message_expiry),
    [HMQ_PROP_CONTENT_TYPE] = HMQ_PD(HMQ_PK_STR, content_type),
    [HMQ_PROP_RESPONSE_TOPIC] = HMQ_PD(HMQ_PK_STR, response_topic),
    [HMQ_PROP_CORRELATION_DATA] = HMQ_PD(HMQ_PK_BIN, correlation_data),
    [HMQ_PROP_SUBSCRIPTION_ID] = HMQ_PD(HMQ_PK_VARINT, subscription_id),
    [HMQ_PROP_SESSION_EXPIRY] = HMQ_PD(HMQ_PK_U32, session_expiry),
    [HMQ_PROP_ASSIGNED_CLIENT_ID] = HMQ_PD(HMQ_PK_STR, assigned_client_id),
    [HMQ_PROP_SERVER_KEEP_ALIVE] = HMQ_PD(HMQ_PK_U16, server_keep_alive),
    [HMQ_PROP_AUTH_METHOD] = HMQ_PD(HMQ_PK_STR, auth_method),
    [HMQ_PROP_AUTH_DATA] = HMQ_PD(HMQ_PK_BIN, auth_data),
    [HMQ_PROP_REQUEST_PROBLEM_INFO] = HMQ_PD(HMQ_PK_BYTE, request_problem_info),
    [HMQ_PROP_WILL_DELAY] = HMQ_PD(HMQ_PK_U32, will_delay),
    [HMQ_PROP_REQUEST_RESPONSE_INFO] = HMQ_PD(HMQ_PK_BYTE, request_response_info),
    [HMQ_PROP_RESPONSE_INFO] = HMQ_PD(HMQ_PK_STR, response_info),
    [HMQ_PROP_SERVER_REFERENCE] = HMQ_PD(HMQ_PK_STR, server_reference),
    [HMQ_PROP_REASON_STRING] = HMQ_PD(HMQ_PK_STR, reason_string),
    [HMQ_PROP_RECEIVE_MAX] = HMQ_PD(HMQ_PK_U16, receive_max),
    [HMQ_PROP_TOPIC_ALIAS_MAX] = HMQ_PD(HMQ_PK_U16, topic_alias_max),
    [HMQ_PROP_TOPIC_ALIAS] = HMQ_PD(HMQ_PK_U16, topic_alias),
    [HMQ_PROP_MAX_QOS] = HMQ_PD(HMQ_PK_BYTE, max_qos),
    [HMQ_PROP_RETAIN_AVAILABLE] = HMQ_PD(HMQ_PK_BYTE, retain_available),
    [HMQ_PROP_USER] = HMQ_PD(HMQ_PK_PAIR, user),
    [HMQ_PROP_MAX_PACKET_SIZE] = HMQ_PD(HMQ_PK_U32, max_packet_size),
    [HMQ_PROP_WILDCARD_SUB_AVAILABLE] = HMQ_PD(HMQ_PK_BYTE, wildcard_sub_available),
    [HMQ_PROP_SUB_ID_AVAILABLE] = HMQ_PD(HMQ_PK_BYTE, sub_id_available),
    [HMQ_PROP_SHARED_SUB_AVAILABLE] = HMQ_PD(HMQ_PK_BYTE, shared_sub_available),
};

static unsigned hmq_prop_kind(uint32_t id) {
  return id <= HMQ_PROP_MAX_ID ? hmq_prop_defs[id].kind : HMQ_PK_NONE;
}

#define B(id) HMQ_PROP_BIT(HMQ_PROP_##id)

/* Properties that belong to the application message; they appear in
 * PUBLISH and in the Will Properties alike (2.2.2.2). */
#define HMQ_MSG_PROPS                                                                              \
  (B(PAYLOAD_FORMAT) | B(MESSAGE_EXPIRY) | B(CONTENT_TYPE) | B(RESPONSE_TOPIC) |                   \
   B(CORRELATION_DATA) | B(USER))

/* Reason String + User Property: everything an ack-like packet may carry. */
#define HMQ_ACK_PROPS (B(REASON_STRING) | B(USER))

uint64_t hmq_props_allowed(uint8_t packet_type) {
  /* The "Used in" column of the property table in MQTT 5.0 2.2.2.2. */
  switch (packet_type) {
  case HMQ_PKT_CONNECT:
    return B(SESSION_EXPIRY) | B(AUTH_METHOD) | B(AUTH_DATA) | B(REQUEST_PROBLEM_INFO) |
           B(REQUEST_RESPONSE_INFO) | B(RECEIVE_MAX) | B(TOPIC_ALIAS_MAX) | B(USER) |
           B(MAX_PACKET_SIZE);
  case HMQ_PKT_CONNACK:
    return B(SESSION_EXPIRY) | B(ASSIGNED_CLIENT_ID) | B(SERVER_KEEP_ALIVE) | B(AUTH_METHOD) |
           B(AUTH_DATA) | B(RESPONSE_INFO) | B(SERVER_REFERENCE) | B(REASON_STRING) |
           B(RECEIVE_MAX) | B(TOPIC_ALIAS_MAX) | B(MAX_QOS) | B(RETAIN_AVAILABLE) | B(USER) |
           B(MAX_PACKET_SIZE) | B(WILDCARD_SUB_AVAILABLE) | B(SUB_ID_AVAILABLE) |
           B(SHARED_SUB_AVAILABLE);
  case HMQ_PKT_PUBLISH:
    return HMQ_MSG_PROPS | B(SUBSCRIPTION_ID) | B(TOPIC_ALIAS);
  case HMQ_PKT_PUBACK:
  case HMQ_PKT_PUBREC:
  case HMQ_PKT_PUBREL:
  case HMQ_PKT_PUBCOMP:
  case HMQ_PKT_SUBACK:
  case HMQ_PKT_UNSUBACK:
    return HMQ_ACK_PROPS;
  case HMQ_PKT_SUBSCRIBE:
    return B(SUBSCRIPTION_ID) | B(USER);
  case HMQ_PKT_UNSUBSCRIBE:
    return B(USER);
  case HMQ_PKT_DISCONNECT:
    return B(SESSION_EXPIRY) | B(SERVER_REFERENCE) | HMQ_ACK_PROPS;
  case HMQ_PKT_AUTH:
    return B(AUTH_METHOD) | B(AUTH_DATA) | HMQ_ACK_PROPS;
  case HMQ_PROPS_WILL:
    return HMQ_MSG_PROPS | B(WILL_DELAY);
  default:
    return 0; /* PINGREQ, PINGRESP and reserved types have no properties */
  }
}

/* Value ranges the spec states per property (3.1.2.11.x, 3.2.2.3.x,
 * 3.3.2.3.x). Topic Alias 0 is deliberately not checked here: it is a
 * Topic Alias error for the engine (0x94, 3.3.2.3.4), not a malformed block. */
static hmq_status hmq_prop_value_ok(uint32_t id, uint32_t v) {
  switch (hmq_prop_kind(id)) {
  case HMQ_PK_BYTE:
    return v > 1 ? HMQ_ERR_PROP_VALUE : HMQ_OK;
  default:
    break;
  }
  switch (id) {
  case HMQ_PROP_RECEIVE_MAX:     /* 3.1.2.11.3 / 3.2.2.3.3 */
  case HMQ_PROP_MAX_PACKET_SIZE: /* 3.1.2.11.4 / 3.2.2.3.6 */
    return v == 0 ? HMQ_ERR_PROP_VALUE : HMQ_OK;
  case HMQ_PROP_SUBSCRIPTION_ID: /* 1..268435455, 3.3.2.3.8 / 3.8.2.1.2 */
    return v == 0 || v > HMQ_MAX_REMAINING ? HMQ_ERR_PROP_VALUE : HMQ_OK;
  default:
    return HMQ_OK;
  }
}

/* Read the value of property `id` (already known to exist) into out. */
static hmq_status hmq_prop_value_read(hmq_reader *r, uint32_t id, hmq_prop *out) {
  hmq_status st;
  out->id = (uint8_t)id;
  switch (hmq_prop_kind(id)) {
  case HMQ_PK_BYTE: {
    uint8_t v;
    st = hmq_r_u8(r, &v);
    out->u32 = v;
    return st;
  }
  case HMQ_PK_U16: {
    uint16_t v;
    st = hmq_r_u16(r, &v);
    out->u32 = v;
    return st;
  }
  case HMQ_PK_U32:
    return hmq_r_u32(r, &out->u32);
  case HMQ_PK_VARINT:
    return hmq_r_varint(r, &out->u32);
  case HMQ_PK_STR:
    return hmq_r_str(r, &out->str);
  case HMQ_PK_BIN:
    return hmq_r_bin(r, &out->bin);
  case HMQ_PK_PAIR:
    st = hmq_r_str(r, &out->str);
    if (st != HMQ_OK) {
      return st;
    }
    return hmq_r_str(r, &out->str2);
  default:
    return HMQ_ERR_PROP_UNKNOWN;
  }
}

/* Identifier: a Variable Byte Integer, in practice one byte (2.2.2.2). */
static hmq_status hmq_prop_id_read(hmq_reader *r, uint32_t *id) {
  hmq_status st = hmq_r_varint(r, id);
  if (st != HMQ_OK) {
    return st;
  }
  return hmq_prop_kind(*id) == HMQ_PK_NONE ? HMQ_ERR_PROP_UNKNOWN : HMQ_OK;
}

/* Store a validated property into the flat struct. */
static void hmq_prop_store(hmq_props *p, const hmq_prop *v) {
  void *dst = (char *)p + hmq_prop_defs[v->id].off;
  switch (hmq_prop_defs[v->id].kind) {
  case HMQ_PK_BYTE: {
    uint8_t b = (uint8_t)v->u32;
    memcpy(dst, &b, sizeof b);
    break;
  }
  case HMQ_PK_U16: {
    uint16_t h = (uint16_t)v->u32;
    memcpy(dst, &h, sizeof h);
    break;
  }
  case HMQ_PK_U32:
  case HMQ_PK_VARINT:
    memcpy(dst, &v->u32, sizeof v->u32);
    break;
  case HMQ_PK_STR:
    memcpy(dst, &v->str, sizeof v->str);
    break;
  case HMQ_PK_BIN:
    memcpy(dst, &v->bin, sizeof v->bin);
    break;
  default:
    break; /* user properties are counted, then iterated from raw */
  }
}

hmq_status hmq_props_read(hmq_reader *r, uint8_t packet_type, hmq_props *p) {
  memset(p, 0, sizeof *p);
  uint32_t block_len;
  hmq_status st = hmq_r_varint(r, &block_len);
  if (st != HMQ_OK) {
    return st;
  }
  const uint8_t *block;
  if (hmq_r_bytes(r, block_len, &block) != HMQ_OK) {
    return HMQ_ERR_LENGTH; /* Property Length beyond the packet (2.2.2.1) */
  }
  p->raw.ptr = block;
  p->raw.len = block_len;

  const uint64_t allowed = hmq_props_allowed(packet_type);
  /* Subscription Identifier may repeat only in PUBLISH (3.3.2.3.8); in
   * SUBSCRIBE it appears at most once (3.8.2.1.2). User Property may always
   * repeat; everything else at most once ("It is a Protocol Error to
   * include X more than once"). */
  uint64_t repeatable = HMQ_PROP_BIT(HMQ_PROP_USER);
  if (packet_type == HMQ_PKT_PUBLISH) {
    repeatable |= HMQ_PROP_BIT(HMQ_PROP_SUBSCRIPTION_ID);
  }
  hmq_reader br;
  hmq_r_init(&br, block, block_len);
  while (hmq_r_left(&br) > 0) {
    uint32_t id;
    st = hmq_prop_id_read(&br, &id);
    if (st != HMQ_OK) {
      return st;
    }
    const uint64_t bit = HMQ_PROP_BIT(id);
    if ((allowed & bit) == 0) {
      return HMQ_ERR_PROP_NOT_ALLOWED;
    }
    if ((p->present & bit) != 0 && (repeatable & bit) == 0) {
      return HMQ_ERR_PROP_DUPLICATE;
    }
    hmq_prop v;
    memset(&v, 0, sizeof v);
    st = hmq_prop_value_read(&br, id, &v);
    if (st != HMQ_OK) {
      return st;
    }
    st = hmq_prop_value_ok(id, v.u32);
    if (st != HMQ_OK) {
      return st;
    }
    if (id == HMQ_PROP_USER) {
      p->user_count++;
    } else if (id == HMQ_PROP_SUBSCRIPTION_ID) {
      if (p->sub_id_count++ == 0) {
        p->subscription_id = v.u32; /* the first one; the rest via raw */
      }
    } else {
      hmq_prop_store(p, &v);
    }
    p->present |= bit;
  }
  return HMQ_OK;
}

hmq_status hmq_props_next(const hmq_props *props, size_t *cursor, hmq_prop *out) {
  if (props == NULL || cursor == NULL || out == NULL) {
    return HMQ_ERR_ARG;
  }
  if (*cursor >= props->raw.len) {
    return HMQ_NEED_MORE;
  }
  hmq_reader r;
  hmq_r_init(&r, props->raw.ptr, props->raw.len);
  r.pos = *cursor;
  memset(out, 0, sizeof *out);
  uint32_t id;
  hmq_status st = hmq_prop_id_read(&r, &id);
  if (st == HMQ_OK) {
    st = hmq_prop_value_read(&r, id, out);
  }
  /* Always advance: on bad bytes jump to the end so a loop that ignores
   * the error still terminates. */
  *cursor = st == HMQ_OK ? r.pos : props->raw.len;
  return st;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */

/* Bits the writer will emit: `present`, plus User Property whenever the
 * caller supplied user properties. */
static uint64_t hmq_props_effective(const hmq_props *p) {
  uint64_t present = p->present;
  if (p->user_count > 0) {
    present |= HMQ_PROP_BIT(HMQ_PROP_USER);
  } else {
    present &= ~HMQ_PROP_BIT(HMQ_PROP_USER);
  }
  return present;
}

/* Numeric value of a present integer property, widened to 32 bits. */
static uint32_t hmq_prop_u32_of(const hmq_props *p, unsigned id) {
  const char *src = (const char *)p + hmq_prop_defs[id].off;
  switch (hmq_prop_defs[id].kind) {
  case HMQ_PK_BYTE: {
    uint8_t b;
    memcpy(&b, src, sizeof b);
    return b;
  }
  case HMQ_PK_U16: {
    uint16_t h;
    memcpy(&h, src, sizeof h);
    return h;
  }
  default: {
    uint32_t w;
    memcpy(&w, src, sizeof w);
    return w;
  }
  }
}

static hmq_bin hmq_prop_bin_of(const hmq_props *p, unsigned id) {
  const char *src = (const char *)p + hmq_prop_defs[id].off;
  hmq_bin b;
  if (hmq_prop_defs[id].kind == HMQ_PK_STR) {
    hmq_str s;
    memcpy(&s, src, sizeof s);
    b.ptr = (const uint8_t *)s.ptr;
    b.len = s.len;
  } else {
    memcpy(&b, src, sizeof b);
  }
  return b;
}

/* The property bytes without their length prefix. Callers validate first. */
static void hmq_props_body(hmq_writer *w, const hmq_props *p, uint64_t present) {
  for (unsigned id = 1; id <= HMQ_PROP_MAX_ID; id++) {
    if ((present & HMQ_PROP_BIT(id)) == 0) {
      continue;
    }
    unsigned kind = hmq_prop_defs[id].kind;
    if (kind == HMQ_PK_PAIR) {
      for (size_t i = 0; i < p->user_count; i++) {
        hmq_w_u8(w, (uint8_t)id);
        hmq_w_str(w, p->user[i].key);
        hmq_w_str(w, p->user[i].value);
      }
      continue;
    }
    hmq_w_u8(w, (uint8_t)id);
    uint32_t v = hmq_prop_u32_of(p, id);
    switch (kind) {
    case HMQ_PK_BYTE:
      hmq_w_u8(w, (uint8_t)v);
      break;
    case HMQ_PK_U16:
      hmq_w_u16(w, (uint16_t)v);
      break;
    case HMQ_PK_U32:
      hmq_w_u32(w, v);
      break;
    case HMQ_PK_VARINT:
      hmq_w_varint(w, v);
      break;
    default:
      hmq_w_bin(w, hmq_prop_bin_of(p, id)); /* same wire form for STR */
      break;
    }
  }
}

size_t hmq_props_size(const hmq_props *p) {
  hmq_writer w;
  hmq_w_init(&w, NULL, 0); /* counting only */
  hmq_props_body(&w, p, hmq_props_effective(p));
  return w.pos;
}

static hmq_status hmq_str_valid(hmq_str s) {
  if (s.len > 0xFFFFu || (s.ptr == NULL && s.len > 0)) {
    return HMQ_ERR_ARG;
  }
  return hmq_utf8_check(s.ptr, s.len);
}

/* The checks a decoder would make, applied to what we are about to send. */
static hmq_status hmq_props_validate(uint8_t packet_type, const hmq_props *p, uint64_t present) {
  if ((present & ~hmq_props_allowed(packet_type)) != 0) {
    return HMQ_ERR_PROP_NOT_ALLOWED;
  }
  if (p->user_count > 0 && p->user == NULL) {
    return HMQ_ERR_ARG;
  }
  for (size_t i = 0; i < p->user_count; i++) {
    hmq_status st = hmq_str_valid(p->user[i].key);
    if (st == HMQ_OK) {
      st = hmq_str_valid(p->user[i].value);
    }
    if (st != HMQ_OK) {
      return st;
    }
  }
  for (unsigned id = 1; id <= HMQ_PROP_MAX_ID; id++) {
    if ((present & HMQ_PROP_BIT(id)) == 0 || id == HMQ_PROP_USER) {
      continue;
    }
    hmq_status st = HMQ_OK;
    switch (hmq_prop_defs[id].kind) {
    case HMQ_PK_STR: {
      hmq_bin b = hmq_prop_bin_of(p, id);
      hmq_str s = {(const char *)b.ptr, b.len};
      st = hmq_str_valid(s);
      break;
    }
    case HMQ_PK_BIN: {
      hmq_bin b = hmq_prop_bin_of(p, id);
      if (b.len > 0xFFFFu || (b.ptr == NULL && b.len > 0)) {
        st = HMQ_ERR_ARG;
      }
      break;
    }
    default:
      st = hmq_prop_value_ok(id, hmq_prop_u32_of(p, id));
      break;
    }
    if (st != HMQ_OK) {
      return st;
    }
  }
  return HMQ_OK;
}

hmq_status hmq_props_write(hmq_writer *w, uint8_t packet_type, const hmq_props *p) {
  static const hmq_props none; /* p == NULL: an empty block */
  if (p == NULL) {
    p = &none;
  }
  const uint64_t present = hmq_props_effective(p);
  hmq_status st = hmq_props_validate(packet_type, p, present);
  if (st != HMQ_OK) {
    return st;
  }
  size_t size = hmq_props_size(p);
  if (size > HMQ_MAX_REMAINING) {
    return HMQ_ERR_ARG;
  }
  hmq_w_varint(w, (uint32_t)size);
  hmq_props_body(w, p, present);
  return HMQ_OK;
}
