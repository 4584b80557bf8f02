/* SPDX-License-Identifier: MIT */
/*
 * The delivery pipeline's setup and teardown: every buffer the per-message
 * path uses is allocated here, once, and the dedupe set is rebuilt from the
 * state dir and the end of the sink file.
 */
#include "pipeline/deliver.h"
#include "pipeline/deliver_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HMQ_DELIVER_DEFAULT_DEDUPE  1000000u
#define HMQ_DELIVER_DEFAULT_MESSAGE (1024u * 1024u)
#define HMQ_DELIVER_DEFAULT_PENDING 65535u
#define HMQ_DELIVER_DEFAULT_BUFFER  (256u * 1024u)
#define HMQ_DELIVER_DEAD_BUFFER     (64u * 1024u)
/* The stream's envelopes take one token per ~9 bytes; 1 per 6 leaves room
 * for denser documents before they are dead-lettered as too big. */
#define HMQ_DELIVER_BYTES_PER_TOKEN 6u

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static hmq_status open_fail(hmq_deliver *d, hmq_status st, char *errbuf, size_t errlen,
                            const char *msg) {
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
  snprintf(d->errmsg, sizeof d->errmsg, "%s", msg);
  hmq_deliver_close(d);
  return st;
}

/* After a crash or a full disk: cut off the end of --out that no commit
 * acknowledged (or end a torn line of a file we have no record of), learn
 * the ids of the lines kept after the last logged commit, and log the
 * file's new position (dedupe_store.h, hmq_dstore_recover). */
static hmq_status recover_file(hmq_deliver *d, char *msg, size_t msglen) {
  uint64_t size = d->out.size;
  /* The sink fd is write-only; read through a second descriptor, checked
   * to be the very same file. */
  int rfd = open(d->out.arg, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (rfd < 0 || fstat(rfd, &sb) != 0 || (uint64_t)sb.st_dev != d->out.dev ||
      (uint64_t)sb.st_ino != d->out.ino) {
    snprintf(msg, msglen, "cannot read back %s: %s", d->out.arg,
             rfd < 0 ? strerror(errno) : "replaced while opening");
    if (rfd >= 0)
      close(rfd);
    return HMQ_ERR_IO;
  }
  hmq_dstore_tail tail;
  hmq_status st = hmq_dstore_recover(&d->store, &d->set, rfd, d->out.dev, d->out.ino, size,
                                     d->format == HMQ_FORMAT_FLAT, d->out.buf, d->out.cap, &tail);
  int e = errno;
  close(rfd);
  if (st != HMQ_OK) {
    snprintf(msg, msglen, "read %s (rescanning its end at start): %s", d->out.arg, strerror(e));
    return st;
  }
  if (tail.keep < size) {
    /* Never acknowledged: the broker sends those messages again. */
    if (ftruncate(d->out.fd, (off_t)tail.keep) != 0 || fdatasync(d->out.fd) != 0) {
      snprintf(msg, msglen, "cut the unacknowledged end off %s: %s", d->out.arg, strerror(errno));
      return HMQ_ERR_IO;
    }
    d->out.size = tail.keep;
    if (d->verbose)
      fprintf(d->log ? d->log : stderr,
              "hmq: %s: cut %llu bytes off its end (written after the last commit, never "
              "acknowledged: the broker sends them again)\n",
              d->out.arg, (unsigned long long)(size - tail.keep));
  }
  if (tail.end_line &&
      (hmq_sink_write(&d->out, "\n", 1) != HMQ_OK || hmq_sink_commit(&d->out) != HMQ_OK)) {
    hmq_sink_describe(&d->out, msg, msglen);
    return HMQ_ERR_IO;
  }
  if (hmq_dstore_recovered(&d->store, d->out.dev, d->out.ino, d->out.size) != HMQ_OK) {
    snprintf(msg, msglen, "%s %s: %s", d->store.err_op ? d->store.err_op : "write",
             d->store.log_path, strerror(d->store.err_no));
    return HMQ_ERR_IO;
  }
  return HMQ_OK;
}

hmq_status hmq_deliver_open(hmq_deliver *d, const hmq_deliver_config *cfg, char *errbuf,
                            size_t errlen) {
  char msg[512];
  if (!d)
    return HMQ_ERR_ARG;
  memset(d, 0, sizeof *d);
  d->out.fd = d->dead.fd = d->store.fd = -1;
  d->open = 1;
  if (!cfg || (unsigned)cfg->format > HMQ_FORMAT_RAW ||
      (cfg->sink != HMQ_SINK_STDOUT && cfg->sink != HMQ_SINK_FILE && cfg->sink != HMQ_SINK_EXEC))
    return open_fail(d, HMQ_ERR_ARG, errbuf, errlen, "invalid delivery configuration");
  d->format = cfg->format;
  d->verbose = cfg->verbose;
  d->log = cfg->log;
  size_t dedupe = cfg->dedupe_capacity ? cfg->dedupe_capacity : HMQ_DELIVER_DEFAULT_DEDUPE;
  size_t maxmsg = cfg->max_message ? cfg->max_message : HMQ_DELIVER_DEFAULT_MESSAGE;
  size_t bufcap = cfg->buffer_size ? cfg->buffer_size : HMQ_DELIVER_DEFAULT_BUFFER;
  if (bufcap < maxmsg + HMQ_DELIVER_LINE_SLACK)
    bufcap = maxmsg + HMQ_DELIVER_LINE_SLACK; /* one whole formatted message always fits */
  d->pend_cap = cfg->max_pending ? cfg->max_pending : HMQ_DELIVER_DEFAULT_PENDING;

  size_t ntok = maxmsg / HMQ_DELIVER_BYTES_PER_TOKEN + 256;
  size_t setmem = hmq_dedupe_mem_size(dedupe);
  d->tok_mem = malloc(ntok * HMQ_JSON_TOKEN_BYTES);
  if (setmem != 0)
    (void)hmq_dedupe_mem_get(&d->set_mem, setmem, 0); /* p stays NULL when it fails */
  d->seqs = malloc(d->pend_cap * sizeof *d->seqs);
  d->arrived = malloc(d->pend_cap * sizeof *d->arrived);
  d->staged = malloc(d->pend_cap * sizeof *d->staged);
  if (!d->tok_mem || !d->set_mem.p || !d->seqs || !d->arrived || !d->staged)
    return open_fail(d, HMQ_ERR_IO, errbuf, errlen, "out of memory for the delivery buffers");
  hmq_envelope_parser_init(&d->parser, d->tok_mem, ntok * HMQ_JSON_TOKEN_BYTES);
  if (d->set_mem.mapped) { /* zeroed by the kernel: no memset of the table */
    hmq_dedupe_init_zeroed(&d->set, d->set_mem.p, setmem, dedupe);
    /* its page faults now, not on the first messages (dedupe_mem.h) */
    hmq_dedupe_mem_prefault(&d->set_mem, 8 * (d->set.mask + 1) + ((size_t)2 << 20));
  } else
    hmq_dedupe_init(&d->set, d->set_mem.p, setmem, dedupe);
  hmq_stats_init(&d->stats, wall_ms());

  const char *arg = cfg->sink == HMQ_SINK_FILE ? cfg->out_path : cfg->exec_cmd;
  hmq_status st = hmq_sink_open(&d->out, cfg->sink, arg, bufcap, msg, sizeof msg);
  if (st != HMQ_OK)
    return open_fail(d, st, errbuf, errlen, msg);

  /* Dead-letter: explicit path, else beside --out, else stderr (stdout and
   * exec sinks carry data only). */
  char dead_path[4096];
  if (cfg->dead_path && *cfg->dead_path)
    snprintf(dead_path, sizeof dead_path, "%s", cfg->dead_path);
  else if (cfg->sink == HMQ_SINK_FILE)
    snprintf(dead_path, sizeof dead_path, "%s.dead", cfg->out_path);
  else if (cfg->sqlite_path && *cfg->sqlite_path)
    snprintf(dead_path, sizeof dead_path, "%s.dead", cfg->sqlite_path); /* beside the database */
  else
    dead_path[0] = 0;
  st = hmq_sink_open(&d->dead, dead_path[0] ? HMQ_SINK_FILE : HMQ_SINK_STDERR, dead_path,
                     HMQ_DELIVER_DEAD_BUFFER, msg, sizeof msg);
  if (st != HMQ_OK) {
    /* say which file this is: the user named --out or --sqlite, not it */
    char why[512];
    snprintf(why, sizeof why, "dead-letter file (%s): %.400s",
             cfg->dead_path && *cfg->dead_path ? "--dead-letter"
                                               : "the default beside the output; --dead-letter "
                                                 "names another",
             msg);
    return open_fail(d, st, errbuf, errlen, why);
  }

  if ((cfg->sqlite_path && *cfg->sqlite_path) || (cfg->pg_conninfo && *cfg->pg_conninfo)) {
    st = hmq_deliver_db_open(d, cfg, msg, sizeof msg);
    if (st != HMQ_OK)
      return open_fail(d, st, errbuf, errlen, msg);
  }
  st = hmq_dstore_open(&d->store, cfg->state_dir, &d->set, d->pend_cap, msg, sizeof msg);
  if (st != HMQ_OK) {
    d->state_failed = 1; /* a state-dir error (exit 3), not the output's */
    return open_fail(d, st, errbuf, errlen, msg);
  }
  if (d->out.kind == HMQ_SINK_FILE && d->out.sync) {
    /* The file can be rescanned at the next start: one fdatasync per
     * commit (the sink's) is enough, the log's can be lazy. */
    d->store.lazy_sync = 1;
    st = recover_file(d, msg, sizeof msg);
    if (st != HMQ_OK)
      return open_fail(d, st, errbuf, errlen, msg);
    /* Syncs off the loop thread (deliver.h): a regular --out file and a
     * dead-letter file (or a device) that needs no reader to drain. */
    if (!d->db && (d->dead.sync || d->dead.io == HMQ_SINK_IO_PLAIN) && !d->dead.fifo) {
      if (hmq_syncer_open(&d->sy) != HMQ_OK)
        return open_fail(d, HMQ_ERR_IO, errbuf, errlen, "cannot start the sync thread");
      d->async = 1;
      d->store.defer_sync = 1;
    }
  }
  if (d->db && !d->async) {
    /* The database stores each batch on the sync thread while the loop
     * reads the next (deliver.h), whatever the dead-letter sink is (one
     * the thread cannot sync, a pipe or a terminal, is committed on the
     * loop thread when the batch completes). The dedupe log may lag the
     * database by up to a second: an id it forgot in a crash is stored
     * again and absorbed by the database's primary key, so its sync can
     * be lazy. */
    if (hmq_syncer_open(&d->sy) != HMQ_OK)
      return open_fail(d, HMQ_ERR_IO, errbuf, errlen, "cannot start the sync thread");
    d->async = 1;
    d->store.lazy_sync = 1;
    d->store.defer_sync = 1;
  }
  if (errbuf && errlen)
    errbuf[0] = 0;
  return HMQ_OK;
}

void hmq_deliver_close(hmq_deliver *d) {
  if (!d || !d->open)
    return;
  hmq_syncer_close(&d->sy); /* a sync in flight finishes first */
  hmq_sink_close(&d->out);
  hmq_sink_close(&d->dead);
  hmq_deliver_db_close(d);
  hmq_dstore_close(&d->store);
  free(d->tok_mem);
  hmq_dedupe_mem_put(&d->set_mem);
  free(d->seqs);
  free(d->arrived);
  free(d->staged);
  d->tok_mem = NULL;
  d->seqs = d->arrived = d->staged = NULL;
  d->pend_count = d->staged_count = 0;
  d->open = 0;
}
