/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the --help text. It teaches by example first (the three ways
 * to start), then lists every option from the option table (options.h), so
 * the parser and --help cannot drift, then signals and exit codes.
 */
#include "pipeline/options.h"

#include <stdio.h>
#include <string.h>

/* Before the option table. */
static const char help_head[] =
    "hmq - receive High Mobility's MQTT vehicle data stream reliably (MQTT 5, QoS 1)\n"
    "\n"
    "Three ways to start:\n"
    "\n"
    "  1. The snippet.txt from your download, with mosquitto_sub replaced by hmq:\n"
    "       hmq --cafile ca_crt.pem --cert client_crt.pem --key client_key.pem \\\n"
    "           --host mqtt-v2.high-mobility.com --port 8883 --qos 1 -V 5 \\\n"
    "           --id '<app-id>-sandbox-<random>' --disable-clean-session \\\n"
    "           --topic '$share/<app-id>/sandbox/level13/<app-id>/#' --out data.ndjson\n"
    "\n"
    "  2. The unzipped download directory (certificates + snippet.txt):\n"
    "       hmq --bundle ~/Downloads/hm-mqtt --out data.ndjson\n"
    "\n"
    "  3. Application id and environment; hmq builds client id and topic and keeps\n"
    "     a random id suffix in its state dir so a restart resumes the session:\n"
    "       hmq --bundle DIR --app-id 879577a3-b25f-4a28-8c0e-7effcc7682a2 --env sandbox \\\n"
    "           --out data.ndjson --stats 10\n"
    "\n"
    "Every message is written (and fsynced, for --out) before its PUBACK leaves, and\n"
    "duplicates (same message_id) are dropped, also across restarts.\n"
    "\n";

/* After the option table. */
static const char help_tail[] =
    "Signals: SIGINT/SIGTERM commit, send the pending PUBACKs and disconnect\n"
    "(session kept); SIGHUP reopens --out (logrotate).\n"
    "\n"
    "Exit codes:\n"
    "  0  ok (-C reached, signal, --end-session)\n"
    "  1  runtime failure\n"
    "  2  usage error\n"
    "  3  configuration, certificate/TLS or state-dir error\n"
    "  4  refused by the broker (CONNACK refusal, subscription refused, session\n"
    "     taken over (0x8E) three times)\n"
    "  5  output (sink) failure: nothing unwritten was acknowledged (also: stdout\n"
    "     closed at start while it is the sink)\n"
    "  27 -W timeout (as mosquitto_sub)\n";

/* The column where option descriptions start. */
#define HELP_COL 25

/* One row: "  -h, --host HOST" padded to HELP_COL (or the text on the next
 * line when the names are wider), then the help lines, each continuation
 * indented to HELP_COL. */
static void print_row(FILE *f, const hmq_opt_row *r) {
  const char *p = r->help;
  int w;
  if (r->short_name)
    w = fprintf(f, "  -%c, --%s", r->short_name, r->name);
  else
    w = fprintf(f, "  --%s", r->name);
  if (r->arg)
    w += fprintf(f, " %s", r->arg);
  if (w > HELP_COL - 2) {
    fputc('\n', f);
    w = 0;
  }
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    fprintf(f, "%*s%.*s\n", HELP_COL - w, "", (int)len, p);
    w = 0;
    p = nl ? nl + 1 : p + len;
  }
}

void hmq_opts_usage(FILE *f) {
  int sec;
  size_t i;
  fputs(help_head, f);
  for (sec = 0; sec < HMQ_OPT_SEC_COUNT; sec++) {
    fprintf(f, "%s\n", hmq_opt_section_title[sec]);
    for (i = 0; i < hmq_opt_count; i++)
      if ((int)hmq_opt_table[i].section == sec)
        print_row(f, &hmq_opt_table[i]);
    fputc('\n', f);
  }
  fputs(help_tail, f);
}
