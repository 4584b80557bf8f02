/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the SQLite sink's checkpoint thread.
 *
 * In WAL mode a commit appends pages to the write-ahead log; a checkpoint
 * later copies them into the database file. SQLite's default runs that
 * checkpoint inside the COMMIT that crosses 1000 WAL pages, so the batch
 * waits for it (reading the log back, writing the pages again, syncing the
 * database file) before its PUBACKs can go. The sink turns the automatic
 * checkpoint off and hands it to this thread instead: its own connection
 * to the same file runs a PASSIVE checkpoint (it never blocks the writer,
 * which keeps committing meanwhile) whenever the sink asks and the thread
 * is idle.
 *
 * Durability does not depend on it: a committed batch is already synced in
 * the WAL (synchronous=FULL); the checkpoint only moves pages into the
 * database file. The thread's connection uses synchronous=FULL too, so it
 * syncs the database file before it marks pages as copied. A checkpoint
 * that fails is only noted (err, failures); the next one copies the same
 * pages again.
 */
#ifndef HMQ_PIPELINE_SQ_CKPT_H
#define HMQ_PIPELINE_SQ_CKPT_H

#include <pthread.h>
#include <stdint.h>

#include "hmq/hmq.h"

typedef struct hmq_sq_ckpt {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char *path;
  int running;       /* thread started */
  int job;           /* a checkpoint was asked for and not started yet */
  int busy;          /* a checkpoint runs (or is asked for) */
  int quit;          /* close: the thread ends */
  uint64_t runs;     /* checkpoints completed */
  uint64_t failures; /* checkpoints that failed */
  char err[256];     /* the last failure, "" when none */
} hmq_sq_ckpt;

/* Start the thread for the SQLite file `path` (copied). HMQ_OK or
 * HMQ_ERR_IO (no memory, no thread). */
hmq_status hmq_sq_ckpt_open(hmq_sq_ckpt *c, const char *path);

/* Ask for a checkpoint. Never blocks: returns 1 when one was started, 0
 * when one is still running (the caller asks again after its next
 * commit). */
int hmq_sq_ckpt_kick(hmq_sq_ckpt *c);

/* 1 while a checkpoint runs. */
int hmq_sq_ckpt_busy(hmq_sq_ckpt *c);

/* Wait until no checkpoint runs (returns at once when none does). */
void hmq_sq_ckpt_wait(hmq_sq_ckpt *c);

/* Let a running checkpoint finish, end the thread, close its connection.
 * Safe on a zeroed struct and twice. */
void hmq_sq_ckpt_close(hmq_sq_ckpt *c);

#endif
