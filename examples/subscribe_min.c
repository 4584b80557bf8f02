/* SPDX-License-Identifier: MIT */
/*
 * subscribe_min: the smallest useful use of hmq's public codec.
 *
 * It builds the two packets a High Mobility subscriber sends first (CONNECT
 * with a persistent session, SUBSCRIBE to a shared QoS 1 filter), then reads
 * canned server bytes (CONNACK, one QoS 1 PUBLISH) the way a real loop would
 * read them off a socket, and answers the PUBLISH with a PUBACK. Packets are
 * printed in hex; the exit status is 0 only if every step did what MQTT 5
 * says it should. Only <hmq/codec.h> is used, so this doubles as the check
 * that an installed or vendored hmq is usable.
 */
#include <hmq/codec.h>

#include <stdio.h>
#include <string.h>

static void print_hex(const char *what, const uint8_t *p, size_t n) {
  printf("%-9s %3zu bytes:", what, n);
  for (size_t i = 0; i < n; i++) {
    printf(" %02x", p[i]);
  }
  printf("\n");
}

static int fail(const char *what, hmq_status st) {
  fprintf(stderr, "subscribe_min: %s: %s (%s)\n", what, hmq_status_name(st), hmq_status_str(st));
  return 1;
}

/* What the broker sends back: CONNACK (session not present, success,
 * Receive Maximum 10, Topic Alias Maximum 5), then a QoS 1 PUBLISH with
 * packet id 7. Two packets in one buffer, as one socket read may return. */
static const uint8_t server_bytes[] = {
    0x20, 0x09, 0x00, 0x00, 0x06, 0x21, 0x00, 0x0a, 0x22, 0x00, 0x05, /* CONNACK */
    0x32, 0x26, 0x00, 0x14, 'l',  'i',  'v',  'e',  '/',  'l',  'e',  'v',  'e',  'l',
    '1',  '3',  '/',  'a',  'p',  'p',  '/',  'V',  'I',  'N',  0x00, 0x07, 0x00, '{',
    '"',  'v',  'i',  'n',  '"',  ':',  '"',  'V',  'I',  'N',  '"',  '}'};

int main(void) {
  uint8_t out[256];
  size_t n = 0;
  hmq_status st;

  hmq_connect conn;
  memset(&conn, 0, sizeof conn);
  conn.clean_start = 0; /* persistent session: messages queue while we are away */
  conn.keep_alive = 60;
  conn.client_id = hmq_str_c("app-sandbox-example1");
  conn.props.present = HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY) | HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX);
  conn.props.session_expiry = 0xFFFFFFFFu;
  conn.props.receive_max = 65535;
  st = hmq_encode_connect(out, sizeof out, &conn, &n);
  if (st != HMQ_OK) {
    return fail("encode CONNECT", st);
  }
  print_hex("CONNECT", out, n);

  hmq_sub_filter filter;
  memset(&filter, 0, sizeof filter);
  filter.filter = hmq_str_c("$share/app/sandbox/level13/app/#");
  filter.qos = 1;
  hmq_subscribe sub;
  memset(&sub, 0, sizeof sub);
  sub.packet_id = 1;
  sub.filters = &filter;
  sub.count = 1;
  st = hmq_encode_subscribe(out, sizeof out, &sub, &n);
  if (st != HMQ_OK) {
    return fail("encode SUBSCRIBE", st);
  }
  print_hex("SUBSCRIBE", out, n);

  /* Frame first, then body: each whole packet is handed to its decoder. */
  size_t off = 0;
  int got_connack = 0;
  int got_publish = 0;
  while (off < sizeof server_bytes) {
    hmq_frame fr;
    st = hmq_frame_peek(server_bytes + off, sizeof server_bytes - off, 0, &fr, NULL);
    if (st != HMQ_OK) {
      return fail("frame", st);
    }
    const uint8_t *pkt = server_bytes + off;
    if (fr.type == HMQ_PKT_CONNACK) {
      hmq_connack ca;
      st = hmq_decode_connack(pkt, fr.total, &ca);
      if (st != HMQ_OK) {
        return fail("decode CONNACK", st);
      }
      printf("CONNACK   reason 0x%02x (%s) session_present %u receive_max %u\n", ca.reason,
             hmq_reason_str(HMQ_PKT_CONNACK, ca.reason), ca.session_present,
             (ca.props.present & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX)) ? ca.props.receive_max
                                                                     : 65535u);
      got_connack = ca.reason == 0x00 && ca.props.receive_max == 10;
    } else if (fr.type == HMQ_PKT_PUBLISH) {
      hmq_publish pub;
      st = hmq_decode_publish(pkt, fr.total, &pub);
      if (st != HMQ_OK) {
        return fail("decode PUBLISH", st);
      }
      /* Views: topic and payload point into server_bytes, not NUL-terminated. */
      printf("PUBLISH   qos %u id %u topic %.*s payload %.*s\n", pub.qos, pub.packet_id,
             (int)pub.topic.len, pub.topic.ptr, (int)pub.payload.len,
             (const char *)pub.payload.ptr);
      hmq_ack ack;
      memset(&ack, 0, sizeof ack);
      ack.type = HMQ_PKT_PUBACK;
      ack.packet_id = pub.packet_id;
      st = hmq_encode_ack(out, sizeof out, &ack, &n);
      if (st != HMQ_OK) {
        return fail("encode PUBACK", st);
      }
      print_hex("PUBACK", out, n);
      got_publish = pub.qos == 1 && pub.packet_id == 7 && n == 4;
    }
    off += fr.total;
  }
  if (!got_connack || !got_publish) {
    fprintf(stderr, "subscribe_min: server bytes not understood as expected\n");
    return 1;
  }
  printf("subscribe_min: ok\n");
  return 0;
}
