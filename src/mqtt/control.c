/* SPDX-License-Identifier: MIT */
/*
 * PINGREQ and PINGRESP (3.12, 3.13), DISCONNECT (3.14) and AUTH (3.15):
 * the packets that carry at most a reason code and properties.
 */
#include "mqtt/pkt.h"

#include <string.h>

static hmq_status empty_body(hmq_writer *w, const void *vp) {
  (void)w;
  (void)vp;
  return HMQ_OK;
}

hmq_status hmq_encode_pingreq(uint8_t *buf, size_t cap, size_t *out_len) {
  static const uint8_t none = 0;
  return hmq_pkt_encode(buf, cap, (uint8_t)(HMQ_PKT_PINGREQ << 4), empty_body, &none, out_len);
}

hmq_status hmq_encode_pingresp(uint8_t *buf, size_t cap, size_t *out_len) {
  static const uint8_t none = 0;
  return hmq_pkt_encode(buf, cap, (uint8_t)(HMQ_PKT_PINGRESP << 4), empty_body, &none, out_len);
}

hmq_status hmq_decode_pingresp(const uint8_t *pkt, size_t len) {
  hmq_reader r;
  hmq_status st = hmq_pkt_open(pkt, len, HMQ_PKT_PINGRESP, 0, &r, NULL);
  if (st != HMQ_OK) {
    return st;
  }
  return hmq_pkt_close(&r); /* 3.13.2 / 3.13.3: no variable header, no payload */
}

/* DISCONNECT and AUTH both start with a Reason Code and a property block. */
typedef struct hmq_reason_pkt {
  uint8_t type;
  uint8_t reason;
  const hmq_props *props;
} hmq_reason_pkt;

static hmq_status reason_body(hmq_writer *w, const void *vp) {
  const hmq_reason_pkt *p = vp;
  if (!hmq_reason_valid(p->type, p->reason)) {
    return HMQ_ERR_REASON_CODE;
  }
  if (hmq_props_empty(p->props)) {
    /* 3.14.2.1: DISCONNECT may stop after the reason (Remaining Length 1)
     * or omit it when it is 0x00. 3.15.2.1: AUTH may only omit both. */
    if (p->reason != 0) {
      hmq_w_u8(w, p->reason);
      if (p->type == HMQ_PKT_AUTH) {
        hmq_w_u8(w, 0); /* Property Length 0 */
      }
    }
    return HMQ_OK;
  }
  hmq_w_u8(w, p->reason);
  return hmq_props_write(w, p->type, p->props);
}

static hmq_status encode_reason(uint8_t *buf, size_t cap, uint8_t type, uint8_t reason,
                                const hmq_props *props, size_t *out_len) {
  hmq_reason_pkt rp = {type, reason, props};
  return hmq_pkt_encode(buf, cap, (uint8_t)(type << 4), reason_body, &rp, out_len);
}

static hmq_status decode_reason(const uint8_t *pkt, size_t len, uint8_t type, uint8_t *reason,
                                hmq_props *props) {
  hmq_reader r;
  hmq_status st = hmq_pkt_open(pkt, len, type, 0, &r, NULL);
  if (st != HMQ_OK) {
    return st;
  }
  if (hmq_r_left(&r) == 0) {
    return HMQ_OK; /* Remaining Length 0: reason 0x00, no properties */
  }
  if (type == HMQ_PKT_AUTH && hmq_r_left(&r) < 2) {
    return HMQ_ERR_LENGTH; /* 3.15.2.1 has no reason-only form */
  }
  if ((st = hmq_r_u8(&r, reason)) != HMQ_OK) {
    return st;
  }
  if (!hmq_reason_valid(type, *reason)) {
    return HMQ_ERR_REASON_CODE;
  }
  /* 3.14.2.2.1: Remaining Length < 2 means Property Length 0. */
  if (hmq_r_left(&r) > 0 && (st = hmq_props_read(&r, type, props)) != HMQ_OK) {
    return st;
  }
  return hmq_pkt_close(&r);
}

hmq_status hmq_encode_disconnect(uint8_t *buf, size_t cap, const hmq_disconnect *p,
                                 size_t *out_len) {
  if (p == NULL) {
    if (out_len != NULL) {
      *out_len = 0;
    }
    return HMQ_ERR_ARG;
  }
  return encode_reason(buf, cap, HMQ_PKT_DISCONNECT, p->reason, &p->props, out_len);
}

hmq_status hmq_decode_disconnect(const uint8_t *pkt, size_t len, hmq_disconnect *out) {
  if (out == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  return decode_reason(pkt, len, HMQ_PKT_DISCONNECT, &out->reason, &out->props);
}

hmq_status hmq_encode_auth(uint8_t *buf, size_t cap, const hmq_auth *p, size_t *out_len) {
  if (p == NULL) {
    if (out_len != NULL) {
      *out_len = 0;
    }
    return HMQ_ERR_ARG;
  }
  return encode_reason(buf, cap, HMQ_PKT_AUTH, p->reason, &p->props, out_len);
}

hmq_status hmq_decode_auth(const uint8_t *pkt, size_t len, hmq_auth *out) {
  if (out == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  return decode_reason(pkt, len, HMQ_PKT_AUTH, &out->reason, &out->props);
}
