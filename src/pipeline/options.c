/* SPDX-License-Identifier: MIT */
/*
 * hmq program: command-line parsing.
 *
 * Hand-written instead of getopt_long so that (a) every error message names
 * the option it is about, (b) the very same code parses the mosquitto_sub
 * command found in a bundle's snippet.txt, and (c) short options keep their
 * mosquitto_sub meaning (-h host, -q QoS, -c persistent session), which
 * getopt conventions (-h help, -q quiet) would break.
 */
#include "pipeline/options.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hmq_opts_init(hmq_opts *o) {
  memset(o, 0, sizeof *o);
  o->qos = 1;
  o->expiry = -2; /* not given */
  o->keepalive = 60;
  memcpy(o->format, "envelope", sizeof "envelope");
  o->dedupe = 1000000;
  o->max_delay_ms = 50;
  o->connections = 1;
}

void hmq_opts_warn(hmq_opts *o, const char *fmt, ...) {
  va_list ap;
  if (o->warn_count >= HMQ_OPT_WARN_MAX)
    return;
  va_start(ap, fmt);
  vsnprintf(o->warn[o->warn_count], HMQ_OPT_WARN_LEN, fmt, ap);
  va_end(ap);
  o->warn_count++;
}

static int usage_fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int usage_fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (err && errlen) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return HMQ_EXIT_USAGE;
}

/* Copy a value into a fixed field; refuses instead of truncating, because a
 * truncated path or client id would silently point somewhere else. */
static int put(char *dst, size_t cap, const char *v, const char *flag, char *err, size_t errlen) {
  size_t n = strlen(v);
  if (n >= cap)
    return usage_fail(err, errlen, "%s: value too long (%zu bytes, at most %zu)", flag, n, cap - 1);
  memcpy(dst, v, n + 1);
  return HMQ_EXIT_OK;
}

/* Decimal number in [lo, hi]; no sign, no trailing garbage. */
static int num(const char *v, unsigned long lo, unsigned long hi, unsigned long *out) {
  char *end = NULL;
  unsigned long x;
  if (v[0] < '0' || v[0] > '9')
    return -1;
  errno = 0;
  x = strtoul(v, &end, 10);
  if (errno || *end != '\0' || x < lo || x > hi)
    return -1;
  *out = x;
  return 0;
}

/* -x accepts what mosquitto_sub accepts: seconds, or -1 / 4294967295 / "∞"
 * for "never expires" (MQTT 5.0 3.1.2.11.2), plus an s/m/h/d suffix. */
static int parse_expiry(const char *v, int64_t *out) {
  char buf[32];
  size_t n = strlen(v);
  unsigned long x, mul = 1;
  if (strcmp(v, "-1") == 0 || strcmp(v, "\xe2\x88\x9e") == 0) {
    *out = -1;
    return 0;
  }
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, v, n + 1);
  switch (buf[n - 1]) {
  case 's':
    mul = 1;
    buf[--n] = '\0';
    break;
  case 'm':
    mul = 60;
    buf[--n] = '\0';
    break;
  case 'h':
    mul = 3600;
    buf[--n] = '\0';
    break;
  case 'd':
    mul = 86400;
    buf[--n] = '\0';
    break;
  default:
    break;
  }
  if (num(buf, 0, 0xFFFFFFFFul, &x) != 0 || x > 0xFFFFFFFFul / mul)
    return -1;
  x *= mul;
  *out = x == 0xFFFFFFFFul ? -1 : (int64_t)x;
  return 0;
}

/* Custom parsers: rules that do not fit one of the generic kinds. */
static int parse_topic(hmq_opts *o, const char *flag, const char *v, char *err, size_t el) {
  if (v[0] == '\0')
    return usage_fail(err, el, "%s: empty topic filter", flag);
  if (!(o->set & HMQ_SET_TOPIC))
    o->topic_count = 0; /* the first explicit topic replaces any derived one */
  if (o->topic_count == HMQ_OPT_TOPICS_MAX)
    return usage_fail(err, el, "%s: at most %d topics", flag, HMQ_OPT_TOPICS_MAX);
  if (put(o->topics[o->topic_count], HMQ_OPT_TOPIC, v, flag, err, el) != HMQ_EXIT_OK)
    return HMQ_EXIT_USAGE;
  o->set |= HMQ_SET_TOPIC;
  o->topic_count++;
  return HMQ_EXIT_OK;
}

static int parse_keepalive(hmq_opts *o, const char *flag, const char *v, char *err, size_t el) {
  unsigned long x;
  /* MQTT 5.0 3.1.2.10: a two-byte value; mosquitto_sub refuses below 5. */
  if (num(v, 0, 65535, &x) != 0 || (x > 0 && x < 5))
    return usage_fail(err, el, "%s: '%s' is not a keepalive (0 or 5..65535 seconds)", flag, v);
  o->keepalive = (uint16_t)x;
  return HMQ_EXIT_OK;
}

static int parse_session_expiry(hmq_opts *o, const char *flag, const char *v, char *err,
                                size_t el) {
  if (parse_expiry(v, &o->expiry) != 0)
    return usage_fail(err, el, "%s: '%s' is not a session expiry (seconds, or -1 for never)", flag,
                      v);
  return HMQ_EXIT_OK;
}

static int parse_app_id(hmq_opts *o, const char *flag, const char *v, char *err, size_t el) {
  if (v[0] == '\0' || strlen(v) > 100 || strpbrk(v, "/#+ ") != NULL)
    return usage_fail(err, el,
                      "%s: '%s' cannot be an application id (empty, over 100 characters, or "
                      "contains / # + space)",
                      flag, v);
  return put(o->app_id, sizeof o->app_id, v, flag, err, el);
}

#define XSTR(x)            #x
#define STR(x)             XSTR(x)
#define FIELD(m)           .off = offsetof(hmq_opts, m), .size = sizeof(((hmq_opts *)0)->m)
#define SEC(s)             .section = HMQ_OPT_SEC_##s
#define FLAG(m)            .kind = HMQ_OPT_FLAG, FIELD(m)
#define CUSTOM(f)          .kind = HMQ_OPT_CUSTOM, .parse = f
#define STRING(m, w)       .kind = HMQ_OPT_STRING, FIELD(m), .lo = 1, .what = w
#define NUMBER(m, l, h, w) .kind = HMQ_OPT_NUMBER, FIELD(m), .lo = l, .hi = h, .what = w
#define CHOICE(m, w)       .kind = HMQ_OPT_CHOICE, FIELD(m), .what = w

const char *const hmq_opt_section_title[HMQ_OPT_SEC_COUNT] = {
    "Connection (same meaning as in mosquitto_sub):",
    "High Mobility:",
    "Output:",
    "General:",
};

/* One row per option, in --help order within each section. */
const hmq_opt_row hmq_opt_table[] = {
    /* Connection */
    {.name = "cafile",
     .arg = "FILE",
     SEC(CONNECTION),
     STRING(cafile, "file name"),
     .set_bit = HMQ_SET_CAFILE,
     .help = "CA certificate(s) to verify the broker (PEM)"},
    {.name = "cert",
     .arg = "FILE",
     SEC(CONNECTION),
     STRING(cert, "file name"),
     .set_bit = HMQ_SET_CERT,
     .help = "client certificate (PEM)"},
    {.name = "key",
     .arg = "FILE",
     SEC(CONNECTION),
     STRING(key, "file name"),
     .set_bit = HMQ_SET_KEY,
     .help = "client private key (PEM)"},
    {.name = "host",
     .short_name = 'h',
     .arg = "HOST",
     SEC(CONNECTION),
     STRING(host, "host name"),
     .set_bit = HMQ_SET_HOST,
     .help = "broker (default " HMQ_DEFAULT_HOST ")"},
    {.name = "port",
     .short_name = 'p',
     .arg = "PORT",
     SEC(CONNECTION),
     NUMBER(port, 1, 65535, "a port number (1..65535)"),
     .set_bit = HMQ_SET_PORT,
     .help = "port (default 8883; 1883 with --plain)"},
    {.name = "qos",
     .short_name = 'q',
     .arg = "N",
     SEC(CONNECTION),
     NUMBER(qos, 0, 2, "a QoS (0, 1 or 2)"),
     .set_bit = HMQ_SET_QOS,
     .help = "subscription QoS 0, 1 or 2 (default 1; warns unless 1)"},
    {.name = "protocol-version",
     .short_name = 'V',
     .arg = "5|mqttv5",
     SEC(CONNECTION),
     .kind = HMQ_OPT_CHOICE,
     .what = "supported: hmq speaks MQTT 5 only (use -V 5)",
     .set_bit = HMQ_SET_VERSION,
     .help = "only MQTT 5 is spoken"},
    {.name = "id",
     .short_name = 'i',
     .arg = "ID",
     SEC(CONNECTION),
     STRING(client_id, "client id"),
     .set_bit = HMQ_SET_ID,
     .help = "client id: <app-id>-<sandbox|live>-<random>"},
    {.name = "disable-clean-session",
     .short_name = 'c',
     SEC(CONNECTION),
     FLAG(persist),
     .set_bit = HMQ_SET_PERSIST,
     .help = "keep the session (queue while hmq is down);\n"
             "session expiry then defaults to never (0xFFFFFFFF)"},
    {.name = "topic",
     .short_name = 't',
     .arg = "FILTER",
     SEC(CONNECTION),
     CUSTOM(parse_topic),
     .help = "subscription (up to " STR(HMQ_OPT_TOPICS_MAX) "); with --app-id: derived"},
    {.name = "keepalive",
     .short_name = 'k',
     .arg = "SEC",
     SEC(CONNECTION),
     CUSTOM(parse_keepalive),
     .set_bit = HMQ_SET_KEEPALIVE,
     .help = "keep alive (default 60; 0 disables)"},
    {.name = "session-expiry",
     .short_name = 'x',
     .arg = "SEC",
     SEC(CONNECTION),
     CUSTOM(parse_session_expiry),
     .set_bit = HMQ_SET_EXPIRY,
     .help = "session expiry (-1 = never; suffix s, m, h, d)"},
    {.name = "count",
     .short_name = 'C',
     .arg = "N",
     SEC(CONNECTION),
     NUMBER(count, 1, 0xFFFFFFFFul, "a message count (1 or more)"),
     .help = "exit 0 after N messages were written, committed and\n"
             "acknowledged (PUBACKs sent), with a clean DISCONNECT"},
    {.name = "timeout",
     .short_name = 'W',
     .arg = "SEC",
     SEC(CONNECTION),
     NUMBER(timeout_s, 1, 31536000ul, "a timeout in seconds (1 or more)"),
     .help = "stop after SEC seconds connected; exit code 27"},
    {.name = "plain",
     SEC(CONNECTION),
     FLAG(plain),
     .help = "plain TCP without TLS (local test brokers only)"},
    {.name = "connections",
     .arg = "N",
     SEC(CONNECTION),
     NUMBER(connections, 1, HMQ_OPT_CONN_MAX,
            "a number of connections (1.." STR(HMQ_OPT_CONN_MAX) ")"),
     .help = "N connections in the same share group, client ids\n"
             "suffixed -1..-N, one shared output (default 1)"},
    /* High Mobility */
    {.name = "bundle",
     .arg = "DIR",
     SEC(HM),
     STRING(bundle, "directory name"),
     .help = "unzipped download: ca_crt.pem, client_crt.pem,\n"
             "client_key.pem, snippet.txt (options given win)"},
    {.name = "app-id",
     .arg = "UUID",
     SEC(HM),
     CUSTOM(parse_app_id),
     .help = "application id; with --env builds client id and topic"},
    {.name = "env",
     .arg = "sandbox|live",
     SEC(HM),
     CHOICE(env, "an environment (sandbox or live)"),
     .help = "environment"},
    {.name = "state-dir",
     .arg = "DIR",
     SEC(HM),
     STRING(state_dir, "directory name"),
     .help = "this instance's state: id suffix, dedupe memory, lock\n"
             "(default $XDG_STATE_HOME/hmq/<app-id>-<env> or\n"
             "~/.local/state/hmq/<app-id>-<env>; <client-id> with --id).\n"
             "A second hmq on the same state dir refuses to start:\n"
             "give each instance its own."},
    {.name = "end-session",
     SEC(HM),
     FLAG(end_session),
     .help = "end the persistent session (Clean Start 1, Session\n"
             "Expiry 0, DISCONNECT) and exit"},
    /* Output */
    {.name = "out",
     .arg = "FILE",
     SEC(OUTPUT),
     STRING(out, "file name"),
     .help = "append to FILE (default: stdout); SIGHUP reopens it"},
    {.name = "exec",
     .arg = "CMD",
     SEC(OUTPUT),
     STRING(exec_cmd, "command"),
     .help = "pipe lines into CMD (run by /bin/sh)"},
    {.name = "sqlite",
     .arg = "FILE",
     SEC(OUTPUT),
     STRING(sqlite, "file name"),
     .help = "store messages, readings and the latest value per\n"
             "vehicle property in SQLite FILE (docs/database.md)"},
    {.name = "postgres",
     .arg = "CONNINFO",
     SEC(OUTPUT),
     STRING(postgres, "connection string"),
     .help = "the same in PostgreSQL (libpq CONNINFO or URI); safe\n"
             "for many instances of one share group"},
    {.name = "format",
     .arg = "envelope|flat|raw",
     SEC(OUTPUT),
     CHOICE(format, "a format (envelope, flat or raw)"),
     .help = "one compact envelope per line (default), one\n"
             "line per reading, or the payload as received"},
    {.name = "dead-letter",
     .arg = "FILE",
     SEC(OUTPUT),
     STRING(dead_letter, "file name"),
     .help = "payloads that are not valid envelopes (default\n"
             "FILE.dead beside --out, else stderr)"},
    /* At least 1: the delivery pipeline has no "dedupe off" mode, and a 0
     * that silently meant the default would surprise. */
    {.name = "dedupe",
     .arg = "N",
     SEC(OUTPUT),
     NUMBER(dedupe, 1, 100000000ul, "a number of ids (1..100000000)"),
     .help = "message ids remembered (default 1000000)"},
    {.name = "max-delay-ms",
     .arg = "MS",
     SEC(OUTPUT),
     NUMBER(max_delay_ms, 0, 60000ul, "a delay in milliseconds (0..60000)"),
     .help = "longest a written message waits for its commit and\n"
             "PUBACK when more keep arriving (default 50)"},
    {.name = "stats",
     .arg = "SEC",
     SEC(OUTPUT),
     NUMBER(stats_s, 1, 86400ul, "an interval in seconds (1..86400)"),
     .help = "one stderr line every SEC seconds: received, written,\n"
             "duplicates, invalid, msgs/s, in-flight, reconnects,\n"
             "data age p50/p99, receive->written and receive->acked p50/p99"},
    /* General */
    {.name = "debug",
     .short_name = 'd',
     SEC(GENERAL),
     FLAG(debug),
     .help = "protocol debug messages on stderr"},
    {.name = "verbose", .short_name = 'v', SEC(GENERAL), FLAG(verbose), .help = "say more"},
    {.name = "quiet", SEC(GENERAL), FLAG(quiet), .help = "only errors (-q is QoS)"},
    {.name = "help", SEC(GENERAL), FLAG(help), .help = "this text"},
    {.name = "version", SEC(GENERAL), FLAG(version), .help = "print the version"},
};

const size_t hmq_opt_count = sizeof hmq_opt_table / sizeof hmq_opt_table[0];

static const hmq_opt_row *find_long(const char *name, size_t len) {
  size_t i;
  for (i = 0; i < hmq_opt_count; i++)
    if (strlen(hmq_opt_table[i].name) == len && strncmp(hmq_opt_table[i].name, name, len) == 0)
      return &hmq_opt_table[i];
  return NULL;
}

static const hmq_opt_row *find_short(char c) {
  size_t i;
  for (i = 0; i < hmq_opt_count; i++)
    if (hmq_opt_table[i].short_name == c)
      return &hmq_opt_table[i];
  return NULL;
}

/* 1 when v is one of the '|'-separated words of list. */
static int is_choice(const char *list, const char *v) {
  size_t n = strlen(v);
  const char *p = list;
  while (p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, v, n) == 0)
      return 1;
    p = bar ? bar + 1 : NULL;
  }
  return 0;
}

/* Store x in the unsigned-sized field at p (the range check has made it fit;
 * a non-negative value has the same representation in int and unsigned). */
static void store_number(void *p, size_t size, unsigned long x) {
  uint8_t u8 = (uint8_t)x;
  uint16_t u16 = (uint16_t)x;
  uint32_t u32 = (uint32_t)x;
  uint64_t u64 = (uint64_t)x;
  switch (size) {
  case 1:
    memcpy(p, &u8, 1);
    break;
  case 2:
    memcpy(p, &u16, 2);
    break;
  case 4:
    memcpy(p, &u32, 4);
    break;
  default:
    memcpy(p, &u64, 8);
    break;
  }
}

/* Apply one option with its value (NULL for flags). `flag` is the spelling
 * the user typed, for messages. */
static int apply(hmq_opts *o, const hmq_opt_row *d, const char *flag, const char *v, char *err,
                 size_t el) {
  char *field = (char *)o + d->off;
  unsigned long x = 0;
  int one = 1, rc = HMQ_EXIT_OK;
  switch (d->kind) {
  case HMQ_OPT_FLAG:
    memcpy(field, &one, sizeof one);
    break;
  case HMQ_OPT_STRING:
    if (d->lo && v[0] == '\0')
      return usage_fail(err, el, "%s: empty %s", flag, d->what);
    rc = put(field, d->size, v, flag, err, el);
    break;
  case HMQ_OPT_NUMBER:
    if (num(v, d->lo, d->hi, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not %s", flag, v, d->what);
    store_number(field, d->size, x);
    break;
  case HMQ_OPT_CHOICE:
    if (!is_choice(d->arg, v))
      return usage_fail(err, el, "%s: '%s' is not %s", flag, v, d->what);
    if (d->size)
      rc = put(field, d->size, v, flag, err, el);
    break;
  case HMQ_OPT_CUSTOM:
    rc = d->parse(o, flag, v, err, el);
    break;
  }
  if (rc == HMQ_EXIT_OK)
    o->set |= d->set_bit;
  return rc;
}

int hmq_opts_parse(hmq_opts *o, int argc, char *const *argv, char *err, size_t errlen) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    const hmq_opt_row *d;
    char flag[64];
    if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
      const char *eq = strchr(a + 2, '=');
      size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
      d = find_long(a + 2, len);
      snprintf(flag, sizeof flag, "--%.*s", (int)(len > 40 ? 40 : len), a + 2);
      if (!d)
        return usage_fail(err, errlen, "unknown option '%s'", flag);
      if (eq) {
        if (!d->arg)
          return usage_fail(err, errlen, "%s takes no value", flag);
        v = eq + 1;
      }
    } else if (a[0] == '-' && a[1] != '\0' && a[1] != '-') {
      d = find_short(a[1]);
      snprintf(flag, sizeof flag, "-%c", a[1]);
      if (!d)
        return usage_fail(err, errlen, "unknown option '%s'", flag);
      if (a[2] != '\0') {
        if (!d->arg)
          return usage_fail(err, errlen, "%s takes no value (options cannot be grouped: '%s')",
                            flag, a);
        v = a + 2; /* -p8883 */
      }
    } else {
      return usage_fail(err, errlen, "unexpected argument '%s' (options start with - or --)", a);
    }
    if (d->arg && v == NULL) {
      if (i + 1 >= argc)
        return usage_fail(err, errlen, "%s needs a value", flag);
      v = argv[++i];
    }
    if (apply(o, d, flag, v, err, errlen) != HMQ_EXIT_OK)
      return HMQ_EXIT_USAGE;
  }
  return HMQ_EXIT_OK;
}
