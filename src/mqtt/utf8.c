/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation for MQTT 5.0 1.5.4: well-formed UTF-8 per RFC 3629
 * (no overlong forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF,
 * no truncated sequences) [MQTT-1.5.4-1], and no U+0000 [MQTT-1.5.4-2].
 * Control characters and non-characters are only "SHOULD NOT" (1.5.4) and
 * are accepted.
 *
 * This runs on every topic of every PUBLISH, so the common all-ASCII case
 * is checked 8 bytes per step: a word passes when no byte has its high bit
 * set and no byte is zero.
 */
#include "hmq/codec.h"

#include <string.h>

#define HMQ_UTF8_ONES  0x0101010101010101ull
#define HMQ_UTF8_HIGHS 0x8080808080808080ull

/* Non-zero when some byte of x is >= 0x80 or == 0x00. The zero-byte test
 * (x - 0x01..) & ~x & 0x80.. is exact as a yes/no answer. */
static uint64_t hmq_utf8_word_special(uint64_t x) {
  return (x | ((x - HMQ_UTF8_ONES) & ~x)) & HMQ_UTF8_HIGHS;
}

/* Validate one non-ASCII sequence starting at s[i]; on success *adv is its
 * length. Second-byte ranges follow RFC 3629 section 4, which is what makes
 * overlongs, surrogates and > U+10FFFF impossible. */
static hmq_status hmq_utf8_seq(const uint8_t *s, size_t left, size_t *adv) {
  uint8_t c = s[0];
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) {
      lo = 0xA0; /* below: overlong */
    } else if (c == 0xED) {
      hi = 0x9F; /* above: surrogates U+D800..U+DFFF */
    }
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) {
      lo = 0x90; /* below: overlong */
    } else if (c == 0xF4) {
      hi = 0x8F; /* above: > U+10FFFF */
    }
  } else {
    /* 0x80..0xBF stray continuation, 0xC0/0xC1 overlong 2-byte,
     * 0xF5..0xFF beyond U+10FFFF or never valid. */
    return HMQ_ERR_UTF8_INVALID;
  }
  if (left < need) {
    return HMQ_ERR_UTF8_INVALID; /* truncated */
  }
  if (s[1] < lo || s[1] > hi) {
    return HMQ_ERR_UTF8_INVALID;
  }
  for (size_t k = 2; k < need; k++) {
    if ((s[k] & 0xC0u) != 0x80u) {
      return HMQ_ERR_UTF8_INVALID;
    }
  }
  *adv = need;
  return HMQ_OK;
}

hmq_status hmq_utf8_check(const char *str, size_t len) {
  if (len == 0) {
    return HMQ_OK;
  }
  if (str == NULL) {
    return HMQ_ERR_ARG;
  }
  const uint8_t *s = (const uint8_t *)str;
  size_t i = 0;
  while (i < len) {
    /* ASCII fast path, 8 bytes at a time (memcpy: no alignment assumption). */
    while (len - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (hmq_utf8_word_special(w) != 0) {
        break;
      }
      i += 8;
    }
    if (i >= len) {
      break;
    }
    uint8_t c = s[i];
    if (c == 0) {
      return HMQ_ERR_UTF8_NUL;
    }
    if (c < 0x80u) {
      i++;
      continue;
    }
    size_t adv = 0;
    hmq_status st = hmq_utf8_seq(s + i, len - i, &adv);
    if (st != HMQ_OK) {
      return st;
    }
    i += adv;
  }
  return HMQ_OK;
}
