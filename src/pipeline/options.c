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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
  O_CAFILE = 1,
  O_CERT,
  O_KEY,
  O_HOST,
  O_PORT,
  O_QOS,
  O_VERSION_PROTO,
  O_ID,
  O_PERSIST,
  O_TOPIC,
  O_KEEPALIVE,
  O_EXPIRY,
  O_COUNT,
  O_TIMEOUT,
  O_DEBUG,
  O_VERBOSE,
  O_QUIET,
  O_BUNDLE,
  O_APP_ID,
  O_ENV,
  O_STATE_DIR,
  O_END_SESSION,
  O_OUT,
  O_EXEC,
  O_FORMAT,
  O_DEAD_LETTER,
  O_DEDUPE,
  O_STATS,
  O_MAX_DELAY,
  O_PLAIN,
  O_CONNECTIONS,
  O_HELP,
  O_VERSION
};

typedef struct opt_def {
  const char *name; /* long name without "--" */
  char short_name;  /* 0: none */
  int has_arg;
  enum opt_id id;
} opt_def;

static const opt_def opt_table[] = {
    {"cafile", 0, 1, O_CAFILE},
    {"cert", 0, 1, O_CERT},
    {"key", 0, 1, O_KEY},
    {"host", 'h', 1, O_HOST},
    {"port", 'p', 1, O_PORT},
    {"qos", 'q', 1, O_QOS},
    {"protocol-version", 'V', 1, O_VERSION_PROTO},
    {"id", 'i', 1, O_ID},
    {"disable-clean-session", 'c', 0, O_PERSIST},
    {"topic", 't', 1, O_TOPIC},
    {"keepalive", 'k', 1, O_KEEPALIVE},
    {"session-expiry", 'x', 1, O_EXPIRY},
    {"count", 'C', 1, O_COUNT},
    {"timeout", 'W', 1, O_TIMEOUT},
    {"debug", 'd', 0, O_DEBUG},
    {"verbose", 'v', 0, O_VERBOSE},
    {"quiet", 0, 0, O_QUIET},
    {"bundle", 0, 1, O_BUNDLE},
    {"app-id", 0, 1, O_APP_ID},
    {"env", 0, 1, O_ENV},
    {"state-dir", 0, 1, O_STATE_DIR},
    {"end-session", 0, 0, O_END_SESSION},
    {"out", 0, 1, O_OUT},
    {"exec", 0, 1, O_EXEC},
    {"format", 0, 1, O_FORMAT},
    {"dead-letter", 0, 1, O_DEAD_LETTER},
    {"dedupe", 0, 1, O_DEDUPE},
    {"stats", 0, 1, O_STATS},
    {"max-delay-ms", 0, 1, O_MAX_DELAY},
    {"plain", 0, 0, O_PLAIN},
    {"connections", 0, 1, O_CONNECTIONS},
    {"help", 0, 0, O_HELP},
    {"version", 0, 0, O_VERSION},
};

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

static const opt_def *find_long(const char *name, size_t len) {
  size_t i;
  for (i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
    if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0)
      return &opt_table[i];
  return NULL;
}

static const opt_def *find_short(char c) {
  size_t i;
  for (i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
    if (opt_table[i].short_name == c)
      return &opt_table[i];
  return NULL;
}

/* Apply one option with its value (NULL for flags). `flag` is the spelling
 * the user typed, for messages. */
static int apply(hmq_opts *o, const opt_def *d, const char *flag, const char *v, char *err,
                 size_t el) {
  unsigned long x = 0;
  switch (d->id) {
  case O_CAFILE:
    o->set |= HMQ_SET_CAFILE;
    return put(o->cafile, sizeof o->cafile, v, flag, err, el);
  case O_CERT:
    o->set |= HMQ_SET_CERT;
    return put(o->cert, sizeof o->cert, v, flag, err, el);
  case O_KEY:
    o->set |= HMQ_SET_KEY;
    return put(o->key, sizeof o->key, v, flag, err, el);
  case O_HOST:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty host name", flag);
    o->set |= HMQ_SET_HOST;
    return put(o->host, sizeof o->host, v, flag, err, el);
  case O_PORT:
    if (num(v, 1, 65535, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a port number (1..65535)", flag, v);
    o->port = (uint16_t)x;
    o->set |= HMQ_SET_PORT;
    return HMQ_EXIT_OK;
  case O_QOS:
    if (num(v, 0, 2, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a QoS (0, 1 or 2)", flag, v);
    o->qos = (int)x;
    o->set |= HMQ_SET_QOS;
    return HMQ_EXIT_OK;
  case O_VERSION_PROTO:
    if (strcmp(v, "5") != 0 && strcmp(v, "mqttv5") != 0)
      return usage_fail(err, el, "%s: '%s' is not supported: hmq speaks MQTT 5 only (use -V 5)",
                        flag, v);
    o->set |= HMQ_SET_VERSION;
    return HMQ_EXIT_OK;
  case O_ID:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty client id", flag);
    o->set |= HMQ_SET_ID;
    return put(o->client_id, sizeof o->client_id, v, flag, err, el);
  case O_PERSIST:
    o->persist = 1;
    o->set |= HMQ_SET_PERSIST;
    return HMQ_EXIT_OK;
  case O_TOPIC:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty topic filter", flag);
    if (!(o->set & HMQ_SET_TOPIC))
      o->topic_count = 0; /* the first explicit topic replaces any derived one */
    if (o->topic_count == HMQ_OPT_TOPICS_MAX)
      return usage_fail(err, el, "%s: at most %d topics", flag, HMQ_OPT_TOPICS_MAX);
    o->set |= HMQ_SET_TOPIC;
    if (put(o->topics[o->topic_count], HMQ_OPT_TOPIC, v, flag, err, el) != HMQ_EXIT_OK)
      return HMQ_EXIT_USAGE;
    o->topic_count++;
    return HMQ_EXIT_OK;
  case O_KEEPALIVE:
    /* MQTT 5.0 3.1.2.10: a two-byte value; mosquitto_sub refuses below 5. */
    if (num(v, 0, 65535, &x) != 0 || (x > 0 && x < 5))
      return usage_fail(err, el, "%s: '%s' is not a keepalive (0 or 5..65535 seconds)", flag, v);
    o->keepalive = (uint16_t)x;
    o->set |= HMQ_SET_KEEPALIVE;
    return HMQ_EXIT_OK;
  case O_EXPIRY:
    if (parse_expiry(v, &o->expiry) != 0)
      return usage_fail(err, el, "%s: '%s' is not a session expiry (seconds, or -1 for never)",
                        flag, v);
    o->set |= HMQ_SET_EXPIRY;
    return HMQ_EXIT_OK;
  case O_COUNT:
    if (num(v, 1, 0xFFFFFFFFul, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a message count (1 or more)", flag, v);
    o->count = x;
    return HMQ_EXIT_OK;
  case O_TIMEOUT:
    if (num(v, 1, 31536000ul, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a timeout in seconds (1 or more)", flag, v);
    o->timeout_s = x;
    return HMQ_EXIT_OK;
  case O_DEBUG:
    o->debug = 1;
    return HMQ_EXIT_OK;
  case O_VERBOSE:
    o->verbose = 1;
    return HMQ_EXIT_OK;
  case O_QUIET:
    o->quiet = 1;
    return HMQ_EXIT_OK;
  case O_BUNDLE:
    return put(o->bundle, sizeof o->bundle, v, flag, err, el);
  case O_APP_ID:
    if (v[0] == '\0' || strlen(v) > 100 || strpbrk(v, "/#+ ") != NULL)
      return usage_fail(err, el,
                        "%s: '%s' cannot be an application id (empty, over 100 characters, or "
                        "contains / # + space)",
                        flag, v);
    return put(o->app_id, sizeof o->app_id, v, flag, err, el);
  case O_ENV:
    if (strcmp(v, "sandbox") != 0 && strcmp(v, "live") != 0)
      return usage_fail(err, el, "%s: '%s' is not an environment (sandbox or live)", flag, v);
    return put(o->env, sizeof o->env, v, flag, err, el);
  case O_STATE_DIR:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty directory name", flag);
    return put(o->state_dir, sizeof o->state_dir, v, flag, err, el);
  case O_END_SESSION:
    o->end_session = 1;
    return HMQ_EXIT_OK;
  case O_OUT:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty file name", flag);
    return put(o->out, sizeof o->out, v, flag, err, el);
  case O_EXEC:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty command", flag);
    return put(o->exec_cmd, sizeof o->exec_cmd, v, flag, err, el);
  case O_FORMAT:
    if (strcmp(v, "envelope") != 0 && strcmp(v, "flat") != 0 && strcmp(v, "raw") != 0)
      return usage_fail(err, el, "%s: '%s' is not a format (envelope, flat or raw)", flag, v);
    return put(o->format, sizeof o->format, v, flag, err, el);
  case O_DEAD_LETTER:
    if (v[0] == '\0')
      return usage_fail(err, el, "%s: empty file name", flag);
    return put(o->dead_letter, sizeof o->dead_letter, v, flag, err, el);
  case O_DEDUPE:
    /* At least 1: the delivery pipeline has no "dedupe off" mode, and a 0
     * that silently meant the default would surprise. */
    if (num(v, 1, 100000000ul, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a number of ids (1..100000000)", flag, v);
    o->dedupe = x;
    return HMQ_EXIT_OK;
  case O_STATS:
    if (num(v, 1, 86400ul, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not an interval in seconds (1..86400)", flag, v);
    o->stats_s = x;
    return HMQ_EXIT_OK;
  case O_MAX_DELAY:
    if (num(v, 0, 60000ul, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a delay in milliseconds (0..60000)", flag, v);
    o->max_delay_ms = x;
    return HMQ_EXIT_OK;
  case O_PLAIN:
    o->plain = 1;
    return HMQ_EXIT_OK;
  case O_CONNECTIONS:
    if (num(v, 1, HMQ_OPT_CONN_MAX, &x) != 0)
      return usage_fail(err, el, "%s: '%s' is not a number of connections (1..%d)", flag, v,
                        HMQ_OPT_CONN_MAX);
    o->connections = (unsigned)x;
    return HMQ_EXIT_OK;
  case O_HELP:
    o->help = 1;
    return HMQ_EXIT_OK;
  case O_VERSION:
    o->version = 1;
    return HMQ_EXIT_OK;
  }
  return usage_fail(err, el, "%s: internal error", flag);
}

int hmq_opts_parse(hmq_opts *o, int argc, char *const *argv, char *err, size_t errlen) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    const opt_def *d;
    char flag[64];
    if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
      const char *eq = strchr(a + 2, '=');
      size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
      d = find_long(a + 2, len);
      snprintf(flag, sizeof flag, "--%.*s", (int)(len > 40 ? 40 : len), a + 2);
      if (!d)
        return usage_fail(err, errlen, "unknown option '%s'", flag);
      if (eq) {
        if (!d->has_arg)
          return usage_fail(err, errlen, "%s takes no value", flag);
        v = eq + 1;
      }
    } else if (a[0] == '-' && a[1] != '\0' && a[1] != '-') {
      d = find_short(a[1]);
      snprintf(flag, sizeof flag, "-%c", a[1]);
      if (!d)
        return usage_fail(err, errlen, "unknown option '%s'", flag);
      if (a[2] != '\0') {
        if (!d->has_arg)
          return usage_fail(err, errlen, "%s takes no value (options cannot be grouped: '%s')",
                            flag, a);
        v = a + 2; /* -p8883 */
      }
    } else {
      return usage_fail(err, errlen, "unexpected argument '%s' (options start with - or --)", a);
    }
    if (d->has_arg && v == NULL) {
      if (i + 1 >= argc)
        return usage_fail(err, errlen, "%s needs a value", flag);
      v = argv[++i];
    }
    if (apply(o, d, flag, v, err, errlen) != HMQ_EXIT_OK)
      return HMQ_EXIT_USAGE;
  }
  return HMQ_EXIT_OK;
}
