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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *run(void *arg) {
  hmq_syncer_shared *s = arg;
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
    int wfd = s->wfd;
    pthread_mutex_unlock(&s->mu);
    unsigned char b = 1;
    if (write(wfd, &b, 1) < 0) {
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
  hmq_syncer_shared *sh = calloc(1, sizeof *sh);
  if (!sh) {
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  sh->wfd = s->pipe[1];
  if (pthread_mutex_init(&sh->mu, NULL) != 0) {
    free(sh);
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  if (pthread_cond_init(&sh->cv, NULL) != 0) {
    pthread_mutex_destroy(&sh->mu);
    free(sh);
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  if (pthread_create(&s->th, NULL, run, sh) != 0) {
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
    free(sh);
    hmq_syncer_close(s);
    return HMQ_ERR_IO;
  }
  s->sh = sh;
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
  hmq_syncer_shared *sh = s->sh;
  pthread_mutex_lock(&sh->mu);
  sh->fn = fn;
  sh->fn_arg = arg;
  if (n)
    memcpy(sh->fds, fds, n * sizeof fds[0]);
  sh->nfd = n;
  sh->job = 1;
  sh->done = 0;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  s->busy = 1;
  return HMQ_OK;
}

int hmq_syncer_poll(hmq_syncer *s, int wait, int *err_no, size_t *failed) {
  if (!s->running || !s->busy)
    return 0;
  hmq_syncer_shared *sh = s->sh;
  for (;;) {
    unsigned char b[8];
    int done;
    pthread_mutex_lock(&sh->mu);
    done = sh->done;
    if (done) {
      *err_no = sh->err_no;
      *failed = sh->failed;
      s->rc = sh->fn_rc;
      sh->done = 0;
    }
    pthread_mutex_unlock(&sh->mu);
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
  pthread_mutex_lock(&s->sh->mu);
  s->sh->hold = hold;
  pthread_cond_broadcast(&s->sh->cv);
  pthread_mutex_unlock(&s->sh->mu);
}

void hmq_syncer_close(hmq_syncer *s) {
  if (!s)
    return;
  if (s->running) {
    hmq_syncer_shared *sh = s->sh;
    pthread_mutex_lock(&sh->mu);
    sh->quit = 1;
    sh->hold = 0;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    pthread_join(s->th, NULL);
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
    free(sh);
    s->sh = NULL;
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
