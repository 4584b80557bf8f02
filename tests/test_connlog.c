/* SPDX-License-Identifier: MIT */
/*
 * What -d and -v print about CONNECT and CONNACK (src/pipeline/connlog.c):
 * every property both ways, the server's caps, a cut Session Expiry. The
 * CONNECT comes from a real engine (hmq_client_connect_sent), the CONNACK
 * from encoder + decoder, as the program sees them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hmq/client.h"
#include "pipeline/connlog.h"

static uint8_t rx[1024], tx[1024];
static hmq_client_slot slots[65535];

static void has(const char *line, const char *want) {
  if (strstr(line, want) == NULL)
    fail_msg("'%s' not in: %s", want, line);
}

static void hasnt(const char *line, const char *want) {
  if (strstr(line, want) != NULL)
    fail_msg("'%s' unexpectedly in: %s", want, line);
}

/* The default hmq configuration, started: the CONNECT as it goes out. */
static void sent_connect(hmq_client *c, hmq_connect *k) {
  static hmq_client_config cfg;
  static hmq_user_prop up[1];
  hmq_client_config_default(&cfg);
  cfg.client_id = hmq_str_c("app-live-1");
  cfg.session_expiry = 86400;
  up[0].key = hmq_str_c("agent");
  up[0].value = hmq_str_c("hmq");
  cfg.connect_user = up;
  cfg.connect_user_count = 1;
  hmq_client_mem mem = {rx, sizeof rx, tx, sizeof tx, slots, 65535, NULL, 0};
  hmq_client_init(c, &cfg, &mem);
  assert_int_equal(hmq_client_start(c, 0), HMQ_OK);
  assert_int_equal(hmq_client_connect_sent(c, k), HMQ_OK);
}

static void decode_connack(const hmq_connack *in, uint8_t *buf, size_t cap, hmq_connack *out) {
  size_t n = 0;
  assert_int_equal(hmq_encode_connack(buf, cap, in, &n), HMQ_OK);
  assert_int_equal(hmq_decode_connack(buf, n, out), HMQ_OK);
}

static void test_connect_line_has_every_property(void **state) {
  (void)state;
  hmq_client c;
  hmq_connect k;
  char line[1024];
  sent_connect(&c, &k);
  size_t n = hmq_connlog_connect(&k, line, sizeof line);
  assert_int_equal(n, strlen(line));
  has(line, "CONNECT clean_start=0 keep_alive=60 client_id=app-live-1");
  has(line, " session_expiry=86400");
  has(line, " receive_max=65535"); /* sent even at its default value */
  has(line, " max_packet_size=1024");
  has(line, " user:agent=hmq");
  hasnt(line, "topic_alias_max"); /* no alias memory: none announced */
}

static void test_connack_line_and_caps(void **state) {
  (void)state;
  hmq_client c;
  hmq_connect k;
  sent_connect(&c, &k);
  static const hmq_user_prop up[] = {{{"node", 4}, {"b\x1b[2J", 5}}};
  hmq_connack a;
  memset(&a, 0, sizeof a);
  a.session_present = 1;
  a.props.present =
      HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX) |
      HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE) | HMQ_PROP_BIT(HMQ_PROP_SERVER_KEEP_ALIVE) |
      HMQ_PROP_BIT(HMQ_PROP_ASSIGNED_CLIENT_ID) | HMQ_PROP_BIT(HMQ_PROP_MAX_QOS) |
      HMQ_PROP_BIT(HMQ_PROP_RETAIN_AVAILABLE) | HMQ_PROP_BIT(HMQ_PROP_WILDCARD_SUB_AVAILABLE) |
      HMQ_PROP_BIT(HMQ_PROP_SHARED_SUB_AVAILABLE) | HMQ_PROP_BIT(HMQ_PROP_SUB_ID_AVAILABLE) |
      HMQ_PROP_BIT(HMQ_PROP_TOPIC_ALIAS_MAX) | HMQ_PROP_BIT(HMQ_PROP_REASON_STRING) |
      HMQ_PROP_BIT(HMQ_PROP_USER);
  a.props.session_expiry = 3600;
  a.props.receive_max = 20;
  a.props.max_packet_size = 100000;
  a.props.server_keep_alive = 30;
  a.props.assigned_client_id = hmq_str_c("auto-7");
  a.props.max_qos = 1;
  a.props.retain_available = 0;
  a.props.wildcard_sub_available = 0;
  a.props.shared_sub_available = 0;
  a.props.sub_id_available = 0;
  a.props.topic_alias_max = 10;
  a.props.reason_string = hmq_str_c("hi");
  a.props.user = up;
  a.props.user_count = 1;
  uint8_t pkt[512];
  hmq_connack got;
  decode_connack(&a, pkt, sizeof pkt, &got);
  char line[1400];
  hmq_connlog_connack(&got, line, sizeof line);
  has(line, "CONNACK session_present=1 reason=0x00");
  has(line, " session_expiry=3600");
  has(line, " receive_max=20");
  has(line, " max_packet_size=100000");
  has(line, " server_keep_alive=30");
  has(line, " assigned_client_id=auto-7");
  has(line, " max_qos=1");
  has(line, " retain_available=0");
  has(line, " wildcard_sub_available=0");
  has(line, " shared_sub_available=0");
  has(line, " sub_id_available=0");
  has(line, " topic_alias_max=10");
  has(line, " reason_string=\"hi\"");
  has(line, " user:node=b\\x1B[2J"); /* decoded side, escape not passed through */
  hasnt(line, "\x1b");

  hmq_connlog_caps(&k, &got, line, sizeof line);
  has(line, "session expiry 3600 s (asked 86400 s)");
  has(line, "keep alive 30 s (asked 60 s)");
  has(line, "receive maximum 20");
  has(line, "maximum packet size 100000 bytes");
  has(line, "maximum QoS 1");

  assert_true(hmq_connlog_expiry_cut(&k, &got, line, sizeof line) > 0);
  has(line, "cut the session expiry from 86400 s to 3600 s");
}

static void test_plain_connack_says_nothing_changed(void **state) {
  (void)state;
  hmq_client c;
  hmq_connect k;
  sent_connect(&c, &k);
  hmq_connack a, got;
  memset(&a, 0, sizeof a);
  uint8_t pkt[64];
  decode_connack(&a, pkt, sizeof pkt, &got);
  char line[256];
  hmq_connlog_connack(&got, line, sizeof line);
  has(line, "CONNACK session_present=0 reason=0x00 (no properties)");
  assert_int_equal(hmq_connlog_caps(&k, &got, line, sizeof line), 0);
  assert_string_equal(line, "");
  assert_int_equal(hmq_connlog_expiry_cut(&k, &got, line, sizeof line), 0);
  /* A longer expiry granted than asked is not a cut. */
  a.props.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY);
  a.props.session_expiry = 90000;
  decode_connack(&a, pkt, sizeof pkt, &got);
  assert_int_equal(hmq_connlog_expiry_cut(&k, &got, line, sizeof line), 0);
}

static void test_small_buffer_is_cut_not_overrun(void **state) {
  (void)state;
  hmq_client c;
  hmq_connect k;
  sent_connect(&c, &k);
  char line[40];
  memset(line, 'Z', sizeof line);
  size_t n = hmq_connlog_connect(&k, line, 20);
  assert_true(n < 20);
  assert_int_equal(strlen(line), n);
  assert_int_equal(line[25], 'Z');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_line_has_every_property),
      cmocka_unit_test(test_connack_line_and_caps),
      cmocka_unit_test(test_plain_connack_says_nothing_changed),
      cmocka_unit_test(test_small_buffer_is_cut_not_overrun),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
