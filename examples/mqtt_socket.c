/* SPDX-License-Identifier: MIT */
/*
 * mqtt_socket: the whole MQTT 5 session by hand — hmq::mqtt's engine over a
 * plain TCP socket and poll(). Only <hmq/client.h> and POSIX are used.
 *
 *   mqtt_socket PORT TOPIC COUNT
 *
 * Connects to 127.0.0.1:PORT (no TLS: a local test broker), subscribes to
 * TOPIC at QoS 1, prints and acknowledges COUNT messages, then sends
 * DISCONNECT. Gives up after 20 s. Exit status 0 when COUNT arrived.
 */
#define _POSIX_C_SOURCE 200809L
#include <hmq/client.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) { /* the engine reads no clock: we give it time */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int dial(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  return fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? fd : -1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mqtt_socket PORT TOPIC COUNT\n");
    return 2;
  }
  int fd = dial(atoi(argv[1]));
  long want = atol(argv[3]), got = 0;
  if (fd < 0) {
    perror("mqtt_socket: connect 127.0.0.1");
    return 1;
  }
  /* Every buffer is ours; the engine never allocates. */
  static uint8_t rx[65536], tx[4096];
  static hmq_client_slot slots[32];
  static char alias[1024];
  hmq_client_mem mem = {rx, sizeof rx, tx, sizeof tx, slots, 32, alias, sizeof alias};
  hmq_sub_filter sub = {.filter = {argv[2], strlen(argv[2])}, .qos = 1};
  hmq_client_config cfg;
  hmq_client_config_default(&cfg);
  cfg.client_id = (hmq_str){"example-socket", 14};
  cfg.clean_start = 1;
  cfg.receive_max = 32;
  cfg.subs = &sub;
  cfg.sub_count = 1;
  static hmq_client c;
  hmq_client_init(&c, &cfg, &mem);
  hmq_client_start(&c, now_ms()); /* queues CONNECT */
  uint64_t end = now_ms() + 20000;
  while (got < want && now_ms() < end) {
    unsigned w = hmq_client_want(&c);
    if (w & HMQ_CLIENT_WANT_CLOSED)
      break;
    struct pollfd p = {fd,
                       (short)((w & HMQ_CLIENT_WANT_READ ? POLLIN : 0) |
                               (w & HMQ_CLIENT_WANT_WRITE ? POLLOUT : 0)),
                       0};
    uint64_t due = hmq_client_deadline(&c), t = now_ms();
    poll(&p, 1, due > t ? (int)(due - t < 1000 ? due - t : 1000) : 0);
    if (p.revents & POLLOUT) { /* the engine's bytes to the socket */
      const uint8_t *out;
      size_t n;
      hmq_client_txbuf(&c, &out, &n);
      ssize_t k = send(fd, out, n, MSG_NOSIGNAL);
      hmq_client_tx_ack(&c, k > 0 ? (size_t)k : 0);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) { /* the socket's bytes to the engine */
      uint8_t *in;
      size_t cap;
      hmq_client_rxbuf(&c, &in, &cap);
      ssize_t k = recv(fd, in, cap, 0);
      if (k <= 0) {
        fprintf(stderr, "mqtt_socket: connection closed\n");
        break;
      }
      hmq_client_rx_ack(&c, (size_t)k);
    }
    hmq_event ev;
    hmq_status st;
    while ((st = hmq_client_next_event(&c, now_ms(), &ev)) == HMQ_OK) {
      if (ev.type == HMQ_EV_CONNACK)
        printf("connected (session present: %u)\n", ev.connack.session_present);
      else if (ev.type == HMQ_EV_SUBACK)
        printf("subscribed: reason 0x%02x\n", ev.suback.reasons.ptr[0]);
      else if (ev.type == HMQ_EV_PUBLISH) {
        printf("%.*s %.*s\n", (int)ev.publish.topic.len, ev.publish.topic.ptr,
               (int)ev.publish.payload.len, (const char *)ev.publish.payload.ptr);
        hmq_client_ack(&c, ev.seq); /* the PUBACK: only once we are done with it */
        got++;
      }
    }
    if (st < 0) {
      fprintf(stderr, "mqtt_socket: %s\n", hmq_status_str(st));
      break;
    }
    hmq_client_tick(&c, now_ms()); /* keepalive */
  }
  hmq_client_disconnect(&c, 0x00, -1);
  const uint8_t *out;
  size_t n;
  hmq_client_txbuf(&c, &out, &n);
  (void)!send(fd, out, n, MSG_NOSIGNAL); /* best effort: we close anyway */
  close(fd);
  printf("mqtt_socket: %ld of %ld messages\n", got, want);
  return got == want ? 0 : 1;
}
