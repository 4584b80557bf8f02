/* SPDX-License-Identifier: MIT */
/*
 * Dedupe persistence of the delivery pipeline: across a clean restart,
 * across kill -9 (a real SIGKILL of a child process) at both sides of the
 * sink's fdatasync, a line torn by a crash (cut off, on the same boot and
 * after another; test_recover.c: torn flat messages, kill -9 at many points,
 * a file size limit), a torn dedupe-log record, log
 * compaction into the snapshot, and the message_id finder used to rescan
 * the output file.
 */
#include "deliver_fixture.h"

/* --- dedupe across restarts ----------------------------------------------- */

static void test_dedupe_survives_clean_restart(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_FLAT, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  put(&d, 2, env_msg("B"));
  assert_int_equal(commit(&d, seqs, 8), 2);
  hmq_deliver_close(&d);

  open_ok(&d, &c);
  assert_int_equal(d.store.restored, 2);
  assert_int_equal(d.store.scanned, 0); /* the log covered the whole file */
  put(&d, 3, env_msg("B"));
  put(&d, 4, env_msg("C"));
  put(&d, 5, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 3);
  assert_int_equal(d.stats.duplicates, 2);
  hmq_deliver_close(&d);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 3);
  assert_int_equal(count_str(buf, "\"message_id\":\"A\""), 1);
  assert_int_equal(count_str(buf, "\"message_id\":\"B\""), 1);
  assert_int_equal(count_str(buf, "\"message_id\":\"C\""), 1);
}

/* A child process writes and commits, then dies by SIGKILL at `point`. */
static void crash_child(int point) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    hmq_deliver d;
    hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
    char err[256];
    uint64_t seqs[8];
    size_t n;
    if (hmq_deliver_open(&d, &c, err, sizeof err) != HMQ_OK)
      _exit(10);
    const char *ids[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
      const char *m = env_msg(ids[i]);
      if (hmq_deliver_message(&d, (uint64_t)i, TOPIC, strlen(TOPIC), (const uint8_t *)m, strlen(m),
                              0, NOW) != HMQ_OK)
        _exit(11);
      if (i == 1 && (hmq_deliver_commit(&d, seqs, 8, &n) != HMQ_OK || n != 2))
        _exit(12);
    }
    hmq_deliver_test_crash(&d, point);
    if (hmq_deliver_commit(&d, seqs, 8, &n) != HMQ_ERR_IO || n != 0)
      _exit(13);
    raise(SIGKILL);
    _exit(14);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFSIGNALED(ws));
  assert_int_equal(WTERMSIG(ws), SIGKILL);
}

/* The redelivery after the crash: the broker sends C and D again (never
 * acked) plus a new E. */
static void redeliver_after_crash(hmq_deliver *d) {
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  uint64_t seqs[8];
  open_ok(d, &c);
  put(d, 12, env_msg("C"));
  put(d, 13, env_msg("D"));
  put(d, 14, env_msg("E"));
  put(d, 15, env_msg("A"));
  assert_int_equal(commit(d, seqs, 8), 4);
  assert_int_equal(seqs[0], 12);
  assert_int_equal(seqs[3], 15);
}

/* Synced but the log record never written: the batch was never
 * acknowledged. On the same boot the restart cuts it off (the log's offset
 * is exact: the page cache survives kill -9) and the redelivery writes it
 * again, once. */
static void test_kill9_after_sink_sync_cut_and_rewritten(void **state) {
  (void)state;
  crash_child(HMQ_DELIVER_CRASH_AFTER_SINK_SYNC);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 4); /* C and D reached the file, the log has A, B */
  hmq_deliver d;
  redeliver_after_crash(&d);
  assert_int_equal(d.store.restored, 2);
  assert_int_equal(d.store.scanned, 0);
  assert_true(d.store.cut > 0); /* C and D cut off at the start */
  assert_int_equal(d.stats.duplicates, 1);
  assert_int_equal(d.stats.written, 3);
  hmq_deliver_close(&d);
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 5);
  const char *ids[] = {"\"A\"", "\"B\"", "\"C\"", "\"D\"", "\"E\""};
  for (int i = 0; i < 5; i++)
    assert_int_equal(count_str(buf, ids[i]), 1);
  /* and a third start: everything is known from the log now */
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  open_ok(&d, &c);
  assert_int_equal(d.store.restored, 5);
  assert_int_equal(d.store.scanned, 0);
  assert_int_equal(d.store.cut, 0);
  hmq_deliver_close(&d);
}

static void test_kill9_before_sink_rewrites_lost_batch(void **state) {
  (void)state;
  crash_child(HMQ_DELIVER_CRASH_BEFORE_SINK);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 2); /* C, D died in the user buffer */
  hmq_deliver d;
  redeliver_after_crash(&d);
  assert_int_equal(d.stats.duplicates, 1);
  assert_int_equal(d.stats.written, 3);
  hmq_deliver_close(&d);
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 5);
  const char *ids[] = {"\"A\"", "\"B\"", "\"C\"", "\"D\"", "\"E\""};
  for (int i = 0; i < 5; i++)
    assert_int_equal(count_str(buf, ids[i]), 1);
}

/* A line torn by a crash mid-write is not a delivery: it is cut off (it
 * was never committed) and the redelivery writes the message whole, on the
 * same boot (exact log offset) and after another boot (rescan) alike. */
static void torn_last_line(int other_boot) {
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  hmq_deliver_close(&d);
  char a_line[1024];
  snprintf(a_line, sizeof a_line, "%s\n", env_msg("A"));
  FILE *f = fopen(path("out.ndjson"), "ab");
  const char *torn = env_msg("T");
  fwrite(torn, 1, 60, f); /* message_id "T" is inside the torn piece */
  fclose(f);
  if (other_boot) {
    f = fopen(path("state/dedupe.boot"), "wb");
    fputs("another-boot", f);
    fclose(f);
  }
  open_ok(&d, &c);
  assert_int_equal(d.store.scanned, 0);
  assert_int_equal(d.store.cut, 60);
  put(&d, 2, env_msg("T"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  assert_int_equal(d.stats.written, 1);
  hmq_deliver_close(&d);
  char buf[4096], want[2048];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  snprintf(want, sizeof want, "%s%s\n", a_line, env_msg("T"));
  assert_string_equal(buf, want);
  /* restart again: T is known, nothing cut */
  open_ok(&d, &c);
  assert_int_equal(d.store.scanned, 0);
  assert_int_equal(d.store.cut, 0);
  assert_int_equal(hmq_dedupe_contains(&d.set, hmq_dedupe_hash("T", 1)), 1);
  hmq_deliver_close(&d);
}

static void test_torn_last_line_cut_same_boot(void **state) {
  (void)state;
  torn_last_line(0);
}

static void test_torn_last_line_cut_other_boot(void **state) {
  (void)state;
  torn_last_line(1);
}

/* Past twice the capacity the log is folded into the snapshot; the oldest
 * ids are forgotten first, the newest survive a restart. */
static void test_dedupe_log_compaction_bounded(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  c.dedupe_capacity = 4;
  uint64_t seqs[8];
  char id[16];
  open_ok(&d, &c);
  for (int i = 0; i < 40; i++) {
    snprintf(id, sizeof id, "ID%02d", i);
    put(&d, (uint64_t)i, env_msg(id));
    assert_int_equal(commit(&d, seqs, 8), 1);
    assert_true(d.store.log_hashes <= 8);
  }
  hmq_deliver_close(&d);
  struct stat sb;
  assert_int_equal(stat(path("state/dedupe.snap"), &sb), 0);
  assert_int_equal(stat(path("state/dedupe.log"), &sb), 0);
  assert_true(sb.st_size <= 10 * (32 + 8 + 8));
  open_ok(&d, &c);
  put(&d, 100, env_msg("ID39")); /* newest: remembered */
  put(&d, 101, env_msg("ID36"));
  put(&d, 102, env_msg("ID00")); /* oldest: forgotten, written again */
  assert_int_equal(commit(&d, seqs, 8), 3);
  assert_int_equal(d.stats.duplicates, 2);
  assert_int_equal(d.stats.written, 1);
  hmq_deliver_close(&d);
}

/* A corrupt tail of the dedupe log (crash mid-append) is cut off; the
 * records before it still count. */
static void test_dedupe_log_torn_record(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  hmq_deliver_close(&d);
  struct stat sb;
  assert_int_equal(stat(path("state/dedupe.log"), &sb), 0);
  off_t good = sb.st_size;
  FILE *f = fopen(path("state/dedupe.log"), "ab");
  fwrite("HMQB\x05\0\0\0garbage", 1, 15, f);
  fclose(f);
  open_ok(&d, &c);
  assert_int_equal(d.store.restored, 1);
  assert_int_equal(stat(path("state/dedupe.log"), &sb), 0);
  assert_true(sb.st_size >= good);
  put(&d, 2, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  assert_int_equal(d.stats.duplicates, 1);
  hmq_deliver_close(&d);
}

/* stderr into a file while `open_ok` runs; returns what was written. */
static const char *open_capturing(hmq_deliver *d, const hmq_deliver_config *c) {
  static char text[2048];
  fflush(stderr);
  int saved = dup(2);
  int fd = open(path("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  open_ok(d, c);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  slurp_file(path("stderr.txt"), text, sizeof text);
  return text;
}

/* Offset of the k-th record (from 0) of the dedupe log in b. */
static size_t record_at(const unsigned char *b, size_t n, int k) {
  size_t at = 0;
  for (int i = 0; i < k; i++) {
    assert_true(at + 40 <= n && memcmp(b + at, "HMQB", 4) == 0);
    size_t count = (size_t)b[at + 4] | (size_t)b[at + 5] << 8;
    at += 40 + 8 * count;
  }
  assert_true(at + 40 <= n);
  return at;
}

/* A torn last record (crash mid-append) and a tail of zero bytes (a
 * system crash can leave the file longer than its data) are cut off
 * without a word: they are what a crash leaves. */
static void test_dedupe_log_torn_tail_is_quiet(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  hmq_deliver_close(&d);
  static const char zeros[100];
  static const char *tails[] = {"HMQ", "HMQB\x01\0\0\0", NULL};
  for (int i = 0; i < 3; i++) {
    FILE *f = fopen(path("state/dedupe.log"), "ab");
    if (tails[i])
      fwrite(tails[i], 1, strlen(tails[i]) + (i == 1 ? 4 : 0), f);
    else
      fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    const char *err = open_capturing(&d, &c);
    assert_string_equal(err, "");
    assert_int_equal(d.store.restored, 1);
    hmq_deliver_close(&d);
  }
}

/* A record in the middle of the log that is not intact is no crash: the
 * log cannot be trusted for the exact position any more. Before, on the
 * same boot the restart cut --out back to the last intact record's
 * position, so the lines of later commits (acknowledged: the broker never
 * sends them again) were lost. Now: a warning naming the file, the damaged
 * log kept as dedupe.log.damaged, --out rescanned from that position (its
 * ids learned again) and nothing cut. */
static void test_dedupe_log_damaged_record_rescans(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  const char *ids[] = {"A", "B", "C"};
  for (int i = 0; i < 3; i++) {
    put(&d, (uint64_t)i, env_msg(ids[i]));
    assert_int_equal(commit(&d, seqs, 8), 1);
  }
  hmq_deliver_close(&d);
  static unsigned char log[4096];
  size_t n = slurp_file(path("state/dedupe.log"), (char *)log, sizeof log);
  size_t b_at = record_at(log, n, 2); /* 0: the open's, 1: A's, 2: B's */
  log[b_at + 32] ^= 0x40;             /* B's hash: its checksum no longer holds */
  FILE *f = fopen(path("state/dedupe.log"), "wb");
  fwrite(log, 1, n, f);
  fclose(f);
  const char *err = open_capturing(&d, &c);
  assert_int_equal(d.store.cut, 0); /* before: 384, B's and C's lines */
  assert_non_null(strstr(err, "state/dedupe.log"));
  assert_non_null(strstr(err, "damaged"));
  assert_int_equal(d.store.restored, 1); /* A */
  assert_int_equal(d.store.scanned, 2);  /* B and C, from --out */
  put(&d, 10, env_msg("B"));
  put(&d, 11, env_msg("C"));
  put(&d, 12, env_msg("D"));
  assert_int_equal(commit(&d, seqs, 8), 3);
  assert_int_equal(d.stats.duplicates, 2);
  hmq_deliver_close(&d);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 4);
  const char *all[] = {"\"A\"", "\"B\"", "\"C\"", "\"D\""};
  for (int i = 0; i < 4; i++)
    assert_int_equal(count_str(buf, all[i]), 1);
  static unsigned char kept[4096];
  assert_int_equal(slurp_file(path("state/dedupe.log.damaged"), (char *)kept, sizeof kept), n);
  assert_memory_equal(kept, log, n);
}

/* A dedupe.log that is not one at all (another program's file) is left as
 * it is and hmq does not start: the message names the file and why. */
static void test_dedupe_log_foreign_refused(void **state) {
  (void)state;
  static const char foreign[] = "SQLite format 3\n...not ours...\n";
  assert_int_equal(mkdir(path("state"), 0700), 0);
  FILE *f = fopen(path("state/dedupe.log"), "wb");
  fwrite(foreign, 1, sizeof foreign - 1, f);
  fclose(f);
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  char err[512];
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_ERR_FILE);
  assert_non_null(strstr(err, "state/dedupe.log"));
  assert_non_null(strstr(err, "not an hmq dedupe log"));
  char buf[256];
  assert_int_equal(slurp_file(path("state/dedupe.log"), buf, sizeof buf), sizeof foreign - 1);
  assert_string_equal(buf, foreign);
  /* the same for a snapshot that is not one */
  assert_int_equal(unlink(path("state/dedupe.log")), 0);
  f = fopen(path("state/dedupe.snap"), "wb");
  fwrite(foreign, 1, sizeof foreign - 1, f);
  fclose(f);
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_ERR_FILE);
  assert_non_null(strstr(err, "state/dedupe.snap"));
  assert_non_null(strstr(err, "not an hmq dedupe snapshot"));
  /* a snapshot of ours that is damaged: a warning, a copy, hmq starts */
  f = fopen(path("state/dedupe.snap"), "wb");
  fwrite("HMQD\x01\0\0\0\x01\0\0\0"
         "12345678"
         "87654321",
         1, 28, f);
  fclose(f);
  const char *w = open_capturing(&d, &c);
  assert_non_null(strstr(w, "state/dedupe.snap: damaged"));
  assert_int_equal(d.store.restored, 0);
  hmq_deliver_close(&d);
  assert_int_equal(slurp_file(path("state/dedupe.snap.damaged"), buf, sizeof buf), 28);
}

/* Many one-id commits: the 40 bytes of framing per record trigger the
 * compaction before the id count does; the state dir stays bounded. */
static void test_dedupe_log_bounded_in_bytes(void **state) {
  (void)state;
  hmq_dedupe set;
  size_t mem = hmq_dedupe_mem_size(1000);
  void *m = malloc(mem);
  assert_non_null(m);
  hmq_dedupe_init(&set, m, mem, 1000);
  hmq_dstore st;
  char err[256];
  assert_int_equal(hmq_dstore_open(&st, path("st"), &set, 16, err, sizeof err), HMQ_OK);
  st.lazy_sync = 1;
  struct stat sb;
  for (uint64_t i = 1; i <= 1800; i++) {
    uint64_t h = hmq_dedupe_hash((const char *)&i, sizeof i);
    assert_int_equal(hmq_dedupe_insert(&set, h), 0);
    assert_int_equal(hmq_dstore_append(&st, &set, &h, 1, 1, 2, i * 100), HMQ_OK);
    assert_true(st.log_size <= 2 * (20 + 8 * 1000) + 65536 + 48);
  }
  assert_true(st.log_hashes < 2000); /* compacted by size, not by count */
  assert_int_equal(stat(path("st/dedupe.snap"), &sb), 0);
  hmq_dstore_close(&st);
  /* all 1000 newest come back, with the last position */
  hmq_dedupe_init(&set, m, mem, 1000);
  assert_int_equal(hmq_dstore_open(&st, path("st"), &set, 16, err, sizeof err), HMQ_OK);
  assert_int_equal(set.count, 1000);
  assert_int_equal(st.off, 180000);
  uint64_t last = 1800, first_kept = 801, gone = 800;
  assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash((const char *)&last, 8)), 1);
  assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash((const char *)&first_kept, 8)), 1);
  assert_int_equal(hmq_dedupe_contains(&set, hmq_dedupe_hash((const char *)&gone, 8)), 0);
  hmq_dstore_close(&st);
  free(m);
}

/* The cost of a commit in syscalls: a batch of 200 messages is one write()
 * and ONE fdatasync of the output; the dedupe log is written once and (file
 * sink: lazily) synced at most once a second; a batch of duplicates only
 * costs nothing. */
static void test_one_write_one_sync_per_commit(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  c.max_pending = 1000;
  uint64_t seqs[1000];
  char id[16];
  open_ok(&d, &c);
  uint64_t w0 = d.out.writes, s0 = d.out.syncs, l0 = d.store.syncs;
  for (int i = 0; i < 200; i++) {
    snprintf(id, sizeof id, "C%03d", i);
    put(&d, (uint64_t)i, env_msg(id));
  }
  assert_int_equal(d.out.writes, w0); /* nothing written per message */
  assert_int_equal(commit(&d, seqs, 1000), 200);
  assert_int_equal(d.out.writes - w0, 1);
  assert_int_equal(d.out.syncs - s0, 1);
  assert_true(d.store.syncs - l0 <= 1);
  for (int i = 0; i < 50; i++) {
    snprintf(id, sizeof id, "C%03d", i);
    put(&d, 1000 + (uint64_t)i, env_msg(id));
  }
  uint64_t w1 = d.out.writes, s1 = d.out.syncs, l1 = d.store.syncs;
  assert_int_equal(commit(&d, seqs, 1000), 50);
  assert_int_equal(d.out.writes, w1);
  assert_int_equal(d.out.syncs, s1);
  assert_int_equal(d.store.syncs, l1);
  hmq_deliver_close(&d);
}

/* An envelope whose message_id key and value are spelled with escapes only
 * ("message\u005fid":"\u0058\u0031" is message_id "X1" to the live filter,
 * which decodes both): a line of it in the part of --out written after the
 * last logged commit is recognised by the rescan after another boot, so
 * its redelivery (in either spelling) is not written twice. */
static void rescan_escaped_id(hmq_format fmt) {
  static const char x1[] =
      "{\"version\":2,\"application_id\":\"app\",\"message\\u005fid\":\"\\u0058\\u0031\","
      "\"vin\":\"VIN1\",\"data\":{\"diagnostics\":{\"speed\":[{\"data\":{\"unit\":"
      "\"kilometers_per_hour\",\"value\":42},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}";
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(fmt, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  hmq_deliver_close(&d);
  /* X1's line reached the file, its log record did not (lazily synced,
   * lost to a power cut) */
  FILE *f = fopen(path("out.ndjson"), "ab");
  fprintf(f, "%s\n", x1);
  fclose(f);
  f = fopen(path("state/dedupe.boot"), "wb");
  fputs("another-boot", f);
  fclose(f);
  open_ok(&d, &c);
  assert_int_equal(d.store.cut, 0);
  assert_int_equal(d.store.scanned, 1);
  put(&d, 2, x1);
  put(&d, 3, env_msg("X1"));
  put(&d, 4, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 3);
  assert_int_equal(d.stats.written, 0);
  assert_int_equal(d.stats.duplicates, 3);
  hmq_deliver_close(&d);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 2);
}

static void test_rescan_escaped_id_envelope(void **state) {
  (void)state;
  rescan_escaped_id(HMQ_FORMAT_ENVELOPE);
}

static void test_rescan_escaped_id_raw(void **state) {
  (void)state;
  rescan_escaped_id(HMQ_FORMAT_RAW);
}

/* --format raw passes a payload that is no envelope through without
 * dedupe; the rescan must not learn an id from its line either, or a valid
 * message with that id would later be dropped as a duplicate. Here the
 * line has two message_id keys (the parser refuses it): before, the rescan
 * took "X" from it and the real X was never written. */
static void test_rescan_raw_non_envelope_learns_nothing(void **state) {
  (void)state;
  static const char bad[] = "{\"message_id\":\"X\",\"message_id\":\"Y\",\"vin\":\"V\",\"data\":{}}";
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_RAW, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  put(&d, 2, bad);
  assert_int_equal(commit(&d, seqs, 8), 2);
  assert_int_equal(d.stats.written, 2);
  hmq_deliver_close(&d);
  /* the same line once more after the last logged commit, then another boot */
  FILE *f = fopen(path("out.ndjson"), "ab");
  fprintf(f, "%s\n%s\n", bad, env_msg("B"));
  fclose(f);
  f = fopen(path("state/dedupe.boot"), "wb");
  fputs("another-boot", f);
  fclose(f);
  open_ok(&d, &c);
  assert_int_equal(d.store.scanned, 1); /* B only */
  put(&d, 3, env_msg("X"));
  put(&d, 4, env_msg("B"));
  assert_int_equal(commit(&d, seqs, 8), 2);
  assert_int_equal(d.stats.written, 1); /* X */
  assert_int_equal(d.stats.duplicates, 1);
  hmq_deliver_close(&d);
}

static void test_line_id_finder(void **state) {
  (void)state;
  const char *id;
  size_t n;
  const char *l1 = "{\"vin\":\"a\\\"message_id\\\":\\\"x\",\"message_id\":\"M1\",\"k\":1}";
  assert_int_equal(hmq_dstore_line_id(l1, strlen(l1), &id, &n), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(id, "M1", 2);
  const char *l2 = " { \"data\" : {\"message_id\":\"inner\"} , \"message_id\" : \"M\\u0032\" }";
  assert_int_equal(hmq_dstore_line_id(l2, strlen(l2), &id, &n), 0);
  assert_int_equal(n, 7);
  assert_memory_equal(id, "M\\u0032", 7);
  /* the key with escapes: decoded before the comparison */
  const char *l3 = "{\"message\\u005fidx\":\"no\",\"\\u006dessage\\u005f\\u0069d\":\"M3\"}";
  assert_int_equal(hmq_dstore_line_id(l3, strlen(l3), &id, &n), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(id, "M3", 2);
  const char *bad[] = {"",
                       "{\"message\\u005fi\":\"x\"}",
                       "{\"message\\q_id\":\"x\"}",
                       "[]",
                       "{\"message_id\":5}",
                       "{\"message_id\":\"",
                       "{\"a\":[1,2]}",
                       "{\"message_id\":\"\"}",
                       "{\"a\":\"b\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(hmq_dstore_line_id(bad[i], strlen(bad[i]), &id, &n), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_dedupe_survives_clean_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill9_after_sink_sync_cut_and_rewritten, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_kill9_before_sink_rewrites_lost_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_last_line_cut_same_boot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_last_line_cut_other_boot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_log_compaction_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_log_torn_record, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_log_torn_tail_is_quiet, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_log_damaged_record_rescans, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_log_foreign_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_log_bounded_in_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_write_one_sync_per_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rescan_escaped_id_envelope, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rescan_escaped_id_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rescan_raw_non_envelope_learns_nothing, setup, teardown),
      cmocka_unit_test(test_line_id_finder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
