/* SPDX-License-Identifier: MIT */
/*
 * live-probe: the measuring parts of bench/live.sh and bench/wan.sh.
 *
 *   live-probe pace --rate R --in FILE --log LOG [--count N]
 *       Writes the lines of FILE to stdout at R lines per second (absolute
 *       schedule: line i is due at start + i/R, a late line goes at once)
 *       and logs "<message_id> <ns>" per line, the time right before the
 *       write. Feed it to `mosquitto_pub -l` for a fixed-rate publisher.
 *   live-probe publish --rate R --in FILE --log LOG --port P [--topic T]
 *                      [--count N]
 *       The publisher itself, light enough for 10,000 msg/s on a small
 *       machine: one MQTT 5 connection over plain TCP to 127.0.0.1:P (the
 *       packets built with hmq::mqtt's encoder), each line of FILE one QoS 1
 *       PUBLISH to T (default bench/live/v) at R per second on the same
 *       absolute schedule as pace, pipelined up to the broker's Receive
 *       Maximum, PUBACKs read between sends; logs "<message_id> <ns>" right
 *       before each send. At the end it waits (at most 10 s) for the last
 *       PUBACK, then DISCONNECTs. Replaces `pace | mosquitto_pub -l`, which
 *       costs two processes and a pipe per message.
 *   live-probe stamp [--follow FILE] --log LOG --seconds S [--count N]
 *       Reads lines from stdin (a consumer's stdout through a pipe), or with
 *       --follow from the end of a growing FILE (inotify), and logs
 *       "<message_id> <ns>" per complete line, the time it was read. Stops at
 *       EOF, after N lines, after S seconds or on SIGTERM/SIGINT, and prints
 *       the lines stamped and its own CPU time on stderr.
 *   live-probe count --interval-ms I --seconds S FILE...
 *       Every I ms prints "<ms since start> <lines of FILE1> ... <total>",
 *       reading only what each file gained (files may appear late).
 *   live-probe syncload --file F [--mb M] [--interval-ms I] --seconds S
 *       A busy neighbour on the file system: every I ms (default 100)
 *       appends M MB (default 8) to F and fdatasync()s it; every 64 MB the
 *       file starts over (ftruncate). Removes F at the end and prints the
 *       rounds and sync times on stderr.
 *
 * <ns> is CLOCK_MONOTONIC in nanoseconds, comparable across processes of
 * one machine. message_id is the string value of the first "message_id"
 * key in the line (a High Mobility envelope, compact or not); lines without
 * one are logged with id "-". Every mode is bounded in time and stops by
 * itself. Exit 0, 1 on an I/O error, 2 on a usage error.
 */
#define _GNU_SOURCE /* inotify, clock_nanosleep under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hmq/codec.h"

#define LINE_MAX_BYTES (4u << 20)
#define MAX_FILES      64

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t) {
  struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
  while (!stop_flag && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void usage(void) {
  fputs("usage: live-probe pace --rate R --in FILE --log LOG [--count N]\n"
        "       live-probe publish --rate R --in FILE --log LOG --port P [--topic T] [--count N]\n"
        "       live-probe stamp [--follow FILE] --log LOG --seconds S [--count N]\n"
        "       live-probe count --interval-ms I --seconds S FILE...\n"
        "       live-probe syncload --file F [--mb M] [--interval-ms I] --seconds S\n",
        stderr);
}

/* Options: every one takes a value. */
struct opts {
  double rate, seconds, interval_ms, mb, count, port;
  const char *in, *log, *follow, *file, *topic;
  const char *files[MAX_FILES];
  int nfiles;
};

static bool num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

static bool parse(int argc, char **argv, struct opts *o) {
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = v != NULL;
    if (a[0] != '-' || a[1] != '-') {
      if (o->nfiles == MAX_FILES)
        return false;
      o->files[o->nfiles++] = a;
      continue;
    }
    if (!strcmp(a, "--rate"))
      ok = ok && num(v, 1, 1e6, &o->rate);
    else if (!strcmp(a, "--seconds"))
      ok = ok && num(v, 0.1, 86400, &o->seconds);
    else if (!strcmp(a, "--interval-ms"))
      ok = ok && num(v, 1, 60000, &o->interval_ms);
    else if (!strcmp(a, "--mb"))
      ok = ok && num(v, 1, 1024, &o->mb);
    else if (!strcmp(a, "--count"))
      ok = ok && num(v, 1, 1e9, &o->count);
    else if (!strcmp(a, "--port"))
      ok = ok && num(v, 1, 65535, &o->port);
    else if (!strcmp(a, "--topic"))
      o->topic = v;
    else if (!strcmp(a, "--in"))
      o->in = v;
    else if (!strcmp(a, "--log"))
      o->log = v;
    else if (!strcmp(a, "--follow"))
      o->follow = v;
    else if (!strcmp(a, "--file"))
      o->file = v;
    else
      ok = false;
    if (!ok) {
      fprintf(stderr, "live-probe: bad or missing value for %s\n", a);
      return false;
    }
    i++;
  }
  return true;
}

/* The message_id of a line: the string after the first "message_id" key. */
static void message_id(const char *s, size_t n, const char **id, size_t *idn) {
  static const char key[] = "\"message_id\"";
  const char *end = s + n;
  const char *p = memmem(s, n, key, sizeof key - 1);
  *id = "-";
  *idn = 1;
  if (!p)
    return;
  p += sizeof key - 1;
  while (p < end && (*p == ' ' || *p == '\t' || *p == ':'))
    p++;
  if (p >= end || *p != '"')
    return;
  p++;
  const char *q = memchr(p, '"', (size_t)(end - p));
  if (!q || q == p)
    return;
  *id = p;
  *idn = (size_t)(q - p);
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static FILE *open_log(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "live-probe: %s: %s\n", path, strerror(errno));
  else
    setvbuf(f, NULL, _IOFBF, 1 << 20);
  return f;
}

static int do_pace(const struct opts *o) {
  if (!o->rate || !o->in || !o->log) {
    usage();
    return 2;
  }
  FILE *in = fopen(o->in, "r");
  if (!in) {
    fprintf(stderr, "live-probe: %s: %s\n", o->in, strerror(errno));
    return 1;
  }
  FILE *log = open_log(o->log);
  if (!log)
    return 1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long long i = 0, max = o->count ? (long long)o->count : -1;
  int64_t t0 = now_ns(), late = 0;
  double step = 1e9 / o->rate;
  int rc = 0;
  while (!stop_flag && (max < 0 || i < max) && (n = getline(&line, &cap, in)) > 0) {
    int64_t due = t0 + (int64_t)(step * (double)i);
    if (now_ns() < due)
      sleep_until(due);
    int64_t t = now_ns();
    if (t - due > late)
      late = t - due;
    const char *id;
    size_t idn;
    message_id(line, (size_t)n, &id, &idn);
    if (line[n - 1] != '\n') /* last line without a newline */
      line[n++] = '\n';
    if (!write_all(1, line, (size_t)n)) {
      fprintf(stderr, "live-probe: pace: write: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    fprintf(log, "%.*s %lld\n", (int)idn, id, (long long)t);
    i++;
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  fprintf(stderr, "live-probe: paced %lld lines in %.3f s (%.0f/s), latest %.3f ms behind\n", i,
          secs, secs > 0 ? (double)i / secs : 0.0, (double)late / 1e6);
  free(line);
  fclose(in);
  if (fclose(log) != 0)
    rc = 1;
  return rc;
}

/* --- publish: the fixed-rate MQTT publisher ------------------------------ */

#define PUB_RBUF    (1u << 16)
#define PUB_MAX_IDS 65535u

struct pub {
  int fd;
  uint8_t rbuf[PUB_RBUF];
  size_t rlen;
  uint8_t *wbuf;
  size_t wcap;
  uint8_t used[PUB_MAX_IDS + 1]; /* packet ids waiting for their PUBACK */
  unsigned inflight, window;
  uint16_t next_id;
  long long acked, refused;
};

static bool send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false; /* includes SO_SNDTIMEO expiring: the broker took nothing */
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* Read what is there (wait up to ms, -1 = none), handle every whole packet:
 * PUBACK frees its id, CONNACK sets the window. false on a broken
 * connection or an unexpected packet. */
static bool pub_read(struct pub *c, int ms, bool *connack) {
  struct pollfd p = {c->fd, POLLIN, 0};
  int r = poll(&p, 1, ms < 0 ? 0 : ms);
  if (r < 0 && errno != EINTR)
    return false;
  if (r <= 0)
    return true;
  ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0) {
    fprintf(stderr, "live-probe: publish: the broker closed the connection\n");
    return false;
  }
  c->rlen += (size_t)n;
  size_t at = 0;
  for (;;) {
    hmq_frame f;
    if (hmq_frame_peek(c->rbuf + at, c->rlen - at, PUB_RBUF, &f, NULL) != HMQ_OK)
      break;
    const uint8_t *pkt = c->rbuf + at;
    if (f.type == HMQ_PKT_PUBACK) {
      hmq_ack a;
      if (hmq_decode_ack(pkt, f.total, &a) != HMQ_OK || !c->used[a.packet_id]) {
        fprintf(stderr, "live-probe: publish: bad or unexpected PUBACK\n");
        return false;
      }
      c->used[a.packet_id] = 0;
      c->inflight--;
      c->acked++;
      if (a.reason >= 0x80)
        c->refused++;
    } else if (f.type == HMQ_PKT_CONNACK) {
      hmq_connack k;
      if (hmq_decode_connack(pkt, f.total, &k) != HMQ_OK || k.reason != 0) {
        fprintf(stderr, "live-probe: publish: CONNACK refused or malformed\n");
        return false;
      }
      c->window = (k.props.present & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX)) ? k.props.receive_max
                                                                         : PUB_MAX_IDS;
      *connack = true;
    } else if (f.type == HMQ_PKT_DISCONNECT) {
      fprintf(stderr, "live-probe: publish: the broker sent DISCONNECT\n");
      return false;
    } /* anything else (PINGRESP): ignored */
    at += f.total;
  }
  memmove(c->rbuf, c->rbuf + at, c->rlen - at);
  c->rlen -= at;
  if (c->rlen == sizeof c->rbuf) {
    fprintf(stderr, "live-probe: publish: a packet larger than %u bytes from the broker\n",
            PUB_RBUF);
    return false;
  }
  return true;
}

static bool pub_connect(struct pub *c, int port) {
  struct sockaddr_in a = {0};
  struct timeval tv = {5, 0};
  int one = 1;
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "live-probe: publish: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
    return false;
  }
  (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  hmq_connect k;
  memset(&k, 0, sizeof k);
  k.clean_start = 1;
  k.keep_alive = 60;
  k.client_id.ptr = "live-pub";
  k.client_id.len = 8;
  size_t n = 0;
  bool got = false;
  if (hmq_encode_connect(c->wbuf, c->wcap, &k, &n) != HMQ_OK || !send_all(c->fd, c->wbuf, n))
    return false;
  for (int64_t end = now_ns() + 5000000000LL; !got && !stop_flag && now_ns() < end;)
    if (!pub_read(c, 100, &got))
      return false;
  if (!got)
    fprintf(stderr, "live-probe: publish: no CONNACK within 5 s\n");
  return got;
}

static int do_publish(const struct opts *o) {
  if (!o->rate || !o->in || !o->log || !o->port) {
    usage();
    return 2;
  }
  const char *topic = o->topic ? o->topic : "bench/live/v";
  FILE *in = fopen(o->in, "r");
  if (!in) {
    fprintf(stderr, "live-probe: %s: %s\n", o->in, strerror(errno));
    return 1;
  }
  struct pub *c = calloc(1, sizeof *c);
  FILE *log = c ? open_log(o->log) : NULL;
  if (!c || !log) {
    fclose(in);
    free(c);
    return 1;
  }
  c->fd = -1;
  c->wcap = LINE_MAX_BYTES + 1024;
  c->wbuf = malloc(c->wcap);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long long i = 0, max = o->count ? (long long)o->count : -1;
  int64_t t0 = 0, late = 0;
  double step = 1e9 / o->rate;
  int rc = 1;
  bool dummy = false;
  if (!c->wbuf || !pub_connect(c, (int)o->port))
    goto out;
  rc = 0;
  t0 = now_ns();
  while (!stop_flag && (max < 0 || i < max) && (n = getline(&line, &cap, in)) > 0) {
    int64_t due = t0 + (int64_t)(step * (double)i);
    /* read PUBACKs while waiting for the due time or for room in the window */
    for (;;) {
      int64_t left = due - now_ns();
      bool room = c->inflight < c->window;
      if (room && left <= 0)
        break;
      int ms = room ? (int)(left / 1000000) : 100; /* below 1 ms: sleep exactly */
      if (room && ms == 0) {
        sleep_until(due);
        continue;
      }
      if (!pub_read(c, ms, &dummy)) {
        rc = 1;
        goto out;
      }
      if (stop_flag)
        goto out;
    }
    if (line[n - 1] == '\n')
      n--;
    while (c->used[c->next_id] || c->next_id == 0)
      c->next_id = (uint16_t)(c->next_id + 1);
    hmq_publish p;
    memset(&p, 0, sizeof p);
    p.qos = 1;
    p.packet_id = c->next_id;
    p.topic.ptr = topic;
    p.topic.len = strlen(topic);
    p.payload.ptr = (const uint8_t *)line;
    p.payload.len = (size_t)n;
    size_t len = 0;
    if (hmq_encode_publish(c->wbuf, c->wcap, &p, &len) != HMQ_OK) {
      fprintf(stderr, "live-probe: publish: line %lld cannot be encoded\n", i + 1);
      rc = 1;
      goto out;
    }
    const char *id;
    size_t idn;
    message_id(line, (size_t)n, &id, &idn);
    int64_t t = now_ns();
    if (t - due > late)
      late = t - due;
    if (!send_all(c->fd, c->wbuf, len)) {
      fprintf(stderr, "live-probe: publish: send: %s\n", strerror(errno));
      rc = 1;
      goto out;
    }
    fprintf(log, "%.*s %lld\n", (int)idn, id, (long long)t);
    c->used[c->next_id] = 1;
    c->inflight++;
    i++;
    if (!pub_read(c, -1, &dummy)) { /* take what PUBACKs are there, no wait */
      rc = 1;
      goto out;
    }
  }
  for (int64_t end = now_ns() + 10000000000LL; c->inflight > 0 && now_ns() < end && !stop_flag;)
    if (!pub_read(c, 100, &dummy))
      break;
  if (c->inflight > 0) {
    fprintf(stderr, "live-probe: publish: %u PUBACKs missing at the end\n", c->inflight);
    rc = 1;
  }
  {
    hmq_disconnect dc;
    size_t len = 0;
    memset(&dc, 0, sizeof dc);
    if (hmq_encode_disconnect(c->wbuf, c->wcap, &dc, &len) == HMQ_OK)
      (void)send_all(c->fd, c->wbuf, len);
  }
out:;
  double secs = t0 ? (double)(now_ns() - t0) / 1e9 : 0.0;
  struct rusage ru;
  double cpu = 0;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
          (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  fprintf(stderr,
          "live-probe: published %lld messages in %.3f s (%.0f/s), latest %.3f ms behind, %lld "
          "PUBACKs (%lld refused), window %u, CPU %.2f s\n",
          i, secs, secs > 0 ? (double)i / secs : 0.0, (double)late / 1e6, c->acked, c->refused,
          c->window, cpu);
  if (c->refused)
    rc = 1;
  if (c->fd >= 0)
    close(c->fd);
  free(line);
  free(c->wbuf);
  free(c);
  fclose(in);
  if (fclose(log) != 0)
    rc = 1;
  return rc;
}

/* Line splitter shared by stamp: buffered bytes, complete lines logged. */
struct splitter {
  char *buf;
  size_t len;
  bool skipping; /* inside an over-long line */
  long long lines, overlong;
};

static void split_feed(struct splitter *s, FILE *log, int64_t t) {
  size_t start = 0;
  for (;;) {
    char *nl = memchr(s->buf + start, '\n', s->len - start);
    if (!nl)
      break;
    size_t n = (size_t)(nl - (s->buf + start));
    if (s->skipping) {
      s->skipping = false;
    } else {
      const char *id;
      size_t idn;
      message_id(s->buf + start, n, &id, &idn);
      fprintf(log, "%.*s %lld\n", (int)idn, id, (long long)t);
      s->lines++;
    }
    start += n + 1;
  }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  if (s->len == LINE_MAX_BYTES) { /* no newline in the whole buffer */
    s->len = 0;
    s->skipping = true;
    s->overlong++;
  }
}

static int do_stamp(const struct opts *o) {
  if (!o->log || !o->seconds) {
    usage();
    return 2;
  }
  int fd = 0, ino = -1;
  if (o->follow) {
    ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    fd = open(o->follow, O_RDONLY | O_CLOEXEC);
    if (ino < 0 || fd < 0 || inotify_add_watch(ino, o->follow, IN_MODIFY) < 0) {
      fprintf(stderr, "live-probe: follow %s: %s\n", o->follow, strerror(errno));
      return 1;
    }
  } else if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) < 0) {
    perror("live-probe: stamp: stdin");
    return 1;
  }
  FILE *log = open_log(o->log);
  struct splitter s = {malloc(LINE_MAX_BYTES), 0, false, 0, 0};
  if (!log || !s.buf)
    return 1;
  int64_t deadline = now_ns() + (int64_t)(o->seconds * 1e9);
  long long max = o->count ? (long long)o->count : -1;
  bool eof = false;
  int rc = 0;
  while (!stop_flag && !eof && (max < 0 || s.lines < max)) {
    int64_t left = deadline - now_ns();
    if (left <= 0)
      break;
    struct pollfd p = {o->follow ? ino : fd, POLLIN, 0};
    int r = poll(&p, 1, (int)(left / 1000000) + 1);
    if (r < 0 && errno != EINTR) {
      rc = 1;
      break;
    }
    if (r <= 0)
      continue;
    if (o->follow) {
      char ev[4096];
      while (read(ino, ev, sizeof ev) > 0) {
      }
    }
    for (;;) { /* everything there is now */
      ssize_t n = read(fd, s.buf + s.len, LINE_MAX_BYTES - s.len);
      if (n < 0 && errno == EINTR && !stop_flag)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      if (n < 0) {
        rc = 1;
        eof = true;
        break;
      }
      if (n == 0) {
        eof = !o->follow;
        break;
      }
      s.len += (size_t)n;
      split_feed(&s, log, now_ns());
      if (max >= 0 && s.lines >= max)
        break;
    }
  }
  struct rusage ru;
  double cpu = 0;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
          (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  fprintf(stderr, "live-probe: stamped %lld lines%s, CPU %.2f s\n", s.lines,
          s.overlong ? " (some over-long lines skipped)" : "", cpu);
  free(s.buf);
  if (fclose(log) != 0)
    rc = 1;
  return rc;
}

static int do_count(const struct opts *o) {
  if (!o->interval_ms || !o->seconds || o->nfiles == 0) {
    usage();
    return 2;
  }
  int fds[MAX_FILES];
  long long counts[MAX_FILES] = {0};
  static char buf[1 << 16];
  for (int i = 0; i < o->nfiles; i++)
    fds[i] = -1;
  int64_t t0 = now_ns(), step = (int64_t)(o->interval_ms * 1e6);
  int64_t end = t0 + (int64_t)(o->seconds * 1e9);
  for (int64_t t = t0; !stop_flag && t <= end; t += step) {
    sleep_until(t);
    long long total = 0;
    printf("%.0f", (double)(now_ns() - t0) / 1e6);
    for (int i = 0; i < o->nfiles; i++) {
      if (fds[i] < 0)
        fds[i] = open(o->files[i], O_RDONLY | O_CLOEXEC);
      ssize_t n;
      while (fds[i] >= 0 && (n = read(fds[i], buf, sizeof buf)) > 0)
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++)
          counts[i]++;
      printf(" %lld", counts[i]);
      total += counts[i];
    }
    printf(" %lld\n", total);
    fflush(stdout);
  }
  for (int i = 0; i < o->nfiles; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  return 0;
}

static int do_syncload(const struct opts *o) {
  if (!o->file || !o->seconds) {
    usage();
    return 2;
  }
  size_t chunk = 1u << 20, chunks = (size_t)(o->mb ? o->mb : 8);
  int64_t every = (int64_t)((o->interval_ms ? o->interval_ms : 100) * 1e6);
  int fd = open(o->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  char *buf = malloc(chunk);
  if (fd < 0 || !buf) {
    fprintf(stderr, "live-probe: syncload %s: %s\n", o->file, strerror(errno));
    return 1;
  }
  for (size_t i = 0; i < chunk; i++)
    buf[i] = (char)(i * 2654435761u >> 24); /* not all zeros */
  int64_t t0 = now_ns(), end = t0 + (int64_t)(o->seconds * 1e9), sync_sum = 0, sync_max = 0;
  long long rounds = 0;
  size_t size = 0;
  int rc = 0;
  for (int64_t t = t0; !stop_flag && t < end; t += every) {
    sleep_until(t);
    if (size >= (64u << 20)) {
      if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        rc = 1;
      size = 0;
    }
    for (size_t c = 0; c < chunks && rc == 0; c++) {
      if (!write_all(fd, buf, chunk))
        rc = 1;
      size += chunk;
    }
    int64_t s0 = now_ns();
    if (rc != 0 || fdatasync(fd) < 0) {
      fprintf(stderr, "live-probe: syncload %s: %s\n", o->file, strerror(errno));
      rc = 1;
      break;
    }
    int64_t d = now_ns() - s0;
    sync_sum += d;
    if (d > sync_max)
      sync_max = d;
    rounds++;
    if (now_ns() > t + every) /* overran: start the next round from now */
      t = now_ns() - every;
  }
  close(fd);
  unlink(o->file);
  free(buf);
  fprintf(stderr,
          "live-probe: syncload %lld rounds of %zu MB in %.1f s, fdatasync mean %.1f ms, "
          "max %.1f ms\n",
          rounds, chunks, (double)(now_ns() - t0) / 1e9,
          rounds ? (double)sync_sum / (double)rounds / 1e6 : 0.0, (double)sync_max / 1e6);
  return rc;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct opts o;
  memset(&o, 0, sizeof o);
  if (argc < 2 || !parse(argc, argv, &o)) {
    usage();
    return 2;
  }
  const char *m = argv[1];
  if (!strcmp(m, "pace"))
    return do_pace(&o);
  if (!strcmp(m, "publish"))
    return do_publish(&o);
  if (!strcmp(m, "stamp"))
    return do_stamp(&o);
  if (!strcmp(m, "count"))
    return do_count(&o);
  if (!strcmp(m, "syncload"))
    return do_syncload(&o);
  usage();
  return 2;
}
