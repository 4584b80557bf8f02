/* SPDX-License-Identifier: MIT */
/*
 * hmq program: command line and configuration.
 *
 * The option set is a superset of the mosquitto_sub options that High
 * Mobility's snippet.txt uses, so the snippet runs with the word
 * `mosquitto_sub` replaced by `hmq`. The same parser reads the snippet out of
 * a --bundle directory (bundle.h); options given on the command line win.
 *
 * Everything is parsed into fixed buffers inside hmq_opts: no allocation, no
 * pointers into argv that could outlive it.
 */
#ifndef HMQ_APP_OPTIONS_H
#define HMQ_APP_OPTIONS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Exit codes of the hmq program (listed in --help and docs/hmq.1). */
#define HMQ_EXIT_OK      0
#define HMQ_EXIT_RUNTIME 1  /* runtime failure (connection lost for good, I/O) */
#define HMQ_EXIT_USAGE   2  /* bad command line */
#define HMQ_EXIT_CONFIG  3  /* configuration, certificate/TLS or state-dir error */
#define HMQ_EXIT_REFUSED 4  /* CONNACK refusal or SUBSCRIBE refused by the broker */
#define HMQ_EXIT_SINK    5  /* output could not be written or synced */
#define HMQ_EXIT_TIMEOUT 27 /* -W timeout expired (same code as mosquitto_sub) */

#define HMQ_OPT_PATH       1024
#define HMQ_OPT_ID         256
#define HMQ_OPT_TOPIC      512
#define HMQ_OPT_TOPICS_MAX 4
#define HMQ_OPT_WARN_MAX   8
#define HMQ_OPT_WARN_LEN   320
#define HMQ_OPT_CONN_MAX   64

#define HMQ_DEFAULT_HOST "mqtt-v2.high-mobility.com"

/* Bits of hmq_opts.set: which settings were given explicitly (used when a
 * bundle's snippet fills in the rest). */
enum hmq_opt_bit {
  HMQ_SET_HOST = 1u << 0,
  HMQ_SET_PORT = 1u << 1,
  HMQ_SET_CAFILE = 1u << 2,
  HMQ_SET_CERT = 1u << 3,
  HMQ_SET_KEY = 1u << 4,
  HMQ_SET_ID = 1u << 5,
  HMQ_SET_TOPIC = 1u << 6,
  HMQ_SET_QOS = 1u << 7,
  HMQ_SET_PERSIST = 1u << 8, /* -c / --disable-clean-session */
  HMQ_SET_EXPIRY = 1u << 9,
  HMQ_SET_KEEPALIVE = 1u << 10,
  HMQ_SET_VERSION = 1u << 11
};

typedef struct hmq_opts {
  unsigned set; /* HMQ_SET_* */
  /* connection (mosquitto_sub compatible) */
  char host[HMQ_OPT_ID];
  uint16_t port; /* 0: default (8883, 1883 with --plain) */
  char cafile[HMQ_OPT_PATH];
  char cert[HMQ_OPT_PATH];
  char key[HMQ_OPT_PATH];
  char client_id[HMQ_OPT_ID];
  char topics[HMQ_OPT_TOPICS_MAX][HMQ_OPT_TOPIC];
  size_t topic_count;
  int qos;                 /* default 1 */
  int persist;             /* 1: Clean Start 0 + Session Expiry (from -c, --bundle, --app-id) */
  int64_t expiry;          /* -x; -1 = not given */
  uint32_t session_expiry; /* resolved by hmq_opts_finish */
  uint16_t keepalive;      /* -k, default 60 */
  unsigned long count;     /* -C; 0 = unlimited */
  unsigned long timeout_s; /* -W; 0 = none */
  int debug;               /* -d */
  int verbose;             /* -v */
  int quiet;               /* --quiet */
  /* High Mobility conveniences */
  char bundle[HMQ_OPT_PATH];
  char app_id[HMQ_OPT_ID];
  char env[16];
  char state_dir[HMQ_OPT_PATH];
  int end_session;
  /* delivery */
  char out[HMQ_OPT_PATH];
  char exec_cmd[HMQ_OPT_PATH];
  char sqlite[HMQ_OPT_PATH];   /* --sqlite FILE */
  char postgres[HMQ_OPT_PATH]; /* --postgres CONNINFO */
  char format[16];             /* envelope | flat | raw */
  char dead_letter[HMQ_OPT_PATH];
  unsigned long dedupe; /* ids remembered, default 1,000,000 */
  unsigned long stats_s;
  unsigned long max_delay_ms; /* default 50 */
  int plain;
  unsigned connections; /* 1..HMQ_OPT_CONN_MAX */
  int help;
  int version;
  /* warnings found while parsing/finishing (printed by main unless --quiet) */
  char warn[HMQ_OPT_WARN_MAX][HMQ_OPT_WARN_LEN];
  size_t warn_count;
} hmq_opts;

/* Reset o to the defaults (qos 1, keepalive 60, format envelope, dedupe
 * 1,000,000, max-delay 50 ms, one connection). */
void hmq_opts_init(hmq_opts *o);

/* Parse argv[1..argc-1] into o (argv[0] is the program name and is
 * skipped). Options may repeat; the last one wins (except --topic, which
 * adds). Returns HMQ_EXIT_OK, or HMQ_EXIT_USAGE with a one-line message in
 * err that names the offending option. Does no I/O. */
int hmq_opts_parse(hmq_opts *o, int argc, char *const *argv, char *err, size_t errlen);

/* Complete a parsed configuration after any bundle has been merged in:
 * derive the topic from --app-id/--env, resolve the session expiry, the
 * default port, check the client id and topic against High Mobility's
 * documented format (warnings), fix a `<uuid>#` topic (missing '/' before
 * '#', invalid per MQTT-4.7.1-1) with a warning, and refuse impossible
 * combinations. The client id may still be empty here when it is derived
 * later from the state dir (instance.h). Returns HMQ_EXIT_OK or HMQ_EXIT_USAGE with err filled. */
int hmq_opts_finish(hmq_opts *o, char *err, size_t errlen);

/* Append a warning (printf-style) to o->warn; silently drops past
 * HMQ_OPT_WARN_MAX. */
void hmq_opts_warn(hmq_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* 1 when s is a UUID in 8-4-4-4-12 hex form (either case). */
int hmq_opts_is_uuid(const char *s);

/* Check a client id / topic against the documented High Mobility format;
 * adds a warning to o and returns 0 when it does not match, else 1. */
int hmq_opts_check_id(hmq_opts *o, const char *id);
int hmq_opts_check_topic(hmq_opts *o, const char *topic);

/* The option table: one row per option, the single source of the parser
 * (hmq_opts_parse), the --help text (hmq_opts_usage) and the check that
 * docs/hmq.1 lists exactly these options (tests/test_options_doc.c). To add
 * an option, add a row (and a field in hmq_opts); --help follows, the test
 * names what docs/hmq.1 lacks. */
typedef enum hmq_opt_kind {
  HMQ_OPT_FLAG,   /* no value: stores 1 in an int field */
  HMQ_OPT_STRING, /* copied into a char[] field; refused when too long, or empty if lo == 1 */
  HMQ_OPT_NUMBER, /* decimal in [lo, hi], no sign or suffix, into an unsigned-sized field */
  HMQ_OPT_CHOICE, /* one of the '|'-separated words of `arg`, copied (if size > 0) */
  HMQ_OPT_CUSTOM  /* `parse` does it */
} hmq_opt_kind;

typedef enum hmq_opt_section {
  HMQ_OPT_SEC_CONNECTION,
  HMQ_OPT_SEC_HM,
  HMQ_OPT_SEC_OUTPUT,
  HMQ_OPT_SEC_GENERAL,
  HMQ_OPT_SEC_COUNT
} hmq_opt_section;

typedef struct hmq_opt_row {
  const char *name;        /* long name without "--" */
  char short_name;         /* 0: none */
  const char *arg;         /* value placeholder in --help and docs/hmq.1; NULL: a flag */
  hmq_opt_section section; /* --help heading */
  const char *help;        /* --help text; '\n' starts a continuation line */
  hmq_opt_kind kind;
  size_t off, size;     /* the hmq_opts field (size 0: none) */
  unsigned long lo, hi; /* NUMBER: range; STRING: lo 1 refuses an empty value */
  const char *what;     /* error wording: "'v' is not <what>" (STRING: "empty <what>") */
  unsigned set_bit;     /* HMQ_SET_* recorded in hmq_opts.set, or 0 */
  /* CUSTOM: parse v into o; returns HMQ_EXIT_OK or HMQ_EXIT_USAGE with err
   * naming `flag` (the spelling the user typed). */
  int (*parse)(hmq_opts *o, const char *flag, const char *v, char *err, size_t errlen);
} hmq_opt_row;

extern const hmq_opt_row hmq_opt_table[];
extern const size_t hmq_opt_count;
/* Heading of each section in --help. */
extern const char *const hmq_opt_section_title[HMQ_OPT_SEC_COUNT];

/* Print the --help text to f: examples, the table's rows by section, signals
 * and exit codes. */
void hmq_opts_usage(FILE *f);

#endif
