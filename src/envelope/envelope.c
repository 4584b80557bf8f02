/* SPDX-License-Identifier: MIT */
/*
 * High Mobility envelope: tokenize, validate, pick the five known keys.
 *
 * Order of checks matters for speed and for honest errors: sizes first
 * (jsmn keeps int offsets), then NUL bytes (jsmn silently stops at the first
 * NUL, which would turn "valid JSON + junk" into "valid JSON"), then jsmn,
 * then the strict-grammar pass (validate.c), then the envelope rules High
 * Mobility documents and its fixtures show: only message_id, vin and data are needed to
 * route and dedupe a message, everything else is a warning.
 */
#include <stdint.h>
#include <string.h>

#include "hmq/envelope.h"
#include "envelope/jtok.h"

void hmq_envelope_parser_init(hmq_envelope_parser *p, void *mem, size_t mem_bytes) {
  uintptr_t a = (uintptr_t)mem;
  size_t align = _Alignof(hmq_jtok);
  size_t pad = (align - (size_t)(a % align)) % align;
  memset(p, 0, sizeof *p);
  if (mem == NULL || mem_bytes <= pad) {
    return;
  }
  p->tokens = (char *)mem + pad;
  p->cap = (mem_bytes - pad) / sizeof(hmq_jtok);
  if (p->cap > 0x7fffffffu) {
    p->cap = 0x7fffffffu;
  }
}

_Static_assert(sizeof(hmq_jtok) <= HMQ_JSON_TOKEN_BYTES, "HMQ_JSON_TOKEN_BYTES too small");
_Static_assert(HMQ_JSON_MAX_DEPTH == 64u, "the reasons name the depth limit: update them");

enum { K_VERSION, K_APP_ID, K_MESSAGE_ID, K_VIN, K_DATA, K_COUNT };

static const struct {
  const char *name;
  size_t len;
  const char *dup_reason;
} known[K_COUNT] = {
    {"version", 7, "duplicate key: version"},
    {"application_id", 14, "duplicate key: application_id"},
    {"message_id", 10, "duplicate key: message_id"},
    {"vin", 3, "duplicate key: vin"},
    {"data", 4, "duplicate key: data"},
};

static int has_backslash(hmq_str s) {
  return memchr(s.ptr, '\\', s.len) != NULL;
}

/* Whether key token t names `name`, its escapes decoded ("message\u005fid"
 * is message_id to every JSON reader downstream, so it must be to the
 * duplicate-key check too). Only keys holding a backslash are decoded. */
static int key_is(const char *json, const hmq_jtok *t, const char *name, size_t len) {
  char buf[16];
  if (hmq_jtok_eq(json, t, name, len))
    return 1;
  return hmq_str_is(hmq_jtok_key(json, t, buf, sizeof buf), name, len);
}

/* 1 for the bytes of a hex digit. A table and no branch per byte: the
 * check runs on every message_id (64 bytes), and the per-byte branches of
 * the range tests were most of this file's time in a drain's profile. */
static const unsigned char hex_digit[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
};

static int is_hex64(hmq_str s) {
  size_t i;
  unsigned ok = 1;
  if (s.len != 64) {
    return 0;
  }
  for (i = 0; i < 64; i++) {
    ok &= hex_digit[(unsigned char)s.ptr[i]];
  }
  return (int)ok;
}

/* 1 when every byte of s[0, len) is printable ASCII or DEL (0x20..0x7f):
 * then the payload holds no NUL, and no string in it can hold a control
 * character or a byte of a multi-byte UTF-8 sequence, so the strict pass
 * need not look at string bytes one by one (machine-written envelopes are
 * like that). Eight bytes at a time, as validate.c's string check: a byte
 * < 0x20 in w sets the high bit of (w - 0x20..20) & ~w, a byte >= 0x80
 * the high bit of w. */
static int plain_ascii(const char *s, size_t len) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  uint64_t bad = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    bad |= ((w - ones * 0x20) & ~w) | w;
  }
  for (; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    bad |= c < 0x20 || c >= 0x80 ? highs : 0;
  }
  return (bad & highs) == 0;
}

/* An integer primitive (no fraction, no exponent) that fits a long. */
static int parse_int(const char *s, size_t n, long *out) {
  size_t i = 0;
  int neg = 0;
  long v = 0;
  if (n > 0 && s[0] == '-') {
    neg = 1;
    i = 1;
  }
  if (i >= n || n - i > 9) {
    return 0;
  }
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = neg ? -v : v;
  return 1;
}

static hmq_status reject(hmq_envelope *env, hmq_status st, const char *reason, size_t at) {
  env->reason = reason;
  env->error_offset = at;
  return st;
}

hmq_status hmq_envelope_parse(hmq_envelope_parser *p, const char *payload, size_t len,
                              hmq_envelope *env) {
  hmq_jtok *toks;
  size_t n, i, err_pos = 0;
  size_t idx[K_COUNT] = {0, 0, 0, 0, 0};
  const char *why = "";
  int r, tight = 0, plain;
  hmq_status st;

  if (env == NULL) {
    return HMQ_ERR_ARG;
  }
  memset(env, 0, sizeof *env);
  env->reason = "";
  if (p == NULL || (payload == NULL && len > 0)) {
    return reject(env, HMQ_ERR_ARG, "invalid argument", 0);
  }
  p->count = 0;
  p->json = NULL;
  p->len = 0;
  p->generation++;
  if (len > HMQ_JSON_MAX_BYTES) {
    return reject(env, HMQ_ERR_JSON_TOO_BIG, "payload larger than the parser allows", 0);
  }
  plain = plain_ascii(payload, len);
  if (!plain && len > 0 && memchr(payload, 0, len) != NULL) {
    size_t at = (size_t)((const char *)memchr(payload, 0, len) - payload);
    return reject(env, HMQ_ERR_JSON_NUL, "payload contains a NUL byte", at);
  }
  if (p->cap == 0) {
    return reject(env, HMQ_ERR_JSON_TOO_BIG, "more JSON tokens than the parser holds", 0);
  }
  toks = (hmq_jtok *)p->tokens;
  r = hmq_jtok_parse(payload, len, toks, (unsigned)p->cap, HMQ_JSON_MAX_DEPTH, &err_pos);
  if (r == HMQ_JTOK_DEEP) {
    return reject(env, HMQ_ERR_JSON_TOO_BIG, "JSON nested deeper than 64 levels", err_pos);
  }
  if (r == HMQ_JTOK_NOMEM) {
    return reject(env, HMQ_ERR_JSON_TOO_BIG, "more JSON tokens than the parser holds", err_pos);
  }
  if (r == HMQ_JTOK_PART) {
    return reject(env, HMQ_ERR_JSON, "not JSON: truncated (unclosed string, object or array)",
                  err_pos);
  }
  if (r < 0) {
    return reject(env, HMQ_ERR_JSON, "not JSON: invalid character", err_pos);
  }
  n = (size_t)r;
  st = hmq_jtok_validate(payload, len, toks, n, plain, &why, &err_pos, &tight);
  if (st != HMQ_OK) {
    return reject(env, st, why, err_pos);
  }
  if (toks[0].type != JSMN_OBJECT) {
    return reject(env, HMQ_ERR_ENVELOPE, "top level is not an object", (size_t)toks[0].start);
  }

  /* Top-level members: key at i, value at i + 1. */
  for (i = 1; i < n;) {
    size_t v = i + 1, k;
    for (k = 0; k < K_COUNT; k++) {
      if (key_is(payload, &toks[i], known[k].name, known[k].len)) {
        break;
      }
    }
    if (k < K_COUNT) {
      if (idx[k] != 0) {
        return reject(env, HMQ_ERR_ENVELOPE, known[k].dup_reason, (size_t)toks[i].start);
      }
      idx[k] = v;
    } else {
      env->extra_keys++;
    }
    i = hmq_jtok_skip(toks, n, v);
  }

  if (idx[K_MESSAGE_ID] == 0) {
    return reject(env, HMQ_ERR_ENVELOPE, "message_id missing", 0);
  }
  if (toks[idx[K_MESSAGE_ID]].type != JSMN_STRING) {
    return reject(env, HMQ_ERR_ENVELOPE, "message_id is not a string",
                  (size_t)toks[idx[K_MESSAGE_ID]].start);
  }
  env->message_id = hmq_jtok_str(payload, &toks[idx[K_MESSAGE_ID]]);
  if (env->message_id.len == 0) {
    return reject(env, HMQ_ERR_ENVELOPE, "message_id is empty",
                  (size_t)toks[idx[K_MESSAGE_ID]].start);
  }
  if (idx[K_VIN] == 0) {
    return reject(env, HMQ_ERR_ENVELOPE, "vin missing", 0);
  }
  if (toks[idx[K_VIN]].type != JSMN_STRING) {
    return reject(env, HMQ_ERR_ENVELOPE, "vin is not a string", (size_t)toks[idx[K_VIN]].start);
  }
  env->vin = hmq_jtok_str(payload, &toks[idx[K_VIN]]);
  if (idx[K_DATA] == 0) {
    return reject(env, HMQ_ERR_ENVELOPE, "data missing", 0);
  }
  if (toks[idx[K_DATA]].type != JSMN_OBJECT) {
    return reject(env, HMQ_ERR_ENVELOPE, "data is not an object", (size_t)toks[idx[K_DATA]].start);
  }
  env->data = hmq_jtok_str(payload, &toks[idx[K_DATA]]);
  env->data_tok = idx[K_DATA];

  /* Tolerated deviations: warnings only. */
  env->message_id_escapes = (uint8_t)has_backslash(env->message_id);
  if (!is_hex64(env->message_id)) {
    env->warnings |= HMQ_ENV_WARN_MESSAGE_ID;
  }
  env->vin_escapes = (uint8_t)has_backslash(env->vin);
  if (env->vin.len == 0) {
    env->warnings |= HMQ_ENV_WARN_VIN_EMPTY;
  }
  if (idx[K_APP_ID] != 0 && toks[idx[K_APP_ID]].type == JSMN_STRING) {
    env->application_id = hmq_jtok_str(payload, &toks[idx[K_APP_ID]]);
    env->app_id_escapes = (uint8_t)has_backslash(env->application_id);
  } else {
    env->warnings |= HMQ_ENV_WARN_APP_ID;
  }
  if (idx[K_VERSION] != 0 && toks[idx[K_VERSION]].type == JSMN_PRIMITIVE &&
      parse_int(payload + toks[idx[K_VERSION]].start,
                (size_t)(toks[idx[K_VERSION]].end - toks[idx[K_VERSION]].start), &env->version)) {
    if (env->version != 2 && env->version != 3) {
      env->warnings |= HMQ_ENV_WARN_VERSION;
    }
  } else {
    env->warnings |= HMQ_ENV_WARN_VERSION_MISSING;
  }

  env->json = hmq_jtok_str(payload, &toks[0]);
  env->json_tight = (uint8_t)tight;
  env->parser = p;
  env->generation = p->generation;
  p->count = n;
  p->json = payload;
  p->len = len;
  return HMQ_OK;
}

const char *hmq_envelope_warning_str(unsigned bit) {
  switch (bit) {
  case HMQ_ENV_WARN_VERSION:
    return "version not supported (expected 2 or 3)";
  case HMQ_ENV_WARN_VERSION_MISSING:
    return "version missing or not an integer";
  case HMQ_ENV_WARN_APP_ID:
    return "application_id missing or not a string";
  case HMQ_ENV_WARN_MESSAGE_ID:
    return "message_id is not 64 hex characters";
  case HMQ_ENV_WARN_VIN_EMPTY:
    return "vin is empty";
  default:
    return "unknown warning";
  }
}

/* Append text to buf, truncating; pos counts the full length. */
static void put(char *buf, size_t cap, size_t *pos, const char *s, size_t n) {
  if (*pos < cap) {
    size_t room = cap - *pos;
    memcpy(buf + *pos, s, n < room ? n : room);
  }
  *pos += n;
}

hmq_status hmq_envelope_describe(const hmq_envelope *env, char *buf, size_t cap, size_t *out_len) {
  size_t pos = 0;
  unsigned bit;
  if (env == NULL || (buf == NULL && cap > 0)) {
    return HMQ_ERR_ARG;
  }
  if (env->reason != NULL && env->reason[0] != '\0') {
    put(buf, cap, &pos, env->reason, strlen(env->reason));
  } else {
    for (bit = 1; bit <= HMQ_ENV_WARN_ALL; bit <<= 1) {
      if (!(env->warnings & bit)) {
        continue;
      }
      if (pos > 0) {
        put(buf, cap, &pos, "; ", 2);
      }
      if (bit == HMQ_ENV_WARN_VERSION) {
        /* "version 7 not supported": the number is the useful part. */
        char num[24];
        size_t k = sizeof num;
        unsigned long v =
            env->version < 0 ? 0ul - (unsigned long)env->version : (unsigned long)env->version;
        do {
          num[--k] = (char)('0' + v % 10);
          v /= 10;
        } while (v > 0);
        if (env->version < 0) {
          num[--k] = '-';
        }
        put(buf, cap, &pos, "version ", 8);
        put(buf, cap, &pos, num + k, sizeof num - k);
        put(buf, cap, &pos, " not supported", 14);
      } else {
        const char *w = hmq_envelope_warning_str(bit);
        put(buf, cap, &pos, w, strlen(w));
      }
    }
  }
  if (out_len) {
    *out_len = pos;
  }
  if (cap == 0) {
    return pos == 0 ? HMQ_OK : HMQ_ERR_NO_ROOM;
  }
  if (pos < cap) {
    buf[pos] = '\0';
    return HMQ_OK;
  }
  buf[cap - 1] = '\0';
  return HMQ_ERR_NO_ROOM;
}
