/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the real `hmq` program (see e2e.h) with a sink that
 * blocks or goes away:
 *
 *  - SIGTERM while stdout is a full pipe nobody reads, and while an --exec
 *    command never reads: hmq stops within 2 s, exit 0, says how many
 *    messages it left unwritten, leaves whole lines in the pipe, and a
 *    later run brings every message;
 *  - a FIFO --out without a reader: hmq says it waits for one, and SIGTERM
 *    ends the wait at once, exit 0 (the signal is handled from before the
 *    sinks open);
 *  - an --exec command that exits while no message flows: noticed at once
 *    (pidfd / SIGCHLD), exit 5 naming the command's exit status;
 *  - SIGHUP when --out cannot be opened again: one line naming the file and
 *    the reason (never an empty "reopen failed:").
 */
#include "e2e.h"

/* SIGTERM, then the exit code and how long hmq took (ms). */
static int term_and_time(pid_t pid, uint64_t *took) {
  uint64_t t0 = hmq_h_now();
  int rc;
  kill(pid, SIGTERM);
  rc = wait_exit(pid, 10000);
  *took = hmq_h_now() - t0;
  return rc;
}

/* Distinct ids among the complete lines of t plus those of <dir>/<name>. */
static size_t ids_with(const fixture *f, const text *t, const char *name) {
  text all = {0}, more = load(f, name);
  size_t i, d;
  text_add(&all, "", 0);
  for (i = 0; i < t->n; i++)
    if (!(t->partial && i == t->n - 1)) {
      text_add(&all, t->v[i].p, t->v[i].n);
      text_add(&all, "\n", 1);
    }
  text_add(&all, more.buf, more.len);
  text_split(&all);
  d = distinct_ids(&all);
  text_free(&all);
  text_free(&more);
  return d;
}

/* After the stop: a second run (same session, same state dir) to a file
 * must bring everything that was not already taken by the reader. */
static void rest_arrives(const fixture *f, const char *tag, const text *got, long k) {
  uint64_t end = hmq_h_now() + 40000, took;
  char extra[500];
  pid_t pid;
  snprintf(extra, sizeof extra, "--out '%s/rest'", f->b.dir);
  pid = run_hmq(f, tag, APP, extra, -1);
  while (ids_with(f, got, "rest") < (size_t)k && hmq_h_now() < end)
    hmq_h_sleep_ms(100);
  assert_int_equal(term_and_time(pid, &took), 0);
  assert_int_equal(ids_with(f, got, "rest"), k);
}

static void test_sigterm_with_stdout_pipe_full(void **state) {
  fixture *f = *state;
  const long k = 3000;
  text got = {0};
  int p[2], unread = 0, rc;
  uint64_t took;
  pid_t pid;
  backlog(f, "bp", k, 7);
  make_pipe(p);
  pid = run_hmq(f, "bp", APP, "", p[1]);
  close(p[1]);
  hmq_h_sleep_ms(2000); /* the pipe fills; hmq blocks in its sink */
  ioctl(p[0], FIONREAD, &unread);
  assert_true(unread > 0);
  rc = term_and_time(pid, &took);
  fprintf(stderr, "blocked stdout: exit %d %llu ms after SIGTERM\n", rc, (unsigned long long)took);
  assert_int_equal(rc, 0);
  assert_true(took < 2000);
  wait_log(f, "bp.log", "not written, not acknowledged", 1, 1000);
  text_add(&got, "", 0);
  assert_true(drain(p[0], &got, hmq_h_now() + 5000));
  close(p[0]);
  text_split(&got);
  assert_true(got.n > 0);
  /* hmq writes a pipe in whole lines (PIPE_BUF pieces that end at a line's
   * end): the stop leaves no torn line for the reader */
  assert_false(got.partial);
  rest_arrives(f, "bp", &got, k);
  text_free(&got);
}

static void test_sigterm_with_exec_never_reading(void **state) {
  fixture *f = *state;
  const long k = 3000;
  text none = {0};
  int rc;
  uint64_t took;
  pid_t pid;
  backlog(f, "bx", k, 8);
  pid = run_hmq(f, "bx", APP, "--exec 'exec sleep 60'", -1);
  hmq_h_sleep_ms(2000);
  rc = term_and_time(pid, &took);
  fprintf(stderr, "stalled --exec: exit %d %llu ms after SIGTERM\n", rc, (unsigned long long)took);
  assert_int_equal(rc, 0);
  assert_true(took < 2000);
  wait_log(f, "bx.log", "not written, not acknowledged", 1, 1000);
  text_add(&none, "", 0);
  text_split(&none);
  rest_arrives(f, "bx", &none, k); /* the command took nothing: all of it again */
  text_free(&none);
}

static void test_fifo_without_reader_waits_and_stops(void **state) {
  fixture *f = *state;
  char path[400], extra[500];
  uint64_t took;
  int rc;
  pid_t pid;
  snprintf(path, sizeof path, "%s/fifo", f->b.dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  snprintf(extra, sizeof extra, "--out '%s'", path);
  pid = run_hmq(f, "ff", APP, extra, -1);
  wait_log(f, "ff.log", "is a FIFO with no reader: waiting for one", 1, 10000);
  rc = term_and_time(pid, &took);
  fprintf(stderr, "FIFO wait: exit %d %llu ms after SIGTERM\n", rc, (unsigned long long)took);
  assert_int_equal(rc, 0); /* a requested stop, not death by SIGTERM (143) */
  assert_true(took < 2000);
  wait_log(f, "ff.log", "stopped while waiting for a reader on the FIFO", 1, 1000);
}

/* The --exec command exits while nothing flows: before, hmq noticed only
 * at the next message (here: at -W 40). */
static void test_exec_exit_noticed_at_once(void **state) {
  fixture *f = *state;
  uint64_t t0 = hmq_h_now();
  pid_t pid = run_hmq(f, "xe", APP, "--exec 'sleep 1; exit 3'", -1);
  int rc = wait_exit(pid, 15000);
  fprintf(stderr, "--exec exited: hmq exit %d after %llu ms\n", rc,
          (unsigned long long)(hmq_h_now() - t0));
  assert_int_equal(rc, 5);
  wait_log(f, "xe.log", "command exited with status 3", 1, 1000);
}

/* SIGHUP with --out's directory gone: writing goes on into the old file,
 * and the line says which file and why. */
static void test_reopen_failure_names_file(void **state) {
  fixture *f = *state;
  char dir[400], moved[400], extra[500];
  uint64_t took;
  pid_t pid;
  snprintf(dir, sizeof dir, "%s/outdir", f->b.dir);
  snprintf(moved, sizeof moved, "%s/outdir.moved", f->b.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(extra, sizeof extra, "--out '%s/out'", dir);
  pid = run_hmq(f, "ho", APP, extra, -1);
  wait_log(f, "ho.log", "subscribed to", 1, 10000);
  assert_int_equal(rename(dir, moved), 0);
  kill(pid, SIGHUP);
  wait_log(f, "ho.log", "reopen failed: cannot open", 1, 5000);
  wait_log(f, "ho.log", "No such file or directory (still writing to the old file)", 1, 1000);
  assert_int_equal(term_and_time(pid, &took), 0);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sigterm_with_stdout_pipe_full, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigterm_with_exec_never_reading, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_without_reader_waits_and_stops, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_exit_noticed_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_failure_names_file, setup, teardown),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
