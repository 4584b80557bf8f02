/* SPDX-License-Identifier: MIT */
/*
 * The asynchronous commit of a file sink (deliver.h): the sync runs on its
 * own thread; no seq comes back for acking before that sync completed,
 * while messages are still taken and their lines written; at most one sync
 * is in flight; the dedupe log names a batch only after its sync; the
 * latency statistics see written and acked times.
 */
#include "deliver_fixture.h"

#include <poll.h>
#include <time.h>

static uint64_t wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int readable(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

static off_t size_of(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 ? sb.st_size : -1;
}

static void put_at(hmq_deliver *d, uint64_t seq, const char *id, uint64_t now) {
  const char *m = env_msg(id);
  assert_int_equal(
      hmq_deliver_message(d, seq, TOPIC, strlen(TOPIC), (const uint8_t *)m, strlen(m), 0, now),
      HMQ_OK);
}

/* Collect until n seqs came back (the sync was released), bounded. */
static size_t collect_wait(hmq_deliver *d, uint64_t *seqs, size_t cap) {
  for (int i = 0; i < 500; i++) {
    size_t n = 0;
    if (readable(hmq_deliver_done_fd(d), 10)) {
      assert_int_equal(hmq_deliver_collect(d, seqs, cap, &n), HMQ_OK);
      if (n)
        return n;
    }
  }
  fail_msg("sync did not complete within 5 s");
  return 0;
}

static void test_no_ack_while_sync_held(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  open_ok(&d, &c);
  assert_true(hmq_deliver_done_fd(&d) >= 0);
  char logp[256], outp[256];
  snprintf(logp, sizeof logp, "%s", path("state/dedupe.log"));
  snprintf(outp, sizeof outp, "%s", path("out.ndjson"));
  off_t log0 = size_of(logp);

  hmq_deliver_test_hold(&d, 1);
  put_at(&d, 1, "a1", wall());
  put_at(&d, 2, "a2", wall());
  put_at(&d, 3, "a3", wall());
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  assert_int_equal(hmq_deliver_syncing(&d), 1);
  assert_int_equal(hmq_deliver_unsealed(&d), 0);
  /* the batch's lines are written (not yet synced) */
  char buf[8192];
  slurp_file(outp, buf, sizeof buf);
  assert_int_equal(count_str(buf, "\"message_id\":\"a"), 3);

  /* held: nothing comes back, however often we ask */
  uint64_t seqs[16];
  for (int i = 0; i < 5; i++) {
    size_t n = 99;
    assert_false(readable(hmq_deliver_done_fd(&d), 20));
    assert_int_equal(hmq_deliver_collect(&d, seqs, 16, &n), HMQ_OK);
    assert_int_equal(n, 0);
  }
  assert_int_equal(d.out.syncs, 0);
  /* the dedupe log does not name the batch yet */
  assert_int_equal(size_of(logp), log0);

  /* meanwhile messages are still taken and their lines written */
  put_at(&d, 4, "b4", wall());
  put_at(&d, 5, "b5", wall());
  assert_int_equal(hmq_deliver_unsealed(&d), 2);
  assert_int_equal(hmq_deliver_flush(&d), HMQ_OK);
  slurp_file(outp, buf, sizeof buf);
  assert_int_equal(count_str(buf, "\"message_id\":\"b"), 2);
  /* one sync in flight at most */
  assert_int_equal(hmq_deliver_start(&d), HMQ_WANT_READ);
  assert_int_equal(hmq_deliver_pending(&d), 5);
  size_t n = 99;
  assert_int_equal(hmq_deliver_collect(&d, seqs, 16, &n), HMQ_OK);
  assert_int_equal(n, 0);

  /* released: exactly the sealed batch comes back, then the log names it */
  hmq_deliver_test_hold(&d, 0);
  n = collect_wait(&d, seqs, 16);
  assert_int_equal(n, 3);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(seqs[1], 2);
  assert_int_equal(seqs[2], 3);
  assert_int_equal(d.out.syncs, 1);
  assert_true(size_of(logp) > log0);
  assert_int_equal(hmq_deliver_syncing(&d), 0);
  assert_int_equal(hmq_deliver_pending(&d), 2);

  /* the next batch: what arrived during the sync */
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  n = collect_wait(&d, seqs, 16);
  assert_int_equal(n, 2);
  assert_int_equal(seqs[0], 4);
  assert_int_equal(seqs[1], 5);
  assert_int_equal(d.out.syncs, 2);
  assert_int_equal(hmq_deliver_pending(&d), 0);
  hmq_deliver_close(&d);

  /* a restart knows all five ids: the redelivered ones are duplicates */
  open_ok(&d, &c);
  put(&d, 6, env_msg("a1"));
  put_at(&d, 7, "b5", wall());
  assert_int_equal(commit(&d, seqs, 16), 2);
  assert_int_equal(hmq_deliver_stats(&d)->duplicates, 2);
  hmq_deliver_close(&d);
  slurp_file(outp, buf, sizeof buf);
  assert_int_equal(count_str(buf, "\"message_id\""), 5);
}

/* hmq_deliver_commit waits for a sync in flight and syncs the rest too. */
static void test_commit_waits_for_sync_in_flight(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  open_ok(&d, &c);
  put_at(&d, 1, "c1", wall());
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  put_at(&d, 2, "c2", wall());
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 2);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(seqs[1], 2);
  assert_int_equal(hmq_deliver_syncing(&d), 0);
  assert_int_equal(d.out.syncs, 2);
  /* a batch of duplicates only needs no sync and is ready at once */
  put_at(&d, 3, "c1", wall());
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  assert_int_equal(hmq_deliver_syncing(&d), 0);
  size_t n = 0;
  assert_int_equal(hmq_deliver_collect(&d, seqs, 4, &n), HMQ_OK);
  assert_int_equal(n, 1);
  assert_int_equal(seqs[0], 3);
  assert_int_equal(d.out.syncs, 2);
  hmq_deliver_close(&d);
}

/* stdout keeps the synchronous commit: no thread, start does it all. */
static void test_stdout_stays_synchronous(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c;
  memset(&c, 0, sizeof c);
  c.sink = HMQ_SINK_STDOUT;
  c.dedupe_capacity = 100;
  c.max_message = 4096;
  open_ok(&d, &c);
  assert_int_equal(hmq_deliver_done_fd(&d), -1);
  put_at(&d, 9, "s1", wall());
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  assert_int_equal(hmq_deliver_syncing(&d), 0);
  uint64_t seqs[2];
  size_t n = 0;
  assert_int_equal(hmq_deliver_collect(&d, seqs, 2, &n), HMQ_OK);
  assert_int_equal(n, 1);
  assert_int_equal(seqs[0], 9);
  hmq_deliver_close(&d);
}

/* --stats: receive -> written and receive -> acked, from the arrival
 * time given to hmq_deliver_message. */
static void test_latency_stats(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  open_ok(&d, &c);
  uint64_t t = wall();
  put_at(&d, 1, "l1", t - 300); /* arrived 300 ms ago */
  hmq_deliver_test_hold(&d, 1);
  assert_int_equal(hmq_deliver_start(&d), HMQ_OK);
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, NULL); /* the sync is held 200 ms more */
  hmq_deliver_test_hold(&d, 0);
  uint64_t seqs[2];
  assert_int_equal(collect_wait(&d, seqs, 2), 1);
  hmq_stats *s = hmq_deliver_stats(&d);
  uint64_t w = hmq_stats_latency_pct(s, HMQ_STATS_LAT_WRITTEN, 50);
  uint64_t a = hmq_stats_latency_pct(s, HMQ_STATS_LAT_ACKED, 99);
  assert_true(w >= 300 && w < 500);
  assert_true(a >= 500 && a < 2000);
  char line[512];
  hmq_stats_line(s, wall(), line, sizeof line);
  assert_non_null(strstr(line, " written_p50="));
  assert_non_null(strstr(line, " acked_p99="));
  assert_null(strstr(line, "acked_p99=-"));
  /* the interval starts over */
  hmq_stats_line(s, wall(), line, sizeof line);
  assert_non_null(strstr(line, "written_p50=- written_p99=- acked_p50=- acked_p99=-"));
  hmq_deliver_close(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_no_ack_while_sync_held, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit_waits_for_sync_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stdout_stays_synchronous, setup, teardown),
      cmocka_unit_test_setup_teardown(test_latency_stats, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
