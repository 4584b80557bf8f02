/* SPDX-License-Identifier: MIT */
/*
 * Bounded writer and reader (see wire.h). Integers are big-endian
 * (MQTT 5.0 1.5.2, 1.5.3); strings and binary data carry a two-byte length
 * prefix (1.5.4, 1.5.6). The writer never writes past cap: the first
 * overflow is remembered and later calls only count, so one encoding pass
 * also yields the size needed (docs/ARCHITECTURE.md).
 */
#include "mqtt/wire.h"

#include <string.h>

void hmq_w_init(hmq_writer *w, uint8_t *buf, size_t cap) {
  w->buf = buf;
  w->cap = buf != NULL ? cap : 0;
  w->pos = 0;
  w->overflow = false;
}

void hmq_w_bytes(hmq_writer *w, const void *p, size_t n) {
  if (n == 0) {
    return;
  }
  if (n > SIZE_MAX - w->pos) {
    w->overflow = true; /* saturate: an impossible size stays impossible */
    w->pos = SIZE_MAX;
    return;
  }
  if (!w->overflow && n <= w->cap - w->pos) {
    memcpy(w->buf + w->pos, p, n);
  } else {
    w->overflow = true;
  }
  w->pos += n;
}

void hmq_w_u8(hmq_writer *w, uint8_t v) {
  hmq_w_bytes(w, &v, 1);
}

void hmq_w_u16(hmq_writer *w, uint16_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  hmq_w_bytes(w, b, 2);
}

void hmq_w_u32(hmq_writer *w, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  hmq_w_bytes(w, b, 4);
}

void hmq_w_varint(hmq_writer *w, uint32_t v) {
  uint8_t b[4];
  size_t n = 0;
  if (hmq_varint_encode(v, b, &n) != HMQ_OK) {
    /* A caller bug (v > HMQ_MAX_REMAINING): the packet cannot be encoded
     * at all, so report it as never fitting. */
    w->overflow = true;
    w->pos = SIZE_MAX;
    return;
  }
  hmq_w_bytes(w, b, n);
}

/* Lengths above 65535 cannot be expressed (1.5.4): treated like an
 * impossible size, as in hmq_w_varint. Encoders check lengths first. */
static void hmq_w_len16(hmq_writer *w, const void *p, size_t n) {
  if (n > 0xFFFFu) {
    w->overflow = true;
    w->pos = SIZE_MAX;
    return;
  }
  hmq_w_u16(w, (uint16_t)n);
  hmq_w_bytes(w, p, n);
}

void hmq_w_str(hmq_writer *w, hmq_str s) {
  hmq_w_len16(w, s.ptr, s.len);
}

void hmq_w_bin(hmq_writer *w, hmq_bin b) {
  hmq_w_len16(w, b.ptr, b.len);
}

void hmq_r_init(hmq_reader *r, const uint8_t *buf, size_t len) {
  r->buf = buf;
  r->len = buf != NULL ? len : 0;
  r->pos = 0;
}

size_t hmq_r_left(const hmq_reader *r) {
  return r->len - r->pos;
}

hmq_status hmq_r_bytes(hmq_reader *r, size_t n, const uint8_t **p) {
  if (n > r->len - r->pos) {
    return HMQ_ERR_LENGTH;
  }
  *p = r->buf != NULL ? r->buf + r->pos : NULL;
  r->pos += n;
  return HMQ_OK;
}

hmq_status hmq_r_u8(hmq_reader *r, uint8_t *v) {
  if (r->pos >= r->len) {
    return HMQ_ERR_LENGTH;
  }
  *v = r->buf[r->pos++];
  return HMQ_OK;
}

hmq_status hmq_r_u16(hmq_reader *r, uint16_t *v) {
  if (r->len - r->pos < 2) {
    return HMQ_ERR_LENGTH;
  }
  const uint8_t *b = r->buf + r->pos;
  *v = (uint16_t)((unsigned)b[0] << 8 | b[1]);
  r->pos += 2;
  return HMQ_OK;
}

hmq_status hmq_r_u32(hmq_reader *r, uint32_t *v) {
  if (r->len - r->pos < 4) {
    return HMQ_ERR_LENGTH;
  }
  const uint8_t *b = r->buf + r->pos;
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  r->pos += 4;
  return HMQ_OK;
}

hmq_status hmq_r_varint(hmq_reader *r, uint32_t *v) {
  size_t n = 0;
  if (r->pos >= r->len) {
    return HMQ_ERR_LENGTH;
  }
  hmq_status st = hmq_varint_decode(r->buf + r->pos, r->len - r->pos, v, &n);
  if (st == HMQ_NEED_MORE) {
    return HMQ_ERR_LENGTH; /* inside a whole packet, "more" means overrun */
  }
  if (st == HMQ_OK) {
    r->pos += n;
  }
  return st;
}

hmq_status hmq_r_bin(hmq_reader *r, hmq_bin *b) {
  uint16_t n;
  size_t start = r->pos;
  const uint8_t *p;
  if (hmq_r_u16(r, &n) != HMQ_OK || hmq_r_bytes(r, n, &p) != HMQ_OK) {
    r->pos = start;
    return HMQ_ERR_LENGTH;
  }
  b->ptr = p;
  b->len = n;
  return HMQ_OK;
}

hmq_status hmq_r_str(hmq_reader *r, hmq_str *s) {
  size_t start = r->pos;
  hmq_bin b;
  hmq_status st = hmq_r_bin(r, &b);
  if (st != HMQ_OK) {
    return st;
  }
  st = hmq_utf8_check((const char *)b.ptr, b.len);
  if (st != HMQ_OK) {
    r->pos = start;
    return st;
  }
  s->ptr = (const char *)b.ptr;
  s->len = b.len;
  return HMQ_OK;
}
