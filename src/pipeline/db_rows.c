/* SPDX-License-Identifier: MIT */
/*
 * A message as database rows (db_rows.h).
 *
 * Scratch sizing: every decoded name and every compacted value is no
 * longer than the payload bytes it comes from, and the views a message or
 * an entry yields are disjoint parts of the payload, so one region of the
 * payload's size holds an entry's values, and two hold the message's (the
 * compact envelope plus its ids). An entry gets two: its instance is
 * decoded a second time out of its data.
 */
#include "pipeline/db_rows.h"
#include "pipeline/jskip.h"

#include <stdlib.h>
#include <string.h>

#define BYTES_PER_TOKEN 6u /* as the pipeline's parser (deliver_open.c) */

hmq_status hmq_dbrows_init(hmq_dbrows *r, size_t max_message) {
  memset(r, 0, sizeof *r);
  size_t ntok = max_message / BYTES_PER_TOKEN + 256;
  r->region = max_message + 64;
  r->tok_mem = malloc(ntok * HMQ_JSON_TOKEN_BYTES);
  r->scratch = malloc(4 * r->region);
  if (!r->tok_mem || !r->scratch) {
    hmq_dbrows_free(r);
    return HMQ_ERR_IO;
  }
  hmq_envelope_parser_init(&r->parser, r->tok_mem, ntok * HMQ_JSON_TOKEN_BYTES);
  return HMQ_OK;
}

void hmq_dbrows_free(hmq_dbrows *r) {
  free(r->tok_mem);
  free(r->scratch);
  memset(r, 0, sizeof *r);
}

/* A string view with its escapes decoded into *room (advanced). */
static hmq_status decoded(hmq_str v, int escapes, char **room, size_t *left, hmq_str *out) {
  if (!v.ptr) {
    *out = v;
    return HMQ_OK;
  }
  if (!escapes && !memchr(v.ptr, '\\', v.len)) {
    *out = v;
    return HMQ_OK;
  }
  size_t n = 0;
  hmq_status st = hmq_json_unescape(v, *room, *left, &n);
  if (st != HMQ_OK)
    return st;
  out->ptr = *room;
  out->len = n;
  *room += n;
  *left -= n;
  return HMQ_OK;
}

static hmq_status compacted(hmq_str v, char **room, size_t *left, hmq_str *out) {
  if (!v.ptr) {
    *out = v;
    return HMQ_OK;
  }
  size_t n = 0;
  hmq_status st = hmq_json_compact_value(v.ptr, v.len, *room, *left, &n);
  if (st != HMQ_OK)
    return st;
  out->ptr = *room;
  out->len = n;
  *room += n;
  *left -= n;
  return HMQ_OK;
}

/* The first member named "location" of the compact object `data`, when it
 * is a string: its text with escapes decoded (into *room). Anything else
 * (not an object, no such member, not a string): "". The key is compared
 * after decoding its escapes, as a JSON reader would. */
static hmq_status location_of(hmq_str data, char **room, size_t *left, hmq_str *out) {
  static const char want[] = "location";
  const char *s = data.ptr;
  size_t n = data.len, i = 1;
  out->ptr = "";
  out->len = 0;
  if (!s || n < 2 || s[0] != '{')
    return HMQ_OK;
  while (i < n && s[i] == '"') {
    size_t kend = hmq_jskip_string(s, i, n);
    hmq_str key = {s + i + 1, kend - i - 2};
    int match = 0;
    if (kend >= n || s[kend] != ':')
      return HMQ_OK;
    if (key.len == sizeof want - 1) {
      match = memcmp(key.ptr, want, key.len) == 0;
    } else if (key.len > sizeof want - 1 && key.len <= 6 * (sizeof want - 1) &&
               memchr(key.ptr, '\\', key.len)) {
      char k[6 * sizeof want];
      size_t kl = 0;
      match = hmq_json_unescape(key, k, sizeof k, &kl) == HMQ_OK && kl == sizeof want - 1 &&
              memcmp(k, want, kl) == 0;
    }
    i = kend + 1;
    if (match) {
      if (i >= n || s[i] != '"')
        return HMQ_OK;
      size_t vend = hmq_jskip_string(s, i, n);
      hmq_str v = {s + i + 1, vend - i - 2};
      return decoded(v, 0, room, left, out);
    }
    i = hmq_jskip_value(s, i, n);
    if (i >= n || s[i] != ',')
      return HMQ_OK;
    i++;
  }
  return HMQ_OK;
}

hmq_status hmq_dbrows_message(hmq_dbrows *r, const hmq_bmsg *m, hmq_dbmsg *out, const char **why) {
  *why = "";
  memset(out, 0, sizeof *out);
  if (m->len > r->region - 64) {
    *why = "payload larger than the database sink's maximum message size";
    return HMQ_ERR_NO_ROOM;
  }
  hmq_status st = hmq_envelope_parse(&r->parser, (const char *)m->payload, m->len, &r->env);
  if (st != HMQ_OK) {
    *why = r->env.reason && *r->env.reason ? r->env.reason : hmq_status_str(st);
    return st;
  }
  char *room = r->scratch;
  size_t left = 2 * r->region, n = 0;
  st = hmq_json_compact(&r->env, room, left, &n);
  if (st != HMQ_OK) {
    *why = "envelope does not compact";
    return st;
  }
  out->envelope.ptr = room;
  out->envelope.len = n;
  room += n;
  left -= n;
  if (decoded(r->env.message_id, r->env.message_id_escapes, &room, &left, &out->message_id) !=
          HMQ_OK ||
      decoded(r->env.vin, r->env.vin_escapes, &room, &left, &out->vin) != HMQ_OK ||
      decoded(r->env.application_id, r->env.app_id_escapes, &room, &left, &out->application_id) !=
          HMQ_OK) {
    *why = "message_id, vin or application_id has a malformed escape";
    return HMQ_ERR_JSON;
  }
  out->has_version = !(r->env.warnings & HMQ_ENV_WARN_VERSION_MISSING);
  out->version = r->env.version;
  out->received_ms = m->received_ms;
  hmq_entries_begin(&r->it, &r->env);
  r->next_idx = 0;
  return HMQ_OK;
}

hmq_status hmq_dbrows_next(hmq_dbrows *r, hmq_dbreading *out, const char **why) {
  hmq_entry e;
  *why = "";
  for (;;) {
    hmq_status st = hmq_entries_next(&r->it, &e);
    if (st != HMQ_OK)
      return st == HMQ_NEED_MORE ? HMQ_NEED_MORE : st;
    if (!(e.warnings & HMQ_ENTRY_SKIPPED))
      break;
  }
  char *room = r->scratch + 2 * r->region;
  size_t left = 2 * r->region;
  memset(out, 0, sizeof *out);
  out->idx = r->next_idx++;
  if (decoded(e.capability, 0, &room, &left, &out->capability) != HMQ_OK ||
      decoded(e.property, 0, &room, &left, &out->property) != HMQ_OK ||
      decoded(e.timestamp, 0, &room, &left, &out->ts) != HMQ_OK) {
    *why = "capability, property or timestamp has a malformed escape";
    return HMQ_ERR_JSON;
  }
  if (compacted(e.data, &room, &left, &out->data) != HMQ_OK ||
      compacted(e.failure, &room, &left, &out->failure) != HMQ_OK) {
    *why = "entry data or failure does not compact";
    return HMQ_ERR_JSON;
  }
  if (location_of(out->data, &room, &left, &out->instance) != HMQ_OK) {
    *why = "the location in entry data has a malformed escape";
    return HMQ_ERR_JSON;
  }
  out->has_ts_ms = e.ts_valid;
  out->ts_ms = e.ts_ms;
  return HMQ_OK;
}
