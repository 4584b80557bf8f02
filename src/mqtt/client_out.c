/* SPDX-License-Identifier: MIT */
/*
 * Client engine: what the application sends on its own initiative —
 * PUBLISH at QoS 0/1 (tools and the fleet simulator) and DISCONNECT.
 * Sections cited are those of the MQTT 5.0 OASIS standard.
 */
#include "mqtt/client_int.h"

#include <string.h>

/* Next free packet id for a packet we send (2.2.1): 1..65535, skipping
 * ids of our in-flight QoS 1 PUBLISHes and the pending SUBSCRIBE. */
static uint16_t alloc_packet_id(hmq_client *c) {
  uint16_t id = c->next_packet_id;
  for (uint32_t tries = 0; tries < 65535u; tries++) {
    if (id == 0) {
      id = 1;
    }
    if (id != c->sub_packet_id && hmq_ids_get(c, HMQ_ID_OUT, id) == 0) {
      c->next_packet_id = (uint16_t)(id + 1u);
      return id;
    }
    id++;
  }
  return 0;
}

hmq_status hmq_client_publish(hmq_client *c, const hmq_publish *p, uint16_t *packet_id) {
  if (c == NULL || p == NULL) {
    return HMQ_ERR_ARG;
  }
  if (c->state != HMQ_CLIENT_CONNECTED) {
    return HMQ_ERR_STATE;
  }
  /* 3.2.2.3.4 / 3.2.2.3.5: never above the server's Maximum QoS, no retain
   * where it is not available; we only send QoS 0 and 1. */
  if (p->qos > 1 || p->qos > c->server_max_qos || (p->retain && !c->server_retain_available)) {
    return HMQ_ERR_ARG;
  }
  if ((p->props.present & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS)) &&
      (p->props.topic_alias == 0 || p->props.topic_alias > c->server_topic_alias_max)) {
    return HMQ_ERR_ARG; /* 3.3.2.3.4 */
  }
  if (p->qos == 1 && (c->out_inflight >= c->server_receive_max || !hmq_ids_room(c))) {
    return HMQ_ERR_FULL; /* 4.9: the server's send quota, or our id set (mem.slots) */
  }
  hmq_client_flush_acks(c);
  hmq_publish q = *p;
  q.packet_id = 0;
  if (q.qos == 1) {
    q.packet_id = alloc_packet_id(c);
    if (q.packet_id == 0) {
      return HMQ_ERR_FULL;
    }
  }
  size_t need = 0;
  hmq_status st = hmq_encode_publish(c->mem.tx, 0, &q, &need);
  if (st != HMQ_ERR_NO_ROOM && st != HMQ_OK) {
    return st;
  }
  if (c->server_max_packet != 0 && need > c->server_max_packet) {
    return HMQ_ERR_PACKET_TOO_LARGE; /* 3.2.2.3.6 */
  }
  size_t room = hmq_client_tx_room(c);
  if (need > room) {
    return HMQ_ERR_NO_ROOM;
  }
  size_t n = 0;
  st = hmq_encode_publish(c->mem.tx + c->tx_len, room, &q, &n);
  if (st != HMQ_OK) {
    return st;
  }
  c->tx_len += n;
  if (q.qos == 1) {
    (void)hmq_ids_add(c, HMQ_ID_OUT | q.packet_id); /* room checked above */
    c->out_inflight++;
  }
  if (packet_id != NULL) {
    *packet_id = q.packet_id;
  }
  return HMQ_OK;
}

hmq_status hmq_client_disconnect(hmq_client *c, uint8_t reason, int64_t session_expiry) {
  if (c == NULL) {
    return HMQ_ERR_ARG;
  }
  if (c->state != HMQ_CLIENT_CONNECTED && c->state != HMQ_CLIENT_CONNECTING) {
    return HMQ_ERR_STATE;
  }
  if (session_expiry < -1 || session_expiry > (int64_t)UINT32_MAX) {
    return HMQ_ERR_ARG;
  }
  if (!hmq_client_reason_ok(reason)) {
    return HMQ_ERR_ARG; /* a server-only reason code [MQTT-3.14.2-1] */
  }
  if (session_expiry > 0 && c->cfg.session_expiry == 0) {
    return HMQ_ERR_ARG; /* 3.14.2.2.2: protocol error from 0 to non-zero */
  }
  if (c->state == HMQ_CLIENT_CONNECTED) {
    hmq_client_flush_replies(c);
    hmq_client_flush_acks(c);
  }
  c->pending_sub = c->pending_ping = 0;
  c->pending_disc = 1;
  c->disc_reason = reason;
  c->disc_expiry = session_expiry;
  c->state = HMQ_CLIENT_CLOSING;
  hmq_client_pump(c);
  return HMQ_OK;
}
