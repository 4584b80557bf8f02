/* SPDX-License-Identifier: MIT */
/*
 * End to end into PostgreSQL: four `hmq --postgres` instances in one
 * $share group against one private mosquitto (mutual TLS), one private
 * PostgreSQL server (pg.h), a backlog from hmq-sim with duplicates and late
 * timestamps. Two instances are killed with SIGKILL during the drain, the
 * database server is stopped while messages keep arriving (the instances
 * still running say so on stderr and acknowledge nothing), the killed
 * instances come back while it is down (they wait for it), and it is
 * started again. Afterwards every message_id of
 * the input is stored exactly once and `latest` equals the newest reading
 * per key computed by the server from the input payloads.
 */
#define _DEFAULT_SOURCE /* setgroups() in pg.h */
#include "e2e.h"
#include "pg.h"

#define HALF 6000L

static hmq_pg g_pg;

static long long q_int(const char *sql) {
  return hmq_pg_int(g_pg.conninfo, sql);
}

static pid_t start(fixture *f, const char *tag) {
  char extra[600];
  snprintf(extra, sizeof extra, "--postgres '%s' -W 300 --stats 2", g_pg.conninfo);
  return run_hmq(f, tag, "g", extra, -1);
}

static size_t in_logs(fixture *f, const char *needle) {
  static const char *const logs[] = {"a.log", "b.log", "c.log", "d.log"};
  size_t n = 0;
  for (size_t i = 0; i < 4; i++)
    n += occurrences(f, logs[i], needle);
  return n;
}

/* The published lines into table input (json keeps document order). */
static void load_input(fixture *f, const char *name) {
  text t = load(f, name);
  PGconn *c = hmq_pg_input_begin(g_pg.conninfo);
  assert_non_null(c);
  for (size_t i = 0; i < t.n; i++)
    assert_int_equal(hmq_pg_input_line(c, t.v[i].p, t.v[i].n), 0);
  assert_int_equal(hmq_pg_input_end(c), 0);
  text_free(&t);
}

static void sim(fixture *f, const char *name, int seed) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "exec '%s' --write '%s/%s' -n %ld --seed %d --vins 30 --dup-rate 0.05"
           " --ooo-rate 0.3 --app-id " APP " --env sandbox --quiet",
           f->sim, f->b.dir, name, HALF, seed);
  assert_int_equal(wait_exit(spawn(cmd, -1, "sim.log"), 60000), 0);
}

static void test_four_instances_kills_db_restart(void **state) {
  fixture *f = *state;
  static const char *const tags[4] = {"a", "b", "c", "d"};
  pid_t p[4];
  if (hmq_pg_setup(&g_pg) != 0) {
    hmq_pg_cleanup(&g_pg);
    skip();
  }
  assert_int_equal(hmq_pg_start(&g_pg), 0);
  sim(f, "pub1.txt", 3);
  sim(f, "pub2.txt", 4);

  for (int i = 0; i < 4; i++)
    p[i] = start(f, tags[i]);
  for (int i = 0; i < 4; i++) {
    char log[16];
    snprintf(log, sizeof log, "%s.log", tags[i]);
    wait_log(f, log, "subscribed to", 1, 20000);
  }
  /* first half; two instances killed while it drains */
  publish_file(f, "pub1.txt");
  hmq_h_sleep_ms(300);
  kill(-p[0], SIGKILL);
  kill(-p[1], SIGKILL);
  wait_exit(p[0], 5000);
  wait_exit(p[1], 5000);
  long long at_kill = q_int("SELECT count(*) FROM messages");
  fprintf(stderr, "pg e2e: %lld stored when a and b were killed\n", at_kill);

  /* the database goes away while the second half arrives */
  assert_int_equal(hmq_pg_stop(&g_pg), 0);
  publish_file(f, "pub2.txt");
  wait_log(f, "c.log", "database unavailable", 1, 30000);
  /* the killed instances come back while the server is still down: they
   * wait for it (no exit 5) and say so */
  p[0] = start(f, "a");
  p[1] = start(f, "b");
  wait_log(f, "a.log", "database unavailable at start, waiting for it", 1, 20000);
  wait_log(f, "b.log", "database unavailable at start, waiting for it", 1, 20000);
  hmq_h_sleep_ms(1000);
  assert_int_equal(hmq_pg_start(&g_pg), 0);

  /* the input, as the server sees it */
  load_input(f, "pub1.txt");
  load_input(f, "pub2.txt");
  long long want = q_int("SELECT count(DISTINCT payload ->> 'message_id') FROM input");
  assert_true(want > HALF * 2 * 9 / 10);
  uint64_t end = hmq_h_now() + 200000;
  long long n = 0;
  while ((n = q_int("SELECT count(*) FROM messages")) < want && hmq_h_now() < end)
    hmq_h_sleep_ms(300);
  hmq_h_sleep_ms(1000); /* redeliveries still in flight are absorbed too */
  for (int i = 0; i < 4; i++)
    kill(-p[i], SIGTERM);
  for (int i = 0; i < 4; i++)
    assert_int_equal(wait_exit(p[i], 20000), 0);
  fprintf(stderr,
          "pg e2e: %lld of %lld stored; 'unavailable' reported %zu times, 'available "
          "again' %zu times\n",
          n, want, in_logs(f, "database unavailable"), in_logs(f, "database available again"));
  assert_true(in_logs(f, "database available again") >= 1);

  assert_int_equal(q_int("SELECT count(*) FROM messages"), want);
  assert_int_equal(q_int("SELECT count(DISTINCT message_id) FROM messages"), want);
  assert_int_equal(q_int("SELECT count(*) FROM messages m JOIN (SELECT DISTINCT payload ->>"
                         " 'message_id' AS id FROM input) i ON i.id = m.message_id"),
                   want);
  PGconn *c = PQconnectdb(g_pg.conninfo);
  PGresult *r = PQexec(
      c, "CREATE TABLE want AS SELECT p.vin, c.key AS capability, pr.key AS property,"
         " coalesce(e.v -> 'data' ->> 'location', '') AS instance, p.message_id,"
         " (row_number() OVER (PARTITION BY p.message_id ORDER BY c.o, pr.o, e.o) - 1)::int AS"
         " idx, floor(extract(epoch FROM (e.v ->> 'timestamp')::timestamptz) * 1000)::bigint"
         " AS ms, (e.v -> 'data')::jsonb AS data"
         " FROM (SELECT DISTINCT ON (payload ->> 'message_id') payload ->> 'vin' AS vin,"
         " payload ->> 'message_id' AS message_id, payload -> 'data' AS d FROM input) p,"
         " json_each(p.d) WITH ORDINALITY c(key, value, o),"
         " json_each(c.value) WITH ORDINALITY pr(key, value, o),"
         " json_array_elements(pr.value) WITH ORDINALITY e(v, o)");
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    fail_msg("want: %s", PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
  assert_int_equal(q_int("SELECT count(*) FROM readings"), q_int("SELECT count(*) FROM want"));
  long long keys = q_int("SELECT count(DISTINCT (vin, capability, property, instance)) FROM want"
                         " WHERE ms IS NOT NULL AND data IS NOT NULL");
  assert_true(keys > 300);
  assert_int_equal(q_int("SELECT count(*) FROM latest"), keys);
  assert_int_equal(
      q_int("SELECT count(*) FROM latest l JOIN (SELECT DISTINCT ON (vin, capability, property,"
            " instance) * FROM want WHERE ms IS NOT NULL AND data IS NOT NULL ORDER BY vin,"
            " capability, property, instance, ms DESC, message_id COLLATE \"C\" DESC, idx DESC)"
            " n USING (vin, capability, property, instance) WHERE l.message_id = n.message_id"
            " AND l.idx = n.idx AND l.ts_ms = n.ms AND l.data = n.data"),
      keys);
  fprintf(stderr, "pg e2e: %lld messages once each, %lld latest keys right\n", want, keys);
  hmq_pg_cleanup(&g_pg);
}

/* A database that hangs does not stall the MQTT side. The store of a batch
 * runs on the sync thread (deliver.h), so while the server is stopped
 * (SIGSTOP: connections open, no answer) the loop keeps its keepalive,
 * its --stats lines and its signals; nothing is acknowledged until the
 * batch is stored. Before (the store on the loop thread) the loop waited
 * for the server's answer: with -k 5 mosquitto dropped the client after
 * 7.5 s of silence ("connection lost" in hmq's log, a reconnect and the
 * window sent again), and no --stats line came while it waited. */
#define HANG_MS 12000u
static void test_hung_database_keeps_the_session(void **state) {
  fixture *f = *state;
  if (hmq_pg_setup(&g_pg) != 0) {
    hmq_pg_cleanup(&g_pg);
    skip();
  }
  assert_int_equal(hmq_pg_start(&g_pg), 0);
  sim_write(f, "pub1.txt", 300, 11);
  sim_write(f, "pub2.txt", 300, 12);
  char extra[600];
  snprintf(extra, sizeof extra, "--postgres '%s' -W 120 -k 5 --stats 1 --debug", g_pg.conninfo);
  pid_t p = run_hmq(f, "h", "g", extra, -1);
  wait_log(f, "h.log", "subscribed to", 1, 20000);
  /* a database sink announces the wider window (main.c RECEIVE_MAX_DB) */
  assert_int_equal(occurrences(f, "h.log", "receive_max=8192"), 1);
  publish_file(f, "pub1.txt");
  uint64_t end = hmq_h_now() + 30000;
  while (q_int("SELECT count(*) FROM messages") < 300 && hmq_h_now() < end)
    hmq_h_sleep_ms(100);
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 300);

  /* the server hangs while the second half arrives */
  hmq_pg_signal_all(&g_pg, SIGSTOP);
  size_t acked_before = broker_saw(f, "Received PUBACK from", APP "-sandbox-h");
  publish_file(f, "pub2.txt");
  size_t stats_before = occurrences(f, "h.log", " db=");
  hmq_h_sleep_ms(HANG_MS);
  size_t stats_during = occurrences(f, "h.log", " db=") - stats_before;
  size_t acked_during = broker_saw(f, "Received PUBACK from", APP "-sandbox-h");
  hmq_pg_signal_all(&g_pg, SIGCONT);

  end = hmq_h_now() + 40000;
  while (q_int("SELECT count(*) FROM messages") < 600 && hmq_h_now() < end)
    hmq_h_sleep_ms(100);
  hmq_h_sleep_ms(500);
  kill(-p, SIGTERM);
  assert_int_equal(wait_exit(p, 20000), 0);
  size_t lost = occurrences(f, "h.log", "connection lost");
  fprintf(stderr,
          "pg hang: %zu --stats lines in %u ms of hang, %zu 'connection lost', %zu PUBACKs by"
          " the end of the hang, %lld stored\n",
          stats_during, HANG_MS, lost, acked_during, q_int("SELECT count(*) FROM messages"));
  assert_int_equal(lost, 0);
  assert_int_equal(acked_during, acked_before); /* nothing acknowledged before it is stored */
  assert_true(stats_during >= HANG_MS / 1000 / 2);
  assert_int_equal(q_int("SELECT count(*) FROM messages"), 600);
  assert_int_equal(q_int("SELECT count(DISTINCT message_id) FROM messages"), 600);
  hmq_pg_cleanup(&g_pg);
}

static int pg_teardown(void **state) {
  hmq_pg_cleanup(&g_pg);
  return teardown(state);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_four_instances_kills_db_restart, setup, pg_teardown),
      cmocka_unit_test_setup_teardown(test_hung_database_keeps_the_session, setup, pg_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
