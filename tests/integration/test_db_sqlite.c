/* SPDX-License-Identifier: MIT */
/*
 * End to end into SQLite: the real `hmq --sqlite` against a private
 * mosquitto (mutual TLS), draining a 20,000-message backlog from hmq-sim
 * with duplicates and late (shuffled) timestamps, killed with SIGKILL at
 * many points of the drain and started again each time. Afterwards:
 *   - every message_id of the input is stored exactly once;
 *   - `latest` equals the newest reading per (vin, capability, property,
 *     instance) computed independently from the input payloads, in SQL
 *     with SQLite's JSON functions (not hmq's walker).
 * The PUBACKs of a batch follow its COMMIT, so what a kill loses was never
 * acknowledged and comes again; what was committed twice is absorbed by
 * the primary key.
 */
#include "e2e.h"

#include <sqlite3.h>

#include "../db_fixture.h"

#define BACKLOG 20000L
#define KILLS   10

static sqlite3 *open_db(const fixture *f, const char *name) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  return dbt_sq_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
}

/* Messages stored so far (0 before the schema exists). */
static long long stored(const fixture *f) {
  sqlite3 *db = open_db(f, "hmq.db");
  long long n = 0;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* The last round (99) drains all the kills left: under ASan on a loaded
 * machine that took more than run_hmq's -W 40, so it gets -W 85 (the later
 * -W wins), inside the test's own 90 s wait. Round 0 logs its CONNECT
 * (--debug). */
static pid_t start_hmq(fixture *f, int round) {
  char extra[600];
  snprintf(extra, sizeof extra, "--sqlite '%s/hmq.db' --stats 1%s", f->b.dir,
           round == 99  ? " -W 85"
           : round == 0 ? " --debug"
                        : "");
  return run_hmq(f, "db", "g", extra, -1);
}

static void test_kill9_during_drain_exactly_once_latest_right(void **state) {
  fixture *f = *state;
  char cmd[1200];
  /* the input: duplicates (5 %) and late readings (30 %) */
  snprintf(cmd, sizeof cmd,
           "exec '%s' --write '%s/pub.txt' -n %ld --seed 7 --vins 40 --dup-rate 0.05"
           " --ooo-rate 0.3 --app-id " APP " --env sandbox --quiet",
           f->sim, f->b.dir, BACKLOG);
  assert_int_equal(wait_exit(spawn(cmd, -1, "sim.log"), 60000), 0);

  /* the session and its subscription exist; then the backlog queues */
  pid_t p = start_hmq(f, 0);
  wait_log(f, "db.log", "subscribed to", 1, 15000);
  /* --sqlite announces the wider window its batches may fill (main.c
   * RECEIVE_MAX_SQLITE; every other sink 2048) */
  assert_int_equal(occurrences(f, "db.log", "receive_max=8192"), 1);
  kill(-p, SIGKILL);
  wait_exit(p, 5000);
  publish_file(f, "pub.txt");

  /* the input in SQL: the distinct payloads and their ids */
  sqlite3 *in = open_db(f, "input.db");
  dbt_sq_exec(in, "CREATE TABLE input (payload TEXT)");
  {
    text t = load(f, "pub.txt");
    sqlite3_stmt *ins = NULL;
    assert_int_equal(t.n, BACKLOG);
    dbt_sq_exec(in, "BEGIN");
    assert_int_equal(sqlite3_prepare_v2(in, "INSERT INTO input VALUES (?1)", -1, &ins, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < t.n; i++) {
      sqlite3_bind_text(ins, 1, t.v[i].p, (int)t.v[i].n, SQLITE_STATIC);
      assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    dbt_sq_exec(in, "COMMIT");
    text_free(&t);
  }
  long long want =
      dbt_sq_int(in, "SELECT count(DISTINCT json_extract(payload, '$.message_id')) FROM"
                     " input");
  assert_true(want > BACKLOG * 9 / 10 && want < BACKLOG);

  /* drain, killed at many points, found by the count rather than by a
   * fixed delay (a loaded 2-core box takes seconds to start, a quiet one
   * stores a 4,000-message batch a few hundred ms after connecting):
   * even runs are killed 0-119 ms after their first commit shows (during
   * the next batch's store), odd runs at 50-90 % of the time the last
   * even run took to its first commit (during the first store, before its
   * COMMIT, or just after). */
  int kills = 0, progressed = 0;
  long long before = 0, now_stored = 0;
  uint64_t first_commit_ms = 800;
  for (int round = 1; round <= KILLS; round++) {
    uint64_t t0 = hmq_h_now(), give_up = t0 + 30000;
    p = start_hmq(f, round);
    if (round % 2 == 0) {
      while (stored(f) <= before && hmq_h_now() < give_up)
        hmq_h_sleep_ms(20);
      first_commit_ms = hmq_h_now() - t0;
      hmq_h_sleep_ms((unsigned)((round * 37) % 120));
    } else {
      hmq_h_sleep_ms((unsigned)(first_commit_ms * (50u + (unsigned)(round * 13) % 41u) / 100u));
    }
    kill(-p, SIGKILL);
    wait_exit(p, 5000);
    now_stored = stored(f);
    if (now_stored < want) {
      kills++; /* killed before the drain was complete */
      progressed += now_stored > before;
    }
    fprintf(stderr, "round %d: killed with %lld of %lld stored\n", round, now_stored, want);
    before = now_stored;
    if (now_stored >= want)
      break;
  }
  assert_true(progressed >= 2); /* some kills came after commits of the drain */
  assert_true(kills >= 3);
  /* the last run drains the rest; it is stopped with SIGTERM only once
   * its loop runs (a new --stats line: the signal handlers are in place),
   * even when the kills left nothing to drain */
  size_t lines = occurrences(f, "db.log", " db=");
  p = start_hmq(f, 99);
  uint64_t end = hmq_h_now() + 90000;
  while ((stored(f) < want || occurrences(f, "db.log", " db=") == lines) && hmq_h_now() < end)
    hmq_h_sleep_ms(200);
  hmq_h_sleep_ms(500); /* redeliveries still in flight are absorbed too */
  kill(-p, SIGTERM);
  assert_int_equal(wait_exit(p, 15000), 0);

  sqlite3 *db = open_db(f, "hmq.db");
  long long n = dbt_sq_int(db, "SELECT count(*) FROM messages");
  if (n != want) {
    text t = load(f, "db.log");
    fprintf(stderr, "%.3000s\n", t.buf + (t.len > 3000 ? t.len - 3000 : 0));
    text_free(&t);
  }
  assert_int_equal(n, want);
  assert_int_equal(dbt_sq_int(db, "SELECT count(DISTINCT message_id) FROM messages"), want);
  sqlite3_close(db);

  /* latest, computed from the input alone (SQLite's JSON functions) */
  char attach[500];
  snprintf(attach, sizeof attach, "ATTACH '%s/hmq.db' AS got", f->b.dir);
  dbt_sq_exec(in, attach);
  assert_int_equal(dbt_sq_int(in, "SELECT count(*) FROM got.messages m JOIN (SELECT DISTINCT"
                                  " json_extract(payload, '$.message_id') AS id FROM input) i ON"
                                  " i.id = m.message_id"),
                   want);
  long long keys = dbt_sq_check_latest(in, "got.latest");
  assert_true(keys > 500);
  /* the input really had late readings and duplicates */
  assert_true(dbt_sq_int(in, "SELECT count(*) FROM want w JOIN newest n USING (vin, capability,"
                             " property, instance) WHERE w.ms < n.ms") > 1000);
  assert_true(dbt_sq_int(in, "SELECT count(*) FROM input") - want > 500);
  assert_int_equal(dbt_sq_int(in, "SELECT count(*) FROM got.readings"),
                   dbt_sq_int(in, "SELECT count(*) FROM (SELECT DISTINCT payload FROM input), "
                                  "json_each(payload, '$.data') c, json_each(c.value) p,"
                                  " json_each(p.value) x"));
  sqlite3_close(in);
  fprintf(stderr, "sqlite: %lld messages (%ld published), %lld latest keys, %d kills\n", want,
          BACKLOG, keys, kills);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_kill9_during_drain_exactly_once_latest_right, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
