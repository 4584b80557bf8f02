/* SPDX-License-Identifier: MIT */
/*
 * hmq codec: MQTT 5.0 packets, sans I/O.
 *
 * Frame first, then body: hmq_frame_peek() looks at the start of a byte
 * stream and says whether one whole packet is there. Body decoders then get
 * exactly that packet (`pkt`, `len` = frame.total) and return views into it:
 * every hmq_str / hmq_bin a decoder hands out points into `pkt` and stays
 * valid as long as those bytes are neither moved nor overwritten.
 *
 * Encoders write one whole packet into (buf, cap). On success *out_len is
 * the number of bytes written; on HMQ_ERR_NO_ROOM nothing useful was written
 * and *out_len is the size that would be needed. Encoders validate what the
 * caller gives them (UTF-8, packet id != 0, QoS <= 2 …) and return the same
 * error a decoder would for the same mistake.
 *
 * Decoders are strict: every rule listed in hmq.h's status list is checked
 * and reported with its own status. hmq_status_reason() maps the status to
 * the reason code our DISCONNECT must carry.
 *
 * Contract: hmq::mqtt, C11 + libc headers. Buffers are the caller's: the
 * codec keeps no state between calls, allocates nothing, never blocks and
 * never reads beyond (pkt, len) or writes beyond (buf, cap). Every function
 * returns an hmq_status (hmq.h); a decoder that fails leaves its output
 * undefined, so check the status before reading it.
 */
#ifndef HMQ_CODEC_H
#define HMQ_CODEC_H

#include "hmq/hmq.h"

#ifdef __cplusplus
extern "C" {
#endif

HMQ_API_BEGIN

/* Control packet types (MQTT 5.0 2.1.2). */
typedef enum hmq_packet_type {
  HMQ_PKT_CONNECT = 1,
  HMQ_PKT_CONNACK = 2,
  HMQ_PKT_PUBLISH = 3,
  HMQ_PKT_PUBACK = 4,
  HMQ_PKT_PUBREC = 5,
  HMQ_PKT_PUBREL = 6,
  HMQ_PKT_PUBCOMP = 7,
  HMQ_PKT_SUBSCRIBE = 8,
  HMQ_PKT_SUBACK = 9,
  HMQ_PKT_UNSUBSCRIBE = 10,
  HMQ_PKT_UNSUBACK = 11,
  HMQ_PKT_PINGREQ = 12,
  HMQ_PKT_PINGRESP = 13,
  HMQ_PKT_DISCONNECT = 14,
  HMQ_PKT_AUTH = 15
} hmq_packet_type;

/* Name of a packet type ("PUBLISH"); static, never NULL. */
const char *hmq_packet_name(uint8_t type);

/* Largest Remaining Length a variable byte integer can carry (MQTT 5.0 1.5.5). */
#define HMQ_MAX_REMAINING 268435455u
/* Largest whole packet: 1 byte type + 4 bytes length + remaining. */
#define HMQ_MAX_PACKET (HMQ_MAX_REMAINING + 5u)

/* ------------------------------------------------------------------------ */
/* Frame reader                                                             */

typedef struct hmq_frame {
  uint8_t type;      /* high nibble of byte 0 */
  uint8_t flags;     /* low nibble of byte 0 */
  size_t header_len; /* fixed header: 1 + length of the varint (2..5) */
  size_t remaining;  /* Remaining Length */
  size_t total;      /* header_len + remaining: bytes of the whole packet */
} hmq_frame;

/*
 * Look at the first bytes of `buf` (`len` may be 0). Returns:
 *  HMQ_OK          one whole packet of frame->total bytes is at buf;
 *  HMQ_NEED_MORE   not yet; *need is the total number of bytes buf must
 *                  hold before the next call can succeed (a lower bound
 *                  while the length field itself is incomplete);
 *  HMQ_ERR_VARINT_TOO_LONG, HMQ_ERR_VARINT_NOT_MINIMAL,
 *  HMQ_ERR_PACKET_TOO_LARGE (total > max_packet; max_packet 0 = no limit
 *                  besides HMQ_MAX_PACKET), HMQ_ERR_PACKET_TYPE (type 0).
 * Only the fixed header is examined; flags are checked by the body decoder.
 * `need` may be NULL. Reads no more than 5 bytes.
 */
hmq_status hmq_frame_peek(const uint8_t *buf, size_t len, uint32_t max_packet, hmq_frame *frame,
                          size_t *need);

/* ------------------------------------------------------------------------ */
/* Variable byte integers (MQTT 5.0 1.5.5)                                  */

/* Encode v (<= HMQ_MAX_REMAINING) into out[0..3]; *n gets 1..4.
 * HMQ_ERR_ARG when v is too large. */
hmq_status hmq_varint_encode(uint32_t v, uint8_t out[4], size_t *n);
/* Decode from buf: HMQ_OK (*v, *n set), HMQ_NEED_MORE, HMQ_ERR_VARINT_TOO_LONG,
 * HMQ_ERR_VARINT_NOT_MINIMAL. */
hmq_status hmq_varint_decode(const uint8_t *buf, size_t len, uint32_t *v, size_t *n);
/* Number of bytes v takes as a varint (1..4), 0 when too large. */
size_t hmq_varint_size(uint32_t v);

/* Check a UTF-8 string per MQTT 5.0 1.5.4: HMQ_OK, HMQ_ERR_UTF8_INVALID or
 * HMQ_ERR_UTF8_NUL. (U+0001..U+001F and U+007F..U+009F are allowed.) */
hmq_status hmq_utf8_check(const char *s, size_t len);

/* Check a subscription's topic filter before it is sent (MQTT 5.0 4.7,
 * 4.8.2, 1.5.4): HMQ_OK, HMQ_ERR_FILTER_EMPTY, HMQ_ERR_FILTER_HASH ('#' not
 * a whole last level, e.g. "a/#/b", "a#"), HMQ_ERR_FILTER_PLUS ("a+/b"),
 * HMQ_ERR_FILTER_SHARE ("$share/", "$share/g", "$share//a", "$share/g+/a"),
 * HMQ_ERR_STRING_TOO_LONG (> 65535 bytes), HMQ_ERR_UTF8_INVALID,
 * HMQ_ERR_UTF8_NUL; HMQ_ERR_ARG for NULL with len > 0. */
hmq_status hmq_topic_filter_check(const char *filter, size_t len);

/* Check a client identifier (MQTT 5.0 3.1.3.1, 1.5.4): HMQ_OK,
 * HMQ_ERR_STRING_TOO_LONG, HMQ_ERR_UTF8_INVALID, HMQ_ERR_UTF8_NUL;
 * HMQ_ERR_ARG for NULL with len > 0. (Empty is valid on the wire.) */
hmq_status hmq_client_id_check(const char *id, size_t len);

/* ------------------------------------------------------------------------ */
/* Properties (MQTT 5.0 2.2.2.2)                                            */

typedef enum hmq_prop_id {
  HMQ_PROP_PAYLOAD_FORMAT = 0x01,
  HMQ_PROP_MESSAGE_EXPIRY = 0x02,
  HMQ_PROP_CONTENT_TYPE = 0x03,
  HMQ_PROP_RESPONSE_TOPIC = 0x08,
  HMQ_PROP_CORRELATION_DATA = 0x09,
  HMQ_PROP_SUBSCRIPTION_ID = 0x0B,
  HMQ_PROP_SESSION_EXPIRY = 0x11,
  HMQ_PROP_ASSIGNED_CLIENT_ID = 0x12,
  HMQ_PROP_SERVER_KEEP_ALIVE = 0x13,
  HMQ_PROP_AUTH_METHOD = 0x15,
  HMQ_PROP_AUTH_DATA = 0x16,
  HMQ_PROP_REQUEST_PROBLEM_INFO = 0x17,
  HMQ_PROP_WILL_DELAY = 0x18,
  HMQ_PROP_REQUEST_RESPONSE_INFO = 0x19,
  HMQ_PROP_RESPONSE_INFO = 0x1A,
  HMQ_PROP_SERVER_REFERENCE = 0x1C,
  HMQ_PROP_REASON_STRING = 0x1F,
  HMQ_PROP_RECEIVE_MAX = 0x21,
  HMQ_PROP_TOPIC_ALIAS_MAX = 0x22,
  HMQ_PROP_TOPIC_ALIAS = 0x23,
  HMQ_PROP_MAX_QOS = 0x24,
  HMQ_PROP_RETAIN_AVAILABLE = 0x25,
  HMQ_PROP_USER = 0x26,
  HMQ_PROP_MAX_PACKET_SIZE = 0x27,
  HMQ_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
  HMQ_PROP_SUB_ID_AVAILABLE = 0x29,
  HMQ_PROP_SHARED_SUB_AVAILABLE = 0x2A
} hmq_prop_id;

/* Bit for property id `id` in hmq_props.present (ids are all < 64). */
#define HMQ_PROP_BIT(id) ((uint64_t)1 << (id))

typedef struct hmq_user_prop {
  hmq_str key;
  hmq_str value;
} hmq_user_prop;

/*
 * Every MQTT 5 property in one flat struct, used by encoders (input) and
 * decoders (output). A property is present when its HMQ_PROP_BIT is set in
 * `present` (values of absent properties are undefined on decode; zero-init
 * the struct before filling it for encode).
 *
 * Encode: user properties come from `user`/`user_count`; one Subscription
 * Identifier from `subscription_id`.
 * Decode: `user_count` is the number of user properties and `user` is NULL;
 * iterate them (and all Subscription Identifiers of a PUBLISH) with
 * hmq_props_next() over `raw`, the validated property block.
 */
typedef struct hmq_props {
  uint64_t present;
  uint32_t message_expiry;
  uint32_t subscription_id; /* decode: the first one; count in sub_id_count */
  uint32_t session_expiry;
  uint32_t will_delay;
  uint32_t max_packet_size;
  uint16_t server_keep_alive;
  uint16_t receive_max;
  uint16_t topic_alias_max;
  uint16_t topic_alias;
  uint8_t payload_format;
  uint8_t request_problem_info;
  uint8_t request_response_info;
  uint8_t max_qos;
  uint8_t retain_available;
  uint8_t wildcard_sub_available;
  uint8_t sub_id_available;
  uint8_t shared_sub_available;
  hmq_str content_type;
  hmq_str response_topic;
  hmq_bin correlation_data;
  hmq_str assigned_client_id;
  hmq_str auth_method;
  hmq_bin auth_data;
  hmq_str response_info;
  hmq_str server_reference;
  hmq_str reason_string;
  const hmq_user_prop *user;
  size_t user_count;
  size_t sub_id_count;
  hmq_bin raw; /* decode only: the property bytes (without their length) */
} hmq_props;

/* One property as the iterator sees it. Which member is meaningful follows
 * from the id: u32 for byte/two-byte/four-byte/varint values, str for
 * strings, bin for binary data, str + str2 for a user property. */
typedef struct hmq_prop {
  uint8_t id;
  uint32_t u32;
  hmq_str str;
  hmq_str str2;
  hmq_bin bin;
} hmq_prop;

/* Iterate over a decoded property block (props->raw). Start with
 * *cursor = 0. Returns HMQ_OK with *out filled and *cursor advanced,
 * HMQ_NEED_MORE when there are no more properties (not an error), or an
 * error for bytes that were not validated by a decoder. Views point into the
 * packet. */
hmq_status hmq_props_next(const hmq_props *props, size_t *cursor, hmq_prop *out);

/* ------------------------------------------------------------------------ */
/* Packets                                                                  */

typedef struct hmq_will {
  uint8_t qos;
  uint8_t retain;
  hmq_str topic;
  hmq_bin payload;
  hmq_props props; /* Will Properties (3.1.3.2) */
} hmq_will;

typedef struct hmq_connect {
  uint8_t clean_start;
  uint16_t keep_alive;  /* seconds */
  hmq_str client_id;    /* may be empty (ptr != NULL, len 0) */
  hmq_str username;     /* ptr == NULL: no user name */
  hmq_bin password;     /* ptr == NULL: no password */
  const hmq_will *will; /* NULL: no will */
  hmq_props props;
} hmq_connect;

typedef struct hmq_connack {
  uint8_t session_present;
  uint8_t reason;
  hmq_props props;
} hmq_connack;

typedef struct hmq_publish {
  uint8_t qos;
  uint8_t dup;
  uint8_t retain;
  uint16_t packet_id; /* 0 for QoS 0 */
  hmq_str topic;      /* may be empty when props carry a Topic Alias */
  hmq_props props;
  hmq_bin payload;
} hmq_publish;

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
typedef struct hmq_ack {
  uint8_t type; /* HMQ_PKT_PUBACK … HMQ_PKT_PUBCOMP */
  uint16_t packet_id;
  uint8_t reason;
  hmq_props props;
} hmq_ack;

/* Subscription options (MQTT 5.0 3.8.3.1). */
typedef struct hmq_sub_filter {
  hmq_str filter;
  uint8_t qos;
  uint8_t no_local;
  uint8_t retain_as_published;
  uint8_t retain_handling; /* 0..2 */
} hmq_sub_filter;

typedef struct hmq_subscribe {
  uint16_t packet_id;
  hmq_props props;
  const hmq_sub_filter *filters;
  size_t count;
} hmq_subscribe;

typedef struct hmq_unsubscribe {
  uint16_t packet_id;
  hmq_props props;
  const hmq_str *filters;
  size_t count;
} hmq_unsubscribe;

/* SUBACK and UNSUBACK: one reason code per filter, in order. */
typedef struct hmq_suback {
  uint8_t type; /* HMQ_PKT_SUBACK or HMQ_PKT_UNSUBACK */
  uint16_t packet_id;
  hmq_props props;
  hmq_bin reasons; /* view: reasons.ptr[i] for filter i */
} hmq_suback;

/* DISCONNECT and AUTH. */
typedef struct hmq_disconnect {
  uint8_t reason;
  hmq_props props;
} hmq_disconnect;

typedef struct hmq_auth {
  uint8_t reason;
  hmq_props props;
} hmq_auth;

/*
 * Encoders (client → server, plus the server packets tests and tools need).
 * Common to all: `p` is only read, nothing is kept; buf may be NULL when cap
 * is 0 (to ask for the size). HMQ_OK: *out_len bytes written. HMQ_ERR_NO_ROOM:
 * *out_len is the exact size needed, buf untouched. On any other error
 * *out_len is 0. Every encoder returns HMQ_ERR_ARG for a NULL p, a string or
 * binary field over 65535 bytes, or a packet over HMQ_MAX_REMAINING, and the
 * property errors of the block it writes (HMQ_ERR_PROP_NOT_ALLOWED,
 * HMQ_ERR_PROP_VALUE, UTF-8 errors).
 */

/* CONNECT (3.1), protocol "MQTT" level 5. client_id NULL is sent empty;
 * username / password NULL means the flag is clear (a password without a
 * user name is legal in MQTT 5). Also: HMQ_ERR_UTF8_INVALID / _NUL (client
 * id, user name, will topic), HMQ_ERR_QOS_INVALID (will QoS 3),
 * HMQ_ERR_TOPIC_EMPTY / HMQ_ERR_TOPIC_WILDCARD (will topic),
 * HMQ_ERR_PAYLOAD_FORMAT (will marked UTF-8 but is not). */
hmq_status hmq_encode_connect(uint8_t *buf, size_t cap, const hmq_connect *p, size_t *out_len);
/* CONNACK (3.2). Also: HMQ_ERR_REASON_CODE (not a CONNACK code),
 * HMQ_ERR_PROTOCOL (session_present with a non-zero reason [MQTT-3.2.2-6]). */
hmq_status hmq_encode_connack(uint8_t *buf, size_t cap, const hmq_connack *p, size_t *out_len);
/* PUBLISH (3.3); packet_id is written only for QoS 1 and 2. Also:
 * HMQ_ERR_QOS_INVALID (qos > 2), HMQ_ERR_RESERVED_FLAGS (dup at QoS 0),
 * HMQ_ERR_PACKET_ID_ZERO, HMQ_ERR_TOPIC_WILDCARD, HMQ_ERR_TOPIC_EMPTY (empty
 * topic without a Topic Alias property), UTF-8 errors for the topic,
 * HMQ_ERR_PAYLOAD_FORMAT (Payload Format Indicator 1, payload not UTF-8). */
hmq_status hmq_encode_publish(uint8_t *buf, size_t cap, const hmq_publish *p, size_t *out_len);
/* PUBACK, PUBREC, PUBREL or PUBCOMP as p->type says (else HMQ_ERR_ARG).
 * Uses the short forms of MQTT 5.0 3.4.2.1: reason 0x00 and no properties
 * gives Remaining Length 2; properties absent gives Remaining Length 3.
 * Also: HMQ_ERR_PACKET_ID_ZERO, HMQ_ERR_REASON_CODE. Allocation-free and
 * direct for the short forms (the per-message PUBACK). */
hmq_status hmq_encode_ack(uint8_t *buf, size_t cap, const hmq_ack *p, size_t *out_len);
/* SUBSCRIBE (3.8), fixed-header flags 0010. Also: HMQ_ERR_PACKET_ID_ZERO,
 * HMQ_ERR_PROTOCOL (no filters, Retain Handling 3, No Local on a $share
 * filter), HMQ_ERR_QOS_INVALID (qos > 2), HMQ_ERR_TOPIC_EMPTY (empty
 * filter), UTF-8 errors. */
hmq_status hmq_encode_subscribe(uint8_t *buf, size_t cap, const hmq_subscribe *p, size_t *out_len);
/* SUBACK or UNSUBACK as p->type says (else HMQ_ERR_ARG); p->reasons are
 * written as given. Also: HMQ_ERR_PACKET_ID_ZERO, HMQ_ERR_PROTOCOL (no
 * reasons), HMQ_ERR_REASON_CODE (a code not valid for the type). */
hmq_status hmq_encode_suback(uint8_t *buf, size_t cap, const hmq_suback *p, size_t *out_len);
/* UNSUBSCRIBE (3.10), flags 0010. Also: HMQ_ERR_PACKET_ID_ZERO,
 * HMQ_ERR_PROTOCOL (no filters), HMQ_ERR_TOPIC_EMPTY, UTF-8 errors. */
hmq_status hmq_encode_unsubscribe(uint8_t *buf, size_t cap, const hmq_unsubscribe *p,
                                  size_t *out_len);
/* PINGREQ / PINGRESP: always 2 bytes. HMQ_OK or HMQ_ERR_NO_ROOM. */
hmq_status hmq_encode_pingreq(uint8_t *buf, size_t cap, size_t *out_len);
hmq_status hmq_encode_pingresp(uint8_t *buf, size_t cap, size_t *out_len);
/* DISCONNECT (3.14). Reason 0x00 with no properties gives the 2-byte short
 * form; another reason without properties gives Remaining Length 1. Also:
 * HMQ_ERR_REASON_CODE. */
hmq_status hmq_encode_disconnect(uint8_t *buf, size_t cap, const hmq_disconnect *p,
                                 size_t *out_len);
/* AUTH (3.15). Reason 0x00 with no properties gives the 2-byte short form;
 * otherwise reason and Property Length are both written (AUTH has no
 * reason-only form). Also: HMQ_ERR_REASON_CODE. */
hmq_status hmq_encode_auth(uint8_t *buf, size_t cap, const hmq_auth *p, size_t *out_len);

/*
 * Decoders. Common to all: `pkt`/`len` is exactly one packet as delimited
 * by hmq_frame_peek() (len == frame.total); `out` is zeroed first and, on
 * HMQ_OK, its views point into pkt and stay valid while those bytes are
 * neither moved nor overwritten (on error its content is unspecified).
 * Nothing is allocated or copied. Every decoder returns HMQ_ERR_ARG for NULL
 * arguments; HMQ_ERR_LENGTH when len is not one whole packet, a field runs
 * past the end, or bytes are left over; HMQ_ERR_PACKET_TYPE for another
 * packet type; HMQ_ERR_RESERVED_FLAGS for wrong fixed-header flags
 * [MQTT-2.1.3-1]; the varint errors of hmq_frame_peek; UTF-8 errors for
 * strings; and the property errors of hmq_props_read (HMQ_ERR_PROP_UNKNOWN,
 * _NOT_ALLOWED, _DUPLICATE, _VALUE).
 */

/* CONNECT (server side, for tests and simulators). `will` is the storage
 * out->will points to when the Will Flag is set (out->will NULL otherwise);
 * it must not be NULL (HMQ_ERR_ARG). Also: HMQ_ERR_PROTOCOL (protocol name
 * not "MQTT" or level not 5: answer CONNACK 0x84), HMQ_ERR_RESERVED_FLAGS
 * (Connect Flags bit 0 [MQTT-3.1.2-3]; will QoS/retain without will
 * [MQTT-3.1.2-11/13]), HMQ_ERR_QOS_INVALID (will QoS 3),
 * HMQ_ERR_TOPIC_WILDCARD / HMQ_ERR_TOPIC_EMPTY (will topic),
 * HMQ_ERR_PAYLOAD_FORMAT. */
hmq_status hmq_decode_connect(const uint8_t *pkt, size_t len, hmq_connect *out, hmq_will *will);
/* CONNACK. Also: HMQ_ERR_RESERVED_FLAGS (acknowledge flags bits 7-1
 * [MQTT-3.2.2-1]), HMQ_ERR_REASON_CODE, HMQ_ERR_PROTOCOL (session present
 * with an error [MQTT-3.2.2-6]); an MQTT 3.1.1 CONNACK without Property
 * Length is HMQ_ERR_LENGTH. */
hmq_status hmq_decode_connack(const uint8_t *pkt, size_t len, hmq_connack *out);
/* PUBLISH; the payload is the rest of the packet (present, maybe empty).
 * Topic Alias values are not resolved here (that is the engine's job).
 * Also: HMQ_ERR_QOS_INVALID, HMQ_ERR_RESERVED_FLAGS (DUP at QoS 0),
 * HMQ_ERR_PACKET_ID_ZERO, HMQ_ERR_TOPIC_WILDCARD, HMQ_ERR_TOPIC_EMPTY,
 * HMQ_ERR_PAYLOAD_FORMAT (indicator 1 and the payload is not UTF-8). */
hmq_status hmq_decode_publish(const uint8_t *pkt, size_t len, hmq_publish *out);
/* PUBACK, PUBREC, PUBREL (flags 0010) or PUBCOMP, all three lengths of
 * 3.4.2.1; out->type tells which. Also: HMQ_ERR_PACKET_ID_ZERO,
 * HMQ_ERR_REASON_CODE. */
hmq_status hmq_decode_ack(const uint8_t *pkt, size_t len, hmq_ack *out);
/* SUBACK or UNSUBACK (out->type tells which); out->reasons views one code
 * per filter. Also: HMQ_ERR_PACKET_ID_ZERO, HMQ_ERR_PROTOCOL (no reason
 * codes), HMQ_ERR_REASON_CODE (any code not valid for the type). */
hmq_status hmq_decode_suback(const uint8_t *pkt, size_t len, hmq_suback *out);
/* SUBSCRIBE (server side). Every filter is validated here; out->count is
 * their number, out->filters stays NULL and *filters_raw views the payload
 * to walk with hmq_subscribe_next(). Also: HMQ_ERR_PACKET_ID_ZERO, the
 * option errors of hmq_subscribe_next, HMQ_ERR_PROTOCOL (no filters). */
hmq_status hmq_decode_subscribe(const uint8_t *pkt, size_t len, hmq_subscribe *out,
                                hmq_bin *filters_raw);
/* Next filter of a SUBSCRIBE payload; start with *cursor = 0. HMQ_OK (*out
 * filled, views into the packet), HMQ_NEED_MORE at the end (not an error),
 * or for unvalidated bytes HMQ_ERR_LENGTH, UTF-8 errors,
 * HMQ_ERR_RESERVED_FLAGS (options bits 7-6 [MQTT-3.8.3-5]),
 * HMQ_ERR_QOS_INVALID, HMQ_ERR_PROTOCOL (Retain Handling 3, No Local on a
 * $share filter), HMQ_ERR_TOPIC_EMPTY; an error moves *cursor to the end. */
hmq_status hmq_subscribe_next(hmq_bin filters_raw, size_t *cursor, hmq_sub_filter *out);
/* PINGRESP: HMQ_OK, or the common errors (a body is HMQ_ERR_LENGTH). */
hmq_status hmq_decode_pingresp(const uint8_t *pkt, size_t len);
/* DISCONNECT: Remaining Length 0 (reason 0x00), 1 (reason only) or more.
 * Also: HMQ_ERR_REASON_CODE. */
hmq_status hmq_decode_disconnect(const uint8_t *pkt, size_t len, hmq_disconnect *out);
/* AUTH: Remaining Length 0 (reason 0x00) or reason + properties; a lone
 * reason byte is HMQ_ERR_LENGTH (3.15.2.1). Also: HMQ_ERR_REASON_CODE. */
hmq_status hmq_decode_auth(const uint8_t *pkt, size_t len, hmq_auth *out);

HMQ_API_END

#ifdef __cplusplus
}
#endif

#endif
