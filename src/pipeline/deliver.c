/* SPDX-License-Identifier: MIT */
/*
 * The delivery pipeline: envelope -> dedupe -> format -> sink -> commit.
 *
 * Why acks wait for the commit: a QoS 1 PUBACK tells the server it may
 * forget the message (MQTT 5.0 4.3.2); the server then never sends it
 * again. So a seq is handed back for acking only after the line holding
 * the message is durable (file: fdatasync; exec: taken by the pipe of a
 * live child). Bad payloads are still acknowledged normally, after their
 * dead-letter line is durable (MQTT-4.5.0-2: the receiver must accept a
 * PUBLISH it was sent; a failure PUBACK on a shared subscription would make
 * the server drop the message for good).
 */
#include "pipeline/deliver.h"
#include "pipeline/deliver_db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static hmq_status
set_err(hmq_deliver *d, hmq_status st, const char *fmt, ...) {
  if (d->err == HMQ_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->errmsg, sizeof d->errmsg, fmt, ap);
    va_end(ap);
    d->err = st;
  }
  return d->err;
}

static hmq_status store_err(hmq_deliver *d) {
  return set_err(d, HMQ_ERR_IO, "dedupe log: %s %s: %s",
                 d->store.err_op ? d->store.err_op : "write", d->store.log_path,
                 strerror(d->store.err_no ? d->store.err_no : EIO));
}

static hmq_status sink_err(hmq_deliver *d, hmq_sink *s, const char *what) {
  char b[400];
  hmq_sink_describe(s, b, sizeof b);
  return set_err(d, s->err != HMQ_OK ? s->err : HMQ_ERR_IO, "%s: %s", what, b);
}

int hmq_format_from_name(const char *name, hmq_format *f) {
  static const char *const names[] = {"envelope", "flat", "raw"};
  for (int i = 0; name && i < 3; i++) {
    if (strcmp(name, names[i]) == 0) {
      *f = (hmq_format)i;
      return 0;
    }
  }
  return -1;
}

hmq_stats *hmq_deliver_stats(hmq_deliver *d) {
  return &d->stats;
}

const char *hmq_deliver_error(const hmq_deliver *d) {
  return d->errmsg;
}

void hmq_deliver_test_crash(hmq_deliver *d, int point) {
  d->crash = point;
}

size_t hmq_deliver_pending(const hmq_deliver *d) {
  return d->pend_count;
}

uint64_t hmq_deliver_oldest_ms(const hmq_deliver *d) {
  return d->pend_count ? d->arrived[d->pend_head] : 0;
}

/* --- JSON string output for dead-letter lines ---------------------------- */

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 when invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  if (c < 0x80)
    return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

static int utf8_valid(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq(p + i, n - i);
    if (k == 0)
      return 0;
    i += k;
  }
  return 1;
}

/* Small staging buffer so escaping costs one memcpy per ~256 bytes. */
typedef struct hmq_outbuf {
  hmq_sink *s;
  char b[512];
  size_t n;
} hmq_outbuf;

static void ob_flush(hmq_outbuf *o) {
  if (o->n)
    (void)hmq_sink_write(o->s, o->b, o->n); /* errors are sticky in the sink */
  o->n = 0;
}

static void ob_put(hmq_outbuf *o, const char *p, size_t n) {
  if (o->n + n > sizeof o->b)
    ob_flush(o);
  if (n > sizeof o->b) {
    (void)hmq_sink_write(o->s, p, n);
    return;
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

/* JSON string body (RFC 8259 section 7): quote, backslash and control
 * characters escaped, valid UTF-8 passed through. */
static void ob_escaped(hmq_outbuf *o, const uint8_t *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    char e[6];
    if (c == '"' || c == '\\') {
      e[0] = '\\';
      e[1] = (char)c;
      ob_put(o, e, 2);
    } else if (c == '\n') {
      ob_put(o, "\\n", 2);
    } else if (c == '\r') {
      ob_put(o, "\\r", 2);
    } else if (c == '\t') {
      ob_put(o, "\\t", 2);
    } else if (c < 0x20 || c == 0x7F) {
      e[0] = '\\';
      e[1] = 'u';
      e[2] = '0';
      e[3] = '0';
      e[4] = hex[c >> 4];
      e[5] = hex[c & 15];
      ob_put(o, e, 6);
    } else {
      ob_put(o, (const char *)&p[i], 1);
    }
  }
}

static void ob_base64(hmq_outbuf *o, const uint8_t *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    char e[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                 i + 2 < n ? tab[v & 63] : '='};
    ob_put(o, e, 4);
  }
}

/* One dead-letter line: {"reason":…,"topic":…,"payload":…,"received_ms":…}.
 * A payload that is not UTF-8 cannot be a JSON string without loss, so it
 * goes as "payload_base64" instead. */
hmq_status hmq_deliver_dead_letter(hmq_deliver *d, const char *reason, const char *topic,
                                   size_t topic_len, const uint8_t *payload, size_t len,
                                   uint64_t now_ms) {
  hmq_outbuf o;
  char num[32];
  o.s = &d->dead;
  o.n = 0;
  ob_put(&o, "{\"reason\":\"", 11);
  ob_escaped(&o, (const uint8_t *)reason, strlen(reason));
  ob_put(&o, "\",\"topic\":\"", 11);
  ob_escaped(&o, (const uint8_t *)topic, topic_len);
  if (utf8_valid(payload, len)) {
    ob_put(&o, "\",\"payload\":\"", 13);
    ob_escaped(&o, payload, len);
  } else {
    ob_put(&o, "\",\"payload_base64\":\"", 20);
    ob_base64(&o, payload, len);
  }
  int k = snprintf(num, sizeof num, "\",\"received_ms\":%llu}\n", (unsigned long long)now_ms);
  ob_put(&o, num, (size_t)k);
  ob_flush(&o);
  d->stats.invalid++;
  d->dead_dirty = 1;
  if (d->dead.err != HMQ_OK)
    return sink_err(d, &d->dead, "dead-letter");
  return HMQ_OK;
}

/* --- formats --------------------------------------------------------------- */

static hmq_status write_envelope(hmq_deliver *d, const hmq_envelope *env, size_t len) {
  uint8_t *p;
  size_t room, n = 0;
  hmq_status st = hmq_sink_reserve(&d->out, len + 1, &p, &room);
  if (st != HMQ_OK)
    return st;
  st = hmq_json_compact(env, (char *)p, room - 1, &n);
  if (st != HMQ_OK)
    return st;
  p[n] = '\n';
  hmq_sink_advance(&d->out, n + 1);
  d->stats.lines++;
  return HMQ_OK;
}

/* Newest reading timestamp of one message, for the data-age statistic. */
typedef struct hmq_newest {
  int64_t ts_ms;
  int have;
} hmq_newest;

static void newest_note(hmq_newest *n, const hmq_entry *e) {
  if (e->ts_valid && (!n->have || e->ts_ms > n->ts_ms)) {
    n->ts_ms = e->ts_ms;
    n->have = 1;
  }
}

static void newest_report(hmq_deliver *d, const hmq_newest *n, uint64_t now_ms) {
  if (n->have)
    hmq_stats_age(&d->stats, (int64_t)now_ms - n->ts_ms);
}

_Static_assert(HMQ_DELIVER_FLAT_RATIO == 16u, "the dead-letter reason below says 16");

/* An upper bound of the bytes write_flat would write for env: every line's
 * names and values at their size in the payload (compacting only shortens
 * them) plus its fixed keys. Stops counting once past `limit`. */

static size_t flat_size_bound(const hmq_envelope *env, size_t limit) {
  hmq_entries it;
  hmq_entry e;
  size_t total = 0, head = env->vin.len + env->message_id.len + 128u;
  hmq_entries_begin(&it, env);
  while (total <= limit && hmq_entries_next(&it, &e) == HMQ_OK) {
    if (e.warnings & HMQ_ENTRY_SKIPPED)
      continue;
    total += head + e.capability.len + e.property.len + e.timestamp.len + e.data.len +
             e.failure.len + e.availability.len;
  }
  return total;
}

/* One line per entry; the same walk collects the data age and warnings
 * (as survey() does for the other formats), so flat walks only once. */
static hmq_status write_flat(hmq_deliver *d, const hmq_envelope *env, size_t len, uint64_t now_ms,
                             unsigned *warnings, size_t *lines) {
  hmq_entries it;
  hmq_entry e;
  hmq_newest newest = {0, 0};
  hmq_entries_begin(&it, env);
  while (hmq_entries_next(&it, &e) == HMQ_OK) {
    newest_note(&newest, &e);
    if (e.warnings & HMQ_ENTRY_SKIPPED)
      continue;
    uint8_t *p;
    size_t room, n = 0;
    hmq_status st = hmq_sink_reserve(&d->out, len + HMQ_DELIVER_LINE_SLACK, &p, &room);
    if (st != HMQ_OK)
      return st;
    st = hmq_format_flat(env, &e, (char *)p, room - 1, &n);
    if (st != HMQ_OK)
      return st;
    p[n] = '\n';
    hmq_sink_advance(&d->out, n + 1);
    d->stats.lines++;
    (*lines)++;
  }
  newest_report(d, &newest, now_ms);
  *warnings = it.warnings;
  return HMQ_OK;
}

static hmq_status write_raw(hmq_deliver *d, const uint8_t *payload, size_t len) {
  hmq_status st = hmq_sink_write(&d->out, payload, len);
  if (st == HMQ_OK)
    st = hmq_sink_write(&d->out, "\n", 1);
  d->stats.lines++;
  return st;
}

/* Walk the entries once for the data age (newest reading) and warnings. */
static unsigned survey(hmq_deliver *d, const hmq_envelope *env, uint64_t now_ms) {
  hmq_entries it;
  hmq_entry e;
  hmq_newest newest = {0, 0};
  hmq_entries_begin(&it, env);
  while (hmq_entries_next(&it, &e) == HMQ_OK)
    newest_note(&newest, &e);
  newest_report(d, &newest, now_ms);
  return it.warnings;
}

/* At most HMQ_DELIVER_WARN_BURST warning lines per second: a stream where
 * every message carries the same oddity must not turn stderr into the
 * bottleneck. The lines held back are counted in the next one shown. */
static int warn_allowed(hmq_deliver *d, uint64_t now_ms) {
  if (now_ms / 1000u != d->warn_second) {
    d->warn_second = now_ms / 1000u;
    d->warn_lines = 0;
  }
  if (d->warn_lines >= HMQ_DELIVER_WARN_BURST) {
    d->warn_held++;
    return 0;
  }
  d->warn_lines++;
  return 1;
}

static void log_warning(hmq_deliver *d, const hmq_envelope *env, unsigned entry_warn,
                        const char *topic, size_t topic_len, uint64_t now_ms) {
  if (!warn_allowed(d, now_ms))
    return;
  char why[384];
  size_t n = 0;
  (void)hmq_envelope_describe(env, why, 256, NULL);
  n = strlen(why);
  for (unsigned bit = 1; bit <= HMQ_ENTRY_WARN_DUP_KEY && n < sizeof why; bit <<= 1) {
    if (entry_warn & bit) {
      int k = snprintf(why + n, sizeof why - n, "%s%s", n ? "; " : "", hmq_entry_warning_str(bit));
      n = k > 0 && (size_t)k < sizeof why - n ? n + (size_t)k : sizeof why - 1;
    }
  }
  FILE *f = d->log ? d->log : stderr;
  if (d->warn_held) {
    fprintf(f, "hmq: warning: (%llu more warnings not shown)\n", (unsigned long long)d->warn_held);
    d->warn_held = 0;
  }
  fprintf(f, "hmq: warning: topic %.*s message_id %.*s: %s\n",
          (int)(topic_len > 200 ? 200 : topic_len), topic,
          (int)(env->message_id.len > 80 ? 80 : env->message_id.len), env->message_id.ptr, why);
}

hmq_status hmq_deliver_message(hmq_deliver *d, uint64_t seq, const char *topic, size_t topic_len,
                               const uint8_t *payload, size_t len, int dup_flag, uint64_t now_ms) {
  (void)dup_flag; /* dedupe is by message_id: DUP says nothing reliable */
  if (!d->open)
    return HMQ_ERR_STATE;
  if (d->err != HMQ_OK)
    return d->err;
  if (!payload && len)
    return HMQ_ERR_ARG;
  if (!topic)
    topic_len = 0;
  if (d->pend_count == d->pend_cap)
    return HMQ_ERR_FULL;
  if (d->db && !hmq_bsink_room(d->db, len))
    return HMQ_ERR_FULL; /* the database batch is full: commit first */
  size_t slot = (d->pend_head + d->pend_count) % d->pend_cap;
  d->seqs[slot] = seq;
  d->arrived[slot] = now_ms;
  d->pend_count++;
  d->stats.received++;

  hmq_envelope env;
  hmq_status st = hmq_envelope_parse(
      &d->parser, (const char *)(payload ? payload : (const uint8_t *)""), len, &env);
  if (st != HMQ_OK && d->format == HMQ_FORMAT_RAW && !d->db) {
    /* raw passes every payload through, envelope or not (nothing to
     * dedupe by without a message_id) */
    st = write_raw(d, payload, len);
    if (st != HMQ_OK)
      return sink_err(d, &d->out, "output");
    d->out_dirty = 1;
    d->stats.written++;
    return HMQ_OK;
  }
  if (st != HMQ_OK) {
    char why[300];
    (void)hmq_envelope_describe(&env, why, sizeof why, NULL);
    if (!why[0])
      snprintf(why, sizeof why, "%s", hmq_status_str(st));
    return hmq_deliver_dead_letter(d, why, topic, topic_len, payload, len, now_ms);
  }
  uint64_t h = hmq_dedupe_hash_id(env.message_id.ptr, env.message_id.len);
  if (hmq_dedupe_contains(&d->set, h)) {
    d->stats.duplicates++;
    return HMQ_OK;
  }
  unsigned entry_warn = 0;
  if (d->db) {
    entry_warn = survey(d, &env, now_ms);
    st = hmq_deliver_db_put(d, &env, topic, topic_len, payload, len, now_ms);
  } else if (d->format == HMQ_FORMAT_RAW) {
    entry_warn = survey(d, &env, now_ms);
    st = write_raw(d, payload, len);
  } else if (len + HMQ_DELIVER_LINE_SLACK > d->out.cap) {
    return hmq_deliver_dead_letter(
        d, "payload larger than the sink buffer (raise the maximum message size)", topic, topic_len,
        payload, len, now_ms);
  } else if (d->format == HMQ_FORMAT_FLAT) {
    size_t lines = 0, limit = len * HMQ_DELIVER_FLAT_RATIO + HMQ_DELIVER_FLAT_FLOOR;
    if (flat_size_bound(&env, limit) > limit)
      return hmq_deliver_dead_letter(d,
                                     "flat lines would take more than 16 times the payload "
                                     "(its names repeated on every line): not written as flat",
                                     topic, topic_len, payload, len, now_ms);
    st = write_flat(d, &env, len, now_ms, &entry_warn, &lines);
    if (st == HMQ_OK && lines == 0) /* written or dead-lettered, never dropped */
      return hmq_deliver_dead_letter(
          d, "no readings to write as flat lines (data is empty or holds only skipped shapes)",
          topic, topic_len, payload, len, now_ms);
  } else {
    entry_warn = survey(d, &env, now_ms);
    st = write_envelope(d, &env, len);
  }
  if (st == HMQ_OK && (env.warnings || entry_warn)) {
    d->stats.warnings++;
    if (d->verbose)
      log_warning(d, &env, entry_warn, topic, topic_len, now_ms);
  }
  if (st != HMQ_OK) {
    if (d->out.err != HMQ_OK)
      return sink_err(d, &d->out, "output");
    return set_err(d, st, "formatting message_id %.*s: %s",
                   (int)(env.message_id.len > 80 ? 80 : env.message_id.len), env.message_id.ptr,
                   hmq_status_str(st));
  }
  (void)hmq_dedupe_insert(&d->set, h);
  d->staged[d->staged_count++] = h;
  d->out_dirty = 1;
  d->stats.written++;
  return HMQ_OK;
}

/* Make everything written so far durable, in the order that keeps the
 * dedupe log from ever naming a line that is not on disk: dead-letter, sink,
 * then the log. */
static hmq_status sync_all(hmq_deliver *d) {
  if (d->err != HMQ_OK)
    return d->err;
  if (d->crash == HMQ_DELIVER_CRASH_BEFORE_SINK)
    return set_err(d, HMQ_ERR_IO, "simulated crash before the sink write");
  /* The database first: the messages it refuses become dead-letter lines,
   * synced below with the rest. Not reachable now: nothing is acked, the
   * batch stays, the caller retries (not sticky). */
  if (d->db && hmq_bsink_batched(d->db) > 0 && hmq_deliver_db_commit(d) != HMQ_OK)
    return HMQ_WANT_WRITE;
  if (d->dead_dirty) {
    if (hmq_sink_commit(&d->dead) != HMQ_OK)
      return sink_err(d, &d->dead, "dead-letter");
    d->dead_dirty = 0;
  }
  if (d->out_dirty || hmq_sink_buffered(&d->out)) {
    if (hmq_sink_commit(&d->out) != HMQ_OK)
      return sink_err(d, &d->out, "output");
    d->out_dirty = 0;
  } else if (d->out.kind == HMQ_SINK_EXEC && hmq_sink_commit(&d->out) != HMQ_OK) {
    return sink_err(d, &d->out, "output"); /* a dead child fails even an empty batch */
  }
  if (d->crash == HMQ_DELIVER_CRASH_AFTER_SINK_SYNC)
    return set_err(d, HMQ_ERR_IO, "simulated crash after the sink sync");
  int file = d->out.kind == HMQ_SINK_FILE;
  if (hmq_dstore_append(&d->store, &d->set, d->staged, d->staged_count, file ? d->out.dev : 0,
                        file ? d->out.ino : 0, file ? d->out.size : 0) != HMQ_OK)
    return store_err(d);
  d->staged_count = 0;
  return HMQ_OK;
}

static uint64_t wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t since(uint64_t now, uint64_t t) {
  return now > t ? now - t : 0;
}

/* Receive -> written for the messages whose lines just went to write(). */
static void lat_written(hmq_deliver *d) {
  if (d->flushed >= d->pend_count)
    return;
  uint64_t now = wall_now();
  for (size_t i = d->flushed; i < d->pend_count; i++)
    hmq_stats_latency(&d->stats, HMQ_STATS_LAT_WRITTEN,
                      since(now, d->arrived[(d->pend_head + i) % d->pend_cap]));
  d->flushed = d->pend_count;
}

/* Every pending message is durable now (the synchronous commit). */
static void all_ready(hmq_deliver *d) {
  lat_written(d);
  d->ready = d->sealed = d->flushed = d->pend_count;
  d->stats.commits++;
}

/* Hand up to cap durable seqs back, oldest first. */
static void pop_ready(hmq_deliver *d, uint64_t *seqs_out, size_t cap, size_t *n_out) {
  size_t n = d->ready < cap ? d->ready : cap;
  uint64_t now = n ? wall_now() : 0;
  for (size_t i = 0; i < n; i++) {
    seqs_out[i] = d->seqs[d->pend_head];
    hmq_stats_latency(&d->stats, HMQ_STATS_LAT_ACKED, since(now, d->arrived[d->pend_head]));
    d->pend_head = (d->pend_head + 1) % d->pend_cap;
  }
  d->pend_count -= n;
  d->ready -= n;
  d->sealed -= n;
  d->flushed -= n;
  /* Empty ring: start over at slot 0, so only the first (largest batch)
   * slots of seqs/arrived are ever touched instead of all pend_cap (65535
   * per connection, 1 MB of resident memory otherwise). */
  if (d->pend_count == 0)
    d->pend_head = 0;
  *n_out = n;
}

/* --- asynchronous commit (file sinks) ---------------------------------------
 * Lines go to write() as they come (hmq_deliver_flush); a sealed batch's
 * fdatasync runs on the sync thread (syncer.h) while the loop reads on; when
 * it completed, the dedupe log gets the batch's record (so the log still
 * never names a line that is not durable) and its seqs become ready. The
 * log's own lazy sync joins a job at most once a second. */

static hmq_status flush_lines(hmq_deliver *d) {
  if (d->err != HMQ_OK)
    return d->err;
  if (hmq_sink_buffered(&d->dead) && hmq_sink_flush(&d->dead) != HMQ_OK)
    return sink_err(d, &d->dead, "dead-letter");
  if (hmq_sink_buffered(&d->out) && hmq_sink_flush(&d->out) != HMQ_OK)
    return sink_err(d, &d->out, "output");
  lat_written(d);
  return HMQ_OK;
}

static uint64_t file_size(int fd, uint64_t fallback) {
  struct stat sb;
  return fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : fallback;
}

#define SEAL_DEAD 0
#define SEAL_OUT  1
#define SEAL_LOG  2

/* The sync thread's job finished (err_no 0: every fd synced). */
static hmq_status complete(hmq_deliver *d, int err_no, size_t failed) {
  if (err_no) {
    int kind = failed < d->seal_nfd ? d->seal_fd_kind[failed] : SEAL_OUT;
    if (kind == SEAL_LOG) {
      d->store.err_no = err_no;
      d->store.err_op = "fdatasync";
      return store_err(d);
    }
    hmq_sink *s = kind == SEAL_DEAD ? &d->dead : &d->out;
    (void)hmq_sink_fail(s, HMQ_ERR_IO, err_no, "fdatasync");
    return sink_err(d, s, kind == SEAL_DEAD ? "dead-letter" : "output");
  }
  for (size_t i = 0; i < d->seal_nfd; i++) {
    if (d->seal_fd_kind[i] == SEAL_DEAD)
      hmq_sink_synced(&d->dead, d->seal_dead_size);
    else if (d->seal_fd_kind[i] == SEAL_OUT)
      hmq_sink_synced(&d->out, d->seal_size);
    else
      hmq_dstore_synced(&d->store, d->seal_records);
  }
  d->seal_nfd = 0;
  if (d->seal_db) {
    int refused = 0;
    if (hmq_deliver_db_stored(d, (hmq_status)hmq_syncer_result(&d->sy), &refused) != HMQ_OK)
      return HMQ_WANT_WRITE; /* not stored: the batch stays sealed, nothing is ready */
    d->seal_db = 0;
    if (refused) /* their dead-letter lines, durable before the batch's PUBACKs */
      d->seal_dead_commit = 1;
  }
  if (d->seal_dead_commit) {
    /* dead-letter lines that the thread cannot make durable: refused rows,
     * or a dead-letter pipe or terminal (committed means written, and for
     * a pipe read out by its reader: sink.h) */
    if (hmq_sink_commit(&d->dead) != HMQ_OK)
      return sink_err(d, &d->dead, "dead-letter");
    d->dead_dirty = 0;
    d->seal_dead_commit = 0;
  }
  if (d->crash == HMQ_DELIVER_CRASH_AFTER_SINK_SYNC)
    return set_err(d, HMQ_ERR_IO, "simulated crash after the sink sync");
  if (hmq_dstore_append(&d->store, &d->set, d->staged, d->staged_sealed, d->out.dev, d->out.ino,
                        d->out.size) != HMQ_OK)
    return store_err(d);
  memmove(d->staged, d->staged + d->staged_sealed,
          (d->staged_count - d->staged_sealed) * sizeof d->staged[0]);
  d->staged_count -= d->staged_sealed;
  d->staged_sealed = 0;
  d->ready = d->sealed;
  d->stats.commits++;
  return HMQ_OK;
}

/* The sync thread's job for a database sink: store its sealed batch. */
static int db_store(void *arg) {
  return (int)hmq_bsink_store(arg);
}

/* Seal what arrived since the last batch and start its sync (and, with a
 * database, the store of its messages first). A database batch that did
 * not go through is retried alone: nothing joins it until it is stored. */
static hmq_status seal(hmq_deliver *d) {
  int fds[HMQ_SYNCER_FDS];
  size_t n = 0;
  if (d->err != HMQ_OK)
    return d->err;
  if (d->sy.busy)
    return HMQ_WANT_READ;
  if (d->crash == HMQ_DELIVER_CRASH_BEFORE_SINK)
    return set_err(d, HMQ_ERR_IO, "simulated crash before the sink write");
  hmq_status st = flush_lines(d);
  if (st != HMQ_OK)
    return st;
  if (d->seal_db) { /* its dead-letter lines were synced with the first attempt */
    d->seal_nfd = 0;
    if (hmq_syncer_start_fn(&d->sy, db_store, d->db, NULL, 0) != HMQ_OK)
      return set_err(d, HMQ_ERR_IO, "sync thread refused a job");
    return HMQ_OK;
  }
  if (d->sealed == d->pend_count && !d->dead_dirty && !d->out_dirty)
    return HMQ_OK;
  if (d->dead_dirty && d->dead.sync) {
    d->seal_dead_size = file_size(d->dead.fd, d->dead.size);
    d->seal_fd_kind[n] = SEAL_DEAD;
    fds[n++] = d->dead.fd;
  } else if (d->dead_dirty) {
    d->seal_dead_commit = 1; /* at completion, on this thread */
  }
  if (d->out_dirty && !d->db) {
    d->seal_size = file_size(d->out.fd, d->out.size);
    d->seal_fd_kind[n] = SEAL_OUT;
    fds[n++] = d->out.fd;
  }
  if (hmq_dstore_sync_due(&d->store)) {
    d->seal_records = d->store.records;
    d->seal_fd_kind[n] = SEAL_LOG;
    fds[n++] = d->store.fd;
  }
  d->dead_dirty = d->out_dirty = 0;
  d->sealed = d->pend_count;
  d->staged_sealed = d->staged_count;
  d->seal_nfd = n;
  d->seal_db = d->db && hmq_bsink_seal(d->db) > 0;
  if (n == 0 && !d->seal_db)
    return complete(d, 0, 0); /* only duplicates (or lines for this thread): nothing to sync */
  if (hmq_syncer_start_fn(&d->sy, d->seal_db ? db_store : NULL, d->db, fds, n) != HMQ_OK)
    return set_err(d, HMQ_ERR_IO, "sync thread refused a job");
  return HMQ_OK;
}

/* Wait for the sync in flight, if any. */
static hmq_status finish(hmq_deliver *d) {
  int e = 0;
  size_t f = 0;
  if (d->sy.busy && hmq_syncer_poll(&d->sy, 1, &e, &f))
    return complete(d, e, f);
  return d->err;
}

/* Everything taken so far durable, now (commit, reopen). */
static hmq_status durable_all(hmq_deliver *d) {
  if (!d->async) {
    hmq_status st = sync_all(d);
    if (st == HMQ_OK)
      all_ready(d);
    return st;
  }
  /* the job in flight; then a database batch that did not go through
   * (retried alone); then the rest */
  hmq_status st = finish(d);
  for (int round = 0; st == HMQ_OK && round < 2; round++) {
    if (d->ready == d->pend_count && !d->seal_db && !d->dead_dirty && !d->out_dirty)
      break;
    st = seal(d);
    if (st == HMQ_OK)
      st = finish(d);
  }
  return st;
}

hmq_status hmq_deliver_commit(hmq_deliver *d, uint64_t *seqs_out, size_t cap, size_t *n_out) {
  if (n_out)
    *n_out = 0;
  if (!d->open)
    return HMQ_ERR_STATE;
  if (!n_out || (cap && !seqs_out))
    return HMQ_ERR_ARG;
  hmq_status st = durable_all(d);
  if (st != HMQ_OK)
    return st;
  pop_ready(d, seqs_out, cap, n_out);
  return HMQ_OK;
}

hmq_status hmq_deliver_flush(hmq_deliver *d) {
  if (!d->open)
    return HMQ_ERR_STATE;
  return flush_lines(d);
}

hmq_status hmq_deliver_start(hmq_deliver *d) {
  if (!d->open)
    return HMQ_ERR_STATE;
  if (!d->async)
    return durable_all(d);
  return seal(d);
}

hmq_status hmq_deliver_collect(hmq_deliver *d, uint64_t *seqs_out, size_t cap, size_t *n_out) {
  if (n_out)
    *n_out = 0;
  if (!d->open)
    return HMQ_ERR_STATE;
  if (!n_out || (cap && !seqs_out))
    return HMQ_ERR_ARG;
  if (d->err != HMQ_OK)
    return d->err;
  int e = 0;
  size_t f = 0;
  if (d->async && d->sy.busy && hmq_syncer_poll(&d->sy, 0, &e, &f)) {
    hmq_status st = complete(d, e, f);
    if (st != HMQ_OK)
      return st;
  }
  pop_ready(d, seqs_out, cap, n_out);
  return HMQ_OK;
}

int hmq_deliver_syncing(const hmq_deliver *d) {
  return d->open && d->async && d->sy.busy;
}

size_t hmq_deliver_unsealed(const hmq_deliver *d) {
  return d->pend_count - d->sealed;
}

uint64_t hmq_deliver_unsealed_oldest_ms(const hmq_deliver *d) {
  return d->pend_count > d->sealed ? d->arrived[(d->pend_head + d->sealed) % d->pend_cap] : 0;
}

size_t hmq_deliver_buffered(const hmq_deliver *d) {
  return hmq_sink_buffered(&d->out) + hmq_sink_buffered(&d->dead);
}

int hmq_deliver_done_fd(const hmq_deliver *d) {
  return d->open && d->async ? hmq_syncer_fd(&d->sy) : -1;
}

void hmq_deliver_test_hold(hmq_deliver *d, int hold) {
  hmq_syncer_hold(&d->sy, hold);
}

int hmq_deliver_watch_fd(const hmq_deliver *d) {
  return d->open ? hmq_sink_watch_fd(&d->out) : -1;
}

hmq_status hmq_deliver_check(hmq_deliver *d) {
  if (!d->open)
    return HMQ_ERR_STATE;
  if (d->err != HMQ_OK)
    return d->err;
  if (hmq_sink_check(&d->out) != HMQ_OK)
    return sink_err(d, &d->out, "output");
  return HMQ_OK;
}

hmq_status hmq_deliver_reopen(hmq_deliver *d) {
  char err[300];
  if (!d->open)
    return HMQ_ERR_STATE;
  hmq_status st = durable_all(d);
  if (st != HMQ_OK)
    return st;
  /* A path that cannot be opened again is not fatal: writing goes on into
   * the old file; the reason is left in errmsg (not sticky) for the caller. */
  d->errmsg[0] = 0;
  if (d->dead.kind == HMQ_SINK_FILE && hmq_sink_reopen(&d->dead, err, sizeof err) != HMQ_OK) {
    if (d->dead.err != HMQ_OK)
      return sink_err(d, &d->dead, "dead-letter");
    snprintf(d->errmsg, sizeof d->errmsg, "dead-letter: %s (still writing to the old file)", err);
  }
  if (d->out.kind != HMQ_SINK_FILE)
    return d->errmsg[0] ? HMQ_ERR_FILE : HMQ_OK;
  st = hmq_sink_reopen(&d->out, err, sizeof err);
  if (st != HMQ_OK && d->out.err != HMQ_OK)
    return sink_err(d, &d->out, "output");
  if (st != HMQ_OK)
    snprintf(d->errmsg, sizeof d->errmsg, "%s (still writing to the old file)", err);
  /* Record the new file, so a restart rescans it from here; synced now,
   * since the old file is out of the rescan's reach from here on. */
  if (hmq_dstore_append(&d->store, &d->set, NULL, 0, d->out.dev, d->out.ino, d->out.size) !=
          HMQ_OK ||
      hmq_dstore_sync(&d->store) != HMQ_OK)
    return store_err(d);
  return d->errmsg[0] ? HMQ_ERR_FILE : HMQ_OK;
}
