/* SPDX-License-Identifier: MIT */
/*
 * Client engine tests: server bytes come from the codec's encoders, the
 * engine's output is decoded (or compared to hand-written bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmq/client.h"

#define RX_CAP    4096
#define TX_CAP    4096
#define SLOTS     64
#define ALIAS_CAP 1024 /* 1024 / 258 = 3 aliases announced */
#define RECV_MAX  8

static const char share_filter[] = "$share/app/live/level13/app/#";

typedef struct fx {
  hmq_client c;
  hmq_client_config cfg;
  hmq_client_mem mem;
  hmq_sub_filter subs[2];
  hmq_user_prop user[1];
  uint8_t rx[RX_CAP];
  uint8_t tx[TX_CAP];
  hmq_client_slot slots[SLOTS];
  char alias[ALIAS_CAP];
  uint8_t out[65536]; /* everything the engine wrote */
  size_t out_len;
  uint8_t pkt[RX_CAP]; /* scratch for server packets */
} fx;

static fx *fx_new(size_t tx_cap) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  hmq_client_config_default(&f->cfg);
  f->cfg.client_id = hmq_str_c("app-live-test1");
  f->cfg.keep_alive = 30;
  f->cfg.session_expiry = 3600;
  f->cfg.receive_max = RECV_MAX;
  f->subs[0].filter = hmq_str_c(share_filter);
  f->subs[0].qos = 1;
  f->cfg.subs = f->subs;
  f->cfg.sub_count = 1;
  f->user[0].key = hmq_str_c("agent");
  f->user[0].value = hmq_str_c("hmq");
  f->cfg.connect_user = f->user;
  f->cfg.connect_user_count = 1;
  f->mem.rx = f->rx;
  f->mem.rx_cap = RX_CAP;
  f->mem.tx = f->tx;
  f->mem.tx_cap = tx_cap;
  f->mem.slots = f->slots;
  f->mem.slots_cap = SLOTS;
  f->mem.alias = f->alias;
  f->mem.alias_cap = ALIAS_CAP;
  return f;
}

static void fx_init(fx *f) {
  hmq_client_init(&f->c, &f->cfg, &f->mem);
}

/* Write out everything pending (up to `limit` bytes, 0 = all). */
static size_t drain(fx *f, size_t limit) {
  size_t total = 0;
  for (int i = 0; i < 1000; i++) {
    const uint8_t *p = NULL;
    size_t n = 0;
    hmq_client_txbuf(&f->c, &p, &n);
    if (limit != 0 && n > limit - total) {
      n = limit - total;
    }
    if (n == 0) {
      break;
    }
    assert_true(f->out_len + n <= sizeof f->out);
    memcpy(f->out + f->out_len, p, n);
    f->out_len += n;
    total += n;
    hmq_client_tx_ack(&f->c, n);
  }
  return total;
}

/* Feed bytes in chunks of `chunk` (0 = as much as fits). */
static void feed(fx *f, const uint8_t *b, size_t n) {
  while (n > 0) {
    uint8_t *p = NULL;
    size_t cap = 0;
    hmq_client_rxbuf(&f->c, &p, &cap);
    assert_true(cap > 0);
    size_t k = n < cap ? n : cap;
    memcpy(p, b, k);
    hmq_client_rx_ack(&f->c, k);
    b += k;
    n -= k;
  }
}

static hmq_status next(fx *f, uint64_t now, hmq_event *ev) {
  return hmq_client_next_event(&f->c, now, ev);
}

/* ---- server packets ---------------------------------------------------- */

static size_t s_connack(fx *f, uint8_t sp, uint8_t reason, const hmq_props *props) {
  hmq_connack ck;
  memset(&ck, 0, sizeof ck);
  ck.session_present = sp;
  ck.reason = reason;
  if (props != NULL) {
    ck.props = *props;
  }
  size_t n = 0;
  assert_int_equal(hmq_encode_connack(f->pkt, sizeof f->pkt, &ck, &n), HMQ_OK);
  return n;
}

static size_t s_publish(uint8_t *buf, size_t cap, uint8_t qos, uint16_t id, const char *topic,
                        const char *payload, uint8_t dup, int alias) {
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = qos;
  p.packet_id = id;
  p.dup = dup;
  p.topic = hmq_str_c(topic);
  p.payload.ptr = (const uint8_t *)payload;
  p.payload.len = strlen(payload);
  if (alias >= 0) {
    p.props.present = HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS);
    p.props.topic_alias = (uint16_t)alias;
  }
  size_t n = 0;
  assert_int_equal(hmq_encode_publish(buf, cap, &p, &n), HMQ_OK);
  return n;
}

static size_t s_ack(uint8_t *buf, size_t cap, uint8_t type, uint16_t id) {
  hmq_ack a;
  memset(&a, 0, sizeof a);
  a.type = type;
  a.packet_id = id;
  size_t n = 0;
  assert_int_equal(hmq_encode_ack(buf, cap, &a, &n), HMQ_OK);
  return n;
}

static size_t s_suback(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *reasons,
                       size_t count) {
  hmq_suback s;
  memset(&s, 0, sizeof s);
  s.type = HMQ_PKT_SUBACK;
  s.packet_id = id;
  s.reasons.ptr = reasons;
  s.reasons.len = count;
  size_t n = 0;
  assert_int_equal(hmq_encode_suback(buf, cap, &s, &n), HMQ_OK);
  return n;
}

static size_t s_disconnect(uint8_t *buf, size_t cap, uint8_t reason) {
  hmq_disconnect d;
  memset(&d, 0, sizeof d);
  d.reason = reason;
  size_t n = 0;
  assert_int_equal(hmq_encode_disconnect(buf, cap, &d, &n), HMQ_OK);
  return n;
}

static void feed_publish(fx *f, uint8_t qos, uint16_t id, const char *topic, const char *payload,
                         uint8_t dup, int alias) {
  uint8_t b[512];
  feed(f, b, s_publish(b, sizeof b, qos, id, topic, payload, dup, alias));
}

static void feed_ack(fx *f, uint8_t type, uint16_t id) {
  uint8_t b[16];
  feed(f, b, s_ack(b, sizeof b, type, id));
}

/* ---- reading what the engine wrote ------------------------------------- */

typedef struct out_pkt {
  uint8_t type;
  const uint8_t *p;
  size_t len;
} out_pkt;

/* Split f->out[from..] into packets; returns the count. */
static size_t split_out(const fx *f, size_t from, out_pkt *pk, size_t max) {
  size_t k = 0;
  size_t off = from;
  while (off < f->out_len) {
    hmq_frame fr;
    assert_int_equal(hmq_frame_peek(f->out + off, f->out_len - off, 0, &fr, NULL), HMQ_OK);
    assert_true(k < max);
    pk[k].type = fr.type;
    pk[k].p = f->out + off;
    pk[k].len = fr.total;
    k++;
    off += fr.total;
  }
  return k;
}

/* Start, write CONNECT, answer CONNACK, check and drain SUBSCRIBE. */
static void connect_ok(fx *f, uint64_t now, uint8_t sp, const hmq_props *props) {
  assert_int_equal(hmq_client_start(&f->c, now), HMQ_OK);
  f->out_len = 0;
  drain(f, 0);
  feed(f, f->pkt, s_connack(f, sp, 0, props));
  hmq_event ev;
  assert_int_equal(next(f, now, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_CONNACK);
  assert_int_equal(f->c.state, HMQ_CLIENT_CONNECTED);
  size_t mark = f->out_len;
  drain(f, 0);
  out_pkt pk[4];
  assert_int_equal(split_out(f, mark, pk, 4), 1);
  assert_int_equal(pk[0].type, HMQ_PKT_SUBSCRIBE);
  hmq_subscribe s;
  hmq_bin raw;
  assert_int_equal(hmq_decode_subscribe(pk[0].p, pk[0].len, &s, &raw), HMQ_OK);
  assert_int_equal(s.count, 1);
  size_t cur = 0;
  hmq_sub_filter sf;
  assert_int_equal(hmq_subscribe_next(raw, &cur, &sf), HMQ_OK);
  assert_int_equal(sf.filter.len, strlen(share_filter));
  assert_memory_equal(sf.filter.ptr, share_filter, sf.filter.len);
  assert_int_equal(sf.qos, 1);
  assert_int_equal(f->c.sub_packet_id, s.packet_id);
  assert_int_equal(next(f, now, &ev), HMQ_WANT_READ);
  f->out_len = 0;
}

static void suback_ok(fx *f) {
  uint8_t b[16];
  uint8_t r = 1;
  feed(f, b, s_suback(b, sizeof b, f->c.sub_packet_id, &r, 1));
  hmq_event ev;
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_SUBACK);
}

/* Expect exactly one DISCONNECT with `reason` in the output, then CLOSED. */
static void expect_disconnect(fx *f, size_t from, uint8_t reason) {
  drain(f, 0);
  out_pkt pk[128];
  size_t n = split_out(f, from, pk, 128);
  assert_true(n >= 1);
  assert_int_equal(pk[n - 1].type, HMQ_PKT_DISCONNECT);
  hmq_disconnect d;
  assert_int_equal(hmq_decode_disconnect(pk[n - 1].p, pk[n - 1].len, &d), HMQ_OK);
  assert_int_equal(d.reason, reason);
  assert_int_equal(f->c.state, HMQ_CLIENT_CLOSED);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_CLOSED);
}

/* ---- tests ------------------------------------------------------------- */

static void test_connect_bytes(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  assert_int_equal(hmq_client_want(&f->c), 0);
  assert_int_equal(hmq_client_start(&f->c, 1000), HMQ_OK);
  assert_int_equal(f->c.state, HMQ_CLIENT_CONNECTING);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_READ | HMQ_CLIENT_WANT_WRITE);
  drain(f, 0);
  hmq_connect k;
  hmq_will w;
  assert_int_equal(hmq_decode_connect(f->out, f->out_len, &k, &w), HMQ_OK);
  assert_int_equal(k.clean_start, 0);
  assert_int_equal(k.keep_alive, 30);
  assert_int_equal(k.client_id.len, strlen("app-live-test1"));
  assert_memory_equal(k.client_id.ptr, "app-live-test1", k.client_id.len);
  assert_null(k.username.ptr);
  assert_null(k.will);
  uint64_t want = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) |
                  HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE) | HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX) |
                  HMQ_PROP_BIT(HMQ_PROP_USER);
  assert_int_equal(k.props.present, want);
  assert_int_equal(k.props.session_expiry, 3600);
  assert_int_equal(k.props.receive_max, RECV_MAX);
  assert_int_equal(k.props.max_packet_size, RX_CAP);
  assert_int_equal(k.props.topic_alias_max, ALIAS_CAP / 258);
  assert_int_equal(k.props.user_count, 1);
  /* Nothing more to write; want READ only. */
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_READ);
  /* Bad configurations are refused at start. */
  f->cfg.receive_max = SLOTS + 1;
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_ERR_ARG);
  f->cfg.receive_max = RECV_MAX;
  f->cfg.max_packet_size = RX_CAP + 1;
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_ERR_ARG);
  f->cfg.max_packet_size = 0;
  f->mem.tx_cap = 20;
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_ERR_NO_ROOM);
  free(f);
}

static void test_connack_success_limits(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  hmq_props p;
  memset(&p, 0, sizeof p);
  p.present = HMQ_PROP_BIT(HMQ_PROP_SERVER_KEEP_ALIVE) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) |
              HMQ_PROP_BIT(HMQ_PROP_MAX_QOS) | HMQ_PROP_BIT(HMQ_PROP_ASSIGNED_CLIENT_ID) |
              HMQ_PROP_BIT(HMQ_PROP_RETAIN_AVAILABLE);
  p.server_keep_alive = 5;
  p.receive_max = 2;
  p.max_qos = 1;
  p.retain_available = 0;
  p.assigned_client_id = hmq_str_c("assigned-42");
  connect_ok(f, 0, 0, &p);
  assert_int_equal(f->c.keep_alive, 5); /* Server Keep Alive overrides ours */
  assert_int_equal(hmq_client_deadline(&f->c), 5000);
  assert_int_equal(f->c.server_receive_max, 2);
  assert_int_equal(f->c.assigned_len, 11);
  assert_memory_equal(f->c.assigned_id, "assigned-42", 11);
  /* What we send obeys the server's limits. */
  hmq_publish pub;
  memset(&pub, 0, sizeof pub);
  pub.topic = hmq_str_c("t/1");
  pub.payload.ptr = (const uint8_t *)"x";
  pub.payload.len = 1;
  pub.qos = 1;
  uint16_t id1 = 0, id2 = 0, id3 = 0;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id1), HMQ_OK);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id2), HMQ_OK);
  assert_int_not_equal(id1, id2);
  assert_int_not_equal(id1, f->c.sub_packet_id);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id3), HMQ_ERR_FULL);
  pub.qos = 2;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id3), HMQ_ERR_ARG);
  pub.qos = 0;
  pub.retain = 1;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id3), HMQ_ERR_ARG);
  drain(f, 0);
  out_pkt pk[4];
  assert_int_equal(split_out(f, 0, pk, 4), 2);
  hmq_publish d;
  assert_int_equal(hmq_decode_publish(pk[0].p, pk[0].len, &d), HMQ_OK);
  assert_int_equal(d.packet_id, id1);
  assert_int_equal(d.qos, 1);
  /* PUBACK completes one; an unknown id is a protocol error. */
  feed_ack(f, HMQ_PKT_PUBACK, id1);
  hmq_event ev;
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_PUBACK);
  assert_int_equal(ev.ack.packet_id, id1);
  pub.qos = 1;
  pub.retain = 0;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id3), HMQ_OK);
  size_t mark = f->out_len;
  feed_ack(f, HMQ_PKT_PUBACK, id1);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  expect_disconnect(f, mark, 0x82);
  /* The assigned id is used by the next CONNECT when ours is empty. */
  f->cfg.client_id = hmq_str_c("");
  f->c.cfg.client_id = f->cfg.client_id;
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  f->out_len = 0;
  drain(f, 0);
  hmq_connect k;
  hmq_will w;
  assert_int_equal(hmq_decode_connect(f->out, f->out_len, &k, &w), HMQ_OK);
  assert_int_equal(k.client_id.len, 11);
  assert_memory_equal(k.client_id.ptr, "assigned-42", 11);
  free(f);
}

static void test_connack_refusals(void **state) {
  (void)state;
  static const uint8_t codes[] = {0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A,
                                  0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
  fx *f = fx_new(TX_CAP);
  for (size_t i = 0; i < sizeof codes; i++) {
    fx_init(f);
    assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
    f->out_len = 0;
    drain(f, 0);
    size_t mark = f->out_len;
    feed(f, f->pkt, s_connack(f, 0, codes[i], NULL));
    hmq_event ev;
    assert_int_equal(next(f, 0, &ev), HMQ_ERR_REFUSED);
    assert_int_equal(ev.type, HMQ_EV_CONNACK);
    assert_int_equal(ev.connack.reason, codes[i]);
    assert_int_equal(f->c.state, HMQ_CLIENT_CLOSED);
    assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_CLOSED);
    drain(f, 0);
    assert_int_equal(f->out_len, mark);                 /* no DISCONNECT after a refusal */
    assert_int_equal(next(f, 0, &ev), HMQ_ERR_REFUSED); /* sticky */
    assert_int_equal(hmq_client_tick(&f->c, 1), HMQ_ERR_REFUSED);
  }
  free(f);
}

/* A client with the default fixture, connected at t = 0 to a new session
 * (Session Present 0, no CONNACK properties). */
static fx *fx_connected(void) {
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  return f;
}

static void test_subscribe_after_every_connack(void **state) {
  (void)state;
  fx *f = fx_connected();
  suback_ok(f);
  hmq_client_transport_closed(&f->c, HMQ_ERR_CLOSED);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_CLOSED);
  connect_ok(f, 100, 1, NULL); /* Session Present 1: SUBSCRIBE again */
  assert_int_equal(f->c.session_present, 1);
  suback_ok(f);
  hmq_client_transport_closed(&f->c, HMQ_ERR_IO);
  connect_ok(f, 200, 1, NULL);
  free(f);
}

static void test_protocol_order(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  hmq_event ev;
  /* PUBLISH before CONNACK. */
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  drain(f, 0);
  size_t mark = f->out_len;
  feed_publish(f, 0, 0, "a/b", "x", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  expect_disconnect(f, mark, 0x82);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  /* Second CONNACK. */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  feed(f, f->pkt, s_connack(f, 0, 0, NULL));
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  expect_disconnect(f, 0, 0x82);
  /* SUBACK refused: reported, not sticky. */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  uint8_t b[64];
  uint8_t r = 0x87;
  feed(f, b, s_suback(b, sizeof b, f->c.sub_packet_id, &r, 1));
  feed_publish(f, 0, 0, "a/b", "x", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_SUBSCRIBE_REFUSED);
  assert_int_equal(ev.type, HMQ_EV_SUBACK);
  assert_int_equal(ev.suback.reasons.len, 1);
  assert_int_equal(ev.suback.reasons.ptr[0], 0x87);
  assert_int_equal(f->c.state, HMQ_CLIENT_CONNECTED);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_PUBLISH);
  /* SUBACK with a wrong packet id. */
  feed(f, b, s_suback(b, sizeof b, 999, &r, 1));
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  expect_disconnect(f, 0, 0x82);
  /* AUTH: we never send an Authentication Method, so the server must not
   * send AUTH (4.12); before CONNACK and after it, a Protocol Error. */
  static const uint8_t auth[] = {0xF0, 0x00};
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  drain(f, 0);
  mark = f->out_len;
  feed(f, auth, sizeof auth);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  expect_disconnect(f, mark, 0x82);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  feed(f, auth, sizeof auth);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  expect_disconnect(f, 0, 0x82);
  free(f);
}

static void test_qos0_qos1(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  feed_publish(f, 0, 0, "live/level13/app/VIN1/diagnostics", "{\"a\":1}", 0, -1);
  feed_publish(f, 1, 7, "live/level13/app/VIN2/diagnostics", "{\"b\":2}", 1, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_PUBLISH);
  assert_int_equal(ev.seq, 0);
  assert_int_equal(ev.publish.qos, 0);
  assert_int_equal(ev.publish.payload.len, 7);
  assert_memory_equal(ev.publish.payload.ptr, "{\"a\":1}", 7);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.seq, 1);
  assert_int_equal(ev.publish.packet_id, 7);
  assert_int_equal(ev.publish.dup, 1);
  assert_int_equal(f->c.n_dup_rx, 1);
  assert_int_equal(f->c.n_publish_rx, 2);
  assert_int_equal(hmq_client_inflight(&f->c), 1);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  assert_int_equal(drain(f, 0), 0); /* no ack before the app acks */
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_READ);
  assert_int_equal(hmq_client_ack(&f->c, 1), HMQ_OK);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_READ | HMQ_CLIENT_WANT_WRITE);
  drain(f, 0);
  static const uint8_t puback7[] = {0x40, 0x02, 0x00, 0x07};
  assert_int_equal(f->out_len, sizeof puback7);
  assert_memory_equal(f->out, puback7, sizeof puback7);
  assert_int_equal(hmq_client_inflight(&f->c), 0);
  assert_int_equal(f->c.n_acks_tx, 1);
  assert_int_equal(hmq_client_ack(&f->c, 1), HMQ_OK); /* repeated: ignored */
  assert_int_equal(hmq_client_ack(&f->c, 0), HMQ_ERR_ARG);
  assert_int_equal(hmq_client_ack(&f->c, 2), HMQ_ERR_ARG);
  assert_int_equal(drain(f, 0), 0);
  free(f);
}

static void test_qos2_flow(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  feed_publish(f, 2, 9, "t/q2", "once", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.publish.qos, 2);
  uint64_t seq = ev.seq;
  /* Resent before our ack: not delivered again, no PUBREC yet. */
  feed_publish(f, 2, 9, "t/q2", "once", 1, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  assert_int_equal(drain(f, 0), 0);
  assert_int_equal(hmq_client_ack(&f->c, seq), HMQ_OK);
  drain(f, 0);
  static const uint8_t pubrec9[] = {0x50, 0x02, 0x00, 0x09};
  assert_int_equal(f->out_len, 4);
  assert_memory_equal(f->out, pubrec9, 4);
  assert_int_equal(hmq_client_inflight(&f->c), 1); /* counts until PUBCOMP */
  /* Resent after PUBREC: PUBREC again, no event. */
  feed_publish(f, 2, 9, "t/q2", "once", 1, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  drain(f, 0);
  assert_int_equal(f->out_len, 8);
  assert_memory_equal(f->out + 4, pubrec9, 4);
  /* PUBREL → PUBCOMP; an unknown PUBREL → PUBCOMP 0x92. */
  feed_ack(f, HMQ_PKT_PUBREL, 9);
  feed_ack(f, HMQ_PKT_PUBREL, 9);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  drain(f, 0);
  static const uint8_t pubcomp9[] = {0x70, 0x02, 0x00, 0x09};
  static const uint8_t pubcomp9_92[] = {0x70, 0x03, 0x00, 0x09, 0x92};
  assert_int_equal(f->out_len, 8 + 4 + 5);
  assert_memory_equal(f->out + 8, pubcomp9, 4);
  assert_memory_equal(f->out + 12, pubcomp9_92, 5);
  assert_int_equal(hmq_client_inflight(&f->c), 0);
  /* After PUBCOMP the id is free: a new message with it is delivered. */
  feed_publish(f, 2, 9, "t/q2", "twice", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.publish.payload.len, 5);
  assert_int_equal(ev.seq, seq + 1);
  free(f);
}

static void test_qos2_across_reconnect(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  feed_publish(f, 2, 3, "t/q2", "a", 0, -1);
  feed_publish(f, 2, 4, "t/q2", "b", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  assert_int_equal(next(f, 0, &ev), HMQ_OK); /* id 4: delivered, never acked */
  drain(f, 0);
  hmq_client_transport_closed(&f->c, HMQ_ERR_CLOSED);
  /* Session resumed: id 3 (PUBREC sent) is not delivered again, id 4 is. */
  connect_ok(f, 10, 1, NULL);
  feed_publish(f, 2, 3, "t/q2", "a", 1, -1);
  feed_publish(f, 2, 4, "t/q2", "b", 1, -1);
  assert_int_equal(next(f, 10, &ev), HMQ_OK);
  assert_int_equal(ev.publish.packet_id, 4);
  assert_int_equal(next(f, 10, &ev), HMQ_WANT_READ);
  drain(f, 0);
  static const uint8_t pubrec3[] = {0x50, 0x02, 0x00, 0x03};
  assert_int_equal(f->out_len, 4);
  assert_memory_equal(f->out, pubrec3, 4);
  /* A new session (Session Present 0) forgets id 3. */
  hmq_client_transport_closed(&f->c, HMQ_ERR_CLOSED);
  connect_ok(f, 20, 0, NULL);
  feed_publish(f, 2, 3, "t/q2", "a", 0, -1);
  assert_int_equal(next(f, 20, &ev), HMQ_OK);
  assert_int_equal(ev.publish.packet_id, 3);
  free(f);
}

static void test_acks_in_order(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  uint64_t seq[5];
  for (uint16_t i = 0; i < 5; i++) {
    feed_publish(f, i == 2 ? 2 : 1, (uint16_t)(100 + i), "t", "p", 0, -1);
    assert_int_equal(next(f, 0, &ev), HMQ_OK);
    seq[i] = ev.seq;
  }
  assert_int_equal(hmq_client_ack(&f->c, seq[4]), HMQ_OK);
  assert_int_equal(hmq_client_ack(&f->c, seq[2]), HMQ_OK);
  assert_int_equal(hmq_client_ack(&f->c, seq[1]), HMQ_OK);
  assert_int_equal(drain(f, 0), 0); /* seq[0] not acked: everything waits */
  assert_int_equal(hmq_client_ack(&f->c, seq[0]), HMQ_OK);
  drain(f, 0);
  static const uint8_t want[] = {0x40, 2, 0, 100, 0x40, 2, 0, 101, 0x50, 2, 0, 102};
  assert_int_equal(f->out_len, sizeof want);
  assert_memory_equal(f->out, want, sizeof want);
  assert_int_equal(hmq_client_ack(&f->c, seq[3]), HMQ_OK);
  drain(f, 0);
  static const uint8_t want2[] = {0x40, 2, 0, 103, 0x40, 2, 0, 104};
  assert_int_equal(f->out_len, sizeof want + sizeof want2);
  assert_memory_equal(f->out + sizeof want, want2, sizeof want2);
  free(f);
}

static void test_ack_from_earlier_connection(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  feed_publish(f, 1, 1, "t", "p", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  uint64_t old = ev.seq;
  hmq_client_transport_closed(&f->c, HMQ_ERR_CLOSED);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_CLOSED);
  connect_ok(f, 5, 1, NULL);
  feed_publish(f, 1, 1, "t", "p", 1, -1);
  assert_int_equal(next(f, 5, &ev), HMQ_OK);
  assert_true(ev.seq > old);
  assert_int_equal(hmq_client_ack(&f->c, old), HMQ_OK);
  assert_int_equal(drain(f, 0), 0); /* ignored: nothing goes out */
  assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  drain(f, 0);
  assert_int_equal(f->out_len, 4);
  free(f);
}

static void test_topic_alias(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  feed_publish(f, 0, 0, "live/level13/app/VIN1/doors", "1", 0, 1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.publish.topic.len, strlen("live/level13/app/VIN1/doors"));
  feed_publish(f, 0, 0, "", "2", 0, 1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.publish.topic.len, strlen("live/level13/app/VIN1/doors"));
  assert_memory_equal(ev.publish.topic.ptr, "live/level13/app/VIN1/doors", ev.publish.topic.len);
  feed_publish(f, 0, 0, "x/3", "3", 0, 3);                               /* alias 3 set before 2 */
  feed_publish(f, 0, 0, "a/much/longer/topic/for/alias/one", "4", 0, 1); /* replace */
  feed_publish(f, 0, 0, "", "5", 0, 3);
  feed_publish(f, 0, 0, "", "6", 0, 1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.publish.topic.len, 3);
  assert_memory_equal(ev.publish.topic.ptr, "x/3", 3);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.publish.topic.len, strlen("a/much/longer/topic/for/alias/one"));
  assert_memory_equal(ev.publish.topic.ptr, "a/much/longer/topic/for/alias/one",
                      ev.publish.topic.len);
  /* Unknown (2 never set), 0, above our maximum (3): DISCONNECT 0x94. */
  static const int bad[] = {2, 0, 4};
  for (size_t i = 0; i < 3; i++) {
    fx_init(f);
    connect_ok(f, 0, 0, NULL);
    feed_publish(f, 0, 0, "x/3", "3", 0, 3);
    assert_int_equal(next(f, 0, &ev), HMQ_OK);
    feed_publish(f, 1, 5, bad[i] == 2 ? "" : "y", "z", 0, bad[i]);
    assert_int_equal(next(f, 0, &ev), HMQ_ERR_TOPIC_ALIAS);
    expect_disconnect(f, 0, 0x94);
    assert_int_equal(next(f, 0, &ev), HMQ_ERR_TOPIC_ALIAS);
  }
  free(f);
}

static void test_receive_max(void **state) {
  (void)state;
  fx *f = fx_connected();
  hmq_event ev;
  for (uint16_t i = 1; i <= RECV_MAX; i++) {
    feed_publish(f, 1, i, "t", "p", 0, -1);
    assert_int_equal(next(f, 0, &ev), HMQ_OK);
  }
  assert_int_equal(hmq_client_inflight(&f->c), RECV_MAX);
  assert_int_equal(hmq_client_ack(&f->c, 1), HMQ_OK); /* acked, not yet on the wire */
  feed_publish(f, 0, 0, "t", "qos0 is not counted", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  feed_publish(f, 1, 100, "t", "one too many", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_RECEIVE_MAX);
  drain(f, 0);
  /* The acked message's PUBACK, then DISCONNECT 0x93 — exact bytes. */
  static const uint8_t want[] = {0x40, 0x02, 0x00, 0x01, 0xE0, 0x01, 0x93};
  assert_int_equal(f->out_len, sizeof want);
  assert_memory_equal(f->out, want, sizeof want);
  assert_int_equal(f->c.state, HMQ_CLIENT_CLOSED);
  /* Acks after the error go nowhere. */
  assert_int_equal(hmq_client_ack(&f->c, 2), HMQ_OK);
  assert_int_equal(drain(f, 0), 0);
  free(f);
}

static void test_malformed(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  hmq_event ev;
  struct {
    uint8_t b[8];
    size_t n;
    hmq_status st;
  } cases[] = {
      {{0x40, 0x01, 0x00}, 3, HMQ_ERR_LENGTH},                             /* PUBACK too short */
      {{0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}, 7, HMQ_ERR_QOS_INVALID}, /* QoS 3 */
      {{0x30, 0x80, 0x00}, 3, HMQ_ERR_VARINT_NOT_MINIMAL},
      {{0xD1, 0x00}, 2, HMQ_ERR_RESERVED_FLAGS}, /* PINGRESP with flags */
      {{0x80, 0x00}, 2, HMQ_ERR_PACKET_TYPE},    /* SUBSCRIBE from a server */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fx_init(f);
    connect_ok(f, 0, 0, NULL);
    feed(f, cases[i].b, cases[i].n);
    assert_int_equal(next(f, 0, &ev), cases[i].st);
    expect_disconnect(f, 0, 0x81);
    static const uint8_t disc81[] = {0xE0, 0x01, 0x81};
    assert_int_equal(f->out_len, 3);
    assert_memory_equal(f->out, disc81, 3);
  }
  /* Oversize: a header announcing more than our Maximum Packet Size. */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  static const uint8_t big[] = {0x30, 0xFF, 0x7F}; /* 16383 bytes > 4096 */
  feed(f, big, sizeof big);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PACKET_TOO_LARGE);
  expect_disconnect(f, 0, 0x95);
  free(f);
}

static void test_keepalive(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  hmq_event ev;
  /* CONNACK timeout: max(keep alive 30 s, 10 s). */
  assert_int_equal(hmq_client_start(&f->c, 1000), HMQ_OK);
  drain(f, 0);
  assert_int_equal(hmq_client_deadline(&f->c), 31000);
  assert_int_equal(hmq_client_tick(&f->c, 30999), HMQ_OK);
  assert_int_equal(hmq_client_tick(&f->c, 31000), HMQ_ERR_TIMEOUT);
  assert_int_equal(f->c.state, HMQ_CLIENT_CLOSED);
  assert_int_equal(next(f, 31000, &ev), HMQ_ERR_TIMEOUT);

  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  assert_int_equal(hmq_client_deadline(&f->c), 30000);
  assert_int_equal(hmq_client_tick(&f->c, 29999), HMQ_OK);
  assert_int_equal(drain(f, 0), 0);
  assert_int_equal(hmq_client_tick(&f->c, 30000), HMQ_OK);
  drain(f, 0);
  static const uint8_t pingreq[] = {0xC0, 0x00};
  assert_int_equal(f->out_len, 2);
  assert_memory_equal(f->out, pingreq, 2);
  assert_int_equal(hmq_client_deadline(&f->c), 45000);
  /* PINGRESP at 40 s: alive again; next ping 30 s after the last write. */
  static const uint8_t pingresp[] = {0xD0, 0x00};
  feed(f, pingresp, 2);
  assert_int_equal(next(f, 40000, &ev), HMQ_WANT_READ);
  assert_int_equal(f->c.ping_outstanding, 0);
  /* The PINGREQ's write was stamped at 40 s (first time known after it). */
  assert_int_equal(hmq_client_deadline(&f->c), 70000);
  assert_int_equal(hmq_client_tick(&f->c, 69999), HMQ_OK);
  assert_int_equal(drain(f, 0), 0);
  assert_int_equal(hmq_client_tick(&f->c, 70000), HMQ_OK);
  assert_int_equal(drain(f, 0), 2);
  /* Silent broker: dead at 1.5 x keep alive after the last sign of life. */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  assert_int_equal(hmq_client_tick(&f->c, 30000), HMQ_OK);
  drain(f, 0);
  assert_int_equal(hmq_client_tick(&f->c, 44999), HMQ_OK);
  size_t mark = f->out_len;
  assert_int_equal(hmq_client_tick(&f->c, 45000), HMQ_ERR_KEEPALIVE);
  /* 3.12.4: just close; 0x8D is a server-only code [MQTT-3.14.2-1]. */
  assert_int_equal(f->c.state, HMQ_CLIENT_CLOSED);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_CLOSED);
  assert_int_equal(drain(f, 0), 0);
  assert_int_equal(f->out_len, mark);
  assert_int_equal(hmq_client_tick(&f->c, 45001), HMQ_ERR_KEEPALIVE);
  assert_int_equal(hmq_client_deadline(&f->c), UINT64_MAX);
  /* Keep alive 0: no pings, no deadline. */
  f->cfg.keep_alive = 0;
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  assert_int_equal(hmq_client_deadline(&f->c), UINT64_MAX);
  assert_int_equal(hmq_client_tick(&f->c, 1000000), HMQ_OK);
  assert_int_equal(drain(f, 0), 0);
  free(f);
}

static void test_server_disconnect(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  hmq_event ev;
  uint8_t b[16];
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  feed(f, b, s_disconnect(b, sizeof b, 0x8E));
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_TAKEN_OVER);
  assert_int_equal(ev.type, HMQ_EV_DISCONNECT);
  assert_int_equal(ev.disconnect.reason, 0x8E);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_CLOSED);
  assert_int_equal(drain(f, 0), 0); /* nothing sent back */
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_TAKEN_OVER);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  feed(f, b, s_disconnect(b, sizeof b, 0x8B));
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_SERVER_DISCONNECT);
  assert_int_equal(ev.disconnect.reason, 0x8B);
  assert_int_equal(drain(f, 0), 0);
  /* Our own DISCONNECT. */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  assert_int_equal(hmq_client_disconnect(&f->c, 0, 0), HMQ_OK);
  assert_int_equal(f->c.state, HMQ_CLIENT_CLOSING);
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_WRITE);
  drain(f, 0);
  hmq_disconnect d;
  assert_int_equal(hmq_decode_disconnect(f->out, f->out_len, &d), HMQ_OK);
  assert_int_equal(d.reason, 0);
  assert_true(d.props.present & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY));
  assert_int_equal(d.props.session_expiry, 0);
  assert_int_equal(f->c.state, HMQ_CLIENT_CLOSED);
  assert_int_equal(hmq_client_disconnect(&f->c, 0, -1), HMQ_ERR_STATE);
  free(f);
}

static void test_tx_full_acks_wait(void **state) {
  (void)state;
  fx *f = fx_new(128);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  hmq_event ev;
  /* 40 QoS 1 messages (receive max 8: ack as we go, without writing). */
  uint16_t id = 1;
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < RECV_MAX; i++, id++) {
      feed_publish(f, 1, id, "t", "p", 0, -1);
      assert_int_equal(next(f, 0, &ev), HMQ_OK);
      assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
    }
    /* Write only 6 bytes this round: the rest waits in tx or the ring. */
    drain(f, 6);
  }
  drain(f, 0);
  assert_int_equal(f->out_len, 40 * 4);
  for (uint16_t i = 0; i < 40; i++) {
    const uint8_t *p = f->out + i * 4;
    assert_int_equal(p[0], 0x40);
    assert_int_equal(p[1], 2);
    assert_int_equal((p[2] << 8) | p[3], i + 1);
  }
  /* The ring fills while tx is stuck: acks wait in it, in order. */
  for (int i = 0; i < RECV_MAX; i++, id++) {
    feed_publish(f, 1, id, "t", "p", 0, -1);
    assert_int_equal(next(f, 0, &ev), HMQ_OK);
    assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  }
  const uint8_t *p = NULL;
  size_t n = 0;
  hmq_client_txbuf(&f->c, &p, &n);
  assert_int_equal(n, 32);         /* 8 PUBACKs */
  hmq_client_txbuf(&f->c, &p, &n); /* same region again (TLS retry) */
  assert_int_equal(n, 32);
  assert_ptr_equal(p, f->tx);
  drain(f, 0);
  assert_int_equal(f->out_len, 48 * 4);
  free(f);
}

static void test_outbound_ids_and_limits(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  hmq_props p;
  memset(&p, 0, sizeof p);
  p.present = HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE);
  p.max_packet_size = 64;
  connect_ok(f, 0, 0, &p);
  suback_ok(f);
  hmq_publish pub;
  memset(&pub, 0, sizeof pub);
  pub.topic = hmq_str_c("fleet/VIN1");
  pub.payload.ptr = (const uint8_t *)"x";
  pub.payload.len = 1;
  uint16_t id = 99;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &id), HMQ_OK);
  assert_int_equal(id, 0); /* QoS 0: no packet id */
  pub.qos = 1;
  /* Ids cycle 1..65535 and skip those still in flight. */
  f->c.next_packet_id = 65535;
  uint16_t a = 0, b = 0, c2 = 0, d = 0;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &a), HMQ_OK);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &b), HMQ_OK);
  assert_int_equal(a, 65535);
  assert_int_equal(b, 1);
  feed_ack(f, HMQ_PKT_PUBACK, 65535);
  hmq_event ev;
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_PUBACK);
  assert_int_equal(f->c.out_inflight, 1);
  f->c.next_packet_id = 65535;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &c2), HMQ_OK);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &d), HMQ_OK);
  assert_int_equal(c2, 65535);
  assert_int_equal(d, 2); /* 1 is still in flight */
  /* Above the server's Maximum Packet Size (64). */
  static const char big[100] = {0};
  pub.payload.ptr = (const uint8_t *)big;
  pub.payload.len = sizeof big;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &d), HMQ_ERR_PACKET_TOO_LARGE);
  /* A server PUBREC for our QoS 1 PUBLISH is a protocol error. */
  feed_ack(f, HMQ_PKT_PUBREC, 1);
  assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &d), HMQ_ERR_STATE);
  /* After a reconnect, in-flight outbound messages are forgotten. */
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  assert_int_equal(f->c.out_inflight, 0);
  free(f);
}

static void test_tx_no_room_publish(void **state) {
  (void)state;
  fx *f = fx_new(128);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  hmq_publish pub;
  memset(&pub, 0, sizeof pub);
  pub.topic = hmq_str_c("fleet/VIN1");
  static const char pay[40] = {0};
  pub.payload.ptr = (const uint8_t *)pay;
  pub.payload.len = sizeof pay;
  int ok = 0;
  hmq_status st;
  while ((st = hmq_client_publish(&f->c, &pub, NULL)) == HMQ_OK) {
    ok++;
  }
  assert_int_equal(st, HMQ_ERR_NO_ROOM);
  assert_int_equal(ok, 2);
  drain(f, 0);
  assert_int_equal(hmq_client_publish(&f->c, &pub, NULL), HMQ_OK);
  free(f);
}

static void test_qos2_replies_wait_for_tx(void **state) {
  (void)state;
  fx *f = fx_new(128);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  hmq_event ev;
  feed_publish(f, 2, 9, "t", "p", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  drain(f, 0); /* PUBREC 9 */
  f->out_len = 0;
  /* Fill tx with our own PUBLISHes and do not write them. */
  hmq_publish pub;
  memset(&pub, 0, sizeof pub);
  pub.topic = hmq_str_c("fleet/VIN1");
  static const char pay[40] = {0};
  pub.payload.ptr = (const uint8_t *)pay;
  pub.payload.len = sizeof pay;
  while (hmq_client_publish(&f->c, &pub, NULL) == HMQ_OK) {
  }
  size_t stuck = f->c.tx_len;
  /* 40 PUBRELs: the first answers go into tx, then 16 wait in the queue,
   * then the engine asks for a write without consuming anything. */
  for (int i = 0; i < 40; i++) {
    feed_ack(f, HMQ_PKT_PUBREL, 9);
  }
  int want_write = 0;
  for (int turn = 0; turn < 100; turn++) {
    hmq_status st = next(f, 0, &ev);
    if (st == HMQ_WANT_READ) {
      break;
    }
    assert_int_equal(st, HMQ_WANT_WRITE);
    assert_int_equal(f->c.state, HMQ_CLIENT_CONNECTED);
    assert_int_equal(f->c.reply_count, 16);
    want_write++;
    drain(f, 0);
  }
  assert_true(want_write >= 1);
  assert_true(stuck > 100);
  drain(f, 0);
  out_pkt pk[128];
  size_t n = split_out(f, 0, pk, 128);
  size_t comps = 0;
  for (size_t i = 0; i < n; i++) {
    if (pk[i].type != HMQ_PKT_PUBCOMP) {
      continue;
    }
    hmq_ack a;
    assert_int_equal(hmq_decode_ack(pk[i].p, pk[i].len, &a), HMQ_OK);
    assert_int_equal(a.packet_id, 9);
    assert_int_equal(a.reason, comps == 0 ? 0x00 : 0x92); /* only the first completes */
    comps++;
  }
  assert_int_equal(comps, 40);
  assert_int_equal(hmq_client_inflight(&f->c), 0);
  free(f);
}

/* One scripted session: returns a transcript of events and output. */
static size_t script(uint8_t *srv, size_t cap, fx *f) {
  size_t n = 0;
  uint8_t r = 1;
  n += s_connack(f, 0, 0, NULL);
  memcpy(srv, f->pkt, n);
  n += s_suback(srv + n, cap - n, 1, &r, 1);
  n += s_publish(srv + n, cap - n, 1, 1, "live/level13/app/VIN1/diagnostics", "{\"v\":1}", 0, -1);
  n += s_publish(srv + n, cap - n, 0, 0, "live/level13/app/VIN2/doors", "{}", 0, 2);
  n += s_publish(srv + n, cap - n, 2, 2, "", "q2", 0, 2);
  n += s_publish(srv + n, cap - n, 2, 2, "", "q2", 1, 2);
  uint8_t pr[2] = {0xD0, 0x00};
  memcpy(srv + n, pr, 2);
  n += 2;
  n += s_publish(srv + n, cap - n, 1, 3, "t", "", 1, -1);
  n += s_ack(srv + n, cap - n, HMQ_PKT_PUBREL, 7);
  n += s_disconnect(srv + n, cap - n, 0x8B);
  return n;
}

static size_t run_split(fx *f, const uint8_t *srv, size_t n, size_t chunk, size_t split, char *log,
                        size_t logcap) {
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  f->out_len = 0;
  size_t ln = 0;
  size_t off = 0;
  hmq_status last = HMQ_OK;
  for (int guard = 0; guard < 100000 && off <= n; guard++) {
    size_t k = chunk;
    if (split != 0) {
      k = off < split ? split - off : n - off;
    }
    if (k > n - off) {
      k = n - off;
    }
    uint8_t *p = NULL;
    size_t cap = 0;
    hmq_client_rxbuf(&f->c, &p, &cap);
    if (k > cap) {
      k = cap;
    }
    memcpy(p, srv + off, k);
    hmq_client_rx_ack(&f->c, k);
    off += k;
    hmq_event ev;
    hmq_status st;
    while ((st = next(f, 0, &ev)) == HMQ_OK || st == HMQ_ERR_SUBSCRIBE_REFUSED) {
      if (ev.type == HMQ_EV_PUBLISH) {
        ln += (size_t)snprintf(log + ln, logcap - ln, "%d/%llu/%.*s/%.*s;", (int)ev.type,
                               (unsigned long long)ev.seq, (int)ev.publish.topic.len,
                               ev.publish.topic.ptr, (int)ev.publish.payload.len,
                               (const char *)ev.publish.payload.ptr);
      } else {
        ln += (size_t)snprintf(log + ln, logcap - ln, "%d;", (int)ev.type);
      }
      if (ev.seq != 0) {
        assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
      }
    }
    if (st < 0) {
      last = st;
      ln += (size_t)snprintf(log + ln, logcap - ln, "E%d", (int)st);
      break;
    }
    if (off == n) {
      break;
    }
  }
  /* Written once at the end so every split sees the same ring state. */
  drain(f, 0);
  assert_int_equal(last, HMQ_ERR_SERVER_DISCONNECT);
  return ln;
}

static void test_every_split(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  f->cfg.topic_alias_max = 3;
  uint8_t srv[1024];
  fx_init(f);
  size_t n = script(srv, sizeof srv, f);
  static char ref[2048], got[2048];
  static uint8_t ref_out[1024];
  size_t rl = run_split(f, srv, n, n, 0, ref, sizeof ref);
  size_t ref_out_len = f->out_len;
  memcpy(ref_out, f->out, ref_out_len);
  /* Whole run: 3 events with seqs 1,2,3 + the QoS 0 one; acks in order. */
  assert_non_null(strstr(ref, "4/0/live/level13/app/VIN2/doors/{};"));
  assert_non_null(strstr(ref, "4/2/live/level13/app/VIN2/doors/q2;"));
  for (size_t chunk = 1; chunk <= 3; chunk++) {
    size_t gl = run_split(f, srv, n, chunk, 0, got, sizeof got);
    assert_int_equal(gl, rl);
    assert_memory_equal(got, ref, rl);
    assert_int_equal(f->out_len, ref_out_len);
    assert_memory_equal(f->out, ref_out, ref_out_len);
  }
  for (size_t s = 1; s < n; s++) {
    size_t gl = run_split(f, srv, n, 0, s, got, sizeof got);
    assert_int_equal(gl, rl);
    assert_memory_equal(got, ref, rl);
    assert_int_equal(f->out_len, ref_out_len);
    assert_memory_equal(f->out, ref_out, ref_out_len);
  }
  free(f);
}

/* Issue: an absent Receive Maximum means 65535 to the spec, but mosquitto
 * 2.0 then caps its window at 20. The default config must send it. */
static void test_connect_always_sends_receive_max(void **state) {
  (void)state;
  static const uint16_t values[] = {1, RECV_MAX, SLOTS, 65535};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    fx *f = fx_new(TX_CAP);
    static hmq_client_slot big[65535];
    f->cfg.receive_max = values[i];
    f->mem.slots = big;
    f->mem.slots_cap = 65535;
    fx_init(f);
    hmq_connect sent;
    assert_int_equal(hmq_client_connect_sent(&f->c, &sent), HMQ_ERR_STATE); /* not started */
    assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
    drain(f, 0);
    hmq_connect k;
    hmq_will w;
    assert_int_equal(hmq_decode_connect(f->out, f->out_len, &k, &w), HMQ_OK);
    assert_true(k.props.present & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX));
    assert_int_equal(k.props.receive_max, values[i]);
    /* connect_sent() describes exactly the bytes that went out. */
    assert_int_equal(hmq_client_connect_sent(&f->c, &sent), HMQ_OK);
    uint8_t again[512];
    size_t n = 0;
    assert_int_equal(hmq_encode_connect(again, sizeof again, &sent, &n), HMQ_OK);
    assert_int_equal(n, f->out_len);
    assert_memory_equal(again, f->out, n);
    assert_int_equal(sent.props.receive_max, values[i]);
    assert_int_equal(sent.props.session_expiry, 3600);
    assert_int_equal(sent.props.max_packet_size, RX_CAP);
    assert_int_equal(sent.props.user_count, 1);
    free(f);
  }
  hmq_client_config d;
  hmq_client_config_default(&d);
  assert_int_equal(d.receive_max, 65535);
}

/* Every cap of a CONNACK reaches hmq_client_get_limits(); absent ones read
 * as the protocol's defaults, and the next connection starts from those. */
static void test_connack_limits_exposed(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  hmq_client_limits lim;
  hmq_client_get_limits(&f->c, &lim);
  assert_int_equal(lim.receive_max, 0); /* never started: nothing known */
  hmq_props p;
  memset(&p, 0, sizeof p);
  p.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) |
              HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE) | HMQ_PROP_BIT(HMQ_PROP_SERVER_KEEP_ALIVE) |
              HMQ_PROP_BIT(HMQ_PROP_MAX_QOS) | HMQ_PROP_BIT(HMQ_PROP_RETAIN_AVAILABLE) |
              HMQ_PROP_BIT(HMQ_PROP_WILDCARD_SUB_AVAILABLE) |
              HMQ_PROP_BIT(HMQ_PROP_SUB_ID_AVAILABLE) |
              HMQ_PROP_BIT(HMQ_PROP_SHARED_SUB_AVAILABLE) | HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX) |
              HMQ_PROP_BIT(HMQ_PROP_ASSIGNED_CLIENT_ID) | HMQ_PROP_BIT(HMQ_PROP_REASON_STRING);
  p.session_expiry = 600;
  p.receive_max = 20;
  p.max_packet_size = 2048;
  p.server_keep_alive = 15;
  p.max_qos = 1;
  p.retain_available = 0;
  p.wildcard_sub_available = 0;
  p.sub_id_available = 0;
  p.shared_sub_available = 0;
  p.topic_alias_max = 7;
  p.assigned_client_id = hmq_str_c("given-1");
  p.reason_string = hmq_str_c("welcome");
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  f->out_len = 0;
  drain(f, 0);
  feed(f, f->pkt, s_connack(f, 0, 0, &p));
  hmq_event ev;
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_CONNACK);
  /* The event carries the server's properties as sent. */
  assert_int_equal(ev.connack.props.present, p.present);
  assert_int_equal(ev.connack.props.reason_string.len, 7);
  hmq_client_get_limits(&f->c, &lim);
  assert_int_equal(lim.session_present, 0);
  assert_int_equal(lim.session_expiry, 600);
  assert_int_equal(lim.receive_max, 20);
  assert_int_equal(lim.max_packet_size, 2048);
  assert_int_equal(lim.keep_alive, 15);
  assert_int_equal(lim.max_qos, 1);
  assert_int_equal(lim.retain_available, 0);
  assert_int_equal(lim.wildcard_sub_available, 0);
  assert_int_equal(lim.sub_id_available, 0);
  assert_int_equal(lim.shared_sub_available, 0);
  assert_int_equal(lim.topic_alias_max, 7);
  assert_int_equal(lim.assigned_client_id.len, 7);
  assert_memory_equal(lim.assigned_client_id.ptr, "given-1", 7);
  /* A new connection without properties: defaults again, our own asks. */
  hmq_client_transport_closed(&f->c, HMQ_ERR_CLOSED);
  connect_ok(f, 100, 0, NULL);
  hmq_client_get_limits(&f->c, &lim);
  assert_int_equal(lim.session_expiry, 3600);
  assert_int_equal(lim.receive_max, 65535);
  assert_int_equal(lim.max_packet_size, 0);
  assert_int_equal(lim.keep_alive, 30);
  assert_int_equal(lim.max_qos, 2);
  assert_int_equal(lim.retain_available, 1);
  assert_int_equal(lim.wildcard_sub_available, 1);
  assert_int_equal(lim.sub_id_available, 1);
  assert_int_equal(lim.shared_sub_available, 1);
  assert_int_equal(lim.topic_alias_max, 0);
  free(f);
}

/* ---- reason codes a client may send (issue: 0x8D on keepalive) -------- */

/* MQTT 5.0 3.14.2.1: DISCONNECT codes marked "Client" or "Client or
 * Server". Written out here from the spec, independent of the engine. */
static bool client_disconnect_code(uint8_t r) {
  static const uint8_t ok[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90,
                               0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99};
  for (size_t i = 0; i < sizeof ok; i++) {
    if (ok[i] == r) {
      return true;
    }
  }
  return false;
}

/* Every packet the engine wrote from `from` on carries only codes a client
 * may send: DISCONNECT per 3.14.2.1, PUBACK/PUBREC 0x00 (we never refuse a
 * message, 3.4.2.1 / 3.5.2.1), PUBCOMP 0x00 or 0x92 (3.7.2.1); no PUBREL
 * (we publish at QoS 1 only) and no AUTH. Returns the DISCONNECT count. */
static size_t check_client_codes(const fx *f, size_t from) {
  out_pkt pk[256];
  size_t n = split_out(f, from, pk, 256), discs = 0;
  for (size_t i = 0; i < n; i++) {
    switch (pk[i].type) {
    case HMQ_PKT_DISCONNECT: {
      hmq_disconnect d;
      assert_int_equal(hmq_decode_disconnect(pk[i].p, pk[i].len, &d), HMQ_OK);
      if (!client_disconnect_code(d.reason)) {
        fail_msg("client sent DISCONNECT 0x%02X, a server-only code", d.reason);
      }
      discs++;
      break;
    }
    case HMQ_PKT_PUBACK:
    case HMQ_PKT_PUBREC:
    case HMQ_PKT_PUBCOMP: {
      hmq_ack a;
      assert_int_equal(hmq_decode_ack(pk[i].p, pk[i].len, &a), HMQ_OK);
      assert_true(a.reason == 0x00 || (a.type == HMQ_PKT_PUBCOMP && a.reason == 0x92));
      break;
    }
    case HMQ_PKT_PUBREL:
    case HMQ_PKT_AUTH:
      fail_msg("client sent packet type %u", pk[i].type);
      break;
    default:
      break;
    }
  }
  return discs;
}

/* The status table: every reason hmq_status_reason() gives is 0 (close
 * without DISCONNECT) or a client code. */
static void test_status_reasons_are_client_codes(void **state) {
  (void)state;
#define X_CHECK(name, value, reason, text)                                                         \
  if (hmq_status_reason(name) != 0 && !client_disconnect_code(hmq_status_reason(name))) {          \
    fail_msg("%s maps to server-only DISCONNECT 0x%02X", #name, hmq_status_reason(name));          \
  }
  HMQ_STATUS_LIST(X_CHECK)
#undef X_CHECK
}

/* Every error the engine can hit from the server's side, one connection
 * each: whatever it sends before closing uses client codes only. */
static void test_every_error_sends_client_codes(void **state) {
  (void)state;
  static const struct {
    uint8_t b[16];
    size_t n;
  } cases[] = {
      {{0x40, 0x01, 0x00}, 3},                                    /* PUBACK too short */
      {{0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}, 7},             /* QoS 3 */
      {{0x30, 0x80, 0x00}, 3},                                    /* varint not minimal */
      {{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 6},                  /* varint too long */
      {{0xD1, 0x00}, 2},                                          /* PINGRESP with flags */
      {{0x80, 0x00}, 2},                                          /* SUBSCRIBE from a server */
      {{0xC0, 0x00}, 2},                                          /* PINGREQ from a server */
      {{0x20, 0x03, 0x00, 0x00, 0x00}, 5},                        /* second CONNACK */
      {{0x30, 0x07, 0x00, 0x01, 't', 0x03, 0x23, 0x00, 0x09}, 9}, /* alias above ours */
      {{0x30, 0x07, 0x00, 0x01, 't', 0x03, 0x23, 0x00, 0x00}, 9}, /* alias 0 */
      {{0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x02}, 8},      /* alias never set */
      {{0x30, 0x03, 0x00, 0x00, 0x00}, 5},                        /* empty topic */
      {{0x30, 0x04, 0x00, 0x01, '#', 0x00}, 6},                   /* wildcard topic */
      {{0x30, 0x07, 0x00, 0x01, 't', 0x02, 0x01, 0x01, 0xFF}, 9}, /* payload not UTF-8 */
      {{0x30, 0x05, 0x00, 0x01, 't', 0x01, 0x7F}, 7},             /* unknown property */
      {{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x23, 0x00}, 8},       /* property cut short */
      {{0x30, 0x05, 0x00, 0x02, 0xC3, 0x28, 0x00}, 7},            /* topic not UTF-8 */
      {{0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}, 7},             /* packet id 0 */
      {{0x40, 0x02, 0x00, 0x07}, 4},                              /* PUBACK, unknown id */
      {{0x50, 0x02, 0x00, 0x07}, 4},                              /* PUBREC: we never QoS 2 */
      {{0x70, 0x02, 0x00, 0x07}, 4},                              /* PUBCOMP likewise */
      {{0x90, 0x04, 0x00, 0x09, 0x00, 0x00}, 6},                  /* SUBACK, wrong id */
      {{0xB0, 0x04, 0x00, 0x09, 0x00, 0x00}, 6},                  /* UNSUBACK, never asked */
      {{0x30, 0xFF, 0x7F}, 3},                                    /* above our max size */
      {{0x62, 0x02, 0x00, 0x05}, 4}, /* PUBREL, unknown id: PUBCOMP 0x92, no error */
      {{0xE0, 0x01, 0x8D}, 3},       /* the server's DISCONNECT: nothing back */
  };
  fx *f = fx_new(TX_CAP);
  hmq_event ev;
  size_t discs = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fx_init(f);
    connect_ok(f, 0, 0, NULL);
    feed(f, cases[i].b, cases[i].n);
    (void)next(f, 0, &ev);
    drain(f, 0);
    discs += check_client_codes(f, 0);
  }
  assert_true(discs >= 20); /* the protocol errors did send DISCONNECT */
  /* Receive Maximum exceeded (0x93). */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  for (uint16_t id = 1; id <= RECV_MAX + 1; id++) {
    feed_publish(f, 1, id, "t/x", "p", 0, -1);
    (void)next(f, 0, &ev);
  }
  drain(f, 0);
  assert_int_equal(check_client_codes(f, 0), 1);
  /* QoS 2 in and out (PUBREC, PUBCOMP 0x00) and QoS 1 acks. */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  feed_publish(f, 2, 3, "t/x", "p", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  drain(f, 0);
  feed_ack(f, HMQ_PKT_PUBREL, 3);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  feed_publish(f, 1, 4, "t/x", "p", 0, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  drain(f, 0);
  assert_int_equal(check_client_codes(f, 0), 0);
  assert_true(f->out_len >= 12); /* PUBREC, PUBCOMP, PUBACK went out */
  /* Timeouts close without DISCONNECT: CONNACK wait and keep alive. */
  fx_init(f);
  assert_int_equal(hmq_client_start(&f->c, 0), HMQ_OK);
  drain(f, 0);
  size_t mark = f->out_len;
  assert_int_equal(hmq_client_tick(&f->c, 3600000), HMQ_ERR_TIMEOUT);
  assert_int_equal(drain(f, 0), 0);
  assert_int_equal(f->out_len, mark);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  assert_int_equal(hmq_client_tick(&f->c, 30000), HMQ_OK);
  drain(f, 0);
  assert_int_equal(hmq_client_tick(&f->c, 45000), HMQ_ERR_KEEPALIVE);
  drain(f, 0);
  assert_int_equal(check_client_codes(f, 0), 0);
  free(f);
}

/* hmq_client_disconnect() refuses every server-only code. */
static void test_app_disconnect_codes(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  for (unsigned r = 0; r < 256; r++) {
    fx_init(f);
    connect_ok(f, 0, 0, NULL);
    hmq_status st = hmq_client_disconnect(&f->c, (uint8_t)r, -1);
    if (!client_disconnect_code((uint8_t)r)) {
      assert_int_equal(st, HMQ_ERR_ARG);
      assert_int_equal(f->c.state, HMQ_CLIENT_CONNECTED);
      continue;
    }
    assert_int_equal(st, HMQ_OK);
    drain(f, 0);
    assert_int_equal(check_client_codes(f, 0), 1);
  }
  free(f);
}

/* ---- size: no per-packet-id storage in the engine (issue 9) ------------ */

static void test_sizes_held(void **state) {
  (void)state;
  /* Was 1504 (every member side by side) and 25168 (three 8 KiB bitmaps). */
  assert_true(sizeof(hmq_event) <= HMQ_EVENT_SIZE_MAX);
  assert_true(sizeof(hmq_event) <= sizeof(hmq_publish) + 16);
  assert_true(sizeof(hmq_client) <= HMQ_CLIENT_SIZE_MAX);
  assert_int_equal(sizeof(hmq_client_slot), 16);
  assert_int_equal(HMQ_CLIENT_IDS_MAX(64), 48);
  assert_int_equal(HMQ_CLIENT_IDS_MAX(1), 1);
  assert_int_equal(HMQ_CLIENT_IDS_MAX(0), 0);
}

static void publish_setup(hmq_publish *pub) {
  memset(pub, 0, sizeof *pub);
  pub->topic = hmq_str_c("fleet/VIN1");
  pub->payload.ptr = (const uint8_t *)"x";
  pub->payload.len = 1;
  pub->qos = 1;
}

/* Our QoS 1 ids in flight: exactly HMQ_CLIENT_IDS_MAX(slots_cap), one more
 * after a PUBACK, all again after a reconnect. */
static void test_outbound_ids_at_the_limit(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  hmq_publish pub;
  publish_setup(&pub);
  const size_t max = HMQ_CLIENT_IDS_MAX(SLOTS);
  uint16_t ids[SLOTS];
  for (size_t i = 0; i < max; i++) {
    assert_int_equal(hmq_client_publish(&f->c, &pub, &ids[i]), HMQ_OK);
    drain(f, 0);
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(ids[i], ids[j]);
    }
  }
  uint16_t extra = 0;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &extra), HMQ_ERR_FULL);
  pub.qos = 0;
  assert_int_equal(hmq_client_publish(&f->c, &pub, &extra), HMQ_OK); /* QoS 0 needs no id */
  pub.qos = 1;
  feed_ack(f, HMQ_PKT_PUBACK, ids[7]);
  hmq_event ev;
  assert_int_equal(next(f, 0, &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_EV_PUBACK);
  assert_int_equal(ev.ack.packet_id, ids[7]);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &extra), HMQ_OK);
  assert_int_equal(hmq_client_publish(&f->c, &pub, &extra), HMQ_ERR_FULL);
  drain(f, 0);
  hmq_client_transport_closed(&f->c, HMQ_ERR_CLOSED);
  connect_ok(f, 10, 0, NULL);
  for (size_t i = 0; i < max; i++) {
    assert_int_equal(hmq_client_publish(&f->c, &pub, NULL), HMQ_OK);
    drain(f, 0);
  }
  assert_int_equal(hmq_client_publish(&f->c, &pub, NULL), HMQ_ERR_FULL);
  free(f);
}

/* The id set under churn: PUBACKs in random order over a small table that
 * wraps, checked against a plain list. A PUBACK for an id not in flight
 * must still be a protocol error at the end. */
static void test_outbound_ids_churn(void **state) {
  (void)state;
  static const size_t caps[] = {8, 13, 64};
  for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
    fx *f = fx_new(TX_CAP);
    f->mem.slots_cap = caps[ci];
    fx_init(f);
    connect_ok(f, 0, 0, NULL);
    hmq_publish pub;
    publish_setup(&pub);
    const size_t max = HMQ_CLIENT_IDS_MAX(caps[ci]);
    uint16_t live[SLOTS];
    size_t n = 0;
    uint32_t rnd = 12345u + (uint32_t)ci;
    hmq_event ev;
    for (int step = 0; step < 20000; step++) {
      rnd = rnd * 1103515245u + 12345u;
      if ((rnd >> 16) % 3 != 0 && n < max) {
        assert_int_equal(hmq_client_publish(&f->c, &pub, &live[n]), HMQ_OK);
        n++;
      } else if (n == max && (rnd >> 16) % 3 != 0) {
        assert_int_equal(hmq_client_publish(&f->c, &pub, NULL), HMQ_ERR_FULL);
      } else if (n > 0) {
        size_t k = (rnd >> 8) % n;
        feed_ack(f, HMQ_PKT_PUBACK, live[k]);
        assert_int_equal(next(f, 0, &ev), HMQ_OK);
        assert_int_equal(ev.ack.packet_id, live[k]);
        live[k] = live[--n];
      }
      f->out_len = 0;
      drain(f, 0);
      assert_int_equal(f->c.out_inflight, n);
    }
    /* Every id still in flight is found, one not in flight is not. */
    uint16_t gone = 0;
    for (uint16_t id = 1; gone == 0; id++) {
      bool in = false;
      for (size_t k = 0; k < n; k++) {
        in = in || live[k] == id;
      }
      gone = in ? 0 : id;
    }
    for (size_t k = 0; k < n; k++) {
      feed_ack(f, HMQ_PKT_PUBACK, live[k]);
      assert_int_equal(next(f, 0, &ev), HMQ_OK);
    }
    feed_ack(f, HMQ_PKT_PUBACK, gone);
    assert_int_equal(next(f, 0, &ev), HMQ_ERR_PROTOCOL);
    free(f);
  }
}

/* QoS 2 ids awaiting PUBREL fill the set: further PUBRECs wait (and the
 * engine does not ask to write meanwhile), a PUBREL frees one. */
static void test_qos2_ids_at_the_limit(void **state) {
  (void)state;
  fx *f = fx_new(TX_CAP);
  f->mem.slots_cap = RECV_MAX; /* 8: 6 ids */
  fx_init(f);
  connect_ok(f, 0, 0, NULL);
  hmq_event ev;
  for (uint16_t id = 1; id <= RECV_MAX; id++) {
    feed_publish(f, 2, id, "t/q2", "p", 0, -1);
    assert_int_equal(next(f, 0, &ev), HMQ_OK);
    assert_int_equal(hmq_client_ack(&f->c, ev.seq), HMQ_OK);
  }
  drain(f, 0);
  out_pkt pk[16];
  size_t k = split_out(f, 0, pk, 16);
  assert_int_equal(k, HMQ_CLIENT_IDS_MAX(RECV_MAX)); /* 6 PUBRECs */
  for (size_t i = 0; i < k; i++) {
    assert_int_equal(pk[i].type, HMQ_PKT_PUBREC);
  }
  assert_int_equal(hmq_client_want(&f->c), HMQ_CLIENT_WANT_READ); /* no busy write */
  assert_int_equal(hmq_client_inflight(&f->c), RECV_MAX);
  /* A resend of a PUBREC'd one is answered, not delivered. */
  feed_publish(f, 2, 2, "t/q2", "p", 1, -1);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  f->out_len = 0;
  drain(f, 0);
  assert_int_equal(split_out(f, 0, pk, 16), 1);
  assert_int_equal(pk[0].type, HMQ_PKT_PUBREC);
  /* PUBREL 1 -> PUBCOMP 1, and PUBREC 7 can go. */
  f->out_len = 0;
  feed_ack(f, HMQ_PKT_PUBREL, 1);
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  drain(f, 0);
  k = split_out(f, 0, pk, 16);
  assert_int_equal(k, 2);
  assert_int_equal(pk[0].type, HMQ_PKT_PUBCOMP);
  assert_int_equal(pk[1].type, HMQ_PKT_PUBREC);
  hmq_ack a;
  assert_int_equal(hmq_decode_ack(pk[1].p, pk[1].len, &a), HMQ_OK);
  assert_int_equal(a.packet_id, 7);
  /* Everything completes; the ids are free again. */
  for (uint16_t id = 2; id <= RECV_MAX; id++) {
    feed_ack(f, HMQ_PKT_PUBREL, id);
    assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
    drain(f, 0);
  }
  assert_int_equal(hmq_client_inflight(&f->c), 0);
  f->out_len = 0;
  feed_ack(f, HMQ_PKT_PUBREL, 3); /* completed already: 0x92 */
  assert_int_equal(next(f, 0, &ev), HMQ_WANT_READ);
  drain(f, 0);
  assert_int_equal(hmq_decode_ack(f->out, f->out_len, &a), HMQ_OK);
  assert_int_equal(a.reason, 0x92);
  free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_bytes),
      cmocka_unit_test(test_connack_success_limits),
      cmocka_unit_test(test_connack_refusals),
      cmocka_unit_test(test_subscribe_after_every_connack),
      cmocka_unit_test(test_protocol_order),
      cmocka_unit_test(test_qos0_qos1),
      cmocka_unit_test(test_qos2_flow),
      cmocka_unit_test(test_qos2_across_reconnect),
      cmocka_unit_test(test_acks_in_order),
      cmocka_unit_test(test_ack_from_earlier_connection),
      cmocka_unit_test(test_topic_alias),
      cmocka_unit_test(test_receive_max),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_server_disconnect),
      cmocka_unit_test(test_tx_full_acks_wait),
      cmocka_unit_test(test_outbound_ids_and_limits),
      cmocka_unit_test(test_tx_no_room_publish),
      cmocka_unit_test(test_qos2_replies_wait_for_tx),
      cmocka_unit_test(test_every_split),
      cmocka_unit_test(test_connect_always_sends_receive_max),
      cmocka_unit_test(test_connack_limits_exposed),
      cmocka_unit_test(test_status_reasons_are_client_codes),
      cmocka_unit_test(test_every_error_sends_client_codes),
      cmocka_unit_test(test_app_disconnect_codes),
      cmocka_unit_test(test_sizes_held),
      cmocka_unit_test(test_outbound_ids_at_the_limit),
      cmocka_unit_test(test_outbound_ids_churn),
      cmocka_unit_test(test_qos2_ids_at_the_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
