/* SPDX-License-Identifier: MIT */
/*
 * hmq — a small MQTT 5 client for High Mobility's vehicle data stream.
 *
 * Conventions (stated once, true for every public header under hmq/):
 *
 *  - Every function that can fail returns an hmq_status. HMQ_OK is 0,
 *    "call again" values (HMQ_NEED_MORE, HMQ_WANT_READ, HMQ_WANT_WRITE) are
 *    positive, errors are negative. Byte counts and results travel through
 *    out-parameters, never through the return value.
 *  - hmq's code never allocates (mbedTLS, inside hmq::tls, does its own).
 *    Callers pass every buffer; init functions
 *    cannot fail; free functions are always safe to call (also twice, also
 *    on a zeroed object).
 *  - hmq_str / hmq_bin are views: a pointer and a length into memory the
 *    caller owns (usually the receive buffer). They are never NUL-terminated
 *    by contract. Each function documents how long the views it hands out
 *    stay valid. A view with ptr == NULL means "absent"; ptr != NULL with
 *    len == 0 means "present and empty".
 *  - Time enters the protocol core as `now_ms`; the core never reads a clock.
 *  - What may block: nothing in hmq::mqtt (codec.h, client.h) or
 *    hmq::envelope (envelope.h) does I/O, blocks, sleeps or reads a clock.
 *    hmq::tls (tls.h) owns one socket and never waits on it, except the
 *    name lookup of hmq_tls_connect() and the file loading of
 *    hmq_tls_setup().
 *    hmq::link (link.h) blocks only inside hmq_link_run_once(), in poll(),
 *    for at most the timeout it is given; hmq_now_ms() is the one clock.
 *  - Threads: hmq keeps no mutable global state of its own; one object is
 *    used by one thread at a time. (hmq::tls initialises mbedTLS 3's
 *    process-wide PSA crypto when it sets up a transport.)
 *  - Libraries: this header and codec.h, client.h are hmq::mqtt (C11 and
 *    libc headers only); envelope.h is hmq::envelope, tls.h hmq::tls,
 *    link.h hmq::link (docs/ARCHITECTURE.md).
 */
#ifndef HMQ_HMQ_H
#define HMQ_HMQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Export control. The libraries are built with hidden symbol visibility;
 * everything declared between HMQ_API_BEGIN and HMQ_API_END in a public
 * header (and nothing else) is exported from a shared library. */
#if defined(__GNUC__) || defined(__clang__)
#define HMQ_API_BEGIN _Pragma("GCC visibility push(default)")
#define HMQ_API_END   _Pragma("GCC visibility pop")
#else
#define HMQ_API_BEGIN
#define HMQ_API_END
#endif

HMQ_API_BEGIN

#define HMQ_VERSION_MAJOR  0
#define HMQ_VERSION_MINOR  1
#define HMQ_VERSION_PATCH  0
#define HMQ_VERSION_STRING "0.1.0"

/*
 * The one status list. Columns: name, value, MQTT 5 reason code a client
 * sends in DISCONNECT when this error is the server's fault (0 = none, the
 * connection is just closed; only codes MQTT 5.0 3.14.2.1 lets a client
 * send, so a keep alive timeout just closes: 0x8D is the server's), and the
 * text returned by hmq_status_str().
 * Texts name the MQTT 5.0 rule (section or conformance statement) where one
 * applies.
 */
#define HMQ_STATUS_LIST(X)                                                                         \
  X(HMQ_OK, 0, 0x00, "ok")                                                                         \
  X(HMQ_NEED_MORE, 1, 0x00, "need more bytes")                                                     \
  X(HMQ_WANT_READ, 2, 0x00, "want read: wait until the socket is readable")                        \
  X(HMQ_WANT_WRITE, 3, 0x00, "want write: wait until the socket is writable")                      \
  /* caller errors */                                                                              \
  X(HMQ_ERR_ARG, -1, 0x00, "invalid argument")                                                     \
  X(HMQ_ERR_NO_ROOM, -2, 0x00, "output buffer too small")                                          \
  X(HMQ_ERR_STATE, -3, 0x00, "call not valid in the current state")                                \
  X(HMQ_ERR_FULL, -4, 0x00, "no free slot (queue or table full)")                                  \
  /* wire format: malformed packets (MQTT 5.0 section 1.5, 2, 3) */                                \
  X(HMQ_ERR_VARINT_TOO_LONG, -10, 0x81,                                                            \
    "malformed: variable byte integer longer than 4 bytes (MQTT 5.0 1.5.5)")                       \
  X(HMQ_ERR_VARINT_NOT_MINIMAL, -11, 0x81,                                                         \
    "malformed: variable byte integer not in its shortest form [MQTT-1.5.5-1]")                    \
  X(HMQ_ERR_PACKET_TOO_LARGE, -12, 0x95,                                                           \
    "packet larger than the Maximum Packet Size we announced [MQTT-3.1.2-24]")                     \
  X(HMQ_ERR_LENGTH, -13, 0x81,                                                                     \
    "malformed: a length field does not fit the remaining length (MQTT 5.0 2.1.4)")                \
  X(HMQ_ERR_RESERVED_FLAGS, -14, 0x81,                                                             \
    "malformed: reserved fixed-header flag bits are wrong [MQTT-2.1.3-1]")                         \
  X(HMQ_ERR_PACKET_TYPE, -15, 0x81,                                                                \
    "malformed: packet type is reserved or not sent by a server (MQTT 5.0 2.1.2)")                 \
  X(HMQ_ERR_QOS_INVALID, -16, 0x81, "malformed: QoS 3 in PUBLISH [MQTT-3.3.1-4]")                  \
  X(HMQ_ERR_PACKET_ID_ZERO, -17, 0x81,                                                             \
    "malformed: packet identifier 0 where a non-zero one is required [MQTT-2.2.1-3]")              \
  X(HMQ_ERR_PROP_UNKNOWN, -18, 0x81, "malformed: unknown property identifier (MQTT 5.0 2.2.2.2)")  \
  X(HMQ_ERR_PROP_NOT_ALLOWED, -19, 0x81,                                                           \
    "malformed: property not allowed in this packet type (MQTT 5.0 2.2.2.2)")                      \
  X(HMQ_ERR_PROP_DUPLICATE, -20, 0x82,                                                             \
    "protocol error: property given more than once where the spec forbids it")                     \
  X(HMQ_ERR_PROP_VALUE, -21, 0x82, "protocol error: property value out of its allowed range")      \
  X(HMQ_ERR_UTF8_INVALID, -22, 0x81,                                                               \
    "malformed: invalid UTF-8 (overlong, surrogate or out of range) [MQTT-1.5.4-1]")               \
  X(HMQ_ERR_UTF8_NUL, -23, 0x81, "malformed: UTF-8 string contains U+0000 [MQTT-1.5.4-2]")         \
  X(HMQ_ERR_TOPIC_WILDCARD, -24, 0x90,                                                             \
    "topic name in PUBLISH contains a wildcard character [MQTT-3.3.2-2]")                          \
  X(HMQ_ERR_TOPIC_EMPTY, -25, 0x82,                                                                \
    "protocol error: zero-length topic name without a topic alias [MQTT-3.3.2-8]")                 \
  X(HMQ_ERR_REASON_CODE, -26, 0x81, "malformed: reason code not valid for this packet type")       \
  X(HMQ_ERR_FILTER_EMPTY, -27, 0x00, "topic filter is empty [MQTT-4.7.3-1]")                       \
  X(HMQ_ERR_FILTER_HASH, -28, 0x00,                                                                \
    "topic filter: '#' must be a whole level and the last one [MQTT-4.7.1-1]")                     \
  X(HMQ_ERR_FILTER_PLUS, -29, 0x00, "topic filter: '+' must be a whole level [MQTT-4.7.1-2]")      \
  X(HMQ_ERR_FILTER_SHARE, -30, 0x00,                                                               \
    "shared subscription: $share/ needs a share name without '/', '+' or '#', then '/' and a "     \
    "filter [MQTT-4.8.2-1, MQTT-4.8.2-2]")                                                         \
  X(HMQ_ERR_STRING_TOO_LONG, -31, 0x00, "string longer than 65535 bytes (MQTT 5.0 1.5.4)")         \
  /* session-level protocol violations by the server */                                            \
  X(HMQ_ERR_PROTOCOL, -40, 0x82, "protocol error: packet not expected in this state")              \
  X(HMQ_ERR_TOPIC_ALIAS, -41, 0x94,                                                                \
    "topic alias 0, above our Topic Alias Maximum, or used before it was set [MQTT-3.3.2-9]")      \
  X(HMQ_ERR_RECEIVE_MAX, -42, 0x93,                                                                \
    "server sent more unacknowledged QoS>0 PUBLISHes than our Receive Maximum [MQTT-3.3.4-9]")     \
  X(HMQ_ERR_QOS_NOT_GRANTED, -43, 0x82,                                                            \
    "server sent a PUBLISH with a QoS above what we subscribed")                                   \
  X(HMQ_ERR_KEEPALIVE, -44, 0x00, "keep alive timeout: no PINGRESP from the server in time")       \
  X(HMQ_ERR_PAYLOAD_FORMAT, -45, 0x99,                                                             \
    "payload marked UTF-8 (Payload Format Indicator 1) is not valid UTF-8")                        \
  /* outcomes decided by the server */                                                             \
  X(HMQ_ERR_REFUSED, -60, 0x00, "connection refused by the server (see CONNACK reason code)")      \
  X(HMQ_ERR_SERVER_DISCONNECT, -61, 0x00,                                                          \
    "server closed the session with DISCONNECT (see its reason code)")                             \
  X(HMQ_ERR_SUBSCRIBE_REFUSED, -62, 0x00,                                                          \
    "server refused a subscription (see SUBACK reason code)")                                      \
  X(HMQ_ERR_TAKEN_OVER, -63, 0x00,                                                                 \
    "session taken over: another client connected with our client id (DISCONNECT 0x8E)")           \
  X(HMQ_ERR_SUB_UNAVAILABLE, -64, 0x00,                                                            \
    "the server's CONNACK rules out our subscription (Shared/Wildcard Subscription Available 0 "   \
    "or Maximum QoS, MQTT 5.0 3.2.2.3)")                                                           \
  /* transport */                                                                                  \
  X(HMQ_ERR_CLOSED, -80, 0x00, "connection closed by the peer")                                    \
  X(HMQ_ERR_IO, -81, 0x00, "socket I/O error")                                                     \
  X(HMQ_ERR_DNS, -82, 0x00, "host name could not be resolved")                                     \
  X(HMQ_ERR_CONNECT, -83, 0x00, "TCP connect failed (refused or unreachable)")                     \
  X(HMQ_ERR_TIMEOUT, -84, 0x00, "timed out")                                                       \
  X(HMQ_ERR_TLS, -85, 0x00, "TLS error")                                                           \
  X(HMQ_ERR_CERT_UNTRUSTED, -86, 0x00, "server certificate not signed by the given CA")            \
  X(HMQ_ERR_CERT_EXPIRED, -87, 0x00, "server certificate expired or not yet valid")                \
  X(HMQ_ERR_CERT_NAME, -88, 0x00, "server certificate does not match the host name")               \
  X(HMQ_ERR_FILE, -89, 0x00, "file missing or unreadable")                                         \
  X(HMQ_ERR_PEM, -90, 0x00, "file is not a valid PEM certificate or key")                          \
  X(HMQ_ERR_KEY_MISMATCH, -91, 0x00, "private key does not match the client certificate")          \
  X(HMQ_ERR_CLIENT_CERT, -92, 0x00, "server rejected our client certificate")                      \
  /* envelopes (src/envelope) */                                                                   \
  X(HMQ_ERR_JSON, -100, 0x00, "payload is not valid JSON")                                         \
  X(HMQ_ERR_JSON_TOO_BIG, -101, 0x00, "JSON has more tokens or bytes than the parser allows")      \
  X(HMQ_ERR_JSON_NUL, -102, 0x00, "payload contains a NUL byte")                                   \
  X(HMQ_ERR_ENVELOPE, -103, 0x00, "payload is not a usable High Mobility envelope")

typedef enum hmq_status {
#define HMQ_X_ENUM(name, value, reason, text) name = value,
  HMQ_STATUS_LIST(HMQ_X_ENUM)
#undef HMQ_X_ENUM
} hmq_status;

/* Human-readable text for a status; never NULL ("unknown status" for values
 * outside the list). The string is static. */
const char *hmq_status_str(hmq_status st);

/* Symbolic name of a status ("HMQ_ERR_TOPIC_ALIAS"); static, never NULL. */
const char *hmq_status_name(hmq_status st);

/* MQTT 5 reason code a client puts in its DISCONNECT when the server caused
 * this error, or 0 when none applies (then the connection is simply closed
 * or the normal-disconnect code 0x00 is used). */
uint8_t hmq_status_reason(hmq_status st);

/* Short English name of an MQTT 5 reason code ("Not authorized" for 0x87),
 * static, never NULL. `packet_type` disambiguates 0x00 (Success / Normal
 * disconnection / Granted QoS 0) and may be 0 when unknown. */
const char *hmq_reason_str(uint8_t packet_type, uint8_t reason);

/* A view of UTF-8 text. Not NUL-terminated. ptr == NULL means absent. */
typedef struct hmq_str {
  const char *ptr;
  size_t len;
} hmq_str;

/* A view of bytes. ptr == NULL means absent. */
typedef struct hmq_bin {
  const uint8_t *ptr;
  size_t len;
} hmq_bin;

/* View of a NUL-terminated C string (NULL gives an absent view). */
hmq_str hmq_str_c(const char *s);

HMQ_API_END

#ifdef __cplusplus
}
#endif

#endif
