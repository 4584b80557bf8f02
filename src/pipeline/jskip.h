/* SPDX-License-Identifier: MIT */
/*
 * hmq program: stepping over JSON text that hmq itself wrote or already
 * validated (a sink line, a compacted data value), without a tokenizer:
 * the output rescan (dedupe_store.c) and the database row decoder
 * (db_rows.c). Neither checks the JSON; both stop at n.
 */
#ifndef HMQ_PIPELINE_JSKIP_H
#define HMQ_PIPELINE_JSKIP_H

#include <stddef.h>

/* p[i] is an opening quote: the index after the closing quote, or n. */
static inline size_t hmq_jskip_string(const char *p, size_t i, size_t n) {
  for (i++; i < n; i++) {
    if (p[i] == '\\')
      i++;
    else if (p[i] == '"')
      return i + 1;
  }
  return n;
}

/* Past the value at p[i] (string, object, array or scalar): the index
 * after it, i.e. at the ',', '}' or ']' that follows a scalar; n when it
 * does not end. */
static inline size_t hmq_jskip_value(const char *p, size_t i, size_t n) {
  size_t depth = 0;
  if (i < n && p[i] == '"')
    return hmq_jskip_string(p, i, n);
  while (i < n) {
    char c = p[i];
    if (c == '"') {
      i = hmq_jskip_string(p, i, n);
      continue;
    }
    if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        return i;
      if (--depth == 0)
        return i + 1;
    } else if (c == ',' && depth == 0) {
      return i;
    }
    i++;
  }
  return n;
}

#endif
