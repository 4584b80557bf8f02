/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL sink (--postgres CONNINFO): the batch sink interface
 * (bsink.h) over libpq, one transaction per batch.
 *
 * One batch:
 *   BEGIN
 *   COPY messages FROM STDIN    straight into the table (in a SAVEPOINT):
 *                               the usual case, none of them stored before
 *     or, when that fails on the messages primary key (a message stored
 *     before: a redelivery), back to the SAVEPOINT and
 *     COPY hmq_m FROM STDIN; INSERT INTO messages SELECT … FROM hmq_m
 *        ON CONFLICT DO NOTHING RETURNING message_id   (the new ones)
 *   COPY readings FROM STDIN    the entries of the new messages only,
 *                               straight into the table (the server writes
 *                               them a page at a time; an INSERT … SELECT
 *                               writes a WAL record per row)
 *   COPY hmq_lc FROM STDIN      their candidates for latest (entries with
 *                               data and a timestamp)
 *   INSERT INTO latest SELECT DISTINCT ON (key) … ORDER BY key, newest first
 *        ON CONFLICT DO UPDATE … WHERE newer
 *   COMMIT                      (synchronous_commit on: durable when it returns)
 * hmq computes what the server used to: the instance (db_rows.h), ts and
 * received_at as timestamptz text (exact to the ms in every year RFC 3339
 * allows; the former timestamptz 'epoch' + ms * interval '1 millisecond'
 * goes through a double and is off by microseconds centuries away from
 * 1970), which messages are new.
 *
 * Many hmq instances (a share group on several hosts) may write to one
 * database at once, with the same message arriving at two of them after a
 * redelivery. That stays right in any commit order:
 *  - the messages primary key admits one of the two inserts; the other
 *    waits for the first transaction and then fails (COPY) or does nothing
 *    (INSERT … ON CONFLICT), and writes readings only for the messages it
 *    really inserted;
 *  - only messages new in this transaction add latest candidates: one
 *    stored before added its own when it was stored;
 *  - the latest upsert compares with the row as committed (ON CONFLICT
 *    locks it) and replaces it only with a greater (ts_ms, message_id, idx),
 *    a total order, so the result does not depend on who commits first;
 *  - latest rows are written in key order, so two batches lock keys in the
 *    same order; the direct COPY into messages is in arrival order, so two
 *    instances holding the same two new messages in opposite orders can
 *    deadlock: the server ends one of them (SQLSTATE 40P01), which, like
 *    any 40xxx, is retried at once, up to three times.
 * message_id columns use the "C" collation: byte order, as SQLite compares,
 * whatever the database's locale.
 *
 * Failures: a data error or constraint violation (SQLSTATE class 22, 23)
 * caused by one message rolls the batch back; it then runs again with a
 * SAVEPOINT per message and each refused message goes to the reject
 * callback with the server's message. Anything else (server down or
 * restarting, connection lost, out of disk, permissions) leaves the batch as
 * it is and commit() reports HMQ_WANT_WRITE; the next attempt connects
 * again if the connection is gone. A COMMIT whose answer was lost may have
 * happened: the retry then finds those messages stored and adds nothing.
 */
#include "pipeline/bsink.h"

#if defined(HMQ_WITH_POSTGRES)

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/db_batch.h"
#include "pipeline/db_rows.h"
#include "pipeline/db_schema.h"

#define DEFAULT_TIMEOUT_S 10u
#define DEFAULT_ANSWER_S  30u
#define COPY_CHUNK        (256u * 1024u)
#define DEADLOCK_RETRIES  3
/* pg_advisory_xact_lock key while creating the schema ("hmq" in ASCII) */
#define SCHEMA_LOCK_KEY "6843761"

typedef struct pg_out {
  char *p;
  size_t len, cap;
  int grow; /* 0: flush to the server when full; 1: realloc */
} pg_out;

typedef struct pg_sink {
  hmq_bsink base;
  char *conninfo;
  char where[300]; /* "postgres dbname=… host=… port=…" for messages (no password) */
  char timeout[16];
  unsigned answer_s; /* longest wait for the server's answer */
  uint64_t deadline; /* of the statement running (monotonic ms) */
  int hung;          /* the server did not answer in time: drop the connection */
  int quiet;         /* running a clean-up command: note() keeps the first reason */
  PGconn *conn;
  hmq_dbrows rows;
  pg_out chunk; /* COPY data staging */
  pg_out lat;   /* latest candidates of the batch (COPY text) */
  char sqlstate[6];
  char constraint[64]; /* of the last failure, "" when none */
  char rowerr[512];
} pg_sink;

/* Two temporary tables per session: the batch's messages (to learn which
 * are new) and its candidates for latest. Readings go straight into
 * readings by COPY: the server inserts them a page at a time. */
static const char sql_temp[] =
    "CREATE TEMP TABLE IF NOT EXISTS hmq_m (message_id text COLLATE \"C\", vin text,"
    " application_id text, version integer, received_at timestamptz, envelope json)"
    " ON COMMIT DELETE ROWS;"
    " CREATE TEMP TABLE IF NOT EXISTS hmq_lc (vin text, capability text, property text,"
    " instance text, ts timestamptz, ts_ms bigint, data jsonb, message_id text COLLATE \"C\","
    " idx integer) ON COMMIT DELETE ROWS";
/* Sorts and joins of one batch fit in memory (the default 4 MB spills to
 * disk). */
static const char sql_session[] = "SET synchronous_commit TO on; SET work_mem TO '64MB'";
static const char sql_copy_m[] = "COPY hmq_m FROM STDIN";
static const char sql_messages[] =
    "INSERT INTO messages (message_id, vin, application_id, version, received_at, envelope)"
    " SELECT * FROM hmq_m ORDER BY message_id ON CONFLICT (message_id) DO NOTHING"
    " RETURNING message_id";
static const char sql_copy_r[] = "COPY readings (message_id, idx, vin, capability, property,"
                                 " instance, ts, ts_ms, data, failure) FROM STDIN";
static const char sql_copy_l[] = "COPY hmq_lc FROM STDIN";
/* Messages straight into messages by COPY when none of them is stored yet
 * (the usual case); a duplicate makes it fail on the primary key and the
 * batch takes the way through hmq_m instead. */
static const char sql_copy_direct[] = "COPY messages (message_id, vin, application_id, version,"
                                      " received_at, envelope) FROM STDIN";
/* One candidate per key (the newest of the batch); ON CONFLICT compares it
 * with the row as committed, under the row's lock. No pre-filter against
 * latest: readings mostly arrive newer than what is stored, and the join
 * cost an index probe per candidate (about a third of the statement). */
static const char sql_latest[] =
    "INSERT INTO latest (vin, capability, property, instance, ts, ts_ms, data, message_id, idx)"
    " SELECT DISTINCT ON (vin, capability, property, instance) * FROM hmq_lc"
    " ORDER BY vin, capability, property, instance, ts_ms DESC, message_id DESC, idx DESC"
    " ON CONFLICT (vin, capability, property, instance) DO UPDATE SET ts = excluded.ts,"
    " ts_ms = excluded.ts_ms, data = excluded.data, message_id = excluded.message_id,"
    " idx = excluded.idx WHERE (excluded.ts_ms, excluded.message_id, excluded.idx) >"
    " (latest.ts_ms, latest.message_id, latest.idx)";

/* --- errors ------------------------------------------------------------------ */

static void one_line(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
    s[--n] = 0;
  for (char *p = s; *p; p++)
    if (*p == '\n' || *p == '\t')
      *p = ' ';
}

/* Note a failed result (or connection) in sqlstate / rowerr / base.err. */
static void note(pg_sink *s, const char *what, const PGresult *res) {
  if (s->hung || s->quiet)
    return; /* wait_sock / the failure before the clean-up said why */
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = res ? PQresultErrorMessage(res) : NULL;
  if (!msg || !*msg)
    msg = s->conn ? PQerrorMessage(s->conn) : "no connection";
  const char *con = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state ? state : "");
  snprintf(s->constraint, sizeof s->constraint, "%s", con ? con : "");
  snprintf(s->rowerr, sizeof s->rowerr, "postgres: %s", msg);
  one_line(s->rowerr);
  snprintf(s->base.err, sizeof s->base.err, "%s: %s: %s", s->where, what, s->rowerr + 10);
}

/* A message's own fault: data exception (22) or constraint (23). */
static int row_error(const pg_sink *s) {
  return s->sqlstate[0] == '2' && (s->sqlstate[1] == '2' || s->sqlstate[1] == '3');
}

static int retry_now(const pg_sink *s) {
  return s->sqlstate[0] == '4' && s->sqlstate[1] == '0';
}

/* --- bounded waits ---------------------------------------------------------------
 * The connection is non-blocking and every wait for the server is bounded
 * by answer_s: a server that stops answering (stopped, hung, a network that
 * drops packets without a reset) costs one timeout, then the connection is
 * dropped, commit() reports HMQ_WANT_WRITE with a line saying so, and the
 * pipeline retries with backoff (libpq's blocking calls would wait forever). */

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until the socket is readable (or writable too, `out`), at most
 * until the deadline. 0 ready; -1 timed out or failed (noted). */
static int wait_sock(pg_sink *s, int out) {
  for (;;) {
    uint64_t now = mono_ms();
    if (now >= s->deadline) {
      s->sqlstate[0] = 0;
      snprintf(s->rowerr, sizeof s->rowerr,
               "postgres: no answer from the server within %u s (server hung or network"
               " down); connection dropped",
               s->answer_s);
      snprintf(s->base.err, sizeof s->base.err, "%s: %s", s->where, s->rowerr + 10);
      s->hung = 1;
      return -1;
    }
    struct pollfd p = {PQsocket(s->conn), (short)(POLLIN | (out ? POLLOUT : 0)), 0};
    int r = poll(&p, 1, (int)(s->deadline - now));
    if (r > 0)
      return 0;
    if (r < 0 && errno != EINTR) {
      note(s, "waiting for the server", NULL);
      return -1;
    }
  }
}

/* Send what libpq has queued. 0 or -1 (noted). */
static int flush_all(pg_sink *s) {
  int r;
  while ((r = PQflush(s->conn)) == 1) {
    if (wait_sock(s, 1) != 0)
      return -1;
    if (!PQconsumeInput(s->conn)) {
      note(s, "sending", NULL);
      return -1;
    }
  }
  if (r < 0)
    note(s, "sending", NULL);
  return r < 0 ? -1 : 0;
}

/* The answer to what was sent: the last result, or the COPY IN result.
 * NULL when the server did not answer in time or the connection broke
 * (noted). */
static PGresult *answer(pg_sink *s) {
  PGresult *last = NULL, *r;
  for (;;) {
    while (PQisBusy(s->conn)) {
      if (wait_sock(s, 0) != 0 || !PQconsumeInput(s->conn)) {
        note(s, "reading the answer", NULL);
        PQclear(last);
        return NULL;
      }
    }
    r = PQgetResult(s->conn);
    if (!r)
      return last;
    PQclear(last);
    last = r;
    if (PQresultStatus(r) == PGRES_COPY_IN)
      return r;
  }
}

/* PQexec with a bounded wait (NULL: timed out or broken, noted). */
static PGresult *run(pg_sink *s, const char *sql) {
  s->deadline = mono_ms() + (uint64_t)s->answer_s * 1000u;
  if (!PQsendQuery(s->conn, sql)) {
    note(s, "sending", NULL);
    return NULL;
  }
  return flush_all(s) == 0 ? answer(s) : NULL;
}

/* Run a command; 0 when it did what `want` says. */
static int cmd(pg_sink *s, const char *sql, ExecStatusType want, const char *what) {
  PGresult *res = run(s, sql);
  int ok = PQresultStatus(res) == want;
  if (!ok)
    note(s, what, res);
  PQclear(res);
  return ok ? 0 : -1;
}

/* A clean-up command (ROLLBACK): its own failure must not replace the
 * reason already noted. */
static void quiet(pg_sink *s, const char *sql) {
  if (s->hung)
    return;
  s->quiet = 1;
  PQclear(run(s, sql));
  s->quiet = 0;
}

/* --- connection and schema ---------------------------------------------------- */

static void describe_target(pg_sink *s) {
  char *err = NULL;
  const char *db = "", *host = "", *port = "";
  PQconninfoOption *o = PQconninfoParse(s->conninfo, &err), *p;
  for (p = o; p && p->keyword; p++) {
    if (!p->val)
      continue;
    if (strcmp(p->keyword, "dbname") == 0)
      db = p->val;
    else if (strcmp(p->keyword, "host") == 0)
      host = p->val;
    else if (strcmp(p->keyword, "port") == 0)
      port = p->val;
  }
  snprintf(s->where, sizeof s->where, "postgres%s%s%s%s%s%s", *db ? " dbname=" : "", db,
           *host ? " host=" : "", host, *port ? " port=" : "", port);
  PQconninfoFree(o);
  PQfreemem(err);
}

static void disconnect(pg_sink *s) {
  if (s->conn)
    PQfinish(s->conn);
  s->conn = NULL;
  s->hung = 0;
}

static int schema(pg_sink *s, int *fatal) {
  PGresult *res;
  long v = 0;
  if (cmd(s, "BEGIN", PGRES_COMMAND_OK, "schema check") != 0)
    return -1;
  /* one instance creates the schema, the others wait and then find it */
  res = run(s, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")");
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    note(s, "schema lock", res);
  int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
  PQclear(res);
  if (ok)
    ok = cmd(s, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
             PGRES_COMMAND_OK, "creating schema_version") == 0;
  if (ok) {
    res = run(s, "SELECT coalesce(max(version), 0) FROM schema_version");
    ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
      v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    else
      note(s, "reading schema_version", res);
    PQclear(res);
  }
  if (ok && v > HMQ_DB_SCHEMA_VERSION) {
    hmq_db_schema_refusal(s->where, v, s->base.err, sizeof s->base.err);
    *fatal = 1;
    ok = 0;
  } else if (ok && v < 1) {
    size_t n, i;
    const char *const *create = hmq_db_schema_create(HMQ_DB_POSTGRES, &n);
    for (i = 0; i < n && ok; i++)
      ok = cmd(s, create[i], PGRES_COMMAND_OK,
               "creating the schema (is this a database of another program?)") == 0;
    if (!ok)
      *fatal = 1;
  }
  if (ok)
    ok = cmd(s, "COMMIT", PGRES_COMMAND_OK, "committing the schema") == 0;
  if (!ok)
    quiet(s, "ROLLBACK");
  return ok ? 0 : -1;
}

/* The server's NOTICEs ("relation already exists, skipping") are not for
 * the user of hmq. */
static void no_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static int connect_db(pg_sink *s, int *fatal) {
  const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
  const char *vals[] = {s->timeout, "hmq", s->conninfo, NULL};
  *fatal = 0;
  disconnect(s);
  /* expand_dbname: the user's conninfo (or URI) comes last, so whatever
   * it sets wins over the defaults before it */
  s->conn = PQconnectdbParams(keys, vals, 1);
  if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
    note(s, "cannot connect", NULL);
    disconnect(s);
    return -1;
  }
  s->hung = 0;
  PQsetNoticeProcessor(s->conn, no_notice, NULL);
  if (PQsetnonblocking(s->conn, 1) != 0) {
    note(s, "switching to non-blocking mode", NULL);
    disconnect(s);
    return -1;
  }
  if (PQsetClientEncoding(s->conn, "UTF8") != 0) {
    note(s, "setting client encoding UTF8", NULL);
    disconnect(s);
    return -1;
  }
  /* durable at COMMIT whatever the server's default says */
  if (cmd(s, sql_session, PGRES_COMMAND_OK, "session setup") != 0 || schema(s, fatal) != 0 ||
      cmd(s, sql_temp, PGRES_COMMAND_OK, "creating the temporary table") != 0) {
    disconnect(s);
    return -1;
  }
  return 0;
}

/* --- COPY text ------------------------------------------------------------------ */

/* Where COPY text goes: the chunk streamed to the server (flushed when
 * full) or the latest candidates kept until their own COPY (grows; at most
 * about the batch's size, which is bounded). */
static int flush_chunk(pg_sink *s) {
  int r = 1;
  while (s->chunk.len && (r = PQputCopyData(s->conn, s->chunk.p, (int)s->chunk.len)) == 0)
    if (wait_sock(s, 1) != 0 || !PQconsumeInput(s->conn))
      break; /* libpq's buffer is full: wait until the server takes some */
  if (r != 1) {
    note(s, "sending COPY data", NULL);
    return -1;
  }
  s->chunk.len = 0;
  return 0;
}

/* Room for `need` more bytes in o. */
static int ensure(pg_sink *s, pg_out *o, size_t need) {
  if (o->cap - o->len >= need)
    return 0;
  if (!o->grow)
    return flush_chunk(s);
  size_t cap = o->cap ? o->cap : COPY_CHUNK;
  while (cap - o->len < need)
    cap *= 2;
  char *p = realloc(o->p, cap);
  if (!p) {
    s->sqlstate[0] = 0;
    snprintf(s->base.err, sizeof s->base.err, "%s: out of memory for the batch", s->where);
    return -1;
  }
  o->p = p;
  o->cap = cap;
  return 0;
}

/* Append bytes escaped for COPY's text format (backslash, tab, newline,
 * carriage return). */
static int put_text(pg_sink *s, pg_out *o, const char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (ensure(s, o, 8) != 0)
      return -1;
    size_t room = o->cap - o->len - 2, k = 0;
    while (i + k < n && k < room) {
      char c = p[i + k];
      if (c == '\\' || c == '\t' || c == '\n' || c == '\r')
        break;
      k++;
    }
    memcpy(o->p + o->len, p + i, k);
    o->len += k;
    i += k;
    if (i < n && k < room) {
      char c = p[i++];
      o->p[o->len++] = '\\';
      o->p[o->len++] = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
    }
  }
  return 0;
}

static int put_raw(pg_sink *s, pg_out *o, const char *p) {
  size_t n = strlen(p);
  if (ensure(s, o, n) != 0)
    return -1;
  memcpy(o->p + o->len, p, n);
  o->len += n;
  return 0;
}

static int put_field(pg_sink *s, pg_out *o, hmq_str v, int last) {
  int rc = v.ptr ? put_text(s, o, v.ptr, v.len) : put_raw(s, o, "\\N");
  return rc ? rc : put_raw(s, o, last ? "\n" : "\t");
}

static int put_num(pg_sink *s, pg_out *o, long long v, int have, int last) {
  char b[32];
  if (!have)
    return put_field(s, o, (hmq_str){NULL, 0}, last);
  snprintf(b, sizeof b, "%lld%s", v, last ? "\n" : "\t");
  return put_raw(s, o, b);
}

/* A time in ms since 1970 as timestamptz input, exact to the ms (the
 * years RFC 3339 allows, 0000-9999, some of them BC in PostgreSQL's
 * counting). */
static int put_time(pg_sink *s, pg_out *o, int64_t ms, int have, int last) {
  char b[64];
  struct tm tm;
  if (!have)
    return put_field(s, o, (hmq_str){NULL, 0}, last);
  int64_t sec = ms / 1000, frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    sec--;
  }
  time_t t = (time_t)sec;
  if (!gmtime_r(&t, &tm))
    return put_field(s, o, (hmq_str){NULL, 0}, last);
  long y = tm.tm_year + 1900L;
  snprintf(b, sizeof b, "%04ld-%02d-%02d %02d:%02d:%02d.%03d+00%s%s", y > 0 ? y : 1 - y,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac,
           y > 0 ? "" : " BC", last ? "\n" : "\t");
  return put_raw(s, o, b);
}

/* --- one batch ----------------------------------------------------------------- */

/* Start a COPY. 0 or -1 (noted). */
static int copy_begin(pg_sink *s, const char *sql) {
  PGresult *res = run(s, sql);
  int ok = PQresultStatus(res) == PGRES_COPY_IN;
  if (!ok)
    note(s, "COPY", res);
  PQclear(res);
  s->chunk.len = 0;
  return ok ? 0 : -1;
}

/* End the COPY started: rc 0 sends the rest and ends it (*rows: rows
 * taken), else abandons it. Returns rc, or -1 when the server refused. */
static int copy_end(pg_sink *s, int rc, uint64_t *rows) {
  if (rc == 0 && flush_chunk(s) != 0)
    rc = -1;
  if (s->hung)
    return -1;
  int end;
  while ((end = PQputCopyEnd(s->conn, rc == 0 ? NULL : "hmq: batch abandoned")) == 0)
    if (wait_sock(s, 1) != 0 || !PQconsumeInput(s->conn))
      break;
  if ((end != 1 || flush_all(s) != 0) && rc == 0) {
    note(s, "ending COPY", NULL);
    return -1;
  }
  PGresult *res = answer(s);
  if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
    note(s, "COPY", res);
    rc = -1;
  }
  if (rc == 0 && rows)
    *rows = strtoull(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return rc;
}

/* Decode item i's message row; 1 when it does not decode (rowerr says
 * why). */
static int message_of(pg_sink *s, size_t i, hmq_dbmsg *row) {
  hmq_bmsg m;
  const char *why = "";
  hmq_dbatch_get(s->base.sealed, i, &m);
  if (hmq_dbrows_message(&s->rows, &m, row, &why) != HMQ_OK) {
    snprintf(s->rowerr, sizeof s->rowerr, "%s", why);
    return 1;
  }
  return 0;
}

/* The next item at or after *i (before `to`) that is not rejected, decoded
 * into row: 0; 1 when it does not decode (*bad = its index, rowerr says
 * why); 2 when there is none. */
static int next_item(pg_sink *s, size_t *i, size_t to, hmq_dbmsg *row, size_t *bad) {
  for (; *i < to; (*i)++) {
    if (s->base.sealed->items[*i].rejected)
      continue;
    if (message_of(s, *i, row) == 0)
      return 0;
    *bad = *i;
    return 1;
  }
  return 2;
}

/* The message ids the INSERT returned (new to the database), in byte
 * order, each taken once. */
typedef struct fresh_id {
  const char *p;
  size_t len;
  int taken;
} fresh_id;

static int id_cmp(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  return c ? c : (al > bl) - (al < bl);
}

static int fresh_cmp(const void *a, const void *b) {
  const fresh_id *x = a, *y = b;
  return id_cmp(x->p, x->len, y->p, y->len);
}

/* 1 when message id `v` is one of the new ones not taken yet (taking it). */
static int take_fresh(fresh_id *ids, size_t n, hmq_str v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = id_cmp(ids[mid].p, ids[mid].len, v.ptr, v.len);
    if (c == 0) {
      if (ids[mid].taken)
        return 0;
      ids[mid].taken = 1;
      return 1;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* COPY the messages of items [from, to) (into hmq_m or messages). 0, 1 (item *bad does
 * not decode) or -1; *sent: rows sent. */
static int copy_messages(pg_sink *s, const char *sql, size_t from, size_t to, size_t *bad,
                         size_t *sent) {
  hmq_dbmsg row;
  pg_out *o = &s->chunk;
  int rc = 0;
  *sent = 0;
  if (copy_begin(s, sql) != 0)
    return -1;
  for (size_t i = from; rc == 0 && (rc = next_item(s, &i, to, &row, bad)) == 0; i++) {
    if (put_field(s, o, row.message_id, 0) || put_field(s, o, row.vin, 0) ||
        put_field(s, o, row.application_id, 0) || put_num(s, o, row.version, row.has_version, 0) ||
        put_time(s, o, (int64_t)row.received_ms, 1, 0) || put_field(s, o, row.envelope, 1))
      rc = -1;
    (*sent)++;
  }
  return copy_end(s, rc == 2 ? 0 : rc, NULL);
}

/* The last failure was the messages primary key: a message stored before. */
static int dup_key(const pg_sink *s) {
  return strcmp(s->sqlstate, "23505") == 0 && strcmp(s->constraint, "messages_pkey") == 0;
}

/* COPY the readings of the new messages among items [from, to) into
 * readings, and keep their latest candidates in s->lat. ids NULL: all are
 * new. 0, 1 (item *bad does not decode) or -1. */
static int copy_readings(pg_sink *s, size_t from, size_t to, fresh_id *ids, size_t nids,
                         size_t *bad) {
  hmq_dbmsg row;
  hmq_dbreading r;
  const char *why = "";
  hmq_status st;
  pg_out *o = &s->chunk, *l = &s->lat;
  uint64_t rows = 0;
  int rc = 0;
  l->len = 0;
  if (copy_begin(s, sql_copy_r) != 0)
    return -1;
  for (size_t i = from; rc == 0 && (rc = next_item(s, &i, to, &row, bad)) == 0; i++) {
    if (ids && !take_fresh(ids, nids, row.message_id))
      continue; /* stored before (or twice in this batch) */
    while (rc == 0 && (st = hmq_dbrows_next(&s->rows, &r, &why)) == HMQ_OK) {
      if (put_field(s, o, row.message_id, 0) || put_num(s, o, (long long)r.idx, 1, 0) ||
          put_field(s, o, row.vin, 0) || put_field(s, o, r.capability, 0) ||
          put_field(s, o, r.property, 0) || put_field(s, o, r.instance, 0) ||
          put_time(s, o, r.ts_ms, r.has_ts_ms, 0) || put_num(s, o, r.ts_ms, r.has_ts_ms, 0) ||
          put_field(s, o, r.data, 0) || put_field(s, o, r.failure, 1))
        rc = -1;
      else if (r.has_ts_ms && r.data.ptr &&
               (put_field(s, l, row.vin, 0) || put_field(s, l, r.capability, 0) ||
                put_field(s, l, r.property, 0) || put_field(s, l, r.instance, 0) ||
                put_time(s, l, r.ts_ms, 1, 0) || put_num(s, l, r.ts_ms, 1, 0) ||
                put_field(s, l, r.data, 0) || put_field(s, l, row.message_id, 0) ||
                put_num(s, l, (long long)r.idx, 1, 1)))
        rc = -1;
    }
    if (rc == 0 && st != HMQ_NEED_MORE) {
      snprintf(s->rowerr, sizeof s->rowerr, "%s", why);
      *bad = i;
      rc = 1;
    }
  }
  rc = copy_end(s, rc == 2 ? 0 : rc, &rows);
  if (rc == 0)
    s->base.readings += rows;
  return rc;
}

/* The latest candidates kept in s->lat: COPY, then the upsert. */
static int store_latest(pg_sink *s) {
  if (s->lat.len == 0)
    return 0;
  if (copy_begin(s, sql_copy_l) != 0)
    return -1;
  int rc = 0;
  for (size_t off = 0; off < s->lat.len && rc == 0; off += COPY_CHUNK) {
    size_t n = s->lat.len - off < COPY_CHUNK ? s->lat.len - off : COPY_CHUNK;
    memcpy(s->chunk.p, s->lat.p + off, n);
    s->chunk.len = n;
    rc = flush_chunk(s);
  }
  if (copy_end(s, rc, NULL) != 0)
    return -1;
  return cmd(s, sql_latest, PGRES_COMMAND_OK, "updating latest");
}

/* Store items [from, to) in the open transaction: their messages (the
 * primary key decides which are new), the readings of the new ones, and
 * latest. 0, 1 (item *bad does not decode: rowerr) or -1 (noted). */
static int store_range(pg_sink *s, size_t from, size_t to, size_t *bad) {
  size_t sent = 0, n;
  int rc;
  /* all new (the usual case): straight into messages */
  if (cmd(s, "SAVEPOINT d", PGRES_COMMAND_OK, "SAVEPOINT") != 0)
    return -1;
  rc = copy_messages(s, sql_copy_direct, from, to, bad, &sent);
  if (rc == 0) {
    if (cmd(s, "RELEASE d", PGRES_COMMAND_OK, "RELEASE") != 0)
      return -1;
    s->base.stored += sent;
    rc = sent ? copy_readings(s, from, to, NULL, 0, bad) : 0;
    return rc == 0 && sent ? store_latest(s) : rc;
  }
  if (rc == 1 || !dup_key(s) || cmd(s, "ROLLBACK TO d", PGRES_COMMAND_OK, "ROLLBACK TO") != 0)
    return rc == 1 ? 1 : -1;
  /* some are stored already: through hmq_m, the key decides which are new */
  rc = copy_messages(s, sql_copy_m, from, to, bad, &sent);
  if (rc != 0)
    return rc;
  PGresult *res = run(s, sql_messages);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    note(s, "storing messages", res);
    PQclear(res);
    return -1;
  }
  n = (size_t)PQntuples(res);
  s->base.stored += n;
  fresh_id *ids = NULL;
  if (n > 0 && n < sent) { /* find the new ones */
    ids = calloc(n, sizeof *ids);
    if (!ids) {
      PQclear(res);
      snprintf(s->base.err, sizeof s->base.err, "%s: out of memory for the batch", s->where);
      return -1;
    }
    for (size_t k = 0; k < n; k++) {
      ids[k].p = PQgetvalue(res, (int)k, 0);
      ids[k].len = (size_t)PQgetlength(res, (int)k, 0);
    }
    qsort(ids, n, sizeof *ids, fresh_cmp);
  }
  if (n > 0)
    rc = copy_readings(s, from, to, ids, n, bad);
  free(ids);
  PQclear(res);
  if (rc == 0 && n > 0)
    rc = store_latest(s);
  return rc;
}

enum { PASS_OK = 0, PASS_ROW = 1, PASS_FAIL = 2 };

/* The whole batch in one transaction. */
static int pass_batch(pg_sink *s) {
  size_t bad = 0;
  uint64_t stored = s->base.stored, readings = s->base.readings;
  if (cmd(s, "BEGIN", PGRES_COMMAND_OK, "BEGIN") != 0)
    return PASS_FAIL;
  int rc = store_range(s, 0, s->base.sealed->count, &bad);
  if (rc == 0)
    rc = cmd(s, "COMMIT", PGRES_COMMAND_OK, "COMMIT");
  if (rc == 0)
    return PASS_OK;
  s->base.stored = stored;
  s->base.readings = readings;
  if (PQstatus(s->conn) == CONNECTION_OK)
    quiet(s, "ROLLBACK");
  /* a copy that does not decode, or a row the server refuses: find it
   * message by message */
  return rc == 1 || row_error(s) ? PASS_ROW : PASS_FAIL;
}

/* A SAVEPOINT per message; refused ones rejected. */
static int pass_isolated(pg_sink *s) {
  uint64_t stored = s->base.stored, readings = s->base.readings;
  if (cmd(s, "BEGIN", PGRES_COMMAND_OK, "BEGIN") != 0)
    return PASS_FAIL;
  for (size_t i = 0; i < s->base.sealed->count; i++) {
    size_t bad = 0;
    uint64_t st0 = s->base.stored, rd0 = s->base.readings;
    if (s->base.sealed->items[i].rejected)
      continue;
    if (cmd(s, "SAVEPOINT m", PGRES_COMMAND_OK, "SAVEPOINT") != 0)
      goto failed;
    int rc = store_range(s, i, i + 1, &bad);
    if (rc == 0) {
      if (cmd(s, "RELEASE m", PGRES_COMMAND_OK, "RELEASE") != 0 ||
          cmd(s, "TRUNCATE hmq_m, hmq_lc", PGRES_COMMAND_OK, "TRUNCATE") != 0)
        goto failed;
      continue;
    }
    if (rc != 1 && !row_error(s))
      goto failed;
    s->base.stored = st0;
    s->base.readings = rd0;
    if (cmd(s, "ROLLBACK TO m", PGRES_COMMAND_OK, "ROLLBACK TO") != 0 ||
        cmd(s, "RELEASE m", PGRES_COMMAND_OK, "RELEASE") != 0)
      goto failed;
    hmq_dbatch_reject(s->base.sealed, &s->base, i, s->rowerr);
  }
  if (cmd(s, "COMMIT", PGRES_COMMAND_OK, "COMMIT") == 0)
    return PASS_OK;
failed:
  s->base.stored = stored;
  s->base.readings = readings;
  if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
    quiet(s, "ROLLBACK");
  return PASS_FAIL;
}

static hmq_status pg_commit(hmq_bsink *b) {
  pg_sink *s = (pg_sink *)b;
  int fatal = 0, r = PASS_FAIL;
  if (s->base.sealed->count == 0)
    return HMQ_OK;
  if (s->conn && PQstatus(s->conn) != CONNECTION_OK)
    disconnect(s);
  if (!s->conn && connect_db(s, &fatal) != 0) {
    s->base.failures++;
    return HMQ_WANT_WRITE;
  }
  for (int attempt = 0; attempt <= DEADLOCK_RETRIES; attempt++) {
    s->sqlstate[0] = 0;
    r = pass_batch(s);
    if (r == PASS_ROW)
      r = pass_isolated(s);
    if (r == PASS_OK || !retry_now(s))
      break;
  }
  if (r != PASS_OK) {
    if (s->hung || PQstatus(s->conn) != CONNECTION_OK)
      disconnect(s);
    s->base.failures++;
    return HMQ_WANT_WRITE;
  }
  s->base.commits++;
  s->base.err[0] = 0;
  return HMQ_OK;
}

static void pg_close(hmq_bsink *b) {
  pg_sink *s = (pg_sink *)b;
  disconnect(s);
  hmq_bsink_arenas_free(&s->base);
  hmq_dbrows_free(&s->rows);
  free(s->chunk.p);
  free(s->lat.p);
  free(s->conninfo);
  free(s);
}

/* After a failed first connection: 1 when the server is down, starting,
 * stopping or not answering (wait for it), 0 when it answered and refused
 * us (a wrong database, user or password: a configuration error). */
static int unreachable(pg_sink *s) {
  const char *keys[] = {"connect_timeout", "dbname", NULL};
  const char *vals[] = {s->timeout, s->conninfo, NULL};
  if (s->hung)
    return 1;
  PGPing p = PQpingParams(keys, vals, 1);
  return p == PQPING_NO_RESPONSE || p == PQPING_REJECT;
}

static const hmq_bsink_ops pg_ops = {"postgres", pg_commit, pg_close};

int hmq_sink_pg_available(void) {
  return 1;
}

hmq_status hmq_sink_pg_open(hmq_bsink **out, const hmq_db_config *cfg, char *err, size_t errlen) {
  int fatal = 0;
  if (out)
    *out = NULL;
  if (!out || !cfg || !cfg->target) {
    snprintf(err, errlen, "--postgres needs a connection string");
    return HMQ_ERR_ARG;
  }
  pg_sink *s = calloc(1, sizeof *s);
  if (!s || !(s->conninfo = strdup(cfg->target)) || !(s->chunk.p = malloc(COPY_CHUNK)) ||
      hmq_bsink_arenas_open(&s->base, &s->rows, cfg) != HMQ_OK) {
    snprintf(err, errlen, "postgres: out of memory for the batch");
    if (s) {
      free(s->chunk.p);
      free(s->conninfo);
    }
    free(s);
    return HMQ_ERR_IO;
  }
  s->base.ops = &pg_ops;
  s->chunk.cap = COPY_CHUNK;
  s->lat.grow = 1;
  snprintf(s->timeout, sizeof s->timeout, "%u",
           cfg->timeout_s ? cfg->timeout_s : DEFAULT_TIMEOUT_S);
  s->answer_s = cfg->answer_s ? cfg->answer_s : DEFAULT_ANSWER_S;
  describe_target(s);
  if (connect_db(s, &fatal) != 0 && (fatal || !unreachable(s))) {
    snprintf(err, errlen, "%s", s->base.err);
    pg_close(&s->base);
    return HMQ_ERR_FILE;
  }
  /* a server that is down or not answering now is not a reason to stop:
   * the sink starts disconnected (base.err says why) and commit() connects */
  *out = &s->base;
  return HMQ_OK;
}

#else /* !HMQ_WITH_POSTGRES */

#include <stdio.h>

int hmq_sink_pg_available(void) {
  return 0;
}

hmq_status hmq_sink_pg_open(hmq_bsink **out, const hmq_db_config *cfg, char *err, size_t errlen) {
  (void)cfg;
  if (out)
    *out = NULL;
  snprintf(err, errlen, "--postgres: this hmq was built without PostgreSQL (libpq-dev missing)");
  return HMQ_ERR_STATE;
}

#endif
