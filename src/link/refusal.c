/* SPDX-License-Identifier: MIT */
/*
 * hmq_link policy: what each reason code a server sends in CONNACK, SUBACK
 * or DISCONNECT means for a client that wants to keep a subscription alive
 * (see hmq/link.h), and the one line that tells a user about it.
 *
 * The rule behind the table: a refusal is permanent when the server judged
 * something the client sends the same way on every connection (its CONNECT,
 * its credentials, its subscription, a packet it builds the same way each
 * time) or a feature the server lacks; retrying then only repeats the
 * refusal. It is transient when it depends on the server's load, on time,
 * or on the state of one connection, which the next connection starts
 * afresh.
 */
#include "hmq/link.h"

#include <stdio.h>
#include <string.h>

#define N HMQ_REFUSAL_NONE
#define T HMQ_REFUSAL_TRANSIENT
#define P HMQ_REFUSAL_PERMANENT
#define I HMQ_REFUSAL_INVALID

/* One row per reason code any of the three packets may carry (MQTT 5.0
 * 2.4, 3.2.2.2, 3.9.3, 3.14.2.1); codes not listed are INVALID in all
 * three. I in a column: not a code of that packet (the decoder refuses it
 * as malformed). */
static const struct {
  uint8_t code;
  uint8_t connack, suback, disconnect;
} table[] = {
    /* Success / Granted QoS 0 / Normal disconnection: the server ended a
     * connection it had accepted; come back. */
    {0x00, N, N, T},
    {0x01, I, N, I}, /* Granted QoS 1 */
    {0x02, I, N, I}, /* Granted QoS 2 */
    /* Disconnect with Will Message: a client's code; from a server, a close. */
    {0x04, I, I, T},
    /* Unspecified error: says nothing about a cause that would repeat. */
    {0x80, T, T, T},
    /* Malformed Packet, Protocol Error: in CONNACK about our CONNECT, the
     * same every time; in DISCONNECT about a packet of that connection,
     * whose state the next one does not carry. */
    {0x81, P, I, T},
    {0x82, P, I, T},
    /* Implementation specific error: "valid but not accepted by this
     * Server" for CONNECT and SUBSCRIBE; in DISCONNECT, one packet of that
     * connection. */
    {0x83, P, P, T},
    {0x84, P, I, I}, /* Unsupported Protocol Version */
    {0x85, P, I, I}, /* Client Identifier not valid */
    {0x86, P, I, I}, /* Bad User Name or Password */
    {0x87, P, P, P}, /* Not authorized */
    {0x88, T, I, I}, /* Server unavailable */
    {0x89, T, I, T}, /* Server busy */
    {0x8A, P, I, I}, /* Banned */
    {0x8B, I, I, T}, /* Server shutting down */
    {0x8C, P, I, P}, /* Bad authentication method */
    {0x8D, I, I, T}, /* Keep Alive timeout */
    /* Session taken over: retried, counted and reported on its own
     * (HMQ_LINK_EV_TAKEN_OVER; the program gives up after three). */
    {0x8E, I, I, T},
    {0x8F, I, P, P}, /* Topic Filter invalid */
    {0x90, P, I, P}, /* Topic Name invalid (Will topic; PUBLISH) */
    {0x91, I, T, I}, /* Packet Identifier in use: that connection's ids */
    {0x93, I, I, T}, /* Receive Maximum exceeded: that connection's window */
    {0x94, I, I, T}, /* Topic Alias invalid: that connection's aliases */
    {0x95, P, I, P}, /* Packet too large: the same packet again */
    {0x96, I, I, T}, /* Message rate too high */
    {0x97, T, T, T}, /* Quota exceeded */
    {0x98, I, I, T}, /* Administrative action: a ban shows in the next CONNACK */
    {0x99, P, I, P}, /* Payload format invalid */
    {0x9A, P, I, P}, /* Retain not supported */
    {0x9B, P, I, P}, /* QoS not supported */
    /* Use another server, Server moved: hmq does not follow the Server
     * Reference; the name it dials may lead elsewhere next time. */
    {0x9C, T, I, T},
    {0x9D, T, I, T},
    {0x9E, I, P, P}, /* Shared Subscriptions not supported */
    {0x9F, T, I, T}, /* Connection rate exceeded */
    {0xA0, I, I, T}, /* Maximum connect time */
    {0xA1, I, P, P}, /* Subscription Identifiers not supported */
    {0xA2, I, P, P}, /* Wildcard Subscriptions not supported */
};

#undef N
#undef T
#undef P
#undef I

hmq_refusal hmq_link_refusal(uint8_t packet_type, uint8_t reason) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (table[i].code != reason)
      continue;
    switch (packet_type) {
    case HMQ_PKT_CONNACK:
      return (hmq_refusal)table[i].connack;
    case HMQ_PKT_SUBACK:
      return (hmq_refusal)table[i].suback;
    case HMQ_PKT_DISCONNECT:
      return (hmq_refusal)table[i].disconnect;
    default:
      return HMQ_REFUSAL_INVALID;
    }
  }
  return HMQ_REFUSAL_INVALID;
}

const char *hmq_refusal_name(hmq_refusal r) {
  switch (r) {
  case HMQ_REFUSAL_NONE:
    return "none";
  case HMQ_REFUSAL_TRANSIENT:
    return "transient";
  case HMQ_REFUSAL_PERMANENT:
    return "permanent";
  case HMQ_REFUSAL_INVALID:
    return "invalid";
  }
  return "?";
}

/* Append to buf (NUL-terminated, *len bytes used). */
static void put(char *buf, size_t cap, size_t *len, const char *s, size_t n) {
  if (*len + 1 >= cap)
    return;
  if (n > cap - 1 - *len)
    n = cap - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

/* Append the server's text v, at most max bytes of it (cut on a UTF-8
 * character boundary, "..." added), control characters and '"' as '?'.
 * The decoder has checked it is valid UTF-8. */
static void put_text(char *buf, size_t cap, size_t *len, hmq_str v, size_t max) {
  size_t n = v.len;
  bool cut = false;
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)v.ptr[n] & 0xC0) == 0x80)
      n--; /* do not split a character */
    cut = true;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v.ptr[i];
    char c = (ch < 0x20 || ch == 0x7F || ch == '"') ? '?' : (char)ch;
    put(buf, cap, len, &c, 1);
  }
  if (cut)
    put(buf, cap, len, "...", 3);
}

static const char *packet_name(uint8_t t) {
  switch (t) {
  case HMQ_PKT_CONNACK:
    return "CONNACK";
  case HMQ_PKT_SUBACK:
    return "SUBACK";
  case HMQ_PKT_DISCONNECT:
    return "DISCONNECT";
  default:
    return "packet";
  }
}

const char *hmq_link_refusal_text(char *buf, size_t cap, uint8_t packet_type, uint8_t reason,
                                  const hmq_props *props) {
  char head[96];
  size_t len = 0;
  if (buf == NULL || cap == 0)
    return buf;
  buf[0] = '\0';
  snprintf(head, sizeof head, "%s 0x%02X %s", packet_name(packet_type), reason,
           hmq_reason_str(packet_type, reason));
  put(buf, cap, &len, head, strlen(head));
  if (props == NULL)
    return buf;
  if (props->present & HMQ_PROP_BIT(HMQ_PROP_REASON_STRING)) {
    put(buf, cap, &len, ", reason string \"", 17);
    put_text(buf, cap, &len, props->reason_string, 120);
    put(buf, cap, &len, "\"", 1);
  }
  if (props->present & HMQ_PROP_BIT(HMQ_PROP_SERVER_REFERENCE)) {
    put(buf, cap, &len, ", server reference \"", 20);
    put_text(buf, cap, &len, props->server_reference, 80);
    put(buf, cap, &len, "\"", 1);
  }
  if (props->user_count > 0) {
    size_t cursor = 0, k = 0;
    hmq_prop p;
    put(buf, cap, &len, ", user properties ", 18);
    while (hmq_props_next(props, &cursor, &p) == HMQ_OK) {
      if (p.id != HMQ_PROP_USER)
        continue;
      if (k++ > 0)
        put(buf, cap, &len, ", ", 2);
      put_text(buf, cap, &len, p.str, 40);
      put(buf, cap, &len, "=", 1);
      put_text(buf, cap, &len, p.str2, 60);
    }
  }
  return buf;
}

static bool is_shared(hmq_str f) {
  return f.len >= 7 && memcmp(f.ptr, "$share/", 7) == 0;
}

static bool has_wildcard(hmq_str f) {
  return memchr(f.ptr, '+', f.len) != NULL || memchr(f.ptr, '#', f.len) != NULL;
}

hmq_status hmq_link_subs_allowed(const hmq_connack *ck, const hmq_sub_filter *subs, size_t n,
                                 char *why, size_t cap) {
  const hmq_props *p = &ck->props;
  bool no_shared =
      (p->present & HMQ_PROP_BIT(HMQ_PROP_SHARED_SUB_AVAILABLE)) && p->shared_sub_available == 0;
  bool no_wild = (p->present & HMQ_PROP_BIT(HMQ_PROP_WILDCARD_SUB_AVAILABLE)) &&
                 p->wildcard_sub_available == 0;
  unsigned max_qos = (p->present & HMQ_PROP_BIT(HMQ_PROP_MAX_QOS)) ? p->max_qos : 2u;
  if (why && cap)
    why[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    hmq_str f = subs[i].filter;
    const char *rule = NULL;
    char qos[160];
    if (f.ptr == NULL)
      continue;
    if (no_shared && is_shared(f)) {
      rule = "is a shared subscription and the server's CONNACK says Shared Subscription "
             "Available 0";
    } else if (no_wild && has_wildcard(f)) {
      rule = "has a wildcard and the server's CONNACK says Wildcard Subscription Available 0";
    } else if (subs[i].qos > max_qos) {
      snprintf(qos, sizeof qos,
               "asks QoS %u and the server's CONNACK says Maximum QoS %u (messages could be "
               "lost unacknowledged)",
               (unsigned)subs[i].qos, max_qos);
      rule = qos;
    }
    if (rule == NULL)
      continue;
    if (why && cap) {
      size_t len = 0;
      put(why, cap, &len, "subscription '", 14);
      put_text(why, cap, &len, f, 200);
      put(why, cap, &len, "' ", 2);
      put(why, cap, &len, rule, strlen(rule));
      put(why, cap, &len, ": not subscribing", 17);
    }
    return HMQ_ERR_SUB_UNAVAILABLE;
  }
  return HMQ_OK;
}
