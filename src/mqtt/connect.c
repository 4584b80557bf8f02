/* SPDX-License-Identifier: MIT */
/*
 * CONNECT and CONNACK (MQTT 5.0 sections 3.1 and 3.2).
 *
 * The client only sends CONNECT and only receives CONNACK; the other two
 * directions exist for tests, the simulator and the fuzzers, and follow the
 * same rules so an encoder never produces what a decoder would reject.
 */
#include "mqtt/pkt.h"

#include <string.h>

/* Connect Flags bits (3.1.2.3). */
#define HMQ_CF_RESERVED    0x01u
#define HMQ_CF_CLEAN_START 0x02u
#define HMQ_CF_WILL        0x04u
#define HMQ_CF_WILL_QOS(q) ((unsigned)(q) << 3)
#define HMQ_CF_WILL_RETAIN 0x20u
#define HMQ_CF_PASSWORD    0x40u
#define HMQ_CF_USERNAME    0x80u

static const char hmq_protocol_name[4] = {'M', 'Q', 'T', 'T'};

static hmq_str nonnull_str(hmq_str s) {
  if (s.ptr == NULL) {
    s.ptr = "";
    s.len = 0;
  }
  return s;
}

static hmq_status check_will(const hmq_will *will) {
  if (will->qos > 2) {
    return HMQ_ERR_QOS_INVALID; /* [MQTT-3.1.2-12] */
  }
  hmq_status st = hmq_pkt_check_str(will->topic);
  if (st != HMQ_OK) {
    return st;
  }
  /* The Will Topic is a Topic Name (3.1.3.3): no alias can stand in. */
  st = hmq_pkt_check_topic(will->topic, false);
  if (st != HMQ_OK) {
    return st;
  }
  if (will->payload.ptr != NULL && will->payload.len > 0xFFFF) {
    return HMQ_ERR_ARG; /* Will Payload is Binary Data (3.1.3.4) */
  }
  return hmq_pkt_check_payload(&will->props, will->payload);
}

static hmq_status connect_body(hmq_writer *w, const void *vp) {
  const hmq_connect *p = vp;
  const hmq_will *will = p->will;
  hmq_status st;
  unsigned flags = 0;

  if ((st = hmq_pkt_check_str(p->client_id)) != HMQ_OK ||
      (st = hmq_pkt_check_str(p->username)) != HMQ_OK) {
    return st;
  }
  if (p->password.ptr != NULL && p->password.len > 0xFFFF) {
    return HMQ_ERR_ARG;
  }
  if (will != NULL) {
    if ((st = check_will(will)) != HMQ_OK) {
      return st;
    }
    flags |= HMQ_CF_WILL | HMQ_CF_WILL_QOS(will->qos) | (will->retain ? HMQ_CF_WILL_RETAIN : 0);
  }
  flags |= p->clean_start ? HMQ_CF_CLEAN_START : 0;
  /* 3.1.2.8/3.1.2.9: in MQTT 5 a password may be sent without a user name. */
  flags |= p->username.ptr != NULL ? HMQ_CF_USERNAME : 0;
  flags |= p->password.ptr != NULL ? HMQ_CF_PASSWORD : 0;

  hmq_w_str(w, (hmq_str){hmq_protocol_name, sizeof hmq_protocol_name}); /* 3.1.2.1 */
  hmq_w_u8(w, 5);                                                       /* 3.1.2.2 */
  hmq_w_u8(w, (uint8_t)flags);
  hmq_w_u16(w, p->keep_alive);
  if ((st = hmq_props_write(w, HMQ_PKT_CONNECT, &p->props)) != HMQ_OK) {
    return st;
  }
  /* Payload order is fixed by 3.1.3: id, will props, will topic, will
   * payload, user name, password. */
  hmq_w_str(w, nonnull_str(p->client_id));
  if (will != NULL) {
    if ((st = hmq_props_write(w, HMQ_PROPS_WILL, &will->props)) != HMQ_OK) {
      return st;
    }
    hmq_w_str(w, will->topic);
    hmq_w_bin(w, will->payload.ptr != NULL ? will->payload : (hmq_bin){(const uint8_t *)"", 0});
  }
  if (p->username.ptr != NULL) {
    hmq_w_str(w, p->username);
  }
  if (p->password.ptr != NULL) {
    hmq_w_bin(w, p->password);
  }
  return HMQ_OK;
}

hmq_status hmq_encode_connect(uint8_t *buf, size_t cap, const hmq_connect *p, size_t *out_len) {
  return hmq_pkt_encode(buf, cap, (uint8_t)(HMQ_PKT_CONNECT << 4), connect_body, p, out_len);
}

static hmq_status decode_will(hmq_reader *r, unsigned flags, hmq_will *will) {
  hmq_status st;
  memset(will, 0, sizeof *will);
  will->qos = (uint8_t)((flags >> 3) & 3u);
  will->retain = (flags & HMQ_CF_WILL_RETAIN) ? 1 : 0;
  if ((st = hmq_props_read(r, HMQ_PROPS_WILL, &will->props)) != HMQ_OK ||
      (st = hmq_r_str(r, &will->topic)) != HMQ_OK ||
      (st = hmq_pkt_check_topic(will->topic, false)) != HMQ_OK ||
      (st = hmq_r_bin(r, &will->payload)) != HMQ_OK) {
    return st;
  }
  return hmq_pkt_check_payload(&will->props, will->payload);
}

hmq_status hmq_decode_connect(const uint8_t *pkt, size_t len, hmq_connect *out, hmq_will *will) {
  hmq_reader r;
  hmq_str name;
  uint8_t version = 0, flags = 0;
  hmq_status st;

  if (out == NULL || will == NULL) {
    return HMQ_ERR_ARG; /* `will` is the storage out->will points to */
  }
  memset(out, 0, sizeof *out);
  if ((st = hmq_pkt_open(pkt, len, HMQ_PKT_CONNECT, 0, &r, NULL)) != HMQ_OK ||
      (st = hmq_r_str(&r, &name)) != HMQ_OK || (st = hmq_r_u8(&r, &version)) != HMQ_OK) {
    return st;
  }
  /* 3.1.2.1 / 3.1.2.2: anything but "MQTT" version 5 is not our protocol;
   * a server answers CONNACK 0x84 (Unsupported Protocol Version). */
  if (name.len != sizeof hmq_protocol_name ||
      memcmp(name.ptr, hmq_protocol_name, sizeof hmq_protocol_name) != 0 || version != 5) {
    return HMQ_ERR_PROTOCOL;
  }
  if ((st = hmq_r_u8(&r, &flags)) != HMQ_OK) {
    return st;
  }
  if (flags & HMQ_CF_RESERVED) {
    return HMQ_ERR_RESERVED_FLAGS; /* [MQTT-3.1.2-3] */
  }
  if (!(flags & HMQ_CF_WILL) && (flags & (HMQ_CF_WILL_QOS(3) | HMQ_CF_WILL_RETAIN))) {
    return HMQ_ERR_RESERVED_FLAGS; /* [MQTT-3.1.2-11], [MQTT-3.1.2-13] */
  }
  if (((flags >> 3) & 3u) == 3u) {
    return HMQ_ERR_QOS_INVALID; /* [MQTT-3.1.2-12] */
  }
  out->clean_start = (flags & HMQ_CF_CLEAN_START) ? 1 : 0;
  if ((st = hmq_r_u16(&r, &out->keep_alive)) != HMQ_OK ||
      (st = hmq_props_read(&r, HMQ_PKT_CONNECT, &out->props)) != HMQ_OK ||
      (st = hmq_r_str(&r, &out->client_id)) != HMQ_OK) {
    return st;
  }
  if (flags & HMQ_CF_WILL) {
    if ((st = decode_will(&r, flags, will)) != HMQ_OK) {
      return st;
    }
    out->will = will;
  }
  if ((flags & HMQ_CF_USERNAME) && (st = hmq_r_str(&r, &out->username)) != HMQ_OK) {
    return st;
  }
  if ((flags & HMQ_CF_PASSWORD) && (st = hmq_r_bin(&r, &out->password)) != HMQ_OK) {
    return st;
  }
  return hmq_pkt_close(&r);
}

static hmq_status connack_body(hmq_writer *w, const void *vp) {
  const hmq_connack *p = vp;
  if (!hmq_reason_valid(HMQ_PKT_CONNACK, p->reason)) {
    return HMQ_ERR_REASON_CODE;
  }
  if (p->session_present && p->reason != 0) {
    return HMQ_ERR_PROTOCOL; /* [MQTT-3.2.2-6] */
  }
  hmq_w_u8(w, p->session_present ? 1 : 0);
  hmq_w_u8(w, p->reason);
  return hmq_props_write(w, HMQ_PKT_CONNACK, &p->props);
}

hmq_status hmq_encode_connack(uint8_t *buf, size_t cap, const hmq_connack *p, size_t *out_len) {
  return hmq_pkt_encode(buf, cap, (uint8_t)(HMQ_PKT_CONNACK << 4), connack_body, p, out_len);
}

hmq_status hmq_decode_connack(const uint8_t *pkt, size_t len, hmq_connack *out) {
  hmq_reader r;
  uint8_t ack_flags = 0;
  hmq_status st;
  if (out == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  if ((st = hmq_pkt_open(pkt, len, HMQ_PKT_CONNACK, 0, &r, NULL)) != HMQ_OK ||
      (st = hmq_r_u8(&r, &ack_flags)) != HMQ_OK || (st = hmq_r_u8(&r, &out->reason)) != HMQ_OK) {
    return st;
  }
  if (ack_flags & 0xFEu) {
    return HMQ_ERR_RESERVED_FLAGS; /* [MQTT-3.2.2-1] */
  }
  out->session_present = ack_flags & 1u;
  if (!hmq_reason_valid(HMQ_PKT_CONNACK, out->reason)) {
    return HMQ_ERR_REASON_CODE;
  }
  if (out->session_present && out->reason != 0) {
    return HMQ_ERR_PROTOCOL; /* [MQTT-3.2.2-6] */
  }
  /* Unlike 3.1.1, an MQTT 5 CONNACK always carries a Property Length
   * (3.2.2.3), so Remaining Length 2 is malformed. */
  if ((st = hmq_props_read(&r, HMQ_PKT_CONNACK, &out->props)) != HMQ_OK) {
    return st;
  }
  return hmq_pkt_close(&r);
}
