/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the dedupe set made to survive restarts.
 *
 * Two files in the state dir:
 *   dedupe.snap  a hmq_dedupe_export() image (written to a temp file,
 *                fdatasync'd, renamed into place);
 *   dedupe.log   append-only commit records written after the sink's
 *                fdatasync: the hashes of the ids the commit made durable
 *                and where the sink file stood (device, inode, size). The
 *                log is fdatasync'd after each record, or for a file sink
 *                (lazy_sync) at most once a second and at close: a record
 *                lost to a power cut only makes the restart rescan more of
 *                the sink file.
 * Record layout (little endian): "HMQB", u32 count, u64 dev, u64 ino,
 * u64 offset, count x u64 hash, u64 checksum (hmq_dedupe_hash of all the
 * record's bytes before it). A torn tail (a crash mid-append: the start of
 * one record, or zero bytes) is cut off at open without a word; everything
 * before it is trusted. Anything else after the intact records is damage,
 * not a crash: a warning on stderr names the file and byte, the file is
 * copied to dedupe.log.damaged, the damaged part cut off, and the last
 * intact record's position is not used to cut the sink file (same_boot
 * off: later commits' lines were acknowledged; the rescan from there learns
 * their ids again). A dedupe.log or dedupe.snap that does not begin with
 * its magic ("HMQB", "HMQD") is another program's file: open refuses
 * (HMQ_ERR_FILE) and leaves it as it is. A damaged snapshot of ours is
 * ignored with a warning (copied to dedupe.snap.damaged).
 *
 * A third file, dedupe.boot, holds the kernel's boot id of the run that
 * last recovered the sink file. At the next start, the same boot id means
 * no power cut or system crash happened since: every record that run wrote
 * reached the log (the page cache survives kill -9 and a full disk), so
 * the last record's offset is exactly where the last acknowledged commit
 * ended, and everything after it in the sink file (a batch that died with
 * its process, or a message whose lines were only partly written) was never
 * acknowledged: the restart cuts it off and the broker's redelivery writes
 * it again, whole and once. Without that certainty (another boot, no boot
 * id) the end of the file is rescanned instead (hmq_dstore_recover).
 *
 * When the log holds more than twice the set's capacity of hashes (or is
 * larger than two full snapshots plus 64 KiB: many one-message commits),
 * the set is exported into dedupe.snap and the log restarts with one record
 * holding only the sink position. So the state dir stays below about 5x a
 * full snapshot (8 bytes per id of capacity).
 */
#ifndef HMQ_APP_DEDUPE_STORE_H
#define HMQ_APP_DEDUPE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/dedupe.h"

/* Lazy mode (file sinks, which a restart rescans): the log is fdatasync'd
 * at most this often instead of at every commit, so a commit costs one
 * fdatasync (the sink's), not two. */
#define HMQ_DSTORE_LAZY_MS 1000u

typedef struct hmq_dstore {
  int fd;          /* dedupe.log, -1 when not persisting */
  char *log_path;  /* owned */
  char *snap_path; /* owned */
  char *tmp_path;  /* owned */
  char *boot_path; /* owned: dedupe.boot */
  char boot[64];   /* this boot's id, "" when the system does not tell */
  int same_boot;   /* dedupe.boot held this boot's id at open (and the log was intact) */
  int damaged;     /* the log had a damaged record before its end (not a torn tail) */
  char note[512];  /* the warning open printed to stderr about a damaged file, or "" */
  uint8_t *rec;    /* record buffer (owned) */
  size_t rec_cap;  /* bytes */
  size_t rec_max;  /* hashes one record holds */
  uint8_t *exp;    /* export buffer for compaction (owned) */
  size_t exp_cap;
  uint64_t log_hashes; /* hashes in the log since the last snapshot */
  uint64_t log_size;   /* bytes of valid records in the log */
  int has_pos;         /* a record gave the sink position below */
  uint64_t dev, ino, off;
  size_t restored;     /* ids restored at open (snapshot + log) */
  size_t scanned;      /* ids added from the sink file scan */
  size_t scan_pending; /* recover: ids found, logged by hmq_dstore_recovered() */
  uint64_t cut;        /* recover: bytes it told the caller to cut off the sink file */
  int err_no;          /* errno of the last failure, for messages */
  const char *err_op;  /* what failed ("write", "fdatasync", ...) */
  int lazy_sync;       /* 1: fdatasync the log at most every HMQ_DSTORE_LAZY_MS */
  int unsynced;        /* records written since the last fdatasync */
  int defer_sync;      /* lazy_sync with the sync made by the caller's sync thread: records
                          are only written here, hmq_dstore_sync_due() says when the log's
                          fd should join the next sync job, hmq_dstore_synced() notes it */
  uint64_t records;    /* records written (so a sync job knows what it covered) */
  uint64_t last_sync_ms;
  uint64_t syncs; /* fdatasync() calls on the log (statistics, tests) */
} hmq_dstore;

/* Open (create) the store in `dir`, restore its ids into `set` (oldest
 * first), and cut a torn tail off the log. `max_batch` is the most hashes
 * one append will carry. Returns HMQ_OK, HMQ_ERR_FILE (dir or files
 * unusable, err says which) or HMQ_ERR_IO. A missing or damaged snapshot is
 * not an error (the log still restores what it holds). */
hmq_status hmq_dstore_open(hmq_dstore *s, const char *dir, hmq_dedupe *set, size_t max_batch,
                           char *err, size_t errlen);

/* What the restart does with the end of the sink file. */
typedef struct hmq_dstore_tail {
  uint64_t keep; /* keep this many bytes: cut the file to this size */
  int end_line;  /* 1: the kept part ends inside a line hmq has no record of: end it with '\n'
                    so the next line does not glue onto it */
} hmq_dstore_tail;

/* Decide what of the sink file `fd` (read with pread; `size` bytes, file
 * identity dev/ino) stays, and learn the message_ids of what stays after
 * the last logged commit:
 *   - the last record names this file, at an offset within it, and the log
 *     was written during this boot (same_boot): keep exactly up to that
 *     offset; what follows was never acknowledged (see the top);
 *   - it names this file but the boot differs (or is unknown): keep the
 *     complete lines after the offset and add their ids to `set` (an
 *     envelope or raw line only when the envelope parser accepts it, as
 *     the live filter did: a raw line that is no envelope was written
 *     without dedupe; a flat line by its message_id member), cut a
 *     torn last line (no '\n'), and with `multi_line` (--format flat: a
 *     message is several lines in a row with the same message_id) cut the
 *     whole message the torn line belongs to; the last complete message of
 *     a multi-line file is kept but not counted as delivered (it may lack
 *     lines: a redelivery writes it again, whole);
 *   - no usable record (another file, a truncated one, none): the last 64
 *     MiB are scanned the same way, but nothing is cut (the file may not be
 *     ours alone): a torn last line is ended instead (end_line).
 * Without a state dir only a torn last line is ended. `buf`/`cap` is
 * scratch memory (longer lines are skipped). Returns HMQ_OK or HMQ_ERR_IO.
 * The caller cuts/ends the file, makes that durable, then calls
 * hmq_dstore_recovered(). */
hmq_status hmq_dstore_recover(hmq_dstore *s, hmq_dedupe *set, int fd, uint64_t dev, uint64_t ino,
                              uint64_t size, int multi_line, uint8_t *buf, size_t cap,
                              hmq_dstore_tail *tail);

/* After the caller made the recovered file durable (size `size`): log the
 * ids the recovery found with the file's position, sync the log, and record
 * this boot's id. No-op without a state dir. HMQ_OK or HMQ_ERR_IO. */
hmq_status hmq_dstore_recovered(hmq_dstore *s, uint64_t dev, uint64_t ino, uint64_t size);

/* Append one commit record (n <= max_batch hashes, sink position) and
 * fdatasync the log (lazy_sync: if a second has passed); compact into the snapshot when the log has
 * grown past twice the set's capacity. No-op without a state dir. Returns HMQ_OK or HMQ_ERR_IO. */
hmq_status hmq_dstore_append(hmq_dstore *s, const hmq_dedupe *set, const uint64_t *h, size_t n,
                             uint64_t dev, uint64_t ino, uint64_t off);

/* Replays the log records in b[0..n) into `set` and the store's position
 * fields; returns the length of the valid prefix (a torn or corrupt tail is
 * not part of it). Used at open; exposed for the log fuzzer. */
uint64_t hmq_dstore_replay(hmq_dstore *s, hmq_dedupe *set, const uint8_t *b, size_t n);

/* Find the top-level "message_id" string of one JSON object line (envelope,
 * flat or raw line) and return its raw bytes between the quotes (escapes
 * not decoded: hmq_dedupe_hash_id decodes them). The key is compared with
 * its escapes decoded ("message\u005fid" is message_id, as to the live
 * filter's parser). Returns 0, or -1 when there is none. */
int hmq_dstore_line_id(const char *line, size_t len, const char **id, size_t *id_len);

/* fdatasync records a lazy log has not synced yet. HMQ_OK or HMQ_ERR_IO. */
hmq_status hmq_dstore_sync(hmq_dstore *s);

/* defer_sync: 1 when the log has unsynced records and HMQ_DSTORE_LAZY_MS
 * passed since its last sync (the caller adds s->fd to its next sync job
 * and remembers s->records), else 0. */
int hmq_dstore_sync_due(const hmq_dstore *s);

/* defer_sync: the caller's sync of s->fd, started when s->records was
 * `records`, completed. */
void hmq_dstore_synced(hmq_dstore *s, uint64_t records);

/* Close the files (syncing a lazy log first) and free. Safe on a zeroed or closed store. */
void hmq_dstore_close(hmq_dstore *s);

#endif
