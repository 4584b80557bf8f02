/* SPDX-License-Identifier: MIT */
/*
 * bench_deliver: what the hmq program's delivery pipeline costs per message
 * (envelope parse, dedupe, format, buffered write, commit with fdatasync and
 * dedupe log), for each output format, on realistic ~1.3 KB envelopes with
 * 64-hex message ids, 10 % of them duplicates.
 *
 * Two batch sizes: 50 (the broker's in-flight window: one commit, i.e. one
 * fdatasync of the output and one of the dedupe log, per 50 messages) and
 * 1000 (a backlog drain with a large window). Once to /dev/null with no
 * state dir, and through --exec 'cat > /dev/null' (commit waits until cat
 * has read the pipe empty): the cost of the pipeline alone. Wall and process CPU time are
 * both shown (fdatasync waits show in wall time only).
 *
 *   bench_deliver            full run (a few seconds)
 *   bench_deliver --quick    short run
 * Files go to a fresh directory under the current one, removed at the end.
 */
#include "pipeline/sink.h"
#include "pipeline/stats.h"
#include "pipeline/dedupe_store.h"
#include "pipeline/deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char msg[2048];
static size_t msg_len;
static size_t id_at; /* offset of the 64 hex digits of message_id */

static void build_message(void) {
  msg_len = (size_t)snprintf(
      msg, sizeof msg,
      "{\"version\":2,\"application_id\":\"879577a3-b25f-4a28-8c0e-7effcc7682a2\",\"message_id\":"
      "\"%064d\",\"vin\":\"WBA12345678901234\",\"data\":{\"diagnostics\":{\"odometer\":[{\"data\""
      ":{\"unit\":\"kilometers\",\"value\":19201.01},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]"
      ",\"speed\":[{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":42},\"timestamp\":\"2025-"
      "08-12T16:07:48.000Z\"}],\"engine_rpm\":[{\"data\":{\"unit\":\"revolutions_per_minute\",\"v"
      "alue\":2150},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],\"fuel_level\":[{\"data\":0.62,"
      "\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],\"tire_pressures\":[{\"data\":{\"location\":"
      "\"front_left\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":240}},\"timestamp\":\"2025-"
      "08-12T16:07:48.000Z\"},{\"data\":{\"location\":\"front_right\",\"pressure\":{\"unit\":\"kil"
      "opascals\",\"value\":241}},\"timestamp\":\"2025-08-12T16:07:48.000Z\"},{\"data\":{\"locatio"
      "n\":\"rear_left\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":238}},\"timestamp\":"
      "\"2025"
      "-08-12T16:07:48.000Z\"},{\"data\":{\"location\":\"rear_right\",\"pressure\":{\"unit\":\"kilo"
      "pascals\",\"value\":239}},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]},\"vehicle_location\""
      ":{\"coordinates\":[{\"data\":{\"latitude\":52.52,\"longitude\":13.405},\"timestamp\":\"2025-"
      "08-12T16:07:48.000Z\"}],\"heading\":[{\"data\":{\"unit\":\"degrees\",\"value\":271.5},\"time"
      "stamp\":\"2025-08-12T16:07:48.000Z\"}],\"altitude\":[{\"data\":{\"unit\":\"meters\","
      "\"value\""
      ":63},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]},\"charging\":{\"battery_level\":[{\"data"
      "\":0.83,\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],\"estimated_range\":[{\"data\":{\"unit"
      "\":\"kilometers\",\"value\":305},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],\"status\":[{"
      "\"data\":\"charging\",\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]},\"doors\":{\"locks_stat"
      "e\":[{\"data\":\"locked\",\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}",
      0);
  id_at = (size_t)(strstr(msg, "\"message_id\":\"") - msg) + 14;
}

static void set_id(uint64_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (int i = 0; i < 16; i++)
    msg[id_at + 63 - (size_t)i] = hex[(n >> (4 * i)) & 15];
}

static double now_s(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* devnull: 0 file + state dir, 1 /dev/null without state, 2 --exec 'cat >/dev/null' */
static int run(const char *dir, hmq_format fmt, size_t batch, int devnull, long n) {
  char out[256], state[256], err[256];
  hmq_deliver_config c;
  memset(&c, 0, sizeof c);
  snprintf(out, sizeof out, "%s/out-%d-%zu.ndjson", dir, (int)fmt, batch);
  snprintf(state, sizeof state, "%s/state-%d-%zu", dir, (int)fmt, batch);
  c.sink = devnull == 2 ? HMQ_SINK_EXEC : HMQ_SINK_FILE;
  c.exec_cmd = "cat > /dev/null";
  c.out_path = devnull ? "/dev/null" : out;
  c.dead_path = devnull ? "/dev/null" : NULL;
  c.state_dir = devnull ? NULL : state;
  c.format = fmt;
  c.dedupe_capacity = 1000000;
  c.max_message = 64 * 1024;
  c.max_pending = batch;
  hmq_deliver d;
  if (hmq_deliver_open(&d, &c, err, sizeof err) != HMQ_OK) {
    fprintf(stderr, "bench_deliver: %s\n", err);
    return 1;
  }
  static uint64_t seqs[65536];
  size_t got;
  double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n; i++) {
    set_id(i % 10 == 9 ? (uint64_t)i - 5 : (uint64_t)i); /* 10 % duplicates */
    if (hmq_deliver_message(&d, (uint64_t)i, "live/level13/app", 16, (const uint8_t *)msg, msg_len,
                            0, 1755014873000ull) != HMQ_OK ||
        (hmq_deliver_pending(&d) == batch && hmq_deliver_commit(&d, seqs, batch, &got) != HMQ_OK)) {
      fprintf(stderr, "bench_deliver: %s\n", hmq_deliver_error(&d));
      hmq_deliver_close(&d);
      return 1;
    }
  }
  if (hmq_deliver_commit(&d, seqs, batch, &got) != HMQ_OK)
    return 1;
  double t = now_s(CLOCK_MONOTONIC) - t0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  static const char *names[] = {"envelope", "flat", "raw"};
  printf("%-8s %-22s batch %4zu: %7.0f msg/s wall, %6.2f us/msg wall, %5.2f us/msg CPU "
         "(%llu written, %llu dup, %llu commits, %llu lines)\n",
         names[fmt],
         devnull == 2 ? "exec cat, no state"
         : devnull    ? "/dev/null, no state"
                      : "file + fdatasync + log",
         batch, (double)n / t, t * 1e6 / (double)n, cpu * 1e6 / (double)n,
         (unsigned long long)d.stats.written, (unsigned long long)d.stats.duplicates,
         (unsigned long long)d.stats.commits, (unsigned long long)d.stats.lines);
  /* results check (the --quick run is a ctest): every 10th message is a
   * duplicate, the sample has 15 readings, every seq came back */
  uint64_t want_dup = (uint64_t)n / 10, want_written = (uint64_t)n - want_dup;
  uint64_t want_lines = fmt == HMQ_FORMAT_FLAT ? want_written * 15 : want_written;
  if (d.stats.duplicates != want_dup || d.stats.written != want_written ||
      d.stats.lines != want_lines || d.stats.invalid != 0 || hmq_deliver_pending(&d) != 0) {
    fprintf(stderr, "bench_deliver: unexpected counts\n");
    hmq_deliver_close(&d);
    return 1;
  }
  hmq_deliver_close(&d);
  if (!devnull) {
    /* restart cost: snapshot + log replay + rescan of the output's tail */
    t0 = now_s(CLOCK_MONOTONIC);
    if (hmq_deliver_open(&d, &c, err, sizeof err) != HMQ_OK)
      return 1;
    printf("%-8s restart: %zu ids restored, %zu rescanned, in %.1f ms\n", names[fmt],
           d.store.restored, d.store.scanned, (now_s(CLOCK_MONOTONIC) - t0) * 1e3);
    hmq_deliver_close(&d);
  }
  return 0;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  long n = quick ? 20000 : 200000;
  char dir[64];
  snprintf(dir, sizeof dir, "benchdlv-XXXXXX");
  if (!mkdtemp(dir))
    return 1;
  build_message();
  printf("bench_deliver: %ld messages of %zu bytes per run\n", n, msg_len);
  int rc = 0;
  for (int f = 0; f < 3 && !rc; f++) {
    rc |= run(dir, (hmq_format)f, 1000, 1, n);
    rc |= run(dir, (hmq_format)f, 1000, 0, n);
    rc |= run(dir, (hmq_format)f, 50, 0, n / 4);
  }
  rc |= run(dir, HMQ_FORMAT_ENVELOPE, 50, 2, n / 4);
  rc |= run(dir, HMQ_FORMAT_ENVELOPE, 1000, 2, n);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
