/* SPDX-License-Identifier: MIT */
/* Dedupe set: duplicates, FIFO eviction at capacity, export/import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/dedupe.h"

/* A realistic id: 64 upper-case hex characters derived from n. */
static const char *mkid(unsigned long n, char id[65]) {
  static const char hex[] = "0123456789ABCDEF";
  uint64_t x = n * 0x9E3779B97F4A7C15u + 1;
  int i;
  for (i = 0; i < 64; i++) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9u;
    id[i] = hex[x >> 60];
  }
  id[64] = '\0';
  return id;
}

static uint64_t mem[1 << 20];

static void duplicates(void **state) {
  hmq_dedupe set;
  char a[65], b[65];
  (void)state;
  hmq_dedupe_init(&set, mem, sizeof mem, 100);
  assert_int_equal(set.capacity, 100);
  assert_int_equal(hmq_dedupe_seen(&set, mkid(1, a), 64), 0);
  assert_int_equal(hmq_dedupe_seen(&set, mkid(2, b), 64), 0);
  assert_int_equal(hmq_dedupe_seen(&set, a, 64), 1);
  assert_int_equal(hmq_dedupe_seen(&set, b, 64), 1);
  assert_int_equal(set.count, 2);
  /* exact string: a prefix, other case or other length is another id */
  assert_int_equal(hmq_dedupe_seen(&set, a, 63), 0);
  assert_int_equal(hmq_dedupe_seen(&set, "ABCDEF", 6), 0);
  assert_int_equal(hmq_dedupe_seen(&set, "abcdef", 6), 0);
  assert_int_equal(hmq_dedupe_seen(&set, "ABCDEF", 6), 1);
  assert_int_equal(hmq_dedupe_seen(&set, "", 0), 0);
  assert_int_equal(hmq_dedupe_seen(&set, "", 0), 1);
  /* the hash is fixed (part of the export format) and never 0 */
  assert_true(hmq_dedupe_hash("", 0) != 0);
  assert_true(hmq_dedupe_hash("a", 1) != hmq_dedupe_hash("b", 1));
  assert_true(hmq_dedupe_hash("a", 1) != hmq_dedupe_hash("a\0", 2));
  assert_true(hmq_dedupe_hash("ABCDEFGH", 8) != hmq_dedupe_hash("ABCDEFGI", 8));
}

static void two_phase_and_forget(void **state) {
  hmq_dedupe set;
  char a[65], b[65];
  uint64_t ha, hb;
  (void)state;
  hmq_dedupe_init(&set, mem, sizeof mem, 4);
  ha = hmq_dedupe_hash(mkid(10, a), 64);
  hb = hmq_dedupe_hash(mkid(11, b), 64);
  assert_int_equal(hmq_dedupe_contains(&set, ha), 0);
  assert_int_equal(hmq_dedupe_contains(&set, ha), 0); /* looking does not insert */
  assert_int_equal(hmq_dedupe_insert(&set, ha), 0);
  assert_int_equal(hmq_dedupe_contains(&set, ha), 1);
  assert_int_equal(hmq_dedupe_insert(&set, ha), 1);
  assert_int_equal(hmq_dedupe_insert(&set, hb), 0);
  assert_int_equal(hmq_dedupe_forget_last(&set), 1);
  assert_int_equal(hmq_dedupe_contains(&set, hb), 0);
  assert_int_equal(hmq_dedupe_contains(&set, ha), 1);
  assert_int_equal(hmq_dedupe_forget_last(&set), 1);
  assert_int_equal(hmq_dedupe_forget_last(&set), 0);
  assert_int_equal(set.count, 0);
  assert_int_equal(hmq_dedupe_seen(&set, a, 64), 0);
  hmq_dedupe_clear(&set);
  assert_int_equal(set.count, 0);
  assert_int_equal(hmq_dedupe_seen(&set, a, 64), 0);
}

static void fifo_eviction_at_capacity(void **state) {
  enum { CAP = 1000 };
  hmq_dedupe set;
  char id[65];
  unsigned long i;
  (void)state;
  hmq_dedupe_init(&set, mem, sizeof mem, CAP);
  for (i = 0; i < CAP; i++) {
    assert_int_equal(hmq_dedupe_seen(&set, mkid(i, id), 64), 0);
  }
  assert_int_equal(set.count, CAP);
  assert_int_equal(set.evicted, 0);
  /* all CAP still there */
  for (i = 0; i < CAP; i++) {
    assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(i, id), 64)), 1);
  }
  /* one more evicts exactly the oldest (id 0), nothing else */
  assert_int_equal(hmq_dedupe_seen(&set, mkid(CAP, id), 64), 0);
  assert_int_equal(set.count, CAP);
  assert_int_equal(set.evicted, 1);
  assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(0, id), 64)), 0);
  for (i = 1; i <= CAP; i++) {
    assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(i, id), 64)), 1);
  }
  /* a dup does not evict */
  assert_int_equal(hmq_dedupe_seen(&set, mkid(5, id), 64), 1);
  assert_int_equal(set.evicted, 1);
  /* id 0 is new again: it evicts id 1 */
  assert_int_equal(hmq_dedupe_seen(&set, mkid(0, id), 64), 0);
  assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(1, id), 64)), 0);
  assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(2, id), 64)), 1);
}

static void many_ids(void **state) {
  enum { CAP = 50000, TOTAL = 400000 };
  hmq_dedupe set;
  char id[65];
  unsigned long i;
  (void)state;
  hmq_dedupe_init(&set, mem, sizeof mem, CAP);
  assert_int_equal(set.capacity, CAP);
  for (i = 0; i < TOTAL; i++) {
    assert_int_equal(hmq_dedupe_seen(&set, mkid(i, id), 64), 0);
    /* the previous CAP-1 ids are always still known */
    if (i % 997 == 0 && i >= CAP) {
      assert_int_equal(hmq_dedupe_seen(&set, mkid(i - CAP + 1, id), 64), 1);
      assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(i - CAP, id), 64)), 0);
    }
  }
  assert_int_equal(set.count, CAP);
  assert_int_equal(set.evicted, TOTAL - CAP);
  /* exactly the newest CAP are in, the older ones out */
  for (i = 0; i < TOTAL; i++) {
    int in = hmq_dedupe_contains(&set, hmq_dedupe_hash(mkid(i, id), 64));
    if (in != (i >= TOTAL - CAP)) {
      fail_msg("id %lu: contains=%d", i, in);
    }
  }
}

static void export_import_round_trip(void **state) {
  enum { CAP = 300 };
  static uint64_t mem2[4096];
  static uint8_t out[16 + 8 * CAP + 16];
  hmq_dedupe set, back, small;
  char id[65];
  size_t n = 0, i;
  (void)state;
  hmq_dedupe_init(&set, mem, sizeof mem, CAP);
  for (i = 0; i < CAP + 50; i++) { /* wrap the ring: order must survive */
    hmq_dedupe_seen(&set, mkid(i, id), 64);
  }
  assert_int_equal(hmq_dedupe_export_size(&set), 12 + 8 * CAP + 8);
  assert_int_equal(hmq_dedupe_export(&set, out, 10, &n), HMQ_ERR_NO_ROOM);
  assert_int_equal(n, 12 + 8 * CAP + 8);
  assert_int_equal(hmq_dedupe_export(&set, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, 12 + 8 * CAP + 8);
  assert_memory_equal(out, "HMQD\x01\0\0\0", 8);
  assert_int_equal(out[8] | out[9] << 8, CAP);

  hmq_dedupe_init(&back, mem2, sizeof mem2, CAP);
  assert_int_equal(hmq_dedupe_import(&back, out, n), HMQ_OK);
  assert_int_equal(back.count, CAP);
  for (i = 0; i < CAP + 50; i++) {
    assert_int_equal(hmq_dedupe_contains(&back, hmq_dedupe_hash(mkid(i, id), 64)), i >= 50);
  }
  /* insertion order survived: the next new id evicts id 50 */
  hmq_dedupe_seen(&back, mkid(9999, id), 64);
  assert_int_equal(hmq_dedupe_contains(&back, hmq_dedupe_hash(mkid(50, id), 64)), 0);
  assert_int_equal(hmq_dedupe_contains(&back, hmq_dedupe_hash(mkid(51, id), 64)), 1);
  /* re-export of an identical set is byte-identical */
  {
    static uint8_t again[sizeof out];
    size_t m;
    hmq_dedupe_init(&back, mem2, sizeof mem2, CAP);
    assert_int_equal(hmq_dedupe_import(&back, out, n), HMQ_OK);
    assert_int_equal(hmq_dedupe_export(&back, again, sizeof again, &m), HMQ_OK);
    assert_int_equal(m, n);
    assert_memory_equal(again, out, n);
  }
  /* a smaller set keeps the newest */
  hmq_dedupe_init(&small, mem2, sizeof mem2, 10);
  assert_int_equal(hmq_dedupe_import(&small, out, n), HMQ_OK);
  assert_int_equal(small.count, 10);
  assert_int_equal(hmq_dedupe_contains(&small, hmq_dedupe_hash(mkid(CAP + 49, id), 64)), 1);
  assert_int_equal(hmq_dedupe_contains(&small, hmq_dedupe_hash(mkid(CAP + 39, id), 64)), 0);
  /* damaged exports are refused and change nothing */
  hmq_dedupe_init(&back, mem2, sizeof mem2, CAP);
  assert_int_equal(hmq_dedupe_import(&back, out, n - 1), HMQ_ERR_ARG);
  assert_int_equal(hmq_dedupe_import(&back, out, 19), HMQ_ERR_ARG);
  out[100] ^= 1;
  assert_int_equal(hmq_dedupe_import(&back, out, n), HMQ_ERR_ARG);
  out[100] ^= 1;
  out[0] = 'X';
  assert_int_equal(hmq_dedupe_import(&back, out, n), HMQ_ERR_ARG);
  out[0] = 'H';
  out[4] = 2;
  assert_int_equal(hmq_dedupe_import(&back, out, n), HMQ_ERR_ARG);
  out[4] = 1;
  assert_int_equal(back.count, 0);
  /* empty set round trip */
  hmq_dedupe_init(&back, mem2, sizeof mem2, CAP);
  assert_int_equal(hmq_dedupe_export(&back, out, sizeof out, &n), HMQ_OK);
  assert_int_equal(n, 20);
  assert_int_equal(hmq_dedupe_import(&back, out, n), HMQ_OK);
  assert_int_equal(back.count, 0);
}

/* Message ids as JSON strings: the hash of an id with escapes is the hash
 * of what it stands for, at any length (decoded in parts, no length limit):
 * ids around and well past 4 KiB, escaped fully, partly, with 2-, 3- and
 * 4-byte characters, agree with their plain spelling. A malformed escape
 * hashes the raw bytes. */
static void hash_id_any_length(void **state) {
  (void)state;
  static const size_t lens[] = {1, 63, 64, 4095, 4096, 4097, 5000, 20000};
  static char plain[20000 * 4 + 8], esc[20000 * 12 + 8];
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
    size_t pn = 0, en = 0;
    for (size_t i = 0; i < lens[k]; i++) {
      char c = (char)('A' + (char)(i % 26));
      switch (i % 5) {
      case 0: /* escaped ASCII */
        plain[pn++] = c;
        en += (size_t)sprintf(esc + en, "\\u%04x", (unsigned)c);
        break;
      case 1: /* plain ASCII */
        plain[pn++] = c;
        esc[en++] = c;
        break;
      case 2: /* U+00E9 escaped */
        memcpy(plain + pn, "\xc3\xa9", 2);
        pn += 2;
        en += (size_t)sprintf(esc + en, "\\u00E9");
        break;
      case 3: /* U+1F600 as a surrogate pair */
        memcpy(plain + pn, "\xf0\x9f\x98\x80", 4);
        pn += 4;
        en += (size_t)sprintf(esc + en, "\\ud83d\\ude00");
        break;
      default: /* U+20AC as UTF-8 in both */
        memcpy(plain + pn, "\xe2\x82\xac", 3);
        memcpy(esc + en, "\xe2\x82\xac", 3);
        pn += 3;
        en += 3;
        break;
      }
    }
    assert_true(en > pn || lens[k] == 1);
    assert_int_equal(hmq_dedupe_hash_id(esc, en), hmq_dedupe_hash(plain, pn));
    assert_int_equal(hmq_dedupe_hash_id(plain, pn), hmq_dedupe_hash(plain, pn));
    /* another id of the same length differs */
    plain[pn - 1] ^= 1;
    assert_int_not_equal(hmq_dedupe_hash_id(esc, en), hmq_dedupe_hash(plain, pn));
  }
  /* a 5000-byte id with one escape at its end (the case that was hashed raw) */
  memset(plain, 'x', 5000);
  memcpy(esc, plain, 4999);
  memcpy(esc + 4999, "\\u0078", 6);
  assert_int_equal(hmq_dedupe_hash_id(esc, 5005), hmq_dedupe_hash(plain, 5000));
  /* malformed: the raw bytes */
  assert_int_equal(hmq_dedupe_hash_id("ab\\q", 4), hmq_dedupe_hash("ab\\q", 4));
  assert_int_equal(hmq_dedupe_hash_id("ab\\", 3), hmq_dedupe_hash("ab\\", 3));
}

static void memory_sizing(void **state) {
  hmq_dedupe set;
  size_t need = hmq_dedupe_mem_size(1000);
  char id[65];
  (void)state;
  assert_true(need >= 1000 * 24);
  assert_true(need <= 1000 * 8 + 2048 * 8 + 8);
  /* not enough memory: capacity shrinks to what fits, odd alignment ok */
  hmq_dedupe_init(&set, (char *)mem + 3, need / 2, 1000);
  assert_true(set.capacity > 0 && set.capacity < 1000);
  assert_true(hmq_dedupe_mem_size(set.capacity) <= need / 2);
  assert_true(hmq_dedupe_mem_size(set.capacity + 1) > need / 2);
  assert_int_equal(hmq_dedupe_seen(&set, mkid(1, id), 64), 0);
  assert_int_equal(hmq_dedupe_seen(&set, id, 64), 1);
  /* no memory: remembers nothing, never crashes */
  hmq_dedupe_init(&set, NULL, 0, 1000);
  assert_int_equal(set.capacity, 0);
  assert_int_equal(hmq_dedupe_seen(&set, id, 64), 0);
  assert_int_equal(hmq_dedupe_seen(&set, id, 64), 0);
  assert_int_equal(hmq_dedupe_forget_last(&set), 0);
  hmq_dedupe_clear(&set);
  assert_int_equal(hmq_dedupe_mem_size((size_t)-1), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(duplicates),
      cmocka_unit_test(two_phase_and_forget),
      cmocka_unit_test(fifo_eviction_at_capacity),
      cmocka_unit_test(many_ids),
      cmocka_unit_test(export_import_round_trip),
      cmocka_unit_test(hash_id_any_length),
      cmocka_unit_test(memory_sizing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
