/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the end-to-end tests of the `hmq` program
 * (test_e2e.c, test_e2e_stall.c): a private mosquitto with mutual TLS per
 * test (harness.h), hmq and hmq-sim located beside the test in the build
 * tree, processes in their own process groups (killed at teardown), and
 * output read back as lines. Header-only, `static inline` so each test
 * takes what it uses.
 */
#ifndef HMQ_TEST_E2E_H
#define HMQ_TEST_E2E_H

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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define APP   "879577a3-b25f-4a28-8c0e-7effcc7682a2"
#define TOPIC "sandbox/level13/" APP "/EXV10000000"

typedef struct fixture {
  hmq_h_broker b;
  char hmq[512], sim[512];
  char tls[1200]; /* mutual-TLS connection options for hmq and hmq-sim */
  pid_t kids[16]; /* process groups started by spawn() and not yet reaped */
} fixture;

static fixture *current;

/* ---- text: a buffer split into lines (no '\n') -------------------------- */

typedef struct ln {
  const char *p;
  size_t n;
} ln;

typedef struct text {
  char *buf;
  size_t len, cap;
  ln *v;
  size_t n;
  int partial; /* the last line had no '\n' */
} text;

static inline void text_add(text *t, const char *p, size_t n) {
  if (t->len + n + 1 > t->cap) {
    t->cap = (t->len + n + 1) * 2;
    t->buf = realloc(t->buf, t->cap);
    assert_non_null(t->buf);
  }
  memcpy(t->buf + t->len, p, n);
  t->len += n;
  t->buf[t->len] = '\0';
}

static inline void text_split(text *t) {
  size_t i, start = 0, k = 0;
  free(t->v);
  t->v = calloc(t->len + 1, sizeof *t->v);
  assert_non_null(t->v);
  for (i = 0; i < t->len; i++)
    if (t->buf[i] == '\n') {
      t->v[k].p = t->buf + start;
      t->v[k++].n = i - start;
      start = i + 1;
    }
  t->partial = start < t->len;
  if (t->partial) {
    t->v[k].p = t->buf + start;
    t->v[k++].n = t->len - start;
  }
  t->n = k;
}

static inline void text_free(text *t) {
  free(t->buf);
  free(t->v);
  memset(t, 0, sizeof *t);
}

static inline text load(const fixture *f, const char *name) {
  char path[400], chunk[65536];
  text t = {0};
  size_t n;
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  text_add(&t, "", 0);
  fp = fopen(path, "rb");
  if (fp) {
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
      text_add(&t, chunk, n);
    fclose(fp);
  }
  text_split(&t);
  return t;
}

static inline const char *find(ln s, const char *needle) {
  size_t k = strlen(needle), i;
  for (i = 0; i + k <= s.n; i++)
    if (memcmp(s.p + i, needle, k) == 0)
      return s.p + i;
  return NULL;
}

/* The message_id string of a compact line ({.p = NULL} when none). */
static inline ln id_of(ln s) {
  const char *p = find(s, "\"message_id\":\"");
  ln id = {NULL, 0};
  if (p) {
    id.p = p + 14;
    while (id.p + id.n < s.p + s.n && id.p[id.n] != '"')
      id.n++;
  }
  return id;
}

static inline int ln_cmp(const void *a, const void *b) {
  const ln *x = a, *y = b;
  int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The two lists hold the same lines (as multisets); sorts both. */
static inline void assert_same_lines(const char *what, ln *got, size_t ng, ln *want, size_t nw) {
  size_t i;
  if (ng != nw)
    fail_msg("%s: %zu lines, want %zu", what, ng, nw);
  qsort(got, ng, sizeof *got, ln_cmp);
  qsort(want, nw, sizeof *want, ln_cmp);
  for (i = 0; i < ng; i++)
    if (ln_cmp(&got[i], &want[i]) != 0)
      fail_msg("%s: line %zu differs:\n got  %.300s\n want %.300s", what, i, got[i].p, want[i].p);
}

/* Distinct message_ids among the lines (every line must have one). */
static inline size_t distinct_ids(const text *t) {
  ln *ids = calloc(t->n + 1, sizeof *ids);
  size_t i, d = 0;
  assert_non_null(ids);
  for (i = 0; i < t->n; i++) {
    ids[i] = id_of(t->v[i]);
    if (!ids[i].p)
      fail_msg("line %zu has no message_id: %.200s", i, t->v[i].p);
  }
  qsort(ids, t->n, sizeof *ids, ln_cmp);
  for (i = 0; i < t->n; i++)
    if (i == 0 || ln_cmp(&ids[i - 1], &ids[i]) != 0)
      d++;
  free(ids);
  return d;
}

/* ---- processes ----------------------------------------------------------- */

static inline int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  char ca[300], cert[300], key[300];
  if (!f || hmq_h_setup(&f->b) != 0 || hmq_h_start(&f->b) != 0)
    return -1;
  current = f;
  *state = f;
  assert_int_equal(hmq_h_find_prog("hmq", f->hmq, sizeof f->hmq), 0);
  assert_int_equal(hmq_h_find_prog("hmq-sim", f->sim, sizeof f->sim), 0);
  snprintf(f->tls, sizeof f->tls, "--cafile '%s' --cert '%s' --key '%s' --host localhost --port %u",
           hmq_h_pki(&f->b, "ca.crt", ca, sizeof ca),
           hmq_h_pki(&f->b, "client.crt", cert, sizeof cert),
           hmq_h_pki(&f->b, "client.key", key, sizeof key), (unsigned)f->b.port);
  return 0;
}

static inline int teardown(void **state) {
  fixture *f = *state;
  if (f) {
    /* the whole groups: bash and its hmq */
    hmq_h_kill_all(f->kids, sizeof f->kids / sizeof f->kids[0], true);
    hmq_h_cleanup_or_keep(&f->b);
    free(f);
  }
  current = NULL;
  return 0;
}

/* `bash -c cmd` in its own process group; stdin /dev/null, stdout to out_fd
 * (or the log), stderr appended to <dir>/<log>. */
static inline pid_t spawn(const char *cmd, int out_fd, const char *log) {
  char path[400];
  size_t i;
  pid_t pid;
  snprintf(path, sizeof path, "%s/%s", current->b.dir, log);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600), null = open("/dev/null", O_RDONLY);
    setpgid(0, 0);
    if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out_fd >= 0 ? out_fd : fd, 1) < 0 ||
        dup2(fd, 2) < 0)
      _exit(126);
    execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid);
  for (i = 0; i < sizeof current->kids / sizeof current->kids[0]; i++)
    if (current->kids[i] == 0) {
      current->kids[i] = pid;
      break;
    }
  return pid;
}

/* Exit code, or -1 after killing its group when it outlives timeout_ms. */
static inline int wait_exit(pid_t pid, unsigned timeout_ms) {
  int rc = hmq_h_wait_exit(pid, timeout_ms, true);
  size_t i;
  for (i = 0; i < sizeof current->kids / sizeof current->kids[0]; i++)
    if (current->kids[i] == pid)
      current->kids[i] = 0;
  return rc;
}

/* A pipe whose ends no spawned process inherits except as its stdout. */
static inline void make_pipe(int p[2]) {
  assert_int_equal(pipe(p), 0);
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
}

/* Read fd into t until end of file or the deadline; 1 on end of file. */
static inline int drain(int fd, text *t, uint64_t deadline) {
  char chunk[65536];
  while (hmq_h_now() < deadline) {
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    ssize_t n;
    if (poll(&p, 1, 100) <= 0)
      continue;
    n = read(fd, chunk, sizeof chunk);
    if (n == 0)
      return 1;
    if (n < 0 && errno != EINTR)
      return 0;
    if (n > 0)
      text_add(t, chunk, (size_t)n);
  }
  return 0;
}

static inline size_t occurrences(const fixture *f, const char *log, const char *needle) {
  text t = load(f, log);
  size_t n = 0;
  const char *p;
  for (p = strstr(t.buf, needle); p; p = strstr(p + 1, needle))
    n++;
  text_free(&t);
  return n;
}

/* Wait until <dir>/<log> holds `needle` at least `times` times. */
static inline void wait_log(const fixture *f, const char *log, const char *needle, size_t times,
                            unsigned timeout_ms) {
  uint64_t end = hmq_h_now() + timeout_ms;
  while (occurrences(f, log, needle) < times) {
    if (hmq_h_now() > end) {
      text t = load(f, log);
      hmq_h_dump_log(&f->b);
      fail_msg("%s: no '%s' (x%zu) within %u ms; it says:\n%.2000s", log, needle, times, timeout_ms,
               t.buf);
    }
    hmq_h_sleep_ms(10);
  }
}

/* hmq over mutual TLS in share group `group`, client id <app>-sandbox-<tag>,
 * state dir and stderr log named after the tag; -W 40 bounds it. */
static inline pid_t run_hmq(const fixture *f, const char *tag, const char *group, const char *extra,
                            int out_fd) {
  char cmd[4096], log[64];
  snprintf(cmd, sizeof cmd,
           "exec '%s' %s -V 5 -q 1 -c --id " APP
           "-sandbox-%s --topic '$share/%s/sandbox/level13/" APP
           "/#' --state-dir '%s/sd-%s' -d -W 40 %s",
           f->hmq, f->tls, tag, group, f->b.dir, tag, extra);
  snprintf(log, sizeof log, "%s.log", tag);
  return spawn(cmd, out_fd, log);
}

/* `n` realistic envelopes from hmq-sim, no repeated ids, one per line. */
static inline void sim_write(const fixture *f, const char *name, long n, int seed) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "exec '%s' --write '%s/%s' -n %ld --seed %d --dup-rate 0 --app-id " APP
           " --env sandbox --quiet",
           f->sim, f->b.dir, name, n, seed);
  assert_int_equal(wait_exit(spawn(cmd, -1, "sim.log"), 30000), 0);
}

/* One QoS 1 PUBLISH per line of <dir>/<name> (mosquitto_pub exits 0 only
 * after every PUBACK). */
static inline void publish_file(const fixture *f, const char *name) {
  char cmd[800];
  snprintf(cmd, sizeof cmd,
           "exec mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %u -t '" TOPIC "' -l < '%s/%s'",
           (unsigned)f->b.plain_port, f->b.dir, name);
  assert_int_equal(wait_exit(spawn(cmd, -1, "pub.log"), 60000), 0);
}

/* A persistent session for client <app>-sandbox-<tag> (one short run of
 * hmq joins the share group), then k envelopes queued for it by hmq-sim
 * over mutual TLS (it exits 0 only when the broker acknowledged all). */
static inline void backlog(const fixture *f, const char *tag, long k, int seed) {
  char cmd[2400];
  uint64_t t0;
  assert_int_equal(wait_exit(run_hmq(f, tag, APP, "-W 1 --out /dev/null", -1), 15000), 27);
  t0 = hmq_h_now();
  snprintf(cmd, sizeof cmd,
           "exec '%s' %s -n %ld --seed %d --dup-rate 0 --app-id " APP " --env sandbox --quiet",
           f->sim, f->tls, k, seed);
  assert_int_equal(wait_exit(spawn(cmd, -1, "sim.log"), 90000), 0);
  fprintf(stderr, "%s: %ld envelopes published over mutual TLS in %llu ms\n", tag, k,
          (unsigned long long)(hmq_h_now() - t0));
}

/* The ids in `got` (lines with a message_id) are exactly those hmq-sim
 * sends for this seed and count. Replaces got's lines by their ids. */
static inline void assert_sim_ids(const fixture *f, text *got, long k, int seed) {
  text want;
  size_t i;
  sim_write(f, "want.txt", k, seed);
  want = load(f, "want.txt");
  assert_int_equal(want.n, k);
  assert_int_equal(got->n, k);
  for (i = 0; i < (size_t)k; i++) {
    got->v[i] = id_of(got->v[i]);
    want.v[i] = id_of(want.v[i]);
  }
  assert_same_lines("ids", got->v, got->n, want.v, want.n);
  text_free(&want);
}

/* Whole lines (ending in '\n') in <dir>/<name>. */
static inline size_t whole_lines(const fixture *f, const char *name) {
  text t = load(f, name);
  size_t n = t.n - (t.partial ? 1 : 0);
  text_free(&t);
  return n;
}

/* The broker's view (its log has log_type all): how often it logged
 * "<what> <client> ", e.g. "Received PUBACK from" or "Sending PUBLISH to"
 * for one client id. */
static inline size_t broker_saw(const fixture *f, const char *what, const char *client) {
  char needle[240];
  snprintf(needle, sizeof needle, "%s %s ", what, client);
  return occurrences(f, "mosquitto.log", needle);
}

static inline void append_file(const fixture *f, const char *name, const char *line) {
  char path[400];
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "a");
  assert_non_null(fp);
  fputs(line, fp);
  fclose(fp);
}

static inline void save(const fixture *f, const char *name, const text *t) {
  char path[400];
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(t->buf, 1, t->len, fp), t->len);
  fclose(fp);
}

#endif
