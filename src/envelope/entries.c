/* SPDX-License-Identifier: MIT */
/*
 * Walk of an envelope's data: capability -> property -> [entry, …].
 *
 * The Auto API schema grows within level 13, so nothing here knows a
 * capability or property name: every key is passed through as it is. An
 * entry may hold any of data, timestamp, failure, availability (none is
 * required: the documented odometer entry has no timestamp). Shapes that
 * break the capability/property/array nesting are reported as skipped
 * records instead of failing the message, so one odd property does not
 * cost the rest of the vehicle's data.
 *
 * Entry keys (data, timestamp, failure, availability) are matched with
 * their JSON escapes decoded, as every JSON reader sees them; one given
 * twice warns (HMQ_ENTRY_WARN_DUP_KEY) and the first is used. A capability
 * or property name given twice (plainly or escaped) is not merged: each
 * occurrence is walked, so every reading the vehicle sent is handed out
 * (a JSON reader keeping the last one would drop the others; finding
 * repeats among siblings would cost time quadratic in their number).
 *
 * The walk never recurses: `next` moves forward through the token array,
 * descending into containers it understands and skipping the rest.
 */
#include <string.h>

#include "hmq/envelope.h"
#include "envelope/jtok.h"

void hmq_entries_begin(hmq_entries *it, const hmq_envelope *env) {
  memset(it, 0, sizeof *it);
  it->env = env;
  if (env != NULL) {
    it->next = env->data_tok + 1;
  }
}

/* A whole value as raw JSON (strings keep their quotes). */
static hmq_str raw_view(const char *js, const hmq_jtok *t) {
  hmq_str s;
  int q = t->type == JSMN_STRING ? 1 : 0;
  s.ptr = js + t->start - q;
  s.len = (size_t)(t->end - t->start + 2 * q);
  return s;
}

static const hmq_str absent = {NULL, 0};

/* Key names compared decoded: "time\u0073tamp" is the timestamp to every
 * JSON reader, so it is here too (and a duplicate of a plain "timestamp").
 * Room for the longest name compared ("availability", "description"). */
#define KEY_ROOM 16

/* Find the string members "reason" and "description" of a failure object. */
static void failure_fields(const char *js, const hmq_jtok *toks, size_t n, size_t obj,
                           hmq_entry *e) {
  size_t i = obj + 1;
  while (i < n && toks[i].start < toks[obj].end) {
    size_t v = i + 1;
    if (toks[v].type == JSMN_STRING) {
      char kb[KEY_ROOM];
      hmq_str k = hmq_jtok_key(js, &toks[i], kb, sizeof kb);
      if (e->failure_reason.ptr == NULL && hmq_str_is(k, "reason", 6)) {
        e->failure_reason = hmq_jtok_str(js, &toks[v]);
      } else if (e->failure_description.ptr == NULL && hmq_str_is(k, "description", 11)) {
        e->failure_description = hmq_jtok_str(js, &toks[v]);
      }
    }
    i = hmq_jtok_skip(toks, n, v);
  }
}

/* A timestamp view parsed as RFC 3339 with its escapes decoded
 * ("2025-08-12T16:07:4\u0038Z" is a date to a JSON reader). The longest
 * date the parser takes is 35 characters: more does not parse either. */
static int timestamp_ms(hmq_str ts, int64_t *ms) {
  char buf[48];
  size_t n = 0;
  if (memchr(ts.ptr, '\\', ts.len) != NULL) {
    if (hmq_json_unescape(ts, buf, sizeof buf, &n) != HMQ_OK)
      return 0;
    ts.ptr = buf;
    ts.len = n;
  }
  return hmq_rfc3339_parse(ts, ms) == HMQ_OK;
}

/* Which entry member key k names: 1 data, 2 timestamp, 3 failure,
 * 4 availability, 0 none. */
static int member_of(hmq_str k) {
  if (hmq_str_is(k, "data", 4))
    return 1;
  if (hmq_str_is(k, "timestamp", 9))
    return 2;
  if (hmq_str_is(k, "failure", 7))
    return 3;
  if (hmq_str_is(k, "availability", 12))
    return 4;
  return 0;
}

static void fill_entry(const char *js, const hmq_jtok *toks, size_t n, size_t obj, hmq_entry *e) {
  size_t i = obj + 1;
  size_t ts = 0, fail = 0;
  while (i < n && toks[i].start < toks[obj].end) {
    size_t v = i + 1;
    hmq_str *slot = NULL;
    int m = 0;
    if (toks[i].type == JSMN_STRING) {
      /* The plain spelling first (the usual case, no copy); then the key
       * decoded, when it holds a backslash. */
      hmq_str k = hmq_jtok_str(js, &toks[i]);
      m = member_of(k);
      if (m == 0 && memchr(k.ptr, '\\', k.len) != NULL) {
        char kb[KEY_ROOM];
        m = member_of(hmq_jtok_key(js, &toks[i], kb, sizeof kb));
      }
    }
    if (m == 1) {
      slot = &e->data;
    } else if (m == 2) {
      slot = &e->timestamp;
      if (e->timestamp.ptr == NULL) {
        ts = v;
      }
    } else if (m == 3) {
      slot = &e->failure;
      if (e->failure.ptr == NULL) {
        fail = v;
      }
    } else if (m == 4) {
      slot = &e->availability;
    }
    if (slot != NULL) {
      if (slot->ptr != NULL) {
        e->warnings |= HMQ_ENTRY_WARN_DUP_KEY;
      } else {
        *slot = raw_view(js, &toks[v]);
      }
    }
    i = hmq_jtok_skip(toks, n, v);
  }
  if (ts != 0) {
    /* The loop stored a raw view (quotes included); the timestamp is
     * handed out as a string view. A non-string one only warns. */
    if (toks[ts].type == JSMN_STRING) {
      e->timestamp = hmq_jtok_str(js, &toks[ts]);
      e->ts_valid = (uint8_t)timestamp_ms(e->timestamp, &e->ts_ms);
    } else {
      e->timestamp = absent; /* a string view cannot show a number; raw has it */
    }
    if (!e->ts_valid) {
      e->ts_ms = 0;
      e->warnings |= HMQ_ENTRY_WARN_TIMESTAMP;
    }
  }
  if (fail != 0 && toks[fail].type == JSMN_OBJECT) {
    failure_fields(js, toks, n, fail, e);
  }
}

hmq_status hmq_entries_next(hmq_entries *it, hmq_entry *e) {
  const hmq_envelope *env;
  const hmq_jtok *toks;
  const char *js;
  size_t n;

  if (it == NULL || e == NULL || it->env == NULL || it->env->parser == NULL ||
      it->env->data_tok == 0) {
    return HMQ_ERR_ARG;
  }
  env = it->env;
  toks = (const hmq_jtok *)env->parser->tokens;
  n = env->parser->count;
  js = env->parser->json;
  if (js == NULL || env->data_tok >= n || env->generation != env->parser->generation) {
    return HMQ_ERR_ARG;
  }
  for (;;) {
    size_t k = it->next;
    if (it->level == 2) {
      if (k < n && toks[k].start < toks[it->prop_key + 1].end) {
        memset(e, 0, sizeof *e);
        e->capability = hmq_jtok_str(js, &toks[it->cap_key]);
        e->property = hmq_jtok_str(js, &toks[it->prop_key]);
        e->index = it->index++;
        e->raw = raw_view(js, &toks[k]);
        e->timestamp = e->data = e->failure = e->availability = absent;
        it->next = hmq_jtok_skip(toks, n, k);
        if (toks[k].type == JSMN_OBJECT) {
          fill_entry(js, toks, n, k, e);
        } else {
          e->warnings |= HMQ_ENTRY_WARN_NOT_OBJECT;
          it->skipped++;
        }
        it->warnings |= e->warnings;
        return HMQ_OK;
      }
      it->level = 1; /* `next` is already the token after the array */
    } else if (it->level == 1) {
      if (k < n && toks[k].start < toks[it->cap_key + 1].end) {
        it->prop_key = k;
        if (toks[k + 1].type == JSMN_ARRAY) {
          it->level = 2;
          it->next = k + 2;
          it->index = 0;
          continue;
        }
        memset(e, 0, sizeof *e);
        e->capability = hmq_jtok_str(js, &toks[it->cap_key]);
        e->property = hmq_jtok_str(js, &toks[k]);
        e->raw = raw_view(js, &toks[k + 1]);
        e->warnings = HMQ_ENTRY_WARN_NOT_ARRAY;
        it->next = hmq_jtok_skip(toks, n, k + 1);
        it->skipped++;
        it->warnings |= e->warnings;
        return HMQ_OK;
      }
      it->level = 0;
    } else {
      if (k < n && toks[k].start < toks[env->data_tok].end) {
        it->cap_key = k;
        if (toks[k + 1].type == JSMN_OBJECT) {
          it->level = 1;
          it->next = k + 2;
          continue;
        }
        memset(e, 0, sizeof *e);
        e->capability = hmq_jtok_str(js, &toks[k]);
        e->raw = raw_view(js, &toks[k + 1]);
        e->warnings = HMQ_ENTRY_WARN_NOT_OBJECT;
        it->next = hmq_jtok_skip(toks, n, k + 1);
        it->skipped++;
        it->warnings |= e->warnings;
        return HMQ_OK;
      }
      return HMQ_NEED_MORE;
    }
  }
}

const char *hmq_entry_warning_str(unsigned bit) {
  switch (bit) {
  case HMQ_ENTRY_WARN_NOT_ARRAY:
    return "property value is not an array (skipped)";
  case HMQ_ENTRY_WARN_NOT_OBJECT:
    return "capability or array element is not an object (skipped)";
  case HMQ_ENTRY_WARN_TIMESTAMP:
    return "timestamp is not an RFC 3339 date-time string";
  case HMQ_ENTRY_WARN_DUP_KEY:
    return "entry key given twice (first one used)";
  default:
    return "unknown warning";
  }
}
