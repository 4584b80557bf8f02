/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the batch sink interface — where delivered messages are
 * stored, one batch at a time.
 *
 *   put(message)  take one parsed message into the open batch (a copy: the
 *                 payload lives in the receive buffer only during the call)
 *   commit()      make the whole batch durable, then report it:
 *                   HMQ_OK          durable: the caller may now acknowledge
 *                                   every message put since the last commit
 *                   HMQ_WANT_WRITE  not durable yet (database unreachable,
 *                                   locked, disk full …): the batch is kept
 *                                   whole, nothing may be acknowledged; call
 *                                   commit() again later (the caller backs
 *                                   off); put() keeps working until room()
 *                                   says the batch is full
 *                   < 0             failed for good (sticky): stop, acknowledge
 *                                   nothing more
 *   room(len)     1 when a message of `len` payload bytes still fits in the
 *                 open batch (the in-memory batch limit: what keeps memory
 *                 bounded while a database is down)
 *
 * commit() in three steps, so that the store can run on another thread
 * while put() fills the next batch (deliver.c's asynchronous commit):
 *   seal()        the open batch becomes the sealed one (unless a sealed
 *                 batch still waits: one that did not go through is retried
 *                 alone, nothing joins it); a new batch opens
 *   store()       make the sealed batch durable (ops->commit): may run on
 *                 another thread, concurrently with put()/room() on the
 *                 open batch and nothing else of the sink
 *   release()     after store() returned HMQ_OK, on the caller's thread:
 *                 hand each refused message to the reject callback, then
 *                 forget the sealed batch
 * Each sink holds two arenas (db_batch.h), swapped by seal(); the store
 * reads only the sealed one and its own connection, put() writes only the
 * open one, so the two sides share nothing.
 *
 * A message the store itself refuses (a database constraint, a value its
 * type cannot hold) is not a reason to stop the stream: the store marks it
 * with the store's own message and commits the rest of the batch;
 * release() hands it to the reject callback (the pipeline writes it to the
 * dead-letter sink).
 *
 * Why a batch and not a message: every store here is made durable by one
 * expensive step (fdatasync, a database COMMIT), so the pipeline collects
 * what arrives while the socket has data and pays that step once.
 *
 * Implementations: the SQLite and PostgreSQL sinks (sink_sqlite.c,
 * sink_pg.c) over the shared batch arena (db_batch.h). The line sinks
 * (--out, stdout, --exec) keep their own byte buffer and commit in sink.c.
 */
#ifndef HMQ_PIPELINE_BSINK_H
#define HMQ_PIPELINE_BSINK_H

#include <stddef.h>
#include <stdint.h>

#include "hmq/envelope.h"
#include "hmq/hmq.h"

/* One message as a batch sink receives it (views valid during put only). */
typedef struct hmq_bmsg {
  const hmq_envelope *env; /* parsed (hmq_envelope_parse returned HMQ_OK) */
  const char *topic;
  size_t topic_len;
  const uint8_t *payload;
  size_t len;
  uint64_t received_ms; /* wall clock, ms since the Unix epoch */
} hmq_bmsg;

/* A message the store refused: `reason` is the store's own text (NUL
 * terminated, valid during the call). The views in m are valid during the
 * call. */
typedef void (*hmq_bsink_reject_fn)(void *ctx, const hmq_bmsg *m, const char *reason);

typedef struct hmq_bsink hmq_bsink;
typedef struct hmq_dbatch hmq_dbatch; /* db_batch.h */

typedef struct hmq_bsink_ops {
  const char *name; /* "sqlite", "postgres" */
  /* store the sealed batch (hmq_bsink_store): HMQ_OK, HMQ_WANT_WRITE as
   * commit() above; refused messages marked in the arena, not reported */
  hmq_status (*commit)(hmq_bsink *s);
  void (*close)(hmq_bsink *s); /* frees s too (and the arenas); the batch is dropped */
} hmq_bsink_ops;

/* The common head of every batch sink (implementations embed it first). */
struct hmq_bsink {
  const hmq_bsink_ops *ops;
  hmq_bsink_reject_fn reject; /* NULL: refused messages are only counted */
  void *reject_ctx;
  char err[512];      /* why the last commit was not durable / failed ("" when ok) */
  uint64_t commits;   /* durable commits */
  uint64_t failures;  /* commits that returned HMQ_WANT_WRITE */
  uint64_t rejected;  /* messages handed to reject */
  uint64_t stored;    /* messages new to the store (not already there) */
  uint64_t readings;  /* reading rows stored */
  hmq_dbatch *open;   /* put() fills it */
  hmq_dbatch *sealed; /* store() makes it durable */
  hmq_dbatch *arenas; /* the two (hmq_bsink_arenas_open) */
};

/* The steps above (db_batch.c). put: HMQ_OK or HMQ_ERR_FULL (nothing
 * taken). seal: returns how many messages the sealed batch holds. store:
 * ops->commit; HMQ_OK also for an empty sealed batch. release: only after
 * store() returned HMQ_OK. commit: seal, store and release until both
 * batches are stored, or the first store that did not go through. */
hmq_status hmq_bsink_put(hmq_bsink *s, const hmq_bmsg *m);
int hmq_bsink_room(const hmq_bsink *s, size_t len);
size_t hmq_bsink_batched(const hmq_bsink *s); /* messages in both batches */
size_t hmq_bsink_seal(hmq_bsink *s);
hmq_status hmq_bsink_store(hmq_bsink *s);
void hmq_bsink_release(hmq_bsink *s);
hmq_status hmq_bsink_commit(hmq_bsink *s);
static inline void hmq_bsink_close(hmq_bsink *s) {
  if (s)
    s->ops->close(s);
}

/* Sizes of a database sink's batch. */
typedef struct hmq_db_config {
  const char *target;  /* SQLite: the file; PostgreSQL: the libpq conninfo / URI */
  size_t batch_bytes;  /* payload bytes one batch holds; 0: 32 MiB */
  size_t batch_msgs;   /* messages one batch holds; 0: 65535 */
  size_t max_message;  /* largest payload expected; 0: 1 MiB (raised batch_bytes to fit) */
  unsigned busy_ms;    /* SQLite: wait this long for another writer's lock; 0: 2000 */
  unsigned ckpt_pages; /* SQLite: WAL pages after a commit that start a checkpoint; 0: 4096 */
  unsigned timeout_s;  /* PostgreSQL: connect_timeout; 0: 10 */
  unsigned answer_s;   /* PostgreSQL: longest wait for any answer of the server; 0: 30 */
} hmq_db_config;

/* Open a database sink: connect / open the file, create the schema on first
 * use (db_schema.h), refuse a schema newer than this hmq knows, prepare the
 * statements and allocate the batch. On success *out is the sink; on failure
 * *out is NULL and err holds one line naming the target and the reason.
 * PostgreSQL: a server that is down or does not answer at open is not an
 * error: the sink opens disconnected with the reason in base.err and
 * connects at the next commit (a server that answers and refuses us is).
 * HMQ_ERR_FILE (cannot open / connect, schema too new or foreign),
 * HMQ_ERR_IO (out of memory), HMQ_ERR_ARG, HMQ_ERR_STATE (built without
 * that database: the message says so). */
hmq_status hmq_sink_sqlite_open(hmq_bsink **out, const hmq_db_config *cfg, char *err,
                                size_t errlen);
hmq_status hmq_sink_pg_open(hmq_bsink **out, const hmq_db_config *cfg, char *err, size_t errlen);

/* 1 when this build has the SQLite / PostgreSQL sink. */
int hmq_sink_sqlite_available(void);
int hmq_sink_pg_available(void);

#endif
