/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON check over jsmn's tokens.
 *
 * jsmn (even with JSMN_STRICT) is a tokenizer, not a validator: it ignores
 * commas ("[1 2]", "[1,,2]", "{\"a\":1,}" all pass), takes any run of
 * printable bytes after a digit or t/f/n as a primitive ("tru", "01",
 * "1.e"), lets raw control characters into strings and accepts several
 * top-level values. We want "not JSON" to mean RFC 8259 not JSON, and the
 * walkers rely on objects being key/value pairs, so one linear pass checks:
 *  - structure: an object's children are string keys with exactly one
 *    value each, nothing hangs under a primitive or a value string, only
 *    one top-level value;
 *  - the bytes between tokens: whitespace plus exactly the punctuation the
 *    grammar wants there (':' after a key, ',' between members, nothing
 *    after an opening bracket or before a closing one);
 *  - literals and numbers (RFC 8259 section 3 and 6), and no byte < 0x20
 *    inside strings (section 7).
 *  - every string (keys included) is valid UTF-8 (RFC 8259 section 8.1),
 *    so every line hmq writes from it is UTF-8 JSON;
 *  - no more than HMQ_JSON_MAX_DEPTH nested objects and arrays.
 * It needs no stack: jsmn's parent links give the enclosing container.
 */
#include <stdint.h>
#include <string.h>

#include "hmq/envelope.h"
#include "envelope/jtok.h"

enum { PREV_NONE, PREV_OPEN, PREV_KEY, PREV_VALUE };

static int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Bytes [from, to) must be: whitespace, optionally one `punct`, whitespace.
 * punct 0 means whitespace only. Returns GAP_OK, GAP_MISSING (punct wanted
 * but absent) or GAP_EXTRA (a byte that does not belong), with *bad set to
 * the offset of the offending position. */
enum { GAP_OK, GAP_MISSING, GAP_EXTRA };

static int gap_check(const char *js, size_t from, size_t to, char punct, size_t *bad) {
  size_t i = from;
  /* Machine-written JSON has no whitespace: the gap is exactly the
   * punctuation (or empty). Settle that without the loops. */
  if (to - from == (punct ? 1u : 0u) && (!punct || js[from] == punct)) {
    *bad = to;
    return GAP_OK;
  }
  while (i < to && is_ws(js[i])) {
    i++;
  }
  if (punct) {
    if (i >= to || js[i] != punct) {
      *bad = i;
      return GAP_MISSING;
    }
    i++;
    while (i < to && is_ws(js[i])) {
      i++;
    }
  }
  *bad = i;
  return i == to ? GAP_OK : GAP_EXTRA;
}

static int literal_ok(const char *s, size_t n) {
  size_t i = 0;
  if ((n == 4 && s[0] == 't' && s[1] == 'r' && s[2] == 'u' && s[3] == 'e') ||
      (n == 5 && s[0] == 'f' && s[1] == 'a' && s[2] == 'l' && s[3] == 's' && s[4] == 'e') ||
      (n == 4 && s[0] == 'n' && s[1] == 'u' && s[2] == 'l' && s[3] == 'l')) {
    return 1;
  }
  /* number = [ minus ] int [ frac ] [ exp ] (RFC 8259 section 6) */
  if (i < n && s[i] == '-') {
    i++;
  }
  if (i >= n) {
    return 0;
  }
  if (s[i] == '0') {
    i++;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) {
      i++;
    }
  } else {
    return 0;
  }
  if (i < n && s[i] == '.') {
    size_t d = ++i;
    while (i < n && is_digit(s[i])) {
      i++;
    }
    if (i == d) {
      return 0;
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t d;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      i++;
    }
    d = i;
    while (i < n && is_digit(s[i])) {
      i++;
    }
    if (i == d) {
      return 0;
    }
  }
  return i == n;
}

/* Length of the valid UTF-8 sequence starting at js[i] (a byte >= 0x80;
 * RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
 * 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t i, size_t to) {
  unsigned c = s[i];
  size_t n, k;
  unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (to - i < n || s[i + 1] < lo || s[i + 1] > hi) {
    return 0;
  }
  for (k = 2; k < n; k++) {
    if ((s[i + k] & 0xC0u) != 0x80u) {
      return 0;
    }
  }
  return n;
}

/* Offset of the first byte in js[from, to) that a JSON string may not hold
 * raw: a control character (< 0x20, *ctl = 1) or a byte that does not
 * start or continue valid UTF-8 (*ctl = 0); `to` when there is none.
 * Strings are most of an envelope's bytes, and nearly all of them ASCII, so
 * test eight at a time: a word has a byte below 0x20 iff
 * (w - 0x20..20) & ~w & 0x80..80 is non-zero (the borrow can only start at
 * such a byte; bytes >= 0x80 are masked by ~w), and one >= 0x80 iff
 * w & 0x80..80 is. */
static size_t bad_string_byte(const char *js, size_t from, size_t to, int *ctl) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  const unsigned char *s = (const unsigned char *)js;
  size_t i = from;
  for (;;) {
    while (i + 8 <= to) {
      uint64_t w;
      memcpy(&w, js + i, 8);
      if ((((w - ones * 0x20) & ~w) | w) & highs) {
        break;
      }
      i += 8;
    }
    if (i >= to) {
      return to;
    }
    if (s[i] < 0x20) {
      *ctl = 1;
      return i;
    }
    if (s[i] >= 0x80) {
      size_t k = utf8_len(s, i, to);
      if (k == 0) {
        *ctl = 0;
        return i;
      }
      i += k;
    } else {
      i++;
    }
  }
}

/* The container that holds container c (skipping the key between). */
static int outer(const hmq_jtok *toks, int c) {
  int p = toks[c].parent;
  if (p >= 0 && toks[p].type == JSMN_STRING) {
    p = toks[p].parent;
  }
  return p;
}

#define FAIL(text, at)                                                                             \
  do {                                                                                             \
    *reason = (text);                                                                              \
    *err_pos = (at);                                                                               \
    return HMQ_ERR_JSON;                                                                           \
  } while (0)

/* Where the walk stands: after byte pos-1, what came last, the innermost
 * open container (-1: none) and its depth. spaced: any gap longer than its
 * one punctuation byte holds whitespace (the gaps before the first and after
 * the last token lie outside the value and are not counted); found here for
 * free, it lets the formatter copy instead of compacting (format.c). */
typedef struct nest {
  size_t pos;
  int prev;
  int open;
  size_t depth;
  int spaced;
} nest;

/* Close every open container that ends at or before byte b. Inline: the
 * walk state stays in registers in the token loop. */
static inline hmq_status close_upto(const char *js, const hmq_jtok *toks, size_t b, nest *w,
                                    const char **reason, size_t *err_pos) {
  size_t g;
  while (w->open >= 0 && (size_t)toks[w->open].end <= b) {
    size_t close = (size_t)toks[w->open].end - 1;
    if (w->prev == PREV_KEY) {
      FAIL("not JSON: key without a value", close);
    }
    if (gap_check(js, w->pos, close, 0, &g) != GAP_OK) {
      FAIL("not JSON: unexpected ',' or ':' before a closing bracket", g);
    }
    w->spaced |= close != w->pos;
    w->pos = close + 1;
    w->prev = PREV_VALUE;
    w->open = outer(toks, w->open);
    w->depth--;
  }
  return HMQ_OK;
}

hmq_status hmq_jtok_validate(const char *js, size_t len, const hmq_jtok *toks, size_t n, int plain,
                             const char **reason, size_t *err_pos, int *tight) {
  size_t i, g;
  nest w = {0, PREV_NONE, -1, 0, 0};

  if (n == 0) {
    FAIL("not JSON: no value", 0);
  }
  for (i = 0; i < n; i++) {
    const hmq_jtok *t = &toks[i];
    size_t b = (size_t)t->start - (t->type == JSMN_STRING ? 1u : 0u);
    int p = t->parent;
    int is_key = 0, gap;
    char punct;

    /* Close every container that ends before this token begins. */
    if (close_upto(js, toks, b, &w, reason, err_pos) != HMQ_OK) {
      return HMQ_ERR_JSON;
    }
    if (i > 0 && w.open < 0) {
      FAIL("not JSON: data after the top-level value", b);
    }
    punct = w.prev == PREV_KEY ? ':' : w.prev == PREV_VALUE ? ',' : 0;
    gap = gap_check(js, w.pos, b, punct, &g);
    if (gap != GAP_OK) {
      FAIL(gap == GAP_EXTRA ? "not JSON: unexpected character"
           : punct == ':'   ? "not JSON: expected ':' after a key"
                            : "not JSON: expected ',' between values",
           g);
    }
    w.spaced |= i > 0 && b - w.pos != (punct ? 1u : 0u);

    /* Where jsmn hung this token must match the grammar's place for it. */
    if (w.prev == PREV_KEY) {
      if (p != (int)i - 1) {
        FAIL("not JSON: misplaced value", b);
      }
    } else if (p != w.open) {
      FAIL("not JSON: misplaced value", b);
    }
    if (p >= 0 && toks[p].type == JSMN_OBJECT) {
      if (t->type != JSMN_STRING || t->size != 1) {
        FAIL("not JSON: object member is not \"key\": value", b);
      }
      is_key = 1;
    } else if (t->type == JSMN_STRING || t->type == JSMN_PRIMITIVE) {
      if (t->size != 0) {
        FAIL("not JSON: value followed by ':'", (size_t)t->end);
      }
    }

    if (t->type == JSMN_STRING) {
      int ctl = 0;
      size_t k =
          plain ? (size_t)t->end : bad_string_byte(js, (size_t)t->start, (size_t)t->end, &ctl);
      if (k != (size_t)t->end) {
        FAIL(ctl ? "not JSON: control character inside a string"
                 : "not JSON: string is not valid UTF-8",
             k);
      }
      w.pos = (size_t)t->end + 1;
      w.prev = is_key ? PREV_KEY : PREV_VALUE;
    } else if (t->type == JSMN_PRIMITIVE) {
      if (!literal_ok(js + t->start, (size_t)(t->end - t->start))) {
        FAIL("not JSON: invalid number or literal", b);
      }
      w.pos = (size_t)t->end;
      w.prev = PREV_VALUE;
    } else if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
      w.pos = (size_t)t->start + 1;
      w.prev = PREV_OPEN;
      w.open = (int)i;
      if (++w.depth > HMQ_JSON_MAX_DEPTH) {
        *reason = "JSON nested deeper than 64 levels";
        *err_pos = b;
        return HMQ_ERR_JSON_TOO_BIG;
      }
    } else {
      FAIL("not JSON: unexpected token", b);
    }
  }
  if (close_upto(js, toks, SIZE_MAX, &w, reason, err_pos) != HMQ_OK) { /* all that is open */
    return HMQ_ERR_JSON;
  }
  if (gap_check(js, w.pos, len, 0, &g) != GAP_OK) {
    FAIL("not JSON: data after the top-level value", g);
  }
  *tight = !w.spaced;
  return HMQ_OK;
}
