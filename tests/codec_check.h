/* SPDX-License-Identifier: MIT */
/*
 * Shared checks for the packet codec tests (test_connect.c, test_publish.c,
 * test_acks.c, test_subscribe.c, test_control.c). Include after cmocka.h.
 *
 * - ASSERT_ST: status equality that prints both names on failure.
 * - check_encode: exact bytes, and the NO_ROOM contract of codec.h (cap =
 *   needed - 1 fails with *out_len = needed; cap = needed succeeds).
 * - check_frame: hmq_frame_peek over the vector whole, fed byte by byte and
 *   at every 2-way split, then the decoder's "exactly one packet" rules.
 * - A table of every MQTT 5 property written out by hand from 2.2.2.2 and
 *   3.x, and run_prop_matrix: each property in and out of each packet type.
 */
#ifndef HMQ_TEST_CODEC_CHECK_H
#define HMQ_TEST_CODEC_CHECK_H

#include "hmq/codec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ASSERT_ST(got, want) assert_string_equal(hmq_status_name(got), hmq_status_name(want))

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* An encoder with its packet struct behind a void pointer. */
typedef hmq_status (*enc_fn)(uint8_t *buf, size_t cap, const void *p, size_t *out_len);
/* A decoder reduced to its status. */
typedef hmq_status (*dec_fn)(const uint8_t *pkt, size_t len);

static inline void check_encode(enc_fn enc, const void *p, const uint8_t *want, size_t n) {
  uint8_t buf[1024];
  size_t len = 12345;
  assert_true(n < sizeof buf);
  memset(buf, 0xEE, sizeof buf);
  ASSERT_ST(enc(buf, sizeof buf, p, &len), HMQ_OK);
  assert_int_equal(len, n);
  assert_memory_equal(buf, want, n);
  /* One byte short: NO_ROOM, the exact size needed, bytes untouched. */
  uint8_t small[1024];
  memset(small, 0xEE, sizeof small);
  len = 0;
  ASSERT_ST(enc(small, n - 1, p, &len), HMQ_ERR_NO_ROOM);
  assert_int_equal(len, n);
  assert_int_equal(small[0], 0xEE);
  len = 0;
  ASSERT_ST(enc(NULL, 0, p, &len), HMQ_ERR_NO_ROOM);
  assert_int_equal(len, n);
  len = 0;
  ASSERT_ST(enc(small, n, p, &len), HMQ_OK);
  assert_int_equal(len, n);
  assert_memory_equal(small, want, n);
}

/* An encoder that must refuse p with `want`, whatever the buffer. */
static inline void check_encode_fails(enc_fn enc, const void *p, hmq_status want) {
  uint8_t buf[1024];
  size_t len = 12345;
  ASSERT_ST(enc(buf, sizeof buf, p, &len), want);
  assert_int_equal(len, 0);
  ASSERT_ST(enc(NULL, 0, p, &len), want);
}

static inline void check_peek_one(const uint8_t *pkt, size_t n) {
  hmq_frame f;
  size_t need = 0;
  /* Every prefix is incomplete and says how much more it needs. */
  for (size_t k = 0; k < n; k++) {
    need = 0;
    ASSERT_ST(hmq_frame_peek(pkt, k, 0, &f, &need), HMQ_NEED_MORE);
    assert_true(need > k);
    assert_true(need <= n);
  }
  memset(&f, 0, sizeof f);
  ASSERT_ST(hmq_frame_peek(pkt, n, 0, &f, &need), HMQ_OK);
  assert_int_equal(f.total, n);
  assert_int_equal(f.type, pkt[0] >> 4);
  assert_int_equal(f.flags, pkt[0] & 0x0F);
  assert_int_equal(f.header_len + f.remaining, n);
}

/*
 * The vector as a stream: byte by byte into a receive buffer, and split in
 * two at every point; the frame appears exactly when the last byte lands,
 * and a second packet behind it does not change the first frame.
 */
static inline void check_frame(const uint8_t *pkt, size_t n) {
  uint8_t rx[2048];
  hmq_frame f;
  assert_true(2 * n <= sizeof rx);
  check_peek_one(pkt, n);
  size_t have = 0;
  for (size_t i = 0; i < n; i++) {
    rx[have++] = pkt[i];
    hmq_status st = hmq_frame_peek(rx, have, 0, &f, NULL);
    ASSERT_ST(st, have == n ? HMQ_OK : HMQ_NEED_MORE);
  }
  for (size_t split = 0; split <= n; split++) {
    memcpy(rx, pkt, split);
    hmq_status st = hmq_frame_peek(rx, split, 0, &f, NULL);
    ASSERT_ST(st, split == n ? HMQ_OK : HMQ_NEED_MORE);
    memcpy(rx + split, pkt + split, n - split);
    memcpy(rx + n, pkt, n); /* the next packet already behind it */
    ASSERT_ST(hmq_frame_peek(rx, 2 * n, 0, &f, NULL), HMQ_OK);
    assert_int_equal(f.total, n);
  }
}

/* Decoders take exactly one whole packet: a prefix is HMQ_ERR_LENGTH, never
 * a read past the end; a trailing byte is HMQ_ERR_LENGTH for a good packet
 * (a broken one may report its own error first). */
static inline void check_decode_bounds(dec_fn dec, const uint8_t *pkt, size_t n, hmq_status want) {
  uint8_t more[2048];
  assert_true(n + 1 <= sizeof more);
  for (size_t k = 0; k < n; k++) {
    ASSERT_ST(dec(pkt, k), HMQ_ERR_LENGTH);
  }
  memcpy(more, pkt, n);
  more[n] = 0x00;
  hmq_status st = dec(more, n + 1);
  if (want == HMQ_OK || want == HMQ_ERR_LENGTH) {
    ASSERT_ST(st, HMQ_ERR_LENGTH);
  } else if (st != HMQ_ERR_LENGTH) {
    ASSERT_ST(st, want);
  }
}

/* Both: the frame reader and the decoder's bounds; then the decoder's
 * verdict on the whole vector. */
static inline void check_vector(dec_fn dec, const uint8_t *pkt, size_t n, hmq_status want) {
  check_frame(pkt, n);
  check_decode_bounds(dec, pkt, n, want);
  ASSERT_ST(dec(pkt, n), want);
}

/* ------------------------------------------------------------------------ */
/* Properties, one hand-written example each (MQTT 5.0 2.2.2.2).            */

static const hmq_user_prop test_user_kv = {{"k", 1}, {"v", 1}};

typedef struct prop_case {
  uint8_t id;
  const char *name;
  uint8_t bytes[12];
  size_t n;
} prop_case;

static const prop_case prop_cases[] = {
    /* id, bytes: identifier then value */
    {0x01, "payload format 1", {0x01, 0x01}, 2},
    {0x02, "message expiry 3600", {0x02, 0x00, 0x00, 0x0E, 0x10}, 5},
    {0x03, "content type a/j", {0x03, 0x00, 0x03, 'a', '/', 'j'}, 6},
    {0x08, "response topic r/t", {0x08, 0x00, 0x03, 'r', '/', 't'}, 6},
    {0x09, "correlation data C0 DE", {0x09, 0x00, 0x02, 0xC0, 0xDE}, 5},
    /* 300 = 0b10_0101100: low 7 bits 0x2C with continuation, then 0x02 */
    {0x0B, "subscription id 300", {0x0B, 0xAC, 0x02}, 3},
    {0x11, "session expiry never", {0x11, 0xFF, 0xFF, 0xFF, 0xFF}, 5},
    {0x12, "assigned client id id1", {0x12, 0x00, 0x03, 'i', 'd', '1'}, 6},
    {0x13, "server keep alive 30", {0x13, 0x00, 0x1E}, 3},
    {0x15, "auth method SCRAM", {0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M'}, 8},
    {0x16, "auth data 01 02 03", {0x16, 0x00, 0x03, 0x01, 0x02, 0x03}, 6},
    {0x17, "request problem info 0", {0x17, 0x00}, 2},
    {0x18, "will delay 60", {0x18, 0x00, 0x00, 0x00, 0x3C}, 5},
    {0x19, "request response info 1", {0x19, 0x01}, 2},
    {0x1A, "response info ri", {0x1A, 0x00, 0x02, 'r', 'i'}, 5},
    {0x1C, "server reference s2", {0x1C, 0x00, 0x02, 's', '2'}, 5},
    {0x1F, "reason string why", {0x1F, 0x00, 0x03, 'w', 'h', 'y'}, 6},
    {0x21, "receive max 65535", {0x21, 0xFF, 0xFF}, 3},
    {0x22, "topic alias max 10", {0x22, 0x00, 0x0A}, 3},
    {0x23, "topic alias 5", {0x23, 0x00, 0x05}, 3},
    {0x24, "max qos 1", {0x24, 0x01}, 2},
    {0x25, "retain available 0", {0x25, 0x00}, 2},
    {0x26, "user k=v", {0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v'}, 7},
    {0x27, "max packet size 1 MiB", {0x27, 0x00, 0x10, 0x00, 0x00}, 5},
    {0x28, "wildcard sub available 1", {0x28, 0x01}, 2},
    {0x29, "sub id available 0", {0x29, 0x00}, 2},
    {0x2A, "shared sub available 1", {0x2A, 0x01}, 2},
};

/* The same values as prop_cases, as struct fields. */
static inline void prop_case_set(hmq_props *p, uint8_t id) {
  p->present |= HMQ_PROP_BIT(id);
  switch (id) {
  case 0x01:
    p->payload_format = 1;
    break;
  case 0x02:
    p->message_expiry = 3600;
    break;
  case 0x03:
    p->content_type = (hmq_str){"a/j", 3};
    break;
  case 0x08:
    p->response_topic = (hmq_str){"r/t", 3};
    break;
  case 0x09:
    p->correlation_data = (hmq_bin){(const uint8_t *)"\xC0\xDE", 2};
    break;
  case 0x0B:
    p->subscription_id = 300;
    break;
  case 0x11:
    p->session_expiry = 0xFFFFFFFFu;
    break;
  case 0x12:
    p->assigned_client_id = (hmq_str){"id1", 3};
    break;
  case 0x13:
    p->server_keep_alive = 30;
    break;
  case 0x15:
    p->auth_method = (hmq_str){"SCRAM", 5};
    break;
  case 0x16:
    p->auth_data = (hmq_bin){(const uint8_t *)"\x01\x02\x03", 3};
    break;
  case 0x17:
    p->request_problem_info = 0;
    break;
  case 0x18:
    p->will_delay = 60;
    break;
  case 0x19:
    p->request_response_info = 1;
    break;
  case 0x1A:
    p->response_info = (hmq_str){"ri", 2};
    break;
  case 0x1C:
    p->server_reference = (hmq_str){"s2", 2};
    break;
  case 0x1F:
    p->reason_string = (hmq_str){"why", 3};
    break;
  case 0x21:
    p->receive_max = 65535;
    break;
  case 0x22:
    p->topic_alias_max = 10;
    break;
  case 0x23:
    p->topic_alias = 5;
    break;
  case 0x24:
    p->max_qos = 1;
    break;
  case 0x25:
    p->retain_available = 0;
    break;
  case 0x26:
    p->user = &test_user_kv, p->user_count = 1;
    break;
  case 0x27:
    p->max_packet_size = 1048576;
    break;
  case 0x28:
    p->wildcard_sub_available = 1;
    break;
  case 0x29:
    p->sub_id_available = 0;
    break;
  case 0x2A:
    p->shared_sub_available = 1;
    break;
  default:
    fail_msg("no property case for id 0x%02X", id);
  }
}

static inline void assert_str_eq(hmq_str a, hmq_str b) {
  assert_int_equal(a.len, b.len);
  assert_non_null(b.ptr);
  if (a.len > 0) {
    assert_memory_equal(a.ptr, b.ptr, a.len);
  }
}

static inline void assert_bin_eq(hmq_bin a, hmq_bin b) {
  assert_int_equal(a.len, b.len);
  assert_non_null(b.ptr);
  if (a.len > 0) {
    assert_memory_equal(a.ptr, b.ptr, a.len);
  }
}

/*
 * `got` (decoded) carries what `want` (encoder input) had: the same present
 * bits and values, user properties checked through hmq_props_next.
 */
static inline void assert_props_eq(const hmq_props *want, const hmq_props *got) {
  uint64_t want_present = want->present;
  if (want->user_count > 0) {
    want_present |= HMQ_PROP_BIT(HMQ_PROP_USER);
  }
  assert_int_equal(got->present, want_present);
#define HAS(id) (want_present & HMQ_PROP_BIT(id))
  if (HAS(0x01))
    assert_int_equal(got->payload_format, want->payload_format);
  if (HAS(0x02))
    assert_int_equal(got->message_expiry, want->message_expiry);
  if (HAS(0x03))
    assert_str_eq(want->content_type, got->content_type);
  if (HAS(0x08))
    assert_str_eq(want->response_topic, got->response_topic);
  if (HAS(0x09))
    assert_bin_eq(want->correlation_data, got->correlation_data);
  if (HAS(0x0B))
    assert_int_equal(got->subscription_id, want->subscription_id);
  if (HAS(0x0B))
    assert_int_equal(got->sub_id_count, 1);
  if (HAS(0x11))
    assert_int_equal(got->session_expiry, want->session_expiry);
  if (HAS(0x12))
    assert_str_eq(want->assigned_client_id, got->assigned_client_id);
  if (HAS(0x13))
    assert_int_equal(got->server_keep_alive, want->server_keep_alive);
  if (HAS(0x15))
    assert_str_eq(want->auth_method, got->auth_method);
  if (HAS(0x16))
    assert_bin_eq(want->auth_data, got->auth_data);
  if (HAS(0x17))
    assert_int_equal(got->request_problem_info, want->request_problem_info);
  if (HAS(0x18))
    assert_int_equal(got->will_delay, want->will_delay);
  if (HAS(0x19))
    assert_int_equal(got->request_response_info, want->request_response_info);
  if (HAS(0x1A))
    assert_str_eq(want->response_info, got->response_info);
  if (HAS(0x1C))
    assert_str_eq(want->server_reference, got->server_reference);
  if (HAS(0x1F))
    assert_str_eq(want->reason_string, got->reason_string);
  if (HAS(0x21))
    assert_int_equal(got->receive_max, want->receive_max);
  if (HAS(0x22))
    assert_int_equal(got->topic_alias_max, want->topic_alias_max);
  if (HAS(0x23))
    assert_int_equal(got->topic_alias, want->topic_alias);
  if (HAS(0x24))
    assert_int_equal(got->max_qos, want->max_qos);
  if (HAS(0x25))
    assert_int_equal(got->retain_available, want->retain_available);
  if (HAS(0x27))
    assert_int_equal(got->max_packet_size, want->max_packet_size);
  if (HAS(0x28))
    assert_int_equal(got->wildcard_sub_available, want->wildcard_sub_available);
  if (HAS(0x29))
    assert_int_equal(got->sub_id_available, want->sub_id_available);
  if (HAS(0x2A))
    assert_int_equal(got->shared_sub_available, want->shared_sub_available);
#undef HAS
  assert_int_equal(got->user_count, want->user_count);
  size_t cursor = 0, users = 0;
  hmq_prop pr;
  hmq_status st;
  while ((st = hmq_props_next(got, &cursor, &pr)) == HMQ_OK) {
    if (pr.id == HMQ_PROP_USER) {
      assert_true(users < want->user_count);
      assert_str_eq(want->user[users].key, pr.str);
      assert_str_eq(want->user[users].value, pr.str2);
      users++;
    }
  }
  ASSERT_ST(st, HMQ_NEED_MORE);
  assert_int_equal(users, want->user_count);
}

/* Give decoded props back their user array so they can be encoded again. */
static inline hmq_props props_for_reencode(const hmq_props *got, hmq_user_prop *users, size_t max) {
  hmq_props p = *got;
  size_t cursor = 0, n = 0;
  hmq_prop pr;
  while (hmq_props_next(got, &cursor, &pr) == HMQ_OK) {
    if (pr.id == HMQ_PROP_USER && n < max) {
      users[n].key = pr.str;
      users[n].value = pr.str2;
      n++;
    }
  }
  assert_int_equal(n, got->user_count);
  p.user = n > 0 ? users : NULL;
  p.raw = (hmq_bin){NULL, 0};
  return p;
}

/*
 * One packet type against every property: `pre` and `suf` are the bytes
 * before and after the property block (written by hand in the caller);
 * allowed ones must encode to byte0, RL, pre, len, prop, suf and decode back;
 * the others must be refused by the encoder and by the decoder with
 * HMQ_ERR_PROP_NOT_ALLOWED.
 */
typedef struct prop_matrix {
  const char *packet;
  uint8_t byte0;
  const uint8_t *pre;
  size_t npre;
  const uint8_t *suf;
  size_t nsuf;
  const uint8_t *allowed; /* property ids allowed here, from 2.2.2.2 */
  size_t nallowed;
  hmq_status (*encode)(uint8_t *buf, size_t cap, const hmq_props *props, size_t *out_len);
  hmq_status (*decode)(const uint8_t *pkt, size_t len, hmq_props *props);
} prop_matrix;

static inline size_t matrix_bytes(const prop_matrix *m, const prop_case *c, uint8_t *out) {
  size_t n = 0;
  size_t rem = m->npre + 1 + c->n + m->nsuf;
  assert_true(rem < 128); /* one-byte Remaining Length keeps the vectors legible */
  out[n++] = m->byte0;
  out[n++] = (uint8_t)rem;
  memcpy(out + n, m->pre, m->npre), n += m->npre;
  out[n++] = (uint8_t)c->n;
  memcpy(out + n, c->bytes, c->n), n += c->n;
  if (m->nsuf > 0) {
    memcpy(out + n, m->suf, m->nsuf), n += m->nsuf;
  }
  return n;
}

static const prop_matrix *matrix_current;
static inline hmq_status matrix_enc(uint8_t *buf, size_t cap, const void *p, size_t *out_len) {
  return matrix_current->encode(buf, cap, p, out_len);
}

static inline void run_prop_matrix(const prop_matrix *m) {
  uint8_t want[256];
  uint8_t again[256];
  hmq_user_prop users[4];
  matrix_current = m;
  for (size_t i = 0; i < NELEM(prop_cases); i++) {
    const prop_case *c = &prop_cases[i];
    bool allowed = memchr(m->allowed, c->id, m->nallowed) != NULL;
    hmq_props in;
    memset(&in, 0, sizeof in);
    prop_case_set(&in, c->id);
    size_t n = matrix_bytes(m, c, want);
    hmq_props got;
    memset(&got, 0, sizeof got);
    print_message("%s + %s: %s\n", m->packet, c->name, allowed ? "allowed" : "not allowed");
    if (!allowed) {
      check_encode_fails(matrix_enc, &in, HMQ_ERR_PROP_NOT_ALLOWED);
      ASSERT_ST(m->decode(want, n, &got), HMQ_ERR_PROP_NOT_ALLOWED);
      continue;
    }
    check_encode(matrix_enc, &in, want, n);
    check_frame(want, n);
    ASSERT_ST(m->decode(want, n, &got), HMQ_OK);
    assert_props_eq(&in, &got);
    /* Round trip: decoded fields encode to the same bytes. */
    hmq_props back = props_for_reencode(&got, users, NELEM(users));
    size_t len = 0;
    ASSERT_ST(m->encode(again, sizeof again, &back, &len), HMQ_OK);
    assert_int_equal(len, n);
    assert_memory_equal(again, want, n);
  }
}

#endif
