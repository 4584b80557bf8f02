/* SPDX-License-Identifier: MIT */
/*
 * CONNECT and CONNACK (MQTT 5.0 sections 3.1 and 3.2): hand-written vectors
 * for what this client sends to High Mobility and what it gets back, and one
 * negative vector per rule of 3.1.2 / 3.2.2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec_check.h"

static hmq_status enc_connect(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_connect(buf, cap, p, out_len);
}
static hmq_status enc_connack(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return hmq_encode_connack(buf, cap, p, out_len);
}
static hmq_status dec_connect(const uint8_t *pkt, size_t len) {
  hmq_connect c;
  hmq_will w;
  return hmq_decode_connect(pkt, len, &c, &w);
}
static hmq_status dec_connack(const uint8_t *pkt, size_t len) {
  hmq_connack c;
  return hmq_decode_connack(pkt, len, &c);
}

static void assert_str_opt_eq(hmq_str want, hmq_str got) {
  if (want.ptr == NULL) {
    assert_null(got.ptr);
  } else {
    assert_str_eq(want, got);
  }
}

static void connect_vector(const hmq_connect *p, const uint8_t *v, size_t n) {
  check_encode(enc_connect, p, v, n);
  check_vector(dec_connect, v, n, HMQ_OK);
  hmq_connect d;
  hmq_will w;
  ASSERT_ST(hmq_decode_connect(v, n, &d, &w), HMQ_OK);
  assert_int_equal(d.clean_start, p->clean_start);
  assert_int_equal(d.keep_alive, p->keep_alive);
  assert_str_eq(p->client_id.ptr ? p->client_id : (hmq_str){"", 0}, d.client_id);
  assert_str_opt_eq(p->username, d.username);
  if (p->password.ptr == NULL) {
    assert_null(d.password.ptr);
  } else {
    assert_bin_eq(p->password, d.password);
  }
  assert_props_eq(&p->props, &d.props);
  if (p->will == NULL) {
    assert_null(d.will);
    return;
  }
  assert_ptr_equal(d.will, &w);
  assert_int_equal(w.qos, p->will->qos);
  assert_int_equal(w.retain, p->will->retain);
  assert_str_eq(p->will->topic, w.topic);
  assert_bin_eq(p->will->payload, w.payload);
  assert_props_eq(&p->will->props, &w.props);
}

static void connect_minimal_clean_start_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x10, 0x0F,                     /* CONNECT, RL 15 */
      0x00, 0x04, 'M', 'Q', 'T', 'T', /* Protocol Name */
      0x05,                           /* Protocol Version 5 */
      0x02,                           /* Connect Flags: Clean Start */
      0x00, 0x3C,                     /* Keep Alive 60 */
      0x00,                           /* Property Length 0 */
      0x00, 0x02, 'c', '1',           /* Client Identifier "c1" */
  };
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.clean_start = 1;
  p.keep_alive = 60;
  p.client_id = (hmq_str){"c1", 2};
  connect_vector(&p, v, sizeof v);
}

/* What hmq sends to High Mobility: persistent session, generous limits. */
static void connect_persistent_session_with_credentials_3_1_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x10, 0x2C,                              /* CONNECT, RL 44 */
      0x00, 0x04, 'M',  'Q',  'T',  'T', 0x05, /* "MQTT" v5 */
      0xC0,                                    /* Connect Flags: User Name, Password */
      0x00, 0x1E,                              /* Keep Alive 30 */
      0x0D,                                    /* Property Length 13 */
      0x11, 0x00, 0x00, 0x0E, 0x10,            /* Session Expiry Interval 3600 */
      0x21, 0xFF, 0xFF,                        /* Receive Maximum 65535 */
      0x27, 0x00, 0x10, 0x00, 0x00,            /* Maximum Packet Size 1 MiB */
      0x00, 0x0B, 'a',  'p',  'p',  '-', 'l',  'i', 'v', 'e', '-', 'x', '1', /* Client Id */
      0x00, 0x01, 'u',                                                       /* User Name "u" */
      0x00, 0x02, 'p',  'w',                                                 /* Password "pw" */
  };
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.keep_alive = 30;
  p.client_id = (hmq_str){"app-live-x1", 11};
  p.username = (hmq_str){"u", 1};
  p.password = (hmq_bin){(const uint8_t *)"pw", 2};
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) |
                    HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE);
  p.props.session_expiry = 3600;
  p.props.receive_max = 65535;
  p.props.max_packet_size = 1048576;
  connect_vector(&p, v, sizeof v);
}

static void connect_with_will_3_1_3_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x10, 0x1D,                               /* CONNECT, RL 29 */
      0x00, 0x04, 'M',  'Q',  'T',  'T',  0x05, /* "MQTT" v5 */
      0x2E,       /* Will Retain 0x20 | Will QoS 1 0x08 | Will 0x04 | Clean 0x02 */
      0x00, 0x00, /* Keep Alive 0 */
      0x00,       /* Property Length 0 */
      0x00, 0x00, /* Client Identifier "" */
      0x05, 0x18, 0x00, 0x00, 0x00, 0x3C, /* Will Properties: Will Delay Interval 60 */
      0x00, 0x03, 'w',  '/',  't',        /* Will Topic */
      0x00, 0x03, 'b',  'y',  'e',        /* Will Payload */
  };
  hmq_will will;
  memset(&will, 0, sizeof will);
  will.qos = 1;
  will.retain = 1;
  will.topic = (hmq_str){"w/t", 3};
  will.payload = (hmq_bin){(const uint8_t *)"bye", 3};
  will.props.present = HMQ_PROP_BIT(HMQ_PROP_WILL_DELAY);
  will.props.will_delay = 60;
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.clean_start = 1;
  p.client_id = (hmq_str){"", 0};
  p.will = &will;
  connect_vector(&p, v, sizeof v);
  /* A NULL client id is sent as the empty one (3.1.3.1). */
  p.client_id = (hmq_str){NULL, 0};
  check_encode(enc_connect, &p, v, sizeof v);
}

static void connect_password_without_user_name_3_1_2_9(void **state) {
  (void)state;
  /* Allowed in MQTT 5 (it was not in 3.1.1). */
  static const uint8_t v[] = {
      0x10, 0x11, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, /* CONNECT RL 17, "MQTT" v5 */
      0x42,                                             /* Password | Clean Start */
      0x00, 0x0A, 0x00,                                 /* Keep Alive 10, no properties */
      0x00, 0x01, 'c',                                  /* Client Identifier "c" */
      0x00, 0x01, 'p',                                  /* Password "p" */
  };
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.clean_start = 1;
  p.keep_alive = 10;
  p.client_id = (hmq_str){"c", 1};
  p.password = (hmq_bin){(const uint8_t *)"p", 1};
  connect_vector(&p, v, sizeof v);
}

/* CONNECT with given flags and nothing else: enough for the flag rules,
 * which are checked before the payload is read. */
#define CONNECT_FLAGS(f)                                                                           \
  { 0x10, 0x0B, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, (f), 0x00, 0x00, 0x00 }

static void connect_reserved_flag_MQTT_3_1_2_3(void **state) {
  (void)state;
  static const uint8_t v[] = CONNECT_FLAGS(0x03); /* Clean Start | reserved bit 0 */
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void connect_will_qos_without_will_MQTT_3_1_2_11(void **state) {
  (void)state;
  static const uint8_t v[] = CONNECT_FLAGS(0x0A); /* Will QoS 1 without Will Flag */
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void connect_will_retain_without_will_MQTT_3_1_2_13(void **state) {
  (void)state;
  static const uint8_t v[] = CONNECT_FLAGS(0x22); /* Will Retain without Will Flag */
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void connect_will_qos3_MQTT_3_1_2_12(void **state) {
  (void)state;
  static const uint8_t v[] = CONNECT_FLAGS(0x1E); /* Will | Will QoS 3 | Clean */
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_QOS_INVALID);
  hmq_will will;
  memset(&will, 0, sizeof will);
  will.qos = 3;
  will.topic = (hmq_str){"w", 1};
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.will = &will;
  check_encode_fails(enc_connect, &p, HMQ_ERR_QOS_INVALID);
}

static void connect_fixed_header_flags_MQTT_2_1_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x11, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                              0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void connect_protocol_name_and_version_3_1_2_1(void **state) {
  (void)state;
  /* MQTT 3.1.1 (version 4) and MQTT 3.1 ("MQIsdp", version 3). */
  static const uint8_t v4[] = {0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                               0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
  static const uint8_t v3[] = {0x10, 0x0F, 0x00, 0x06, 'M',  'Q',  'I',  's', 'd',
                               'p',  0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
  check_vector(dec_connect, v4, sizeof v4, HMQ_ERR_PROTOCOL);
  check_vector(dec_connect, v3, sizeof v3, HMQ_ERR_PROTOCOL);
}

static void connect_user_name_flag_without_user_name_3_1_3_5(void **state) {
  (void)state;
  static const uint8_t v[] = {0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                              0x05, 0x82, 0x00, 0x00, 0x00, 0x00, 0x00}; /* flag 0x80, no name */
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_LENGTH);
}

static void connect_will_topic_rules_MQTT_3_3_2_2(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x10, 0x13, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, /* CONNECT RL 19 */
      0x06, 0x00, 0x00, 0x00,                           /* Will | Clean, KA 0, no props */
      0x00, 0x00,                                       /* Client Identifier "" */
      0x00,                                             /* Will Properties: none */
      0x00, 0x01, '#',                                  /* Will Topic "#" */
      0x00, 0x00,                                       /* Will Payload "" */
  };
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_TOPIC_WILDCARD);
  hmq_will will;
  memset(&will, 0, sizeof will);
  will.topic = (hmq_str){"a/+", 3};
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.will = &will;
  check_encode_fails(enc_connect, &p, HMQ_ERR_TOPIC_WILDCARD);
  will.topic = (hmq_str){"", 0};
  check_encode_fails(enc_connect, &p, HMQ_ERR_TOPIC_EMPTY);
}

static void connect_strings_must_be_utf8_MQTT_1_5_4_1(void **state) {
  (void)state;
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.client_id = (hmq_str){"\xED\xA0\x80", 3}; /* U+D800, a surrogate */
  check_encode_fails(enc_connect, &p, HMQ_ERR_UTF8_INVALID);
  p.client_id = (hmq_str){"c", 1};
  p.username = (hmq_str){"u\0", 2};
  check_encode_fails(enc_connect, &p, HMQ_ERR_UTF8_NUL);
  static const uint8_t v[] = {0x10, 0x0E, 0x00, 0x04, 'M',  'Q',  'T',  'T',
                              0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xFF}; /* client id 0xFF */
  check_vector(dec_connect, v, sizeof v, HMQ_ERR_UTF8_INVALID);
}

static void connect_decoder_needs_will_storage(void **state) {
  (void)state;
  static const uint8_t v[] = {0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                              0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
  hmq_connect c;
  ASSERT_ST(hmq_decode_connect(v, sizeof v, &c, NULL), HMQ_ERR_ARG);
}

static hmq_status connect_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                        size_t *out_len) {
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.clean_start = 1;
  p.keep_alive = 60;
  p.client_id = (hmq_str){"c1", 2};
  p.props = *props;
  return hmq_encode_connect(buf, cap, &p, out_len);
}
static hmq_status connect_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_connect d;
  hmq_will w;
  hmq_status st = hmq_decode_connect(pkt, len, &d, &w);
  *props = d.props;
  return st;
}
static hmq_status will_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                     size_t *out_len) {
  hmq_will will;
  memset(&will, 0, sizeof will);
  will.topic = (hmq_str){"t", 1};
  will.payload = (hmq_bin){(const uint8_t *)"x", 1};
  will.props = *props;
  hmq_connect p;
  memset(&p, 0, sizeof p);
  p.clean_start = 1;
  p.client_id = (hmq_str){"c", 1};
  p.will = &will;
  return hmq_encode_connect(buf, cap, &p, out_len);
}
static hmq_status will_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_connect d;
  hmq_will w;
  memset(&w, 0, sizeof w);
  hmq_status st = hmq_decode_connect(pkt, len, &d, &w);
  *props = w.props;
  return st;
}

static void connect_props_matrix_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t pre[] = {0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3C};
  static const uint8_t suf[] = {0x00, 0x02, 'c', '1'};
  static const uint8_t allowed[] = {0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27};
  const prop_matrix m = {"CONNECT",
                         0x10,
                         pre,
                         sizeof pre,
                         suf,
                         sizeof suf,
                         allowed,
                         sizeof allowed,
                         connect_matrix_encode,
                         connect_matrix_decode};
  run_prop_matrix(&m);
}

static void connect_will_props_matrix_3_1_3_2(void **state) {
  (void)state;
  static const uint8_t pre[] = {
      0x00, 0x04, 'M',  'Q',  'T', 'T', 0x05, /* "MQTT" v5 */
      0x06, 0x00, 0x00, 0x00,                 /* Will | Clean, KA 0, no CONNECT properties */
      0x00, 0x01, 'c',                        /* Client Identifier "c" */
  };
  static const uint8_t suf[] = {0x00, 0x01, 't', 0x00, 0x01, 'x'}; /* Will Topic, Payload */
  static const uint8_t allowed[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26};
  const prop_matrix m = {"Will",
                         0x10,
                         pre,
                         sizeof pre,
                         suf,
                         sizeof suf,
                         allowed,
                         sizeof allowed,
                         will_matrix_encode,
                         will_matrix_decode};
  run_prop_matrix(&m);
}

/* ---- CONNACK ---- */

static void connack_vector(const hmq_connack *p, const uint8_t *v, size_t n) {
  check_encode(enc_connack, p, v, n);
  check_vector(dec_connack, v, n, HMQ_OK);
  hmq_connack d;
  ASSERT_ST(hmq_decode_connack(v, n, &d), HMQ_OK);
  assert_int_equal(d.session_present, p->session_present);
  assert_int_equal(d.reason, p->reason);
  assert_props_eq(&p->props, &d.props);
}

static void connack_success_and_session_present_3_2_2(void **state) {
  (void)state;
  static const uint8_t fresh[] = {0x20, 0x03, 0x00, 0x00, 0x00};   /* no session, Success */
  static const uint8_t resumed[] = {0x20, 0x03, 0x01, 0x00, 0x00}; /* Session Present */
  static const uint8_t refused[] = {0x20, 0x03, 0x00, 0x87, 0x00}; /* Not authorized */
  hmq_connack p;
  memset(&p, 0, sizeof p);
  connack_vector(&p, fresh, sizeof fresh);
  p.session_present = 1;
  connack_vector(&p, resumed, sizeof resumed);
  p.session_present = 0;
  p.reason = 0x87;
  connack_vector(&p, refused, sizeof refused);
}

/* The broker's defaults from docs/stream.md: Receive Maximum 10, Topic Alias
 * Maximum 5; plus Maximum QoS 1. */
static void connack_broker_limits_3_2_2_3(void **state) {
  (void)state;
  static const uint8_t v[] = {
      0x20, 0x0B, 0x00, 0x00, /* CONNACK, RL 11, no session, Success */
      0x08,                   /* Property Length 8 */
      0x21, 0x00, 0x0A,       /* Receive Maximum 10 */
      0x22, 0x00, 0x05,       /* Topic Alias Maximum 5 */
      0x24, 0x01,             /* Maximum QoS 1 */
  };
  hmq_connack p;
  memset(&p, 0, sizeof p);
  p.props.present = HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) | HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX) |
                    HMQ_PROP_BIT(HMQ_PROP_MAX_QOS);
  p.props.receive_max = 10;
  p.props.topic_alias_max = 5;
  p.props.max_qos = 1;
  connack_vector(&p, v, sizeof v);
}

static void connack_ack_flags_reserved_MQTT_3_2_2_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x20, 0x03, 0x02, 0x00, 0x00};
  check_vector(dec_connack, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
  static const uint8_t h[] = {0x20, 0x03, 0x80, 0x00, 0x00};
  check_vector(dec_connack, h, sizeof h, HMQ_ERR_RESERVED_FLAGS);
}

static void connack_session_present_with_error_MQTT_3_2_2_6(void **state) {
  (void)state;
  static const uint8_t v[] = {0x20, 0x03, 0x01, 0x80, 0x00};
  check_vector(dec_connack, v, sizeof v, HMQ_ERR_PROTOCOL);
  hmq_connack p;
  memset(&p, 0, sizeof p);
  p.session_present = 1;
  p.reason = 0x80;
  check_encode_fails(enc_connack, &p, HMQ_ERR_PROTOCOL);
}

static void connack_without_property_length_is_malformed_3_2_2_3(void **state) {
  (void)state;
  static const uint8_t v[] = {0x20, 0x02, 0x00, 0x00}; /* an MQTT 3.1.1 CONNACK */
  check_vector(dec_connack, v, sizeof v, HMQ_ERR_LENGTH);
}

static void connack_fixed_header_flags_MQTT_2_1_3_1(void **state) {
  (void)state;
  static const uint8_t v[] = {0x21, 0x03, 0x00, 0x00, 0x00};
  check_vector(dec_connack, v, sizeof v, HMQ_ERR_RESERVED_FLAGS);
}

static void connack_reason_code_set_3_2_2_2(void **state) {
  (void)state;
  static const uint8_t ok[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                               0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
  for (unsigned r = 0; r < 256; r++) {
    bool valid = memchr(ok, (int)r, sizeof ok) != NULL;
    hmq_connack p;
    memset(&p, 0, sizeof p);
    p.reason = (uint8_t)r;
    uint8_t buf[8];
    size_t len = 0;
    ASSERT_ST(hmq_encode_connack(buf, sizeof buf, &p, &len), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
    const uint8_t v[] = {0x20, 0x03, 0x00, (uint8_t)r, 0x00};
    ASSERT_ST(dec_connack(v, sizeof v), valid ? HMQ_OK : HMQ_ERR_REASON_CODE);
  }
}

static hmq_status connack_matrix_encode(uint8_t *buf, size_t cap, const hmq_props *props,
                                        size_t *out_len) {
  hmq_connack p;
  memset(&p, 0, sizeof p);
  p.props = *props;
  return hmq_encode_connack(buf, cap, &p, out_len);
}
static hmq_status connack_matrix_decode(const uint8_t *pkt, size_t len, hmq_props *props) {
  hmq_connack d;
  hmq_status st = hmq_decode_connack(pkt, len, &d);
  *props = d.props;
  return st;
}

static void connack_props_matrix_2_2_2_2(void **state) {
  (void)state;
  static const uint8_t pre[] = {0x00, 0x00}; /* no session, Success */
  static const uint8_t allowed[] = {0x11, 0x12, 0x13, 0x15, 0x16, 0x1A, 0x1C, 0x1F, 0x21,
                                    0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
  const prop_matrix m = {"CONNACK",
                         0x20,
                         pre,
                         sizeof pre,
                         NULL,
                         0,
                         allowed,
                         sizeof allowed,
                         connack_matrix_encode,
                         connack_matrix_decode};
  run_prop_matrix(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(connect_minimal_clean_start_3_1),
      cmocka_unit_test(connect_persistent_session_with_credentials_3_1_2),
      cmocka_unit_test(connect_with_will_3_1_3_2),
      cmocka_unit_test(connect_password_without_user_name_3_1_2_9),
      cmocka_unit_test(connect_reserved_flag_MQTT_3_1_2_3),
      cmocka_unit_test(connect_will_qos_without_will_MQTT_3_1_2_11),
      cmocka_unit_test(connect_will_retain_without_will_MQTT_3_1_2_13),
      cmocka_unit_test(connect_will_qos3_MQTT_3_1_2_12),
      cmocka_unit_test(connect_fixed_header_flags_MQTT_2_1_3_1),
      cmocka_unit_test(connect_protocol_name_and_version_3_1_2_1),
      cmocka_unit_test(connect_user_name_flag_without_user_name_3_1_3_5),
      cmocka_unit_test(connect_will_topic_rules_MQTT_3_3_2_2),
      cmocka_unit_test(connect_strings_must_be_utf8_MQTT_1_5_4_1),
      cmocka_unit_test(connect_decoder_needs_will_storage),
      cmocka_unit_test(connect_props_matrix_2_2_2_2),
      cmocka_unit_test(connect_will_props_matrix_3_1_3_2),
      cmocka_unit_test(connack_success_and_session_present_3_2_2),
      cmocka_unit_test(connack_broker_limits_3_2_2_3),
      cmocka_unit_test(connack_ack_flags_reserved_MQTT_3_2_2_1),
      cmocka_unit_test(connack_session_present_with_error_MQTT_3_2_2_6),
      cmocka_unit_test(connack_without_property_length_is_malformed_3_2_2_3),
      cmocka_unit_test(connack_fixed_header_flags_MQTT_2_1_3_1),
      cmocka_unit_test(connack_reason_code_set_3_2_2_2),
      cmocka_unit_test(connack_props_matrix_2_2_2_2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
