/* SPDX-License-Identifier: MIT */
/*
 * Frame reader: the fixed header (MQTT 5.0 2.1.1) is one byte of type and
 * flags, then the Remaining Length as a Variable Byte Integer (2.1.4). Only
 * this function deals with partial input; body decoders always get one whole
 * packet (docs/ARCHITECTURE.md).
 */
#include "hmq/codec.h"

hmq_status hmq_frame_peek(const uint8_t *buf, size_t len, uint32_t max_packet, hmq_frame *frame,
                          size_t *need) {
  if (frame == NULL || (buf == NULL && len > 0)) {
    return HMQ_ERR_ARG;
  }
  if (len == 0) {
    if (need != NULL) {
      *need = 2; /* the smallest packet is 2 bytes (e.g. PINGRESP) */
    }
    return HMQ_NEED_MORE;
  }
  const uint8_t type = (uint8_t)(buf[0] >> 4);
  if (type == 0) {
    return HMQ_ERR_PACKET_TYPE; /* 0 is reserved (2.1.2) */
  }
  uint32_t remaining = 0;
  size_t n = 0;
  hmq_status st = hmq_varint_decode(buf + 1, len - 1, &remaining, &n);
  if (st == HMQ_NEED_MORE) {
    if (need != NULL) {
      *need = len + 1; /* at least the next byte of the length */
    }
    return HMQ_NEED_MORE;
  }
  if (st != HMQ_OK) {
    return st;
  }
  const size_t total = 1 + n + (size_t)remaining;
  /* [MQTT-3.1.2-24]: the server must not send more than we announced; the
   * whole packet counts, fixed header included (3.1.2.11.4). */
  if (max_packet != 0 && total > max_packet) {
    return HMQ_ERR_PACKET_TOO_LARGE;
  }
  frame->type = type;
  frame->flags = (uint8_t)(buf[0] & 0x0Fu);
  frame->header_len = 1 + n;
  frame->remaining = remaining;
  frame->total = total;
  if (len < total) {
    if (need != NULL) {
      *need = total;
    }
    return HMQ_NEED_MORE;
  }
  return HMQ_OK;
}
