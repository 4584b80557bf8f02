/* SPDX-License-Identifier: MIT */
/*
 * Dedupe persistence: snapshot + append-only commit log in the state dir.
 *
 * Why a log written after the sink's fdatasync: the broker redelivers every
 * message we did not PUBACK (MQTT 5.0 4.4, persistent session), and after a
 * restart we must drop those already in the sink — but never drop one that
 * is not. So an id may only become persistent once the line carrying it is
 * durable: the log record is written and synced strictly after the sink.
 * The window between the two syncs is covered at the next start: on the
 * same boot by cutting the sink file back to the position the last record
 * gives (nothing after it was acknowledged), otherwise by rescanning it
 * from there (dedupe_store.h).
 */
#include "pipeline/dedupe_store.h"
#include "pipeline/jskip.h"
#include "hmq/envelope.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HMQ_DS_REC_HEAD  32u
#define HMQ_DS_REC_MAGIC "HMQB"
/* With no usable record, how much of the sink file's end to rescan. */
#define HMQ_DS_SCAN_LIMIT ((uint64_t)64 * 1024 * 1024)

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (p) {
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
  }
  return p;
}

/* Remember what failed, for the caller's message; returns -1. */
static int ds_fail(hmq_dstore *s, const char *op) {
  s->err_no = errno;
  s->err_op = op;
  return -1;
}

static int ds_write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int ds_sync(int fd) {
  while (fdatasync(fd) != 0) {
    if (errno != EINTR)
      return -1;
  }
  return 0;
}

/* Read a whole small file into a fresh buffer (open-time only). */
static uint8_t *slurp(int fd, size_t *len) {
  struct stat st;
  *len = 0;
  if (fstat(fd, &st) != 0 || st.st_size < 0)
    return NULL;
  size_t n = (size_t)st.st_size;
  uint8_t *b = malloc(n ? n : 1);
  if (!b)
    return NULL;
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(fd, b + got, n - got, (off_t)got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    got += (size_t)k;
  }
  *len = got;
  return b;
}

/* This boot's id ("" when the system does not say): the kernel makes a new
 * random one at every boot. */
static void read_boot_id(const char *path, char *out, size_t cap) {
  out[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;
  ssize_t k = read(fd, out, cap - 1);
  close(fd);
  if (k <= 0)
    k = 0;
  out[k] = 0;
  out[strcspn(out, "\n")] = 0;
}

/* Whether b[0, n) could be the start of a file of ours with this magic:
 * empty, or beginning with (a prefix of) it. */
static int starts_with_magic(const uint8_t *b, size_t n, const char *magic) {
  return memcmp(b, magic, n < 4 ? n : 4) == 0;
}

static int all_zero(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return 0;
  return 1;
}

/* Set aside a damaged file's bytes as <path>.damaged before it is cut or
 * replaced; "" on success, else why not. */
static const char *set_aside(const char *path, const uint8_t *b, size_t n) {
  size_t l = strlen(path);
  char *p = malloc(l + 9);
  if (!p)
    return "out of memory";
  memcpy(p, path, l);
  memcpy(p + l, ".damaged", 9);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  free(p);
  if (fd < 0)
    return strerror(errno);
  int bad = ds_write_all(fd, b, n) != 0 || ds_sync(fd) != 0;
  const char *why = bad ? strerror(errno) : "";
  close(fd);
  return why;
}

/* A snapshot is written whole (temp file, fdatasync, rename): one that does
 * not import was damaged after it was written, or is another program's. */
static hmq_status load_snapshot(hmq_dstore *s, hmq_dedupe *set, char *err, size_t errlen) {
  int fd = open(s->snap_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return HMQ_OK;
  size_t n;
  uint8_t *b = slurp(fd, &n);
  close(fd);
  if (!b)
    return HMQ_OK; /* unreadable: the log still restores what it holds */
  hmq_status st = HMQ_OK;
  if (!starts_with_magic(b, n, "HMQD")) {
    snprintf(err, errlen,
             "%s is not an hmq dedupe snapshot (it does not begin with \"HMQD\"): left as it "
             "is; move it away or give another --state-dir",
             s->snap_path);
    st = HMQ_ERR_FILE;
  } else if (hmq_dedupe_import(set, b, n) != HMQ_OK) {
    const char *why = set_aside(s->snap_path, b, n);
    snprintf(s->note, sizeof s->note,
             "%s: damaged (%zu bytes, length or checksum wrong): ignored%s%s; the ids it held are "
             "forgotten (the log still restores the later ones)",
             s->snap_path, n, *why ? ", could not be set aside: " : ", set aside as .damaged", why);
    fprintf(stderr, "hmq: warning: %s\n", s->note);
  }
  free(b);
  return st;
}

/* Replay the log's records into the set; returns the length of the valid
 * prefix (a torn or corrupt tail is cut off by the caller). */
uint64_t hmq_dstore_replay(hmq_dstore *s, hmq_dedupe *set, const uint8_t *b, size_t n) {
  size_t at = 0;
  while (n - at >= HMQ_DS_REC_HEAD + 8) {
    const uint8_t *r = b + at;
    if (memcmp(r, HMQ_DS_REC_MAGIC, 4) != 0)
      break;
    uint64_t count =
        (uint64_t)r[4] | (uint64_t)r[5] << 8 | (uint64_t)r[6] << 16 | (uint64_t)r[7] << 24;
    if (count > (n - at - HMQ_DS_REC_HEAD - 8) / 8)
      break;
    size_t body = HMQ_DS_REC_HEAD + (size_t)count * 8;
    if (get_u64(r + body) != hmq_dedupe_hash((const char *)r, body))
      break;
    for (uint64_t i = 0; i < count; i++)
      (void)hmq_dedupe_insert(set, get_u64(r + HMQ_DS_REC_HEAD + i * 8));
    s->has_pos = 1;
    s->dev = get_u64(r + 8);
    s->ino = get_u64(r + 16);
    s->off = get_u64(r + 24);
    s->log_hashes += count;
    at += body + 8;
  }
  return at;
}

/* Whether the bytes after the log's intact records are what a crash
 * leaves: the beginning of one record cut short (an append that did not
 * finish: a full disk, a power cut), or zero bytes (a system crash can
 * leave a file longer than the data that reached the disk). */
static int torn_tail(const uint8_t *r, size_t n) {
  if (all_zero(r, n))
    return 1;
  if (n < 4)
    return memcmp(r, HMQ_DS_REC_MAGIC, n) == 0;
  if (memcmp(r, HMQ_DS_REC_MAGIC, 4) != 0)
    return 0;
  if (n < HMQ_DS_REC_HEAD + 8)
    return 1;
  uint64_t count =
      (uint64_t)r[4] | (uint64_t)r[5] << 8 | (uint64_t)r[6] << 16 | (uint64_t)r[7] << 24;
  return count > (n - HMQ_DS_REC_HEAD - 8) / 8; /* the record is longer than what is there */
}

hmq_status hmq_dstore_open(hmq_dstore *s, const char *dir, hmq_dedupe *set, size_t max_batch,
                           char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->fd = -1;
  if (!dir || !*dir)
    return HMQ_OK;
  if (max_batch < 1024)
    max_batch = 1024;
  s->rec_max = max_batch;
  s->rec_cap = HMQ_DS_REC_HEAD + 8 * max_batch + 8;
  s->exp_cap = 20 + 8 * set->capacity; /* hmq_dedupe_export of a full set */
  s->log_path = join(dir, "dedupe.log");
  s->snap_path = join(dir, "dedupe.snap");
  s->tmp_path = join(dir, "dedupe.snap.tmp");
  s->boot_path = join(dir, "dedupe.boot");
  s->rec = malloc(s->rec_cap);
  s->exp = malloc(s->exp_cap);
  if (!s->log_path || !s->snap_path || !s->tmp_path || !s->boot_path || !s->rec || !s->exp) {
    snprintf(err, errlen, "out of memory");
    hmq_dstore_close(s);
    return HMQ_ERR_IO;
  }
  (void)mkdir(dir, 0700);
  s->fd = open(s->log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (s->fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", s->log_path, strerror(errno));
    hmq_dstore_close(s);
    return HMQ_ERR_FILE;
  }
  if (load_snapshot(s, set, err, errlen) != HMQ_OK) {
    hmq_dstore_close(s);
    return HMQ_ERR_FILE;
  }
  size_t n;
  uint8_t *b = slurp(s->fd, &n);
  if (!b) {
    snprintf(err, errlen, "cannot read %s: %s", s->log_path, strerror(errno));
    hmq_dstore_close(s);
    return HMQ_ERR_IO;
  }
  if (!starts_with_magic(b, n, HMQ_DS_REC_MAGIC) && !all_zero(b, n)) {
    /* Not a log of ours at all: another program's file. Cutting it (as a
     * damaged log is) would destroy it; starting without it is not ours to
     * decide. */
    snprintf(err, errlen,
             "%s is not an hmq dedupe log (it does not begin with \"HMQB\"): left as it is; "
             "move it away or give another --state-dir",
             s->log_path);
    free(b);
    hmq_dstore_close(s);
    return HMQ_ERR_FILE;
  }
  s->log_size = hmq_dstore_replay(s, set, b, n);
  if (s->log_size != n && !torn_tail(b + s->log_size, (size_t)(n - s->log_size))) {
    /* Not what a crash leaves: a record in the middle is damaged. The
     * records after it are lost, so the last intact one's position is not
     * where the last commit ended: --out must not be cut back to it (that
     * would drop acknowledged lines) but rescanned from it (same_boot off),
     * which learns the lost ids again. */
    const uint8_t *r = b + s->log_size;
    const char *why = set_aside(s->log_path, b, n);
    snprintf(s->note, sizeof s->note,
             "%s: damaged at byte %llu of %zu (%s): the records from there are dropped%s%s; the "
             "output is rescanned from the last intact record instead of cut back to it",
             s->log_path, (unsigned long long)s->log_size, n,
             memcmp(r, HMQ_DS_REC_MAGIC, 4) != 0 ? "no record begins there"
                                                 : "a record whose checksum does not match",
             *why ? ", could not be set aside: " : " (the whole file is kept as .damaged)", why);
    fprintf(stderr, "hmq: warning: %s\n", s->note);
    s->damaged = 1;
  }
  free(b);
  if (s->log_size != n) {
    /* A crash mid-append left a partial record (or a damaged part, set
     * aside above): drop it so new records follow the last good one. */
    if (ftruncate(s->fd, (off_t)s->log_size) != 0 || ds_sync(s->fd) != 0) {
      snprintf(err, errlen, "cannot repair %s: %s", s->log_path, strerror(errno));
      hmq_dstore_close(s);
      return HMQ_ERR_IO;
    }
  }
  s->restored = set->count;
  char last[sizeof s->boot];
  read_boot_id("/proc/sys/kernel/random/boot_id", s->boot, sizeof s->boot);
  read_boot_id(s->boot_path, last, sizeof last);
  s->same_boot = s->boot[0] && strcmp(s->boot, last) == 0 && !s->damaged;
  return HMQ_OK;
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sync the log now, or (lazy mode) at most once per HMQ_DSTORE_LAZY_MS.
 * Lazy is safe only where the sink file can be rescanned: a record lost to
 * a power cut then just means a longer rescan from an older position,
 * while a record can never name a line that is not durable, because it is
 * written only after the sink's fdatasync. */
static int log_sync(hmq_dstore *s, int force) {
  uint64_t now = mono_ms();
  if (!force && s->lazy_sync && (s->defer_sync || now - s->last_sync_ms < HMQ_DSTORE_LAZY_MS)) {
    s->unsynced = 1;
    return 0;
  }
  s->syncs++;
  if (ds_sync(s->fd) != 0)
    return ds_fail(s, "fdatasync");
  s->last_sync_ms = now;
  s->unsynced = 0;
  return 0;
}

static hmq_status write_record(hmq_dstore *s, size_t n, uint64_t dev, uint64_t ino, uint64_t off) {
  uint8_t *r = s->rec;
  memcpy(r, HMQ_DS_REC_MAGIC, 4);
  r[4] = (uint8_t)n;
  r[5] = (uint8_t)(n >> 8);
  r[6] = (uint8_t)(n >> 16);
  r[7] = (uint8_t)(n >> 24);
  put_u64(r + 8, dev);
  put_u64(r + 16, ino);
  put_u64(r + 24, off);
  size_t body = HMQ_DS_REC_HEAD + n * 8;
  put_u64(r + body, hmq_dedupe_hash((const char *)r, body));
  if (ds_write_all(s->fd, r, body + 8) != 0) {
    (void)ds_fail(s, "write");
    return HMQ_ERR_IO;
  }
  if (log_sync(s, 0) != 0)
    return HMQ_ERR_IO;
  s->records++;
  s->log_size += body + 8;
  s->log_hashes += n;
  s->has_pos = 1;
  s->dev = dev;
  s->ino = ino;
  s->off = off;
  return HMQ_OK;
}

/* Rewrite: snapshot of the whole set, then a log holding only the sink
 * position. A crash between the rename and the truncate only replays ids
 * the snapshot already has. */
static hmq_status compact(hmq_dstore *s, const hmq_dedupe *set) {
  size_t len;
  if (hmq_dedupe_export(set, s->exp, s->exp_cap, &len) != HMQ_OK)
    return HMQ_OK; /* cannot happen with exp sized for capacity; keep the log */
  int fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    (void)ds_fail(s, "open snapshot");
    return HMQ_ERR_IO;
  }
  int bad = ds_write_all(fd, s->exp, len) != 0 || ds_sync(fd) != 0;
  if (bad)
    (void)ds_fail(s, "write snapshot");
  bad |= close(fd) != 0;
  if (bad || rename(s->tmp_path, s->snap_path) != 0) {
    if (!s->err_op)
      (void)ds_fail(s, "rename snapshot");
    return HMQ_ERR_IO;
  }
  if (ftruncate(s->fd, 0) != 0) {
    (void)ds_fail(s, "ftruncate");
    return HMQ_ERR_IO;
  }
  s->log_size = 0;
  s->log_hashes = 0;
  hmq_status st = write_record(s, 0, s->dev, s->ino, s->off);
  if (st == HMQ_OK && log_sync(s, 1) != 0)
    st = HMQ_ERR_IO;
  return st;
}

hmq_status hmq_dstore_append(hmq_dstore *s, const hmq_dedupe *set, const uint64_t *h, size_t n,
                             uint64_t dev, uint64_t ino, uint64_t off) {
  if (s->fd < 0)
    return HMQ_OK;
  if (n > s->rec_max)
    return HMQ_ERR_ARG;
  if (n == 0 && s->has_pos && s->dev == dev && s->ino == ino && s->off == off)
    return HMQ_OK; /* nothing new: no write, no sync */
  for (size_t i = 0; i < n; i++)
    put_u64(s->rec + HMQ_DS_REC_HEAD + i * 8, h[i]);
  hmq_status st = write_record(s, n, dev, ino, off);
  if (st != HMQ_OK)
    return st;
  /* Past twice the set's capacity in ids, or (many small commits: each
   * record has 40 bytes of framing) past twice a full snapshot's bytes. */
  if (set->capacity > 0 && (s->log_hashes > 2 * (uint64_t)set->capacity ||
                            s->log_size > 2 * (uint64_t)s->exp_cap + 65536))
    return compact(s, set);
  return HMQ_OK;
}

/* --- finding the message_id of a sink line (our own output) ------------ */

static size_t skip_ws(const char *p, size_t i, size_t n) {
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
    i++;
  return i;
}

/* Whether the key p[0, n) (between its quotes) is "message_id" with its
 * escapes decoded, as the live filter's parser reads it: an envelope
 * written as it came may spell the key "message\u005fid". */
static int is_id_key(const char *p, size_t n) {
  char k[16];
  size_t kn = 0;
  hmq_str s = {p, n};
  if (n == 10)
    return memcmp(p, "message_id", 10) == 0;
  if (n < 10 || n > 60 || memchr(p, '\\', n) == NULL) /* 10 characters, 6 bytes each at most */
    return 0;
  return hmq_json_unescape(s, k, sizeof k, &kn) == HMQ_OK && kn == 10 &&
         memcmp(k, "message_id", 10) == 0;
}

int hmq_dstore_line_id(const char *p, size_t n, const char **id, size_t *id_len) {
  size_t i = skip_ws(p, 0, n);
  if (i >= n || p[i] != '{')
    return -1;
  i++;
  for (;;) {
    i = skip_ws(p, i, n);
    if (i >= n || p[i] != '"')
      return -1;
    size_t k0 = i + 1;
    i = hmq_jskip_string(p, i, n);
    if (i >= n)
      return -1;
    size_t klen = i - 1 - k0;
    i = skip_ws(p, i, n);
    if (i >= n || p[i] != ':')
      return -1;
    i = skip_ws(p, i + 1, n);
    if (i >= n)
      return -1;
    if (is_id_key(p + k0, klen)) {
      if (p[i] != '"')
        return -1;
      size_t end = hmq_jskip_string(p, i, n);
      if (end > n || p[end - 1] != '"' || end - 1 <= i + 1)
        return -1;
      *id = p + i + 1;
      *id_len = end - 1 - (i + 1);
      return 0;
    }
    i = skip_ws(p, hmq_jskip_value(p, i, n), n);
    if (i >= n || p[i] != ',')
      return -1;
    i++;
  }
}

/* The scan state of hmq_dstore_recover: ids of complete lines, grouped
 * into messages (multi_line: consecutive lines with the same id). */
typedef struct ds_scan {
  hmq_dstore *s;
  hmq_dedupe *set;
  uint64_t dev, ino, start;
  int multi_line;
  int have_group;    /* a message is open: its id in group_h */
  uint64_t group_h;  /* hash of the open message's id */
  uint64_t group_at; /* file offset of its first line */
  size_t nh;         /* hashes in s->rec not yet logged */
} ds_scan;

/* A message is known complete: count it as delivered. */
static int scan_take(ds_scan *sc, uint64_t h) {
  hmq_dstore *s = sc->s;
  if (hmq_dedupe_insert(sc->set, h))
    return 0;
  put_u64(s->rec + HMQ_DS_REC_HEAD + sc->nh * 8, h);
  s->scanned++;
  if (++sc->nh == s->rec_max) {
    /* Interim record keeps the old position: the recovery is not done. */
    if (write_record(s, sc->nh, sc->dev, sc->ino, sc->start) != HMQ_OK)
      return -1;
    sc->nh = 0;
  }
  return 0;
}

/* One complete line at file offset `at` (id_ok: it has a message_id). A
 * single-line message is complete at once; a multi-line one when a line of
 * another message follows it. */
static int scan_line(ds_scan *sc, uint64_t at, int id_ok, uint64_t h) {
  if (!sc->multi_line)
    return id_ok ? scan_take(sc, h) : 0;
  if (sc->have_group && (!id_ok || h != sc->group_h)) {
    if (scan_take(sc, sc->group_h) != 0)
      return -1;
    sc->have_group = 0;
  }
  if (id_ok && !sc->have_group) {
    sc->have_group = 1;
    sc->group_h = h;
    sc->group_at = at;
  }
  return 0;
}

/* The id a line was deduplicated by when it was written. A flat line is
 * hmq's own ({"vin":…,"message_id":…,…}): its message_id member. An
 * envelope or raw line is the payload itself, and the live filter only
 * knew the id of a payload its parser accepted as an envelope (a raw line
 * may be any payload, passed through without dedupe): the same parser
 * decides here (parser != NULL), so the rescan learns exactly those ids.
 * A line it cannot hold (more tokens than it has) counts as no id. */
static uint64_t line_hash(hmq_envelope_parser *parser, const uint8_t *p, size_t n, int *ok) {
  const char *id;
  size_t id_len;
  if (parser) {
    hmq_envelope env;
    *ok = hmq_envelope_parse(parser, (const char *)p, n, &env) == HMQ_OK;
    return *ok ? hmq_dedupe_hash_id(env.message_id.ptr, env.message_id.len) : 0;
  }
  *ok = hmq_dstore_line_id((const char *)p, n, &id, &id_len) == 0;
  return *ok ? hmq_dedupe_hash_id(id, id_len) : 0;
}

/* Tokens for a line of up to `cap` bytes, as the pipeline's parser has for
 * a message (deliver_open.c: 6 bytes per token, + 256). */
#define HMQ_DS_BYTES_PER_TOKEN 6u

static hmq_status recover(hmq_dstore *s, hmq_dedupe *set, int fd, uint64_t dev, uint64_t ino,
                          uint64_t size, int multi_line, uint8_t *buf, size_t cap,
                          hmq_dstore_tail *tail, hmq_envelope_parser *parser) {
  tail->keep = size;
  tail->end_line = 0;
  s->scan_pending = 0;
  s->cut = 0;
  if (s->fd < 0) {
    /* No state dir: nothing is known about the file; only keep the next
     * line from gluing onto a torn one. */
    uint8_t last = '\n';
    if (size > 0 && pread(fd, &last, 1, (off_t)(size - 1)) != 1)
      return HMQ_ERR_IO;
    tail->end_line = last != '\n';
    return HMQ_OK;
  }
  int known = s->has_pos && s->dev == dev && s->ino == ino && s->off <= size;
  if (known && s->same_boot) {
    tail->keep = s->off;
    s->cut = size - s->off;
    return HMQ_OK;
  }
  ds_scan sc;
  memset(&sc, 0, sizeof sc);
  sc.s = s;
  sc.set = set;
  sc.dev = dev;
  sc.ino = ino;
  sc.multi_line = multi_line;
  if (known) {
    sc.start = s->off;
  } else {
    /* Unknown position (no record, another file, or this one truncated):
     * bounded rescan of the end of the file. */
    sc.start = size > HMQ_DS_SCAN_LIMIT ? size - HMQ_DS_SCAN_LIMIT : 0;
  }
  size_t fill = 0;
  int skipping = !known && sc.start > 0;    /* inside a line whose start we did not see */
  uint64_t pos = sc.start, base = sc.start; /* base: file offset of buf[0] */
  uint64_t line_at = sc.start;              /* file offset where the current line starts */
  while (pos < size) {
    size_t want = cap - fill;
    if ((uint64_t)want > size - pos)
      want = (size_t)(size - pos);
    ssize_t k = pread(fd, buf + fill, want, (off_t)pos);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return HMQ_ERR_IO;
    pos += (uint64_t)k;
    fill += (size_t)k;
    size_t at = 0;
    for (;;) {
      uint8_t *nl = memchr(buf + at, '\n', fill - at);
      if (!nl)
        break;
      size_t end = (size_t)(nl - buf);
      int ok = 0;
      uint64_t h = skipping ? 0 : line_hash(parser, buf + at, end - at, &ok);
      if (scan_line(&sc, line_at, ok, h) != 0)
        return HMQ_ERR_IO;
      skipping = 0;
      at = end + 1;
      line_at = base + at;
    }
    if (at == 0 && fill == cap) {
      skipping = 1; /* a line longer than the buffer: not ours to parse */
      base += fill;
      fill = 0;
    } else {
      memmove(buf, buf + at, fill - at);
      fill -= at;
      base += at;
    }
  }
  if (line_at < size) {
    /* A last line without '\n': torn by a crash or a full disk, never
     * committed (a commit writes whole messages). Its message is cut with
     * it when the file is known to be ours; otherwise the line is ended. */
    int ok = 0;
    uint64_t h = !skipping && fill > 0 ? line_hash(parser, buf, fill, &ok) : 0;
    if (!known) {
      tail->end_line = 1;
    } else if (sc.multi_line && sc.have_group && ok && h == sc.group_h) {
      tail->keep = sc.group_at; /* the torn line's earlier lines go too */
      sc.have_group = 0;
    } else {
      tail->keep = line_at;
    }
    if (sc.multi_line && sc.have_group && ok && h != sc.group_h) {
      if (scan_take(&sc, sc.group_h) != 0) /* another message followed it: complete */
        return HMQ_ERR_IO;
    }
  }
  /* A multi-line message still open here may lack lines: it stays in the
   * file, not counted as delivered (a redelivery writes it whole). */
  s->cut = size - tail->keep;
  s->scan_pending = sc.nh;
  return HMQ_OK;
}

hmq_status hmq_dstore_recover(hmq_dstore *s, hmq_dedupe *set, int fd, uint64_t dev, uint64_t ino,
                              uint64_t size, int multi_line, uint8_t *buf, size_t cap,
                              hmq_dstore_tail *tail) {
  /* Envelope and raw lines are read by the envelope parser (line_hash);
   * its token memory is only touched as far as the longest line needs. */
  hmq_envelope_parser parser;
  void *tok = NULL;
  if (!multi_line && s->fd >= 0) {
    size_t ntok = cap / HMQ_DS_BYTES_PER_TOKEN + 256;
    tok = malloc(ntok * HMQ_JSON_TOKEN_BYTES);
    if (!tok)
      return HMQ_ERR_IO;
    hmq_envelope_parser_init(&parser, tok, ntok * HMQ_JSON_TOKEN_BYTES);
  }
  hmq_status st =
      recover(s, set, fd, dev, ino, size, multi_line, buf, cap, tail, tok ? &parser : NULL);
  free(tok);
  return st;
}

hmq_status hmq_dstore_recovered(hmq_dstore *s, uint64_t dev, uint64_t ino, uint64_t size) {
  if (s->fd < 0)
    return HMQ_OK;
  size_t n = s->scan_pending;
  s->scan_pending = 0;
  if (write_record(s, n, dev, ino, size) != HMQ_OK || log_sync(s, 1) != 0)
    return HMQ_ERR_IO;
  /* From here on this boot's records describe the file: see the top. No
   * fdatasync: after a system crash the boot id differs anyway. */
  int fd = open(s->boot_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || ds_write_all(fd, (const uint8_t *)s->boot, strlen(s->boot)) != 0) {
    (void)ds_fail(s, "write dedupe.boot");
    if (fd >= 0)
      close(fd);
    return HMQ_ERR_IO;
  }
  close(fd);
  s->same_boot = s->boot[0] != 0;
  return HMQ_OK;
}

int hmq_dstore_sync_due(const hmq_dstore *s) {
  return s->fd >= 0 && s->unsynced && mono_ms() - s->last_sync_ms >= HMQ_DSTORE_LAZY_MS;
}

void hmq_dstore_synced(hmq_dstore *s, uint64_t records) {
  s->syncs++;
  s->last_sync_ms = mono_ms();
  if (s->records == records)
    s->unsynced = 0;
}

hmq_status hmq_dstore_sync(hmq_dstore *s) {
  if (s->fd < 0 || !s->unsynced)
    return HMQ_OK;
  return log_sync(s, 1) == 0 ? HMQ_OK : HMQ_ERR_IO;
}

void hmq_dstore_close(hmq_dstore *s) {
  if (!s)
    return;
  if (s->fd >= 0) {
    if (s->unsynced)
      (void)ds_sync(s->fd);
    close(s->fd);
  }
  s->fd = -1;
  free(s->log_path);
  free(s->snap_path);
  free(s->tmp_path);
  free(s->boot_path);
  free(s->rec);
  free(s->exp);
  s->log_path = s->snap_path = s->tmp_path = s->boot_path = NULL;
  s->rec = s->exp = NULL;
}
