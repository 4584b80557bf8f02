/* SPDX-License-Identifier: MIT */
/*
 * PINGREQ / PINGRESP (3.12, 3.13), DISCONNECT (3.14) and AUTH (3.15):
 * their short forms, reason code sets and properties.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec_check.h"

static hmq_status enc_pingreq(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  (void)p;
  return hmq_encode_pingreq(buf, cap, out_len);
}
static hmq_status enc_pingresp(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  (void)p;
  return hmq_encode_pingresp(buf, cap, out_len);
}
static hmq_status enc_disconnect(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_disconnect(buf, cap, p, out_len);
}
static hmq_status enc_auth(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_auth(buf, cap, p, out_len);
}
static hmq_status dec_disconnect(const uint8_t *pkt, size_t len) {
  hmq_disconnect d;
  return hmq_decode_disconnect(pkt, len, &d);
}
static hmq_status dec_auth(const uint8_t *pkt, size_t len) {
  hmq_auth a;
  return hmq_decode_auth(pkt, len, &a);
}

static void pingreq_pingresp_3_12_3_13(void **state) {
  (void)state;
  static const uint8_t pingreq[] = {0xC0, 0x00};  /* PINGREQ, RL 0 */
  static const uint8_t pingresp[] = {0xD0, 0x00}; /* PINGRESP, RL 0 */
  static const int dummy = 0;
  check_encode(enc_pingreq, &dummy, pingreq, sizeof pingreq);
  check_encode(enc_pingresp, &dummy, pingresp, sizeof pingresp);
  check_vector(hmq_decode_pingresp, pingresp, sizeof pingresp, HMQ_OK);
}

static void pingresp_reserved_flags_MQTT_2_1_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xD1, 0x00};
  check_vector(hmq_decode_pingresp, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void pingresp_has_no_body_3_13_2(void **state) {
  (void)state;
  static const uint8_t v[] = {0xD0, 0x01, 0x00};
  check_vector(hmq_decode_pingresp, v, sizeof v, HMQ_ERR_LENGTH);
  static const uint8_t pingreq[] = {0xC0, 0x00};
  ASSERT_ST(hmq_decode_pingresp(pingreq, sizeof pingreq), HMQ_ERR_PACKET_TYPE);
}

static void disconnect_vector(const hmq_disconnect *p, const uint8_t *v, size_t n) {
  check_encode(enc_disconnect, p, v, n);
  check_vector(dec_disconnect, v, n, HMQ_OK);
  hmq_disconnect d;
  ASSERT_ST(hmq_decode_disconnect(v, n, &d), HMQ_OK);
  assert_int_equal(d.reason, p->reason);
  assert_props_eq(&p->props, &d.props);
}

static void disconnect_short_form_3_14_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xE0, 0x00}; /* Normal disconnection, no properties */
  hmq_disconnect p;
  memset(&p, 0, sizeof p);
  disconnect_vector(&p, v, sizeof v);
}

static void disconnect_reason_only_3_14_2_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xE0, 0x01, 0x8E}; /* Session taken over, RL 1 */
  hmq_disconnect p;
  memset(&p, 0, sizeof p);
  p.reason = 0x8E;
  disconnect_vector(&p, v, sizeof v);
}

static void disconnect_with_properties_3_14_2_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0xE0, 0x07,                   /* DISCONNECT, RL 7 */
      0x04,                         /* Disconnect with Will Message */
      0x05,                         /* Property Length 5 */
      0x11, 0x00, 0x00, 0x00, 0x00, /* Session Expiry Interval 0 */
  };
  hmq_disconnect p;
  memset(&p, 0, sizeof p);
  p.reason = 0x04;
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY);
  disconnect_vector(&p, v, sizeof v);
  static const uint8_t moved[] = {
      0xE0, 0x07,                       /* DISCONNECT, RL 7 */
      0x9C,                             /* Use another server */
      0x05, 0x1C, 0x00, 0x02, 's', '2', /* Server Reference "s2" */
  };
  memset(&p, 0, sizeof p);
  p.reason = 0x9C;
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_SERVER_REFERENCE);
  p.props.server_reference = (hmq_str){"s2", 2};
  disconnect_vector(&p, moved, sizeof moved);
}

static void disconnect_empty_property_block_accepted_3_14_2_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xE0, 0x02, 0x00, 0x00};
  check_vector(dec_disconnect, v, sizeof v, HMQ_OK);
}

static void disconnect_reserved_flags_MQTT_3_14_1_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xE1, 0x00};
  check_vector(dec_disconnect, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void disconnect_bytes_after_properties_2_1_4(void **state) {
  (void)state;
  static const uint8_t v[] = {0xE0, 0x03, 0x00, 0x00, 0xFF};
  check_vector(dec_disconnect, v, sizeof v, HMQ_ERR_LENGTH);
  static const uint8_t beyond[] = {0xE0, 0x03, 0x00, 0x05, 0x1F};
  check_vector(dec_disconnect, beyond, sizeof beyond, HMQ_ERR_LENGTH);
}

/* Hand copies of the 2.4 table for DISCONNECT and AUTH. */
static const uint8_t disconnect_ok[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8C,
                                        0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
                                        0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
static const uint8_t auth_ok[] = {0x00, 0x18, 0x19};

static void disconnect_reason_code_set_3_14_2_1(void **state) {
  (void)state;
  for (unsigned r = 0; r < 256; r++) {
    bool valid = memchr(disconnect_ok, (int)r, sizeof disconnect_ok) != NULL;
    hmq_disconnect p;
    memset(&p, 0, sizeof p);
    p.reason = (uint8_t)r;
    uint8_t buf[8];
    size_t len = 0;
    ASSERT_ST(hmq_encode_disconnect(buf, sizeof buf, &p, &len),
              valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
    const uint8_t v[] = {0xE0, 0x01, (uint8_t)r};
    ASSERT_ST(dec_disconnect(v, sizeof v), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
  }
}

static void auth_reason_code_set_3_15_2_1(void **state) {
  (void)state;
  for (unsigned r = 0; r < 256; r++) {
    bool valid = memchr(auth_ok, (int)r, sizeof auth_ok) != NULL;
    hmq_auth p;
    memset(&p, 0, sizeof p);
    p.reason = (uint8_t)r;
    uint8_t buf[8];
    size_t len = 0;
    ASSERT_ST(hmq_encode_auth(buf, sizeof buf, &p, &len), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
    const uint8_t v[] = {0xF0, 0x02, (uint8_t)r, 0x00};
    ASSERT_ST(dec_auth(v, sizeof v), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
  }
}

static void auth_vector(const hmq_auth *p, const uint8_t *v, size_t n) {
  check_encode(enc_auth, p, v, n);
  check_vector(dec_auth, v, n, HMQ_OK);
  hmq_auth d;
  ASSERT_ST(hmq_decode_auth(v, n, &d), HMQ_OK);
  assert_int_equal(d.reason, p->reason);
  assert_props_eq(&p->props, &d.props);
}

static void auth_short_form_3_15_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xF0, 0x00}; /* Success, no properties */
  hmq_auth p;
  memset(&p, 0, sizeof p);
  auth_vector(&p, v, sizeof v);
}

static void auth_reason_without_properties_keeps_property_length_3_15_2_2(void **state) {
  (void)state;
  static const uint8_t v[] = {0xF0, 0x02, 0x19, 0x00}; /* Re-authenticate, Property Length 0 */
  hmq_auth p;
  memset(&p, 0, sizeof p);
  p.reason = 0x19;
  auth_vector(&p, v, sizeof v);
}

static void auth_continue_with_method_3_15_2_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0xF0, 0x0A,                                      /* AUTH, RL 10 */
      0x18,                                            /* Continue authentication */
      0x08, 0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M', /* Authentication Method "SCRAM" */
  };
  hmq_auth p;
  memset(&p, 0, sizeof p);
  p.reason = 0x18;
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_AUTH_METHOD);
  p.props.auth_method = (hmq_str){"SCRAM", 5};
  auth_vector(&p, v, sizeof v);
}

static void auth_reason_only_form_is_malformed_3_15_2_1(void **state) {
  (void)state;
  /* Unlike DISCONNECT, AUTH omits reason and Property Length together or
   * not at all. */
  static const uint8_t v[] = {0xF0, 0x01, 0x18};
  check_vector(dec_auth, v, sizeof v, HMQ_ERR_LENGTH);
}

static void auth_reserved_flags_MQTT_3_15_1_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0xF2, 0x00};
  check_vector(dec_auth, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static hmq_status disc_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                     size_t *out_len) {
  hmq_disconnect p;
  memset(&p, 0, sizeof p);
  p.reason = 0x80;
  p.props = *props;
  return hmq_encode_disconnect(buf, cap, &p, out_len);
}
static hmq_status disc_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_disconnect d;
  hmq_status st = hmq_decode_disconnect(pkt, len, &d);
  *props = d.props;
  return st;
}
static hmq_status auth_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                     size_t *out_len) {
  hmq_auth p;
  memset(&p, 0, sizeof p);
  p.reason = 0x18;
  p.props = *props;
  return hmq_encode_auth(buf, cap, &p, out_len);
}
static hmq_status auth_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_auth d;
  hmq_status st = hmq_decode_auth(pkt, len, &d);
  *props = d.props;
  return st;
}

static void disconnect_auth_props_matrix_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t disc_pre[] = {0x80}; /* Unspecified error */
  static const uint8_t disc_allowed[] = {0x11, 0x1C, 0x1F, 0x26};
  const prop_matrix dm = {"DISCONNECT",
                          0xE0,
                          disc_pre,
                          sizeof disc_pre,
                          NULL,
                          0,
                          disc_allowed,
                          sizeof disc_allowed,
                          disc_matrix_encode,
                          disc_matrix_decode};
  run_prop_matrix(&dm);
  static const uint8_t auth_pre[] = {0x18}; /* Continue authentication */
  static const uint8_t auth_allowed[] = {0x15, 0x16, 0x1F, 0x26};
  const prop_matrix am = {"AUTH",
                          0xF0,
                          auth_pre,
                          sizeof auth_pre,
                          NULL,
                          0,
                          auth_allowed,
                          sizeof auth_allowed,
                          auth_matrix_encode,
                          auth_matrix_decode};
  run_prop_matrix(&am);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pingreq_pingresp_3_12_3_13),
      cmocka_unit_test(pingresp_reserved_flags_MQTT_2_1_3_1),
      cmocka_unit_test(pingresp_has_no_body_3_13_2),
      cmocka_unit_test(disconnect_short_form_3_14_2_1),
      cmocka_unit_test(disconnect_reason_only_3_14_2_2_1),
      cmocka_unit_test(disconnect_with_properties_3_14_2_2),
      cmocka_unit_test(disconnect_empty_property_block_accepted_3_14_2_2_1),
      cmocka_unit_test(disconnect_reserved_flags_MQTT_3_14_1_1),
      cmocka_unit_test(disconnect_bytes_after_properties_2_1_4),
      cmocka_unit_test(disconnect_reason_code_set_3_14_2_1),
      cmocka_unit_test(auth_reason_code_set_3_15_2_1),
      cmocka_unit_test(auth_short_form_3_15_2_1),
      cmocka_unit_test(auth_reason_without_properties_keeps_property_length_3_15_2_2),
      cmocka_unit_test(auth_continue_with_method_3_15_2_2),
      cmocka_unit_test(auth_reason_only_form_is_malformed_3_15_2_1),
      cmocka_unit_test(auth_reserved_flags_MQTT_3_15_1_1),
      cmocka_unit_test(disconnect_auth_props_matrix_2_2_2_2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
