/* SPDX-License-Identifier: MIT */
/*
 * bench_client: what the client engine costs per inbound QoS 1 message,
 * everything but TLS and the socket: bytes copied into rxbuf in 16 KiB reads
 * (as a TLS read would), frame peek + PUBLISH decode + flow control + ring
 * (hmq_client_next_event), the app's ack (hmq_client_ack), PUBACK encoding
 * and the write bookkeeping (hmq_client_txbuf / tx_ack) once per read.
 * Messages are 1.3 KB envelopes on a realistic High Mobility topic; the
 * yardstick is memcpy of the same bytes in the same run. The program checks
 * that every message came through once and every PUBACK left in order, and
 * exits 1 otherwise.
 *
 *   bench_client           full run (~2 s)
 *   bench_client --quick   short run
 */
#include "hmq/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSGS_IN_STREAM 512
#define READ_SIZE      16384
#define PAYLOAD        1300

static uint8_t stream[MSGS_IN_STREAM * (PAYLOAD + 128)];
static size_t stream_len;
static uint8_t rx[1u << 20];
static uint8_t tx[1u << 16];
static hmq_client_slot slots[65535];
static char alias_mem[4096];
static hmq_client c;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int build_stream(void) {
  static char payload[PAYLOAD];
  memset(payload, 'x', sizeof payload);
  memcpy(payload, "{\"version\":2,\"message_id\":\"", 27);
  for (uint16_t i = 0; i < MSGS_IN_STREAM; i++) {
    hmq_publish p;
    memset(&p, 0, sizeof p);
    p.qos = 1;
    p.packet_id = (uint16_t)(i + 1);
    p.topic = hmq_str_c("live/level13/6f1f7a1c-8c0b-4f61-9d3b-2b4b2a8f0e11/WBA1234567890ABCD");
    p.payload.ptr = (const uint8_t *)payload;
    p.payload.len = sizeof payload;
    size_t n = 0;
    if (hmq_encode_publish(stream + stream_len, sizeof stream - stream_len, &p, &n) != HMQ_OK) {
      return -1;
    }
    stream_len += n;
  }
  return 0;
}

static int connect_engine(void) {
  static const hmq_sub_filter sub = {{"$share/app/live/level13/app/#", 29}, 1, 0, 0, 0};
  hmq_client_config cfg;
  hmq_client_config_default(&cfg);
  cfg.client_id = hmq_str_c("bench");
  cfg.subs = &sub;
  cfg.sub_count = 1;
  hmq_client_mem mem = {rx, sizeof rx, tx, sizeof tx, slots, 65535, alias_mem, sizeof alias_mem};
  hmq_client_init(&c, &cfg, &mem);
  if (hmq_client_start(&c, 0) != HMQ_OK) {
    return -1;
  }
  const uint8_t *p;
  size_t n;
  hmq_client_txbuf(&c, &p, &n);
  hmq_client_tx_ack(&c, n);
  static const uint8_t connack[] = {0x20, 0x03, 0x00, 0x00, 0x00};
  uint8_t *w;
  size_t cap;
  hmq_client_rxbuf(&c, &w, &cap);
  memcpy(w, connack, sizeof connack);
  hmq_client_rx_ack(&c, sizeof connack);
  hmq_event ev;
  if (hmq_client_next_event(&c, 0, &ev) != HMQ_OK || ev.type != HMQ_EV_CONNACK) {
    return -1;
  }
  hmq_client_txbuf(&c, &p, &n);
  hmq_client_tx_ack(&c, n);
  return 0;
}

/* Push `rounds` copies of the stream through the engine; returns messages
 * delivered, or 0 when a check failed. */
static uint64_t run_engine(int rounds) {
  uint64_t msgs = 0;
  uint16_t expect_ack = 1;
  for (int r = 0; r < rounds; r++) {
    size_t off = 0;
    while (off < stream_len) {
      uint8_t *w;
      size_t cap;
      hmq_client_rxbuf(&c, &w, &cap);
      size_t k = stream_len - off < READ_SIZE ? stream_len - off : READ_SIZE;
      if (k > cap) {
        k = cap;
      }
      memcpy(w, stream + off, k);
      hmq_client_rx_ack(&c, k);
      off += k;
      hmq_event ev;
      hmq_status st;
      while ((st = hmq_client_next_event(&c, 0, &ev)) == HMQ_OK) {
        if (ev.type != HMQ_EV_PUBLISH || ev.publish.payload.len != PAYLOAD ||
            hmq_client_ack(&c, ev.seq) != HMQ_OK) {
          return 0;
        }
        msgs++;
      }
      if (st != HMQ_WANT_READ) {
        fprintf(stderr, "bench_client: %s\n", hmq_status_name(st));
        return 0;
      }
      const uint8_t *p;
      size_t n;
      hmq_client_txbuf(&c, &p, &n);
      for (size_t i = 0; i + 4 <= n; i += 4) {
        if (p[i] != 0x40 || ((p[i + 2] << 8) | p[i + 3]) != expect_ack) {
          fprintf(stderr, "bench_client: PUBACK out of order\n");
          return 0;
        }
        expect_ack = (uint16_t)(expect_ack % MSGS_IN_STREAM + 1);
      }
      hmq_client_tx_ack(&c, n);
    }
  }
  return msgs == (uint64_t)rounds * MSGS_IN_STREAM ? msgs : 0;
}

static double run_memcpy(int rounds) {
  static uint8_t sink[READ_SIZE];
  volatile uint8_t keep = 0;
  for (int r = 0; r < rounds; r++) {
    for (size_t off = 0; off < stream_len; off += READ_SIZE) {
      size_t k = stream_len - off < READ_SIZE ? stream_len - off : READ_SIZE;
      memcpy(sink, stream + off, k);
      keep = (uint8_t)(keep + sink[k - 1]);
    }
  }
  return keep;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  int rounds = quick ? 20 : 400;
  if (build_stream() != 0 || connect_engine() != 0) {
    fprintf(stderr, "bench_client: setup failed\n");
    return 1;
  }
  double best_engine = 1e9, best_copy = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    uint64_t msgs = run_engine(rounds);
    double t1 = now_s();
    if (msgs == 0) {
      fprintf(stderr, "bench_client: check failed\n");
      return 1;
    }
    (void)run_memcpy(rounds);
    double t2 = now_s();
    double per = (t1 - t0) / (double)msgs * 1e9;
    double per_copy = (t2 - t1) / (double)msgs * 1e9;
    best_engine = per < best_engine ? per : best_engine;
    best_copy = per_copy < best_copy ? per_copy : best_copy;
  }
  printf("client engine, QoS 1, %d-byte payload, %u-byte reads: %.0f ns/msg "
         "(%.2f M msg/s); memcpy of the same bytes: %.0f ns/msg\n",
         PAYLOAD, READ_SIZE, best_engine, 1e3 / best_engine, best_copy);
  return 0;
}
