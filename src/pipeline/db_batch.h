/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the batch arena of the database sinks.
 *
 * A database commit can fail and be retried much later (the server is
 * down), so a database sink keeps its own copy of every message of the open
 * batch: topic, payload and arrival time, packed into one buffer allocated
 * at open. Nothing grows while the stream runs: when the buffer or the
 * message table is full, hmq_dbatch_room() says so and the pipeline stops
 * taking messages until a commit empties the batch. A commit re-parses the
 * copies (hmq_envelope_parse, a few microseconds each) with the sink's own
 * parser.
 *
 * A sink has two arenas (bsink.h): the open one that put() fills and the
 * sealed one that a store makes durable, possibly on another thread. A
 * message the store refuses is marked in the sealed arena with the
 * store's reason (kept in the arena's own text pool) and reported later,
 * by hmq_bsink_release() on the caller's thread.
 */
#ifndef HMQ_PIPELINE_DB_BATCH_H
#define HMQ_PIPELINE_DB_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/bsink.h"

typedef struct hmq_dbatch_item {
  size_t off; /* topic bytes, then payload bytes, at bytes + off */
  size_t topic_len;
  size_t len;
  uint64_t received_ms;
  int rejected; /* 1: refused by the store; left out of later attempts */
  size_t why;   /* rejected: offset of the store's reason in the text pool */
} hmq_dbatch_item;

/* Text pool of the reasons of one batch's refused messages. When it is
 * full, a later refusal shares the last reason stored (refusals are rare;
 * a batch of only refusals still reports every message). */
#define HMQ_DBATCH_WHY_BYTES (64u * 1024u)
#define HMQ_DBATCH_WHY_MAX   512u /* one reason, NUL included */

struct hmq_dbatch {
  uint8_t *bytes;
  size_t cap, used;
  hmq_dbatch_item *items;
  size_t items_cap, count;
  char *why; /* HMQ_DBATCH_WHY_BYTES */
  size_t why_used, why_last;
};

/* Allocate an arena of `bytes` bytes for at most `msgs` messages.
 * HMQ_OK or HMQ_ERR_IO (no memory; the arena is then freed). */
hmq_status hmq_dbatch_init(hmq_dbatch *b, size_t bytes, size_t msgs);

/* 1 when a message with `len` payload bytes and a topic of up to
 * `topic_len` bytes still fits. */
int hmq_dbatch_room(const hmq_dbatch *b, size_t topic_len, size_t len);

/* Copy one message in. HMQ_OK, or HMQ_ERR_FULL (nothing copied). */
hmq_status hmq_dbatch_add(hmq_dbatch *b, const hmq_bmsg *m);

/* The message at i as a view into the arena (env NULL: parse it). */
void hmq_dbatch_get(const hmq_dbatch *b, size_t i, hmq_bmsg *m);

/* Forget every message (after a durable commit). */
void hmq_dbatch_clear(hmq_dbatch *b);

void hmq_dbatch_free(hmq_dbatch *b);

/* MQTT topic names are at most this long: the arena keeps room for one. */
#define HMQ_DBATCH_TOPIC_MAX 65535u

/* A database sink's two arenas (s->open, s->sealed) and its row decoder
 * (db_rows.h), sized from cfg: batch_bytes (0: 32 MiB, at least one
 * max_message with the longest topic) each, batch_msgs (0: 65535),
 * max_message (0: 1 MiB). HMQ_OK or HMQ_ERR_IO (nothing left allocated). */
struct hmq_dbrows;
hmq_status hmq_bsink_arenas_open(hmq_bsink *s, struct hmq_dbrows *rows, const hmq_db_config *cfg);
void hmq_bsink_arenas_free(hmq_bsink *s);

/* Item i of the sealed batch was refused by the store: leave it out of
 * later attempts, count it in s->rejected and keep `why` for
 * hmq_bsink_release() to report. */
void hmq_dbatch_reject(hmq_dbatch *b, hmq_bsink *s, size_t i, const char *why);

#endif
