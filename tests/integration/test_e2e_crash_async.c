/* SPDX-License-Identifier: MIT */
/*
 * Crashes of the real hmq with the asynchronous commit (issue 11), against
 * the real broker, each followed by a restart: in the end every message_id
 * is in --out exactly once (nothing lost, nothing doubled).
 *
 *  - kill -9 at chosen points of the commit, found by tracing hmq's sync
 *    thread from outside (tracer.h): at an fdatasync's entry (lines
 *    written, not synced; also held there while the loop writes on), at
 *    its exit (synced, the loop not yet told: no dedupe log record, no
 *    PUBACK), at the done byte the thread writes for the loop, and after
 *    it; plus untraced kills at fixed times; all while a backlog drains,
 *    with the duplicate filter's log in --state-dir;
 *  - a full file system (tmpfs inside a private mount namespace: needs
 *    root; skipped with a message otherwise) under --out and, separately,
 *    under --state-dir (the dedupe log): hmq stops with exit 5 and a line
 *    naming the file and the reason, the broker received no more PUBACKs
 *    than --out holds lines, and once space is freed a restart stores
 *    everything exactly once.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include "e2e.h"
#include "tracer.h"

#include <sched.h>
#include <sys/mount.h>

#define CLIENT(tag) APP "-sandbox-" tag

/* --out (file `out`) holds exactly the k envelopes hmq-sim makes for seed,
 * each once, every line whole. */
static void assert_exactly_once(const fixture *f, const char *out, long k, int seed) {
  text got = load(f, out);
  assert_false(got.partial);
  fprintf(stderr, "%s: %zu lines, %zu distinct ids, want %ld\n", out, got.n, distinct_ids(&got), k);
  assert_int_equal(distinct_ids(&got), got.n); /* nothing doubled */
  assert_sim_ids(f, &got, k, seed);            /* nothing lost */
  text_free(&got);
}

/* Run hmq until `out` holds k lines (at most 60 s), then SIGTERM: exit 0. */
static void finish_drain(fixture *f, const char *tag, const char *extra, size_t nth,
                         const char *out, long k) {
  char log[64];
  pid_t pid = run_hmq(f, tag, APP, extra, -1);
  /* "connected to": a run that failed may have stopped before its SUBACK */
  snprintf(log, sizeof log, "%s.log", tag);
  wait_log(f, log, "connected to", nth, 20000);
  uint64_t end = hmq_h_now() + 60000;
  while (whole_lines(f, out) < (size_t)k && hmq_h_now() < end)
    hmq_h_sleep_ms(20);
  hmq_h_sleep_ms(300); /* a duplicate would come now */
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
}

typedef struct point {
  const char *what;
  long nr;          /* syscall of the sync thread */
  int op;           /* PTRACE_SYSCALL_INFO_ENTRY or _EXIT */
  int nth;          /* its n-th stop of that kind in this run */
  unsigned hold_ms; /* stay there while the loop runs on, then kill */
} point;

static void test_kill9_at_commit_points(void **state) {
  fixture *f = *state;
  const long k = 20000;
  const int seed = 31;
  const point pts[] = {
      {"fdatasync entry #1 (written, not synced)", SYS_fdatasync, PTRACE_SYSCALL_INFO_ENTRY, 1, 0},
      {"fdatasync entry #2, held 300 ms (sync in flight, loop writing on)", SYS_fdatasync,
       PTRACE_SYSCALL_INFO_ENTRY, 2, 300},
      {"fdatasync exit #1 (synced, loop not told: no log record, no PUBACK)", SYS_fdatasync,
       PTRACE_SYSCALL_INFO_EXIT, 1, 0},
      {"fdatasync exit #2, held 200 ms", SYS_fdatasync, PTRACE_SYSCALL_INFO_EXIT, 2, 200},
      {"done byte #1 entry (between sync and PUBACK)", SYS_write, PTRACE_SYSCALL_INFO_ENTRY, 1, 0},
      {"done byte #2 entry", SYS_write, PTRACE_SYSCALL_INFO_ENTRY, 2, 0},
      {"done byte #1 exit (the loop may be acking)", SYS_write, PTRACE_SYSCALL_INFO_EXIT, 1, 0},
      {"fdatasync entry #3", SYS_fdatasync, PTRACE_SYSCALL_INFO_ENTRY, 3, 0},
  };
  const unsigned timed[] = {50, 150, 300};
  char ex[600];
  size_t i, runs = 1 /* backlog()'s run */, hits = 0;
  if (!tr_can_trace()) {
    fprintf(stderr, "SKIP: ptrace is not allowed here: cannot find commit points in hmq\n");
    skip();
  }
  snprintf(ex, sizeof ex, "--out '%s/kp.out' --dedupe 100000", f->b.dir);
  backlog(f, "kp", k, seed);
  for (i = 0; i < sizeof pts / sizeof pts[0]; i++) {
    /* held from its start: the n-th stop is the n-th of this run */
    pid_t pid = run_hmq(f, "kp", APP, ex, -1), tid = tr_sync_thread(pid);
    int r;
    assert_true(tid > 0);
    assert_int_equal(tr_hold(tid), 0);
    /* "connected to": the SUBACK may come after the backlog's first
     * messages, and a run can end before it */
    wait_log(f, "kp.log", "connected to", ++runs, 20000);
    r = tr_until_syscall(tid, pts[i].nr, pts[i].op, pts[i].nth, 5000);
    if (r == 1) {
      hits++;
      if (pts[i].hold_ms)
        hmq_h_sleep_ms(pts[i].hold_ms);
    }
    kill(pid, SIGKILL);
    tr_reap(tid);
    assert_int_equal(wait_exit(pid, 5000), 128 + SIGKILL);
    fprintf(stderr, "kill -9 at %s: %s; %zu lines in --out, %zu PUBACKs at the broker\n",
            pts[i].what, r == 1 ? "reached" : "NOT reached", whole_lines(f, "kp.out"),
            broker_saw(f, "Received PUBACK from", CLIENT("kp")));
  }
  for (i = 0; i < sizeof timed / sizeof timed[0]; i++) {
    pid_t pid = run_hmq(f, "kp", APP, ex, -1);
    wait_log(f, "kp.log", "connected to", ++runs, 20000);
    hmq_h_sleep_ms(timed[i]);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid, 5000), 128 + SIGKILL);
    fprintf(stderr, "kill -9 %u ms after CONNACK: %zu lines in --out\n", timed[i],
            whole_lines(f, "kp.out"));
  }
  /* most points must really have been hit (the backlog outlasts them) */
  assert_true(hits >= sizeof pts / sizeof pts[0] - 1);
  finish_drain(f, "kp", ex, ++runs, "kp.out", k);
  assert_exactly_once(f, "kp.out", k, seed);
}

/* ---- full disk ------------------------------------------------------------ */

/* A private mount namespace with a tmpfs of size_kb at <dir>/<name>, a
 * filler file taking fill_kb of it. 0, or -1 (not root, no namespaces). */
static int small_fs(const fixture *f, const char *name, unsigned size_kb, unsigned fill_kb) {
  char path[400], opts[64], filler[450];
  FILE *fp;
  unsigned i;
  static char kb[1024];
  if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    fprintf(stderr, "SKIP: no private mount namespace (%s): needs root\n", strerror(errno));
    return -1;
  }
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(opts, sizeof opts, "size=%uk,mode=0700", size_kb);
  if (mount("tmpfs", path, "tmpfs", 0, opts) != 0) {
    fprintf(stderr, "SKIP: cannot mount a tmpfs (%s)\n", strerror(errno));
    return -1;
  }
  snprintf(filler, sizeof filler, "%s/filler", path);
  fp = fopen(filler, "wb");
  assert_non_null(fp);
  memset(kb, 'x', sizeof kb);
  for (i = 0; i < fill_kb; i++)
    assert_int_equal(fwrite(kb, 1, sizeof kb, fp), sizeof kb);
  assert_int_equal(fclose(fp), 0);
  return 0;
}

static void free_space(const fixture *f, const char *name) {
  char filler[450];
  snprintf(filler, sizeof filler, "%s/%s/filler", f->b.dir, name);
  assert_int_equal(unlink(filler), 0);
}

static void unmount_small(const fixture *f, const char *name) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  (void)umount2(path, MNT_DETACH);
}

/* hmq runs into the full file system: exit 5, the reason on stderr, no
 * PUBACK beyond what --out holds; then space is freed and a restart
 * stores everything exactly once. */
#define HMQ_EXIT_SINK_CODE 5

static void full_disk_run(fixture *f, const char *tag, const char *client, const char *extra,
                          const char *out, const char *small, const char *needle, long k,
                          int seed) {
  char log[64];
  pid_t pid;
  int rc;
  size_t lines, acked;
  text t;
  backlog(f, tag, k, seed);
  pid = run_hmq(f, tag, APP, extra, -1);
  rc = wait_exit(pid, 30000);
  snprintf(log, sizeof log, "%s.log", tag);
  t = load(f, log);
  lines = whole_lines(f, out);
  acked = broker_saw(f, "Received PUBACK from", client);
  fprintf(stderr, "full disk (%s): exit %d, %zu whole lines in --out, %zu PUBACKs at the broker\n",
          small, rc, lines, acked);
  if (rc != HMQ_EXIT_SINK_CODE || !strstr(t.buf, "No space left on device") ||
      !strstr(t.buf, needle))
    fail_msg("want exit 5 and a line naming '%s' and 'No space left on device'; hmq said:\n%.3000s",
             needle, t.buf);
  text_free(&t);
  assert_true(lines < (size_t)k);
  assert_true(acked <= lines); /* nothing acknowledged that is not on disk */
  free_space(f, small);
  finish_drain(f, tag, extra, 3, out, k);
  assert_exactly_once(f, out, k, seed);
}

static void test_full_disk_out(void **state) {
  fixture *f = *state;
  char extra[800], needle[400];
  if (small_fs(f, "small", 2048, 1600) != 0)
    skip();
  snprintf(extra, sizeof extra, "--out '%s/small/fo.out' --dedupe 100000", f->b.dir);
  snprintf(needle, sizeof needle, "%s/small/fo.out", f->b.dir);
  full_disk_run(f, "fo", CLIENT("fo"), extra, "small/fo.out", "small", needle, 1000, 41);
  unmount_small(f, "small");
}

static void test_full_disk_dedupe_log(void **state) {
  fixture *f = *state;
  char extra[800];
  /* the state dir run_hmq gives tag "fs" (the dedupe log's home) */
  if (small_fs(f, "sd-fs", 128, 104) != 0)
    skip();
  snprintf(extra, sizeof extra, "--out '%s/fs.out' --dedupe 100000", f->b.dir);
  full_disk_run(f, "fs", CLIENT("fs"), extra, "fs.out", "sd-fs", "dedupe", 3000, 42);
  unmount_small(f, "sd-fs");
}

/* A failed test leaves its tmpfs mounted: unmount it before the temp dir
 * is removed. */
static int teardown_mounts(void **state) {
  fixture *f = *state;
  tr_teardown();
  if (f) {
    unmount_small(f, "small");
    unmount_small(f, "sd-fs");
  }
  return teardown(state);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_kill9_at_commit_points, setup, teardown_mounts),
      cmocka_unit_test_setup_teardown(test_full_disk_out, setup, teardown_mounts),
      cmocka_unit_test_setup_teardown(test_full_disk_dedupe_log, setup, teardown_mounts),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
