/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL sink (--postgres CONNINFO): the batch sink interface
 * (bsink.h) over libpq, one transaction per batch.
 *
 * One batch:
 *   BEGIN
 *   COPY hmq_in FROM STDIN      every message and every entry of the batch,
 *                               one row each, into a temporary table whose
 *                               JSON columns are typed (each value parsed once)
 *   WITH m AS (INSERT INTO messages … ON CONFLICT DO NOTHING RETURNING …)
 *        INSERT INTO readings … JOIN m            readings of new messages only
 *   INSERT INTO latest SELECT DISTINCT ON (key) … ORDER BY key, newest first
 *        ON CONFLICT DO UPDATE … WHERE newer
 *   COMMIT                      (synchronous_commit on: durable when it returns)
 *
 * Many hmq instances (a share group on several hosts) may write to one
 * database at once, with the same message arriving at two of them after a
 * redelivery. That stays right in any commit order:
 *  - the messages primary key admits one of the two inserts; the other
 *    waits for the first transaction and then does nothing, and its
 *    readings, joined to the rows it really inserted, are not written;
 *  - the latest upsert compares with the row as committed (ON CONFLICT
 *    locks it) and replaces it only with a greater (ts_ms, message_id, idx),
 *    a total order, so the result does not depend on who commits first;
 *  - rows are inserted in key order, so two batches lock keys in the same
 *    order; a deadlock or serialization failure the server still reports
 *    (SQLSTATE 40xxx) is retried at once, up to three times.
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
  hmq_dbatch batch;
  hmq_dbrows rows;
  char *chunk; /* COPY data staging */
  size_t chunk_len;
  char sqlstate[6];
  char rowerr[512];
} pg_sink;

/* The batch as rows: idx < 0 is the message row, idx >= 0 an entry. The
 * JSON columns have their final types, so COPY parses each value once (the
 * statements below only move them). */
static const char sql_temp[] =
    "CREATE TEMP TABLE IF NOT EXISTS hmq_in (message_id text COLLATE \"C\", idx integer,"
    " vin text, application_id text, version integer, received_ms bigint, envelope json,"
    " capability text, property text, ts_ms bigint, data jsonb, failure jsonb)"
    " ON COMMIT DELETE ROWS";
static const char sql_copy[] = "COPY hmq_in FROM STDIN";
static const char sql_store[] =
    "WITH m AS (INSERT INTO messages (message_id, vin, application_id, version, received_at,"
    " envelope) SELECT message_id, vin, application_id, version,"
    " timestamptz 'epoch' + received_ms * interval '1 millisecond', envelope"
    " FROM hmq_in WHERE idx < 0 ORDER BY message_id"
    " ON CONFLICT (message_id) DO NOTHING RETURNING message_id),"
    " r AS (INSERT INTO readings (message_id, idx, vin, capability, property, instance, ts,"
    " ts_ms, data, failure) SELECT i.message_id, i.idx, i.vin, i.capability, i.property,"
    " coalesce(i.data ->> 'location', ''),"
    " timestamptz 'epoch' + i.ts_ms * interval '1 millisecond', i.ts_ms, i.data,"
    " i.failure FROM hmq_in i JOIN m USING (message_id) WHERE i.idx >= 0 RETURNING 1)"
    " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM r)";
static const char sql_latest[] =
    "INSERT INTO latest (vin, capability, property, instance, ts, ts_ms, data, message_id, idx)"
    " SELECT DISTINCT ON (vin, capability, property, instance) vin, capability, property,"
    " instance, timestamptz 'epoch' + ts_ms * interval '1 millisecond', ts_ms, data,"
    " message_id, idx FROM (SELECT vin, capability, property,"
    " coalesce(data ->> 'location', '') AS instance, ts_ms, data,"
    " message_id, idx FROM hmq_in WHERE idx >= 0 AND ts_ms IS NOT NULL AND data IS NOT NULL) e"
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
  snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state ? state : "");
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
  if (cmd(s, "SET synchronous_commit TO on", PGRES_COMMAND_OK, "session setup") != 0 ||
      schema(s, fatal) != 0 ||
      cmd(s, sql_temp, PGRES_COMMAND_OK, "creating the temporary table") != 0) {
    disconnect(s);
    return -1;
  }
  return 0;
}

/* --- COPY text ------------------------------------------------------------------ */

static int flush_chunk(pg_sink *s) {
  int r = 1;
  while (s->chunk_len && (r = PQputCopyData(s->conn, s->chunk, (int)s->chunk_len)) == 0)
    if (wait_sock(s, 1) != 0 || !PQconsumeInput(s->conn))
      break; /* libpq's buffer is full: wait until the server takes some */
  if (r != 1) {
    note(s, "sending COPY data", NULL);
    return -1;
  }
  s->chunk_len = 0;
  return 0;
}

/* Append bytes escaped for COPY's text format (backslash, tab, newline,
 * carriage return). */
static int put_text(pg_sink *s, const char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (COPY_CHUNK - s->chunk_len < 8 && flush_chunk(s) != 0)
      return -1;
    size_t room = (COPY_CHUNK - s->chunk_len - 2), k = 0;
    while (i + k < n && k < room) {
      char c = p[i + k];
      if (c == '\\' || c == '\t' || c == '\n' || c == '\r')
        break;
      k++;
    }
    memcpy(s->chunk + s->chunk_len, p + i, k);
    s->chunk_len += k;
    i += k;
    if (i < n && k < room) {
      char c = p[i++];
      s->chunk[s->chunk_len++] = '\\';
      s->chunk[s->chunk_len++] = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
    }
  }
  return 0;
}

static int put_raw(pg_sink *s, const char *p) {
  size_t n = strlen(p);
  if (COPY_CHUNK - s->chunk_len < n && flush_chunk(s) != 0)
    return -1;
  memcpy(s->chunk + s->chunk_len, p, n);
  s->chunk_len += n;
  return 0;
}

static int put_field(pg_sink *s, hmq_str v, int last) {
  int rc = v.ptr ? put_text(s, v.ptr, v.len) : put_raw(s, "\\N");
  return rc ? rc : put_raw(s, last ? "\n" : "\t");
}

static int put_num(pg_sink *s, long long v, int have, int last) {
  char b[32];
  if (!have)
    return put_field(s, (hmq_str){NULL, 0}, last);
  snprintf(b, sizeof b, "%lld%s", v, last ? "\n" : "\t");
  return put_raw(s, b);
}

static const hmq_str none = {NULL, 0};

/* COPY rows of batch item i: the message and its entries. 1 when the copy
 * does not decode (rowerr says why), -1 on a connection failure. */
static int copy_item(pg_sink *s, size_t i) {
  hmq_bmsg m;
  hmq_dbmsg row;
  hmq_dbreading r;
  const char *why = "";
  hmq_status st;
  hmq_dbatch_get(&s->batch, i, &m);
  if (hmq_dbrows_message(&s->rows, &m, &row, &why) != HMQ_OK) {
    snprintf(s->rowerr, sizeof s->rowerr, "%s", why);
    return 1;
  }
  if (put_field(s, row.message_id, 0) || put_num(s, -1, 1, 0) || put_field(s, row.vin, 0) ||
      put_field(s, row.application_id, 0) || put_num(s, row.version, row.has_version, 0) ||
      put_num(s, (long long)row.received_ms, 1, 0) || put_field(s, row.envelope, 0) ||
      put_field(s, none, 0) || put_field(s, none, 0) || put_field(s, none, 0) ||
      put_field(s, none, 0) || put_field(s, none, 1))
    return -1;
  while ((st = hmq_dbrows_next(&s->rows, &r, &why)) == HMQ_OK) {
    if (put_field(s, row.message_id, 0) || put_num(s, (long long)r.idx, 1, 0) ||
        put_field(s, row.vin, 0) || put_field(s, none, 0) || put_field(s, none, 0) ||
        put_field(s, none, 0) || put_field(s, none, 0) || put_field(s, r.capability, 0) ||
        put_field(s, r.property, 0) || put_num(s, r.ts_ms, r.has_ts_ms, 0) ||
        put_field(s, r.data, 0) || put_field(s, r.failure, 1))
      return -1;
  }
  if (st != HMQ_NEED_MORE) {
    snprintf(s->rowerr, sizeof s->rowerr, "%s", why);
    return 1;
  }
  return 0;
}

/* COPY items [from, to) that are not rejected. 0, 1 (item `*bad` does not
 * decode) or -1 (server error, noted). */
static int copy_range(pg_sink *s, size_t from, size_t to, size_t *bad) {
  PGresult *res = run(s, sql_copy);
  int rc = 0;
  if (PQresultStatus(res) != PGRES_COPY_IN) {
    note(s, "COPY", res);
    PQclear(res);
    return -1;
  }
  PQclear(res);
  s->chunk_len = 0;
  for (size_t i = from; i < to && rc == 0; i++) {
    if (s->batch.items[i].rejected)
      continue;
    rc = copy_item(s, i);
    if (rc == 1)
      *bad = i;
  }
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
  res = answer(s);
  if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
    note(s, "COPY", res);
    rc = -1;
  }
  PQclear(res);
  return rc;
}

/* Store what hmq_in holds; counters on success. */
static int store(pg_sink *s) {
  PGresult *res = run(s, sql_store);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    note(s, "storing messages and readings", res);
    PQclear(res);
    return -1;
  }
  s->base.stored += strtoull(PQgetvalue(res, 0, 0), NULL, 10);
  s->base.readings += strtoull(PQgetvalue(res, 0, 1), NULL, 10);
  PQclear(res);
  return cmd(s, sql_latest, PGRES_COMMAND_OK, "updating latest");
}

enum { PASS_OK = 0, PASS_ROW = 1, PASS_FAIL = 2 };

/* The whole batch in one transaction. */
static int pass_batch(pg_sink *s) {
  size_t bad = 0;
  uint64_t stored = s->base.stored, readings = s->base.readings;
  if (cmd(s, "BEGIN", PGRES_COMMAND_OK, "BEGIN") != 0)
    return PASS_FAIL;
  int rc = copy_range(s, 0, s->batch.count, &bad);
  if (rc == 1) {
    quiet(s, "ROLLBACK");
    return PASS_ROW; /* a copy that does not decode: find it message by message */
  }
  if (rc == 0)
    rc = store(s);
  if (rc == 0)
    rc = cmd(s, "COMMIT", PGRES_COMMAND_OK, "COMMIT");
  if (rc == 0)
    return PASS_OK;
  s->base.stored = stored;
  s->base.readings = readings;
  if (PQstatus(s->conn) == CONNECTION_OK)
    quiet(s, "ROLLBACK");
  return row_error(s) ? PASS_ROW : PASS_FAIL;
}

/* A SAVEPOINT per message; refused ones rejected. */
static int pass_isolated(pg_sink *s) {
  uint64_t stored = s->base.stored, readings = s->base.readings;
  if (cmd(s, "BEGIN", PGRES_COMMAND_OK, "BEGIN") != 0)
    return PASS_FAIL;
  for (size_t i = 0; i < s->batch.count; i++) {
    size_t bad = 0;
    uint64_t st0 = s->base.stored, rd0 = s->base.readings;
    if (s->batch.items[i].rejected)
      continue;
    if (cmd(s, "SAVEPOINT m", PGRES_COMMAND_OK, "SAVEPOINT") != 0)
      goto failed;
    int rc = copy_range(s, i, i + 1, &bad);
    if (rc == 0)
      rc = store(s);
    if (rc == 0) {
      if (cmd(s, "RELEASE m", PGRES_COMMAND_OK, "RELEASE") != 0 ||
          cmd(s, "TRUNCATE hmq_in", PGRES_COMMAND_OK, "TRUNCATE") != 0)
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
    hmq_dbatch_reject(&s->batch, &s->base, i, s->rowerr);
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
  if (s->batch.count == 0)
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
  hmq_dbatch_clear(&s->batch);
  s->base.commits++;
  s->base.err[0] = 0;
  return HMQ_OK;
}

static hmq_status pg_put(hmq_bsink *b, const hmq_bmsg *m) {
  return hmq_dbatch_add(&((pg_sink *)b)->batch, m);
}

static int pg_room(const hmq_bsink *b, size_t len) {
  return hmq_dbatch_room(&((const pg_sink *)b)->batch, HMQ_DBATCH_TOPIC_MAX, len);
}

static size_t pg_batched(const hmq_bsink *b) {
  return ((const pg_sink *)b)->batch.count;
}

static void pg_close(hmq_bsink *b) {
  pg_sink *s = (pg_sink *)b;
  disconnect(s);
  hmq_dbatch_free(&s->batch);
  hmq_dbrows_free(&s->rows);
  free(s->chunk);
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

static const hmq_bsink_ops pg_ops = {"postgres", pg_put, pg_room, pg_commit, pg_batched, pg_close};

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
  if (!s || !(s->conninfo = strdup(cfg->target)) || !(s->chunk = malloc(COPY_CHUNK)) ||
      hmq_dbatch_open(&s->batch, &s->rows, cfg) != HMQ_OK) {
    snprintf(err, errlen, "postgres: out of memory for the batch");
    if (s) {
      free(s->chunk);
      free(s->conninfo);
    }
    free(s);
    return HMQ_ERR_IO;
  }
  s->base.ops = &pg_ops;
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
