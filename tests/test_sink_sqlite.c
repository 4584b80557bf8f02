/* SPDX-License-Identifier: MIT */
/*
 * The SQLite sink (src/pipeline/sink_sqlite.c) against real SQLite files in
 * a fresh directory per test. Results are read back with SQLite's own API
 * and, for `latest`, checked against a computation in SQL over the input
 * payloads (SQLite's JSON functions, not hmq's walker).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hmq/envelope.h"
#include "pipeline/bsink.h"
#include "pipeline/db_schema.h"
#include "sim_gen.h"

#include "db_fixture.h"

static char g_dir[64];
static char g_db[128];
static unsigned g_ckpt_pages; /* 0: the sink's default */

static int setup(void **state) {
  (void)state;
  g_ckpt_pages = 0;
  snprintf(g_dir, sizeof g_dir, "sqltest-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  snprintf(g_db, sizeof g_db, "%s/hmq.db", g_dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

/* --- helpers ---------------------------------------------------------------- */

static hmq_bsink *open_sink(size_t batch_bytes, dbt_rejects *r) {
  hmq_bsink *s = NULL;
  char err[512];
  hmq_db_config cfg = {0};
  cfg.target = g_db;
  cfg.batch_bytes = batch_bytes;
  cfg.ckpt_pages = g_ckpt_pages;
  cfg.busy_ms = 50;
  hmq_status st = hmq_sink_sqlite_open(&s, &cfg, err, sizeof err);
  if (st != HMQ_OK)
    fail_msg("open: %s", err);
  dbt_collect(s, r);
  return s;
}

static sqlite3 *db_open(void) {
  return dbt_sq_open(g_db, SQLITE_OPEN_READWRITE);
}

static const char *env_of(char *buf, size_t cap, const char *id, const char *vin, const char *ts,
                          double km) {
  return dbt_envelope(buf, cap, id, vin, ts, km, "p");
}

/* Table input(payload) for dbt_sq_check_latest, and its insert. */
static sqlite3_stmt *input_table(sqlite3 *db) {
  sqlite3_stmt *ins = NULL;
  dbt_sq_exec(db, "CREATE TABLE input (payload TEXT)");
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO input VALUES (?1)", -1, &ins, NULL),
                   SQLITE_OK);
  return ins;
}

/* --- tests -------------------------------------------------------------------- */

/* First use creates the schema (version row, WAL); a second open uses it
 * as is; a newer schema_version is refused with a message saying so. */
static void test_schema_created_versioned_newer_refused(void **state) {
  (void)state;
  hmq_bsink *s = open_sink(0, NULL);
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM schema_version"), 1);
  assert_int_equal(dbt_sq_int(db, "SELECT version FROM schema_version"), HMQ_DB_SCHEMA_VERSION);
  char mode[16];
  dbt_sq_text(db, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "wal");
  assert_int_equal(dbt_sq_int(db, "PRAGMA page_size"), 8192); /* a new file's pages */
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                  " ('messages','readings','latest','readings_by_vehicle')"),
                   4);
  sqlite3_close(db);

  s = open_sink(0, NULL); /* again: still one version row */
  hmq_bsink_close(s);
  db = db_open();
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM schema_version"), 1);
  dbt_sq_exec(db, "UPDATE schema_version SET version = 7");
  sqlite3_close(db);

  hmq_bsink *t = NULL;
  char err[512];
  hmq_db_config cfg = {0};
  cfg.target = g_db;
  assert_int_equal(hmq_sink_sqlite_open(&t, &cfg, err, sizeof err), HMQ_ERR_FILE);
  assert_null(t);
  assert_non_null(strstr(err, g_db));
  assert_non_null(strstr(err, "schema version 7 is newer than this hmq understands (1)"));
}

/* A file that is not a database, and a directory that does not exist. */
static void test_not_a_database(void **state) {
  (void)state;
  FILE *f = fopen(g_db, "w");
  assert_non_null(f);
  fputs("this is not a database, just some text that is long enough to be a header.........\n", f);
  fclose(f);
  hmq_bsink *t = NULL;
  char err[512];
  hmq_db_config cfg = {0};
  cfg.target = g_db;
  assert_int_equal(hmq_sink_sqlite_open(&t, &cfg, err, sizeof err), HMQ_ERR_FILE);
  assert_non_null(strstr(err, g_db));
  assert_non_null(strstr(err, "not a database"));
  cfg.target = "no-such-dir/x/hmq.db";
  assert_int_equal(hmq_sink_sqlite_open(&t, &cfg, err, sizeof err), HMQ_ERR_FILE);
  assert_non_null(strstr(err, "no-such-dir/x/hmq.db"));
}

/* Rows as the schema says: one messages row per message_id (duplicates in a
 * batch, across batches and across a reopen add nothing), one readings row
 * per entry, latest per (vin, capability, property, instance) only from
 * entries with data and a timestamp, and only moving forward in time. */
static void test_rows_duplicates_latest(void **state) {
  (void)state;
  char b1[2048], b2[2048], b3[2048], b4[2048];
  hmq_bsink *s = open_sink(0, NULL);
  assert_int_equal(
      dbt_put(s, env_of(b1, sizeof b1, "M1", "V1", "2025-08-12T16:00:10Z", 100.5), 1000), HMQ_OK);
  /* older reading, arrives later */
  assert_int_equal(
      dbt_put(s, env_of(b2, sizeof b2, "M2", "V1", "2025-08-12T16:00:05.500Z", 99.25), 1001),
      HMQ_OK);
  assert_int_equal(hmq_bsink_batched(s), 2);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(hmq_bsink_batched(s), 0);
  /* a duplicate of M1 and a newer reading */
  assert_int_equal(dbt_put(s, b1, 1002), HMQ_OK);
  assert_int_equal(
      dbt_put(s, env_of(b3, sizeof b3, "M3", "V1", "2025-08-12T16:00:20.123456Z", 101), 1003),
      HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->stored, 3);
  hmq_bsink_close(s);

  s = open_sink(0, NULL); /* a restart: duplicates of everything, plus one new */
  assert_int_equal(dbt_put(s, b1, 2000), HMQ_OK);
  assert_int_equal(dbt_put(s, b2, 2000), HMQ_OK);
  assert_int_equal(dbt_put(s, b3, 2000), HMQ_OK);
  assert_int_equal(dbt_put(s, env_of(b4, sizeof b4, "M4", "V2", "2025-08-12T15:00:00Z", 5), 2001),
                   HMQ_OK);
  /* V1 again, older than what latest holds, in a later batch */
  assert_int_equal(
      dbt_put(s, env_of(b1, sizeof b1, "M5", "V1", "2025-08-12T16:00:19Z", 100.9), 2002), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->stored, 2);
  hmq_bsink_close(s);

  sqlite3 *db = db_open();
  char t[512];
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages"), 5);
  assert_int_equal(dbt_sq_int(db, "SELECT count(DISTINCT message_id) FROM messages"), 5);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM readings"), 20);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM readings WHERE message_id = 'M2'"), 4);
  assert_int_equal(dbt_sq_int(db, "SELECT received_at FROM messages WHERE message_id = 'M2'"),
                   1001);
  dbt_sq_text(db, "SELECT envelope FROM messages WHERE message_id = 'M4'", t, sizeof t);
  assert_non_null(strstr(t, "{\"version\":2,\"application_id\":\"app\",\"message_id\":\"M4\""));
  /* readings: positions, instance, failure, missing timestamp */
  assert_int_equal(
      dbt_sq_int(db,
                 "SELECT count(*) FROM readings WHERE message_id = 'M3' AND idx = 2 AND"
                 " capability = 'doors' AND property = 'locks' AND instance = '' AND data IS NULL"
                 " AND failure = '{\"reason\":\"privacy_mode_active\",\"description\":\"p\"}'"),
      1);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM readings WHERE idx = 3 AND ts IS NULL AND"
                                  " ts_ms IS NULL AND instance = 'rear_right'"),
                   5);
  assert_int_equal(dbt_sq_int(db, "SELECT ts_ms FROM readings WHERE message_id = 'M3' AND idx = 0"),
                   1755014420123LL);
  /* latest: V1's odometer is M3's (newest), never M2's or M5's (older, later) */
  dbt_sq_text(db,
              "SELECT message_id || ' ' || ts || ' ' || data FROM latest WHERE vin = 'V1' AND"
              " capability = 'diagnostics' AND property = 'odometer' AND instance = ''",
              t, sizeof t);
  assert_string_equal(t,
                      "M3 2025-08-12T16:00:20.123456Z {\"unit\":\"kilometers\",\"value\":101.00}");
  dbt_sq_text(db, "SELECT message_id FROM latest WHERE vin = 'V1' AND instance = 'front_left'", t,
              sizeof t);
  assert_string_equal(t, "M3");
  /* no timestamp (rear_right) and failures never enter latest */
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM latest"), 4);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM latest WHERE instance = 'rear_right'"), 0);
  sqlite3_close(db);
}

/* Equal timestamps: the larger message_id wins, whatever the order. */
static void test_latest_tie_is_order_independent(void **state) {
  (void)state;
  char a[2048], b[2048];
  hmq_bsink *s = open_sink(0, NULL);
  env_of(a, sizeof a, "AAA", "V1", "2025-08-12T16:00:10Z", 1);
  env_of(b, sizeof b, "BBB", "V1", "2025-08-12T16:00:10Z", 2);
  assert_int_equal(dbt_put(s, b, 1), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(dbt_put(s, a, 2), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  char t[64];
  dbt_sq_text(db, "SELECT group_concat(DISTINCT message_id) FROM latest", t, sizeof t);
  assert_string_equal(t, "BBB");
  dbt_sq_exec(db, "DELETE FROM latest; DELETE FROM readings; DELETE FROM messages");
  sqlite3_close(db);
  s = open_sink(0, NULL); /* the other order, and both in one batch */
  assert_int_equal(dbt_put(s, a, 1), HMQ_OK);
  assert_int_equal(dbt_put(s, b, 2), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_bsink_close(s);
  db = db_open();
  dbt_sq_text(db, "SELECT group_concat(DISTINCT message_id) FROM latest", t, sizeof t);
  assert_string_equal(t, "BBB");
  sqlite3_close(db);
}

/* A constraint the user added refuses one message: it goes to the reject
 * callback with SQLite's message, the rest of the batch is committed. */
static void test_refused_row_rejected_rest_committed(void **state) {
  (void)state;
  dbt_rejects r = {0};
  hmq_bsink *s = open_sink(0, &r);
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  dbt_sq_exec(db, "CREATE TRIGGER no_bad BEFORE INSERT ON readings WHEN NEW.vin = 'BADVIN'"
                  " BEGIN SELECT RAISE(ABORT, 'vin BADVIN is not allowed here'); END");
  sqlite3_close(db);
  s = open_sink(0, &r);
  dbt_commit_one_refused(s, &r, "p", "vin BADVIN is not allowed here");
  assert_int_equal(s->rejected, 1);
  assert_int_equal(s->stored, 2);
  hmq_bsink_close(s);
  db = db_open();
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages"), 2);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages WHERE message_id = 'B1'"), 0);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM readings"), 8);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM latest WHERE vin = 'BADVIN'"), 0);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM latest"), 4);
  sqlite3_close(db);
}

/* Another connection holds the write lock: commit reports "not durable
 * yet", keeps the batch (and takes more), and stores all of it once the
 * lock is gone. */
static void test_locked_database_retried_nothing_lost(void **state) {
  (void)state;
  char b[2048];
  hmq_bsink *s = open_sink(0, NULL);
  sqlite3 *db = db_open();
  dbt_sq_exec(db, "BEGIN IMMEDIATE");
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "L1", "V1", "2025-08-12T16:00:10Z", 1), 1),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_WANT_WRITE);
  assert_non_null(strstr(s->err, "locked"));
  assert_int_equal(hmq_bsink_batched(s), 1);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "L2", "V1", "2025-08-12T16:00:11Z", 2), 2),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_WANT_WRITE);
  assert_int_equal(s->failures, 2);
  dbt_sq_exec(db, "COMMIT");
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(hmq_bsink_batched(s), 0);
  assert_string_equal(s->err, "");
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages"), 2);
  sqlite3_close(db);
  hmq_bsink_close(s);
}

/* The in-memory batch limit: room() turns 0 before the arena overflows,
 * and dbt_put() past it refuses without taking anything. */
static void test_batch_limit_bounded(void **state) {
  (void)state;
  char b[2048], id[32];
  hmq_bsink *s = open_sink(1, NULL); /* smallest: one max-size message + topic */
  size_t len = strlen(env_of(b, sizeof b, "X0000", "V1", "2025-08-12T16:00:10Z", 1));
  size_t n = 0;
  while (hmq_bsink_room(s, len) && n < 100000) {
    snprintf(id, sizeof id, "X%04zu", n);
    assert_int_equal(dbt_put(s, env_of(b, sizeof b, id, "V1", "2025-08-12T16:00:10Z", 1), 1),
                     HMQ_OK);
    n++;
  }
  assert_true(n > 10 && n < 100000);
  /* the limit holds at least one maximum-size (1 MiB) message */
  assert_true(n * len >= 1024 * 1024 - 65535);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_true(hmq_bsink_room(s, len));
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages"), (long long)n);
  sqlite3_close(db);
}

/* hmq-sim's stream (duplicates, late readings), in batches of varying size:
 * latest equals the newest reading per key computed in SQL from the
 * payloads themselves with SQLite's JSON functions. */
static void test_sim_stream_latest_matches_input(void **state) {
  (void)state;
  hmq_sim_gen_config cfg;
  hmq_sim_gen g;
  char topic[HMQ_SIM_TOPIC_MAX], payload[HMQ_SIM_PAYLOAD_MAX + 1];
  hmq_sim_msg msg;
  hmq_sim_gen_config_default(&cfg);
  cfg.vins = 7;
  cfg.dup_rate = 0.1;
  cfg.ooo_rate = 0.3;
  cfg.seed = 5;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_OK);
  hmq_bsink *s = open_sink(0, NULL);
  sqlite3 *db = db_open();
  sqlite3_stmt *ins = input_table(db);
  for (int i = 0; i < 1500; i++) {
    assert_int_equal(hmq_sim_gen_next(&g, topic, sizeof topic, payload, sizeof payload, &msg),
                     HMQ_OK);
    payload[msg.payload_len] = 0;
    assert_int_equal(dbt_put(s, payload, 1), HMQ_OK);
    sqlite3_bind_text(ins, 1, payload, (int)msg.payload_len, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
    if (i % 97 == 0 || i % 311 == 5)
      assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  }
  sqlite3_finalize(ins);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_bsink_close(s);
  assert_true(g.duplicates > 50);
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages"),
                   dbt_sq_int(db, "SELECT count(DISTINCT json_extract(payload, '$.message_id'))"
                                  " FROM input"));
  long long keys = dbt_sq_check_latest(db, "latest");
  assert_true(keys > 50);
  assert_true(dbt_sq_int(db, "SELECT count(*) FROM want") > 5000);
  /* and the late readings really were late: some key saw an older one after a newer */
  assert_true(dbt_sq_int(db, "SELECT count(*) FROM want w JOIN newest n USING (vin, capability,"
                             " property, instance) WHERE w.ms < n.ms") > 0);
  sqlite3_close(db);
}

/* instance is the string member "location" of the entry's data, found in
 * C (db_rows.c): escapes decoded in value and key, only a top-level string
 * member counts, members before it (nested objects, arrays, strings with
 * braces and quotes) are skipped correctly. */
static void test_instance_from_location(void **state) {
  (void)state;
  static const struct {
    const char *data, *want;
  } cases[] = {
      {"{\"location\": \"front_left\", \"x\": 1}", "front_left"},
      {"{\"a\": [\"}\\\"\", {\"location\": \"no\"}], \"b\": {\"c\": \"]\"}, \"location\": "
       "\"rear\"}",
       "rear"},
      {"{\"location\": \"front\\u005fleft\"}", "front_left"},
      {"{\"loc\\u0061tion\": \"escaped_key\"}", "escaped_key"},
      {"{\"x\": {\"location\": \"nested\"}}", ""},
      {"{\"location\": 3}", ""},
      {"{\"location\": {\"a\": 1}}", ""},
      {"[\"location\", \"x\"]", ""},
      {"\"location\"", ""},
      {"{}", ""},
      {"{\"locations\": \"x\", \"locatio\": \"y\"}", ""},
  };
  hmq_bsink *s = open_sink(0, NULL);
  char buf[1024], id[16];
  size_t n = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < n; i++) {
    snprintf(id, sizeof id, "m%zu", i);
    snprintf(buf, sizeof buf,
             "{\"version\": 2, \"message_id\": \"%s\", \"vin\": \"V\", \"data\": {\"c\": {\"p\":"
             " [{\"data\": %s, \"timestamp\": \"2025-08-12T16:00:00.000Z\"}]}}}",
             id, cases[i].data);
    assert_int_equal(dbt_put(s, buf, 1), HMQ_OK);
  }
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  for (size_t i = 0; i < n; i++) {
    char q[128], got[64];
    snprintf(q, sizeof q, "SELECT instance FROM readings WHERE message_id = 'm%zu'", i);
    dbt_sq_text(db, q, got, sizeof got);
    if (strcmp(got, cases[i].want) != 0)
      fail_msg("data %s: instance '%s', want '%s'", cases[i].data, got, cases[i].want);
  }
  /* latest: one row per distinct instance (front_left twice), '' shared */
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM latest"), 4);
  sqlite3_close(db);
}

/* Entry keys and a timestamp spelled with JSON escapes are read decoded, as
 * Python's json module and jq read them (SQLite 3.40's json_extract does
 * not: it compares path keys undecoded): m1's reading has its timestamp
 * (ts decoded, ts_ms set) and, being the newest, is the latest one. Before,
 * "time\u0073tamp" was no timestamp: ts_ms NULL and latest held m2's. */
static void test_escaped_entry_keys_in_rows(void **state) {
  (void)state;
  static const char *const msgs[] = {
      "{\"message_id\":\"m1\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[{\"d\\u0061ta\":{\"v\":1},"
      "\"time\\u0073tamp\":\"2025-08-12T16:00:0\\u0035.000Z\"}]}}}",
      "{\"message_id\":\"m2\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[{\"data\":{\"v\":2},"
      "\"timestamp\":\"2025-08-12T16:00:01.000Z\"}]}}}",
  };
  hmq_bsink *s = open_sink(0, NULL);
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(dbt_put(s, msgs[i], 1), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  char got[128];
  dbt_sq_text(db, "SELECT ts FROM readings WHERE message_id = 'm1'", got, sizeof got);
  assert_string_equal(got, "2025-08-12T16:00:05.000Z");
  assert_int_equal(dbt_sq_int(db, "SELECT ts_ms FROM readings WHERE message_id = 'm1'"),
                   1755014405000);
  dbt_sq_text(db, "SELECT data FROM readings WHERE message_id = 'm1'", got, sizeof got);
  assert_string_equal(got, "{\"v\":1}");
  dbt_sq_text(db, "SELECT message_id || ' ' || data FROM latest", got, sizeof got);
  assert_string_equal(got, "m1 {\"v\":1}");
  sqlite3_close(db);
}

/* One batch with more latest keys than the fold holds (16384; here 18000): it is
 * upserted mid-batch and again at the end; readings of the same keys come
 * again later in the batch, newer and older, and latest is still exactly
 * the newest per key (computed from the input in SQL). */
static void test_fold_overflow_mid_batch(void **state) {
  (void)state;
  enum { MSGS = 72, VINS = 60, PROPS = 300 };
  size_t cap = 64 + PROPS * 110;
  char *buf = malloc(cap + 256);
  assert_non_null(buf);
  hmq_bsink *s = open_sink(0, NULL);
  sqlite3 *db = db_open();
  sqlite3_stmt *ins = input_table(db);
  for (int m = 0; m < MSGS; m++) {
    /* vins V0..V59: messages 60.. repeat the first vins' keys, some older */
    int vin = m % VINS, sec = (m * 7919) % 50;
    size_t k = (size_t)snprintf(buf, cap,
                                "{\"version\": 2, \"message_id\": \"id%03d\", \"vin\": \"V%d\","
                                " \"data\": {\"c\": {",
                                m, vin);
    for (int p = 0; p < PROPS; p++)
      k += (size_t)snprintf(buf + k, cap + 256 - k,
                            "%s\"p%d\": [{\"data\": {\"v\": %d}, \"timestamp\":"
                            " \"2025-08-12T16:00:%02d.%03dZ\"}]",
                            p ? ", " : "", p, m, sec, p % 2 ? 0 : 500);
    k += (size_t)snprintf(buf + k, cap + 256 - k, "}}}");
    assert_int_equal(dbt_put_n(s, buf, k, 1), HMQ_OK);
    sqlite3_bind_text(ins, 1, buf, (int)k, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  assert_int_equal(hmq_bsink_batched(s), MSGS);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->readings, MSGS * PROPS);
  hmq_bsink_close(s);
  assert_int_equal(dbt_sq_check_latest(db, "latest"), VINS * PROPS);
  /* the repeated vins really had older and newer readings in the batch */
  assert_true(dbt_sq_int(db, "SELECT count(*) FROM want w JOIN newest n USING (vin, capability,"
                             " property, instance) WHERE w.ms < n.ms") > 0);
  sqlite3_close(db);
  free(buf);
}

/* The checkpoints run on their own thread, started once the WAL holds
 * ckpt_pages (here 64): after many batches the WAL file stays bounded (it
 * is restarted once copied) and the database file holds the pages while
 * the sink is still open. */
static void test_checkpoint_thread_bounds_wal(void **state) {
  (void)state;
  g_ckpt_pages = 64;
  hmq_bsink *s = open_sink(0, NULL);
  char buf[2048], id[32], wal[160], ts[40];
  struct stat sb;
  for (int i = 0; i < 6000; i++) {
    snprintf(id, sizeof id, "ck%05d", i);
    snprintf(ts, sizeof ts, "2025-08-12T16:%02d:%02d.000Z", (i / 60) % 60, i % 60);
    assert_int_equal(dbt_put(s, env_of(buf, sizeof buf, id, i % 2 ? "V1" : "V2", ts, i), 1),
                     HMQ_OK);
    if (i % 50 == 49)
      assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  }
  snprintf(wal, sizeof wal, "%s-wal", g_db);
  assert_int_equal(stat(wal, &sb), 0);
  /* 120 batches wrote far more pages than the limit that starts a
   * checkpoint; committed back to back, the WAL stays below 16 times it
   * (1024 pages of 8 KiB) plus a batch (it grew to 18-28 MB while only
   * the thread checkpointed) */
  assert_true(sb.st_size < 12ll * 1024 * 1024);
  assert_int_equal(stat(g_db, &sb), 0);
  assert_true(sb.st_size > 1024 * 1024); /* pages reached the database file */
  hmq_bsink_close(s);
  sqlite3 *db = db_open();
  assert_int_equal(dbt_sq_int(db, "SELECT count(*) FROM messages"), 6000);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_schema_created_versioned_newer_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rows_duplicates_latest, setup, teardown),
      cmocka_unit_test_setup_teardown(test_latest_tie_is_order_independent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_row_rejected_rest_committed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_locked_database_retried_nothing_lost, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_limit_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_stream_latest_matches_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_instance_from_location, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escaped_entry_keys_in_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fold_overflow_mid_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint_thread_bounds_wal, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
