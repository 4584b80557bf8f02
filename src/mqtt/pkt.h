/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by the packet encoders and decoders
 * (connect.c, publish.c, acks.c, subscribe.c, control.c). Not a public
 * header.
 */
#ifndef HMQ_PKT_H
#define HMQ_PKT_H

#include "mqtt/wire.h"

/*
 * Writes the body (everything after the fixed header) of one packet.
 * Called twice by hmq_pkt_encode: once to measure and validate, once to
 * write. Must be deterministic and must return the same status both times.
 */
typedef hmq_status (*hmq_body_fn)(hmq_writer *w, const void *p);

/*
 * Encode one packet: fixed-header byte `byte0`, Remaining Length, then the
 * body written by `body`. Returns HMQ_OK (*out_len = bytes written),
 * HMQ_ERR_NO_ROOM (*out_len = bytes needed, buf untouched), HMQ_ERR_ARG
 * (body larger than HMQ_MAX_REMAINING) or the body's own error (*out_len 0).
 */
hmq_status hmq_pkt_encode(uint8_t *buf, size_t cap, uint8_t byte0, hmq_body_fn body, const void *p,
                          size_t *out_len);

/*
 * Open one whole packet for decoding: checks that pkt/len is exactly one
 * frame of packet type `type` and, when `flags` is 0..15, that the fixed
 * header's low nibble equals it. On HMQ_OK *r reads the body and
 * *flags_out (may be NULL) holds the low nibble.
 */
hmq_status hmq_pkt_open(const uint8_t *pkt, size_t len, uint8_t type, int flags, hmq_reader *r,
                        uint8_t *flags_out);

/* 2.1.3: the fixed-header flags every packet type but PUBLISH must carry
 * (0b0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0 otherwise). */
uint8_t hmq_pkt_fixed_flags(uint8_t type);

/*
 * Open a packet whose variable header starts with a Packet Identifier
 * (the acknowledgements PUBACK..PUBCOMP, SUBACK, UNSUBACK): learns the type
 * from the fixed header, HMQ_ERR_PACKET_TYPE unless type_ok(type),
 * HMQ_ERR_LENGTH when pkt/len is not one whole frame, then checks the
 * flags of hmq_pkt_fixed_flags and reads the identifier, which must not
 * be 0 (HMQ_ERR_PACKET_ID_ZERO [MQTT-2.2.1-3]). *type is set once the type
 * is accepted, *packet_id once read; on HMQ_OK *r reads what follows.
 */
hmq_status hmq_pkt_open_id(const uint8_t *pkt, size_t len, bool (*type_ok)(uint8_t type),
                           hmq_reader *r, uint8_t *type, uint16_t *packet_id);

/* HMQ_OK when the whole body was consumed, else HMQ_ERR_LENGTH. */
hmq_status hmq_pkt_close(const hmq_reader *r);

/* True when `reason` is a reason code MQTT 5.0 allows in packets of
 * `type` (2.4 table; 3.x.2.1 per packet). */
bool hmq_reason_valid(uint8_t type, uint8_t reason);

/* Validate a string the caller wants to send: length fits a two-byte
 * prefix (HMQ_ERR_ARG) and UTF-8 rules of 1.5.4. A NULL view is empty. */
hmq_status hmq_pkt_check_str(hmq_str s);

/* Topic Name rules shared by PUBLISH and the Will Topic (4.7.3): at least
 * one character (HMQ_ERR_TOPIC_EMPTY unless `alias_ok`) and no wildcard
 * (HMQ_ERR_TOPIC_WILDCARD [MQTT-3.3.2-2]). UTF-8 is checked elsewhere. */
hmq_status hmq_pkt_check_topic(hmq_str t, bool alias_ok);

/* Payload Format Indicator 1 means the payload is UTF-8 (3.3.2.3.2):
 * HMQ_ERR_PAYLOAD_FORMAT when it is not. */
hmq_status hmq_pkt_check_payload(const hmq_props *props, hmq_bin payload);

/* True when the property block is empty (nothing to encode). */
bool hmq_props_empty(const hmq_props *p);

#endif
