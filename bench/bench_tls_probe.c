/* SPDX-License-Identifier: MIT */
/*
 * bench_tls_probe: a one-connection TCP relay on loopback that reports the
 * TLS version and cipher suite the server chose, read from its ServerHello
 * (RFC 5246 7.4.1.3 / RFC 8446 4.1.3). bench/drain.sh puts it between hmq
 * and the broker for the session-creating connection, so the suite reported
 * is the one the broker picks for hmq's own ClientHello, whatever TLS
 * library version and cipher preferences are built in.
 *
 *   bench_tls_probe LISTEN_PORT TARGET_PORT TIMEOUT_S
 *
 * Prints `suite 0xC0,0x2C version TLSv1.2` (or `suite unknown`) on stdout
 * when the relayed connection ends. Binds 127.0.0.1 only; exits after one
 * connection or the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* The first bytes the server sends, enough for a ServerHello. */
static uint8_t hello[4096];
static size_t hello_len;

/* Find suite and version in the ServerHello at the start of `hello`.
 * Returns 1 when found. */
static int parse_hello(unsigned *suite, unsigned *version) {
  const uint8_t *p = hello;
  size_t n = hello_len, off, sid, ext_end;
  /* record header: type 22 (handshake), version, length; then handshake
   * header: type 2 (ServerHello), 24-bit length */
  if (n < 9 || p[0] != 22 || p[5] != 2)
    return 0;
  off = 9;
  if (off + 2 + 32 + 1 > n)
    return 0;
  *version = (unsigned)(p[off] << 8 | p[off + 1]);
  off += 2 + 32;
  sid = p[off];
  off += 1 + sid;
  if (off + 3 > n)
    return 0;
  *suite = (unsigned)(p[off] << 8 | p[off + 1]);
  off += 3; /* suite, compression method */
  if (off + 2 > n)
    return 1; /* no extensions */
  ext_end = off + 2 + (size_t)(p[off] << 8 | p[off + 1]);
  off += 2;
  /* TLS 1.3 puts the real version into supported_versions (43). */
  while (off + 4 <= n && off + 4 <= ext_end) {
    unsigned type = (unsigned)(p[off] << 8 | p[off + 1]);
    size_t len = (size_t)(p[off + 2] << 8 | p[off + 3]);
    if (type == 43 && len == 2 && off + 6 <= n)
      *version = (unsigned)(p[off + 4] << 8 | p[off + 5]);
    off += 4 + len;
  }
  return 1;
}

static const char *version_name(unsigned v) {
  switch (v) {
  case 0x0301:
    return "TLSv1.0";
  case 0x0302:
    return "TLSv1.1";
  case 0x0303:
    return "TLSv1.2";
  case 0x0304:
    return "TLSv1.3";
  default:
    return "unknown";
  }
}

/* Move what is readable from `from` to `to`; -1 when `from` is done. */
static int relay(int from, int to, int from_server) {
  uint8_t buf[65536];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0)
    return -1;
  if (from_server && hello_len < sizeof hello) {
    size_t k = (size_t)n < sizeof hello - hello_len ? (size_t)n : sizeof hello - hello_len;
    memcpy(hello + hello_len, buf, k);
    hello_len += k;
  }
  for (ssize_t done = 0; done < n;) {
    ssize_t w = write(to, buf + done, (size_t)(n - done));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    done += w;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct sockaddr_in la, ta;
  int one = 1, ls, cs = -1, ss = -1;
  uint64_t end;
  unsigned suite = 0, version = 0;
  if (argc != 4) {
    fprintf(stderr, "usage: bench_tls_probe LISTEN_PORT TARGET_PORT TIMEOUT_S\n");
    return 2;
  }
  end = now_ms() + (uint64_t)atoi(argv[3]) * 1000u;
  la = loopback(atoi(argv[1]));
  ta = loopback(atoi(argv[2]));
  ls = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ls < 0 || bind(ls, (struct sockaddr *)&la, sizeof la) != 0 || listen(ls, 1) != 0) {
    perror("bench_tls_probe: listen");
    return 1;
  }
  for (;;) {
    struct pollfd pf[2];
    int n = 0, wait;
    uint64_t t = now_ms();
    if (t >= end)
      break;
    wait = (int)(end - t);
    if (cs < 0) {
      pf[0].fd = ls;
      pf[0].events = POLLIN;
      if (poll(pf, 1, wait) > 0) {
        cs = accept(ls, NULL, NULL);
        ss = socket(AF_INET, SOCK_STREAM, 0);
        if (cs < 0 || ss < 0 || connect(ss, (struct sockaddr *)&ta, sizeof ta) != 0) {
          perror("bench_tls_probe: relay");
          return 1;
        }
      }
      continue;
    }
    pf[0].fd = cs;
    pf[0].events = POLLIN;
    pf[1].fd = ss;
    pf[1].events = POLLIN;
    n = poll(pf, 2, wait);
    if (n < 0 && errno != EINTR)
      break;
    if (n > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && relay(cs, ss, 0) != 0)
      break;
    if (n > 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) && relay(ss, cs, 1) != 0)
      break;
  }
  if (parse_hello(&suite, &version))
    printf("suite 0x%02X,0x%02X version %s\n", suite >> 8, suite & 0xFF, version_name(version));
  else
    printf("suite unknown\n");
  return 0;
}
