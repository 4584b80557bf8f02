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

#define MAX_PACKET (4u * 1024u * 1024u) /* programs/hmq/main.c */

static char *g_doc;
static char g_dead[256]; /* start of the last run's dead-letter file */

/* The shapes, each `size` bytes long (give or take a closing bracket).
 * Returns the length written into g_doc. */
enum shape {
  DEEP,          /* [[[[…]]]]: nesting as deep as the size allows */
  DEEP_IN_DATA,  /* the same inside a valid envelope's data */
  STAIRS,        /* [[…60…]],[[…60…]],…: the deepest legal nesting, repeated */
  MANY_KEYS,     /* one capability with a property per few bytes */
  LONG_STRING,   /* a vin as long as the payload */
  TINY_TOKENS,   /* [0,0,0,…]: one token per two bytes */
  BAD_UTF8_LONG, /* a long string with one bad byte at its end */
};

static size_t make(enum shape s, size_t size) {
  char *d = g_doc;
  size_t p = 0, i;
  static unsigned made;
  char head[96], start[64];
  /* a new message_id each time: the state dir remembers the written ones */
  snprintf(start, sizeof start, "{\"message_id\":\"poison-%u\",\"vin\":", ++made);
  snprintf(head, sizeof head, "%s\"V\",\"data\":{\"c\":{\"p\":[", start);
  switch (s) {
  case DEEP:
    for (i = 0; i < size / 2; i++)
      d[p++] = '[';
    for (i = 0; i < size / 2; i++)
      d[p++] = ']';
    return p;
  case DEEP_IN_DATA:
    p = (size_t)sprintf(d, "%s", head);
    for (i = 0; p < size / 2; i++)
      d[p++] = '[';
    while (i--)
      d[p++] = ']';
    p += (size_t)sprintf(d + p, "]}}}");
    return p;
  case STAIRS:
    p = (size_t)sprintf(d, "%s", head);
    while (p < size) {
      for (i = 0; i < HMQ_JSON_MAX_DEPTH - 5; i++)
        d[p++] = '[';
      for (i = 0; i < HMQ_JSON_MAX_DEPTH - 5; i++)
        d[p++] = ']';
      d[p++] = ',';
    }
    p--;
    p += (size_t)sprintf(d + p, "]}}}");
    return p;
  case MANY_KEYS:
    p = (size_t)sprintf(d, "%s\"V\",\"data\":{\"c\":{", start);
    for (i = 0; p < size; i++)
      p += (size_t)sprintf(d + p, "%s\"%zx\":[]", i ? "," : "", i);
    p += (size_t)sprintf(d + p, "}}}");
    return p;
  case LONG_STRING:
  case BAD_UTF8_LONG:
    p = (size_t)sprintf(d, "%s\"", start);
    while (p < size)
      d[p++] = 'a';
    if (s == BAD_UTF8_LONG)
      d[p - 1] = (char)0xff;
    p += (size_t)sprintf(d + p, "\",\"data\":{}}");
    return p;
  case TINY_TOKENS:
    d[p++] = '[';
    while (p < size) {
      d[p++] = '0';
      d[p++] = ',';
    }
    d[p - 1] = ']';
    return p;
  }
  return 0;
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

static void expect_dead(enum shape s, size_t size) {
  size_t n = make(s, size);
  for (hmq_format f = HMQ_FORMAT_ENVELOPE; f <= HMQ_FORMAT_FLAT; f++) {
    hmq_stats st = run(f, g_doc, n);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.written, 1);
  }
}

static void expect_written(enum shape s, size_t size) {
  size_t n = make(s, size);
  hmq_stats st = run(HMQ_FORMAT_ENVELOPE, g_doc, n);
  if (st.invalid != 0)
    fail_msg("dead-lettered: %s", g_dead);
  assert_int_equal(st.written, 2);
}

static void deep_200k(void **state) {
  (void)state;
  expect_dead(DEEP, 200 * 1024);
  expect_dead(DEEP_IN_DATA, 200 * 1024);
}

static void deep_max(void **state) {
  (void)state;
  expect_dead(DEEP, MAX_PACKET);
  expect_dead(DEEP_IN_DATA, MAX_PACKET);
}

static void stairs(void **state) {
  (void)state;
  /* legal nesting: a valid envelope (its elements are skipped shapes) */
  expect_written(STAIRS, 200 * 1024);
  /* 4 MiB of one-byte tokens: more than the parser holds -> dead-letter */
  expect_dead(STAIRS, MAX_PACKET);
}

static void many_keys(void **state) {
  (void)state;
  expect_written(MANY_KEYS, 200 * 1024);
  expect_written(MANY_KEYS, MAX_PACKET - 64);
}

static void long_string(void **state) {
  (void)state;
  expect_written(LONG_STRING, 200 * 1024);
  expect_written(LONG_STRING, MAX_PACKET - 64);
  expect_dead(BAD_UTF8_LONG, 200 * 1024);
  expect_dead(BAD_UTF8_LONG, MAX_PACKET - 64);
}

static void tiny_tokens(void **state) {
  (void)state;
  expect_dead(TINY_TOKENS, 200 * 1024);
  expect_dead(TINY_TOKENS, MAX_PACKET);
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
