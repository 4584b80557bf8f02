/* SPDX-License-Identifier: MIT */
/*
 * hmq's tokenizer (src/envelope/tokenize.c) against jsmn 1.1.0 itself
 * (compiled here, strict mode with parent links, as hmq used it before):
 * the same result, the same error position and, on success, the same
 * tokens, for hmq-sim envelopes, every prefix of one, random edits of
 * them, random strings over JSON's punctuation, small token memories, and
 * the odd inputs jsmn lets through. Then what jsmn does not do: a depth
 * limit that stops at once, and linear time on the inputs that made jsmn
 * walk quadratically (a 4 MB one took hours; here it must finish well
 * inside the test's timeout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HMQ_JSMN_IMPL
#define JSMN_STATIC
#include "envelope/jtok.h"
#include "hmq/envelope.h"
#include "sim_gen.h"

#define CAP 4096u
static hmq_jtok ours[CAP], theirs[CAP];

/* jsmn's answer, with the position its parser holds at the end. */
static int jsmn_run(const char *js, size_t len, hmq_jtok *toks, unsigned cap, size_t *pos) {
  jsmn_parser p;
  jsmn_init(&p);
  int r = jsmn_parse(&p, js, len, toks, cap);
  *pos = p.pos;
  return r;
}

/* Deepest nesting of containers among the first n tokens (parent links). */
static unsigned max_depth_of(const hmq_jtok *t, int n) {
  unsigned best = 0;
  for (int i = 0; i < n; i++) {
    unsigned d = 0;
    for (int j = i; j >= 0; j = t[j].parent)
      if (t[j].type == JSMN_OBJECT || t[j].type == JSMN_ARRAY)
        d++;
    if (d > best)
      best = d;
  }
  return best;
}

static unsigned long cases;

/* Same outcome as jsmn; cap tokens each. Inputs here are never deeper than
 * the limit given to ours. */
static void same(const char *js, size_t len, unsigned cap) {
  size_t pj = 0, po = 0;
  memset(ours, 0x5a, sizeof ours);
  memset(theirs, 0xa5, sizeof theirs);
  int rj = jsmn_run(js, len, theirs, cap, &pj);
  int ro = hmq_jtok_parse(js, len, ours, cap, 1000, &po);
  cases++;
  if (rj != ro || (rj < 0 && pj != po)) {
    fprintf(stderr, "differs on %zu bytes '%.*s' (cap %u): jsmn %d at %zu, ours %d at %zu\n", len,
            (int)len, js, cap, rj, pj, ro, po);
    fail();
  }
  for (int i = 0; i < rj; i++) {
    if (theirs[i].type != ours[i].type || theirs[i].start != ours[i].start ||
        theirs[i].end != ours[i].end || theirs[i].size != ours[i].size ||
        theirs[i].parent != ours[i].parent) {
      fprintf(stderr, "token %d differs on '%.*s'\n", i, (int)len, js);
      fail();
    }
  }
}

static uint64_t rng = 88172645463325252u;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static char payload[HMQ_SIM_PAYLOAD_MAX];
static size_t envelope(uint64_t number) {
  hmq_sim_gen g;
  hmq_sim_gen_config cfg;
  hmq_sim_msg m;
  char topic[HMQ_SIM_TOPIC_MAX];
  hmq_sim_gen_config_default(&cfg);
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_OK);
  assert_int_equal(hmq_sim_gen_make(&g, number, topic, sizeof topic, payload, sizeof payload, &m),
                   HMQ_OK);
  return m.payload_len;
}

static void sim_envelopes(void **state) {
  (void)state;
  for (uint64_t k = 1; k <= 300; k++) {
    size_t n = envelope(k);
    same(payload, n, CAP);
    assert_true(hmq_jtok_parse(payload, n, ours, CAP, 64, NULL) > 20);
  }
}

static void every_prefix_and_small_caps(void **state) {
  (void)state;
  size_t n = envelope(7);
  for (size_t k = 0; k <= n; k++)
    same(payload, k, CAP);
  for (unsigned cap = 0; cap < 200; cap++)
    same(payload, n, cap);
}

/* Bytes that steer a JSON tokenizer, and a few that are refused. */
static const char alphabet[] = "{}[]\":,\\ \t\n01-9tfnux\x1f\x7f\x80";

static void edited_envelopes(void **state) {
  static char buf[HMQ_SIM_PAYLOAD_MAX];
  (void)state;
  for (unsigned round = 0; round < 20000; round++) {
    size_t n = envelope(1 + round % 50);
    memcpy(buf, payload, n);
    unsigned edits = 1 + rnd(4);
    for (unsigned e = 0; e < edits; e++) {
      size_t at = rnd((unsigned)n);
      switch (rnd(3)) {
      case 0:                                     /* overwrite */
        buf[at] = alphabet[rnd(sizeof alphabet)]; /* includes the NUL */
        break;
      case 1: /* delete */
        memmove(buf + at, buf + at + 1, n - at - 1);
        n--;
        break;
      default: /* insert */
        if (n + 1 < sizeof buf) {
          memmove(buf + at + 1, buf + at, n - at);
          buf[at] = alphabet[rnd(sizeof alphabet - 1)];
          n++;
        }
      }
    }
    same(buf, n, CAP);
  }
}

static void random_strings(void **state) {
  char buf[48];
  (void)state;
  for (unsigned round = 0; round < 300000; round++) {
    size_t n = rnd(sizeof buf);
    for (size_t i = 0; i < n; i++)
      buf[i] = alphabet[rnd(sizeof alphabet - 4)]; /* mostly valid bytes */
    same(buf, n, round % 7 == 0 ? rnd(6) : CAP);
  }
}

static void odd_inputs(void **state) {
  static const char *const in[] = {
      "",
      "{}",
      "{}}",
      "[]]",
      "[] :1 ]",
      "[] :1 :1 ]]]",
      "[1:2]",
      "{\"a\":1:2}",
      "\"\\u12\"",
      "\"\\u12",
      "\"\\",
      "\"a\\\"",
      "\"\\x\"",
      "{\"a\"}",
      "{\"a\" 1}",
      "{1:2}",
      "{[]:1}",
      "[\"a\":[1]]",
      "[[1]:5]",
      "{\"a\":[1]:2}",
      "1",
      "1 2",
      "tru",
      "-",
      "[01,1.e5]",
      "\"a\"\"b\"",
      "]",
      ":",
      ",",
      "[,]",
      "{\"a\":1,}",
      "[1\x01]",
      "[1\x80]",
      "[\"\x80\"]",
      "{\"a\":{\"b\":[[]]}}",
      "[\"a\":\"b\":1]",
      "{\"a\":\"b\":1}",
      "\"a\":[]",
      "[]:{}]",
  };
  (void)state;
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    same(in[i], strlen(in[i]), CAP);
    same(in[i], strlen(in[i]), 1);
  }
  same("[1,\0 2]", 7, CAP); /* NUL ends the input for both */
  same("[\"a\0\"]", 6, CAP);
}

/* Opening a container deeper than the limit stops there, at once. */
static void depth_limit(void **state) {
  char buf[300];
  size_t pos = 0;
  (void)state;
  memset(buf, '[', sizeof buf);
  assert_int_equal(hmq_jtok_parse(buf, sizeof buf, ours, CAP, 64, &pos), HMQ_JTOK_DEEP);
  assert_int_equal(pos, 64); /* the 65th '[' */
  assert_int_equal(hmq_jtok_parse(buf, 64, ours, CAP, 64, &pos), HMQ_JTOK_PART);
  /* 64 levels pass, as jsmn has them */
  for (int i = 0; i < 64; i++)
    buf[64 + i] = ']';
  same(buf, 128, CAP);
  assert_int_equal(hmq_jtok_parse(buf, 128, ours, CAP, 64, NULL), 64);
  assert_int_equal(max_depth_of(ours, 64), 64);
  /* the limit counts containers, not keys */
  const char *keyed = "{\"a\":{\"b\":{\"c\":1}}}";
  assert_int_equal(hmq_jtok_parse(keyed, strlen(keyed), ours, CAP, 3, NULL), 7);
  assert_int_equal(hmq_jtok_parse(keyed, strlen(keyed), ours, CAP, 2, &pos), HMQ_JTOK_DEEP);
  assert_int_equal(pos, 10);
  /* the envelope parser names it */
  static unsigned char mem[1024 * HMQ_JSON_TOKEN_BYTES];
  hmq_envelope_parser p;
  hmq_envelope env;
  hmq_envelope_parser_init(&p, mem, sizeof mem);
  assert_int_equal(hmq_envelope_parse(&p, buf, 200, &env), HMQ_ERR_JSON_TOO_BIG);
  assert_string_equal(env.reason, "JSON nested deeper than 64 levels");
}

/* The closes that made jsmn walk the whole parent chain each time: at
 * depth 0, a chain of values hung one under the other by ':' (each new one
 * under the one before), then a run of closing brackets, each of which
 * jsmn answered by walking up the whole chain. 4 MB: quadratic would be
 * ~10^12 steps (hours; 128 KB took 3.2 s); linear is a fraction of a
 * second. The outcome is jsmn's, as the small versions show. */
static void closes_are_linear(void **state) {
  (void)state;
  same("[] :1 :1 ]]]]", 13, CAP);
  same("[[] :1 :1 ]]]]", 14, CAP);
  const size_t n = 1000000;
  size_t len = 0;
  char *b = malloc(4 * n + 8);
  hmq_jtok *t = malloc((n + 8) * sizeof *t);
  assert_non_null(b);
  assert_non_null(t);
  b[len++] = '[';
  b[len++] = ']';
  for (size_t i = 0; i < n; i++) {
    b[len++] = ':';
    b[len++] = '1';
    b[len++] = ' ';
  }
  memset(b + len, ']', n);
  len += n;
  assert_int_equal(hmq_jtok_parse(b, len, t, (unsigned)(n + 8), 64, NULL), (int)n + 1);
  /* the envelope parser refuses it (strict pass) */
  hmq_envelope_parser p;
  hmq_envelope env;
  hmq_envelope_parser_init(&p, t, (n + 8) * sizeof *t);
  assert_int_equal(hmq_envelope_parse(&p, b, len, &env), HMQ_ERR_JSON);
  free(t);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sim_envelopes),     cmocka_unit_test(every_prefix_and_small_caps),
      cmocka_unit_test(edited_envelopes),  cmocka_unit_test(random_strings),
      cmocka_unit_test(odd_inputs),        cmocka_unit_test(depth_limit),
      cmocka_unit_test(closes_are_linear),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  fprintf(stderr, "test_tokenize: %lu inputs compared with jsmn\n", cases);
  return rc;
}
