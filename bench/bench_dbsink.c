/* SPDX-License-Identifier: MIT */
/*
 * bench_dbsink: what the --sqlite sink costs per message without a broker,
 * next to its peer in the same run: the same payloads appended to a file
 * with one write + fdatasync per batch (what --out does at a commit).
 *
 * N realistic envelopes from hmq-sim's generator (1000 vehicles, 5 % with
 * older timestamps), put into the sink in batches of B (the drain's batch:
 * 2048, hmq's Receive Maximum) and committed; wall and process CPU time per
 * message for each (for SQLite also the committing thread alone: the
 * checkpoints run on a thread of their own), bytes written, and the
 * ratio of the rates (sqlite / file).
 *
 *   bench_dbsink [N [B]]     default N 20000, B 2048
 *   bench_dbsink --quick     N 2000 (checks the counts, as a ctest)
 * Files go to a fresh directory under the current one, removed at the end.
 */
#include "pipeline/bsink.h"
#include "sim_gen.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct msgs {
  char *bytes;
  size_t *off, *len;
  char topic[HMQ_SIM_TOPIC_MAX];
  size_t topic_len;
} msgs;

/* Bytes this process has passed to write calls so far (/proc/self/io
 * wchar: what SQLite writes, WAL and checkpoints included); 0 unknown. */
static unsigned long long written_bytes(void) {
  unsigned long long v = 0;
  char line[128];
  FILE *f = fopen("/proc/self/io", "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "wchar: %llu", &v) == 1)
      break;
  fclose(f);
  return v;
}

static double now_s(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make(msgs *m, long n) {
  hmq_sim_gen g;
  hmq_sim_gen_config cfg;
  hmq_sim_gen_config_default(&cfg);
  cfg.vins = 1000;
  cfg.dup_rate = 0;
  if (hmq_sim_gen_init(&g, &cfg) != HMQ_OK)
    return -1;
  m->bytes = malloc((size_t)n * HMQ_SIM_PAYLOAD_MAX);
  m->off = calloc((size_t)n, sizeof *m->off);
  m->len = calloc((size_t)n, sizeof *m->len);
  if (!m->bytes || !m->off || !m->len)
    return -1;
  size_t used = 0;
  for (long i = 0; i < n; i++) {
    hmq_sim_msg sm;
    if (hmq_sim_gen_make(&g, (uint64_t)i, m->topic, sizeof m->topic, m->bytes + used,
                         HMQ_SIM_PAYLOAD_MAX, &sm) != HMQ_OK)
      return -1;
    m->topic_len = sm.topic_len;
    m->off[i] = used;
    m->len[i] = sm.payload_len;
    used += sm.payload_len;
  }
  return 0;
}

/* The peer: payload lines, one write + fdatasync per batch. */
static int run_file(const msgs *m, long n, long batch, const char *path, double *wall,
                    double *cpu) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char *buf = malloc((size_t)batch * (HMQ_SIM_PAYLOAD_MAX + 1));
  if (fd < 0 || !buf) {
    if (fd >= 0)
      close(fd);
    free(buf);
    return -1;
  }
  double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n;) {
    size_t k = 0;
    for (long j = 0; j < batch && i < n; j++, i++) {
      memcpy(buf + k, m->bytes + m->off[i], m->len[i]);
      k += m->len[i];
      buf[k++] = '\n';
    }
    if (write(fd, buf, k) != (ssize_t)k || fdatasync(fd) != 0) {
      close(fd);
      free(buf);
      return -1;
    }
  }
  *wall = now_s(CLOCK_MONOTONIC) - w0;
  *cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  close(fd);
  free(buf);
  return 0;
}

static int run_sqlite(const msgs *m, long n, long batch, const char *path, double *wall,
                      double *cpu, double *own, uint64_t *stored, unsigned long long *wrote) {
  char err[600];
  hmq_bsink *s = NULL;
  hmq_db_config c = {0};
  c.target = path;
  unsigned long long b0 = written_bytes();
  double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID),
         t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
  if (hmq_sink_sqlite_open(&s, &c, err, sizeof err) != HMQ_OK) {
    fprintf(stderr, "bench_dbsink: %s\n", err);
    return -1;
  }
  for (long i = 0; i < n;) {
    for (long j = 0; j < batch && i < n; j++, i++) {
      hmq_bmsg b = {NULL,         m->topic,
                    m->topic_len, (const uint8_t *)m->bytes + m->off[i],
                    m->len[i],    1755014400000u + (uint64_t)i};
      if (hmq_bsink_put(s, &b) != HMQ_OK) {
        hmq_bsink_close(s);
        return -1;
      }
    }
    if (hmq_bsink_commit(s) != HMQ_OK) {
      fprintf(stderr, "bench_dbsink: commit: %s\n", s->err);
      hmq_bsink_close(s);
      return -1;
    }
  }
  *wall = now_s(CLOCK_MONOTONIC) - w0;
  *cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  *own = now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
  *stored = s->stored;
  hmq_bsink_close(s);
  *wrote = written_bytes() - b0;
  return 0;
}

int main(int argc, char **argv) {
  long n = 20000, batch = 2048;
  msgs m = {0};
  char dir[] = "bench_dbsink.XXXXXX", file[64], db[64], aux[80];
  if (argc > 1 && strcmp(argv[1], "--quick") == 0)
    n = 2000;
  else if (argc > 1)
    n = atol(argv[1]);
  if (argc > 2)
    batch = atol(argv[2]);
  if (n < 1 || n > 1000000 || batch < 1 || batch > 65535) {
    fprintf(stderr, "usage: bench_dbsink [N [BATCH]] | --quick\n");
    return 2;
  }
  if (!hmq_sink_sqlite_available()) {
    printf("bench_dbsink: built without SQLite, nothing to measure\n");
    return 0;
  }
  if (make(&m, n) != 0 || !mkdtemp(dir)) {
    fprintf(stderr, "bench_dbsink: setup failed\n");
    return 1;
  }
  snprintf(file, sizeof file, "%s/out.ndjson", dir);
  snprintf(db, sizeof db, "%s/hmq.db", dir);
  double fw = 0, fc = 0, sw = 0, sc = 0, so = 0;
  uint64_t stored = 0;
  unsigned long long wrote = 0, payload = 0;
  for (long i = 0; i < n; i++)
    payload += m.len[i];
  int rc = run_file(&m, n, batch, file, &fw, &fc) != 0 ||
           run_sqlite(&m, n, batch, db, &sw, &sc, &so, &stored, &wrote) != 0;
  if (!rc) {
    printf("bench_dbsink: %ld messages, batches of %ld\n", n, batch);
    printf("  file    %7.3f s  %8.0f msg/s  CPU %6.1f us/msg\n", fw, n / fw, fc * 1e6 / n);
    printf("  sqlite  %7.3f s  %8.0f msg/s  CPU %6.1f us/msg (%.1f on the committing thread,"
           " the rest checkpoints)\n",
           sw, n / sw, sc * 1e6 / n, so * 1e6 / n);
    printf("  ratio sqlite/file %.3f (sink alone, no broker)\n", fw / sw);
    printf("  sqlite wrote %.1f MB for %.1f MB of payloads (%.1fx, %.1f KB per message;"
           " closing included)\n",
           wrote / 1e6, payload / 1e6, payload ? (double)wrote / (double)payload : 0.0,
           wrote / 1e3 / (double)n);
    if (stored != (uint64_t)n) {
      fprintf(stderr, "bench_dbsink: stored %llu of %ld\n", (unsigned long long)stored, n);
      rc = 1;
    }
  }
  if (getenv("BENCH_DBSINK_KEEP")) { /* inspect the files (sqlite3 DIR/hmq.db) */
    printf("  kept in %s\n", dir);
    goto done;
  }
  unlink(file);
  unlink(db);
  snprintf(aux, sizeof aux, "%s-wal", db);
  unlink(aux);
  snprintf(aux, sizeof aux, "%s-shm", db);
  unlink(aux);
  rmdir(dir);
done:
  free(m.bytes);
  free(m.off);
  free(m.len);
  return rc;
}
