/* SPDX-License-Identifier: MIT */
/*
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (MQTT 5.0 sections 3.8 to
 * 3.11). SUBSCRIBE is decoded lazily: hmq_decode_subscribe validates every
 * Topic Filter once and hmq_subscribe_next walks them again without
 * storage, so the decoder needs no array of filters.
 */
#include "mqtt/pkt.h"

#include <string.h>

/* Subscription Options bits (3.8.3.1). */
#define HMQ_SO_QOS_MASK  0x03u
#define HMQ_SO_NO_LOCAL  0x04u
#define HMQ_SO_RAP       0x08u
#define HMQ_SO_RH_SHIFT  4
#define HMQ_SO_RESERVED  0xC0u
#define HMQ_SHARE_PREFIX "$share/"

static bool is_shared(hmq_str filter) {
  size_t n = sizeof HMQ_SHARE_PREFIX - 1;
  return filter.len >= n && memcmp(filter.ptr, HMQ_SHARE_PREFIX, n) == 0;
}

/* The rules of 3.8.3.1 and 4.7.3 for one filter, in one place for the
 * encoder and the decoder. */
static hmq_status check_filter(const hmq_sub_filter *f) {
  if (f->filter.ptr == NULL || f->filter.len == 0) {
    return HMQ_ERR_TOPIC_EMPTY; /* [MQTT-4.7.3-1] */
  }
  if (f->qos > 2) {
    return HMQ_ERR_QOS_INVALID; /* 3.8.3.1: Maximum QoS 3 */
  }
  if (f->retain_handling > 2) {
    return HMQ_ERR_PROTOCOL; /* 3.8.3.1: Retain Handling 3 is a Protocol Error */
  }
  if (f->no_local && is_shared(f->filter)) {
    return HMQ_ERR_PROTOCOL; /* [MQTT-3.8.3-4] */
  }
  return HMQ_OK;
}

static hmq_status subscribe_body(hmq_writer *w, const void *vp) {
  const hmq_subscribe *p = vp;
  hmq_status st;
  if (p->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if (p->count == 0 || p->filters == NULL) {
    return HMQ_ERR_PROTOCOL; /* [MQTT-3.8.3-2]: at least one filter */
  }
  for (size_t i = 0; i < p->count; i++) {
    if ((st = hmq_pkt_check_str(p->filters[i].filter)) != HMQ_OK ||
        (st = check_filter(&p->filters[i])) != HMQ_OK) {
      return st;
    }
  }
  hmq_w_u16(w, p->packet_id);
  if ((st = hmq_props_write(w, HMQ_PKT_SUBSCRIBE, &p->props)) != HMQ_OK) {
    return st;
  }
  for (size_t i = 0; i < p->count; i++) {
    const hmq_sub_filter *f = &p->filters[i];
    unsigned opts = f->qos | (f->no_local ? HMQ_SO_NO_LOCAL : 0u) |
                    (f->retain_as_published ? HMQ_SO_RAP : 0u) |
                    ((unsigned)f->retain_handling << HMQ_SO_RH_SHIFT);
    hmq_w_str(w, f->filter);
    hmq_w_u8(w, (uint8_t)opts);
  }
  return HMQ_OK;
}

hmq_status hmq_encode_subscribe(uint8_t *buf, size_t cap, const hmq_subscribe *p, size_t *out_len) {
  /* [MQTT-3.8.1-1]: fixed-header flags 0b0010. */
  return hmq_pkt_encode(buf, cap, (uint8_t)(HMQ_PKT_SUBSCRIBE << 4 | 2u), subscribe_body, p,
                        out_len);
}

hmq_status hmq_subscribe_next(hmq_bin filters_raw, size_t *cursor, hmq_sub_filter *out) {
  hmq_reader r;
  uint8_t opts = 0;
  hmq_status st;
  if (cursor == NULL || out == NULL) {
    return HMQ_ERR_ARG;
  }
  if (*cursor >= filters_raw.len) {
    return HMQ_NEED_MORE;
  }
  memset(out, 0, sizeof *out);
  hmq_r_init(&r, filters_raw.ptr, filters_raw.len);
  r.pos = *cursor;
  st = hmq_r_str(&r, &out->filter);
  if (st == HMQ_OK) {
    st = hmq_r_u8(&r, &opts);
  }
  if (st == HMQ_OK && (opts & HMQ_SO_RESERVED)) {
    st = HMQ_ERR_RESERVED_FLAGS; /* [MQTT-3.8.3-5] */
  }
  if (st == HMQ_OK) {
    out->qos = opts & HMQ_SO_QOS_MASK;
    out->no_local = (opts & HMQ_SO_NO_LOCAL) ? 1 : 0;
    out->retain_as_published = (opts & HMQ_SO_RAP) ? 1 : 0;
    out->retain_handling = (uint8_t)((opts >> HMQ_SO_RH_SHIFT) & 3u);
    st = check_filter(out);
  }
  /* Always advance, as hmq_props_next does: a loop ignoring the error ends. */
  *cursor = st == HMQ_OK ? r.pos : filters_raw.len;
  return st;
}

hmq_status hmq_decode_subscribe(const uint8_t *pkt, size_t len, hmq_subscribe *out,
                                hmq_bin *filters_raw) {
  hmq_reader r;
  hmq_status st;
  if (out == NULL || filters_raw == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  memset(filters_raw, 0, sizeof *filters_raw);
  if ((st = hmq_pkt_open(pkt, len, HMQ_PKT_SUBSCRIBE, 2, &r, NULL)) != HMQ_OK ||
      (st = hmq_r_u16(&r, &out->packet_id)) != HMQ_OK) {
    return st;
  }
  if (out->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if ((st = hmq_props_read(&r, HMQ_PKT_SUBSCRIBE, &out->props)) != HMQ_OK) {
    return st;
  }
  hmq_bin raw;
  raw.len = hmq_r_left(&r);
  if ((st = hmq_r_bytes(&r, raw.len, &raw.ptr)) != HMQ_OK) {
    return st;
  }
  if (raw.len == 0) {
    return HMQ_ERR_PROTOCOL; /* [MQTT-3.8.3-2]: at least one filter */
  }
  /* Validate every filter now so hmq_subscribe_next cannot fail later. */
  size_t cursor = 0;
  hmq_sub_filter f;
  while ((st = hmq_subscribe_next(raw, &cursor, &f)) == HMQ_OK) {
    out->count++;
  }
  if (st != HMQ_NEED_MORE) {
    out->count = 0;
    return st;
  }
  *filters_raw = raw;
  return HMQ_OK;
}

static bool suback_type_ok(uint8_t type) {
  return type == HMQ_PKT_SUBACK || type == HMQ_PKT_UNSUBACK;
}

static hmq_status suback_body(hmq_writer *w, const void *vp) {
  const hmq_suback *p = vp;
  hmq_status st;
  if (p->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if (p->reasons.ptr == NULL || p->reasons.len == 0) {
    return HMQ_ERR_PROTOCOL; /* 3.9.3 / 3.11.3: one reason per filter, >= 1 */
  }
  for (size_t i = 0; i < p->reasons.len; i++) {
    if (!hmq_reason_valid(p->type, p->reasons.ptr[i])) {
      return HMQ_ERR_REASON_CODE;
    }
  }
  hmq_w_u16(w, p->packet_id);
  if ((st = hmq_props_write(w, p->type, &p->props)) != HMQ_OK) {
    return st;
  }
  hmq_w_bytes(w, p->reasons.ptr, p->reasons.len);
  return HMQ_OK;
}

hmq_status hmq_encode_suback(uint8_t *buf, size_t cap, const hmq_suback *p, size_t *out_len) {
  if (p == NULL || !suback_type_ok(p->type)) {
    if (out_len != NULL) {
      *out_len = 0;
    }
    return HMQ_ERR_ARG;
  }
  return hmq_pkt_encode(buf, cap, (uint8_t)(p->type << 4), suback_body, p, out_len);
}

hmq_status hmq_decode_suback(const uint8_t *pkt, size_t len, hmq_suback *out) {
  hmq_reader r;
  hmq_status st;
  if (out == NULL || pkt == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  st = hmq_pkt_open_id(pkt, len, suback_type_ok, &r, &out->type, &out->packet_id);
  if (st != HMQ_OK) {
    return st;
  }
  if ((st = hmq_props_read(&r, out->type, &out->props)) != HMQ_OK) {
    return st;
  }
  out->reasons.len = hmq_r_left(&r);
  if ((st = hmq_r_bytes(&r, out->reasons.len, &out->reasons.ptr)) != HMQ_OK) {
    return st;
  }
  if (out->reasons.len == 0) {
    return HMQ_ERR_PROTOCOL; /* 3.9.3 / 3.11.3: one reason per filter, >= 1 */
  }
  for (size_t i = 0; i < out->reasons.len; i++) {
    if (!hmq_reason_valid(out->type, out->reasons.ptr[i])) {
      return HMQ_ERR_REASON_CODE;
    }
  }
  return HMQ_OK;
}

static hmq_status unsubscribe_body(hmq_writer *w, const void *vp) {
  const hmq_unsubscribe *p = vp;
  hmq_status st;
  if (p->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if (p->count == 0 || p->filters == NULL) {
    return HMQ_ERR_PROTOCOL; /* [MQTT-3.10.3-2]: at least one filter */
  }
  for (size_t i = 0; i < p->count; i++) {
    if ((st = hmq_pkt_check_str(p->filters[i])) != HMQ_OK) {
      return st;
    }
    if (p->filters[i].ptr == NULL || p->filters[i].len == 0) {
      return HMQ_ERR_TOPIC_EMPTY; /* [MQTT-4.7.3-1] */
    }
  }
  hmq_w_u16(w, p->packet_id);
  if ((st = hmq_props_write(w, HMQ_PKT_UNSUBSCRIBE, &p->props)) != HMQ_OK) {
    return st;
  }
  for (size_t i = 0; i < p->count; i++) {
    hmq_w_str(w, p->filters[i]);
  }
  return HMQ_OK;
}

hmq_status hmq_encode_unsubscribe(uint8_t *buf, size_t cap, const hmq_unsubscribe *p,
                                  size_t *out_len) {
  /* [MQTT-3.10.1-1]: fixed-header flags 0b0010. */
  return hmq_pkt_encode(buf, cap, (uint8_t)(HMQ_PKT_UNSUBSCRIBE << 4 | 2u), unsubscribe_body, p,
                        out_len);
}
