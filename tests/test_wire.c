/* SPDX-License-Identifier: MIT */
/*
 * Bounded writer and reader (src/mqtt/wire.h): big-endian integers
 * (MQTT 5.0 1.5.2, 1.5.3), length-prefixed strings and binary data
 * (1.5.4, 1.5.6), overflow counting and bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mqtt/wire.h"

#include <string.h>

static void write_all(hmq_writer *w) {
  hmq_w_u8(w, 0xA5);
  hmq_w_u16(w, 0x1234);
  hmq_w_u32(w, 0xDEADBEEF);
  hmq_w_varint(w, 16384);
  hmq_str s = {"a/b", 3};
  hmq_w_str(w, s);
  const uint8_t raw[2] = {0x00, 0xFF};
  hmq_bin b = {raw, 2};
  hmq_w_bin(w, b);
  hmq_bin none = {NULL, 0};
  hmq_w_bin(w, none); /* an empty binary is just its length */
  hmq_w_bytes(w, "xy", 2);
}

static const uint8_t expected[] = {0xA5, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x80,
                                   0x80, 0x01, 0x00, 0x03, 'a',  '/',  'b',  0x00,
                                   0x02, 0x00, 0xFF, 0x00, 0x00, 'x',  'y'};

static void writer_bytes(void **state) {
  (void)state;
  uint8_t out[64];
  hmq_writer w;
  hmq_w_init(&w, out, sizeof out);
  write_all(&w);
  assert_false(w.overflow);
  assert_int_equal(w.pos, sizeof expected);
  assert_memory_equal(out, expected, sizeof expected);
}

/* At every capacity: never a byte past cap, and pos is the size needed. */
static void writer_overflow_counts(void **state) {
  (void)state;
  for (size_t cap = 0; cap <= sizeof expected; cap++) {
    uint8_t out[64];
    memset(out, 0xCC, sizeof out);
    hmq_writer w;
    hmq_w_init(&w, out, cap);
    write_all(&w);
    assert_int_equal(w.pos, sizeof expected);
    assert_int_equal(w.overflow, cap < sizeof expected);
    for (size_t k = cap; k < sizeof out; k++) {
      assert_int_equal(out[k], 0xCC);
    }
  }
  hmq_writer w;
  hmq_w_init(&w, NULL, 100); /* counting only */
  write_all(&w);
  assert_true(w.overflow);
  assert_int_equal(w.pos, sizeof expected);
}

/* Impossible fields (length > 65535, varint > 268435455) can never fit. */
static void writer_impossible_sizes(void **state) {
  (void)state;
  uint8_t out[16];
  hmq_writer w;
  hmq_w_init(&w, out, sizeof out);
  static char big[70000];
  hmq_str s = {big, 65536};
  hmq_w_str(&w, s);
  assert_true(w.overflow);
  assert_int_equal(w.pos, SIZE_MAX);
  hmq_w_u8(&w, 1); /* saturates, does not wrap */
  assert_int_equal(w.pos, SIZE_MAX);
  hmq_w_init(&w, out, sizeof out);
  hmq_w_varint(&w, HMQ_MAX_REMAINING + 1);
  assert_true(w.overflow);
  assert_int_equal(w.pos, SIZE_MAX);
  /* 65535 is the largest length that is fine */
  hmq_w_init(&w, NULL, 0);
  s.len = 65535;
  hmq_w_str(&w, s);
  assert_int_equal(w.pos, 65537);
}

static void reader_values(void **state) {
  (void)state;
  hmq_reader r;
  hmq_r_init(&r, expected, sizeof expected);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32, v;
  hmq_str s;
  hmq_bin b;
  const uint8_t *p;
  assert_int_equal(hmq_r_left(&r), sizeof expected);
  assert_int_equal(hmq_r_u8(&r, &u8), HMQ_OK);
  assert_int_equal(u8, 0xA5);
  assert_int_equal(hmq_r_u16(&r, &u16), HMQ_OK);
  assert_int_equal(u16, 0x1234);
  assert_int_equal(hmq_r_u32(&r, &u32), HMQ_OK);
  assert_int_equal(u32, 0xDEADBEEF);
  assert_int_equal(hmq_r_varint(&r, &v), HMQ_OK);
  assert_int_equal(v, 16384);
  assert_int_equal(hmq_r_str(&r, &s), HMQ_OK);
  assert_int_equal(s.len, 3);
  assert_memory_equal(s.ptr, "a/b", 3);
  assert_int_equal(hmq_r_bin(&r, &b), HMQ_OK);
  assert_int_equal(b.len, 2);
  assert_int_equal(b.ptr[1], 0xFF);
  assert_int_equal(hmq_r_bin(&r, &b), HMQ_OK);
  assert_non_null(b.ptr); /* present, empty */
  assert_int_equal(b.len, 0);
  assert_int_equal(hmq_r_bytes(&r, 2, &p), HMQ_OK);
  assert_memory_equal(p, "xy", 2);
  assert_int_equal(hmq_r_left(&r), 0);
  /* at the end everything is LENGTH */
  assert_int_equal(hmq_r_u8(&r, &u8), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_u16(&r, &u16), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_u32(&r, &u32), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_varint(&r, &v), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_str(&r, &s), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_bin(&r, &b), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_bytes(&r, 1, &p), HMQ_ERR_LENGTH);
  assert_int_equal(hmq_r_bytes(&r, 0, &p), HMQ_OK);
}

/* Every truncation of each field is LENGTH and leaves pos unchanged. */
static void reader_truncated(void **state) {
  (void)state;
  const uint8_t str[] = {0x00, 0x03, 'a', '/', 'b'};
  for (size_t n = 0; n < sizeof str; n++) {
    hmq_reader r;
    hmq_str s;
    hmq_bin b;
    hmq_r_init(&r, str, n);
    assert_int_equal(hmq_r_str(&r, &s), HMQ_ERR_LENGTH);
    assert_int_equal(r.pos, 0);
    assert_int_equal(hmq_r_bin(&r, &b), HMQ_ERR_LENGTH);
    assert_int_equal(r.pos, 0);
  }
  const uint8_t u32[] = {1, 2, 3, 4};
  for (size_t n = 0; n < 4; n++) {
    hmq_reader r;
    uint32_t v;
    uint16_t h;
    hmq_r_init(&r, u32, n);
    assert_int_equal(hmq_r_u32(&r, &v), HMQ_ERR_LENGTH);
    if (n < 2) {
      assert_int_equal(hmq_r_u16(&r, &h), HMQ_ERR_LENGTH);
    }
    assert_int_equal(r.pos, 0);
  }
  /* a varint cut by the end of the packet is LENGTH, not NEED_MORE */
  const uint8_t vi[] = {0x80, 0x80};
  hmq_reader r;
  uint32_t v;
  hmq_r_init(&r, vi, sizeof vi);
  assert_int_equal(hmq_r_varint(&r, &v), HMQ_ERR_LENGTH);
  const uint8_t nm[] = {0x80, 0x00};
  hmq_r_init(&r, nm, sizeof nm);
  assert_int_equal(hmq_r_varint(&r, &v), HMQ_ERR_VARINT_NOT_MINIMAL);
  assert_int_equal(r.pos, 0);
}

/* [MQTT-1.5.4-1], [MQTT-1.5.4-2]: strings are checked, binary is not. */
static void reader_utf8(void **state) {
  (void)state;
  const uint8_t bad[] = {0x00, 0x02, 0xC0, 0x80};
  const uint8_t nul[] = {0x00, 0x01, 0x00};
  hmq_reader r;
  hmq_str s;
  hmq_bin b;
  hmq_r_init(&r, bad, sizeof bad);
  assert_int_equal(hmq_r_str(&r, &s), HMQ_ERR_UTF8_INVALID);
  assert_int_equal(r.pos, 0);
  assert_int_equal(hmq_r_bin(&r, &b), HMQ_OK);
  hmq_r_init(&r, nul, sizeof nul);
  assert_int_equal(hmq_r_str(&r, &s), HMQ_ERR_UTF8_NUL);
  assert_int_equal(hmq_r_bin(&r, &b), HMQ_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(writer_bytes),
      cmocka_unit_test(writer_overflow_counts),
      cmocka_unit_test(writer_impossible_sizes),
      cmocka_unit_test(reader_values),
      cmocka_unit_test(reader_truncated),
      cmocka_unit_test(reader_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
