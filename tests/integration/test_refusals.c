/* SPDX-License-Identifier: MIT */
/*
 * The real `hmq` program against a scripted misbehaving server
 * (scripted.h): every permanent reason code in CONNACK, SUBACK and
 * DISCONNECT ends hmq within 5 s with exit 4 and exactly one stderr line
 * naming the code, its meaning, the server's Reason String and User
 * Property; a CONNACK that rules the subscription out (Shared / Wildcard
 * Subscription Available 0, Maximum QoS 0) does too, before any SUBSCRIBE;
 * every transient code is retried; a server that drops each connection
 * right after CONNACK (or after the first PUBLISH) sees few attempts, and
 * --stats counts them; "giving up" is the last line.
 *
 * Cases run in small concurrent batches, each with its own server, state
 * directory and log, under one temp dir that is removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scripted.h"

#define APP       "879577a3-b25f-4a28-8c0e-7effcc7682a2"
#define HM_TOPIC  "$share/" APP "/sandbox/level13/" APP "/#"
#define BATCH     4
#define CASE_MS   5000u /* a permanent refusal must end hmq within this */
#define RUNNING   (-100)
#define NO_SERVER (-101)

typedef struct rcase {
  hmq_h_srv s;
  char label[64];
  char topic[160];
  char dir[300];
  uint8_t kind, code; /* scripted refusal */
  bool transient;     /* retried: SIGTERM once the server saw a second CONNECT */
  char stats[8];      /* "--stats" seconds, "" for none */
  pid_t pid;
  int exit_code;
  uint64_t started, ended;
  /* the server's Reason String and User Property for this case */
  char rs[64], key[16], val[16];
  hmq_user_prop up;
  hmq_props props;
  uint8_t after[256];
} rcase;

static char top[64];  /* temp dir of this run */
static char hmq[512]; /* the program */

static int setup(void **state) {
  (void)state;
  snprintf(top, sizeof top, "/tmp/hmq-refusals-XXXXXX");
  if (!mkdtemp(top))
    return -1;
  return hmq_h_find_prog("hmq", hmq, sizeof hmq);
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  if (getenv("HMQ_IT_KEEP")) {
    fprintf(stderr, "kept %s\n", top);
    return 0;
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
  return system(cmd) == 0 ? 0 : -1;
}

/* A case with the server's texts filled in; the caller scripts the rest. */
static void case_init(rcase *c, size_t i, const char *label, const char *topic) {
  memset(c, 0, sizeof *c);
  hmq_h_srv_open(&c->s);
  snprintf(c->label, sizeof c->label, "%s", label);
  snprintf(c->topic, sizeof c->topic, "%s", topic);
  snprintf(c->dir, sizeof c->dir, "%s/c%zu", top, i);
  mkdir(c->dir, 0700);
  snprintf(c->rs, sizeof c->rs, "scripted %s", label);
  snprintf(c->key, sizeof c->key, "case");
  snprintf(c->val, sizeof c->val, "n%zu", i);
  c->up.key = hmq_str_c(c->key);
  c->up.value = hmq_str_c(c->val);
  c->props.present = HMQ_PROP_BIT(HMQ_PROP_REASON_STRING) | HMQ_PROP_BIT(HMQ_PROP_USER);
  c->props.reason_string = hmq_str_c(c->rs);
  c->props.user = &c->up;
  c->props.user_count = 1;
  c->pid = 0;
  c->exit_code = NO_SERVER;
}

/* Script reason `code` of packet `type` with this case's texts. */
static void script(rcase *c, uint8_t type, uint8_t code) {
  c->kind = type;
  c->code = code;
  switch (type) {
  case HMQ_PKT_CONNACK:
    c->s.connack.reason = code;
    c->s.connack.props = c->props;
    break;
  case HMQ_PKT_SUBACK:
    c->s.suback_reason = code;
    c->s.suback_props = c->props;
    break;
  default: /* DISCONNECT in answer to SUBSCRIBE (ejabberd does so for $share) */
    c->s.no_suback = true;
    c->s.bad = c->after;
    c->s.bad_len = hmq_h_srv_disconnect(c->after, sizeof c->after, code, &c->props);
    c->s.close_after_bad = true;
    break;
  }
}

static void start(rcase *c, size_t i) {
  char port[8], id[64], sd[340], out[340], log[340];
  snprintf(port, sizeof port, "%u", (unsigned)c->s.port);
  snprintf(id, sizeof id, APP "-sandbox-%zu", i);
  snprintf(sd, sizeof sd, "%s/sd", c->dir);
  snprintf(out, sizeof out, "%s/out", c->dir);
  snprintf(log, sizeof log, "%s/err.log", c->dir);
  c->started = hmq_h_now();
  c->pid = fork();
  assert_true(c->pid >= 0);
  if (c->pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDWR);
    if (fd < 0 || nul < 0 || dup2(fd, 2) < 0 || dup2(nul, 1) < 0 || dup2(nul, 0) < 0)
      _exit(126);
    if (c->stats[0])
      execl(hmq, hmq, "--plain", "-h", "127.0.0.1", "-p", port, "-i", id, "-c", "-t", c->topic,
            "--state-dir", sd, "--out", out, "--stats", c->stats, (char *)NULL);
    else
      execl(hmq, hmq, "--plain", "-h", "127.0.0.1", "-p", port, "-i", id, "-c", "-t", c->topic,
            "--state-dir", sd, "--out", out, (char *)NULL);
    _exit(127);
  }
  c->exit_code = RUNNING;
}

/* Serve cases [0, n) until each hmq exited (transient ones get SIGTERM
 * after their second CONNECT; cases with run_ms > 0 after that long),
 * each bounded by limit_ms. */
static void run(rcase *cs, size_t n, unsigned run_ms, unsigned limit_ms) {
  for (size_t b = 0; b < n; b += BATCH) {
    size_t e = b + BATCH < n ? b + BATCH : n, left = e - b;
    for (size_t i = b; i < e; i++)
      start(&cs[i], i);
    while (left > 0) {
      uint64_t now = hmq_h_now();
      for (size_t i = b; i < e; i++) {
        rcase *c = &cs[i];
        int st;
        if (c->exit_code != RUNNING)
          continue;
        int before = c->s.connects;
        hmq_h_srv_service(&c->s);
        if (getenv("HMQ_IT_TIMES") && c->s.connects != before)
          fprintf(stderr, "  %s: CONNECT %d at %llu ms\n", c->label, c->s.connects,
                  (unsigned long long)(now - c->started));
        if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
          c->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          c->ended = hmq_h_now();
          c->pid = 0;
          left--;
          continue;
        }
        bool term = run_ms ? now >= c->started + run_ms : c->transient && c->s.connects >= 2;
        if (term)
          kill(c->pid, SIGTERM);
        if (now > c->started + limit_ms + (run_ms ? run_ms : 0u)) {
          hmq_h_kill_all(&c->pid, 1, false); /* hung: reaped, reported below */
          c->exit_code = -1;
          c->ended = hmq_h_now();
          left--;
        }
      }
      poll(NULL, 0, 2);
    }
  }
}

/* The case's stderr, and its number of lines. */
static int read_log(const rcase *c, char *buf, size_t cap) {
  char path[340];
  snprintf(path, sizeof path, "%s/err.log", c->dir);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  int lines = 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  for (size_t i = 0; i < n; i++)
    lines += buf[i] == '\n';
  return lines;
}

static void free_cases(rcase *cs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    hmq_h_kill_all(&cs[i].pid, 1, false);
    hmq_h_srv_free(&cs[i].s);
  }
  free(cs);
}

/* One clear line, exit 4, in time, no retry. want1/want2 must be in it. */
static int check_permanent(const rcase *c, const char *want1, const char *want2) {
  char log[4096];
  int lines = read_log(c, log, sizeof log);
  int ok = c->exit_code == 4 && c->ended - c->started <= CASE_MS && lines == 1 &&
           c->s.connects == 1 && strstr(log, want1) && strstr(log, want2) &&
           strstr(log, "giving up");
  if (!ok)
    fprintf(stderr, "FAILED %s: exit %d after %llu ms, %d connects, %d lines:\n%s", c->label,
            c->exit_code, (unsigned long long)(c->ended - c->started), c->s.connects, lines, log);
  return ok;
}

static const uint8_t kinds[3] = {HMQ_PKT_CONNACK, HMQ_PKT_SUBACK, HMQ_PKT_DISCONNECT};
static const char *const kind_names[3] = {"CONNACK", "SUBACK", "DISCONNECT"};

/* Cases for every code of the three packets that the table puts in class
 * `want`; returns how many. */
static size_t make_code_cases(rcase **out, hmq_refusal want) {
  rcase *cs = calloc(3 * 256, sizeof *cs);
  size_t n = 0;
  assert_non_null(cs);
  for (int k = 0; k < 3; k++)
    for (unsigned r = 0x80; r < 256; r++) {
      char label[64];
      if (hmq_link_refusal(kinds[k], (uint8_t)r) != want)
        continue;
      snprintf(label, sizeof label, "%s 0x%02X", kind_names[k], r);
      case_init(&cs[n], n, label, HM_TOPIC);
      script(&cs[n], kinds[k], (uint8_t)r);
      cs[n].transient = want == HMQ_REFUSAL_TRANSIENT;
      n++;
    }
  *out = cs;
  return n;
}

static void test_every_permanent_code_one_line_exit_4_within_5s(void **state) {
  (void)state;
  rcase *cs;
  size_t n = make_code_cases(&cs, HMQ_REFUSAL_PERMANENT), bad = 0;
  assert_true(n >= 30); /* 14 CONNACK + 6 SUBACK + 11 DISCONNECT today */
  run(cs, n, 0, CASE_MS + 2000);
  for (size_t i = 0; i < n; i++) {
    char val[32];
    snprintf(val, sizeof val, "case=%s", cs[i].val);
    bad += !check_permanent(&cs[i], hmq_reason_str(cs[i].kind, cs[i].code), cs[i].rs) ||
           !check_permanent(&cs[i], cs[i].label, val);
  }
  fprintf(stderr, "  %zu permanent codes, %zu failed\n", n, bad);
  free_cases(cs, n);
  assert_int_equal(bad, 0);
}

static void test_every_transient_code_is_retried(void **state) {
  (void)state;
  rcase *cs;
  size_t n = make_code_cases(&cs, HMQ_REFUSAL_TRANSIENT), bad = 0;
  assert_true(n >= 25);
  run(cs, n, 0, CASE_MS);
  for (size_t i = 0; i < n; i++) {
    char log[4096];
    read_log(&cs[i], log, sizeof log);
    if (cs[i].exit_code != 0 || cs[i].s.connects < 2 || !strstr(log, cs[i].rs)) {
      fprintf(stderr, "FAILED %s: exit %d, %d connects:\n%s", cs[i].label, cs[i].exit_code,
              cs[i].s.connects, log);
      bad++;
    }
  }
  fprintf(stderr, "  %zu transient codes, %zu failed\n", n, bad);
  free_cases(cs, n);
  assert_int_equal(bad, 0);
}

/* The accepted CONNACK already says the subscription cannot work: one
 * line naming filter and property, exit 4, and no SUBSCRIBE sent. */
static void test_connack_rules_out_subscription_before_subscribe(void **state) {
  (void)state;
  rcase *cs = calloc(3, sizeof *cs);
  size_t bad = 0;
  assert_non_null(cs);
  case_init(&cs[0], 0, "shared unavailable", HM_TOPIC);
  cs[0].s.connack.props.present = HMQ_PROP_BIT(HMQ_PROP_SHARED_SUB_AVAILABLE);
  case_init(&cs[1], 1, "wildcard unavailable", HM_TOPIC);
  cs[1].s.connack.props.present = HMQ_PROP_BIT(HMQ_PROP_WILDCARD_SUB_AVAILABLE);
  case_init(&cs[2], 2, "maximum qos 0", HM_TOPIC);
  cs[2].s.connack.props.present = HMQ_PROP_BIT(HMQ_PROP_MAX_QOS); /* value 0 */
  static const char *const want[3] = {"Shared Subscription Available 0",
                                      "Wildcard Subscription Available 0",
                                      "asks QoS 1 and the server's CONNACK says Maximum QoS 0"};
  run(cs, 3, 0, CASE_MS + 2000);
  for (size_t i = 0; i < 3; i++) {
    char quoted[200];
    snprintf(quoted, sizeof quoted, "'%s'", cs[i].topic);
    bad += !check_permanent(&cs[i], want[i], quoted);
    if (cs[i].s.subscribes != 0) {
      fprintf(stderr, "FAILED %s: %d SUBSCRIBE sent\n", cs[i].label, cs[i].s.subscribes);
      bad++;
    }
  }
  free_cases(cs, 3);
  assert_int_equal(bad, 0);
}

/* Value of the last "attempts=N" in a log, -1 when none. */
static long last_attempts(const char *log) {
  const char *p = log, *q;
  long v = -1;
  while ((q = strstr(p, " attempts=")) != NULL) {
    v = strtol(q + 10, NULL, 10);
    p = q + 1;
  }
  return v;
}

/* Servers that accept and drop at once (after CONNACK; after the first
 * PUBLISH). In 8 s the backoff floor (250, 500, 1000, 2000, 4000 ms …)
 * allows at most 6 attempts (the unit test test_backoff shows the 60 s
 * bound over 20000 seeds: at most 9); before, each CONNACK reset it and
 * such a server saw one every 0-500 ms. --stats counts the attempts. */
static void test_drop_after_connack_few_attempts_counted(void **state) {
  (void)state;
  rcase *cs = calloc(2, sizeof *cs);
  uint8_t pub[160];
  size_t publen = 0, bad = 0;
  hmq_publish p;
  assert_non_null(cs);
  case_init(&cs[0], 0, "drop after CONNACK", HM_TOPIC);
  cs[0].s.drop_after_connack = true;
  case_init(&cs[1], 1, "drop after first PUBLISH", HM_TOPIC);
  memset(&p, 0, sizeof p);
  p.qos = 1;
  p.packet_id = 1;
  p.topic = hmq_str_c("sandbox/level13/" APP "/EXV10000000");
  p.payload.ptr = (const uint8_t *)"{\"message_id\":\"m1\"}";
  p.payload.len = strlen((const char *)p.payload.ptr);
  assert_int_equal(hmq_encode_publish(pub, sizeof pub, &p, &publen), HMQ_OK);
  cs[1].s.bad = pub;
  cs[1].s.bad_len = publen;
  cs[1].s.close_after_bad = true;
  for (int i = 0; i < 2; i++)
    snprintf(cs[i].stats, sizeof cs[i].stats, "1");
  run(cs, 2, 8000, CASE_MS);
  for (int i = 0; i < 2; i++) {
    char log[16384];
    read_log(&cs[i], log, sizeof log);
    long att = last_attempts(log);
    fprintf(stderr, "  %s: %d connections in 8 s, last stats attempts=%ld\n", cs[i].label,
            cs[i].s.accepts, att);
    if (cs[i].exit_code != 0 || cs[i].s.accepts < 3 || cs[i].s.accepts > 6 ||
        att < cs[i].s.accepts - 1 || att > cs[i].s.accepts) {
      fprintf(stderr, "FAILED %s: exit %d\n%s", cs[i].label, cs[i].exit_code, log);
      bad++;
    }
  }
  free_cases(cs, 2);
  assert_int_equal(bad, 0);
}

/* Three takeovers (DISCONNECT 0x8E): hmq gives up, and that is its last
 * line (it used to print "reconnecting" after it). */
static void test_giving_up_is_the_last_line(void **state) {
  (void)state;
  rcase *cs = calloc(1, sizeof *cs);
  char log[8192];
  assert_non_null(cs);
  case_init(&cs[0], 0, "takeover", HM_TOPIC);
  script(&cs[0], HMQ_PKT_DISCONNECT, 0x8E);
  run(cs, 1, 0, 10000);
  read_log(&cs[0], log, sizeof log);
  fprintf(stderr, "%s", log);
  char *last = log + strlen(log);
  if (last > log)
    last--; /* the final newline */
  while (last > log && last[-1] != '\n')
    last--;
  assert_int_equal(cs[0].exit_code, 4);
  assert_int_equal(cs[0].s.connects, 3);
  assert_non_null(strstr(last, "giving up"));
  assert_null(strstr(last, "reconnecting"));
  free_cases(cs, 1);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_permanent_code_one_line_exit_4_within_5s),
      cmocka_unit_test(test_connack_rules_out_subscription_before_subscribe),
      cmocka_unit_test(test_every_transient_code_is_retried),
      cmocka_unit_test(test_drop_after_connack_few_attempts_counted),
      cmocka_unit_test(test_giving_up_is_the_last_line),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, setup, teardown);
}
