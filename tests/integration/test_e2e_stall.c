/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the real `hmq` program (see e2e.h) with its stdout
 * in a pipe that nobody reads while a backlog waits on the broker:
 *
 *  - 20,000 realistic envelopes (~1.3 KB): hmq's resident memory stays
 *    bounded during a 3 s stall (backpressure, no growing buffer), and after
 *    the drain every message arrives exactly once;
 *  - a stall longer than the broker's keep-alive grace: the broker drops
 *    hmq, hmq reconnects after the drain, and the output is still exact.
 */
#include "e2e.h"

static long vm_rss_kb(pid_t pid) {
  char path[64], line[256];
  long kb = -1;
  FILE *fp;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  fp = fopen(path, "r");
  if (!fp)
    return -1;
  while (fgets(line, sizeof line, fp))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  fclose(fp);
  return kb;
}

#if defined(__SANITIZE_ADDRESS__)
#define HMQ_E2E_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HMQ_E2E_ASAN 1
#endif
#endif

/* 20,000 envelopes queued for our session; hmq's stdout is a pipe nobody
 * reads for 3 s: memory stays bounded (backpressure, no growing buffer);
 * then the pipe is drained and every message arrives exactly once. */
static void test_blocked_stdout_bounded(void **state) {
  fixture *f = *state;
  const long k = 20000;
#ifdef HMQ_E2E_ASAN
  const long limit_kb = 512 * 1024; /* sanitizer shadow memory: figure printed only */
#else
  const long limit_kb = 16 * 1024;
#endif
  char extra[200];
  text got = {0};
  long rss, first_rss = 0, max_rss = 0, samples = 0;
  int p[2], unread = 0;
  uint64_t t0, end;
  pid_t pid;
  backlog(f, "bs", k, 4);
  make_pipe(p);
  /* --dedupe: the default set (1,000,000 ids) alone is ~16 MB, touched at
   * start; what this test is after is growth with the backlog */
  snprintf(extra, sizeof extra, "-C %ld --dedupe 100000", k);
  pid = run_hmq(f, "bs", APP, extra, p[1]);
  close(p[1]);
  hmq_h_sleep_ms(500);
  end = hmq_h_now() + 3000;
  while (hmq_h_now() < end) {
    rss = vm_rss_kb(pid);
    assert_true(rss > 0); /* still running, blocked on the pipe */
    if (!first_rss)
      first_rss = rss;
    if (rss > max_rss)
      max_rss = rss;
    samples++;
    hmq_h_sleep_ms(100);
  }
  ioctl(p[0], FIONREAD, &unread);
  fprintf(stderr,
          "blocked stdout: VmRSS %ld kB at first, max %ld kB over %ld samples in a 3 s stall "
          "(%d bytes waiting in the pipe)\n",
          first_rss, max_rss, samples, unread);
  assert_true(unread > 0);
  assert_true(max_rss < limit_kb);
#ifndef HMQ_E2E_ASAN
  assert_true(max_rss - first_rss < 1024); /* no growth while the backlog waits */
#endif

  text_add(&got, "", 0);
  t0 = hmq_h_now();
  assert_true(drain(p[0], &got, t0 + 40000));
  close(p[0]);
  assert_int_equal(wait_exit(pid, 10000), 0);
  text_split(&got);
  fprintf(stderr, "blocked stdout: drained %zu lines in %llu ms\n", got.n,
          (unsigned long long)(hmq_h_now() - t0));
  assert_false(got.partial);
  assert_int_equal(got.n, k);
  assert_int_equal(distinct_ids(&got), k);
  assert_sim_ids(f, &got, k, 4);
  text_free(&got);
}

/* A blocked pipe for longer than the broker's keep-alive grace (1.5 x
 * -k 5 s, MQTT 5.0 3.1.2.10): hmq is stuck in its commit, sends no PINGREQ
 * and the broker drops it. After the drain hmq reconnects, the
 * broker resends what was never acknowledged and the dedupe memory keeps
 * the output exact: every id once. */
static void test_stall_beyond_keepalive(void **state) {
  fixture *f = *state;
  const long k = 3000;
  text got = {0};
  int p[2];
  pid_t pid;
  backlog(f, "ka", k, 5);
  make_pipe(p);
  pid = run_hmq(f, "ka", APP, "-C 3000 -k 5", p[1]);
  close(p[1]);
  /* mosquitto 2.0.11 gives up on a silent client after about 10 s with
   * -k 5 (it checks the keep-alive coarsely) */
  wait_log(f, "mosquitto.log", "sandbox-ka has exceeded timeout", 1, 20000);
  assert_true(vm_rss_kb(pid) > 0); /* hmq still there, blocked on the pipe */
  text_add(&got, "", 0);
  assert_true(drain(p[0], &got, hmq_h_now() + 30000));
  close(p[0]);
  assert_int_equal(wait_exit(pid, 10000), 0);
  text_split(&got);
  assert_false(got.partial);
  fprintf(stderr, "keep-alive stall: %zu lines, %zu reconnect(s) reported\n", got.n,
          occurrences(f, "ka.log", "connection lost"));
  assert_true(occurrences(f, "ka.log", "connection lost") >= 1);
  assert_int_equal(distinct_ids(&got), k);
  assert_sim_ids(f, &got, k, 5);
  text_free(&got);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_blocked_stdout_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stall_beyond_keepalive, setup, teardown),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
