/* SPDX-License-Identifier: MIT */
/*
 * The asynchronous commit with a database sink (deliver.h, bsink.h): the
 * SQLite store of a sealed batch runs on the sync thread while the
 * pipeline keeps taking messages into the open batch; no seq comes back
 * before its batch is in the database; a message the database refuses
 * becomes a dead-letter line (with the database's reason) before the
 * batch's seqs come back; a batch the database did not take (locked by
 * another writer) is retried alone, and what arrived meanwhile follows in
 * the next batch. A real SQLite file in a fresh directory.
 */
#include "deliver_fixture.h"

#include <poll.h>
#include <sqlite3.h>

#include "pipeline/deliver_db.h"

static int readable(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

static hmq_deliver_config db_cfg(void) {
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  static char db[256];
  c.sink = HMQ_SINK_STDOUT; /* as main.c: the database replaces the line sink */
  c.out_path = NULL;
  snprintf(db, sizeof db, "%s/hmq.db", g_dir);
  c.sqlite_path = db;
  return c;
}

static const char *msg_vin(const char *id, const char *vin) {
  static char b[512];
  snprintf(b, sizeof b,
           "{\"version\":2,\"application_id\":\"app\",\"message_id\":\"%s\",\"vin\":\"%s\","
           "\"data\":{\"diagnostics\":{\"speed\":[{\"data\":{\"unit\":\"kilometers_per_hour\","
           "\"value\":42},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}",
           id, vin);
  return b;
}

/* Wait (bounded) for the job in flight and collect: the status, seqs in
 * seqs[0..*n). */
static hmq_status collect_wait(hmq_deliver *d, uint64_t *seqs, size_t cap, size_t *n) {
  for (int i = 0; i < 1000; i++) {
    if (readable(hmq_deliver_done_fd(d), 10) || !hmq_deliver_syncing(d))
      return hmq_deliver_collect(d, seqs, cap, n);
  }
  fail_msg("the store did not complete within 10 s");
  return HMQ_ERR_STATE;
}

static long long stored(const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  long long v = -1;
  assert_int_equal(sqlite3_open_v2(path("hmq.db"), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void exec_on(sqlite3 *db, const char *sql) {
  char *e = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK)
    fail_msg("%s: %s", sql, e ? e : "?");
}

static void test_store_runs_beside_intake(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = db_cfg();
  open_ok(&d, &c);
  assert_true(hmq_deliver_done_fd(&d) >= 0); /* asynchronous */

  hmq_deliver_test_hold(&d, 1);
  put(&d, 1, env_msg("a1"));
  put(&d, 2, env_msg("a2"));
  put(&d, 3, msg_vin("a3", "V2"));
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  assert_int_equal(hmq_deliver_syncing(&d), 1);
  /* the store is held: nothing is in the database, nothing comes back,
   * and messages are still taken (into the open batch) */
  put(&d, 4, msg_vin("b4", "V1"));
  put(&d, 5, msg_vin("b5", "V3"));
  uint64_t seqs[16];
  size_t n = 99;
  assert_false(readable(hmq_deliver_done_fd(&d), 50));
  assert_int_equal(hmq_deliver_collect(&d, seqs, 16, &n), HMQ_OK);
  assert_int_equal(n, 0);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 0);
  assert_int_equal(hmq_deliver_start(&d), HMQ_WANT_READ); /* one store in flight */
  assert_int_equal(hmq_deliver_unsealed(&d), 2);

  hmq_deliver_test_hold(&d, 0);
  assert_int_equal(collect_wait(&d, seqs, 16, &n), HMQ_OK);
  assert_int_equal(n, 3);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(seqs[2], 3);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 3);
  assert_int_equal(stored("SELECT count(*) FROM messages WHERE message_id LIKE 'b%'"), 0);

  /* the next batch: what arrived during the store */
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  assert_int_equal(collect_wait(&d, seqs, 16, &n), HMQ_OK);
  assert_int_equal(n, 2);
  assert_int_equal(seqs[0], 4);
  assert_int_equal(seqs[1], 5);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 5);
  assert_int_equal(stored("SELECT count(*) FROM latest"), 4); /* VIN1, V1, V2, V3 */
  assert_int_equal(hmq_deliver_pending(&d), 0);
  hmq_deliver_close(&d);
}

static void test_refused_row_is_dead_lettered_before_ack(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = db_cfg();
  open_ok(&d, &c); /* creates the schema */
  hmq_deliver_close(&d);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path("hmq.db"), &db), SQLITE_OK);
  exec_on(db, "CREATE TRIGGER no_bad BEFORE INSERT ON messages WHEN NEW.vin = 'BAD'"
              " BEGIN SELECT RAISE(ABORT, 'no BAD vins here'); END");
  sqlite3_close(db);

  open_ok(&d, &c);
  put(&d, 1, msg_vin("g1", "V1"));
  put(&d, 2, msg_vin("x2", "BAD"));
  put(&d, 3, msg_vin("g3", "V2"));
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  uint64_t seqs[16];
  size_t n = 99;
  assert_int_equal(collect_wait(&d, seqs, 16, &n), HMQ_OK);
  assert_int_equal(n, 3); /* the refused one is acked too: it is in the dead-letter file */
  /* the dead-letter line is on disk when the seqs come back */
  char buf[8192];
  slurp_file(path("hmq.db.dead"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "database refused"), 1);
  assert_int_equal(count_str(buf, "no BAD vins here"), 1);
  assert_int_equal(count_str(buf, "x2"), 1);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 2);
  assert_int_equal(hmq_deliver_db_rejected(&d), 1);
  hmq_deliver_close(&d);
}

static void test_locked_batch_retried_alone(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = db_cfg();
  open_ok(&d, &c);
  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open(path("hmq.db"), &other), SQLITE_OK);
  exec_on(other, "BEGIN IMMEDIATE"); /* another writer holds the lock */

  put(&d, 1, msg_vin("l1", "V1"));
  put(&d, 2, msg_vin("l2", "V1"));
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  uint64_t seqs[16];
  size_t n = 99;
  /* the store waits for the lock (busy timeout) on the thread, then gives
   * up: not an error, nothing comes back, the batch stays sealed */
  assert_int_equal(collect_wait(&d, seqs, 16, &n), HMQ_WANT_WRITE);
  assert_int_equal(n, 0);
  assert_int_equal(hmq_deliver_db_down(&d), 1);
  assert_true(hmq_deliver_db_failures(&d) >= 1);
  put(&d, 3, msg_vin("l3", "V2")); /* arrives while it is down */
  assert_int_equal(hmq_deliver_pending(&d), 3);

  exec_on(other, "COMMIT");
  sqlite3_close(other);
  /* the retry holds only the sealed batch */
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  assert_int_equal(collect_wait(&d, seqs, 16, &n), HMQ_OK);
  assert_int_equal(n, 2);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(seqs[1], 2);
  assert_int_equal(hmq_deliver_db_down(&d), 0);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 2);
  /* then the rest, all at once through hmq_deliver_commit */
  n = commit(&d, seqs, 16);
  assert_int_equal(n, 1);
  assert_int_equal(seqs[0], 3);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 3);
  hmq_deliver_close(&d);
}

/* A dead-letter pipe (stderr into a pipeline, a FIFO) does not take the
 * store off the commit thread: the pipe's lines are committed on the loop
 * thread when the batch completes (written and read out by the reader). */
static void test_dead_letter_pipe_store_still_async(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = db_cfg();
  static char fifo[256];
  snprintf(fifo, sizeof fifo, "%s/dead.fifo", g_dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int rd = open(fifo, O_RDONLY | O_NONBLOCK);
  assert_true(rd >= 0);
  c.dead_path = fifo;
  open_ok(&d, &c);
  assert_true(hmq_deliver_done_fd(&d) >= 0); /* asynchronous all the same */
  put(&d, 1, msg_vin("p1", "V1"));
  put(&d, 2, "{\"not\": \"an envelope\"}");
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  /* the dead-letter line is in the pipe at once; the reader takes it */
  char buf[4096];
  ssize_t got = -1;
  for (int i = 0; i < 200 && got <= 0; i++) {
    got = read(rd, buf, sizeof buf - 1);
    if (got <= 0)
      (void)poll(NULL, 0, 10);
  }
  assert_true(got > 0);
  buf[got] = 0;
  assert_non_null(strstr(buf, "an envelope"));
  uint64_t seqs[8];
  size_t n = 0;
  assert_int_equal(collect_wait(&d, seqs, 8, &n), HMQ_OK);
  assert_int_equal(n, 2);
  assert_int_equal(stored("SELECT count(*) FROM messages"), 1);
  hmq_deliver_close(&d);
  close(rd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_store_runs_beside_intake, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_row_is_dead_lettered_before_ack, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_locked_batch_retried_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter_pipe_store_still_async, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
