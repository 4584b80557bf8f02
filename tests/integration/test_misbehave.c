/* SPDX-License-Identifier: MIT */
/*
 * The scripted MQTT server of the tests (scripted.h: plain TCP on
 * 127.0.0.1, in this process) misbehaves: it accepts our CONNECT, sends CONNACK, answers SUBSCRIBE,
 * then sends one broken thing. For each we check the DISCONNECT reason code
 * our client sends (MQTT 5.0 4.13) and the status the link reports. Also
 * the reconnect policy: takeover (0x8E), permanent and transient CONNACK
 * refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"
#include "scripted.h"

#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

typedef struct run {
  hmq_h_srv *s;
  hmq_h_client *c;
  int mode; /* 0: until the client's DISCONNECT reached us; 1: until DOWN; 2: never;
              3: until DOWN, no server */
} run;

static bool until(void *ctx) {
  run *r = ctx;
  if (r->mode == 3) /* no server */
    return r->c->downs > 0;
  hmq_h_srv_service(r->s);
  if (r->mode == 0)
    return r->s->disc_reason >= 0 && r->c->downs > 0;
  if (r->mode == 1)
    return r->c->downs > 0;
  return false; /* just keep the server going */
}

static hmq_h_client *client_for(const hmq_h_srv *s) {
  hmq_h_broker fake;
  memset(&fake, 0, sizeof fake);
  fake.plain_port = s->port;
  hmq_h_client *c = calloc(1, sizeof *c);
  assert_non_null(c);
  hmq_h_client_init(c, &fake, "misbehave", "t/#", true);
  c->ccfg.receive_max = 2;
  c->ccfg.max_packet_size = 1024;
  c->ccfg.topic_alias_max = 4;
  c->ccfg.keep_alive = 0;
  c->auto_ack = false; /* keep inbound QoS 1 in flight */
  c->lcfg.backoff_initial_ms = 100;
  return c;
}

/* Script one broken transmission and check our DISCONNECT and status
 * (and, when want_text is given, that the link's message says it). */
static void expect_disconnect_says(const uint8_t *bad, size_t n, uint8_t want_reason,
                                   hmq_status want_status, const char *want_text) {
  hmq_h_srv s;
  hmq_h_srv_open(&s);
  s.bad = bad;
  s.bad_len = n;
  hmq_h_client *c = client_for(&s);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {&s, c, 0};
  hmq_h_client *cs[1] = {c};
  bool ok = hmq_h_run(cs, 1, 5000, until, &r);
  fprintf(stderr, "  server saw DISCONNECT 0x%02X; link: %s (%s)\n", (unsigned)s.disc_reason,
          hmq_status_name(c->last_down), c->last_msg);
  assert_true(ok);
  assert_int_equal(s.disc_reason, want_reason);
  assert_int_equal(c->last_down, want_status);
  assert_int_equal(c->last_reason, want_reason);
  assert_false(c->last_final); /* protocol errors are retried */
  if (want_text)
    assert_non_null(strstr(c->last_msg, want_text));
  hmq_link_free(&c->link);
  free(c);
  hmq_h_srv_free(&s);
}

static void expect_disconnect(const uint8_t *bad, size_t n, uint8_t want_reason,
                              hmq_status want_status) {
  expect_disconnect_says(bad, n, want_reason, want_status, NULL);
}

static void test_remaining_length_five_bytes(void **state) {
  (void)state;
  static const uint8_t bad[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
  expect_disconnect(bad, sizeof bad, 0x81, HMQ_ERR_VARINT_TOO_LONG);
}

static void test_topic_alias_out_of_range(void **state) {
  (void)state;
  uint8_t buf[64];
  size_t n = 0;
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = hmq_str_c("t/a");
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS);
  p.props.topic_alias = 5; /* we announced Topic Alias Maximum 4 */
  p.payload.ptr = (const uint8_t *)"x";
  p.payload.len = 1;
  assert_int_equal(hmq_encode_publish(buf, sizeof buf, &p, &n), HMQ_OK);
  /* the message names the alias the server sent */
  expect_disconnect_says(buf, n, 0x94, HMQ_ERR_TOPIC_ALIAS,
                         "server sent topic alias 5 (our Topic Alias Maximum is ");
}

static void test_auth_without_method(void **state) {
  (void)state;
  /* AUTH, reason 0x18 Continue authentication, no properties: our CONNECT
   * had no Authentication Method, so the server must not send it
   * [MQTT-4.12.0-6]; the line says what came */
  static const uint8_t bad[] = {0xF0, 0x02, 0x18, 0x00};
  expect_disconnect_says(bad, sizeof bad, 0x82, HMQ_ERR_PROTOCOL, "server sent AUTH (reason 0x18)");
}

/* A server that takes the connection and never answers CONNECT: the
 * attempt ends after the CONNACK timeout (10 s with keep-alive 0) and the
 * line says what was missing, not just "timed out". */
static void test_no_connack_is_named(void **state) {
  (void)state;
  hmq_h_srv s;
  hmq_h_srv_open(&s);
  s.no_connack = true;
  hmq_h_client *c = client_for(&s);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {&s, c, 1};
  hmq_h_client *cs[1] = {c};
  bool ok = hmq_h_run(cs, 1, 13000, until, &r);
  fprintf(stderr, "  link: %s (%s)\n", hmq_status_name(c->last_down), c->last_msg);
  assert_true(ok);
  assert_int_equal(c->last_down, HMQ_ERR_TIMEOUT);
  assert_non_null(strstr(c->last_msg, "no CONNACK within 10 s of our CONNECT"));
  hmq_link_free(&c->link);
  free(c);
  hmq_h_srv_free(&s);
}

static void test_publish_qos3(void **state) {
  (void)state;
  /* PUBLISH, flags QoS bits 11; topic "t/a", packet id 1, no properties. */
  static const uint8_t bad[] = {0x36, 9, 0, 3, 't', '/', 'a', 0, 1, 0, 'x'};
  expect_disconnect(bad, sizeof bad, 0x81, HMQ_ERR_QOS_INVALID);
}

static void test_more_inflight_than_receive_maximum(void **state) {
  (void)state;
  uint8_t buf[128];
  size_t off = 0;
  for (uint16_t id = 1; id <= 3; id++) { /* our Receive Maximum is 2 */
    hmq_publish p;
    size_t n = 0;
    memset(&p, 0, sizeof p);
    p.qos = 1;
    p.packet_id = id;
    p.topic = hmq_str_c("t/a");
    p.payload.ptr = (const uint8_t *)"x";
    p.payload.len = 1;
    assert_int_equal(hmq_encode_publish(buf + off, sizeof buf - off, &p, &n), HMQ_OK);
    off += n;
  }
  expect_disconnect(buf, off, 0x93, HMQ_ERR_RECEIVE_MAX);
}

static void test_oversize_packet(void **state) {
  (void)state;
  static uint8_t buf[2100];
  static uint8_t payload[2000];
  size_t n = 0;
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = hmq_str_c("t/a");
  p.payload.ptr = payload;
  p.payload.len = sizeof payload; /* we announced Maximum Packet Size 1024 */
  assert_int_equal(hmq_encode_publish(buf, sizeof buf, &p, &n), HMQ_OK);
  expect_disconnect(buf, n, 0x95, HMQ_ERR_PACKET_TOO_LARGE);
}

static void test_takeover_is_reported_and_retried(void **state) {
  (void)state;
  hmq_h_srv s;
  hmq_h_srv_open(&s);
  uint8_t disc[8];
  s.bad = disc;
  s.bad_len = hmq_h_srv_disconnect(disc, sizeof disc, 0x8E, NULL);
  s.close_after_bad = true;
  hmq_h_client *c = client_for(&s);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {&s, c, 1};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 5000, until, &r));
  fprintf(stderr, "  %s\n", c->last_msg);
  assert_int_equal(c->takeovers, 1);
  assert_int_equal(c->last_down, HMQ_ERR_TAKEN_OVER);
  assert_int_equal(c->last_reason, 0x8E);
  assert_false(c->last_final);
  assert_int_equal(c->link.n_takeovers, 1);
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_BACKOFF);
  /* It comes back (the counted takeover repeats). */
  r.mode = 1;
  c->downs = 0;
  assert_true(hmq_h_run(cs, 1, 5000, until, &r));
  assert_true(s.connects >= 2);
  assert_int_equal(c->link.n_takeovers, 2);
  hmq_link_free(&c->link);
  free(c);
  hmq_h_srv_free(&s);
}

static void connack_refusal(uint8_t reason, bool want_final) {
  hmq_h_srv s;
  hmq_h_srv_open(&s);
  s.connack.reason = reason;
  hmq_h_client *c = client_for(&s);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {&s, c, 1};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 5000, until, &r));
  fprintf(stderr, "  CONNACK 0x%02X: %s%s\n", reason, c->last_msg, c->last_final ? " (final)" : "");
  assert_int_equal(c->last_down, HMQ_ERR_REFUSED);
  assert_int_equal(c->last_reason, reason);
  assert_int_equal(c->last_final, want_final);
  /* Give a retry loop the chance to show itself. */
  hmq_h_run(cs, 1, 1000, until, &(run){&s, c, 2});
  if (want_final) {
    assert_int_equal(s.connects, 1);
    assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_DONE);
  } else {
    assert_true(s.connects >= 2);
  }
  hmq_link_free(&c->link);
  free(c);
  hmq_h_srv_free(&s);
}

static void test_connack_not_authorized_is_final(void **state) {
  (void)state;
  connack_refusal(0x87, true);
}

static void test_connack_bad_client_id_is_final(void **state) {
  (void)state;
  connack_refusal(0x85, true);
}

static void test_connack_server_busy_is_retried(void **state) {
  (void)state;
  connack_refusal(0x89, false);
}

/* Drive a link against a closed loopback port and collect its RETRY
 * delays. */
static void retry_delays(uint64_t seed, uint32_t *out, size_t n) {
  hmq_h_srv s;
  hmq_h_srv_open(&s);
  uint16_t port = s.port;
  hmq_h_srv_free(&s); /* nothing listens there now */
  hmq_h_client *c = client_for(&s);
  c->lcfg.tls.port = port;
  c->lcfg.backoff_initial_ms = 10;
  c->lcfg.backoff_max_ms = 80;
  c->lcfg.seed = seed;
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  size_t got = 0;
  uint64_t end = hmq_h_now() + 5000;
  hmq_link *l = &c->link;
  while (got < n && hmq_h_now() < end) {
    hmq_link_event ev;
    while (got < n && hmq_link_next_event(l, hmq_h_now(), &ev) == HMQ_OK) {
      if (ev.type == HMQ_LINK_EV_DOWN)
        assert_int_equal(ev.status, HMQ_ERR_CONNECT);
      if (ev.type != HMQ_LINK_EV_RETRY)
        continue;
      uint32_t ceil = 10u << (ev.attempt - 1 > 3 ? 3 : ev.attempt - 1);
      assert_int_equal(ev.attempt, got + 1);
      ceil = ceil > 80 ? 80 : ceil;
      assert_true(ev.delay_ms <= ceil && ev.delay_ms >= ceil / 2); /* [c/2, c] */
      out[got++] = ev.delay_ms;
    }
    struct pollfd pfd[1];
    hmq_link_run_once(&l, 1, pfd, 20);
  }
  assert_int_equal(got, n);
  hmq_link_free(l);
  free(c);
}

static void test_backoff_jitter_capped_and_seeded(void **state) {
  (void)state;
  uint32_t a[10], b[10], d[10];
  retry_delays(42, a, 10);
  retry_delays(42, b, 10);
  retry_delays(7, d, 10);
  fprintf(stderr, "  delays (seed 42):");
  for (int i = 0; i < 10; i++)
    fprintf(stderr, " %u", (unsigned)a[i]);
  fprintf(stderr, "\n");
  assert_memory_equal(a, b, sizeof a); /* deterministic for a seed */
  assert_memory_not_equal(a, d, sizeof a);
  uint32_t late = 0; /* past attempt 4 the cap (80 ms) is the range */
  for (int i = 4; i < 10; i++)
    late = a[i] > late ? a[i] : late;
  assert_true(late > 10);
}

static bool subacked(void *ctx) {
  run *r = ctx;
  hmq_h_srv_service(r->s);
  return r->c->subacks > 0;
}

/* A link subscribed to a fresh scripted server. */
static hmq_h_client *subscribed_client(hmq_h_srv *s) {
  hmq_h_srv_open(s);
  hmq_h_client *c = client_for(s);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {s, c, 2};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 3000, subacked, &r));
  return c;
}

/* hmq_link_close, then run link and server until CLOSED (true) or 3 s. */
static bool close_and_wait(hmq_h_srv *s, hmq_h_client *c) {
  uint64_t end = hmq_h_now() + 3000;
  bool closed = false;
  assert_int_equal(hmq_link_close(&c->link, 0x00, hmq_h_now()), HMQ_OK);
  while (!closed && hmq_h_now() < end) {
    hmq_link *l = &c->link;
    struct pollfd pfd[1];
    hmq_link_event ev;
    hmq_h_srv_service(s);
    hmq_link_run_once(&l, 1, pfd, 10);
    while (hmq_link_next_event(l, hmq_h_now(), &ev) == HMQ_OK)
      closed = closed || ev.type == HMQ_LINK_EV_CLOSED;
  }
  for (int i = 0; i < 20 && s->disc_reason < 0; i++) {
    hmq_h_srv_service(s);
    poll(NULL, 0, 5);
  }
  return closed;
}

/* hmq_link_close: DISCONNECT 0x00 reaches the server, then CLOSED and DONE;
 * closing while backing off ends at once. */
static void test_clean_close(void **state) {
  (void)state;
  hmq_h_srv s;
  hmq_h_client *c = subscribed_client(&s);
  assert_true(close_and_wait(&s, c));
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_DONE);
  assert_int_equal(s.disc_reason, 0x00);
  assert_int_equal(c->downs, 0);
  hmq_link_free(&c->link);

  /* Again, but the server refuses (0x89) so the link sits in BACKOFF. */
  s.connack.reason = 0x89;
  c->downs = 0;
  c->lcfg.backoff_initial_ms = 10000;
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {&s, c, 1};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 3000, until, &r));
  hmq_link_event ev;
  while (hmq_link_next_event(&c->link, hmq_h_now(), &ev) == HMQ_OK) {
  }
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_BACKOFF);
  assert_int_equal(hmq_link_close(&c->link, 0x00, hmq_h_now()), HMQ_OK);
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_DONE);
  assert_int_equal(hmq_link_next_event(&c->link, hmq_h_now(), &ev), HMQ_OK);
  assert_int_equal(ev.type, HMQ_LINK_EV_CLOSED);
  hmq_link_free(&c->link);
  free(c);
  hmq_h_srv_free(&s);
}

/* After our DISCONNECT the link reads on until the server has closed. A
 * socket closed with unread bytes in its receive queue goes out as a reset
 * instead of a FIN, and a broker that meets the reset while it is still
 * writing to us drops what it had not read yet: our last PUBACKs and the
 * DISCONNECT (mosquitto 2.0.21 did, in test_cli's SIGTERM test, and then
 * sent the whole first run's messages again). Here the server's 45 KB sit
 * unread when hmq_link_close is called. */
static void test_close_with_unread_data_is_a_fin(void **state) {
  (void)state;
  hmq_h_srv s;
  hmq_h_client *c = subscribed_client(&s);
  static uint8_t burst[50 * 1024], body[900];
  size_t n = 0;
  memset(body, 'x', sizeof body);
  for (int i = 0; i < 50; i++) {
    hmq_publish p;
    size_t k = 0;
    memset(&p, 0, sizeof p);
    p.topic.ptr = "t/a";
    p.topic.len = 3;
    p.payload.ptr = body;
    p.payload.len = sizeof body;
    assert_int_equal(hmq_encode_publish(burst + n, sizeof burst - n, &p, &k), HMQ_OK);
    n += k;
  }
  hmq_h_srv_send(&s, burst, n);
  poll(NULL, 0, 50); /* in the client's receive queue, not read */
  uint64_t t0 = hmq_h_now();
  assert_true(close_and_wait(&s, c));
  assert_int_equal(s.disc_reason, 0x00);
  assert_false(s.peer_reset);
  assert_true(hmq_h_now() - t0 < 1500); /* ended by the server's close, not the 2 s bound */
  hmq_link_free(&c->link);
  free(c);
  hmq_h_srv_free(&s);
}

/* IPv6 loopback: the address is tried and named in brackets. Skipped
 * when the machine has no ::1. */
static void test_ipv6_refused_names_address(void **state) {
  (void)state;
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    if (fd >= 0)
      close(fd);
    skip();
  }
  uint16_t port = ntohs(a.sin6_port);
  close(fd); /* bound, never listened: nothing accepts there now */
  hmq_h_srv s;
  memset(&s, 0, sizeof s);
  s.port = port;
  hmq_h_client *c = client_for(&s);
  c->lcfg.tls.host = "::1";
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  run r = {&s, c, 3};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 3000, until, &r));
  char want[64];
  snprintf(want, sizeof want, "connection refused by [::1]:%u", (unsigned)port);
  assert_int_equal(c->last_down, HMQ_ERR_CONNECT);
  assert_string_equal(c->last_msg, want);
  hmq_link_free(&c->link);
  free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_remaining_length_five_bytes),
      cmocka_unit_test(test_topic_alias_out_of_range),
      cmocka_unit_test(test_auth_without_method),
      cmocka_unit_test(test_no_connack_is_named),
      cmocka_unit_test(test_publish_qos3),
      cmocka_unit_test(test_more_inflight_than_receive_maximum),
      cmocka_unit_test(test_oversize_packet),
      cmocka_unit_test(test_takeover_is_reported_and_retried),
      cmocka_unit_test(test_connack_not_authorized_is_final),
      cmocka_unit_test(test_connack_bad_client_id_is_final),
      cmocka_unit_test(test_connack_server_busy_is_retried),
      cmocka_unit_test(test_backoff_jitter_capped_and_seeded),
      cmocka_unit_test(test_ipv6_refused_names_address),
      cmocka_unit_test(test_clean_close),
      cmocka_unit_test(test_close_with_unread_data_is_a_fin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
