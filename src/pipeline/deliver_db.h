/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the delivery pipeline's database side (--sqlite,
 * --postgres). The pipeline (deliver.c) hands each new message to the
 * database sink (bsink.h) instead of formatting a line, and commits the
 * sink first in every commit, so the batch's PUBACKs follow the database
 * COMMIT. A commit the database cannot take now (down, locked, disk full)
 * is not an error: hmq_deliver_commit() returns HMQ_WANT_WRITE, acks
 * nothing, keeps the batch, and the loop retries with backoff; the batch
 * limit (hmq_bsink_room) stops intake while it waits, so memory stays
 * bounded. Messages the database refuses go to the dead-letter sink with
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

/* 1 while the last commit did not reach the database; its reason, failed
 * attempts and refused messages so far. NULL-safe: 0 without a database. */
int hmq_deliver_db_down(const hmq_deliver *d);
const char *hmq_deliver_db_reason(const hmq_deliver *d);
uint64_t hmq_deliver_db_failures(const hmq_deliver *d);
uint64_t hmq_deliver_db_rejected(const hmq_deliver *d);

void hmq_deliver_db_close(hmq_deliver *d);

#endif
