/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation per MQTT 5.0 1.5.4. Vectors are written by hand from
 * RFC 3629 section 4 (the well-formed byte ranges). Each invalid class is
 * also tried at every offset of a longer ASCII string, so both the 8-byte
 * fast path and the byte-wise path see it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hmq/codec.h"

#include <string.h>

typedef struct {
  const char *name;
  const char *bytes;
  size_t len;
} vec;

#define V(name, lit)                                                                               \
  { name, lit, sizeof(lit) - 1 }

static const vec valid[] = {
    V("empty", ""),
    V("ascii", "level13/app/vehicle"),
    V("control chars allowed (U+0001, U+001F, U+007F)", "\x01\x1f\x7f"),
    V("U+0080 (C2 80), smallest 2-byte", "\xc2\x80"),
    V("U+009F C1 control allowed", "\xc2\x9f"),
    V("U+00E9 e-acute", "\xc3\xa9"),
    V("U+07FF largest 2-byte", "\xdf\xbf"),
    V("U+0800 smallest 3-byte", "\xe0\xa0\x80"),
    V("U+20AC euro", "\xe2\x82\xac"),
    V("U+D7FF just below surrogates", "\xed\x9f\xbf"),
    V("U+E000 just above surrogates", "\xee\x80\x80"),
    V("U+FEFF BOM is not stripped, allowed [MQTT-1.5.4-3]", "\xef\xbb\xbf"),
    V("U+FFFF non-character allowed", "\xef\xbf\xbf"),
    V("U+10000 smallest 4-byte", "\xf0\x90\x80\x80"),
    V("U+1F697 car", "\xf0\x9f\x9a\x97"),
    V("U+10FFFF largest code point", "\xf4\x8f\xbf\xbf"),
    V("mixed", "Stra\xc3\x9f"
               "e/\xe2\x82\xac/\xf0\x9f\x9a\x97/end of topic"),
};

static const vec nul[] = {
    V("NUL alone [MQTT-1.5.4-2]", "\x00"),
    V("NUL after ASCII [MQTT-1.5.4-2]", "abc\x00"),
};

static const vec invalid[] = {
    V("stray continuation 0x80", "\x80"),
    V("stray continuation 0xBF", "\xbf"),
    V("overlong 2-byte lead C0 (NUL as C0 80)", "\xc0\x80"),
    V("overlong 2-byte lead C1", "\xc1\xbf"),
    V("overlong 3-byte (E0 80 80)", "\xe0\x80\x80"),
    V("overlong 3-byte (E0 9F BF = U+07FF)", "\xe0\x9f\xbf"),
    V("overlong 4-byte (F0 80 80 80)", "\xf0\x80\x80\x80"),
    V("overlong 4-byte (F0 8F BF BF = U+FFFF)", "\xf0\x8f\xbf\xbf"),
    V("surrogate U+D800 (ED A0 80)", "\xed\xa0\x80"),
    V("surrogate U+DFFF (ED BF BF)", "\xed\xbf\xbf"),
    V("above U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80"),
    V("lead F5", "\xf5\x80\x80\x80"),
    V("lead FE", "\xfe"),
    V("lead FF", "\xff"),
    V("truncated 2-byte", "\xc3"),
    V("truncated 3-byte after 1", "\xe2"),
    V("truncated 3-byte after 2", "\xe2\x82"),
    V("truncated 4-byte after 3", "\xf0\x9f\x9a"),
    V("bad second byte in 2-byte", "\xc3\x41"),
    V("bad third byte in 3-byte", "\xe2\x82\x41"),
    V("bad fourth byte in 4-byte", "\xf0\x9f\x9a\xc0"),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Put v at offset `at` inside ASCII padding (total up to 40 bytes) and
 * check; exercises the word-at-a-time scan before and after the vector. */
static hmq_status check_embedded(const vec *v, size_t at, size_t tail) {
  char buf[64];
  memset(buf, 'x', sizeof buf);
  memcpy(buf + at, v->bytes, v->len);
  return hmq_utf8_check(buf, at + v->len + tail);
}

static void valid_sequences(void **state) {
  (void)state;
  for (size_t i = 0; i < N(valid); i++) {
    if (hmq_utf8_check(valid[i].bytes, valid[i].len) != HMQ_OK) {
      fail_msg("valid rejected: %s", valid[i].name);
    }
    for (size_t at = 0; at < 17; at++) {
      for (size_t tail = 0; tail < 10; tail++) {
        if (check_embedded(&valid[i], at, tail) != HMQ_OK) {
          fail_msg("valid rejected at %zu+%zu: %s", at, tail, valid[i].name);
        }
      }
    }
  }
}

static void nul_is_its_own_error(void **state) {
  (void)state;
  for (size_t i = 0; i < N(nul); i++) {
    assert_int_equal(hmq_utf8_check(nul[i].bytes, nul[i].len), HMQ_ERR_UTF8_NUL);
    for (size_t at = 0; at < 17; at++) {
      for (size_t tail = 0; tail < 10; tail++) {
        if (check_embedded(&nul[i], at, tail) != HMQ_ERR_UTF8_NUL) {
          fail_msg("NUL missed at %zu+%zu: %s", at, tail, nul[i].name);
        }
      }
    }
  }
}

static void invalid_classes(void **state) {
  (void)state;
  for (size_t i = 0; i < N(invalid); i++) {
    if (hmq_utf8_check(invalid[i].bytes, invalid[i].len) != HMQ_ERR_UTF8_INVALID) {
      fail_msg("invalid accepted: %s", invalid[i].name);
    }
    for (size_t at = 0; at < 17; at++) {
      /* truncation vectors only stay truncated at the very end */
      size_t max_tail = strncmp(invalid[i].name, "truncated", 9) == 0 ? 1 : 10;
      for (size_t tail = 0; tail < max_tail; tail++) {
        if (check_embedded(&invalid[i], at, tail) != HMQ_ERR_UTF8_INVALID) {
          fail_msg("invalid accepted at %zu+%zu: %s", at, tail, invalid[i].name);
        }
      }
    }
  }
}

/* A length that ends inside a sequence is truncated even when the bytes
 * after `len` would complete it: the check must never look past len. */
static void truncated_by_length(void **state) {
  (void)state;
  static const char *const seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x97"};
  for (size_t i = 0; i < N(seqs); i++) {
    size_t n = strlen(seqs[i]);
    for (size_t cut = 1; cut < n; cut++) {
      char buf[32];
      memset(buf, 'x', sizeof buf);
      memcpy(buf + 9, seqs[i], n); /* after one fast-path word */
      if (hmq_utf8_check(seqs[i], cut) != HMQ_ERR_UTF8_INVALID ||
          hmq_utf8_check(buf, 9 + cut) != HMQ_ERR_UTF8_INVALID) {
        fail_msg("sequence %zu cut at %zu accepted", i, cut);
      }
    }
  }
}

/* Every high byte value in every position of an 8-byte word must leave the
 * fast path: a word check that let one through would accept bad input. */
static void fast_path_catches_every_byte(void **state) {
  (void)state;
  for (unsigned b = 0x80; b <= 0xFF; b++) {
    for (size_t pos = 0; pos < 16; pos++) {
      char buf[24];
      memset(buf, 'a', sizeof buf);
      buf[pos] = (char)b;
      hmq_status st = hmq_utf8_check(buf, sizeof buf);
      /* a lone high byte followed by 'a' is never valid UTF-8 */
      assert_int_equal(st, HMQ_ERR_UTF8_INVALID);
    }
  }
  for (size_t pos = 0; pos < 16; pos++) {
    char buf[24];
    memset(buf, 'a', sizeof buf);
    buf[pos] = '\0';
    assert_int_equal(hmq_utf8_check(buf, sizeof buf), HMQ_ERR_UTF8_NUL);
  }
}

/* Exhaustive over all code points: encode each by hand and check; the
 * surrogates must fail, everything else (except U+0000) must pass. */
static void all_code_points(void **state) {
  (void)state;
  for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
      b[0] = (uint8_t)cp;
      n = 1;
    } else if (cp < 0x800) {
      b[0] = (uint8_t)(0xC0 | (cp >> 6));
      b[1] = (uint8_t)(0x80 | (cp & 0x3F));
      n = 2;
    } else if (cp < 0x10000) {
      b[0] = (uint8_t)(0xE0 | (cp >> 12));
      b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
      b[2] = (uint8_t)(0x80 | (cp & 0x3F));
      n = 3;
    } else {
      b[0] = (uint8_t)(0xF0 | (cp >> 18));
      b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
      b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
      b[3] = (uint8_t)(0x80 | (cp & 0x3F));
      n = 4;
    }
    hmq_status want = (cp >= 0xD800 && cp <= 0xDFFF) ? HMQ_ERR_UTF8_INVALID : HMQ_OK;
    if (hmq_utf8_check((const char *)b, n) != want) {
      fail_msg("code point U+%04X", (unsigned)cp);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_sequences),
      cmocka_unit_test(nul_is_its_own_error),
      cmocka_unit_test(invalid_classes),
      cmocka_unit_test(truncated_by_length),
      cmocka_unit_test(fast_path_catches_every_byte),
      cmocka_unit_test(all_code_points),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
