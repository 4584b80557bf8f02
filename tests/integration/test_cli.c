/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the real `hmq` program against a private mosquitto
 * with mutual TLS (harness.h): the High Mobility snippet run through bash
 * with mosquitto_sub replaced, --bundle, -C N acknowledging everything it
 * wrote, SIGTERM and kill -9 mid-stream without loss or duplicate lines,
 * the state-dir lock, --end-session, and exit codes.
 *
 * Each test starts its own broker (fresh data dir, so no share-group
 * sessions leak between tests) and bounds every wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
  char bundle[300]; /* the fake download: certificates + snippet.txt */
  char hmq[512];
  pid_t kids[32]; /* processes started by spawn() and not yet reaped */
} fixture;

static fixture *current; /* for spawn()/wait_exit() bookkeeping */

static void copy_file(const char *from, const char *to) {
  char buf[4096];
  size_t n;
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  assert_non_null(in);
  assert_non_null(out);
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    assert_int_equal(fwrite(buf, 1, n, out), n);
  fclose(in);
  fclose(out);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* snippet.txt as High Mobility ships it (docs' layout: no blank before one
 * backslash, single quotes, the '<app-id>#' filter), pointed at our broker.
 * `id` may hold the <rnd-number> placeholder. */
static void write_snippet(const fixture *f, const char *id) {
  char path[400], text[2048];
  snprintf(text, sizeof text,
           "mosquitto_sub \\\n"
           "              --cafile ca_crt.pem \\\n"
           "              --cert client_crt.pem \\\n"
           "              --key client_key.pem\\\n"
           "              --host localhost \\\n"
           "              --port %u \\\n"
           "              --qos 1 \\\n"
           "              -V 5 \\\n"
           "              --id '%s' \\\n"
           "              --disable-clean-session \\\n"
           "              --topic '$share/" APP "/sandbox/level13/" APP "#'\n"
           "        \n",
           (unsigned)f->b.port, id);
  snprintf(path, sizeof path, "%s/snippet.txt", f->bundle);
  write_text(path, text);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  char from[400], to[400];
  static const char *const files[][2] = {
      {"ca.crt", "ca_crt.pem"}, {"client.crt", "client_crt.pem"}, {"client.key", "client_key.pem"}};
  size_t i;
  if (!f || hmq_h_setup(&f->b) != 0 || hmq_h_start(&f->b) != 0)
    return -1;
  assert_int_equal(hmq_h_find_prog("hmq", f->hmq, sizeof f->hmq), 0);
  snprintf(f->bundle, sizeof f->bundle, "%s/bundle", f->b.dir);
  mkdir(f->bundle, 0700);
  for (i = 0; i < 3; i++) {
    hmq_h_pki(&f->b, files[i][0], from, sizeof from);
    snprintf(to, sizeof to, "%s/%s", f->bundle, files[i][1]);
    copy_file(from, to);
  }
  write_snippet(f, APP "-sandbox-4711");
  *state = f;
  current = f;
  return 0;
}

/* Never leave a process behind, whatever failed: kill and reap every child
 * still running, then the broker. HMQ_IT_KEEP=1 keeps the temp dir. */
static int teardown(void **state) {
  fixture *f = *state;
  if (f) {
    hmq_h_kill_all(f->kids, sizeof f->kids / sizeof f->kids[0], false);
    hmq_h_cleanup_or_keep(&f->b);
    free(f);
  }
  return 0;
}

/* Start `bash -c cmd` with stdout/stderr to files in the broker dir. */
static pid_t spawn(const fixture *f, const char *cmd, const char *log_name) {
  char log[400];
  pid_t pid;
  snprintf(log, sizeof log, "%s/%s", f->b.dir, log_name);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || dup2(fd, 2) < 0)
      _exit(126);
    execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  if (current) {
    size_t i;
    for (i = 0; i < sizeof current->kids / sizeof current->kids[0]; i++)
      if (current->kids[i] == 0) {
        current->kids[i] = pid;
        break;
      }
  }
  return pid;
}

static void reaped(pid_t pid) {
  size_t i;
  if (current)
    for (i = 0; i < sizeof current->kids / sizeof current->kids[0]; i++)
      if (current->kids[i] == pid)
        current->kids[i] = 0;
}

/* Exit code, or -1 after killing it when it outlives timeout_ms. */
static int wait_exit(pid_t pid, unsigned timeout_ms) {
  int rc = hmq_h_wait_exit(pid, timeout_ms, false);
  reaped(pid);
  return rc;
}

static int file_contains(const fixture *f, const char *name, const char *needle) {
  char path[400], buf[65536];
  size_t n;
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "r");
  if (!fp)
    return 0;
  n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return strstr(buf, needle) != NULL;
}

static int wait_contains(const fixture *f, const char *name, const char *needle,
                         unsigned timeout_ms) {
  uint64_t end = hmq_h_now() + timeout_ms;
  while (hmq_h_now() < end) {
    if (file_contains(f, name, needle))
      return 1;
    hmq_h_sleep_ms(10);
  }
  return 0;
}

/* Lines of output files, and how often each message number appears
 * across all of them. */
typedef struct tally {
  long lines;
  long distinct;
  long dup_lines; /* lines whose id was already seen in an earlier line */
  long bad;       /* lines without a message_id */
} tally;

static void tally_file(const fixture *f, const char *name, long k, unsigned char *seen, tally *t) {
  char path[400], line[4096];
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "r");
  if (!fp)
    return;
  while (fgets(line, sizeof line, fp)) {
    const char *p = strstr(line, "\"message_id\":\"");
    long n;
    t->lines++;
    if (!p) {
      t->bad++;
      continue;
    }
    n = strtol(p + 14 + 56, NULL, 16);
    if (n < 0 || n > k)
      t->bad++;
    else if (seen[n]++)
      t->dup_lines++;
    else
      t->distinct++;
  }
  fclose(fp);
}

static tally count_ids2(const fixture *f, const char *a, const char *b, long k) {
  unsigned char *seen = calloc((size_t)k + 1, 1);
  tally t = {0, 0, 0, 0};
  assert_non_null(seen);
  tally_file(f, a, k, seen, &t);
  if (b)
    tally_file(f, b, k, seen, &t);
  free(seen);
  return t;
}

static tally count_ids(const fixture *f, const char *name, long k) {
  return count_ids2(f, name, NULL, k);
}

static long lines_of(const fixture *f, const char *name) {
  return count_ids(f, name, 1000000).lines;
}

/* Publish envelopes first..first+count-1 (64-hex message ids) at QoS 1 with
 * mosquitto_pub, which exits 0 only after every PUBACK. */
static void publish(const fixture *f, long first, long count) {
  char path[400], cmd[800];
  FILE *fp;
  long i;
  snprintf(path, sizeof path, "%s/pub.txt", f->b.dir);
  fp = fopen(path, "w");
  assert_non_null(fp);
  for (i = first; i < first + count; i++)
    fprintf(fp,
            "{\"version\":2,\"application_id\":\"" APP "\",\"message_id\":\"%056d%08lX\","
            "\"vin\":\"EXV10000000\",\"data\":{\"diagnostics\":{\"odometer\":[{\"data\":"
            "{\"unit\":\"kilometers\",\"value\":%ld.5},\"timestamp\":\"2025-08-12T16:07:48."
            "000Z\"}]}}}\n",
            0, (unsigned long)i, i);
  fclose(fp);
  snprintf(cmd, sizeof cmd, "mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %u -t '" TOPIC "' -l < '%s'",
           (unsigned)f->b.plain_port, path);
  assert_int_equal(wait_exit(spawn(f, cmd, "pub.log"), 60000), 0);
}

/* hmq with the bundle, output and state dir in the broker's temp dir. */
static pid_t run_bundle(const fixture *f, const char *out, const char *sd, const char *extra,
                        const char *log) {
  char cmd[8192], o[600] = "";
  if (out)
    snprintf(o, sizeof o, "--out '%s/%s'", f->b.dir, out);
  snprintf(cmd, sizeof cmd, "exec '%s' --bundle '%s' %s --state-dir '%s/%s' -d %s", f->hmq,
           f->bundle, o, f->b.dir, sd, extra);
  return spawn(f, cmd, log);
}

/* Start hmq and wait until it has subscribed (the share group exists). */
static pid_t start_subscribed(const fixture *f, const char *out, const char *sd, const char *extra,
                              const char *log) {
  pid_t pid = run_bundle(f, out, sd, extra, log);
  if (!wait_contains(f, log, "subscribed to", 10000)) {
    hmq_h_dump_log(&f->b);
    fail_msg("hmq did not subscribe within 10 s");
  }
  return pid;
}

/* The snippet verbatim (mosquitto_sub replaced by hmq) with -C 5: exit 0,
 * exactly 5 lines, and every PUBACK left before the DISCONNECT: the same
 * session, resumed with a fresh dedupe memory, gets nothing again. Then the
 * control: messages published while it is down do arrive on resume. */
static void test_snippet_verbatim_count(void **state) {
  fixture *f = *state;
  char cmd[8192], snip[2048], path[400];
  FILE *fp;
  size_t n;
  pid_t pid;
  tally t;
  snprintf(path, sizeof path, "%s/snippet.txt", f->bundle);
  fp = fopen(path, "r");
  assert_non_null(fp);
  n = fread(snip, 1, sizeof snip - 1, fp);
  fclose(fp);
  while (n > 0 && (snip[n - 1] == '\n' || snip[n - 1] == ' '))
    n--;
  snip[n] = '\0';
  assert_int_equal(strncmp(snip, "mosquitto_sub", 13), 0);
  snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s'%s -C 5 --out '%s/out1' --state-dir '%s/sd1' -d",
           f->bundle, f->hmq, snip + 13, f->b.dir, f->b.dir);
  pid = spawn(f, cmd, "run1.log");
  assert_true(wait_contains(f, "run1.log", "subscribed to", 10000));
  publish(f, 1, 5);
  assert_int_equal(wait_exit(pid, 15000), 0);
  t = count_ids(f, "out1", 10);
  assert_int_equal(t.lines, 5);
  assert_int_equal(t.distinct, 5);
  /* the docs' '<app-id>#' filter was repaired, with a warning */
  assert_true(file_contains(f, "run1.log", "MQTT-4.7.1-1"));

  /* same client id, new state dir (empty dedupe memory): nothing comes back */
  snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s'%s -W 2 --out '%s/out2' --state-dir '%s/sd2'",
           f->bundle, f->hmq, snip + 13, f->b.dir, f->b.dir);
  assert_int_equal(wait_exit(spawn(f, cmd, "run2.log"), 15000), 27);
  assert_int_equal(lines_of(f, "out2"), 0);

  /* control: the session was kept, so what is published now is queued */
  publish(f, 6, 2);
  snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s'%s -C 2 --out '%s/out3' --state-dir '%s/sd3'",
           f->bundle, f->hmq, snip + 13, f->b.dir, f->b.dir);
  assert_int_equal(wait_exit(spawn(f, cmd, "run3.log"), 15000), 0);
  assert_int_equal(lines_of(f, "out3"), 2);
}

/* --bundle with the docs' <rnd-number> placeholder: application id and
 * environment are taken from it, the random part is stored in the state
 * dir; -C 3 gives three lines and exit 0. */
static void test_bundle_dir(void **state) {
  fixture *f = *state;
  char path[400], suffix[64] = "";
  FILE *fp;
  pid_t pid;
  write_snippet(f, APP "-sandbox-<rnd-number>");
  pid = start_subscribed(f, "out", "sd", "-C 3", "run.log");
  publish(f, 1, 3);
  assert_int_equal(wait_exit(pid, 15000), 0);
  assert_int_equal(count_ids(f, "out", 10).distinct, 3);
  assert_int_equal(lines_of(f, "out"), 3);
  snprintf(path, sizeof path, "%s/sd/client-suffix", f->b.dir);
  fp = fopen(path, "r");
  assert_non_null(fp);
  assert_non_null(fgets(suffix, sizeof suffix, fp));
  fclose(fp);
  assert_int_equal(strlen(suffix), 13); /* 12 digits + newline */
  suffix[12] = '\0';
  assert_true(file_contains(f, "run.log", suffix)); /* the client id used it */
}

/* Drive a backlog of k messages through two runs of hmq; the first is
 * stopped with `sig` as soon as some lines are out. The second run writes
 * to out2/sd2 (empty dedupe memory) after SIGTERM, so any message the first
 * run wrote without its PUBACK leaving would show up twice; after kill -9
 * it continues in out/sd, where the dedupe memory must cover what the
 * killed run wrote. Returns the lines the first run wrote. */
static long interrupted_backlog(fixture *f, int sig, long k) {
  const char *out2 = sig == SIGKILL ? "out" : "out2";
  const char *sd2 = sig == SIGKILL ? "sd" : "sd2";
  pid_t pid;
  uint64_t end;
  long first_lines;
  tally t;
  int rc;
  /* create the persistent session + share membership, then go offline */
  pid = start_subscribed(f, "out", "sd", "", "run0.log");
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  publish(f, 1, k); /* queued for us by the broker */

  pid = run_bundle(f, "out", "sd", "", "run1.log");
  end = hmq_h_now() + 15000;
  while (lines_of(f, "out") == 0 && hmq_h_now() < end)
    hmq_h_sleep_ms(1);
  kill(pid, sig);
  rc = wait_exit(pid, 10000);
  assert_int_equal(rc, sig == SIGKILL ? 128 + SIGKILL : 0);
  first_lines = lines_of(f, "out");
  assert_true(first_lines > 0);
  /* the bundle's key is mode 0644 (make-pki.sh): hmq says so at start */
  assert_true(file_contains(f, "run1.log", "is world-readable"));

  pid = run_bundle(f, out2, sd2, "", "run2.log");
  end = hmq_h_now() + 30000;
  while (count_ids2(f, "out", sig == SIGKILL ? NULL : out2, k).distinct < k && hmq_h_now() < end)
    hmq_h_sleep_ms(50);
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  t = count_ids2(f, "out", sig == SIGKILL ? NULL : out2, k);
  if (t.distinct != k || t.dup_lines != 0 || t.bad != 0) {
    hmq_h_dump_log(&f->b);
    fail_msg("distinct %ld of %ld, duplicate lines %ld, bad lines %ld (first run: %ld)", t.distinct,
             k, t.dup_lines, t.bad, first_lines);
  }
  return first_lines;
}

/* SIGTERM mid-stream: commit, PUBACKs, DISCONNECT, exit 0; the restart
 * (with no memory of what was written) brings exactly the rest. */
static void test_sigterm_mid_stream_loses_nothing(void **state) {
  long k = 20000, first = interrupted_backlog(*state, SIGTERM, k);
  assert_true(first < k); /* really stopped mid-stream */
}

/* kill -9 mid-stream: the restart neither loses nor repeats an id (the
 * dedupe memory survives the crash). */
static void test_kill9_mid_stream_no_loss_no_repeat(void **state) {
  long k = 20000, first = interrupted_backlog(*state, SIGKILL, k);
  assert_true(first < k);
}

/* --connections 3: three members of the share group (ids -1..-3) feed one
 * output; every message exactly once; --stats prints its line. */
static void test_connections_and_stats(void **state) {
  fixture *f = *state;
  long k = 3000;
  uint64_t end;
  tally t;
  pid_t pid = run_bundle(f, "out", "sd", "--connections 3 --stats 1", "run.log");
  assert_true(wait_contains(f, "run.log", "[" APP "-sandbox-4711-3] subscribed", 10000));
  assert_true(wait_contains(f, "run.log", "[" APP "-sandbox-4711-1] subscribed", 10000));
  assert_true(wait_contains(f, "run.log", "[" APP "-sandbox-4711-2] subscribed", 10000));
  publish(f, 1, k);
  end = hmq_h_now() + 20000;
  while (count_ids(f, "out", k).distinct < k && hmq_h_now() < end)
    hmq_h_sleep_ms(20);
  assert_true(wait_contains(f, "run.log", "received=", 3000));
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  t = count_ids(f, "out", k);
  assert_int_equal(t.distinct, k);
  assert_int_equal(t.dup_lines, 0);
}

/* SIGHUP reopens --out (logrotate: rename, HUP, new file). */
static void test_sighup_reopens_output(void **state) {
  fixture *f = *state;
  char a[400], b[400];
  pid_t pid = start_subscribed(f, "out", "sd", "", "run.log");
  publish(f, 1, 3);
  assert_true(wait_contains(f, "out", "00000003", 10000));
  snprintf(a, sizeof a, "%s/out", f->b.dir);
  snprintf(b, sizeof b, "%s/out.1", f->b.dir);
  assert_int_equal(rename(a, b), 0);
  kill(pid, SIGHUP);
  hmq_h_sleep_ms(300);
  publish(f, 4, 2);
  assert_true(wait_contains(f, "out", "00000005", 10000));
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  assert_int_equal(lines_of(f, "out.1"), 3);
  assert_int_equal(lines_of(f, "out"), 2);
}

/* --exec: lines go to a command's stdin. */
static void test_exec_sink(void **state) {
  fixture *f = *state;
  char extra[600];
  pid_t pid;
  snprintf(extra, sizeof extra, "-C 4 --exec 'cat >> %s/piped'", f->b.dir);
  pid = run_bundle(f, NULL, "sd", extra, "run.log");
  assert_true(wait_contains(f, "run.log", "subscribed to", 10000));
  publish(f, 1, 4);
  assert_int_equal(wait_exit(pid, 15000), 0);
  assert_int_equal(count_ids(f, "piped", 10).distinct, 4);
}

/* Two instances with the same state dir: the second refuses at once
 * (exit 3) with a message naming the problem; the first runs on. */
static void test_second_instance_refused(void **state) {
  fixture *f = *state;
  pid_t a = start_subscribed(f, "out", "sd", "", "a.log");
  pid_t b = run_bundle(f, "out-b", "sd", "", "b.log");
  assert_int_equal(wait_exit(b, 10000), 3);
  assert_true(file_contains(f, "b.log", "already in use by another hmq"));
  publish(f, 1, 2);
  assert_true(wait_contains(f, "out", "00000002", 10000));
  kill(a, SIGTERM);
  assert_int_equal(wait_exit(a, 10000), 0);
}

/* --end-session ends the persistent session: messages queued for it are
 * gone, the next run starts from an empty queue. */
static void test_end_session(void **state) {
  fixture *f = *state;
  pid_t pid = start_subscribed(f, "out", "sd", "-C 3", "run1.log");
  publish(f, 1, 3);
  assert_int_equal(wait_exit(pid, 15000), 0);
  publish(f, 4, 3); /* queued in the (offline) session */
  assert_int_equal(wait_exit(run_bundle(f, NULL, "sd", "--end-session", "end.log"), 15000), 0);
  assert_true(file_contains(f, "end.log", "ended"));
  assert_int_equal(wait_exit(run_bundle(f, "out", "sd", "-W 2", "run2.log"), 15000), 27);
  assert_int_equal(lines_of(f, "out"), 3);
}

/* Exit codes: usage 2, configuration 3 (bad bundle dir, untrusted broker
 * certificate, a dedupe log in the state dir that is not hmq's). */
static void test_exit_codes(void **state) {
  fixture *f = *state;
  char cmd[8192], ca[400];
  int rc;
  snprintf(cmd, sizeof cmd, "exec '%s' -V 311", f->hmq);
  assert_int_equal(wait_exit(spawn(f, cmd, "e1.log"), 5000), 2);
  assert_true(file_contains(f, "e1.log", "-V: '311' is not supported"));
  snprintf(cmd, sizeof cmd, "exec '%s' --bundle '%s/nope'", f->hmq, f->b.dir);
  assert_int_equal(wait_exit(spawn(f, cmd, "e2.log"), 5000), 3);
  snprintf(cmd, sizeof cmd,
           "exec '%s' --bundle '%s' --cafile '%s' --state-dir '%s/sd' --out '%s/o' -C 1", f->hmq,
           f->bundle, hmq_h_pki(&f->b, "other-ca.crt", ca, sizeof ca), f->b.dir, f->b.dir);
  rc = wait_exit(spawn(f, cmd, "e3.log"), 15000);
  if (rc != 3) {
    char p[400];
    snprintf(p, sizeof p, "cat '%s/e3.log' >&2", f->b.dir);
    if (system(p) != 0) {
    }
  }
  assert_int_equal(rc, 3);
  /* another program's file where the dedupe log goes: refused, untouched */
  char sd[400];
  snprintf(sd, sizeof sd, "%s/sd4", f->b.dir);
  assert_int_equal(mkdir(sd, 0700), 0);
  snprintf(cmd, sizeof cmd, "printf 'not ours\\n' > '%s/dedupe.log'", sd);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "exec '%s' --bundle '%s' --state-dir '%s' --out '%s/o4' -C 1", f->hmq,
           f->bundle, sd, f->b.dir);
  assert_int_equal(wait_exit(spawn(f, cmd, "e4.log"), 15000), 3);
  assert_true(file_contains(f, "e4.log", "dedupe.log"));
  snprintf(cmd, sizeof cmd, "grep -qx 'not ours' '%s/dedupe.log'", sd);
  assert_int_equal(system(cmd), 0);
}

/* A CONNACK refusal no retry can fix (0x87 Not authorized from a broker
 * that wants a password) ends hmq with exit 4 and the broker's reason. */
static void test_connack_refusal_exit_4(void **state) {
  fixture *f = *state;
  char conf[400], pw[400], text[800], cmd[1200];
  pid_t broker, pid;
  hmq_h_stop(&f->b);
  snprintf(pw, sizeof pw, "%s/passwords", f->b.dir);
  write_text(pw, "");
  snprintf(conf, sizeof conf, "%s/auth.conf", f->b.dir);
  snprintf(text, sizeof text,
           "user root\nlistener %u 127.0.0.1\nallow_anonymous false\npassword_file %s\n",
           (unsigned)f->b.plain_port, pw);
  write_text(conf, text);
  snprintf(cmd, sizeof cmd, "exec mosquitto -c '%s'", conf);
  broker = spawn(f, cmd, "auth-broker.log");
  hmq_h_sleep_ms(400);
  snprintf(cmd, sizeof cmd,
           "exec '%s' --plain -h 127.0.0.1 -p %u -i " APP "-live-1 -c -t "
           "'$share/" APP "/live/level13/" APP "/#' --state-dir '%s/sd' --out '%s/o'",
           f->hmq, (unsigned)f->b.plain_port, f->b.dir, f->b.dir);
  pid = spawn(f, cmd, "run.log");
  assert_int_equal(wait_exit(pid, 15000), 4);
  assert_true(file_contains(f, "run.log", "0x87") || file_contains(f, "run.log", "0x86"));
  kill(broker, SIGTERM);
  wait_exit(broker, 5000);
}

/* Two hmq with the same client id (different state dirs, so the lock does
 * not catch it) keep taking the session from each other. A broker that
 * sends DISCONNECT 0x8E gets "SESSION TAKEN OVER" (and exit 4 after three);
 * mosquitto 2.0.11 just closes the old connection, which hmq recognises
 * from repeated drops right after CONNACK and reports loudly. Both still
 * stop cleanly on SIGTERM. */
static void test_takeover_reported(void **state) {
  fixture *f = *state;
  pid_t a = start_subscribed(f, "out-a", "sd-a", "", "a.log");
  pid_t b = run_bundle(f, "out-b", "sd-b", "", "b.log");
  uint64_t end = hmq_h_now() + 20000;
  int seen = 0;
  while (!seen && hmq_h_now() < end) {
    seen = file_contains(f, "a.log", "SESSION TAKEN OVER") ||
           file_contains(f, "b.log", "SESSION TAKEN OVER") ||
           file_contains(f, "a.log", "same client id (session takeover)") ||
           file_contains(f, "b.log", "same client id (session takeover)");
    hmq_h_sleep_ms(20);
  }
  assert_true(seen);
  kill(a, SIGTERM);
  kill(b, SIGTERM);
  /* 0, or 4 if one of them had given up on its own */
  assert_true((wait_exit(a, 10000) | 4) == 4);
  assert_true((wait_exit(b, 10000) | 4) == 4);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_snippet_verbatim_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bundle_dir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigterm_mid_stream_loses_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill9_mid_stream_no_loss_no_repeat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_instance_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_end_session, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connections_and_stats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sighup_reopens_output, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exec_sink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connack_refusal_exit_4, setup, teardown),
      cmocka_unit_test_setup_teardown(test_takeover_reported, setup, teardown),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]); /* e.g. "test_sigterm*" */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
