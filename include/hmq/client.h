/* SPDX-License-Identifier: MIT */
/*
 * hmq client engine: one MQTT 5 client connection as a sans-I/O state
 * machine (no sockets, no clock, no allocation).
 *
 * The caller moves bytes and time; the engine decides what they mean:
 *
 *   hmq_client_init(&c, &cfg, &mem);          // once; cannot fail
 *   hmq_client_start(&c, now_ms);             // queue CONNECT (each (re)connect)
 *   loop:
 *     hmq_client_want(&c)                     // READ / WRITE / CLOSED bits
 *     hmq_client_txbuf(&c, &p, &n); write(p, n) -> k; hmq_client_tx_ack(&c, k);
 *     hmq_client_rxbuf(&c, &p, &cap); read(p, cap) -> k; hmq_client_rx_ack(&c, k);
 *     while ((st = hmq_client_next_event(&c, now_ms, &ev)) == HMQ_OK) handle(ev);
 *     hmq_client_tick(&c, now_ms); sleep until hmq_client_deadline(&c);
 *
 * Inbound QoS 1/2 PUBLISHes carry a sequence number; the application calls
 * hmq_client_ack(seq) once it has made the message durable. PUBACK/PUBREC go
 * out strictly in arrival order (MQTT-4.6.0-2): an ack for a later message
 * waits until every earlier one is acked too.
 *
 * Errors are sticky: after a protocol violation by the server the engine
 * queues DISCONNECT with the reason code from hmq_status_reason() (only
 * codes a client may send, 3.14.2.1; a keepalive timeout closes without
 * DISCONNECT), reports
 * HMQ_CLIENT_WANT_CLOSED once it has been written, and next_event keeps
 * returning the same error until hmq_client_start() begins a new connection.
 *
 * Contract: hmq::mqtt. The engine (an hmq_client the caller allocates) keeps
 * copies of cfg and mem, not of what they point to: the strings of cfg and
 * every buffer of mem (rx, tx, slots, alias) are the caller's and must
 * outlive it. Nothing blocks, allocates or reads a clock; the caller's
 * read()/write() decide when bytes move. Errors: every call returns an
 * hmq_status (hmq.h), state after an error as described above.
 */
#ifndef HMQ_CLIENT_H
#define HMQ_CLIENT_H

#include "hmq/codec.h"

#ifdef __cplusplus
extern "C" {
#endif

HMQ_API_BEGIN

typedef struct hmq_client_config {
  hmq_str client_id;
  hmq_str username;           /* ptr == NULL: none */
  hmq_bin password;           /* ptr == NULL: none */
  uint16_t keep_alive;        /* seconds; 0 disables keepalive */
  uint8_t clean_start;        /* hmq default 0 (persistent session) */
  uint32_t session_expiry;    /* seconds; 0xFFFFFFFF = never */
  uint16_t receive_max;       /* ours, 1..65535, always sent; must be <= mem.slots_cap */
  uint32_t max_packet_size;   /* ours; must be <= mem.rx_cap (0 = rx_cap) */
  uint16_t topic_alias_max;   /* ours; aliases beyond mem.alias_cap capacity are refused */
  const hmq_sub_filter *subs; /* SUBSCRIBEd after every successful CONNACK */
  size_t sub_count;
  const hmq_user_prop *connect_user; /* user properties sent in CONNECT */
  size_t connect_user_count;
} hmq_client_config;

/* One entry of the caller's in-flight table (mem.slots). Opaque to callers;
 * only sized here (16 bytes). Each entry serves twice: as a place in the
 * ring of inbound QoS>0 messages awaiting the app's ack, and as a bucket of
 * the packet-id set (our QoS 1 PUBLISHes in flight, QoS 2 ids awaiting
 * PUBREL), so that bookkeeping grows with slots_cap, not with 65536 ids. */
typedef struct hmq_client_slot {
  uint64_t seq;
  uint16_t packet_id;
  uint8_t qos;
  uint8_t state;
  uint32_t id_entry; /* packet-id set bucket; 0 = empty */
} hmq_client_slot;

/* Caller-owned memory. All of it must outlive the engine. */
typedef struct hmq_client_mem {
  uint8_t *rx;            /* receive buffer: holds at least one whole packet */
  size_t rx_cap;          /* >= the Maximum Packet Size we announce */
  uint8_t *tx;            /* transmit buffer */
  size_t tx_cap;          /* >= the largest packet we send (CONNECT, SUBSCRIBE) */
  hmq_client_slot *slots; /* in-flight table: inbound ring + packet-id set */
  size_t slots_cap;       /* >= receive_max; the id set holds HMQ_CLIENT_IDS_MAX(slots_cap) */
  char *alias;            /* topic alias storage (server → client aliases) */
  size_t alias_cap;       /* bytes; each alias takes its topic length + 2 */
} hmq_client_mem;

typedef enum hmq_client_state {
  HMQ_CLIENT_IDLE = 0,   /* not started, or closed and reset */
  HMQ_CLIENT_CONNECTING, /* CONNECT queued/sent, waiting for CONNACK */
  HMQ_CLIENT_CONNECTED,  /* CONNACK 0x00 received */
  HMQ_CLIENT_CLOSING,    /* DISCONNECT queued; flush tx, then close */
  HMQ_CLIENT_CLOSED      /* nothing more to do; close the socket */
} hmq_client_state;

/* Name of a state for logs ("CONNECTED"); static, never NULL. */
const char *hmq_client_state_name(hmq_client_state s);

/* Bits of hmq_client_want(). */
#define HMQ_CLIENT_WANT_READ   1u
#define HMQ_CLIENT_WANT_WRITE  2u
#define HMQ_CLIENT_WANT_CLOSED 4u

typedef enum hmq_event_type {
  HMQ_EV_NONE = 0,
  HMQ_EV_CONNACK,    /* connack: accepted (refusals come as HMQ_ERR_REFUSED) */
  HMQ_EV_SUBACK,     /* suback: one reason per filter of cfg.subs */
  HMQ_EV_UNSUBACK,   /* suback (type UNSUBACK) */
  HMQ_EV_PUBLISH,    /* publish (topic resolved from any alias) + seq */
  HMQ_EV_PUBACK,     /* ack: the server acknowledged one of our QoS 1 PUBLISHes */
  HMQ_EV_DISCONNECT, /* disconnect: the server's DISCONNECT (status says why) */
  HMQ_EV_AUTH        /* auth, only with HMQ_ERR_PROTOCOL: no Authentication Method
                        is sent, so an AUTH from the server is a Protocol Error [MQTT-4.12.0-6] */
} hmq_event_type;

/* Packet ids the set in mem.slots holds at once: our QoS 1 PUBLISHes in
 * flight plus QoS 2 ids awaiting PUBREL (3/4 of the table, for short
 * probes). Beyond it hmq_client_publish() says HMQ_ERR_FULL and a QoS 2
 * PUBREC waits until a PUBREL frees an id. */
#define HMQ_CLIENT_IDS_MAX(slots_cap) ((slots_cap) - (slots_cap) / 4u)

/*
 * One event: a tagged union. Only `type`, `seq` and the member `type`
 * names are valid; the members share storage, so reading another one reads
 * garbage. The union is anonymous (C11), so ev.publish, ev.connack … keep
 * their names. Views (topics,
 * payloads, property strings) point into the engine's receive buffer (a
 * topic resolved from an alias: into mem.alias) and stay valid until the
 * next call of hmq_client_next_event() or hmq_client_rxbuf() on the same
 * engine.
 */
typedef struct hmq_event {
  hmq_event_type type;
  uint64_t seq; /* PUBLISH at QoS>0: pass to hmq_client_ack(); 0 for QoS 0 */
  union {
    hmq_connack connack;       /* HMQ_EV_CONNACK (and HMQ_ERR_REFUSED) */
    hmq_suback suback;         /* HMQ_EV_SUBACK, HMQ_EV_UNSUBACK */
    hmq_publish publish;       /* HMQ_EV_PUBLISH */
    hmq_ack ack;               /* HMQ_EV_PUBACK */
    hmq_disconnect disconnect; /* HMQ_EV_DISCONNECT */
    hmq_auth auth;             /* HMQ_EV_AUTH */
  };
} hmq_event;

/* Size bounds held by tests/test_client.c (LP64): an event is one packet
 * view plus its tag, the engine carries no per-packet-id storage of its own
 * (that lives in mem.slots). */
#define HMQ_EVENT_SIZE_MAX  320u
#define HMQ_CLIENT_SIZE_MAX 1024u

/*
 * The engine. Callers allocate it (static, stack or heap) and treat its
 * fields as private; they are here only so its size is known.
 */
typedef struct hmq_client {
  hmq_client_config cfg;
  hmq_client_mem mem;
  hmq_client_state state;
  hmq_status error; /* sticky error, HMQ_OK when none */
  size_t rx_len;    /* bytes in rx */
  size_t rx_off;    /* bytes of rx already consumed by next_event */
  size_t tx_len;    /* bytes queued in tx */
  size_t tx_off;    /* bytes of tx already written */
  size_t slot_head; /* ring of inbound in-flight messages */
  size_t slot_count;
  uint64_t next_seq;
  uint64_t conn_first_seq; /* seqs below this belong to an earlier connection */
  uint16_t next_packet_id;
  uint16_t sub_packet_id;
  uint16_t out_inflight; /* our unacknowledged QoS 1 PUBLISHes */
  uint64_t last_tx_ms;
  uint64_t last_rx_ms;
  uint64_t ping_sent_ms; /* 0: no PINGREQ outstanding */
  uint64_t connect_ms;
  /* limits from CONNACK (protocol defaults until then) */
  uint8_t session_present;
  uint8_t server_max_qos;
  uint8_t server_retain_available;
  uint8_t server_wildcard_available;
  uint8_t server_sub_id_available;
  uint8_t server_shared_available;
  uint16_t server_receive_max;
  uint16_t server_topic_alias_max;
  uint16_t keep_alive; /* effective: ours or the server's Server Keep Alive */
  uint32_t server_max_packet;
  uint32_t server_session_expiry;
  size_t alias_used; /* bytes of mem.alias in use */
  size_t ids_count;  /* entries of the packet-id set in mem.slots */
  /* what we announced in CONNECT */
  uint32_t max_packet;      /* our Maximum Packet Size (cfg or rx_cap) */
  uint16_t alias_max;       /* our Topic Alias Maximum, capped by mem.alias_cap */
  uint64_t now_ms;          /* last time given to start/next_event/tick */
  uint8_t rx_activity;      /* bytes arrived since the last now_ms update */
  uint8_t tx_activity;      /* bytes left since the last now_ms update */
  uint8_t ping_outstanding; /* PINGREQ queued, PINGRESP not yet seen */
  uint8_t pending_sub;      /* SUBSCRIBE to encode when tx has room */
  uint8_t pending_ping;     /* PINGREQ to encode when tx has room */
  uint8_t pending_disc;     /* DISCONNECT to encode when tx has room */
  uint8_t disc_reason;
  int64_t disc_expiry; /* -1: no Session Expiry property in our DISCONNECT */
  /* QoS 2 (MQTT 5.0 4.3.3): ids whose PUBREC went out and whose PUBREL has
   * not come yet, in the id set. They are session state (kept across
   * connections while the session is resumed); those of this connection
   * count against our Receive Maximum until PUBCOMP. */
  uint32_t qos2_count;
  uint32_t qos2_conn_count;
  /* Replies owed for QoS 2 (PUBCOMP, a repeated PUBREC) while tx is full:
   * type << 24 | packet id, oldest first. */
  uint32_t replies[16];
  uint8_t reply_head;
  uint8_t reply_count;
  /* Assigned Client Identifier from the last CONNACK (3.2.2.3.7), reused by
   * the next start() when cfg.client_id is empty; dropped if longer. */
  char assigned_id[128];
  size_t assigned_len;
  /* counters */
  uint64_t n_publish_rx;
  uint64_t n_dup_rx;
  uint64_t n_acks_tx;
  uint64_t n_bytes_rx;
  uint64_t n_bytes_tx;
} hmq_client;

/* Fill cfg with hmq's defaults: keep_alive 60, clean_start 0,
 * session_expiry 0xFFFFFFFF, receive_max 65535, max_packet_size 0,
 * topic_alias_max 16; everything else empty. */
void hmq_client_config_default(hmq_client_config *cfg);

/* Bind config and memory; cannot fail (bad sizes surface as HMQ_ERR_ARG from
 * hmq_client_start). cfg's views and mem must outlive the engine. */
void hmq_client_init(hmq_client *c, const hmq_client_config *cfg, const hmq_client_mem *mem);

/* Begin a new connection on a fresh transport: reset per-connection state
 * (buffers, aliases, keepalive), keep session state (QoS 2 ids awaiting
 * PUBREL when the session is resumed), queue CONNECT. HMQ_ERR_ARG if the
 * configuration or memory sizes are unusable, HMQ_ERR_NO_ROOM if CONNECT
 * does not fit tx. */
hmq_status hmq_client_start(hmq_client *c, uint64_t now_ms);

/* HMQ_CLIENT_WANT_* bits for the transport. */
unsigned hmq_client_want(const hmq_client *c);

/* Bytes to send: *p and *n (n may be 0). Also encodes acks and control
 * packets that became ready. The region stays unchanged until tx_ack (so a
 * TLS write can be retried with the same bytes); later calls may return a
 * longer region (new bytes are only appended) starting at the same place. */
void hmq_client_txbuf(hmq_client *c, const uint8_t **p, size_t *n);
/* n bytes of txbuf were written. */
void hmq_client_tx_ack(hmq_client *c, size_t n);

/* Where to put received bytes: *p and *cap (cap may be 0 when the buffer holds
 * a whole unconsumed packet; then drain events first). Invalidates views of
 * earlier events. */
void hmq_client_rxbuf(hmq_client *c, uint8_t **p, size_t *cap);
/* n bytes were read into rxbuf. n == 0 is allowed. */
void hmq_client_rx_ack(hmq_client *c, size_t n);

/* Tell the engine the transport is gone (EOF or I/O error). Connection
 * state is dropped (state CLOSED, `why` becomes the sticky status unless one
 * is set; a non-negative `why` is recorded as HMQ_ERR_CLOSED); the next
 * hmq_client_start() reconnects. */
void hmq_client_transport_closed(hmq_client *c, hmq_status why);

/*
 * Decode the next packet in rx and act on it. Returns
 *  HMQ_OK          *ev holds an event;
 *  HMQ_WANT_READ   no whole packet buffered;
 *  HMQ_ERR_REFUSED CONNACK with reason >= 0x80 (ev->connack filled);
 *  HMQ_ERR_SERVER_DISCONNECT / HMQ_ERR_TAKEN_OVER (ev->disconnect filled);
 *  HMQ_ERR_SUBSCRIBE_REFUSED (ev->suback filled; connection stays up);
 *  HMQ_WANT_WRITE  (rare) the next packet needs a reply (PUBCOMP, a
 *                  repeated PUBREC) while tx is full and 16 such replies
 *                  already wait: write, then call again (nothing was
 *                  consumed, the connection is fine);
 *  HMQ_ERR_STATE   never started; HMQ_ERR_CLOSED after our own DISCONNECT;
 *  HMQ_ERR_TIMEOUT / HMQ_ERR_KEEPALIVE / a transport status: repeated sticky;
 *  any other error: the server broke the protocol; DISCONNECT is queued
 *                  (ev->type NONE; for an error in a PUBLISH that decoded,
 *                  such as a bad Topic Alias, ev->publish holds it).
 * PINGRESP, PUBREL and a resent QoS 2 PUBLISH whose PUBREC already went out
 * produce no event; the call goes on with the next packet. A QoS 2 message
 * is delivered once. Received bytes count as activity for keepalive.
 */
hmq_status hmq_client_next_event(hmq_client *c, uint64_t now_ms, hmq_event *ev);

/* Acknowledge inbound message `seq` (from a PUBLISH event). Acks for
 * messages of an earlier connection are ignored (HMQ_OK), so are repeated
 * acks. HMQ_ERR_ARG for 0 or a seq never handed out. The PUBACK/PUBREC
 * (always reason 0x00) is encoded by txbuf() once all earlier messages are
 * acked too. */
hmq_status hmq_client_ack(hmq_client *c, uint64_t seq);

/* Publish (tools and the simulator). QoS 0 or 1; packet id assigned by the
 * engine into *packet_id (0 for QoS 0; may be NULL). The packet is copied
 * into tx, so p's views may die on return. HMQ_ERR_FULL when the server's
 * Receive Maximum is reached or the id set in mem.slots is full
 * (HMQ_CLIENT_IDS_MAX(slots_cap) ids in flight), HMQ_ERR_NO_ROOM when tx has no space now,
 * HMQ_ERR_STATE when not connected, HMQ_ERR_PACKET_TOO_LARGE above the
 * server's maximum, HMQ_ERR_ARG for QoS 2, QoS above the server's Maximum
 * QoS, retain where not available or a bad topic alias, or an encoder error.
 * Completion comes as HMQ_EV_PUBACK. In-flight QoS 1 messages are forgotten
 * by hmq_client_start(): callers republish what was not acknowledged. */
hmq_status hmq_client_publish(hmq_client *c, const hmq_publish *p, uint16_t *packet_id);

/* Queue DISCONNECT (reason, and session expiry if session_expiry != -1),
 * after the acks already given; state CLOSING, then CLOSED once written.
 * HMQ_ERR_STATE unless connecting/connected; HMQ_ERR_ARG for an expiry out
 * of 0..0xFFFFFFFF or non-zero when CONNECT asked 0 (3.14.2.2.2), or a
 * reason code only a server may send (3.14.2.1, e.g. 0x8D, 0x8E). */
hmq_status hmq_client_disconnect(hmq_client *c, uint8_t reason, int64_t session_expiry);

/* Keepalive: queue PINGREQ when due; declare the connection dead
 * (HMQ_ERR_KEEPALIVE, sticky; state CLOSED at once, no DISCONNECT: 3.12.4)
 * when no PINGRESP came within half the keep alive after the PINGREQ.
 * Returns the sticky status. */
hmq_status hmq_client_tick(hmq_client *c, uint64_t now_ms);

/* The CONNECT of the current connection exactly as hmq_client_start()
 * encoded it: flags, keep alive, client id and every property (Session
 * Expiry, Receive Maximum, Maximum Packet Size, Topic Alias Maximum, user
 * properties from cfg.connect_user). Views point into the configuration and
 * the engine and stay valid until the next hmq_client_start(). HMQ_ERR_STATE
 * (and *out zeroed) before the first successful start. */
hmq_status hmq_client_connect_sent(const hmq_client *c, hmq_connect *out);

/* What the server granted in the last accepted CONNACK (3.2.2.3), with the
 * protocol's defaults for properties it left out. The CONNACK event itself
 * (ev->connack.props) has the raw properties, Reason String and user
 * properties included. */
typedef struct hmq_client_limits {
  uint8_t session_present;
  uint8_t max_qos;                /* Maximum QoS; 2 when absent */
  uint8_t retain_available;       /* 1 when absent */
  uint8_t wildcard_sub_available; /* 1 when absent */
  uint8_t sub_id_available;       /* 1 when absent */
  uint8_t shared_sub_available;   /* 1 when absent */
  uint16_t receive_max;           /* the server's: our QoS 1 send quota; 65535 when absent */
  uint16_t topic_alias_max;       /* the server's: aliases we may send; 0 when absent */
  uint16_t keep_alive;            /* in effect: Server Keep Alive when given, else ours */
  uint32_t max_packet_size;       /* the server's; 0 = none given (no limit) */
  uint32_t session_expiry;        /* in effect: the server's when given, else what we asked */
  hmq_str assigned_client_id;     /* last Assigned Client Identifier kept; ptr NULL: none */
} hmq_client_limits;

/* Fill *out (valid any time; before a CONNACK: the defaults and what we
 * asked). Views stay valid until the next CONNACK. */
void hmq_client_get_limits(const hmq_client *c, hmq_client_limits *out);

/* Next time tick() must run, or UINT64_MAX for none. */
uint64_t hmq_client_deadline(const hmq_client *c);

/* Inbound QoS>0 messages counted against our Receive Maximum: received and
 * not yet acknowledged on the wire, plus QoS 2 ones awaiting PUBREL. */
size_t hmq_client_inflight(const hmq_client *c);

HMQ_API_END

#ifdef __cplusplus
}
#endif

#endif
