/* SPDX-License-Identifier: MIT */
/*
 * Sockets for src/tls: name lookup, non-blocking connect, socket options.
 * Internal header.
 */
#ifndef HMQ_TLS_NET_H
#define HMQ_TLS_NET_H

#include "hmq/tls.h"

/* Resolve t->cfg.host / port into t->addrs. HMQ_OK or HMQ_ERR_DNS (errmsg
 * set). */
hmq_status hmq_net_resolve(hmq_tls *t);

/* Open a non-blocking socket for address i and start connecting. Returns
 * HMQ_OK (connected at once), HMQ_WANT_WRITE (in progress; t->fd set) or an
 * error with t->last_errno set (no socket left open). */
hmq_status hmq_net_start(hmq_tls *t, size_t i);

/* After the socket became writable: HMQ_OK when connected, else the
 * connect error (t->last_errno set). */
hmq_status hmq_net_finish(hmq_tls *t);

/* "127.0.0.1:8883" / "[::1]:8883" for address i. */
void hmq_net_addr_str(const hmq_tls *t, size_t i, char *out, size_t cap);

/* Map a send/recv errno to a status (EAGAIN → WANT_*). */
hmq_status hmq_net_errno_status(int err, bool reading);

/* Close t->fd if open. */
void hmq_net_close(hmq_tls *t);

#endif
