/* SPDX-License-Identifier: MIT */
/*
 * Worst-case payloads for the envelope parser (see sim_worst.h).
 */
#include "sim_worst.h"

#include "hmq/envelope.h"

#include <stdio.h>

static size_t brackets(char *d, size_t p, char c, size_t n) {
  while (n--)
    d[p++] = c;
  return p;
}

size_t hmq_sim_worst_make(char *d, hmq_sim_worst s, size_t size, const char *id) {
  size_t p = 0, i;
  char start[64], head[128];
  const size_t stair = HMQ_JSON_MAX_DEPTH - 5;
  snprintf(start, sizeof start, "{\"message_id\":\"%.32s\",\"vin\":", id);
  snprintf(head, sizeof head, "%s\"V\",\"data\":{\"c\":{\"p\":[", start);
  switch (s) {
  case HMQ_SIM_WORST_DEEP:
    p = brackets(d, p, '[', size / 2);
    return brackets(d, p, ']', size / 2);
  case HMQ_SIM_WORST_DEEP_IN_DATA:
    p = (size_t)sprintf(d, "%s", head);
    for (i = 0; p < size / 2; i++)
      d[p++] = '[';
    p = brackets(d, p, ']', i);
    return p + (size_t)sprintf(d + p, "]}}}");
  case HMQ_SIM_WORST_STAIRS:
    p = (size_t)sprintf(d, "%s", head);
    while (p < size) {
      p = brackets(d, p, '[', stair);
      p = brackets(d, p, ']', stair);
      d[p++] = ',';
    }
    p--;
    return p + (size_t)sprintf(d + p, "]}}}");
  case HMQ_SIM_WORST_MANY_KEYS:
    p = (size_t)sprintf(d, "%s\"V\",\"data\":{\"c\":{", start);
    for (i = 0; p < size; i++)
      p += (size_t)sprintf(d + p, "%s\"%zx\":[]", i ? "," : "", i);
    return p + (size_t)sprintf(d + p, "}}}");
  case HMQ_SIM_WORST_LONG_STRING:
  case HMQ_SIM_WORST_BAD_UTF8_LONG:
    p = (size_t)sprintf(d, "%s\"", start);
    while (p < size)
      d[p++] = 'a';
    if (s == HMQ_SIM_WORST_BAD_UTF8_LONG)
      d[p - 1] = (char)0xff;
    return p + (size_t)sprintf(d + p, "\",\"data\":{}}");
  case HMQ_SIM_WORST_TINY_TOKENS:
  default:
    d[p++] = '[';
    while (p < size) {
      d[p++] = '0';
      d[p++] = ',';
    }
    d[p - 1] = ']';
    return p;
  }
}
