/* SPDX-License-Identifier: MIT */
/* Output formatting: compact envelope and flat entry lines, byte-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hmq/envelope.h"
#include "json_samples.h"

static unsigned char tokmem[1024 * HMQ_JSON_TOKEN_BYTES];
static hmq_envelope_parser parser;

static int setup(void **state) {
  (void)state;
  hmq_envelope_parser_init(&parser, tokmem, sizeof tokmem);
  return 0;
}

static const char SEED_COMPACT[] =
    "{\"version\":2,\"application_id\":\"00000000-0000-0000-0000-000000000000\","
    "\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"vin\":\"EXV10000000\","
    "\"data\":{\"diagnostics\":{\"odometer\":[{\"data\":{\"unit\":\"kilometers\","
    "\"value\":19201.01}}]},\"vehicle_location\":{\"altitude\":[{\"data\":{\"unit\":\"meters\","
    "\"value\":63},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],\"coordinates\":[{\"data\":"
    "{\"latitude\":11.572,\"longitude\":8.487},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}";

static const char *SEED_FLAT[] = {
    "{\"vin\":\"EXV10000000\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"capability\":"
    "\"diagnostics\",\"property\":\"odometer\",\"timestamp\":null,\"data\":{\"unit\":"
    "\"kilometers\",\"value\":19201.01}}",
    "{\"vin\":\"EXV10000000\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"capability\":"
    "\"vehicle_location\",\"property\":\"altitude\",\"timestamp\":\"2025-08-12T16:07:48.000Z\","
    "\"data\":{\"unit\":\"meters\",\"value\":63}}",
    "{\"vin\":\"EXV10000000\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"capability\":"
    "\"vehicle_location\",\"property\":\"coordinates\",\"timestamp\":"
    "\"2025-08-12T16:07:48.000Z\",\"data\":{\"latitude\":11.572,\"longitude\":8.487}}",
};

static void compact_seed(void **state) {
  hmq_envelope env;
  char out[2048];
  size_t n = 0;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                   HMQ_OK);
  assert_int_equal(hmq_json_compact(&env, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, strlen(SEED_COMPACT));
  assert_memory_equal(out, SEED_COMPACT, n);
  /* compacting compact JSON changes nothing */
  {
    char again[2048];
    size_t m = 0;
    assert_int_equal(hmq_json_compact_value(out, n, again, sizeof again, &m), HMQ_OK);
    assert_int_equal(m, n);
    assert_memory_equal(again, out, n);
  }
}

/* The parse notes when there is no whitespace between tokens and the
 * formatter then copies instead of compacting: one space in any gap must
 * turn the copy off (else it would reach the output), whitespace outside
 * the top-level value or inside strings must not. Output always equals a
 * full compaction, also when the buffer is too small. */
static void compact_tight_copy(void **state) {
  static const struct {
    const char *in;
    int tight;
  } v[] = {
      {"{\"message_id\":\"a b\",\"vin\":\"V \",\"data\":{\"c\":{\"p\":[{\"data\":[1,true]}]}}}", 1},
      {" \r\n{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{}}\n\t ", 1},
      {"{ \"message_id\":\"m\",\"vin\":\"V\",\"data\":{}}", 0},
      {"{\"message_id\" :\"m\",\"vin\":\"V\",\"data\":{}}", 0},
      {"{\"message_id\":\t\"m\",\"vin\":\"V\",\"data\":{}}", 0},
      {"{\"message_id\":\"m\" ,\"vin\":\"V\",\"data\":{}}", 0},
      {"{\"message_id\":\"m\",\n\"vin\":\"V\",\"data\":{}}", 0},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{ }}", 0},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{}\r}", 0},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[1 ]}}}", 0},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[1, 2]}}}", 0},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[[1] ,2]}}}", 0},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[{}]} }}", 0},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof v / sizeof v[0]; i++) {
    hmq_envelope env;
    char out[512], want[512];
    size_t n = 0, m = 0, cap;
    assert_int_equal(hmq_envelope_parse(&parser, v[i].in, strlen(v[i].in), &env), HMQ_OK);
    assert_int_equal(env.json_tight, v[i].tight);
    assert_int_equal(hmq_json_compact(&env, out, sizeof out, &n), HMQ_OK);
    assert_int_equal(hmq_json_compact_value(env.json.ptr, env.json.len, want, sizeof want, &m),
                     HMQ_OK);
    assert_int_equal(n, m);
    assert_memory_equal(out, want, n);
    assert_null(memchr(want, '\n', m));
    for (cap = 0; cap < m; cap++) {
      size_t k = 0;
      assert_int_equal(hmq_json_compact(&env, cap ? out : NULL, cap, &k), HMQ_ERR_NO_ROOM);
      assert_int_equal(k, m);
    }
  }
}

static void compact_keeps_strings_and_numbers(void **state) {
  static const char in[] =
      " {\r\n\t\"message_id\" :\t\"a b\\\" } \\\\\" ,\n\"vin\": \" V \", \"data\" : { \"c\" : { "
      "\"p\" "
      ": [ { \"data\" : [ 1.50 , -0.0e+00 , true , null , \"\\u0020 \\n\" ] } ] } } ,\"x\":{ } "
      "}\n ";
  static const char want[] = "{\"message_id\":\"a b\\\" } \\\\\",\"vin\":\" V \",\"data\":{\"c\":{"
                             "\"p\":[{\"data\":[1.50,-0.0e+00,true,null,\"\\u0020 \\n\"]}]}},"
                             "\"x\":{}}";
  hmq_envelope env;
  char out[512];
  size_t n = 0;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, in, strlen(in), &env), HMQ_OK);
  assert_int_equal(hmq_json_compact(&env, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(out, want, n);
}

/* Every capacity below the size needed gives NO_ROOM with that size and
 * writes nothing past the capacity. */
static void no_room_sizing(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  char out[2048];
  size_t need = strlen(SEED_COMPACT), cap, n;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                   HMQ_OK);
  for (cap = 0; cap < need; cap++) {
    memset(out, '#', sizeof out);
    n = 0;
    assert_int_equal(hmq_json_compact(&env, cap ? out : NULL, cap, &n), HMQ_ERR_NO_ROOM);
    assert_int_equal(n, need);
    assert_int_equal(out[cap], '#');
  }
  assert_int_equal(hmq_json_compact(&env, out, need, &n), HMQ_OK);
  assert_int_equal(n, need);

  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  need = strlen(SEED_FLAT[0]);
  for (cap = 0; cap < need; cap++) {
    memset(out, '#', sizeof out);
    assert_int_equal(hmq_format_flat(&env, &e, cap ? out : NULL, cap, &n), HMQ_ERR_NO_ROOM);
    assert_int_equal(n, need);
    assert_int_equal(out[cap], '#');
  }
  assert_int_equal(hmq_format_flat(&env, &e, out, need, &n), HMQ_OK);
  assert_memory_equal(out, SEED_FLAT[0], need);
}

static void flat_seed(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  char out[1024];
  size_t n, i = 0;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                   HMQ_OK);
  hmq_entries_begin(&it, &env);
  while (hmq_entries_next(&it, &e) == HMQ_OK) {
    assert_true(i < 3);
    assert_int_equal(hmq_format_flat(&env, &e, out, sizeof out, &n), HMQ_OK);
    if (n != strlen(SEED_FLAT[i]) || memcmp(out, SEED_FLAT[i], n) != 0) {
      fail_msg("line %zu: %.*s", i, (int)n, out);
    }
    i++;
  }
  assert_int_equal(i, 3);
}

static void flat_failure_availability_escapes(void **state) {
  static const char in[] =
      "{\"message_id\":\"id\\\"q\",\"vin\":\"V\\u0031\",\"data\":{\"ca\\\"p\":{\"st atus\":["
      "{ \"failure\" : { \"reason\" : \"privacy_mode_active\" , \"description\" : \"a  b\" } ,"
      " \"timestamp\" : \"2025-08-12T16:07:48Z\" },"
      "{\"availability\": {\"update_rate\": \"trip\"}, \"data\": \"on\", \"failure\": null},"
      "7]}}}";
  static const char *want[] = {
      "{\"vin\":\"V\\u0031\",\"message_id\":\"id\\\"q\",\"capability\":\"ca\\\"p\",\"property\":"
      "\"st atus\",\"timestamp\":\"2025-08-12T16:07:48Z\",\"failure\":{\"reason\":"
      "\"privacy_mode_active\",\"description\":\"a  b\"}}",
      "{\"vin\":\"V\\u0031\",\"message_id\":\"id\\\"q\",\"capability\":\"ca\\\"p\",\"property\":"
      "\"st atus\",\"timestamp\":null,\"data\":\"on\",\"failure\":null,\"availability\":"
      "{\"update_rate\":\"trip\"}}",
  };
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  char out[1024];
  size_t n, i;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, in, strlen(in), &env), HMQ_OK);
  hmq_entries_begin(&it, &env);
  for (i = 0; i < 2; i++) {
    assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
    assert_int_equal(hmq_format_flat(&env, &e, out, sizeof out, &n), HMQ_OK);
    if (n != strlen(want[i]) || memcmp(out, want[i], n) != 0) {
      fail_msg("line %zu: %.*s", i, (int)n, out);
    }
  }
  /* the skipped record (7 is not an object) formats to nothing */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(e.warnings & HMQ_ENTRY_SKIPPED);
  n = 99;
  assert_int_equal(hmq_format_flat(&env, &e, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, 0);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
}

/* A flat line is valid JSON: wrap it as data of an envelope and parse. */
static void flat_lines_are_json(void **state) {
  hmq_envelope env, back;
  hmq_entries it;
  hmq_entry e;
  char line[1024], wrapped[1200];
  size_t n;
  static unsigned char mem2[256 * HMQ_JSON_TOKEN_BYTES];
  hmq_envelope_parser p2;
  (void)state;
  hmq_envelope_parser_init(&p2, mem2, sizeof mem2);
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                   HMQ_OK);
  hmq_entries_begin(&it, &env);
  while (hmq_entries_next(&it, &e) == HMQ_OK) {
    int w;
    assert_int_equal(hmq_format_flat(&env, &e, line, sizeof line, &n), HMQ_OK);
    w = snprintf(wrapped, sizeof wrapped, "{\"message_id\":\"m\",\"vin\":\"v\",\"data\":%.*s}",
                 (int)n, line);
    assert_int_equal(hmq_envelope_parse(&p2, wrapped, (size_t)w, &back), HMQ_OK);
  }
}

static void bad_args(void **state) {
  hmq_envelope env;
  hmq_entry e;
  char out[8];
  size_t n;
  (void)state;
  memset(&env, 0, sizeof env);
  memset(&e, 0, sizeof e);
  assert_int_equal(hmq_json_compact(&env, out, sizeof out, &n), HMQ_ERR_ARG);
  assert_int_equal(hmq_json_compact(NULL, out, sizeof out, &n), HMQ_ERR_ARG);
  assert_int_equal(hmq_format_flat(&env, &e, out, sizeof out, &n), HMQ_ERR_ARG);
  assert_int_equal(hmq_json_compact_value("{}", 2, NULL, 4, &n), HMQ_ERR_ARG);
  assert_int_equal(hmq_json_compact_value("{}", 2, out, sizeof out, NULL), HMQ_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(compact_seed, setup),
      cmocka_unit_test_setup(compact_keeps_strings_and_numbers, setup),
      cmocka_unit_test_setup(compact_tight_copy, setup),
      cmocka_unit_test_setup(no_room_sizing, setup),
      cmocka_unit_test_setup(flat_seed, setup),
      cmocka_unit_test_setup(flat_failure_availability_escapes, setup),
      cmocka_unit_test_setup(flat_lines_are_json, setup),
      cmocka_unit_test_setup(bad_args, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
