/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink (--sqlite FILE): the batch sink interface (bsink.h) over
 * one SQLite database in WAL mode, one transaction per batch.
 *
 * Durability: WAL with synchronous=FULL makes COMMIT return only after the
 * write-ahead log is synced (SQLite's documentation of PRAGMA synchronous),
 * so a batch whose commit returned is on disk and its PUBACKs may go.
 *
 * One batch, in one transaction (BEGIN IMMEDIATE takes the write lock
 * first, so a busy database fails here and not halfway):
 *   INSERT INTO messages … ON CONFLICT DO NOTHING    per message; a
 *        message already there (duplicate) adds nothing more
 *   INSERT INTO readings …                           per entry of a new message
 *   INSERT INTO latest SELECT … FROM readings WHERE rowid > <before>
 *        ON CONFLICT DO UPDATE … WHERE newer          once per batch
 * A statement the database refuses for one message (a constraint the user
 * added, a value too big) rolls the transaction back; the batch then runs
 * again with a SAVEPOINT per message, and each refused message goes to the
 * reject callback (the dead-letter sink) with SQLite's message. Any other
 * failure (busy, disk full, I/O error, file gone) leaves the batch as it is
 * and commit() reports HMQ_WANT_WRITE; the next attempt reopens the file
 * unless the failure was only a lock held by someone else.
 */
#include "pipeline/bsink.h"

#if defined(HMQ_WITH_SQLITE)

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/db_batch.h"
#include "pipeline/db_fold.h"
#include "pipeline/db_rows.h"
#include "pipeline/db_schema.h"
#include "pipeline/sq_ckpt.h"

#define DEFAULT_BUSY_MS 2000u

/* Checkpoints (sq_ckpt.h): the thread is asked for one after a commit that
 * leaves at least CKPT_FRAMES pages (hmq_db_config.ckpt_pages) in the WAL;
 * should the log still reach 16 times that (the thread cannot keep up or
 * keeps failing), the sink runs one itself after its commit, which bounds
 * the WAL file. */
#define CKPT_FRAMES 4096

/* The fold (db_fold.h): keys and value bytes it holds before it is
 * upserted mid-batch (a batch of 2048 hmq-sim messages has ~16k keys). */
#define FOLD_KEYS  16384
#define FOLD_BYTES (4u * 1024u * 1024u)

/* Outcome of one pass over the batch. */
enum { PASS_OK = 0, PASS_ROW = 1, PASS_TRANSIENT = 2 };

typedef struct sq_sink {
  hmq_bsink base;
  char *path;
  sqlite3 *db;
  sqlite3_stmt *ins_msg, *ins_rd, *max_rd, *up_latest, *up_one;
  unsigned busy_ms;
  int reopen; /* the last failure was more than a lock: open the file again */
  hmq_dbrows rows;
  hmq_dbfold fold; /* the newest reading per latest key of the batch */
  hmq_sq_ckpt ckpt;
  int wal_frames;   /* pages in the WAL after the last commit */
  int ckpt_frames;  /* CKPT_FRAMES */
  char rowerr[400]; /* why the last row was refused */
} sq_sink;

static const char sql_ins_msg[] =
    "INSERT INTO messages (message_id, vin, application_id, version, received_at, envelope)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (message_id) DO NOTHING";
static const char sql_ins_rd[] =
    "INSERT INTO readings (message_id, idx, vin, capability, property, instance, ts, ts_ms, data,"
    " failure) VALUES (?1, ?2, ?3, ?4, ?5, ?10, ?6, ?7, ?8, ?9)";
static const char sql_max_rd[] = "SELECT coalesce(max(rowid), 0) FROM readings";
/* The WHERE before ON CONFLICT is required by SQLite's grammar for an
 * upsert fed by a SELECT; rows of one key may follow each other, each
 * compared with the row stored so far. */
#define LATEST_SET                                                                                 \
  " ON CONFLICT (vin, capability, property, instance) DO UPDATE SET ts = excluded.ts,"             \
  " ts_ms = excluded.ts_ms, data = excluded.data, message_id = excluded.message_id,"               \
  " idx = excluded.idx"                                                                            \
  " WHERE (excluded.ts_ms, excluded.message_id, excluded.idx) >"                                   \
  " (latest.ts_ms, latest.message_id, latest.idx)"
/* One reading the batch's fold (db_fold.h) kept. */
static const char sql_up_one[] =
    "INSERT INTO latest (vin, capability, property, instance, ts, ts_ms, data, message_id, idx)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" LATEST_SET;
static const char sql_up_latest[] =
    "INSERT INTO latest (vin, capability, property, instance, ts, ts_ms, data, message_id, idx)"
    " SELECT vin, capability, property, instance, ts, ts_ms, data, message_id, idx FROM readings"
    " WHERE rowid > ?1 AND rowid <= ?2 AND ts_ms IS NOT NULL AND data IS NOT NULL" LATEST_SET;

static int is_row_error(int rc) {
  rc &= 0xff;
  return rc == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH || rc == SQLITE_TOOBIG ||
         rc == SQLITE_RANGE;
}

static void say(sq_sink *s, const char *what, int rc) {
  snprintf(s->base.err, sizeof s->base.err, "sqlite %s: %s: %s", s->path, what,
           s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static void disconnect(sq_sink *s) {
  sqlite3_finalize(s->ins_msg);
  sqlite3_finalize(s->ins_rd);
  sqlite3_finalize(s->max_rd);
  sqlite3_finalize(s->up_latest);
  sqlite3_finalize(s->up_one);
  s->ins_msg = s->ins_rd = s->max_rd = s->up_latest = s->up_one = NULL;
  if (s->db)
    sqlite3_close_v2(s->db);
  s->db = NULL;
}

static int exec(sq_sink *s, const char *sql) {
  return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* One integer (or NULL as `null_value`) from a one-row query. */
static int query_int(sq_sink *s, const char *sql, long long null_value, long long *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? null_value : sqlite3_column_int64(st, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

/* Create the schema on first use, refuse a newer one. *fatal = 1 when the
 * file can never be used by this hmq (newer schema). */
static int schema(sq_sink *s, int *fatal) {
  long long v = 0;
  int rc = exec(s, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) {
    say(s, "cannot start the schema check", rc);
    return rc;
  }
  rc = exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  if (rc == SQLITE_OK)
    rc = query_int(s, "SELECT max(version) FROM schema_version", 0, &v);
  if (rc == SQLITE_OK && v > HMQ_DB_SCHEMA_VERSION) {
    hmq_db_schema_refusal(s->path, (long)v, s->base.err, sizeof s->base.err);
    exec(s, "ROLLBACK");
    *fatal = 1;
    return SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && v < 1) {
    size_t n, i;
    const char *const *create = hmq_db_schema_create(HMQ_DB_SQLITE, &n);
    for (i = 0; i < n && rc == SQLITE_OK; i++)
      rc = exec(s, create[i]);
    if (rc != SQLITE_OK) {
      say(s, "creating the schema (is this a database of another program?)", rc);
      *fatal = 1;
    }
  } else if (rc != SQLITE_OK) {
    say(s, "reading schema_version", rc);
  }
  if (rc == SQLITE_OK) {
    rc = exec(s, "COMMIT");
    if (rc != SQLITE_OK)
      say(s, "committing the schema", rc);
  }
  if (rc != SQLITE_OK)
    exec(s, "ROLLBACK");
  return rc;
}

static int on_wal(void *arg, sqlite3 *db, const char *name, int frames) {
  (void)db;
  (void)name;
  ((sq_sink *)arg)->wal_frames = frames;
  return SQLITE_OK;
}

/* After a commit: a checkpoint by the thread when the WAL has grown, by
 * this connection when it has grown far too much. The log starts over
 * (at the next transaction) only after a checkpoint copied all of it; the
 * thread's checkpoints run while this connection commits more, so in a
 * long drain they never caught up and the log only grew (bench_dbsink
 * 60000 in batches of 4096: 87,635 pages, 718 MB, at e04b126). At 16
 * times the threshold, this connection waits for the thread's checkpoint
 * and copies the rest itself, with nothing writing meanwhile: the log is
 * then complete and starts over, so the file stays below about 16 times
 * the threshold plus a batch. */
static void checkpoint(sq_sink *s) {
  if (s->wal_frames < s->ckpt_frames)
    return;
  if (s->wal_frames < 16 * s->ckpt_frames) {
    (void)hmq_sq_ckpt_kick(&s->ckpt);
    return;
  }
  hmq_sq_ckpt_wait(&s->ckpt);
  (void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* Open the file, switch to WAL, check the schema, prepare the statements.
 * SQLITE_OK, or an error code with base.err set. */
static int connect_db(sq_sink *s, int *fatal) {
  int rc;
  char mode[16] = "";
  sqlite3_stmt *st = NULL;
  *fatal = 0;
  disconnect(s);
  rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    say(s, "cannot open", rc);
    disconnect(s);
    return rc;
  }
  sqlite3_busy_timeout(s->db, (int)s->busy_ms);
  /* Pages of 8 KiB for a new file (an existing one keeps its own):
   * bench_dbsink, 5 rounds against 4 KiB, 5-35 % less CPU per message
   * and 4 % fewer bytes written (BENCHMARKS.md). Only a file without
   * tables takes it, so it goes before the switch to WAL. */
  rc = exec(s, "PRAGMA page_size=8192");
  if (rc != SQLITE_OK) {
    say(s, "PRAGMA page_size", rc);
    *fatal = (rc & 0xff) == SQLITE_NOTADB;
    return rc;
  }
  rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *m = sqlite3_column_text(st, 0);
    snprintf(mode, sizeof mode, "%s", m ? (const char *)m : "");
  } else if (rc == SQLITE_OK) {
    rc = sqlite3_errcode(s->db);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    say(s, "cannot switch to WAL mode", rc);
    *fatal = (rc & 0xff) == SQLITE_NOTADB;
    return rc;
  }
  if (strcmp(mode, "wal") != 0) {
    snprintf(s->base.err, sizeof s->base.err,
             "sqlite %s: the database cannot use WAL mode (journal mode is '%s')", s->path, mode);
    *fatal = 1;
    return SQLITE_ERROR;
  }
  /* The readings index and the messages key take random positions: a
   * cache of 64 MiB (SQLite's default is 2 MiB) keeps their pages in
   * memory instead of re-reading them for every batch. */
  rc = exec(s, "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536");
  if (rc != SQLITE_OK) {
    say(s, "PRAGMA synchronous", rc);
    return rc;
  }
  rc = schema(s, fatal);
  if (rc != SQLITE_OK)
    return rc;
  /* our own WAL hook replaces SQLite's automatic checkpoint */
  sqlite3_wal_hook(s->db, on_wal, s);
  if ((rc = sqlite3_prepare_v2(s->db, sql_ins_msg, -1, &s->ins_msg, NULL)) != SQLITE_OK ||
      (rc = sqlite3_prepare_v2(s->db, sql_ins_rd, -1, &s->ins_rd, NULL)) != SQLITE_OK ||
      (rc = sqlite3_prepare_v2(s->db, sql_max_rd, -1, &s->max_rd, NULL)) != SQLITE_OK ||
      (rc = sqlite3_prepare_v2(s->db, sql_up_latest, -1, &s->up_latest, NULL)) != SQLITE_OK ||
      (rc = sqlite3_prepare_v2(s->db, sql_up_one, -1, &s->up_one, NULL)) != SQLITE_OK) {
    say(s, "preparing statements (a table of another shape?)", rc);
    *fatal = 1;
    return rc;
  }
  s->reopen = 0;
  return SQLITE_OK;
}

static void bind_str(sqlite3_stmt *st, int i, hmq_str v) {
  if (v.ptr)
    sqlite3_bind_text(st, i, v.len ? v.ptr : "", (int)v.len, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

/* Run a prepared statement to its end and reset it. */
static int run(sq_sink *s, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
    rc = SQLITE_OK;
  } else {
    snprintf(s->rowerr, sizeof s->rowerr, "sqlite: %s", sqlite3_errmsg(s->db));
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int max_rowid(sq_sink *s, sqlite3_int64 *out) {
  int rc = sqlite3_step(s->max_rd);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(s->max_rd, 0);
    rc = SQLITE_OK;
  }
  sqlite3_reset(s->max_rd);
  return rc;
}

static int upsert_latest(sq_sink *s, sqlite3_int64 after, sqlite3_int64 upto) {
  sqlite3_bind_int64(s->up_latest, 1, after);
  sqlite3_bind_int64(s->up_latest, 2, upto);
  return run(s, s->up_latest);
}

static int upsert_one(sq_sink *s, hmq_str vin, hmq_str cap, hmq_str prop, hmq_str inst, hmq_str ts,
                      int64_t ts_ms, hmq_str data, hmq_str mid, size_t idx) {
  bind_str(s->up_one, 1, vin);
  bind_str(s->up_one, 2, cap);
  bind_str(s->up_one, 3, prop);
  bind_str(s->up_one, 4, inst);
  bind_str(s->up_one, 5, ts);
  sqlite3_bind_int64(s->up_one, 6, ts_ms);
  bind_str(s->up_one, 7, data);
  bind_str(s->up_one, 8, mid);
  sqlite3_bind_int64(s->up_one, 9, (sqlite3_int64)idx);
  return run(s, s->up_one);
}

/* Upsert what the fold holds, then clear it. */
static int flush_fold(sq_sink *s) {
  int rc = SQLITE_OK;
  for (size_t i = 0; i < s->fold.count && rc == SQLITE_OK; i++) {
    const hmq_dbfold_row *x = &s->fold.rows[i];
    rc = upsert_one(s, x->vin, x->capability, x->property, x->instance, x->ts, x->ts_ms, x->data,
                    x->message_id, x->idx);
  }
  hmq_dbfold_clear(&s->fold);
  return rc;
}

/* Offer a new reading to the fold (flushing it when full). */
static int fold_reading(sq_sink *s, const hmq_dbmsg *m, const hmq_dbreading *r) {
  hmq_status st = hmq_dbfold_offer(&s->fold, m, r);
  int rc = SQLITE_OK;
  if (st == HMQ_ERR_FULL && (rc = flush_fold(s)) == SQLITE_OK)
    st = hmq_dbfold_offer(&s->fold, m, r);
  if (rc == SQLITE_OK && st == HMQ_ERR_NO_ROOM) /* bigger than the arena */
    rc = upsert_one(s, m->vin, r->capability, r->property, r->instance, r->ts, r->ts_ms, r->data,
                    m->message_id, r->idx);
  return rc;
}

/* A refusal that is not SQLite's: the copy no longer decodes. */
#define ROW_DECODE (-1)

/* Insert one message and (when new) its readings. *last: the largest
 * readings rowid so far. fold: offer its readings to the batch's fold
 * (else the caller updates latest from the readings rows). SQLITE_OK,
 * ROW_DECODE or SQLite's code. */
static int put_message(sq_sink *s, size_t i, sqlite3_int64 *last, int fold) {
  hmq_bmsg m;
  hmq_dbmsg row;
  hmq_dbreading r;
  const char *why = "";
  hmq_status st;
  int rc;
  hmq_dbatch_get(s->base.sealed, i, &m);
  if (hmq_dbrows_message(&s->rows, &m, &row, &why) != HMQ_OK) {
    snprintf(s->rowerr, sizeof s->rowerr, "%s", why);
    return ROW_DECODE;
  }
  bind_str(s->ins_msg, 1, row.message_id);
  bind_str(s->ins_msg, 2, row.vin);
  bind_str(s->ins_msg, 3, row.application_id);
  if (row.has_version)
    sqlite3_bind_int64(s->ins_msg, 4, row.version);
  else
    sqlite3_bind_null(s->ins_msg, 4);
  sqlite3_bind_int64(s->ins_msg, 5, (sqlite3_int64)row.received_ms);
  bind_str(s->ins_msg, 6, row.envelope);
  if ((rc = run(s, s->ins_msg)) != SQLITE_OK)
    return rc;
  if (sqlite3_changes(s->db) == 0)
    return SQLITE_OK; /* stored before: a duplicate adds nothing */
  s->base.stored++;
  while ((st = hmq_dbrows_next(&s->rows, &r, &why)) == HMQ_OK) {
    bind_str(s->ins_rd, 1, row.message_id);
    sqlite3_bind_int64(s->ins_rd, 2, (sqlite3_int64)r.idx);
    bind_str(s->ins_rd, 3, row.vin);
    bind_str(s->ins_rd, 4, r.capability);
    bind_str(s->ins_rd, 5, r.property);
    bind_str(s->ins_rd, 6, r.ts);
    if (r.has_ts_ms)
      sqlite3_bind_int64(s->ins_rd, 7, r.ts_ms);
    else
      sqlite3_bind_null(s->ins_rd, 7);
    bind_str(s->ins_rd, 8, r.data);
    bind_str(s->ins_rd, 9, r.failure);
    bind_str(s->ins_rd, 10, r.instance);
    if ((rc = run(s, s->ins_rd)) != SQLITE_OK)
      return rc;
    if (fold && (rc = fold_reading(s, &row, &r)) != SQLITE_OK)
      return rc;
    *last = sqlite3_last_insert_rowid(s->db);
    s->base.readings++;
  }
  if (st != HMQ_NEED_MORE) {
    snprintf(s->rowerr, sizeof s->rowerr, "%s", why);
    return ROW_DECODE;
  }
  return SQLITE_OK;
}

/* One attempt at the whole batch. isolate: a SAVEPOINT per message, refused
 * messages rejected one by one (slow path after a refusal). */
static int pass(sq_sink *s, int isolate, int *code) {
  sqlite3_int64 first = 0, last = 0;
  uint64_t stored = s->base.stored, readings = s->base.readings;
  int rc = exec(s, "BEGIN IMMEDIATE");
  hmq_dbfold_clear(&s->fold);
  if (rc == SQLITE_OK && isolate)
    rc = max_rowid(s, &first);
  if (rc != SQLITE_OK) {
    *code = rc;
    say(s, "cannot begin the batch", rc);
    exec(s, "ROLLBACK");
    return PASS_TRANSIENT;
  }
  last = first;
  for (size_t i = 0; i < s->base.sealed->count; i++) {
    if (s->base.sealed->items[i].rejected)
      continue;
    sqlite3_int64 before = last;
    uint64_t stored_before = s->base.stored, readings_before = s->base.readings;
    if (isolate && (rc = exec(s, "SAVEPOINT m")) != SQLITE_OK)
      break;
    rc = put_message(s, i, &last, !isolate);
    if (rc == SQLITE_OK && isolate && last > before)
      rc = upsert_latest(s, before, last);
    if (rc == SQLITE_OK) {
      if (isolate && (rc = exec(s, "RELEASE m")) != SQLITE_OK)
        break;
      continue;
    }
    if (rc != ROW_DECODE && !is_row_error(rc))
      break;
    if (!isolate) {
      exec(s, "ROLLBACK");
      s->base.stored = stored;
      s->base.readings = readings;
      return PASS_ROW;
    }
    last = before;
    s->base.stored = stored_before;
    s->base.readings = readings_before;
    if ((rc = exec(s, "ROLLBACK TO m")) != SQLITE_OK || (rc = exec(s, "RELEASE m")) != SQLITE_OK)
      break;
    hmq_dbatch_reject(s->base.sealed, &s->base, i, s->rowerr);
  }
  if (rc == SQLITE_OK && !isolate) {
    rc = flush_fold(s);
    if (is_row_error(rc)) {
      exec(s, "ROLLBACK");
      s->base.stored = stored;
      s->base.readings = readings;
      return PASS_ROW;
    }
  }
  if (rc == SQLITE_OK)
    rc = exec(s, "COMMIT");
  if (rc != SQLITE_OK) {
    *code = rc;
    snprintf(s->base.err, sizeof s->base.err, "sqlite %s: %s", s->path,
             s->rowerr[0] ? s->rowerr : sqlite3_errmsg(s->db));
    exec(s, "ROLLBACK");
    s->base.stored = stored;
    s->base.readings = readings;
    return PASS_TRANSIENT;
  }
  return PASS_OK;
}

static hmq_status sq_commit(hmq_bsink *b) {
  sq_sink *s = (sq_sink *)b;
  int code = SQLITE_OK, fatal = 0, r;
  if (s->base.sealed->count == 0)
    return HMQ_OK;
  if ((!s->db || s->reopen) && connect_db(s, &fatal) != SQLITE_OK) {
    s->reopen = 1;
    s->base.failures++;
    return HMQ_WANT_WRITE;
  }
  s->rowerr[0] = 0;
  r = pass(s, 0, &code);
  if (r == PASS_ROW) {
    s->rowerr[0] = 0;
    r = pass(s, 1, &code);
  }
  if (r != PASS_OK) {
    code &= 0xff;
    s->reopen = code != SQLITE_BUSY && code != SQLITE_LOCKED;
    s->base.failures++;
    return HMQ_WANT_WRITE;
  }
  checkpoint(s);
  s->base.commits++;
  s->base.err[0] = 0;
  return HMQ_OK;
}

static void sq_close(hmq_bsink *b) {
  sq_sink *s = (sq_sink *)b;
  hmq_sq_ckpt_close(&s->ckpt);
  disconnect(s);
  hmq_bsink_arenas_free(&s->base);
  hmq_dbrows_free(&s->rows);
  hmq_dbfold_free(&s->fold);
  free(s->path);
  free(s);
}

static const hmq_bsink_ops sq_ops = {"sqlite", sq_commit, sq_close};

int hmq_sink_sqlite_available(void) {
  return 1;
}

hmq_status hmq_sink_sqlite_open(hmq_bsink **out, const hmq_db_config *cfg, char *err,
                                size_t errlen) {
  int fatal = 0;
  if (out)
    *out = NULL;
  if (!out || !cfg || !cfg->target || !*cfg->target) {
    snprintf(err, errlen, "--sqlite needs a file name");
    return HMQ_ERR_ARG;
  }
  sq_sink *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(cfg->target)) ||
      hmq_bsink_arenas_open(&s->base, &s->rows, cfg) != HMQ_OK ||
      hmq_dbfold_init(&s->fold, FOLD_KEYS, FOLD_BYTES) != HMQ_OK) {
    snprintf(err, errlen, "sqlite %s: out of memory for the batch", cfg->target);
    if (s) {
      hmq_bsink_arenas_free(&s->base);
      hmq_dbrows_free(&s->rows);
      hmq_dbfold_free(&s->fold);
      free(s->path);
    }
    free(s);
    return HMQ_ERR_IO;
  }
  s->base.ops = &sq_ops;
  s->busy_ms = cfg->busy_ms ? cfg->busy_ms : DEFAULT_BUSY_MS;
  s->ckpt_frames = cfg->ckpt_pages ? (int)cfg->ckpt_pages : CKPT_FRAMES;
  if (connect_db(s, &fatal) != SQLITE_OK) {
    snprintf(err, errlen, "%s", s->base.err);
    sq_close(&s->base);
    return HMQ_ERR_FILE;
  }
  if (hmq_sq_ckpt_open(&s->ckpt, s->path) != HMQ_OK) {
    snprintf(err, errlen, "sqlite %s: cannot start the checkpoint thread", s->path);
    sq_close(&s->base);
    return HMQ_ERR_IO;
  }
  *out = &s->base;
  return HMQ_OK;
}

#else /* !HMQ_WITH_SQLITE */

#include <stdio.h>

int hmq_sink_sqlite_available(void) {
  return 0;
}

hmq_status hmq_sink_sqlite_open(hmq_bsink **out, const hmq_db_config *cfg, char *err,
                                size_t errlen) {
  (void)cfg;
  if (out)
    *out = NULL;
  snprintf(err, errlen, "--sqlite: this hmq was built without SQLite (libsqlite3-dev missing)");
  return HMQ_ERR_STATE;
}

#endif
