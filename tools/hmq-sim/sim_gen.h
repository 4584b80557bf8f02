/* SPDX-License-Identifier: MIT */
/*
 * hmq-sim: a deterministic generator of High Mobility MQTT V2 envelopes.
 *
 * Each message is a pure function of (seed, message number): the vehicle,
 * the capabilities it reports, every value, timestamp format and message_id
 * follow from them. That makes a run reproducible with the same --seed, and
 * a duplicate is simply message number k produced again (same bytes, same
 * message_id), which is what a redelivery by the real broker looks like.
 *
 * The shapes follow the project's notes on the real stream (docs/stream.md: docs
 * and published schema): units as {"unit","value"}, percentages as bare
 * numbers, enums as strings, multi-valued properties with one entry per
 * element, RFC 3339 timestamps with 0, 3 or 6 fractional digits, some
 * entries without a timestamp, occasional failure entries, version 2 or 3,
 * message_id as 64 upper-case hex digits. Typical payload about 1.3 KB.
 */
#ifndef HMQ_APP_SIM_GEN_H
#define HMQ_APP_SIM_GEN_H

#include "hmq/hmq.h"

#include <stdint.h>

#define HMQ_SIM_MAX_VINS    100000u
#define HMQ_SIM_DUP_WINDOW  1000u /* a duplicate repeats one of the last N messages */
#define HMQ_SIM_ID_MAX      64u   /* application id length limit */
#define HMQ_SIM_ENV_MAX     16u
#define HMQ_SIM_TOPIC_MAX   (HMQ_SIM_ENV_MAX + HMQ_SIM_ID_MAX + 40u)
#define HMQ_SIM_PAYLOAD_MAX 8192u /* comfortably above the largest message */

typedef struct hmq_sim_gen_config {
  uint64_t seed;
  uint32_t vins;      /* distinct vehicles, 1..HMQ_SIM_MAX_VINS */
  const char *app_id; /* application id (a UUID), <= HMQ_SIM_ID_MAX */
  const char *env;    /* "sandbox" or "live" (topic and nothing else) */
  double dup_rate;    /* share of emitted messages that repeat an earlier one */
  double ooo_rate;    /* share of new messages whose timestamps lie in the past */
  int64_t start_ms;   /* stream time of message 0 (Unix ms) */
  uint32_t step_ms;   /* stream time between consecutive messages */
} hmq_sim_gen_config;

typedef struct hmq_sim_gen {
  hmq_sim_gen_config cfg;
  char app_id[HMQ_SIM_ID_MAX + 1];
  char env[HMQ_SIM_ENV_MAX + 1];
  uint64_t emitted;    /* messages handed out, duplicates included */
  uint64_t next_new;   /* number of the next new (not repeated) message */
  uint64_t duplicates; /* how many of the emitted ones were repeats */
} hmq_sim_gen;

/* One generated message: topic and payload live in the caller's buffers. */
typedef struct hmq_sim_msg {
  uint64_t number; /* message number (a repeat has an earlier one) */
  int duplicate;   /* 1 when this emission repeats an earlier message */
  size_t topic_len;
  size_t payload_len;
} hmq_sim_msg;

/* Defaults: seed 1, 50 VINs, app id 00000000-0000-0000-0000-000000000000,
 * env "sandbox", dup_rate 0.01, ooo_rate 0.05, start 2025-08-12T16:00:00Z,
 * step 200 ms. */
void hmq_sim_gen_config_default(hmq_sim_gen_config *cfg);

/* Copy cfg (strings are copied too) and reset the sequence. HMQ_ERR_ARG when
 * vins is 0 or above HMQ_SIM_MAX_VINS, a rate is outside 0..1, or app_id /
 * env are missing or too long. */
hmq_status hmq_sim_gen_init(hmq_sim_gen *g, const hmq_sim_gen_config *cfg);

/* Produce message number `number` (any number, in any order; the same number
 * always gives the same bytes). Topic `<env>/level13/<app-id>/<vin>` into
 * topic (NUL-terminated), the JSON payload into payload (not
 * NUL-terminated, no newline). HMQ_ERR_NO_ROOM when a buffer is too small
 * (HMQ_SIM_TOPIC_MAX / HMQ_SIM_PAYLOAD_MAX always suffice). */
hmq_status hmq_sim_gen_make(const hmq_sim_gen *g, uint64_t number, char *topic, size_t topic_cap,
                            char *payload, size_t payload_cap, hmq_sim_msg *out);

/* The next emission of the stream: usually the next new message, with
 * probability dup_rate a repeat of one of the last HMQ_SIM_DUP_WINDOW ones.
 * Deterministic from the seed. Statuses as hmq_sim_gen_make. */
hmq_status hmq_sim_gen_next(hmq_sim_gen *g, char *topic, size_t topic_cap, char *payload,
                            size_t payload_cap, hmq_sim_msg *out);

#endif
