/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the delivery pipeline's database side (--sqlite,
 * --postgres). The pipeline (deliver.c) hands each new message to the
 * database sink (bsink.h) instead of formatting a line, and commits the
 * sink first in every commit, so the batch's PUBACKs follow the database
 * COMMIT. The store normally runs on the sync thread while the loop
 * reads the next batch (deliver.h, the asynchronous commit). A commit the
 * database cannot take now (down, locked, disk full, hung until its
 * timeout) is not an error: HMQ_WANT_WRITE, nothing acked, the batch kept
 * (sealed), and the loop retries with backoff; the batch limit
 * (hmq_bsink_room, the open arena) stops intake while it waits, so memory
 * stays bounded (two arenas). Messages the database refuses go to the dead-letter sink with
 * the database's reason ("database refused: …").
 */
#ifndef HMQ_PIPELINE_DELIVER_DB_H
#define HMQ_PIPELINE_DELIVER_DB_H

#include "pipeline/deliver.h"

/* Open the sink named by cfg (sqlite_path or pg_conninfo). HMQ_OK, or the
 * sink's open error with the reason in err. */
hmq_status hmq_deliver_db_open(hmq_deliver *d, const hmq_deliver_config *cfg, char *err,
                               size_t errlen);

/* Put one new message into the database batch. HMQ_OK or HMQ_ERR_FULL. */
hmq_status hmq_deliver_db_put(hmq_deliver *d, const hmq_envelope *env, const char *topic,
                              size_t topic_len, const uint8_t *payload, size_t len,
                              uint64_t now_ms);

/* Commit the database batch: HMQ_OK (durable), HMQ_WANT_WRITE (not now,
 * the reason in hmq_deliver_db_reason), never a sticky error. */
hmq_status hmq_deliver_db_commit(hmq_deliver *d);

/* The asynchronous commit (deliver.h): the sync thread stored the sealed
 * batch with result st (hmq_bsink_store). HMQ_OK: stored, its refused
 * messages are now dead-letter lines (*refused = 1 when there are any:
 * the caller syncs them before acknowledging); HMQ_WANT_WRITE: not stored,
 * the batch stays sealed for a retry. Call on the loop thread, with no job
 * in flight. */
hmq_status hmq_deliver_db_stored(hmq_deliver *d, hmq_status st, int *refused);

/* 1 while the last commit did not reach the database; its reason, failed
 * attempts and refused messages so far. NULL-safe: 0 without a database. */
int hmq_deliver_db_down(const hmq_deliver *d);
const char *hmq_deliver_db_reason(const hmq_deliver *d);
uint64_t hmq_deliver_db_failures(const hmq_deliver *d);
uint64_t hmq_deliver_db_rejected(const hmq_deliver *d);

void hmq_deliver_db_close(hmq_deliver *d);

#endif
