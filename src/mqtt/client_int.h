/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by the client engine's files: client.c (state,
 * CONNECT, keepalive, tx), client_rx.c (inbound packets), client_ack.c
 * (in-flight ring, QoS 2 ids and replies, topic aliases) and client_out.c
 * (outbound PUBLISH, DISCONNECT). Not a public header.
 */
#ifndef HMQ_CLIENT_INT_H
#define HMQ_CLIENT_INT_H

#include "hmq/client.h"

#include <stdbool.h>

/* Slot states of the inbound ring. */
#define HMQ_SLOT_RECEIVED 0u /* delivered to the app, not acked yet */
#define HMQ_SLOT_ACKED    1u /* acked by the app; PUBACK/PUBREC not encoded yet */

/* Bytes one stored alias reserves so that every alias we announce can hold
 * a topic of this length (2-byte length + topic). */
#define HMQ_ALIAS_ENTRY 258u

/* True for a DISCONNECT reason code a client may send (MQTT 5.0 3.14.2.1). */
bool hmq_client_reason_ok(uint8_t reason);

/* Record a sticky error: queue DISCONNECT with hmq_status_reason(err) when
 * there is one and a connection exists (state CLOSING), otherwise go to
 * CLOSED. Returns err. */
hmq_status hmq_client_fail(hmq_client *c, hmq_status err);

/* Encode whatever is pending (acks of the acked ring prefix in arrival
 * order, SUBSCRIBE, PINGREQ, DISCONNECT) as far as tx has room. */
void hmq_client_pump(hmq_client *c);

/* True when hmq_client_pump would encode something. */
bool hmq_client_has_pending(const hmq_client *c);

/* Room at the end of tx; resets an empty tx to offset 0 first (nothing is
 * pending, so nothing a TLS retry needs can move). */
size_t hmq_client_tx_room(hmq_client *c);

/* Encode PUBACK/PUBREC/PUBREL/PUBCOMP (`type`) with a reason and no
 * properties. HMQ_ERR_NO_ROOM when tx lacks the room now. */
hmq_status hmq_client_put_ack(hmq_client *c, uint8_t type, uint16_t id, uint8_t reason);

/* Send a QoS 2 reply (PUBREC repeated, or PUBCOMP whose reason is decided
 * when it is encoded): at once, or queued while tx is full.
 * HMQ_ERR_NO_ROOM only when tx and the reply queue are both full. */
hmq_status hmq_client_reply(hmq_client *c, uint8_t type, uint16_t id);

/* Encode queued replies while tx has room. */
void hmq_client_flush_replies(hmq_client *c);

/* Encode acks for the acked prefix of the ring while tx has room. */
void hmq_client_flush_acks(hmq_client *c);

/* Append one inbound QoS>0 message to the ring; returns its seq. */
uint64_t hmq_client_ring_push(hmq_client *c, uint16_t packet_id, uint8_t qos);

/* True when the ring holds an un-PUBREC'd QoS 2 message with this id. */
bool hmq_client_ring_has_qos2(const hmq_client *c, uint16_t packet_id);

/* The packet-id set: an open-addressing table (linear probing, deletion by
 * backward shift) in the id_entry field of mem.slots. Entry = kind | id;
 * ids are never 0, so 0 marks an empty bucket. */
#define HMQ_ID_OUT  0x10000u /* our QoS 1 PUBLISH in flight */
#define HMQ_ID_QOS2 0x20000u /* QoS 2 id: PUBREC sent, PUBREL not yet come */
#define HMQ_ID_CONN 0x40000u /* flag on HMQ_ID_QOS2: PUBREC sent on this connection */

/* The entry for (kind, id), or 0 when absent. */
uint32_t hmq_ids_get(const hmq_client *c, uint32_t kind, uint16_t id);
/* Add (kind | flags, id), absent before. HMQ_ERR_FULL at HMQ_CLIENT_IDS_MAX. */
hmq_status hmq_ids_add(hmq_client *c, uint32_t entry);
/* Remove (kind, id) if present; returns the entry removed or 0. */
uint32_t hmq_ids_del(hmq_client *c, uint32_t kind, uint16_t id);
/* True while the set has room for one more id. */
bool hmq_ids_room(const hmq_client *c);
/* Remove every entry whose kind is in `kinds`; clear HMQ_ID_CONN on the
 * rest when clear_conn. O(slots_cap). */
void hmq_ids_sweep(hmq_client *c, uint32_t kinds, bool clear_conn);
/* Empty the whole table (hmq_client_init). */
void hmq_ids_reset(hmq_client *c);

/* Topic aliases (MQTT 5.0 3.3.2.3.4), stored in mem.alias as entries
 * [2-byte length][topic] for aliases 1, 2, 3 … in order; length 0 = unset. */
hmq_status hmq_alias_set(hmq_client *c, uint16_t alias, hmq_str topic);
hmq_status hmq_alias_get(const hmq_client *c, uint16_t alias, hmq_str *topic);

/* Inbound packet handlers (client_rx.c). */
hmq_status hmq_client_on_packet(hmq_client *c, const uint8_t *pkt, size_t len, const hmq_frame *f,
                                hmq_event *ev, bool *consumed);

#endif
