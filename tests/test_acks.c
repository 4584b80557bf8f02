/* SPDX-License-Identifier: MIT */
/*
 * PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 5.0 sections 3.4 to 3.7): the
 * three lengths of 3.4.2.1, the fixed-header flags, and the reason codes
 * each may carry (table of 2.4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec_check.h"

static hmq_status enc_ack(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_ack(buf, cap, p, out_len);
}

static hmq_status dec_ack(const uint8_t *pkt, size_t len) {
  hmq_ack a;
  return hmq_decode_ack(pkt, len, &a);
}

static hmq_ack make_ack(uint8_t type, uint16_t id, uint8_t reason) {
  hmq_ack a;
  memset(&a, 0, sizeof a);
  a.type = type;
  a.packet_id = id;
  a.reason = reason;
  return a;
}

/* Encode, frame, decode and compare one vector. */
static void ack_vector(const hmq_ack *a, const uint8_t *v, size_t n) {
  check_encode(enc_ack, a, v, n);
  check_vector(dec_ack, v, n, HMQ_OK);
  hmq_ack d;
  ASSERT_ST(hmq_decode_ack(v, n, &d), HMQ_OK);
  assert_int_equal(d.type, a->type);
  assert_int_equal(d.packet_id, a->packet_id);
  assert_int_equal(d.reason, a->reason);
  assert_props_eq(&a->props, &d.props);
}

static void ack_short_forms_remaining_length_2_3_4_2_1(void **state) {
  (void)state;
  /* Reason 0x00, no properties: Remaining Length 2. */
  static const uint8_t puback[] = {0x40, 0x02, 0x00, 0x01};  /* PUBACK id 1 */
  static const uint8_t pubrec[] = {0x50, 0x02, 0x12, 0x34};  /* PUBREC id 0x1234 */
  static const uint8_t pubrel[] = {0x62, 0x02, 0xFF, 0xFF};  /* PUBREL (flags 0010) id 65535 */
  static const uint8_t pubcomp[] = {0x70, 0x02, 0x00, 0x02}; /* PUBCOMP id 2 */
  hmq_ack a = make_ack(HMQ_PKT_PUBACK, 1, 0);
  ack_vector(&a, puback, sizeof puback);
  a = make_ack(HMQ_PKT_PUBREC, 0x1234, 0);
  ack_vector(&a, pubrec, sizeof pubrec);
  a = make_ack(HMQ_PKT_PUBREL, 0xFFFF, 0);
  ack_vector(&a, pubrel, sizeof pubrel);
  a = make_ack(HMQ_PKT_PUBCOMP, 2, 0);
  ack_vector(&a, pubcomp, sizeof pubcomp);
}

static void ack_reason_only_remaining_length_3_3_4_2_1(void **state) {
  (void)state;
  static const uint8_t puback[] = {0x40, 0x03, 0x00, 0x07, 0x10}; /* No matching subscribers */
  static const uint8_t pubrel[] = {0x62, 0x03, 0x00, 0x05, 0x92}; /* Packet Identifier not found */
  hmq_ack a = make_ack(HMQ_PKT_PUBACK, 7, 0x10);
  ack_vector(&a, puback, sizeof puback);
  a = make_ack(HMQ_PKT_PUBREL, 5, 0x92);
  ack_vector(&a, pubrel, sizeof pubrel);
}

static void ack_full_form_with_properties(void **state) {
  (void)state;
  static const uint8_t puback[] = {
      0x40, 0x09,                       /* PUBACK, RL 9 */
      0x00, 0x01,                       /* Packet Identifier 1 */
      0x87,                             /* Not authorized */
      0x05, 0x1F, 0x00, 0x02, 'n', 'o', /* Property Length 5: Reason String "no" */
  };
  hmq_ack a = make_ack(HMQ_PKT_PUBACK, 1, 0x87);
  a.props.present = HMQ_PROP_BIT(HMQ_PROP_REASON_STRING);
  a.props.reason_string = (hmq_str){"no", 2};
  ack_vector(&a, puback, sizeof puback);
  /* Reason 0x00 but a property: the long form is needed too. */
  static const uint8_t pubcomp[] = {
      0x70, 0x0B,                                   /* PUBCOMP, RL 11 */
      0x00, 0x03,                                   /* Packet Identifier 3 */
      0x00,                                         /* Success */
      0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', /* User Property k=v */
  };
  a = make_ack(HMQ_PKT_PUBCOMP, 3, 0x00);
  a.props.user = &test_user_kv;
  a.props.user_count = 1;
  ack_vector(&a, pubcomp, sizeof pubcomp);
}

static void ack_empty_property_block_accepted_3_4_2_2(void **state) {
  (void)state;
  /* RL 4: reason and Property Length 0 are legal, just not the shortest. */
  static const uint8_t v[] = {0x40, 0x04, 0x00, 0x01, 0x00, 0x00};
  check_vector(dec_ack, v, sizeof v, HMQ_OK);
  hmq_ack d;
  ASSERT_ST(hmq_decode_ack(v, sizeof v, &d), HMQ_OK);
  assert_int_equal(d.reason, 0);
  assert_int_equal(d.props.present, 0);
  assert_int_equal(d.props.raw.len, 0);
}

static const hmq_ack *matrix_proto;
static hmq_status matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props, size_t *out_len) {
  hmq_ack a = *matrix_proto;
  a.props = *props;
  return hmq_encode_ack(buf, cap, &a, out_len);
}

static hmq_status matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_ack d;
  hmq_status st = hmq_decode_ack(pkt, len, &d);
  *props = d.props;
  return st;
}

static void ack_props_matrix_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t pre[] = {0x00, 0x01, 0x00}; /* Packet Identifier 1, Success */
  static const uint8_t allowed[] = {0x1F, 0x26};   /* Reason String, User Property */
  static const uint8_t byte0[] = {0x40, 0x50, 0x62, 0x70};
  static const char *names[] = {"PUBACK", "PUBREC", "PUBREL", "PUBCOMP"};
  for (uint8_t t = HMQ_PKT_PUBACK; t <= HMQ_PKT_PUBCOMP; t++) {
    hmq_ack proto = make_ack(t, 1, 0);
    matrix_proto = &proto;
    const prop_matrix m = {names[t - 4], byte0[t - 4],   pre,           sizeof pre,   NULL, 0,
                           allowed,      sizeof allowed, matrix_encode, matrix_decode};
    run_prop_matrix(&m);
  }
}

/* Reason codes per packet, written out from the table in 2.4. */
static void ack_reason_code_sets_2_4(void **state) {
  (void)state;
  static const uint8_t puback_ok[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
  static const uint8_t pubrel_ok[] = {0x00, 0x92};
  for (uint8_t t = HMQ_PKT_PUBACK; t <= HMQ_PKT_PUBCOMP; t++) {
    const uint8_t *ok = t <= HMQ_PKT_PUBREC ? puback_ok : pubrel_ok;
    size_t nok = t <= HMQ_PKT_PUBREC ? sizeof puback_ok : sizeof pubrel_ok;
    for (unsigned r = 0; r < 256; r++) {
      bool valid = memchr(ok, (int)r, nok) != NULL;
      hmq_ack a = make_ack(t, 1, (uint8_t)r);
      uint8_t buf[8];
      size_t len = 0;
      ASSERT_ST(hmq_encode_ack(buf, sizeof buf, &a, &len), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
      /* The same reason on the wire, written by hand: type, RL 3, id 1, r. */
      const uint8_t v[] = {(uint8_t)(t << 4 | (t == HMQ_PKT_PUBREL ? 2 : 0)), 0x03, 0x00, 0x01,
                           (uint8_t)r};
      ASSERT_ST(dec_ack(v, sizeof v), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
    }
  }
}

static void pubrel_flags_must_be_0010_MQTT_3_6_1_1(void **state) {
  (void)state;
  static const uint8_t zero[] = {0x60, 0x02, 0x00, 0x01}; /* PUBREL with flags 0000 */
  static const uint8_t all[] = {0x6F, 0x02, 0x00, 0x01};  /* PUBREL with flags 1111 */
  check_vector(dec_ack, zero, sizeof zero, HMQ_ERR_RESERVED_FLAGS);
  check_vector(dec_ack, all, sizeof all, HMQ_ERR_RESERVED_FLAGS);
}

static void ack_reserved_flags_must_be_0_MQTT_2_1_3_1(void **state) {
  (void)state;
  static const uint8_t puback[] = {0x42, 0x02, 0x00, 0x01};  /* PUBACK flags 0010 */
  static const uint8_t pubrec[] = {0x51, 0x02, 0x00, 0x01};  /* PUBREC flags 0001 */
  static const uint8_t pubcomp[] = {0x78, 0x02, 0x00, 0x01}; /* PUBCOMP flags 1000 */
  check_vector(dec_ack, puback, sizeof puback, HMQ_ERR_RESERVED_FLAGS);
  check_vector(dec_ack, pubrec, sizeof pubrec, HMQ_ERR_RESERVED_FLAGS);
  check_vector(dec_ack, pubcomp, sizeof pubcomp, HMQ_ERR_RESERVED_FLAGS);
}

static void ack_packet_id_zero_MQTT_2_2_1_3(void **state) {
  (void)state;
  static const uint8_t v[] = {0x40, 0x02, 0x00, 0x00};
  check_vector(dec_ack, v, sizeof v, HMQ_ERR_PACKET_ID_ZERO);
  hmq_ack a = make_ack(HMQ_PKT_PUBACK, 0, 0);
  check_encode_fails(enc_ack, &a, HMQ_ERR_PACKET_ID_ZERO);
}

static void ack_remaining_length_1_is_malformed_3_4_2(void **state) {
  (void)state;
  static const uint8_t v[] = {0x40, 0x01, 0x00}; /* half a Packet Identifier */
  check_vector(dec_ack, v, sizeof v, HMQ_ERR_LENGTH);
  static const uint8_t empty[] = {0x40, 0x00};
  check_vector(dec_ack, empty, sizeof empty, HMQ_ERR_LENGTH);
}

static void ack_bytes_after_properties_are_malformed_2_1_4(void **state) {
  (void)state;
  static const uint8_t v[] = {0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0xFF};
  check_vector(dec_ack, v, sizeof v, HMQ_ERR_LENGTH);
}

static void ack_property_length_beyond_packet_2_2_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x40, 0x05, 0x00, 0x01, 0x00, 0x03, 0x1F};
  check_vector(dec_ack, v, sizeof v, HMQ_ERR_LENGTH);
}

static void ack_reason_string_twice_is_protocol_error_3_4_2_2_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x40, 0x0C, 0x00, 0x01, 0x80, /* PUBACK id 1, Unspecified error */
      0x08, 0x1F, 0x00, 0x01, 'a',  /* Reason String "a" */
      0x1F, 0x00, 0x01, 'b',        /* Reason String "b" */
  };
  check_vector(dec_ack, v, sizeof v, HMQ_ERR_PROP_DUPLICATE);
}

static void ack_decoder_refuses_other_types_2_1_2(void **state) {
  (void)state;
  static const uint8_t suback[] = {0x90, 0x04, 0x00, 0x01, 0x00, 0x00};
  check_frame(suback, sizeof suback);
  ASSERT_ST(dec_ack(suback, sizeof suback), HMQ_ERR_PACKET_TYPE);
  hmq_ack a = make_ack(HMQ_PKT_PUBLISH, 1, 0);
  check_encode_fails(enc_ack, &a, HMQ_ERR_ARG);
  a.type = HMQ_PKT_SUBACK;
  check_encode_fails(enc_ack, &a, HMQ_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ack_short_forms_remaining_length_2_3_4_2_1),
      cmocka_unit_test(ack_reason_only_remaining_length_3_3_4_2_1),
      cmocka_unit_test(ack_full_form_with_properties),
      cmocka_unit_test(ack_empty_property_block_accepted_3_4_2_2),
      cmocka_unit_test(ack_props_matrix_2_2_2_2),
      cmocka_unit_test(ack_reason_code_sets_2_4),
      cmocka_unit_test(pubrel_flags_must_be_0010_MQTT_3_6_1_1),
      cmocka_unit_test(ack_reserved_flags_must_be_0_MQTT_2_1_3_1),
      cmocka_unit_test(ack_packet_id_zero_MQTT_2_2_1_3),
      cmocka_unit_test(ack_remaining_length_1_is_malformed_3_4_2),
      cmocka_unit_test(ack_bytes_after_properties_are_malformed_2_1_4),
      cmocka_unit_test(ack_property_length_beyond_packet_2_2_2_1),
      cmocka_unit_test(ack_reason_string_twice_is_protocol_error_3_4_2_2_2),
      cmocka_unit_test(ack_decoder_refuses_other_types_2_1_2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
