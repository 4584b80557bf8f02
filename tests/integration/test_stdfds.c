/* SPDX-License-Identifier: MIT */
/*
 * hmq started with standard descriptors closed (`hmq ... >&- 2>&-`, as some
 * service managers do). Without care the first file hmq opens takes the
 * lowest free descriptor: a state file becomes "standard output", messages
 * and log lines go into it and are acknowledged. hmq puts /dev/null on each
 * closed descriptor 0-2 before opening anything, and refuses to start
 * (exit 5, acknowledging nothing) when the sink is standard output and
 * descriptor 1 was closed.
 */
#include "e2e.h"

#include <dirent.h>

/* Two envelopes, one per file: e1.ndjson, e2.ndjson. */
static void two_envelopes(const fixture *f) {
  text t;
  int k;
  sim_write(f, "e.ndjson", 2, 7);
  t = load(f, "e.ndjson");
  assert_int_equal(t.n, 2);
  for (k = 0; k < 2; k++) {
    char path[400];
    FILE *fp;
    snprintf(path, sizeof path, "%s/e%d.ndjson", f->b.dir, k + 1);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%.*s\n", (int)t.v[k].n, t.v[k].p);
    assert_int_equal(fclose(fp), 0);
  }
  text_free(&t);
}

/* hmq over mutual TLS with a persistent session, client id ...-fds, state
 * dir <dir>/sd, output <dir>/<out> unless out is NULL (then: stdout);
 * `redir` is appended to the command (bash redirections). */
static pid_t hmq_fds(const fixture *f, const char *out, const char *extra, const char *redir,
                     const char *log) {
  char cmd[4096], o[400] = "";
  if (out)
    snprintf(o, sizeof o, "--out '%s/%s'", f->b.dir, out);
  snprintf(cmd, sizeof cmd,
           "exec '%s' %s -V 5 -q 1 -c --id " APP "-sandbox-fds --topic 'sandbox/level13/" APP
           "/#' --state-dir '%s/sd' %s %s %s",
           f->hmq, f->tls, f->b.dir, o, extra, redir);
  return spawn(cmd, -1, log);
}

/* The persistent session exists (the broker queues for it from now on). */
static void make_session(const fixture *f) {
  assert_int_equal(wait_exit(hmq_fds(f, "first.out", "-W 2", "", "first.log"), 15000), 27);
}

/* <dir>/<name> holds exactly the message of e<k>.ndjson, once. */
static void holds_only(const fixture *f, const char *name, int k) {
  char e[32];
  text got, want;
  snprintf(e, sizeof e, "e%d.ndjson", k);
  got = load(f, name);
  want = load(f, e);
  if (got.n != 1 || ln_cmp(&got.v[0], &want.v[0]) != 0)
    fail_msg("%s: want exactly the line of %s, got %zu lines:\n%.1500s", name, e, got.n, got.buf);
  text_free(&got);
  text_free(&want);
}

/* Sink = standard output, descriptor 1 closed: exit 5 at once with a
 * message on what is left of stderr, nothing acknowledged (the next run
 * receives the queued message). Before: hmq ran, the message went into a
 * state file and was acknowledged. */
static void test_closed_stdout_as_sink_is_refused(void **state) {
  fixture *f = *state;
  uint64_t t0;
  two_envelopes(f);
  make_session(f);
  publish_file(f, "e1.ndjson");
  t0 = hmq_h_now();
  assert_int_equal(wait_exit(hmq_fds(f, NULL, "-W 5 -v", ">&-", "closed.log"), 15000), 5);
  assert_true(hmq_h_now() - t0 < 4000); /* refused at start, not after -W */
  wait_log(f, "closed.log", "standard output is closed", 1, 1000);
  assert_int_equal(wait_exit(hmq_fds(f, "second.out", "-C 1 -W 20", "", "second.log"), 30000), 0);
  holds_only(f, "second.out", 1);
}

/* Descriptors 0, 1 and 2 closed, output to a file, -d writing to stderr:
 * the output holds exactly the message, and no state file holds a log
 * line. Before: the first files opened became descriptors 0-2 (lock file,
 * --out, its dead-letter file: the -d lines went into the latter). */
static void test_closed_std_fds_get_dev_null(void **state) {
  fixture *f = *state;
  char sd[300];
  DIR *d;
  struct dirent *de;
  size_t files = 0;
  text dead;
  two_envelopes(f);
  make_session(f);
  publish_file(f, "e2.ndjson");
  assert_int_equal(
      wait_exit(hmq_fds(f, "third.out", "-C 1 -W 20 -v -d", "<&- >&- 2>&-", "third.log"), 30000),
      0);
  holds_only(f, "third.out", 2);
  dead = load(f, "third.out.dead"); /* the dead-letter file: no log lines either */
  if (strstr(dead.buf, "hmq:"))
    fail_msg("third.out.dead holds log text:\n%.800s", dead.buf);
  text_free(&dead);
  snprintf(sd, sizeof sd, "%s/sd", f->b.dir);
  d = opendir(sd);
  assert_non_null(d);
  while ((de = readdir(d)) != NULL) {
    char name[400];
    text t;
    if (de->d_name[0] == '.')
      continue;
    snprintf(name, sizeof name, "sd/%s", de->d_name);
    t = load(f, name);
    if (strstr(t.buf, "hmq:") || strstr(t.buf, "CONNACK") || strstr(t.buf, "message_id"))
      fail_msg("state file %s holds output or log text:\n%.800s", name, t.buf);
    text_free(&t);
    files++;
  }
  closedir(d);
  assert_true(files > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_closed_stdout_as_sink_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_closed_std_fds_get_dev_null, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
