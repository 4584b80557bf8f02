/* SPDX-License-Identifier: MIT */
/*
 * Client engine: configuration, CONNECT, the tx/rx buffers, the pump of
 * pending packets, sticky errors and keepalive. Inbound packets are handled
 * in client_rx.c, the in-flight ring, QoS 2 replies and topic aliases in
 * client_ack.c, outbound PUBLISH and DISCONNECT in client_out.c.
 *
 * The engine is sans-I/O: time enters as now_ms, bytes through rxbuf/txbuf.
 * Sections cited are those of the MQTT 5.0 OASIS standard.
 */
#include "mqtt/client_int.h"

#include <string.h>

static const char *const state_names[] = {"IDLE", "CONNECTING", "CONNECTED", "CLOSING", "CLOSED"};

const char *hmq_client_state_name(hmq_client_state s) {
  if ((unsigned)s < sizeof state_names / sizeof state_names[0]) {
    return state_names[s];
  }
  return "UNKNOWN";
}

void hmq_client_config_default(hmq_client_config *cfg) {
  if (cfg == NULL) {
    return;
  }
  memset(cfg, 0, sizeof *cfg);
  cfg->keep_alive = 60;
  cfg->clean_start = 0;
  cfg->session_expiry = 0xFFFFFFFFu;
  cfg->receive_max = 65535;
  cfg->max_packet_size = 0;
  cfg->topic_alias_max = 16;
}

void hmq_client_init(hmq_client *c, const hmq_client_config *cfg, const hmq_client_mem *mem) {
  if (c == NULL) {
    return;
  }
  memset(c, 0, sizeof *c);
  if (cfg != NULL) {
    c->cfg = *cfg;
  }
  if (mem != NULL) {
    c->mem = *mem;
  }
  c->state = HMQ_CLIENT_IDLE;
  c->next_seq = 1;
  c->conn_first_seq = 1;
  c->next_packet_id = 1;
  c->disc_expiry = -1;
  if (c->mem.slots != NULL) {
    hmq_ids_reset(c); /* the id set starts empty, whatever the memory held */
  }
}

/* Time only enters through start/next_event/tick; bytes moved in between
 * are stamped with the next time we learn. */
static void note_time(hmq_client *c, uint64_t now_ms) {
  c->now_ms = now_ms;
  if (c->rx_activity) {
    c->last_rx_ms = now_ms;
    c->rx_activity = 0;
  }
  if (c->tx_activity) {
    c->last_tx_ms = now_ms;
    c->tx_activity = 0;
  }
}

static uint64_t elapsed(uint64_t now, uint64_t since) {
  return now > since ? now - since : 0;
}

size_t hmq_client_tx_room(hmq_client *c) {
  if (c->tx_off == c->tx_len) {
    c->tx_off = 0;
    c->tx_len = 0;
  }
  return c->mem.tx_cap - c->tx_len;
}

static hmq_status put_subscribe(hmq_client *c, uint8_t *buf, size_t cap, size_t *out_len) {
  hmq_subscribe s;
  memset(&s, 0, sizeof s);
  s.packet_id = c->sub_packet_id != 0 ? c->sub_packet_id : 1;
  s.filters = c->cfg.subs;
  s.count = c->cfg.sub_count;
  return hmq_encode_subscribe(buf, cap, &s, out_len);
}

static hmq_status put_disconnect(hmq_client *c) {
  hmq_disconnect d;
  memset(&d, 0, sizeof d);
  d.reason = c->disc_reason;
  if (c->disc_expiry >= 0) {
    d.props.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY);
    d.props.session_expiry = (uint32_t)c->disc_expiry;
  }
  size_t room = hmq_client_tx_room(c);
  size_t n = 0;
  hmq_status st = hmq_encode_disconnect(c->mem.tx + c->tx_len, room, &d, &n);
  if (st == HMQ_OK) {
    c->tx_len += n;
  }
  return st;
}

bool hmq_client_has_pending(const hmq_client *c) {
  if (c->state == HMQ_CLIENT_CONNECTED) {
    if (c->pending_sub || c->pending_ping || c->reply_count > 0) {
      return true;
    }
    if (c->slot_count > 0 && c->mem.slots[c->slot_head].state == HMQ_SLOT_ACKED) {
      /* A QoS 2 PUBREC waits while the id set is full (flush_acks). */
      return c->mem.slots[c->slot_head].qos != 2 || hmq_ids_room(c);
    }
  }
  return c->pending_disc != 0;
}

void hmq_client_pump(hmq_client *c) {
  if (c->state == HMQ_CLIENT_CONNECTED) {
    /* Acks first: the broker's window only reopens with them (docs/stream.md). */
    hmq_client_flush_replies(c);
    hmq_client_flush_acks(c);
    if (c->pending_sub) {
      size_t n = 0;
      size_t room = hmq_client_tx_room(c);
      hmq_status st = put_subscribe(c, c->mem.tx + c->tx_len, room, &n);
      if (st == HMQ_OK) {
        c->tx_len += n;
        c->pending_sub = 0;
      }
    }
    if (c->pending_ping) {
      size_t n = 0;
      size_t room = hmq_client_tx_room(c);
      if (hmq_encode_pingreq(c->mem.tx + c->tx_len, room, &n) == HMQ_OK) {
        c->tx_len += n;
        c->pending_ping = 0;
      }
    }
  }
  if (c->pending_disc && c->state == HMQ_CLIENT_CLOSING) {
    if (put_disconnect(c) == HMQ_OK) {
      c->pending_disc = 0;
    }
  }
}

/* DISCONNECT reason codes MQTT 5.0 3.14.2.1 marks "Client" or "Client or
 * Server"; the rest (0x87 … 0x8E, 0x8F, 0x9A … 0xA2) only a server may send
 * [MQTT-3.14.2-1]. */
bool hmq_client_reason_ok(uint8_t reason) {
  switch (reason) {
  case 0x00: /* Normal disconnection */
  case 0x04: /* Disconnect with Will Message */
  case 0x80: /* Unspecified error */
  case 0x81: /* Malformed Packet */
  case 0x82: /* Protocol Error */
  case 0x83: /* Implementation specific error */
  case 0x90: /* Topic Name invalid */
  case 0x93: /* Receive Maximum exceeded */
  case 0x94: /* Topic Alias invalid */
  case 0x95: /* Packet too large */
  case 0x96: /* Message rate too high */
  case 0x97: /* Quota exceeded */
  case 0x98: /* Administrative action */
  case 0x99: /* Payload format invalid */
    return true;
  default:
    return false;
  }
}

hmq_status hmq_client_fail(hmq_client *c, hmq_status err) {
  if (c->error == HMQ_OK) {
    c->error = err;
  }
  uint8_t reason = hmq_status_reason(err);
  if (!hmq_client_reason_ok(reason)) {
    reason = 0; /* never a server-only code: close without DISCONNECT */
  }
  c->pending_sub = 0;
  c->pending_ping = 0;
  c->ping_outstanding = 0;
  if (reason != 0 && (c->state == HMQ_CLIENT_CONNECTING || c->state == HMQ_CLIENT_CONNECTED)) {
    /* 4.13: on a protocol error the client may send DISCONNECT with the
     * reason code before closing. Acks the app already gave go out first:
     * fewer duplicates on the next connection. */
    if (c->state == HMQ_CLIENT_CONNECTED) {
      hmq_client_flush_replies(c);
      hmq_client_flush_acks(c);
    }
    c->pending_disc = 1;
    c->disc_reason = reason;
    c->disc_expiry = -1;
    c->state = HMQ_CLIENT_CLOSING;
    hmq_client_pump(c);
  } else if (c->state != HMQ_CLIENT_IDLE && c->state != HMQ_CLIENT_CLOSING) {
    c->state = HMQ_CLIENT_CLOSED;
  }
  return err;
}

static hmq_status check_config(const hmq_client *c) {
  const hmq_client_config *cfg = &c->cfg;
  const hmq_client_mem *m = &c->mem;
  if (m->rx == NULL || m->tx == NULL || m->slots == NULL || m->rx_cap < 16 || m->tx_cap < 16) {
    return HMQ_ERR_ARG;
  }
  if (cfg->receive_max == 0 || cfg->receive_max > m->slots_cap) {
    return HMQ_ERR_ARG;
  }
  if (cfg->max_packet_size > m->rx_cap) {
    return HMQ_ERR_ARG;
  }
  if ((cfg->sub_count > 0 && cfg->subs == NULL) ||
      (cfg->connect_user_count > 0 && cfg->connect_user == NULL)) {
    return HMQ_ERR_ARG;
  }
  if (m->alias == NULL && m->alias_cap > 0) {
    return HMQ_ERR_ARG;
  }
  return HMQ_OK;
}

/* The CONNECT (3.1) this connection sends; views into cfg and the engine.
 * put_connect() encodes exactly this, hmq_client_connect_sent() returns it,
 * so what -d shows is what went out. */
static void fill_connect(const hmq_client *c, hmq_connect *k) {
  const hmq_client_config *cfg = &c->cfg;
  memset(k, 0, sizeof *k);
  k->clean_start = cfg->clean_start ? 1 : 0;
  k->keep_alive = cfg->keep_alive;
  k->client_id = cfg->client_id;
  if (k->client_id.ptr == NULL || k->client_id.len == 0) {
    /* 3.2.2.3.7: reuse the id the server assigned, so the session resumes. */
    k->client_id.ptr = c->assigned_len > 0 ? c->assigned_id : "";
    k->client_id.len = c->assigned_len;
  }
  k->username = cfg->username;
  k->password = cfg->password;
  hmq_props *pp = &k->props;
  if (cfg->session_expiry != 0) {
    pp->present |= HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY);
    pp->session_expiry = cfg->session_expiry;
  }
  /* 3.1.2.11.3: absent means 65535, but sent always: mosquitto 2.0 takes
   * an absent Receive Maximum as its own max_inflight_messages (20), which
   * caps the window at 20 messages per round trip. */
  pp->present |= HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX);
  pp->receive_max = cfg->receive_max;
  /* 3.1.2.11.4: the server must not send us anything larger; anything it
   * would send larger it drops (docs/stream.md), so announce all of rx. */
  pp->present |= HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE);
  pp->max_packet_size = c->max_packet;
  if (c->alias_max > 0) {
    pp->present |= HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX);
    pp->topic_alias_max = c->alias_max;
  }
  if (cfg->connect_user_count > 0) {
    pp->present |= HMQ_PROP_BIT(HMQ_PROP_USER);
    pp->user = cfg->connect_user;
    pp->user_count = cfg->connect_user_count;
  }
}

/* Encode CONNECT at the start of the (empty) tx buffer. */
static hmq_status put_connect(hmq_client *c) {
  hmq_connect k;
  fill_connect(c, &k);
  size_t n = 0;
  hmq_status st = hmq_encode_connect(c->mem.tx, c->mem.tx_cap, &k, &n);
  if (st == HMQ_OK) {
    c->tx_len = n;
  }
  return st;
}

hmq_status hmq_client_connect_sent(const hmq_client *c, hmq_connect *out) {
  if (c == NULL || out == NULL) {
    return HMQ_ERR_ARG;
  }
  if (c->state == HMQ_CLIENT_IDLE || c->max_packet == 0) {
    memset(out, 0, sizeof *out);
    return HMQ_ERR_STATE;
  }
  fill_connect(c, out);
  return HMQ_OK;
}

void hmq_client_get_limits(const hmq_client *c, hmq_client_limits *out) {
  if (c == NULL || out == NULL) {
    return;
  }
  memset(out, 0, sizeof *out);
  out->session_present = c->session_present;
  out->max_qos = c->server_max_qos;
  out->retain_available = c->server_retain_available;
  out->wildcard_sub_available = c->server_wildcard_available;
  out->sub_id_available = c->server_sub_id_available;
  out->shared_sub_available = c->server_shared_available;
  out->receive_max = c->server_receive_max;
  out->topic_alias_max = c->server_topic_alias_max;
  out->keep_alive = c->keep_alive;
  out->max_packet_size = c->server_max_packet;
  out->session_expiry = c->server_session_expiry;
  out->assigned_client_id.ptr = c->assigned_len > 0 ? c->assigned_id : NULL;
  out->assigned_client_id.len = c->assigned_len;
}

hmq_status hmq_client_start(hmq_client *c, uint64_t now_ms) {
  if (c == NULL) {
    return HMQ_ERR_ARG;
  }
  hmq_status st = check_config(c);
  if (st != HMQ_OK) {
    return st;
  }
  size_t maxp = c->cfg.max_packet_size != 0 ? c->cfg.max_packet_size : c->mem.rx_cap;
  if (maxp > HMQ_MAX_PACKET) {
    maxp = HMQ_MAX_PACKET;
  }
  c->max_packet = (uint32_t)maxp;
  size_t amax = c->mem.alias != NULL ? c->mem.alias_cap / HMQ_ALIAS_ENTRY : 0;
  if (amax > c->cfg.topic_alias_max) {
    amax = c->cfg.topic_alias_max;
  }
  c->alias_max = (uint16_t)amax;

  /* Per-connection state (4.1: the session survives, the connection not). */
  c->state = HMQ_CLIENT_IDLE;
  c->error = HMQ_OK;
  c->rx_len = c->rx_off = 0;
  c->tx_len = c->tx_off = 0;
  c->slot_head = c->slot_count = 0;
  c->conn_first_seq = c->next_seq;
  c->sub_packet_id = 0;
  /* Outbound in-flight QoS 1 messages are forgotten: tools republish what
   * was not acknowledged (documented in client.h). */
  c->out_inflight = 0;
  /* 3.1.2.4: Clean Start 1 discards the session, QoS 2 state included;
   * otherwise QoS 2 ids stay, no longer counted against this connection. */
  bool drop_qos2 = c->cfg.clean_start && c->qos2_count > 0;
  if (c->ids_count > 0) {
    hmq_ids_sweep(c, HMQ_ID_OUT | (drop_qos2 ? HMQ_ID_QOS2 : 0u), true);
  }
  if (drop_qos2) {
    c->qos2_count = 0;
  }
  c->qos2_conn_count = 0;
  c->alias_used = 0;
  c->session_present = 0;
  c->server_max_qos = 2;
  c->server_retain_available = 1;
  c->server_wildcard_available = 1;
  c->server_sub_id_available = 1;
  c->server_shared_available = 1;
  c->server_receive_max = 65535;
  c->server_topic_alias_max = 0;
  c->server_max_packet = 0;
  c->server_session_expiry = c->cfg.session_expiry;
  c->keep_alive = c->cfg.keep_alive;
  c->pending_sub = c->pending_ping = c->pending_disc = 0;
  c->reply_head = c->reply_count = 0; /* the server resends PUBREL */
  c->ping_outstanding = 0;
  c->ping_sent_ms = 0;
  c->rx_activity = c->tx_activity = 0;
  c->now_ms = now_ms;
  c->connect_ms = c->last_rx_ms = c->last_tx_ms = now_ms;

  if (c->cfg.sub_count > 0) {
    /* SUBSCRIBE is queued after every CONNACK; refuse now if it can never
     * fit tx rather than stall later. */
    size_t need = 0;
    st = put_subscribe(c, c->mem.tx, 0, &need);
    if (st == HMQ_ERR_NO_ROOM && need > c->mem.tx_cap) {
      return HMQ_ERR_NO_ROOM;
    }
    if (st != HMQ_OK && st != HMQ_ERR_NO_ROOM) {
      return st;
    }
  }
  st = put_connect(c);
  if (st != HMQ_OK) {
    c->tx_len = 0;
    return st;
  }
  c->state = HMQ_CLIENT_CONNECTING;
  return HMQ_OK;
}

unsigned hmq_client_want(const hmq_client *c) {
  if (c == NULL || c->state == HMQ_CLIENT_IDLE) {
    return 0;
  }
  if (c->state == HMQ_CLIENT_CLOSED) {
    return HMQ_CLIENT_WANT_CLOSED;
  }
  bool has_tx = c->tx_off < c->tx_len || hmq_client_has_pending(c);
  if (c->state == HMQ_CLIENT_CLOSING) {
    return has_tx ? HMQ_CLIENT_WANT_WRITE : HMQ_CLIENT_WANT_CLOSED;
  }
  unsigned bits = 0;
  if (c->mem.rx_cap > c->rx_len - c->rx_off) {
    bits |= HMQ_CLIENT_WANT_READ;
  }
  if (has_tx) {
    bits |= HMQ_CLIENT_WANT_WRITE;
  }
  return bits;
}

void hmq_client_txbuf(hmq_client *c, const uint8_t **p, size_t *n) {
  if (c == NULL || p == NULL || n == NULL) {
    return;
  }
  if (c->state == HMQ_CLIENT_CONNECTED || c->state == HMQ_CLIENT_CLOSING) {
    hmq_client_pump(c);
  }
  *p = c->mem.tx + c->tx_off;
  *n = c->tx_len - c->tx_off;
}

void hmq_client_tx_ack(hmq_client *c, size_t n) {
  if (c == NULL) {
    return;
  }
  size_t pending = c->tx_len - c->tx_off;
  if (n > pending) {
    n = pending;
  }
  c->tx_off += n;
  c->n_bytes_tx += n;
  if (n > 0) {
    c->tx_activity = 1;
  }
  if (c->tx_off == c->tx_len) {
    /* Nothing pending: the only moment tx may be compacted (TLS retries
     * need the same bytes at the same place). */
    c->tx_off = c->tx_len = 0;
    if (c->state == HMQ_CLIENT_CLOSING && !c->pending_disc) {
      c->state = HMQ_CLIENT_CLOSED;
    }
  }
}

void hmq_client_rxbuf(hmq_client *c, uint8_t **p, size_t *cap) {
  if (c == NULL || p == NULL || cap == NULL) {
    return;
  }
  if (c->rx_off > 0) {
    /* Compacting here (and only here) keeps event views valid until the
     * caller asks for room. */
    size_t left = c->rx_len - c->rx_off;
    memmove(c->mem.rx, c->mem.rx + c->rx_off, left);
    c->rx_len = left;
    c->rx_off = 0;
  }
  *p = c->mem.rx + c->rx_len;
  *cap = c->mem.rx_cap - c->rx_len;
}

void hmq_client_rx_ack(hmq_client *c, size_t n) {
  if (c == NULL) {
    return;
  }
  size_t room = c->mem.rx_cap - c->rx_len;
  if (n > room) {
    n = room;
  }
  c->rx_len += n;
  c->n_bytes_rx += n;
  if (n > 0) {
    c->rx_activity = 1;
  }
}

void hmq_client_transport_closed(hmq_client *c, hmq_status why) {
  if (c == NULL || c->state == HMQ_CLIENT_IDLE) {
    return;
  }
  if (c->error == HMQ_OK) {
    c->error = why < 0 ? why : HMQ_ERR_CLOSED;
  }
  c->state = HMQ_CLIENT_CLOSED;
  c->pending_sub = c->pending_ping = c->pending_disc = 0;
  c->ping_outstanding = 0;
}

hmq_status hmq_client_next_event(hmq_client *c, uint64_t now_ms, hmq_event *ev) {
  if (c == NULL || ev == NULL) {
    return HMQ_ERR_ARG;
  }
  /* Only the union member named by ev->type is filled (clearing the
   * event per message was a tenth of the engine's time when its members
   * were side by side, 1.5 KB). */
  ev->type = HMQ_EV_NONE;
  ev->seq = 0;
  note_time(c, now_ms);
  if (c->error != HMQ_OK) {
    return c->error;
  }
  if (c->state == HMQ_CLIENT_IDLE) {
    return HMQ_ERR_STATE;
  }
  if (c->state != HMQ_CLIENT_CONNECTING && c->state != HMQ_CLIENT_CONNECTED) {
    return HMQ_ERR_CLOSED;
  }
  /* Packets that need no event (PINGRESP, PUBREL, a QoS 2 resend) are
   * handled in a loop; each iteration consumes one packet, so the loop is
   * bounded by the bytes in rx. */
  for (;;) {
    const uint8_t *at = c->mem.rx + c->rx_off;
    hmq_frame f;
    hmq_status st = hmq_frame_peek(at, c->rx_len - c->rx_off, c->max_packet, &f, NULL);
    if (st == HMQ_NEED_MORE) {
      return HMQ_WANT_READ;
    }
    if (st != HMQ_OK) {
      return hmq_client_fail(c, st);
    }
    bool consumed = false;
    st = hmq_client_on_packet(c, at, f.total, &f, ev, &consumed);
    if (consumed) {
      c->rx_off += f.total;
    }
    if (st != HMQ_OK || ev->type != HMQ_EV_NONE) {
      return st;
    }
    if (c->state != HMQ_CLIENT_CONNECTED && c->state != HMQ_CLIENT_CONNECTING) {
      return c->error != HMQ_OK ? c->error : HMQ_ERR_CLOSED;
    }
  }
}

static uint64_t connack_timeout_ms(const hmq_client *c) {
  uint64_t ka = c->cfg.keep_alive > 10 ? c->cfg.keep_alive : 10;
  return ka * 1000u;
}

hmq_status hmq_client_tick(hmq_client *c, uint64_t now_ms) {
  if (c == NULL) {
    return HMQ_ERR_ARG;
  }
  note_time(c, now_ms);
  if (c->error != HMQ_OK) {
    return c->error;
  }
  if (c->state == HMQ_CLIENT_CONNECTING) {
    if (elapsed(now_ms, c->connect_ms) >= connack_timeout_ms(c)) {
      return hmq_client_fail(c, HMQ_ERR_TIMEOUT);
    }
    return HMQ_OK;
  }
  if (c->state != HMQ_CLIENT_CONNECTED || c->keep_alive == 0) {
    return HMQ_OK;
  }
  uint64_t ka = (uint64_t)c->keep_alive * 1000u;
  if (c->ping_outstanding) {
    /* 3.1.2.10: any bytes from the server show it is alive; a PINGRESP
     * queued behind a long backlog must not kill the connection. */
    uint64_t since = c->ping_sent_ms > c->last_rx_ms ? c->ping_sent_ms : c->last_rx_ms;
    if (elapsed(now_ms, since) >= ka / 2u) {
      /* 3.12.4: no PINGRESP in time: the client SHOULD close the network
       * connection. No DISCONNECT: its only fitting code, 0x8D, is the
       * server's [MQTT-3.14.2-1], and a connection that stopped answering
       * would not deliver it anyway. */
      return hmq_client_fail(c, HMQ_ERR_KEEPALIVE);
    }
    return HMQ_OK;
  }
  if (elapsed(now_ms, c->last_tx_ms) >= ka || elapsed(now_ms, c->last_rx_ms) >= ka) {
    c->pending_ping = 1;
    c->ping_outstanding = 1;
    c->ping_sent_ms = now_ms;
    hmq_client_pump(c);
  }
  return HMQ_OK;
}

uint64_t hmq_client_deadline(const hmq_client *c) {
  if (c == NULL) {
    return UINT64_MAX;
  }
  if (c->state == HMQ_CLIENT_CONNECTING) {
    return c->connect_ms + connack_timeout_ms(c);
  }
  if (c->state != HMQ_CLIENT_CONNECTED || c->keep_alive == 0) {
    return UINT64_MAX;
  }
  uint64_t ka = (uint64_t)c->keep_alive * 1000u;
  if (c->ping_outstanding) {
    uint64_t since = c->ping_sent_ms > c->last_rx_ms ? c->ping_sent_ms : c->last_rx_ms;
    return since + ka / 2u;
  }
  uint64_t oldest = c->last_tx_ms < c->last_rx_ms ? c->last_tx_ms : c->last_rx_ms;
  return oldest + ka;
}

size_t hmq_client_inflight(const hmq_client *c) {
  if (c == NULL) {
    return 0;
  }
  return c->slot_count + c->qos2_conn_count;
}
