/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the delivery pipeline.
 *
 *   payload -> envelope parse -> dedupe -> format -> sink (batched)
 *           \-> dead-letter (invalid envelopes, lines that cannot be written)
 *   commit  -> dead-letter sync, sink sync (ONE fdatasync per batch),
 *              dedupe log append (fdatasync'd at each commit for stdout and
 *              exec; at most once a second for a file sink, whose tail a
 *              restart rescans) -> seqs that may now be acked
 *
 * Output lines: envelope = the payload compacted (hmq_json_compact), flat =
 * one hmq_format_flat object per entry, raw = the payload bytes; each ends
 * in "\n". Dead-letter lines (also NDJSON, one per rejected message):
 *   {"reason":"<why>","topic":"<topic>","payload":"<payload as a JSON
 *    string>","received_ms":<now_ms>}
 * with "payload_base64" instead of "payload" when the payload is not UTF-8.
 *
 * Contract with the loop (app-cli), 2026-11-25:
 *   - hmq_deliver_message() for every inbound QoS 1 PUBLISH; the seq is opaque
 *     here (encode a connection index in it if you run several links) and
 *     comes back from hmq_deliver_commit() once the message is durable.
 *   - Commit when the socket has nothing more to read, when
 *     hmq_deliver_pending() reaches the in-flight window, or when
 *     hmq_deliver_oldest_ms() is older than --max-delay-ms; then ack every
 *     returned seq, in the order returned (arrival order). With a file
 *     sink the loop does it in two steps instead, so reading never waits
 *     for a disk (hmq_deliver_start / hmq_deliver_collect below).
 *   - Every message is acked normally after its commit: written, duplicate
 *     (dropped) and dead-lettered alike. Never a failure PUBACK.
 *   - Any error from message/commit is fatal for delivery: exit WITHOUT
 *     acking anything not returned by a successful commit (exit code
 *     HMQ_EXIT_SINK). hmq_deliver_error() has the one-line reason.
 *   - hmq_deliver_check() once per loop turn (added 2026-11-25): reports an
 *     --exec command that exited while no message was flowing.
 *   - now_ms is wall-clock time (CLOCK_REALTIME, ms since the Unix epoch):
 *     it dates the data age statistics as well as the pending messages.
 *
 * Memory: everything is allocated in hmq_deliver_open(); the per-message
 * path allocates nothing. Not thread-safe: call it from one thread (the
 * loop); one hmq_deliver may be shared by several connections driven from
 * one loop. Its own sync thread touches only file descriptors, the
 * syncer's state under its mutex and, with a database, the database
 * sink's sealed batch and connection (bsink.h: store()).
 */
#ifndef HMQ_APP_DELIVER_H
#define HMQ_APP_DELIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/dedupe.h"
#include "pipeline/dedupe_mem.h"
#include "hmq/envelope.h"
#include "pipeline/bsink.h"
#include "pipeline/dedupe_store.h"
#include "pipeline/sink.h"
#include "pipeline/stats.h"
#include "pipeline/syncer.h"

typedef enum hmq_format {
  HMQ_FORMAT_ENVELOPE = 0, /* the envelope as one compact NDJSON line (default) */
  HMQ_FORMAT_FLAT,         /* one NDJSON line per data entry (an envelope with none is
                              dead-lettered) */
  HMQ_FORMAT_RAW           /* every payload exactly as received + "\n", envelope or not,
                              newlines inside kept (still parsed: envelope duplicates
                              dropped) */
} hmq_format;

typedef struct hmq_deliver_config {
  hmq_sink_kind sink;      /* HMQ_SINK_STDOUT (default), HMQ_SINK_FILE or HMQ_SINK_EXEC */
  const char *out_path;    /* FILE: --out path */
  const char *exec_cmd;    /* EXEC: --exec command, run with /bin/sh -c */
  hmq_format format;       /* default HMQ_FORMAT_ENVELOPE */
  const char *dead_path;   /* NULL or "": <out>.dead for FILE, stderr otherwise */
  const char *state_dir;   /* NULL or "": dedupe not persisted */
  size_t dedupe_capacity;  /* ids remembered; 0: 1,000,000 */
  size_t buffer_size;      /* sink batch buffer; 0: 256 KiB (raised to hold max_message) */
  size_t max_message;      /* largest payload expected; 0: 1 MiB (bigger ones still work in
                              raw, and are dead-lettered as too big otherwise) */
  size_t max_pending;      /* messages between commits; 0: 65535 */
  const char *sqlite_path; /* --sqlite FILE: store in SQLite (deliver_db.h) instead of lines */
  const char *pg_conninfo; /* --postgres CONNINFO: store in PostgreSQL */
  size_t db_batch_bytes;   /* database batch limit in payload bytes; 0: 32 MiB */
  int verbose;             /* 1: log warnings (one line each, at most
                              HMQ_DELIVER_WARN_BURST a second) to `log` */
  FILE *log;               /* NULL: stderr */
} hmq_deliver_config;

/* Room a flat line needs beyond the payload's own bytes (its keys, null);
 * the sink buffer holds max_message plus this, so one line always fits. */
#define HMQ_DELIVER_LINE_SLACK 4096u

/* --format flat repeats vin, message_id, capability and property on every
 * line, so a payload built for it (a long property name over thousands of
 * tiny entries) would write its square: a message whose flat lines could
 * take more than HMQ_DELIVER_FLAT_RATIO times its payload plus
 * HMQ_DELIVER_FLAT_FLOOR bytes goes to the dead-letter sink instead. Real
 * envelopes take 1.5-3 times their payload. */
#define HMQ_DELIVER_FLAT_RATIO 16u
#define HMQ_DELIVER_FLAT_FLOOR (64u * 1024u)

/* Most -v warning lines written per second (the rest are counted). */
#define HMQ_DELIVER_WARN_BURST 20u

/* Test hooks (hmq_deliver_test_crash): stop a commit at a point a kill -9
 * could hit, leaving the files exactly as a dead process would. */
#define HMQ_DELIVER_CRASH_NONE            0
#define HMQ_DELIVER_CRASH_BEFORE_SINK     1 /* batch still in the user buffer */
#define HMQ_DELIVER_CRASH_AFTER_SINK_SYNC 2 /* sink synced, dedupe log not written */

typedef struct hmq_deliver {
  hmq_format format;
  int verbose;
  FILE *log;
  hmq_sink out;
  hmq_sink dead;
  hmq_bsink *db;  /* --sqlite / --postgres (deliver_db.h), NULL otherwise */
  int db_down;    /* the last database commit did not go through */
  int dead_dirty; /* dead-letter bytes not yet committed */
  int out_dirty;  /* sink bytes not yet committed */
  hmq_envelope_parser parser;
  void *tok_mem;
  hmq_dedupe set;
  hmq_dedupe_mem set_mem; /* the filter's memory (dedupe_mem.h) */
  hmq_dstore store;       /* dedupe persistence (store.fd < 0: none) */
  /* pending: arrival order ring of (seq, arrival time) */
  uint64_t *seqs;
  uint64_t *arrived;
  size_t pend_cap, pend_head, pend_count;
  /* hashes of ids written since the last commit, for the dedupe log */
  uint64_t *staged;
  size_t staged_count;
  /* asynchronous commit (a file or database sink): the ring's head holds `ready`
   * messages whose sync completed, then up to `sealed` the batch whose sync
   * is in flight, then the rest; `flushed` of them have their lines in
   * write() already. Counts from pend_head. */
  int async;
  hmq_syncer sy;
  size_t ready, sealed, flushed;
  size_t staged_sealed;             /* staged[0..staged_sealed): hashes of the sealed batch */
  uint64_t seal_size;               /* sink file size the in-flight sync covers */
  uint64_t seal_dead_size;          /* dead-letter file size it covers */
  uint64_t seal_records;            /* dedupe log records when its sync was started */
  int seal_fd_kind[HMQ_SYNCER_FDS]; /* what each fd of the job is: 0 dead, 1 out, 2 log */
  size_t seal_nfd;
  int seal_db;          /* the sealed batch holds the database's sealed batch (not yet stored) */
  int seal_dead_commit; /* at completion: commit the dead-letter sink on the loop thread */
  uint64_t db_failures; /* the database sink's counters as of the last completed store */
  uint64_t db_rejected;
  hmq_stats stats;
  hmq_status err; /* sticky */
  char errmsg[512];
  int state_failed;     /* hmq_deliver_open failed on the state dir's dedupe log */
  int crash;            /* HMQ_DELIVER_CRASH_* */
  uint64_t warn_second; /* -v warning lines: rate limit state */
  unsigned warn_lines;
  uint64_t warn_held;
  int open;
} hmq_deliver;

/* Parse a --format name ("envelope", "flat", "raw") into *f. Returns 0, or
 * -1 for an unknown name (*f unchanged). */
int hmq_format_from_name(const char *name, hmq_format *f);

/* Open the pipeline: sinks, dead-letter, dedupe set, and (with a state dir)
 * the dedupe log, restoring the set from it and, for a file sink, from the
 * part of --out written after the last logged commit. Allocates all memory
 * once. Returns HMQ_OK, HMQ_ERR_ARG (bad config), HMQ_ERR_FILE (--out, the
 * dead-letter file or the dedupe log could not be opened), HMQ_ERR_IO (no
 * memory, fork, reading back --out); the reason is in errbuf. (Locking the
 * state dir against a second instance is the caller's job: instance.h.) On failure d is closed
 * (hmq_deliver_close is safe). */
hmq_status hmq_deliver_open(hmq_deliver *d, const hmq_deliver_config *cfg, char *errbuf,
                            size_t errlen);

/* Take one message: parse, dedupe, format and write it (buffered) to the
 * sink, or to the dead-letter file when it is invalid; remember seq as
 * pending. topic/payload are only read during the call. dup_flag is only
 * informative (dedupe is by message_id). Returns HMQ_OK (whatever the
 * message's fate: written, duplicate or dead-lettered), HMQ_ERR_FULL (max_pending
 * messages are pending: commit first; nothing was taken) or a sticky sink
 * error (HMQ_ERR_IO, HMQ_ERR_CLOSED; stop, ack nothing more); HMQ_ERR_STATE
 * when d is not open, HMQ_ERR_ARG for a NULL payload with len > 0. */
hmq_status hmq_deliver_message(hmq_deliver *d, uint64_t seq, const char *topic, size_t topic_len,
                               const uint8_t *payload, size_t len, int dup_flag, uint64_t now_ms);

/* Messages taken but not yet returned by a commit. */
size_t hmq_deliver_pending(const hmq_deliver *d);

/* Arrival time (now_ms of hmq_deliver_message) of the oldest pending
 * message, 0 when none is pending. */
uint64_t hmq_deliver_oldest_ms(const hmq_deliver *d);

/* Make every pending message durable and hand back up to `cap` of their
 * seqs in arrival order in seqs_out (*n_out = how many). Durable means: the
 * dead-letter lines synced, then the sink's (file: write + ONE fdatasync;
 * exec or a pipe on stdout: written and read out of the pipe by a reader
 * still alive, see sink.h), then the dedupe log appended. A batch of only
 * duplicates costs no syscall. Seqs beyond cap stay pending (already
 * durable) and come first next time. Returns HMQ_OK, or a sticky error
 * (HMQ_ERR_IO; HMQ_ERR_CLOSED when an exec child or the pipe's reader went
 * away) with *n_out = 0: then exit without acking. HMQ_ERR_STATE when d is
 * not open, HMQ_ERR_ARG when n_out is NULL or seqs_out NULL with cap > 0. */
/* Appends one dead-letter line for (topic, payload) with `reason` to the
 * dead-letter sink's buffer: {"reason":…,"topic":…,"payload":…,
 * "received_ms":…}, the payload as a JSON string when it is UTF-8 and as
 * "payload_base64" otherwise. Part of the next commit like any line. */
hmq_status hmq_deliver_dead_letter(hmq_deliver *d, const char *reason, const char *topic,
                                   size_t topic_len, const uint8_t *payload, size_t len,
                                   uint64_t now_ms);

hmq_status hmq_deliver_commit(hmq_deliver *d, uint64_t *seqs_out, size_t cap, size_t *n_out);

/* The asynchronous commit. With a regular --out file or a database sink
 * (and a dead-letter file that needs no reader) the sync runs on a thread
 * beside the loop (syncer.h); otherwise these calls do the synchronous
 * commit and hmq_deliver_syncing() is always 0:
 *   - hmq_deliver_flush(): hand every buffered line to write() now (no
 *     sync): the loop calls it when the socket ran dry, so lines appear in
 *     --out as they arrive even while a sync is in flight.
 *   - hmq_deliver_start(): seal the messages taken since the last batch
 *     (flushing their lines) and start, on the thread, the database's
 *     store of their messages (bsink.h) and then the fdatasync of the
 *     dead-letter file, --out, and at most once a second the dedupe log.
 *     HMQ_WANT_READ while a sync is in flight: at most one per file. A
 *     database batch that was not stored is started again alone.
 *     Synchronous sinks: the whole commit happens here (it may return
 *     HMQ_WANT_WRITE for a database that is down, as hmq_deliver_commit).
 *   - hmq_deliver_done_fd(): readable once the sync in flight completed
 *     (-1 for synchronous sinks); then hmq_deliver_collect() appends the
 *     batch's dedupe log record (never before: the log never names a line
 *     that is not durable) and hands back the seqs that are durable, in
 *     arrival order, as hmq_deliver_commit does. A seq is never returned
 *     before the sync that covers its line completed. A database that did
 *     not take the batch: HMQ_WANT_WRITE (not sticky; the batch stays
 *     sealed, retry with hmq_deliver_start after a backoff); messages it
 *     refused become dead-letter lines, synced before their seqs return.
 *   - Errors as hmq_deliver_commit (a failed fdatasync is sticky: nothing
 *     more is returned).
 * hmq_deliver_commit() still does it all at once: it waits for a sync in
 * flight, retries a database batch that was not stored, seals the rest
 * and waits for that too. */
hmq_status hmq_deliver_flush(hmq_deliver *d);
hmq_status hmq_deliver_start(hmq_deliver *d);
hmq_status hmq_deliver_collect(hmq_deliver *d, uint64_t *seqs_out, size_t cap, size_t *n_out);
int hmq_deliver_done_fd(const hmq_deliver *d);

/* 1 while a sync is in flight. */
int hmq_deliver_syncing(const hmq_deliver *d);

/* Messages taken and not yet sealed into a batch, and the arrival time of
 * the oldest of them (0 when none). */
size_t hmq_deliver_unsealed(const hmq_deliver *d);
uint64_t hmq_deliver_unsealed_oldest_ms(const hmq_deliver *d);

/* Bytes of lines not yet handed to write(). */
size_t hmq_deliver_buffered(const hmq_deliver *d);

/* Test hook: hold = 1 keeps the next sync job waiting before its
 * fdatasync (in flight, not completed) until hold = 0. */
void hmq_deliver_test_hold(hmq_deliver *d, int hold);

/* SIGHUP: commit-safe reopen of --out and of a dead-letter file by path
 * (logrotate renamed them). Buffered lines go to the old file first and the
 * dedupe log records the switch. No-op for stdout / exec. Returns HMQ_OK or
 * an error as hmq_deliver_commit (HMQ_ERR_FILE when the path cannot be
 * opened again: writing continues into the old file, not sticky;
 * hmq_deliver_error() names the file and the reason). */
hmq_status hmq_deliver_reopen(hmq_deliver *d);

/* Cheap health check for idle times: the sticky error if there is one, else
 * for an exec sink whether the child is still running (HMQ_ERR_CLOSED, with
 * the reason in hmq_deliver_error(), once it has exited), else HMQ_OK. Call
 * it once per loop turn so a dead --exec command stops hmq at once instead
 * of at the next message. */
hmq_status hmq_deliver_check(hmq_deliver *d);

/* An fd for the loop's poll() that becomes readable when hmq_deliver_check()
 * has news (the --exec command exited: its pidfd), -1 when there is none
 * (then SIGCHLD is the cue). */
int hmq_deliver_watch_fd(const hmq_deliver *d);

/* Counters and data age; the loop sets in_flight/reconnects and prints
 * hmq_stats_line() every --stats seconds. Valid until hmq_deliver_close. */
hmq_stats *hmq_deliver_stats(hmq_deliver *d);

/* One-line reason of the last error (open or sticky), "" when none. */
const char *hmq_deliver_error(const hmq_deliver *d);

/* Release everything. What was not committed is NOT written (the broker
 * will send it again); commit first on a clean shutdown. Safe on a zeroed
 * or closed object, and after any error. */
void hmq_deliver_close(hmq_deliver *d);

/* Test hook: make the next commit stop at `point` (HMQ_DELIVER_CRASH_*) and
 * fail with HMQ_ERR_IO, as if the process had been killed there. */
void hmq_deliver_test_crash(hmq_deliver *d, int point);

#endif
