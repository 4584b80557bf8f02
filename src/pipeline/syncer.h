/* SPDX-License-Identifier: MIT */
/*
 * hmq program: one thread that runs fdatasync() beside the poll loop.
 *
 * The loop hands it a job (up to HMQ_SYNCER_FDS file descriptors whose
 * written bytes must reach the disk) and goes on reading, parsing and
 * writing. The thread syncs them in the order given, then makes done_fd
 * readable; the loop's hmq_syncer_poll() takes the result. At most one job
 * is in flight: a second start is refused until the first was collected.
 * The thread touches nothing but the fds and the shared part of this
 * struct (hmq_syncer_shared, on the heap, under its mutex), so the
 * caller's data needs no locking.
 *
 * A job may also carry a function that runs first (a database sink's
 * store of its sealed batch, bsink.h): what it touches is the caller's
 * contract; its result comes back with the job (hmq_syncer_result).
 */
#ifndef HMQ_APP_SYNCER_H
#define HMQ_APP_SYNCER_H

#include <pthread.h>
#include <stddef.h>

#include "hmq/hmq.h"

#define HMQ_SYNCER_FDS 3

/* What the thread and the loop share, under mu (on the heap: the thread
 * never points into the caller's struct, which may move or, in a test
 * that failed half way, be gone). */
typedef struct hmq_syncer_shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int wfd;  /* the pipe's write end: a byte when a job finished */
  int job;  /* a job waits for the thread */
  int done; /* the thread finished the job */
  int quit; /* close: the thread ends */
  int hold; /* test hook: the thread waits before running a job */
  int fds[HMQ_SYNCER_FDS];
  size_t nfd;
  int err_no;           /* first failure's errno, 0 when every sync succeeded */
  size_t failed;        /* index into fds of the failure */
  int (*fn)(void *arg); /* runs before the fds are synced, NULL: none */
  void *fn_arg;
  int fn_rc; /* what fn returned */
} hmq_syncer_shared;

typedef struct hmq_syncer {
  pthread_t th;
  hmq_syncer_shared *sh; /* NULL when not running */
  int opened;            /* hmq_syncer_open ran (pipe fds valid) */
  int running;           /* thread started */
  int pipe[2];           /* [0] readable once a job finished (the loop polls it) */
  int busy;              /* a job was started and not yet collected */
  int rc;                /* fn_rc of the job last collected */
} hmq_syncer;

/* Start the thread. HMQ_OK or HMQ_ERR_IO (no pipe, no thread). */
hmq_status hmq_syncer_open(hmq_syncer *s);

/* Hand over a job: fdatasync fds[0..n) in order. Returns HMQ_OK, or
 * HMQ_WANT_READ when a job is still in flight (nothing started). */
hmq_status hmq_syncer_start(hmq_syncer *s, const int *fds, size_t n);

/* The same, with fn(arg) run on the thread before the syncs (fds are
 * synced whatever it returns). */
hmq_status hmq_syncer_start_fn(hmq_syncer *s, int (*fn)(void *), void *arg, const int *fds,
                               size_t n);

/* What fn returned in the job last collected by hmq_syncer_poll (0 when
 * that job had none). */
int hmq_syncer_result(const hmq_syncer *s);

/* Collect the finished job: returns 1 with *err_no (0: all synced) and
 * *failed (which fd) set, 0 when none is finished (wait = 1: block until
 * the running one finishes; 0 also when no job was started). */
int hmq_syncer_poll(hmq_syncer *s, int wait, int *err_no, size_t *failed);

/* The fd the loop polls for POLLIN, -1 when not open. */
int hmq_syncer_fd(const hmq_syncer *s);

/* Test hook: hold = 1 makes the thread wait before it syncs a job (the
 * job stays in flight) until hold = 0 or close. */
void hmq_syncer_hold(hmq_syncer *s, int hold);

/* Let a running job finish, end the thread, close the pipe. Safe on a
 * zeroed or closed syncer. */
void hmq_syncer_close(hmq_syncer *s);

#endif
