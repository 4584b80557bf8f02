/* SPDX-License-Identifier: MIT */
/*
 * Integration test harness: a private mosquitto on loopback with a fresh
 * test PKI and data directory, plus helpers to drive hmq links against it.
 * Reusable by every end-to-end test (link tests/integration/harness.c; the
 * CMakeLists there does it for tests/integration/test_*.c).
 *
 *   hmq_h_broker b;
 *   if (hmq_h_setup(&b) != 0) fail;        // temp dir, PKI, two free ports
 *   hmq_h_start(&b);                       // mosquitto -c <dir>/mosquitto.conf
 *   ... b.port: mutual TLS (CA pki/ca.crt, server cert pki/<server_cert>),
 *       b.plain_port: plain MQTT for publishers (mosquitto_pub, our link) ...
 *   hmq_h_stop(&b); hmq_h_start(&b);       // restart: same ports, same data
 *   hmq_h_pause(&b); hmq_h_resume(&b);     // SIGSTOP / SIGCONT
 *   hmq_h_cleanup(&b);                     // stop (bounded) + remove the dir
 *
 * Everything is bounded in time: start waits at most 5 s for the port,
 * stop waits 5 s after SIGTERM, then SIGKILLs. Only 127.0.0.1 is used.
 * Files of the PKI (see make-pki.sh): ca, server, client, other-ca,
 * other-client, other-server, expired, wrongname, notpem (.crt / .key).
 * The broker log is <dir>/mosquitto.log (printed by hmq_h_dump_log).
 */
#ifndef HMQ_TEST_HARNESS_H
#define HMQ_TEST_HARNESS_H

#include "hmq/link.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hmq_h_broker {
  char dir[200];           /* temp dir; pki/ data/ mosquitto.conf mosquitto.log */
  uint16_t port;           /* mutual-TLS listener on 127.0.0.1 */
  uint16_t plain_port;     /* plain listener on 127.0.0.1 */
  const char *server_cert; /* PKI file name used as certfile; "server.crt" */
  const char *server_ca;   /* PKI file name the broker checks clients with; "ca.crt" */
  const char *ciphers;     /* TLS 1.2 cipher list for the broker (OpenSSL syntax); NULL = default */
  int keepalive_max;       /* max_keepalive in the conf; 0 = mosquitto default */
  int pid;                 /* 0 when not running */
} hmq_h_broker;

/* Make the temp dir, generate the PKI, pick two free loopback ports. 0 on
 * success, -1 with a message on stderr. */
int hmq_h_setup(hmq_h_broker *b);

/* Write mosquitto.conf and start mosquitto; wait (<= 5 s) until the TLS
 * port accepts. 0 on success. */
int hmq_h_start(hmq_h_broker *b);

/* SIGTERM (mosquitto saves its persistence file), wait <= 5 s, then SIGKILL.
 * 0 when it exited by itself. Safe when not running. */
int hmq_h_stop(hmq_h_broker *b);

/* SIGSTOP / SIGCONT the broker. */
int hmq_h_pause(hmq_h_broker *b);
int hmq_h_resume(hmq_h_broker *b);

/* Stop the broker and delete the temp dir. Always safe. */
void hmq_h_cleanup(hmq_h_broker *b);

/* hmq_h_cleanup, except that with HMQ_IT_KEEP set in the environment the
 * broker is stopped and its temp dir kept (its path printed on stderr) for
 * a look after a failing test. */
void hmq_h_cleanup_or_keep(hmq_h_broker *b);

/* SIGKILL and reap every child pid > 0 of kids[0..n-1] (its whole process
 * group when groups), setting the entries to 0: a test never leaves a
 * process behind, whatever failed. */
void hmq_h_kill_all(pid_t *kids, size_t n, bool groups);

/* Path of a file in the PKI dir into out ("<dir>/pki/<name>"); returns out. */
const char *hmq_h_pki(const hmq_h_broker *b, const char *name, char *out, size_t cap);

/* Print the broker log's last lines to stderr (for failing tests). */
void hmq_h_dump_log(const hmq_h_broker *b);

/*
 * Publish `count` QoS 1 messages with mosquitto_pub -V 5 -q 1 -l over the
 * plain port, payloads {"message_id":"<prefix><n>"} for n = first ..
 * first+count-1. Returns the number of messages the broker acknowledged:
 * count when mosquitto_pub exited 0 (it waits for every PUBACK before
 * exiting on end of input), else -1.
 */
long hmq_h_publish(const hmq_h_broker *b, const char *topic, const char *prefix, long first,
                   long count);

/* Same with `pad` filler bytes before the message id (realistic sizes:
 * High Mobility envelopes are about 1.3 KB). */
long hmq_h_publish_pad(const hmq_h_broker *b, const char *topic, const char *prefix, long first,
                       long count, size_t pad);

/* Monotonic milliseconds. */
uint64_t hmq_h_now(void);

/* Sleep ms milliseconds (resumed after signals). */
void hmq_h_sleep_ms(unsigned ms);

/* Wait for child pid: its exit code (128 + signal when killed by one), or
 * -1 after SIGKILLing it (its whole process group when whole_group) and
 * reaping it when it outlives timeout_ms or cannot be waited for. */
int hmq_h_wait_exit(pid_t pid, unsigned timeout_ms, bool whole_group);

/* Path of the program `name` (hmq, hmq-sim) at the top of the build tree,
 * two levels above the running test (tests/integration/), into out.
 * 0 when it is executable, else -1. */
int hmq_h_find_prog(const char *name, char *out, size_t cap);

/* hmq_h_setup + hmq_h_start: 0 when both succeeded. */
int hmq_h_setup_start(hmq_h_broker *b);

/*
 * Test client: a link with its own buffers and a seen-set of message
 * numbers parsed from payloads {"message_id":"<prefix><n>"}.
 */
#define HMQ_H_MAX_MSGS 100000
typedef struct hmq_h_client {
  hmq_link link;
  hmq_link_config lcfg;
  hmq_client_config ccfg;
  hmq_client_mem mem;
  hmq_sub_filter sub;
  char id[64];
  char filter[128];
  char ca[300], cert[300], key[300];
  uint8_t rx[64 * 1024];
  uint8_t tx[16 * 1024];
  hmq_client_slot slots[65535]; /* receive maximum 65535: see docs/mosquitto.md */
  char alias[1024];
  bool auto_ack;     /* ack every PUBLISH right away (default true) */
  bool stop_reading; /* the driver skips this client (simulates a hang) */
  uint8_t seen[HMQ_H_MAX_MSGS];
  long unique;   /* distinct message numbers seen */
  long received; /* PUBLISH events, duplicates included */
  long dups;     /* DUP flag set */
  long connacks, subacks, downs, retries, takeovers, ups;
  long pubacks;         /* PUBACKs for our own QoS 1 PUBLISHes */
  bool session_present; /* of the last CONNACK */
  hmq_status last_down;
  uint8_t last_reason;
  bool last_final;
  char last_msg[320];
  uint64_t last_down_ms;
  uint64_t last_connack_ms;
} hmq_h_client;

/* Prepare a client for broker b: TLS with pki/ca.crt, pki/client.crt and
 * pki/client.key on b->port (plain = use b->plain_port without TLS),
 * server name "localhost", client id `id`, persistent session (clean start
 * 0, session expiry 300 s), QoS 1 subscription to `filter` (NULL: none),
 * keep alive 30 s, receive maximum 65535 (mosquitto 2.0.11 overruns smaller
 * windows while draining a backlog). Adjust fields before
 * hmq_h_client_start(). */
void hmq_h_client_init(hmq_h_client *c, const hmq_h_broker *b, const char *id, const char *filter,
                       bool plain);

/* hmq_link_init + hmq_link_start with the prepared configs. */
hmq_status hmq_h_client_start(hmq_h_client *c);

/* Run the given clients for at most timeout_ms, handling events (counting,
 * auto-acking), until done(ctx) returns true. Returns true when done. */
bool hmq_h_run(hmq_h_client *const *cs, size_t n, uint64_t timeout_ms, bool (*done)(void *ctx),
               void *ctx);

/* Close cleanly (DISCONNECT 0x00, session kept) and free. */
void hmq_h_client_close(hmq_h_client *c);

/* A heap-allocated client prepared by hmq_h_client_init (NULL when out of
 * memory); release with hmq_h_client_free. */
hmq_h_client *hmq_h_client_new(const hmq_h_broker *b, const char *id, const char *filter,
                               bool plain);

/* hmq_h_client_close, then free the client from hmq_h_client_new. */
void hmq_h_client_free(hmq_h_client *c);

#endif
