/* SPDX-License-Identifier: MIT */
/*
 * Internal primitives of the codec: a bounded writer, a bounded reader and
 * the property block encoder/decoder. Not a public header.
 */
#ifndef HMQ_WIRE_H
#define HMQ_WIRE_H

#include "hmq/codec.h"

#include <stdbool.h>

/*
 * Bounded writer. Writes never go past cap; the first overflow is recorded
 * and later writes only count bytes, so after encoding, `pos` is the size the
 * packet needs. Pattern: encode with the real buffer; if w.overflow, return
 * HMQ_ERR_NO_ROOM with *out_len = w.pos.
 */
typedef struct hmq_writer {
  uint8_t *buf;
  size_t cap;
  size_t pos;
  bool overflow;
} hmq_writer;

void hmq_w_init(hmq_writer *w, uint8_t *buf, size_t cap);
void hmq_w_u8(hmq_writer *w, uint8_t v);
void hmq_w_u16(hmq_writer *w, uint16_t v);
void hmq_w_u32(hmq_writer *w, uint32_t v);
void hmq_w_varint(hmq_writer *w, uint32_t v); /* v must be <= HMQ_MAX_REMAINING */
void hmq_w_bytes(hmq_writer *w, const void *p, size_t n);
void hmq_w_str(hmq_writer *w, hmq_str s); /* 2-byte length + bytes */
void hmq_w_bin(hmq_writer *w, hmq_bin b); /* 2-byte length + bytes */
/* A length above 65535 (str/bin) or a varint above HMQ_MAX_REMAINING cannot
 * be encoded at all: the writer then sets overflow and pos = SIZE_MAX (and
 * pos saturates there), so such a packet never "fits". Encoders should
 * check lengths first and return HMQ_ERR_ARG instead. hmq_w_init(w, NULL, 0)
 * gives a counting-only writer. */

/*
 * Bounded reader over one packet body. Every get returns HMQ_OK or
 * HMQ_ERR_LENGTH (not enough bytes left); string getters also validate
 * UTF-8 (HMQ_ERR_UTF8_INVALID / HMQ_ERR_UTF8_NUL).
 */
typedef struct hmq_reader {
  const uint8_t *buf;
  size_t len;
  size_t pos;
} hmq_reader;

void hmq_r_init(hmq_reader *r, const uint8_t *buf, size_t len);
size_t hmq_r_left(const hmq_reader *r);
hmq_status hmq_r_u8(hmq_reader *r, uint8_t *v);
hmq_status hmq_r_u16(hmq_reader *r, uint16_t *v);
hmq_status hmq_r_u32(hmq_reader *r, uint32_t *v);
hmq_status hmq_r_varint(hmq_reader *r, uint32_t *v); /* errors: varint ones, or LENGTH */
hmq_status hmq_r_bytes(hmq_reader *r, size_t n, const uint8_t **p);
hmq_status hmq_r_str(hmq_reader *r, hmq_str *s); /* 2-byte length + UTF-8 */
hmq_status hmq_r_bin(hmq_reader *r, hmq_bin *b); /* 2-byte length + bytes */
/* On error the getters leave r->pos unchanged. An empty string/binary field
 * gives a view with ptr != NULL and len 0 (present and empty). Inside a
 * whole packet a truncated varint is HMQ_ERR_LENGTH, never NEED_MORE. */

/*
 * Properties allowed per packet type (MQTT 5.0 2.2.2.2 table). For the Will
 * Properties of CONNECT use HMQ_PROPS_WILL as the packet type.
 */
#define HMQ_PROPS_WILL 16
uint64_t hmq_props_allowed(uint8_t packet_type);

/* Size of the property block's content (without its varint length), as
 * hmq_props_write would write it (no validation). */
size_t hmq_props_size(const hmq_props *p);

/* Write varint length + properties. Returns HMQ_ERR_PROP_NOT_ALLOWED when
 * p->present has a bit outside hmq_props_allowed(packet_type), or a
 * validation error (UTF-8, values out of range). Properties are written in
 * identifier order; user properties come from p->user[0..user_count) and
 * are written whenever user_count > 0 (the HMQ_PROP_USER bit is implied).
 * p == NULL writes an empty block (one 0x00 byte). Value checks match the
 * decoder's: HMQ_ERR_PROP_VALUE for Byte properties > 1, Receive Maximum 0,
 * Maximum Packet Size 0, Subscription Identifier 0 or > 268435455;
 * HMQ_ERR_UTF8_* for strings; HMQ_ERR_ARG for a length > 65535 or a NULL
 * pointer with a non-zero length. Nothing is written on error. */
hmq_status hmq_props_write(hmq_writer *w, uint8_t packet_type, const hmq_props *p);

/* Read varint length + properties from r into *p (zeroed first), checking
 * allowed ids, duplicates, value ranges and UTF-8. p->raw is set to the
 * property bytes. Errors: HMQ_ERR_LENGTH (block or a value overruns),
 * varint errors, HMQ_ERR_PROP_UNKNOWN, HMQ_ERR_PROP_NOT_ALLOWED,
 * HMQ_ERR_PROP_DUPLICATE (only User Property repeats, and Subscription
 * Identifier in PUBLISH), HMQ_ERR_PROP_VALUE, HMQ_ERR_UTF8_*. Topic Alias 0
 * is accepted here (the engine reports HMQ_ERR_TOPIC_ALIAS). Repeated
 * properties set user_count / sub_id_count (subscription_id = the first);
 * HMQ_PROP_USER / HMQ_PROP_SUBSCRIPTION_ID bits are set when any occur. */
hmq_status hmq_props_read(hmq_reader *r, uint8_t packet_type, hmq_props *p);

#endif
