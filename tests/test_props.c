/* SPDX-License-Identifier: MIT */
/*
 * Property block tests (MQTT 5.0 2.2.2). Each property has a hand-encoded
 * vector (identifier byte + value bytes as the spec defines its type), the
 * packets the spec's table in 2.2.2.2 allows it in, and its decoded value.
 * Every vector is decoded in every packet type (allowed → OK, else
 * NOT_ALLOWED), re-encoded byte for byte, and repeated for the duplicate
 * rule. Negative vectors and the iterator are in test_props_rules.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mqtt/wire.h"

#include <string.h>

/* Packet masks for the "used in" column (bit = packet type, 16 = Will). */
#define P_CONNECT     (1u << HMQ_PKT_CONNECT)
#define P_CONNACK     (1u << HMQ_PKT_CONNACK)
#define P_PUBLISH     (1u << HMQ_PKT_PUBLISH)
#define P_PUBACK      (1u << HMQ_PKT_PUBACK)
#define P_PUBREC      (1u << HMQ_PKT_PUBREC)
#define P_PUBREL      (1u << HMQ_PKT_PUBREL)
#define P_PUBCOMP     (1u << HMQ_PKT_PUBCOMP)
#define P_SUBSCRIBE   (1u << HMQ_PKT_SUBSCRIBE)
#define P_SUBACK      (1u << HMQ_PKT_SUBACK)
#define P_UNSUBSCRIBE (1u << HMQ_PKT_UNSUBSCRIBE)
#define P_UNSUBACK    (1u << HMQ_PKT_UNSUBACK)
#define P_DISCONNECT  (1u << HMQ_PKT_DISCONNECT)
#define P_AUTH        (1u << HMQ_PKT_AUTH)
#define P_WILL        (1u << HMQ_PROPS_WILL)

typedef struct {
  const char *name;
  uint8_t id;
  uint32_t used_in;
  uint8_t bytes[40]; /* identifier + value, hand-encoded */
  size_t len;
  uint32_t num;        /* integer value */
  const char *s1, *s2; /* string / binary value, user value */
  size_t s1_len, s2_len;
} pvec;

static const pvec vecs[] = {
    {"Payload Format Indicator", 0x01, P_PUBLISH | P_WILL, {0x01, 0x01}, 2, 1, 0, 0, 0, 0},
    {"Message Expiry Interval",
     0x02,
     P_PUBLISH | P_WILL,
     {0x02, 0x00, 0x00, 0x0E, 0x10},
     5,
     3600,
     0,
     0,
     0,
     0},
    {"Content Type",
     0x03,
     P_PUBLISH | P_WILL,
     {0x03, 0x00, 0x10, 'a', 'p', 'p', 'l', 'i', 'c', 'a', 't', 'i', 'o', 'n', '/', 'j', 's', 'o',
      'n'},
     19,
     0,
     "application/json",
     0,
     16,
     0},
    {"Response Topic",
     0x08,
     P_PUBLISH | P_WILL,
     {0x08, 0x00, 0x05, 'r', 'e', 'p', 'l', 'y'},
     8,
     0,
     "reply",
     0,
     5,
     0},
    {"Correlation Data",
     0x09,
     P_PUBLISH | P_WILL,
     {0x09, 0x00, 0x03, 0x00, 0xFF, 0x01},
     6,
     0,
     "\x00\xff\x01",
     0,
     3,
     0},
    {"Subscription Identifier",
     0x0B,
     P_PUBLISH | P_SUBSCRIBE,
     {0x0B, 0x80, 0x01},
     3,
     128,
     0,
     0,
     0,
     0},
    {"Session Expiry Interval",
     0x11,
     P_CONNECT | P_CONNACK | P_DISCONNECT,
     {0x11, 0xFF, 0xFF, 0xFF, 0xFF},
     5,
     0xFFFFFFFFu,
     0,
     0,
     0,
     0},
    {"Assigned Client Identifier",
     0x12,
     P_CONNACK,
     {0x12, 0x00, 0x04, 'a', 'u', 't', 'o'},
     7,
     0,
     "auto",
     0,
     4,
     0},
    {"Server Keep Alive", 0x13, P_CONNACK, {0x13, 0x00, 0x3C}, 3, 60, 0, 0, 0, 0},
    {"Authentication Method",
     0x15,
     P_CONNECT | P_CONNACK | P_AUTH,
     {0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M'},
     8,
     0,
     "SCRAM",
     0,
     5,
     0},
    {"Authentication Data",
     0x16,
     P_CONNECT | P_CONNACK | P_AUTH,
     {0x16, 0x00, 0x02, 0xDE, 0xAD},
     5,
     0,
     "\xde\xad",
     0,
     2,
     0},
    {"Request Problem Information", 0x17, P_CONNECT, {0x17, 0x00}, 2, 0, 0, 0, 0, 0},
    {"Will Delay Interval", 0x18, P_WILL, {0x18, 0x00, 0x00, 0x00, 0x1E}, 5, 30, 0, 0, 0, 0},
    {"Request Response Information", 0x19, P_CONNECT, {0x19, 0x01}, 2, 1, 0, 0, 0, 0},
    {"Response Information",
     0x1A,
     P_CONNACK,
     {0x1A, 0x00, 0x03, 'r', 's', 'p'},
     6,
     0,
     "rsp",
     0,
     3,
     0},
    {"Server Reference",
     0x1C,
     P_CONNACK | P_DISCONNECT,
     {0x1C, 0x00, 0x09, 's', 'r', 'v', '2', ':', '8', '8', '8', '3'},
     12,
     0,
     "srv2:8883",
     0,
     9,
     0},
    {"Reason String",
     0x1F,
     P_CONNACK | P_PUBACK | P_PUBREC | P_PUBREL | P_PUBCOMP | P_SUBACK | P_UNSUBACK | P_DISCONNECT |
         P_AUTH,
     {0x1F, 0x00, 0x02, 'o', 'k'},
     5,
     0,
     "ok",
     0,
     2,
     0},
    {"Receive Maximum", 0x21, P_CONNECT | P_CONNACK, {0x21, 0x00, 0x0A}, 3, 10, 0, 0, 0, 0},
    {"Topic Alias Maximum", 0x22, P_CONNECT | P_CONNACK, {0x22, 0x00, 0x05}, 3, 5, 0, 0, 0, 0},
    {"Topic Alias", 0x23, P_PUBLISH, {0x23, 0x01, 0x02}, 3, 0x0102, 0, 0, 0, 0},
    {"Maximum QoS", 0x24, P_CONNACK, {0x24, 0x01}, 2, 1, 0, 0, 0, 0},
    {"Retain Available", 0x25, P_CONNACK, {0x25, 0x00}, 2, 0, 0, 0, 0, 0},
    {"User Property",
     0x26,
     P_CONNECT | P_CONNACK | P_PUBLISH | P_WILL | P_PUBACK | P_PUBREC | P_PUBREL | P_PUBCOMP |
         P_SUBSCRIBE | P_SUBACK | P_UNSUBSCRIBE | P_UNSUBACK | P_DISCONNECT | P_AUTH,
     {0x26, 0x00, 0x01, 'k', 0x00, 0x02, 'v', '1'},
     8,
     0,
     "k",
     "v1",
     1,
     2},
    {"Maximum Packet Size",
     0x27,
     P_CONNECT | P_CONNACK,
     {0x27, 0x00, 0x01, 0x00, 0x00},
     5,
     65536,
     0,
     0,
     0,
     0},
    {"Wildcard Subscription Available", 0x28, P_CONNACK, {0x28, 0x01}, 2, 1, 0, 0, 0, 0},
    {"Subscription Identifier Available", 0x29, P_CONNACK, {0x29, 0x00}, 2, 0, 0, 0, 0, 0},
    {"Shared Subscription Available", 0x2A, P_CONNACK, {0x2A, 0x01}, 2, 1, 0, 0, 0, 0},
};
#define NVECS (sizeof vecs / sizeof vecs[0])

/* Packet types that carry a property block, plus the Will. */
static const uint8_t packet_types[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, HMQ_PROPS_WILL};
#define NPKT (sizeof packet_types / sizeof packet_types[0])

static uint8_t first_packet(uint32_t used_in) {
  for (unsigned t = 0; t <= 16; t++) {
    if (used_in & (1u << t)) {
      return (uint8_t)t;
    }
  }
  return 0;
}

/* Prefix body with its one-byte property length (bodies here are < 128)
 * and append a trailing byte that is not part of the block. */
static size_t mk_block(uint8_t *out, const uint8_t *body, size_t n) {
  assert_true(n < 128);
  out[0] = (uint8_t)n;
  memcpy(out + 1, body, n);
  out[1 + n] = 0xEE;
  return 1 + n;
}

/* Views in *p point into a static buffer, valid until the next decode(). */
static hmq_status decode(const uint8_t *body, size_t n, uint8_t pkt, hmq_props *p) {
  static uint8_t buf[300];
  size_t blen = mk_block(buf, body, n);
  hmq_reader r;
  hmq_r_init(&r, buf, blen + 1);
  hmq_status st = hmq_props_read(&r, pkt, p);
  if (st == HMQ_OK) {
    assert_int_equal(r.pos, blen); /* stops exactly at the end of the block */
  }
  return st;
}

static void check_value(const hmq_props *p, const pvec *v) {
  switch (v->id) {
  case 0x01:
    assert_int_equal(p->payload_format, v->num);
    break;
  case 0x02:
    assert_int_equal(p->message_expiry, v->num);
    break;
  case 0x03:
    assert_int_equal(p->content_type.len, v->s1_len);
    assert_memory_equal(p->content_type.ptr, v->s1, v->s1_len);
    break;
  case 0x08:
    assert_int_equal(p->response_topic.len, v->s1_len);
    assert_memory_equal(p->response_topic.ptr, v->s1, v->s1_len);
    break;
  case 0x09:
    assert_int_equal(p->correlation_data.len, v->s1_len);
    assert_memory_equal(p->correlation_data.ptr, v->s1, v->s1_len);
    break;
  case 0x0B:
    assert_int_equal(p->subscription_id, v->num);
    assert_int_equal(p->sub_id_count, 1);
    break;
  case 0x11:
    assert_int_equal(p->session_expiry, v->num);
    break;
  case 0x12:
    assert_int_equal(p->assigned_client_id.len, v->s1_len);
    assert_memory_equal(p->assigned_client_id.ptr, v->s1, v->s1_len);
    break;
  case 0x13:
    assert_int_equal(p->server_keep_alive, v->num);
    break;
  case 0x15:
    assert_int_equal(p->auth_method.len, v->s1_len);
    assert_memory_equal(p->auth_method.ptr, v->s1, v->s1_len);
    break;
  case 0x16:
    assert_int_equal(p->auth_data.len, v->s1_len);
    assert_memory_equal(p->auth_data.ptr, v->s1, v->s1_len);
    break;
  case 0x17:
    assert_int_equal(p->request_problem_info, v->num);
    break;
  case 0x18:
    assert_int_equal(p->will_delay, v->num);
    break;
  case 0x19:
    assert_int_equal(p->request_response_info, v->num);
    break;
  case 0x1A:
    assert_int_equal(p->response_info.len, v->s1_len);
    assert_memory_equal(p->response_info.ptr, v->s1, v->s1_len);
    break;
  case 0x1C:
    assert_int_equal(p->server_reference.len, v->s1_len);
    assert_memory_equal(p->server_reference.ptr, v->s1, v->s1_len);
    break;
  case 0x1F:
    assert_int_equal(p->reason_string.len, v->s1_len);
    assert_memory_equal(p->reason_string.ptr, v->s1, v->s1_len);
    break;
  case 0x21:
    assert_int_equal(p->receive_max, v->num);
    break;
  case 0x22:
    assert_int_equal(p->topic_alias_max, v->num);
    break;
  case 0x23:
    assert_int_equal(p->topic_alias, v->num);
    break;
  case 0x24:
    assert_int_equal(p->max_qos, v->num);
    break;
  case 0x25:
    assert_int_equal(p->retain_available, v->num);
    break;
  case 0x26: {
    assert_int_equal(p->user_count, 1);
    assert_null(p->user);
    size_t cur = 0;
    hmq_prop it;
    assert_int_equal(hmq_props_next(p, &cur, &it), HMQ_OK);
    assert_int_equal(it.id, 0x26);
    assert_int_equal(it.str.len, v->s1_len);
    assert_memory_equal(it.str.ptr, v->s1, v->s1_len);
    assert_int_equal(it.str2.len, v->s2_len);
    assert_memory_equal(it.str2.ptr, v->s2, v->s2_len);
    break;
  }
  case 0x27:
    assert_int_equal(p->max_packet_size, v->num);
    break;
  case 0x28:
    assert_int_equal(p->wildcard_sub_available, v->num);
    break;
  case 0x29:
    assert_int_equal(p->sub_id_available, v->num);
    break;
  case 0x2A:
    assert_int_equal(p->shared_sub_available, v->num);
    break;
  default:
    fail_msg("no check for id 0x%02X", v->id);
  }
}

/* Every identifier of the table in 2.2.2.2 has exactly one vector. */
static void every_property_has_a_vector(void **state) {
  (void)state;
  static const uint8_t ids[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
                                0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
                                0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
  assert_int_equal(NVECS, sizeof ids);
  for (size_t i = 0; i < NVECS; i++) {
    assert_int_equal(vecs[i].id, ids[i]);
    assert_int_equal(vecs[i].bytes[0], ids[i]);
  }
}

static void decode_each_property(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    hmq_props p;
    uint8_t pkt = first_packet(vecs[i].used_in);
    hmq_status st = decode(vecs[i].bytes, vecs[i].len, pkt, &p);
    if (st != HMQ_OK) {
      fail_msg("%s: %s", vecs[i].name, hmq_status_name(st));
    }
    assert_int_equal(p.present, HMQ_PROP_BIT(vecs[i].id));
    assert_int_equal(p.raw.len, vecs[i].len);
    assert_memory_equal(p.raw.ptr, vecs[i].bytes, vecs[i].len);
    check_value(&p, &vecs[i]);
  }
}

/* Decode, encode what was decoded, compare with the hand-written bytes. */
static void round_trip_each_property(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    hmq_props p;
    uint8_t pkt = first_packet(vecs[i].used_in);
    assert_int_equal(decode(vecs[i].bytes, vecs[i].len, pkt, &p), HMQ_OK);
    hmq_user_prop up;
    if (vecs[i].id == HMQ_PROP_USER) {
      size_t cur = 0;
      hmq_prop it;
      assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_OK);
      up.key = it.str;
      up.value = it.str2;
      p.user = &up;
    }
    uint8_t want[64], out[64];
    size_t wlen = mk_block(want, vecs[i].bytes, vecs[i].len);
    assert_int_equal(hmq_props_size(&p), vecs[i].len);
    hmq_writer w;
    hmq_w_init(&w, out, sizeof out);
    hmq_status st = hmq_props_write(&w, pkt, &p);
    if (st != HMQ_OK) {
      fail_msg("%s: %s", vecs[i].name, hmq_status_name(st));
    }
    assert_false(w.overflow);
    assert_int_equal(w.pos, wlen);
    assert_memory_equal(out, want, wlen);
  }
}

/* The whole "used in" table, through the decoder and the encoder. */
static void allowed_table_every_packet(void **state) {
  (void)state;
  for (size_t t = 0; t < NPKT; t++) {
    uint8_t pkt = packet_types[t];
    uint64_t want_mask = 0;
    for (size_t i = 0; i < NVECS; i++) {
      int allowed = (vecs[i].used_in >> pkt) & 1u;
      if (allowed) {
        want_mask |= HMQ_PROP_BIT(vecs[i].id);
      }
      hmq_props p;
      hmq_status st = decode(vecs[i].bytes, vecs[i].len, pkt, &p);
      hmq_status want = allowed ? HMQ_OK : HMQ_ERR_PROP_NOT_ALLOWED;
      if (st != want) {
        fail_msg("decode %s in %s: %s", vecs[i].name, hmq_packet_name(pkt), hmq_status_name(st));
      }
      /* encoder: same verdict for a present bit */
      hmq_props e;
      memset(&e, 0, sizeof e);
      hmq_user_prop up = {{"k", 1}, {"v", 1}};
      e.present = HMQ_PROP_BIT(vecs[i].id);
      e.max_packet_size = 1;
      e.receive_max = 1;
      e.subscription_id = 1;
      if (vecs[i].id == HMQ_PROP_USER) {
        e.user = &up;
        e.user_count = 1;
      }
      uint8_t out[64];
      hmq_writer w;
      hmq_w_init(&w, out, sizeof out);
      st = hmq_props_write(&w, pkt, &e);
      if (st != want) {
        fail_msg("encode %s in %s: %s", vecs[i].name, hmq_packet_name(pkt), hmq_status_name(st));
      }
    }
    assert_int_equal(hmq_props_allowed(pkt), want_mask);
  }
  /* no properties at all in PINGREQ / PINGRESP / reserved types */
  assert_int_equal(hmq_props_allowed(HMQ_PKT_PINGREQ), 0);
  assert_int_equal(hmq_props_allowed(HMQ_PKT_PINGRESP), 0);
  assert_int_equal(hmq_props_allowed(0), 0);
  assert_int_equal(hmq_props_allowed(17), 0);
}

/* Spot checks that read like the spec, independent of the vector table. */
static void allowed_spot_checks(void **state) {
  (void)state;
  assert_true(hmq_props_allowed(HMQ_PKT_CONNACK) & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX));
  assert_false(hmq_props_allowed(HMQ_PKT_PUBLISH) & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX));
  assert_true(hmq_props_allowed(HMQ_PKT_PUBLISH) & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS));
  assert_false(hmq_props_allowed(HMQ_PROPS_WILL) & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS));
  assert_true(hmq_props_allowed(HMQ_PROPS_WILL) & HMQ_PROP_BIT(HMQ_PROP_WILL_DELAY));
  assert_false(hmq_props_allowed(HMQ_PKT_CONNECT) & HMQ_PROP_BIT(HMQ_PROP_WILL_DELAY));
  assert_false(hmq_props_allowed(HMQ_PKT_PUBACK) & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY));
  assert_true(hmq_props_allowed(HMQ_PKT_DISCONNECT) & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY));
  assert_int_equal(hmq_props_allowed(HMQ_PKT_UNSUBSCRIBE), HMQ_PROP_BIT(HMQ_PROP_USER));
  assert_int_equal(hmq_props_allowed(HMQ_PKT_SUBSCRIBE),
                   HMQ_PROP_BIT(HMQ_PROP_USER) | HMQ_PROP_BIT(HMQ_PROP_SUBSCRIPTION_ID));
  assert_false(hmq_props_allowed(HMQ_PKT_AUTH) & HMQ_PROP_BIT(HMQ_PROP_SERVER_REFERENCE));
}

/* "It is a Protocol Error to include X more than once" for every property
 * but User Property (3.1.2.11.8 …) and Subscription Identifier in PUBLISH
 * (3.3.2.3.8); in SUBSCRIBE the latter may appear once (3.8.2.1.2). */
static void duplicates(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    uint8_t twice[80];
    memcpy(twice, vecs[i].bytes, vecs[i].len);
    memcpy(twice + vecs[i].len, vecs[i].bytes, vecs[i].len);
    for (size_t t = 0; t < NPKT; t++) {
      uint8_t pkt = packet_types[t];
      if (((vecs[i].used_in >> pkt) & 1u) == 0) {
        continue;
      }
      hmq_props p;
      hmq_status st = decode(twice, 2 * vecs[i].len, pkt, &p);
      int may_repeat = vecs[i].id == HMQ_PROP_USER ||
                       (vecs[i].id == HMQ_PROP_SUBSCRIPTION_ID && pkt == HMQ_PKT_PUBLISH);
      if (st != (may_repeat ? HMQ_OK : HMQ_ERR_PROP_DUPLICATE)) {
        fail_msg("%s twice in %s: %s", vecs[i].name, hmq_packet_name(pkt), hmq_status_name(st));
      }
      if (may_repeat) {
        assert_int_equal(vecs[i].id == HMQ_PROP_USER ? p.user_count : p.sub_id_count, 2);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_property_has_a_vector), cmocka_unit_test(decode_each_property),
      cmocka_unit_test(round_trip_each_property),    cmocka_unit_test(allowed_table_every_packet),
      cmocka_unit_test(allowed_spot_checks),         cmocka_unit_test(duplicates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
