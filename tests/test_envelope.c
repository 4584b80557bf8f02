/* SPDX-License-Identifier: MIT */
/* Envelope parsing: the seed example, envelope rules, strict JSON, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmq/envelope.h"
#include "json_samples.h"

#define TOKS 4096
static unsigned char tokmem[TOKS * HMQ_JSON_TOKEN_BYTES];
static hmq_envelope_parser parser;

static int setup(void **state) {
  (void)state;
  hmq_envelope_parser_init(&parser, tokmem, sizeof tokmem);
  return 0;
}

static int str_eq(hmq_str s, const char *lit) {
  return s.ptr != NULL && s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static hmq_status parse_c(const char *json, hmq_envelope *env) {
  return hmq_envelope_parse(&parser, json, strlen(json), env);
}

/* An envelope around a given data value / extra members. */
static char buf[1 << 16];
static const char *wrap_data(const char *data) {
  snprintf(buf, sizeof buf,
           "{\"version\":2,\"application_id\":\"app\",\"message_id\":\"%s\",\"vin\":\"EXV1\","
           "\"data\":%s}",
           HMQ_SEED_MESSAGE_ID, data);
  return buf;
}

static void seed_example(void **state) {
  hmq_envelope env;
  char text[64];
  size_t n = 99;
  (void)state;
  assert_int_equal(parse_c(HMQ_SEED_EXAMPLE, &env), HMQ_OK);
  assert_int_equal(env.version, 2);
  assert_true(str_eq(env.application_id, "00000000-0000-0000-0000-000000000000"));
  assert_true(str_eq(env.message_id, HMQ_SEED_MESSAGE_ID));
  assert_true(str_eq(env.vin, "EXV10000000"));
  assert_int_equal(env.warnings, 0);
  assert_int_equal(env.extra_keys, 0);
  assert_int_equal(env.message_id_escapes + env.vin_escapes + env.app_id_escapes, 0);
  assert_string_equal(env.reason, "");
  /* data: the raw object, braces included */
  assert_int_equal(env.data.ptr[0], '{');
  assert_int_equal(env.data.ptr[env.data.len - 1], '}');
  assert_ptr_equal(env.data.ptr, strstr(HMQ_SEED_EXAMPLE, "\"data\": {") + 8);
  assert_int_equal(env.data.ptr + env.data.len, strrchr(HMQ_SEED_EXAMPLE, '}') - 1);
  /* json: the whole object without the trailing newline */
  assert_ptr_equal(env.json.ptr, HMQ_SEED_EXAMPLE);
  assert_int_equal(env.json.len, strlen(HMQ_SEED_EXAMPLE) - 1);
  assert_int_equal(hmq_envelope_describe(&env, text, sizeof text, &n), HMQ_OK);
  assert_string_equal(text, "");
  assert_int_equal(n, 0);
}

static void every_prefix_of_seed_is_rejected(void **state) {
  size_t len = strlen(HMQ_SEED_EXAMPLE), i;
  hmq_envelope env;
  (void)state;
  /* The last byte is the newline after '}': every shorter prefix is cut. */
  for (i = 0; i < len - 1; i++) {
    hmq_status st = hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, i, &env);
    if (st != HMQ_ERR_JSON) {
      fail_msg("prefix %zu: %s", i, hmq_status_name(st));
    }
    assert_true(strncmp(env.reason, "not JSON", 8) == 0);
  }
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, len - 1, &env), HMQ_OK);
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, len, &env), HMQ_OK);
}

static void version_3_and_others(void **state) {
  hmq_envelope env;
  char text[128];
  (void)state;
  assert_int_equal(
      parse_c("{\"version\":3,\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"V\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(env.version, 3);
  assert_int_equal(env.warnings, 0);

  assert_int_equal(
      parse_c("{\"version\":7,\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"V\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(env.version, 7);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_VERSION);
  assert_int_equal(hmq_envelope_describe(&env, text, sizeof text, NULL), HMQ_OK);
  assert_string_equal(text, "version 7 not supported");

  assert_int_equal(
      parse_c("{\"version\":-12,\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"V\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(hmq_envelope_describe(&env, text, sizeof text, NULL), HMQ_OK);
  assert_string_equal(text, "version -12 not supported");

  /* absent, a string, a fraction: "missing or not an integer" */
  assert_int_equal(parse_c("{\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
                           "\",\"vin\":\"V\",\"data\":{}}",
                           &env),
                   HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_VERSION_MISSING);
  assert_int_equal(
      parse_c("{\"version\":\"2\",\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"V\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_VERSION_MISSING);
  assert_int_equal(
      parse_c("{\"version\":2.5,\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"V\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_VERSION_MISSING);
}

static void unknown_keys_tolerated(void **state) {
  hmq_envelope env;
  (void)state;
  assert_int_equal(
      parse_c("{\"schema\":{\"x\":[1,2,{\"message_id\":5}]},\"version\":2,\"application_id\":\"a\","
              "\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"vin\":\"V\",\"zz\":null,"
              "\"data\":{\"new_capability\":{\"new_prop\":[{\"data\":\"x\"}]}},\"more\":[]}",
              &env),
      HMQ_OK);
  assert_int_equal(env.extra_keys, 3);
  assert_int_equal(env.warnings, 0);
  assert_true(str_eq(env.message_id, HMQ_SEED_MESSAGE_ID));
  assert_true(str_eq(env.data, "{\"new_capability\":{\"new_prop\":[{\"data\":\"x\"}]}}"));
}

static void warnings_each(void **state) {
  hmq_envelope env;
  char text[256];
  size_t n;
  (void)state;
  /* message_id of another shape (a published fixture uses "ABCDEF") */
  assert_int_equal(parse_c("{\"version\":2,\"application_id\":\"a\",\"message_id\":\"ABCDEF\","
                           "\"vin\":\"V\",\"data\":{}}",
                           &env),
                   HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_MESSAGE_ID);
  assert_true(str_eq(env.message_id, "ABCDEF"));
  /* 64 characters, one not hex */
  assert_int_equal(parse_c("{\"version\":2,\"application_id\":\"a\",\"message_id\":"
                           "\"4F02FFB01650060FA8888E5C3ED46FF2A0E4A49EACF1A92E264CD0C137971B2G\","
                           "\"vin\":\"V\",\"data\":{}}",
                           &env),
                   HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_MESSAGE_ID);
  /* lower-case hex is fine */
  assert_int_equal(parse_c("{\"version\":2,\"application_id\":\"a\",\"message_id\":"
                           "\"4f02ffb01650060fa8888e5c3ed46ff2a0e4a49eacf1a92e264cd0c137971b28\","
                           "\"vin\":\"V\",\"data\":{}}",
                           &env),
                   HMQ_OK);
  assert_int_equal(env.warnings, 0);
  /* missing application_id (a published fixture omits it) */
  assert_int_equal(parse_c("{\"version\":2,\"message_id\":\"" HMQ_SEED_MESSAGE_ID
                           "\",\"vin\":\"V\",\"data\":{}}",
                           &env),
                   HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_APP_ID);
  assert_null(env.application_id.ptr);
  assert_int_equal(
      parse_c("{\"version\":2,\"application_id\":17,\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"V\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_APP_ID);
  /* empty vin */
  assert_int_equal(
      parse_c("{\"version\":2,\"application_id\":\"a\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID
              "\",\"vin\":\"\",\"data\":{}}",
              &env),
      HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_VIN_EMPTY);
  assert_non_null(env.vin.ptr);
  assert_int_equal(env.vin.len, 0);
  /* all of them together, described in bit order */
  assert_int_equal(parse_c("{\"version\":9,\"message_id\":\"x\",\"vin\":\"\",\"data\":{}}", &env),
                   HMQ_OK);
  assert_int_equal(env.warnings, HMQ_ENV_WARN_VERSION | HMQ_ENV_WARN_APP_ID |
                                     HMQ_ENV_WARN_MESSAGE_ID | HMQ_ENV_WARN_VIN_EMPTY);
  assert_int_equal(hmq_envelope_describe(&env, text, sizeof text, &n), HMQ_OK);
  assert_string_equal(text, "version 9 not supported; application_id missing or not a string; "
                            "message_id is not 64 hex characters; vin is empty");
  assert_int_equal(n, strlen(text));
  /* truncation: NO_ROOM, NUL-terminated, full size reported */
  {
    char small[10];
    size_t full = n;
    assert_int_equal(hmq_envelope_describe(&env, small, sizeof small, &n), HMQ_ERR_NO_ROOM);
    assert_int_equal(n, full);
    assert_string_equal(small, "version 9");
  }
  assert_string_equal(hmq_envelope_warning_str(HMQ_ENV_WARN_VERSION),
                      "version not supported (expected 2 or 3)");
  assert_string_equal(hmq_envelope_warning_str(HMQ_ENV_WARN_VERSION_MISSING),
                      "version missing or not an integer");
  assert_string_equal(hmq_envelope_warning_str(HMQ_ENV_WARN_APP_ID),
                      "application_id missing or not a string");
  assert_string_equal(hmq_envelope_warning_str(HMQ_ENV_WARN_MESSAGE_ID),
                      "message_id is not 64 hex characters");
  assert_string_equal(hmq_envelope_warning_str(HMQ_ENV_WARN_VIN_EMPTY), "vin is empty");
  assert_string_equal(hmq_envelope_warning_str(0x400), "unknown warning");
}

static void rejections_with_reason(void **state) {
  static const struct {
    const char *json;
    hmq_status st;
    const char *reason;
  } v[] = {
      {"[1,2]", HMQ_ERR_ENVELOPE, "top level is not an object"},
      {"\"text\"", HMQ_ERR_ENVELOPE, "top level is not an object"},
      {"{\"version\":2,\"vin\":\"V\",\"data\":{}}", HMQ_ERR_ENVELOPE, "message_id missing"},
      {"{\"message_id\":5,\"vin\":\"V\",\"data\":{}}", HMQ_ERR_ENVELOPE,
       "message_id is not a string"},
      {"{\"message_id\":null,\"vin\":\"V\",\"data\":{}}", HMQ_ERR_ENVELOPE,
       "message_id is not a string"},
      {"{\"message_id\":\"\",\"vin\":\"V\",\"data\":{}}", HMQ_ERR_ENVELOPE, "message_id is empty"},
      {"{\"message_id\":\"m\",\"data\":{}}", HMQ_ERR_ENVELOPE, "vin missing"},
      {"{\"message_id\":\"m\",\"vin\":[\"V\"],\"data\":{}}", HMQ_ERR_ENVELOPE,
       "vin is not a string"},
      {"{\"message_id\":\"m\",\"vin\":\"V\"}", HMQ_ERR_ENVELOPE, "data missing"},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":[]}", HMQ_ERR_ENVELOPE,
       "data is not an object"},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":\"{}\"}", HMQ_ERR_ENVELOPE,
       "data is not an object"},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":null}", HMQ_ERR_ENVELOPE,
       "data is not an object"},
      {"{\"version\":2,\"message_id\":\"m\",\"vin\":\"V\",\"data\":{},\"version\":3}",
       HMQ_ERR_ENVELOPE, "duplicate key: version"},
      {"{\"application_id\":\"a\",\"message_id\":\"m\",\"vin\":\"V\",\"data\":{},"
       "\"application_id\":\"b\"}",
       HMQ_ERR_ENVELOPE, "duplicate key: application_id"},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"message_id\":\"n\",\"data\":{}}", HMQ_ERR_ENVELOPE,
       "duplicate key: message_id"},
      /* a key spelled with an escape is the same key to a JSON reader */
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"message\\u005fid\":\"n\",\"data\":{}}",
       HMQ_ERR_ENVELOPE, "duplicate key: message_id"},
      {"{\"message_id\":\"m\",\"\\u0076in\":\"W\",\"vin\":\"V\",\"data\":{}}", HMQ_ERR_ENVELOPE,
       "duplicate key: vin"},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"vin\":\"W\",\"data\":{}}", HMQ_ERR_ENVELOPE,
       "duplicate key: vin"},
      {"{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{},\"data\":{}}", HMQ_ERR_ENVELOPE,
       "duplicate key: data"},
      {"", HMQ_ERR_JSON, "not JSON: no value"},
      {"   ", HMQ_ERR_JSON, "not JSON: no value"},
      {"{\"message_id\":\"m\"", HMQ_ERR_JSON,
       "not JSON: truncated (unclosed string, object or array)"},
      {"{'message_id':'m'}", HMQ_ERR_JSON, "not JSON: invalid character"},
      {"hello", HMQ_ERR_JSON, "not JSON: invalid character"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof v / sizeof v[0]; i++) {
    hmq_envelope env;
    hmq_status st = parse_c(v[i].json, &env);
    char text[128];
    if (st != v[i].st || strcmp(env.reason, v[i].reason) != 0) {
      fail_msg("vector %zu (%s): got %s \"%s\"", i, v[i].json, hmq_status_name(st), env.reason);
    }
    /* describe() gives the reason too */
    assert_int_equal(hmq_envelope_describe(&env, text, sizeof text, NULL), HMQ_OK);
    assert_string_equal(text, v[i].reason);
  }
}

/* Valid JSON jsmn handles, and invalid JSON jsmn alone would let through. */
static void strict_json(void **state) {
  static const char *good[] = {
      "{}",
      "[]",
      "[ ]",
      "{ }",
      "[0,-0,1,-1,1.5,-1.5e3,1E+2,1e-2,0.0,12345678901234567890]",
      "[true,false,null]",
      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
      "\"\xc3\xa9\xe2\x82\xac\x7f\"",
      "{\"a\":{\"b\":{\"c\":[[[]],{}]}}}",
      " \t\r\n[ 1 ,\n 2 ] \r\n",
      "{\"\":\"\"}",
  };
  static const struct {
    const char *data;
    const char *reason;
  } bad[] = {
      {"[1 2]", "not JSON: expected ',' between values"},
      {"[1,,2]", "not JSON: unexpected character"},
      {"[,1]", "not JSON: unexpected character"},
      {"[1,]", "not JSON: unexpected ',' or ':' before a closing bracket"},
      {"{\"a\":1,}", "not JSON: unexpected ',' or ':' before a closing bracket"},
      /* jsmn hangs "b" under key "a": found at the key */
      {"{\"a\":1 \"b\":2}", "not JSON: object member is not \"key\": value"},
      {"[{} {}]", "not JSON: expected ',' between values"},
      {"{\"a\" \"b\"}", "not JSON: object member is not \"key\": value"},
      {"{\"a\"}", "not JSON: object member is not \"key\": value"},
      {"{\"a\":1:2}", "not JSON: invalid number or literal"},
      {"{\"a\":\"b\":\"c\"}", "not JSON: value followed by ':'"},
      {"[1:2]", "not JSON: invalid number or literal"},
      {"[\"a\":2]", "not JSON: value followed by ':'"},
      {"[tru]", "not JSON: invalid number or literal"},
      {"[nul]", "not JSON: invalid number or literal"},
      {"[falsey]", "not JSON: invalid number or literal"},
      {"[01]", "not JSON: invalid number or literal"},
      {"[1.]", "not JSON: invalid number or literal"},
      {"[-]", "not JSON: invalid number or literal"},
      {"[1e]", "not JSON: invalid number or literal"},
      {"[1e+]", "not JSON: invalid number or literal"},
      {"[--1]", "not JSON: invalid number or literal"},
      {"[1\"x\"]", "not JSON: invalid number or literal"},
      {"[\"a\tb\"]", "not JSON: control character inside a string"},
      {"[\"a\nb\"]", "not JSON: control character inside a string"},
      {"[\"\\x\"]", "not JSON: invalid character"},
      {"[\"\\u12G4\"]", "not JSON: invalid character"},
      {"[.5]", "not JSON: invalid character"},
      {"[+1]", "not JSON: invalid character"},
      {"[1]]", "not JSON: invalid character"},
      {"[1}", "not JSON: invalid character"},
      {"{\"a\":[}", "not JSON: invalid character"},
      {"{1:2}", "not JSON: invalid character"},
      {"{\"a\":1,\"b\"::2}", "not JSON: unexpected character"},
  };
  size_t i;
  hmq_envelope env;
  (void)state;
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    hmq_status st = parse_c(wrap_data(good[i]), &env);
    /* Valid JSON: the only complaint may be that data is not an object. */
    if (st != HMQ_OK &&
        !(st == HMQ_ERR_ENVELOPE && strcmp(env.reason, "data is not an object") == 0)) {
      fail_msg("good %zu (%s): %s \"%s\"", i, good[i], hmq_status_name(st), env.reason);
    }
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hmq_status st = parse_c(wrap_data(bad[i].data), &env);
    if (st != HMQ_ERR_JSON || strcmp(env.reason, bad[i].reason) != 0) {
      fail_msg("bad %zu (%s): %s \"%s\"", i, bad[i].data, hmq_status_name(st), env.reason);
    }
  }
  /* More than one top-level value, and trailing bytes */
  assert_int_equal(parse_c("{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{}} {}", &env),
                   HMQ_ERR_JSON);
  assert_string_equal(env.reason, "not JSON: data after the top-level value");
  assert_int_equal(parse_c("{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{}}x", &env),
                   HMQ_ERR_JSON);
  assert_int_equal(parse_c("\"a\":\"b\"", &env), HMQ_ERR_JSON);
  assert_string_equal(env.reason, "not JSON: value followed by ':'");
  assert_int_equal(parse_c("\"a\" \"b\"", &env), HMQ_ERR_JSON);
  assert_string_equal(env.reason, "not JSON: data after the top-level value");
  /* error_offset points at the offending byte */
  {
    const char *doc = "{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":[1 2]}}";
    assert_int_equal(parse_c(doc, &env), HMQ_ERR_JSON);
    assert_string_equal(env.reason, "not JSON: expected ',' between values");
    assert_int_equal(env.error_offset, (size_t)(strstr(doc, "2]") - doc));
  }
}

static void nul_bytes(void **state) {
  hmq_envelope env;
  char doc[] = "{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{}}   ";
  size_t len = sizeof doc - 1;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, doc, len, &env), HMQ_OK);
  /* a NUL after the object: jsmn would stop there and call it valid */
  doc[len - 2] = '\0';
  assert_int_equal(hmq_envelope_parse(&parser, doc, len, &env), HMQ_ERR_JSON_NUL);
  assert_string_equal(env.reason, "payload contains a NUL byte");
  assert_int_equal(env.error_offset, len - 2);
  doc[len - 2] = ' ';
  /* inside a string */
  doc[15] = '\0';
  assert_int_equal(hmq_envelope_parse(&parser, doc, len, &env), HMQ_ERR_JSON_NUL);
  assert_int_equal(env.error_offset, 15);
  doc[0] = '\0';
  assert_int_equal(hmq_envelope_parse(&parser, doc, len, &env), HMQ_ERR_JSON_NUL);
  assert_int_equal(env.error_offset, 0);
}

static void too_many_tokens(void **state) {
  hmq_envelope env;
  hmq_envelope_parser small;
  /* The seed example has 46 tokens: the smallest memory that parses it
   * holds exactly 46, one token less is "too many tokens". */
  static unsigned char mem[64 * HMQ_JSON_TOKEN_BYTES];
  size_t bytes;
  (void)state;
  for (bytes = 0; bytes <= sizeof mem; bytes++) {
    hmq_envelope_parser_init(&small, mem, bytes);
    if (hmq_envelope_parse(&small, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env) == HMQ_OK) {
      break;
    }
    assert_int_equal(hmq_envelope_parse(&small, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                     HMQ_ERR_JSON_TOO_BIG);
    assert_string_equal(env.reason, "more JSON tokens than the parser holds");
    assert_true(small.cap < 46);
  }
  assert_int_equal(small.cap, 46);
  assert_true(bytes <= 46 * HMQ_JSON_TOKEN_BYTES);
  /* No memory at all: every parse is too big, nothing crashes */
  hmq_envelope_parser_init(&small, NULL, 0);
  assert_int_equal(small.cap, 0);
  assert_int_equal(hmq_envelope_parse(&small, "{}", 2, &env), HMQ_ERR_JSON_TOO_BIG);
  hmq_envelope_parser_init(&small, mem, 3);
  assert_int_equal(hmq_envelope_parse(&small, "{}", 2, &env), HMQ_ERR_JSON_TOO_BIG);
  /* Odd alignment of the caller's memory still works */
  hmq_envelope_parser_init(&small, mem + 1, sizeof mem - 1);
  assert_int_equal(hmq_envelope_parse(&small, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                   HMQ_OK);
}

static void too_many_bytes(void **state) {
  hmq_envelope env;
  static const char tiny[] = "{}";
  (void)state;
  /* Checked before a single byte is read: a short buffer with a huge
   * length must not be touched. */
  assert_int_equal(hmq_envelope_parse(&parser, tiny, HMQ_JSON_MAX_BYTES + 1, &env),
                   HMQ_ERR_JSON_TOO_BIG);
  assert_string_equal(env.reason, "payload larger than the parser allows");
  assert_int_equal(hmq_envelope_parse(&parser, tiny, (size_t)-1, &env), HMQ_ERR_JSON_TOO_BIG);
}

static void escaped_strings(void **state) {
  hmq_envelope env;
  char out[64];
  size_t n;
  (void)state;
  assert_int_equal(parse_c("{\"application_id\":\"a\\/b\",\"message_id\":\"id\\\"1\\\\\","
                           "\"vin\":\"\\u0041BC\\u00e9\",\"data\":{}}",
                           &env),
                   HMQ_OK);
  assert_true(str_eq(env.message_id, "id\\\"1\\\\"));
  assert_int_equal(env.message_id_escapes, 1);
  assert_int_equal(env.vin_escapes, 1);
  assert_int_equal(env.app_id_escapes, 1);
  assert_int_equal(hmq_json_unescape(env.message_id, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, 5);
  assert_memory_equal(out, "id\"1\\", 5);
  assert_int_equal(hmq_json_unescape(env.vin, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, 5);
  assert_memory_equal(out, "ABC\xc3\xa9", 5);
  assert_int_equal(hmq_json_unescape(env.application_id, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, 3);
  assert_memory_equal(out, "a/b", 3);
  /* NO_ROOM reports the size needed */
  assert_int_equal(hmq_json_unescape(env.vin, out, 3, &n), HMQ_ERR_NO_ROOM);
  assert_int_equal(n, 5);
  assert_int_equal(hmq_json_unescape(env.vin, NULL, 0, &n), HMQ_ERR_NO_ROOM);
  assert_int_equal(n, 5);
  /* surrogate pair -> one 4-byte character; lone surrogates -> U+FFFD */
  {
    hmq_str s = hmq_str_c("\\uD83D\\uDE00|\\uD83Dx|\\uDE00|\\b\\f\\n\\r\\t");
    assert_int_equal(hmq_json_unescape(s, out, sizeof out, &n), HMQ_OK);
    assert_int_equal(n, 4 + 1 + 3 + 2 + 3 + 1 + 5);
    assert_memory_equal(out, "\xf0\x9f\x98\x80|\xef\xbf\xbdx|\xef\xbf\xbd|\b\f\n\r\t", n);
  }
  /* malformed escapes */
  assert_int_equal(hmq_json_unescape(hmq_str_c("ab\\"), out, sizeof out, &n), HMQ_ERR_JSON);
  assert_int_equal(hmq_json_unescape(hmq_str_c("\\q"), out, sizeof out, &n), HMQ_ERR_JSON);
  assert_int_equal(hmq_json_unescape(hmq_str_c("\\u12"), out, sizeof out, &n), HMQ_ERR_JSON);
  /* no escapes: the flag is 0 and the text is unchanged */
  assert_int_equal(parse_c(HMQ_SEED_EXAMPLE, &env), HMQ_OK);
  assert_int_equal(env.message_id_escapes, 0);
  /* in parts with every small buffer size: the parts put together are the
   * whole decode, no character split (surrogate pair, 2-, 3-byte ones) */
  {
    hmq_str s = hmq_str_c("a\\uD83D\\uDE00\\u00e9\\u20acb\\/\\uD83Dx\\n\\u0041\\u0042c");
    char whole[64], parts[64], part[8];
    size_t wn = 0;
    assert_int_equal(hmq_json_unescape(s, whole, sizeof whole, &wn), HMQ_OK);
    for (size_t cap = 4; cap <= sizeof part; cap++) {
      size_t at = 0, got = 0, calls = 0;
      while (at < s.len) {
        assert_int_equal(hmq_json_unescape_part(s, &at, part, cap, &n), HMQ_OK);
        assert_true(n > 0 && n <= cap);
        memcpy(parts + got, part, n);
        got += n;
        assert_true(++calls <= s.len);
      }
      assert_int_equal(got, wn);
      assert_memory_equal(parts, whole, wn);
    }
    size_t at = 0;
    assert_int_equal(hmq_json_unescape_part(s, &at, part, 3, &n), HMQ_ERR_ARG);
    at = s.len + 1;
    assert_int_equal(hmq_json_unescape_part(s, &at, part, 4, &n), HMQ_ERR_ARG);
    at = 0;
    assert_int_equal(hmq_json_unescape_part(hmq_str_c("ab\\u12"), &at, part, 8, &n), HMQ_ERR_JSON);
  }
}

/* An envelope whose data.c.p holds `arrays` nested arrays: the document is
 * nested arrays + 3 levels deep (top object, data, c). */
static size_t nested_doc(char *doc, size_t arrays) {
  size_t i, p = (size_t)sprintf(doc, "{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":");
  for (i = 0; i < arrays; i++) {
    doc[p++] = '[';
  }
  for (i = 0; i < arrays; i++) {
    doc[p++] = ']';
  }
  p += (size_t)sprintf(doc + p, "}}}");
  return p;
}

static void deep_nesting(void **state) {
  enum { DEPTH = HMQ_JSON_MAX_DEPTH - 3 };
  static char doc[2 * 3000 + 200];
  hmq_envelope env;
  size_t p;
  (void)state;
  /* exactly HMQ_JSON_MAX_DEPTH levels: accepted */
  p = nested_doc(doc, DEPTH);
  assert_int_equal(hmq_envelope_parse(&parser, doc, p, &env), HMQ_OK);
  assert_int_equal(env.data.len, p - 1 - (size_t)(env.data.ptr - doc));
  /* one bracket short: truncated */
  assert_int_equal(hmq_envelope_parse(&parser, doc, p - 1, &env), HMQ_ERR_JSON);
  /* swap the innermost pair: mismatched */
  doc[p - 3 - DEPTH - 1] = '{';
  assert_int_equal(hmq_envelope_parse(&parser, doc, p, &env), HMQ_ERR_JSON);
  /* more nesting than tokens */
  {
    hmq_envelope_parser small;
    static unsigned char mem[40 * HMQ_JSON_TOKEN_BYTES];
    doc[p - 3 - DEPTH - 1] = '[';
    hmq_envelope_parser_init(&small, mem, sizeof mem);
    assert_int_equal(hmq_envelope_parse(&small, doc, p, &env), HMQ_ERR_JSON_TOO_BIG);
  }
  /* one level more than the limit, and far more: refused as too deep,
   * whether the validation pass or the tokenizer's check sees it first */
  p = nested_doc(doc, DEPTH + 1);
  assert_int_equal(hmq_envelope_parse(&parser, doc, p, &env), HMQ_ERR_JSON_TOO_BIG);
  assert_string_equal(env.reason, "JSON nested deeper than 64 levels");
  p = nested_doc(doc, 3000);
  assert_int_equal(hmq_envelope_parse(&parser, doc, p, &env), HMQ_ERR_JSON_TOO_BIG);
  assert_string_equal(env.reason, "JSON nested deeper than 64 levels");
}

/* Strings must be UTF-8 (RFC 8259 8.1): every byte hmq copies into an
 * output line comes from a validated string, so output lines are UTF-8. */
static void strings_utf8(void **state) {
  static const char *const bad[] = {
      "\xff",                 /* never in UTF-8 */
      "\x80",                 /* lone continuation byte */
      "\xc3",                 /* truncated two-byte sequence */
      "\xc0\xaf",             /* overlong '/' */
      "\xe0\x80\xaf",         /* overlong, three bytes */
      "\xed\xa0\x80",         /* surrogate U+D800 */
      "\xf4\x90\x80\x80",     /* above U+10FFFF */
      "\xe2\x82",             /* truncated three-byte sequence */
      "abcdefgh\xfeijklmnop", /* inside an 8-byte word */
  };
  static const char *const good[] = {"\xc3\xa9",     "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                     "\xed\x9f\xbf", "\xef\xbf\xbd", "abcdefghij\xc3\xa9klmnopq"};
  char doc[256];
  hmq_envelope env;
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    /* in a value, in the vin, in a key */
    snprintf(doc, sizeof doc, "{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"c\":\"%s\"}}",
             bad[i]);
    assert_int_equal(parse_c(doc, &env), HMQ_ERR_JSON);
    assert_string_equal(env.reason, "not JSON: string is not valid UTF-8");
    snprintf(doc, sizeof doc, "{\"message_id\":\"m\",\"vin\":\"%s\",\"data\":{}}", bad[i]);
    assert_int_equal(parse_c(doc, &env), HMQ_ERR_JSON);
    snprintf(doc, sizeof doc, "{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{\"%s\":1}}", bad[i]);
    assert_int_equal(parse_c(doc, &env), HMQ_ERR_JSON);
  }
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    snprintf(doc, sizeof doc, "{\"message_id\":\"m\",\"vin\":\"%s\",\"data\":{\"%s\":\"%s\"}}",
             good[i], good[i], good[i]);
    assert_int_equal(parse_c(doc, &env), HMQ_OK);
  }
  /* a control character is still reported as one */
  assert_int_equal(parse_c("{\"message_id\":\"m\",\"vin\":\"a\x01\",\"data\":{}}", &env),
                   HMQ_ERR_JSON);
  assert_string_equal(env.reason, "not JSON: control character inside a string");
}

static void parser_reuse(void **state) {
  hmq_envelope a, b;
  (void)state;
  assert_int_equal(parse_c(HMQ_SEED_EXAMPLE, &a), HMQ_OK);
  assert_int_equal(parse_c("{\"message_id\":\"second\",\"vin\":\"V2\",\"data\":{}}", &b), HMQ_OK);
  assert_true(str_eq(b.message_id, "second"));
  assert_int_equal(parser.count, 7);
  /* a failed parse leaves nothing behind to walk */
  assert_int_equal(parse_c("{", &b), HMQ_ERR_JSON);
  assert_int_equal(parser.count, 0);
  assert_null(b.parser);
  assert_null(b.message_id.ptr);
  /* arguments */
  assert_int_equal(hmq_envelope_parse(NULL, "{}", 2, &b), HMQ_ERR_ARG);
  assert_int_equal(hmq_envelope_parse(&parser, NULL, 2, &b), HMQ_ERR_ARG);
  assert_int_equal(hmq_envelope_parse(&parser, "{}", 2, NULL), HMQ_ERR_ARG);
  assert_int_equal(hmq_envelope_parse(&parser, NULL, 0, &b), HMQ_ERR_JSON);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(seed_example, setup),
      cmocka_unit_test_setup(every_prefix_of_seed_is_rejected, setup),
      cmocka_unit_test_setup(version_3_and_others, setup),
      cmocka_unit_test_setup(unknown_keys_tolerated, setup),
      cmocka_unit_test_setup(warnings_each, setup),
      cmocka_unit_test_setup(rejections_with_reason, setup),
      cmocka_unit_test_setup(strict_json, setup),
      cmocka_unit_test_setup(nul_bytes, setup),
      cmocka_unit_test_setup(too_many_tokens, setup),
      cmocka_unit_test_setup(too_many_bytes, setup),
      cmocka_unit_test_setup(escaped_strings, setup),
      cmocka_unit_test_setup(deep_nesting, setup),
      cmocka_unit_test_setup(strings_utf8, setup),
      cmocka_unit_test_setup(parser_reuse, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
