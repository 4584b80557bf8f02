/* SPDX-License-Identifier: MIT */
/*
 * The stream scenarios against a real mosquitto with mutual TLS: shared
 * subscription, QoS 1 with PUBACK, persistent session, share-group split,
 * broker restart, keepalive, session takeover. Each test starts a fresh
 * broker (fresh data dir: no leftover sessions in the share group).
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

#define APP    "0c0ffee0-app"
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

static hmq_h_client *new_client(const char *id) {
  hmq_h_client *c = hmq_h_client_new(&broker, id, FILTER, false);
  assert_non_null(c);
  return c;
}

typedef struct want {
  hmq_h_client *c[2];
  long n;
} want;

static bool subscribed(void *ctx) {
  want *w = ctx;
  for (int i = 0; i < 2; i++)
    if (w->c[i] && w->c[i]->subacks < w->n)
      return false;
  return true;
}

static bool got_unique(void *ctx) {
  want *w = ctx;
  return w->c[0]->unique >= w->n;
}

static void start_and_subscribe(hmq_h_client *c, long nth) {
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  want w = {{c, NULL}, nth};
  hmq_h_client *cs[1] = {c};
  if (!hmq_h_run(cs, 1, 5000, subscribed, &w))
    hmq_h_dump_log(&broker);
  assert_int_equal(c->subacks, nth);
}

static void test_subscribe_receive_ack_no_redelivery(void **state) {
  (void)state;
  hmq_h_client *c = new_client(APP "-sandbox-1");
  start_and_subscribe(c, 1);
  assert_int_equal(hmq_h_publish(&broker, TOPIC, "m", 0, 500), 500);
  want w = {{c, NULL}, 500};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 10000, got_unique, &w));
  assert_int_equal(c->unique, 500);
  /* Let the last PUBACKs reach the broker before the clean close. */
  hmq_h_run(cs, 1, 200, NULL, NULL);
  assert_int_equal(hmq_client_inflight(hmq_link_client(&c->link)), 0);
  hmq_h_client_free(c);

  /* Same id again: the session is still there and holds nothing. */
  c = new_client(APP "-sandbox-1");
  start_and_subscribe(c, 1);
  assert_true(c->session_present);
  cs[0] = c;
  hmq_h_run(cs, 1, 1000, NULL, NULL);
  fprintf(stderr, "  redelivered after reconnect: %ld\n", c->received);
  assert_int_equal(c->received, 0);
  hmq_h_client_free(c);
}

static void test_persistent_session_gets_offline_messages(void **state) {
  (void)state;
  hmq_h_client *c = new_client(APP "-sandbox-2");
  start_and_subscribe(c, 1);
  hmq_h_client_free(c); /* DISCONNECT 0x00: session (expiry 300 s) stays */

  assert_int_equal(hmq_h_publish(&broker, TOPIC, "m", 0, 2000), 2000);

  c = new_client(APP "-sandbox-2");
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  want w = {{c, NULL}, 2000};
  hmq_h_client *cs[1] = {c};
  uint64_t t0 = hmq_h_now();
  assert_true(hmq_h_run(cs, 1, 20000, got_unique, &w));
  fprintf(stderr, "  2000 queued messages in %llu ms (%ld deliveries)\n",
          (unsigned long long)(hmq_h_now() - t0), c->received);
  assert_true(c->session_present);
  assert_int_equal(c->unique, 2000);
  hmq_h_client_free(c);
}

static bool union_complete(void *ctx) {
  want *w = ctx;
  long n = 0;
  for (long i = 0; i < w->n; i++)
    n += w->c[0]->seen[i] || w->c[1]->seen[i];
  return n == w->n;
}

static void test_share_group_splits_messages(void **state) {
  (void)state;
  hmq_h_client *a = new_client(APP "-sandbox-a");
  hmq_h_client *b = new_client(APP "-sandbox-b");
  assert_int_equal(hmq_h_client_start(a), HMQ_OK);
  assert_int_equal(hmq_h_client_start(b), HMQ_OK);
  hmq_h_client *cs[2] = {a, b};
  want w = {{a, b}, 1};
  assert_true(hmq_h_run(cs, 2, 5000, subscribed, &w));

  assert_int_equal(hmq_h_publish(&broker, TOPIC, "m", 0, 2000), 2000);
  w.n = 2000;
  assert_true(hmq_h_run(cs, 2, 20000, union_complete, &w));
  hmq_h_run(cs, 2, 300, NULL, NULL);
  fprintf(stderr, "  a got %ld, b got %ld (unique), deliveries %ld + %ld\n", a->unique, b->unique,
          a->received, b->received);
  assert_true(a->unique > 0);
  assert_true(b->unique > 0);
  long both = 0;
  for (long i = 0; i < 2000; i++)
    both += a->seen[i] && b->seen[i];
  assert_int_equal(a->unique + b->unique - both, 2000);
  hmq_h_client_free(a);
  hmq_h_client_free(b);
}

static void test_broker_restart_mid_stream(void **state) {
  (void)state;
  hmq_h_client *c = new_client(APP "-sandbox-r");
  c->lcfg.backoff_initial_ms = 200;
  start_and_subscribe(c, 1);
  assert_int_equal(hmq_h_publish(&broker, TOPIC, "m", 0, 3000), 3000);
  want w = {{c, NULL}, 300};
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 10000, got_unique, &w));
  fprintf(stderr, "  stopping the broker after %ld of 3000\n", c->unique);

  assert_int_equal(hmq_h_stop(&broker), 0); /* SIGTERM: mosquitto saves its queue */
  hmq_h_run(cs, 1, 300, NULL, NULL);        /* the link notices and backs off */
  assert_true(c->downs >= 1);
  assert_int_equal(hmq_h_start(&broker), 0);
  /* Published after the restart: the subscription must be renewed. */
  want sub = {{c, NULL}, 2};
  assert_true(hmq_h_run(cs, 1, 10000, subscribed, &sub));
  assert_int_equal(hmq_h_publish(&broker, TOPIC, "m", 3000, 500), 500);
  w.n = 3500;
  if (!hmq_h_run(cs, 1, 30000, got_unique, &w))
    hmq_h_dump_log(&broker);
  fprintf(stderr, "  after restart: %ld unique of 3500, %ld deliveries, %ld dup, %ld downs\n",
          c->unique, c->received, c->dups, c->downs);
  assert_int_equal(c->unique, 3500);
  assert_true(c->connacks >= 2);
  hmq_h_client_free(c);
}

static bool went_down(void *ctx) {
  return ((hmq_h_client *)ctx)->downs > 0;
}

static bool reconnected(void *ctx) {
  return ((hmq_h_client *)ctx)->connacks >= 2;
}

static void test_keepalive_detects_stopped_broker(void **state) {
  (void)state;
  hmq_h_client *c = new_client(APP "-sandbox-k");
  c->ccfg.keep_alive = 2;
  c->lcfg.backoff_initial_ms = 100;
  start_and_subscribe(c, 1);
  hmq_h_client *cs[1] = {c};
  hmq_h_run(cs, 1, 300, NULL, NULL);
  uint64_t t0 = hmq_h_now();
  assert_int_equal(hmq_h_pause(&broker), 0);
  bool down = hmq_h_run(cs, 1, 6000, went_down, c);
  uint64_t took = c->last_down_ms - t0;
  assert_int_equal(hmq_h_resume(&broker), 0);
  assert_true(down);
  fprintf(stderr, "  keepalive failure reported %llu ms after SIGSTOP\n", (unsigned long long)took);
  assert_int_equal(c->last_down, HMQ_ERR_KEEPALIVE);
  assert_false(c->last_final);
  assert_true(took <= 3000 + 300); /* 1.5 x keep alive + loop granularity */
  assert_true(hmq_h_run(cs, 1, 10000, reconnected, c));
  hmq_h_client_free(c);
}

static bool first_down(void *ctx) {
  want *w = ctx;
  return w->c[0]->downs + w->c[1]->downs > 0;
}

/* mosquitto 2.0.11 closes the older connection WITHOUT sending DISCONNECT
 * 0x8E (checked on the wire: it logs "already connected, closing old
 * connection" and closes the socket). So against it the first client can
 * only see HMQ_ERR_CLOSED; a broker that sends 0x8E (HiveMQ, newer
 * mosquitto) gives HMQ_ERR_TAKEN_OVER, which test_misbehave checks with a
 * server of ours. Either way: the older client is the one kicked, nothing
 * is final, and it comes back by itself. */
static void test_same_client_id_takeover(void **state) {
  (void)state;
  hmq_h_client *a = new_client(APP "-sandbox-dup");
  hmq_h_client *b = new_client(APP "-sandbox-dup");
  a->lcfg.backoff_initial_ms = 200;
  b->lcfg.backoff_initial_ms = 5000;
  start_and_subscribe(a, 1);
  assert_int_equal(hmq_h_client_start(b), HMQ_OK);
  hmq_h_client *cs[2] = {a, b};
  want w = {{a, b}, 0};
  assert_true(hmq_h_run(cs, 2, 5000, first_down, &w));
  fprintf(stderr, "  first client: %s: %s\n", hmq_status_name(a->last_down), a->last_msg);
  assert_int_equal(a->downs, 1);
  assert_int_equal(b->downs, 0);
  assert_true(a->last_down == HMQ_ERR_TAKEN_OVER || a->last_down == HMQ_ERR_CLOSED);
  if (a->last_down == HMQ_ERR_TAKEN_OVER) {
    assert_int_equal(a->last_reason, 0x8E);
    assert_int_equal(a->link.n_takeovers, 1);
  }
  assert_false(a->last_final);
  assert_int_equal(hmq_link_get_state(&a->link), HMQ_LINK_BACKOFF);
  /* The first client reconnects and in turn kicks out the second. */
  assert_true(hmq_h_run(cs, 2, 5000, reconnected, a));
  hmq_h_run(cs, 2, 300, NULL, NULL);
  assert_true(b->downs >= 1);
  hmq_h_client_free(a);
  hmq_h_client_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_subscribe_receive_ack_no_redelivery, setup, teardown),
      cmocka_unit_test_setup_teardown(test_persistent_session_gets_offline_messages, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_share_group_splits_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_restart_mid_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive_detects_stopped_broker, setup, teardown),
      cmocka_unit_test_setup_teardown(test_same_client_id_takeover, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
