/* SPDX-License-Identifier: MIT */
/*
 * Sinks: batched writes to stdout, an appended file or a child's stdin.
 *
 * Why a user-space buffer: at tens of thousands of messages per second one
 * write() per message costs more CPU than everything else together; one
 * write() per commit (or per full buffer) and one fdatasync per commit keeps
 * the syscall count proportional to batches, not messages.
 */
#define _DEFAULT_SOURCE 1 /* syscall() for pidfd_open */
#include "pipeline/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HMQ_SINK_DEFAULT_BUF    (256u * 1024u)
#define HMQ_SINK_CLOSE_GRACE_MS 5000u
#define HMQ_SINK_FIFO_POLL_MS   100

#ifndef PIPE_BUF
#define PIPE_BUF 512 /* POSIX minimum */
#endif

/* Process-wide: readable once the process is asked to stop. */
static int stop_fd = -1;

void hmq_sink_set_stop_fd(int fd) {
  stop_fd = fd;
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static hmq_status sink_fail(hmq_sink *s, hmq_status st, int err_no, const char *op) {
  if (s->err == HMQ_OK) {
    s->err = st;
    s->err_no = err_no;
    s->err_op = op;
  }
  return s->err;
}

/* A stop request seen for the first time starts the grace period. */
static int stop_requested(void) {
  struct pollfd p = {.fd = stop_fd, .events = POLLIN, .revents = 0};
  return stop_fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

int hmq_sink_stopping(void) {
  return stop_requested();
}

/* Milliseconds this sink may still wait: -1 = no limit (no stop request),
 * 0 = the grace after a stop request is over. */
static int wait_budget(hmq_sink *s) {
  if (!s->stop_at) {
    if (!stop_requested())
      return -1;
    s->stop_at = mono_ms() + HMQ_SINK_STOP_GRACE_MS;
  }
  uint64_t now = mono_ms();
  return now >= s->stop_at ? 0 : (int)(s->stop_at - now);
}

static hmq_status gave_up(hmq_sink *s, const char *op) {
  return sink_fail(s, HMQ_ERR_TIMEOUT, ECANCELED, op);
}

static const char *sink_name(const hmq_sink *s) {
  switch (s->kind) {
  case HMQ_SINK_STDOUT:
    return "stdout";
  case HMQ_SINK_STDERR:
    return "stderr";
  default:
    return s->arg ? s->arg : "?";
  }
}

/* Remember what the open fd is, so the dedupe log can tell later whether the
 * file at the path is still the one its offsets refer to, and how write()
 * may be called on it without blocking for good. */
static void sink_stat(hmq_sink *s, hmq_sink_io waits) {
  struct stat st;
  s->sync = 0;
  s->fifo = 0;
  s->io = HMQ_SINK_IO_PLAIN;
  if (fstat(s->fd, &st) != 0)
    return;
  s->fifo = S_ISFIFO(st.st_mode) ? 1 : 0;
  if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(s->fd))
    s->io = waits;
  if (S_ISREG(st.st_mode)) {
    s->sync = 1;
    s->dev = (uint64_t)st.st_dev;
    s->ino = (uint64_t)st.st_ino;
    s->size = (uint64_t)st.st_size;
  }
}

/* A FIFO: opened non-blocking (ENXIO while nobody has it open for
 * reading); say once that we wait for a reader, and keep trying until one
 * comes or a stop request. The fd stays non-blocking: it is ours alone. */
static int open_fifo(hmq_sink *s, char *err, size_t errlen) {
  int said = 0;
  for (;;) {
    s->fd = open(s->arg, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
    if (s->fd >= 0)
      break;
    if (errno == EINTR)
      continue;
    if (errno != ENXIO) {
      if (err && errlen)
        snprintf(err, errlen, "cannot open %s: %s", s->arg, strerror(errno));
      return -1;
    }
    if (!said) {
      fprintf(stderr, "hmq: %s is a FIFO with no reader: waiting for one to open it\n", s->arg);
      said = 1;
    }
    struct pollfd p = {.fd = stop_fd, .events = POLLIN, .revents = 0};
    if (poll(&p, stop_fd >= 0 ? 1 : 0, HMQ_SINK_FIFO_POLL_MS) > 0 && (p.revents & POLLIN)) {
      if (err && errlen)
        snprintf(err, errlen, "stopped while waiting for a reader on the FIFO %s", s->arg);
      errno = ECANCELED;
      return -2;
    }
  }
  if (said)
    fprintf(stderr, "hmq: %s: a reader opened the FIFO\n", s->arg);
  sink_stat(s, HMQ_SINK_IO_OWN);
  return 0;
}

/* Write-only: read access on a FIFO would make us one of its readers. */
static int open_file(hmq_sink *s, char *err, size_t errlen) {
  struct stat st;
  if (stat(s->arg, &st) == 0 && S_ISFIFO(st.st_mode))
    return open_fifo(s, err, errlen);
  s->fd = open(s->arg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (s->fd < 0) {
    if (err && errlen)
      snprintf(err, errlen, "cannot open %s: %s", s->arg, strerror(errno));
    return -1;
  }
  sink_stat(s, HMQ_SINK_IO_SHARED);
  return 0;
}

/* A dead reader (the --exec child, `hmq | head`) must show up as EPIPE from
 * write(), not kill hmq before it could decide not to acknowledge what the
 * reader never took; a file size limit (RLIMIT_FSIZE) likewise as EFBIG,
 * not as death by SIGXFSZ. */
static void ignore_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
  sigaction(SIGXFSZ, &sa, NULL);
}

/* A pollable fd that turns readable when the child exits (Linux 5.3+). */
static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    return (int)fd;
  }
#else
  (void)pid;
#endif
  return -1;
}

static int start_child(hmq_sink *s, char *err, size_t errlen) {
  int p[2];
  if (pipe(p) != 0) {
    if (err && errlen)
      snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  (void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
  (void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    if (err && errlen)
      snprintf(err, errlen, "fork: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    /* Own process group: a stuck command and its children can be ended
     * together at close. Ctrl-C still reaches hmq, which then closes the
     * pipe, and the command sees a clean EOF. */
    (void)setpgid(0, 0);
    if (dup2(p[0], 0) < 0)
      _exit(127);
    execl("/bin/sh", "sh", "-c", s->arg, (char *)NULL);
    _exit(127);
  }
  close(p[0]);
  s->fd = p[1];
  s->child = pid;
  s->pidfd = open_pidfd(pid);
  /* Our own pipe: non-blocking, so a stalled child cannot hold write(). */
  (void)fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
  s->io = HMQ_SINK_IO_OWN;
  s->fifo = 1;
  return 0;
}

hmq_status hmq_sink_open(hmq_sink *s, hmq_sink_kind kind, const char *arg, size_t bufcap, char *err,
                         size_t errlen) {
  if (!s)
    return HMQ_ERR_ARG;
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->pidfd = -1;
  s->kind = kind;
  if ((kind == HMQ_SINK_FILE || kind == HMQ_SINK_EXEC) && (!arg || !*arg)) {
    if (err && errlen)
      snprintf(err, errlen, "sink needs a %s", kind == HMQ_SINK_FILE ? "path" : "command");
    return HMQ_ERR_ARG;
  }
  s->cap = bufcap ? bufcap : HMQ_SINK_DEFAULT_BUF;
  s->buf = malloc(s->cap);
  if (arg) {
    size_t n = strlen(arg) + 1;
    s->arg = malloc(n);
    if (s->arg)
      memcpy(s->arg, arg, n);
  }
  if (!s->buf || (arg && !s->arg)) {
    if (err && errlen)
      snprintf(err, errlen, "out of memory");
    hmq_sink_close(s);
    return HMQ_ERR_IO;
  }
  ignore_signals();
  switch (kind) {
  case HMQ_SINK_STDOUT:
  case HMQ_SINK_STDERR:
    s->fd = kind == HMQ_SINK_STDOUT ? 1 : 2;
    sink_stat(s, HMQ_SINK_IO_SHARED);
    return HMQ_OK;
  case HMQ_SINK_FILE: {
    int r = open_file(s, err, errlen);
    if (r != 0) {
      hmq_sink_close(s);
      return r == -2 ? HMQ_ERR_TIMEOUT : HMQ_ERR_FILE;
    }
    return HMQ_OK;
  }
  case HMQ_SINK_EXEC:
    if (start_child(s, err, errlen) != 0) {
      hmq_sink_close(s);
      return HMQ_ERR_IO;
    }
    return HMQ_OK;
  }
  hmq_sink_close(s);
  return HMQ_ERR_ARG;
}

/* Reap the exec child if it has exited; returns 1 when it is gone. */
static int child_gone(hmq_sink *s) {
  if (s->kind != HMQ_SINK_EXEC)
    return 0;
  if (s->child <= 0)
    return 1;
  int st = 0;
  pid_t r = waitpid(s->child, &st, WNOHANG);
  if (r == s->child || (r < 0 && errno == ECHILD)) {
    s->child_status = st;
    s->child = 0;
    return 1;
  }
  return 0;
}

/* Wait until the fd takes more bytes. Gives up (HMQ_ERR_TIMEOUT) when a
 * stop request's grace is over, fails when the --exec child exited. */
static hmq_status wait_room(hmq_sink *s) {
  for (;;) {
    struct pollfd p[3];
    nfds_t n = 1;
    int budget = wait_budget(s), stop_i = -1, child_i = -1;
    if (budget == 0)
      return gave_up(s, "write");
    p[0].fd = s->fd;
    p[0].events = POLLOUT;
    if (!s->stop_at && stop_fd >= 0) {
      stop_i = (int)n;
      p[n].fd = stop_fd;
      p[n++].events = POLLIN;
    }
    if (s->pidfd >= 0) {
      child_i = (int)n;
      p[n].fd = s->pidfd;
      p[n++].events = POLLIN;
    }
    for (nfds_t i = 0; i < n; i++)
      p[i].revents = 0;
    int r = poll(p, n, budget);
    if (r < 0 && errno != EINTR)
      return sink_fail(s, HMQ_ERR_IO, errno, "poll");
    if (r <= 0)
      continue;
    if (p[0].revents)
      return HMQ_OK; /* room, or an error write() will report */
    if (child_i >= 0 && p[child_i].revents && child_gone(s))
      return sink_fail(s, HMQ_ERR_CLOSED, EPIPE, "write");
    (void)stop_i; /* a stop request: wait_budget() notes it on the next turn */
  }
}

/* A failed write to a file we opened leaves no torn line: cut it back to
 * where the last commit left it (nothing after that was acknowledged). */
static hmq_status write_failed(hmq_sink *s, int err_no) {
  hmq_status st = sink_fail(s, HMQ_ERR_IO, err_no, "write");
  if (s->kind == HMQ_SINK_FILE && s->sync && ftruncate(s->fd, (off_t)s->size) == 0)
    (void)fdatasync(s->fd);
  return st;
}

/* Bytes of p[0..n) up to and including its last newline; 0 when none. */
static size_t upto_newline(const uint8_t *p, size_t n) {
  while (n > 0 && p[n - 1] != '\n')
    n--;
  return n;
}

/* Write all of p. Never blocks for good on a pipe, FIFO or terminal: see
 * hmq_sink_io. On those, each write() is at most PIPE_BUF bytes and ends at
 * a line's end when one is in reach: the kernel takes such a write whole or
 * not at all, so a reader left behind by a stop (SIGTERM while the pipe is
 * full) finds whole lines only, unless a single line is longer than
 * PIPE_BUF. */
static hmq_status write_all(hmq_sink *s, const uint8_t *p, size_t n) {
  while (n > 0) {
    size_t want = n;
    if (s->io != HMQ_SINK_IO_PLAIN && want > PIPE_BUF) {
      size_t line = upto_newline(p, PIPE_BUF);
      want = line ? line : PIPE_BUF;
    }
    if (s->io == HMQ_SINK_IO_SHARED) {
      hmq_status st = wait_room(s);
      if (st != HMQ_OK)
        return st;
    }
    ssize_t k = write(s->fd, p, want);
    s->writes++;
    if (k > 0) {
      p += k;
      n -= (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      hmq_status st = wait_room(s);
      if (st != HMQ_OK)
        return st;
      continue;
    }
    if (k < 0 && errno == EPIPE) {
      (void)child_gone(s);
      return sink_fail(s, HMQ_ERR_CLOSED, EPIPE, "write");
    }
    return write_failed(s, k < 0 ? errno : EIO);
  }
  return HMQ_OK;
}

static hmq_status flush_buf(hmq_sink *s) {
  if (s->err != HMQ_OK)
    return s->err;
  if (s->len == 0)
    return HMQ_OK;
  hmq_status st = write_all(s, s->buf, s->len);
  s->len = 0;
  return st;
}

/* The buffer is full in the middle of a line: on a pipe, write the whole
 * lines and keep the started one for the next write (see write_all). */
static hmq_status make_room(hmq_sink *s) {
  size_t whole = s->io == HMQ_SINK_IO_PLAIN ? 0 : upto_newline(s->buf, s->len);
  if (whole == 0 || whole == s->len)
    return flush_buf(s);
  hmq_status st = write_all(s, s->buf, whole);
  if (st != HMQ_OK) {
    s->len = 0;
    return st;
  }
  memmove(s->buf, s->buf + whole, s->len - whole);
  s->len -= whole;
  return HMQ_OK;
}

hmq_status hmq_sink_reserve(hmq_sink *s, size_t want, uint8_t **p, size_t *room) {
  if (s->err != HMQ_OK)
    return s->err;
  if (s->fd < 0)
    return sink_fail(s, HMQ_ERR_STATE, EBADF, "write");
  if (s->cap - s->len < want && s->len > 0) {
    hmq_status st = flush_buf(s);
    if (st != HMQ_OK)
      return st;
  }
  *p = s->buf + s->len;
  *room = s->cap - s->len;
  return HMQ_OK;
}

void hmq_sink_advance(hmq_sink *s, size_t n) {
  if (n > s->cap - s->len)
    n = s->cap - s->len;
  s->len += n;
}

hmq_status hmq_sink_write(hmq_sink *s, const void *data, size_t n) {
  const uint8_t *p = data;
  if (s->err != HMQ_OK)
    return s->err;
  if (s->fd < 0)
    return sink_fail(s, HMQ_ERR_STATE, EBADF, "write");
  while (n > 0) {
    size_t room = s->cap - s->len;
    if (room == 0) {
      hmq_status st = make_room(s);
      if (st != HMQ_OK)
        return st;
      room = s->cap - s->len;
    }
    size_t k = n < room ? n : room;
    memcpy(s->buf + s->len, p, k);
    s->len += k;
    p += k;
    n -= k;
  }
  return HMQ_OK;
}

/* Bytes still sitting in the pipe, or -1 when the system cannot tell. */
static int pipe_unread(int fd) {
#ifdef FIONREAD
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
#else
  (void)fd;
  return -1;
#endif
}

/* The pipe's last reader closed it (the child closed its stdin but lives
 * on): poll reports POLLERR on the write end. */
static int reader_gone(int fd) {
  struct pollfd pfd = {.fd = fd, .events = POLLOUT, .revents = 0};
  return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLERR);
}

/* Sleep about ns, or less when the child exits (its pidfd). */
static void nap(hmq_sink *s, long ns) {
  if (s->pidfd >= 0 && ns >= 1000000L) {
    struct pollfd p = {.fd = s->pidfd, .events = POLLIN, .revents = 0};
    (void)poll(&p, 1, (int)(ns / 1000000L));
    return;
  }
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

/* EXEC (and a pipe on stdout) commit: bytes accepted by the pipe are not
 * yet taken by the command; one that dies with them unread never sees them.
 * So wait until the child has read everything out of the pipe (it usually
 * has within microseconds), failing if it exits first. A child that stops
 * reading holds the commit, like a full pipe holds write(): backpressure,
 * not a timeout -- until a stop request, which gives it
 * HMQ_SINK_STOP_GRACE_MS more. */
static hmq_status wait_drained(hmq_sink *s) {
  for (unsigned round = 0;; round++) {
    /* Read out = taken, even if the child exits right after (the next
     * write or check reports that); unread and gone = lost: fail. */
    int unread = pipe_unread(s->fd);
    if (unread == 0)
      return HMQ_OK;
    if (child_gone(s) || reader_gone(s->fd))
      return sink_fail(s, HMQ_ERR_CLOSED, EPIPE, "commit");
    if (unread < 0)
      return HMQ_OK; /* cannot tell: written into a live child's pipe */
    if (round < 16) {
      sched_yield();
      continue;
    }
    if (wait_budget(s) == 0)
      return gave_up(s, "commit");
    long ns = round < 26 ? 20000L << (round - 16) : 1000000L; /* 20 us .. 1 ms */
    nap(s, ns > 1000000L ? 1000000L : ns);
  }
}

hmq_status hmq_sink_commit(hmq_sink *s) {
  hmq_status st = flush_buf(s);
  if (st != HMQ_OK)
    return st;
  if (s->fd < 0)
    return sink_fail(s, HMQ_ERR_STATE, EBADF, "commit");
  if (s->kind == HMQ_SINK_EXEC || s->fifo)
    return wait_drained(s);
  if (s->sync) {
    s->syncs++;
    while (fdatasync(s->fd) != 0) {
      if (errno != EINTR)
        return sink_fail(s, HMQ_ERR_IO, errno, "fdatasync");
    }
    struct stat sb;
    if (fstat(s->fd, &sb) == 0)
      s->size = (uint64_t)sb.st_size;
  }
  return HMQ_OK;
}

hmq_status hmq_sink_flush(hmq_sink *s) {
  if (s->fd < 0)
    return sink_fail(s, HMQ_ERR_STATE, EBADF, "write");
  return flush_buf(s);
}

void hmq_sink_synced(hmq_sink *s, uint64_t size) {
  s->syncs++;
  s->size = size;
}

hmq_status hmq_sink_fail(hmq_sink *s, hmq_status st, int err_no, const char *op) {
  return sink_fail(s, st, err_no, op);
}

hmq_status hmq_sink_check(hmq_sink *s) {
  if (s->err == HMQ_OK && child_gone(s))
    return sink_fail(s, HMQ_ERR_CLOSED, EPIPE, "check");
  return s->err;
}

int hmq_sink_watch_fd(const hmq_sink *s) {
  return s->kind == HMQ_SINK_EXEC && s->child > 0 ? s->pidfd : -1;
}

hmq_status hmq_sink_reopen(hmq_sink *s, char *err, size_t errlen) {
  if (s->kind != HMQ_SINK_FILE)
    return s->err;
  hmq_status st = hmq_sink_commit(s);
  if (st != HMQ_OK)
    return st;
  int old = s->fd;
  if (open_file(s, err, errlen) != 0) {
    /* Keep writing to the old file rather than losing the sink. */
    s->fd = old;
    sink_stat(s, s->io);
    return HMQ_ERR_FILE;
  }
  close(old);
  return HMQ_OK;
}

size_t hmq_sink_buffered(const hmq_sink *s) {
  return s->len;
}

void hmq_sink_close(hmq_sink *s) {
  if (!s)
    return;
  if (s->fd > 2)
    close(s->fd);
  s->fd = -1;
  if (s->kind == HMQ_SINK_EXEC && s->child > 0) {
    /* EOF on its stdin should end the child; give it a bounded time to
     * finish its work, then end its whole process group (the shell and what
     * it started), so close never hangs on a stuck command. */
    unsigned grace = s->close_grace_ms ? s->close_grace_ms : HMQ_SINK_CLOSE_GRACE_MS;
    if (s->err == HMQ_ERR_TIMEOUT && grace > HMQ_SINK_STOP_CLOSE_MS)
      grace = HMQ_SINK_STOP_CLOSE_MS; /* a stop request already gave up on it */
    int sig = SIGTERM;
    for (unsigned waited = 0; !child_gone(s); waited += 10) {
      if (waited >= grace) {
        kill(-s->child, sig);
        kill(s->child, sig);
        sig = SIGKILL;
        waited = 0;
        grace = 2000;
      }
      nap(s, 10 * 1000 * 1000);
    }
  }
  if (s->kind == HMQ_SINK_EXEC && s->pidfd >= 0)
    close(s->pidfd);
  s->pidfd = -1;
  free(s->buf);
  free(s->arg);
  s->buf = NULL;
  s->arg = NULL;
  s->cap = s->len = 0;
}

void hmq_sink_describe(const hmq_sink *s, char *buf, size_t len) {
  if (!buf || !len)
    return;
  const char *op = s->err_op ? s->err_op : "write";
  if (s->err == HMQ_OK) {
    snprintf(buf, len, "%s: ok", sink_name(s));
  } else if (s->err == HMQ_ERR_TIMEOUT) {
    snprintf(buf, len, "%s %s: gave up %u ms after the stop request: the reader took nothing more",
             op, sink_name(s), HMQ_SINK_STOP_GRACE_MS);
  } else if (s->kind == HMQ_SINK_EXEC && s->err == HMQ_ERR_CLOSED) {
    if (s->child == 0 && WIFEXITED(s->child_status))
      snprintf(buf, len, "exec '%s': command exited with status %d", sink_name(s),
               WEXITSTATUS(s->child_status));
    else if (s->child == 0 && WIFSIGNALED(s->child_status))
      snprintf(buf, len, "exec '%s': command killed by signal %d", sink_name(s),
               WTERMSIG(s->child_status));
    else
      snprintf(buf, len, "exec '%s': command stopped reading its input", sink_name(s));
  } else if (s->err == HMQ_ERR_CLOSED) {
    snprintf(buf, len, "%s %s: the reader closed it (%s)", op, sink_name(s), strerror(EPIPE));
  } else if (s->err_no) {
    snprintf(buf, len, "%s %s: %s (errno %d)", op, sink_name(s), strerror(s->err_no), s->err_no);
  } else {
    snprintf(buf, len, "%s %s: %s", op, sink_name(s), hmq_status_str(s->err));
  }
}
