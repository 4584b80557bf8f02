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
 * A blocked stdout or pipe simply blocks write(); nothing grows without bound.
 *
 * Errors are sticky: once a write, sync or the child fails, every later call
 * returns the same status, so the caller stops and acknowledges nothing the
 * sink did not take.
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

typedef struct hmq_sink {
  hmq_sink_kind kind;
  int fd;                  /* -1 when closed */
  int sync;                /* 1: fdatasync at commit (regular file) */
  int fifo;                /* 1: a pipe (exec, or stdout into a pipeline): commit waits until
                              the reader has emptied it */
  pid_t child;             /* exec: the shell's pid, 0 when none/reaped */
  int child_status;        /* exec: wait status once reaped */
  unsigned close_grace_ms; /* exec: wait this long for the child to exit after EOF
                              at close before SIGTERM (0: 5000) */
  char *arg;               /* file path or command (owned copy) */
  uint8_t *buf;            /* user-space batch buffer (owned) */
  size_t cap;
  size_t len;
  uint64_t dev; /* file: identity of the open file (st_dev, st_ino) */
  uint64_t ino;
  uint64_t size;   /* file: size after the last successful commit */
  hmq_status err;  /* sticky error, HMQ_OK while healthy */
  int err_no;      /* errno of the failure, for messages */
  uint64_t writes; /* write() calls made (statistics, tests) */
  uint64_t syncs;  /* fdatasync() calls made */
} hmq_sink;

/* Open a sink. `arg` is the path (FILE) or the shell command (EXEC), ignored
 * otherwise; it is copied. `bufcap` is the batch buffer size (0: 256 KiB).
 * EXEC forks `/bin/sh -c arg` with a pipe on its stdin. Every kind sets
 * SIGPIPE to be ignored in this process (an exec child gets the default
 * back), so a reader that went away surfaces as EPIPE (HMQ_ERR_CLOSED). Returns HMQ_OK,
 * HMQ_ERR_ARG, HMQ_ERR_FILE (open failed, message in err) or HMQ_ERR_IO (pipe/fork failed). On
 * failure the sink is closed and hmq_sink_close() is still safe. */
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

/* The sticky error, or for EXEC HMQ_ERR_CLOSED once the child has exited
 * (it is reaped then), else HMQ_OK. Writes nothing. */
hmq_status hmq_sink_check(hmq_sink *s);

/* Logrotate support: commit what is buffered into the current file, then
 * open the path again (a new file if the old one was renamed). No-op for
 * kinds other than FILE. Returns HMQ_OK, the commit's error or HMQ_ERR_FILE. */
hmq_status hmq_sink_reopen(hmq_sink *s, char *err, size_t errlen);

/* Bytes in the buffer not yet handed to write(). */
size_t hmq_sink_buffered(const hmq_sink *s);

/* Close without writing what is still buffered (the caller commits first
 * when it wants that). EXEC: closes the pipe (the child sees EOF), waits up
 * to close_grace_ms for it to exit, then sends SIGTERM (and 2 s later
 * SIGKILL) to its process group, and reaps it. Safe on a zeroed or already
 * closed sink. */
void hmq_sink_close(hmq_sink *s);

/* Short description of the sticky error ("write out.ndjson: No space left on
 * device") into buf. */
void hmq_sink_describe(const hmq_sink *s, char *buf, size_t len);

#endif
