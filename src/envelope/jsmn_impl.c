/* SPDX-License-Identifier: MIT */
/*
 * The one place jsmn is compiled (header-only library, libjsmn-dev 1.1.0).
 * JSMN_STATIC keeps its symbols private to this file, JSMN_STRICT makes it
 * reject unquoted keys and bare words, and JSMN_PARENT_LINKS makes a comma
 * O(1) instead of a backwards scan over every earlier token.
 *
 * Even with parent links, jsmn closes a container by walking up the parent
 * chain from the newest token until it finds one still open: closing the
 * k-th of n nested containers costs n - k steps, so "[[[…]]]" costs the
 * square of its depth (200 KB of brackets took ~25 s). jsmn keeps no limit
 * of its own, so it is run on at most HMQ_JTOK_STEP more tokens at a time
 * (it resumes exactly where it stopped: a token that did not fit is read
 * again on the next call) and the depth of the open containers is checked
 * in between. No walk can then be longer than the depth limit plus one
 * step's tokens, and the whole parse is linear in the payload.
 */
#define JSMN_STATIC
#define HMQ_JSMN_IMPL
#include "envelope/jtok.h"

/* Tokens per jsmn call: small enough to bound the walks above, large
 * enough that a ~190-token envelope needs only a few calls. */
#define HMQ_JTOK_STEP 64u

/* Containers open at the parser's current position (keys are not levels);
 * stops counting past `limit`. */
static unsigned open_depth(const hmq_jtok *toks, int super, unsigned limit) {
  unsigned d = 0;
  while (super >= 0 && d <= limit) {
    if (toks[super].type == JSMN_OBJECT || toks[super].type == JSMN_ARRAY) {
      d++;
    }
    super = toks[super].parent;
  }
  return d;
}

int hmq_jtok_parse(const char *json, size_t len, hmq_jtok *toks, unsigned cap, unsigned max_depth,
                   size_t *err_pos) {
  jsmn_parser p;
  unsigned lim = 0;
  int r;
  jsmn_init(&p);
  for (;;) {
    lim = cap - lim > HMQ_JTOK_STEP ? lim + HMQ_JTOK_STEP : cap;
    r = jsmn_parse(&p, json, len, toks, lim);
    if (r != JSMN_ERROR_NOMEM || lim == cap) {
      break;
    }
    if (open_depth(toks, p.toksuper, max_depth) > max_depth) {
      r = HMQ_JTOK_DEEP;
      break;
    }
  }
  if (err_pos) {
    *err_pos = p.pos;
  }
  return r;
}
