/* SPDX-License-Identifier: MIT */
/*
 * Output formatting into caller buffers: the compact envelope and the flat
 * one-line-per-entry form.
 *
 * Compacting never re-encodes anything: strings (escapes included),
 * numbers and key order are copied byte for byte and only whitespace
 * outside strings (RFC 8259 section 2, "insignificant whitespace") is
 * dropped. That keeps the output faithful to what the vehicle sent and makes
 * it a single memcpy-like pass. The input is always JSON a parse has already
 * validated, so no error can arise here except running out of room.
 */
#include <string.h>

#include "hmq/envelope.h"
#include "envelope/jtok.h"

void hmq_jout_put(hmq_jout *w, const char *s, size_t n) {
  if (w->pos <= w->cap && n <= w->cap - w->pos) {
    memcpy(w->buf + w->pos, s, n);
  }
  w->pos += n;
}

/* End (one past the closing quote) of the string whose opening quote is at
 * js[i]. memchr finds quote candidates fast; a candidate preceded by an odd
 * run of backslashes is escaped. The backwards count stops at the previous
 * candidate (a quote), so the scan stays linear. */
static size_t string_end(const char *js, size_t len, size_t i) {
  size_t j = i + 1;
  for (;;) {
    const char *q = memchr(js + j, '"', len - j);
    size_t k, b = 0;
    if (q == NULL) {
      return len;
    }
    k = (size_t)(q - js);
    while (k - b > i + 1 && js[k - 1 - b] == '\\') {
      b++;
    }
    if (b % 2 == 0) {
      return k + 1;
    }
    j = k + 1;
  }
}

static int is_ws(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

void hmq_jout_compact(hmq_jout *w, const char *js, size_t len) {
  size_t i = 0, start;
  while (i < len) {
    if (is_ws(js[i])) {
      i++;
      continue;
    }
    /* one run of structural characters, literals and whole strings up to
     * the next whitespace outside a string, copied at once */
    start = i;
    while (i < len && !is_ws(js[i])) {
      i = js[i] == '"' ? string_end(js, len, i) : i + 1;
    }
    hmq_jout_put(w, js + start, i - start);
  }
}

static hmq_status finish(const hmq_jout *w, size_t *out_len) {
  *out_len = w->pos;
  return w->pos > w->cap ? HMQ_ERR_NO_ROOM : HMQ_OK;
}

hmq_status hmq_json_compact_value(const char *json, size_t len, char *buf, size_t cap,
                                  size_t *out_len) {
  hmq_jout w;
  if (out_len == NULL || (json == NULL && len > 0) || (buf == NULL && cap > 0)) {
    return HMQ_ERR_ARG;
  }
  w.buf = buf;
  w.cap = cap;
  w.pos = 0;
  hmq_jout_compact(&w, json, len);
  return finish(&w, out_len);
}

hmq_status hmq_json_compact(const hmq_envelope *env, char *buf, size_t cap, size_t *out_len) {
  if (env == NULL || env->json.ptr == NULL) {
    return HMQ_ERR_ARG;
  }
  if (env->json_tight && out_len != NULL && (buf != NULL || cap == 0)) {
    /* The parse saw no whitespace between tokens: compacting would copy
     * every byte, so copy (the usual case for a machine-written stream). */
    hmq_jout w;
    w.buf = buf;
    w.cap = cap;
    w.pos = 0;
    hmq_jout_put(&w, env->json.ptr, env->json.len);
    return finish(&w, out_len);
  }
  return hmq_json_compact_value(env->json.ptr, env->json.len, buf, cap, out_len);
}

/* A string view handed out by the parser, re-emitted with its quotes (the
 * quote characters sit right around the view in the payload). */
static void put_quoted(hmq_jout *w, hmq_str s) {
  hmq_jout_put(w, s.ptr - 1, s.len + 2);
}

hmq_status hmq_format_flat(const hmq_envelope *env, const hmq_entry *e, char *buf, size_t cap,
                           size_t *out_len) {
  hmq_jout w;
  if (env == NULL || e == NULL || out_len == NULL || env->message_id.ptr == NULL ||
      env->vin.ptr == NULL || (buf == NULL && cap > 0)) {
    return HMQ_ERR_ARG;
  }
  w.buf = buf;
  w.cap = cap;
  w.pos = 0;
  if (e->warnings & HMQ_ENTRY_SKIPPED) {
    *out_len = 0;
    return HMQ_OK;
  }
  if (e->capability.ptr == NULL || e->property.ptr == NULL) {
    return HMQ_ERR_ARG;
  }
  hmq_jout_put(&w, "{\"vin\":", 7);
  put_quoted(&w, env->vin);
  hmq_jout_put(&w, ",\"message_id\":", 14);
  put_quoted(&w, env->message_id);
  hmq_jout_put(&w, ",\"capability\":", 14);
  put_quoted(&w, e->capability);
  hmq_jout_put(&w, ",\"property\":", 12);
  put_quoted(&w, e->property);
  hmq_jout_put(&w, ",\"timestamp\":", 13);
  if (e->timestamp.ptr != NULL) {
    put_quoted(&w, e->timestamp);
  } else {
    hmq_jout_put(&w, "null", 4);
  }
  if (e->data.ptr != NULL) {
    hmq_jout_put(&w, ",\"data\":", 8);
    hmq_jout_compact(&w, e->data.ptr, e->data.len);
  }
  if (e->failure.ptr != NULL) {
    hmq_jout_put(&w, ",\"failure\":", 11);
    hmq_jout_compact(&w, e->failure.ptr, e->failure.len);
  }
  if (e->availability.ptr != NULL) {
    hmq_jout_put(&w, ",\"availability\":", 16);
    hmq_jout_compact(&w, e->availability.ptr, e->availability.len);
  }
  hmq_jout_put(&w, "}", 1);
  return finish(&w, out_len);
}
