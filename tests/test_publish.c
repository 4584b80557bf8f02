/* SPDX-License-Identifier: MIT */
/*
 * PUBLISH (MQTT 5.0 section 3.3): hand-written vectors, encoded, decoded,
 * fed to the frame reader byte by byte, and one negative vector per rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec_check.h"

static hmq_status enc_publish(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_publish(buf, cap, p, out_len);
}

static hmq_status dec_publish(const uint8_t *pkt, size_t len) {
  hmq_publish p;
  return hmq_decode_publish(pkt, len, &p);
}

/* QoS 0, topic "a/b", no properties, payload "hi". */
static const uint8_t v_qos0[] = {
    0x30, 0x08,                /* PUBLISH, QoS 0; Remaining Length 8 */
    0x00, 0x03, 'a', '/', 'b', /* Topic Name */
    0x00,                      /* Property Length 0 */
    'h',  'i',                 /* payload */
};

static void publish_qos0_encode_decode(void **state) {
  (void)state;
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"a/b", 3};
  p.payload = (hmq_bin){(const uint8_t *)"hi", 2};
  check_encode(enc_publish, &p, v_qos0, sizeof v_qos0);
  check_vector(dec_publish, v_qos0, sizeof v_qos0, HMQ_OK);
  hmq_publish d;
  ASSERT_ST(hmq_decode_publish(v_qos0, sizeof v_qos0, &d), HMQ_OK);
  assert_int_equal(d.qos, 0);
  assert_int_equal(d.dup, 0);
  assert_int_equal(d.retain, 0);
  assert_int_equal(d.packet_id, 0);
  assert_str_eq(p.topic, d.topic);
  assert_bin_eq(p.payload, d.payload);
  assert_int_equal(d.props.present, 0);
  /* Views point into the packet, not into copies. */
  assert_ptr_equal(d.topic.ptr, (const char *)v_qos0 + 4);
  assert_ptr_equal(d.payload.ptr, v_qos0 + 8);
}

/* QoS 1, DUP and RETAIN, packet id 0x1234, Message Expiry 60 and a user
 * property, payload "{}". */
static const uint8_t v_qos1_props[] = {
    0x3B, 0x14,                   /* PUBLISH|DUP|QoS1|RETAIN = 0x30|0x08|0x02|0x01; RL 20 */
    0x00, 0x01, 't',              /* Topic Name "t" */
    0x12, 0x34,                   /* Packet Identifier */
    0x0C,                         /* Property Length 12 */
    0x02, 0x00, 0x00, 0x00, 0x3C, /* Message Expiry Interval 60 */
    0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v', /* User Property k=v */
    '{',  '}',                               /* payload */
};

static void publish_qos1_dup_retain_props(void **state) {
  (void)state;
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = 1;
  p.dup = 1;
  p.retain = 1;
  p.packet_id = 0x1234;
  p.topic = (hmq_str){"t", 1};
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_MESSAGE_EXPIRY);
  p.props.message_expiry = 60;
  p.props.user = &test_user_kv;
  p.props.user_count = 1;
  p.payload = (hmq_bin){(const uint8_t *)"{}", 2};
  check_encode(enc_publish, &p, v_qos1_props, sizeof v_qos1_props);
  check_vector(dec_publish, v_qos1_props, sizeof v_qos1_props, HMQ_OK);
  hmq_publish d;
  ASSERT_ST(hmq_decode_publish(v_qos1_props, sizeof v_qos1_props, &d), HMQ_OK);
  assert_int_equal(d.qos, 1);
  assert_int_equal(d.dup, 1);
  assert_int_equal(d.retain, 1);
  assert_int_equal(d.packet_id, 0x1234);
  assert_str_eq(p.topic, d.topic);
  assert_bin_eq(p.payload, d.payload);
  assert_props_eq(&p.props, &d.props);
}

/* QoS 2, empty topic standing for Topic Alias 7, empty payload. */
static const uint8_t v_qos2_alias[] = {
    0x34, 0x08,             /* PUBLISH QoS 2; RL 8 */
    0x00, 0x00,             /* Topic Name "" */
    0x00, 0x09,             /* Packet Identifier 9 */
    0x03, 0x23, 0x00, 0x07, /* Property Length 3: Topic Alias 7 */
};

static void publish_empty_topic_with_alias_MQTT_3_3_2_8(void **state) {
  (void)state;
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = 2;
  p.packet_id = 9;
  p.topic = (hmq_str){"", 0};
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS);
  p.props.topic_alias = 7;
  check_encode(enc_publish, &p, v_qos2_alias, sizeof v_qos2_alias);
  check_vector(dec_publish, v_qos2_alias, sizeof v_qos2_alias, HMQ_OK);
  hmq_publish d;
  ASSERT_ST(hmq_decode_publish(v_qos2_alias, sizeof v_qos2_alias, &d), HMQ_OK);
  assert_int_equal(d.qos, 2);
  assert_int_equal(d.packet_id, 9);
  assert_non_null(d.topic.ptr); /* present and empty */
  assert_int_equal(d.topic.len, 0);
  assert_int_equal(d.props.topic_alias, 7);
  assert_non_null(d.payload.ptr); /* present and empty */
  assert_int_equal(d.payload.len, 0);
}

/* A server may send several Subscription Identifiers (3.3.2.3.8). */
static const uint8_t v_two_sub_ids[] = {
    0x32, 0x0B,             /* PUBLISH QoS 1; RL 11 */
    0x00, 0x01, 'x',        /* Topic Name "x" */
    0x00, 0x01,             /* Packet Identifier 1 */
    0x04,                   /* Property Length 4 */
    0x0B, 0x01, 0x0B, 0x02, /* Subscription Identifier 1, Subscription Identifier 2 */
    'p',                    /* payload */
};

static void publish_two_subscription_ids(void **state) {
  (void)state;
  check_vector(dec_publish, v_two_sub_ids, sizeof v_two_sub_ids, HMQ_OK);
  hmq_publish d;
  ASSERT_ST(hmq_decode_publish(v_two_sub_ids, sizeof v_two_sub_ids, &d), HMQ_OK);
  assert_int_equal(d.props.sub_id_count, 2);
  assert_int_equal(d.props.subscription_id, 1);
  size_t cursor = 0;
  hmq_prop pr;
  uint32_t want = 1;
  while (hmq_props_next(&d.props, &cursor, &pr) == HMQ_OK) {
    assert_int_equal(pr.id, HMQ_PROP_SUBSCRIPTION_ID);
    assert_int_equal(pr.u32, want++);
  }
  assert_int_equal(want, 3);
}

/* 200-byte payload: Remaining Length 206 takes two bytes, 0xCE 0x01. */
static void publish_two_byte_remaining_length(void **state) {
  (void)state;
  static const uint8_t head[] = {
      0x30, 0xCE, 0x01,           /* PUBLISH QoS 0; RL 206 = (206 & 0x7F) | 0x80, 206 >> 7 */
      0x00, 0x03, 'a',  '/', 'b', /* Topic Name */
      0x00,                       /* Property Length 0 */
  };
  uint8_t v[sizeof head + 200];
  memcpy(v, head, sizeof head);
  memset(v + sizeof head, 'x', 200);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"a/b", 3};
  p.payload = (hmq_bin){v + sizeof head, 200};
  check_encode(enc_publish, &p, v, sizeof v);
  check_vector(dec_publish, v, sizeof v, HMQ_OK);
  hmq_publish d;
  ASSERT_ST(hmq_decode_publish(v, sizeof v, &d), HMQ_OK);
  assert_int_equal(d.payload.len, 200);
}

static hmq_status matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props, size_t *out_len) {
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = 1;
  p.packet_id = 1;
  p.topic = (hmq_str){"t", 1};
  p.props = *props;
  p.payload = (hmq_bin){(const uint8_t *)"hi", 2};
  return hmq_encode_publish(buf, cap, &p, out_len);
}

static hmq_status matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_publish d;
  hmq_status st = hmq_decode_publish(pkt, len, &d);
  *props = d.props;
  return st;
}

/* Every property, allowed or not in PUBLISH (2.2.2.2 "Used in" column). */
static void publish_props_matrix_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t pre[] = {0x00, 0x01, 't', 0x00, 0x01}; /* topic "t", packet id 1 */
  static const uint8_t suf[] = {'h', 'i'};                    /* payload */
  static const uint8_t allowed[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x23, 0x26};
  const prop_matrix m = {"PUBLISH", 0x32,           pre,           sizeof pre,   suf, sizeof suf,
                         allowed,   sizeof allowed, matrix_encode, matrix_decode};
  run_prop_matrix(&m);
}

/* ---- one vector per broken rule ---- */

static void publish_qos3_is_malformed_MQTT_3_3_1_4(void **state) {
  (void)state;
  /* flags 0b0110: QoS bits 11 */
  static const uint8_t v[] = {0x36, 0x06, 0x00, 0x01, 't', 0x00, 0x01, 0x00};
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_QOS_INVALID);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = 3;
  p.packet_id = 1;
  p.topic = (hmq_str){"t", 1};
  check_encode_fails(enc_publish, &p, HMQ_ERR_QOS_INVALID);
}

static void publish_dup_on_qos0_is_malformed_MQTT_3_3_1_2(void **state) {
  (void)state;
  /* flags 0b1000: DUP with QoS 0 */
  static const uint8_t v[] = {0x38, 0x04, 0x00, 0x01, 't', 0x00};
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.dup = 1;
  p.topic = (hmq_str){"t", 1};
  check_encode_fails(enc_publish, &p, HMQ_ERR_RESERVED_FLAGS);
}

static void publish_packet_id_zero_MQTT_2_2_1_3(void **state) {
  (void)state;
  /* QoS 1, packet id 0x0000 */
  static const uint8_t v[] = {0x32, 0x06, 0x00, 0x01, 't', 0x00, 0x00, 0x00};
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_PACKET_ID_ZERO);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = 2;
  p.topic = (hmq_str){"t", 1};
  check_encode_fails(enc_publish, &p, HMQ_ERR_PACKET_ID_ZERO);
}

static void publish_topic_wildcards_MQTT_3_3_2_2(void **state) {
  (void)state;
  static const uint8_t plus[] = {0x30, 0x06, 0x00, 0x03, 'a', '/', '+', 0x00};
  static const uint8_t hash[] = {0x30, 0x06, 0x00, 0x03, 'a', '/', '#', 0x00};
  check_vector(dec_publish, plus, sizeof plus, HMQ_ERR_TOPIC_WILDCARD);
  check_vector(dec_publish, hash, sizeof hash, HMQ_ERR_TOPIC_WILDCARD);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"a/#", 3};
  check_encode_fails(enc_publish, &p, HMQ_ERR_TOPIC_WILDCARD);
  p.topic = (hmq_str){"+", 1};
  check_encode_fails(enc_publish, &p, HMQ_ERR_TOPIC_WILDCARD);
}

static void publish_empty_topic_without_alias_MQTT_3_3_2_8(void **state) {
  (void)state;
  static const uint8_t v[] = {0x30, 0x03, 0x00, 0x00, 0x00}; /* topic "", no properties */
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_TOPIC_EMPTY);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"", 0};
  check_encode_fails(enc_publish, &p, HMQ_ERR_TOPIC_EMPTY);
  p.topic = (hmq_str){NULL, 0};
  check_encode_fails(enc_publish, &p, HMQ_ERR_TOPIC_EMPTY);
}

static void publish_topic_overlong_utf8_MQTT_1_5_4_1(void **state) {
  (void)state;
  /* C0 80: overlong encoding of U+0000 */
  static const uint8_t v[] = {0x30, 0x05, 0x00, 0x02, 0xC0, 0x80, 0x00};
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_UTF8_INVALID);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"\xC0\x80", 2};
  check_encode_fails(enc_publish, &p, HMQ_ERR_UTF8_INVALID);
}

static void publish_topic_nul_MQTT_1_5_4_2(void **state) {
  (void)state;
  static const uint8_t v[] = {0x30, 0x05, 0x00, 0x02, 'a', 0x00, 0x00};
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_UTF8_NUL);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"a\0", 2};
  check_encode_fails(enc_publish, &p, HMQ_ERR_UTF8_NUL);
}

static void publish_topic_length_beyond_packet_2_1_4(void **state) {
  (void)state;
  /* Topic length 5 but only 2 bytes follow. */
  static const uint8_t v[] = {0x30, 0x04, 0x00, 0x05, 'a', 'b'};
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_LENGTH);
}

static void publish_packet_id_missing_2_1_4(void **state) {
  (void)state;
  static const uint8_t v[] = {0x32, 0x04, 0x00, 0x01, 't', 0x00}; /* QoS 1, 1 byte of id */
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_LENGTH);
}

static void publish_property_length_beyond_packet_2_2_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x30, 0x05, 0x00, 0x01, 't', 0x05, 0x01}; /* 5 claimed, 1 there */
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_LENGTH);
}

static void publish_property_length_missing_3_3_2_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x30, 0x03, 0x00, 0x01, 't'}; /* no Property Length */
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_LENGTH);
}

static void publish_topic_alias_twice_is_protocol_error_3_3_2_3_4(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x30, 0x0A, 0x00, 0x01, 't', /* topic "t" */
      0x06, 0x23, 0x00, 0x01,      /* Property Length 6: Topic Alias 1 */
      0x23, 0x00, 0x02,            /* Topic Alias 2 */
  };
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_PROP_DUPLICATE);
}

static void publish_session_expiry_not_allowed_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x30, 0x09, 0x00, 0x01, 't',        /* topic "t" */
      0x05, 0x11, 0x00, 0x00, 0x00, 0x0A, /* Session Expiry Interval 10 */
  };
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_PROP_NOT_ALLOWED);
}

static void publish_payload_format_utf8_invalid_3_3_2_3_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x30, 0x07, 0x00, 0x01, 't', /* topic "t" */
      0x02, 0x01, 0x01,            /* Payload Format Indicator 1 (UTF-8) */
      0xFF,                        /* payload: not UTF-8 */
  };
  check_vector(dec_publish, v, sizeof v, HMQ_ERR_PAYLOAD_FORMAT);
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.topic = (hmq_str){"t", 1};
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_PAYLOAD_FORMAT);
  p.props.payload_format = 1;
  p.payload = (hmq_bin){(const uint8_t *)"\xFF", 1};
  check_encode_fails(enc_publish, &p, HMQ_ERR_PAYLOAD_FORMAT);
  /* The same bytes are fine when the indicator says "unspecified bytes". */
  p.props.payload_format = 0;
  uint8_t buf[32];
  size_t len = 0;
  ASSERT_ST(hmq_encode_publish(buf, sizeof buf, &p, &len), HMQ_OK);
  ASSERT_ST(hmq_decode_publish(buf, len, &(hmq_publish){0}), HMQ_OK);
}

static void publish_decoder_refuses_other_types_2_1_2(void **state) {
  (void)state;
  static const uint8_t puback[] = {0x40, 0x02, 0x00, 0x01};
  check_frame(puback, sizeof puback);
  ASSERT_ST(dec_publish(puback, sizeof puback), HMQ_ERR_PACKET_TYPE);
}

/* Round trip over a grid of flag combinations and payload sizes. */
static void publish_round_trip_grid(void **state) {
  (void)state;
  static const uint8_t payload[300] = {1, 2, 3};
  static const size_t sizes[] = {0, 1, 100, 300};
  uint8_t buf[512];
  for (unsigned qos = 0; qos <= 2; qos++) {
    for (unsigned flags = 0; flags < 4; flags++) {
      for (size_t s = 0; s < NELEM(sizes); s++) {
        hmq_publish p, d;
        memset(&p, 0, sizeof p);
        p.qos = (uint8_t)qos;
        p.dup = qos > 0 ? (flags & 1u) : 0;
        p.retain = (flags >> 1) & 1u;
        p.packet_id = qos > 0 ? (uint16_t)(0xFFFF - s) : 0;
        p.topic = (hmq_str){"live/level13/app/VIN123", 23};
        p.payload = (hmq_bin){payload, sizes[s]};
        size_t len = 0;
        ASSERT_ST(hmq_encode_publish(buf, sizeof buf, &p, &len), HMQ_OK);
        check_frame(buf, len);
        ASSERT_ST(hmq_decode_publish(buf, len, &d), HMQ_OK);
        assert_int_equal(d.qos, p.qos);
        assert_int_equal(d.dup, p.dup);
        assert_int_equal(d.retain, p.retain);
        assert_int_equal(d.packet_id, p.packet_id);
        assert_str_eq(p.topic, d.topic);
        assert_int_equal(d.payload.len, p.payload.len);
        if (p.payload.len > 0) {
          assert_memory_equal(d.payload.ptr, p.payload.ptr, p.payload.len);
        }
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(publish_qos0_encode_decode),
      cmocka_unit_test(publish_qos1_dup_retain_props),
      cmocka_unit_test(publish_empty_topic_with_alias_MQTT_3_3_2_8),
      cmocka_unit_test(publish_two_subscription_ids),
      cmocka_unit_test(publish_two_byte_remaining_length),
      cmocka_unit_test(publish_props_matrix_2_2_2_2),
      cmocka_unit_test(publish_qos3_is_malformed_MQTT_3_3_1_4),
      cmocka_unit_test(publish_dup_on_qos0_is_malformed_MQTT_3_3_1_2),
      cmocka_unit_test(publish_packet_id_zero_MQTT_2_2_1_3),
      cmocka_unit_test(publish_topic_wildcards_MQTT_3_3_2_2),
      cmocka_unit_test(publish_empty_topic_without_alias_MQTT_3_3_2_8),
      cmocka_unit_test(publish_topic_overlong_utf8_MQTT_1_5_4_1),
      cmocka_unit_test(publish_topic_nul_MQTT_1_5_4_2),
      cmocka_unit_test(publish_topic_length_beyond_packet_2_1_4),
      cmocka_unit_test(publish_packet_id_missing_2_1_4),
      cmocka_unit_test(publish_property_length_beyond_packet_2_2_2_1),
      cmocka_unit_test(publish_property_length_missing_3_3_2_3_1),
      cmocka_unit_test(publish_topic_alias_twice_is_protocol_error_3_3_2_3_4),
      cmocka_unit_test(publish_session_expiry_not_allowed_2_2_2_2),
      cmocka_unit_test(publish_payload_format_utf8_invalid_3_3_2_3_2),
      cmocka_unit_test(publish_decoder_refuses_other_types_2_1_2),
      cmocka_unit_test(publish_round_trip_grid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
