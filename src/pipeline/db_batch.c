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
  if (!b->bytes || !b->items) {
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
}

hmq_status hmq_dbatch_open(hmq_dbatch *b, hmq_dbrows *rows, const hmq_db_config *cfg) {
  size_t maxmsg = cfg->max_message ? cfg->max_message : 1024u * 1024u;
  size_t bytes = cfg->batch_bytes ? cfg->batch_bytes : 32u * 1024u * 1024u;
  if (bytes < maxmsg + HMQ_DBATCH_TOPIC_MAX)
    bytes = maxmsg + HMQ_DBATCH_TOPIC_MAX;
  if (hmq_dbatch_init(b, bytes, cfg->batch_msgs ? cfg->batch_msgs : 65535u) != HMQ_OK)
    return HMQ_ERR_IO;
  if (hmq_dbrows_init(rows, maxmsg) != HMQ_OK) {
    hmq_dbatch_free(b);
    return HMQ_ERR_IO;
  }
  return HMQ_OK;
}

void hmq_dbatch_reject(hmq_dbatch *b, hmq_bsink *s, size_t i, const char *why) {
  hmq_bmsg m;
  b->items[i].rejected = 1;
  s->rejected++;
  if (s->reject) {
    hmq_dbatch_get(b, i, &m);
    s->reject(s->reject_ctx, &m, why);
  }
}

void hmq_dbatch_free(hmq_dbatch *b) {
  free(b->bytes);
  free(b->items);
  memset(b, 0, sizeof *b);
}
