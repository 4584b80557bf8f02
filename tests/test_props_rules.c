/* SPDX-License-Identifier: MIT */
/*
 * Property block rules (MQTT 5.0 2.2.2): negative vectors named after the
 * rule they break, values at the edges of their ranges, Property Length
 * handling, the iterator (order, termination on any input) and the
 * encoder's symmetric validation. Per-property vectors and the allowed
 * table live in test_props.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mqtt/wire.h"

#include <string.h>

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

typedef struct {
  const char *rule;
  uint8_t pkt;
  uint8_t body[16];
  size_t len;
  hmq_status want;
} neg;

static const neg negatives[] = {
    {"Payload Format Indicator is 0 or 1 (3.3.2.3.2)", 3, {0x01, 0x02}, 2, HMQ_ERR_PROP_VALUE},
    {"Request Problem Information is 0 or 1 (3.1.2.11.7)", 1, {0x17, 0x02}, 2, HMQ_ERR_PROP_VALUE},
    {"Request Response Information is 0 or 1 (3.1.2.11.6)", 1, {0x19, 0xFF}, 2, HMQ_ERR_PROP_VALUE},
    {"Maximum QoS is 0 or 1 (3.2.2.3.4)", 2, {0x24, 0x02}, 2, HMQ_ERR_PROP_VALUE},
    {"Retain Available is 0 or 1 (3.2.2.3.5)", 2, {0x25, 0x02}, 2, HMQ_ERR_PROP_VALUE},
    {"Wildcard Subscription Available is 0 or 1 (3.2.2.3.11)",
     2,
     {0x28, 0x02},
     2,
     HMQ_ERR_PROP_VALUE},
    {"Subscription Identifiers Available is 0 or 1 (3.2.2.3.12)",
     2,
     {0x29, 0x02},
     2,
     HMQ_ERR_PROP_VALUE},
    {"Shared Subscription Available is 0 or 1 (3.2.2.3.13)",
     2,
     {0x2A, 0x80},
     2,
     HMQ_ERR_PROP_VALUE},
    {"Receive Maximum 0 is a Protocol Error (3.2.2.3.3)", 2, {0x21, 0, 0}, 3, HMQ_ERR_PROP_VALUE},
    {"Receive Maximum 0 in CONNECT (3.1.2.11.3)", 1, {0x21, 0, 0}, 3, HMQ_ERR_PROP_VALUE},
    {"Maximum Packet Size 0 is a Protocol Error (3.2.2.3.6)",
     2,
     {0x27, 0, 0, 0, 0},
     5,
     HMQ_ERR_PROP_VALUE},
    {"Subscription Identifier 0 is a Protocol Error (3.3.2.3.8)",
     3,
     {0x0B, 0x00},
     2,
     HMQ_ERR_PROP_VALUE},
    {"Subscription Identifier 0 in SUBSCRIBE (3.8.2.1.2)", 8, {0x0B, 0x00}, 2, HMQ_ERR_PROP_VALUE},
    {"Subscription Identifier varint is minimal [MQTT-1.5.5-1]",
     3,
     {0x0B, 0x81, 0x00},
     3,
     HMQ_ERR_VARINT_NOT_MINIMAL},
    {"Subscription Identifier varint at most 4 bytes (1.5.5)",
     3,
     {0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
     6,
     HMQ_ERR_VARINT_TOO_LONG},
    {"unknown identifier 0x00", 2, {0x00, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x04", 3, {0x04, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x0A", 3, {0x0A, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x14", 2, {0x14, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x1B", 2, {0x1B, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x20", 2, {0x20, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x2B", 2, {0x2B, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown identifier 0x7F", 2, {0x7F, 0x00}, 2, HMQ_ERR_PROP_UNKNOWN},
    {"unknown two-byte identifier 128", 2, {0x80, 0x01, 0x00}, 3, HMQ_ERR_PROP_UNKNOWN},
    {"identifier as non-minimal varint [MQTT-1.5.5-1]",
     3,
     {0x81, 0x00, 0x01},
     3,
     HMQ_ERR_VARINT_NOT_MINIMAL},
    {"four-byte value cut by the property length (2.2.2.1)",
     2,
     {0x11, 0x00, 0x00},
     3,
     HMQ_ERR_LENGTH},
    {"two-byte value cut by the property length", 2, {0x21, 0x00}, 2, HMQ_ERR_LENGTH},
    {"byte value cut by the property length", 2, {0x24}, 1, HMQ_ERR_LENGTH},
    {"string length beyond the block (1.5.4)", 3, {0x03, 0x00, 0x05, 'a', 'b'}, 5, HMQ_ERR_LENGTH},
    {"binary length beyond the block (1.5.6)", 3, {0x09, 0x00, 0x02, 0x01}, 4, HMQ_ERR_LENGTH},
    {"user property without its value (1.5.7)", 3, {0x26, 0x00, 0x01, 'k'}, 4, HMQ_ERR_LENGTH},
    {"varint value cut by the property length", 3, {0x0B, 0x80}, 2, HMQ_ERR_LENGTH},
    {"string property must be UTF-8 [MQTT-1.5.4-1]",
     3,
     {0x03, 0x00, 0x02, 0xC0, 0x80},
     5,
     HMQ_ERR_UTF8_INVALID},
    {"reason string must not contain U+0000 [MQTT-1.5.4-2]",
     4,
     {0x1F, 0x00, 0x02, 'a', 0x00},
     5,
     HMQ_ERR_UTF8_NUL},
    {"user property value must be UTF-8 (surrogate) [MQTT-1.5.4-1]",
     3,
     {0x26, 0x00, 0x01, 'k', 0x00, 0x03, 0xED, 0xA0, 0x80},
     9,
     HMQ_ERR_UTF8_INVALID},
    {"user property key must be UTF-8 [MQTT-1.5.4-1]",
     3,
     {0x26, 0x00, 0x01, 0xFF, 0x00, 0x00},
     6,
     HMQ_ERR_UTF8_INVALID},
};

static void negative_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof negatives / sizeof negatives[0]; i++) {
    hmq_props p;
    hmq_status st = decode(negatives[i].body, negatives[i].len, negatives[i].pkt, &p);
    if (st != negatives[i].want) {
      fail_msg("%s: got %s, want %s", negatives[i].rule, hmq_status_name(st),
               hmq_status_name(negatives[i].want));
    }
  }
}

/* Boundary values that must pass. Topic Alias 0 is the engine's error
 * (0x94, 3.3.2.3.4), not a malformed property block. */
static void values_at_the_edges_pass(void **state) {
  (void)state;
  hmq_props p;
  const uint8_t sub_max[] = {0x0B, 0xFF, 0xFF, 0xFF, 0x7F};
  assert_int_equal(decode(sub_max, sizeof sub_max, HMQ_PKT_PUBLISH, &p), HMQ_OK);
  assert_int_equal(p.subscription_id, 268435455u);
  const uint8_t alias0[] = {0x23, 0x00, 0x00};
  assert_int_equal(decode(alias0, sizeof alias0, HMQ_PKT_PUBLISH, &p), HMQ_OK);
  assert_true(p.present & HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS));
  assert_int_equal(p.topic_alias, 0);
  const uint8_t rm1[] = {0x21, 0x00, 0x01, 0x24, 0x00, 0x27, 0x00, 0x00, 0x00, 0x01};
  assert_int_equal(decode(rm1, sizeof rm1, HMQ_PKT_CONNACK, &p), HMQ_OK);
  assert_int_equal(p.receive_max, 1);
  assert_int_equal(p.max_qos, 0);
  assert_int_equal(p.max_packet_size, 1);
  /* empty strings are present and empty */
  const uint8_t empty[] = {0x1F, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00};
  assert_int_equal(decode(empty, sizeof empty, HMQ_PKT_PUBACK, &p), HMQ_OK);
  assert_non_null(p.reason_string.ptr);
  assert_int_equal(p.reason_string.len, 0);
  assert_int_equal(p.user_count, 1);
}

static void empty_block(void **state) {
  (void)state;
  hmq_props p;
  static const uint8_t nothing[1] = {0};
  assert_int_equal(decode(nothing, 0, HMQ_PKT_PUBLISH, &p), HMQ_OK);
  assert_int_equal(p.present, 0);
  assert_non_null(p.raw.ptr);
  assert_int_equal(p.raw.len, 0);
  size_t cur = 0;
  hmq_prop it;
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_NEED_MORE);
  /* a zeroed struct (no block at all) iterates to nothing too */
  hmq_props z;
  memset(&z, 0, sizeof z);
  assert_int_equal(hmq_props_next(&z, &cur, &it), HMQ_NEED_MORE);
}

/* 2.2.2.1: Property Length larger than what the packet holds. */
static void property_length_beyond_packet(void **state) {
  (void)state;
  const uint8_t buf[] = {0x05, 0x01, 0x01};
  hmq_reader r;
  hmq_props p;
  hmq_r_init(&r, buf, sizeof buf);
  assert_int_equal(hmq_props_read(&r, HMQ_PKT_PUBLISH, &p), HMQ_ERR_LENGTH);
  hmq_r_init(&r, buf, 0); /* no length at all */
  assert_int_equal(hmq_props_read(&r, HMQ_PKT_PUBLISH, &p), HMQ_ERR_LENGTH);
  const uint8_t long_len[] = {0x80, 0x80, 0x80, 0x80};
  hmq_r_init(&r, long_len, sizeof long_len);
  assert_int_equal(hmq_props_read(&r, HMQ_PKT_PUBLISH, &p), HMQ_ERR_VARINT_TOO_LONG);
}

/* A PUBLISH block mixing user properties and several Subscription
 * Identifiers: counts, first id, and the iterator's exact sequence. */
static void iterate_users_and_sub_ids(void **state) {
  (void)state;
  const uint8_t body[] = {
      0x26, 0x00, 0x01, 'a',  0x00, 0x01, '1',      /* user a=1 */
      0x0B, 0x01,                                   /* sub id 1 */
      0x26, 0x00, 0x01, 'b',  0x00, 0x02, '2', '2', /* user b=22 */
      0x0B, 0xFF, 0xFF, 0xFF, 0x7F,                 /* sub id 268435455 */
      0x23, 0x00, 0x03,                             /* topic alias 3 */
      0x26, 0x00, 0x01, 'c',  0x00, 0x00,           /* user c="" */
  };
  hmq_props p;
  assert_int_equal(decode(body, sizeof body, HMQ_PKT_PUBLISH, &p), HMQ_OK);
  assert_int_equal(p.user_count, 3);
  assert_int_equal(p.sub_id_count, 2);
  assert_int_equal(p.subscription_id, 1);
  assert_int_equal(p.topic_alias, 3);
  assert_true(p.present & HMQ_PROP_BIT(HMQ_PROP_USER));
  assert_true(p.present & HMQ_PROP_BIT(HMQ_PROP_SUBSCRIPTION_ID));

  static const struct {
    uint8_t id;
    uint32_t u32;
    const char *k, *v;
  } want[] = {{0x26, 0, "a", "1"},      {0x0B, 1, 0, 0}, {0x26, 0, "b", "22"},
              {0x0B, 268435455u, 0, 0}, {0x23, 3, 0, 0}, {0x26, 0, "c", ""}};
  size_t cur = 0, prev = 0;
  hmq_prop it;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_OK);
    assert_true(cur > prev); /* always advances */
    prev = cur;
    assert_int_equal(it.id, want[i].id);
    if (want[i].k != NULL) {
      assert_int_equal(it.str.len, strlen(want[i].k));
      assert_memory_equal(it.str.ptr, want[i].k, it.str.len);
      assert_int_equal(it.str2.len, strlen(want[i].v));
      assert_non_null(it.str2.ptr);
      assert_memory_equal(it.str2.ptr, want[i].v, it.str2.len);
    } else {
      assert_int_equal(it.u32, want[i].u32);
    }
  }
  assert_int_equal(cur, sizeof body);
  /* stops, and stays stopped */
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_NEED_MORE);
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_NEED_MORE);
  assert_int_equal(cur, sizeof body);
}

/* On bytes no decoder validated, the iterator reports the error, jumps to
 * the end, and then stops: a loop over it always terminates. */
static void iterator_always_advances_on_garbage(void **state) {
  (void)state;
  const uint8_t cut[] = {0x26, 0x00, 0x05, 'a'};
  hmq_props p;
  memset(&p, 0, sizeof p);
  p.raw.ptr = cut;
  p.raw.len = sizeof cut;
  size_t cur = 0;
  hmq_prop it;
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_ERR_LENGTH);
  assert_int_equal(cur, sizeof cut);
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_NEED_MORE);

  const uint8_t unknown[] = {0x01, 0x01, 0x04, 0x00};
  p.raw.ptr = unknown;
  p.raw.len = sizeof unknown;
  cur = 0;
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_OK);
  assert_int_equal(it.id, 0x01);
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_ERR_PROP_UNKNOWN);
  assert_int_equal(hmq_props_next(&p, &cur, &it), HMQ_NEED_MORE);

  /* pseudo-random blocks (fixed seed): the number of calls before
   * NEED_MORE never exceeds the block length, and the cursor only grows */
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; round++) {
    uint8_t buf[32];
    size_t len = 1 + (size_t)(round % 32);
    for (size_t k = 0; k < len; k++) {
      seed = seed * 1103515245u + 12345u;
      uint8_t b = (uint8_t)(seed >> 16);
      /* bias towards valid ids so deeper paths are reached */
      buf[k] = (k % 3 == 0) ? (uint8_t)(b % 0x2C) : b;
    }
    p.raw.ptr = buf;
    p.raw.len = len;
    cur = 0;
    size_t calls = 0, last = 0;
    hmq_status st;
    while ((st = hmq_props_next(&p, &cur, &it)) != HMQ_NEED_MORE) {
      calls++;
      assert_true(cur > last);
      assert_true(cur <= len);
      last = cur;
      assert_true(calls <= len);
    }
  }
}

/* The encoder makes the decoder's value checks [symmetric validation]. */
static void encode_rejects_what_decode_rejects(void **state) {
  (void)state;
  uint8_t out[128];
  hmq_writer w;
  hmq_props e;
  static const struct {
    uint8_t id;
    uint8_t pkt;
    uint32_t value;
  } bad[] = {
      {HMQ_PROP_PAYLOAD_FORMAT, 3, 2},        {HMQ_PROP_REQUEST_PROBLEM_INFO, 1, 2},
      {HMQ_PROP_REQUEST_RESPONSE_INFO, 1, 2}, {HMQ_PROP_MAX_QOS, 2, 2},
      {HMQ_PROP_RETAIN_AVAILABLE, 2, 2},      {HMQ_PROP_WILDCARD_SUB_AVAILABLE, 2, 2},
      {HMQ_PROP_SUB_ID_AVAILABLE, 2, 2},      {HMQ_PROP_SHARED_SUB_AVAILABLE, 2, 2},
      {HMQ_PROP_RECEIVE_MAX, 1, 0},           {HMQ_PROP_MAX_PACKET_SIZE, 1, 0},
      {HMQ_PROP_SUBSCRIPTION_ID, 8, 0},       {HMQ_PROP_SUBSCRIPTION_ID, 3, 268435456u},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&e, 0, sizeof e);
    e.present = HMQ_PROP_BIT(bad[i].id);
    switch (bad[i].id) {
    case HMQ_PROP_PAYLOAD_FORMAT:
      e.payload_format = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_REQUEST_PROBLEM_INFO:
      e.request_problem_info = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_REQUEST_RESPONSE_INFO:
      e.request_response_info = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_MAX_QOS:
      e.max_qos = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_RETAIN_AVAILABLE:
      e.retain_available = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_WILDCARD_SUB_AVAILABLE:
      e.wildcard_sub_available = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_SUB_ID_AVAILABLE:
      e.sub_id_available = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_SHARED_SUB_AVAILABLE:
      e.shared_sub_available = (uint8_t)bad[i].value;
      break;
    case HMQ_PROP_RECEIVE_MAX:
      e.receive_max = (uint16_t)bad[i].value;
      break;
    case HMQ_PROP_MAX_PACKET_SIZE:
      e.max_packet_size = bad[i].value;
      break;
    default:
      e.subscription_id = bad[i].value;
      break;
    }
    hmq_w_init(&w, out, sizeof out);
    assert_int_equal(hmq_props_write(&w, bad[i].pkt, &e), HMQ_ERR_PROP_VALUE);
  }
  /* UTF-8 of strings and user properties */
  memset(&e, 0, sizeof e);
  e.present = HMQ_PROP_BIT(HMQ_PROP_CONTENT_TYPE);
  e.content_type.ptr = "\xc0\x80";
  e.content_type.len = 2;
  hmq_w_init(&w, out, sizeof out);
  assert_int_equal(hmq_props_write(&w, HMQ_PKT_PUBLISH, &e), HMQ_ERR_UTF8_INVALID);
  memset(&e, 0, sizeof e);
  hmq_user_prop up = {{"k\0", 2}, {"v", 1}};
  e.user = &up;
  e.user_count = 1;
  hmq_w_init(&w, out, sizeof out);
  assert_int_equal(hmq_props_write(&w, HMQ_PKT_PUBLISH, &e), HMQ_ERR_UTF8_NUL);
  /* user properties given where none are allowed */
  hmq_w_init(&w, out, sizeof out);
  up.key.len = 1;
  assert_int_equal(hmq_props_write(&w, HMQ_PKT_PINGREQ, &e), HMQ_ERR_PROP_NOT_ALLOWED);
  /* a present bit that is no property at all */
  memset(&e, 0, sizeof e);
  e.present = HMQ_PROP_BIT(0x04);
  hmq_w_init(&w, out, sizeof out);
  assert_int_equal(hmq_props_write(&w, HMQ_PKT_CONNACK, &e), HMQ_ERR_PROP_NOT_ALLOWED);
}

/* Several properties at once come out in identifier order; a too small
 * buffer reports the size needed and writes nothing past cap. */
static void encode_many_and_no_room(void **state) {
  (void)state;
  hmq_user_prop users[2] = {{{"a", 1}, {"1", 1}}, {{"b", 1}, {"2", 1}}};
  hmq_props e;
  memset(&e, 0, sizeof e);
  e.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) |
              HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE) | HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX);
  e.session_expiry = 0x12345678u;
  e.receive_max = 65535;
  e.max_packet_size = 1048576;
  e.topic_alias_max = 0;
  e.user = users;
  e.user_count = 2;
  const uint8_t want[] = {30,   0x11, 0x12, 0x34, 0x56, 0x78, 0x21, 0xFF, 0xFF, 0x22, 0x00,
                          0x00, 0x26, 0x00, 0x01, 'a',  0x00, 0x01, '1',  0x26, 0x00, 0x01,
                          'b',  0x00, 0x01, '2',  0x27, 0x00, 0x10, 0x00, 0x00};
  assert_int_equal(hmq_props_size(&e), sizeof want - 1);
  uint8_t out[64];
  hmq_writer w;
  hmq_w_init(&w, out, sizeof out);
  assert_int_equal(hmq_props_write(&w, HMQ_PKT_CONNECT, &e), HMQ_OK);
  assert_int_equal(w.pos, sizeof want);
  assert_memory_equal(out, want, sizeof want);

  /* decode it back */
  hmq_reader r;
  hmq_props d;
  hmq_r_init(&r, out, w.pos);
  assert_int_equal(hmq_props_read(&r, HMQ_PKT_CONNECT, &d), HMQ_OK);
  assert_int_equal(d.session_expiry, 0x12345678u);
  assert_int_equal(d.receive_max, 65535);
  assert_int_equal(d.topic_alias_max, 0);
  assert_int_equal(d.max_packet_size, 1048576);
  assert_int_equal(d.user_count, 2);
  assert_int_equal(d.present, e.present | HMQ_PROP_BIT(HMQ_PROP_USER));

  for (size_t cap = 0; cap < sizeof want; cap++) {
    uint8_t small[64];
    memset(small, 0xAB, sizeof small);
    hmq_w_init(&w, small, cap);
    assert_int_equal(hmq_props_write(&w, HMQ_PKT_CONNECT, &e), HMQ_OK);
    assert_true(w.overflow);
    assert_int_equal(w.pos, sizeof want);
    for (size_t k = cap; k < sizeof small; k++) {
      assert_int_equal(small[k], 0xAB); /* nothing written past cap */
    }
  }

  /* NULL props: an empty block */
  hmq_w_init(&w, out, sizeof out);
  assert_int_equal(hmq_props_write(&w, HMQ_PKT_PUBACK, NULL), HMQ_OK);
  assert_int_equal(w.pos, 1);
  assert_int_equal(out[0], 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(negative_vectors),
      cmocka_unit_test(values_at_the_edges_pass),
      cmocka_unit_test(empty_block),
      cmocka_unit_test(property_length_beyond_packet),
      cmocka_unit_test(iterate_users_and_sub_ids),
      cmocka_unit_test(iterator_always_advances_on_garbage),
      cmocka_unit_test(encode_rejects_what_decode_rejects),
      cmocka_unit_test(encode_many_and_no_room),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
