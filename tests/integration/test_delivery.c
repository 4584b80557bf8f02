/* SPDX-License-Identifier: MIT */
/*
 * The delivery pipeline end to end: the real `hmq` program over mutual TLS
 * against a private mosquitto (harness.h), fed by mosquitto_pub.
 *
 *  - flat format, a duplicate message_id and a broken payload in one
 *    stream: the output holds each reading once, the dead-letter file the
 *    broken payload with its topic, and everything was acknowledged (a
 *    second run gets nothing);
 *  - an --exec command that exits without reading: hmq stops with exit 5
 *    and acknowledges nothing, so the next run (same state dir, same
 *    session) receives every message again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define APP   "879577a3-b25f-4a28-8c0e-7effcc7682a2"
#define TOPIC "sandbox/level13/" APP "/EXV10000000"

typedef struct fixture {
  hmq_h_broker b;
  char hmq[512];
  char conn[2048]; /* connection options for hmq */
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  char ca[300], cert[300], key[300];
  if (!f || hmq_h_setup_start(&f->b) != 0 || hmq_h_find_prog("hmq", f->hmq, sizeof f->hmq) != 0)
    return -1;
  snprintf(f->conn, sizeof f->conn,
           "--cafile %s --cert %s --key %s --host localhost --port %u -V 5 -q 1 -c "
           "--id " APP "-sandbox-77 --topic '$share/" APP "/sandbox/level13/" APP "/#' "
           "--state-dir %s/sd",
           hmq_h_pki(&f->b, "ca.crt", ca, sizeof ca),
           hmq_h_pki(&f->b, "client.crt", cert, sizeof cert),
           hmq_h_pki(&f->b, "client.key", key, sizeof key), (unsigned)f->b.port, f->b.dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f) {
    hmq_h_cleanup(&f->b);
    free(f);
  }
  return 0;
}

/* hmq with the connection options plus `extra`, run by /bin/sh in the
 * broker dir, stderr to `log`. */
static pid_t run_hmq(const fixture *f, const char *extra, const char *log) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' %s %s 2>%s", f->b.dir, f->hmq, f->conn, extra,
           log);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static size_t read_file(const fixture *f, const char *name, char *buf, size_t cap) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    buf[0] = '\0';
    return 0;
  }
  size_t n = fread(buf, 1, cap - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return n;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* QoS 1 publish of the given lines (one message each) with mosquitto_pub
 * over the plain port; waits until every PUBACK came back. */
static void publish_lines(const fixture *f, const char *const *lines, size_t n) {
  char path[300], cmd[800];
  snprintf(path, sizeof path, "%s/pub.txt", f->b.dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, "%s\n", lines[i]);
  fclose(fp);
  snprintf(cmd, sizeof cmd,
           "mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %u -t '" TOPIC "' -l < '%s' 2>/dev/null",
           (unsigned)f->b.plain_port, path);
  assert_int_equal(system(cmd), 0);
}

static const char *envelope(const char *id, int readings) {
  static char b[4][512];
  static int k;
  char *o = b[k++ % 4];
  snprintf(o, 512,
           "{\"version\":2,\"application_id\":\"" APP "\",\"message_id\":\"%s\",\"vin\":"
           "\"EXV10000000\",\"data\":{\"diagnostics\":{\"speed\":[{\"data\":{\"unit\":\"kilometers"
           "_per_hour\",\"value\":42},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]%s}}}",
           id,
           readings > 1 ? ",\"fuel_level\":[{\"data\":0.62,\"timestamp\":\"2025-08-12T16:07:49"
                          ".000Z\"}]"
                        : "");
  return o;
}

static void test_flat_dedupe_dead_letter_all_acked(void **state) {
  fixture *f = *state;
  char buf[65536];
  /* join the share group once, so the broker queues for us */
  pid_t pid = run_hmq(f, "--out out -W 1", "run0.log");
  assert_int_equal(hmq_h_wait_exit(pid, 15000, false), 27);
  const char *lines[] = {envelope("AAAA", 2), "this is not json", envelope("AAAA", 2),
                         envelope("BBBB", 1)};
  publish_lines(f, lines, 4);
  /* -C 2: exit after two messages were written, committed and acked */
  pid = run_hmq(f, "--out out --format flat -C 2", "run1.log");
  assert_int_equal(hmq_h_wait_exit(pid, 20000, false), 0);
  read_file(f, "out", buf, sizeof buf);
  const char *want =
      "{\"vin\":\"EXV10000000\",\"message_id\":\"AAAA\",\"capability\":\"diagnostics\","
      "\"property\":\"speed\",\"timestamp\":\"2025-08-12T16:07:48.000Z\",\"data\":{\"unit\":"
      "\"kilometers_per_hour\",\"value\":42}}\n"
      "{\"vin\":\"EXV10000000\",\"message_id\":\"AAAA\",\"capability\":\"diagnostics\","
      "\"property\":\"fuel_level\",\"timestamp\":\"2025-08-12T16:07:49.000Z\",\"data\":0.62}\n"
      "{\"vin\":\"EXV10000000\",\"message_id\":\"BBBB\",\"capability\":\"diagnostics\","
      "\"property\":\"speed\",\"timestamp\":\"2025-08-12T16:07:48.000Z\",\"data\":{\"unit\":"
      "\"kilometers_per_hour\",\"value\":42}}\n";
  assert_string_equal(buf, want);
  read_file(f, "out.dead", buf, sizeof buf);
  assert_int_equal(count(buf, "\n"), 1);
  assert_non_null(strstr(buf, "\"topic\":\"" TOPIC "\",\"payload\":\"this is not json\""));
  /* nothing comes back: the duplicate and the broken one were acked too */
  pid = run_hmq(f, "--out out --format flat -W 2", "run2.log");
  assert_int_equal(hmq_h_wait_exit(pid, 15000, false), 27);
  read_file(f, "out", buf, sizeof buf);
  assert_string_equal(buf, want);
  read_file(f, "out.dead", buf, sizeof buf);
  assert_int_equal(count(buf, "\n"), 1);
}

static void test_exec_exits_unread_nothing_acked(void **state) {
  fixture *f = *state;
  char buf[65536], extra[512];
  pid_t pid = run_hmq(f, "--out out -W 1", "run0.log");
  assert_int_equal(hmq_h_wait_exit(pid, 15000, false), 27);
  const char *lines[] = {envelope("E1", 1), envelope("E2", 1), envelope("E3", 1)};
  publish_lines(f, lines, 3);
  /* the command never reads its input and exits */
  snprintf(extra, sizeof extra, "--exec 'sleep 1; exit 3'");
  pid = run_hmq(f, extra, "run1.log");
  assert_int_equal(hmq_h_wait_exit(pid, 20000, false), 5);
  read_file(f, "run1.log", buf, sizeof buf);
  assert_non_null(strstr(buf, "exited with status 3"));
  /* same session: all three come again, none was acknowledged */
  pid = run_hmq(f, "--out out -C 3", "run2.log");
  assert_int_equal(hmq_h_wait_exit(pid, 20000, false), 0);
  read_file(f, "out", buf, sizeof buf);
  assert_int_equal(count(buf, "\n"), 3);
  assert_int_equal(count(buf, "\"E1\""), 1);
  assert_int_equal(count(buf, "\"E2\""), 1);
  assert_int_equal(count(buf, "\"E3\""), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flat_dedupe_dead_letter_all_acked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_exits_unread_nothing_acked, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
