/* SPDX-License-Identifier: MIT */
/*
 * hmq_link: glue between one transport and one client engine, plus the
 * reconnect policy (see hmq/link.h). Sans-clock: every entry takes now_ms.
 */
#include "hmq/link.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *hmq_link_state_name(hmq_link_state s) {
  switch (s) {
  case HMQ_LINK_IDLE:
    return "IDLE";
  case HMQ_LINK_BACKOFF:
    return "BACKOFF";
  case HMQ_LINK_CONNECTING:
    return "CONNECTING";
  case HMQ_LINK_MQTT:
    return "MQTT";
  case HMQ_LINK_CLOSING:
    return "CLOSING";
  case HMQ_LINK_DONE:
    return "DONE";
  }
  return "?";
}

void hmq_link_config_default(hmq_link_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  hmq_tls_config_default(&cfg->tls);
  cfg->backoff_initial_ms = 500;
  cfg->backoff_max_ms = 30000;
  cfg->seed = 1;
  cfg->close_timeout_ms = 2000;
  cfg->proven_ms = 30000;
}

void hmq_link_init(hmq_link *l, const hmq_link_config *cfg, const hmq_client_config *ccfg,
                   const hmq_client_mem *mem) {
  memset(l, 0, sizeof *l);
  l->cfg = *cfg;
  hmq_tls_init(&l->tls);
  hmq_client_init(&l->client, ccfg, mem);
  l->rng = cfg->seed;
  l->state = HMQ_LINK_IDLE;
}

void hmq_link_free(hmq_link *l) {
  hmq_tls_free(&l->tls);
  l->state = HMQ_LINK_DONE;
}

hmq_client *hmq_link_client(hmq_link *l) {
  return &l->client;
}

hmq_link_state hmq_link_get_state(const hmq_link *l) {
  return l->state;
}

const char *hmq_link_errmsg(const hmq_link *l) {
  return l->errmsg;
}

uint64_t hmq_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Queue a link event; its text is copied into the slot's own buffer. */
static hmq_link_event *push(hmq_link *l, hmq_link_event_type type, hmq_status st, const char *msg) {
  if (l->evq_len == HMQ_LINK_EVQ) {
    /* Full only if the caller never drains; drop the oldest. */
    l->evq_head = (l->evq_head + 1) % HMQ_LINK_EVQ;
    l->evq_len--;
  }
  size_t i = (l->evq_head + l->evq_len++) % HMQ_LINK_EVQ;
  hmq_link_event *e = &l->evq[i];
  memset(e, 0, sizeof *e);
  e->type = type;
  e->status = st;
  snprintf(l->msg[i], sizeof l->msg[i], "%s", msg ? msg : "");
  e->msg = l->msg[i];
  return e;
}

/* Failures no retry can fix: reason codes by the table in refusal.c. */
static bool is_final(hmq_status st, uint8_t reason) {
  switch (st) {
  case HMQ_ERR_REFUSED:
    return hmq_link_refusal(HMQ_PKT_CONNACK, reason) == HMQ_REFUSAL_PERMANENT;
  case HMQ_ERR_SERVER_DISCONNECT:
    return hmq_link_refusal(HMQ_PKT_DISCONNECT, reason) == HMQ_REFUSAL_PERMANENT;
  case HMQ_ERR_SUBSCRIBE_REFUSED:
    return hmq_link_refusal(HMQ_PKT_SUBACK, reason) == HMQ_REFUSAL_PERMANENT;
  case HMQ_ERR_SUB_UNAVAILABLE:
  case HMQ_ERR_CERT_UNTRUSTED:
  case HMQ_ERR_CERT_EXPIRED:
  case HMQ_ERR_CERT_NAME:
  case HMQ_ERR_CLIENT_CERT:
  case HMQ_ERR_FILE:
  case HMQ_ERR_PEM:
  case HMQ_ERR_KEY_MISMATCH:
  case HMQ_ERR_ARG:
  case HMQ_ERR_NO_ROOM:
    return true;
  default:
    return false;
  }
}

/* Write what the engine has queued, without blocking. */
static hmq_status pump_write(hmq_link *l) {
  for (int i = 0; i < 64; i++) {
    const uint8_t *p;
    size_t n, k = 0;
    hmq_client_txbuf(&l->client, &p, &n);
    if (n == 0)
      return HMQ_OK;
    hmq_status st = hmq_tls_write(&l->tls, p, n, &k);
    hmq_client_tx_ack(&l->client, k);
    if (st != HMQ_OK)
      return st;
  }
  return HMQ_OK;
}

/* The connection is over: flush a queued DISCONNECT if it goes out at once,
 * close, report, and either schedule the next attempt or give up. */
static void teardown(hmq_link *l, hmq_status why, uint8_t reason, const char *detail,
                     uint64_t now_ms) {
  char text[300];
  if (hmq_tls_is_open(&l->tls))
    (void)pump_write(l);
  hmq_tls_close(&l->tls);
  hmq_client_transport_closed(&l->client, why);
  l->rx_closed = HMQ_OK;
  l->rx_full = false;
  l->n_downs++;
  bool takeover = why == HMQ_ERR_TAKEN_OVER;
  if (takeover) {
    l->n_takeovers++;
    snprintf(text, sizeof text,
             "session taken over: another client connected with our client id '%.*s' "
             "(DISCONNECT 0x8E, %llu so far)",
             (int)l->client.cfg.client_id.len,
             l->client.cfg.client_id.ptr ? l->client.cfg.client_id.ptr : "",
             (unsigned long long)l->n_takeovers);
    push(l, HMQ_LINK_EV_TAKEN_OVER, why, text)->reason = reason;
  }
  bool final = is_final(why, reason);
  if (detail && detail[0])
    snprintf(text, sizeof text, "%s", detail);
  else if (reason != 0)
    snprintf(text, sizeof text, "%s: %s (0x%02X)", hmq_status_str(why),
             hmq_reason_str(why == HMQ_ERR_REFUSED ? HMQ_PKT_CONNACK : HMQ_PKT_DISCONNECT, reason),
             reason);
  else
    snprintf(text, sizeof text, "%s", hmq_status_str(why));
  hmq_link_event *e = push(l, HMQ_LINK_EV_DOWN, why, text);
  e->reason = reason;
  e->final = final;
  if (final) {
    l->state = HMQ_LINK_DONE;
    return;
  }
  /* A CONNACK alone proves nothing: a server may accept and drop at once,
   * every time. Only a connection that stayed up proven_ms starts the
   * backoff over (hmq/link.h). */
  if (l->connack_ok && now_ms - l->connack_ms >= l->cfg.proven_ms)
    l->attempt = 0;
  uint32_t a;
  if (takeover) {
    a = l->takeover_streak++;
  } else {
    l->takeover_streak = 0;
    a = l->attempt;
  }
  l->attempt++;
  l->connack_ok = false;
  uint32_t delay = hmq_link_backoff(l->cfg.backoff_initial_ms, l->cfg.backoff_max_ms, a, &l->rng);
  l->retry_at = now_ms + delay;
  l->state = HMQ_LINK_BACKOFF;
  snprintf(text, sizeof text, "reconnecting in %u ms (attempt %u)", (unsigned)delay,
           (unsigned)(a + 1));
  e = push(l, HMQ_LINK_EV_RETRY, HMQ_OK, text);
  e->delay_ms = delay;
  e->attempt = a + 1;
}

static void on_open(hmq_link *l, uint64_t now_ms) {
  hmq_status st = hmq_client_start(&l->client, now_ms);
  if (st != HMQ_OK) {
    teardown(l, st, 0, "client configuration or memory unusable (hmq_client_start)", now_ms);
    return;
  }
  l->state = HMQ_LINK_MQTT;
  l->connack_ok = false;
  push(l, HMQ_LINK_EV_UP, HMQ_OK, l->tls.cfg.plain ? "TCP connected" : "TLS established");
}

static void begin_connect(hmq_link *l, uint64_t now_ms) {
  l->n_attempts++;
  hmq_status st = hmq_tls_connect(&l->tls, now_ms);
  if (st == HMQ_OK) {
    on_open(l, now_ms);
  } else if (st > 0) {
    l->state = HMQ_LINK_CONNECTING;
  } else {
    teardown(l, st, 0, hmq_tls_errmsg(&l->tls), now_ms);
  }
}

hmq_status hmq_link_start(hmq_link *l, uint64_t now_ms) {
  if (l->state != HMQ_LINK_IDLE)
    return HMQ_ERR_STATE;
  hmq_status st = hmq_tls_setup(&l->tls, &l->cfg.tls);
  if (st != HMQ_OK) {
    snprintf(l->errmsg, sizeof l->errmsg, "%s", hmq_tls_errmsg(&l->tls));
    l->state = HMQ_LINK_DONE;
    return st;
  }
  begin_connect(l, now_ms);
  return HMQ_OK;
}

void hmq_link_poll_fd(const hmq_link *l, int *fd, short *events) {
  *fd = -1;
  *events = 0;
  if (l->state == HMQ_LINK_CONNECTING) {
    *fd = hmq_tls_fd(&l->tls);
    *events = hmq_tls_events(&l->tls);
  } else if (l->state == HMQ_LINK_MQTT || l->state == HMQ_LINK_CLOSING) {
    unsigned w = hmq_client_want(&l->client);
    *fd = hmq_tls_fd(&l->tls);
    if ((w & HMQ_CLIENT_WANT_READ) && l->rx_closed == HMQ_OK)
      *events |= POLLIN;
    if (l->state == HMQ_LINK_CLOSING && (w & HMQ_CLIENT_WANT_CLOSED))
      *events |= POLLIN; /* DISCONNECT is out: wait for the server's close */
    if ((w & HMQ_CLIENT_WANT_WRITE) || l->tls.wr_pending)
      *events |= POLLOUT;
    /* mbedTLS may need the other direction to finish a record. */
    if (l->tls.wr_pending || (hmq_tls_events(&l->tls) & POLLIN))
      *events |= hmq_tls_events(&l->tls);
  }
}

uint64_t hmq_link_deadline(const hmq_link *l) {
  if (l->evq_len > 0)
    return 0;
  switch (l->state) {
  case HMQ_LINK_BACKOFF:
    return l->retry_at;
  case HMQ_LINK_CONNECTING:
    return hmq_tls_deadline(&l->tls);
  case HMQ_LINK_MQTT:
    if (l->rx_closed != HMQ_OK || l->rx_full || hmq_tls_pending(&l->tls) > 0 ||
        (hmq_client_want(&l->client) & HMQ_CLIENT_WANT_CLOSED))
      return 0;
    return hmq_client_deadline(&l->client);
  case HMQ_LINK_CLOSING:
    return l->close_deadline;
  default:
    return UINT64_MAX;
  }
}

/* Read until the socket has nothing more, rx is full or a chunk was read.
 * HMQ_LINK_READ_CHUNK: bytes taken per pump_read. The receive buffer is as
 * large as the Maximum Packet Size we announce (4 MB in hmq); reading all a
 * backlog's socket buffer into it at once touched megabytes of it for no
 * gain: 256 KB is still ~180 envelopes per read() system call. A packet
 * larger than this still arrives whole over several reads. */
#define HMQ_LINK_READ_CHUNK (256u * 1024u)

/* After our DISCONNECT is out: read and drop what the server still sends
 * until it closes the connection (true) or nothing more is readable now
 * (false; the caller polls again until close_deadline). Closing a socket
 * whose receive queue holds unread data makes the kernel answer with a
 * reset instead of a FIN, and a reset makes the server throw away what it
 * had not read yet — our last PUBACKs and the DISCONNECT among them — so it
 * resends messages we already hold. With a wide window (Receive Maximum)
 * there is always unread data in flight at shutdown. */
static bool drained_to_eof(hmq_link *l) {
  uint8_t sink[4096];
  for (int i = 0; i < 256; i++) {
    size_t n = 0;
    hmq_status st = hmq_tls_read(&l->tls, sink, sizeof sink, &n);
    if (st < 0)
      return true; /* closed by the server (or broken): nothing left to lose */
    if (n == 0)
      return false;
  }
  return false;
}

static void pump_read(hmq_link *l) {
  size_t got = 0;
  l->rx_full = false;
  for (int i = 0; i < 64 && l->rx_closed == HMQ_OK; i++) {
    uint8_t *p;
    size_t cap, n = 0;
    hmq_client_rxbuf(&l->client, &p, &cap);
    if (cap == 0 || got >= HMQ_LINK_READ_CHUNK) {
      l->rx_full = true; /* the app drains events, then we read on */
      return;
    }
    if (cap > HMQ_LINK_READ_CHUNK - got)
      cap = HMQ_LINK_READ_CHUNK - got;
    hmq_status st = hmq_tls_read(&l->tls, p, cap, &n);
    hmq_client_rx_ack(&l->client, n);
    got += n;
    if (st == HMQ_OK && n == cap)
      continue;
    if (st < 0)
      l->rx_closed = st; /* packets already in rx are still delivered */
    return;
  }
}

static void step_mqtt(hmq_link *l, uint64_t now_ms) {
  pump_read(l);
  hmq_status st = hmq_client_tick(&l->client, now_ms);
  hmq_status wst = pump_write(l);
  if (st == HMQ_ERR_TIMEOUT) {
    /* the engine's only timeout: CONNACK did not come */
    char detail[160];
    unsigned ka = l->client.cfg.keep_alive;
    snprintf(detail, sizeof detail,
             "no CONNACK within %u s of our CONNECT: the server took the connection but did "
             "not answer",
             ka > 10 ? ka : 10);
    teardown(l, st, 0, detail, now_ms);
    return;
  }
  if (st < 0) {
    teardown(l, st, 0, NULL, now_ms);
    return;
  }
  if (wst < 0) {
    teardown(l, wst, 0, hmq_tls_errmsg(&l->tls), now_ms);
    return;
  }
}

static void finish_close(hmq_link *l) {
  hmq_tls_close(&l->tls);
  hmq_client_transport_closed(&l->client, HMQ_ERR_CLOSED);
  l->state = HMQ_LINK_DONE;
  push(l, HMQ_LINK_EV_CLOSED, HMQ_OK, "closed");
}

hmq_status hmq_link_step(hmq_link *l, short revents, uint64_t now_ms) {
  (void)revents; /* every operation is non-blocking: just try */
  switch (l->state) {
  case HMQ_LINK_BACKOFF:
    if (now_ms >= l->retry_at)
      begin_connect(l, now_ms);
    if (l->state != HMQ_LINK_MQTT)
      break;
    step_mqtt(l, now_ms);
    break;
  case HMQ_LINK_CONNECTING: {
    hmq_status st = hmq_tls_step(&l->tls, now_ms);
    if (st == HMQ_OK) {
      on_open(l, now_ms);
      if (l->state == HMQ_LINK_MQTT)
        step_mqtt(l, now_ms);
    } else if (st < 0) {
      teardown(l, st, 0, hmq_tls_errmsg(&l->tls), now_ms);
    }
    break;
  }
  case HMQ_LINK_MQTT:
    step_mqtt(l, now_ms);
    break;
  case HMQ_LINK_CLOSING: {
    hmq_status st = pump_write(l);
    if (st < 0 || now_ms >= l->close_deadline ||
        ((hmq_client_want(&l->client) & HMQ_CLIENT_WANT_CLOSED) && drained_to_eof(l)))
      finish_close(l);
    break;
  }
  default:
    break;
  }
  return HMQ_OK;
}

/* The accepted CONNACK rules the subscription out: the engine queued the
 * SUBSCRIBE with the CONNACK, but nothing of it has been written (writes
 * happen in step). Drop it unsent, say goodbye (DISCONNECT 0x00 keeps the
 * session) and stop for good. */
static void subs_ruled_out(hmq_link *l, const char *why, uint64_t now_ms) {
  const uint8_t *p;
  size_t n = 0;
  hmq_frame f;
  hmq_client_txbuf(&l->client, &p, &n);
  if (n > 0 && (p[0] >> 4) == HMQ_PKT_SUBSCRIBE && hmq_frame_peek(p, n, 0, &f, NULL) == HMQ_OK &&
      f.total == n) {
    hmq_client_tx_ack(&l->client, n); /* discarded, never sent */
    (void)hmq_client_disconnect(&l->client, 0x00, -1);
  } else if (n > 0) {
    hmq_tls_close(&l->tls); /* not the expected bytes: send nothing at all */
  }
  teardown(l, HMQ_ERR_SUB_UNAVAILABLE, 0, why, now_ms);
}

/* A SUBACK refused at least one filter: the worst code decides (permanent
 * over transient). Either way this connection is over: a transient refusal
 * is retried on a new connection, which subscribes again. */
static void subs_refused(hmq_link *l, const hmq_suback *sa, uint64_t now_ms) {
  size_t worst = sa->reasons.len;
  hmq_refusal wc = HMQ_REFUSAL_NONE;
  for (size_t i = 0; i < sa->reasons.len; i++) {
    hmq_refusal c = hmq_link_refusal(HMQ_PKT_SUBACK, sa->reasons.ptr[i]);
    if ((c == HMQ_REFUSAL_PERMANENT && wc != HMQ_REFUSAL_PERMANENT) ||
        (c != HMQ_REFUSAL_NONE && wc == HMQ_REFUSAL_NONE)) {
      wc = c;
      worst = i;
    }
  }
  if (worst == sa->reasons.len)
    return;
  uint8_t r = sa->reasons.ptr[worst];
  hmq_str f = {NULL, 0};
  if (worst < l->client.cfg.sub_count)
    f = l->client.cfg.subs[worst].filter;
  char rt[200], detail[300];
  hmq_link_refusal_text(rt, sizeof rt, HMQ_PKT_SUBACK, r, &sa->props);
  snprintf(detail, sizeof detail, "subscription to '%.*s' refused: %s",
           (int)(f.len > 60 ? 60 : f.len), f.ptr ? f.ptr : "", rt);
  (void)hmq_client_disconnect(&l->client, 0x00, -1);
  teardown(l, HMQ_ERR_SUBSCRIBE_REFUSED, r, detail, now_ms);
}

/* Text for a topic alias error: which alias the server sent and why it is
 * wrong (3.3.2.3.4). p is the PUBLISH the engine decoded before failing. */
static void alias_text(const hmq_link *l, const hmq_publish *p, char *out, size_t cap) {
  if (!(p->props.present & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS))) {
    snprintf(out, cap, "%s; sent DISCONNECT 0x94", hmq_status_str(HMQ_ERR_TOPIC_ALIAS));
    return;
  }
  unsigned a = p->props.topic_alias, max = l->client.alias_max;
  const char *what = a == 0    ? "0 is not a valid alias"
                     : a > max ? "above our Topic Alias Maximum"
                     : p->topic.len == 0
                         ? "used without a topic before it was set on this connection"
                         : "more than our alias memory holds";
  snprintf(out, cap,
           "server sent topic alias %u (our Topic Alias Maximum is %u): %s [MQTT-3.3.2-9]; sent "
           "DISCONNECT 0x94",
           a, max, what);
}

hmq_status hmq_link_next_event(hmq_link *l, uint64_t now_ms, hmq_link_event *ev) {
  /* Clear the link's own fields only: the engine fills the member of
   * the ev->mqtt union its event names (client.c); clearing the whole
   * event for every message cost more than the rest of this function.
   * The two reason codes read below on errors are zeroed so an engine error
   * that carries none still reads as 0. */
  ev->type = HMQ_LINK_EV_NONE;
  ev->status = HMQ_OK;
  ev->reason = 0;
  ev->final = false;
  ev->delay_ms = 0;
  ev->attempt = 0;
  ev->msg = NULL;
  ev->mqtt.type = HMQ_EV_NONE;
  ev->mqtt.connack.reason = 0;
  ev->mqtt.disconnect.reason = 0;
  if (l->evq_len > 0) {
    *ev = l->evq[l->evq_head];
    l->evq_head = (l->evq_head + 1) % HMQ_LINK_EVQ;
    l->evq_len--;
    return HMQ_OK;
  }
  if (l->state != HMQ_LINK_MQTT)
    return HMQ_WANT_READ;
  hmq_status st = hmq_client_next_event(&l->client, now_ms, &ev->mqtt);
  if (st == HMQ_WANT_READ && l->rx_closed == HMQ_OK &&
      (l->rx_full || hmq_tls_pending(&l->tls) > 0)) {
    /* Bytes wait inside mbedTLS or the socket while rx was full; poll()
     * may not wake for them, so read now. */
    pump_read(l);
    st = hmq_client_next_event(&l->client, now_ms, &ev->mqtt);
  }
  if (st == HMQ_WANT_WRITE) {
    /* The engine's reply queue is full (PUBREC/PUBCOMP waiting for tx
     * room): flush, then try once more; if tx is still full the caller
     * polls for POLLOUT (hmq_client_want says WRITE) and calls again. */
    (void)pump_write(l);
    st = hmq_client_next_event(&l->client, now_ms, &ev->mqtt);
    if (st == HMQ_WANT_WRITE)
      return HMQ_WANT_READ;
  }
  if (st == HMQ_OK) {
    if (ev->mqtt.type == HMQ_EV_CONNACK) {
      char why[300];
      const hmq_client_config *cc = &l->client.cfg;
      if (hmq_link_subs_allowed(&ev->mqtt.connack, cc->subs, cc->sub_count, why, sizeof why) !=
          HMQ_OK) {
        subs_ruled_out(l, why, now_ms);
        return hmq_link_next_event(l, now_ms, ev);
      }
      l->connack_ok = true;
      l->connack_ms = now_ms; /* attempt is reset only once proven (teardown) */
      l->n_connects++;
    }
    ev->type = HMQ_LINK_EV_MQTT;
    return HMQ_OK;
  }
  if (st == HMQ_ERR_SUBSCRIBE_REFUSED) {
    /* The SUBACK goes to the caller now (its views stay valid: closing
     * does not touch rx); DOWN and maybe RETRY follow. */
    ev->type = HMQ_LINK_EV_MQTT;
    ev->status = st;
    subs_refused(l, &ev->mqtt.suback, now_ms);
    return HMQ_OK;
  }
  if (st == HMQ_WANT_READ) {
    if (l->rx_closed == HMQ_OK)
      return HMQ_WANT_READ;
    st = l->rx_closed; /* every buffered packet was delivered */
    teardown(l, st, 0, hmq_tls_errmsg(&l->tls), now_ms);
    return hmq_link_next_event(l, now_ms, ev);
  }
  uint8_t reason = 0;
  if (st == HMQ_ERR_REFUSED)
    reason = ev->mqtt.connack.reason;
  else if (st == HMQ_ERR_SERVER_DISCONNECT || st == HMQ_ERR_TAKEN_OVER)
    reason = ev->mqtt.disconnect.reason;
  else
    reason = hmq_status_reason(st); /* what our DISCONNECT carries */
  char detail[300] = "";
  if (st == HMQ_ERR_REFUSED || st == HMQ_ERR_SERVER_DISCONNECT || st == HMQ_ERR_TAKEN_OVER) {
    char rt[260];
    bool ck = st == HMQ_ERR_REFUSED;
    hmq_link_refusal_text(rt, sizeof rt, ck ? HMQ_PKT_CONNACK : HMQ_PKT_DISCONNECT, reason,
                          ck ? &ev->mqtt.connack.props : &ev->mqtt.disconnect.props);
    snprintf(detail, sizeof detail, "%s: %s", ck ? "connection refused" : "server disconnected",
             rt);
  } else if (st == HMQ_ERR_TOPIC_ALIAS) {
    alias_text(l, &ev->mqtt.publish, detail, sizeof detail);
  } else if (st == HMQ_ERR_PROTOCOL && ev->mqtt.type == HMQ_EV_AUTH) {
    snprintf(detail, sizeof detail,
             "server sent AUTH (reason 0x%02X) though our CONNECT had no Authentication Method "
             "[MQTT-4.12.0-6]; sent DISCONNECT 0x%02X",
             ev->mqtt.auth.reason, reason);
  } else if (reason != 0) {
    snprintf(detail, sizeof detail, "%s; sent DISCONNECT 0x%02X", hmq_status_str(st), reason);
  }
  teardown(l, st, reason, detail, now_ms);
  return hmq_link_next_event(l, now_ms, ev);
}

hmq_status hmq_link_ack(hmq_link *l, uint64_t seq) {
  return hmq_client_ack(&l->client, seq);
}

hmq_status hmq_link_close(hmq_link *l, uint8_t reason, uint64_t now_ms) {
  if (l->state == HMQ_LINK_DONE || l->state == HMQ_LINK_CLOSING)
    return HMQ_OK;
  if (l->state == HMQ_LINK_MQTT && hmq_client_disconnect(&l->client, reason, -1) == HMQ_OK) {
    l->state = HMQ_LINK_CLOSING;
    l->close_deadline = now_ms + l->cfg.close_timeout_ms;
    /* Even when the DISCONNECT left at once: close only after the server
     * did (or close_deadline), reading on meanwhile (drained_to_eof). */
    if (pump_write(l) < 0)
      finish_close(l);
    else if ((hmq_client_want(&l->client) & HMQ_CLIENT_WANT_CLOSED) && drained_to_eof(l))
      finish_close(l);
    return HMQ_OK;
  }
  finish_close(l);
  return HMQ_OK;
}

hmq_status hmq_link_run_once(hmq_link *const *links, size_t n, struct pollfd *pfd,
                             int max_wait_ms) {
  uint64_t now = hmq_now_ms();
  uint64_t wake = max_wait_ms < 0 ? UINT64_MAX : now + (uint64_t)max_wait_ms;
  for (size_t i = 0; i < n; i++) {
    int fd;
    short events;
    hmq_link_poll_fd(links[i], &fd, &events);
    pfd[i].fd = fd; /* poll() ignores negative descriptors */
    pfd[i].events = events;
    pfd[i].revents = 0;
    uint64_t d = hmq_link_deadline(links[i]);
    if (d < wake)
      wake = d;
  }
  int timeout = -1;
  if (wake != UINT64_MAX)
    timeout = wake <= now ? 0 : (wake - now > 60000 ? 60000 : (int)(wake - now));
  int rc = poll(pfd, (nfds_t)n, timeout);
  if (rc < 0 && errno != EINTR)
    return HMQ_ERR_IO;
  now = hmq_now_ms();
  for (size_t i = 0; i < n; i++)
    hmq_link_step(links[i], rc > 0 ? pfd[i].revents : 0, now);
  return HMQ_OK;
}
