/* SPDX-License-Identifier: MIT */
/* Data walk: capability -> property -> entries, timestamps, odd shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hmq/envelope.h"
#include "json_samples.h"

static unsigned char tokmem[2048 * HMQ_JSON_TOKEN_BYTES];
static hmq_envelope_parser parser;
static char doc[8192];

static int setup(void **state) {
  (void)state;
  hmq_envelope_parser_init(&parser, tokmem, sizeof tokmem);
  return 0;
}

static int str_eq(hmq_str s, const char *lit) {
  return s.ptr != NULL && s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* Parse an envelope whose data object is `data`. */
static void parse_data(const char *data, hmq_envelope *env) {
  snprintf(doc, sizeof doc, "{\"version\":2,\"message_id\":\"m\",\"vin\":\"V\",\"data\":%s}", data);
  assert_int_equal(hmq_envelope_parse(&parser, doc, strlen(doc), env), HMQ_OK);
}

static void seed_walk(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  (void)state;
  assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &env),
                   HMQ_OK);
  hmq_entries_begin(&it, &env);

  /* diagnostics.odometer: data, no timestamp (and no warning for that) */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.capability, "diagnostics"));
  assert_true(str_eq(e.property, "odometer"));
  assert_int_equal(e.index, 0);
  assert_true(str_eq(e.data, "{\n            \"unit\": \"kilometers\",\n"
                             "            \"value\": 19201.01\n          }"));
  assert_null(e.timestamp.ptr);
  assert_int_equal(e.ts_valid, 0);
  assert_null(e.failure.ptr);
  assert_null(e.availability.ptr);
  assert_int_equal(e.warnings, 0);
  assert_int_equal(e.raw.ptr[0], '{');
  assert_int_equal(e.raw.ptr[e.raw.len - 1], '}');

  /* vehicle_location.altitude */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.capability, "vehicle_location"));
  assert_true(str_eq(e.property, "altitude"));
  assert_true(str_eq(e.timestamp, "2025-08-12T16:07:48.000Z"));
  assert_int_equal(e.ts_valid, 1);
  assert_int_equal(e.ts_ms, 1755014868000);

  /* vehicle_location.coordinates */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.capability, "vehicle_location"));
  assert_true(str_eq(e.property, "coordinates"));
  assert_true(str_eq(e.data, "{\n            \"latitude\": 11.572,\n"
                             "            \"longitude\": 8.487\n          }"));
  assert_int_equal(e.ts_valid, 1);
  assert_int_equal(e.ts_ms, 1755014868000);
  assert_int_equal(e.warnings, 0);

  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
  assert_int_equal(it.warnings, 0);
  assert_int_equal(it.skipped, 0);
}

static void failure_and_availability(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  (void)state;
  parse_data("{\"charging\":{\"status\":[{\"failure\":{\"reason\":\"privacy_mode_active\","
             "\"description\":\"Privacy mode is on\"},\"timestamp\":\"2025-08-12T16:07:48Z\"},"
             "{\"failure\":\"odd\"},"
             "{\"data\":\"charging\",\"availability\":{\"update_rate\":\"trip\","
             "\"rate_limit\":{\"value\":1,\"unit\":\"hertz\"},\"applies_per\":\"app\"},"
             "\"extra\":[1,2],\"timestamp\":\"2025-08-12T16:07:48.5Z\"}]}}",
             &env);
  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.property, "status"));
  assert_null(e.data.ptr);
  assert_true(str_eq(e.failure, "{\"reason\":\"privacy_mode_active\","
                                "\"description\":\"Privacy mode is on\"}"));
  assert_true(str_eq(e.failure_reason, "privacy_mode_active"));
  assert_true(str_eq(e.failure_description, "Privacy mode is on"));
  assert_int_equal(e.ts_ms, 1755014868000);
  /* a failure that is not an object: raw view only */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.index, 1);
  assert_true(str_eq(e.failure, "\"odd\""));
  assert_null(e.failure_reason.ptr);
  assert_null(e.failure_description.ptr);
  /* availability, a string data value (quotes kept), unknown key ignored */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.index, 2);
  assert_true(str_eq(e.data, "\"charging\""));
  assert_true(str_eq(e.availability, "{\"update_rate\":\"trip\",\"rate_limit\":{\"value\":1,"
                                     "\"unit\":\"hertz\"},\"applies_per\":\"app\"}"));
  assert_int_equal(e.ts_ms, 1755014868500);
  assert_int_equal(e.warnings, 0);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
}

static void multi_valued_and_empty(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  static const char *loc[] = {"front_left", "front_right", "rear_right", "rear_left"};
  size_t i;
  (void)state;
  parse_data("{\"empty_cap\":{},\"diagnostics\":{\"none\":[],\"tire_pressures\":["
             "{\"data\":{\"location\":\"front_left\",\"pressure\":{\"unit\":\"kilopascals\","
             "\"value\":240}}},"
             "{\"data\":{\"location\":\"front_right\",\"pressure\":{\"unit\":\"kilopascals\","
             "\"value\":241}}},"
             "{\"data\":{\"location\":\"rear_right\",\"pressure\":{\"unit\":\"kilopascals\","
             "\"value\":242}}},"
             "{\"data\":{\"location\":\"rear_left\",\"pressure\":{\"unit\":\"kilopascals\","
             "\"value\":243}}}],\"fuel_level\":[{\"data\":0.62},{\"data\":[1,\"x\",null]}]},"
             "\"last\":{\"empty\":[]}}",
             &env);
  hmq_entries_begin(&it, &env);
  for (i = 0; i < 4; i++) {
    char want[32];
    assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
    assert_true(str_eq(e.capability, "diagnostics"));
    assert_true(str_eq(e.property, "tire_pressures"));
    assert_int_equal(e.index, i);
    snprintf(want, sizeof want, "\"%s\"", loc[i]);
    assert_non_null(strstr(e.data.ptr, want));
    assert_true(strstr(e.data.ptr, want) < e.data.ptr + e.data.len);
  }
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.property, "fuel_level"));
  assert_true(str_eq(e.data, "0.62"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.data, "[1,\"x\",null]"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);

  parse_data("{}", &env);
  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
}

static void odd_shapes_are_skipped_records(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  (void)state;
  parse_data("{\"c\":{\"p\":{\"data\":1},\"q\":[{\"data\":2}],\"r\":\"str\"},"
             "\"bad_cap\":5,\"d\":{\"p\":[1,{\"data\":3},[4]]}}",
             &env);
  hmq_entries_begin(&it, &env);
  /* c.p is an object, not an array */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_NOT_ARRAY);
  assert_true(str_eq(e.capability, "c"));
  assert_true(str_eq(e.property, "p"));
  assert_true(str_eq(e.raw, "{\"data\":1}"));
  assert_null(e.data.ptr);
  /* c.q is fine */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, 0);
  assert_true(str_eq(e.property, "q"));
  assert_true(str_eq(e.data, "2"));
  /* c.r is a string */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_NOT_ARRAY);
  assert_true(str_eq(e.raw, "\"str\""));
  /* a capability that is not an object: property absent */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_NOT_OBJECT);
  assert_true(str_eq(e.capability, "bad_cap"));
  assert_null(e.property.ptr);
  assert_true(str_eq(e.raw, "5"));
  /* array elements that are not objects, around a good one */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_NOT_OBJECT);
  assert_int_equal(e.index, 0);
  assert_true(str_eq(e.raw, "1"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, 0);
  assert_int_equal(e.index, 1);
  assert_true(str_eq(e.data, "3"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_NOT_OBJECT);
  assert_int_equal(e.index, 2);
  assert_true(str_eq(e.raw, "[4]"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
  assert_int_equal(it.skipped, 5);
  assert_int_equal(it.warnings, HMQ_ENTRY_WARN_NOT_ARRAY | HMQ_ENTRY_WARN_NOT_OBJECT);
  assert_string_equal(hmq_entry_warning_str(HMQ_ENTRY_WARN_NOT_ARRAY),
                      "property value is not an array (skipped)");
  assert_string_equal(hmq_entry_warning_str(HMQ_ENTRY_WARN_NOT_OBJECT),
                      "capability or array element is not an object (skipped)");
  assert_string_equal(hmq_entry_warning_str(HMQ_ENTRY_WARN_TIMESTAMP),
                      "timestamp is not an RFC 3339 date-time string");
  assert_string_equal(hmq_entry_warning_str(HMQ_ENTRY_WARN_DUP_KEY),
                      "entry key given twice (first one used)");
  assert_string_equal(hmq_entry_warning_str(0x100), "unknown warning");
}

static void entry_warnings(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  (void)state;
  parse_data("{\"c\":{\"p\":[{\"data\":1,\"timestamp\":\"yesterday\"},"
             "{\"data\":2,\"timestamp\":1755014868000},"
             "{\"data\":3,\"data\":4,\"timestamp\":\"2025-08-12T16:07:48Z\","
             "\"timestamp\":\"bad\"}]}}",
             &env);
  hmq_entries_begin(&it, &env);
  /* invalid timestamp: warning, entry still returned, view kept */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_TIMESTAMP);
  assert_true(str_eq(e.timestamp, "yesterday"));
  assert_int_equal(e.ts_valid, 0);
  assert_true(str_eq(e.data, "1"));
  /* a number is not a timestamp string */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_TIMESTAMP);
  assert_null(e.timestamp.ptr);
  assert_int_equal(e.ts_valid, 0);
  /* duplicate keys: first wins */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_DUP_KEY);
  assert_true(str_eq(e.data, "3"));
  assert_int_equal(e.ts_valid, 1);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
  assert_int_equal(it.skipped, 0);
  assert_int_equal(it.warnings, HMQ_ENTRY_WARN_TIMESTAMP | HMQ_ENTRY_WARN_DUP_KEY);
}

/* Entry keys and the timestamp spelled with JSON escapes are what every JSON
 * reader sees once decoded: "time\u0073tamp" is the timestamp, a key given
 * once plainly and once escaped is a duplicate (warned, the first used), and
 * an escaped timestamp value is parsed decoded. */
static void escaped_entry_keys(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  (void)state;
  parse_data("{\"c\":{\"p\":[{\"d\\u0061ta\":1,\"time\\u0073tamp\":\"2025-08-12T16:07:48Z\"},"
             "{\"data\":2,\"timestamp\":\"2025-08-12T16:07:48Z\","
             "\"\\u0074imestamp\":\"2025-08-12T16:07:49Z\"},"
             "{\"data\":3,\"timestamp\":\"2025-08-12T16:07:4\\u0038.5\\u005a\"},"
             "{\"data\":4,\"f\\u0061ilure\":{\"re\\u0061son\":\"r\",\"description\":\"d\","
             "\"descri\\u0070tion\":\"x\"},\"\\u0061vailability\":{}}]}}",
             &env);
  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, 0);
  assert_true(str_eq(e.data, "1"));
  assert_true(str_eq(e.timestamp, "2025-08-12T16:07:48Z"));
  assert_int_equal(e.ts_valid, 1);
  assert_int_equal(e.ts_ms, 1755014868000);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, HMQ_ENTRY_WARN_DUP_KEY);
  assert_int_equal(e.ts_ms, 1755014868000);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_int_equal(e.warnings, 0);
  assert_int_equal(e.ts_valid, 1);
  assert_int_equal(e.ts_ms, 1755014868500);
  assert_true(str_eq(e.timestamp, "2025-08-12T16:07:4\\u0038.5\\u005a")); /* view as sent */
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.data, "4"));
  assert_non_null(e.failure.ptr);
  assert_non_null(e.availability.ptr);
  assert_true(str_eq(e.failure_reason, "r"));
  assert_true(str_eq(e.failure_description, "d"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
  /* a capability given twice (plainly, then escaped) is walked twice: no
   * reading is dropped (names are handed out as sent) */
  parse_data("{\"c\":{\"p\":[{\"data\":1}]},\"\\u0063\":{\"p\":[{\"data\":2}]}}", &env);
  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.capability, "c") && str_eq(e.data, "1"));
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_OK);
  assert_true(str_eq(e.capability, "\\u0063") && str_eq(e.data, "2"));
  assert_int_equal(e.warnings, 0);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
}

static void rfc3339(void **state) {
  static const struct {
    const char *s;
    int64_t ms;
  } good[] = {
      {"2025-08-12T16:07:48Z", 1755014868000},
      {"2025-08-12T16:07:48.000Z", 1755014868000},
      {"2025-08-12T16:07:48.1Z", 1755014868100},
      {"2025-08-12T16:07:48.12Z", 1755014868120},
      {"2025-08-12T16:07:48.123Z", 1755014868123},
      {"2025-08-12T16:07:48.648943Z", 1755014868648},
      {"2025-08-12T16:07:48.999999999Z", 1755014868999},
      {"2025-08-12T18:07:48+02:00", 1755014868000},
      {"2025-08-12T10:37:48-05:30", 1755014868000},
      {"2025-08-12T10:37:48.123-05:30", 1755014868123},
      {"2025-08-12t16:07:48z", 1755014868000},
      {"2025-08-12T16:07:48+00:00", 1755014868000},
      {"2025-08-12T16:07:48-00:00", 1755014868000},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1000},
      {"2000-02-29T23:59:59.999Z", 951868799999},
      {"2024-02-29T12:00:00Z", 1709208000000},
      {"0000-01-01T00:00:00Z", -62167219200000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
      {"2016-12-31T23:59:60Z", 1483228800000}, /* leap second: counts as next second */
  };
  static const char *bad[] = {
      "",
      "2025-08-12",
      "2025-08-12T16:07:48",             /* no zone */
      "2025-08-12T16:07:48.Z",           /* '.' without digits */
      "2025-08-12T16:07:48.0000000000Z", /* 10 digits */
      "2025-08-12 16:07:48Z",            /* space separator */
      "2025-13-12T16:07:48Z",
      "2025-00-12T16:07:48Z",
      "2025-02-29T16:07:48Z", /* not a leap year */
      "1900-02-29T16:07:48Z", /* century, not a leap year */
      "2025-04-31T16:07:48Z",
      "2025-08-00T16:07:48Z",
      "2025-08-12T24:00:00Z",
      "2025-08-12T16:60:48Z",
      "2025-08-12T16:07:61Z",
      "2025-08-12T16:07:48+2:00",
      "2025-08-12T16:07:48+02:0",
      "2025-08-12T16:07:48+0200",
      "2025-08-12T16:07:48+24:00",
      "2025-08-12T16:07:48+02:60",
      "2025-08-12T16:07:48ZZ",
      "2025-08-12T16:07:48Z ",
      "+025-08-12T16:07:48Z",
      "2025-8-12T16:07:48Z",
      "2025-08-12T16:07:4aZ",
      "2025/08/12T16:07:48Z",
  };
  size_t i;
  int64_t ms;
  (void)state;
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    ms = 12345;
    if (hmq_rfc3339_parse(hmq_str_c(good[i].s), &ms) != HMQ_OK || ms != good[i].ms) {
      fail_msg("good %s: %lld", good[i].s, (long long)ms);
    }
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (hmq_rfc3339_parse(hmq_str_c(bad[i]), &ms) != HMQ_ERR_ARG) {
      fail_msg("bad %s accepted", bad[i]);
    }
  }
  /* every prefix of a valid stamp is invalid, and nothing past len is read */
  {
    const char *s = "2025-08-12T10:37:48.123456-05:30";
    for (i = 0; i < strlen(s); i++) {
      hmq_str v = {s, i};
      assert_int_equal(hmq_rfc3339_parse(v, &ms), HMQ_ERR_ARG);
    }
  }
  assert_int_equal(hmq_rfc3339_parse(hmq_str_c(NULL), &ms), HMQ_ERR_ARG);
}

static void bad_iterator_use(void **state) {
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  (void)state;
  memset(&env, 0, sizeof env);
  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_ERR_ARG);
  hmq_entries_begin(&it, NULL);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_ERR_ARG);
  assert_int_equal(hmq_entries_next(NULL, &e), HMQ_ERR_ARG);
  /* an envelope whose parser has moved on is stale: refused, not walked */
  {
    hmq_envelope old, fresh;
    static const char small[] = "{\"message_id\":\"m\",\"vin\":\"V\",\"data\":{}}";
    assert_int_equal(hmq_envelope_parse(&parser, HMQ_SEED_EXAMPLE, strlen(HMQ_SEED_EXAMPLE), &old),
                     HMQ_OK);
    assert_int_equal(hmq_envelope_parse(&parser, small, strlen(small), &fresh), HMQ_OK);
    hmq_entries_begin(&it, &old);
    assert_int_equal(hmq_entries_next(&it, &e), HMQ_ERR_ARG);
    hmq_entries_begin(&it, &fresh);
    assert_int_equal(hmq_entries_next(&it, &e), HMQ_NEED_MORE);
  }
  /* an envelope whose parse failed cannot be walked */
  assert_int_equal(hmq_envelope_parse(&parser, "{}", 2, &env), HMQ_ERR_ENVELOPE);
  hmq_entries_begin(&it, &env);
  assert_int_equal(hmq_entries_next(&it, &e), HMQ_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(seed_walk, setup),
      cmocka_unit_test_setup(failure_and_availability, setup),
      cmocka_unit_test_setup(multi_valued_and_empty, setup),
      cmocka_unit_test_setup(odd_shapes_are_skipped_records, setup),
      cmocka_unit_test_setup(entry_warnings, setup),
      cmocka_unit_test_setup(escaped_entry_keys, setup),
      cmocka_unit_test_setup(rfc3339, setup),
      cmocka_unit_test_setup(bad_iterator_use, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
