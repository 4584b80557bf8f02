/* SPDX-License-Identifier: MIT */
/*
 * mqtt_tls: hmq::mqtt's engine over hmq::tls (mutual TLS, mbedTLS), glued by
 * hmq::link, which also reconnects with backoff when the connection drops.
 * This is the shape of a High Mobility consumer without the hmq program.
 *
 *   mqtt_tls HOST PORT CA CERT KEY TOPIC COUNT
 *
 * Subscribes to TOPIC at QoS 1 with a persistent session, prints and
 * acknowledges COUNT messages, then closes cleanly. Gives up after 20 s.
 */
#define _POSIX_C_SOURCE 200809L
#include <hmq/link.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: mqtt_tls HOST PORT CA CERT KEY TOPIC COUNT\n");
    return 2;
  }
  long want = atol(argv[7]), got = 0;
  static uint8_t rx[65536], tx[4096];
  static hmq_client_slot slots[64];
  static char alias[1024];
  hmq_client_mem mem = {rx, sizeof rx, tx, sizeof tx, slots, 64, alias, sizeof alias};

  hmq_sub_filter sub = {.filter = {argv[6], strlen(argv[6])}, .qos = 1};
  hmq_client_config ccfg;
  hmq_client_config_default(&ccfg);
  ccfg.client_id = (hmq_str){"example-tls", 11};
  ccfg.session_expiry = 3600; /* the broker queues for us while we are away */
  ccfg.receive_max = 64;
  ccfg.subs = &sub;
  ccfg.sub_count = 1;

  hmq_link_config lcfg;
  hmq_link_config_default(&lcfg);
  lcfg.tls.host = argv[1];
  lcfg.tls.port = (uint16_t)atoi(argv[2]);
  lcfg.tls.ca_file = argv[3];
  lcfg.tls.cert_file = argv[4];
  lcfg.tls.key_file = argv[5];

  static hmq_link link;
  hmq_link *links[1] = {&link};
  struct pollfd pfd[1];
  hmq_link_init(&link, &lcfg, &ccfg, &mem);
  if (hmq_link_start(&link, hmq_now_ms()) != HMQ_OK) { /* loads CA, cert, key */
    fprintf(stderr, "mqtt_tls: %s\n", hmq_link_errmsg(&link));
    return 1;
  }
  uint64_t end = hmq_now_ms() + 20000;
  int closing = 0, done = 0;
  while (!done && hmq_now_ms() < end) {
    hmq_link_run_once(links, 1, pfd, 1000); /* poll + non-blocking TLS I/O */
    hmq_link_event ev;
    while (!done && hmq_link_next_event(&link, hmq_now_ms(), &ev) == HMQ_OK) {
      switch (ev.type) {
      case HMQ_LINK_EV_UP: {
        const char *version, *suite;
        hmq_tls_ciphersuite(&link.tls, &version, &suite);
        printf("TLS up: %s %s\n", version, suite);
        break;
      }
      case HMQ_LINK_EV_DOWN:
      case HMQ_LINK_EV_RETRY:
        fprintf(stderr, "mqtt_tls: %s\n", ev.msg);
        done = ev.type == HMQ_LINK_EV_DOWN && ev.final;
        break;
      case HMQ_LINK_EV_CLOSED:
        done = 1;
        break;
      case HMQ_LINK_EV_MQTT:
        if (ev.mqtt.type == HMQ_EV_PUBLISH) {
          printf("%.*s %.*s\n", (int)ev.mqtt.publish.topic.len, ev.mqtt.publish.topic.ptr,
                 (int)ev.mqtt.publish.payload.len, (const char *)ev.mqtt.publish.payload.ptr);
          hmq_link_ack(&link, ev.mqtt.seq); /* PUBACK once we hold the message */
          got++;
        }
        break;
      default:
        break;
      }
    }
    if (got >= want && !closing) {
      hmq_link_close(&link, 0x00, hmq_now_ms()); /* flushes PUBACKs + DISCONNECT */
      closing = 1;
    }
  }
  hmq_link_free(&link);
  printf("mqtt_tls: %ld of %ld messages\n", got, want);
  return got == want ? 0 : 1;
}
