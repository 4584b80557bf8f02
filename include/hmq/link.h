/* SPDX-License-Identifier: MIT */
/*
 * hmq link: one transport (hmq_tls) + one client engine (hmq_client) + a
 * reconnect policy. Sans-clock: time comes in as now_ms (use hmq_now_ms()).
 * Non-blocking throughout, so one thread runs N links in one poll() loop:
 *
 *   hmq_link_init(&l, &lcfg, &ccfg, &mem);   // cannot fail
 *   hmq_link_start(&l, now);                 // loads files; first connect
 *   loop:
 *     for each link: hmq_link_poll_fd(&l, &fd, &events); add {fd, events}
 *                    (skip fd == -1) and timeout = min(hmq_link_deadline(&l))
 *     poll(...); now = hmq_now_ms();
 *     for each link: hmq_link_step(&l, revents, now);
 *                    while (hmq_link_next_event(&l, now, &ev) == HMQ_OK) handle(ev);
 *   (hmq_link_run_once() does exactly this poll/step part for an array.)
 *
 * Reconnects: after a connection is lost the link waits a random delay in
 * [c/2, c], c = min(backoff_max_ms, backoff_initial_ms * 2^attempt)
 * (hmq_link_backoff(); deterministic PRNG seeded by the caller) and connects
 * again. attempt counts failures in a row and goes back to 0 only when a
 * connection has proven itself: it stayed up proven_ms (30 s) after its
 * CONNACK. So a server that accepts and then drops at once gets at most 9
 * attempts in the first minute and 4 a minute after that (defaults).
 *
 * Refusals: every CONNACK, SUBACK and server DISCONNECT reason code is
 * transient (back off, retry) or permanent (hmq_link_refusal(), one table).
 * A permanent one ends the link: event HMQ_LINK_EV_DOWN with final = true,
 * state HMQ_LINK_DONE, msg naming the code, its meaning and the server's
 * Reason String and User Properties (hmq_link_refusal_text()). So does a
 * subscription the accepted CONNACK already rules out (Shared / Wildcard
 * Subscription Available 0, Maximum QoS below the QoS asked:
 * HMQ_ERR_SUB_UNAVAILABLE; the SUBSCRIBE is never sent) and certificate,
 * key and file errors. Everything else (keepalive, I/O, DNS, refused TCP,
 * protocol errors) is retried. A session takeover (DISCONNECT 0x8E) is
 * reported as HMQ_LINK_EV_TAKEN_OVER, counted and retried with a backoff
 * that grows with consecutive takeovers.
 *
 * Contract: hmq::link. The hmq_link object, the strings of both
 * configurations and the engine memory (hmq_client_mem) are the caller's
 * and must outlive it; event views point into that memory (lifetimes at
 * hmq_link_event). What blocks: hmq_link_start() loads the certificate
 * files, a (re)connect resolves the host name (both in hmq::tls), and
 * hmq_link_run_once() waits in poll() for at most its timeout; nothing else
 * does. Errors: the calls return an hmq_status (hmq.h); what happens to the
 * connection arrives as events (HMQ_LINK_EV_DOWN with status, reason, final
 * and msg), never as a return value of hmq_link_step().
 */
#ifndef HMQ_LINK_H
#define HMQ_LINK_H

#include "hmq/client.h"
#include "hmq/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

HMQ_API_BEGIN

typedef struct hmq_link_config {
  hmq_tls_config tls;
  uint32_t backoff_initial_ms; /* default 500 */
  uint32_t backoff_max_ms;     /* default 30000 */
  uint64_t seed;               /* jitter PRNG seed (any value, e.g. pid ^ time) */
  uint32_t close_timeout_ms;   /* hmq_link_close: wait for DISCONNECT to flush; 2000 */
  uint32_t proven_ms;          /* up this long after CONNACK: backoff starts over; 30000 */
} hmq_link_config;

typedef enum hmq_link_state {
  HMQ_LINK_IDLE = 0,   /* not started */
  HMQ_LINK_BACKOFF,    /* waiting to reconnect */
  HMQ_LINK_CONNECTING, /* TCP connect / TLS handshake */
  HMQ_LINK_MQTT,       /* transport open; the engine runs (CONNECT sent) */
  HMQ_LINK_CLOSING,    /* hmq_link_close: flushing DISCONNECT */
  HMQ_LINK_DONE        /* closed for good (hmq_link_close or a final error) */
} hmq_link_state;

/* Name of a state for logs ("BACKOFF"); static, never NULL. */
const char *hmq_link_state_name(hmq_link_state s);

typedef enum hmq_link_event_type {
  HMQ_LINK_EV_NONE = 0,
  HMQ_LINK_EV_MQTT,       /* mqtt holds an engine event (CONNACK, PUBLISH, SUBACK …) */
  HMQ_LINK_EV_UP,         /* TCP + TLS established, CONNECT queued */
  HMQ_LINK_EV_DOWN,       /* connection failed or lost: status, reason, final */
  HMQ_LINK_EV_TAKEN_OVER, /* DISCONNECT 0x8E: another client uses our client id */
  HMQ_LINK_EV_RETRY,      /* next connect in delay_ms (attempt-th retry) */
  HMQ_LINK_EV_CLOSED      /* hmq_link_close() finished; state DONE */
} hmq_link_event_type;

typedef struct hmq_link_event {
  hmq_link_event_type type;
  hmq_status status; /* DOWN/TAKEN_OVER: why; MQTT: HMQ_OK or
                        HMQ_ERR_SUBSCRIBE_REFUSED (mqtt.suback filled) */
  uint8_t reason;    /* CONNACK / DISCONNECT reason code when the server gave one */
  bool final;        /* DOWN: the link gives up (state DONE) */
  uint32_t delay_ms; /* RETRY */
  uint32_t attempt;  /* RETRY: failures in a row */
  const char *msg;   /* DOWN/TAKEN_OVER/RETRY: human text, valid until the next call */
  hmq_event mqtt;    /* MQTT: views valid until the next next_event/step call */
} hmq_link_event;

#define HMQ_LINK_EVQ 8

/* The link. Caller-allocated; fields are private. */
typedef struct hmq_link {
  hmq_link_config cfg;
  hmq_tls tls;
  hmq_client client;
  hmq_link_state state;
  uint64_t retry_at;
  uint64_t close_deadline;
  uint64_t rng;
  uint32_t attempt;         /* failures since the last proven connection */
  uint32_t takeover_streak; /* takeovers in a row */
  hmq_status rx_closed;     /* read side ended; drain rx, then tear down */
  bool rx_full;             /* last read stopped because rx had no room */
  bool connack_ok;          /* CONNACK accepted on this connection */
  hmq_link_event evq[HMQ_LINK_EVQ];
  size_t evq_head, evq_len;
  char msg[HMQ_LINK_EVQ][320];
  char errmsg[320];
  /* counters */
  uint64_t n_connects;  /* accepted CONNACKs */
  uint64_t n_downs;     /* connections failed or lost */
  uint64_t n_takeovers; /* DISCONNECT 0x8E received */
  uint64_t n_attempts;  /* connection attempts (TCP connects begun) */
  uint64_t connack_ms;  /* when this connection's CONNACK was accepted */
} hmq_link;

/* Defaults: hmq_tls_config_default(), backoff 500 ms doubling to 30 s,
 * seed 1, close timeout 2 s, proven after 30 s. */
void hmq_link_config_default(hmq_link_config *cfg);

/* Bind configs and memory (all must outlive the link; cfg is copied, its
 * strings are not). Cannot fail. */
void hmq_link_init(hmq_link *l, const hmq_link_config *cfg, const hmq_client_config *ccfg,
                   const hmq_client_mem *mem);

/* Release the transport. Always safe. */
void hmq_link_free(hmq_link *l);

/*
 * Set up the transport (load CA, certificate, key) and start the first
 * connect. Returns HMQ_OK (progress comes as events), or a setup error that
 * no retry can fix: HMQ_ERR_ARG, HMQ_ERR_FILE, HMQ_ERR_PEM,
 * HMQ_ERR_KEY_MISMATCH, HMQ_ERR_TLS, with hmq_link_errmsg() saying which file
 * and why; the link is then DONE. HMQ_ERR_STATE if already started.
 */
hmq_status hmq_link_start(hmq_link *l, uint64_t now_ms);

/* The descriptor to poll and the events (POLLIN/POLLOUT) wanted; *fd = -1
 * while backing off or done (then only the deadline matters). */
void hmq_link_poll_fd(const hmq_link *l, int *fd, short *events);

/* When hmq_link_step must run at the latest: 0 = now (work is pending),
 * UINT64_MAX = only when the descriptor is ready. */
uint64_t hmq_link_deadline(const hmq_link *l);

/*
 * Drive the link: reconnect when the backoff is over, advance connect and
 * handshake, move bytes both ways (read until WANT_READ or the engine's rx
 * is full, write tx until WANT_WRITE), tick the engine. revents is what
 * poll() reported for hmq_link_poll_fd() (0 on timeout; the link tries
 * non-blocking I/O anyway). Always returns HMQ_OK; failures come as events.
 */
hmq_status hmq_link_step(hmq_link *l, short revents, uint64_t now_ms);

/*
 * Next event: HMQ_OK with *ev filled, or HMQ_WANT_READ when there is none
 * now. Link-level events come in the order they happened, engine events as
 * the engine decodes them. ev->mqtt views point into the engine's rx buffer
 * and stay valid until the next call of hmq_link_next_event or
 * hmq_link_step on this link; ev->msg until the next such call as well.
 */
hmq_status hmq_link_next_event(hmq_link *l, uint64_t now_ms, hmq_link_event *ev);

/* Acknowledge inbound message seq (see hmq_client_ack): the PUBACK goes out
 * on a later step, in arrival order. Acks of an earlier connection are
 * ignored (HMQ_OK); HMQ_ERR_ARG for an unknown seq. */
hmq_status hmq_link_ack(hmq_link *l, uint64_t seq);

/*
 * Clean shutdown: send DISCONNECT with `reason` (0x00 keeps the session as
 * the CONNECT asked), flush it (bounded by close_timeout_ms), close, then
 * report HMQ_LINK_EV_CLOSED. Without an MQTT connection it closes at once.
 * Returns HMQ_OK.
 */
hmq_status hmq_link_close(hmq_link *l, uint8_t reason, uint64_t now_ms);

/* The engine, for publishing (hmq_client_publish) and counters. */
hmq_client *hmq_link_client(hmq_link *l);

/* Current state. */
hmq_link_state hmq_link_get_state(const hmq_link *l);

/* Message for hmq_link_start()'s error; "" when none. */
const char *hmq_link_errmsg(const hmq_link *l);

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
uint64_t hmq_now_ms(void);

/*
 * One loop turn for n links (pointers): poll all their descriptors (pfd
 * must have room for n entries) for at most max_wait_ms, bounded by the
 * earliest deadline, then step every link. The caller drains
 * hmq_link_next_event() of each link afterwards. Returns HMQ_OK or
 * HMQ_ERR_IO when poll() itself fails (errno kept; EINTR gives HMQ_OK).
 */
struct pollfd;
hmq_status hmq_link_run_once(hmq_link *const *links, size_t n, struct pollfd *pfd, int max_wait_ms);

/* ---- Policy (src/link/refusal.c, src/link/backoff.c) ------------------- */

typedef enum hmq_refusal {
  HMQ_REFUSAL_NONE = 0,  /* success, or a granted QoS: nothing refused */
  HMQ_REFUSAL_TRANSIENT, /* the same request may succeed later: back off, retry */
  HMQ_REFUSAL_PERMANENT, /* no retry can fix it: the link stops */
  HMQ_REFUSAL_INVALID    /* not a reason code of this packet (MQTT 5.0 2.4): the
                            decoder rejects the packet as malformed (retried) */
} hmq_refusal;

/* What reason code `reason` in a CONNACK, SUBACK or DISCONNECT from the
 * server means for the link; HMQ_REFUSAL_INVALID for other packet types. */
hmq_refusal hmq_link_refusal(uint8_t packet_type, uint8_t reason);

/* "transient", "permanent", …; static, never NULL. */
const char *hmq_refusal_name(hmq_refusal r);

/* One line (no newline) for a server's reason code: "<PACKET> 0xNN <meaning>"
 * then, when present in props (may be NULL), `reason string "…"` and
 * `user properties k=v, …`; control characters and quotes in the server's
 * text are shown as '?', long texts are cut with "...". Always
 * NUL-terminated. Returns buf. */
const char *hmq_link_refusal_text(char *buf, size_t cap, uint8_t packet_type, uint8_t reason,
                                  const hmq_props *props);

/* Check subscriptions against an accepted CONNACK's Shared Subscription
 * Available, Wildcard Subscription Available and Maximum QoS (3.2.2.3).
 * HMQ_OK, or HMQ_ERR_SUB_UNAVAILABLE with why (NUL-terminated, may be
 * NULL) naming the first filter and the property that rules it out. */
hmq_status hmq_link_subs_allowed(const hmq_connack *ck, const hmq_sub_filter *subs, size_t n,
                                 char *why, size_t cap);

/* Reconnect delay after `failures` failures in a row: uniform in [c/2, c]
 * with c = min(max_ms, initial_ms * 2^failures) (initial_ms 0 counts as 1).
 * *rng is the splitmix64 state, advanced once. */
uint32_t hmq_link_backoff(uint32_t initial_ms, uint32_t max_ms, uint32_t failures, uint64_t *rng);

HMQ_API_END

#ifdef __cplusplus
}
#endif

#endif
