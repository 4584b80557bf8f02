/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the delivery pipeline's writers of untrusted bytes: any payload the
 * envelope parser rejects becomes a dead-letter line, and any line of the
 * output file is read back by the startup rescan. Invariants:
 *  - a dead-letter line is one line of strict JSON (the envelope parser
 *    accepts its grammar: it reports "not an envelope", never a JSON error),
 *    no raw control bytes, ending in "}\n";
 *  - the payload comes back byte for byte: unescaping the "payload" string
 *    (UTF-8 input) or decoding "payload_base64" (anything else);
 *  - the message_id finder returns a view inside its line, or nothing;
 *  - the message_id hash of the input is the hash of its decoded text (or,
 *    with a malformed escape, of its bytes).
 * The dead-letter sink is a stderr sink with a buffer larger than any line,
 * so the line stays in memory (no commit, nothing written).
 */
#include "pipeline/sink.h"
#include "pipeline/stats.h"
#include "pipeline/dedupe_store.h"
#include "pipeline/deliver.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (16u * 1024u)

static hmq_deliver d;
static int ready;
static unsigned char tokmem[4096 * HMQ_JSON_TOKEN_BYTES];
static char back[MAX_INPUT];

static void check(int ok) {
  if (!ok)
    abort();
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decode standard padded base64; returns the length, or (size_t)-1. */
static size_t b64dec(const char *p, size_t n, char *out, size_t cap) {
  size_t o = 0;
  if (n % 4)
    return (size_t)-1;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    for (int k = 0; k < 4; k++)
      v[k] = p[i + (size_t)k] == '=' ? 0 : b64val(p[i + (size_t)k]);
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
      return (size_t)-1;
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    size_t take = p[i + 2] == '=' ? 1 : p[i + 3] == '=' ? 2 : 3;
    for (size_t k = 0; k < take; k++) {
      if (o == cap)
        return (size_t)-1;
      out[o++] = (char)(w >> (16 - 8 * k));
    }
  }
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MAX_INPUT)
    return 0;
  if (!ready) {
    char err[128];
    check(hmq_sink_open(&d.dead, HMQ_SINK_STDERR, NULL, 8 * MAX_INPUT + 1024, err, sizeof err) ==
          HMQ_OK);
    ready = 1;
  }
  const char *id;
  size_t id_len;
  if (hmq_dstore_line_id((const char *)data, size, &id, &id_len) == 0)
    check(id > (const char *)data && id + id_len < (const char *)data + size && id_len > 0);
  /* the id hash (decoded in parts) is the hash of the whole decode, at any
   * length; a malformed escape hashes the bytes as they are */
  {
    hmq_str s = {(const char *)data, size};
    size_t n = 0;
    uint64_t h = hmq_dedupe_hash_id((const char *)data, size);
    if (hmq_json_unescape(s, back, sizeof back, &n) == HMQ_OK)
      check(h == hmq_dedupe_hash(back, n));
    else
      check(h == hmq_dedupe_hash((const char *)data, size));
  }

  d.dead.len = 0;
  d.err = HMQ_OK;
  check(hmq_deliver_dead_letter(&d, "why \"not\"\n", "t/\x01", 3, data, size, 42) == HMQ_OK);
  const char *line = (const char *)d.dead.buf;
  size_t len = d.dead.len;
  check(len >= 2 && line[len - 2] == '}' && line[len - 1] == '\n');
  for (size_t i = 0; i + 1 < len; i++)
    check((unsigned char)line[i] >= 0x20);

  hmq_envelope_parser p;
  hmq_envelope env;
  hmq_envelope_parser_init(&p, tokmem, sizeof tokmem);
  check(hmq_envelope_parse(&p, line, len - 1, &env) == HMQ_ERR_ENVELOPE);

  static const char head[] = "{\"reason\":\"why \\\"not\\\"\\n\",\"topic\":\"t/\\u0001\",\"payload";
  static const char tail[] = "\",\"received_ms\":42}\n";
  check(len > sizeof head - 1 + sizeof tail - 1 && memcmp(line, head, sizeof head - 1) == 0);
  check(memcmp(line + len - (sizeof tail - 1), tail, sizeof tail - 1) == 0);
  const char *v = line + sizeof head - 1;
  size_t vlen = len - (sizeof head - 1) - (sizeof tail - 1);
  size_t n = 0;
  if (vlen >= 3 && memcmp(v, "\":\"", 3) == 0) {
    hmq_str s = {v + 3, vlen - 3};
    check(hmq_json_unescape(s, back, sizeof back, &n) == HMQ_OK);
  } else {
    check(vlen >= 10 && memcmp(v, "_base64\":\"", 10) == 0);
    n = b64dec(v + 10, vlen - 10, back, sizeof back);
    check(n != (size_t)-1);
  }
  check(n == size && (size == 0 || memcmp(back, data, size) == 0));
  return 0;
}
