/* SPDX-License-Identifier: MIT */
/*
 * hmq program entry: options → bundle → checks → state dir → delivery
 * pipeline → N links → loop. Every failure before the loop maps to one of
 * the documented exit codes (options.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hmq/link.h"

#include "pipeline/bundle.h"
#include "pipeline/deliver.h"
#include "pipeline/instance.h"
#include "pipeline/loop.h"
#include "pipeline/options.h"

/* Maximum Packet Size we announce (MQTT 5.0 3.1.2.11.4). Generous on
 * purpose: the server silently drops a PUBLISH larger than this and counts
 * it as delivered (docs/stream.md), so a small value loses data without a trace.
 * Envelopes are ~1-2 KB; bulk arrays can be far larger. */
#define MAX_PACKET (4u * 1024u * 1024u)
/* Receive Maximum we announce (always sent: mosquitto 2.0 takes an absent
 * one as its own default of 20). 2048 is the loop's largest commit batch:
 * a wider window only puts more unread data on the wire (at 30 ms round
 * trip 2048 still allows ~68,000 msg/s), and at shutdown that unread data
 * is what the broker resends. A broker's smaller window (e.g. 50) decides. */
#define RECEIVE_MAX 2048u
/* --sqlite, --postgres: a wider window and a batch of up to this many
 * messages (loop.h db_batch_max). A SQLite commit rewrites about the same
 * pages (the vehicle-keyed readings index, latest) for 900 messages as
 * for 4000 (BENCHMARKS.md "SQLite after issue-12 tuning"); a PostgreSQL
 * batch pays its statements and COMMIT once. With the store on the sync
 * thread the window is shared by the batch being stored and the one
 * filling, so each holds about half of it (BENCHMARKS.md "Database
 * stores off the loop"). */
#define RECEIVE_MAX_DB 8192u
#define TX_CAP         (512u * 1024u) /* CONNECT/SUBSCRIBE + up to 65535 4-byte PUBACKs */
#define ALIAS_MAX      16u
#define ALIAS_CAP      (ALIAS_MAX * (HMQ_OPT_TOPIC + 2u))

static hmq_opts opts;

static void print_warnings(const hmq_opts *o) {
  size_t i;
  if (o->quiet)
    return;
  for (i = 0; i < o->warn_count; i++)
    fprintf(stderr, "hmq: warning: %s\n", o->warn[i]);
  if (o->warn_count == HMQ_OPT_WARN_MAX)
    fprintf(stderr, "hmq: warning: (more warnings not shown)\n");
}

static int usage_error(const char *msg) {
  fprintf(stderr, "hmq: %s\nTry 'hmq --help' for more information.\n", msg);
  return HMQ_EXIT_USAGE;
}

/* Put /dev/null on each of descriptors 0-2 that is closed, before anything
 * else is opened: otherwise the first file hmq opens (the lock file, --out,
 * the dead-letter file) would take its number, and what is meant for
 * standard output or error would be written into it. Returns a bit mask of
 * the descriptors that were closed (bit fd), or -1 when /dev/null could not
 * take a place. */
static int fill_std_fds(void) {
  int fd, closed = 0;
  for (fd = 0; fd <= 2; fd++) {
    int got;
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      continue;
    got = open("/dev/null", O_RDWR); /* the lowest free number: fd */
    if (got != fd) {
      if (got >= 0)
        close(got);
      return -1;
    }
    closed |= 1 << fd;
  }
  return closed;
}

/* A start-up refusal that must be seen although standard error may be
 * gone: to syslog(3) always, and to standard error when it was open. */
static void report_startup(int std_closed, const char *msg) {
  openlog("hmq", LOG_PID, LOG_USER);
  syslog(LOG_ERR, "%s", msg);
  closelog();
  if (!(std_closed & 4))
    fprintf(stderr, "hmq: %s\n", msg);
}

/* A private key others can read gives away this client's identity: say so
 * before the path goes to TLS (which reads it without looking). */
static void warn_key_mode(const hmq_opts *o) {
  struct stat st;
  if (o->plain || o->quiet || !o->key[0] || stat(o->key, &st) != 0)
    return;
  if (st.st_mode & (S_IRGRP | S_IROTH))
    fprintf(stderr,
            "hmq: warning: private key %s is %s-readable (mode %03o): whoever can read it can "
            "connect as this client; chmod 600 it\n",
            o->key, (st.st_mode & S_IROTH) ? "world" : "group", (unsigned)(st.st_mode & 0777));
}

/* The Receive Maximum we announce on each connection. */
static unsigned receive_max(const hmq_opts *o) {
  return o->sqlite[0] || o->postgres[0] ? RECEIVE_MAX_DB : RECEIVE_MAX;
}

/* The messages go to standard output (no file, command or database). */
static int sink_is_stdout(const hmq_opts *o) {
  return !o->end_session && !o->out[0] && !o->exec_cmd[0] && !o->sqlite[0] && !o->postgres[0];
}

static int open_delivery(hmq_deliver *d, const hmq_opts *o, const char *state_dir) {
  hmq_deliver_config dc;
  char err[512] = "";
  memset(&dc, 0, sizeof dc);
  dc.sink = o->out[0] ? HMQ_SINK_FILE : o->exec_cmd[0] ? HMQ_SINK_EXEC : HMQ_SINK_STDOUT;
  dc.out_path = o->out;
  dc.exec_cmd = o->exec_cmd;
  if (hmq_format_from_name(o->format, &dc.format) != 0)
    return usage_error("--format: unknown format");
  dc.dead_path = o->dead_letter;
  dc.sqlite_path = o->sqlite;
  dc.pg_conninfo = o->postgres;
  dc.state_dir = state_dir;
  dc.dedupe_capacity = o->dedupe;
  dc.max_message = MAX_PACKET;
  dc.max_pending = (size_t)receive_max(o) * o->connections;
  dc.verbose = o->verbose;
  dc.log = stderr;
  if (hmq_deliver_open(d, &dc, err, sizeof err) != HMQ_OK) {
    fprintf(stderr, "hmq: %s\n", err[0] ? err : hmq_deliver_error(d));
    /* asked to stop while the sink waited (a FIFO without a reader):
     * nothing was received, a normal stop (-1) */
    if (hmq_sink_stopping())
      return -1;
    /* the dedupe log in the state dir (unreadable, foreign): configuration */
    return d->state_failed ? HMQ_EXIT_CONFIG : HMQ_EXIT_SINK;
  }
  return HMQ_EXIT_OK;
}

int main(int argc, char **argv) {
  static hmq_instance inst;
  static hmq_deliver deliver;
  static hmq_loop L;
  char err[1024] = "";
  hmq_client_config *ccfg;
  hmq_client_mem *mem;
  hmq_link **links;
  hmq_link_config lcfg;
  hmq_sub_filter subs[HMQ_OPT_TOPICS_MAX];
  char(*ids)[HMQ_OPT_ID];
  size_t i, n;
  int rc, std_closed;

  std_closed = fill_std_fds();
  if (std_closed < 0) {
    report_startup(7, "a standard descriptor (0, 1 or 2) is closed and /dev/null cannot take "
                      "its place: refusing to start");
    return HMQ_EXIT_CONFIG;
  }
  hmq_opts_init(&opts);
  if (hmq_opts_parse(&opts, argc, argv, err, sizeof err) != HMQ_EXIT_OK)
    return usage_error(err);
  if (opts.help) {
    hmq_opts_usage(stdout);
    return HMQ_EXIT_OK;
  }
  if (opts.version) {
    char tls_info[8192];
    hmq_tls_build_info(tls_info, sizeof tls_info);
    printf("hmq %s\n%s", HMQ_VERSION_STRING, tls_info);
    return HMQ_EXIT_OK;
  }
  if (hmq_bundle_apply(&opts, err, sizeof err) != HMQ_EXIT_OK) {
    print_warnings(&opts);
    fprintf(stderr, "hmq: %s\n", err);
    return HMQ_EXIT_CONFIG;
  }
  rc = hmq_opts_finish(&opts, err, sizeof err);
  print_warnings(&opts);
  if (rc != HMQ_EXIT_OK)
    return usage_error(err);
  warn_key_mode(&opts);
  if ((std_closed & 2) && sink_is_stdout(&opts)) {
    report_startup(std_closed, "standard output is closed and is the sink (no --out, --exec, "
                               "--sqlite or --postgres): refusing to start, nothing received "
                               "or acknowledged");
    return HMQ_EXIT_SINK;
  }
  if (hmq_instance_open(&inst, &opts, err, sizeof err) != HMQ_EXIT_OK) {
    fprintf(stderr, "hmq: %s\n", err);
    return HMQ_EXIT_CONFIG;
  }
  n = opts.connections;
  if (opts.verbose)
    fprintf(stderr, "hmq: client id %s%s, topic %s, state dir %s\n", opts.client_id,
            n > 1 ? "-1.." : "", opts.topic_count ? opts.topics[0] : "-", inst.dir);

  /* Signals first: a stop request while a sink waits at open (a FIFO
   * without a reader) ends that wait instead of killing hmq. */
  L.sig_fd = hmq_loop_signals();
  if (L.sig_fd < 0) {
    perror("hmq: signal pipe");
    hmq_instance_close(&inst);
    return HMQ_EXIT_RUNTIME;
  }
  if (!opts.end_session && (rc = open_delivery(&deliver, &opts, inst.dir)) != HMQ_EXIT_OK) {
    hmq_instance_close(&inst);
    return rc < 0 ? HMQ_EXIT_OK : rc; /* < 0: stopped while the sink waited */
  }

  /* Startup allocations only: nothing below is freed and re-made per
   * message. */
  links = calloc(n, sizeof *links);
  ccfg = calloc(n, sizeof *ccfg);
  mem = calloc(n, sizeof *mem);
  ids = calloc(n, sizeof *ids);
  L.acks_cap = 4096;
  L.acks = calloc(L.acks_cap, sizeof *L.acks);
  if (!links || !ccfg || !mem || !ids || !L.acks) {
    fprintf(stderr, "hmq: out of memory\n");
    return HMQ_EXIT_RUNTIME;
  }
  memset(subs, 0, sizeof subs);
  for (i = 0; i < opts.topic_count; i++) {
    subs[i].filter = hmq_str_c(opts.topics[i]);
    subs[i].qos = (uint8_t)opts.qos;
  }
  hmq_link_config_default(&lcfg);
  lcfg.tls.host = opts.host;
  lcfg.tls.port = opts.port;
  lcfg.tls.plain = opts.plain != 0;
  lcfg.tls.ca_file = opts.plain ? NULL : opts.cafile;
  lcfg.tls.cert_file = opts.plain ? NULL : opts.cert;
  lcfg.tls.key_file = opts.plain ? NULL : opts.key;
  lcfg.seed = (uint64_t)getpid() ^ (uint64_t)time(NULL) << 16;

  for (i = 0; i < n; i++) {
    if (n > 1)
      snprintf(ids[i], HMQ_OPT_ID, "%.200s-%zu", opts.client_id, i + 1);
    else
      snprintf(ids[i], HMQ_OPT_ID, "%s", opts.client_id);
    hmq_client_config_default(&ccfg[i]);
    ccfg[i].client_id = hmq_str_c(ids[i]);
    ccfg[i].keep_alive = opts.keepalive;
    ccfg[i].receive_max = (uint16_t)receive_max(&opts);
    ccfg[i].max_packet_size = MAX_PACKET;
    ccfg[i].topic_alias_max = ALIAS_MAX;
    if (opts.end_session) {
      /* MQTT 5.0 3.1.2.4 / 3.1.2.11.2: Clean Start 1 discards the old
       * session, expiry 0 lets the new one end at our DISCONNECT. */
      ccfg[i].clean_start = 1;
      ccfg[i].session_expiry = 0;
      ccfg[i].subs = NULL;
      ccfg[i].sub_count = 0;
    } else {
      ccfg[i].clean_start = opts.persist ? 0 : 1;
      ccfg[i].session_expiry = opts.session_expiry;
      ccfg[i].subs = subs;
      ccfg[i].sub_count = opts.topic_count;
    }
    mem[i].rx_cap = MAX_PACKET;
    mem[i].rx = malloc(mem[i].rx_cap);
    mem[i].tx_cap = TX_CAP;
    mem[i].tx = malloc(mem[i].tx_cap);
    mem[i].slots_cap = receive_max(&opts);
    mem[i].slots = calloc(mem[i].slots_cap, sizeof *mem[i].slots);
    mem[i].alias_cap = ALIAS_CAP;
    mem[i].alias = malloc(mem[i].alias_cap);
    links[i] = calloc(1, sizeof **links);
    if (!mem[i].rx || !mem[i].tx || !mem[i].slots || !mem[i].alias || !links[i]) {
      fprintf(stderr, "hmq: out of memory\n");
      return HMQ_EXIT_RUNTIME;
    }
    lcfg.seed += i;
    hmq_link_init(links[i], &lcfg, &ccfg[i], &mem[i]);
  }

  for (i = 0; i < n; i++) {
    hmq_status st = hmq_link_start(links[i], hmq_now_ms());
    if (st != HMQ_OK) {
      fprintf(stderr, "hmq: %s\n",
              hmq_link_errmsg(links[i])[0] ? hmq_link_errmsg(links[i]) : hmq_status_str(st));
      rc = hmq_loop_exit_code(st);
      goto out;
    }
  }
  L.o = &opts;
  L.d = opts.end_session ? NULL : &deliver;
  L.links = links;
  L.ids = ids;
  L.n = n;
  L.receive_max = (uint16_t)receive_max(&opts);
  L.db_batch_max = opts.sqlite[0] || opts.postgres[0] ? RECEIVE_MAX_DB : 0;
  L.next_stats = hmq_now_ms() + (uint64_t)opts.stats_s * 1000u;
  rc = hmq_loop_run(&L);
  if (opts.end_session && rc == HMQ_EXIT_OK && !opts.quiet)
    fprintf(stderr, "hmq: session of %s ended\n", opts.client_id);

out:
  for (i = 0; i < n; i++) {
    hmq_link_free(links[i]);
    free(links[i]);
    free(mem[i].rx);
    free(mem[i].tx);
    free(mem[i].slots);
    free(mem[i].alias);
  }
  free(links);
  free(ccfg);
  free(mem);
  free(ids);
  free(L.acks);
  if (!opts.end_session)
    hmq_deliver_close(&deliver);
  hmq_instance_close(&inst);
  return rc;
}
