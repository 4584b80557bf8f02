/* SPDX-License-Identifier: MIT */
/*
 * End-to-end edges of what hmq is given (issue 8, items 7 and 11), with the
 * real `hmq` program:
 *  - a topic filter the server must refuse ("a/#/b") or a client id that
 *    is not UTF-8 is a usage error at start: exit 2, one line naming the
 *    option and the rule, and no connection is ever made (a listening
 *    socket of the test's own sees none);
 *  - a poison payload (200 KB of nested arrays) queued before two good
 *    envelopes: the good ones are written, the poison one is dead-lettered
 *    and acknowledged, and a second run receives nothing again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TOPIC "sandbox/level13/app/EXV10000000"

static char g_hmq[512];

/* Run argv with stdout/stderr into files; its exit code (bounded wait). */
static int run(char *const argv[], const char *out_path, const char *err_path,
               unsigned timeout_ms) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
      _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  return hmq_h_wait_exit(pid, timeout_ms, false);
}

static size_t slurp(const char *p, char *buf, size_t cap) {
  FILE *f = fopen(p, "rb");
  size_t n = 0;
  if (f) {
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
  }
  buf[n] = 0;
  return n;
}

static size_t lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void refused_at_start(const char *opt, const char *value, const char *want) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  char port[16], err[4096];
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(ls >= 0);
  assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(ls, 4), 0);
  assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
  snprintf(port, sizeof port, "%u", (unsigned)ntohs(a.sin_port));
  char *argv[] = {g_hmq,
                  "--plain",
                  "-h",
                  "127.0.0.1",
                  "-p",
                  port,
                  "-i",
                  "hmq-test-client",
                  "-t",
                  "x/#",
                  (char *)(uintptr_t)opt,
                  (char *)(uintptr_t)value,
                  NULL};
  int rc = run(argv, "payloads-stdout.log", "payloads-stderr.log", 10000);
  slurp("payloads-stderr.log", err, sizeof err);
  if (rc != 2 || !strstr(err, want))
    fail_msg("%s '%s': exit %d, stderr: %s", opt, value, rc, err);
  /* nothing ever connected */
  int c = accept(ls, NULL, NULL);
  assert_int_equal(c, -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  close(ls);
}

static void test_bad_filter_or_id_is_usage_error(void **state) {
  (void)state;
  refused_at_start("-t", "a/#/b", "--topic 'a/#/b' is not a valid filter");
  refused_at_start("-t", "a/#/b", "MQTT-4.7.1-1");
  refused_at_start("-t", "a/b+", "MQTT-4.7.1-2");
  refused_at_start("-t", "$share/g", "MQTT-4.8.2");
  refused_at_start("-t", "a/\xff", "UTF-8");
  refused_at_start("-i", "id-\xc3", "--id");
}

static void test_poison_dead_lettered_good_ones_arrive(void **state) {
  (void)state;
  hmq_h_broker b;
  char port[16], dir[300], out[400], dead[400], state_dir[400], poison[400], cmd[1200];
  static char buf[1 << 20];
  assert_int_equal(hmq_h_setup_start(&b), 0);
  snprintf(port, sizeof port, "%u", (unsigned)b.plain_port);
  snprintf(dir, sizeof dir, "%s", b.dir);
  snprintf(out, sizeof out, "%s/out.ndjson", dir);
  snprintf(dead, sizeof dead, "%s/out.ndjson.dead", dir);
  snprintf(state_dir, sizeof state_dir, "%s/state", dir);
  snprintf(poison, sizeof poison, "%s/poison.json", dir);
  char *argv[] = {g_hmq, "--plain",     "-h",      "127.0.0.1", "-p",  port,
                  "-i",  "poison-1",    "-c",      "-t",        TOPIC, "--out",
                  out,   "--state-dir", state_dir, "-W",        "3",   NULL};
  /* 1: make the persistent session and its subscription, then stop */
  assert_int_equal(run(argv, "payloads-stdout.log", "payloads-stderr.log", 20000), 27);
  /* 2: queue the poison (200 KB of nested arrays) and two good envelopes */
  FILE *f = fopen(poison, "wb");
  assert_non_null(f);
  for (int i = 0; i < 100 * 1024; i++)
    fputc('[', f);
  for (int i = 0; i < 100 * 1024; i++)
    fputc(']', f);
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %s -t %s -f %s && "
           "mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %s -t %s -m "
           "'{\"message_id\":\"good-1\",\"vin\":\"V\",\"data\":{}}' && "
           "mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %s -t %s -m "
           "'{\"message_id\":\"good-2\",\"vin\":\"V\",\"data\":{}}'",
           port, TOPIC, poison, port, TOPIC, port, TOPIC);
  assert_int_equal(system(cmd), 0);
  /* 3: hmq takes all three within its -W 3 window */
  uint64_t t0 = hmq_h_now();
  assert_int_equal(run(argv, "payloads-stdout.log", "payloads-stderr.log", 20000), 27);
  assert_true(hmq_h_now() - t0 < 10000);
  slurp(out, buf, sizeof buf);
  assert_int_equal(lines(buf), 2);
  assert_non_null(strstr(buf, "good-1"));
  assert_non_null(strstr(buf, "good-2"));
  slurp(dead, buf, sizeof buf);
  assert_int_equal(lines(buf), 1);
  assert_non_null(strstr(buf, "\"reason\":\"JSON nested deeper than 64 levels\""));
  /* 4: all three were acknowledged: nothing comes again */
  assert_int_equal(run(argv, "payloads-stdout.log", "payloads-stderr.log", 20000), 27);
  slurp(out, buf, sizeof buf);
  assert_int_equal(lines(buf), 2);
  slurp(dead, buf, sizeof buf);
  assert_int_equal(lines(buf), 1);
  hmq_h_cleanup_or_keep(&b);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  if (hmq_h_find_prog("hmq", g_hmq, sizeof g_hmq) != 0) {
    fprintf(stderr, "hmq program not built\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_filter_or_id_is_usage_error),
      cmocka_unit_test(test_poison_dead_lettered_good_ones_arrive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
