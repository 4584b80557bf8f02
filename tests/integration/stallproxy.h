/* SPDX-License-Identifier: MIT */
/*
 * A loopback TCP proxy for tests, on its own thread, that can stall one
 * connection: it forwards bytes both ways between each accepted client and
 * `target` (127.0.0.1), and a stalled connection's broker-to-client bytes
 * stay with the proxy (and the kernel's buffers) until it is let go. The
 * connection is named by a string its client sends first (an MQTT client
 * id in CONNECT, plain TCP). Bounded: 8 connections, 256 KiB buffered per
 * direction, the thread ends at sp_stop() or after 120 s.
 *
 *   stallproxy p;
 *   sp_start(&p, broker_plain_port);     // p.port
 *   sp_stall(&p, "-sandbox-pc-2", 1);    // that connection's stream stops
 *   sp_stall(&p, "-sandbox-pc-2", 0);    // and flows again
 *   sp_stop(&p);
 */
#ifndef HMQ_TEST_STALLPROXY_H
#define HMQ_TEST_STALLPROXY_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define SP_CONNS 8
#define SP_BUF   (256 * 1024)

typedef struct sp_dir {
  uint8_t buf[SP_BUF];
  size_t len;
} sp_dir;

typedef struct sp_conn {
  int c, u;       /* client side, upstream side; -1 when unused */
  sp_dir c2u;     /* client -> broker */
  sp_dir u2c;     /* broker -> client */
  char head[512]; /* the client's first bytes, for naming */
  size_t head_len;
  int stalled;
} sp_conn;

typedef struct stallproxy {
  int lfd;
  uint16_t port, target;
  pthread_t th;
  pthread_mutex_t mu;
  int quit;
  char stall_name[128]; /* connections whose head holds it stall */
  int stall_on;
  sp_conn conns[SP_CONNS];
} stallproxy;

static inline void sp_close(sp_conn *k) {
  if (k->c >= 0)
    close(k->c);
  if (k->u >= 0)
    close(k->u);
  k->c = k->u = -1;
  k->c2u.len = k->u2c.len = 0;
  k->head_len = 0;
}

/* Read what fits from fd into d; -1 on end of file or error. */
static inline int sp_fill(int fd, sp_dir *d, sp_conn *k, int naming) {
  ssize_t n;
  if (d->len == SP_BUF)
    return 0;
  n = read(fd, d->buf + d->len, SP_BUF - d->len);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    return -1;
  if (n > 0) {
    if (naming && k->head_len < sizeof k->head - 1) {
      size_t m = (size_t)n < sizeof k->head - 1 - k->head_len ? (size_t)n
                                                              : sizeof k->head - 1 - k->head_len;
      memcpy(k->head + k->head_len, d->buf + d->len, m);
      k->head_len += m;
    }
    d->len += (size_t)n;
  }
  return 0;
}

static inline int sp_flush(int fd, sp_dir *d) {
  ssize_t n;
  if (d->len == 0)
    return 0;
  n = write(fd, d->buf, d->len);
  if (n < 0 && errno != EAGAIN && errno != EINTR)
    return -1;
  if (n > 0) {
    memmove(d->buf, d->buf + n, d->len - (size_t)n);
    d->len -= (size_t)n;
  }
  return 0;
}

static inline int sp_named(const sp_conn *k, const char *name) {
  size_t i, m = strlen(name);
  for (i = 0; m && i + m <= k->head_len; i++)
    if (memcmp(k->head + i, name, m) == 0)
      return 1;
  return 0;
}

static inline void sp_accept(stallproxy *p) {
  struct sockaddr_in a;
  int c = accept(p->lfd, NULL, NULL), u, i;
  if (c < 0)
    return;
  u = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(p->target);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (u < 0 || connect(u, (struct sockaddr *)&a, sizeof a) != 0) {
    close(c);
    if (u >= 0)
      close(u);
    return;
  }
  fcntl(c, F_SETFL, O_NONBLOCK);
  fcntl(u, F_SETFL, O_NONBLOCK);
  for (i = 0; i < SP_CONNS; i++)
    if (p->conns[i].c < 0) {
      p->conns[i].c = c;
      p->conns[i].u = u;
      p->conns[i].stalled = 0;
      return;
    }
  close(c);
  close(u);
}

static inline void *sp_run(void *arg) {
  stallproxy *p = arg;
  uint64_t end = hmq_h_now() + 120000;
  while (hmq_h_now() < end) {
    struct pollfd pf[1 + 2 * SP_CONNS];
    int i, n = 1, quit;
    pthread_mutex_lock(&p->mu);
    quit = p->quit;
    for (i = 0; i < SP_CONNS; i++) {
      sp_conn *k = &p->conns[i];
      if (k->c >= 0)
        k->stalled = p->stall_on && sp_named(k, p->stall_name);
    }
    pthread_mutex_unlock(&p->mu);
    if (quit)
      break;
    pf[0].fd = p->lfd;
    pf[0].events = POLLIN;
    for (i = 0; i < SP_CONNS; i++) {
      sp_conn *k = &p->conns[i];
      short ce = 0, ue = 0;
      if (k->c >= 0) {
        if (k->c2u.len < SP_BUF)
          ce |= POLLIN;
        if (k->u2c.len && !k->stalled)
          ce |= POLLOUT;
        if (k->u2c.len < SP_BUF && !k->stalled)
          ue |= POLLIN;
        if (k->c2u.len)
          ue |= POLLOUT;
      }
      pf[n].fd = k->c;
      pf[n++].events = ce;
      pf[n].fd = k->u;
      pf[n++].events = ue;
    }
    if (poll(pf, (nfds_t)n, 20) < 0 && errno != EINTR)
      break;
    if (pf[0].revents & POLLIN)
      sp_accept(p);
    for (i = 0; i < SP_CONNS; i++) {
      sp_conn *k = &p->conns[i];
      short cr = pf[1 + 2 * i].revents, ur = pf[2 + 2 * i].revents;
      int bad = 0;
      if (k->c < 0)
        continue;
      if (cr & (POLLIN | POLLHUP | POLLERR))
        bad |= sp_fill(k->c, &k->c2u, k, 1);
      if (!k->stalled && (ur & (POLLIN | POLLHUP | POLLERR)))
        bad |= sp_fill(k->u, &k->u2c, k, 0);
      bad |= sp_flush(k->u, &k->c2u);
      if (!k->stalled)
        bad |= sp_flush(k->c, &k->u2c);
      if (bad)
        sp_close(k);
    }
  }
  return NULL;
}

/* Listen on a free loopback port (p->port) forwarding to target; the
 * thread runs until sp_stop. 0 on success. */
static inline int sp_start(stallproxy *p, uint16_t target) {
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  int i;
  memset(p, 0, sizeof *p);
  for (i = 0; i < SP_CONNS; i++)
    p->conns[i].c = p->conns[i].u = -1;
  p->target = target;
  p->lfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->lfd, 8) != 0 ||
      getsockname(p->lfd, (struct sockaddr *)&a, &al) != 0)
    return -1;
  p->port = ntohs(a.sin_port);
  pthread_mutex_init(&p->mu, NULL);
  return pthread_create(&p->th, NULL, sp_run, p) == 0 ? 0 : -1;
}

/* Stall (on = 1) or release (0) the connections whose client sent `name`. */
static inline void sp_stall(stallproxy *p, const char *name, int on) {
  pthread_mutex_lock(&p->mu);
  snprintf(p->stall_name, sizeof p->stall_name, "%s", name);
  p->stall_on = on;
  pthread_mutex_unlock(&p->mu);
}

static inline void sp_stop(stallproxy *p) {
  int i;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->th, NULL);
  for (i = 0; i < SP_CONNS; i++)
    sp_close(&p->conns[i]);
  close(p->lfd);
  pthread_mutex_destroy(&p->mu);
}

#endif
