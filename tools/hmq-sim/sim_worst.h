/* SPDX-License-Identifier: MIT */
/*
 * Worst-case payloads for the envelope parser: the shapes that cost it the
 * most per byte (deep nesting, many tiny tokens, long strings …), at a size
 * the caller picks. Shared by tests/test_poison.c (each must be refused or
 * written, never crash or stall) and bench/bench_envelope.c (CPU per KB).
 */
#ifndef HMQ_APP_SIM_WORST_H
#define HMQ_APP_SIM_WORST_H

#include <stddef.h>

typedef enum hmq_sim_worst {
  HMQ_SIM_WORST_DEEP,         /* [[[[…]]]]: nesting as deep as the size allows */
  HMQ_SIM_WORST_DEEP_IN_DATA, /* the same inside a valid envelope's data */
  HMQ_SIM_WORST_STAIRS,    /* [[…59…]],[[…59…]],…: the deepest legal nesting, repeated */
  HMQ_SIM_WORST_MANY_KEYS, /* one capability with a property per few bytes */
  HMQ_SIM_WORST_LONG_STRING,   /* a vin as long as the payload */
  HMQ_SIM_WORST_TINY_TOKENS,   /* [0,0,0,…]: one token per two bytes */
  HMQ_SIM_WORST_BAD_UTF8_LONG, /* a long string with one bad byte at its end */
  HMQ_SIM_WORST_COUNT
} hmq_sim_worst;

/* How many bytes beyond `size` a payload may take (closing brackets). */
#define HMQ_SIM_WORST_SLACK 64u

/* Write the shape, about `size` bytes (up to HMQ_SIM_WORST_SLACK more),
 * into d (room for size + HMQ_SIM_WORST_SLACK bytes); the envelope shapes
 * carry message_id `id` (at most 32 characters). Returns the length. */
size_t hmq_sim_worst_make(char *d, hmq_sim_worst s, size_t size, const char *id);

#endif
