/* SPDX-License-Identifier: MIT */
/*
 * --connections N with the asynchronous commit (issue 11), the real hmq
 * against the real broker (plain TCP; what the broker sent and which
 * PUBACKs it received per client id is read from its log):
 *
 *  - no connection waits for another: hmq -2's stream is stalled by a
 *    proxy (stallproxy.h) while messages are in flight to it; every
 *    message the broker sent to -1 is written and acknowledged by -1
 *    within 5 s meanwhile (with --max-delay-ms 20000: because -1 ran dry,
 *    not by the clock), none of -2's; let go, -2's are written and
 *    acknowledged too, every message once;
 *  - the group commit is shared: with hmq's sync thread held (tracer.h),
 *    both connections receive their share; once released, all of them are
 *    acknowledged after at most two fdatasyncs of --out (the batch sealed
 *    before the hold took effect, then one for everything that came during
 *    it, from both connections), counted by tracing the sync thread.
 */
#include "e2e.h"
#include "stallproxy.h"
#include "tracer.h"

#define ID(tag) APP "-sandbox-" tag

#define SENT(f, c)    broker_saw(f, "Sending PUBLISH to", c)
#define PUBACKS(f, c) broker_saw(f, "Received PUBACK from", c)

/* hmq --plain --connections 2 (client ids <id>-1, <id>-2) on port. */
static pid_t run_two(fixture *f, const char *tag, uint16_t port, unsigned max_delay_ms) {
  char cmd[4096], log[64];
  pid_t pid;
  snprintf(cmd, sizeof cmd,
           "exec '%s' --plain --host 127.0.0.1 --port %u -V 5 -q 1 -c --id " APP
           "-sandbox-%s --connections 2 --topic '$share/%s/sandbox/level13/" APP
           "/#' --state-dir '%s/sd-%s' -d -W 40 --out '%s/%s.out' --max-delay-ms %u",
           f->hmq, (unsigned)port, tag, APP, f->b.dir, tag, f->b.dir, tag, max_delay_ms);
  snprintf(log, sizeof log, "%s.log", tag);
  pid = spawn(cmd, -1, log);
  wait_log(f, log, "subscribed to", 2, 20000);
  return pid;
}

static void assert_all_once(const fixture *f, const char *out, size_t k) {
  text t = load(f, out);
  assert_false(t.partial);
  assert_int_equal(t.n, k);
  assert_int_equal(distinct_ids(&t), k);
  text_free(&t);
}

static void test_stalled_connection_does_not_hold_the_other(void **state) {
  fixture *f = *state;
  stallproxy *p = calloc(1, sizeof *p);
  size_t s1 = 0, s2 = 0, a1 = 0, a2 = 0;
  uint64_t end;
  pid_t pid;
  assert_non_null(p);
  assert_int_equal(sp_start(p, f->b.plain_port), 0);
  /* a delay bound far beyond the test's patience: what is acknowledged
   * here was acknowledged because its connection ran dry, not by the clock */
  pid = run_two(f, "pc", p->port, 20000);
  sp_stall(p, ID("pc-2"), 1);
  sim_write(f, "a.txt", 400, 51);
  publish_file(f, "a.txt");
  /* the broker sends every message to one of the two; -1 writes and acks
   * each of its own while -2's stream stands still (within 5 s: the delay
   * bound is 20 s) */
  end = hmq_h_now() + 5000;
  while (hmq_h_now() < end) {
    s1 = SENT(f, ID("pc-1"));
    s2 = SENT(f, ID("pc-2"));
    a1 = PUBACKS(f, ID("pc-1"));
    if (s1 + s2 == 400 && a1 == s1)
      break;
    hmq_h_sleep_ms(20);
  }
  hmq_h_sleep_ms(300);
  a1 = PUBACKS(f, ID("pc-1"));
  a2 = PUBACKS(f, ID("pc-2"));
  fprintf(stderr,
          "-2 stalled: broker sent %zu to -1 and %zu to -2; PUBACKs from -1 %zu, from -2 %zu; "
          "%zu lines in --out\n",
          s1, s2, a1, a2, whole_lines(f, "pc.out"));
  assert_int_equal(s1 + s2, 400);
  assert_true(s1 > 0);
  assert_true(s2 > 0); /* -2 really had messages in flight */
  assert_int_equal(a1, s1);
  assert_int_equal(a2, 0);
  assert_int_equal(whole_lines(f, "pc.out"), s1);

  /* let go: -2 catches up */
  sp_stall(p, ID("pc-2"), 0);
  end = hmq_h_now() + 15000;
  while (PUBACKS(f, ID("pc-2")) < s2 && hmq_h_now() < end)
    hmq_h_sleep_ms(20);
  assert_int_equal(PUBACKS(f, ID("pc-2")), s2);
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  sp_stop(p);
  free(p);
  assert_all_once(f, "pc.out", 400);
}

/* fd number of `path` among pid's open files, -1 when none. */
static int fd_of(pid_t pid, const char *path) {
  char link[128], target[512];
  int fd;
  for (fd = 0; fd < 256; fd++) {
    ssize_t n;
    snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, fd);
    n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
      continue;
    target[n] = '\0';
    if (strcmp(target, path) == 0)
      return fd;
  }
  return -1;
}

static void test_group_commit_shared(void **state) {
  fixture *f = *state;
  char out[400];
  size_t s1, s2, acked = 0, syncs = 0, other = 0;
  uint64_t end;
  int outfd, st, stopped = 1;
  pid_t pid, tid;
  if (!tr_can_trace()) {
    fprintf(stderr, "SKIP: ptrace is not allowed here: cannot hold hmq's sync thread\n");
    skip();
  }
  pid = run_two(f, "gc", f->b.plain_port, 50);
  snprintf(out, sizeof out, "%s/gc.out", f->b.dir);
  outfd = fd_of(pid, out);
  assert_true(outfd >= 0);
  tid = tr_sync_thread(pid);
  assert_true(tid > 0);
  assert_int_equal(tr_hold(tid), 0);
  sim_write(f, "a.txt", 300, 52);
  publish_file(f, "a.txt");
  end = hmq_h_now() + 15000;
  while (whole_lines(f, "gc.out") < 300 && hmq_h_now() < end)
    hmq_h_sleep_ms(20);
  s1 = SENT(f, ID("gc-1"));
  s2 = SENT(f, ID("gc-2"));
  assert_int_equal(whole_lines(f, "gc.out"), 300);
  assert_int_equal(s1 + s2, 300);
  assert_true(s1 > 0 && s2 > 0); /* both connections have their share */
  assert_int_equal(PUBACKS(f, ID("gc-1")) + PUBACKS(f, ID("gc-2")), 0);

  /* release, stepping the sync thread from syscall to syscall: count its
   * fdatasyncs of --out until the broker has every PUBACK */
  end = hmq_h_now() + 15000;
  while (hmq_h_now() < end) {
    int r;
    if (stopped) {
      assert_int_equal(ptrace(PTRACE_SYSCALL, tid, NULL, NULL), 0);
      stopped = 0;
    }
    r = tr_wait_stop(tid, &st, 50);
    if (r == 1) {
      struct __ptrace_syscall_info si;
      stopped = 1;
      memset(&si, 0, sizeof si);
      if (WSTOPSIG(st) == (SIGTRAP | 0x80) &&
          ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si) > 0 &&
          si.op == PTRACE_SYSCALL_INFO_ENTRY && si.entry.nr == SYS_fdatasync) {
        if ((int)si.entry.args[0] == outfd)
          syncs++;
        else
          other++;
      }
    } else {
      assert_int_equal(r, -1); /* running (waiting for a job), not gone */
    }
    acked = PUBACKS(f, ID("gc-1")) + PUBACKS(f, ID("gc-2"));
    if (acked == 300)
      break;
  }
  fprintf(stderr,
          "sync released: %zu + %zu messages on two connections acknowledged after %zu "
          "fdatasync(s) of --out (%zu of other files)\n",
          s1, s2, syncs, other);
  assert_int_equal(acked, 300);
  assert_int_equal(PUBACKS(f, ID("gc-1")), s1);
  assert_int_equal(PUBACKS(f, ID("gc-2")), s2);
  assert_true(syncs >= 1 && syncs <= 2);
  if (!stopped) { /* detach needs a stopped tracee */
    kill(tid, 0);
    assert_int_equal(ptrace(PTRACE_INTERRUPT, tid, NULL, NULL), 0);
    assert_int_equal(tr_wait_stop(tid, &st, 5000), 1);
  }
  assert_int_equal(tr_release(tid), 0);
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  assert_all_once(f, "gc.out", 300);
}

/* A failed test may still hold hmq's sync thread. */
static int teardown_traced(void **state) {
  tr_teardown();
  return teardown(state);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stalled_connection_does_not_hold_the_other, setup,
                                      teardown_traced),
      cmocka_unit_test_setup_teardown(test_group_commit_shared, setup, teardown_traced),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
