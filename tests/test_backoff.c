/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the reconnect delay (src/link/backoff.c) on a virtual
 * clock: the bounds of every delay, determinism per seed, and what a
 * server that drops every connection right after CONNACK sees. The link
 * counts such a drop as a failure (a CONNACK alone does not reset the
 * count; tests/integration/test_refusals.c shows it on the real program),
 * so the n-th attempt waits hmq_link_backoff(..., n - 1, ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hmq/link.h"

#define INITIAL 500u
#define MAXIMUM 30000u

static void test_delay_within_half_and_full_ceiling(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed < 2000; seed++) {
    uint64_t rng = seed;
    for (uint32_t f = 0; f < 40; f++) {
      uint64_t c = (uint64_t)INITIAL << (f < 10 ? f : 10);
      if (c > MAXIMUM)
        c = MAXIMUM;
      uint32_t d = hmq_link_backoff(INITIAL, MAXIMUM, f, &rng);
      if (d < c / 2 || d > c)
        fail_msg("seed %llu failures %u: delay %u outside [%llu, %llu]", (unsigned long long)seed,
                 f, d, (unsigned long long)(c / 2), (unsigned long long)c);
    }
  }
  uint64_t rng = 1;
  assert_int_equal(hmq_link_backoff(0, 0, 5, &rng), 0); /* degenerate config: no wait */
  assert_true(hmq_link_backoff(0, 10, 0, &rng) <= 1);   /* initial 0 counts as 1 */
}

static void test_deterministic_per_seed(void **state) {
  (void)state;
  uint64_t a = 42, b = 42, c = 7;
  uint32_t same = 0;
  for (uint32_t f = 0; f < 20; f++) {
    uint32_t x = hmq_link_backoff(INITIAL, MAXIMUM, f, &a);
    assert_int_equal(x, hmq_link_backoff(INITIAL, MAXIMUM, f, &b));
    same += x == hmq_link_backoff(INITIAL, MAXIMUM, f, &c);
  }
  assert_true(same < 5); /* another seed, other delays */
}

/* Attempt times against a server that accepts and drops after up_ms,
 * for 10 virtual minutes; returns how many fit into [from, from + 60 s). */
static unsigned attempts_in_window(uint64_t seed, uint32_t up_ms, uint64_t from,
                                   unsigned *max_any) {
  uint64_t rng = seed, t = 0, times[512];
  unsigned n = 0, in = 0;
  uint32_t failures = 0;
  while (t < 600000 && n < 512) {
    times[n++] = t;
    t += up_ms + hmq_link_backoff(INITIAL, MAXIMUM, failures++, &rng);
  }
  *max_any = 0;
  for (unsigned i = 0; i < n; i++) {
    unsigned k = 0;
    for (unsigned j = i; j < n && times[j] < times[i] + 60000; j++)
      k++;
    if (i > 0 && k > *max_any && times[i] >= 60000)
      *max_any = k; /* windows starting after the first minute */
    if (times[i] >= from && times[i] < from + 60000)
      in++;
  }
  return in;
}

/* The claim: a drop-after-CONNACK server sees at most 10 attempts
 * in 60 s. For every seed tried: at most 9 in the first minute, at most 5
 * in any minute after it (delays are then at least 15 s: 4). Full jitter
 * ([0, c], the old policy) fails this for many seeds. */
static void test_drop_after_connack_few_attempts_per_minute(void **state) {
  (void)state;
  unsigned worst_first = 0, worst_later = 0;
  for (uint64_t seed = 1; seed <= 20000; seed++) {
    for (uint32_t up = 0; up <= 100; up += 50) {
      unsigned later = 0;
      unsigned first = attempts_in_window(seed, up, 0, &later);
      worst_first = first > worst_first ? first : worst_first;
      worst_later = later > worst_later ? later : worst_later;
    }
  }
  print_message("worst over 20000 seeds: %u attempts in the first minute, %u in a later one\n",
                worst_first, worst_later);
  assert_true(worst_first <= 9);
  assert_true(worst_later <= 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_delay_within_half_and_full_ceiling),
      cmocka_unit_test(test_deterministic_per_seed),
      cmocka_unit_test(test_drop_after_connack_few_attempts_per_minute),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
