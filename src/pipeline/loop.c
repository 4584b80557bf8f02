/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the main loop (see loop.h for the commit policy).
 *
 * Why "nothing more to read right now" is the main commit trigger: the
 * broker keeps a bounded window of unacknowledged QoS 1 messages in flight
 * and sends the next ones only after PUBACKs (MQTT 5.0 4.9, flow control).
 * When the socket runs dry the broker is waiting for us, so every further
 * moment without a commit is lost throughput. We find out without private
 * state: while messages are pending, poll() runs with a zero timeout, and a
 * poll that reports no readable socket (and no link with buffered work)
 * means drained.
 */
#include "pipeline/loop.h"
#include "pipeline/deliver_db.h"
#include "pipeline/connlog.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_MAX    1024 /* events per link per loop turn */
#define FLUSH_MAX_MS 2000 /* shutdown: longest wait for PUBACKs to leave */
#define GRACE_MS     100  /* shutdown: PUBACKs written -> DISCONNECT */

static int sig_wr = -1;
/* A second pipe, written on SIGINT/SIGTERM and never read: readable from
 * the first stop request on, so a sink blocked on its reader sees it
 * (hmq_sink_set_stop_fd) while the loop itself cannot run. */
static int stop_wr = -1;

static void on_signal(int sig) {
  unsigned char b = (unsigned char)sig;
  int saved = errno;
  if (write(sig_wr, &b, 1) < 0) {
    /* pipe full: a signal of the same kind is already waiting */
  }
  if ((sig == SIGINT || sig == SIGTERM) && write(stop_wr, &b, 1) < 0) {
    /* full: the stop request is already visible */
  }
  errno = saved;
}

int hmq_loop_signals(void) {
  int p[2], q[2], i;
  struct sigaction sa;
  if (pipe(p) != 0)
    return -1;
  if (pipe(q) != 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  for (i = 0; i < 2; i++) {
    fcntl(p[i], F_SETFL, O_NONBLOCK);
    fcntl(q[i], F_SETFL, O_NONBLOCK);
    fcntl(p[i], F_SETFD, FD_CLOEXEC);
    fcntl(q[i], F_SETFD, FD_CLOEXEC);
  }
  sig_wr = p[1];
  stop_wr = q[1];
  hmq_sink_set_stop_fd(q[0]);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  /* The --exec child's exit, where no pidfd tells (hmq_deliver_watch_fd). */
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  return p[0];
}

int hmq_loop_exit_code(hmq_status st) {
  switch (st) {
  case HMQ_ERR_ARG:
  case HMQ_ERR_TLS:
  case HMQ_ERR_CERT_UNTRUSTED:
  case HMQ_ERR_CERT_EXPIRED:
  case HMQ_ERR_CERT_NAME:
  case HMQ_ERR_FILE:
  case HMQ_ERR_PEM:
  case HMQ_ERR_KEY_MISMATCH:
  case HMQ_ERR_CLIENT_CERT:
  case HMQ_ERR_DNS:
    return HMQ_EXIT_CONFIG;
  case HMQ_ERR_REFUSED:
  case HMQ_ERR_SUBSCRIBE_REFUSED:
  case HMQ_ERR_SUB_UNAVAILABLE:
  case HMQ_ERR_SERVER_DISCONNECT:
  case HMQ_ERR_TAKEN_OVER:
    return HMQ_EXIT_REFUSED;
  default:
    return HMQ_EXIT_RUNTIME;
  }
}

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void say(const hmq_loop *L, const char *fmt, const char *a, const char *b) {
  if (!L->o->quiet)
    fprintf(stderr, fmt, a, b);
}

/* Stop taking messages and shut down with `code`. The first reason wins. */
static void stop(hmq_loop *L, int code, int no_commit) {
  if (!L->stopping) {
    L->exit_code = code;
    L->stopping = 1;
  }
  if (no_commit)
    L->no_commit = 1;
}

/* The delivery pipeline failed (or gave up on a blocked sink after a stop
 * request: HMQ_ERR_TIMEOUT): say so once, with how many messages it had
 * taken that are now not acknowledged, and stop without acking anything
 * more (deliver.h contract). */
static void output_failed(hmq_loop *L, hmq_status st) {
  size_t n = hmq_deliver_pending(L->d);
  if (L->no_commit)
    return;
  if (st == HMQ_ERR_TIMEOUT) {
    fprintf(stderr,
            "hmq: stopping with the output blocked: %s; %zu message%s not written, not "
            "acknowledged: the broker sends %s again\n",
            hmq_deliver_error(L->d), n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
    stop(L, HMQ_EXIT_OK, 1);
    return;
  }
  fprintf(stderr,
          "hmq: output failed, nothing more is acknowledged: %s; %zu message%s taken but not "
          "durable, not acknowledged: the broker sends them again\n",
          hmq_deliver_error(L->d), n, n == 1 ? "" : "s");
  stop(L, HMQ_EXIT_SINK, 1);
  L->exit_code = HMQ_EXIT_SINK;
}

/* Make pending messages durable and release their PUBACKs. A failure stops
 * everything without acking (deliver.h contract): the broker keeps those
 * messages and sends them again. */
/* The database did not take the batch (deliver_db.h): nothing is acked,
 * the batch stays, and the next attempt waits 100 ms doubling to 5 s. Said
 * on stderr at once and every 30 s while it lasts. */
#define DB_BACKOFF_MIN_MS 100u
#define DB_BACKOFF_MAX_MS 5000u
#define DB_REPORT_MS      30000u

static void db_unavailable(hmq_loop *L) {
  uint64_t now = hmq_now_ms();
  if (!L->db_down_since) {
    L->db_down_since = now;
    L->db_backoff_ms = DB_BACKOFF_MIN_MS;
    L->db_said_at = 0;
  } else if (L->db_backoff_ms < DB_BACKOFF_MAX_MS) {
    L->db_backoff_ms =
        L->db_backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : L->db_backoff_ms * 2;
  }
  L->db_retry_at = now + L->db_backoff_ms;
  if (!L->db_said_at || now - L->db_said_at >= DB_REPORT_MS) {
    L->db_said_at = now;
    fprintf(stderr,
            "hmq: database unavailable, nothing is acknowledged until it is back (%zu messages "
            "waiting, retrying): %s\n",
            hmq_deliver_pending(L->d), hmq_deliver_db_reason(L->d));
  }
}

static void db_available(hmq_loop *L) {
  if (!L->db_down_since)
    return;
  fprintf(stderr, "hmq: database available again after %.1f s\n",
          (double)(hmq_now_ms() - L->db_down_since) / 1000.0);
  L->db_down_since = 0;
}

/* Ack seqs on their links (the connection index is in the low bits). */
static void release(hmq_loop *L, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    uint64_t s = L->acks[i];
    size_t li = (size_t)(s & ((1u << HMQ_LOOP_LINK_BITS) - 1));
    uint64_t seq = s >> HMQ_LOOP_LINK_BITS;
    /* seq 0: a QoS 0 message, nothing to acknowledge */
    if (seq != 0 && li < L->n && hmq_link_ack(L->links[li], seq) != HMQ_OK && L->o->debug)
      fprintf(stderr, "hmq: [%zu] ack of seq %llu refused (connection changed)\n", li,
              (unsigned long long)seq);
  }
}

static void sealed_all(hmq_loop *L) {
  memset(L->unsealed, 0, sizeof L->unsealed);
}

static int commit(hmq_loop *L) {
  if (!L->d || L->no_commit)
    return -1;
  if (L->db_down_since && hmq_now_ms() < L->db_retry_at)
    return -1; /* database down: no attempt before the backoff is over */
  while (hmq_deliver_pending(L->d) > 0) {
    size_t n = 0;
    uint64_t t0 = hmq_now_ms();
    hmq_status st = hmq_deliver_commit(L->d, L->acks, L->acks_cap, &n);
    L->db_commit_ms = hmq_now_ms() - t0;
    if (st == HMQ_WANT_WRITE) {
      db_unavailable(L);
      return -1;
    }
    db_available(L);
    if (st != HMQ_OK) {
      output_failed(L, st);
      return -1;
    }
    sealed_all(L);
    release(L, n);
    if (n == 0)
      break;
  }
  return 0;
}

/* Asynchronous commit: ack every seq whose sync completed. A database
 * store that did not go through (HMQ_WANT_WRITE) is retried after the
 * backoff (db_unavailable). */
static int collect(hmq_loop *L) {
  for (;;) {
    size_t n = 0;
    hmq_status st = hmq_deliver_collect(L->d, L->acks, L->acks_cap, &n);
    if (st == HMQ_WANT_WRITE) {
      db_unavailable(L);
      return -1;
    }
    if (st != HMQ_OK) {
      output_failed(L, st);
      return -1;
    }
    if (L->db_down_since && !hmq_deliver_db_down(L->d))
      db_available(L);
    if (n == 0)
      return 0;
    release(L, n);
  }
}

/* Asynchronous commit, a trigger fired: lines out now; the batch's sync
 * starts unless one is in flight (then it starts when that one completes)
 * or the database is down and its backoff is not over (then the batch that
 * did not go through is retried first, alone, when it is). */
static void seal(hmq_loop *L) {
  hmq_status st;
  if (L->no_commit)
    return;
  int wait = hmq_deliver_syncing(L->d) || (L->db_down_since && hmq_now_ms() < L->db_retry_at);
  st = wait ? hmq_deliver_flush(L->d) : hmq_deliver_start(L->d);
  if (st == HMQ_WANT_WRITE) {
    db_unavailable(L);
    return;
  }
  if (st != HMQ_OK) {
    output_failed(L, st);
    return;
  }
  if (!hmq_deliver_syncing(L->d) || hmq_deliver_unsealed(L->d) == 0)
    sealed_all(L);
  (void)collect(L); /* a batch of duplicates only is ready at once */
}

/* *wall: the wall clock read once per drain() batch (0 = not read yet).
 * A clock_gettime per message was ~3 % of hmq's CPU in a backlog drain;
 * a batch is bounded by DRAIN_MAX events, so the stamp is at most one
 * batch's processing time (a few ms) early. */
static void on_signals(hmq_loop *L);
static void print_stats(hmq_loop *L, uint64_t now);

/* The database batch is full and the database is down: wait for the next
 * attempt here, holding the event (its payload stays valid), while
 * signals are still handled. The links are not read meanwhile; a broker
 * that drops the connection for it sends the unacknowledged messages
 * again later. */
static void db_sleep(hmq_loop *L) {
  uint64_t now = hmq_now_ms();
  struct pollfd p = {.fd = L->sig_fd, .events = POLLIN, .revents = 0};
  int tmo = L->db_retry_at > now ? (int)(L->db_retry_at - now) : 0;
  if (poll(&p, 1, tmo > 1000 ? 1000 : tmo) > 0 && (p.revents & POLLIN))
    on_signals(L);
  print_stats(L, hmq_now_ms());
}

static void on_publish(hmq_loop *L, size_t li, const hmq_link_event *ev, uint64_t *wall) {
  const hmq_publish *p = &ev->mqtt.publish;
  uint64_t seq = (ev->mqtt.seq << HMQ_LOOP_LINK_BITS) | li;
  hmq_status st;
  if (L->stopping || !L->d)
    return; /* not taken, not acked: the broker sends it again */
  if (*wall == 0)
    *wall = wall_ms();
  for (;;) {
    st = hmq_deliver_message(L->d, seq, p->topic.ptr, p->topic.len, p->payload.ptr, p->payload.len,
                             p->dup, *wall);
    if (st != HMQ_ERR_FULL)
      break;
    if (commit(L) != 0) {
      if (!L->db_down_since || L->stopping)
        return;
      db_sleep(L);
      if (L->stopping)
        return; /* not taken, not acked: the broker sends it again */
    }
  }
  if (st != HMQ_OK) {
    output_failed(L, st);
    return;
  }
  L->unsealed[li]++;
  /* -C: only messages actually written count; stop taking more at once so
   * exactly N lines (messages) reach the output. */
  if (L->o->count && hmq_deliver_stats(L->d)->written >= L->o->count)
    stop(L, HMQ_EXIT_OK, 0);
}

static void on_suback(hmq_loop *L, size_t li, const hmq_link_event *ev) {
  const hmq_suback *s = &ev->mqtt.suback;
  size_t i;
  for (i = 0; i < s->reasons.len && i < L->o->topic_count; i++) {
    uint8_t r = s->reasons.ptr[i];
    char line[HMQ_OPT_TOPIC + 160];
    if (r >= 0x80) {
      /* Refused: the link closes this connection and reports it as DOWN,
       * final or retried by its reason code (hmq_link_refusal). */
    } else if (r < L->o->qos) {
      snprintf(line, sizeof line, "subscription to '%s' granted with QoS %u only", L->o->topics[i],
               r);
      say(L, "hmq: [%s] warning: %s\n", L->ids[li], line);
    } else if (L->o->debug) {
      fprintf(stderr, "hmq: [%s] subscribed to '%s' (QoS %u)\n", L->ids[li], L->o->topics[i], r);
    }
  }
}

/* -d: every CONNECT property we sent and every CONNACK property the server
 * answered, then what it changed of what we asked; -v: a cut Session Expiry
 * (the session is lost after a shorter outage than configured). */
static void log_connack(const hmq_loop *L, size_t li, const hmq_connack *c) {
  hmq_connect k;
  char line[1400];
  if (!L->o->verbose && !L->o->debug)
    return;
  if (hmq_client_connect_sent(hmq_link_client(L->links[li]), &k) != HMQ_OK)
    return;
  if (L->o->debug) {
    hmq_connlog_connack(c, line, sizeof line);
    fprintf(stderr, "hmq: [%s] %s\n", L->ids[li], line);
    if (hmq_connlog_caps(&k, c, line, sizeof line) > 0)
      fprintf(stderr, "hmq: [%s] server limits: %s\n", L->ids[li], line);
  }
  if (hmq_connlog_expiry_cut(&k, c, line, sizeof line) > 0)
    fprintf(stderr, "hmq: [%s] %s\n", L->ids[li], line);
}

static void on_connack(hmq_loop *L, size_t li, const hmq_link_event *ev, uint64_t now) {
  const hmq_connack *c = &ev->mqtt.connack;
  hmq_link *l = L->links[li];
  if (L->o->verbose || L->o->debug)
    fprintf(stderr, "hmq: [%s] connected to %s:%u (%s)\n", L->ids[li], L->o->host,
            (unsigned)L->o->port, c->session_present ? "session resumed" : "new session");
  if ((L->o->verbose || L->o->debug) && !L->o->plain) {
    const char *ver, *suite;
    if (hmq_tls_ciphersuite(&l->tls, &ver, &suite) == HMQ_OK)
      fprintf(stderr, "hmq: [%s] TLS established: %s %s\n", L->ids[li], ver, suite);
  }
  log_connack(L, li, c);
  if (!c->session_present && L->o->persist && l->n_connects > 1)
    say(L, "hmq: [%s] warning: %s\n", L->ids[li],
        "the broker had no session for us after a reconnect: what it queued for the old one "
        "is gone");
  L->connack_ms[li] = now;
  if (L->o->timeout_s && !L->timeout_at)
    L->timeout_at = now + (uint64_t)L->o->timeout_s * 1000u; /* as mosquitto_sub: from CONNACK */
  if (L->o->end_session && ++L->connacks == L->n)
    stop(L, HMQ_EXIT_OK, 0);
}

/* A broker that closes an accepted connection without DISCONNECT 0x8E
 * when another client takes the id over (mosquitto 2.0.11 does) shows it
 * only as connections dropped right after CONNACK, again and again. Say
 * what that probably means, once. */
static void quick_drop(hmq_loop *L, size_t li, const hmq_link_event *ev, uint64_t now) {
  if (ev->status != HMQ_ERR_CLOSED || !L->connack_ms[li] || now - L->connack_ms[li] > 5000) {
    L->quick_drops[li] = 0;
    return;
  }
  L->connack_ms[li] = 0;
  if (++L->quick_drops[li] == 3)
    fprintf(stderr,
            "hmq: [%s] WARNING: the broker closed the connection right after accepting it, 3 "
            "times in a row: another client is probably using the same client id (session "
            "takeover). Every instance needs its own client id / --state-dir.\n",
            L->ids[li]);
}

static void on_event(hmq_loop *L, size_t li, const hmq_link_event *ev, uint64_t now,
                     uint64_t *wall) {
  const char *msg = ev->msg ? ev->msg : "";
  switch (ev->type) {
  case HMQ_LINK_EV_MQTT:
    switch (ev->mqtt.type) {
    case HMQ_EV_PUBLISH:
      on_publish(L, li, ev, wall);
      break;
    case HMQ_EV_CONNACK:
      on_connack(L, li, ev, now);
      break;
    case HMQ_EV_SUBACK:
      on_suback(L, li, ev);
      break;
    case HMQ_EV_DISCONNECT:
      if (L->o->debug)
        fprintf(stderr, "hmq: [%s] server DISCONNECT 0x%02X %s\n", L->ids[li],
                ev->mqtt.disconnect.reason,
                hmq_reason_str(HMQ_PKT_DISCONNECT, ev->mqtt.disconnect.reason));
      break;
    default:
      break;
    }
    break;
  case HMQ_LINK_EV_UP:
    if (L->o->debug) {
      hmq_connect k;
      char line[1400];
      fprintf(stderr, "hmq: [%s] transport up, CONNECT sent\n", L->ids[li]);
      if (hmq_client_connect_sent(hmq_link_client(L->links[li]), &k) == HMQ_OK) {
        hmq_connlog_connect(&k, line, sizeof line);
        fprintf(stderr, "hmq: [%s] %s\n", L->ids[li], line);
      }
    }
    break;
  case HMQ_LINK_EV_DOWN:
    /* A permanent failure: one line, the last one (nothing reconnects and
     * print_stats stays quiet while stopping). */
    if (ev->final && !L->stopping) {
      stop(L, hmq_loop_exit_code(ev->status), 0);
      fprintf(stderr, "hmq: [%s] %s; permanent, giving up (exit %d)\n", L->ids[li], msg,
              L->exit_code);
    } else if (ev->final) {
      if (L->o->debug)
        fprintf(stderr, "hmq: [%s] %s\n", L->ids[li], msg);
    } else if (!L->stopping) {
      say(L, "hmq: [%s] connection lost: %s; reconnecting\n", L->ids[li], msg);
      quick_drop(L, li, ev, now);
    }
    break;
  case HMQ_LINK_EV_TAKEN_OVER:
    /* Loud: someone else uses our client id; each of us keeps kicking the
     * other off. After three in one run we give up rather than ping-pong. */
    L->takeovers++;
    fprintf(stderr,
            "hmq: [%s] SESSION TAKEN OVER: another client connected with our client id "
            "(DISCONNECT 0x8E). Every instance needs its own client id / --state-dir. %s\n",
            L->ids[li], msg);
    if (L->takeovers >= 3 && !L->closing) {
      fprintf(stderr, "hmq: taken over %llu times, giving up\n", (unsigned long long)L->takeovers);
      stop(L, HMQ_EXIT_REFUSED, 0);
    }
    break;
  case HMQ_LINK_EV_RETRY:
    if (L->o->debug)
      fprintf(stderr, "hmq: [%s] %s\n", L->ids[li], msg);
    break;
  default:
    break;
  }
}

/* The --exec command may have exited (its pidfd or SIGCHLD): what it
 * read out of the pipe is committed and acknowledged, then hmq stops with
 * exit 5 (output_failed) acknowledging nothing it did not take. */
static void check_sink(hmq_loop *L) {
  hmq_status st;
  if (!L->d || L->no_commit)
    return;
  if (hmq_deliver_pending(L->d) > 0 && commit(L) != 0)
    return; /* commit() said why */
  st = hmq_deliver_check(L->d);
  if (st != HMQ_OK)
    output_failed(L, st);
}

static void reopen(hmq_loop *L) {
  hmq_status st;
  if (!L->d || L->no_commit)
    return;
  st = hmq_deliver_reopen(L->d);
  if (st == HMQ_ERR_FILE)
    say(L, "hmq: %s%s\n", "reopen failed: ", hmq_deliver_error(L->d));
  else if (st != HMQ_OK)
    output_failed(L, st);
  else if (L->o->verbose)
    fprintf(stderr, "hmq: output reopened\n");
}

static void on_signals(hmq_loop *L) {
  unsigned char b[16];
  ssize_t k, i;
  while ((k = read(L->sig_fd, b, sizeof b)) > 0) {
    for (i = 0; i < k; i++) {
      if (b[i] == SIGHUP) {
        reopen(L);
      } else if (b[i] == SIGCHLD) {
        check_sink(L);
      } else {
        if (L->o->verbose)
          fprintf(stderr, "hmq: signal %d: finishing\n", (int)b[i]);
        stop(L, HMQ_EXIT_OK, 0);
      }
    }
  }
}

static void print_stats(hmq_loop *L, uint64_t now) {
  hmq_stats *s;
  char line[512];
  size_t i;
  uint64_t inflight = 0, reconnects = 0, attempts = 0;
  if (!L->o->stats_s || !L->d || now < L->next_stats || L->stopping)
    return;
  L->next_stats = now + (uint64_t)L->o->stats_s * 1000u;
  s = hmq_deliver_stats(L->d);
  for (i = 0; i < L->n; i++) {
    hmq_link *l = L->links[i];
    inflight += hmq_client_inflight(hmq_link_client(l));
    reconnects += l->n_connects > 1 ? l->n_connects - 1 : 0;
    attempts += l->n_attempts;
  }
  s->in_flight = inflight;
  s->reconnects = reconnects;
  s->attempts = attempts;
  hmq_stats_line(s, wall_ms(), line, sizeof line);
  if (L->d->db)
    fprintf(stderr, "%s db=%s db_failures=%llu db_refused=%llu\n", line,
            L->db_down_since ? "down" : "up", (unsigned long long)hmq_deliver_db_failures(L->d),
            (unsigned long long)hmq_deliver_db_rejected(L->d));
  else
    fprintf(stderr, "%s\n", line);
}

/* Largest batch one commit covers, whatever Receive Maximum we announce.
 * We announce 65535 because Debian's mosquitto 2.0.11 ignores smaller
 * windows while draining a backlog (docs/mosquitto.md); but that broker then keeps
 * pushing, and a batch allowed to grow to 65535 let its in-flight count pass
 * our Receive Maximum (we disconnect with 0x93, it resends everything: a
 * reconnect storm seen in bench/drain.sh over TLS). Committing at this size
 * keeps the broker's in-flight list short; one fdatasync per 2048 messages
 * costs nothing measurable. */
#define HMQ_LOOP_BATCH_MAX 2048u

/* With db_batch_max set (a database sink) and the commit synchronous (a
 * dead-letter FIFO: deliver_open.c), a socket that ran dry commits the
 * batch only once its oldest message has waited as long as the last
 * commit took (at most --max-delay-ms). In a backlog drain the socket runs
 * dry for moments while the broker catches up with us; committing at each
 * of them made batches of ~900 messages, and SQLite rewrites about the
 * same pages (the vehicle-keyed index, latest) for 900 messages as for
 * 4000 (BENCHMARKS.md). Waiting as long as the last commit keeps commits
 * at most about half of the time, and adds at most one commit's duration
 * to a message's wait. Returns the ms still to wait, 0: commit now. */
static uint64_t db_wait_left(const hmq_loop *L) {
  uint64_t wait, due, now;
  if (!L->db_batch_max || !L->d || hmq_deliver_pending(L->d) == 0)
    return 0;
  wait = L->db_commit_ms < L->o->max_delay_ms ? L->db_commit_ms : L->o->max_delay_ms;
  due = hmq_deliver_oldest_ms(L->d) + wait;
  now = wall_ms();
  return due > now ? due - now : 0;
}

/* Window full on some link: the broker cannot send more until we ack, or
 * the batch reached HMQ_LOOP_BATCH_MAX. */
static int window_full(const hmq_loop *L) {
  size_t i, cap = L->db_batch_max ? L->db_batch_max : HMQ_LOOP_BATCH_MAX;
  size_t limit = L->receive_max < cap ? L->receive_max : cap;
  if (L->d && hmq_deliver_pending(L->d) >= limit)
    return 1;
  for (i = 0; i < L->n; i++)
    if (hmq_client_inflight(hmq_link_client(L->links[i])) >= limit)
      return 1;
  return 0;
}

/* Acknowledge at the TCP level what was just read, now, not after the
 * kernel's delayed-ACK wait. Why: a broker that writes without
 * TCP_NODELAY (mosquitto's default) holds each next small segment (Nagle)
 * until our TCP ACK comes. mosquitto_sub's PUBACK, sent right away, carries
 * that ACK; ours waits for the batch's fdatasync, so without this every
 * message behind the first one waited for the sync (bench/live.sh under a
 * disk-sync load: pub -> written p99 17 ms, the delay ending exactly at our
 * PUBACK's send). The flag is not sticky in the kernel: set after every
 * read that took only a trickle (fewer than QUICK_ACK_EVENTS packets). In a
 * backlog drain the broker's segments are full, so Nagle holds nothing
 * back, and an ACK for every read only cost kernel time (bench/tls.sh,
 * TLS 1.3 ChaCha20, wide window: hmq/mosquitto_sub CPU 0.59-0.83 with it
 * after every read, 0.45-0.57 without). Not a socket (-1, or setsockopt
 * fails): nothing to do. */
#define QUICK_ACK_EVENTS 4
static void quick_ack(int fd) {
  int one = 1;
  if (fd >= 0)
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static int all_done(const hmq_loop *L) {
  size_t i;
  for (i = 0; i < L->n; i++)
    if (hmq_link_get_state(L->links[i]) != HMQ_LINK_DONE)
      return 0;
  return 1;
}

/* Handle a bounded number of events of one link: next_event reads on by
 * itself while the socket has data, so an unbounded drain of a backlog
 * would never reach the commit below. What is left stays buffered; the
 * link's deadline is then "now" and the next turn continues. */
static int drain(hmq_loop *L, size_t li, uint64_t now) {
  hmq_link_event ev;
  uint64_t wall = 0;
  int k;
  for (k = 0; k < DRAIN_MAX; k++) {
    if (hmq_link_next_event(L->links[li], now, &ev) != HMQ_OK)
      return k;
    on_event(L, li, &ev, now, &wall);
  }
  return k;
}

static void begin_close(hmq_loop *L, uint64_t now) {
  size_t i;
  if (!L->no_commit)
    commit(L);
  /* The engine writes every released PUBACK before the DISCONNECT, and the
   * link waits (bounded) until DISCONNECT has left: so with -C the acks of
   * all N messages are on the wire before we exit. Reason 0x00 keeps the
   * session (MQTT 5.0 3.14.2.1). */
  for (i = 0; i < L->n; i++)
    hmq_link_close(L->links[i], 0x00, now);
  L->closing = 1;
}

/* 1 when no connected link has bytes (PUBACKs) waiting to be written. */
static int flushed(const hmq_loop *L, int *connected) {
  size_t i;
  *connected = 0;
  for (i = 0; i < L->n; i++) {
    hmq_link *l = L->links[i];
    if (hmq_link_get_state(l) != HMQ_LINK_MQTT)
      continue;
    *connected = 1;
    if (hmq_client_want(hmq_link_client(l)) & HMQ_CLIENT_WANT_WRITE)
      return 0;
  }
  return 1;
}

/* Shutdown: commit and release the PUBACKs, keep the links running (new
 * PUBLISHes are not taken) until every PUBACK has been written, wait a
 * short grace, then DISCONNECT. The grace is for brokers that drop PUBACKs
 * arriving together with DISCONNECT and the TLS close: mosquitto 2.0.11
 * does (docs/mosquitto.md; seen in tests/integration/test_cli.c), and then resends
 * those messages to the next session. Bounded by FLUSH_MAX_MS. */
static void shutdown_step(hmq_loop *L, uint64_t now) {
  int connected;
  if (!L->flushing) {
    if (!L->no_commit)
      commit(L);
    L->flushing = 1;
    L->flush_until = now + FLUSH_MAX_MS;
    L->grace_at = 0;
  }
  if (!L->grace_at && flushed(L, &connected))
    L->grace_at = connected ? now + GRACE_MS : now;
  if ((L->grace_at && now >= L->grace_at) || now >= L->flush_until)
    begin_close(L, now);
}

int hmq_loop_run(hmq_loop *L) {
  struct pollfd pfd[HMQ_OPT_CONN_MAX + 3];
  size_t i;
  int async = L->d && hmq_deliver_done_fd(L->d) >= 0;
  check_sink(L); /* an --exec command that exited before SIGCHLD was caught */
  for (;;) {
    uint64_t now = hmq_now_ms(), wake = UINT64_MAX;
    int tmo, rc, busy = 0, readable = 0, lbusy[HMQ_OPT_CONN_MAX];
    size_t pending = L->d ? hmq_deliver_pending(L->d) : 0, had[HMQ_OPT_CONN_MAX];
    int syncing = async && hmq_deliver_syncing(L->d);
    if (async) /* asynchronous commit: what waits for a seal */
      pending = hmq_deliver_unsealed(L->d);

    /* Events can be queued outside a step (hmq_link_start, close). */
    for (i = 0; i < L->n; i++)
      drain(L, i, now);
    if (L->stopping && !L->closing)
      shutdown_step(L, now);
    if (L->closing && all_done(L))
      break;
    if (!L->closing && all_done(L)) {
      stop(L, L->exit_code ? L->exit_code : HMQ_EXIT_RUNTIME, 0);
      break;
    }
    for (i = 0; i < L->n; i++) {
      short events;
      int fd;
      uint64_t dl = hmq_link_deadline(L->links[i]);
      hmq_link_poll_fd(L->links[i], &fd, &events);
      pfd[i].fd = fd;
      pfd[i].events = events;
      pfd[i].revents = 0;
      lbusy[i] = dl <= now;
      had[i] = L->unsealed[i];
      if (dl <= now)
        busy = 1;
      if (dl < wake)
        wake = dl;
    }
    pfd[L->n].fd = L->sig_fd;
    pfd[L->n].events = POLLIN;
    pfd[L->n].revents = 0;
    pfd[L->n + 1].fd = L->d && !L->no_commit ? hmq_deliver_watch_fd(L->d) : -1;
    pfd[L->n + 1].events = POLLIN;
    pfd[L->n + 1].revents = 0;
    pfd[L->n + 2].fd = async ? hmq_deliver_done_fd(L->d) : -1;
    pfd[L->n + 2].events = POLLIN;
    pfd[L->n + 2].revents = 0;
    if (L->timeout_at && L->timeout_at < wake)
      wake = L->timeout_at;
    if (L->o->stats_s && L->d && L->next_stats < wake)
      wake = L->next_stats;
    if (L->db_down_since && L->db_retry_at < wake)
      wake = L->db_retry_at;
    if (pending > 0 && !L->closing && !L->db_down_since && !syncing) {
      uint64_t oldest = async ? hmq_deliver_unsealed_oldest_ms(L->d) : hmq_deliver_oldest_ms(L->d);
      uint64_t due = oldest + L->o->max_delay_ms;
      uint64_t wnow = wall_ms();
      uint64_t left = due > wnow ? due - wnow : 0;
      if (now + left < wake)
        wake = now + left;
    }
    if (busy || wake <= now)
      tmo = 0;
    else if (wake == UINT64_MAX || wake - now > 1000)
      tmo = 1000;
    else
      tmo = (int)(wake - now);
    /* Pending messages: only look, never sleep (see the top of this file);
     * while a sync is in flight, only until their lines are written: its
     * done fd wakes us for the next seal. */
    if (pending > 0 && !L->closing && !L->db_down_since &&
        (!syncing || hmq_deliver_buffered(L->d) > 0)) {
      /* (db_wait_left: sleep until then or until data comes) */
      uint64_t left = !async && !busy && tmo > 0 ? db_wait_left(L) : 0;
      tmo = left ? (left < (uint64_t)tmo ? (int)left : tmo) : 0;
    }
    if (L->flushing && !L->closing && tmo > 10)
      tmo = 10;
    rc = poll(pfd, L->n + 3, tmo);
    if (rc < 0 && errno != EINTR) {
      fprintf(stderr, "hmq: poll: %s\n", strerror(errno));
      stop(L, HMQ_EXIT_RUNTIME, 0);
      continue;
    }
    now = hmq_now_ms();
    if (rc > 0 && (pfd[L->n].revents & POLLIN))
      on_signals(L);
    if (rc > 0 && pfd[L->n + 1].fd >= 0 && pfd[L->n + 1].revents)
      check_sink(L);
    for (i = 0; i < L->n; i++) {
      short re = pfd[i].fd >= 0 ? pfd[i].revents : 0;
      if (re & (POLLIN | POLLHUP | POLLERR))
        readable = 1;
      hmq_link_step(L->links[i], re, now);
      if (drain(L, i, now) < QUICK_ACK_EVENTS && (re & POLLIN))
        quick_ack(pfd[i].fd);
    }
    if (async && !L->no_commit) {
      int done = rc > 0 && (pfd[L->n + 2].revents & POLLIN);
      if (done && collect(L) == 0 && !L->closing && hmq_deliver_unsealed(L->d) > 0)
        seal(L); /* group commit: what came during the sync */
      else if (L->db_down_since && !L->closing && !hmq_deliver_syncing(L->d) &&
               hmq_now_ms() >= L->db_retry_at && hmq_deliver_pending(L->d) > 0)
        seal(L); /* the database's backoff is over: the batch again */
    }
    if (async && L->d && !L->closing && !L->no_commit && hmq_deliver_unsealed(L->d) > 0) {
      /* A link that ran dry with messages taken seals (per link: no link
       * waits for the others to run dry), as do a full window and the
       * delay bound. While a sync is in flight this only writes the lines. */
      int trig =
          window_full(L) || wall_ms() >= hmq_deliver_unsealed_oldest_ms(L->d) + L->o->max_delay_ms;
      for (i = 0; i < L->n && !trig; i++)
        if (had[i] > 0 && !lbusy[i] && !(pfd[i].fd >= 0 && (pfd[i].revents & POLLIN)))
          trig = 1;
      if (trig && (hmq_deliver_syncing(L->d) ? hmq_deliver_buffered(L->d) > 0 : 1))
        seal(L);
    } else if (!async && L->d && !L->closing && hmq_deliver_pending(L->d) > 0) {
      uint64_t oldest = hmq_deliver_oldest_ms(L->d);
      int drained = pending > 0 && !readable && !busy && db_wait_left(L) == 0;
      if (drained || window_full(L) || wall_ms() >= oldest + L->o->max_delay_ms)
        commit(L);
    }
    if (L->timeout_at && now >= L->timeout_at && !L->stopping) {
      say(L, "hmq: %s%s\n", "Timed out", "");
      stop(L, HMQ_EXIT_TIMEOUT, 0);
    }
    print_stats(L, now);
  }
  if (L->d && !L->no_commit) {
    L->db_retry_at = 0; /* one last attempt whatever the backoff says */
    commit(L);          /* nothing to ack any more; makes the output complete */
  }
  if (L->d && L->db_down_since && hmq_deliver_pending(L->d) > 0)
    fprintf(stderr,
            "hmq: %zu messages were not stored (database unavailable) and not acknowledged: the "
            "broker sends them again\n",
            hmq_deliver_pending(L->d));
  return L->exit_code;
}
