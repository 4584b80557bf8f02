/* SPDX-License-Identifier: MIT */
/*
 * The newest reading per latest key within one batch (db_fold.h).
 */
#include "pipeline/db_fold.h"

#include <stdlib.h>
#include <string.h>

hmq_status hmq_dbfold_init(hmq_dbfold *f, size_t max_rows, size_t arena_bytes) {
  memset(f, 0, sizeof *f);
  f->nslots = 1;
  while (f->nslots < 2 * max_rows)
    f->nslots <<= 1;
  f->slots = calloc(f->nslots, sizeof *f->slots);
  f->rows = malloc(max_rows * sizeof *f->rows);
  f->arena = malloc(arena_bytes);
  if (!f->slots || !f->rows || !f->arena) {
    hmq_dbfold_free(f);
    return HMQ_ERR_IO;
  }
  f->max_rows = max_rows;
  f->cap = arena_bytes;
  return HMQ_OK;
}

void hmq_dbfold_free(hmq_dbfold *f) {
  free(f->slots);
  free(f->rows);
  free(f->arena);
  memset(f, 0, sizeof *f);
}

void hmq_dbfold_clear(hmq_dbfold *f) {
  if (f->count)
    memset(f->slots, 0, f->nslots * sizeof *f->slots);
  f->count = 0;
  f->used = 0;
}

/* FNV-1a over the key's parts, each ended by a 0xff byte (which UTF-8
 * text never holds). */
static uint64_t mix(uint64_t h, hmq_str s) {
  for (size_t i = 0; i < s.len; i++)
    h = (h ^ (uint8_t)s.ptr[i]) * 1099511628211u;
  return (h ^ 0xffu) * 1099511628211u;
}

static int same(hmq_str a, hmq_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* message_id as SQLite's BINARY collation and PostgreSQL's "C" compare. */
static int cmp_text(hmq_str a, hmq_str b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
  if (c)
    return c;
  return a.len < b.len ? -1 : a.len > b.len;
}

/* 1 when (ts_ms, message_id, idx) of r is greater than the held row's. */
static int newer(const hmq_dbfold_row *held, const hmq_dbmsg *m, const hmq_dbreading *r) {
  if (r->ts_ms != held->ts_ms)
    return r->ts_ms > held->ts_ms;
  int c = cmp_text(m->message_id, held->message_id);
  if (c)
    return c > 0;
  return r->idx > held->idx;
}

static hmq_str put(hmq_dbfold *f, hmq_str v) {
  hmq_str out = {f->arena + f->used, v.len};
  if (v.len)
    memcpy(f->arena + f->used, v.ptr, v.len);
  f->used += v.len;
  return out;
}

/* Copy the reading's values into the arena and into row x. */
static void take(hmq_dbfold *f, hmq_dbfold_row *x, const hmq_dbmsg *m, const hmq_dbreading *r,
                 uint64_t h) {
  x->vin = put(f, m->vin);
  x->capability = put(f, r->capability);
  x->property = put(f, r->property);
  x->instance = put(f, r->instance);
  x->ts = put(f, r->ts);
  x->data = put(f, r->data);
  x->message_id = put(f, m->message_id);
  x->ts_ms = r->ts_ms;
  x->idx = r->idx;
  x->hash = h;
}

hmq_status hmq_dbfold_offer(hmq_dbfold *f, const hmq_dbmsg *m, const hmq_dbreading *r) {
  if (!r->has_ts_ms || !r->data.ptr || !r->ts.ptr)
    return HMQ_OK;
  size_t need = m->vin.len + r->capability.len + r->property.len + r->instance.len + r->ts.len +
                r->data.len + m->message_id.len;
  if (need > f->cap)
    return HMQ_ERR_NO_ROOM;
  uint64_t h =
      mix(mix(mix(mix(14695981039346656037u, m->vin), r->capability), r->property), r->instance);
  size_t mask = f->nslots - 1, i = (size_t)h & mask;
  for (; f->slots[i]; i = (i + 1) & mask) {
    hmq_dbfold_row *x = &f->rows[f->slots[i] - 1];
    if (x->hash == h && same(x->vin, m->vin) && same(x->capability, r->capability) &&
        same(x->property, r->property) && same(x->instance, r->instance)) {
      if (!newer(x, m, r))
        return HMQ_OK;
      if (need > f->cap - f->used)
        return HMQ_ERR_FULL;
      take(f, x, m, r, h);
      return HMQ_OK;
    }
  }
  if (f->count == f->max_rows || need > f->cap - f->used)
    return HMQ_ERR_FULL;
  f->slots[i] = (uint32_t)(f->count + 1);
  take(f, &f->rows[f->count++], m, r, h);
  return HMQ_OK;
}
