/* SPDX-License-Identifier: MIT */
/*
 * hmq program: what CONNECT asked and CONNACK answered, as text for -d and
 * -v. The engine hands out both (hmq_client_connect_sent(), the CONNACK
 * event, hmq_client_get_limits()); this file only formats them.
 */
#ifndef HMQ_PIPELINE_CONNLOG_H
#define HMQ_PIPELINE_CONNLOG_H

#include <stddef.h>

#include "hmq/client.h"

/* Append " name=value" for every property present in *p, in identifier
 * order, to buf (NUL-terminated, cut at cap). User properties appear as
 * user:KEY=VALUE, from p->user when set (encode side), else from p->raw
 * (decode side). Bytes outside printable ASCII in strings are written as
 * \xNN, binary data as its length. Returns the length written. */
size_t hmq_connlog_props(const hmq_props *p, char *buf, size_t cap);

/* "CONNECT clean_start=0 keep_alive=60 client_id=… session_expiry=… …" */
size_t hmq_connlog_connect(const hmq_connect *k, char *buf, size_t cap);

/* "CONNACK session_present=1 reason=0x00 receive_max=20 …" */
size_t hmq_connlog_connack(const hmq_connack *a, char *buf, size_t cap);

/* What the server changed of what we asked, "" when nothing: a Session
 * Expiry granted lower than asked, a Server Keep Alive different from ours,
 * a Receive Maximum (our send quota) or Maximum Packet Size it set. */
size_t hmq_connlog_caps(const hmq_connect *asked, const hmq_connack *got, char *buf, size_t cap);

/* The -v line when the server cut our Session Expiry, "" otherwise:
 * "the server cut the session expiry from 4294967295 s to 3600 s: …" */
size_t hmq_connlog_expiry_cut(const hmq_connect *asked, const hmq_connack *got, char *buf,
                              size_t cap);

#endif
