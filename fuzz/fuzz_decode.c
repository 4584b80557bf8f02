/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the untrusted entry point of the codec: a byte stream
 * from the server. The input is cut into frames with hmq_frame_peek (limit
 * 1 MiB, as the client announces), every frame goes to the decoder for its
 * type, and every packet that decodes is encoded again and decoded a second
 * time: the fields must survive (codec.h promises encoders and decoders
 * apply the same rules). Any broken invariant aborts.
 */
#include "props_check.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_PACKET (1u << 20)

/* Re-encoded packets are never larger than the originals (varints are
 * minimal on both sides, short forms only shrink). */
static uint8_t fz_out[FZ_MAX_PACKET + 16];
static hmq_user_prop fz_users[FZ_MAX_USERS];
static hmq_user_prop fz_users2[FZ_MAX_USERS];
static hmq_sub_filter fz_filters[4096];

static void fz_publish(const uint8_t *pkt, size_t len) {
  hmq_publish a, b;
  if (hmq_decode_publish(pkt, len, &a) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  FZ_CHECK(a.qos <= 2 && (a.qos > 0) == (a.packet_id != 0));
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_publish(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_publish(fz_out, n, &b) == HMQ_OK);
  FZ_CHECK(a.qos == b.qos && a.dup == b.dup && a.retain == b.retain);
  FZ_CHECK(a.packet_id == b.packet_id);
  FZ_CHECK(fz_str_eq(a.topic, b.topic) && fz_bin_eq(a.payload, b.payload));
  fz_props_eq(&a.props, &b.props);
}

static void fz_ack(const uint8_t *pkt, size_t len) {
  hmq_ack a, b;
  if (hmq_decode_ack(pkt, len, &a) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_ack(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_ack(fz_out, n, &b) == HMQ_OK);
  FZ_CHECK(a.type == b.type && a.packet_id == b.packet_id && a.reason == b.reason);
  fz_props_eq(&a.props, &b.props);
}

static void fz_connack(const uint8_t *pkt, size_t len) {
  hmq_connack a, b;
  if (hmq_decode_connack(pkt, len, &a) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_connack(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_connack(fz_out, n, &b) == HMQ_OK);
  FZ_CHECK(a.session_present == b.session_present && a.reason == b.reason);
  fz_props_eq(&a.props, &b.props);
}

static void fz_connect(const uint8_t *pkt, size_t len) {
  hmq_connect a, b;
  hmq_will wa, wb;
  if (hmq_decode_connect(pkt, len, &a, &wa) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  if (a.will != NULL) {
    fz_walk_props(&wa.props);
    if (!fz_props_rebuild(&wa.props, fz_users2, FZ_MAX_USERS, &wa.props)) {
      return;
    }
  }
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_connect(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_connect(fz_out, n, &b, &wb) == HMQ_OK);
  FZ_CHECK(a.clean_start == b.clean_start && a.keep_alive == b.keep_alive);
  FZ_CHECK(fz_str_eq(a.client_id, b.client_id));
  FZ_CHECK((a.username.ptr == NULL) == (b.username.ptr == NULL));
  FZ_CHECK(fz_str_eq(a.username, b.username));
  FZ_CHECK((a.password.ptr == NULL) == (b.password.ptr == NULL));
  FZ_CHECK(fz_bin_eq(a.password, b.password));
  fz_props_eq(&a.props, &b.props);
  FZ_CHECK((a.will == NULL) == (b.will == NULL));
  if (a.will != NULL) {
    FZ_CHECK(wa.qos == wb.qos && wa.retain == wb.retain);
    FZ_CHECK(fz_str_eq(wa.topic, wb.topic) && fz_bin_eq(wa.payload, wb.payload));
    fz_props_eq(&wa.props, &wb.props);
  }
}

static void fz_subscribe(const uint8_t *pkt, size_t len) {
  hmq_subscribe a, b;
  hmq_bin raw, raw2;
  if (hmq_decode_subscribe(pkt, len, &a, &raw) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  size_t cursor = 0, count = 0;
  hmq_sub_filter f;
  hmq_status st;
  while ((st = hmq_subscribe_next(raw, &cursor, &f)) == HMQ_OK) {
    if (count < sizeof fz_filters / sizeof fz_filters[0]) {
      fz_filters[count] = f;
    }
    count++;
  }
  FZ_CHECK(st == HMQ_NEED_MORE && count == a.count && count > 0);
  if (count > sizeof fz_filters / sizeof fz_filters[0] ||
      !fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  a.filters = fz_filters;
  size_t n = 0;
  FZ_CHECK(hmq_encode_subscribe(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_subscribe(fz_out, n, &b, &raw2) == HMQ_OK);
  FZ_CHECK(a.packet_id == b.packet_id && a.count == b.count);
  /* Filters and options are written back as they were read. */
  FZ_CHECK(fz_bin_eq(raw, raw2));
  fz_props_eq(&a.props, &b.props);
}

static void fz_suback(const uint8_t *pkt, size_t len) {
  hmq_suback a, b;
  if (hmq_decode_suback(pkt, len, &a) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  FZ_CHECK(a.reasons.len > 0);
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_suback(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_suback(fz_out, n, &b) == HMQ_OK);
  FZ_CHECK(a.type == b.type && a.packet_id == b.packet_id && fz_bin_eq(a.reasons, b.reasons));
  fz_props_eq(&a.props, &b.props);
}

static void fz_disconnect(const uint8_t *pkt, size_t len) {
  hmq_disconnect a, b;
  if (hmq_decode_disconnect(pkt, len, &a) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_disconnect(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_disconnect(fz_out, n, &b) == HMQ_OK);
  FZ_CHECK(a.reason == b.reason);
  fz_props_eq(&a.props, &b.props);
}

static void fz_auth(const uint8_t *pkt, size_t len) {
  hmq_auth a, b;
  if (hmq_decode_auth(pkt, len, &a) != HMQ_OK) {
    return;
  }
  fz_walk_props(&a.props);
  if (!fz_props_rebuild(&a.props, fz_users, FZ_MAX_USERS, &a.props)) {
    return;
  }
  size_t n = 0;
  FZ_CHECK(hmq_encode_auth(fz_out, sizeof fz_out, &a, &n) == HMQ_OK);
  FZ_CHECK(n <= len);
  FZ_CHECK(hmq_decode_auth(fz_out, n, &b) == HMQ_OK);
  FZ_CHECK(a.reason == b.reason);
  fz_props_eq(&a.props, &b.props);
}

static void fz_dispatch(const uint8_t *pkt, size_t len, uint8_t type) {
  switch (type) {
  case HMQ_PKT_CONNECT:
    fz_connect(pkt, len);
    break;
  case HMQ_PKT_CONNACK:
    fz_connack(pkt, len);
    break;
  case HMQ_PKT_PUBLISH:
    fz_publish(pkt, len);
    break;
  case HMQ_PKT_PUBACK:
  case HMQ_PKT_PUBREC:
  case HMQ_PKT_PUBREL:
  case HMQ_PKT_PUBCOMP:
    fz_ack(pkt, len);
    break;
  case HMQ_PKT_SUBSCRIBE:
    fz_subscribe(pkt, len);
    break;
  case HMQ_PKT_SUBACK:
  case HMQ_PKT_UNSUBACK:
    fz_suback(pkt, len);
    break;
  case HMQ_PKT_PINGRESP:
    (void)hmq_decode_pingresp(pkt, len);
    break;
  case HMQ_PKT_DISCONNECT:
    fz_disconnect(pkt, len);
    break;
  case HMQ_PKT_AUTH:
    fz_auth(pkt, len);
    break;
  default:
    break; /* UNSUBSCRIBE, PINGREQ: the client never decodes them */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t off = 0;
  while (off < size) {
    hmq_frame f;
    size_t need = 0;
    hmq_status st = hmq_frame_peek(data + off, size - off, FZ_MAX_PACKET, &f, &need);
    if (st == HMQ_NEED_MORE) {
      FZ_CHECK(need > size - off);
      break;
    }
    if (st != HMQ_OK) {
      break;
    }
    FZ_CHECK(f.total >= 2 && f.total <= size - off && f.total <= FZ_MAX_PACKET);
    fz_dispatch(data + off, f.total, f.type);
    off += f.total;
  }
  return 0;
}
