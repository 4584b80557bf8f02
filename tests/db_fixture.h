/* SPDX-License-Identifier: MIT */
/*
 * What the database sink tests share (tests/test_sink_sqlite.c,
 * tests/integration/test_db_sqlite.c, test_db_pg.c): putting a payload into
 * a batch sink as the pipeline does, collecting refused messages, a small
 * envelope with one odometer reading, two door locks and a failure entry,
 * and, when sqlite3.h was included first, one-value queries on a SQLite
 * file. Header-only (static inline), like pg.h and e2e.h.
 */
#ifndef HMQ_TEST_DB_FIXTURE_H
#define HMQ_TEST_DB_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hmq/envelope.h"
#include "pipeline/bsink.h"

/* Messages the sink refused: how many, the last reason and payload. */
typedef struct dbt_rejects {
  int n;
  char reason[512];
  char payload[2048];
} dbt_rejects;

static inline void dbt_on_reject(void *ctx, const hmq_bmsg *m, const char *reason) {
  dbt_rejects *r = ctx;
  r->n++;
  snprintf(r->reason, sizeof r->reason, "%s", reason);
  snprintf(r->payload, sizeof r->payload, "%.*s", (int)m->len, (const char *)m->payload);
}

/* Route the sink's refusals into r (NULL: only counted by the sink). */
static inline void dbt_collect(hmq_bsink *s, dbt_rejects *r) {
  s->reject = r ? dbt_on_reject : NULL;
  s->reject_ctx = r;
}

/* Put len bytes of payload, parsed first as the pipeline does (the parse
 * must succeed), received at `received` ms. */
static inline hmq_status dbt_put_n(hmq_bsink *s, const char *payload, size_t len,
                                   uint64_t received) {
  static hmq_envelope_parser parser;
  static uint8_t tok[64 * 1024];
  hmq_envelope env;
  hmq_bmsg m;
  hmq_envelope_parser_init(&parser, tok, sizeof tok);
  assert_int_equal(hmq_envelope_parse(&parser, payload, len, &env), HMQ_OK);
  m.env = &env;
  m.topic = "sandbox/level13/app/VIN";
  m.topic_len = strlen(m.topic);
  m.payload = (const uint8_t *)payload;
  m.len = len;
  m.received_ms = received;
  return hmq_bsink_put(s, &m);
}

static inline hmq_status dbt_put(hmq_bsink *s, const char *payload, uint64_t received) {
  return dbt_put_n(s, payload, strlen(payload), received);
}

/* An envelope: the odometer at `ts`, the front left door lock at `ts`, a
 * failure entry (description `desc`, a JSON string body) and the rear right
 * lock without a timestamp. */
static inline const char *dbt_envelope(char *buf, size_t cap, const char *id, const char *vin,
                                       const char *ts, double km, const char *desc) {
  snprintf(buf, cap,
           "{\"version\": 2, \"application_id\": \"app\", \"message_id\": \"%s\", \"vin\": \"%s\","
           " \"data\": {\"diagnostics\": {\"odometer\": [{\"data\": {\"unit\": \"kilometers\","
           " \"value\": %.2f}, \"timestamp\": \"%s\"}]}, \"doors\": {\"locks\": [{\"data\":"
           " {\"location\": \"front_left\", \"lock_state\": \"locked\"}, \"timestamp\": \"%s\"},"
           " {\"failure\": {\"reason\": \"privacy_mode_active\", \"description\": \"%s\"},"
           " \"timestamp\": \"%s\"}, {\"data\": {\"location\": \"rear_right\", \"lock_state\":"
           " \"unlocked\"}}]}}}",
           id, vin, km, ts, ts, desc, ts);
  return buf;
}

/* G1 (vin V1), B1 (vin BADVIN), G2 (vin V2) in one batch, where a rule the
 * test added refuses vin BADVIN: the commit succeeds, B1 alone goes to r
 * with a reason holding `reason`. */
static inline void dbt_commit_one_refused(hmq_bsink *s, const dbt_rejects *r, const char *desc,
                                          const char *reason) {
  char b[2048];
  assert_int_equal(
      dbt_put(s, dbt_envelope(b, sizeof b, "G1", "V1", "2025-08-12T16:00:10Z", 1, desc), 1),
      HMQ_OK);
  assert_int_equal(
      dbt_put(s, dbt_envelope(b, sizeof b, "B1", "BADVIN", "2025-08-12T16:00:11Z", 2, desc), 2),
      HMQ_OK);
  assert_int_equal(
      dbt_put(s, dbt_envelope(b, sizeof b, "G2", "V2", "2025-08-12T16:00:12Z", 3, desc), 3),
      HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(r->n, 1);
  assert_non_null(strstr(r->reason, reason));
  assert_non_null(strstr(r->payload, "\"message_id\": \"B1\""));
}

#if defined(SQLITE_VERSION) /* sqlite3.h included before */

/* The first column of the first row as an integer (-1: no row). */
static inline long long dbt_sq_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  long long v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%.200s: %s", sql, sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* The same as text into out ("" for no row or NULL). */
static inline void dbt_sq_text(sqlite3 *db, const char *sql, char *out, size_t cap) {
  sqlite3_stmt *st = NULL;
  out[0] = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%.200s: %s", sql, sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
}

static inline void dbt_sq_exec(sqlite3 *db, const char *sql) {
  char *e = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK)
    fail_msg("%.200s: %s", sql, e ? e : "?");
}

/* The input's answer, computed independently of hmq (SQLite's JSON
 * functions over table input(payload), not hmq's walker): table want, every
 * entry of every distinct payload with data and a text timestamp, its
 * position idx and its time in ms (fraction truncated); table newest, the
 * greatest per key by (ms, message_id, idx). Asserts that `latest` (a table
 * name, "got.latest" for an attached file) holds exactly newest, and
 * returns the number of keys. */
static inline long long dbt_sq_check_latest(sqlite3 *db, const char *latest) {
  char q[600];
  dbt_sq_exec(db,
              "CREATE TABLE want AS WITH msgs AS (SELECT DISTINCT payload FROM input),"
              " e AS (SELECT json_extract(payload, '$.vin') AS vin,"
              "  json_extract(payload, '$.message_id') AS message_id, c.key AS capability,"
              "  p.key AS property, x.value AS entry,"
              "  row_number() OVER (PARTITION BY payload ORDER BY c.id, p.id, x.id) - 1 AS idx"
              "  FROM msgs, json_each(payload, '$.data') c, json_each(c.value) p,"
              "  json_each(p.value) x)"
              " SELECT vin, capability, property,"
              "  coalesce(json_extract(entry, '$.data.location'), '') AS instance, message_id, idx,"
              "  json_extract(entry, '$.timestamp') AS ts, entry -> '$.data' AS data FROM e"
              "  WHERE json_type(entry, '$.data') IS NOT NULL AND"
              "  json_type(entry, '$.timestamp') = 'text'");
  dbt_sq_exec(db, "ALTER TABLE want ADD COLUMN ms INTEGER");
  dbt_sq_exec(db, "UPDATE want SET ms = CAST(strftime('%s', ts) AS INTEGER) * 1000 +"
                  " CAST(substr(ts, 21, 3) || substr('000', 1, 3 - length(substr(ts, 21, 3)))"
                  " AS INTEGER) * (substr(ts, 20, 1) = '.')");
  dbt_sq_exec(db,
              "CREATE TABLE newest AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY"
              " vin, capability, property, instance ORDER BY ms DESC, message_id DESC, idx DESC)"
              " AS rk FROM want) WHERE rk = 1");
  long long keys = dbt_sq_int(db, "SELECT count(*) FROM newest");
  snprintf(q, sizeof q, "SELECT count(*) FROM %s", latest);
  assert_int_equal(dbt_sq_int(db, q), keys);
  snprintf(q, sizeof q,
           "SELECT count(*) FROM newest n JOIN %s l USING (vin, capability, property, instance)"
           " WHERE l.message_id = n.message_id AND l.idx = n.idx AND l.ts_ms = n.ms AND"
           " l.data = n.data",
           latest);
  assert_int_equal(dbt_sq_int(db, q), keys);
  return keys;
}

/* Open a SQLite file for the test's own queries (waits up to 5 s for the
 * sink's lock). */
static inline sqlite3 *dbt_sq_open(const char *path, int flags) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
    fail_msg("%s: %s", path, sqlite3_errmsg(db));
  sqlite3_busy_timeout(db, 5000);
  return db;
}

#endif
#endif
