/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the envelope entry point with whatever a broker could deliver as a
 * PUBLISH payload: parse, walk every record, format compact and flat into
 * fixed buffers, and check the invariants the hmq program relies on:
 *  - every view lies inside the payload;
 *  - the compact form re-parses to the same message_id, vin, warnings and
 *    token count, and compacting it again changes nothing;
 *  - every flat line is strict JSON;
 *  - unescaping a validated string never fails and never grows it;
 *  - the dedupe set sees the message_id as new, then as a duplicate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/dedupe.h"
#include "hmq/envelope.h"

#define MAX_INPUT (64u * 1024u)

static unsigned char tokmem[8192 * HMQ_JSON_TOKEN_BYTES];
static unsigned char tokmem2[8192 * HMQ_JSON_TOKEN_BYTES];
static unsigned char tokmem3[8192 * HMQ_JSON_TOKEN_BYTES];
static char compact[MAX_INPUT];
static char again[MAX_INPUT];
static char line[3 * MAX_INPUT + 256];
static char wrapped[3 * MAX_INPUT + 512];
static char unesc[MAX_INPUT];
static uint64_t dmem[1024];

static void check(int ok) {
  if (!ok) {
    abort();
  }
}

static void inside(hmq_str v, const char *base, size_t len) {
  if (v.ptr == NULL) {
    return;
  }
  check(v.ptr >= base && v.len <= len && (size_t)(v.ptr - base) <= len - v.len);
}

static void unescape_ok(hmq_str s) {
  size_t n = 0;
  check(hmq_json_unescape(s, unesc, sizeof unesc, &n) == HMQ_OK);
  check(n <= s.len);
}

static int same(hmq_str a, hmq_str b) {
  return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hmq_envelope_parser p, p2, p3;
  hmq_envelope env, env2, env3;
  hmq_entries it;
  hmq_entry e;
  const char *js = (const char *)data;
  char text[64];
  size_t n = 0, n2 = 0, records = 0;
  hmq_status st;
  hmq_dedupe set;

  if (size > MAX_INPUT) {
    return 0;
  }
  hmq_envelope_parser_init(&p, tokmem, sizeof tokmem);
  hmq_envelope_parser_init(&p2, tokmem2, sizeof tokmem2);
  hmq_envelope_parser_init(&p3, tokmem3, sizeof tokmem3);
  st = hmq_envelope_parse(&p, js, size, &env);
  check(hmq_envelope_describe(&env, text, sizeof text, NULL) == HMQ_OK ||
        strlen(text) == sizeof text - 1);
  if (st != HMQ_OK) {
    check(st < 0 && env.reason != NULL && env.reason[0] != '\0');
    check(env.error_offset <= size);
    return 0;
  }
  inside(env.message_id, js, size);
  inside(env.vin, js, size);
  inside(env.application_id, js, size);
  inside(env.data, js, size);
  inside(env.json, js, size);
  check(env.message_id.len > 0 && env.vin.ptr != NULL && env.data.ptr[0] == '{');
  if (env.message_id_escapes) {
    unescape_ok(env.message_id);
  }
  if (env.vin_escapes) {
    unescape_ok(env.vin);
  }

  /* compact: re-parses to the same envelope, and is a fixed point */
  check(hmq_json_compact(&env, compact, sizeof compact, &n) == HMQ_OK);
  check(n <= env.json.len);
  check(hmq_envelope_parse(&p2, compact, n, &env2) == HMQ_OK);
  check(same(env.message_id, env2.message_id) && same(env.vin, env2.vin));
  check(env.warnings == env2.warnings && env.version == env2.version);
  check(p.count == p2.count);
  check(hmq_json_compact(&env2, again, sizeof again, &n2) == HMQ_OK);
  check(n2 == n && memcmp(again, compact, n) == 0);

  /* walk: every record inside the payload, every flat line strict JSON */
  hmq_entries_begin(&it, &env);
  while ((st = hmq_entries_next(&it, &e)) == HMQ_OK) {
    size_t len = 0;
    check(++records <= p.count);
    inside(e.capability, js, size);
    inside(e.property, js, size);
    inside(e.raw, js, size);
    inside(e.data, js, size);
    inside(e.timestamp, js, size);
    inside(e.failure, js, size);
    inside(e.failure_reason, js, size);
    inside(e.failure_description, js, size);
    inside(e.availability, js, size);
    check(!e.ts_valid || e.timestamp.ptr != NULL);
    check(hmq_format_flat(&env, &e, line, sizeof line, &len) == HMQ_OK);
    if (e.warnings & HMQ_ENTRY_SKIPPED) {
      check(len == 0);
      continue;
    }
    memcpy(wrapped, "{\"message_id\":\"m\",\"vin\":\"v\",\"data\":", 35);
    memcpy(wrapped + 35, line, len);
    wrapped[35 + len] = '}';
    check(hmq_envelope_parse(&p3, wrapped, len + 36, &env3) == HMQ_OK);
    if (len > 0) {
      size_t small = 0;
      check(hmq_format_flat(&env, &e, line, len - 1, &small) == HMQ_ERR_NO_ROOM);
      check(small == len);
    }
  }
  check(st == HMQ_NEED_MORE);
  check(hmq_entries_next(&it, &e) == HMQ_NEED_MORE);

  hmq_dedupe_init(&set, dmem, sizeof dmem, 16);
  check(hmq_dedupe_seen(&set, env.message_id.ptr, env.message_id.len) == 0);
  check(hmq_dedupe_seen(&set, env.message_id.ptr, env.message_id.len) == 1);
  return 0;
}
