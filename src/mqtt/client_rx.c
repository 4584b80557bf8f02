/* SPDX-License-Identifier: MIT */
/*
 * Client engine: one inbound packet at a time. Called by
 * hmq_client_next_event() with exactly one whole frame.
 *
 * Every handler either produces an event, silently consumes the packet
 * (PINGRESP, PUBREL, a QoS 2 resend), asks for tx room first (HMQ_WANT_WRITE,
 * nothing consumed, nothing changed) or fails the connection.
 */
#include "mqtt/client_int.h"

#include <string.h>

static hmq_status on_connack(hmq_client *c, const uint8_t *pkt, size_t len, hmq_event *ev) {
  if (c->state != HMQ_CLIENT_CONNECTING) {
    return hmq_client_fail(c, HMQ_ERR_PROTOCOL); /* [MQTT-3.2.0-2]: only one */
  }
  hmq_connack *ck = &ev->connack;
  hmq_status st = hmq_decode_connack(pkt, len, ck);
  if (st != HMQ_OK) {
    return hmq_client_fail(c, st);
  }
  ev->type = HMQ_EV_CONNACK;
  if (ck->reason >= 0x80) {
    /* 3.2.2.2: the server closes the connection; we send no DISCONNECT. */
    c->error = HMQ_ERR_REFUSED;
    c->state = HMQ_CLIENT_CLOSED;
    return HMQ_ERR_REFUSED;
  }
  if (c->cfg.clean_start && ck->session_present) {
    return hmq_client_fail(c, HMQ_ERR_PROTOCOL); /* [MQTT-3.2.2-2] */
  }
  const hmq_props *p = &ck->props;
  c->session_present = ck->session_present;
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX)) {
    c->server_receive_max = p->receive_max;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_MAX_QOS)) {
    c->server_max_qos = p->max_qos;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_RETAIN_AVAILABLE)) {
    c->server_retain_available = p->retain_available;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_WILDCARD_SUB_AVAILABLE)) {
    c->server_wildcard_available = p->wildcard_sub_available;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_SUB_ID_AVAILABLE)) {
    c->server_sub_id_available = p->sub_id_available;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_SHARED_SUB_AVAILABLE)) {
    c->server_shared_available = p->shared_sub_available;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE)) {
    c->server_max_packet = p->max_packet_size;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX)) {
    c->server_topic_alias_max = p->topic_alias_max;
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_SERVER_KEEP_ALIVE)) {
    c->keep_alive = p->server_keep_alive; /* 3.2.2.3.14: the server's wins */
  }
  if (p->present & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY)) {
    c->server_session_expiry = p->session_expiry;
  }
  if ((p->present & HMQ_PROP_BIT(HMQ_PROP_ASSIGNED_CLIENT_ID)) &&
      p->assigned_client_id.len <= sizeof c->assigned_id) {
    memcpy(c->assigned_id, p->assigned_client_id.ptr, p->assigned_client_id.len);
    c->assigned_len = p->assigned_client_id.len;
  }
  if (!ck->session_present) {
    /* 4.1: a new session holds no QoS 2 state from an earlier one. */
    if (c->qos2_count > 0) {
      hmq_ids_sweep(c, HMQ_ID_QOS2, false);
    }
    c->qos2_count = 0;
    c->qos2_conn_count = 0;
  }
  c->state = HMQ_CLIENT_CONNECTED;
  if (c->cfg.sub_count > 0) {
    /* Always, even with Session Present 1: mosquitto 2.0 forgets $share
     * subscriptions across a broker restart (docs/mosquitto.md). */
    uint16_t id = c->next_packet_id == 0 ? 1 : c->next_packet_id;
    c->sub_packet_id = id; /* no QoS 1 PUBLISH of ours is in flight yet */
    c->next_packet_id = (uint16_t)(id + 1u);
    c->pending_sub = 1;
  }
  hmq_client_pump(c);
  return HMQ_OK;
}

static hmq_status on_publish(hmq_client *c, const uint8_t *pkt, size_t len, hmq_event *ev,
                             bool *consumed) {
  hmq_publish *pub = &ev->publish;
  hmq_status st = hmq_decode_publish(pkt, len, pub);
  if (st != HMQ_OK) {
    *consumed = true;
    return hmq_client_fail(c, st);
  }
  if (pub->qos == 2) {
    if (hmq_ids_get(c, HMQ_ID_QOS2, pub->packet_id) != 0) {
      /* 4.3.3: PUBREC already sent, PUBREL pending: a resend is answered
       * with PUBREC again and not delivered twice. */
      if (hmq_client_reply(c, HMQ_PKT_PUBREC, pub->packet_id) != HMQ_OK) {
        return HMQ_WANT_WRITE;
      }
      *consumed = true;
      c->n_publish_rx++;
      c->n_dup_rx += pub->dup ? 1u : 0u;
      return HMQ_OK;
    }
    if (hmq_client_ring_has_qos2(c, pub->packet_id)) {
      /* Delivered and not acked yet: its PUBREC follows the app's ack. */
      *consumed = true;
      c->n_publish_rx++;
      c->n_dup_rx += pub->dup ? 1u : 0u;
      return HMQ_OK;
    }
  }
  *consumed = true;
  if (pub->props.present & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS)) {
    /* 3.3.2.3.4: 0 and values above our Topic Alias Maximum are errors;
     * a topic sets the mapping, an empty topic uses it. */
    uint16_t a = pub->props.topic_alias;
    if (a == 0 || a > c->alias_max) {
      return hmq_client_fail(c, HMQ_ERR_TOPIC_ALIAS);
    }
    st = pub->topic.len > 0 ? hmq_alias_set(c, a, pub->topic) : hmq_alias_get(c, a, &pub->topic);
    if (st != HMQ_OK) {
      return hmq_client_fail(c, st);
    }
  } else if (pub->topic.len == 0) {
    return hmq_client_fail(c, HMQ_ERR_TOPIC_EMPTY); /* [MQTT-3.3.2-8] */
  }
  c->n_publish_rx++;
  c->n_dup_rx += pub->dup ? 1u : 0u;
  if (pub->qos > 0) {
    /* 3.3.4 / 4.9: the server may not exceed our Receive Maximum;
     * QoS 2 ids awaiting PUBREL still count. */
    if (hmq_client_inflight(c) >= c->cfg.receive_max) {
      return hmq_client_fail(c, HMQ_ERR_RECEIVE_MAX);
    }
    ev->seq = hmq_client_ring_push(c, pub->packet_id, pub->qos);
  }
  ev->type = HMQ_EV_PUBLISH;
  return HMQ_OK;
}

static hmq_status on_ack(hmq_client *c, const uint8_t *pkt, size_t len, hmq_event *ev,
                         bool *consumed) {
  hmq_ack a;
  hmq_status st = hmq_decode_ack(pkt, len, &a);
  if (st != HMQ_OK) {
    *consumed = true;
    return hmq_client_fail(c, st);
  }
  if (a.type == HMQ_PKT_PUBREL) {
    /* 4.3.3: answer with PUBCOMP (0x92 when the id is not ours); the id
     * stays ours, and counts against our Receive Maximum, until then. */
    if (hmq_client_reply(c, HMQ_PKT_PUBCOMP, a.packet_id) != HMQ_OK) {
      return HMQ_WANT_WRITE;
    }
    *consumed = true;
    return HMQ_OK;
  }
  *consumed = true;
  if (a.type != HMQ_PKT_PUBACK || hmq_ids_del(c, HMQ_ID_OUT, a.packet_id) == 0) {
    /* We only send QoS 1: PUBREC/PUBCOMP, or a PUBACK for an id not in
     * flight, is a protocol error (4.3.2). */
    return hmq_client_fail(c, HMQ_ERR_PROTOCOL);
  }
  c->out_inflight--;
  ev->type = HMQ_EV_PUBACK;
  ev->ack = a;
  return HMQ_OK;
}

static hmq_status on_suback(hmq_client *c, const uint8_t *pkt, size_t len, hmq_event *ev) {
  hmq_suback *sa = &ev->suback;
  hmq_status st = hmq_decode_suback(pkt, len, sa);
  if (st != HMQ_OK) {
    return hmq_client_fail(c, st);
  }
  /* We never UNSUBSCRIBE, and only one SUBSCRIBE is ever outstanding. */
  if (sa->type != HMQ_PKT_SUBACK || c->sub_packet_id == 0 || c->pending_sub ||
      sa->packet_id != c->sub_packet_id || sa->reasons.len != c->cfg.sub_count) {
    return hmq_client_fail(c, HMQ_ERR_PROTOCOL);
  }
  c->sub_packet_id = 0;
  ev->type = HMQ_EV_SUBACK;
  for (size_t i = 0; i < sa->reasons.len; i++) {
    if (sa->reasons.ptr[i] >= 0x80) {
      return HMQ_ERR_SUBSCRIBE_REFUSED; /* 3.9.3: per filter; not sticky */
    }
  }
  return HMQ_OK;
}

static hmq_status on_disconnect(hmq_client *c, const uint8_t *pkt, size_t len, hmq_event *ev) {
  hmq_status st = hmq_decode_disconnect(pkt, len, &ev->disconnect);
  if (st != HMQ_OK) {
    return hmq_client_fail(c, st);
  }
  ev->type = HMQ_EV_DISCONNECT;
  /* 3.14: after the server's DISCONNECT we send nothing back. */
  c->error = ev->disconnect.reason == 0x8E ? HMQ_ERR_TAKEN_OVER : HMQ_ERR_SERVER_DISCONNECT;
  c->state = HMQ_CLIENT_CLOSED;
  c->pending_sub = c->pending_ping = c->pending_disc = 0;
  c->ping_outstanding = 0;
  return c->error;
}

hmq_status hmq_client_on_packet(hmq_client *c, const uint8_t *pkt, size_t len, const hmq_frame *f,
                                hmq_event *ev, bool *consumed) {
  if (c->state == HMQ_CLIENT_CONNECTING && f->type != HMQ_PKT_CONNACK && f->type != HMQ_PKT_AUTH &&
      f->type != HMQ_PKT_DISCONNECT) {
    *consumed = true;
    return hmq_client_fail(c, HMQ_ERR_PROTOCOL); /* [MQTT-3.2.0-1] CONNACK first */
  }
  switch (f->type) {
  case HMQ_PKT_CONNACK:
    *consumed = true;
    return on_connack(c, pkt, len, ev);
  case HMQ_PKT_PUBLISH:
    return on_publish(c, pkt, len, ev, consumed);
  case HMQ_PKT_PUBACK:
  case HMQ_PKT_PUBREC:
  case HMQ_PKT_PUBREL:
  case HMQ_PKT_PUBCOMP:
    return on_ack(c, pkt, len, ev, consumed);
  case HMQ_PKT_SUBACK:
  case HMQ_PKT_UNSUBACK:
    *consumed = true;
    return on_suback(c, pkt, len, ev);
  case HMQ_PKT_PINGRESP: {
    *consumed = true;
    hmq_status st = hmq_decode_pingresp(pkt, len);
    if (st != HMQ_OK) {
      return hmq_client_fail(c, st);
    }
    c->ping_outstanding = 0;
    return HMQ_OK;
  }
  case HMQ_PKT_DISCONNECT:
    *consumed = true;
    return on_disconnect(c, pkt, len, ev);
  case HMQ_PKT_AUTH: {
    *consumed = true;
    hmq_status st = hmq_decode_auth(pkt, len, &ev->auth);
    if (st != HMQ_OK) {
      return hmq_client_fail(c, st);
    }
    /* 4.12: a server must not send AUTH to a client whose CONNECT had no
     * Authentication Method, and ours never has one: a Protocol Error
     * (before, an AUTH was handed up as an event nobody answered, and
     * one instead of CONNACK left the connection waiting for it). The
     * event names it for the error text. */
    ev->type = HMQ_EV_AUTH;
    return hmq_client_fail(c, HMQ_ERR_PROTOCOL);
  }
  default:
    /* CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ: never sent by a server. */
    *consumed = true;
    return hmq_client_fail(c, HMQ_ERR_PACKET_TYPE);
  }
}
