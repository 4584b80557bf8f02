/* SPDX-License-Identifier: MIT */
/*
 * The restart after a crash or a full disk, for every --format: a message
 * whose lines were only partly written (kill -9 between two buffer flushes
 * of one batch, a torn line, a file size limit hit mid-batch) is never
 * taken as delivered; its lines are cut off the end of --out and the
 * redelivery writes it whole, once. Real SIGKILLs of child processes, a
 * real RLIMIT_FSIZE; every check reads the file back.
 */
#include "deliver_fixture.h"

#include <sys/resource.h>

#define MSGS    400 /* ~700 bytes each (flat: 3 lines): several buffer flushes per batch */
#define ENTRIES 3

/* An envelope with ENTRIES readings, so flat writes ENTRIES lines. */
static const char *multi_msg(int i) {
  static char b[1024];
  snprintf(
      b, sizeof b,
      "{\"version\":2,\"application_id\":\"app\",\"message_id\":\"M%04d\",\"vin\":\"VIN1\","
      "\"data\":{\"diagnostics\":{\"speed\":["
      "{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":%d},\"timestamp\":\"2025-08-12T16:"
      "07:41.000Z\"},"
      "{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":%d},\"timestamp\":\"2025-08-12T16:"
      "07:42.000Z\"},"
      "{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":%d},\"timestamp\":\"2025-08-12T16:"
      "07:43.000Z\"}]}}}",
      i, i, i + 1, i + 2);
  return b;
}

/* The fixture's other helpers, unused here. */
static void unused_helpers(void) {
  (void)env_msg;
  (void)count_str;
}

static size_t lines_per_msg(hmq_format fmt) {
  return fmt == HMQ_FORMAT_FLAT ? ENTRIES : 1;
}

static hmq_deliver_config cfg(hmq_format fmt) {
  hmq_deliver_config c = file_cfg(fmt, 1);
  c.max_message = 4096; /* buffer = 8 KiB: a batch of MSGS flushes many times */
  c.buffer_size = 8192;
  return c;
}

/* Every line is whole and each of messages [0, n) has exactly its lines. */
static void assert_exact(hmq_format fmt, int n) {
  static char buf[4 << 20];
  size_t len = slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_true(len > 0);
  assert_int_equal(buf[len - 1], '\n');
  static unsigned seen[MSGS];
  memset(seen, 0, sizeof seen);
  size_t lines = 0;
  for (char *p = buf; p < buf + len;) {
    char *nl = strchr(p, '\n');
    assert_non_null(nl);
    if (p[0] != '{' || nl[-1] != '}')
      fail_msg("torn line: %.*s", (int)(nl - p), p);
    char *id = strstr(p, "\"message_id\":\"M");
    assert_true(id && id < nl);
    int k = atoi(id + 15);
    assert_true(k >= 0 && k < n);
    seen[k]++;
    lines++;
    p = nl + 1;
  }
  for (int i = 0; i < n; i++)
    if (seen[i] != lines_per_msg(fmt))
      fail_msg("message M%04d: %u lines, want %zu", i, seen[i], lines_per_msg(fmt));
  assert_int_equal(lines, (size_t)n * lines_per_msg(fmt));
}

static void put_range(hmq_deliver *d, int from, int to) {
  for (int i = from; i < to; i++)
    put(d, (uint64_t)i + 1, multi_msg(i));
}

/* The broker's redelivery: everything again (acked ones are dropped as
 * duplicates), committed; then the file must be exact. */
static void redeliver_all(hmq_format fmt) {
  hmq_deliver d;
  hmq_deliver_config c = cfg(fmt);
  uint64_t seqs[MSGS];
  open_ok(&d, &c);
  put_range(&d, 0, MSGS);
  assert_int_equal(commit(&d, seqs, MSGS), MSGS);
  hmq_deliver_close(&d);
  assert_exact(fmt, MSGS);
}

/* A child commits `committed` messages, takes `more` (the buffer flushes
 * them piecemeal, flat ones mid-message) and dies by SIGKILL before the
 * commit. */
static void kill9_child(hmq_format fmt, int committed, int more) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    hmq_deliver d;
    hmq_deliver_config c = cfg(fmt);
    char err[256];
    uint64_t seqs[MSGS];
    size_t n;
    if (hmq_deliver_open(&d, &c, err, sizeof err) != HMQ_OK)
      _exit(10);
    for (int i = 0; i < committed + more; i++) {
      const char *m = multi_msg(i);
      if (hmq_deliver_message(&d, (uint64_t)i + 1, TOPIC, strlen(TOPIC), (const uint8_t *)m,
                              strlen(m), 0, NOW) != HMQ_OK)
        _exit(11);
      if (i + 1 == committed && (hmq_deliver_commit(&d, seqs, MSGS, &n) != HMQ_OK || n == 0))
        _exit(12);
    }
    raise(SIGKILL);
    _exit(13);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFSIGNALED(ws));
  assert_int_equal(WTERMSIG(ws), SIGKILL);
}

static void kill9_many_points(hmq_format fmt) {
  /* points: before the first commit, mid-batch after one, and the file
   * ending inside a message (flat) or inside a line, at several sizes */
  static const int points[][2] = {{0, 13},  {5, 17},   {5, 40}, {37, 1},
                                  {37, 29}, {100, 61}, {150, 0}};
  for (size_t k = 0; k < sizeof points / sizeof points[0]; k++) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/out.ndjson* '%s'/state", g_dir, g_dir);
    assert_int_equal(system(cmd), 0);
    kill9_child(fmt, points[k][0], points[k][1]);
    redeliver_all(fmt);
  }
}

static void test_kill9_many_points_envelope(void **state) {
  (void)state;
  kill9_many_points(HMQ_FORMAT_ENVELOPE);
}

static void test_kill9_many_points_flat(void **state) {
  (void)state;
  kill9_many_points(HMQ_FORMAT_FLAT);
}

static void test_kill9_many_points_raw(void **state) {
  (void)state;
  kill9_many_points(HMQ_FORMAT_RAW);
}

/* A file size limit (RLIMIT_FSIZE) hit mid-batch: the write fails with
 * EFBIG (not death by SIGXFSZ), the commit fails and acknowledges nothing,
 * the file is cut back to the last commit at once; the restart and the
 * redelivery make it exact. */
static void fsize_limit(hmq_format fmt, rlim_t limit) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    hmq_deliver d;
    hmq_deliver_config c = cfg(fmt);
    char err[256];
    uint64_t seqs[MSGS];
    size_t n = 0;
    if (hmq_deliver_open(&d, &c, err, sizeof err) != HMQ_OK)
      _exit(10);
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
      _exit(11);
    hmq_status st = HMQ_OK;
    int i;
    for (i = 0; i < MSGS && st == HMQ_OK; i++) {
      const char *m = multi_msg(i);
      st = hmq_deliver_message(&d, (uint64_t)i + 1, TOPIC, strlen(TOPIC), (const uint8_t *)m,
                               strlen(m), 0, NOW);
      if (st == HMQ_OK && i % 50 == 49)
        st = hmq_deliver_commit(&d, seqs, MSGS, &n);
    }
    if (st == HMQ_OK)
      _exit(12); /* the limit was never hit */
    if (hmq_deliver_commit(&d, seqs, MSGS, &n) == HMQ_OK || n != 0)
      _exit(13);
    if (!strstr(hmq_deliver_error(&d), "File too large") ||
        !strstr(hmq_deliver_error(&d), "out.ndjson"))
      _exit(14);
    /* cut back to the last commit: whole lines only */
    if ((uint64_t)d.out.size != (uint64_t)lseek(d.out.fd, 0, SEEK_END))
      _exit(15);
    hmq_deliver_close(&d);
    _exit(0);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
    fail_msg("child: %s %d", WIFEXITED(ws) ? "exit" : "signal",
             WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
  char buf[1 << 16];
  size_t len = slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_true(len > 0 && len < limit);
  assert_int_equal(buf[len - 1], '\n');
  redeliver_all(fmt);
}

static void test_fsize_limit_envelope(void **state) {
  (void)state;
  fsize_limit(HMQ_FORMAT_ENVELOPE, 50000);
}

static void test_fsize_limit_flat(void **state) {
  (void)state;
  fsize_limit(HMQ_FORMAT_FLAT, 60001);
}

static void test_fsize_limit_raw(void **state) {
  (void)state;
  fsize_limit(HMQ_FORMAT_RAW, 45555);
}

/* After another boot the log may lack its last records (lazily synced), so
 * the end is rescanned instead of cut: a flat message whose last line is
 * torn is cut whole; the complete ones before it count as delivered. */
static void test_flat_torn_message_other_boot(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = cfg(HMQ_FORMAT_FLAT);
  uint64_t seqs[MSGS];
  open_ok(&d, &c);
  put_range(&d, 0, 3);
  assert_int_equal(commit(&d, seqs, MSGS), 3);
  hmq_deliver_close(&d);
  /* Then, as a lost log record would leave it: messages 3 and 4 complete
   * (committed, maybe acknowledged), message 5 with 1.5 of its 3 lines. */
  hmq_deliver t;
  hmq_deliver_config tc = file_cfg(HMQ_FORMAT_FLAT, 0);
  static char whole[300];
  snprintf(whole, sizeof whole, "%s/whole.ndjson", g_dir);
  tc.out_path = whole;
  open_ok(&t, &tc);
  put_range(&t, 3, 6);
  assert_int_equal(commit(&t, seqs, MSGS), 3);
  hmq_deliver_close(&t);
  static char lines[8192];
  size_t n = slurp_file(whole, lines, sizeof lines);
  char *m5 = lines, *third;
  for (int k = 0; k < 6; k++) /* 2 messages x 3 lines */
    m5 = strchr(m5, '\n') + 1;
  third = strchr(m5, '\n') + 1; /* + 1 line of the third, and 40 bytes */
  size_t cut_len = (size_t)(third - lines) + 40;
  assert_true(cut_len < n);
  FILE *f = fopen(path("out.ndjson"), "ab");
  assert_int_equal(fwrite(lines, 1, cut_len, f), cut_len);
  fclose(f);
  f = fopen(path("state/dedupe.boot"), "wb");
  fputs("another-boot", f);
  fclose(f);
  open_ok(&d, &c);
  assert_int_equal(d.store.scanned, 2);                          /* M0003, M0004 */
  assert_int_equal(d.store.cut, cut_len - (size_t)(m5 - lines)); /* all of M0005 */
  put_range(&d, 0, 8);
  assert_int_equal(commit(&d, seqs, MSGS), 8);
  assert_int_equal(d.stats.duplicates, 5);
  hmq_deliver_close(&d);
  assert_exact(HMQ_FORMAT_FLAT, 8);
}

int main(void) {
  unused_helpers();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_kill9_many_points_envelope, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill9_many_points_flat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill9_many_points_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fsize_limit_envelope, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fsize_limit_flat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fsize_limit_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flat_torn_message_other_boot, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
