/* SPDX-License-Identifier: MIT */
/*
 * hmq_topic_filter_check / hmq_client_id_check (src/mqtt/topic.c): one
 * case per rule of MQTT 5.0 4.7, 4.8.2 and 1.5.4, the valid forms next to
 * the invalid ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hmq/codec.h"

static hmq_status chk(const char *f) {
  return hmq_topic_filter_check(f, strlen(f));
}

static void valid_filters(void **state) {
  static const char *const ok[] = {"a",
                                   "/",
                                   "a/b",
                                   "#",
                                   "+",
                                   "a/#",
                                   "+/+",
                                   "a/+/b",
                                   "/a",
                                   "a/",
                                   "a//b",
                                   "+/#",
                                   "$SYS/#",
                                   "sandbox/level13/879577a3-b25f-4a28-8c0e-7effcc7682a2/#",
                                   "$share/g/a",
                                   "$share/g/#",
                                   "$share/g/+/b",
                                   "$share/879577a3/sandbox/level13/x/#",
                                   "$sharex/a",
                                   "a/$share/g",
                                   "\xc3\xa9/\xe2\x82\xac",
                                   "caf\x7f"};
  (void)state;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    if (chk(ok[i]) != HMQ_OK)
      fail_msg("'%s' refused: %s", ok[i], hmq_status_str(chk(ok[i])));
  }
}

typedef struct refusal {
  const char *filter;
  hmq_status want;
} refusal;

/* Each filter of the table is refused with its status; names every miss. */
static void expect_refused(const refusal *r, size_t n) {
  size_t misses = 0;
  for (size_t i = 0; i < n; i++) {
    hmq_status got = chk(r[i].filter);
    if (got != r[i].want) {
      print_error("'%s': %s, want %s\n", r[i].filter, hmq_status_name(got),
                  hmq_status_name(r[i].want));
      misses++;
    }
  }
  assert_int_equal(misses, 0);
}

static void hash_rules(void **state) { /* MQTT-4.7.1-1 */
  static const refusal r[] = {
      {"a/#/b", HMQ_ERR_FILTER_HASH},
      {"#/a", HMQ_ERR_FILTER_HASH},
      {"a#", HMQ_ERR_FILTER_HASH},
      {"a/b#", HMQ_ERR_FILTER_HASH},
      {"a/#b", HMQ_ERR_FILTER_HASH},
      {"##", HMQ_ERR_FILTER_HASH},
      {"$share/g/a/#/b", HMQ_ERR_FILTER_HASH},
  };
  (void)state;
  expect_refused(r, sizeof r / sizeof r[0]);
}

static void plus_rules(void **state) { /* MQTT-4.7.1-2 */
  static const refusal r[] = {
      {"a+", HMQ_ERR_FILTER_PLUS},     {"+a", HMQ_ERR_FILTER_PLUS}, {"a/+b/c", HMQ_ERR_FILTER_PLUS},
      {"a/b+/c", HMQ_ERR_FILTER_PLUS}, {"++", HMQ_ERR_FILTER_PLUS}, {"+#", HMQ_ERR_FILTER_PLUS},
  };
  (void)state;
  expect_refused(r, sizeof r / sizeof r[0]);
}

static void empty_filter(void **state) { /* MQTT-4.7.3-1 */
  (void)state;
  assert_int_equal(chk(""), HMQ_ERR_FILTER_EMPTY);
  assert_int_equal(hmq_topic_filter_check(NULL, 0), HMQ_ERR_FILTER_EMPTY);
  assert_int_equal(hmq_topic_filter_check(NULL, 3), HMQ_ERR_ARG);
}

static void share_rules(void **state) { /* MQTT-4.8.2-1, 4.8.2-2 */
  static const refusal r[] = {
      {"$share/", HMQ_ERR_FILTER_SHARE},     {"$share/g", HMQ_ERR_FILTER_SHARE},
      {"$share/g/", HMQ_ERR_FILTER_SHARE},   {"$share//a", HMQ_ERR_FILTER_SHARE},
      {"$share/g+/a", HMQ_ERR_FILTER_SHARE}, {"$share/+/a", HMQ_ERR_FILTER_SHARE},
      {"$share/#/a", HMQ_ERR_FILTER_SHARE},  {"$share/g#/a", HMQ_ERR_FILTER_SHARE},
  };
  (void)state;
  expect_refused(r, sizeof r / sizeof r[0]);
}

static void string_rules(void **state) { /* 1.5.4 */
  (void)state;
  char *big = malloc(65537);
  assert_non_null(big);
  memset(big, 'a', 65537);
  assert_int_equal(hmq_topic_filter_check(big, 65535), HMQ_OK);
  assert_int_equal(hmq_topic_filter_check(big, 65536), HMQ_ERR_STRING_TOO_LONG);
  assert_int_equal(hmq_client_id_check(big, 65535), HMQ_OK);
  assert_int_equal(hmq_client_id_check(big, 65536), HMQ_ERR_STRING_TOO_LONG);
  free(big);
  assert_int_equal(hmq_topic_filter_check("a\0b", 3), HMQ_ERR_UTF8_NUL);
  assert_int_equal(hmq_client_id_check("a\0b", 3), HMQ_ERR_UTF8_NUL);
  static const char *const bad[] = {"\xff",         "a/\x80",           "\xc0\xaf",
                                    "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(chk(bad[i]), HMQ_ERR_UTF8_INVALID);
    assert_int_equal(hmq_client_id_check(bad[i], strlen(bad[i])), HMQ_ERR_UTF8_INVALID);
  }
  assert_int_equal(hmq_client_id_check("", 0), HMQ_OK);
  assert_int_equal(hmq_client_id_check("879577a3-sandbox-4711", 21), HMQ_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_filters), cmocka_unit_test(hash_rules),
      cmocka_unit_test(plus_rules),    cmocka_unit_test(empty_filter),
      cmocka_unit_test(share_rules),   cmocka_unit_test(string_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
