/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL sink (src/pipeline/sink_pg.c) against a real PostgreSQL
 * server started by the test (pg.h): schema and versioning, rows and
 * duplicates, latest by timestamp, a refused row going to the reject
 * callback, the server going away and coming back (nothing lost), and four
 * writer processes storing overlapping, shuffled parts of one stream at the
 * same time (each message_id once, latest equal to the newest reading
 * computed by the server from the payloads).
 */
#define _DEFAULT_SOURCE /* setgroups() in pg.h */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hmq/envelope.h"
#include "pg.h"
#include "pipeline/bsink.h"
#include "pipeline/db_schema.h"
#include "sim_gen.h"

#include "../db_fixture.h"

static hmq_pg g_pg;

static int group_setup(void **state) {
  (void)state;
  if (hmq_pg_setup(&g_pg) != 0 || hmq_pg_start(&g_pg) != 0) {
    hmq_pg_cleanup(&g_pg);
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  hmq_pg_cleanup(&g_pg);
  return 0;
}

static void sql(const char *s) {
  PGconn *c = PQconnectdb(g_pg.conninfo);
  PGresult *r = PQexec(c, s);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", s, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

static long long q_int(const char *s) {
  return hmq_pg_int(g_pg.conninfo, s);
}

/* Every test starts from an empty database. */
static int fresh(void **state) {
  (void)state;
  sql("SET client_min_messages TO warning;"
      " DROP TABLE IF EXISTS messages, readings, latest, schema_version, input, want CASCADE");
  return 0;
}

static hmq_bsink *open_sink(dbt_rejects *r) {
  hmq_bsink *s = NULL;
  char err[512];
  hmq_db_config cfg = {0};
  cfg.target = g_pg.conninfo;
  if (hmq_sink_pg_open(&s, &cfg, err, sizeof err) != HMQ_OK)
    fail_msg("open: %s", err);
  dbt_collect(s, r);
  return s;
}

static const char *env_of(char *buf, size_t cap, const char *id, const char *vin, const char *ts,
                          double km) {
  return dbt_envelope(buf, cap, id, vin, ts, km, "tab\\there");
}

static void test_schema_created_versioned_newer_refused(void **state) {
  (void)state;
  hmq_bsink_close(open_sink(NULL));
  hmq_bsink_close(open_sink(NULL));
  assert_int_equal(q_int("SELECT count(*) FROM schema_version"), 1);
  assert_int_equal(q_int("SELECT version FROM schema_version"), HMQ_DB_SCHEMA_VERSION);
  assert_int_equal(q_int("SELECT count(*) FROM pg_indexes WHERE indexname = "
                         "'readings_by_vehicle'"),
                   1);
  sql("UPDATE schema_version SET version = 9");
  hmq_bsink *t = NULL;
  char err[512];
  hmq_db_config cfg = {0};
  cfg.target = g_pg.conninfo;
  assert_int_equal(hmq_sink_pg_open(&t, &cfg, err, sizeof err), HMQ_ERR_FILE);
  assert_null(t);
  assert_non_null(strstr(err, "schema version 9 is newer than this hmq understands (1)"));
  assert_non_null(strstr(err, "dbname=postgres host=127.0.0.1"));
}

/* Nothing listens: the sink opens disconnected (the reason names the
 * target, never the password) and each commit tries again. */
static void test_cannot_connect_says_where(void **state) {
  (void)state;
  hmq_bsink *t = NULL;
  char err[512] = "", ci[200], b[2048];
  hmq_db_config cfg = {0};
  snprintf(ci, sizeof ci, "host=127.0.0.1 port=%u dbname=postgres user=hmq password=s3cret",
           hmq_pg_free_port());
  cfg.target = ci;
  assert_int_equal(hmq_sink_pg_open(&t, &cfg, err, sizeof err), HMQ_OK);
  assert_non_null(t);
  assert_non_null(strstr(t->err, "cannot connect"));
  assert_non_null(strstr(t->err, "host=127.0.0.1"));
  assert_null(strstr(t->err, "s3cret"));
  assert_int_equal(dbt_put(t, env_of(b, sizeof b, "N1", "V1", "2025-08-12T16:00:10Z", 1), 1),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(t), HMQ_WANT_WRITE);
  assert_int_equal(hmq_bsink_batched(t), 1);
  assert_null(strstr(t->err, "s3cret"));
  hmq_bsink_close(t);
}

/* A server that answers and refuses us (no such database) is a
 * configuration error at open, not something to wait for. */
static void test_refused_at_open_is_an_error(void **state) {
  (void)state;
  hmq_bsink *t = NULL;
  char err[512] = "", ci[300];
  hmq_db_config cfg = {0};
  snprintf(ci, sizeof ci, "host=127.0.0.1 port=%u dbname=no_such_db user=hmq", g_pg.port);
  cfg.target = ci;
  assert_int_equal(hmq_sink_pg_open(&t, &cfg, err, sizeof err), HMQ_ERR_FILE);
  assert_null(t);
  assert_non_null(strstr(err, "dbname=no_such_db"));
  assert_non_null(strstr(err, "no_such_db\" does not exist"));
}

/* hmq started while the server is down: the sink opens, commits fail
 * (nothing acknowledged) until the server is up, then everything is stored. */
static void test_started_while_server_down(void **state) {
  (void)state;
  char b[2048];
  assert_int_equal(hmq_pg_stop(&g_pg), 0);
  hmq_bsink *s = open_sink(NULL);
  assert_non_null(strstr(s->err, "cannot connect"));
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "S1", "V1", "2025-08-12T16:00:10Z", 1), 1),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_WANT_WRITE);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "S2", "V1", "2025-08-12T16:00:09Z", 2), 2),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_WANT_WRITE);
  assert_int_equal(hmq_bsink_batched(s), 2);
  assert_int_equal(hmq_pg_start(&g_pg), 0);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_string_equal(s->err, "");
  hmq_bsink_close(s);
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 2);
  assert_int_equal(q_int("SELECT version FROM schema_version"), HMQ_DB_SCHEMA_VERSION);
  assert_int_equal(q_int("SELECT ts_ms FROM latest WHERE instance = ''"), 1755014410000LL);
}

/* A hung server (every process stopped: connections stay open, nothing
 * answers) costs one bounded wait per attempt, with a line saying so, and
 * the batch is stored once when it answers again. */
static void test_hung_server_times_out_then_stored(void **state) {
  (void)state;
  char b[2048], err[512];
  hmq_bsink *s = NULL;
  hmq_db_config cfg = {0};
  cfg.target = g_pg.conninfo;
  cfg.answer_s = 2;
  cfg.timeout_s = 2;
  assert_int_equal(hmq_sink_pg_open(&s, &cfg, err, sizeof err), HMQ_OK);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "H1", "V1", "2025-08-12T16:00:10Z", 1), 1),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_pg_signal_all(&g_pg, SIGSTOP);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "H2", "V1", "2025-08-12T16:00:11Z", 2), 2),
                   HMQ_OK);
  uint64_t t0 = hmq_pg_now();
  hmq_status st = hmq_bsink_commit(s);
  uint64_t waited = hmq_pg_now() - t0;
  char why[600];
  snprintf(why, sizeof why, "%s", s->err);
  /* again while still hung: the new connection's wait is bounded too */
  t0 = hmq_pg_now();
  hmq_status st2 = hmq_bsink_commit(s);
  uint64_t waited2 = hmq_pg_now() - t0;
  hmq_pg_signal_all(&g_pg, SIGCONT);
  assert_int_equal(st, HMQ_WANT_WRITE);
  assert_non_null(strstr(why, "no answer from the server within 2 s"));
  assert_non_null(strstr(why, "host=127.0.0.1"));
  assert_true(waited >= 1900 && waited < 6000);
  assert_int_equal(st2, HMQ_WANT_WRITE);
  assert_true(waited2 < 6000);
  assert_int_equal(hmq_bsink_batched(s), 1);
  uint64_t end = hmq_pg_now() + 20000;
  while ((st = hmq_bsink_commit(s)) != HMQ_OK && hmq_pg_now() < end)
    hmq_pg_sleep(200);
  assert_int_equal(st, HMQ_OK);
  hmq_bsink_close(s);
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 2);
  assert_int_equal(q_int("SELECT ts_ms FROM latest WHERE instance = ''"), 1755014411000LL);
}

static void test_rows_duplicates_latest(void **state) {
  (void)state;
  char b1[2048], b2[2048], b3[2048], b5[2048];
  hmq_bsink *s = open_sink(NULL);
  assert_int_equal(
      dbt_put(s, env_of(b1, sizeof b1, "M1", "V1", "2025-08-12T16:00:10Z", 100.5), 1000), HMQ_OK);
  assert_int_equal(
      dbt_put(s, env_of(b2, sizeof b2, "M2", "V1", "2025-08-12T16:00:05.500Z", 99.25), 1001),
      HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(dbt_put(s, b1, 1002), HMQ_OK);
  assert_int_equal(
      dbt_put(s, env_of(b3, sizeof b3, "M3", "V1", "2025-08-12T16:00:20.123456Z", 101), 1003),
      HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  hmq_bsink_close(s);
  s = open_sink(NULL);
  assert_int_equal(dbt_put(s, b2, 2000), HMQ_OK);
  assert_int_equal(
      dbt_put(s, env_of(b5, sizeof b5, "M5", "V1", "2025-08-12T16:00:19Z", 100.9), 2001), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->stored, 1);
  hmq_bsink_close(s);

  char t[512];
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 4);
  assert_int_equal(q_int("SELECT count(*) FROM readings"), 16);
  assert_int_equal(q_int("SELECT (extract(epoch FROM received_at) * 1000)::bigint FROM messages"
                         " WHERE message_id = 'M2'"),
                   1001);
  hmq_pg_query(g_pg.conninfo, "SELECT envelope::text FROM messages WHERE message_id = 'M5'", t,
               sizeof t);
  assert_non_null(strstr(t, "{\"version\":2,\"application_id\":\"app\",\"message_id\":\"M5\""));
  hmq_pg_query(g_pg.conninfo,
               "SELECT failure ->> 'description' FROM readings WHERE message_id = 'M3' AND idx = 2",
               t, sizeof t);
  assert_string_equal(t, "tab\there");
  assert_int_equal(q_int("SELECT count(*) FROM readings WHERE idx = 3 AND ts IS NULL AND ts_ms IS"
                         " NULL AND instance = 'rear_right'"),
                   4);
  assert_int_equal(q_int("SELECT ts_ms FROM readings WHERE message_id = 'M3' AND idx = 0"),
                   1755014420123LL);
  hmq_pg_query(g_pg.conninfo,
               "SELECT message_id || ' ' || (data ->> 'value') || ' ' || ts_ms FROM latest WHERE"
               " vin = 'V1' AND capability = 'diagnostics' AND property = 'odometer' AND"
               " instance = ''",
               t, sizeof t);
  assert_string_equal(t, "M3 101.00 1755014420123");
  assert_int_equal(q_int("SELECT count(*) FROM latest"), 2);
  assert_int_equal(q_int("SELECT count(*) FROM latest WHERE instance = 'front_left' AND"
                         " message_id = 'M3'"),
                   1);
}

/* The ways through one batch: straight COPY into messages (all new), and
 * the fallback when one is stored already, with a message twice in the
 * same batch (stored once, its readings once). Times that hmq now formats
 * itself (ts, received_at) are exact to the ms, before 1970 (negative ms),
 * in year 0 (1 BC to PostgreSQL) and in 9999. */
static void test_paths_and_exact_times(void **state) {
  (void)state;
  char t0[2048], t1[2048], t2[2048], t3[2048];
  hmq_bsink *s = open_sink(NULL);
  env_of(t0, sizeof t0, "T0", "V1", "2025-08-12T16:00:10Z", 1);
  env_of(t1, sizeof t1, "T1", "V1", "1969-12-31T23:59:59.999Z", 2);
  env_of(t2, sizeof t2, "T2", "V1", "0000-03-01T12:00:00.5Z", 3);
  env_of(t3, sizeof t3, "T3", "V1", "9999-12-31T23:59:59.999+01:00", 4);
  assert_int_equal(dbt_put(s, t0, 1755014400123ULL), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->stored, 1);
  assert_int_equal(s->readings, 4);
  assert_int_equal(dbt_put(s, t1, 1), HMQ_OK);
  assert_int_equal(dbt_put(s, t0, 2), HMQ_OK); /* stored before */
  assert_int_equal(dbt_put(s, t2, 3), HMQ_OK);
  assert_int_equal(dbt_put(s, t1, 4), HMQ_OK); /* twice in this batch */
  assert_int_equal(dbt_put(s, t3, 5), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->stored, 4);
  assert_int_equal(s->readings, 16);
  /* a batch of duplicates only: nothing new, nothing written */
  assert_int_equal(dbt_put(s, t2, 6), HMQ_OK);
  assert_int_equal(dbt_put(s, t0, 7), HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(s->stored, 4);
  assert_int_equal(s->readings, 16);
  hmq_bsink_close(s);

  assert_int_equal(q_int("SELECT count(*) FROM messages"), 4);
  assert_int_equal(q_int("SELECT count(*) FROM readings"), 16);
  assert_int_equal(q_int("SELECT count(DISTINCT (message_id, idx)) FROM readings"), 16);
  assert_int_equal(q_int("SELECT count(*) FROM messages WHERE received_at = timestamptz "
                         "'2025-08-12 16:00:00.123+00' "
                         " AND message_id = 'T0'"),
                   1);
  assert_int_equal(q_int("SELECT count(*) FROM messages WHERE received_at = timestamptz "
                         "'1970-01-01 00:00:00.001+00' "
                         " AND message_id = 'T1'"),
                   1);
  /* every ts is the same instant as its ts_ms */
  assert_int_equal(q_int("SELECT count(*) FROM readings WHERE ts_ms IS NOT NULL"), 12);
  assert_int_equal(q_int("SELECT count(*) FROM readings WHERE ts_ms IS DISTINCT FROM"
                         " (extract(epoch FROM ts) * 1000)::bigint"),
                   0);
  assert_int_equal(q_int("SELECT count(*) FROM latest WHERE ts_ms IS DISTINCT FROM"
                         " (extract(epoch FROM ts) * 1000)::bigint"),
                   0);
  assert_int_equal(q_int("SELECT ts_ms + 10 FROM readings WHERE message_id = 'T1' AND idx = 0"), 9);
  assert_int_equal(
      q_int("SELECT count(*) FROM readings WHERE ts = timestamptz '1969-12-31 23:59:59.999+00'"
            " AND message_id = 'T1' AND idx = 0"),
      1);
  assert_int_equal(
      q_int("SELECT count(*) FROM readings WHERE ts = timestamptz '0001-03-01 12:00:00.5+00 BC'"
            " AND message_id = 'T2' AND idx = 0"),
      1);
  /* the newest: T3 in 9999 */
  assert_int_equal(q_int("SELECT count(*) FROM latest WHERE message_id = 'T3' AND"
                         " ts = timestamptz '9999-12-31 22:59:59.999+00'"),
                   2);
}

/* A constraint the user added refuses one message: reject callback with
 * the server's message, the rest committed. */
static void test_refused_row_rejected_rest_committed(void **state) {
  (void)state;
  dbt_rejects r = {0};
  hmq_bsink *s = open_sink(&r);
  sql("ALTER TABLE readings ADD CONSTRAINT no_bad_vin CHECK (vin <> 'BADVIN')");
  dbt_commit_one_refused(s, &r, "tab\\there", "no_bad_vin");
  hmq_bsink_close(s);
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 2);
  assert_int_equal(q_int("SELECT count(*) FROM messages WHERE message_id = 'B1'"), 0);
  assert_int_equal(q_int("SELECT count(*) FROM readings"), 8);
  assert_int_equal(q_int("SELECT count(*) FROM latest"), 4);
}

/* The server stops: commit says "not durable yet" and keeps the batch;
 * after the server is back the same sink stores all of it. */
static void test_server_down_retried_nothing_lost(void **state) {
  (void)state;
  char b[2048];
  hmq_bsink *s = open_sink(NULL);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "D1", "V1", "2025-08-12T16:00:10Z", 1), 1),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_int_equal(hmq_pg_stop(&g_pg), 0);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "D2", "V1", "2025-08-12T16:00:11Z", 2), 2),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_WANT_WRITE);
  assert_true(s->err[0] != 0);
  assert_int_equal(dbt_put(s, env_of(b, sizeof b, "D3", "V1", "2025-08-12T16:00:12Z", 3), 3),
                   HMQ_OK);
  assert_int_equal(hmq_bsink_commit(s), HMQ_WANT_WRITE);
  assert_non_null(strstr(s->err, "cannot connect"));
  assert_int_equal(hmq_bsink_batched(s), 2);
  assert_int_equal(hmq_pg_start(&g_pg), 0);
  assert_int_equal(hmq_bsink_commit(s), HMQ_OK);
  assert_string_equal(s->err, "");
  hmq_bsink_close(s);
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 3);
  assert_int_equal(q_int("SELECT ts_ms FROM latest WHERE instance = ''"), 1755014412000LL);
}

/* Four processes, each with its own sink, store overlapping shuffled parts
 * of one hmq-sim stream (every message reaches two of them) at the same
 * time, in batches of varying size. */
#define WRITERS 4
#define STREAM  3000

static int writer(int w, int fd_done) {
  hmq_sim_gen_config cfg;
  hmq_sim_gen g;
  char topic[HMQ_SIM_TOPIC_MAX], payload[HMQ_SIM_PAYLOAD_MAX];
  hmq_sim_msg msg;
  hmq_sim_gen_config_default(&cfg);
  cfg.vins = 9;
  cfg.dup_rate = 0.05;
  cfg.ooo_rate = 0.3;
  cfg.seed = 11;
  if (hmq_sim_gen_init(&g, &cfg) != HMQ_OK)
    return 2;
  hmq_bsink *s = NULL;
  char err[512];
  hmq_db_config dc = {0};
  dc.target = g_pg.conninfo;
  if (hmq_sink_pg_open(&s, &dc, err, sizeof err) != HMQ_OK) {
    fprintf(stderr, "writer %d: %s\n", w, err);
    return 3;
  }
  /* writer w takes the messages k with k % 4 == w or (k + 1) % 4 == w, in
   * an order of its own */
  uint32_t order[STREAM];
  size_t n = 0;
  for (uint32_t k = 0; k < STREAM; k++)
    if ((int)(k % WRITERS) == w || (int)((k + 1) % WRITERS) == w)
      order[n++] = k;
  uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(w + 1);
  for (size_t i = n; i > 1; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = (size_t)(x % i);
    uint32_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  for (size_t i = 0; i < n; i++) {
    /* the stream's k-th emission: replay the generator to it */
    if (hmq_sim_gen_make(&g, order[i], topic, sizeof topic, payload, sizeof payload, &msg) !=
        HMQ_OK)
      return 4;
    static hmq_envelope_parser parser; /* a child: codes, not cmocka asserts */
    static uint8_t tok[64 * 1024];
    hmq_envelope env;
    hmq_envelope_parser_init(&parser, tok, sizeof tok);
    if (hmq_envelope_parse(&parser, payload, msg.payload_len, &env) != HMQ_OK)
      return 5;
    hmq_bmsg m = {&env, topic, strlen(topic), (const uint8_t *)payload, msg.payload_len, 1};
    if (hmq_bsink_put(s, &m) != HMQ_OK)
      return 6;
    if (i % (37 + 13 * (size_t)w) == 0 || i + 1 == n) {
      int tries = 0;
      hmq_status st;
      while ((st = hmq_bsink_commit(s)) == HMQ_WANT_WRITE && tries++ < 50) {
        fprintf(stderr, "writer %d: retry: %s\n", w, s->err);
        hmq_pg_sleep(100);
      }
      if (st != HMQ_OK)
        return 7;
    }
  }
  hmq_bsink_close(s);
  if (write(fd_done, "x", 1) != 1)
    return 8;
  return 0;
}

static void test_four_writers_concurrently(void **state) {
  (void)state;
  pid_t kids[WRITERS];
  int p[2];
  hmq_bsink_close(open_sink(NULL)); /* schema */
  assert_int_equal(pipe(p), 0);
  for (int w = 0; w < WRITERS; w++) {
    kids[w] = fork();
    assert_true(kids[w] >= 0);
    if (kids[w] == 0)
      _exit(writer(w, p[1]));
  }
  close(p[1]);
  for (int w = 0; w < WRITERS; w++) {
    int rc = hmq_pg_wait(kids[w], 120000);
    if (rc != 0)
      fail_msg("writer %d exited %d", w, rc);
  }
  close(p[0]);

  /* the input, as the server sees it: message k = generator number k */
  hmq_sim_gen_config cfg;
  hmq_sim_gen g;
  char topic[HMQ_SIM_TOPIC_MAX], payload[HMQ_SIM_PAYLOAD_MAX];
  hmq_sim_msg msg;
  hmq_sim_gen_config_default(&cfg);
  cfg.vins = 9;
  cfg.dup_rate = 0.05;
  cfg.ooo_rate = 0.3;
  cfg.seed = 11;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_OK);
  PGconn *c = hmq_pg_input_begin(g_pg.conninfo);
  assert_non_null(c);
  for (uint32_t k = 0; k < STREAM; k++) {
    assert_int_equal(hmq_sim_gen_make(&g, k, topic, sizeof topic, payload, sizeof payload, &msg),
                     HMQ_OK);
    assert_int_equal(hmq_pg_input_line(c, payload, msg.payload_len), 0);
  }
  assert_int_equal(hmq_pg_input_end(c), 0);

  assert_int_equal(q_int("SELECT count(*) FROM messages"), STREAM);
  assert_int_equal(q_int("SELECT count(DISTINCT message_id) FROM messages"), STREAM);
  /* every entry, with its position and its time in ms, computed by the
   * server's JSON functions from the payloads (json, not jsonb: json keeps
   * the document order the positions count in) */
  sql("CREATE TABLE want AS SELECT p.payload ->> 'vin' AS vin, c.key AS capability,"
      " pr.key AS property, coalesce(e.v -> 'data' ->> 'location', '') AS instance,"
      " p.payload ->> 'message_id' AS message_id,"
      " (row_number() OVER (PARTITION BY p.payload ->> 'message_id' ORDER BY c.o, pr.o, e.o)"
      " - 1)::int AS idx,"
      " floor(extract(epoch FROM (e.v ->> 'timestamp')::timestamptz) * 1000)::bigint AS ms,"
      " (e.v -> 'data')::jsonb AS data"
      " FROM input p, json_each(p.payload -> 'data') WITH ORDINALITY c(key, value, o),"
      " json_each(c.value) WITH ORDINALITY pr(key, value, o),"
      " json_array_elements(pr.value) WITH ORDINALITY e(v, o)");
  assert_true(q_int("SELECT count(*) FROM want") > 10000);
  assert_int_equal(q_int("SELECT count(*) FROM readings"), q_int("SELECT count(*) FROM want"));
  sql("DELETE FROM want WHERE ms IS NULL OR data IS NULL");
  long long keys = q_int("SELECT count(DISTINCT (vin, capability, property, instance)) FROM want");
  assert_true(keys > 100);
  assert_int_equal(q_int("SELECT count(*) FROM latest"), keys);
  assert_int_equal(
      q_int("SELECT count(*) FROM latest l JOIN (SELECT DISTINCT ON (vin, capability, property,"
            " instance) * FROM want ORDER BY vin, capability, property, instance, ms DESC,"
            " message_id COLLATE \"C\" DESC, idx DESC) n USING (vin, capability, property,"
            " instance) WHERE l.message_id = n.message_id AND l.idx = n.idx AND l.ts_ms = n.ms"
            " AND l.data = n.data"),
      keys);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_schema_created_versioned_newer_refused, fresh),
      cmocka_unit_test_setup(test_cannot_connect_says_where, fresh),
      cmocka_unit_test_setup(test_refused_at_open_is_an_error, fresh),
      cmocka_unit_test_setup(test_started_while_server_down, fresh),
      cmocka_unit_test_setup(test_hung_server_times_out_then_stored, fresh),
      cmocka_unit_test_setup(test_rows_duplicates_latest, fresh),
      cmocka_unit_test_setup(test_paths_and_exact_times, fresh),
      cmocka_unit_test_setup(test_refused_row_rejected_rest_committed, fresh),
      cmocka_unit_test_setup(test_server_down_retried_nothing_lost, fresh),
      cmocka_unit_test_setup(test_four_writers_concurrently, fresh),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
