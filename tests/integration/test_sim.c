/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the `hmq-sim` program against a private mosquitto
 * (harness.h): over mutual TLS every message is acknowledged, the broker
 * delivers exactly the bytes --write produces for the same seed, in order,
 * without a single disconnect (so the broker's Receive Maximum was
 * honoured: mosquitto drops a client that exceeds it, MQTT 5.0 3.3.4);
 * --rate paces; a broker restart mid-run costs nothing (in-flight messages
 * are published again); a wrong CA and a missing broker end with the documented
 * exit codes and `acked 0`, within bounded time.
 *
 * The receiving side is mosquitto_sub (the reference client), with a
 * persistent session created first (-E) so nothing published is missed.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define APP "879577a3-b25f-4a28-8c0e-7effcc7682a2"

typedef struct fixture {
  hmq_h_broker b;
  char sim[512];
  char ca[300], cert[300], key[300];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || hmq_h_setup(&f->b) != 0 || hmq_h_start(&f->b) != 0) {
    if (f)
      hmq_h_cleanup(&f->b);
    free(f);
    return -1;
  }
  assert_int_equal(hmq_h_find_prog("hmq-sim", f->sim, sizeof f->sim), 0);
  hmq_h_pki(&f->b, "ca.crt", f->ca, sizeof f->ca);
  hmq_h_pki(&f->b, "client.crt", f->cert, sizeof f->cert);
  hmq_h_pki(&f->b, "client.key", f->key, sizeof f->key);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hmq_h_cleanup(&f->b);
  free(f);
  return 0;
}

/* Start `cmd` with bash in the broker dir (it redirects its own output). */
static pid_t spawn(const fixture *f, const char *cmd) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (chdir(f->b.dir) != 0)
      _exit(126);
    execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static int run(const fixture *f, const char *cmd, unsigned timeout_ms) {
  return hmq_h_wait_exit(spawn(f, cmd), timeout_ms, false);
}

/* Whole file into buf (NUL-terminated); its length. */
static size_t slurp(const fixture *f, const char *name, char *buf, size_t cap) {
  char path[400];
  size_t n;
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "rb");
  if (!fp) {
    buf[0] = '\0';
    return 0;
  }
  n = fread(buf, 1, cap - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  return n;
}

static void show(const fixture *f, const char *name) {
  static char buf[4096];
  slurp(f, name, buf, sizeof buf);
  fprintf(stderr, "--- %s:\n%s\n", name, buf);
}

static void test_tls_exact_bytes_in_order(void **state) {
  fixture *f = *state;
  static char got[2 * 1024 * 1024], want[2 * 1024 * 1024];
  char cmd[2048], sub[400];
  const char *gen = "--seed 5 --vins 20 --dup-rate 0.05 --app-id " APP " --env sandbox -n 300";
  size_t ng, nw;
  int rc;
  snprintf(sub, sizeof sub,
           "mosquitto_sub -h 127.0.0.1 -p %u -V 5 -q 1 -c -x 600 -i simtest "
           "-t 'sandbox/level13/" APP "/#'",
           (unsigned)f->b.plain_port);
  /* 1. the session and its subscription exist before anything is sent */
  snprintf(cmd, sizeof cmd, "%s -E 2>sub0.err", sub);
  assert_int_equal(run(f, cmd, 10000), 0);
  /* 2. publish over mutual TLS */
  snprintf(cmd, sizeof cmd,
           "'%s' --host 127.0.0.1 --server-name localhost --port %u --cafile '%s' --cert '%s' "
           "--key '%s' %s "
           "--timeout 30 >sim.out 2>sim.err",
           f->sim, (unsigned)f->b.port, f->ca, f->cert, f->key, gen);
  rc = run(f, cmd, 40000);
  if (rc != 0)
    show(f, "sim.err");
  assert_int_equal(rc, 0);
  slurp(f, "sim.out", got, sizeof got);
  assert_string_equal(got, "acked 300\n");
  slurp(f, "sim.err", got, sizeof got);
  assert_non_null(strstr(got, " 0 refused, 0 reconnects"));
  /* 3. drain the queue and compare with --write of the same settings */
  snprintf(cmd, sizeof cmd, "%s -C 300 -W 20 >got.ndjson 2>sub1.err", sub);
  assert_int_equal(run(f, cmd, 30000), 0);
  snprintf(cmd, sizeof cmd, "'%s' %s --write want.ndjson --quiet", f->sim, gen);
  assert_int_equal(run(f, cmd, 20000), 0);
  ng = slurp(f, "got.ndjson", got, sizeof got);
  nw = slurp(f, "want.ndjson", want, sizeof want);
  assert_true(nw > 300 * 1000);
  assert_int_equal(ng, nw);
  assert_memory_equal(got, want, nw);
}

static void test_rate_paces(void **state) {
  fixture *f = *state;
  char cmd[1024], out[256];
  uint64_t t0 = hmq_h_now(), ms;
  snprintf(cmd, sizeof cmd,
           "'%s' --plain --port %u -n 40 --rate 100 --timeout 20 >rate.out 2>rate.err", f->sim,
           (unsigned)f->b.plain_port);
  assert_int_equal(run(f, cmd, 25000), 0);
  ms = hmq_h_now() - t0;
  slurp(f, "rate.out", out, sizeof out);
  assert_string_equal(out, "acked 40\n");
  /* 40 messages at 100/s: the last one is due after ~390 ms */
  assert_true(ms >= 380);
  assert_true(ms < 5000);
}

/* The broker goes away mid-run and comes back on the same port: what was
 * in flight is published again after the reconnect and every message is
 * acknowledged in the end (the broker may hold some twice: at least once). */
static void test_broker_restart_mid_run(void **state) {
  fixture *f = *state;
  char cmd[1024], out[4096];
  pid_t pid;
  snprintf(cmd, sizeof cmd,
           "'%s' --plain --port %u -n 600 --rate 100 --timeout 40 >rs.out 2>rs.err", f->sim,
           (unsigned)f->b.plain_port);
  pid = spawn(f, cmd);
  hmq_h_sleep_ms(500);
  /* A frozen broker acks nothing: the window fills. Then it dies (SIGTERM
   * stays pending while stopped; the harness follows with SIGKILL). */
  assert_int_equal(hmq_h_pause(&f->b), 0);
  hmq_h_sleep_ms(300);
  hmq_h_stop(&f->b);
  assert_int_equal(hmq_h_start(&f->b), 0);
  assert_int_equal(hmq_h_wait_exit(pid, 45000, false), 0);
  slurp(f, "rs.out", out, sizeof out);
  assert_string_equal(out, "acked 600\n");
  slurp(f, "rs.err", out, sizeof out);
  assert_non_null(strstr(out, "connection lost"));
  assert_null(strstr(out, " 0 reconnects"));
  assert_null(strstr(out, " 0 republished"));
}

static void test_wrong_ca_exit_3(void **state) {
  fixture *f = *state;
  char cmd[1600], out[256], other[300], err[2048];
  hmq_h_pki(&f->b, "other-ca.crt", other, sizeof other);
  snprintf(cmd, sizeof cmd,
           "'%s' --server-name localhost --port %u --cafile '%s' --cert '%s' --key '%s' -n 5 "
           "--timeout 20 "
           ">ca.out 2>ca.err",
           f->sim, (unsigned)f->b.port, other, f->cert, f->key);
  assert_int_equal(run(f, cmd, 25000), 3);
  slurp(f, "ca.out", out, sizeof out);
  assert_string_equal(out, "acked 0\n");
  slurp(f, "ca.err", err, sizeof err);
  assert_non_null(strstr(err, "is not signed by the CA"));
}

static void test_no_broker_times_out(void **state) {
  fixture *f = *state;
  char cmd[1024], out[256];
  uint64_t t0;
  assert_int_equal(hmq_h_stop(&f->b), 0);
  t0 = hmq_h_now();
  snprintf(cmd, sizeof cmd, "'%s' --plain --port %u -n 5 --timeout 1 >nb.out 2>nb.err", f->sim,
           (unsigned)f->b.plain_port);
  assert_int_equal(run(f, cmd, 10000), 1);
  assert_true(hmq_h_now() - t0 < 5000);
  slurp(f, "nb.out", out, sizeof out);
  assert_string_equal(out, "acked 0\n");
}

static void test_usage_errors(void **state) {
  fixture *f = *state;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' --bogus 2>/dev/null", f->sim);
  assert_int_equal(run(f, cmd, 5000), 2);
  snprintf(cmd, sizeof cmd, "'%s' -n 5 2>/dev/null", f->sim); /* TLS without --cafile */
  assert_int_equal(run(f, cmd, 5000), 2);
  snprintf(cmd, sizeof cmd, "'%s' --dup-rate 2 --plain 2>/dev/null", f->sim);
  assert_int_equal(run(f, cmd, 5000), 2);
  snprintf(cmd, sizeof cmd, "'%s' --help | grep -q -- --write", f->sim);
  assert_int_equal(run(f, cmd, 5000), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tls_exact_bytes_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_paces, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_restart_mid_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_ca_exit_3, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_broker_times_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
