/*
 * End-to-end tests of the real `hmq` program against a private mosquitto
 * with mutual TLS (harness.h), fed with realistic envelopes from hmq-sim:
 *
 *  - every --format (envelope, flat, raw) on the same published set:
 *    envelope lines are the payloads compacted, raw lines the payloads byte
 *    for byte, flat has one line per entry of each payload;
 *  - every sink (stdout through High Mobility's snippet run by bash, --out,
 *    --exec) receives the same lines;
 *  - repeated message_ids spanning a broker restart: each id once in the
 *    output, and the --stats counters agree exactly;
 *  - a stdout pipe nobody reads while 20,000 envelopes (~1.3 KB) are queued:
 *    hmq's resident memory stays bounded, and after draining all arrive.
 *
 * Every test starts its own broker (fresh data dir), puts each process it
 * starts in its own process group and kills what is left at teardown.
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

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

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

static void text_add(text *t, const char *p, size_t n) {
  if (t->len + n + 1 > t->cap) {
    t->cap = (t->len + n + 1) * 2;
    t->buf = realloc(t->buf, t->cap);
    assert_non_null(t->buf);
  }
  memcpy(t->buf + t->len, p, n);
  t->len += n;
  t->buf[t->len] = '\0';
}

static void text_split(text *t) {
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

static void text_free(text *t) {
  free(t->buf);
  free(t->v);
  memset(t, 0, sizeof *t);
}

static text load(const fixture *f, const char *name) {
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

static const char *find(ln s, const char *needle) {
  size_t k = strlen(needle), i;
  for (i = 0; i + k <= s.n; i++)
    if (memcmp(s.p + i, needle, k) == 0)
      return s.p + i;
  return NULL;
}

/* The message_id string of a compact line ({.p = NULL} when none). */
static ln id_of(ln s) {
  const char *p = find(s, "\"message_id\":\"");
  ln id = {NULL, 0};
  if (p) {
    id.p = p + 14;
    while (id.p + id.n < s.p + s.n && id.p[id.n] != '"')
      id.n++;
  }
  return id;
}

static int ln_cmp(const void *a, const void *b) {
  const ln *x = a, *y = b;
  int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The two lists hold the same lines (as multisets); sorts both. */
static void assert_same_lines(const char *what, ln *got, size_t ng, ln *want, size_t nw) {
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
static size_t distinct_ids(const text *t) {
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

/* The payload without insignificant whitespace (RFC 8259 section 2: space,
 * tab, CR, LF between tokens), appended to out. Written here, independent of
 * the library's compactor, as the reference. */
static void strip_ws(ln s, text *out) {
  int in_str = 0, esc = 0;
  size_t i;
  for (i = 0; i < s.n; i++) {
    char c = s.p[i];
    if (in_str) {
      in_str = esc || c != '"';
      esc = !esc && c == '\\';
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    } else {
      in_str = c == '"';
    }
    text_add(out, &c, 1);
  }
  text_add(out, "\n", 1);
}

/* Entries of an envelope: objects directly inside the arrays of
 * data.<capability>.<property>. A small scanner of our own, so the flat
 * output is checked against something other than the library's walker. */
static size_t entries_of(ln s) {
  char stack[64];
  size_t depth = 0, n = 0, i, ks = 0, ke = 0;
  int in_str = 0, esc = 0, in_data = 0;
  for (i = 0; i < s.n; i++) {
    char c = s.p[i];
    if (in_str) {
      if (!esc && c == '"') {
        in_str = 0;
        ke = i;
      }
      esc = !esc && c == '\\';
      continue;
    }
    if (c == '"') {
      in_str = 1;
      if (depth == 1)
        ks = i + 1;
    } else if (c == '{' || c == '[') {
      if (depth == 1)
        in_data = ke == ks + 4 && memcmp(s.p + ks, "data", 4) == 0;
      if (c == '{' && depth == 4 && stack[3] == '[' && in_data)
        n++;
      assert_true(depth < sizeof stack);
      stack[depth++] = c;
    } else if (c == '}' || c == ']') {
      assert_true(depth > 0);
      depth--;
    }
  }
  return n;
}

/* ---- processes ----------------------------------------------------------- */

static void find_prog(const char *name, char *out, size_t cap) {
  char exe[400];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = '\0';
  *strrchr(exe, '/') = '\0'; /* the programs sit two levels above this test */
  snprintf(out, cap, "%.380s/../../%s", exe, name);
  assert_int_equal(access(out, X_OK), 0);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  char ca[300], cert[300], key[300];
  if (!f || hmq_h_setup(&f->b) != 0 || hmq_h_start(&f->b) != 0)
    return -1;
  current = f;
  *state = f;
  find_prog("hmq", f->hmq, sizeof f->hmq);
  find_prog("hmq-sim", f->sim, sizeof f->sim);
  snprintf(f->tls, sizeof f->tls, "--cafile '%s' --cert '%s' --key '%s' --host localhost --port %u",
           hmq_h_pki(&f->b, "ca.crt", ca, sizeof ca),
           hmq_h_pki(&f->b, "client.crt", cert, sizeof cert),
           hmq_h_pki(&f->b, "client.key", key, sizeof key), (unsigned)f->b.port);
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  size_t i;
  if (f) {
    for (i = 0; i < sizeof f->kids / sizeof f->kids[0]; i++)
      if (f->kids[i] > 0) {
        int st;
        kill(-f->kids[i], SIGKILL); /* the whole group: bash and its hmq */
        waitpid(f->kids[i], &st, 0);
      }
    if (getenv("HMQ_IT_KEEP")) {
      fprintf(stderr, "keeping %s\n", f->b.dir);
      hmq_h_stop(&f->b);
      f->b.dir[0] = '\0';
    }
    hmq_h_cleanup(&f->b);
    free(f);
  }
  current = NULL;
  return 0;
}

/* `bash -c cmd` in its own process group; stdin /dev/null, stdout to out_fd
 * (or the log), stderr appended to <dir>/<log>. */
static pid_t spawn(const char *cmd, int out_fd, const char *log) {
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
static int wait_exit(pid_t pid, unsigned timeout_ms) {
  uint64_t end = hmq_h_now() + timeout_ms;
  int status, rc;
  size_t i;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (r < 0 || hmq_h_now() > end) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      rc = -1;
      break;
    }
    sleep_ms(5);
  }
  for (i = 0; i < sizeof current->kids / sizeof current->kids[0]; i++)
    if (current->kids[i] == pid)
      current->kids[i] = 0;
  return rc;
}

/* A pipe whose ends no spawned process inherits except as its stdout. */
static void make_pipe(int p[2]) {
  assert_int_equal(pipe(p), 0);
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
}

/* Read fd into t until end of file or the deadline; 1 on end of file. */
static int drain(int fd, text *t, uint64_t deadline) {
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

static size_t occurrences(const fixture *f, const char *log, const char *needle) {
  text t = load(f, log);
  size_t n = 0;
  const char *p;
  for (p = strstr(t.buf, needle); p; p = strstr(p + 1, needle))
    n++;
  text_free(&t);
  return n;
}

/* Wait until <dir>/<log> holds `needle` at least `times` times. */
static void wait_log(const fixture *f, const char *log, const char *needle, size_t times,
                     unsigned timeout_ms) {
  uint64_t end = hmq_h_now() + timeout_ms;
  while (occurrences(f, log, needle) < times) {
    if (hmq_h_now() > end) {
      text t = load(f, log);
      hmq_h_dump_log(&f->b);
      fail_msg("%s: no '%s' (x%zu) within %u ms; it says:\n%.2000s", log, needle, times, timeout_ms,
               t.buf);
    }
    sleep_ms(10);
  }
}

/* hmq over mutual TLS in share group `group`, client id <app>-sandbox-<tag>,
 * state dir and stderr log named after the tag; -W 40 bounds it. */
static pid_t run_hmq(const fixture *f, const char *tag, const char *group, const char *extra,
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
static void sim_write(const fixture *f, const char *name, long n, int seed) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "exec '%s' --write '%s/%s' -n %ld --seed %d --dup-rate 0 --app-id " APP
           " --env sandbox --quiet",
           f->sim, f->b.dir, name, n, seed);
  assert_int_equal(wait_exit(spawn(cmd, -1, "sim.log"), 30000), 0);
}

/* One QoS 1 PUBLISH per line of <dir>/<name> (mosquitto_pub exits 0 only
 * after every PUBACK). */
static void publish_file(const fixture *f, const char *name) {
  char cmd[800];
  snprintf(cmd, sizeof cmd,
           "exec mosquitto_pub -V 5 -q 1 -h 127.0.0.1 -p %u -t '" TOPIC "' -l < '%s/%s'",
           (unsigned)f->b.plain_port, f->b.dir, name);
  assert_int_equal(wait_exit(spawn(cmd, -1, "pub.log"), 60000), 0);
}

static void append_file(const fixture *f, const char *name, const char *line) {
  char path[400];
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "a");
  assert_non_null(fp);
  fputs(line, fp);
  fclose(fp);
}

/* Hand-written, with insignificant whitespace (spaces, tabs), version 3, an
 * unknown top-level key, a multi-valued property and a failure entry. */
static const char ws_payload[] =
    "{ \"version\" : 3 ,\t\"application_id\": \"" APP "\", \"message_id\" : \"E2E-WHITESPACE-1\","
    " \"vin\":\t\"EXV10000000\", \"extra\": { \"note\" : \"kept as is\" }, \"data\": {"
    " \"diagnostics\": { \"tire_pressures\": [ {\"data\": {\"location\": \"front_left\", "
    "\"pressure\": {\"unit\": \"kilopascals\", \"value\": 240}}, \"timestamp\": "
    "\"2025-08-12T16:07:48Z\"},\t{\"data\": {\"location\": \"rear_left\", \"pressure\": "
    "{\"unit\": \"kilopascals\", \"value\": 238.5}}, \"timestamp\": \"2025-08-12T16:07:48.000Z\"}"
    " ] }, \"vehicle_location\": { \"coordinates\": [ { \"failure\": { \"reason\": "
    "\"privacy_mode_active\", \"description\": \"privacy mode is on\" }, \"timestamp\": "
    "\"2025-08-12T16:07:49.648943Z\" } ] } } }\n";

/* 300 hmq-sim envelopes plus the whitespace one, read by three hmq at once
 * (one share group each, so each gets every message) with -C 301. */
static void test_formats_end_to_end(void **state) {
  fixture *f = *state;
  static const char *const fmt[3] = {"envelope", "flat", "raw"};
  const long k = 301;
  text pub, want = {0}, out[3];
  size_t i, j, entries = 0;
  pid_t pid[3];
  char extra[600];
  sim_write(f, "pub.txt", k - 1, 1);
  append_file(f, "pub.txt", ws_payload);
  pub = load(f, "pub.txt");
  assert_int_equal(pub.n, k);
  assert_false(pub.partial);
  for (i = 0; i < 3; i++) {
    snprintf(extra, sizeof extra, "--format %s -C %ld --out '%s/out-%s'", fmt[i], k, f->b.dir,
             fmt[i]);
    pid[i] = run_hmq(f, fmt[i], fmt[i], extra, -1);
  }
  for (i = 0; i < 3; i++) {
    char log[64];
    snprintf(log, sizeof log, "%s.log", fmt[i]);
    wait_log(f, log, "subscribed to", 1, 10000);
  }
  publish_file(f, "pub.txt");
  for (i = 0; i < 3; i++)
    assert_int_equal(wait_exit(pid[i], 30000), 0);
  out[0] = load(f, "out-envelope");
  out[1] = load(f, "out-flat");
  out[2] = load(f, "out-raw");
  for (i = 0; i < 3; i++)
    assert_false(out[i].partial);

  /* raw: the payloads byte for byte */
  assert_same_lines("raw", out[2].v, out[2].n, pub.v, pub.n);

  /* envelope: each payload without its insignificant whitespace, so the
   * message_ids are exactly the published set */
  text_add(&want, "", 0);
  for (i = 0; i < pub.n; i++)
    strip_ws(pub.v[i], &want);
  text_split(&want);
  assert_int_equal(distinct_ids(&want), k);
  assert_int_equal(distinct_ids(&out[0]), k);
  assert_same_lines("envelope", out[0].v, out[0].n, want.v, want.n);

  /* flat: each message's id once per entry of its payload */
  {
    ln *ids = calloc(1, sizeof *ids), *got;
    size_t n = 0;
    text_split(&want); /* unsorted again: lines in payload order */
    for (i = 0; i < want.n; i++) {
      size_t e = entries_of(want.v[i]);
      ids = realloc(ids, (n + e + 1) * sizeof *ids);
      assert_non_null(ids);
      for (j = 0; j < e; j++)
        ids[n++] = id_of(want.v[i]);
      entries += e;
    }
    assert_int_equal(entries_of((ln){ws_payload, sizeof ws_payload - 1}), 3);
    got = calloc(out[1].n + 1, sizeof *got);
    assert_non_null(got);
    for (i = 0; i < out[1].n; i++) {
      got[i] = id_of(out[1].v[i]);
      assert_non_null(got[i].p);
      assert_non_null(find(out[1].v[i], "\"capability\":\""));
    }
    assert_same_lines("flat ids", got, out[1].n, ids, n);
    free(ids);
    free(got);
  }
  fprintf(stderr, "formats: %ld messages, %zu flat entries, %zu raw bytes\n", k, entries, pub.len);
  for (i = 0; i < 3; i++)
    text_free(&out[i]);
  text_free(&want);
  text_free(&pub);
}

/* High Mobility's snippet.txt as downloaded (multi-line, single quotes,
 * $share), mosquitto_sub replaced by the path of hmq, -C appended, run by
 * bash with stdout into a pipe; --out and --exec (other share groups) at
 * the same time: all three get the same lines. */
static void test_every_sink_same_lines(void **state) {
  fixture *f = *state;
  const long k = 200;
  static const char *const files[][2] = {
      {"ca.crt", "ca_crt.pem"}, {"client.crt", "client_crt.pem"}, {"client.key", "client_key.pem"}};
  char dir[300], from[400], cmd[2400], extra[600];
  text pub, so = {0}, fo, eo;
  pid_t ps, pf, pe;
  int p[2];
  size_t i;
  sim_write(f, "pub.txt", k, 2);
  pub = load(f, "pub.txt");
  assert_int_equal(pub.n, k);

  snprintf(dir, sizeof dir, "%s/bundle", f->b.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  for (i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", hmq_h_pki(&f->b, files[i][0], from, sizeof from),
             dir, files[i][1]);
    assert_int_equal(system(cmd), 0);
  }
  snprintf(cmd, sizeof cmd,
           "'%s' \\\n"
           "              --cafile ca_crt.pem \\\n"
           "              --cert client_crt.pem \\\n"
           "              --key client_key.pem\\\n"
           "              --host localhost \\\n"
           "              --port %u \\\n"
           "              --qos 1 \\\n"
           "              -V 5 \\\n"
           "              --id '" APP "-sandbox-4711' \\\n"
           "              --disable-clean-session \\\n"
           "              --topic '$share/" APP "/sandbox/level13/" APP "#'"
           " -C %ld --state-dir '%s/sd-stdout' -d -W 40\n"
           "        \n",
           f->hmq, (unsigned)f->b.port, k, f->b.dir);
  append_file(f, "bundle/snippet-hmq.txt", cmd);

  make_pipe(p);
  snprintf(cmd, sizeof cmd, "cd '%s' && bash snippet-hmq.txt", dir);
  ps = spawn(cmd, p[1], "stdout.log");
  close(p[1]);
  snprintf(extra, sizeof extra, "-C %ld --out '%s/out-file'", k, f->b.dir);
  pf = run_hmq(f, "file", "gfile", extra, -1);
  snprintf(extra, sizeof extra, "-C %ld --exec 'cat > \"%s/out-exec\"'", k, f->b.dir);
  pe = run_hmq(f, "exec", "gexec", extra, -1);
  wait_log(f, "stdout.log", "subscribed to", 1, 10000);
  wait_log(f, "file.log", "subscribed to", 1, 10000);
  wait_log(f, "exec.log", "subscribed to", 1, 10000);
  publish_file(f, "pub.txt");

  text_add(&so, "", 0);
  assert_true(drain(p[0], &so, hmq_h_now() + 30000));
  close(p[0]);
  assert_int_equal(wait_exit(ps, 10000), 0);
  assert_int_equal(wait_exit(pf, 30000), 0);
  assert_int_equal(wait_exit(pe, 30000), 0);
  text_split(&so);
  fo = load(f, "out-file");
  eo = load(f, "out-exec");
  assert_false(so.partial || fo.partial || eo.partial);
  /* hmq-sim writes compact envelopes: compacted they are unchanged */
  assert_same_lines("stdout", so.v, so.n, pub.v, pub.n);
  assert_same_lines("--out", fo.v, fo.n, pub.v, pub.n);
  assert_same_lines("--exec", eo.v, eo.n, pub.v, pub.n);
  assert_int_equal(distinct_ids(&so), k);
  text_free(&so);
  text_free(&fo);
  text_free(&eo);
  text_free(&pub);
}

static void envelope_line(text *t, const char *id, int value) {
  char b[512];
  snprintf(
      b, sizeof b,
      "{\"version\":2,\"application_id\":\"" APP "\",\"message_id\":\"%s\",\"vin\":"
      "\"EXV10000000\",\"data\":{\"diagnostics\":{\"speed\":[{\"data\":{\"unit\":"
      "\"kilometers_per_hour\",\"value\":%d},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}\n",
      id, value);
  text_add(t, b, strlen(b));
}

static void save(const fixture *f, const char *name, const text *t) {
  char path[400];
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->b.dir, name);
  fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(t->buf, 1, t->len, fp), t->len);
  fclose(fp);
}

/* Distinct ids in the output file. */
static size_t out_distinct(const fixture *f, const char *name) {
  text t = load(f, name);
  size_t d = distinct_ids(&t);
  text_free(&t);
  return d;
}

/* Batch A: D000..D099, then D000..D009 again (same payload) and D010..D019
 * again (other payload). Broker restart (SIGTERM, persistence) while hmq
 * runs; once hmq subscribed again, batch B: D100..D149, D020..D029 again
 * (other payload), D100..D104 again. 185 publishes, 150 ids, 35 repeats. */
static void test_dedupe_across_broker_restart(void **state) {
  fixture *f = *state;
  text a = {0}, b = {0}, o;
  char id[16], extra[600], stats[200];
  uint64_t end;
  pid_t pid;
  int i;
  text_add(&a, "", 0);
  text_add(&b, "", 0);
  for (i = 0; i < 100; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&a, id, i);
  }
  for (i = 0; i < 20; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&a, id, i < 10 ? i : 1000 + i);
  }
  for (i = 100; i < 150; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&b, id, i);
  }
  for (i = 20; i < 30; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&b, id, 1000 + i);
  }
  for (i = 100; i < 105; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&b, id, i);
  }
  save(f, "a.txt", &a);
  save(f, "b.txt", &b);

  snprintf(extra, sizeof extra, "--out '%s/out' --stats 1", f->b.dir);
  pid = run_hmq(f, "dd", APP, extra, -1);
  wait_log(f, "dd.log", "subscribed to", 1, 10000);
  publish_file(f, "a.txt");
  end = hmq_h_now() + 10000;
  while (out_distinct(f, "out") < 100 && hmq_h_now() < end)
    sleep_ms(20);
  assert_int_equal(out_distinct(f, "out"), 100);
  sleep_ms(300); /* the PUBACKs of the last commit reach the broker */

  assert_int_equal(hmq_h_stop(&f->b), 0);
  assert_int_equal(hmq_h_start(&f->b), 0);
  /* mosquitto 2.0 does not persist $share subscriptions (TIPS.md): publish
   * only after hmq subscribed again */
  wait_log(f, "dd.log", "subscribed to", 2, 15000);
  publish_file(f, "b.txt");
  end = hmq_h_now() + 10000;
  while (out_distinct(f, "out") < 150 && hmq_h_now() < end)
    sleep_ms(20);

  /* the stats counters are cumulative; wait for a line showing all */
  snprintf(stats, sizeof stats, "received=185 written=150 dup=35 invalid=0 ");
  wait_log(f, "dd.log", stats, 1, 5000);
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  assert_true(occurrences(f, "dd.log", "reconnects=1 ") >= 1);

  o = load(f, "out");
  assert_false(o.partial);
  assert_int_equal(o.n, 150);
  assert_int_equal(distinct_ids(&o), 150);
  /* the first payload of a repeated id is the one kept */
  for (i = 0; i < (int)o.n; i++) {
    ln v = id_of(o.v[i]);
    int n = atoi(v.p + 1);
    char want[32];
    snprintf(want, sizeof want, "\"value\":%d}", n);
    if (!find(o.v[i], want))
      fail_msg("%.*s: not the first payload: %.200s", (int)v.n, v.p, o.v[i].p);
  }
  text_free(&o);
  text_free(&a);
  text_free(&b);
}

static long vm_rss_kb(pid_t pid) {
  char path[64], line[256];
  long kb = -1;
  FILE *fp;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  fp = fopen(path, "r");
  if (!fp)
    return -1;
  while (fgets(line, sizeof line, fp))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  fclose(fp);
  return kb;
}

#if defined(__SANITIZE_ADDRESS__)
#define HMQ_E2E_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HMQ_E2E_ASAN 1
#endif
#endif

/* A persistent session for client <app>-sandbox-<tag> (one short run of
 * hmq joins the share group), then k envelopes queued for it by hmq-sim
 * over mutual TLS (it exits 0 only when the broker acknowledged all). */
static void backlog(const fixture *f, const char *tag, long k, int seed) {
  char cmd[2400];
  uint64_t t0;
  assert_int_equal(wait_exit(run_hmq(f, tag, APP, "-W 1 --out /dev/null", -1), 15000), 27);
  t0 = hmq_h_now();
  snprintf(cmd, sizeof cmd,
           "exec '%s' %s -n %ld --seed %d --dup-rate 0 --app-id " APP " --env sandbox --quiet",
           f->sim, f->tls, k, seed);
  assert_int_equal(wait_exit(spawn(cmd, -1, "sim.log"), 60000), 0);
  fprintf(stderr, "%s: %ld envelopes published over mutual TLS in %llu ms\n", tag, k,
          (unsigned long long)(hmq_h_now() - t0));
}

/* The ids in `got` (lines with a message_id) are exactly those hmq-sim
 * sends for this seed and count. Replaces got's lines by their ids. */
static void assert_sim_ids(const fixture *f, text *got, long k, int seed) {
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

/* 20,000 envelopes queued for our session; hmq's stdout is a pipe nobody
 * reads for 3 s: memory stays bounded (backpressure, no growing buffer);
 * then the pipe is drained and every message arrives exactly once. */
static void test_blocked_stdout_bounded(void **state) {
  fixture *f = *state;
  const long k = 20000;
#ifdef HMQ_E2E_ASAN
  const long limit_kb = 512 * 1024; /* sanitizer shadow memory: figure printed only */
#else
  const long limit_kb = 16 * 1024;
#endif
  char extra[200];
  text got = {0};
  long rss, first_rss = 0, max_rss = 0, samples = 0;
  int p[2], unread = 0;
  uint64_t t0, end;
  pid_t pid;
  backlog(f, "bs", k, 4);
  make_pipe(p);
  /* --dedupe: the default set (1,000,000 ids) alone is ~16 MB, touched at
   * start; what this test is after is growth with the backlog */
  snprintf(extra, sizeof extra, "-C %ld --dedupe 100000", k);
  pid = run_hmq(f, "bs", APP, extra, p[1]);
  close(p[1]);
  sleep_ms(500);
  end = hmq_h_now() + 3000;
  while (hmq_h_now() < end) {
    rss = vm_rss_kb(pid);
    assert_true(rss > 0); /* still running, blocked on the pipe */
    if (!first_rss)
      first_rss = rss;
    if (rss > max_rss)
      max_rss = rss;
    samples++;
    sleep_ms(100);
  }
  ioctl(p[0], FIONREAD, &unread);
  fprintf(stderr,
          "blocked stdout: VmRSS %ld kB at first, max %ld kB over %ld samples in a 3 s stall "
          "(%d bytes waiting in the pipe)\n",
          first_rss, max_rss, samples, unread);
  assert_true(unread > 0);
  assert_true(max_rss < limit_kb);
#ifndef HMQ_E2E_ASAN
  assert_true(max_rss - first_rss < 1024); /* no growth while the backlog waits */
#endif

  text_add(&got, "", 0);
  t0 = hmq_h_now();
  assert_true(drain(p[0], &got, t0 + 40000));
  close(p[0]);
  assert_int_equal(wait_exit(pid, 10000), 0);
  text_split(&got);
  fprintf(stderr, "blocked stdout: drained %zu lines in %llu ms\n", got.n,
          (unsigned long long)(hmq_h_now() - t0));
  assert_false(got.partial);
  assert_int_equal(got.n, k);
  assert_int_equal(distinct_ids(&got), k);
  assert_sim_ids(f, &got, k, 4);
  text_free(&got);
}

/* A blocked pipe for longer than the broker's keep-alive grace (1.5 x
 * -k 5 s, MQTT 5.0 3.1.2.10): hmq is stuck in its commit, sends no PINGREQ
 * and the broker drops it. After the drain hmq reconnects, the
 * broker resends what was never acknowledged and the dedupe memory keeps
 * the output exact: every id once. */
static void test_stall_beyond_keepalive(void **state) {
  fixture *f = *state;
  const long k = 3000;
  text got = {0};
  int p[2];
  pid_t pid;
  backlog(f, "ka", k, 5);
  make_pipe(p);
  pid = run_hmq(f, "ka", APP, "-C 3000 -k 5", p[1]);
  close(p[1]);
  /* mosquitto 2.0.11 gives up on a silent client after about 10 s with
   * -k 5 (it checks the keep-alive coarsely) */
  wait_log(f, "mosquitto.log", "sandbox-ka has exceeded timeout", 1, 20000);
  assert_true(vm_rss_kb(pid) > 0); /* hmq still there, blocked on the pipe */
  text_add(&got, "", 0);
  assert_true(drain(p[0], &got, hmq_h_now() + 30000));
  close(p[0]);
  assert_int_equal(wait_exit(pid, 10000), 0);
  text_split(&got);
  assert_false(got.partial);
  fprintf(stderr, "keep-alive stall: %zu lines, %zu reconnect(s) reported\n", got.n,
          occurrences(f, "ka.log", "connection lost"));
  assert_true(occurrences(f, "ka.log", "connection lost") >= 1);
  assert_int_equal(distinct_ids(&got), k);
  assert_sim_ids(f, &got, k, 5);
  text_free(&got);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_formats_end_to_end, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_sink_same_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_across_broker_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocked_stdout_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stall_beyond_keepalive, setup, teardown),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
