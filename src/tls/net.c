/* SPDX-License-Identifier: MIT */
/*
 * Plain socket work for the transport. Everything is non-blocking except
 * getaddrinfo(), which POSIX offers only in a blocking form; it runs once
 * per connection attempt, never on the message path.
 */
#include "tls/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

hmq_status hmq_net_resolve(hmq_tls *t) {
  struct addrinfo hints;
  struct addrinfo *res = NULL;
  char port[8];
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC; /* IPv4 and IPv6, in the resolver's order */
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  snprintf(port, sizeof port, "%u", (unsigned)t->cfg.port);
  int rc = getaddrinfo(t->cfg.host, port, &hints, &res);
  if (rc != 0 || res == NULL) {
    snprintf(t->errmsg, sizeof t->errmsg, "cannot resolve host '%s': %s", t->cfg.host,
             rc != 0 ? gai_strerror(rc) : "no address");
    if (res)
      freeaddrinfo(res);
    return HMQ_ERR_DNS;
  }
  t->addr_count = 0;
  for (struct addrinfo *ai = res; ai && t->addr_count < HMQ_TLS_MAX_ADDRS; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof t->addrs[0])
      continue;
    memcpy(&t->addrs[t->addr_count], ai->ai_addr, ai->ai_addrlen);
    t->addr_lens[t->addr_count] = (socklen_t)ai->ai_addrlen;
    t->addr_count++;
  }
  freeaddrinfo(res);
  if (t->addr_count == 0) {
    snprintf(t->errmsg, sizeof t->errmsg, "host '%s' has no usable address", t->cfg.host);
    return HMQ_ERR_DNS;
  }
  return HMQ_OK;
}

void hmq_net_addr_str(const hmq_tls *t, size_t i, char *out, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "?";
  const struct sockaddr *sa = (const struct sockaddr *)&t->addrs[i];
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
    snprintf(out, cap, "[%s]:%u", ip, (unsigned)t->cfg.port);
  } else {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
    snprintf(out, cap, "%s:%u", ip, (unsigned)t->cfg.port);
  }
}

static void set_options(const hmq_tls *t, int fd) {
  int one = 1;
  /* MQTT packets are small and latency-bound (PUBACKs release the broker's
   * window), so never let Nagle hold them back. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  /* Fixed buffer sizes switch off Linux autotuning, which usually does
   * better; only set them when the caller asks. */
  if (t->cfg.rcvbuf > 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &t->cfg.rcvbuf, sizeof t->cfg.rcvbuf);
  if (t->cfg.sndbuf > 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &t->cfg.sndbuf, sizeof t->cfg.sndbuf);
}

static hmq_status connect_errno_status(int err) {
  switch (err) {
  case ETIMEDOUT:
    return HMQ_ERR_TIMEOUT;
  case ECONNREFUSED:
  case ENETUNREACH:
  case EHOSTUNREACH:
  case EADDRNOTAVAIL:
  case ECONNRESET:
    return HMQ_ERR_CONNECT;
  default:
    return HMQ_ERR_IO;
  }
}

hmq_status hmq_net_start(hmq_tls *t, size_t i) {
  const struct sockaddr *sa = (const struct sockaddr *)&t->addrs[i];
  int fd = socket(sa->sa_family, SOCK_STREAM, 0);
  if (fd < 0) {
    t->last_errno = errno;
    return HMQ_ERR_IO;
  }
  int fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    t->last_errno = errno;
    close(fd);
    return HMQ_ERR_IO;
  }
  set_options(t, fd);
  if (connect(fd, sa, t->addr_lens[i]) == 0) {
    t->fd = fd;
    return HMQ_OK;
  }
  if (errno == EINPROGRESS || errno == EINTR) {
    t->fd = fd;
    return HMQ_WANT_WRITE;
  }
  t->last_errno = errno;
  close(fd);
  return connect_errno_status(t->last_errno);
}

hmq_status hmq_net_finish(hmq_tls *t) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    err = errno;
  if (err == 0)
    return HMQ_OK;
  t->last_errno = err;
  return connect_errno_status(err);
}

hmq_status hmq_net_errno_status(int err, bool reading) {
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
    return reading ? HMQ_WANT_READ : HMQ_WANT_WRITE;
  if (err == ECONNRESET || err == EPIPE || err == ENOTCONN)
    return HMQ_ERR_CLOSED;
  return HMQ_ERR_IO;
}

void hmq_net_close(hmq_tls *t) {
  if (t->fd >= 0)
    close(t->fd);
  t->fd = -1;
}
