/* SPDX-License-Identifier: MIT */
/*
 * Topic filters and client identifiers checked before they go on the wire
 * (sans-I/O, no allocation). A filter the server must refuse is better
 * caught at start as a usage error than answered by a SUBACK/DISCONNECT
 * refusal and a reconnect loop.
 *
 * Rules (MQTT 5.0): a UTF-8 string (1.5.4: valid, no U+0000, at most 65535
 * bytes); a filter is at least one character (MQTT-4.7.3-1); '#' only as
 * a whole level and only as the last one (MQTT-4.7.1-1); '+' only as a
 * whole level (MQTT-4.7.1-2); "$share/" is followed by a ShareName of at
 * least one character without '/', '+' or '#' (MQTT-4.8.2-1, 4.8.2-2),
 * then '/' and a non-empty filter (4.8.2). Empty levels ("a//b") are
 * allowed (4.7.1).
 */
#include <string.h>

#include "hmq/codec.h"

#define SHARE_PREFIX     "$share/"
#define SHARE_PREFIX_LEN 7u

static hmq_status string_check(const char *s, size_t len) {
  if (s == NULL && len > 0) {
    return HMQ_ERR_ARG;
  }
  if (len > 65535u) {
    return HMQ_ERR_STRING_TOO_LONG;
  }
  return hmq_utf8_check(s, len);
}

hmq_status hmq_topic_filter_check(const char *f, size_t len) {
  size_t i;
  hmq_status st = string_check(f, len);
  if (st != HMQ_OK) {
    return st;
  }
  if (len == 0) {
    return HMQ_ERR_FILTER_EMPTY;
  }
  if (len >= SHARE_PREFIX_LEN && memcmp(f, SHARE_PREFIX, SHARE_PREFIX_LEN) == 0) {
    const char *name = f + SHARE_PREFIX_LEN;
    size_t rest = len - SHARE_PREFIX_LEN;
    const char *slash = memchr(name, '/', rest);
    if (slash == NULL || slash == name) {
      return HMQ_ERR_FILTER_SHARE;
    }
    for (i = 0; name + i < slash; i++) {
      if (name[i] == '+' || name[i] == '#') {
        return HMQ_ERR_FILTER_SHARE;
      }
    }
    len = rest - (size_t)(slash + 1 - name);
    f = slash + 1;
    if (len == 0) {
      return HMQ_ERR_FILTER_SHARE;
    }
  }
  for (i = 0; i < len; i++) {
    int starts = i == 0 || f[i - 1] == '/';
    if (f[i] == '#' && (!starts || i + 1 != len)) {
      return HMQ_ERR_FILTER_HASH;
    }
    if (f[i] == '+' && (!starts || (i + 1 != len && f[i + 1] != '/'))) {
      return HMQ_ERR_FILTER_PLUS;
    }
  }
  return HMQ_OK;
}

hmq_status hmq_client_id_check(const char *id, size_t len) {
  return string_check(id, len);
}
