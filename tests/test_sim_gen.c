/* SPDX-License-Identifier: MIT */
/*
 * hmq-sim's envelope generator (tools/hmq-sim/sim_gen.c): reproducible, parseable
 * by our own envelope parser without warnings, and as varied as the real
 * stream (docs/stream.md: versions 2 and 3, 0/3/6 fractional digits, entries
 * without timestamps, failures, multi-valued properties, duplicates, out of
 * order timestamps, ~1.3 KB).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_gen.h"

#include "hmq/envelope.h"

#include <stdio.h>
#include <string.h>

static char topic[HMQ_SIM_TOPIC_MAX];
static char payload[HMQ_SIM_PAYLOAD_MAX];
static char payload2[HMQ_SIM_PAYLOAD_MAX];

static void gen_init(hmq_sim_gen *g, uint64_t seed, double dup) {
  hmq_sim_gen_config cfg;
  hmq_sim_gen_config_default(&cfg);
  cfg.seed = seed;
  cfg.dup_rate = dup;
  cfg.app_id = "879577a3-b25f-4a28-8c0e-7effcc7682a2";
  assert_int_equal(hmq_sim_gen_init(g, &cfg), HMQ_OK);
}

static void test_config_checked(void **state) {
  hmq_sim_gen g;
  hmq_sim_gen_config cfg;
  (void)state;
  hmq_sim_gen_config_default(&cfg);
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_OK);
  cfg.vins = 0;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_ERR_ARG);
  cfg.vins = HMQ_SIM_MAX_VINS + 1;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_ERR_ARG);
  hmq_sim_gen_config_default(&cfg);
  cfg.dup_rate = 1.5;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_ERR_ARG);
  hmq_sim_gen_config_default(&cfg);
  cfg.ooo_rate = -0.1;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_ERR_ARG);
  hmq_sim_gen_config_default(&cfg);
  cfg.app_id = "0123456789012345678901234567890123456789012345678901234567890123456789";
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_ERR_ARG);
  hmq_sim_gen_config_default(&cfg);
  cfg.env = NULL;
  assert_int_equal(hmq_sim_gen_init(&g, &cfg), HMQ_ERR_ARG);
}

/* Same seed and number: same bytes; another seed: other bytes. */
static void test_deterministic(void **state) {
  hmq_sim_gen a, b, c;
  hmq_sim_msg ma, mb, mc;
  (void)state;
  gen_init(&a, 7, 0.0);
  gen_init(&b, 7, 0.0);
  gen_init(&c, 8, 0.0);
  for (uint64_t k = 0; k < 200; k++) {
    assert_int_equal(hmq_sim_gen_next(&a, topic, sizeof topic, payload, sizeof payload, &ma),
                     HMQ_OK);
    assert_int_equal(hmq_sim_gen_make(&b, k, topic, sizeof topic, payload2, sizeof payload2, &mb),
                     HMQ_OK);
    assert_int_equal(ma.number, k);
    assert_int_equal(ma.payload_len, mb.payload_len);
    assert_memory_equal(payload, payload2, ma.payload_len);
    assert_int_equal(hmq_sim_gen_make(&c, k, topic, sizeof topic, payload2, sizeof payload2, &mc),
                     HMQ_OK);
    assert_true(mc.payload_len != ma.payload_len || memcmp(payload, payload2, ma.payload_len));
  }
}

/* A duplicate is an earlier message again: same bytes, same message_id. */
static void test_duplicates(void **state) {
  hmq_sim_gen g, ref;
  hmq_sim_msg m, r;
  uint64_t dups = 0, n = 20000;
  (void)state;
  gen_init(&g, 3, 0.05);
  gen_init(&ref, 3, 0.05);
  for (uint64_t i = 0; i < n; i++) {
    assert_int_equal(hmq_sim_gen_next(&g, topic, sizeof topic, payload, sizeof payload, &m),
                     HMQ_OK);
    if (!m.duplicate)
      continue;
    dups++;
    assert_true(m.number < g.next_new);
    assert_true(g.next_new - m.number <= HMQ_SIM_DUP_WINDOW);
    assert_int_equal(
        hmq_sim_gen_make(&ref, m.number, topic, sizeof topic, payload2, sizeof payload2, &r),
        HMQ_OK);
    assert_int_equal(r.payload_len, m.payload_len);
    assert_memory_equal(payload, payload2, m.payload_len);
  }
  assert_int_equal(dups, g.duplicates);
  assert_int_equal(g.emitted, n);
  assert_int_equal(g.next_new + g.duplicates, n);
  /* 5 % of 20000 = 1000; binomial sd ~31 */
  assert_in_range(dups, 850, 1150);
  /* rate 0: never a duplicate */
  gen_init(&g, 3, 0.0);
  for (uint64_t i = 0; i < 2000; i++) {
    assert_int_equal(hmq_sim_gen_next(&g, topic, sizeof topic, payload, sizeof payload, &m),
                     HMQ_OK);
    assert_int_equal(m.duplicate, 0);
  }
}

static void test_no_room(void **state) {
  hmq_sim_gen g;
  hmq_sim_msg m;
  char small[200];
  (void)state;
  gen_init(&g, 1, 0.0);
  assert_int_equal(hmq_sim_gen_make(&g, 0, topic, sizeof topic, small, sizeof small, &m),
                   HMQ_ERR_NO_ROOM);
  assert_int_equal(hmq_sim_gen_make(&g, 0, small, 20, payload, sizeof payload, &m),
                   HMQ_ERR_NO_ROOM);
  /* and the generator is unchanged by a failed next() */
  assert_int_equal(hmq_sim_gen_next(&g, topic, sizeof topic, small, sizeof small, &m),
                   HMQ_ERR_NO_ROOM);
  assert_int_equal(g.emitted, 0);
}

static int has_str(hmq_str s, const char *c) {
  return s.ptr && s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* Fractional digits of an RFC 3339 view: 0, 3, 6 (or -1 for other). */
static int frac_digits(hmq_str ts) {
  const char *dot = memchr(ts.ptr, '.', ts.len);
  if (!dot)
    return 0;
  return (int)(ts.ptr + ts.len - dot) - 2; /* minus '.' and 'Z' */
}

static const char *const caps[] = {"diagnostics", "vehicle_location", "charging", "doors",
                                   "ignition",    "engine",           "climate",  "race",
                                   "maintenance", "theft_alarm"};
#define NCAPS (sizeof caps / sizeof caps[0])

/* Every message is a valid envelope without warnings, and the stream has
 * the variety of the real one. */
static void test_realistic(void **state) {
  static unsigned char tokmem[4096 * HMQ_JSON_TOKEN_BYTES];
  static char vins[64][20];
  hmq_envelope_parser p;
  hmq_envelope env;
  hmq_entries it;
  hmq_entry e;
  hmq_sim_gen g;
  hmq_sim_msg m;
  size_t nvins = 0, total = 0, maxlen = 0, n = 5000;
  size_t v2 = 0, v3 = 0, frac[7] = {0}, no_ts = 0, failures = 0, tires = 0, ooo = 0;
  size_t cap_seen[NCAPS] = {0};
  int64_t latest = 0;
  char prefix[128];
  (void)state;
  hmq_envelope_parser_init(&p, tokmem, sizeof tokmem);
  gen_init(&g, 11, 0.01);
  snprintf(prefix, sizeof prefix, "sandbox/level13/%s/", g.app_id);
  for (size_t i = 0; i < n; i++) {
    int64_t msg_max = INT64_MIN;
    size_t k;
    assert_int_equal(hmq_sim_gen_next(&g, topic, sizeof topic, payload, sizeof payload, &m),
                     HMQ_OK);
    total += m.payload_len;
    if (m.payload_len > maxlen)
      maxlen = m.payload_len;
    assert_int_equal(m.topic_len, strlen(topic));
    assert_int_equal(hmq_envelope_parse(&p, payload, m.payload_len, &env), HMQ_OK);
    assert_int_equal(env.warnings, 0);
    assert_int_equal(env.extra_keys, 0);
    assert_true(env.version == 2 || env.version == 3);
    env.version == 2 ? v2++ : v3++;
    assert_true(has_str(env.application_id, g.app_id));
    assert_int_equal(env.message_id.len, 64);
    for (k = 0; k < 64; k++)
      assert_non_null(strchr("0123456789ABCDEF", env.message_id.ptr[k]));
    /* topic <env>/level13/<app-id>/<vin> */
    assert_memory_equal(topic, prefix, strlen(prefix));
    assert_int_equal(strlen(topic + strlen(prefix)), env.vin.len);
    assert_memory_equal(topic + strlen(prefix), env.vin.ptr, env.vin.len);
    assert_true(env.vin.len == 17 || env.vin.len == 11);
    for (k = 0; k < nvins && !has_str(env.vin, vins[k]); k++) {
    }
    if (k == nvins) {
      assert_true(nvins < 64);
      memcpy(vins[nvins], env.vin.ptr, env.vin.len);
      vins[nvins++][env.vin.len] = '\0';
    }
    hmq_entries_begin(&it, &env);
    while (hmq_entries_next(&it, &e) == HMQ_OK) {
      assert_int_equal(e.warnings, 0);
      for (k = 0; k < NCAPS; k++)
        cap_seen[k] += has_str(e.capability, caps[k]);
      if (e.timestamp.ptr) {
        int d = frac_digits(e.timestamp);
        assert_int_equal(e.ts_valid, 1);
        assert_true(d == 0 || d == 3 || d == 6);
        frac[d]++;
        if (e.ts_ms > msg_max)
          msg_max = e.ts_ms;
      } else {
        no_ts++;
      }
      if (e.failure.ptr) {
        failures++;
        assert_non_null(e.failure_reason.ptr);
        assert_non_null(e.failure_description.ptr);
        assert_null(e.data.ptr);
      } else {
        assert_non_null(e.data.ptr);
      }
      if (has_str(e.property, "tire_pressures") && !e.failure.ptr) {
        tires++;
        assert_true(e.index < 4);
      }
    }
    assert_int_equal(it.skipped, 0);
    /* out of order: this message's newest entry is older than a minute
     * before the newest seen so far */
    if (msg_max != INT64_MIN) {
      if (msg_max < latest - 60000)
        ooo++;
      if (msg_max > latest)
        latest = msg_max;
    }
  }
  print_message("avg %zu B, max %zu B, v2 %zu v3 %zu, frac 0/3/6 %zu/%zu/%zu, no ts %zu, "
                "failures %zu, out of order %zu, vins %zu\n",
                total / n, maxlen, v2, v3, frac[0], frac[3], frac[6], no_ts, failures, ooo, nvins);
  assert_in_range(total / n, 1100, 1600); /* "typical size ~1.3 KB" */
  assert_true(maxlen < HMQ_SIM_PAYLOAD_MAX / 2);
  assert_int_equal(nvins, 50);
  assert_in_range(v3, n / 10, n * 3 / 10);
  assert_true(frac[0] > 1000 && frac[3] > 1000 && frac[6] > 1000);
  assert_true(no_ts > 100);
  assert_true(failures > 50);
  assert_true(tires > 1000);
  assert_in_range(ooo, n / 50, n / 10); /* ooo_rate 0.05 */
  for (size_t k = 0; k < NCAPS; k++) {
    if (cap_seen[k] == 0)
      fail_msg("capability %s never generated", caps[k]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_checked), cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_duplicates),     cmocka_unit_test(test_no_room),
      cmocka_unit_test(test_realistic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
