/* SPDX-License-Identifier: MIT */
/*
 * The database sinks' batch arena (db_batch.h): one buffer, one table,
 * both allocated once.
 */
#include "pipeline/db_batch.h"

#include "pipeline/db_rows.h"

#include <stdlib.h>
#include <string.h>

hmq_status hmq_dbatch_init(hmq_dbatch *b, size_t bytes, size_t msgs) {
  memset(b, 0, sizeof *b);
  b->bytes = malloc(bytes ? bytes : 1);
  b->items = calloc(msgs ? msgs : 1, sizeof *b->items);
  b->why = malloc(HMQ_DBATCH_WHY_BYTES);
  if (!b->bytes || !b->items || !b->why) {
    hmq_dbatch_free(b);
    return HMQ_ERR_IO;
  }
  b->cap = bytes;
  b->items_cap = msgs;
  return HMQ_OK;
}

int hmq_dbatch_room(const hmq_dbatch *b, size_t topic_len, size_t len) {
  return b->count < b->items_cap && topic_len <= b->cap - b->used &&
         len <= b->cap - b->used - topic_len;
}

hmq_status hmq_dbatch_add(hmq_dbatch *b, const hmq_bmsg *m) {
  size_t tl = m->topic ? m->topic_len : 0;
  if (!hmq_dbatch_room(b, tl, m->len))
    return HMQ_ERR_FULL;
  hmq_dbatch_item *it = &b->items[b->count++];
  it->off = b->used;
  it->topic_len = tl;
  it->len = m->len;
  it->received_ms = m->received_ms;
  it->rejected = 0;
  if (tl)
    memcpy(b->bytes + b->used, m->topic, tl);
  if (m->len)
    memcpy(b->bytes + b->used + tl, m->payload, m->len);
  b->used += tl + m->len;
  return HMQ_OK;
}

void hmq_dbatch_get(const hmq_dbatch *b, size_t i, hmq_bmsg *m) {
  const hmq_dbatch_item *it = &b->items[i];
  m->env = NULL;
  m->topic = (const char *)b->bytes + it->off;
  m->topic_len = it->topic_len;
  m->payload = b->bytes + it->off + it->topic_len;
  m->len = it->len;
  m->received_ms = it->received_ms;
}

void hmq_dbatch_clear(hmq_dbatch *b) {
  b->used = 0;
  b->count = 0;
  b->why_used = b->why_last = 0;
}

hmq_status hmq_bsink_arenas_open(hmq_bsink *s, hmq_dbrows *rows, const hmq_db_config *cfg) {
  size_t maxmsg = cfg->max_message ? cfg->max_message : 1024u * 1024u;
  size_t bytes = cfg->batch_bytes ? cfg->batch_bytes : 32u * 1024u * 1024u;
  size_t msgs = cfg->batch_msgs ? cfg->batch_msgs : 65535u;
  if (bytes < maxmsg + HMQ_DBATCH_TOPIC_MAX)
    bytes = maxmsg + HMQ_DBATCH_TOPIC_MAX;
  s->arenas = calloc(2, sizeof *s->arenas);
  if (!s->arenas || hmq_dbatch_init(&s->arenas[0], bytes, msgs) != HMQ_OK ||
      hmq_dbatch_init(&s->arenas[1], bytes, msgs) != HMQ_OK ||
      hmq_dbrows_init(rows, maxmsg) != HMQ_OK) {
    hmq_bsink_arenas_free(s);
    return HMQ_ERR_IO;
  }
  s->open = &s->arenas[0];
  s->sealed = &s->arenas[1];
  return HMQ_OK;
}

void hmq_bsink_arenas_free(hmq_bsink *s) {
  if (s->arenas) {
    hmq_dbatch_free(&s->arenas[0]);
    hmq_dbatch_free(&s->arenas[1]);
    free(s->arenas);
  }
  s->arenas = s->open = s->sealed = NULL;
}

void hmq_dbatch_reject(hmq_dbatch *b, hmq_bsink *s, size_t i, const char *why) {
  size_t n = strlen(why);
  if (n >= HMQ_DBATCH_WHY_MAX)
    n = HMQ_DBATCH_WHY_MAX - 1;
  b->items[i].rejected = 1;
  s->rejected++;
  if (b->why_used + n + 1 <= HMQ_DBATCH_WHY_BYTES) {
    memcpy(b->why + b->why_used, why, n);
    b->why[b->why_used + n] = 0;
    b->why_last = b->why_used;
    b->why_used += n + 1;
  } else if (b->why_used == 0) { /* not reachable: the pool holds one */
    b->why[0] = 0;
  }
  b->items[i].why = b->why_last;
}

void hmq_dbatch_free(hmq_dbatch *b) {
  free(b->bytes);
  free(b->items);
  free(b->why);
  memset(b, 0, sizeof *b);
}

/* --- the steps of a commit (bsink.h) ------------------------------------------ */

hmq_status hmq_bsink_put(hmq_bsink *s, const hmq_bmsg *m) {
  return hmq_dbatch_add(s->open, m);
}

int hmq_bsink_room(const hmq_bsink *s, size_t len) {
  return hmq_dbatch_room(s->open, HMQ_DBATCH_TOPIC_MAX, len);
}

size_t hmq_bsink_batched(const hmq_bsink *s) {
  return s->open->count + s->sealed->count;
}

size_t hmq_bsink_seal(hmq_bsink *s) {
  if (s->sealed->count == 0 && s->open->count > 0) {
    hmq_dbatch *t = s->sealed;
    s->sealed = s->open;
    s->open = t;
  }
  return s->sealed->count;
}

hmq_status hmq_bsink_store(hmq_bsink *s) {
  return s->sealed->count ? s->ops->commit(s) : HMQ_OK;
}

void hmq_bsink_release(hmq_bsink *s) {
  hmq_dbatch *b = s->sealed;
  for (size_t i = 0; i < b->count && s->reject; i++) {
    if (b->items[i].rejected) {
      hmq_bmsg m;
      hmq_dbatch_get(b, i, &m);
      s->reject(s->reject_ctx, &m, b->why + b->items[i].why);
    }
  }
  hmq_dbatch_clear(b);
}

hmq_status hmq_bsink_commit(hmq_bsink *s) {
  while (hmq_bsink_seal(s) > 0) {
    hmq_status st = hmq_bsink_store(s);
    if (st != HMQ_OK)
      return st;
    hmq_bsink_release(s);
  }
  return HMQ_OK;
}
