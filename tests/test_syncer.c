/* SPDX-License-Identifier: MIT */
/*
 * The sync thread (pipeline/syncer.h): a job's function runs before its
 * fds are synced and its result comes back with the job; a sync failure
 * names the fd; one job in flight; and a syncer whose owner went away
 * without closing it (a test that failed half way, its struct on a stack
 * that is reused) does not disturb a new syncer opened at the same
 * address: the thread shares only heap memory with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/syncer.h"

static int calls;

static int job_fn(void *arg) {
  calls++;
  return *(int *)arg;
}

static int wait_done(hmq_syncer *s, int *err_no, size_t *failed) {
  struct pollfd p = {.fd = hmq_syncer_fd(s), .events = POLLIN, .revents = 0};
  for (int i = 0; i < 500; i++) {
    if (hmq_syncer_poll(s, 0, err_no, failed))
      return 1;
    (void)poll(&p, 1, 10);
  }
  return 0;
}

static void fn_result_and_sync_failure(void **state) {
  (void)state;
  hmq_syncer s;
  int e = -1, rc = 42;
  size_t f = 99;
  char tmpl[] = "syncer-XXXXXX";
  int fd = mkstemp(tmpl);
  assert_true(fd >= 0);
  unlink(tmpl);
  assert_int_equal(hmq_syncer_open(&s), HMQ_OK);
  calls = 0;
  int fds[2] = {fd, -1}; /* the second fails: EBADF */
  assert_int_equal(hmq_syncer_start_fn(&s, job_fn, &rc, fds, 2), HMQ_OK);
  assert_int_equal(hmq_syncer_start(&s, fds, 1), HMQ_WANT_READ); /* one in flight */
  assert_true(wait_done(&s, &e, &f));
  assert_int_equal(calls, 1);
  assert_int_equal(hmq_syncer_result(&s), 42);
  assert_int_equal(e, EBADF);
  assert_int_equal(f, 1);
  /* a plain job: no function, result 0 */
  assert_int_equal(hmq_syncer_start(&s, fds, 1), HMQ_OK);
  assert_true(wait_done(&s, &e, &f));
  assert_int_equal(e, 0);
  assert_int_equal(hmq_syncer_result(&s), 0);
  assert_int_equal(calls, 1);
  hmq_syncer_close(&s);
  close(fd);
}

static void abandoned_syncer_leaves_a_new_one_alone(void **state) {
  (void)state;
  static struct { hmq_syncer s; } slot;
  int e = -1, rc = 7;
  size_t f = 0;
  /* the owner goes away: used, never closed, its memory reused by a new
   * syncer at the same address (before the shared part moved to the heap,
   * the new one's close hung in 2 of 3 runs: its thread and the old one
   * waited on one condition variable, initialised again under them) */
  for (int round = 0; round < 3; round++) {
    assert_int_equal(hmq_syncer_open(&slot.s), HMQ_OK);
    for (int j = 0; j < 3; j++) {
      assert_int_equal(hmq_syncer_start_fn(&slot.s, job_fn, &rc, NULL, 0), HMQ_OK);
      assert_true(wait_done(&slot.s, &e, &f));
    }
    (void)poll(NULL, 0, 1); /* the thread back in its wait */
  }
  assert_int_equal(hmq_syncer_open(&slot.s), HMQ_OK);
  calls = 0;
  assert_int_equal(hmq_syncer_start_fn(&slot.s, job_fn, &rc, NULL, 0), HMQ_OK);
  assert_true(wait_done(&slot.s, &e, &f));
  assert_int_equal(hmq_syncer_result(&slot.s), 7);
  assert_int_equal(calls, 1);
  hmq_syncer_close(&slot.s); /* joins its own thread only, at once */
  assert_int_equal(hmq_syncer_fd(&slot.s), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fn_result_and_sync_failure),
      cmocka_unit_test(abandoned_syncer_leaves_a_new_one_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
