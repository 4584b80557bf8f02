/* SPDX-License-Identifier: MIT */
/*
 * Envelope cost per message on a realistic ~1.3 KB High Mobility envelope:
 * parse alone, parse + walk, parse + walk + flat lines, compact, and the
 * dedupe check. Prints CPU ns per operation (thread CPU time, best of 5
 * rounds, so other load on the machine inflates it less).
 *
 * Then the worst payloads a broker can deliver (issue 8, item 11), at
 * 200 KB and at hmq's 4 MiB maximum packet size, parsed with the token
 * memory the hmq program gives its parser: CPU µs per KB next to the same
 * figure for the realistic envelope. Parse time must stay linear: the
 * 200 KB and 4 MiB rows of one shape should show the same µs/KB.
 *
 *   bench_envelope [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/dedupe.h"
#include "hmq/envelope.h"
#include "sim_worst.h"

static const char ENVELOPE[] =
    "{\"version\":2,\"application_id\":\"0F6B8E4C-2D1A-4C39-9E55-7A2B1C3D4E5F\","
    "\"message_id\":\"4F02FFB01650060FA8888E5C3ED46FF2A0E4A49EACF1A92E264CD0C137971B28\","
    "\"vin\":\"WBA12345678901234\",\"data\":{"
    "\"diagnostics\":{"
    "\"odometer\":[{\"data\":{\"unit\":\"kilometers\",\"value\":19201.01},"
    "\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],"
    "\"speed\":[{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":42},"
    "\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],"
    "\"engine_rpm\":[{\"data\":{\"unit\":\"revolutions_per_minute\",\"value\":2150},"
    "\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],"
    "\"fuel_level\":[{\"data\":0.62,\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],"
    "\"tire_pressures\":["
    "{\"data\":{\"location\":\"front_left\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":240}},"
    "\"timestamp\":\"2025-08-12T16:07:25.648943Z\"},"
    "{\"data\":{\"location\":\"front_right\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":241}}"
    ","
    "\"timestamp\":\"2025-08-12T16:07:25.648943Z\"},"
    "{\"data\":{\"location\":\"rear_right\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":239}},"
    "\"timestamp\":\"2025-08-12T16:07:25.648943Z\"},"
    "{\"data\":{\"location\":\"rear_left\",\"pressure\":{\"unit\":\"kilopascals\",\"value\":238}},"
    "\"timestamp\":\"2025-08-12T16:07:25.648943Z\"}]},"
    "\"vehicle_location\":{"
    "\"coordinates\":[{\"data\":{\"latitude\":52.52,\"longitude\":13.405},"
    "\"timestamp\":\"2025-08-12T16:07:48Z\"}],"
    "\"heading\":[{\"data\":{\"unit\":\"degrees\",\"value\":271.5},"
    "\"timestamp\":\"2025-08-12T16:07:48Z\"}],"
    "\"altitude\":[{\"data\":{\"unit\":\"meters\",\"value\":63},"
    "\"timestamp\":\"2025-08-12T16:07:48Z\"}]},"
    "\"charging\":{"
    "\"battery_level\":[{\"data\":0.83,\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],"
    "\"estimated_range\":[{\"data\":{\"unit\":\"kilometers\",\"value\":305},"
    "\"timestamp\":\"2025-08-12T16:07:48.000Z\"}],"
    "\"status\":[{\"data\":\"charging\",\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]},"
    "\"doors\":{\"locks_state\":[{\"data\":\"locked\",\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}"
    ","
    "\"ignition\":{\"state\":[{\"failure\":{\"reason\":\"privacy_mode_active\","
    "\"description\":\"Privacy mode is active\"},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}"
    "}}";

static unsigned char tokmem[1024 * HMQ_JSON_TOKEN_BYTES];
static char out[8192];
static uint64_t dmem[1 << 16];

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile size_t sink;

static double run(int mode, long iters) {
  hmq_envelope_parser p;
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  hmq_dedupe set;
  double best = 1e30;
  int round;
  hmq_envelope_parser_init(&p, tokmem, sizeof tokmem);
  hmq_dedupe_init(&set, dmem, sizeof dmem, 10000);
  for (round = 0; round < 5; round++) {
    double t0 = now_ns(), dt;
    long i;
    for (i = 0; i < iters; i++) {
      size_t n = 0;
      if (hmq_envelope_parse(&p, ENVELOPE, sizeof ENVELOPE - 1, &env) != HMQ_OK) {
        abort();
      }
      if (mode == 1 || mode == 2) {
        hmq_entries_begin(&it, &env);
        while (hmq_entries_next(&it, &e) == HMQ_OK) {
          if (mode == 2) {
            hmq_format_flat(&env, &e, out, sizeof out, &n);
          }
          n += e.data.len;
        }
      } else if (mode == 3) {
        hmq_json_compact(&env, out, sizeof out, &n);
      } else if (mode == 4) {
        /* vary the id so the set sees inserts and evictions */
        out[0] = (char)i;
        out[1] = (char)(i >> 8);
        memcpy(out + 2, env.message_id.ptr, env.message_id.len);
        n = (size_t)hmq_dedupe_seen(&set, out, env.message_id.len);
      }
      sink += n;
    }
    dt = (now_ns() - t0) / (double)iters;
    if (dt < best) {
      best = dt;
    }
  }
  return best;
}

/* --- worst cases ------------------------------------------------------------ */

/* The worst-case shapes (sim_worst.h) measured, with their row names. */
static const struct {
  hmq_sim_worst shape;
  const char *name;
} shapes[] = {
    {HMQ_SIM_WORST_DEEP, "deep nesting [[[…]]]"},
    {HMQ_SIM_WORST_STAIRS, "stairs (depth 59, repeated)"},
    {HMQ_SIM_WORST_MANY_KEYS, "many keys"},
    {HMQ_SIM_WORST_LONG_STRING, "long string (vin)"},
    {HMQ_SIM_WORST_TINY_TOKENS, "tiny tokens [0,0,…]"},
    {HMQ_SIM_WORST_BAD_UTF8_LONG, "long string, bad UTF-8 at end"},
};

/* Best of 3 parses, CPU µs per KB of payload. */
static double us_per_kb(hmq_envelope_parser *p, const char *doc, size_t len, hmq_status *st) {
  double best = 1e30;
  for (int round = 0; round < 3; round++) {
    hmq_envelope env;
    double t0 = now_ns();
    *st = hmq_envelope_parse(p, doc, len, &env);
    double dt = now_ns() - t0;
    if (dt < best)
      best = dt;
  }
  return best / 1e3 / ((double)len / 1024.0);
}

static void worst_cases(double normal_ns) {
  const size_t max_packet = 4u * 1024u * 1024u; /* programs/hmq/main.c */
  const size_t ntok = max_packet / 6 + 256;     /* as the pipeline sizes it */
  void *mem = malloc(ntok * HMQ_JSON_TOKEN_BYTES);
  char *doc = malloc(max_packet + 4096);
  hmq_envelope_parser p;
  double normal = normal_ns / 1e3 / ((double)(sizeof ENVELOPE - 1) / 1024.0);
  if (!mem || !doc)
    abort();
  hmq_envelope_parser_init(&p, mem, ntok * HMQ_JSON_TOKEN_BYTES);
  printf("\nworst-case payloads (parse, hmq's token memory), CPU us per KB:\n");
  printf("%-32s %9s %8s  %s\n", "shape", "size", "us/KB", "x normal  outcome");
  printf("%-32s %9zu %8.3f  %8.2f  %s\n", "realistic envelope", sizeof ENVELOPE - 1, normal, 1.0,
         "ok");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const size_t sizes[2] = {200 * 1024, max_packet - 64};
    for (int k = 0; k < 2; k++) {
      hmq_status st;
      size_t len = hmq_sim_worst_make(doc, shapes[s].shape, sizes[k], "m");
      double v = us_per_kb(&p, doc, len, &st);
      printf("%-32s %9zu %8.3f  %8.2f  %s\n", shapes[s].name, len, v, v / normal,
             hmq_status_name(st));
    }
  }
  free(mem);
  free(doc);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 100000;
  double parse = run(0, iters);
  printf("envelope: %zu bytes\n", sizeof ENVELOPE - 1);
  printf("parse                 %8.0f ns/msg\n", parse);
  printf("parse+walk            %8.0f ns/msg\n", run(1, iters));
  printf("parse+walk+flat lines %8.0f ns/msg\n", run(2, iters));
  printf("parse+compact         %8.0f ns/msg\n", run(3, iters));
  printf("parse+dedupe          %8.0f ns/msg\n", run(4, iters));
  worst_cases(parse);
  return 0;
}
