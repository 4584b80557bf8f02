/* SPDX-License-Identifier: MIT */
/*
 * PUBLISH (MQTT 5.0 section 3.3): the one packet on the per-message path.
 * The decoder returns views into the packet and allocates nothing.
 */
#include "mqtt/pkt.h"

#include <string.h>

hmq_status hmq_pkt_check_topic(hmq_str t, bool alias_ok) {
  if (t.ptr == NULL || t.len == 0) {
    /* 4.7.3: a Topic Name is at least one character; 3.3.2.1 allows the
     * empty one only when a Topic Alias stands in [MQTT-3.3.2-8]. */
    return alias_ok ? HMQ_OK : HMQ_ERR_TOPIC_EMPTY;
  }
  if (memchr(t.ptr, '+', t.len) != NULL || memchr(t.ptr, '#', t.len) != NULL) {
    return HMQ_ERR_TOPIC_WILDCARD; /* [MQTT-3.3.2-2] */
  }
  return HMQ_OK;
}

hmq_status hmq_pkt_check_payload(const hmq_props *props, hmq_bin payload) {
  /* 3.3.2.3.2: indicator 1 promises UTF-8 Encoded Character Data; a
   * receiver that checks answers 0x99 (Payload format invalid). */
  if ((props->present & HMQ_PROP_BIT(HMQ_PROP_PAYLOAD_FORMAT)) && props->payload_format == 1 &&
      payload.len > 0 && hmq_utf8_check((const char *)payload.ptr, payload.len) != HMQ_OK) {
    return HMQ_ERR_PAYLOAD_FORMAT;
  }
  return HMQ_OK;
}

static bool has_alias(const hmq_props *props) {
  return (props->present & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS)) != 0;
}

static hmq_status publish_body(hmq_writer *w, const void *vp) {
  const hmq_publish *p = vp;
  hmq_status st;
  if (p->qos > 2) {
    return HMQ_ERR_QOS_INVALID; /* [MQTT-3.3.1-4] */
  }
  if (p->dup && p->qos == 0) {
    return HMQ_ERR_RESERVED_FLAGS; /* [MQTT-3.3.1-2] */
  }
  if (p->qos > 0 && p->packet_id == 0) {
    return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
  }
  if ((st = hmq_pkt_check_str(p->topic)) != HMQ_OK ||
      (st = hmq_pkt_check_topic(p->topic, has_alias(&p->props))) != HMQ_OK ||
      (st = hmq_pkt_check_payload(&p->props, p->payload)) != HMQ_OK) {
    return st;
  }
  hmq_w_str(w, p->topic.ptr != NULL ? p->topic : (hmq_str){"", 0});
  if (p->qos > 0) {
    hmq_w_u16(w, p->packet_id); /* 3.3.2.2: only at QoS 1 and 2 */
  }
  if ((st = hmq_props_write(w, HMQ_PKT_PUBLISH, &p->props)) != HMQ_OK) {
    return st;
  }
  if (p->payload.len > 0) {
    hmq_w_bytes(w, p->payload.ptr, p->payload.len); /* 3.3.3: no length prefix */
  }
  return HMQ_OK;
}

hmq_status hmq_encode_publish(uint8_t *buf, size_t cap, const hmq_publish *p, size_t *out_len) {
  uint8_t byte0 = (uint8_t)(HMQ_PKT_PUBLISH << 4);
  if (p != NULL) {
    /* 3.3.1: DUP bit 3, QoS bits 2-1, RETAIN bit 0. */
    byte0 |= (uint8_t)((p->dup ? 0x08u : 0u) | ((p->qos & 3u) << 1) | (p->retain ? 1u : 0u));
  }
  return hmq_pkt_encode(buf, cap, byte0, publish_body, p, out_len);
}

hmq_status hmq_decode_publish(const uint8_t *pkt, size_t len, hmq_publish *out) {
  hmq_reader r;
  uint8_t flags = 0;
  hmq_status st;
  if (out == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(out, 0, sizeof *out);
  if ((st = hmq_pkt_open(pkt, len, HMQ_PKT_PUBLISH, -1, &r, &flags)) != HMQ_OK) {
    return st;
  }
  out->qos = (flags >> 1) & 3u;
  out->dup = (flags >> 3) & 1u;
  out->retain = flags & 1u;
  if (out->qos == 3) {
    return HMQ_ERR_QOS_INVALID; /* [MQTT-3.3.1-4] */
  }
  if (out->dup && out->qos == 0) {
    return HMQ_ERR_RESERVED_FLAGS; /* [MQTT-3.3.1-2] */
  }
  if ((st = hmq_r_str(&r, &out->topic)) != HMQ_OK) {
    return st;
  }
  if (out->qos > 0) {
    if ((st = hmq_r_u16(&r, &out->packet_id)) != HMQ_OK) {
      return st;
    }
    if (out->packet_id == 0) {
      return HMQ_ERR_PACKET_ID_ZERO; /* [MQTT-2.2.1-3] */
    }
  }
  if ((st = hmq_props_read(&r, HMQ_PKT_PUBLISH, &out->props)) != HMQ_OK ||
      (st = hmq_pkt_check_topic(out->topic, has_alias(&out->props))) != HMQ_OK) {
    return st;
  }
  /* 3.3.3: the payload is the rest of the packet, possibly empty. */
  out->payload.len = hmq_r_left(&r);
  if ((st = hmq_r_bytes(&r, out->payload.len, &out->payload.ptr)) != HMQ_OK) {
    return st;
  }
  return hmq_pkt_check_payload(&out->props, out->payload);
}
