/* SPDX-License-Identifier: MIT */
/*
 * Name tables: statuses (generated from the one HMQ_STATUS_LIST), MQTT 5
 * reason codes (MQTT 5.0 2.4, table 2-6) and control packet types (2.1.2).
 * Every function returns a static string and never NULL, so log lines can
 * call them without checks.
 */
#include "hmq/codec.h"

#include <string.h>

const char *hmq_status_str(hmq_status st) {
  switch (st) {
#define HMQ_X_STR(name, value, reason, text)                                                       \
  case name:                                                                                       \
    return text;
    HMQ_STATUS_LIST(HMQ_X_STR)
#undef HMQ_X_STR
  }
  return "unknown status";
}

const char *hmq_status_name(hmq_status st) {
  switch (st) {
#define HMQ_X_NAME(name, value, reason, text)                                                      \
  case name:                                                                                       \
    return #name;
    HMQ_STATUS_LIST(HMQ_X_NAME)
#undef HMQ_X_NAME
  }
  return "HMQ_UNKNOWN_STATUS";
}

uint8_t hmq_status_reason(hmq_status st) {
  switch (st) {
#define HMQ_X_REASON(name, value, reason, text)                                                    \
  case name:                                                                                       \
    return (uint8_t)(reason);
    HMQ_STATUS_LIST(HMQ_X_REASON)
#undef HMQ_X_REASON
  }
  return 0;
}

/* Reason codes other than 0x00..0x02, whose meaning depends on the packet
 * (MQTT 5.0 2.4, table 2-6). Sorted by code; the table is small enough that a
 * linear scan is cheaper than anything clever, and it only runs for logs. */
static const struct {
  uint8_t code;
  const char *name;
} hmq_reason_names[] = {
    {0x04, "Disconnect with Will Message"},
    {0x10, "No matching subscribers"},
    {0x11, "No subscription existed"},
    {0x18, "Continue authentication"},
    {0x19, "Re-authenticate"},
    {0x80, "Unspecified error"},
    {0x81, "Malformed Packet"},
    {0x82, "Protocol Error"},
    {0x83, "Implementation specific error"},
    {0x84, "Unsupported Protocol Version"},
    {0x85, "Client Identifier not valid"},
    {0x86, "Bad User Name or Password"},
    {0x87, "Not authorized"},
    {0x88, "Server unavailable"},
    {0x89, "Server busy"},
    {0x8A, "Banned"},
    {0x8B, "Server shutting down"},
    {0x8C, "Bad authentication method"},
    {0x8D, "Keep Alive timeout"},
    {0x8E, "Session taken over"},
    {0x8F, "Topic Filter invalid"},
    {0x90, "Topic Name invalid"},
    {0x91, "Packet Identifier in use"},
    {0x92, "Packet Identifier not found"},
    {0x93, "Receive Maximum exceeded"},
    {0x94, "Topic Alias invalid"},
    {0x95, "Packet too large"},
    {0x96, "Message rate too high"},
    {0x97, "Quota exceeded"},
    {0x98, "Administrative action"},
    {0x99, "Payload format invalid"},
    {0x9A, "Retain not supported"},
    {0x9B, "QoS not supported"},
    {0x9C, "Use another server"},
    {0x9D, "Server moved"},
    {0x9E, "Shared Subscriptions not supported"},
    {0x9F, "Connection rate exceeded"},
    {0xA0, "Maximum connect time"},
    {0xA1, "Subscription Identifiers not supported"},
    {0xA2, "Wildcard Subscriptions not supported"},
};

const char *hmq_reason_str(uint8_t packet_type, uint8_t reason) {
  /* 0x00 is "Success" in most packets but has its own name in DISCONNECT
   * and SUBACK; 0x01/0x02 only exist as SUBACK granted QoS (table 2-6). */
  switch (reason) {
  case 0x00:
    if (packet_type == HMQ_PKT_DISCONNECT) {
      return "Normal disconnection";
    }
    if (packet_type == HMQ_PKT_SUBACK) {
      return "Granted QoS 0";
    }
    return "Success";
  case 0x01:
    return "Granted QoS 1";
  case 0x02:
    return "Granted QoS 2";
  default:
    break;
  }
  for (size_t i = 0; i < sizeof hmq_reason_names / sizeof hmq_reason_names[0]; i++) {
    if (hmq_reason_names[i].code == reason) {
      return hmq_reason_names[i].name;
    }
  }
  return "Unknown reason code";
}

const char *hmq_packet_name(uint8_t type) {
  static const char *const names[16] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                        "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                        "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                        "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
  if (type < 16) {
    return names[type];
  }
  return "INVALID";
}

hmq_str hmq_str_c(const char *s) {
  hmq_str v = {s, s != NULL ? strlen(s) : 0};
  return v;
}
