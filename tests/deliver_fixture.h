/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the delivery pipeline tests (test_deliver.c,
 * test_dedupe_store.c): the app sources compiled in, a fresh directory
 * under the test's working directory per test, sample envelopes and small
 * wrappers that fail the test on any unexpected status.
 */
#ifndef HMQ_TESTS_DELIVER_FIXTURE_H
#define HMQ_TESTS_DELIVER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/sink.h"
#include "pipeline/stats.h"
#include "pipeline/dedupe_store.h"
#include "pipeline/deliver.h"
#include "json_samples.h"

#define NOW   1755014873000ull /* 2025-08-12T16:07:53.000Z: 5 s after the samples' readings */
#define TOPIC "live/level13/app"

static char g_dir[64];
static char g_path[256];

static const char *path(const char *name) {
  snprintf(g_path, sizeof g_path, "%s/%s", g_dir, name);
  return g_path;
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "dlvtest-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static size_t slurp_file(const char *p, char *buf, size_t cap) {
  FILE *f = fopen(p, "rb");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = 0;
  return n;
}

static size_t count_str(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* A compact envelope (so the envelope format must reproduce it exactly). */
static const char *env_msg(const char *id) {
  static char b[512];
  snprintf(b, sizeof b,
           "{\"version\":2,\"application_id\":\"app\",\"message_id\":\"%s\",\"vin\":\"VIN1\","
           "\"data\":{\"diagnostics\":{\"speed\":[{\"data\":{\"unit\":\"kilometers_per_hour\","
           "\"value\":42},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}",
           id);
  return b;
}

static hmq_deliver_config file_cfg(hmq_format fmt, int with_state) {
  hmq_deliver_config c;
  memset(&c, 0, sizeof c);
  c.sink = HMQ_SINK_FILE;
  c.format = fmt;
  static char out[256], state[256];
  snprintf(out, sizeof out, "%s/out.ndjson", g_dir);
  snprintf(state, sizeof state, "%s/state", g_dir);
  c.out_path = out;
  c.state_dir = with_state ? state : NULL;
  c.dedupe_capacity = 1000;
  c.max_message = 64 * 1024;
  return c;
}

static void open_ok(hmq_deliver *d, const hmq_deliver_config *c) {
  char err[256];
  hmq_status st = hmq_deliver_open(d, c, err, sizeof err);
  if (st != HMQ_OK)
    fail_msg("open: %s (%s)", err, hmq_status_name(st));
}

static void put(hmq_deliver *d, uint64_t seq, const char *payload) {
  assert_int_equal(hmq_deliver_message(d, seq, TOPIC, strlen(TOPIC), (const uint8_t *)payload,
                                       strlen(payload), 0, NOW),
                   HMQ_OK);
}

static size_t commit(hmq_deliver *d, uint64_t *seqs, size_t cap) {
  size_t n = 99;
  assert_int_equal(hmq_deliver_commit(d, seqs, cap, &n), HMQ_OK);
  return n;
}

#endif
