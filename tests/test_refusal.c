/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the link's refusal policy (src/link/refusal.c): every one
 * of the 256 reason codes in CONNACK, SUBACK and DISCONNECT is classified,
 * the classes agree with what the decoder accepts, the codes the spec and
 * the real broker's behaviour make permanent are permanent, the one-line
 * text carries the server's Reason String and User Properties, and a
 * CONNACK that rules out a subscription is recognised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hmq/link.h"

static const uint8_t types[3] = {HMQ_PKT_CONNACK, HMQ_PKT_SUBACK, HMQ_PKT_DISCONNECT};

/* Decode a minimal packet of `type` carrying `reason`. */
static hmq_status decode_with(uint8_t type, uint8_t reason) {
  uint8_t pkt[8];
  switch (type) {
  case HMQ_PKT_CONNACK: {
    hmq_connack c;
    memcpy(pkt, (uint8_t[]){0x20, 3, 0x00, reason, 0x00}, 5);
    return hmq_decode_connack(pkt, 5, &c);
  }
  case HMQ_PKT_SUBACK: {
    hmq_suback s;
    memcpy(pkt, (uint8_t[]){0x90, 4, 0x00, 0x01, 0x00, reason}, 6);
    return hmq_decode_suback(pkt, 6, &s);
  }
  default: {
    hmq_disconnect d;
    memcpy(pkt, (uint8_t[]){0xE0, 2, reason, 0x00}, 4);
    return hmq_decode_disconnect(pkt, 4, &d);
  }
  }
}

/* All 256 codes of each packet: INVALID exactly where the decoder refuses
 * the code; below 0x80 nothing is a refusal except DISCONNECT's, which
 * always ends the connection (transient); from 0x80 on nothing is NONE. */
static void test_all_codes_classified_and_agree_with_decoder(void **state) {
  (void)state;
  for (int t = 0; t < 3; t++) {
    for (unsigned r = 0; r < 256; r++) {
      hmq_refusal c = hmq_link_refusal(types[t], (uint8_t)r);
      hmq_status st = decode_with(types[t], (uint8_t)r);
      if (c == HMQ_REFUSAL_INVALID) {
        if (st != HMQ_ERR_REASON_CODE)
          fail_msg("type %u code 0x%02X: table INVALID, decoder %s", types[t], r,
                   hmq_status_name(st));
        continue;
      }
      if (st != HMQ_OK)
        fail_msg("type %u code 0x%02X: table %s, decoder %s", types[t], r, hmq_refusal_name(c),
                 hmq_status_name(st));
      if (r < 0x80 && types[t] != HMQ_PKT_DISCONNECT)
        assert_int_equal(c, HMQ_REFUSAL_NONE);
      if (r < 0x80 && types[t] == HMQ_PKT_DISCONNECT)
        assert_int_equal(c, HMQ_REFUSAL_TRANSIENT);
      if (r >= 0x80)
        assert_true(c == HMQ_REFUSAL_TRANSIENT || c == HMQ_REFUSAL_PERMANENT);
    }
  }
  /* other packet types have no refusals to classify */
  for (unsigned r = 0; r < 256; r++) {
    assert_int_equal(hmq_link_refusal(HMQ_PKT_PUBACK, (uint8_t)r), HMQ_REFUSAL_INVALID);
    assert_int_equal(hmq_link_refusal(0, (uint8_t)r), HMQ_REFUSAL_INVALID);
  }
}

static void expect_set(uint8_t type, const uint8_t *codes, size_t n, hmq_refusal want) {
  for (size_t i = 0; i < n; i++)
    if (hmq_link_refusal(type, codes[i]) != want)
      fail_msg("type %u code 0x%02X: %s, want %s", type, codes[i],
               hmq_refusal_name(hmq_link_refusal(type, codes[i])), hmq_refusal_name(want));
}

/* The exact split, written out: a change to the table must change this. */
static void test_permanent_and_transient_sets(void **state) {
  (void)state;
  static const uint8_t ck_perm[] = {0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
                                    0x8A, 0x8C, 0x90, 0x95, 0x99, 0x9A, 0x9B};
  static const uint8_t ck_tran[] = {0x80, 0x88, 0x89, 0x97, 0x9C, 0x9D, 0x9F};
  static const uint8_t sa_perm[] = {0x83, 0x87, 0x8F, 0x9E, 0xA1, 0xA2};
  static const uint8_t sa_tran[] = {0x80, 0x91, 0x97};
  static const uint8_t sa_none[] = {0x00, 0x01, 0x02};
  static const uint8_t dc_perm[] = {0x87, 0x8C, 0x8F, 0x90, 0x95, 0x99,
                                    0x9A, 0x9B, 0x9E, 0xA1, 0xA2};
  static const uint8_t dc_tran[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x89, 0x8B, 0x8D, 0x8E,
                                    0x93, 0x94, 0x96, 0x97, 0x98, 0x9C, 0x9D, 0x9F, 0xA0};
  expect_set(HMQ_PKT_CONNACK, ck_perm, sizeof ck_perm, HMQ_REFUSAL_PERMANENT);
  expect_set(HMQ_PKT_CONNACK, ck_tran, sizeof ck_tran, HMQ_REFUSAL_TRANSIENT);
  expect_set(HMQ_PKT_SUBACK, sa_perm, sizeof sa_perm, HMQ_REFUSAL_PERMANENT);
  expect_set(HMQ_PKT_SUBACK, sa_tran, sizeof sa_tran, HMQ_REFUSAL_TRANSIENT);
  expect_set(HMQ_PKT_SUBACK, sa_none, sizeof sa_none, HMQ_REFUSAL_NONE);
  expect_set(HMQ_PKT_DISCONNECT, dc_perm, sizeof dc_perm, HMQ_REFUSAL_PERMANENT);
  expect_set(HMQ_PKT_DISCONNECT, dc_tran, sizeof dc_tran, HMQ_REFUSAL_TRANSIENT);
  assert_int_equal(hmq_link_refusal(HMQ_PKT_CONNACK, 0x00), HMQ_REFUSAL_NONE);
  /* Every valid code of the three packets is in one of the lists above. */
  size_t valid = 0;
  for (int t = 0; t < 3; t++)
    for (unsigned r = 0; r < 256; r++)
      valid += hmq_link_refusal(types[t], (uint8_t)r) != HMQ_REFUSAL_INVALID;
  assert_int_equal(valid, 1 + sizeof ck_perm + sizeof ck_tran + sizeof sa_perm + sizeof sa_tran +
                              sizeof sa_none + sizeof dc_perm + sizeof dc_tran);
  assert_string_equal(hmq_refusal_name(HMQ_REFUSAL_PERMANENT), "permanent");
  assert_string_equal(hmq_refusal_name(HMQ_REFUSAL_TRANSIENT), "transient");
}

/* A DISCONNECT with Reason String and two User Properties, decoded. */
static void decoded_disconnect(uint8_t *buf, size_t cap, hmq_disconnect *out, const char *rs) {
  hmq_disconnect d;
  hmq_user_prop up[2] = {{hmq_str_c("node"), hmq_str_c("ejabberd@host")},
                         {hmq_str_c("hint"), hmq_str_c("no $share")}};
  size_t n = 0;
  memset(&d, 0, sizeof d);
  d.reason = 0x9E;
  d.props.present = HMQ_PROP_BIT(HMQ_PROP_REASON_STRING) | HMQ_PROP_BIT(HMQ_PROP_USER);
  d.props.reason_string = hmq_str_c(rs);
  d.props.user = up;
  d.props.user_count = 2;
  assert_int_equal(hmq_encode_disconnect(buf, cap, &d, &n), HMQ_OK);
  assert_int_equal(hmq_decode_disconnect(buf, n, out), HMQ_OK);
}

static void test_text_names_code_meaning_reason_string_user_properties(void **state) {
  (void)state;
  uint8_t buf[1024];
  char line[320];
  hmq_disconnect d;
  decoded_disconnect(buf, sizeof buf, &d, "shared subscriptions are not supported");
  hmq_link_refusal_text(line, sizeof line, HMQ_PKT_DISCONNECT, d.reason, &d.props);
  assert_string_equal(line, "DISCONNECT 0x9E Shared Subscriptions not supported, reason string "
                            "\"shared subscriptions are not supported\", user properties "
                            "node=ejabberd@host, hint=no $share");
  /* without properties: code and meaning */
  hmq_link_refusal_text(line, sizeof line, HMQ_PKT_CONNACK, 0x87, NULL);
  assert_string_equal(line, "CONNACK 0x87 Not authorized");
  hmq_link_refusal_text(line, sizeof line, HMQ_PKT_SUBACK, 0xA2, NULL);
  assert_string_equal(line, "SUBACK 0xA2 Wildcard Subscriptions not supported");
}

/* The server's text cannot break the one line: control characters and
 * quotes become '?', a long text is cut, a small buffer still ends in NUL. */
static void test_text_is_one_safe_bounded_line(void **state) {
  (void)state;
  uint8_t buf[2048];
  char line[320], tiny[12];
  char rs[400];
  hmq_disconnect d;
  memset(rs, 'x', sizeof rs - 1);
  rs[sizeof rs - 1] = '\0';
  memcpy(rs, "a\nb\"c\td", 7);
  decoded_disconnect(buf, sizeof buf, &d, rs);
  hmq_link_refusal_text(line, sizeof line, HMQ_PKT_DISCONNECT, d.reason, &d.props);
  assert_null(strchr(line, '\n'));
  assert_null(strchr(line, '\t'));
  assert_non_null(strstr(line, "reason string \"a?b?c?dxxx"));
  assert_non_null(strstr(line, "...\""));
  assert_true(strlen(line) < sizeof line);
  hmq_link_refusal_text(tiny, sizeof tiny, HMQ_PKT_DISCONNECT, d.reason, &d.props);
  assert_string_equal(tiny, "DISCONNECT ");
}

static hmq_connack connack_with(int shared, int wildcard, int max_qos) {
  hmq_connack c;
  memset(&c, 0, sizeof c);
  if (shared >= 0) {
    c.props.present |= HMQ_PROP_BIT(HMQ_PROP_SHARED_SUB_AVAILABLE);
    c.props.shared_sub_available = (uint8_t)shared;
  }
  if (wildcard >= 0) {
    c.props.present |= HMQ_PROP_BIT(HMQ_PROP_WILDCARD_SUB_AVAILABLE);
    c.props.wildcard_sub_available = (uint8_t)wildcard;
  }
  if (max_qos >= 0) {
    c.props.present |= HMQ_PROP_BIT(HMQ_PROP_MAX_QOS);
    c.props.max_qos = (uint8_t)max_qos;
  }
  return c;
}

static void test_connack_rules_out_subscription(void **state) {
  (void)state;
  hmq_sub_filter shared = {.filter = hmq_str_c("$share/g/sandbox/level13/app/#"), .qos = 1};
  hmq_sub_filter plain = {.filter = hmq_str_c("sandbox/level13/app/v1"), .qos = 1};
  hmq_sub_filter wild = {.filter = hmq_str_c("a/+/b"), .qos = 1};
  char why[300];
  hmq_connack c = connack_with(-1, -1, -1); /* nothing said: all allowed */
  assert_int_equal(hmq_link_subs_allowed(&c, &shared, 1, why, sizeof why), HMQ_OK);
  assert_string_equal(why, "");
  c = connack_with(1, 1, 1);
  assert_int_equal(hmq_link_subs_allowed(&c, &shared, 1, why, sizeof why), HMQ_OK);

  c = connack_with(0, -1, -1);
  assert_int_equal(hmq_link_subs_allowed(&c, &plain, 1, why, sizeof why), HMQ_OK);
  assert_int_equal(hmq_link_subs_allowed(&c, &shared, 1, why, sizeof why), HMQ_ERR_SUB_UNAVAILABLE);
  assert_string_equal(why, "subscription '$share/g/sandbox/level13/app/#' is a shared "
                           "subscription and the server's CONNACK says Shared Subscription "
                           "Available 0: not subscribing");

  c = connack_with(-1, 0, -1);
  assert_int_equal(hmq_link_subs_allowed(&c, &plain, 1, why, sizeof why), HMQ_OK);
  assert_int_equal(hmq_link_subs_allowed(&c, &wild, 1, why, sizeof why), HMQ_ERR_SUB_UNAVAILABLE);
  assert_non_null(strstr(why, "'a/+/b' has a wildcard"));
  assert_non_null(strstr(why, "Wildcard Subscription Available 0"));

  c = connack_with(-1, -1, 0);
  hmq_sub_filter q0 = plain;
  q0.qos = 0;
  assert_int_equal(hmq_link_subs_allowed(&c, &q0, 1, why, sizeof why), HMQ_OK);
  assert_int_equal(hmq_link_subs_allowed(&c, &plain, 1, why, sizeof why), HMQ_ERR_SUB_UNAVAILABLE);
  assert_non_null(strstr(why, "asks QoS 1 and the server's CONNACK says Maximum QoS 0"));

  /* the second of two filters is named */
  hmq_sub_filter two[2] = {plain, shared};
  c = connack_with(0, 1, 1);
  assert_int_equal(hmq_link_subs_allowed(&c, two, 2, NULL, 0), HMQ_ERR_SUB_UNAVAILABLE);
  assert_int_equal(hmq_link_subs_allowed(&c, two, 2, why, sizeof why), HMQ_ERR_SUB_UNAVAILABLE);
  assert_non_null(strstr(why, "'$share/g/"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_codes_classified_and_agree_with_decoder),
      cmocka_unit_test(test_permanent_and_transient_sets),
      cmocka_unit_test(test_text_names_code_meaning_reason_string_user_properties),
      cmocka_unit_test(test_text_is_one_safe_bounded_line),
      cmocka_unit_test(test_connack_rules_out_subscription),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
