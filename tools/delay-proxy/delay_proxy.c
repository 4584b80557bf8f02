/* SPDX-License-Identifier: MIT */
/*
 * delay-proxy: a userspace TCP proxy on loopback that adds a fixed one-way
 * delay in each direction, for measuring MQTT windows at WAN distance on a
 * kernel without netem.
 *
 *   delay-proxy --listen PORT --target PORT --delay-ms MS [--seconds S]
 *               [--buffer BYTES] [--max-conns N]
 *
 * Listens on 127.0.0.1:PORT (0 = any free port) and forwards every accepted
 * connection to 127.0.0.1:TARGET. Bytes read from one side are held for MS
 * milliseconds (one way; a 30 ms round trip is --delay-ms 15) and then
 * written to the other side in the order they came, so the stream is
 * unchanged and only shifted in time. A half-close (EOF) is passed on after
 * the same delay; a reset or error closes both sides.
 *
 * Design: one thread, one ppoll() loop. Each direction of a connection has a
 * byte ring (--buffer bytes, default 4 MiB) and a ring of (due time, end
 * offset) records, one per loop iteration that read something. A direction
 * stops reading while its ring or its record ring is full (TCP flow control
 * then pushes back on the sender), so memory is bounded by
 * 2 * --buffer * --max-conns. Nothing sleeps per byte: the loop wakes at the
 * earliest due time and writes everything that is due. Throughput per
 * direction is at most --buffer / delay (4 MiB / 15 ms = 280 MB/s).
 *
 * On start it prints `listening 127.0.0.1:PORT` on stdout (flushed); it stops
 * by itself after --seconds (default 60), or on SIGINT/SIGTERM, closes every
 * connection and prints a summary on stderr. Exit 0, or 1 on a setup error,
 * 2 on a usage error.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECS           4096u /* due-time records per direction */
#define READS_PER_TURN 8     /* reads per direction per loop turn (fairness) */

struct rec {
  int64_t due;  /* CLOCK_MONOTONIC ns */
  uint64_t end; /* stream offset: bytes before it may go at `due` */
};

struct dir {
  unsigned char *buf;
  struct rec *recs;
  uint64_t in;    /* bytes read so far */
  uint64_t out;   /* bytes written so far */
  uint64_t ready; /* bytes whose due time has passed */
  unsigned rhead, rcount;
  int64_t eof_due;
  bool eof;  /* source said EOF */
  bool shut; /* EOF passed on (shutdown(SHUT_WR) of the destination) */
};

struct conn {
  bool used;
  bool connecting; /* fd[1] connect() in progress */
  int fd[2];       /* 0: accepted client, 1: connection to the target */
  struct dir d[2]; /* d[0]: fd[0] -> fd[1], d[1]: fd[1] -> fd[0] */
};

static volatile sig_atomic_t stop_flag;
static size_t g_buf = 4u << 20;
static int64_t g_delay;
static uint64_t g_bytes[2], g_peak_queued;
static unsigned long g_accepted, g_refused, g_failed;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_nodelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ACK what arrived at once. Linux otherwise delays the ACK of a lone
 * segment (40 ms or more); on loopback, where one segment holds up to 64 KB,
 * a sender with Nagle's algorithm on (mosquitto's default) then holds every
 * further message until that ACK, so the proxy would add its own stalls on
 * top of the configured delay. Not sticky: set again after every read. */
static void quickack(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void usage(void) {
  fputs("usage: delay-proxy --listen PORT --target PORT --delay-ms MS [--seconds S]\n"
        "                   [--buffer BYTES] [--max-conns N]\n"
        "  one-way delay MS (0..10000, fractions allowed) in each direction on\n"
        "  127.0.0.1:PORT -> 127.0.0.1:TARGET; stops after S seconds (default 60)\n",
        stderr);
}

static bool parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

static void dir_free(struct dir *d) {
  free(d->buf);
  free(d->recs);
  memset(d, 0, sizeof *d);
}

static void conn_close(struct conn *c) {
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] >= 0)
      close(c->fd[i]);
    g_bytes[i] += c->d[i].out;
    dir_free(&c->d[i]);
  }
  memset(c, 0, sizeof *c);
  c->fd[0] = c->fd[1] = -1;
}

static bool dir_room(const struct dir *d) {
  return !d->eof && d->in - d->out < g_buf && d->rcount < RECS;
}

/* Reads what fd has into d, stamping it due at now + delay. Returns -1 on a
 * reset or error. */
static int dir_read(struct dir *d, int fd, int64_t now) {
  int64_t due = now + g_delay;
  for (int turn = 0; turn < READS_PER_TURN && dir_room(d); turn++) {
    size_t used = (size_t)(d->in - d->out);
    size_t at = (size_t)(d->in % g_buf);
    size_t len = g_buf - used;
    if (len > g_buf - at)
      len = g_buf - at;
    ssize_t n = recv(fd, d->buf + at, len, 0);
    if (n > 0) {
      quickack(fd);
      d->in += (uint64_t)n;
      if (d->rcount > 0 && d->recs[(d->rhead + d->rcount - 1) % RECS].due == due) {
        d->recs[(d->rhead + d->rcount - 1) % RECS].end = d->in;
      } else {
        d->recs[(d->rhead + d->rcount) % RECS] = (struct rec){due, d->in};
        d->rcount++;
      }
      if (d->in - d->out > g_peak_queued)
        g_peak_queued = d->in - d->out;
      if ((size_t)n < len)
        break;
    } else if (n == 0) {
      d->eof = true;
      d->eof_due = due;
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      return -1;
    }
  }
  return 0;
}

/* Writes what is due from d to fd; passes on EOF when everything before it
 * went out and its time has come. Returns -1 on error. */
static int dir_write(struct dir *d, int fd, int64_t now) {
  while (d->rcount > 0 && d->recs[d->rhead].due <= now) {
    d->ready = d->recs[d->rhead].end;
    d->rhead = (d->rhead + 1) % RECS;
    d->rcount--;
  }
  while (d->out < d->ready) {
    size_t at = (size_t)(d->out % g_buf);
    size_t len = (size_t)(d->ready - d->out);
    if (len > g_buf - at)
      len = g_buf - at;
    ssize_t n = send(fd, d->buf + at, len, MSG_NOSIGNAL);
    if (n > 0) {
      d->out += (uint64_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return -1;
    }
  }
  if (d->eof && !d->shut && d->out == d->in && now >= d->eof_due) {
    (void)shutdown(fd, SHUT_WR);
    d->shut = true;
  }
  return 0;
}

/* Earliest time d needs the loop to wake up for, INT64_MAX if none. */
static int64_t dir_next(const struct dir *d) {
  if (d->rcount > 0)
    return d->recs[d->rhead].due;
  if (d->eof && !d->shut && d->out == d->in)
    return d->eof_due;
  return INT64_MAX;
}

static int connect_target(int port, bool *connecting) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  set_nodelay(fd);
  *connecting = false;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    if (errno != EINPROGRESS) {
      close(fd);
      return -1;
    }
    *connecting = true;
  }
  return fd;
}

static bool dir_init(struct dir *d) {
  memset(d, 0, sizeof *d);
  d->buf = malloc(g_buf);
  d->recs = malloc(RECS * sizeof *d->recs);
  return d->buf && d->recs;
}

static void accept_all(int lfd, struct conn *conns, int max_conns, int target) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return; /* EAGAIN, or an error on an aborted connection: next turn */
    struct conn *c = NULL;
    for (int i = 0; i < max_conns && !c; i++)
      if (!conns[i].used)
        c = &conns[i];
    if (!c) {
      g_refused++;
      close(fd);
      continue;
    }
    set_nodelay(fd);
    bool connecting;
    int tfd = connect_target(target, &connecting);
    if (tfd < 0 || !dir_init(&c->d[0]) || !dir_init(&c->d[1])) {
      g_failed++;
      close(fd);
      if (tfd >= 0)
        close(tfd);
      dir_free(&c->d[0]);
      dir_free(&c->d[1]);
      continue;
    }
    c->used = true;
    c->connecting = connecting;
    c->fd[0] = fd;
    c->fd[1] = tfd;
    g_accepted++;
  }
}

/* One connection's share of a loop turn: reads, writes, completion. */
static void conn_step(struct conn *c, const short *rev, int64_t now) {
  if (c->connecting) {
    if (rev[1] & (POLLOUT | POLLERR | POLLHUP)) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        g_failed++;
        conn_close(c);
        return;
      }
      c->connecting = false;
    }
  }
  for (int i = 0; i < 2; i++) {
    if (c->connecting && i == 1)
      continue;
    if ((rev[i] & POLLERR) != 0) {
      conn_close(c);
      return;
    }
    if ((rev[i] & (POLLIN | POLLHUP)) != 0 && dir_room(&c->d[i]) &&
        dir_read(&c->d[i], c->fd[i], now) < 0) {
      conn_close(c);
      return;
    }
    /* Hung up while its input is done and its output not: nobody is left
     * to receive what we still hold for it. */
    if ((rev[i] & POLLHUP) != 0 && c->d[i].eof && !c->d[1 - i].shut) {
      conn_close(c);
      return;
    }
  }
  for (int i = 0; i < 2; i++) {
    if (c->connecting && i == 0)
      continue; /* nothing goes to the target before it is connected */
    if (dir_write(&c->d[i], c->fd[1 - i], now) < 0) {
      conn_close(c);
      return;
    }
  }
  if (c->d[0].shut && c->d[1].shut)
    conn_close(c);
}

int main(int argc, char **argv) {
  double listen_port = -1, target = -1, delay_ms = -1, seconds = 60, buffer = (double)g_buf,
         max_conns = 64;
  for (int i = 1; i < argc; i += 2) {
    const char *o = argv[i];
    double *dst = NULL, lo = 0, hi = 0;
    if (!strcmp(o, "--listen"))
      dst = &listen_port, lo = 0, hi = 65535;
    else if (!strcmp(o, "--target"))
      dst = &target, lo = 1, hi = 65535;
    else if (!strcmp(o, "--delay-ms"))
      dst = &delay_ms, lo = 0, hi = 10000;
    else if (!strcmp(o, "--seconds"))
      dst = &seconds, lo = 0.1, hi = 86400;
    else if (!strcmp(o, "--buffer"))
      dst = &buffer, lo = 65536, hi = 256.0 * 1024 * 1024;
    else if (!strcmp(o, "--max-conns"))
      dst = &max_conns, lo = 1, hi = 1024;
    else if (!strcmp(o, "--help")) {
      usage();
      return 0;
    }
    if (!dst || i + 1 >= argc || !parse_num(argv[i + 1], lo, hi, dst)) {
      fprintf(stderr, "delay-proxy: bad or missing value for %s\n", o);
      usage();
      return 2;
    }
  }
  if (listen_port < 0 || target < 0 || delay_ms < 0) {
    usage();
    return 2;
  }
  g_delay = (int64_t)(delay_ms * 1e6);
  g_buf = (size_t)buffer;
  int nconns = (int)max_conns;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)listen_port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
    fprintf(stderr, "delay-proxy: listen on 127.0.0.1:%d: %s\n", (int)listen_port, strerror(errno));
    return 1;
  }
  struct conn *conns = calloc((size_t)nconns, sizeof *conns);
  struct pollfd *pfd = calloc((size_t)nconns * 2 + 1, sizeof *pfd);
  if (!conns || !pfd) {
    fputs("delay-proxy: out of memory\n", stderr);
    return 1;
  }
  for (int i = 0; i < nconns; i++)
    conns[i].fd[0] = conns[i].fd[1] = -1;
  printf("listening 127.0.0.1:%d\n", ntohs(a.sin_port));
  fflush(stdout);

  int64_t deadline = now_ns() + (int64_t)(seconds * 1e9);
  while (!stop_flag) {
    int64_t now = now_ns();
    if (now >= deadline)
      break;
    int64_t wake = deadline;
    int n = 0, used = 0;
    for (int i = 0; i < nconns; i++) {
      struct conn *c = &conns[i];
      if (!c->used)
        continue;
      used++;
      for (int k = 0; k < 2; k++) {
        short ev = 0;
        if (dir_room(&c->d[k]) && !(c->connecting && k == 1))
          ev |= POLLIN;
        if (c->d[1 - k].out < c->d[1 - k].ready || (c->connecting && k == 1))
          ev |= POLLOUT;
        pfd[n++] = (struct pollfd){.fd = c->fd[k], .events = ev};
        /* while connecting, d[0] waits for the connection, not the clock */
        int64_t t = c->connecting && k == 0 ? INT64_MAX : dir_next(&c->d[k]);
        if (t < wake)
          wake = t;
      }
    }
    pfd[n++] = (struct pollfd){.fd = lfd, .events = used < nconns ? POLLIN : 0};
    int64_t wait = wake > now ? wake - now : 0;
    struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
    if (ppoll(pfd, (nfds_t)n, &ts, NULL) < 0 && errno != EINTR) {
      perror("delay-proxy: ppoll");
      break;
    }
    now = now_ns();
    int k = 0;
    for (int i = 0; i < nconns; i++) {
      if (!conns[i].used)
        continue;
      short rev[2] = {pfd[k].revents, pfd[k + 1].revents};
      k += 2;
      conn_step(&conns[i], rev, now);
    }
    if (pfd[n - 1].revents & POLLIN)
      accept_all(lfd, conns, nconns, (int)target);
  }
  for (int i = 0; i < nconns; i++)
    if (conns[i].used)
      conn_close(&conns[i]);
  close(lfd);
  fprintf(stderr,
          "delay-proxy: %lu connections (%lu refused, %lu target failures), "
          "%llu bytes client->target, %llu bytes target->client, peak queued %llu bytes\n",
          g_accepted, g_refused, g_failed, (unsigned long long)g_bytes[0],
          (unsigned long long)g_bytes[1], (unsigned long long)g_peak_queued);
  free(conns);
  free(pfd);
  return 0;
}
