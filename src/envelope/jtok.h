/* SPDX-License-Identifier: MIT */
/*
 * Internal to src/envelope: the jsmn token type and the helpers the envelope
 * code shares. Only jsmn's declarations are used (JSMN_HEADER): the tokens
 * come from hmq's own tokenizer (tokenize.c), which fills them as jsmn's
 * strict mode with parent links would.
 */
#ifndef HMQ_JSON_JTOK_H
#define HMQ_JSON_JTOK_H

/* Same configuration in every file that sees jsmntok_t, so the struct
 * layout (parent links) is identical everywhere (tests compare with jsmn
 * itself through this header). */
#ifndef JSMN_STRICT
#define JSMN_STRICT
#endif
#ifndef JSMN_PARENT_LINKS
#define JSMN_PARENT_LINKS
#endif
#ifndef HMQ_JSMN_IMPL
#define JSMN_HEADER /* declarations only, unless a test compiles jsmn */
#endif
#include <jsmn.h>

#include <stddef.h>
#include <string.h>

#include "hmq/envelope.h"

typedef jsmntok_t hmq_jtok;

/* Outcome of tokenizing: jsmn's count, or one of these. */
typedef enum hmq_jtok_err {
  HMQ_JTOK_NOMEM = -1,
  HMQ_JTOK_INVAL = -2,
  HMQ_JTOK_PART = -3,
  HMQ_JTOK_DEEP = -4 /* containers nested deeper than max_depth */
} hmq_jtok_err;

/* Tokenize json[0..len) into toks (cap tokens) in time linear in len, as
 * jsmn 1.1.0 with JSMN_STRICT and JSMN_PARENT_LINKS does (tokenize.c).
 * Returns the token count (>= 0) or an hmq_jtok_err; *err_pos gets the
 * position jsmn's parser would hold on error. Opening a container deeper
 * than max_depth stops at once with HMQ_JTOK_DEEP (jsmn has no limit). */
int hmq_jtok_parse(const char *json, size_t len, hmq_jtok *toks, unsigned cap, unsigned max_depth,
                   size_t *err_pos);

/* Check that jsmn's tokens describe strict JSON (jsmn accepts missing or
 * extra commas, bad literals, raw control characters, trailing values),
 * that every string is valid UTF-8 and that no container is nested deeper
 * than HMQ_JSON_MAX_DEPTH. plain: the caller found every byte of json in
 * 0x20..0x7f, so the string bytes need no check one by one. HMQ_OK,
 * HMQ_ERR_JSON or HMQ_ERR_JSON_TOO_BIG (too deep) with *reason (static) and
 * *err_pos set. On HMQ_OK
 * *tight is 1 when the top-level value holds no whitespace between its
 * tokens (compacting it would copy it unchanged), else 0. */
hmq_status hmq_jtok_validate(const char *json, size_t len, const hmq_jtok *toks, size_t n,
                             int plain, const char **reason, size_t *err_pos, int *tight);

/* Index of the first token after the subtree rooted at i. */
static inline size_t hmq_jtok_skip(const hmq_jtok *toks, size_t n, size_t i) {
  int end = toks[i].end;
  size_t j = i + 1;
  while (j < n && toks[j].start < end) {
    j++;
  }
  return j;
}

/* View of a token: string content without quotes, other values whole. */
static inline hmq_str hmq_jtok_str(const char *json, const hmq_jtok *t) {
  hmq_str s;
  s.ptr = json + t->start;
  s.len = (size_t)(t->end - t->start);
  return s;
}

/* Whether a string token equals the literal key (no escapes considered). */
static inline int hmq_jtok_eq(const char *json, const hmq_jtok *t, const char *key, size_t klen) {
  size_t n = (size_t)(t->end - t->start);
  size_t k;
  if (t->type != JSMN_STRING || n != klen) {
    return 0;
  }
  for (k = 0; k < n; k++) {
    if (json[(size_t)t->start + k] != key[k]) {
      return 0;
    }
  }
  return 1;
}

/* The key (string token t) as every JSON reader sees it: when it holds a
 * backslash, its escapes decoded into buf (cap bytes); else the view in
 * place. A key that does not decode or decodes to more than cap bytes
 * comes back with ptr NULL: it is none of the short names a caller
 * compares it with (give cap >= the longest of them). */
static inline hmq_str hmq_jtok_key(const char *json, const hmq_jtok *t, char *buf, size_t cap) {
  hmq_str k = hmq_jtok_str(json, t);
  size_t n = 0;
  if (t->type != JSMN_STRING || memchr(k.ptr, '\\', k.len) == NULL)
    return k;
  if (hmq_json_unescape(k, buf, cap, &n) != HMQ_OK) {
    k.ptr = NULL;
    k.len = 0;
    return k;
  }
  k.ptr = buf;
  k.len = n;
  return k;
}

/* Whether a view equals the literal. */
static inline int hmq_str_is(hmq_str s, const char *lit, size_t n) {
  return s.ptr != NULL && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* Compact the JSON value json[0..len) into the writer (internal form used by
 * format.c and envelope.c). */
typedef struct hmq_jout {
  char *buf;
  size_t cap;
  size_t pos; /* may exceed cap: then it is the size needed */
} hmq_jout;

void hmq_jout_put(hmq_jout *w, const char *s, size_t n);
void hmq_jout_compact(hmq_jout *w, const char *json, size_t len);

#endif
