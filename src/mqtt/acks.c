/* SPDX-License-Identifier: MIT */
/*
 * PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 sections 3.4 to 3.7). They
 * share one layout: Packet Identifier, then optionally a Reason Code, then
 * optionally properties. The short forms (3.4.2.1) matter on the hot path:
 * an ordinary PUBACK is 4 bytes.
 */
#include "mqtt/pkt.h"

#include <string.h>

static bool ack_type_ok(uint8_t type) {
  return type >= HMQ_PKT_PUBACK && type <= HMQ_PKT_PUBCOMP;
}

/* The long form (with properties); the short forms are written directly in
 * hmq_encode_ack. */
static hmq_status ack_body(hmq_writer *w, const void *vp) {
  const hmq_ack *p = vp;
  if (p->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if (!hmq_reason_valid(p->type, p->reason)) {
    return HMQ_ERR_REASON_CODE;
  }
  hmq_w_u16(w, p->packet_id);
  hmq_w_u8(w, p->reason);
  return hmq_props_write(w, p->type, &p->props);
}

hmq_status hmq_encode_ack(uint8_t *buf, size_t cap, const hmq_ack *p, size_t *out_len) {
  size_t ignored = 0;
  if (out_len == NULL) {
    out_len = &ignored;
  }
  *out_len = 0;
  if (p == NULL || !ack_type_ok(p->type) || (buf == NULL && cap != 0)) {
    return HMQ_ERR_ARG;
  }
  const uint8_t byte0 = (uint8_t)(p->type << 4 | hmq_pkt_fixed_flags(p->type));
  if (!hmq_props_empty(&p->props)) {
    return hmq_pkt_encode(buf, cap, byte0, ack_body, p, out_len);
  }
  /* The common case, one PUBACK per message: the short forms of 3.4.2.1
   * written directly, with the checks of ack_body. Remaining Length 2 when
   * the reason is 0x00, 3 (reason, no Property Length) otherwise. */
  if (p->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if (!hmq_reason_valid(p->type, p->reason)) {
    return HMQ_ERR_REASON_CODE;
  }
  const size_t n = p->reason == 0 ? 4 : 5;
  if (buf == NULL || cap < n) {
    *out_len = n;
    return HMQ_ERR_NO_ROOM;
  }
  buf[0] = byte0;
  buf[1] = (uint8_t)(n - 2);
  buf[2] = (uint8_t)(p->packet_id >> 8);
  buf[3] = (uint8_t)p->packet_id;
  if (n == 5) {
    buf[4] = p->reason;
  }
  *out_len = n;
  return HMQ_OK;
}

hmq_status hmq_decode_ack(const uint8_t *pkt, size_t len, hmq_ack *out) {
  hmq_reader r;
  hmq_status st;
  if (out == NULL || pkt == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  /* PUBREL carries flags 0b0010 (2.1.3); hmq_pkt_open_id checks them. */
  st = hmq_pkt_open_id(pkt, len, ack_type_ok, &r, &out->type, &out->packet_id);
  if (st != HMQ_OK) {
    return st;
  }
  /* 3.4.2.1: no Reason Code means 0x00; no Property Length means none. */
  if (hmq_r_left(&r) > 0) {
    if ((st = hmq_r_u8(&r, &out->reason)) != HMQ_OK) {
      return st;
    }
    if (!hmq_reason_valid(out->type, out->reason)) {
      return HMQ_ERR_REASON_CODE;
    }
  }
  if (hmq_r_left(&r) > 0 && (st = hmq_props_read(&r, out->type, &out->props)) != HMQ_OK) {
    return st;
  }
  return hmq_pkt_close(&r);
}
