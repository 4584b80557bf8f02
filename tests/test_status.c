/* SPDX-License-Identifier: MIT */
/*
 * Name tables: statuses (HMQ_STATUS_LIST), MQTT 5 reason codes (MQTT 5.0
 * 2.4, table 2-6), packet names (2.1.2) and hmq_str_c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hmq/codec.h"

#include <string.h>

static const struct {
  hmq_status st;
  int value;
  const char *name;
} all_statuses[] = {
#define X(name, value, reason, text) {name, value, #name},
    HMQ_STATUS_LIST(X)
#undef X
};
#define NST (sizeof all_statuses / sizeof all_statuses[0])

static void every_status_has_text_and_name(void **state) {
  (void)state;
  for (size_t i = 0; i < NST; i++) {
    const char *text = hmq_status_str(all_statuses[i].st);
    assert_non_null(text);
    assert_true(strlen(text) > 0);
    assert_string_not_equal(text, "unknown status");
    assert_string_equal(hmq_status_name(all_statuses[i].st), all_statuses[i].name);
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(all_statuses[i].value, all_statuses[j].value); /* no clashes */
      assert_string_not_equal(hmq_status_str(all_statuses[i].st),
                              hmq_status_str(all_statuses[j].st));
    }
  }
}

static void status_sign_convention(void **state) {
  (void)state;
  assert_int_equal(HMQ_OK, 0);
  assert_true(HMQ_NEED_MORE > 0 && HMQ_WANT_READ > 0 && HMQ_WANT_WRITE > 0);
  for (size_t i = 0; i < NST; i++) {
    if (strncmp(all_statuses[i].name, "HMQ_ERR_", 8) == 0) {
      assert_true(all_statuses[i].value < 0);
    }
  }
}

static void unknown_status(void **state) {
  (void)state;
  assert_string_equal(hmq_status_str((hmq_status)99), "unknown status");
  assert_string_equal(hmq_status_name((hmq_status)-9999), "HMQ_UNKNOWN_STATUS");
  assert_int_equal(hmq_status_reason((hmq_status)99), 0);
}

/* The DISCONNECT reason a few errors must carry (from the rules cited). */
static void status_reason_codes(void **state) {
  (void)state;
  assert_int_equal(hmq_status_reason(HMQ_OK), 0x00);
  assert_int_equal(hmq_status_reason(HMQ_ERR_VARINT_NOT_MINIMAL), 0x81);
  assert_int_equal(hmq_status_reason(HMQ_ERR_PROP_UNKNOWN), 0x81);
  assert_int_equal(hmq_status_reason(HMQ_ERR_PROP_DUPLICATE), 0x82);
  assert_int_equal(hmq_status_reason(HMQ_ERR_PACKET_TOO_LARGE), 0x95);
  assert_int_equal(hmq_status_reason(HMQ_ERR_TOPIC_ALIAS), 0x94);
  assert_int_equal(hmq_status_reason(HMQ_ERR_RECEIVE_MAX), 0x93);
  assert_int_equal(hmq_status_reason(HMQ_ERR_KEEPALIVE), 0x00); /* 0x8D is the server's */
  assert_int_equal(hmq_status_reason(HMQ_ERR_CLOSED), 0x00);
  /* every reason a status maps to has a name in table 2-6 */
  for (size_t i = 0; i < NST; i++) {
    uint8_t r = hmq_status_reason(all_statuses[i].st);
    assert_string_not_equal(hmq_reason_str(HMQ_PKT_DISCONNECT, r), "Unknown reason code");
  }
}

/* Table 2-6, typed out from the spec. */
static const struct {
  uint8_t code;
  const char *name;
} table_2_6[] = {
    {0x04, "Disconnect with Will Message"},
    {0x10, "No matching subscribers"},
    {0x11, "No subscription existed"},
    {0x18, "Continue authentication"},
    {0x19, "Re-authenticate"},
    {0x80, "Unspecified error"},
    {0x81, "Malformed Packet"},
    {0x82, "Protocol Error"},
    {0x83, "Implementation specific error"},
    {0x84, "Unsupported Protocol Version"},
    {0x85, "Client Identifier not valid"},
    {0x86, "Bad User Name or Password"},
    {0x87, "Not authorized"},
    {0x88, "Server unavailable"},
    {0x89, "Server busy"},
    {0x8A, "Banned"},
    {0x8B, "Server shutting down"},
    {0x8C, "Bad authentication method"},
    {0x8D, "Keep Alive timeout"},
    {0x8E, "Session taken over"},
    {0x8F, "Topic Filter invalid"},
    {0x90, "Topic Name invalid"},
    {0x91, "Packet Identifier in use"},
    {0x92, "Packet Identifier not found"},
    {0x93, "Receive Maximum exceeded"},
    {0x94, "Topic Alias invalid"},
    {0x95, "Packet too large"},
    {0x96, "Message rate too high"},
    {0x97, "Quota exceeded"},
    {0x98, "Administrative action"},
    {0x99, "Payload format invalid"},
    {0x9A, "Retain not supported"},
    {0x9B, "QoS not supported"},
    {0x9C, "Use another server"},
    {0x9D, "Server moved"},
    {0x9E, "Shared Subscriptions not supported"},
    {0x9F, "Connection rate exceeded"},
    {0xA0, "Maximum connect time"},
    {0xA1, "Subscription Identifiers not supported"},
    {0xA2, "Wildcard Subscriptions not supported"},
};

static void reason_names(void **state) {
  (void)state;
  size_t n = sizeof table_2_6 / sizeof table_2_6[0];
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(hmq_reason_str(0, table_2_6[i].code), table_2_6[i].name);
    assert_string_equal(hmq_reason_str(HMQ_PKT_DISCONNECT, table_2_6[i].code), table_2_6[i].name);
  }
  /* every other byte value is unknown, except 0x00..0x02 */
  for (unsigned c = 3; c <= 0xFF; c++) {
    int listed = 0;
    for (size_t i = 0; i < n; i++) {
      listed |= table_2_6[i].code == c;
    }
    if (!listed) {
      assert_string_equal(hmq_reason_str(0, (uint8_t)c), "Unknown reason code");
    }
  }
}

/* 0x00 means three things depending on the packet (table 2-6). */
static void reason_zero_by_packet(void **state) {
  (void)state;
  assert_string_equal(hmq_reason_str(HMQ_PKT_DISCONNECT, 0x00), "Normal disconnection");
  assert_string_equal(hmq_reason_str(HMQ_PKT_SUBACK, 0x00), "Granted QoS 0");
  assert_string_equal(hmq_reason_str(HMQ_PKT_CONNACK, 0x00), "Success");
  assert_string_equal(hmq_reason_str(HMQ_PKT_PUBACK, 0x00), "Success");
  assert_string_equal(hmq_reason_str(HMQ_PKT_UNSUBACK, 0x00), "Success");
  assert_string_equal(hmq_reason_str(HMQ_PKT_AUTH, 0x00), "Success");
  assert_string_equal(hmq_reason_str(0, 0x00), "Success");
  assert_string_equal(hmq_reason_str(HMQ_PKT_SUBACK, 0x01), "Granted QoS 1");
  assert_string_equal(hmq_reason_str(HMQ_PKT_SUBACK, 0x02), "Granted QoS 2");
}

static void packet_names(void **state) {
  (void)state;
  static const char *const want[] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                     "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                     "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                     "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
  for (unsigned t = 0; t < 16; t++) {
    assert_string_equal(hmq_packet_name((uint8_t)t), want[t]);
  }
  assert_string_equal(hmq_packet_name(16), "INVALID");
  assert_string_equal(hmq_packet_name(255), "INVALID");
}

static void str_c(void **state) {
  (void)state;
  hmq_str a = hmq_str_c(NULL);
  assert_null(a.ptr);
  assert_int_equal(a.len, 0);
  hmq_str e = hmq_str_c("");
  assert_non_null(e.ptr); /* present and empty */
  assert_int_equal(e.len, 0);
  hmq_str s = hmq_str_c("live/level13");
  assert_int_equal(s.len, 12);
  assert_memory_equal(s.ptr, "live/level13", 12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_status_has_text_and_name),
      cmocka_unit_test(status_sign_convention),
      cmocka_unit_test(unknown_status),
      cmocka_unit_test(status_reason_codes),
      cmocka_unit_test(reason_names),
      cmocka_unit_test(reason_zero_by_packet),
      cmocka_unit_test(packet_names),
      cmocka_unit_test(str_c),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
