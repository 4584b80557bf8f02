/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the packet codec: the two-pass encoder frame, the
 * "one whole packet" check every decoder starts with, and the reason-code
 * table of MQTT 5.0 section 2.4.
 */
#include "mqtt/pkt.h"

#include <string.h>

hmq_status hmq_pkt_encode(uint8_t *buf, size_t cap, uint8_t byte0, hmq_body_fn body, const void *p,
                          size_t *out_len) {
  /* Size first, then serialize: the first pass writes into a zero-capacity
   * writer, so it validates and counts without touching the caller's buffer
   * (codec.h: on NO_ROOM nothing useful is written). */
  uint8_t dummy = 0;
  hmq_writer w;
  size_t dummy_len = 0;
  if (out_len == NULL) {
    out_len = &dummy_len;
  }
  *out_len = 0;
  if (body == NULL || p == NULL || (buf == NULL && cap != 0)) {
    return HMQ_ERR_ARG;
  }
  hmq_w_init(&w, &dummy, 0);
  hmq_status st = body(&w, p);
  if (st != HMQ_OK) {
    return st;
  }
  size_t rem = w.pos;
  if (rem > HMQ_MAX_REMAINING) {
    return HMQ_ERR_ARG; /* no Remaining Length can express it (1.5.5) */
  }
  size_t total = 1 + hmq_varint_size((uint32_t)rem) + rem;
  if (total > cap) {
    *out_len = total;
    return HMQ_ERR_NO_ROOM;
  }
  hmq_w_init(&w, buf, cap);
  hmq_w_u8(&w, byte0);
  hmq_w_varint(&w, (uint32_t)rem);
  st = body(&w, p);
  if (st != HMQ_OK || w.overflow || w.pos != total) {
    return st != HMQ_OK ? st : HMQ_ERR_ARG; /* body not deterministic: caller bug */
  }
  *out_len = total;
  return HMQ_OK;
}

hmq_status hmq_pkt_open(const uint8_t *pkt, size_t len, uint8_t type, int flags, hmq_reader *r,
                        uint8_t *flags_out) {
  hmq_frame f;
  if (pkt == NULL || r == NULL) {
    return HMQ_ERR_ARG;
  }
  hmq_status st = hmq_frame_peek(pkt, len, 0, &f, NULL);
  if (st == HMQ_NEED_MORE) {
    return HMQ_ERR_LENGTH; /* decoders get whole packets; a short one is broken */
  }
  if (st != HMQ_OK) {
    return st;
  }
  if (f.type != type) {
    return HMQ_ERR_PACKET_TYPE;
  }
  /* 2.1.3: flags are fixed per packet type except PUBLISH [MQTT-2.1.3-1]. */
  if (flags >= 0 && f.flags != (uint8_t)flags) {
    return HMQ_ERR_RESERVED_FLAGS;
  }
  if (f.total != len) {
    return HMQ_ERR_LENGTH; /* exactly one packet, no trailing bytes */
  }
  hmq_r_init(r, pkt + f.header_len, f.remaining);
  if (flags_out != NULL) {
    *flags_out = f.flags;
  }
  return HMQ_OK;
}

hmq_status hmq_pkt_close(const hmq_reader *r) {
  return hmq_r_left(r) == 0 ? HMQ_OK : HMQ_ERR_LENGTH;
}

uint8_t hmq_pkt_fixed_flags(uint8_t type) {
  /* 2.1.3 table: PUBREL, SUBSCRIBE and UNSUBSCRIBE are 0b0010; every other
   * type but PUBLISH (whose flags are DUP/QoS/RETAIN) is 0. */
  return type == HMQ_PKT_PUBREL || type == HMQ_PKT_SUBSCRIBE || type == HMQ_PKT_UNSUBSCRIBE ? 2u
                                                                                            : 0u;
}

hmq_status hmq_pkt_open_id(const uint8_t *pkt, size_t len, bool (*type_ok)(uint8_t type),
                           hmq_reader *r, uint8_t *type, uint16_t *packet_id) {
  hmq_frame f;
  hmq_status st;
  /* The type is whichever of the accepted ones this is; learn it from the
   * header before opening the packet as that type. */
  st = hmq_frame_peek(pkt, len, 0, &f, NULL);
  if (st != HMQ_OK) {
    return st == HMQ_NEED_MORE ? HMQ_ERR_LENGTH : st;
  }
  if (!type_ok(f.type)) {
    return HMQ_ERR_PACKET_TYPE;
  }
  *type = f.type;
  if ((st = hmq_pkt_open(pkt, len, f.type, hmq_pkt_fixed_flags(f.type), r, NULL)) != HMQ_OK ||
      (st = hmq_r_u16(r, packet_id)) != HMQ_OK) {
    return st;
  }
  if (*packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  return HMQ_OK;
}

/* Reason codes per packet type, from the table in MQTT 5.0 section 2.4. */
static const uint8_t reasons_connack[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                          0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                          0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
static const uint8_t reasons_puback[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
static const uint8_t reasons_pubrel[] = {0x00, 0x92};
static const uint8_t reasons_suback[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                         0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
static const uint8_t reasons_unsuback[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
static const uint8_t reasons_disconnect[] = {
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
    0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
static const uint8_t reasons_auth[] = {0x00, 0x18, 0x19};

/* Which set applies to which packet type; types without Reason Codes
 * (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, PINGRESP) have none. */
typedef struct hmq_reason_set {
  const uint8_t *codes;
  size_t n;
} hmq_reason_set;

#define HMQ_REASONS(a)                                                                             \
  { a, sizeof a }
static const hmq_reason_set reason_sets[16] = {
    [HMQ_PKT_CONNACK] = HMQ_REASONS(reasons_connack),
    [HMQ_PKT_PUBACK] = HMQ_REASONS(reasons_puback),
    [HMQ_PKT_PUBREC] = HMQ_REASONS(reasons_puback),
    [HMQ_PKT_PUBREL] = HMQ_REASONS(reasons_pubrel),
    [HMQ_PKT_PUBCOMP] = HMQ_REASONS(reasons_pubrel),
    [HMQ_PKT_SUBACK] = HMQ_REASONS(reasons_suback),
    [HMQ_PKT_UNSUBACK] = HMQ_REASONS(reasons_unsuback),
    [HMQ_PKT_DISCONNECT] = HMQ_REASONS(reasons_disconnect),
    [HMQ_PKT_AUTH] = HMQ_REASONS(reasons_auth),
};
#undef HMQ_REASONS

bool hmq_reason_valid(uint8_t type, uint8_t reason) {
  if (type >= sizeof reason_sets / sizeof reason_sets[0] || reason_sets[type].codes == NULL) {
    return false;
  }
  return memchr(reason_sets[type].codes, reason, reason_sets[type].n) != NULL;
}

hmq_status hmq_pkt_check_str(hmq_str s) {
  if (s.ptr == NULL) {
    return HMQ_OK;
  }
  if (s.len > 0xFFFF) {
    return HMQ_ERR_ARG; /* 1.5.4: two-byte length prefix */
  }
  return hmq_utf8_check(s.ptr, s.len);
}

bool hmq_props_empty(const hmq_props *p) {
  /* Every present property writes at least its identifier; the User
   * Property bit alone writes nothing while user_count is 0 (the writer
   * follows user_count). Cheaper than hmq_props_size on the PUBACK path. */
  return (p->present & ~HMQ_PROP_BIT(HMQ_PROP_USER)) == 0 && p->user_count == 0;
}
