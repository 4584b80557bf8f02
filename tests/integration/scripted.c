/* SPDX-License-Identifier: MIT */
/*
 * The scripted MQTT server of the tests (see scripted.h).
 */
#include "scripted.h"

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "scripted server: %s: %s\n", what, strerror(errno));
  abort();
}

void hmq_h_srv_open(hmq_h_srv *s) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  memset(s, 0, sizeof *s);
  s->cfd = -1;
  s->disc_reason = -1;
  s->suback_reason = 0x01;
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->lfd < 0)
    die("socket");
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->lfd, 8) != 0 ||
      getsockname(s->lfd, (struct sockaddr *)&a, &len) != 0)
    die("bind/listen");
  s->port = ntohs(a.sin_port);
  fcntl(s->lfd, F_SETFL, O_NONBLOCK);
}

void hmq_h_srv_close_conn(hmq_h_srv *s) {
  if (s->cfd >= 0)
    close(s->cfd);
  s->cfd = -1;
  s->rx_len = 0;
}

void hmq_h_srv_free(hmq_h_srv *s) {
  hmq_h_srv_close_conn(s);
  if (s->lfd >= 0)
    close(s->lfd);
  s->lfd = -1;
}

void hmq_h_srv_send(hmq_h_srv *s, const uint8_t *p, size_t n) {
  size_t off = 0;
  uint64_t end = hmq_h_now() + 2000;
  while (s->cfd >= 0 && off < n && hmq_h_now() < end) {
    ssize_t k = send(s->cfd, p + off, n - off, MSG_NOSIGNAL);
    if (k > 0)
      off += (size_t)k;
    else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return;
  }
}

size_t hmq_h_srv_disconnect(uint8_t *buf, size_t cap, uint8_t reason, const hmq_props *props) {
  hmq_disconnect d;
  size_t n = 0;
  memset(&d, 0, sizeof d);
  d.reason = reason;
  if (props)
    d.props = *props;
  if (hmq_encode_disconnect(buf, cap, &d, &n) != HMQ_OK) {
    fprintf(stderr, "scripted server: DISCONNECT 0x%02X does not encode\n", reason);
    abort();
  }
  return n;
}

static void on_packet(hmq_h_srv *s, const uint8_t *pkt, const hmq_frame *f) {
  uint8_t out[1024];
  size_t n = 0;
  switch (f->type) {
  case HMQ_PKT_CONNECT:
    s->connects++;
    if (s->no_connack)
      break;
    if (hmq_encode_connack(out, sizeof out, &s->connack, &n) != HMQ_OK) {
      fprintf(stderr, "scripted server: CONNACK 0x%02X does not encode\n", s->connack.reason);
      abort();
    }
    hmq_h_srv_send(s, out, n);
    if (s->connack.reason >= 0x80 || s->drop_after_connack)
      hmq_h_srv_close_conn(s); /* MQTT-3.2.2-7: close after a refusal */
    break;
  case HMQ_PKT_SUBSCRIBE: {
    s->subscribes++;
    if (!s->no_suback) {
      hmq_suback sa;
      memset(&sa, 0, sizeof sa);
      sa.type = HMQ_PKT_SUBACK;
      sa.packet_id = (uint16_t)(pkt[f->header_len] << 8 | pkt[f->header_len + 1]);
      sa.props = s->suback_props;
      sa.reasons.ptr = &s->suback_reason;
      sa.reasons.len = 1;
      if (hmq_encode_suback(out, sizeof out, &sa, &n) != HMQ_OK) {
        fprintf(stderr, "scripted server: SUBACK 0x%02X does not encode\n", s->suback_reason);
        abort();
      }
      hmq_h_srv_send(s, out, n);
    }
    hmq_h_srv_send(s, s->bad, s->bad_len);
    if (s->close_after_bad)
      hmq_h_srv_close_conn(s);
    break;
  }
  case HMQ_PKT_PINGREQ:
    if (hmq_encode_pingresp(out, sizeof out, &n) == HMQ_OK)
      hmq_h_srv_send(s, out, n);
    break;
  case HMQ_PKT_DISCONNECT:
    s->disc_reason = f->remaining == 0 ? 0 : pkt[f->header_len];
    hmq_h_srv_close_conn(s); /* as brokers do: the session is over */
    break;
  default:
    break;
  }
}

void hmq_h_srv_service(hmq_h_srv *s) {
  bool eof = false;
  if (s->cfd < 0) {
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
      return;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    s->cfd = fd;
    s->accepts++;
  }
  for (;;) {
    ssize_t k = recv(s->cfd, s->rx + s->rx_len, sizeof s->rx - s->rx_len, 0);
    if (k == 0)
      eof = true;
    if (k < 0 && errno == ECONNRESET)
      s->peer_reset = true;
    if (k <= 0)
      break;
    s->rx_len += (size_t)k;
  }
  for (;;) {
    hmq_frame f;
    if (hmq_frame_peek(s->rx, s->rx_len, 0, &f, NULL) != HMQ_OK)
      break;
    on_packet(s, s->rx, &f);
    if (s->cfd < 0)
      return;
    memmove(s->rx, s->rx + f.total, s->rx_len - f.total);
    s->rx_len -= f.total;
  }
  if (eof)
    hmq_h_srv_close_conn(s);
}
