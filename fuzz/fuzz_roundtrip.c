/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the encoders: packet structs are built from the input
 * bytes, encoded, framed and decoded again. Whatever an encoder accepts the
 * decoder must accept and return unchanged; the size an encoder reports on
 * HMQ_ERR_NO_ROOM must be exact. Strings are copied into a scratch arena
 * and, when the input asks for it, made printable ASCII so that valid
 * packets are common.
 */
#include "props_check.h"
#include "mqtt/wire.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_in {
  const uint8_t *p;
  size_t n;
  uint8_t arena[8192];
  size_t used;
  bool ascii;
} fz_in;

static uint8_t fz_u8(fz_in *in) {
  if (in->n == 0) {
    return 0;
  }
  in->n--;
  return *in->p++;
}

static uint16_t fz_u16(fz_in *in) {
  uint16_t hi = fz_u8(in); /* two statements: operand order is unspecified */
  return (uint16_t)(hi << 8 | fz_u8(in));
}

static uint32_t fz_u32(fz_in *in) {
  uint32_t hi = fz_u16(in);
  return hi << 16 | fz_u16(in);
}

/* Up to 31 bytes from the input, copied (the arena outlives the packet). */
static hmq_bin fz_bytes(fz_in *in) {
  size_t len = fz_u8(in) & 31u;
  if (len > in->n) {
    len = in->n;
  }
  if (len > sizeof in->arena - in->used) {
    len = 0;
  }
  uint8_t *dst = in->arena + in->used;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = fz_u8(in);
    dst[i] = in->ascii ? (uint8_t)(0x21 + c % 0x5E) : c; /* '!'..'~' */
  }
  in->used += len;
  hmq_bin b = {dst, len};
  return b;
}

static hmq_str fz_str(fz_in *in) {
  hmq_bin b = fz_bytes(in);
  hmq_str s = {(const char *)b.ptr, b.len};
  return s;
}

/* Wildcards are fine in filters but break topic names: strip them there. */
static hmq_str fz_topic(fz_in *in) {
  hmq_str s = fz_str(in);
  uint8_t *w = (uint8_t *)(uintptr_t)s.ptr;
  for (size_t i = 0; in->ascii && i < s.len; i++) {
    if (w[i] == '+' || w[i] == '#') {
      w[i] = 't';
    }
  }
  return s;
}

static hmq_user_prop fz_users[4];
static hmq_user_prop fz_will_users[4];

/* Properties from a 32-bit mask over the ids of 2.2.2.2; the encoder
 * decides which are allowed for the packet. With `only` set the mask is
 * narrowed to the allowed set so most packets encode. */
static void fz_props(fz_in *in, hmq_props *p, uint64_t only, hmq_user_prop *users) {
  static const uint8_t ids[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
                                0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
                                0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
  uint32_t mask = fz_u32(in);
  memset(p, 0, sizeof *p);
  for (size_t i = 0; i < sizeof ids; i++) {
    uint8_t id = ids[i];
    if (!(mask & (1u << i)) || (only != 0 && !(only & HMQ_PROP_BIT(id)))) {
      continue;
    }
    p->present |= HMQ_PROP_BIT(id);
    switch (id) {
    case 0x01:
      p->payload_format = fz_u8(in) & 1u;
      break;
    case 0x02:
      p->message_expiry = fz_u32(in);
      break;
    case 0x03:
      p->content_type = fz_str(in);
      break;
    case 0x08:
      p->response_topic = fz_str(in);
      break;
    case 0x09:
      p->correlation_data = fz_bytes(in);
      break;
    case 0x0B:
      p->subscription_id = fz_u32(in) & 0x0FFFFFFFu;
      break;
    case 0x11:
      p->session_expiry = fz_u32(in);
      break;
    case 0x12:
      p->assigned_client_id = fz_str(in);
      break;
    case 0x13:
      p->server_keep_alive = fz_u16(in);
      break;
    case 0x15:
      p->auth_method = fz_str(in);
      break;
    case 0x16:
      p->auth_data = fz_bytes(in);
      break;
    case 0x17:
      p->request_problem_info = fz_u8(in) & 1u;
      break;
    case 0x18:
      p->will_delay = fz_u32(in);
      break;
    case 0x19:
      p->request_response_info = fz_u8(in) & 1u;
      break;
    case 0x1A:
      p->response_info = fz_str(in);
      break;
    case 0x1C:
      p->server_reference = fz_str(in);
      break;
    case 0x1F:
      p->reason_string = fz_str(in);
      break;
    case 0x21:
      p->receive_max = fz_u16(in);
      break;
    case 0x22:
      p->topic_alias_max = fz_u16(in);
      break;
    case 0x23:
      p->topic_alias = fz_u16(in);
      break;
    case 0x24:
      p->max_qos = fz_u8(in) & 1u;
      break;
    case 0x25:
      p->retain_available = fz_u8(in) & 1u;
      break;
    case 0x26:
      p->user_count = 1 + (fz_u8(in) & 3u) % 4;
      for (size_t u = 0; u < p->user_count; u++) {
        users[u].key = fz_str(in);
        users[u].value = fz_str(in);
      }
      p->user = users;
      break;
    case 0x27:
      p->max_packet_size = fz_u32(in);
      break;
    case 0x28:
      p->wildcard_sub_available = fz_u8(in) & 1u;
      break;
    case 0x29:
      p->sub_id_available = fz_u8(in) & 1u;
      break;
    default:
      p->shared_sub_available = fz_u8(in) & 1u;
      break;
    }
  }
}

static uint8_t fz_buf[65536];
static uint8_t fz_small[65536];

/* The NO_ROOM contract and the frame of a freshly encoded packet. */
typedef hmq_status (*fz_enc)(uint8_t *buf, size_t cap, const void *p, size_t *out_len);
static bool fz_encode(fz_enc enc, const void *p, size_t *n) {
  hmq_status st = enc(fz_buf, sizeof fz_buf, p, n);
  if (st != HMQ_OK) {
    FZ_CHECK(*n == 0 || st == HMQ_ERR_NO_ROOM);
    return false;
  }
  size_t need = 0;
  FZ_CHECK(enc(fz_small, *n - 1, p, &need) == HMQ_ERR_NO_ROOM && need == *n);
  FZ_CHECK(enc(fz_small, *n, p, &need) == HMQ_OK && need == *n);
  FZ_CHECK(memcmp(fz_small, fz_buf, *n) == 0);
  hmq_frame f;
  FZ_CHECK(hmq_frame_peek(fz_buf, *n, 0, &f, NULL) == HMQ_OK && f.total == *n);
  return true;
}

static hmq_status fz_enc_publish(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_publish(b, c, p, n);
}
static hmq_status fz_enc_ack(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_ack(b, c, p, n);
}
static hmq_status fz_enc_connect(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_connect(b, c, p, n);
}
static hmq_status fz_enc_connack(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_connack(b, c, p, n);
}
static hmq_status fz_enc_subscribe(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_subscribe(b, c, p, n);
}
static hmq_status fz_enc_suback(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_suback(b, c, p, n);
}
static hmq_status fz_enc_unsubscribe(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_unsubscribe(b, c, p, n);
}
static hmq_status fz_enc_disconnect(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_disconnect(b, c, p, n);
}
static hmq_status fz_enc_auth(uint8_t *b, size_t c, const void *p, size_t *n) {
  return hmq_encode_auth(b, c, p, n);
}

static void fz_publish(fz_in *in, uint64_t only) {
  hmq_publish p, d;
  memset(&p, 0, sizeof p);
  uint8_t flags = fz_u8(in);
  p.qos = flags & 3u;
  p.dup = (flags >> 2) & 1u;
  p.retain = (flags >> 3) & 1u;
  p.packet_id = fz_u16(in);
  p.topic = fz_topic(in);
  fz_props(in, &p.props, only, fz_users);
  p.payload = fz_bytes(in);
  size_t n = 0;
  if (!fz_encode(fz_enc_publish, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_publish(fz_buf, n, &d) == HMQ_OK);
  FZ_CHECK(d.qos == p.qos && d.dup == p.dup && d.retain == p.retain);
  FZ_CHECK(d.packet_id == (p.qos > 0 ? p.packet_id : 0));
  FZ_CHECK(fz_str_eq(d.topic, p.topic) && fz_bin_eq(d.payload, p.payload));
  fz_props_eq(&p.props, &d.props);
}

static void fz_ack(fz_in *in, uint64_t only) {
  hmq_ack p, d;
  memset(&p, 0, sizeof p);
  p.type = (uint8_t)(HMQ_PKT_PUBACK + (fz_u8(in) & 3u));
  p.packet_id = fz_u16(in);
  p.reason = fz_u8(in);
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  if (!fz_encode(fz_enc_ack, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_ack(fz_buf, n, &d) == HMQ_OK);
  FZ_CHECK(d.type == p.type && d.packet_id == p.packet_id && d.reason == p.reason);
  fz_props_eq(&p.props, &d.props);
}

static void fz_connect(fz_in *in, uint64_t only) {
  hmq_connect p, d;
  hmq_will will, dw;
  memset(&p, 0, sizeof p);
  uint8_t flags = fz_u8(in);
  p.clean_start = flags & 1u;
  p.keep_alive = fz_u16(in);
  p.client_id = fz_str(in);
  if (flags & 2u) {
    p.username = fz_str(in);
  }
  if (flags & 4u) {
    p.password = fz_bytes(in);
  }
  fz_props(in, &p.props, only, fz_users);
  if (flags & 8u) {
    memset(&will, 0, sizeof will);
    will.qos = (flags >> 4) & 3u;
    will.retain = (flags >> 6) & 1u;
    will.topic = fz_topic(in);
    will.payload = fz_bytes(in);
    fz_props(in, &will.props, only != 0 ? hmq_props_allowed(HMQ_PROPS_WILL) : 0, fz_will_users);
    p.will = &will;
  }
  size_t n = 0;
  if (!fz_encode(fz_enc_connect, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_connect(fz_buf, n, &d, &dw) == HMQ_OK);
  FZ_CHECK(d.clean_start == p.clean_start && d.keep_alive == p.keep_alive);
  FZ_CHECK(fz_str_eq(d.client_id, p.client_id));
  FZ_CHECK((d.username.ptr == NULL) == (p.username.ptr == NULL));
  FZ_CHECK(fz_str_eq(d.username, p.username));
  FZ_CHECK((d.password.ptr == NULL) == (p.password.ptr == NULL));
  FZ_CHECK(fz_bin_eq(d.password, p.password));
  fz_props_eq(&p.props, &d.props);
  FZ_CHECK((d.will == NULL) == (p.will == NULL));
  if (p.will != NULL) {
    FZ_CHECK(dw.qos == will.qos && dw.retain == will.retain);
    FZ_CHECK(fz_str_eq(dw.topic, will.topic) && fz_bin_eq(dw.payload, will.payload));
    fz_props_eq(&will.props, &dw.props);
  }
}

static void fz_connack(fz_in *in, uint64_t only) {
  hmq_connack p, d;
  memset(&p, 0, sizeof p);
  p.session_present = fz_u8(in) & 1u;
  p.reason = fz_u8(in);
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  if (!fz_encode(fz_enc_connack, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_connack(fz_buf, n, &d) == HMQ_OK);
  FZ_CHECK(d.session_present == p.session_present && d.reason == p.reason);
  fz_props_eq(&p.props, &d.props);
}

static void fz_subscribe(fz_in *in, uint64_t only) {
  hmq_sub_filter filters[4];
  hmq_subscribe p, d;
  hmq_bin raw;
  memset(&p, 0, sizeof p);
  p.packet_id = fz_u16(in);
  p.count = fz_u8(in) % 5u;
  for (size_t i = 0; i < p.count; i++) {
    uint8_t o = fz_u8(in);
    filters[i].filter = fz_str(in);
    filters[i].qos = o & 3u;
    filters[i].no_local = (o >> 2) & 1u;
    filters[i].retain_as_published = (o >> 3) & 1u;
    filters[i].retain_handling = (o >> 4) & 3u;
  }
  p.filters = p.count > 0 ? filters : NULL;
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  if (!fz_encode(fz_enc_subscribe, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_subscribe(fz_buf, n, &d, &raw) == HMQ_OK);
  FZ_CHECK(d.packet_id == p.packet_id && d.count == p.count);
  size_t cursor = 0, i = 0;
  hmq_sub_filter f;
  while (hmq_subscribe_next(raw, &cursor, &f) == HMQ_OK) {
    FZ_CHECK(i < p.count && fz_str_eq(f.filter, filters[i].filter));
    FZ_CHECK(f.qos == filters[i].qos && f.no_local == filters[i].no_local);
    FZ_CHECK(f.retain_as_published == filters[i].retain_as_published);
    FZ_CHECK(f.retain_handling == filters[i].retain_handling);
    i++;
  }
  FZ_CHECK(i == p.count);
  fz_props_eq(&p.props, &d.props);
}

static void fz_suback(fz_in *in, uint64_t only) {
  hmq_suback p, d;
  memset(&p, 0, sizeof p);
  p.type = (fz_u8(in) & 1u) ? HMQ_PKT_UNSUBACK : HMQ_PKT_SUBACK;
  p.packet_id = fz_u16(in);
  bool ascii = in->ascii;
  in->ascii = false; /* reason codes are raw bytes */
  p.reasons = fz_bytes(in);
  in->ascii = ascii;
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  if (!fz_encode(fz_enc_suback, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_suback(fz_buf, n, &d) == HMQ_OK);
  FZ_CHECK(d.type == p.type && d.packet_id == p.packet_id && fz_bin_eq(d.reasons, p.reasons));
  fz_props_eq(&p.props, &d.props);
}

static void fz_unsubscribe(fz_in *in, uint64_t only) {
  hmq_str filters[4];
  hmq_unsubscribe p;
  memset(&p, 0, sizeof p);
  p.packet_id = fz_u16(in);
  p.count = fz_u8(in) % 5u;
  for (size_t i = 0; i < p.count; i++) {
    filters[i] = fz_str(in);
  }
  p.filters = p.count > 0 ? filters : NULL;
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  (void)fz_encode(fz_enc_unsubscribe, &p, &n); /* no decoder: size and frame only */
}

static void fz_disconnect(fz_in *in, uint64_t only) {
  hmq_disconnect p, d;
  memset(&p, 0, sizeof p);
  p.reason = fz_u8(in);
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  if (!fz_encode(fz_enc_disconnect, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_disconnect(fz_buf, n, &d) == HMQ_OK);
  FZ_CHECK(d.reason == p.reason);
  fz_props_eq(&p.props, &d.props);
}

static void fz_auth(fz_in *in, uint64_t only) {
  hmq_auth p, d;
  memset(&p, 0, sizeof p);
  p.reason = fz_u8(in);
  fz_props(in, &p.props, only, fz_users);
  size_t n = 0;
  if (!fz_encode(fz_enc_auth, &p, &n)) {
    return;
  }
  FZ_CHECK(hmq_decode_auth(fz_buf, n, &d) == HMQ_OK);
  FZ_CHECK(d.reason == p.reason);
  fz_props_eq(&p.props, &d.props);
}

static fz_in fz_input;

/* Byte 0: packet kind (low nibble) and mode bits: 0x10 printable strings,
 * 0x20 properties narrowed to those the packet allows. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_in *in = &fz_input;
  in->p = data;
  in->n = size;
  in->used = 0;
  uint8_t mode = fz_u8(in);
  in->ascii = (mode & 0x10u) != 0;
  static const uint8_t kinds[] = {HMQ_PKT_PUBLISH,     HMQ_PKT_PUBACK,     HMQ_PKT_CONNECT,
                                  HMQ_PKT_CONNACK,     HMQ_PKT_SUBSCRIBE,  HMQ_PKT_SUBACK,
                                  HMQ_PKT_UNSUBSCRIBE, HMQ_PKT_DISCONNECT, HMQ_PKT_AUTH};
  uint8_t kind = kinds[(mode & 0x0Fu) % sizeof kinds];
  uint64_t only = (mode & 0x20u) ? hmq_props_allowed(kind) : 0;
  switch (kind) {
  case HMQ_PKT_PUBLISH:
    fz_publish(in, only);
    break;
  case HMQ_PKT_PUBACK:
    fz_ack(in, only);
    break;
  case HMQ_PKT_CONNECT:
    fz_connect(in, only);
    break;
  case HMQ_PKT_CONNACK:
    fz_connack(in, only);
    break;
  case HMQ_PKT_SUBSCRIBE:
    fz_subscribe(in, only);
    break;
  case HMQ_PKT_SUBACK:
    fz_suback(in, only);
    break;
  case HMQ_PKT_UNSUBSCRIBE:
    fz_unsubscribe(in, only);
    break;
  case HMQ_PKT_DISCONNECT:
    fz_disconnect(in, only);
    break;
  default:
    fz_auth(in, only);
    break;
  }
  return 0;
}
