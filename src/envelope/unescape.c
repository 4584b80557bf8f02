/* SPDX-License-Identifier: MIT */
/*
 * JSON string escapes (RFC 8259 section 7) decoded to UTF-8.
 *
 * The envelope hands out strings as they are on the wire; most never carry
 * a backslash, so decoding is opt-in. \uXXXX pairs in the surrogate range
 * combine into one code point (section 7, "extended character"); a lone
 * surrogate cannot be UTF-8, so it becomes U+FFFD rather than an error,
 * because the text is only used for names and logs.
 */
#include "hmq/envelope.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Four hex digits at s[i..i+3] or -1. */
static long hex4(const char *s, size_t n, size_t i) {
  long v = 0;
  size_t k;
  if (i + 4 > n) {
    return -1;
  }
  for (k = 0; k < 4; k++) {
    int h = hexval(s[i + k]);
    if (h < 0) {
      return -1;
    }
    v = v * 16 + h;
  }
  return v;
}

static void out(char *buf, size_t cap, size_t *pos, unsigned char c) {
  if (*pos < cap) {
    buf[*pos] = (char)c;
  }
  (*pos)++;
}

static void out_utf8(char *buf, size_t cap, size_t *pos, unsigned long cp) {
  if (cp < 0x80) {
    out(buf, cap, pos, (unsigned char)cp);
  } else if (cp < 0x800) {
    out(buf, cap, pos, (unsigned char)(0xC0 | (cp >> 6)));
    out(buf, cap, pos, (unsigned char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out(buf, cap, pos, (unsigned char)(0xE0 | (cp >> 12)));
    out(buf, cap, pos, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
    out(buf, cap, pos, (unsigned char)(0x80 | (cp & 0x3F)));
  } else {
    out(buf, cap, pos, (unsigned char)(0xF0 | (cp >> 18)));
    out(buf, cap, pos, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
    out(buf, cap, pos, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
    out(buf, cap, pos, (unsigned char)(0x80 | (cp & 0x3F)));
  }
}

/* Decode the character (plain byte or escape, a surrogate pair as one) at
 * s[*i], advancing *i. HMQ_OK or HMQ_ERR_JSON for a malformed escape. */
static hmq_status decode_one(hmq_str s, size_t *i, char *buf, size_t cap, size_t *pos) {
  char c = s.ptr[*i];
  long cp;
  if (c != '\\') {
    out(buf, cap, pos, (unsigned char)c);
    (*i)++;
    return HMQ_OK;
  }
  if (*i + 1 >= s.len) {
    return HMQ_ERR_JSON;
  }
  c = s.ptr[*i + 1];
  *i += 2;
  switch (c) {
  case '"':
  case '\\':
  case '/':
    out(buf, cap, pos, (unsigned char)c);
    return HMQ_OK;
  case 'b':
    out(buf, cap, pos, '\b');
    return HMQ_OK;
  case 'f':
    out(buf, cap, pos, '\f');
    return HMQ_OK;
  case 'n':
    out(buf, cap, pos, '\n');
    return HMQ_OK;
  case 'r':
    out(buf, cap, pos, '\r');
    return HMQ_OK;
  case 't':
    out(buf, cap, pos, '\t');
    return HMQ_OK;
  case 'u':
    break;
  default:
    return HMQ_ERR_JSON;
  }
  cp = hex4(s.ptr, s.len, *i);
  if (cp < 0) {
    return HMQ_ERR_JSON;
  }
  *i += 4;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    long lo = -1;
    if (*i + 6 <= s.len && s.ptr[*i] == '\\' && s.ptr[*i + 1] == 'u') {
      lo = hex4(s.ptr, s.len, *i + 2);
    }
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      *i += 6;
    } else {
      cp = 0xFFFD;
    }
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    cp = 0xFFFD;
  }
  out_utf8(buf, cap, pos, (unsigned long)cp);
  return HMQ_OK;
}

hmq_status hmq_json_unescape(hmq_str s, char *buf, size_t cap, size_t *out_len) {
  size_t i = 0, pos = 0;
  if (out_len == NULL || (s.ptr == NULL && s.len > 0) || (buf == NULL && cap > 0)) {
    return HMQ_ERR_ARG;
  }
  while (i < s.len) {
    hmq_status st = decode_one(s, &i, buf, cap, &pos);
    if (st != HMQ_OK) {
      return st;
    }
  }
  *out_len = pos;
  return pos > cap ? HMQ_ERR_NO_ROOM : HMQ_OK;
}

/* A character decodes to at most 4 bytes of UTF-8. */
#define MAX_CHAR 4u

hmq_status hmq_json_unescape_part(hmq_str s, size_t *at, char *buf, size_t cap, size_t *out_len) {
  size_t i, pos = 0;
  if (at == NULL || out_len == NULL || (s.ptr == NULL && s.len > 0) || buf == NULL ||
      cap < MAX_CHAR || *at > s.len) {
    return HMQ_ERR_ARG;
  }
  i = *at;
  while (i < s.len && cap - pos >= MAX_CHAR) {
    hmq_status st = decode_one(s, &i, buf, cap, &pos);
    if (st != HMQ_OK) {
      return st;
    }
  }
  *at = i;
  *out_len = pos;
  return HMQ_OK;
}
