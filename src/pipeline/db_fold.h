/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the newest reading per `latest` key within one batch.
 *
 * A batch holds many readings of the same (vin, capability, property,
 * instance): a vehicle sends the same properties again and again. Only the
 * greatest by (ts_ms, message_id, idx) (the order of db_schema.h) can
 * change `latest`, so the database sink offers every reading here and
 * upserts only the ones held at the end, each still compared with the
 * stored row by the upsert itself. The fold is only a shortcut: a reading
 * it lets through needlessly, or two spellings of one key it keeps apart,
 * cost an extra upsert, never a wrong row.
 *
 * Memory is fixed at init (an open-addressing table, a row table and an
 * arena for the values): when one is full, hmq_dbfold_offer() says so and
 * the sink upserts what is held, clears the fold and offers again.
 * Readings without a timestamp or without data never enter `latest` and
 * are not taken.
 */
#ifndef HMQ_PIPELINE_DB_FOLD_H
#define HMQ_PIPELINE_DB_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/db_rows.h"

/* One held reading; views into the fold's arena. */
typedef struct hmq_dbfold_row {
  hmq_str vin, capability, property, instance;
  hmq_str ts, data, message_id;
  int64_t ts_ms;
  size_t idx;
  uint64_t hash;
} hmq_dbfold_row;

typedef struct hmq_dbfold {
  uint32_t *slots; /* row index + 1; 0 empty */
  size_t nslots;   /* power of two, twice max_rows */
  hmq_dbfold_row *rows;
  size_t count, max_rows;
  char *arena;
  size_t cap, used;
} hmq_dbfold;

/* Room for max_rows keys and arena_bytes of values. HMQ_OK or HMQ_ERR_IO
 * (nothing left allocated). */
hmq_status hmq_dbfold_init(hmq_dbfold *f, size_t max_rows, size_t arena_bytes);
void hmq_dbfold_free(hmq_dbfold *f);

/* Offer reading r of message m. HMQ_OK (held, or not newer than the one
 * held for its key, or not a `latest` candidate), HMQ_ERR_FULL (nothing
 * taken: flush what is held, clear, offer again; a reading bigger than
 * the whole arena is HMQ_ERR_NO_ROOM: upsert it directly). */
hmq_status hmq_dbfold_offer(hmq_dbfold *f, const hmq_dbmsg *m, const hmq_dbreading *r);

/* Forget every held reading. */
void hmq_dbfold_clear(hmq_dbfold *f);

#endif
