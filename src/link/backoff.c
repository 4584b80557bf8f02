/* SPDX-License-Identifier: MIT */
/*
 * hmq_link policy: the reconnect delay (see hmq/link.h).
 *
 * "Equal jitter": half the ceiling is always waited, the other half is
 * random. Full jitter ([0, c]) spreads clients as well but lets one client
 * draw near-zero delays many times in a row; with a floor of c/2 the
 * attempts per minute against a server that drops every connection at once
 * are bounded for every seed (9 in the first minute, 4 a minute after that
 * with 500 ms doubling to 30 s), not just on average.
 */
#include "hmq/link.h"

/* splitmix64: tiny, deterministic for a given seed, good enough for jitter. */
static uint64_t next_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint32_t hmq_link_backoff(uint32_t initial_ms, uint32_t max_ms, uint32_t failures, uint64_t *rng) {
  uint64_t ceil = initial_ms ? initial_ms : 1;
  for (uint32_t i = 0; i < failures && ceil < max_ms; i++)
    ceil *= 2;
  if (ceil > max_ms)
    ceil = max_ms;
  uint64_t floor = ceil / 2;
  return (uint32_t)(floor + next_rand(rng) % (ceil - floor + 1));
}
