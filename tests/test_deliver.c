/* SPDX-License-Identifier: MIT */
/*
 * Delivery pipeline: formats byte for byte, dead-letter lines and their
 * default paths, dedupe within a batch, an exec child that dies, logrotate
 * reopen, ack order, data age and the stats line. (Dedupe across restarts
 * and crashes: test_dedupe_store.c.)
 *
 * Everything real: files in a fresh directory under the test's working
 * directory, a real /bin/sh child for --exec.
 */
#include "deliver_fixture.h"

/* --- formats ------------------------------------------------------------ */

static void test_envelope_format_compacts_exactly(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  open_ok(&d, &c);
  put(&d, 7, HMQ_SEED_EXAMPLE);
  put(&d, 8, env_msg("B1"));
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 2);
  assert_int_equal(seqs[0], 7);
  assert_int_equal(seqs[1], 8);
  hmq_deliver_close(&d);
  char buf[4096], want[2048];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  snprintf(want, sizeof want,
           "{\"version\":2,\"application_id\":\"00000000-0000-0000-0000-000000000000\","
           "\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"vin\":\"EXV10000000\",\"data\":{"
           "\"diagnostics\":{\"odometer\":[{\"data\":{\"unit\":\"kilometers\",\"value\":19201."
           "01}}]},\"vehicle_location\":{\"altitude\":[{\"data\":{\"unit\":\"meters\",\"value\""
           ":63},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],\"coordinates\":[{\"data\":{\""
           "latitude\":11.572,\"longitude\":8.487},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]"
           "}}}\n%s\n",
           env_msg("B1"));
  assert_string_equal(buf, want);
  /* the dead-letter file exists beside --out and is empty */
  struct stat st;
  assert_int_equal(stat(path("out.ndjson.dead"), &st), 0);
  assert_int_equal(st.st_size, 0);
}

static void test_flat_format_one_line_per_entry(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_FLAT, 0);
  open_ok(&d, &c);
  put(&d, 1, HMQ_SEED_EXAMPLE);
  put(&d, 2,
      "{\"version\":3,\"message_id\":\"F1\",\"vin\":\"V2\",\"data\":{\"doors\":{\"locks\":["
      "{\"failure\":{\"reason\":\"privacy_mode_active\",\"description\":\"off\"},"
      "\"timestamp\":\"2025-08-12T16:07:50Z\"},"
      "{\"availability\":{\"rate_limit\":{\"value\":1,\"unit\":\"times_per_second\"}}}]}}}");
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 2);
  /* the one walk also took each message's data age (newest reading) */
  assert_int_equal(d.stats.age_count, 2);
  assert_int_equal(hmq_stats_age_pct(&d.stats, 100), hmq_stats_bucket_bound(5000));
  assert_int_equal(hmq_stats_age_pct(&d.stats, 50), hmq_stats_bucket_bound(3000));
  hmq_deliver_close(&d);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  const char *want =
      "{\"vin\":\"EXV10000000\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"capability\":"
      "\"diagnostics\",\"property\":\"odometer\",\"timestamp\":null,\"data\":{\"unit\":"
      "\"kilometers\",\"value\":19201.01}}\n"
      "{\"vin\":\"EXV10000000\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"capability\":"
      "\"vehicle_location\",\"property\":\"altitude\",\"timestamp\":\"2025-08-12T16:07:48.000Z\","
      "\"data\":{\"unit\":\"meters\",\"value\":63}}\n"
      "{\"vin\":\"EXV10000000\",\"message_id\":\"" HMQ_SEED_MESSAGE_ID "\",\"capability\":"
      "\"vehicle_location\",\"property\":\"coordinates\",\"timestamp\":\"2025-08-12T16:07:48."
      "000Z\",\"data\":{\"latitude\":11.572,\"longitude\":8.487}}\n"
      "{\"vin\":\"V2\",\"message_id\":\"F1\",\"capability\":\"doors\",\"property\":\"locks\","
      "\"timestamp\":\"2025-08-12T16:07:50Z\",\"failure\":{\"reason\":\"privacy_mode_active\","
      "\"description\":\"off\"}}\n"
      "{\"vin\":\"V2\",\"message_id\":\"F1\",\"capability\":\"doors\",\"property\":\"locks\","
      "\"timestamp\":null,\"availability\":{\"rate_limit\":{\"value\":1,\"unit\":"
      "\"times_per_second\"}}}\n";
  assert_string_equal(buf, want);
  assert_int_equal(d.stats.written, 2);
  assert_int_equal(d.stats.lines, 5);
}

/* --format raw (issue 8, item 17): every payload exactly as received plus
 * "\n", envelope or not, newlines inside kept; duplicate envelopes are still
 * dropped by message_id; nothing is dead-lettered. */
static void test_raw_format_passes_everything_through(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_RAW, 0);
  open_ok(&d, &c);
  const char *spaced = "{ \"message_id\" : \"R1\", \"vin\":\"V\", \"data\":{} }";
  static const uint8_t binary[] = {0x00, 0xff, '\n', 0x80, 'x'};
  static char deep[256]; /* nested deeper than an envelope may be */
  memset(deep, '[', 80);
  memset(deep + 80, ']', 80);
  put(&d, 1, spaced);
  put(&d, 2, HMQ_SEED_EXAMPLE); /* pretty-printed: has newlines */
  put(&d, 3, "not json {");
  put(&d, 4, deep);
  assert_int_equal(hmq_deliver_message(&d, 5, TOPIC, strlen(TOPIC), binary, sizeof binary, 0, NOW),
                   HMQ_OK);
  put(&d, 6, spaced); /* duplicate of 1: dropped */
  put(&d, 7, "");     /* an empty payload is a message too */
  uint64_t seqs[8];
  assert_int_equal(commit(&d, seqs, 8), 7);
  for (uint64_t i = 0; i < 7; i++)
    assert_int_equal(seqs[i], i + 1);
  assert_int_equal(d.stats.invalid, 0);
  assert_int_equal(d.stats.duplicates, 1);
  assert_int_equal(d.stats.written, 6);
  hmq_deliver_close(&d);
  static char buf[16384], want[16384];
  size_t n = slurp_file(path("out.ndjson"), buf, sizeof buf);
  int k = snprintf(want, sizeof want, "%s\n%s\nnot json {\n%s\n", spaced, HMQ_SEED_EXAMPLE, deep);
  memcpy(want + k, binary, sizeof binary);
  k += (int)sizeof binary;
  memcpy(want + k, "\n\n", 2);
  k += 2;
  assert_int_equal(n, (size_t)k);
  assert_memory_equal(buf, want, n);
  assert_int_equal(slurp_file(path("out.ndjson.dead"), buf, sizeof buf), 0);
}

/* --format flat (issue 8, item 14): an envelope with no readings writes no
 * line, so it is dead-lettered with the reason instead of vanishing. */
static void test_flat_no_readings_dead_lettered(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_FLAT, 0);
  open_ok(&d, &c);
  put(&d, 1, "{\"message_id\":\"E1\",\"vin\":\"V\",\"data\":{}}");
  put(&d, 2, "{\"message_id\":\"E2\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":1},\"d\":[]}}");
  put(&d, 3, env_msg("F1"));
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 3);
  assert_int_equal(d.stats.written, 1);
  assert_int_equal(d.stats.invalid, 2);
  hmq_deliver_close(&d);
  char buf[4096];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 1);
  assert_non_null(strstr(buf, "\"message_id\":\"F1\""));
  slurp_file(path("out.ndjson.dead"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\"reason\":\"no readings to write as flat lines (data is empty "
                                  "or holds only skipped shapes)\""),
                   2);
  assert_non_null(strstr(buf, "E1"));
  assert_non_null(strstr(buf, "E2"));
}

/* --format flat repeats the names on every line: a long property name over
 * many tiny entries would write the square of the payload (24 KB in, 4 MB
 * out here). Such a message is dead-lettered whole; a normal one next to it
 * is written. */
static void test_flat_amplification_dead_lettered(void **state) {
  (void)state;
  static char bomb[32768];
  size_t n = 0;
  n += (size_t)snprintf(bomb + n, sizeof bomb - n,
                        "{\"message_id\":\"B1\",\"vin\":\"V\",\"data\":{\"c\":{\"");
  memset(bomb + n, 'p', 2000);
  n += 2000;
  n += (size_t)snprintf(bomb + n, sizeof bomb - n, "\":[");
  for (int i = 0; i < 2000; i++)
    n += (size_t)snprintf(bomb + n, sizeof bomb - n, "%s{\"data\":1}", i ? "," : "");
  n += (size_t)snprintf(bomb + n, sizeof bomb - n, "]}}}");
  assert_true(n < sizeof bomb - 1);
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_FLAT, 0);
  open_ok(&d, &c);
  put(&d, 1, bomb);
  put(&d, 2, env_msg("F1"));
  uint64_t seqs[3];
  assert_int_equal(commit(&d, seqs, 3), 2);
  assert_int_equal(d.stats.written, 1);
  assert_int_equal(d.stats.invalid, 1);
  hmq_deliver_close(&d);
  static char buf[65536];
  assert_true(slurp_file(path("out.ndjson"), buf, sizeof buf) < 4096);
  assert_non_null(strstr(buf, "\"message_id\":\"F1\""));
  assert_null(strstr(buf, "B1"));
  slurp_file(path("out.ndjson.dead"), buf, sizeof buf);
  assert_non_null(strstr(buf, "flat lines would take more than 16 times the payload"));
  assert_non_null(strstr(buf, "B1"));
}

/* Invalid UTF-8 inside a JSON string (issue 8, item 14) is not JSON: it is
 * dead-lettered (as payload_base64), never copied into an output line. */
static void test_invalid_utf8_dead_lettered(void **state) {
  (void)state;
  for (hmq_format f = HMQ_FORMAT_ENVELOPE; f <= HMQ_FORMAT_FLAT; f++) {
    hmq_deliver d;
    hmq_deliver_config c = file_cfg(f, 0);
    open_ok(&d, &c);
    put(&d, 1,
        "{\"message_id\":\"U1\",\"vin\":\"V\",\"data\":{\"c\":{\"p\":[{\"data\":\"\xc3\x28\"}]}}}");
    uint64_t seqs[2];
    assert_int_equal(commit(&d, seqs, 2), 1);
    assert_int_equal(d.stats.invalid, 1);
    assert_int_equal(d.stats.written, 0);
    hmq_deliver_close(&d);
    char buf[4096];
    assert_int_equal(slurp_file(path("out.ndjson"), buf, sizeof buf), 0);
    slurp_file(path("out.ndjson.dead"), buf, sizeof buf);
    assert_non_null(strstr(buf, "\"reason\":\"not JSON: string is not valid UTF-8\""));
    assert_non_null(strstr(buf, "\"payload_base64\":\""));
    unlink(path("out.ndjson"));
    unlink(path("out.ndjson.dead"));
  }
}

/* --- dead letters --------------------------------------------------------- */

static void test_dead_letter_lines_exact(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  open_ok(&d, &c);
  static const uint8_t nul[] = "{\"message_id\":\"N\0\",\"vin\":\"V\",\"data\":{}}";
  static const uint8_t latin1[] = {'{', 0xE9, '}'};
#define S(x)                                                                                       \
  { (const uint8_t *)(x), sizeof(x) - 1 }
  struct {
    const uint8_t *p;
    size_t n;
  } bad[] = {
      S("not json"),
      S("{\"vin\":\"V\",\"data\":{}}"),
      S("{\"message_id\":\"M\",\"data\":{}}"),
      S("{\"message_id\":\"M\",\"vin\":\"V\",\"data\":[]}"),
      S("{\"message_id\":\"M\",\"message_id\":\"M2\",\"vin\":\"V\",\"data\":{}}"),
      {nul, sizeof nul - 1},
      {latin1, sizeof latin1},
  };
#undef S
  size_t nbad = sizeof bad / sizeof bad[0];
  for (size_t i = 0; i < nbad; i++)
    assert_int_equal(hmq_deliver_message(&d, 100 + i, "t/\"q\"", 5, bad[i].p, bad[i].n, 0, 42),
                     HMQ_OK);
  put(&d, 200, env_msg("GOOD"));
  uint64_t seqs[16];
  assert_int_equal(commit(&d, seqs, 16), nbad + 1);
  for (size_t i = 0; i < nbad; i++)
    assert_int_equal(seqs[i], 100 + i);
  assert_int_equal(seqs[nbad], 200);
  assert_int_equal(d.stats.invalid, nbad);
  assert_int_equal(d.stats.written, 1);
  hmq_deliver_close(&d);

  char buf[8192];
  slurp_file(path("out.ndjson.dead"), buf, sizeof buf);
  /* reason (the parser's), topic, payload escaped (NUL as \u0000; not UTF-8:
   * base64), arrival time; one line each */
  const char *want =
      "{\"reason\":\"not JSON: invalid character\",\"topic\":\"t/\\\"q\\\"\",\"payload\":\"not "
      "json\",\"received_ms\":42}\n"
      "{\"reason\":\"message_id missing\",\"topic\":\"t/\\\"q\\\"\",\"payload\":\"{\\\"vin\\\":"
      "\\\"V\\\",\\\"data\\\":{}}\",\"received_ms\":42}\n"
      "{\"reason\":\"vin missing\",\"topic\":\"t/\\\"q\\\"\",\"payload\":\"{\\\"message_id\\\":"
      "\\\"M\\\",\\\"data\\\":{}}\",\"received_ms\":42}\n"
      "{\"reason\":\"data is not an object\",\"topic\":\"t/\\\"q\\\"\",\"payload\":\"{\\\"message_"
      "id\\\":\\\"M\\\",\\\"vin\\\":\\\"V\\\",\\\"data\\\":[]}\",\"received_ms\":42}\n"
      "{\"reason\":\"duplicate key: message_id\",\"topic\":\"t/\\\"q\\\"\",\"payload\":\"{\\\"mes"
      "sage_id\\\":\\\"M\\\",\\\"message_id\\\":\\\"M2\\\",\\\"vin\\\":\\\"V\\\",\\\"data\\\":{}}"
      "\","
      "\"received_ms\":42}\n"
      "{\"reason\":\"payload contains a NUL byte\",\"topic\":\"t/\\\"q\\\"\",\"payload\":\"{\\\"m"
      "essage_id\\\":\\\"N\\u0000\\\",\\\"vin\\\":\\\"V\\\",\\\"data\\\":{}}\",\"received_ms\":42}"
      "\n"
      "{\"reason\":\"not JSON: invalid character\",\"topic\":\"t/\\\"q\\\"\",\"payload_base64\":"
      "\"e+l9\",\"received_ms\":42}\n";
  assert_string_equal(buf, want);
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 1);
}

/* Dead letters of a stdout sink go to stderr, unless a path is given. */
static void test_dead_letter_stderr_default_and_explicit_path(void **state) {
  (void)state;
  fflush(stdout);
  fflush(stderr);
  int save1 = dup(1), save2 = dup(2);
  int o = open(path("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int e = open(path("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(o > 2 && e > 2);
  dup2(o, 1);
  dup2(e, 2);
  hmq_deliver d;
  hmq_deliver_config c;
  memset(&c, 0, sizeof c);
  c.dedupe_capacity = 10;
  c.max_message = 4096;
  char err[256];
  hmq_status st = hmq_deliver_open(&d, &c, err, sizeof err);
  if (st == HMQ_OK) {
    put(&d, 1, env_msg("S1"));
    put(&d, 2, "garbage");
    uint64_t seqs[4];
    (void)commit(&d, seqs, 4);
    hmq_deliver_close(&d);
  }
  dup2(save1, 1);
  dup2(save2, 2);
  close(save1);
  close(save2);
  close(o);
  close(e);
  assert_int_equal(st, HMQ_OK);
  char buf[4096], want[1024];
  slurp_file(path("stdout.txt"), buf, sizeof buf);
  snprintf(want, sizeof want, "%s\n", env_msg("S1"));
  assert_string_equal(buf, want);
  slurp_file(path("stderr.txt"), buf, sizeof buf);
  assert_non_null(strstr(buf, "\",\"topic\":\"" TOPIC "\",\"payload\":\"garbage\",\"received_ms\":"
                              "1755014873000}\n"));

  /* explicit --dead-letter path */
  hmq_deliver_config c2 = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  char dl[256];
  snprintf(dl, sizeof dl, "%s/elsewhere.dead", g_dir);
  c2.dead_path = dl;
  open_ok(&d, &c2);
  put(&d, 3, "[1,2]");
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 1);
  hmq_deliver_close(&d);
  slurp_file(dl, buf, sizeof buf);
  assert_non_null(strstr(buf, "\"payload\":\"[1,2]\""));
  struct stat sb;
  assert_int_equal(stat(path("out.ndjson.dead"), &sb), -1);
}

/* --- dedupe --------------------------------------------------------------- */

static void test_dedupe_within_batch_still_acked(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  open_ok(&d, &c);
  put(&d, 1, env_msg("A"));
  put(&d, 2, env_msg("A"));
  put(&d, 3, env_msg("B"));
  assert_int_equal(hmq_deliver_message(&d, 4, TOPIC, strlen(TOPIC), (const uint8_t *)env_msg("B"),
                                       strlen(env_msg("B")), 1, NOW),
                   HMQ_OK);
  assert_int_equal(hmq_deliver_pending(&d), 4);
  uint64_t seqs[8];
  assert_int_equal(commit(&d, seqs, 8), 4);
  for (int i = 0; i < 4; i++)
    assert_int_equal(seqs[i], (uint64_t)i + 1);
  /* across batches too */
  put(&d, 5, env_msg("A"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  assert_int_equal(seqs[0], 5);
  assert_int_equal(d.stats.duplicates, 3);
  assert_int_equal(d.stats.written, 2);
  assert_int_equal(hmq_deliver_pending(&d), 0);
  hmq_deliver_close(&d);
  char buf[4096], want[1024];
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  snprintf(want, sizeof want, "%s\n", env_msg("A"));
  size_t la = strlen(want);
  assert_memory_equal(buf, want, la);
  snprintf(want, sizeof want, "%s\n", env_msg("B"));
  assert_string_equal(buf + la, want);
}

/* The duplicate filter compares message ids as JSON strings, escapes
 * decoded: "\u0041" is "A" (as the database sinks store it), so a broker
 * cannot slip a message past the filter by escaping a character of its
 * id. Ids without a backslash hash as before (the logs stay valid). */
static void test_dedupe_decodes_escaped_ids(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  open_ok(&d, &c);
  put(&d, 1, env_msg("AB/1"));
  put(&d, 2, env_msg("\\u0041B/1")); /* the same id */
  put(&d, 3, env_msg("AB\\/1"));     /* the same id */
  put(&d, 4, env_msg("\\u0061b/1")); /* "ab/1": another id */
  put(&d, 5, env_msg("\\u00e9"));    /* U+00E9 escaped ... */
  put(&d, 6, env_msg("\xc3\xa9"));   /* ... and as UTF-8: the same */
  uint64_t seqs[8];
  assert_int_equal(commit(&d, seqs, 8), 6);
  assert_int_equal(d.stats.written, 3);
  assert_int_equal(d.stats.duplicates, 3);
  assert_int_equal(hmq_dedupe_hash_id("AB/1", 4), hmq_dedupe_hash("AB/1", 4));
  assert_int_equal(hmq_dedupe_hash_id("\\u0041B\\/1", 10), hmq_dedupe_hash("AB/1", 4));
  hmq_deliver_close(&d);
}

/* --- exec sink ------------------------------------------------------------ */

static hmq_deliver_config exec_cfg(const char *cmd) {
  hmq_deliver_config c;
  memset(&c, 0, sizeof c);
  c.sink = HMQ_SINK_EXEC;
  c.exec_cmd = cmd;
  c.dedupe_capacity = 100;
  c.max_message = 4096;
  return c;
}

static void test_exec_sink_child_reads_lines(void **state) {
  (void)state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "cat > '%s/exec.out'", g_dir);
  hmq_deliver d;
  hmq_deliver_config c = exec_cfg(cmd);
  open_ok(&d, &c);
  put(&d, 1, env_msg("X1"));
  put(&d, 2, env_msg("X2"));
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 2);
  hmq_deliver_close(&d); /* EOF: cat finishes and is reaped */
  char buf[2048], want[2048];
  slurp_file(path("exec.out"), buf, sizeof buf);
  int k = snprintf(want, sizeof want, "%s\n", env_msg("X1"));
  snprintf(want + k, sizeof want - (size_t)k, "%s\n", env_msg("X2"));
  assert_string_equal(buf, want);
}

/* Block until the child has exited, without reaping it. */
static void wait_exit(pid_t pid) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
}

static void test_exec_child_exits_commit_fails(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = exec_cfg("exit 3");
  open_ok(&d, &c);
  assert_int_equal(hmq_deliver_check(&d), HMQ_OK);
  wait_exit(d.out.child);
  put(&d, 1, env_msg("E1"));
  uint64_t seqs[4] = {0};
  size_t n = 99;
  hmq_status st = hmq_deliver_commit(&d, seqs, 4, &n);
  assert_int_equal(st, HMQ_ERR_CLOSED);
  assert_int_equal(n, 0);
  assert_non_null(strstr(hmq_deliver_error(&d), "exited with status 3"));
  /* sticky: nothing more is taken or returned */
  assert_int_equal(hmq_deliver_message(&d, 2, TOPIC, 5, (const uint8_t *)"x", 1, 0, NOW),
                   HMQ_ERR_CLOSED);
  assert_int_equal(hmq_deliver_commit(&d, seqs, 4, &n), HMQ_ERR_CLOSED);
  assert_int_equal(n, 0);
  hmq_deliver_close(&d);
  /* idle: the check alone sees that the child is gone */
  open_ok(&d, &c);
  wait_exit(d.out.child);
  assert_int_equal(hmq_deliver_check(&d), HMQ_ERR_CLOSED);
  assert_non_null(strstr(hmq_deliver_error(&d), "exited with status 3"));
  assert_int_equal(hmq_deliver_message(&d, 2, TOPIC, 5, (const uint8_t *)"x", 1, 0, NOW),
                   HMQ_ERR_CLOSED);
  hmq_deliver_close(&d);
}

/* A command that dies without reading: the bytes it left in the pipe were
 * never taken, so the commit fails (it does not count as written). */
static void test_exec_child_dies_before_reading(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = exec_cfg("sleep 0.3; exit 4");
  open_ok(&d, &c);
  put(&d, 1, env_msg("U1"));
  put(&d, 2, env_msg("U2"));
  uint64_t seqs[4];
  size_t n = 99;
  assert_int_equal(hmq_deliver_commit(&d, seqs, 4, &n), HMQ_ERR_CLOSED);
  assert_int_equal(n, 0);
  assert_non_null(strstr(hmq_deliver_error(&d), "exited with status 4"));
  hmq_deliver_close(&d);
}

/* The child takes one line and quits: the first batch is acked, the next
 * one is not. */
static void test_exec_child_dies_mid_stream(void **state) {
  (void)state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "head -n 1 > '%s/head.out'", g_dir);
  hmq_deliver d;
  hmq_deliver_config c = exec_cfg(cmd);
  open_ok(&d, &c);
  put(&d, 1, env_msg("H1"));
  uint64_t seqs[4];
  assert_int_equal(commit(&d, seqs, 4), 1);
  assert_int_equal(seqs[0], 1);
  wait_exit(d.out.child);
  put(&d, 2, env_msg("H2"));
  put(&d, 3, env_msg("H3"));
  size_t n = 99;
  assert_int_equal(hmq_deliver_commit(&d, seqs, 4, &n), HMQ_ERR_CLOSED);
  assert_int_equal(n, 0);
  hmq_deliver_close(&d);
  char buf[1024], want[1024];
  slurp_file(path("head.out"), buf, sizeof buf);
  snprintf(want, sizeof want, "%s\n", env_msg("H1"));
  assert_string_equal(buf, want);
}

/* --- SIGHUP reopen ---------------------------------------------------------- */

static void test_reopen_after_rename(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 1);
  uint64_t seqs[8];
  open_ok(&d, &c);
  put(&d, 1, env_msg("R1"));
  assert_int_equal(commit(&d, seqs, 8), 1);
  put(&d, 2, env_msg("R2")); /* buffered when the rotation happens */
  put(&d, 3, "bad");
  char old[256], olddead[256];
  snprintf(old, sizeof old, "%s/out.ndjson.1", g_dir);
  snprintf(olddead, sizeof olddead, "%s/out.ndjson.dead.1", g_dir);
  assert_int_equal(rename(path("out.ndjson"), old), 0);
  assert_int_equal(rename(path("out.ndjson.dead"), olddead), 0);
  assert_int_equal(hmq_deliver_reopen(&d), HMQ_OK);
  put(&d, 4, env_msg("R3"));
  put(&d, 5, "worse");
  assert_int_equal(commit(&d, seqs, 8), 4);
  assert_int_equal(seqs[0], 2);
  assert_int_equal(seqs[3], 5);
  hmq_deliver_close(&d);
  char buf[4096], want[1024];
  slurp_file(old, buf, sizeof buf);
  assert_int_equal(count_str(buf, "\n"), 2);
  assert_non_null(strstr(buf, "\"R1\""));
  assert_non_null(strstr(buf, "\"R2\""));
  slurp_file(path("out.ndjson"), buf, sizeof buf);
  snprintf(want, sizeof want, "%s\n", env_msg("R3"));
  assert_string_equal(buf, want);
  slurp_file(olddead, buf, sizeof buf);
  assert_non_null(strstr(buf, "\"payload\":\"bad\""));
  slurp_file(path("out.ndjson.dead"), buf, sizeof buf);
  assert_non_null(strstr(buf, "\"payload\":\"worse\""));
  /* after a restart all three are known (log + rescan of the new file) */
  open_ok(&d, &c);
  put(&d, 6, env_msg("R1"));
  put(&d, 7, env_msg("R2"));
  put(&d, 8, env_msg("R3"));
  assert_int_equal(commit(&d, seqs, 8), 3);
  assert_int_equal(d.stats.duplicates, 3);
  hmq_deliver_close(&d);
}

/* --- ack order, limits -------------------------------------------------------- */

static void test_seqs_in_arrival_order_partial_cap(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  c.max_pending = 5;
  open_ok(&d, &c);
  const uint64_t in[5] = {900, 17, 18, 3, 1000};
  put(&d, in[0], env_msg("O1"));
  put(&d, in[1], "junk");
  put(&d, in[2], env_msg("O1"));
  put(&d, in[3], env_msg("O2"));
  assert_int_equal(hmq_deliver_oldest_ms(&d), NOW);
  put(&d, in[4], env_msg("O3"));
  assert_int_equal(hmq_deliver_message(&d, 5, TOPIC, 5, (const uint8_t *)"x", 1, 0, NOW),
                   HMQ_ERR_FULL);
  assert_int_equal(d.stats.received, 5);
  uint64_t seqs[8];
  assert_int_equal(commit(&d, seqs, 2), 2);
  assert_int_equal(seqs[0], 900);
  assert_int_equal(seqs[1], 17);
  assert_int_equal(hmq_deliver_pending(&d), 3);
  put(&d, 6, env_msg("O4"));
  assert_int_equal(commit(&d, seqs, 8), 4);
  assert_int_equal(seqs[0], 18);
  assert_int_equal(seqs[1], 3);
  assert_int_equal(seqs[2], 1000);
  assert_int_equal(seqs[3], 6);
  assert_int_equal(hmq_deliver_oldest_ms(&d), 0);
  assert_int_equal(d.stats.commits, 2);
  hmq_deliver_close(&d);
}

static void test_open_errors(void **state) {
  (void)state;
  hmq_deliver d;
  char err[256];
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  c.out_path = "no-such-dir-hmq/x/out.ndjson";
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_ERR_FILE);
  assert_non_null(strstr(err, "no-such-dir-hmq/x/out.ndjson"));
  hmq_deliver_close(&d);
  /* the dead-letter file is named as such, with the option that sets it */
  c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  c.dead_path = "no-such-dir-hmq/dead";
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_ERR_FILE);
  assert_non_null(
      strstr(err, "dead-letter file (--dead-letter): cannot open no-such-dir-hmq/dead"));
  hmq_deliver_close(&d);
  c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  c.format = (hmq_format)9;
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_ERR_ARG);
  hmq_deliver_close(&d);
  hmq_deliver zero;
  memset(&zero, 0, sizeof zero);
  hmq_deliver_close(&zero);
  hmq_format f = HMQ_FORMAT_RAW;
  assert_int_equal(hmq_format_from_name("flat", &f), 0);
  assert_int_equal(f, HMQ_FORMAT_FLAT);
  assert_int_equal(hmq_format_from_name("xml", &f), -1);
  assert_int_equal(f, HMQ_FORMAT_FLAT);
}

/* --- stats ------------------------------------------------------------------- */

static void test_stats_percentiles(void **state) {
  (void)state;
  hmq_stats s;
  hmq_stats_init(&s, 1000);
  assert_int_equal(hmq_stats_age_pct(&s, 50), 0);
  for (int i = 1; i <= 100; i++)
    hmq_stats_age(&s, i);
  uint64_t p50 = hmq_stats_age_pct(&s, 50), p99 = hmq_stats_age_pct(&s, 99);
  assert_true(p50 >= 50 && p50 <= 50 * 9 / 8);
  assert_true(p99 >= 99 && p99 <= 99 * 9 / 8);
  assert_int_equal(hmq_stats_age_pct(&s, 100), 103);
  /* exact below 8 ms, bounded error up to days */
  hmq_stats_init(&s, 0);
  hmq_stats_age(&s, 5);
  assert_int_equal(hmq_stats_age_pct(&s, 50), 5);
  const int64_t big[] = {1000, 65432, 3600000, 86400000LL * 30};
  for (size_t i = 0; i < 4; i++) {
    hmq_stats_init(&s, 0);
    hmq_stats_age(&s, big[i]);
    uint64_t v = hmq_stats_age_pct(&s, 99);
    assert_true(v >= (uint64_t)big[i] && v <= (uint64_t)big[i] * 9 / 8);
  }
  hmq_stats_init(&s, 0);
  hmq_stats_age(&s, -50);
  assert_int_equal(s.age_future, 1);
  assert_int_equal(hmq_stats_age_pct(&s, 50), 0);

  /* the line, and the interval reset */
  hmq_stats_init(&s, 10000);
  s.received = 500;
  s.written = 480;
  s.duplicates = 15;
  s.invalid = 5;
  s.in_flight = 10;
  s.reconnects = 1;
  for (int i = 0; i < 99; i++)
    hmq_stats_age(&s, 800);
  hmq_stats_age(&s, 20000);
  char line[512];
  hmq_stats_line(&s, 12000, line, sizeof line);
  assert_string_equal(line, "hmq: received=500 written=480 dup=15 invalid=5 warn=0 rate=250.0/s "
                            "inflight=10 reconnects=1 attempts=0 age_p50=831ms age_p99=831ms "
                            "written_p50=- written_p99=- acked_p50=- acked_p99=-");
  /* latency histograms: same buckets, their own fields */
  for (int i = 0; i < 98; i++)
    hmq_stats_latency(&s, HMQ_STATS_LAT_WRITTEN, 2);
  hmq_stats_latency(&s, HMQ_STATS_LAT_WRITTEN, 40);
  hmq_stats_latency(&s, HMQ_STATS_LAT_WRITTEN, 40);
  hmq_stats_latency(&s, HMQ_STATS_LAT_ACKED, 100);
  assert_int_equal(hmq_stats_latency_pct(&s, HMQ_STATS_LAT_WRITTEN, 50), 2);
  assert_int_equal(hmq_stats_latency_pct(&s, HMQ_STATS_LAT_WRITTEN, 99), 43);
  assert_int_equal(hmq_stats_bucket_bound(40), 43);
  assert_int_equal(hmq_stats_latency_pct(&s, HMQ_STATS_LAT_ACKED, 50), 103);
  assert_int_equal(hmq_stats_latency_pct(&s, 7, 50), 0);
  hmq_stats_line(&s, 14000, line, sizeof line);
  assert_non_null(strstr(line, "written_p50=2ms written_p99=43ms acked_p50=103ms acked_p99=103ms"));
  s.received = 600;
  hmq_stats_line(&s, 16000, line, sizeof line);
  assert_non_null(strstr(line, "rate=50.0/s"));
  assert_non_null(strstr(line, "written_p50=- written_p99=-"));
  assert_non_null(strstr(line, "age_p50=- age_p99=-"));
}

/* Data age of a delivered message = now minus its newest reading. */
static void test_deliver_data_age_and_warnings(void **state) {
  (void)state;
  hmq_deliver d;
  hmq_deliver_config c = file_cfg(HMQ_FORMAT_ENVELOPE, 0);
  FILE *log = tmpfile();
  assert_non_null(log);
  c.verbose = 1;
  c.log = log;
  open_ok(&d, &c);
  put(&d, 1, HMQ_SEED_EXAMPLE); /* newest reading 16:07:48.000Z, now 16:07:53.000Z */
  assert_int_equal(d.stats.age_count, 1);
  uint64_t age = hmq_stats_age_pct(&d.stats, 50);
  assert_true(age >= 5000 && age <= 5000 * 9 / 8);
  assert_int_equal(d.stats.warnings, 0);
  put(&d, 2,
      "{\"version\":7,\"message_id\":\"W1\",\"vin\":\"V\",\"data\":{\"a\":{\"b\":[{\"timestamp\":"
      "\"yesterday\"}]}}}");
  assert_int_equal(d.stats.warnings, 1);
  assert_int_equal(d.stats.written, 2);
  /* a stream where every message has the oddity: 20 lines a second */
  char m[256];
  for (int w = 0; w < 30; w++) {
    snprintf(m, sizeof m, "{\"version\":9,\"message_id\":\"X%02d\",\"vin\":\"V\",\"data\":{}}", w);
    put(&d, 10 + (uint64_t)w, m);
  }
  const char *y = "{\"message_id\":\"Y\",\"vin\":\"V\",\"data\":{}}";
  assert_int_equal(hmq_deliver_message(&d, 99, TOPIC, strlen(TOPIC), (const uint8_t *)y, strlen(y),
                                       0, NOW + 1000),
                   HMQ_OK);
  assert_int_equal(d.stats.warnings, 32);
  uint64_t seqs[64];
  assert_int_equal(commit(&d, seqs, 64), 33);
  hmq_deliver_close(&d);
  char buf[8192];
  rewind(log);
  size_t n = fread(buf, 1, sizeof buf - 1, log);
  buf[n] = 0;
  fclose(log);
  assert_non_null(strstr(buf, "hmq: warning: topic " TOPIC " message_id W1: "));
  assert_int_equal(count_str(buf, "hmq: warning: topic"), 21); /* W1 + 19 + Y */
  assert_non_null(strstr(buf,
                         "hmq: warning: (11 more warnings not shown)\nhmq: warning: topic " TOPIC
                         " message_id Y: "));
  assert_int_equal(count_str(buf, "\n"), 22);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_envelope_format_compacts_exactly, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flat_format_one_line_per_entry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_raw_format_passes_everything_through, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flat_no_readings_dead_lettered, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flat_amplification_dead_lettered, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_utf8_dead_lettered, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter_lines_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter_stderr_default_and_explicit_path, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_within_batch_still_acked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_decodes_escaped_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_sink_child_reads_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_child_exits_commit_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_child_dies_before_reading, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_child_dies_mid_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_after_rename, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seqs_in_arrival_order_partial_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
      cmocka_unit_test(test_stats_percentiles),
      cmocka_unit_test_setup_teardown(test_deliver_data_age_and_warnings, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
