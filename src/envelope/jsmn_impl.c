/*
 * The one place jsmn is compiled (header-only library, libjsmn-dev 1.1.0).
 * JSMN_STATIC keeps its symbols private to this file, JSMN_STRICT makes it
 * reject unquoted keys and bare words, and JSMN_PARENT_LINKS makes closing a
 * container O(1) instead of a backwards scan over every earlier token.
 */
#define JSMN_STATIC
#define HMQ_JSMN_IMPL
#include "envelope/jtok.h"

int hmq_jtok_parse(const char *json, size_t len, hmq_jtok *toks, unsigned cap, size_t *err_pos) {
  jsmn_parser p;
  int r;
  jsmn_init(&p);
  r = jsmn_parse(&p, json, len, toks, cap);
  if (err_pos) {
    *err_pos = p.pos;
  }
  return r;
}
