/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the main poll loop over N links, the delivery pipeline and a
 * signal self-pipe.
 *
 * Commit policy (the contract with deliver.h): commit when no socket has
 * anything more to read right now, when a link's in-flight window (our
 * Receive Maximum) is full, or when the oldest pending message is older than
 * --max-delay-ms; never on a timer alone. After a successful commit every
 * returned seq is acked on its link; the engine sends the PUBACKs in arrival
 * order on the next step.
 *
 * With a file or database sink the commit is asynchronous (deliver.h): when
 * a trigger fires the loop writes the lines out at once and, if no sync is
 * in flight, seals the batch and starts its sync on the sync thread; it
 * polls the thread's done fd beside the sockets and keeps reading, parsing
 * and writing meanwhile. When the sync completed, the batch's seqs are acked
 * at once (each on its own link) and whatever arrived during the sync is
 * sealed next (group commit). The "nothing more to read" trigger is per
 * link: a link whose socket ran dry with messages taken seals the batch
 * without waiting for the other links to run dry too, so no connection's
 * window waits for another's. --max-delay-ms bounds how long a message
 * waits to be sealed; a sync in flight adds its own duration. A database
 * store that did not go through is retried alone after the backoff
 * (100 ms doubling to 5 s); nothing is sealed after it until it is stored.
 */
#ifndef HMQ_APP_LOOP_H
#define HMQ_APP_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "hmq/link.h"

#include "pipeline/deliver.h"
#include "pipeline/options.h"

/* Seqs handed to the delivery pipeline carry the link index in their low
 * bits so one pipeline can serve several links. */
#define HMQ_LOOP_LINK_BITS 6

typedef struct hmq_loop {
  const hmq_opts *o;
  hmq_deliver *d; /* NULL for --end-session */
  hmq_link **links;
  char (*ids)[HMQ_OPT_ID]; /* client id of each link, for messages */
  size_t n;
  int sig_fd;           /* read end of the signal self-pipe */
  uint16_t receive_max; /* our Receive Maximum: the per-link window */
  /* run state */
  int stopping;  /* take no new messages; commit, ack, close */
  int no_commit; /* stopping after a delivery failure: ack nothing more */
  int flushing;  /* stopping: acks released, waiting for them to leave */
  int closing;   /* hmq_link_close() called on every link */
  int exit_code;
  uint64_t timeout_at;  /* -W deadline (monotonic), 0 = none */
  uint64_t next_stats;  /* monotonic */
  uint64_t flush_until; /* shutdown: close at the latest then */
  uint64_t grace_at;    /* shutdown: PUBACKs written; close at this time */
  uint64_t takeovers;
  uint64_t connack_ms[HMQ_OPT_CONN_MAX];  /* last CONNACK per link (monotonic) */
  unsigned quick_drops[HMQ_OPT_CONN_MAX]; /* closes soon after CONNACK, in a row */
  size_t connacks;                        /* --end-session: links that got a CONNACK */
  uint64_t *acks;                         /* commit output, allocated once */
  size_t unsealed[HMQ_OPT_CONN_MAX];      /* per link: messages taken since the last seal */
  /* database sink unavailable (deliver_db.h): retry with backoff */
  uint64_t db_down_since; /* monotonic ms of the first failed commit, 0 when up */
  uint64_t db_retry_at;   /* next commit attempt */
  uint64_t db_said_at;    /* last stderr report */
  unsigned db_backoff_ms;
  /* A database sink, whose commit costs about the same for a few messages
   * as for thousands (--sqlite, --postgres): the batch may grow to
   * db_batch_max messages (0: HMQ_LOOP_BATCH_MAX, as for every other
   * sink). Without the commit thread (a dead-letter FIFO keeps the commit
   * synchronous) a dry socket also commits only after the oldest message
   * waited as long as the last commit took (db_commit_ms; loop.c
   * db_wait_left); with it, what arrives during a store is the next batch. */
  size_t db_batch_max;
  uint64_t db_commit_ms;
  size_t acks_cap;
} hmq_loop;

/* Run until -C is reached, -W expires, a signal stops us, --end-session is
 * done, or a fatal error. The links must have been started. Returns the
 * process exit code (HMQ_EXIT_*). */
int hmq_loop_run(hmq_loop *L);

/* Create the self-pipe and install SIGINT/SIGTERM/SIGHUP handlers that
 * write into it. Returns the read end, or -1 with errno set. */
int hmq_loop_signals(void);

/* Map a link failure status to an exit code: TLS/certificate/file problems
 * give HMQ_EXIT_CONFIG, refusals HMQ_EXIT_REFUSED, anything else
 * HMQ_EXIT_RUNTIME. */
int hmq_loop_exit_code(hmq_status st);

#endif
