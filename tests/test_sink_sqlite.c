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
#include <unistd.h>

#include "hmq/envelope.h"
#include "pipeline/bsink.h"
#include "pipeline/db_schema.h"
#include "sim_gen.h"

#include "db_fixture.h"

static char g_dir[64];
static char g_db[128];

static int setup(void **state) {
  (void)state;
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
  dbt_sq_exec(db, "CREATE TABLE input (payload TEXT)");
  sqlite3_stmt *ins = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO input VALUES (?1)", -1, &ins, NULL),
                   SQLITE_OK);
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
