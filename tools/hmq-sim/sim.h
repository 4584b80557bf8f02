/* SPDX-License-Identifier: MIT */
/*
 * hmq-sim: the broker-side simulator of High Mobility's stream. It publishes
 * generated envelopes (sim_gen.h) at QoS 1 through hmq's own stack
 * (hmq/link.h) or writes them to a file. Options and the two modes.
 */
#ifndef HMQ_APP_SIM_H
#define HMQ_APP_SIM_H

#include "sim_gen.h"

#include <stdint.h>

#define HMQ_SIM_PATH 1024

/* Exit codes of hmq-sim. */
#define HMQ_SIM_EXIT_OK     0
#define HMQ_SIM_EXIT_SHORT  1 /* fewer messages acknowledged than asked (timeout, errors) */
#define HMQ_SIM_EXIT_USAGE  2
#define HMQ_SIM_EXIT_CONFIG 3 /* files, certificates, TLS setup, permanent refusal */

typedef struct hmq_sim_opts {
  hmq_sim_gen_config gen;
  char app_id[HMQ_SIM_ID_MAX + 1];
  char env[HMQ_SIM_ENV_MAX + 1];
  char topic_prefix[HMQ_SIM_TOPIC_MAX]; /* "" = <env>/level13/<app-id> */
  char host[256];
  uint16_t port; /* 0 = 8883, or 1883 with --plain */
  char cafile[HMQ_SIM_PATH];
  char cert[HMQ_SIM_PATH];
  char key[HMQ_SIM_PATH];
  char server_name[256]; /* "" = host */
  char id[128];          /* "" = hmq-sim-<pid> */
  char write_path[HMQ_SIM_PATH];
  int plain;
  int qos;          /* 0 or 1 (default 1) */
  uint64_t count;   /* -n */
  double rate;      /* messages per second, 0 = as fast as possible */
  double timeout_s; /* whole run, default 600 */
  int debug;
  int quiet;
} hmq_sim_opts;

/* Publish o->count messages (see sim_pub.c). Returns an HMQ_SIM_EXIT_* code
 * and prints `acked N` on stdout. */
int hmq_sim_publish(const hmq_sim_opts *o);

#endif
