/* SPDX-License-Identifier: MIT */
/*
 * bench_codec: what the codec costs on the hot path of a High Mobility
 * stream, measured against memcpy of the same bytes in the same run.
 *
 *  - decode of one realistic 700-byte QoS 1 PUBLISH (topic
 *    live/level13/<app-uuid>/<vin>, JSON envelope payload): hmq_frame_peek +
 *    hmq_decode_publish, as the client engine does per packet; once without
 *    properties and once with Payload Format
 *    Indicator 1, which makes the decoder check the payload is UTF-8
 *    (MQTT 5.0 3.3.2.3.2);
 *  - encode of the PUBACK answering it (hmq_encode_ack, 4-byte short form,
 *    MQTT 5.0 3.4.2.1);
 *  - yardstick: memcpy of the same 700 bytes.
 * Times are the best of 7 interleaved rounds of ~0.06 s per operation (the
 * machine is shared and noisy; the minimum is the least disturbed). Heap allocations are counted
 * during the measured loops by interposing malloc/calloc/realloc/free
 * (glibc; skipped under sanitizers, which interpose them themselves): the
 * library promises none on the per-message path, so any count makes the
 * program exit 1.
 *
 *   bench_codec           full run (~2 s)
 *   bench_codec --quick   short run for ctest (checks results and allocations)
 */
#include "hmq/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HMQ_BENCH_PACKET 700

/* ---- allocation counter ---------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define HMQ_BENCH_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define HMQ_BENCH_NO_INTERPOSE 1
#endif
#endif

static volatile int counting;

#if defined(__GLIBC__) && !defined(HMQ_BENCH_NO_INTERPOSE)
#define HMQ_BENCH_COUNTS 1
static unsigned long n_alloc;
static unsigned long n_free;
/* glibc's own entry points: forwarding to them avoids dlsym(), which itself
 * allocates while the interposer is being set up. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n) {
  if (counting) {
    n_alloc++;
  }
  return __libc_malloc(n);
}
void *calloc(size_t k, size_t n) {
  if (counting) {
    n_alloc++;
  }
  return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n) {
  if (counting) {
    n_alloc++;
  }
  return __libc_realloc(p, n);
}
void free(void *p) {
  if (counting && p != NULL) {
    n_free++;
  }
  __libc_free(p);
}
#endif

/* ---- the packet ---------------------------------------------------------- */

static const char topic[] = "live/level13/4f2a9c1e-7b3d-4e8a-9c61-2d5f8e0b7a34/WBADT43452G915678";

static const char envelope[] =
    "{\"version\":3,\"application_id\":\"4F2A9C1E7B3D4E8A9C612D5F8E0B7A34\","
    "\"message_id\":\"9B8E2C51D7A04F36B1E0C9D2A7F4136E5C8B0D2F9A1E7C3B6D4F0A2E8C5B1D7A\","
    "\"vin\":\"WBADT43452G915678\",\"data\":{\"diagnostics\":{\"odometer\":[{\"data\":"
    "{\"unit\":\"kilometers\",\"value\":19201.01},\"timestamp\":\"2026-11-25T11:20:48.000Z\"}],"
    "\"speed\":[{\"data\":{\"unit\":\"kilometers_per_hour\",\"value\":42},\"timestamp\":"
    "\"2026-11-25T11:20:48.000Z\"}],\"fuel_level\":[{\"data\":0.62,\"timestamp\":"
    "\"2026-11-25T11:20:48.000Z\"}]},\"vehicle_location\":{\"coordinates\":[{\"data\":"
    "{\"latitude\":52.52,\"longitude\":13.405},\"timestamp\":\"2026-11-25T11:20:47.648943Z\"}]}}}";

/* Encode the PUBLISH, padding the JSON with trailing whitespace (valid JSON)
 * so the whole packet is exactly HMQ_BENCH_PACKET bytes. */
static size_t make_publish(uint8_t *pkt, size_t cap, uint8_t *payload, int utf8_flag,
                           size_t *payload_len) {
  hmq_publish p;
  memset(&p, 0, sizeof p);
  p.qos = 1;
  p.packet_id = 4711;
  p.topic.ptr = topic;
  p.topic.len = sizeof topic - 1;
  if (utf8_flag) {
    p.props.present = HMQ_PROP_BIT(HMQ_PROP_PAYLOAD_FORMAT);
    p.props.payload_format = 1;
  }
  size_t n = 0;
  p.payload.ptr = payload;
  p.payload.len = 0;
  if (hmq_encode_publish(pkt, cap, &p, &n) != HMQ_OK || n > HMQ_BENCH_PACKET) {
    return 0;
  }
  /* Body without payload = n minus the fixed header; the full packet has a
   * 2-byte Remaining Length (697 > 127, MQTT 5.0 1.5.5). */
  size_t body = n - 1 - hmq_varint_size((uint32_t)(n - 2));
  size_t len = (HMQ_BENCH_PACKET - 3) - body;
  size_t json = sizeof envelope - 1;
  if (len < json) {
    return 0;
  }
  memcpy(payload, envelope, json);
  memset(payload + json, ' ', len - json);
  p.payload.len = len;
  if (hmq_encode_publish(pkt, cap, &p, &n) != HMQ_OK) {
    return 0;
  }
  *payload_len = len;
  return n;
}

/* ---- timing ---------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sinks the optimizer cannot see through. */
static volatile size_t sink;
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

typedef struct bench_ctx {
  const uint8_t *pkt;
  size_t len;
  uint8_t dst[HMQ_BENCH_PACKET];
  int failed;
} bench_ctx;

static void run_memcpy(bench_ctx *c, long iters) {
  size_t acc = 0;
  for (long i = 0; i < iters; i++) {
    copy_fn(c->dst, c->pkt, c->len);
    acc += c->dst[(size_t)i % c->len];
  }
  sink = acc;
}

static void run_decode(bench_ctx *c, long iters) {
  size_t acc = 0;
  for (long i = 0; i < iters; i++) {
    hmq_frame fr;
    hmq_publish pub;
    if (hmq_frame_peek(c->pkt, c->len, 0, &fr, NULL) != HMQ_OK ||
        hmq_decode_publish(c->pkt, fr.total, &pub) != HMQ_OK) {
      c->failed = 1;
      return;
    }
    acc += pub.payload.len + pub.topic.len + pub.packet_id;
  }
  sink = acc;
}

static void run_encode_ack(bench_ctx *c, long iters) {
  size_t acc = 0;
  hmq_ack ack;
  memset(&ack, 0, sizeof ack);
  ack.type = HMQ_PKT_PUBACK;
  for (long i = 0; i < iters; i++) {
    size_t n = 0;
    ack.packet_id = (uint16_t)(1 + (i & 0x7fff));
    if (hmq_encode_ack(c->dst, sizeof c->dst, &ack, &n) != HMQ_OK || n != 4) {
      c->failed = 1;
      return;
    }
    acc += c->dst[3];
  }
  sink = acc;
}

typedef void (*bench_fn)(bench_ctx *, long);

/* Iterations that take about `target` seconds. */
static long calibrate(bench_fn fn, bench_ctx *c, double target) {
  long iters = 1000;
  for (;;) {
    double t0 = now_s();
    fn(c, iters);
    double dt = now_s() - t0;
    if (dt >= target / 8 || iters > (1L << 40)) {
      return (long)((double)iters * target / (dt > 1e-9 ? dt : 1e-9)) + 1;
    }
    iters *= 8;
  }
}

/* One timed round of fn, counting heap calls; ns per operation. */
static double timed(bench_fn fn, bench_ctx *c, long iters) {
  counting = 1;
  double t0 = now_s();
  fn(c, iters);
  double dt = now_s() - t0;
  counting = 0;
  return dt * 1e9 / (double)iters;
}

static void report(const char *name, double ns, double base_ns) {
  printf("%-34s %9.1f ns/packet %12.0f packets/s", name, ns, 1e9 / ns);
  if (base_ns > 0) {
    printf("   %5.2fx memcpy", ns / base_ns);
  }
  printf("\n");
}

int main(int argc, char **argv) {
  double target = 0.45; /* seconds per operation, over all rounds */
  if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
    target = 0.02;
  } else if (argc > 1) {
    fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
    return 2;
  }
  static uint8_t pkt_plain[1024], pkt_utf8[1024], payload[1024];
  size_t pay_plain = 0, pay_utf8 = 0;
  size_t n_plain = make_publish(pkt_plain, sizeof pkt_plain, payload, 0, &pay_plain);
  size_t n_utf8 = make_publish(pkt_utf8, sizeof pkt_utf8, payload, 1, &pay_utf8);
  if (n_plain != HMQ_BENCH_PACKET || n_utf8 != HMQ_BENCH_PACKET) {
    fprintf(stderr, "bench_codec: could not build the %d-byte PUBLISH\n", HMQ_BENCH_PACKET);
    return 1;
  }
#if defined(__clang__)
  printf("compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
  printf("compiler: gcc %s\n", __VERSION__);
#endif
  printf("PUBLISH QoS 1, %d bytes: topic %zu bytes, JSON payload %zu bytes (%zu with the "
         "UTF-8 flag)\n",
         HMQ_BENCH_PACKET, sizeof topic - 1, pay_plain, pay_utf8);

#ifdef HMQ_BENCH_COUNTS
  /* The counter must see an allocation, or its 0 below would mean nothing. */
  static void *(*volatile alloc_fn)(size_t) = malloc;
  counting = 1;
  void *probe = alloc_fn(16);
  free(probe);
  counting = 0;
  if (n_alloc != 1 || n_free != 1) {
    fprintf(stderr, "bench_codec: allocation counter is not working\n");
    return 1;
  }
  n_alloc = n_free = 0;
#endif
  /* The machine is shared: rounds of all four run interleaved, so a busy
   * moment hits every measurement alike, and each keeps its best round. */
  enum { N_BENCH = 4, ROUNDS = 7 };
  static bench_ctx ctx[N_BENCH];
  const bench_fn fns[N_BENCH] = {run_memcpy, run_decode, run_decode, run_encode_ack};
  long iters[N_BENCH];
  double best[N_BENCH];
  for (int b = 0; b < N_BENCH; b++) {
    ctx[b].pkt = b == 2 ? pkt_utf8 : pkt_plain;
    ctx[b].len = b == 2 ? n_utf8 : n_plain;
    iters[b] = calibrate(fns[b], &ctx[b], target / ROUNDS);
    best[b] = 1e30;
  }
  for (int r = 0; r < ROUNDS; r++) {
    for (int b = 0; b < N_BENCH; b++) {
      double ns = timed(fns[b], &ctx[b], iters[b]);
      best[b] = ns < best[b] ? ns : best[b];
    }
  }
  for (int b = 0; b < N_BENCH; b++) {
    if (ctx[b].failed) {
      fprintf(stderr, "bench_codec: decode or encode failed\n");
      return 1;
    }
  }
  double base = best[0], dec = best[1], dec_utf8 = best[2], ack = best[3];
  report("memcpy 700 B (yardstick)", base, 0);
  report("decode PUBLISH (peek+decode)", dec, base);
  report("decode PUBLISH, UTF-8 payload check", dec_utf8, base);
  report("encode PUBACK", ack, base);
#ifdef HMQ_BENCH_COUNTS
  printf("heap allocations in measured loops: %lu (frees %lu)\n", n_alloc, n_free);
  if (n_alloc != 0 || n_free != 0) {
    fprintf(stderr, "bench_codec: the codec allocated on the per-message path\n");
    return 1;
  }
#else
  printf(
      "heap allocations in measured loops: not counted in this build (sanitizer or non-glibc)\n");
#endif
  return 0;
}
