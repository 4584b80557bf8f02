/* SPDX-License-Identifier: MIT */
/*
 * A scripted MQTT server for tests (plain TCP on 127.0.0.1, in the test's
 * own process, never blocking): it accepts one connection at a time,
 * answers CONNECT with a CONNACK as scripted, SUBSCRIBE with a SUBACK (or
 * not), then sends whatever bytes the test scripted, and counts what it
 * saw. Drive it with hmq_h_srv_service() from the test's wait loop, while
 * a link in the same process or a real hmq process talks to it.
 *
 *   hmq_h_srv s;
 *   hmq_h_srv_open(&s);                 // listening on s.port
 *   s.connack.reason = 0x87;            // script it
 *   ... loop: hmq_h_srv_service(&s); ...
 *   hmq_h_srv_free(&s);
 */
#ifndef HMQ_TEST_SCRIPTED_H
#define HMQ_TEST_SCRIPTED_H

#include "hmq/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmq_h_srv {
  int lfd, cfd;
  uint16_t port;
  uint8_t rx[16384];
  size_t rx_len;
  /* script */
  hmq_connack connack;     /* sent for every CONNECT (reason >= 0x80: then closed) */
  bool drop_after_connack; /* close right after an accepted CONNACK */
  bool no_connack;         /* CONNECT gets no answer at all */
  bool no_suback;          /* SUBSCRIBE gets no SUBACK (only `bad`) */
  uint8_t suback_reason;   /* 0x01 unless set by hmq_h_srv_open's caller */
  hmq_props suback_props;  /* properties of the SUBACK */
  const uint8_t *bad;      /* bytes sent after the SUBACK (or instead of it) */
  size_t bad_len;
  bool close_after_bad;
  /* what it saw */
  int disc_reason; /* reason of the client's DISCONNECT, -1 = none yet */
  int accepts;     /* TCP connections accepted */
  int connects;    /* CONNECT packets */
  int subscribes;  /* SUBSCRIBE packets */
  bool peer_reset; /* a read failed with ECONNRESET: the client closed with a reset */
} hmq_h_srv;

/* Listen on a free 127.0.0.1 port; CONNACK 0x00 and SUBACK granting QoS 1
 * scripted. Fails the test (cmocka assert) when it cannot. */
void hmq_h_srv_open(hmq_h_srv *s);

/* Close the client connection (if any): the next one is accepted anew. */
void hmq_h_srv_close_conn(hmq_h_srv *s);

/* Close everything. */
void hmq_h_srv_free(hmq_h_srv *s);

/* Accept, read, answer; never blocks. */
void hmq_h_srv_service(hmq_h_srv *s);

/* Send bytes to the connected client now (bounded: gives up after 2 s). */
void hmq_h_srv_send(hmq_h_srv *s, const uint8_t *p, size_t n);

/* Encode a DISCONNECT with reason and props into buf; returns its length. */
size_t hmq_h_srv_disconnect(uint8_t *buf, size_t cap, uint8_t reason, const hmq_props *props);

#endif
