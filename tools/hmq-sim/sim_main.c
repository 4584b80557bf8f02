/* SPDX-License-Identifier: MIT */
/*
 * hmq-sim: command line, --write mode and main. The publishing loop is in
 * sim_pub.c, the envelopes come from sim_gen.c.
 */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
    "hmq-sim - publish realistic High Mobility MQTT V2 envelopes (QoS 1, MQTT 5)\n"
    "\n"
    "  hmq-sim --host 127.0.0.1 --port 8883 --cafile ca.crt --cert c.crt --key c.key \\\n"
    "          --app-id UUID --env sandbox --vins 50 --rate 200 -n 1000\n"
    "  hmq-sim --plain --port 1883 -n 100000          # as fast as the broker acks\n"
    "  hmq-sim --write envelopes.ndjson -n 5000       # one payload per line, no broker\n"
    "\n"
    "Messages go to <env>/level13/<app-id>/<vin>. hmq-sim waits for every PUBACK,\n"
    "disconnects and prints `acked N` on stdout (N counts PUBACKs with a success\n"
    "reason code; at QoS 0, messages handed to the connection); it exits 1 when N\n"
    "is below -n.\n"
    "\n"
    "Connection (as in hmq):\n"
    "  -h, --host HOST        broker (default 127.0.0.1)\n"
    "  -p, --port PORT        port (default 8883; 1883 with --plain)\n"
    "  --cafile FILE          CA to verify the broker (PEM)\n"
    "  --cert FILE, --key FILE  client certificate and key (mutual TLS)\n"
    "  --server-name NAME     name the broker certificate must have (default: host)\n"
    "  --plain                plain TCP without TLS\n"
    "  -i, --id ID            client id (default hmq-sim-<pid>)\n"
    "  -q, --qos 0|1          publish QoS (default 1)\n"
    "\n"
    "Stream:\n"
    "  --app-id UUID          application id (default all zeros)\n"
    "  --env sandbox|live     environment (default sandbox)\n"
    "  --topic-prefix P       topics P/<vin> instead of <env>/level13/<app-id>/<vin>\n"
    "  --vins N               vehicles (default 50)\n"
    "  --seed N               same seed, same messages (default 1)\n"
    "  --dup-rate R           share of messages repeated with the same message_id\n"
    "                         (default 0.01)\n"
    "  --ooo-rate R           share of messages with older timestamps (default 0.05)\n"
    "  -n, --count N          messages to send (default 100)\n"
    "  --rate N               messages per second (default 0: as fast as possible)\n"
    "  --start MS|now         stream time of the first message in Unix ms, or the\n"
    "                         current time (default 1755014400000 = 2025-08-12T16:00Z);\n"
    "                         stream time advances 200 ms per message, 1000/N with --rate\n"
    "  --write FILE           write the payloads, one per line, to FILE ('-' = stdout)\n"
    "                         instead of publishing\n"
    "  --timeout SEC          give up after SEC seconds (default 600)\n"
    "  -d, --debug            connection events on stderr;  --quiet  only errors\n"
    "  --help\n"
    "\n"
    "Exit codes: 0 all acknowledged (or written), 1 fewer acknowledged, 2 usage,\n"
    "3 certificate/TLS/file error or permanent refusal by the broker.\n";

static int copy_arg(char *dst, size_t cap, const char *v, const char *name) {
  size_t n = strlen(v);
  if (n >= cap) {
    fprintf(stderr, "hmq-sim: %s: value too long (at most %zu characters)\n", name, cap - 1);
    return -1;
  }
  memcpy(dst, v, n + 1);
  return 0;
}

static int num_arg(const char *v, const char *name, double lo, double hi, double *out) {
  char *end;
  double d;
  errno = 0;
  d = strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !(d >= lo && d <= hi)) {
    fprintf(stderr, "hmq-sim: %s: '%s' is not a number in %g..%g\n", name, v, lo, hi);
    return -1;
  }
  *out = d;
  return 0;
}

static int u64_arg(const char *v, const char *name, uint64_t *out) {
  char *end;
  unsigned long long x;
  errno = 0;
  x = strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
    fprintf(stderr, "hmq-sim: %s: '%s' is not a non-negative integer\n", name, v);
    return -1;
  }
  *out = (uint64_t)x;
  return 0;
}

static int is_opt(const char *a, const char *s, const char *l) {
  return (s && strcmp(a, s) == 0) || strcmp(a, l) == 0;
}

/* Parse argv into o. 0 = run, 1 = --help printed, -1 = usage error. */
static int parse_args(int argc, char **argv, hmq_sim_opts *o) {
  memset(o, 0, sizeof *o);
  hmq_sim_gen_config_default(&o->gen);
  strcpy(o->app_id, o->gen.app_id);
  strcpy(o->env, o->gen.env);
  strcpy(o->host, "127.0.0.1");
  o->qos = 1;
  o->count = 100;
  o->timeout_s = 600;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    double d;
    uint64_t start = 0;
    int rc = 0, takes = 1;
    if (strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      return 1;
    } else if (strcmp(a, "--plain") == 0) {
      o->plain = 1, takes = 0;
    } else if (is_opt(a, "-d", "--debug")) {
      o->debug = 1, takes = 0;
    } else if (strcmp(a, "--quiet") == 0) {
      o->quiet = 1, takes = 0;
    } else if (!v) {
      fprintf(stderr, "hmq-sim: unknown option or missing value: %s (see --help)\n", a);
      return -1;
    } else if (is_opt(a, "-h", "--host")) {
      rc = copy_arg(o->host, sizeof o->host, v, a);
    } else if (is_opt(a, "-p", "--port")) {
      rc = num_arg(v, a, 1, 65535, &d);
      o->port = (uint16_t)d;
    } else if (strcmp(a, "--cafile") == 0) {
      rc = copy_arg(o->cafile, sizeof o->cafile, v, a);
    } else if (strcmp(a, "--cert") == 0) {
      rc = copy_arg(o->cert, sizeof o->cert, v, a);
    } else if (strcmp(a, "--key") == 0) {
      rc = copy_arg(o->key, sizeof o->key, v, a);
    } else if (strcmp(a, "--server-name") == 0) {
      rc = copy_arg(o->server_name, sizeof o->server_name, v, a);
    } else if (is_opt(a, "-i", "--id")) {
      rc = copy_arg(o->id, sizeof o->id, v, a);
    } else if (is_opt(a, "-q", "--qos")) {
      rc = num_arg(v, a, 0, 1, &d);
      o->qos = (int)d;
    } else if (strcmp(a, "--app-id") == 0) {
      rc = copy_arg(o->app_id, sizeof o->app_id, v, a);
    } else if (strcmp(a, "--env") == 0) {
      rc = copy_arg(o->env, sizeof o->env, v, a);
    } else if (strcmp(a, "--topic-prefix") == 0) {
      rc = copy_arg(o->topic_prefix, sizeof o->topic_prefix - 20, v, a);
    } else if (strcmp(a, "--vins") == 0) {
      rc = num_arg(v, a, 1, HMQ_SIM_MAX_VINS, &d);
      o->gen.vins = (uint32_t)d;
    } else if (strcmp(a, "--seed") == 0) {
      rc = u64_arg(v, a, &o->gen.seed);
    } else if (strcmp(a, "--dup-rate") == 0) {
      rc = num_arg(v, a, 0, 1, &o->gen.dup_rate);
    } else if (strcmp(a, "--ooo-rate") == 0) {
      rc = num_arg(v, a, 0, 1, &o->gen.ooo_rate);
    } else if (is_opt(a, "-n", "--count")) {
      rc = u64_arg(v, a, &o->count);
    } else if (strcmp(a, "--rate") == 0) {
      rc = num_arg(v, a, 0, 1e7, &o->rate);
    } else if (strcmp(a, "--start") == 0) {
      if (strcmp(v, "now") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->gen.start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
      } else {
        rc = u64_arg(v, a, &start);
        o->gen.start_ms = (int64_t)start;
      }
    } else if (strcmp(a, "--write") == 0) {
      rc = copy_arg(o->write_path, sizeof o->write_path, v, a);
    } else if (strcmp(a, "--timeout") == 0) {
      rc = num_arg(v, a, 0.001, 1e6, &o->timeout_s);
    } else {
      fprintf(stderr, "hmq-sim: unknown option: %s (see --help)\n", a);
      return -1;
    }
    if (rc != 0)
      return -1;
    i += takes;
  }
  if (strcmp(o->env, "sandbox") != 0 && strcmp(o->env, "live") != 0)
    fprintf(stderr, "hmq-sim: warning: --env %s is neither sandbox nor live\n", o->env);
  if (!o->write_path[0] && !o->plain && !o->cafile[0]) {
    fprintf(stderr, "hmq-sim: --cafile is needed for TLS (or use --plain or --write)\n");
    return -1;
  }
  if (!o->write_path[0] && !o->plain && (o->cert[0] != 0) != (o->key[0] != 0)) {
    fprintf(stderr, "hmq-sim: --cert and --key go together\n");
    return -1;
  }
  o->gen.app_id = o->app_id;
  o->gen.env = o->env;
  /* Paced: stream time advances with the wall clock, so `--start now` keeps
   * the data's timestamps current (data age is one of hmq's stats). */
  if (o->rate > 0)
    o->gen.step_ms = o->rate >= 1000 ? 1u : (uint32_t)(1000.0 / o->rate);
  return 0;
}

static int write_file(const hmq_sim_opts *o) {
  static char payload[HMQ_SIM_PAYLOAD_MAX];
  char topic[HMQ_SIM_TOPIC_MAX];
  hmq_sim_gen g;
  hmq_sim_msg m;
  uint64_t bytes = 0;
  int to_stdout = strcmp(o->write_path, "-") == 0;
  FILE *f = to_stdout ? stdout : fopen(o->write_path, "wb");
  if (!f) {
    fprintf(stderr, "hmq-sim: %s: %s\n", o->write_path, strerror(errno));
    return HMQ_SIM_EXIT_CONFIG;
  }
  if (hmq_sim_gen_init(&g, &o->gen) != HMQ_OK) {
    fprintf(stderr, "hmq-sim: bad generator settings\n");
    if (!to_stdout)
      fclose(f);
    return HMQ_SIM_EXIT_USAGE;
  }
  for (uint64_t i = 0; i < o->count; i++) {
    if (hmq_sim_gen_next(&g, topic, sizeof topic, payload, sizeof payload, &m) != HMQ_OK) {
      fprintf(stderr, "hmq-sim: message %llu does not fit\n", (unsigned long long)i);
      break;
    }
    payload[m.payload_len] = '\n';
    if (fwrite(payload, 1, m.payload_len + 1, f) != m.payload_len + 1)
      break;
    bytes += m.payload_len;
  }
  if ((to_stdout ? fflush(f) : fclose(f)) != 0 || g.emitted != o->count) {
    fprintf(stderr, "hmq-sim: %s: write failed: %s\n", o->write_path, strerror(errno));
    return HMQ_SIM_EXIT_SHORT;
  }
  if (!o->quiet)
    fprintf(stderr, "hmq-sim: wrote %llu messages (%llu duplicates), %.0f bytes on average\n",
            (unsigned long long)g.emitted, (unsigned long long)g.duplicates,
            g.emitted ? (double)bytes / (double)g.emitted : 0.0);
  return HMQ_SIM_EXIT_OK;
}

int main(int argc, char **argv) {
  static hmq_sim_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0)
    return rc > 0 ? HMQ_SIM_EXIT_OK : HMQ_SIM_EXIT_USAGE;
  if (o.write_path[0])
    return write_file(&o);
  return hmq_sim_publish(&o);
}
