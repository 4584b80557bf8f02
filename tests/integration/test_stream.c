/* SPDX-License-Identifier: MIT */
/*
 * Volume over mutual TLS: draining a realistic backlog (and measuring it),
 * and publishing large messages through a deliberately small socket send
 * buffer so that mbedTLS returns WANT_WRITE and writes must be retried with
 * the same length (docs/ARCHITECTURE.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define APP    "5eed0000-app"
#define FILTER "$share/" APP "/sandbox/level13/" APP "/#"
#define TOPIC  "sandbox/level13/" APP "/EXV10000000"

static hmq_h_broker broker;

static int setup(void **state) {
  (void)state;
  return hmq_h_setup_start(&broker);
}

static int teardown(void **state) {
  (void)state;
  hmq_h_cleanup(&broker);
  return 0;
}

static hmq_h_client *new_client(const char *id, const char *filter, bool plain) {
  hmq_h_client *c = hmq_h_client_new(&broker, id, filter, plain);
  assert_non_null(c);
  return c;
}

/* CPU time of this process (user + system), microseconds. */
static uint64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static bool subscribed(void *ctx) {
  return ((hmq_h_client *)ctx)->subacks > 0;
}

typedef struct goal {
  hmq_h_client *c;
  long n;
} goal;

static bool got_all(void *ctx) {
  goal *g = ctx;
  return g->c->unique >= g->n;
}

static void drain(void) {
  enum { N = 20000 };
  hmq_h_client *c = new_client(APP "-sandbox-drain", FILTER, false);
  hmq_h_client *cs[1] = {c};
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  assert_true(hmq_h_run(cs, 1, 5000, subscribed, c));
  hmq_h_client_close(c);
  free(c);

  assert_int_equal(hmq_h_publish_pad(&broker, TOPIC, "m", 0, N, 1250), N);

  c = new_client(APP "-sandbox-drain", FILTER, false);
  cs[0] = c;
  uint64_t t0 = hmq_h_now();
  uint64_t cpu0 = cpu_us();
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  goal g = {c, N};
  bool ok = hmq_h_run(cs, 1, 60000, got_all, &g);
  uint64_t ms = hmq_h_now() - t0;
  uint64_t cpu = cpu_us() - cpu0;
  const hmq_client *e = hmq_link_client(&c->link);
  fprintf(stderr,
          "  drained %ld x ~1.3 KB over mutual TLS (%s) in %llu ms: %.0f msg/s, %.1f MB/s\n",
          c->unique, mbedtls_ssl_get_ciphersuite(&c->link.tls.ssl), (unsigned long long)ms,
          ms ? c->unique * 1000.0 / (double)ms : 0.0,
          ms ? (double)e->n_bytes_rx / 1000.0 / (double)ms : 0.0);
  fprintf(stderr, "  client CPU %.2f us/msg (handshake included)\n", (double)cpu / N);
  assert_true(ok);
  assert_int_equal(c->unique, N);
  hmq_h_client_close(c);
  free(c);
}

static void test_drain_realistic_backlog(void **state) {
  (void)state;
  drain();
}

/* The same with the broker limited to ChaCha20-Poly1305 (mosquitto picks
 * by its own preference, AES-256-GCM otherwise), to compare CPU cost. */
static void test_drain_chacha20(void **state) {
  (void)state;
  hmq_h_stop(&broker);
  broker.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
  assert_int_equal(hmq_h_start(&broker), 0);
  drain();
}

typedef struct pubrun {
  hmq_h_client *pub, *sub;
  long n, sent; /* n: total to publish so far (grows by round) */
  uint8_t payload[4096];
} pubrun;

/* Publish as far as the server's window and our tx buffer allow. Payload:
 * {"pad":"ppp…","message_id":"m<n>"}, about 4 KB. */
static bool publish_more(void *ctx) {
  pubrun *r = ctx;
  hmq_client *e = hmq_link_client(&r->pub->link);
  while (r->sent < r->n && r->pub->connacks > 0) {
    size_t head = sizeof r->payload - 40;
    int k = snprintf((char *)r->payload + head, 40, "\",\"message_id\":\"m%ld\"}", r->sent);
    hmq_publish p;
    memset(&p, 0, sizeof p);
    p.qos = 1;
    p.topic = hmq_str_c(TOPIC);
    p.payload.ptr = r->payload;
    p.payload.len = head + (size_t)k;
    uint16_t id;
    if (hmq_client_publish(e, &p, &id) != HMQ_OK)
      break;
    r->sent++;
  }
  return r->pub->pubacks >= r->n && r->sub->unique >= r->n;
}

static void test_publish_through_small_send_buffer(void **state) {
  (void)state;
  hmq_h_client *sub = new_client("stream-sub", "sandbox/#", true);
  hmq_h_client *pub = new_client("stream-pub", NULL, false);
  pub->lcfg.tls.sndbuf = 4096; /* force WANT_WRITE from mbedTLS */
  pub->ccfg.clean_start = 1;
  pub->ccfg.session_expiry = 0;
  assert_int_equal(hmq_h_client_start(sub), HMQ_OK);
  hmq_h_client *cs[2] = {sub, pub};
  assert_true(hmq_h_run(cs, 1, 5000, subscribed, sub));
  assert_int_equal(hmq_h_client_start(pub), HMQ_OK);
  pubrun *r = calloc(1, sizeof *r);
  assert_non_null(r);
  r->pub = pub;
  r->sub = sub;
  memset(r->payload, 'p', sizeof r->payload);
  memcpy(r->payload, "{\"pad\":\"", 8);
  /* Whether the kernel pushes back is timing: a fast broker (or a slow,
   * sanitized client) can keep a 4 KB send buffer from ever filling in one
   * round. Up to three rounds of 2000 messages; every round must deliver
   * everything, and at least one write must have hit WANT_WRITE. */
  int round;
  for (round = 1; round <= 3; round++) {
    r->n += 2000;
    uint64_t t0 = hmq_h_now();
    bool ok = hmq_h_run(cs, 2, 60000, publish_more, r);
    fprintf(stderr,
            "  round %d: published %ld x 4 KB over TLS in %llu ms, %ld PUBACKs, subscriber got "
            "%ld, TLS writes that hit WANT_WRITE so far: %llu\n",
            round, r->sent, (unsigned long long)(hmq_h_now() - t0), pub->pubacks, sub->unique,
            (unsigned long long)pub->link.tls.n_write_blocked);
    assert_true(ok);
    assert_int_equal(pub->pubacks, r->n);
    assert_int_equal(sub->unique, r->n);
    assert_int_equal(pub->downs, 0);
    if (pub->link.tls.n_write_blocked > 0)
      break;
  }
  assert_true(pub->link.tls.n_write_blocked > 0);
  free(r);
  hmq_h_client_close(pub);
  hmq_h_client_close(sub);
  free(pub);
  free(sub);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_drain_realistic_backlog, setup, teardown),
      cmocka_unit_test_setup_teardown(test_drain_chacha20, setup, teardown),
      cmocka_unit_test_setup_teardown(test_publish_through_small_send_buffer, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
