/* SPDX-License-Identifier: MIT */
/*
 * The sync thread (see syncer.h).
 *
 * Why a thread and not the kernel's asynchronous interfaces: fdatasync is
 * the one call whose completion says the bytes are on the disk; a thread
 * that makes it is the portable way to wait for it without stalling the
 * loop, and a pipe carries "done" into the loop's poll() set.
 */
#include "pipeline/syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static void *run(void *arg) {
  hmq_syncer *s = arg;
  for (;;) {
    int fds[HMQ_SYNCER_FDS];
    size_t n, i, failed = 0;
    int err_no = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->quit && (!s->job || s->hold))
      pthread_cond_wait(&s->cv, &s->mu);
    if (s->quit && !s->job) {
      pthread_mutex_unlock(&s->mu);
      return NULL;
    }
    n = s->nfd;
    memcpy(fds, s->fds, n * sizeof fds[0]);
    int (*fn)(void *) = s->fn;
    void *fn_arg = s->fn_arg;
    pthread_mutex_unlock(&s->mu);
    int fn_rc = fn ? fn(fn_arg) : 0;
    for (i = 0; i < n && !err_no; i++) {
      while (fdatasync(fds[i]) != 0) {
        if (errno != EINTR) {
          err_no = errno;
          failed = i;
          break;
        }
      }
    }
    pthread_mutex_lock(&s->mu);
    s->job = 0;
    s->done = 1;
    s->err_no = err_no;
    s->failed = failed;
    s->fn_rc = fn_rc;
    pthread_mutex_unlock(&s->mu);
    unsigned char b = 1;
    if (write(s->pipe[1], &b, 1) < 0) {
      /* full: a byte already says done (only one job is ever in flight) */
    }
  }
}

hmq_status hmq_syncer_open(hmq_syncer *s) {
  memset(s, 0, sizeof *s);
  s->pipe[0] = s->pipe[1] = -1;
  s->opened = 1;
  if (pipe(s->pipe) != 0)
    return HMQ_ERR_IO;
  for (int i = 0; i < 2; i++) {
    (void)fcntl(s->pipe[i], F_SETFL, O_NONBLOCK);
    (void)fcntl(s->pipe[i], F_SETFD, FD_CLOEXEC);
  }
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  if (pthread_cond_init(&s->cv, NULL) != 0) {
    pthread_mutex_destroy(&s->mu);
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  if (pthread_create(&s->th, NULL, run, s) != 0) {
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  s->running = 1;
  return HMQ_OK;
}

hmq_status hmq_syncer_start(hmq_syncer *s, const int *fds, size_t n) {
  return hmq_syncer_start_fn(s, NULL, NULL, fds, n);
}

hmq_status hmq_syncer_start_fn(hmq_syncer *s, int (*fn)(void *), void *arg, const int *fds,
                               size_t n) {
  if (!s->running || n > HMQ_SYNCER_FDS)
    return HMQ_ERR_STATE;
  if (s->busy)
    return HMQ_WANT_READ;
  pthread_mutex_lock(&s->mu);
  s->fn = fn;
  s->fn_arg = arg;
  if (n)
    memcpy(s->fds, fds, n * sizeof fds[0]);
  s->nfd = n;
  s->job = 1;
  s->done = 0;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  s->busy = 1;
  return HMQ_OK;
}

int hmq_syncer_poll(hmq_syncer *s, int wait, int *err_no, size_t *failed) {
  if (!s->running || !s->busy)
    return 0;
  for (;;) {
    unsigned char b[8];
    int done;
    pthread_mutex_lock(&s->mu);
    done = s->done;
    if (done) {
      *err_no = s->err_no;
      *failed = s->failed;
      s->rc = s->fn_rc;
      s->done = 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (done) {
      while (read(s->pipe[0], b, sizeof b) > 0) {
      }
      s->busy = 0;
      return 1;
    }
    if (!wait)
      return 0;
    struct pollfd p = {.fd = s->pipe[0], .events = POLLIN, .revents = 0};
    (void)poll(&p, 1, 1000);
  }
}

int hmq_syncer_result(const hmq_syncer *s) {
  return s->rc;
}

int hmq_syncer_fd(const hmq_syncer *s) {
  return s->running ? s->pipe[0] : -1;
}

void hmq_syncer_hold(hmq_syncer *s, int hold) {
  if (!s->running)
    return;
  pthread_mutex_lock(&s->mu);
  s->hold = hold;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

void hmq_syncer_close(hmq_syncer *s) {
  if (!s)
    return;
  if (s->running) {
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    s->hold = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    s->running = 0;
  }
  for (int i = 0; s->opened && i < 2; i++) {
    if (s->pipe[i] >= 0)
      close(s->pipe[i]);
    s->pipe[i] = -1;
  }
  s->opened = 0;
  s->busy = 0;
}
