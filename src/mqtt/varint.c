/* SPDX-License-Identifier: MIT */
/*
 * Variable Byte Integers (MQTT 5.0 1.5.5): 7 bits per byte, least
 * significant group first, high bit = "more bytes follow", at most 4 bytes.
 * Decoding is strict: a fifth byte is malformed (1.5.5) and so is a longer
 * encoding than needed [MQTT-1.5.5-1]. A multi-byte encoding is minimal
 * exactly when its last byte is non-zero, which is the check used here.
 */
#include "hmq/codec.h"

size_t hmq_varint_size(uint32_t v) {
  if (v < 128u) {
    return 1;
  }
  if (v < 16384u) {
    return 2;
  }
  if (v < 2097152u) {
    return 3;
  }
  if (v <= HMQ_MAX_REMAINING) {
    return 4;
  }
  return 0;
}

hmq_status hmq_varint_encode(uint32_t v, uint8_t out[4], size_t *n) {
  if (out == NULL || v > HMQ_MAX_REMAINING) {
    return HMQ_ERR_ARG;
  }
  size_t i = 0;
  do {
    uint8_t b = (uint8_t)(v & 0x7Fu);
    v >>= 7;
    if (v != 0) {
      b |= 0x80u;
    }
    out[i++] = b;
  } while (v != 0);
  if (n != NULL) {
    *n = i;
  }
  return HMQ_OK;
}

hmq_status hmq_varint_decode(const uint8_t *buf, size_t len, uint32_t *v, size_t *n) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; i++) {
    if (i >= len || buf == NULL) {
      return HMQ_NEED_MORE;
    }
    uint8_t b = buf[i];
    value |= (uint32_t)(b & 0x7Fu) << (7u * i);
    if ((b & 0x80u) == 0) {
      if (i > 0 && b == 0) {
        return HMQ_ERR_VARINT_NOT_MINIMAL;
      }
      if (v != NULL) {
        *v = value;
      }
      if (n != NULL) {
        *n = i + 1;
      }
      return HMQ_OK;
    }
  }
  /* The fourth byte still says "more follows": a fifth byte is never valid,
   * so there is no need to wait for it. */
  return HMQ_ERR_VARINT_TOO_LONG;
}
