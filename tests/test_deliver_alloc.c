/* SPDX-License-Identifier: MIT */
/*
 * The delivery pipeline allocates nothing per message: malloc/calloc/
 * realloc are interposed (glibc, not under sanitizers, which interpose them
 * themselves) and counted while thousands of messages in every format —
 * written, duplicate, dead-lettered — go through hmq_deliver_message and
 * hmq_deliver_commit to a real file with a real dedupe log, including a
 * log compaction and a logrotate reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/sink.h"
#include "pipeline/stats.h"
#include "pipeline/dedupe_store.h"
#include "pipeline/deliver.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif

static volatile int counting;
static unsigned long n_alloc;

#if defined(__GLIBC__) && !defined(NO_INTERPOSE)
#define COUNTS 1
/* glibc's own entry points (dlsym would allocate while setting up). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n) {
  if (counting)
    n_alloc++;
  return __libc_malloc(n);
}
void *calloc(size_t k, size_t n) {
  if (counting)
    n_alloc++;
  return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n) {
  if (counting)
    n_alloc++;
  return __libc_realloc(p, n);
}
#endif

static char g_dir[64];

static void run(hmq_format fmt) {
  char out[128], state[128], err[256], msg[512], id[32];
  snprintf(out, sizeof out, "%s/out-%d.ndjson", g_dir, (int)fmt);
  snprintf(state, sizeof state, "%s/state-%d", g_dir, (int)fmt);
  hmq_deliver_config c;
  memset(&c, 0, sizeof c);
  c.sink = HMQ_SINK_FILE;
  c.out_path = out;
  c.state_dir = state;
  c.format = fmt;
  c.dedupe_capacity = 500; /* small: the log compacts during the run */
  c.max_message = 8192;
  c.buffer_size = 16384; /* small: full-buffer flushes happen too */
  c.max_pending = 64;
  hmq_deliver d;
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_OK);
  uint64_t seqs[64];
  size_t n;
  /* The counter must see an allocation, or its 0 below would mean nothing. */
  counting = 1;
  void *volatile probe = malloc(16);
  counting = 0;
  free(probe);
#ifdef COUNTS
  assert_int_equal(n_alloc, 1);
#endif
  n_alloc = 0;
  counting = 1;
  for (int i = 0; i < 3000; i++) {
    snprintf(id, sizeof id, "ID%06d", i % 3 == 2 ? i - 2 : i); /* a third are duplicates */
    int k =
        snprintf(msg, sizeof msg,
                 "{\"version\":2,\"message_id\":\"%s\",\"vin\":\"V%d\",\"data\":{\"diagnostics\":"
                 "{\"speed\":[{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":%d},"
                 "\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}",
                 id, i % 7, i);
    const char *p = i % 97 == 0 ? "not json" : msg;
    size_t len = i % 97 == 0 ? 8 : (size_t)k;
    assert_int_equal(
        hmq_deliver_message(&d, (uint64_t)i, "t", 1, (const uint8_t *)p, len, 0, 1755014873000ull),
        HMQ_OK);
    if (hmq_deliver_pending(&d) == 64 || i % 10 == 9)
      assert_int_equal(hmq_deliver_commit(&d, seqs, 64, &n), HMQ_OK);
    if (i == 1500)
      assert_int_equal(hmq_deliver_reopen(&d), HMQ_OK);
  }
  assert_int_equal(hmq_deliver_commit(&d, seqs, 64, &n), HMQ_OK);
  counting = 0;
  assert_int_equal(n_alloc, 0);
  assert_int_equal(d.stats.received, 3000);
  assert_int_equal(d.stats.written + d.stats.duplicates + d.stats.invalid, 3000);
  assert_true(d.stats.duplicates >= 900);
  hmq_deliver_close(&d);
  /* the run did go through a compaction of the dedupe log */
  char snap[160];
  struct stat sb;
  snprintf(snap, sizeof snap, "%s/dedupe.snap", state);
  assert_int_equal(stat(snap, &sb), 0);
}

static void test_no_alloc_envelope(void **state) {
  (void)state;
  run(HMQ_FORMAT_ENVELOPE);
}
static void test_no_alloc_flat(void **state) {
  (void)state;
  run(HMQ_FORMAT_FLAT);
}
static void test_no_alloc_raw(void **state) {
  (void)state;
  run(HMQ_FORMAT_RAW);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "dlvalloc-XXXXXX");
  if (!mkdtemp(g_dir))
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_alloc_envelope),
      cmocka_unit_test(test_no_alloc_flat),
      cmocka_unit_test(test_no_alloc_raw),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
