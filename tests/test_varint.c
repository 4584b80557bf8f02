/* SPDX-License-Identifier: MIT */
/*
 * Variable Byte Integer tests (MQTT 5.0 1.5.5). Every vector is written out
 * by hand from the spec's table of boundary values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hmq/codec.h"

#include <string.h>

typedef struct {
  uint32_t value;
  uint8_t bytes[4];
  size_t n;
} vector;

/* The boundaries of table 1-1 in 1.5.5. */
static const vector boundaries[] = {
    {0u, {0x00}, 1},
    {1u, {0x01}, 1},
    {127u, {0x7F}, 1},
    {128u, {0x80, 0x01}, 2},
    {321u, {0xC1, 0x02}, 2},
    {16383u, {0xFF, 0x7F}, 2},
    {16384u, {0x80, 0x80, 0x01}, 3},
    {2097151u, {0xFF, 0xFF, 0x7F}, 3},
    {2097152u, {0x80, 0x80, 0x80, 0x01}, 4},
    {268435455u, {0xFF, 0xFF, 0xFF, 0x7F}, 4},
};
#define NVEC (sizeof boundaries / sizeof boundaries[0])

static void encode_boundaries(void **state) {
  (void)state;
  for (size_t i = 0; i < NVEC; i++) {
    uint8_t out[4] = {0xEE, 0xEE, 0xEE, 0xEE};
    size_t n = 0;
    assert_int_equal(hmq_varint_encode(boundaries[i].value, out, &n), HMQ_OK);
    assert_int_equal(n, boundaries[i].n);
    assert_memory_equal(out, boundaries[i].bytes, n);
    assert_int_equal(hmq_varint_size(boundaries[i].value), boundaries[i].n);
  }
}

static void decode_boundaries(void **state) {
  (void)state;
  for (size_t i = 0; i < NVEC; i++) {
    uint8_t buf[8];
    memset(buf, 0xAA, sizeof buf); /* trailing garbage must be ignored */
    memcpy(buf, boundaries[i].bytes, boundaries[i].n);
    uint32_t v = 12345;
    size_t n = 0;
    assert_int_equal(hmq_varint_decode(buf, sizeof buf, &v, &n), HMQ_OK);
    assert_int_equal(v, boundaries[i].value);
    assert_int_equal(n, boundaries[i].n);
    /* exactly the bytes, nothing more */
    assert_int_equal(hmq_varint_decode(buf, boundaries[i].n, &v, &n), HMQ_OK);
    assert_int_equal(v, boundaries[i].value);
  }
}

static void encode_too_large_is_arg(void **state) {
  (void)state;
  uint8_t out[4];
  size_t n = 99;
  assert_int_equal(hmq_varint_encode(268435456u, out, &n), HMQ_ERR_ARG);
  assert_int_equal(hmq_varint_encode(UINT32_MAX, out, &n), HMQ_ERR_ARG);
  assert_int_equal(hmq_varint_size(268435456u), 0);
  assert_int_equal(hmq_varint_size(UINT32_MAX), 0);
}

static void round_trip_sweep(void **state) {
  (void)state;
  /* every value around each power-of-128 boundary plus a stride */
  for (uint32_t v = 0; v <= HMQ_MAX_REMAINING; v = v < 70000 ? v + 1 : v + 9973) {
    uint8_t out[4];
    size_t n = 0, m = 0;
    uint32_t back = 0;
    assert_int_equal(hmq_varint_encode(v, out, &n), HMQ_OK);
    assert_int_equal(hmq_varint_decode(out, n, &back, &m), HMQ_OK);
    assert_int_equal(back, v);
    assert_int_equal(m, n);
  }
}

/* 1.5.5: "The maximum number of bytes in the Variable Byte Integer field is
 * four." A fourth byte with the continuation bit is malformed at once. */
static void too_long_fifth_byte(void **state) {
  (void)state;
  const uint8_t five[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
  const uint8_t four_cont[] = {0x80, 0x80, 0x80, 0x80};
  uint32_t v;
  size_t n;
  assert_int_equal(hmq_varint_decode(five, sizeof five, &v, &n), HMQ_ERR_VARINT_TOO_LONG);
  assert_int_equal(hmq_varint_decode(four_cont, sizeof four_cont, &v, &n), HMQ_ERR_VARINT_TOO_LONG);
}

/* [MQTT-1.5.5-1]: the encoding must use the minimum number of bytes. */
static void not_minimal(void **state) {
  (void)state;
  static const struct {
    uint8_t b[4];
    size_t n;
  } bad[] = {
      {{0x80, 0x00}, 2},             /* 0 in two bytes */
      {{0xFF, 0x00}, 2},             /* 127 in two bytes */
      {{0x80, 0x80, 0x00}, 3},       /* 0 in three */
      {{0xFF, 0xFF, 0x00}, 3},       /* 16383 in three */
      {{0x80, 0x81, 0x80, 0x00}, 4}, /* 128 in four */
      {{0xFF, 0xFF, 0xFF, 0x00}, 4}, /* 2097151 in four */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint32_t v;
    size_t n;
    assert_int_equal(hmq_varint_decode(bad[i].b, bad[i].n, &v, &n), HMQ_ERR_VARINT_NOT_MINIMAL);
  }
}

static void truncated_needs_more(void **state) {
  (void)state;
  uint32_t v;
  size_t n;
  assert_int_equal(hmq_varint_decode(NULL, 0, &v, &n), HMQ_NEED_MORE);
  for (size_t i = 0; i < NVEC; i++) {
    for (size_t cut = 0; cut < boundaries[i].n; cut++) {
      assert_int_equal(hmq_varint_decode(boundaries[i].bytes, cut, &v, &n), HMQ_NEED_MORE);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encode_boundaries),       cmocka_unit_test(decode_boundaries),
      cmocka_unit_test(encode_too_large_is_arg), cmocka_unit_test(round_trip_sweep),
      cmocka_unit_test(too_long_fifth_byte),     cmocka_unit_test(not_minimal),
      cmocka_unit_test(truncated_needs_more),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
