/* SPDX-License-Identifier: MIT */
/*
 * Frame reader tests (MQTT 5.0 2.1.1 fixed header, 2.1.4 Remaining Length).
 * A hand-written stream of server packets is fed whole, one byte at a time
 * and split at every point; all three must cut the same frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hmq/codec.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Fixed-header cases                                                       */

static void every_packet_type_and_flags(void **state) {
  (void)state;
  for (unsigned t = 1; t <= 15; t++) {
    for (unsigned f = 0; f <= 15; f++) {
      uint8_t b[2] = {(uint8_t)(t << 4 | f), 0x00};
      hmq_frame fr;
      size_t need = 777;
      assert_int_equal(hmq_frame_peek(b, 2, 0, &fr, &need), HMQ_OK);
      assert_int_equal(fr.type, t);
      assert_int_equal(fr.flags, f); /* flags are the body decoder's job */
      assert_int_equal(fr.header_len, 2);
      assert_int_equal(fr.remaining, 0);
      assert_int_equal(fr.total, 2);
      assert_int_equal(need, 777); /* untouched on OK */
    }
  }
}

/* 2.1.2: type 0 is reserved — rejected from the first byte on. */
static void type_zero_is_reserved(void **state) {
  (void)state;
  const uint8_t b[] = {0x00, 0x00};
  const uint8_t f[] = {0x0F, 0x00};
  hmq_frame fr;
  size_t need;
  assert_int_equal(hmq_frame_peek(b, 1, 0, &fr, &need), HMQ_ERR_PACKET_TYPE);
  assert_int_equal(hmq_frame_peek(b, 2, 0, &fr, &need), HMQ_ERR_PACKET_TYPE);
  assert_int_equal(hmq_frame_peek(f, 2, 0, &fr, &need), HMQ_ERR_PACKET_TYPE);
}

typedef struct {
  uint32_t remaining;
  uint8_t hdr[5];
  size_t header_len;
} hdr_vec;

/* Remaining Length at each varint boundary (table in 1.5.5). */
static const hdr_vec hdrs[] = {
    {0u, {0x30, 0x00}, 2},
    {127u, {0x30, 0x7F}, 2},
    {128u, {0x30, 0x80, 0x01}, 3},
    {16383u, {0x30, 0xFF, 0x7F}, 3},
    {16384u, {0x30, 0x80, 0x80, 0x01}, 4},
    {2097151u, {0x30, 0xFF, 0xFF, 0x7F}, 4},
    {2097152u, {0x30, 0x80, 0x80, 0x80, 0x01}, 5},
    {268435455u, {0x30, 0xFF, 0xFF, 0xFF, 0x7F}, 5},
};

static void remaining_length_boundaries(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
    hmq_frame fr;
    size_t need = 0;
    size_t total = hdrs[i].header_len + hdrs[i].remaining;
    hmq_status st = hmq_frame_peek(hdrs[i].hdr, hdrs[i].header_len, 0, &fr, &need);
    assert_int_equal(st, hdrs[i].remaining == 0 ? HMQ_OK : HMQ_NEED_MORE);
    assert_int_equal(fr.type, HMQ_PKT_PUBLISH);
    assert_int_equal(fr.header_len, hdrs[i].header_len);
    assert_int_equal(fr.remaining, hdrs[i].remaining);
    assert_int_equal(fr.total, total);
    if (st == HMQ_NEED_MORE) {
      assert_int_equal(need, total);
    }
  }
  /* the largest packet there can be: 268435455 + 5 */
  assert_int_equal(hdrs[7].header_len + hdrs[7].remaining, HMQ_MAX_PACKET);
}

/* NEED_MORE for every prefix of every header: while the length field is
 * incomplete `need` asks for one more byte (2 for an empty buffer, the
 * smallest packet); once it is complete `need` is the exact total. */
static void need_for_every_prefix(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
    size_t total = hdrs[i].header_len + hdrs[i].remaining;
    for (size_t p = 0; p < hdrs[i].header_len; p++) {
      hmq_frame fr;
      size_t need = 0;
      assert_int_equal(hmq_frame_peek(hdrs[i].hdr, p, 0, &fr, &need), HMQ_NEED_MORE);
      assert_int_equal(need, p == 0 ? 2 : p + 1);
      assert_true(need <= total);
    }
  }
  hmq_frame fr;
  size_t need = 0;
  assert_int_equal(hmq_frame_peek(NULL, 0, 0, &fr, &need), HMQ_NEED_MORE);
  assert_int_equal(need, 2);
  assert_int_equal(hmq_frame_peek(NULL, 0, 0, &fr, NULL), HMQ_NEED_MORE); /* need optional */
  assert_int_equal(hmq_frame_peek(hdrs[0].hdr, 2, 0, NULL, &need), HMQ_ERR_ARG);
}

/* The same for the body: a 10-byte PUBLISH, every prefix. */
static void need_for_every_body_prefix(void **state) {
  (void)state;
  const uint8_t pkt[] = {0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'i'};
  static const size_t want_need[] = {2, 2, 10, 10, 10, 10, 10, 10, 10, 10};
  for (size_t p = 0; p < sizeof pkt; p++) {
    hmq_frame fr;
    size_t need = 0;
    assert_int_equal(hmq_frame_peek(pkt, p, 0, &fr, &need), HMQ_NEED_MORE);
    assert_int_equal(need, want_need[p]);
  }
  hmq_frame fr;
  assert_int_equal(hmq_frame_peek(pkt, sizeof pkt, 0, &fr, NULL), HMQ_OK);
  assert_int_equal(fr.total, sizeof pkt);
  /* trailing bytes of the next packet are not part of this one */
  uint8_t two[sizeof pkt + 3];
  memcpy(two, pkt, sizeof pkt);
  two[sizeof pkt] = 0xD0;
  two[sizeof pkt + 1] = 0x00;
  two[sizeof pkt + 2] = 0x30;
  assert_int_equal(hmq_frame_peek(two, sizeof two, 0, &fr, NULL), HMQ_OK);
  assert_int_equal(fr.total, sizeof pkt);
}

/* 1.5.5: at most four length bytes; [MQTT-1.5.5-1]: shortest form. */
static void remaining_length_malformed(void **state) {
  (void)state;
  hmq_frame fr;
  size_t need;
  const uint8_t too_long[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
  assert_int_equal(hmq_frame_peek(too_long, 5, 0, &fr, &need), HMQ_ERR_VARINT_TOO_LONG);
  assert_int_equal(hmq_frame_peek(too_long, 6, 0, &fr, &need), HMQ_ERR_VARINT_TOO_LONG);
  const uint8_t nm2[] = {0xD0, 0x80, 0x00};
  assert_int_equal(hmq_frame_peek(nm2, 3, 0, &fr, &need), HMQ_ERR_VARINT_NOT_MINIMAL);
  const uint8_t nm4[] = {0x30, 0x80, 0x80, 0x80, 0x00};
  assert_int_equal(hmq_frame_peek(nm4, 5, 0, &fr, &need), HMQ_ERR_VARINT_NOT_MINIMAL);
}

/* [MQTT-3.1.2-24]: the whole packet (fixed header included) must not exceed
 * the Maximum Packet Size we announced; known as soon as the header is in. */
static void max_packet_size(void **state) {
  (void)state;
  const uint8_t pkt[] = {0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'i'};
  hmq_frame fr;
  size_t need = 0;
  assert_int_equal(hmq_frame_peek(pkt, sizeof pkt, 10, &fr, &need), HMQ_OK);
  assert_int_equal(hmq_frame_peek(pkt, sizeof pkt, 9, &fr, &need), HMQ_ERR_PACKET_TOO_LARGE);
  assert_int_equal(hmq_frame_peek(pkt, 2, 9, &fr, &need), HMQ_ERR_PACKET_TOO_LARGE);
  assert_int_equal(hmq_frame_peek(pkt, 2, 10, &fr, &need), HMQ_NEED_MORE);
  assert_int_equal(need, 10);
  assert_int_equal(hmq_frame_peek(pkt, 1, 9, &fr, &need), HMQ_NEED_MORE); /* not known yet */
  /* the smallest limit still lets a 2-byte PINGRESP through */
  const uint8_t ping[] = {0xD0, 0x00};
  assert_int_equal(hmq_frame_peek(ping, 2, 2, &fr, &need), HMQ_OK);
  assert_int_equal(hmq_frame_peek(ping, 2, 1, &fr, &need), HMQ_ERR_PACKET_TOO_LARGE);
  /* 0 = no limit besides HMQ_MAX_PACKET */
  assert_int_equal(hmq_frame_peek(hdrs[7].hdr, 5, 0, &fr, &need), HMQ_NEED_MORE);
  assert_int_equal(need, HMQ_MAX_PACKET);
  assert_int_equal(hmq_frame_peek(hdrs[7].hdr, 5, UINT32_MAX, &fr, &need), HMQ_NEED_MORE);
  assert_int_equal(hmq_frame_peek(hdrs[7].hdr, 5, HMQ_MAX_PACKET - 1, &fr, &need),
                   HMQ_ERR_PACKET_TOO_LARGE);
}

/* ------------------------------------------------------------------------ */
/* A server stream, fed whole, byte by byte and at every split point        */

#define BIG_PAYLOAD 200

static uint8_t stream[512];
static size_t stream_len;

typedef struct {
  uint8_t type, flags;
  size_t header_len, remaining;
} want_frame;

static const want_frame wanted[] = {
    {HMQ_PKT_CONNACK, 0x0, 2, 6},  {HMQ_PKT_SUBACK, 0x0, 2, 4},     {HMQ_PKT_PUBLISH, 0x0, 2, 8},
    {HMQ_PKT_PUBLISH, 0x2, 2, 10}, {HMQ_PKT_PUBLISH, 0xB, 3, 206},  {HMQ_PKT_PINGRESP, 0x0, 2, 0},
    {HMQ_PKT_PUBLISH, 0x2, 2, 10}, {HMQ_PKT_DISCONNECT, 0x0, 2, 1},
};
#define NWANT (sizeof wanted / sizeof wanted[0])

static void append(const uint8_t *b, size_t n) {
  memcpy(stream + stream_len, b, n);
  stream_len += n;
}

static void build_stream(void) {
  stream_len = 0;
  /* CONNACK: session present 0, Success, props {Receive Maximum 10} */
  const uint8_t connack[] = {0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x0A};
  /* SUBACK: packet id 1, no props, Granted QoS 1 */
  const uint8_t suback[] = {0x90, 0x04, 0x00, 0x01, 0x00, 0x01};
  /* PUBLISH QoS 0: topic "a/b", no props, payload "hi" */
  const uint8_t pub0[] = {0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'i'};
  /* PUBLISH QoS 1: topic "t", id 7, props {Payload Format 1}, payload "{}" */
  const uint8_t pub1[] = {0x32, 0x0A, 0x00, 0x01, 't', 0x00, 0x07, 0x02, 0x01, 0x01, '{', '}'};
  /* PUBLISH QoS 1 DUP RETAIN: topic "t", id 8, no props, 200-byte payload:
   * remaining 3 + 2 + 1 + 200 = 206 = 0xCE 0x01 */
  const uint8_t pub_big_hdr[] = {0x3B, 0xCE, 0x01, 0x00, 0x01, 't', 0x00, 0x08, 0x00};
  const uint8_t pingresp[] = {0xD0, 0x00};
  /* DISCONNECT: Server shutting down, no props */
  const uint8_t disconnect[] = {0xE0, 0x01, 0x8B};
  append(connack, sizeof connack);
  append(suback, sizeof suback);
  append(pub0, sizeof pub0);
  append(pub1, sizeof pub1);
  append(pub_big_hdr, sizeof pub_big_hdr);
  uint8_t payload[BIG_PAYLOAD];
  for (size_t i = 0; i < BIG_PAYLOAD; i++) {
    payload[i] = (uint8_t)('A' + i % 26);
  }
  append(payload, sizeof payload);
  append(pingresp, sizeof pingresp);
  append(pub1, sizeof pub1);
  append(disconnect, sizeof disconnect);
}

/* What a reader cut out of the stream. */
typedef struct {
  hmq_frame frames[16];
  size_t offsets[16]; /* where each frame began in the stream */
  size_t count;
  uint8_t acc[512]; /* reassembly buffer */
  size_t acc_len;
  size_t consumed; /* stream bytes already cut into frames */
} cutter;

/* Append a chunk and cut every whole packet out of the reassembly buffer;
 * checks the NEED_MORE contract on the way. */
static void feed(cutter *c, const uint8_t *b, size_t n) {
  memcpy(c->acc + c->acc_len, b, n);
  c->acc_len += n;
  for (int guard = 0; guard < 64; guard++) {
    hmq_frame fr;
    size_t need = 0;
    hmq_status st = hmq_frame_peek(c->acc, c->acc_len, 0, &fr, &need);
    if (st == HMQ_NEED_MORE) {
      assert_true(need > c->acc_len);
      return;
    }
    assert_int_equal(st, HMQ_OK);
    assert_true(c->count < 16);
    /* the packet bytes must be the stream's bytes at that offset */
    assert_memory_equal(c->acc, stream + c->consumed, fr.total);
    c->frames[c->count] = fr;
    c->offsets[c->count] = c->consumed;
    c->count++;
    c->consumed += fr.total;
    memmove(c->acc, c->acc + fr.total, c->acc_len - fr.total);
    c->acc_len -= fr.total;
  }
  fail_msg("feed did not stop");
}

static void check_cut(const cutter *c) {
  assert_int_equal(c->count, NWANT);
  assert_int_equal(c->acc_len, 0);
  assert_int_equal(c->consumed, stream_len);
  for (size_t i = 0; i < NWANT; i++) {
    assert_int_equal(c->frames[i].type, wanted[i].type);
    assert_int_equal(c->frames[i].flags, wanted[i].flags);
    assert_int_equal(c->frames[i].header_len, wanted[i].header_len);
    assert_int_equal(c->frames[i].remaining, wanted[i].remaining);
    assert_int_equal(c->frames[i].total, wanted[i].header_len + wanted[i].remaining);
  }
}

static void same_cut(const cutter *a, const cutter *b) {
  assert_int_equal(a->count, b->count);
  for (size_t i = 0; i < a->count; i++) { /* field by field: padding may differ */
    assert_int_equal(a->frames[i].type, b->frames[i].type);
    assert_int_equal(a->frames[i].flags, b->frames[i].flags);
    assert_int_equal(a->frames[i].header_len, b->frames[i].header_len);
    assert_int_equal(a->frames[i].remaining, b->frames[i].remaining);
    assert_int_equal(a->frames[i].total, b->frames[i].total);
  }
  assert_memory_equal(a->offsets, b->offsets, a->count * sizeof a->offsets[0]);
}

static void stream_whole_bytewise_and_every_split(void **state) {
  (void)state;
  build_stream();
  assert_true(stream_len > 250);

  static cutter whole, bytewise, split;
  memset(&whole, 0, sizeof whole);
  feed(&whole, stream, stream_len);
  check_cut(&whole);

  memset(&bytewise, 0, sizeof bytewise);
  for (size_t i = 0; i < stream_len; i++) {
    feed(&bytewise, stream + i, 1);
  }
  check_cut(&bytewise);
  same_cut(&whole, &bytewise);

  for (size_t k = 0; k <= stream_len; k++) {
    memset(&split, 0, sizeof split);
    feed(&split, stream, k);
    feed(&split, stream + k, stream_len - k);
    check_cut(&split);
    same_cut(&whole, &split);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_packet_type_and_flags),
      cmocka_unit_test(type_zero_is_reserved),
      cmocka_unit_test(remaining_length_boundaries),
      cmocka_unit_test(need_for_every_prefix),
      cmocka_unit_test(need_for_every_body_prefix),
      cmocka_unit_test(remaining_length_malformed),
      cmocka_unit_test(max_packet_size),
      cmocka_unit_test(stream_whole_bytewise_and_every_split),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
