/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by fuzz_decode.c and fuzz_roundtrip.c: walk a decoded
 * property block to its end, give decoded props back a user array so they
 * can be encoded again, and compare two property sets field by field.
 * Every broken invariant calls abort() so the fuzzer records a crash.
 */
#ifndef HMQ_FUZZ_PROPS_CHECK_H
#define HMQ_FUZZ_PROPS_CHECK_H

#include "hmq/codec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond)                                                                             \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Room for user properties when re-encoding; more are skipped, not failed. */
#define FZ_MAX_USERS 1024

static inline bool fz_str_eq(hmq_str a, hmq_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool fz_bin_eq(hmq_bin a, hmq_bin b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* A decoded block iterates to its end without error, and the counts the
 * decoder reported match what the iterator sees. */
static inline void fz_walk_props(const hmq_props *p) {
  size_t cursor = 0, users = 0, subs = 0, steps = 0;
  hmq_prop pr;
  hmq_status st;
  while ((st = hmq_props_next(p, &cursor, &pr)) == HMQ_OK) {
    FZ_CHECK(++steps <= p->raw.len); /* each property takes at least 2 bytes */
    FZ_CHECK(pr.id < 64 && (p->present & HMQ_PROP_BIT(pr.id)));
    users += pr.id == HMQ_PROP_USER;
    subs += pr.id == HMQ_PROP_SUBSCRIPTION_ID;
  }
  FZ_CHECK(st == HMQ_NEED_MORE);
  FZ_CHECK(cursor == p->raw.len);
  FZ_CHECK(users == p->user_count);
  FZ_CHECK(subs == p->sub_id_count);
}

/* Decoded props made encodable: user array from the iterator. False when
 * the block cannot be re-encoded as is (several Subscription Identifiers,
 * which the encoder takes one of, or too many user properties). */
static inline bool fz_props_rebuild(const hmq_props *dec, hmq_user_prop *users, size_t max,
                                    hmq_props *out) {
  if (dec->sub_id_count > 1 || dec->user_count > max) {
    return false;
  }
  *out = *dec;
  size_t cursor = 0, n = 0;
  hmq_prop pr;
  while (hmq_props_next(dec, &cursor, &pr) == HMQ_OK) {
    if (pr.id == HMQ_PROP_USER) {
      users[n].key = pr.str;
      users[n].value = pr.str2;
      n++;
    }
  }
  FZ_CHECK(n == dec->user_count);
  out->user = n > 0 ? users : NULL;
  out->raw.ptr = NULL;
  out->raw.len = 0;
  return true;
}

/* `want` has a user array (encoder input); `got` was decoded. */
static inline void fz_props_eq(const hmq_props *want, const hmq_props *got) {
  uint64_t present = want->present & ~HMQ_PROP_BIT(HMQ_PROP_USER);
  if (want->user_count > 0) {
    present |= HMQ_PROP_BIT(HMQ_PROP_USER);
  }
  FZ_CHECK(got->present == present);
#define FZ_HAS(id)    (present & HMQ_PROP_BIT(HMQ_PROP_##id))
#define FZ_NUM(id, f) FZ_CHECK(!FZ_HAS(id) || got->f == want->f)
#define FZ_STR(id, f) FZ_CHECK(!FZ_HAS(id) || fz_str_eq(got->f, want->f))
#define FZ_BIN(id, f) FZ_CHECK(!FZ_HAS(id) || fz_bin_eq(got->f, want->f))
  FZ_NUM(PAYLOAD_FORMAT, payload_format);
  FZ_NUM(MESSAGE_EXPIRY, message_expiry);
  FZ_STR(CONTENT_TYPE, content_type);
  FZ_STR(RESPONSE_TOPIC, response_topic);
  FZ_BIN(CORRELATION_DATA, correlation_data);
  FZ_NUM(SUBSCRIPTION_ID, subscription_id);
  FZ_NUM(SESSION_EXPIRY, session_expiry);
  FZ_STR(ASSIGNED_CLIENT_ID, assigned_client_id);
  FZ_NUM(SERVER_KEEP_ALIVE, server_keep_alive);
  FZ_STR(AUTH_METHOD, auth_method);
  FZ_BIN(AUTH_DATA, auth_data);
  FZ_NUM(REQUEST_PROBLEM_INFO, request_problem_info);
  FZ_NUM(WILL_DELAY, will_delay);
  FZ_NUM(REQUEST_RESPONSE_INFO, request_response_info);
  FZ_STR(RESPONSE_INFO, response_info);
  FZ_STR(SERVER_REFERENCE, server_reference);
  FZ_STR(REASON_STRING, reason_string);
  FZ_NUM(RECEIVE_MAX, receive_max);
  FZ_NUM(TOPIC_ALIAS_MAX, topic_alias_max);
  FZ_NUM(TOPIC_ALIAS, topic_alias);
  FZ_NUM(MAX_QOS, max_qos);
  FZ_NUM(RETAIN_AVAILABLE, retain_available);
  FZ_NUM(MAX_PACKET_SIZE, max_packet_size);
  FZ_NUM(WILDCARD_SUB_AVAILABLE, wildcard_sub_available);
  FZ_NUM(SUB_ID_AVAILABLE, sub_id_available);
  FZ_NUM(SHARED_SUB_AVAILABLE, shared_sub_available);
#undef FZ_HAS
#undef FZ_NUM
#undef FZ_STR
#undef FZ_BIN
  FZ_CHECK(got->sub_id_count == ((present & HMQ_PROP_BIT(HMQ_PROP_SUBSCRIPTION_ID)) ? 1u : 0u));
  FZ_CHECK(got->user_count == want->user_count);
  size_t cursor = 0, n = 0;
  hmq_prop pr;
  while (hmq_props_next(got, &cursor, &pr) == HMQ_OK) {
    if (pr.id == HMQ_PROP_USER) {
      FZ_CHECK(n < want->user_count);
      FZ_CHECK(fz_str_eq(pr.str, want->user[n].key) && fz_str_eq(pr.str2, want->user[n].value));
      n++;
    }
  }
  FZ_CHECK(n == want->user_count);
  fz_walk_props(got);
}

#endif
