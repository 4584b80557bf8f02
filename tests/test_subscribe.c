/* SPDX-License-Identifier: MIT */
/*
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (MQTT 5.0 sections 3.8 to 3.11):
 * hand-written vectors, the subscription options rules of 3.8.3.1 and the
 * reason code sets of 2.4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec_check.h"

static hmq_status enc_subscribe(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_subscribe(buf, cap, p, out_len);
}
static hmq_status enc_suback(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_suback(buf, cap, p, out_len);
}
static hmq_status enc_unsubscribe(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_unsubscribe(buf, cap, p, out_len);
}
static hmq_status dec_subscribe(const uint8_t *pkt, size_t len) {
  hmq_subscribe s;
  hmq_bin raw;
  return hmq_decode_subscribe(pkt, len, &s, &raw);
}
static hmq_status dec_suback(const uint8_t *pkt, size_t len) {
  hmq_suback s;
  return hmq_decode_suback(pkt, len, &s);
}

static void assert_filter_eq(const hmq_sub_filter *want, const hmq_sub_filter *got) {
  assert_str_eq(want->filter, got->filter);
  assert_int_equal(got->qos, want->qos);
  assert_int_equal(got->no_local, want->no_local);
  assert_int_equal(got->retain_as_published, want->retain_as_published);
  assert_int_equal(got->retain_handling, want->retain_handling);
}

/* Decode v and compare with p, filters walked with hmq_subscribe_next. */
static void subscribe_vector(const hmq_subscribe *p, const uint8_t *v, size_t n) {
  check_encode(enc_subscribe, p, v, n);
  check_vector(dec_subscribe, v, n, HMQ_OK);
  hmq_subscribe d;
  hmq_bin raw;
  ASSERT_ST(hmq_decode_subscribe(v, n, &d, &raw), HMQ_OK);
  assert_int_equal(d.packet_id, p->packet_id);
  assert_int_equal(d.count, p->count);
  assert_props_eq(&p->props, &d.props);
  size_t cursor = 0, i = 0;
  hmq_sub_filter f;
  hmq_status st;
  while ((st = hmq_subscribe_next(raw, &cursor, &f)) == HMQ_OK) {
    assert_true(i < p->count);
    assert_filter_eq(&p->filters[i], &f);
    i++;
  }
  ASSERT_ST(st, HMQ_NEED_MORE);
  assert_int_equal(i, p->count);
}

/* The subscription this client makes for High Mobility: shared, QoS 1. */
static void subscribe_shared_qos1_3_8(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x82, 0x12, /* SUBSCRIBE (flags 0010), RL 18 */
      0x00, 0x0A, /* Packet Identifier 10 */
      0x00,       /* Property Length 0 */
      0x00, 0x0C, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'a', '/', '#', /* filter */
      0x01,                                                                   /* options: QoS 1 */
  };
  static const hmq_sub_filter f[] = {{{"$share/g/a/#", 12}, 1, 0, 0, 0}};
  hmq_subscribe p;
  memset(&p, 0, sizeof p);
  p.packet_id = 10;
  p.filters = f;
  p.count = 1;
  subscribe_vector(&p, v, sizeof v);
}

static void subscribe_two_filters_all_options_3_8_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x82, 0x10,                  /* SUBSCRIBE, RL 16 */
      0x00, 0x01,                  /* Packet Identifier 1 */
      0x03, 0x0B, 0xAC, 0x02,      /* Property Length 3: Subscription Identifier 300 */
      0x00, 0x03, 'a',  '/',  '+', /* filter "a/+" */
      0x2E,                        /* QoS 2 | No Local 0x04 | RAP 0x08 | Retain Handling 2 << 4 */
      0x00, 0x01, 'b',             /* filter "b" */
      0x10,                        /* QoS 0 | Retain Handling 1 << 4 */
  };
  static const hmq_sub_filter f[] = {{{"a/+", 3}, 2, 1, 1, 2}, {{"b", 1}, 0, 0, 0, 1}};
  hmq_subscribe p;
  memset(&p, 0, sizeof p);
  p.packet_id = 1;
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_SUBSCRIPTION_ID);
  p.props.subscription_id = 300;
  p.filters = f;
  p.count = 2;
  subscribe_vector(&p, v, sizeof v);
}

static void subscribe_flags_must_be_0010_MQTT_3_8_1_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x00};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void subscribe_no_filters_is_protocol_error_MQTT_3_8_3_2(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x03, 0x00, 0x01, 0x00}; /* id 1, no props, no payload */
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_PROTOCOL);
  hmq_subscribe p;
  memset(&p, 0, sizeof p);
  p.packet_id = 1;
  check_encode_fails(enc_subscribe, &p, HMQ_ERR_PROTOCOL);
}

/* Encoding a SUBSCRIBE with packet id `id` and the single filter f[0]
 * fails with `want`. */
static void check_one_filter_fails(uint16_t id, const hmq_sub_filter *f, hmq_status want) {
  hmq_subscribe p = {id, {0}, f, 1};
  check_encode_fails(enc_subscribe, &p, want);
}

static void subscribe_options_reserved_bits_MQTT_3_8_3_5(void **state) {
  (void)state;
  static const uint8_t b6[] = {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x40};
  static const uint8_t b7[] = {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x81};
  check_vector(dec_subscribe, b6, sizeof b6, HMQ_ERR_RESERVED_FLAGS);
  check_vector(dec_subscribe, b7, sizeof b7, HMQ_ERR_RESERVED_FLAGS);
}

static void subscribe_qos3_is_invalid_3_8_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x03};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_QOS_INVALID);
  static const hmq_sub_filter f[] = {{{"a", 1}, 3, 0, 0, 0}};
  check_one_filter_fails(1, f, HMQ_ERR_QOS_INVALID);
}

static void subscribe_retain_handling_3_is_protocol_error_3_8_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x30};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_PROTOCOL);
  static const hmq_sub_filter f[] = {{{"a", 1}, 0, 0, 0, 3}};
  check_one_filter_fails(1, f, HMQ_ERR_PROTOCOL);
}

static void subscribe_shared_no_local_MQTT_3_8_3_4(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x82, 0x10, 0x00, 0x01, 0x00,                                    /* id 1, no props */
      0x00, 0x0A, '$',  's',  'h',  'a', 'r', 'e', '/', 'g', '/', 'a', /* "$share/g/a" */
      0x05,                                                            /* QoS 1, No Local */
  };
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_PROTOCOL);
  static const hmq_sub_filter f[] = {{{"$share/g/a", 10}, 1, 1, 0, 0}};
  check_one_filter_fails(1, f, HMQ_ERR_PROTOCOL);
}

static void subscribe_empty_filter_MQTT_4_7_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_TOPIC_EMPTY);
  static const hmq_sub_filter f[] = {{{"", 0}, 1, 0, 0, 0}};
  check_one_filter_fails(1, f, HMQ_ERR_TOPIC_EMPTY);
}

static void subscribe_packet_id_zero_MQTT_2_2_1_3(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x07, 0x00, 0x00, 0x00, 0x00, 0x01, 'a', 0x00};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_PACKET_ID_ZERO);
  static const hmq_sub_filter f[] = {{{"a", 1}, 0, 0, 0, 0}};
  check_one_filter_fails(0, f, HMQ_ERR_PACKET_ID_ZERO);
}

static void subscribe_options_byte_missing_2_1_4(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_LENGTH);
}

static void subscribe_filter_invalid_utf8_MQTT_1_5_4_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0xFF, 0x00};
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_UTF8_INVALID);
}

static void subscribe_subscription_id_twice_3_8_2_1_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x82, 0x0B, 0x00, 0x01,       /* id 1 */
      0x04, 0x0B, 0x01, 0x0B, 0x02, /* Subscription Identifier 1 and 2 */
      0x00, 0x01, 'a',  0x00,       /* "a", QoS 0 */
  };
  check_vector(dec_subscribe, v, sizeof v, HMQ_ERR_PROP_DUPLICATE);
}

static void subscribe_next_always_advances(void **state) {
  (void)state;
  /* A raw block that was never validated: next reports the error once and
   * jumps to the end, so a careless loop still ends. */
  static const uint8_t raw[] = {0x00, 0x05, 'a'};
  hmq_bin b = {raw, sizeof raw};
  size_t cursor = 0;
  hmq_sub_filter f;
  ASSERT_ST(hmq_subscribe_next(b, &cursor, &f), HMQ_ERR_LENGTH);
  assert_int_equal(cursor, sizeof raw);
  ASSERT_ST(hmq_subscribe_next(b, &cursor, &f), HMQ_NEED_MORE);
}

static void suback_vector(const hmq_suback *p, const uint8_t *v, size_t n) {
  check_encode(enc_suback, p, v, n);
  check_vector(dec_suback, v, n, HMQ_OK);
  hmq_suback d;
  ASSERT_ST(hmq_decode_suback(v, n, &d), HMQ_OK);
  assert_int_equal(d.type, p->type);
  assert_int_equal(d.packet_id, p->packet_id);
  assert_bin_eq(p->reasons, d.reasons);
  assert_props_eq(&p->props, &d.props);
}

static void suback_and_unsuback_3_9_3_11(void **state) {
  (void)state;
  static const uint8_t one[] = {0x90, 0x04, 0x00, 0x0A, 0x00, 0x01}; /* id 10: Granted QoS 1 */
  hmq_suback p;
  memset(&p, 0, sizeof p);
  p.type = HMQ_PKT_SUBACK;
  p.packet_id = 10;
  p.reasons = (hmq_bin){(const uint8_t *)"\x01", 1};
  suback_vector(&p, one, sizeof one);

  static const uint8_t three[] = {
      0x90, 0x0B, 0x00, 0x0B,           /* SUBACK, RL 11, id 11 */
      0x05, 0x1F, 0x00, 0x02, 'n', 'o', /* Reason String "no" */
      0x00, 0x02, 0x87,                 /* Granted QoS 0, Granted QoS 2, Not authorized */
  };
  p.packet_id = 11;
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_REASON_STRING);
  p.props.reason_string = (hmq_str){"no", 2};
  p.reasons = (hmq_bin){(const uint8_t *)"\x00\x02\x87", 3};
  suback_vector(&p, three, sizeof three);

  static const uint8_t unsuback[] = {
      0xB0, 0x05, 0x00, 0x0C, 0x00, /* UNSUBACK, RL 5, id 12, no properties */
      0x00, 0x11,                   /* Success, No subscription existed */
  };
  memset(&p, 0, sizeof p);
  p.type = HMQ_PKT_UNSUBACK;
  p.packet_id = 12;
  p.reasons = (hmq_bin){(const uint8_t *)"\x00\x11", 2};
  suback_vector(&p, unsuback, sizeof unsuback);
}

static void suback_without_reasons_is_protocol_error_3_9_3(void **state) {
  (void)state;
  static const uint8_t v[] = {0x90, 0x03, 0x00, 0x01, 0x00};
  check_vector(dec_suback, v, sizeof v, HMQ_ERR_PROTOCOL);
  static const uint8_t u[] = {0xB0, 0x03, 0x00, 0x01, 0x00};
  check_vector(dec_suback, u, sizeof u, HMQ_ERR_PROTOCOL);
  hmq_suback p;
  memset(&p, 0, sizeof p);
  p.type = HMQ_PKT_SUBACK;
  p.packet_id = 1;
  check_encode_fails(enc_suback, &p, HMQ_ERR_PROTOCOL);
}

static void suback_reserved_flags_MQTT_2_1_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x92, 0x04, 0x00, 0x01, 0x00, 0x00};
  check_vector(dec_suback, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
  static const uint8_t u[] = {0xB2, 0x04, 0x00, 0x01, 0x00, 0x00};
  check_vector(dec_suback, u, sizeof u, HMQ_ERR_RESERVED_FLAGS);
}

static void suback_packet_id_zero_MQTT_2_2_1_3(void **state) {
  (void)state;
  static const uint8_t v[] = {0x90, 0x04, 0x00, 0x00, 0x00, 0x00};
  check_vector(dec_suback, v, sizeof v, HMQ_ERR_PACKET_ID_ZERO);
}

static void suback_reason_code_sets_2_4(void **state) {
  (void)state;
  static const uint8_t suback_ok[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                      0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
  static const uint8_t unsuback_ok[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
  for (int k = 0; k < 2; k++) {
    uint8_t type = k == 0 ? HMQ_PKT_SUBACK : HMQ_PKT_UNSUBACK;
    const uint8_t *ok = k == 0 ? suback_ok : unsuback_ok;
    size_t nok = k == 0 ? sizeof suback_ok : sizeof unsuback_ok;
    for (unsigned r = 0; r < 256; r++) {
      bool valid = memchr(ok, (int)r, nok) != NULL;
      uint8_t reason = (uint8_t)r;
      hmq_suback p;
      memset(&p, 0, sizeof p);
      p.type = type;
      p.packet_id = 1;
      p.reasons = (hmq_bin){&reason, 1};
      uint8_t buf[16];
      size_t len = 0;
      ASSERT_ST(hmq_encode_suback(buf, sizeof buf, &p, &len), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
      /* Second reason is the bad one: every reason is checked, not the first. */
      const uint8_t v[] = {(uint8_t)(type << 4), 0x05, 0x00, 0x01, 0x00, 0x00, reason};
      ASSERT_ST(dec_suback(v, sizeof v), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
    }
  }
}

static void unsubscribe_encode_3_10(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0xA2, 0x0B,                /* UNSUBSCRIBE (flags 0010), RL 11 */
      0x00, 0x02,                /* Packet Identifier 2 */
      0x00,                      /* Property Length 0 */
      0x00, 0x03, 'a', '/', 'b', /* "a/b" */
      0x00, 0x01, 'c',           /* "c" */
  };
  static const hmq_str f[] = {{"a/b", 3}, {"c", 1}};
  hmq_unsubscribe p;
  memset(&p, 0, sizeof p);
  p.packet_id = 2;
  p.filters = f;
  p.count = 2;
  check_encode(enc_unsubscribe, &p, v, sizeof v);
  check_frame(v, sizeof v);

  static const uint8_t user[] = {
      0xA2, 0x0D, 0x00, 0x02,                       /* UNSUBSCRIBE, RL 13, id 2 */
      0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', /* User Property k=v */
      0x00, 0x01, 'c',                              /* "c" */
  };
  p.filters = f + 1;
  p.count = 1;
  p.props.user = &test_user_kv;
  p.props.user_count = 1;
  check_encode(enc_unsubscribe, &p, user, sizeof user);
  check_frame(user, sizeof user);
}

static void unsubscribe_rules_3_10_3(void **state) {
  (void)state;
  static const hmq_str f[] = {{"a", 1}, {"", 0}};
  hmq_unsubscribe p;
  memset(&p, 0, sizeof p);
  p.packet_id = 1;
  check_encode_fails(enc_unsubscribe, &p, HMQ_ERR_PROTOCOL); /* [MQTT-3.10.3-2] */
  p.filters = f;
  p.count = 2;
  check_encode_fails(enc_unsubscribe, &p, HMQ_ERR_TOPIC_EMPTY); /* [MQTT-4.7.3-1] */
  p.count = 1;
  p.packet_id = 0;
  check_encode_fails(enc_unsubscribe, &p, HMQ_ERR_PACKET_ID_ZERO);
  p.packet_id = 1;
  /* 2.2.2.2: only User Property may ride on UNSUBSCRIBE. */
  for (size_t i = 0; i < NELEM(prop_cases); i++) {
    if (prop_cases[i].id == HMQ_PROP_USER) {
      continue;
    }
    memset(&p.props, 0, sizeof p.props);
    prop_case_set(&p.props, prop_cases[i].id);
    check_encode_fails(enc_unsubscribe, &p, HMQ_ERR_PROP_NOT_ALLOWED);
  }
}

static hmq_status sub_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                    size_t *out_len) {
  static const hmq_sub_filter f[] = {{{"a", 1}, 0, 0, 0, 0}};
  hmq_subscribe p = {1, *props, f, 1};
  return hmq_encode_subscribe(buf, cap, &p, out_len);
}
static hmq_status sub_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_subscribe d;
  hmq_bin raw;
  hmq_status st = hmq_decode_subscribe(pkt, len, &d, &raw);
  *props = d.props;
  return st;
}
static uint8_t suback_matrix_type;
static hmq_status suback_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                       size_t *out_len) {
  hmq_suback p = {suback_matrix_type, 1, *props, {(const uint8_t *)"\x00", 1}};
  return hmq_encode_suback(buf, cap, &p, out_len);
}
static hmq_status suback_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_suback d;
  hmq_status st = hmq_decode_suback(pkt, len, &d);
  *props = d.props;
  return st;
}

static void subscribe_family_props_matrix_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t sub_pre[] = {0x00, 0x01};            /* Packet Identifier 1 */
  static const uint8_t sub_suf[] = {0x00, 0x01, 'a', 0x00}; /* "a", QoS 0 */
  static const uint8_t sub_allowed[] = {0x0B, 0x26};
  const prop_matrix sm = {"SUBSCRIBE",       0x82,
                          sub_pre,           sizeof sub_pre,
                          sub_suf,           sizeof sub_suf,
                          sub_allowed,       sizeof sub_allowed,
                          sub_matrix_encode, sub_matrix_decode};
  run_prop_matrix(&sm);
  static const uint8_t ack_suf[] = {0x00}; /* one reason: Success / Granted QoS 0 */
  static const uint8_t ack_allowed[] = {0x1F, 0x26};
  suback_matrix_type = HMQ_PKT_SUBACK;
  const prop_matrix am = {"SUBACK",
                          0x90,
                          sub_pre,
                          sizeof sub_pre,
                          ack_suf,
                          sizeof ack_suf,
                          ack_allowed,
                          sizeof ack_allowed,
                          suback_matrix_encode,
                          suback_matrix_decode};
  run_prop_matrix(&am);
  suback_matrix_type = HMQ_PKT_UNSUBACK;
  const prop_matrix um = {"UNSUBACK",
                          0xB0,
                          sub_pre,
                          sizeof sub_pre,
                          ack_suf,
                          sizeof ack_suf,
                          ack_allowed,
                          sizeof ack_allowed,
                          suback_matrix_encode,
                          suback_matrix_decode};
  run_prop_matrix(&um);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(subscribe_shared_qos1_3_8),
      cmocka_unit_test(subscribe_two_filters_all_options_3_8_3_1),
      cmocka_unit_test(subscribe_flags_must_be_0010_MQTT_3_8_1_1),
      cmocka_unit_test(subscribe_no_filters_is_protocol_error_MQTT_3_8_3_2),
      cmocka_unit_test(subscribe_options_reserved_bits_MQTT_3_8_3_5),
      cmocka_unit_test(subscribe_qos3_is_invalid_3_8_3_1),
      cmocka_unit_test(subscribe_retain_handling_3_is_protocol_error_3_8_3_1),
      cmocka_unit_test(subscribe_shared_no_local_MQTT_3_8_3_4),
      cmocka_unit_test(subscribe_empty_filter_MQTT_4_7_3_1),
      cmocka_unit_test(subscribe_packet_id_zero_MQTT_2_2_1_3),
      cmocka_unit_test(subscribe_options_byte_missing_2_1_4),
      cmocka_unit_test(subscribe_filter_invalid_utf8_MQTT_1_5_4_1),
      cmocka_unit_test(subscribe_subscription_id_twice_3_8_2_1_2),
      cmocka_unit_test(subscribe_next_always_advances),
      cmocka_unit_test(suback_and_unsuback_3_9_3_11),
      cmocka_unit_test(suback_without_reasons_is_protocol_error_3_9_3),
      cmocka_unit_test(suback_reserved_flags_MQTT_2_1_3_1),
      cmocka_unit_test(suback_packet_id_zero_MQTT_2_2_1_3),
      cmocka_unit_test(suback_reason_code_sets_2_4),
      cmocka_unit_test(unsubscribe_encode_3_10),
      cmocka_unit_test(unsubscribe_rules_3_10_3),
      cmocka_unit_test(subscribe_family_props_matrix_2_2_2_2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
