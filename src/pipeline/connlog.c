/* SPDX-License-Identifier: MIT */
/*
 * hmq program: CONNECT and CONNACK properties as text (see connlog.h).
 * Property names follow MQTT 5.0 2.2.2.2; values are printed as the wire
 * carries them (seconds, bytes, counts).
 */
#include "pipeline/connlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct out {
  char *buf;
  size_t cap;
  size_t len;
} out;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(out *o, const char *fmt, ...) {
  va_list ap;
  if (o->cap == 0 || o->len >= o->cap - 1)
    return;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  o->len += (size_t)n;
  if (o->len >= o->cap)
    o->len = o->cap - 1; /* cut; vsnprintf terminated it */
}

/* A string from the network: printable ASCII as is, the rest as \xNN, so a
 * server's Reason String cannot drive the terminal. At most 200 bytes. */
static void put_str(out *o, hmq_str s) {
  size_t i, n = s.len > 200 ? 200 : s.len;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s.ptr[i];
    if (ch >= 0x20 && ch < 0x7F && ch != '\\')
      put(o, "%c", ch);
    else
      put(o, "\\x%02X", ch);
  }
  if (n < s.len)
    put(o, "...(%zu bytes)", s.len);
}

static void put_user(out *o, hmq_str k, hmq_str v) {
  put(o, " user:");
  put_str(o, k);
  put(o, "=");
  put_str(o, v);
}

size_t hmq_connlog_props(const hmq_props *p, char *buf, size_t cap) {
  out o = {buf, cap, 0};
  uint64_t pr = p->present;
  if (cap > 0)
    buf[0] = '\0';
#define HAS(id) ((pr & HMQ_PROP_BIT(HMQ_PROP_##id)) != 0)
  if (HAS(SESSION_EXPIRY))
    put(&o, " session_expiry=%lu", (unsigned long)p->session_expiry);
  if (HAS(ASSIGNED_CLIENT_ID)) {
    put(&o, " assigned_client_id=");
    put_str(&o, p->assigned_client_id);
  }
  if (HAS(SERVER_KEEP_ALIVE))
    put(&o, " server_keep_alive=%u", (unsigned)p->server_keep_alive);
  if (HAS(AUTH_METHOD)) {
    put(&o, " auth_method=");
    put_str(&o, p->auth_method);
  }
  if (HAS(AUTH_DATA))
    put(&o, " auth_data=(%zu bytes)", p->auth_data.len);
  if (HAS(REQUEST_PROBLEM_INFO))
    put(&o, " request_problem_info=%u", (unsigned)p->request_problem_info);
  if (HAS(REQUEST_RESPONSE_INFO))
    put(&o, " request_response_info=%u", (unsigned)p->request_response_info);
  if (HAS(RESPONSE_INFO)) {
    put(&o, " response_info=");
    put_str(&o, p->response_info);
  }
  if (HAS(SERVER_REFERENCE)) {
    put(&o, " server_reference=");
    put_str(&o, p->server_reference);
  }
  if (HAS(REASON_STRING)) {
    put(&o, " reason_string=\"");
    put_str(&o, p->reason_string);
    put(&o, "\"");
  }
  if (HAS(RECEIVE_MAX))
    put(&o, " receive_max=%u", (unsigned)p->receive_max);
  if (HAS(TOPIC_ALIAS_MAX))
    put(&o, " topic_alias_max=%u", (unsigned)p->topic_alias_max);
  if (HAS(MAX_QOS))
    put(&o, " max_qos=%u", (unsigned)p->max_qos);
  if (HAS(RETAIN_AVAILABLE))
    put(&o, " retain_available=%u", (unsigned)p->retain_available);
  if (HAS(MAX_PACKET_SIZE))
    put(&o, " max_packet_size=%lu", (unsigned long)p->max_packet_size);
  if (HAS(WILDCARD_SUB_AVAILABLE))
    put(&o, " wildcard_sub_available=%u", (unsigned)p->wildcard_sub_available);
  if (HAS(SUB_ID_AVAILABLE))
    put(&o, " sub_id_available=%u", (unsigned)p->sub_id_available);
  if (HAS(SHARED_SUB_AVAILABLE))
    put(&o, " shared_sub_available=%u", (unsigned)p->shared_sub_available);
  if (HAS(USER)) {
    if (p->user != NULL) {
      size_t i;
      for (i = 0; i < p->user_count; i++)
        put_user(&o, p->user[i].key, p->user[i].value);
    } else {
      size_t cur = 0, guard;
      hmq_prop one;
      /* bounded: every property takes at least 2 bytes of raw */
      for (guard = 0; guard <= p->raw.len; guard++) {
        if (hmq_props_next(p, &cur, &one) != HMQ_OK)
          break;
        if (one.id == HMQ_PROP_USER)
          put_user(&o, one.str, one.str2);
      }
    }
  }
#undef HAS
  return o.len;
}

size_t hmq_connlog_connect(const hmq_connect *k, char *buf, size_t cap) {
  out o = {buf, cap, 0};
  if (cap > 0)
    buf[0] = '\0';
  put(&o, "CONNECT clean_start=%u keep_alive=%u client_id=", (unsigned)k->clean_start,
      (unsigned)k->keep_alive);
  put_str(&o, k->client_id);
  if (k->username.ptr != NULL) {
    put(&o, " username=");
    put_str(&o, k->username);
  }
  if (k->password.ptr != NULL)
    put(&o, " password=(%zu bytes)", k->password.len);
  if (o.len < cap)
    o.len += hmq_connlog_props(&k->props, buf + o.len, cap - o.len);
  return o.len;
}

size_t hmq_connlog_connack(const hmq_connack *a, char *buf, size_t cap) {
  out o = {buf, cap, 0};
  if (cap > 0)
    buf[0] = '\0';
  put(&o, "CONNACK session_present=%u reason=0x%02X", (unsigned)a->session_present,
      (unsigned)a->reason);
  if (o.len < cap)
    o.len += hmq_connlog_props(&a->props, buf + o.len, cap - o.len);
  if (a->props.present == 0)
    put(&o, " (no properties)");
  return o.len;
}

size_t hmq_connlog_caps(const hmq_connect *asked, const hmq_connack *got, char *buf, size_t cap) {
  out o = {buf, cap, 0};
  const hmq_props *g = &got->props;
  if (cap > 0)
    buf[0] = '\0';
  if (g->present & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY)) {
    uint32_t want = (asked->props.present & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY))
                        ? asked->props.session_expiry
                        : 0;
    if (g->session_expiry != want)
      put(&o, "%ssession expiry %lu s (asked %lu s)", o.len ? ", " : "",
          (unsigned long)g->session_expiry, (unsigned long)want);
  }
  if ((g->present & HMQ_PROP_BIT(HMQ_PROP_SERVER_KEEP_ALIVE)) &&
      g->server_keep_alive != asked->keep_alive)
    put(&o, "%skeep alive %u s (asked %u s)", o.len ? ", " : "", (unsigned)g->server_keep_alive,
        (unsigned)asked->keep_alive);
  if (g->present & HMQ_PROP_BIT(HMQ_PROP_RECEIVE_MAX))
    put(&o, "%sreceive maximum %u (our QoS 1 send window)", o.len ? ", " : "",
        (unsigned)g->receive_max);
  if (g->present & HMQ_PROP_BIT(HMQ_PROP_MAX_PACKET_SIZE))
    put(&o, "%smaximum packet size %lu bytes", o.len ? ", " : "",
        (unsigned long)g->max_packet_size);
  if ((g->present & HMQ_PROP_BIT(HMQ_PROP_MAX_QOS)) && g->max_qos < 2)
    put(&o, "%smaximum QoS %u", o.len ? ", " : "", (unsigned)g->max_qos);
  return o.len;
}

size_t hmq_connlog_expiry_cut(const hmq_connect *asked, const hmq_connack *got, char *buf,
                              size_t cap) {
  out o = {buf, cap, 0};
  if (cap > 0)
    buf[0] = '\0';
  if (!(got->props.present & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY)) ||
      !(asked->props.present & HMQ_PROP_BIT(HMQ_PROP_SESSION_EXPIRY)) ||
      got->props.session_expiry >= asked->props.session_expiry)
    return 0;
  put(&o,
      "the server cut the session expiry from %lu s to %lu s (MQTT 5.0 3.2.2.3.2): a "
      "disconnection longer than that loses the session and what the broker queued for it",
      (unsigned long)asked->props.session_expiry, (unsigned long)got->props.session_expiry);
  return o.len;
}
