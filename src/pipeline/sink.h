/* SPDX-License-Identifier: MIT */
/*
 * hmq program: where delivered lines go (stdout, an appended file, or the
 * stdin of a long-running child command), with batching and commit.
 *
 * A sink owns one user-space buffer, allocated once at open. Writes go into
 * that buffer; the buffer is handed to write() only when it is full or at
 * commit, never once per message. Commit makes everything written so far
 * durable as far as the kind allows:
 *   - file (and stdout when it is a regular file): write + ONE fdatasync;
 *   - exec, and stdout when it is a pipe: every byte written into the pipe
 *     AND read out of it by the reader (the pipe is empty: FIONREAD); a
 *     reader that exited or closed the pipe first fails the commit;
 *   - stdout/stderr otherwise: every byte written.
 * A blocked stdout or pipe simply blocks the sink; nothing grows without
 * bound. A blocked sink still answers a stop request: once the process-wide
 * stop fd (hmq_sink_set_stop_fd) is readable, a sink waiting for a pipe,
 * FIFO or terminal gives the reader HMQ_SINK_STOP_GRACE_MS more and then
 * fails with HMQ_ERR_TIMEOUT (nothing after the last commit counts as
 * written). Writes into a pipe that is not ours alone (stdout) go out in
 * pieces of at most PIPE_BUF bytes, each after poll() said there is room,
 * so no write() can block; pipes and FIFOs hmq opened itself are
 * non-blocking.
 *
 * Errors are sticky: once a write, sync or the child fails, every later call
 * returns the same status, so the caller stops and acknowledges nothing the
 * sink did not take. A failed write to a file hmq opened (--out,
 * --dead-letter) cuts the file back to its size at the last commit, so no
 * torn line is left behind.
 */
#ifndef HMQ_APP_SINK_H
#define HMQ_APP_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hmq/hmq.h"

typedef enum hmq_sink_kind {
  HMQ_SINK_STDOUT = 0, /* fd 1 */
  HMQ_SINK_STDERR,     /* fd 2 (default dead-letter for stdout / exec) */
  HMQ_SINK_FILE,       /* path, O_APPEND | O_CREAT */
  HMQ_SINK_EXEC        /* /bin/sh -c CMD, lines on its stdin */
} hmq_sink_kind;

/* After a stop request, how long a blocked sink still waits for its reader. */
#define HMQ_SINK_STOP_GRACE_MS 1000u
/* After a stop request gave up on it: how long close waits for an --exec
 * child before SIGTERM (a healthy child gets close_grace_ms). */
#define HMQ_SINK_STOP_CLOSE_MS 200u

/* How write() is called on the fd (set at open from what the fd is). */
typedef enum hmq_sink_io {
  HMQ_SINK_IO_PLAIN = 0, /* regular file, device: write() does not wait for a reader */
  HMQ_SINK_IO_OWN,       /* a pipe/FIFO opened by us, O_NONBLOCK: EAGAIN -> poll */
  HMQ_SINK_IO_SHARED     /* stdout/stderr pipe, FIFO, socket or terminal shared with others:
                            poll for room, then at most PIPE_BUF bytes per write() */
} hmq_sink_io;

typedef struct hmq_sink {
  hmq_sink_kind kind;
  int fd;   /* -1 when closed */
  int sync; /* 1: fdatasync at commit (regular file) */
  int fifo; /* 1: a pipe (exec, or stdout into a pipeline): commit waits until
               the reader has emptied it */
  hmq_sink_io io;
  pid_t child;             /* exec: the shell's pid, 0 when none/reaped */
  int pidfd;               /* exec: readable once the child exited (pidfd_open), -1 if none */
  int child_status;        /* exec: wait status once reaped */
  unsigned close_grace_ms; /* exec: wait this long for the child to exit after EOF
                              at close before SIGTERM (0: 5000) */
  char *arg;               /* file path or command (owned copy) */
  uint8_t *buf;            /* user-space batch buffer (owned) */
  size_t cap;
  size_t len;
  uint64_t dev; /* file: identity of the open file (st_dev, st_ino) */
  uint64_t ino;
  uint64_t size;      /* file: size after the last successful commit */
  uint64_t stop_at;   /* monotonic ms: a stop was requested, give up waiting then (0: none) */
  hmq_status err;     /* sticky error, HMQ_OK while healthy */
  int err_no;         /* errno of the failure, for messages */
  const char *err_op; /* what failed: "write", "fdatasync", ... (static string) */
  uint64_t writes;    /* write() calls made (statistics, tests) */
  uint64_t syncs;     /* fdatasync() calls made */
} hmq_sink;

/* The process-wide stop request: `fd` (or -1 for none) becomes readable
 * once the process is asked to stop (the loop's SIGINT/SIGTERM pipe; never
 * read by the sinks). Every sink, open or not, watches it while it waits. */
void hmq_sink_set_stop_fd(int fd);

/* 1 once a stop was requested (the stop fd is readable). */
int hmq_sink_stopping(void);

/* Open a sink. `arg` is the path (FILE) or the shell command (EXEC), ignored
 * otherwise; it is copied. `bufcap` is the batch buffer size (0: 256 KiB).
 * EXEC forks `/bin/sh -c arg` with a pipe on its stdin. Every kind sets
 * SIGPIPE and SIGXFSZ to be ignored in this process (an exec child gets the
 * defaults back), so a reader that went away surfaces as EPIPE
 * (HMQ_ERR_CLOSED) and a file size limit as EFBIG (HMQ_ERR_IO). A FILE path
 * that is a FIFO without a reader is waited for, saying so once on stderr
 * ("waiting for a reader"), until a reader opens it or a stop request.
 * Returns HMQ_OK, HMQ_ERR_ARG, HMQ_ERR_FILE (open failed, message in err),
 * HMQ_ERR_TIMEOUT (stop requested while waiting for a FIFO's reader) or
 * HMQ_ERR_IO (pipe/fork failed). On failure the sink is closed and
 * hmq_sink_close() is still safe. */
hmq_status hmq_sink_open(hmq_sink *s, hmq_sink_kind kind, const char *arg, size_t bufcap, char *err,
                         size_t errlen);

/* Reserve room for a line: sets *p and *room to the free tail of the buffer,
 * flushing it first when fewer than `want` bytes are free. *room may still
 * be < want when want exceeds the whole buffer. Returns HMQ_OK or the
 * sticky error. */
hmq_status hmq_sink_reserve(hmq_sink *s, size_t want, uint8_t **p, size_t *room);

/* Mark n bytes of the reserved room as written (n <= room). */
void hmq_sink_advance(hmq_sink *s, size_t n);

/* Append n bytes (any size: large ones go through in buffer-sized pieces).
 * Returns HMQ_OK or the sticky error (HMQ_ERR_IO, HMQ_ERR_CLOSED when an
 * exec child is gone). */
hmq_status hmq_sink_write(hmq_sink *s, const void *p, size_t n);

/* Flush the buffer and make it durable (see the top of this file). On
 * success s->size is the file size covered. Returns HMQ_OK, HMQ_ERR_IO
 * (write or fdatasync failed) or HMQ_ERR_CLOSED (exec child exited before
 * reading everything). EXEC waits, without a time limit, for the child to
 * read the pipe empty. */
hmq_status hmq_sink_commit(hmq_sink *s);

/* Hand what is buffered to write() without making it durable (the
 * caller syncs s->fd itself, e.g. on the sync thread). HMQ_OK or the sticky
 * error. */
hmq_status hmq_sink_flush(hmq_sink *s);

/* A sync of s->fd made elsewhere completed and covered the file up to
 * `size` bytes: counted in s->syncs, s->size = size. */
void hmq_sink_synced(hmq_sink *s, uint64_t size);

/* Record a failure made elsewhere (errno err_no during operation `op`, a
 * static string) as the sticky error. Returns the sticky error. */
hmq_status hmq_sink_fail(hmq_sink *s, hmq_status st, int err_no, const char *op);

/* The sticky error, or for EXEC HMQ_ERR_CLOSED once the child has exited
 * (it is reaped then), else HMQ_OK. Writes nothing. */
hmq_status hmq_sink_check(hmq_sink *s);

/* An fd that becomes readable when hmq_sink_check() has news (the --exec
 * child exited: its pidfd), for the caller's poll(); -1 when there is none
 * (other kinds, or no pidfd_open: then SIGCHLD is the caller's cue). */
int hmq_sink_watch_fd(const hmq_sink *s);

/* Logrotate support: commit what is buffered into the current file, then
 * open the path again (a new file if the old one was renamed). No-op for
 * kinds other than FILE. Returns HMQ_OK, the commit's error or HMQ_ERR_FILE. */
hmq_status hmq_sink_reopen(hmq_sink *s, char *err, size_t errlen);

/* Bytes in the buffer not yet handed to write(). */
size_t hmq_sink_buffered(const hmq_sink *s);

/* Close without writing what is still buffered (the caller commits first
 * when it wants that). EXEC: closes the pipe (the child sees EOF), waits up
 * to close_grace_ms (HMQ_SINK_STOP_CLOSE_MS when a stop request made the
 * sink give up on it) for it to exit, then sends SIGTERM (and 2 s later
 * SIGKILL) to its process group, and reaps it. Safe on a zeroed or already
 * closed sink. */
void hmq_sink_close(hmq_sink *s);

/* Short description of the sticky error naming the operation, the file or
 * command and errno ("write out.ndjson: No space left on device (errno
 * 28)") into buf. */
void hmq_sink_describe(const hmq_sink *s, char *buf, size_t len);

#endif
