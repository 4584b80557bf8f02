/* SPDX-License-Identifier: MIT */
/*
 * The tokenizer: hmq's own, producing exactly the tokens jsmn 1.1.0
 * (libjsmn-dev) produces in its strict mode with parent links (JSMN_STRICT,
 * JSMN_PARENT_LINKS; the jsmntok_t layout of jtok.h), and failing on the
 * same inputs with the same outcome. Only the token type comes from
 * jsmn.h; none of its code is compiled. Why our own: the profile of a
 * drain over TLS put jsmn at about a third of the envelope's cost, most of
 * it in a byte-at-a-time string loop with its position kept in the parser
 * struct, and a scan of every token at the end for containers left open.
 * Here the position lives in a register, strings are scanned eight bytes
 * at a time, and the open containers are counted as they come and go.
 *
 * What it accepts, token by token (validate.c then enforces strict JSON;
 * the rules below are what that pass expects to see):
 *  - '{' '[': a container; refused as an object's key (its parent is an
 *    object). Its parent gets size + 1.
 *  - '}' ']': closes the innermost open container (refused when its type
 *    differs). With none open, it is refused unless the newest top-level
 *    token has the same type and a token is pending as the parent (jsmn
 *    walks up from the newest token; it finds the same container, see
 *    below).
 *  - '"': a string up to the next unescaped quote; escapes \" \\ \/ \b \f
 *    \n \r \t and \u with four hex digits, anything else after '\' is
 *    refused (position: the opening quote). The parent gets size + 1.
 *  - '-', digits, 't', 'f', 'n': a primitive, up to whitespace, ',', ']' or
 *    '}'; refused as an object's key or as a second value of a key; a byte
 *    < 0x20 or >= 0x7f inside it is refused (position: its start); one
 *    that runs into the end is "partial".
 *  - ':' makes the newest token the parent; ',' moves the parent up from a
 *    key to its container; whitespace is skipped; any other byte is
 *    refused. A NUL byte ends the input (the caller refuses NUL first).
 *  - at the end, a container still open makes the result "partial".
 *
 * Closing brackets without jsmn's walk: jsmn finds the container to close
 * by walking up the parent chain from the newest token to the first one
 * still open. Every token is created under the innermost open container
 * of its time (':' points at the newest token, ',' and a close only move
 * up), so that walk always ends at the innermost open container, or, with
 * none open, at the newest top-level token. Both are kept here (a stack of
 * the open containers, the newest parentless token), so a close is O(1)
 * and the parse is linear in the payload. jsmn's walk is not: "[[[…]]]"
 * costs the square of the depth, and so does a chain "[] :1 :1 :1 … ]]]"
 * at depth 0 (each ':' hangs the next value under the previous one; 128 KB
 * took 3.2 s with jsmn). Opening a container deeper than max_depth stops
 * with HMQ_JTOK_DEEP at once.
 */
#include <stdint.h>
#include <string.h>

#include "envelope/jtok.h"

/* Open containers tracked; max_depth beyond it is capped to it. */
#define HMQ_JTOK_STACK 128u

/* Offset of the first '"', '\\' or NUL byte in s[i, len), or len. Eight
 * bytes at a time: a byte of w equals c iff the same byte of w ^ (c * ones)
 * is zero, and (x - ones) & ~x & highs marks the lowest zero byte of x
 * exactly (a borrow can only mark bytes above it), so on a little-endian
 * machine the lowest marked bit names the byte. */
static size_t string_stop(const char *s, size_t i, size_t len) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  while (i + 8 <= len) {
    uint64_t w, q, b, m;
    memcpy(&w, s + i, 8);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones) & ~w)) & highs;
    if (m != 0) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return i + (size_t)__builtin_ctzll(m) / 8;
#else
      break;
#endif
    }
    i += 8;
  }
  while (i < len && s[i] != '"' && s[i] != '\\' && s[i] != '\0') {
    i++;
  }
  return i;
}

/* What a byte does inside a primitive (jsmn's strict rules): P_ON goes on,
 * P_END ends it (whitespace, ',', ']', '}'; read again by the main loop),
 * P_BAD is refused (< 0x20, >= 0x7f), P_NUL ends the input. Bytes >= 0x80
 * are P_BAD too (not in the table). */
enum { P_ON, P_END, P_BAD, P_NUL };
static const unsigned char prim_class[128] = {
    [0] = P_NUL,   [1] = P_BAD,    [2] = P_BAD,   [3] = P_BAD,    [4] = P_BAD,    [5] = P_BAD,
    [6] = P_BAD,   [7] = P_BAD,    [8] = P_BAD,   ['\t'] = P_END, ['\n'] = P_END, [11] = P_BAD,
    [12] = P_BAD,  ['\r'] = P_END, [14] = P_BAD,  [15] = P_BAD,   [16] = P_BAD,   [17] = P_BAD,
    [18] = P_BAD,  [19] = P_BAD,   [20] = P_BAD,  [21] = P_BAD,   [22] = P_BAD,   [23] = P_BAD,
    [24] = P_BAD,  [25] = P_BAD,   [26] = P_BAD,  [27] = P_BAD,   [28] = P_BAD,   [29] = P_BAD,
    [30] = P_BAD,  [31] = P_BAD,   [' '] = P_END, [','] = P_END,  [']'] = P_END,  ['}'] = P_END,
    [127] = P_BAD,
};

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static void fill(hmq_jtok *t, jsmntype_t type, int start, int end, int parent) {
  t->type = type;
  t->start = start;
  t->end = end;
  t->size = 0;
  t->parent = parent;
}

/* A string or primitive as token i under super (-1: top level). */
static inline void add_leaf(hmq_jtok *toks, unsigned i, unsigned *root, int super, jsmntype_t type,
                            int start, int end) {
  fill(&toks[i], type, start, end, super);
  if (super == -1) {
    *root = i;
  } else {
    toks[super].size++;
  }
}

int hmq_jtok_parse(const char *js, size_t len, hmq_jtok *toks, unsigned cap, unsigned max_depth,
                   size_t *err_pos) {
  size_t pos = 0;
  unsigned next = 0;             /* tokens used */
  int super = -1;                /* token the next one hangs under */
  unsigned depth = 0;            /* containers open */
  unsigned open[HMQ_JTOK_STACK]; /* their tokens, outermost first */
  unsigned root = 0;             /* newest token without a parent */
  size_t start = 0;              /* where the string or primitive being read began */
  int r;

  for (; pos < len && js[pos] != '\0'; pos++) {
    char c = js[pos];
    switch (c) {
    case '{':
    case '[':
      if (next >= cap) {
        r = HMQ_JTOK_NOMEM;
        goto out;
      }
      if (super != -1) {
        if (toks[super].type == JSMN_OBJECT) {
          r = HMQ_JTOK_INVAL;
          goto out;
        }
        toks[super].size++;
      }
      if (depth >= max_depth || depth >= HMQ_JTOK_STACK) {
        r = HMQ_JTOK_DEEP;
        goto out;
      }
      if (super == -1) {
        root = next;
      }
      fill(&toks[next], c == '{' ? JSMN_OBJECT : JSMN_ARRAY, (int)pos, -1, super);
      open[depth++] = next;
      super = (int)next++;
      break;
    case '}':
    case ']': {
      jsmntype_t type = c == '}' ? JSMN_OBJECT : JSMN_ARRAY;
      if (next < 1) {
        r = HMQ_JTOK_INVAL;
        goto out;
      }
      if (depth > 0) { /* the innermost open container */
        hmq_jtok *t = &toks[open[depth - 1]];
        if (t->type != type) {
          r = HMQ_JTOK_INVAL;
          goto out;
        }
        t->end = (int)pos + 1;
        super = t->parent;
        depth--;
      } else if (toks[root].type != type || super == -1) {
        r = HMQ_JTOK_INVAL;
        goto out;
      }
      break;
    }
    case '"': {
      start = pos;
      for (pos++;; pos++) {
        pos = string_stop(js, pos, len);
        if (pos >= len || js[pos] == '\0') {
          r = HMQ_JTOK_PART;
          goto rewind;
        }
        if (js[pos] == '"') {
          break;
        }
        /* a backslash; at the very end it is left for the loop to end */
        if (pos + 1 >= len) {
          continue;
        }
        pos++;
        switch (js[pos]) {
        case '"':
        case '/':
        case '\\':
        case 'b':
        case 'f':
        case 'r':
        case 'n':
        case 't':
          break;
        case 'u': {
          int k;
          pos++;
          for (k = 0; k < 4 && pos < len && js[pos] != '\0'; k++) {
            if (!is_hex(js[pos])) {
              r = HMQ_JTOK_INVAL;
              goto rewind;
            }
            pos++;
          }
          pos--;
          break;
        }
        default:
          r = HMQ_JTOK_INVAL;
          goto rewind;
        }
      }
      if (next >= cap) {
        r = HMQ_JTOK_NOMEM;
        goto rewind;
      }
      add_leaf(toks, next++, &root, super, JSMN_STRING, (int)start + 1, (int)pos);
      break;
    }
    case '\t':
    case '\r':
    case '\n':
    case ' ':
      break;
    case ':':
      super = (int)next - 1;
      break;
    case ',':
      if (super != -1 && toks[super].type != JSMN_ARRAY && toks[super].type != JSMN_OBJECT) {
        super = toks[super].parent;
      }
      break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
    case 't':
    case 'f':
    case 'n': {
      start = pos;
      if (super != -1) {
        const hmq_jtok *t = &toks[super];
        if (t->type == JSMN_OBJECT || (t->type == JSMN_STRING && t->size != 0)) {
          r = HMQ_JTOK_INVAL;
          goto out;
        }
      }
      for (;; pos++) {
        unsigned char b = pos < len ? (unsigned char)js[pos] : 0;
        unsigned k = b < 128 ? prim_class[b] : P_BAD;
        if (k == P_ON) {
          continue;
        }
        if (k == P_END) {
          break;
        }
        r = k == P_BAD ? HMQ_JTOK_INVAL : HMQ_JTOK_PART;
        goto rewind;
      }
      if (next >= cap) {
        r = HMQ_JTOK_NOMEM;
        goto rewind;
      }
      add_leaf(toks, next++, &root, super, JSMN_PRIMITIVE, (int)start, (int)pos);
      pos--; /* the delimiter is read again by the loop */
      break;
    }
    default:
      r = HMQ_JTOK_INVAL;
      goto out;
    }
  }
  r = depth > 0 ? HMQ_JTOK_PART : (int)next;
  goto out;
rewind: /* errors inside a string or primitive are reported at its start */
  pos = start;
out:
  if (err_pos) {
    *err_pos = pos;
  }
  return r;
}
