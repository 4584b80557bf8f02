/* SPDX-License-Identifier: MIT */
/*
 * Poison payloads (issue 8, item 11): the worst shapes a broker can deliver
 * as one PUBLISH, at 200 KB and at hmq's maximum packet size (4 MiB), go
 * through the real delivery pipeline with the program's sizing. Each one
 * must end the way the pipeline promises -- written, or dead-lettered and
 * acknowledged -- and this test must finish: before the depth limit a
 * 200 KB "[[[…]]]" took ~25 s and a 1.3 MB one over 350 s (the ctest
 * timeout catches a regression; bench_envelope has the µs/KB figures).
 */
#include "deliver_fixture.h"
#include "sim_worst.h"

#define MAX_PACKET (4u * 1024u * 1024u) /* programs/hmq/main.c */

static char *g_doc;
static char g_dead[256]; /* start of the last run's dead-letter file */

/* One worst-case shape (sim_worst.h), `size` bytes long (give or take a
 * closing bracket), into g_doc; returns its length. */
static size_t make(hmq_sim_worst s, size_t size) {
  static unsigned made;
  char id[32];
  /* a new message_id each time: the state dir remembers the written ones */
  snprintf(id, sizeof id, "poison-%u", ++made);
  return hmq_sim_worst_make(g_doc, s, size, id);
}

/* Deliver one payload with the program's sizing, then a good envelope;
 * both must be acknowledged by the commit. Returns the stats. */
static hmq_stats run(hmq_format fmt, const char *payload, size_t len) {
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(fmt, 1);
  uint64_t seqs[4];
  c.max_message = MAX_PACKET;
  open_ok(&d, &c);
  assert_int_equal(
      hmq_deliver_message(&d, 1, TOPIC, strlen(TOPIC), (const uint8_t *)payload, len, 0, NOW),
      HMQ_OK);
  static unsigned runs;
  char id[32];
  snprintf(id, sizeof id, "after-the-poison-%u", ++runs); /* the state dir remembers ids */
  put(&d, 2, env_msg(id));
  assert_int_equal(commit(&d, seqs, 4), 2);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(seqs[1], 2);
  hmq_stats st = *hmq_deliver_stats(&d);
  hmq_deliver_close(&d);
  /* the good one after it is always written, once */
  static char out[MAX_PACKET + 8192];
  (void)slurp_file(path("out.ndjson"), out, sizeof out);
  assert_int_equal(count_str(out, id), 1);
  (void)slurp_file(path("out.ndjson.dead"), g_dead, sizeof g_dead);
  unlink(path("out.ndjson"));
  unlink(path("out.ndjson.dead"));
  return st;
}

static void expect_dead(hmq_sim_worst s, size_t size) {
  size_t n = make(s, size);
  for (hmq_format f = HMQ_FORMAT_ENVELOPE; f <= HMQ_FORMAT_FLAT; f++) {
    hmq_stats st = run(f, g_doc, n);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.written, 1);
  }
}

static void expect_written(hmq_sim_worst s, size_t size) {
  size_t n = make(s, size);
  hmq_stats st = run(HMQ_FORMAT_ENVELOPE, g_doc, n);
  if (st.invalid != 0)
    fail_msg("dead-lettered: %s", g_dead);
  assert_int_equal(st.written, 2);
}

static void deep_200k(void **state) {
  (void)state;
  expect_dead(HMQ_SIM_WORST_DEEP, 200 * 1024);
  expect_dead(HMQ_SIM_WORST_DEEP_IN_DATA, 200 * 1024);
}

static void deep_max(void **state) {
  (void)state;
  expect_dead(HMQ_SIM_WORST_DEEP, MAX_PACKET);
  expect_dead(HMQ_SIM_WORST_DEEP_IN_DATA, MAX_PACKET);
}

static void stairs(void **state) {
  (void)state;
  /* legal nesting: a valid envelope (its elements are skipped shapes) */
  expect_written(HMQ_SIM_WORST_STAIRS, 200 * 1024);
  /* 4 MiB of one-byte tokens: more than the parser holds -> dead-letter */
  expect_dead(HMQ_SIM_WORST_STAIRS, MAX_PACKET);
}

static void many_keys(void **state) {
  (void)state;
  expect_written(HMQ_SIM_WORST_MANY_KEYS, 200 * 1024);
  expect_written(HMQ_SIM_WORST_MANY_KEYS, MAX_PACKET - 64);
}

static void long_string(void **state) {
  (void)state;
  expect_written(HMQ_SIM_WORST_LONG_STRING, 200 * 1024);
  expect_written(HMQ_SIM_WORST_LONG_STRING, MAX_PACKET - 64);
  expect_dead(HMQ_SIM_WORST_BAD_UTF8_LONG, 200 * 1024);
  expect_dead(HMQ_SIM_WORST_BAD_UTF8_LONG, MAX_PACKET - 64);
}

static void tiny_tokens(void **state) {
  (void)state;
  expect_dead(HMQ_SIM_WORST_TINY_TOKENS, 200 * 1024);
  expect_dead(HMQ_SIM_WORST_TINY_TOKENS, MAX_PACKET);
}

int main(void) {
  g_doc = malloc(MAX_PACKET + 4096);
  if (!g_doc)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(deep_200k, setup, teardown),
      cmocka_unit_test_setup_teardown(deep_max, setup, teardown),
      cmocka_unit_test_setup_teardown(stairs, setup, teardown),
      cmocka_unit_test_setup_teardown(many_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(long_string, setup, teardown),
      cmocka_unit_test_setup_teardown(tiny_tokens, setup, teardown),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  free(g_doc);
  return r;
}
