/* SPDX-License-Identifier: MIT */
/*
 * Bounded FIFO set of message id hashes (see dedupe.h).
 *
 * Why hashes and not strings: High Mobility ids are 64 hex characters and
 * the set must hold hours of traffic; 8 bytes per id in the ring plus two
 * 8-byte table slots per id (load factor <= 1/2) is ~24 bytes instead of
 * ~100, and comparing one word needs no pointer chase.
 *
 * Why linear probing with backward-shift deletion: FIFO eviction deletes
 * as often as it inserts, and tombstones would slowly fill the table and
 * make lookups long; shifting the following cluster back keeps every
 * lookup as short as if the evicted id had never been there.
 */
#include <string.h>

#include "pipeline/dedupe.h"
#include "hmq/envelope.h"

#define RD64(p)                                                                                    \
  ((uint64_t)(p)[0] | (uint64_t)(p)[1] << 8 | (uint64_t)(p)[2] << 16 | (uint64_t)(p)[3] << 24 |    \
   (uint64_t)(p)[4] << 32 | (uint64_t)(p)[5] << 40 | (uint64_t)(p)[6] << 48 |                      \
   (uint64_t)(p)[7] << 56)

static const uint64_t K1 = 0x9E3779B97F4A7C15u; /* 2^64 / golden ratio */
static const uint64_t K2 = 0xC2B2AE3D27D4EB4Fu; /* odd, dense bit pattern */

static uint64_t finalize(uint64_t x) {
  x ^= x >> 31;
  x *= K2;
  x ^= x >> 29;
  x *= K1;
  x ^= x >> 32;
  return x;
}

/* Eight bytes at a time, read little endian so the value is the same on
 * every machine (exports are portable). Fixed forever: format version 1. */
uint64_t hmq_dedupe_hash(const char *id, size_t len) {
  const unsigned char *p = (const unsigned char *)id;
  uint64_t h = K1 ^ ((uint64_t)len * K2);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    h ^= RD64(p + i) * K2;
    h = (h << 27 | h >> 37) * K1;
  }
  if (i < len) {
    uint64_t w = 0;
    size_t k;
    for (k = 0; i + k < len; k++) {
      w |= (uint64_t)p[i + k] << (8 * k);
    }
    h ^= w * K2;
    h = (h << 27 | h >> 37) * K1;
  }
  h = finalize(h);
  return h == 0 ? 1 : h;
}

/* hmq_dedupe_hash fed in pieces: the same words, the same result. */
typedef struct hash_feed {
  uint64_t h, w;
  unsigned k; /* bytes in w */
} hash_feed;

static void feed(hash_feed *f, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    f->w |= (uint64_t)p[i] << (8 * f->k);
    if (++f->k == 8) {
      f->h ^= f->w * K2;
      f->h = (f->h << 27 | f->h >> 37) * K1;
      f->w = 0;
      f->k = 0;
    }
  }
}

/* Decoded in parts into a small buffer and hashed as it goes: any length
 * (the hash starts from the decoded length, which a first pass counts
 * without writing anything). */
uint64_t hmq_dedupe_hash_id(const char *id, size_t len) {
  char part[256];
  size_t n = 0, at = 0;
  hmq_str s = {id, len};
  if (id == NULL || memchr(id, '\\', len) == NULL)
    return hmq_dedupe_hash(id, len);
  hmq_status st = hmq_json_unescape(s, NULL, 0, &n);
  if (st != HMQ_OK && st != HMQ_ERR_NO_ROOM)
    return hmq_dedupe_hash(id, len); /* a malformed escape: the bytes as they are */
  hash_feed f = {K1 ^ ((uint64_t)n * K2), 0, 0};
  while (at < len) {
    size_t got = 0;
    if (hmq_json_unescape_part(s, &at, part, sizeof part, &got) != HMQ_OK)
      return hmq_dedupe_hash(id, len); /* not reached: the first pass decoded it */
    feed(&f, (const unsigned char *)part, got);
  }
  if (f.k > 0) {
    f.h ^= f.w * K2;
    f.h = (f.h << 27 | f.h >> 37) * K1;
  }
  uint64_t h = finalize(f.h);
  return h == 0 ? 1 : h;
}

static size_t table_size(size_t capacity) {
  size_t t = 2;
  while (t < 2 * capacity) {
    t *= 2;
  }
  return t;
}

size_t hmq_dedupe_mem_size(size_t capacity) {
  if (capacity > ((size_t)-1) / 64 || capacity > 0xFFFFFFFFu) {
    return 0;
  }
  /* + 8: slack for aligning an arbitrary pointer to uint64_t */
  return 8 * capacity + 8 * table_size(capacity) + 8;
}

static void setup(hmq_dedupe *set, void *mem, size_t mem_bytes, size_t capacity, int zeroed) {
  uintptr_t a = (uintptr_t)mem;
  size_t pad = (size_t)((8 - a % 8) % 8);
  memset(set, 0, sizeof *set);
  set->mask = 0;
  if (mem == NULL) {
    return;
  }
  if (hmq_dedupe_mem_size(capacity) == 0 || hmq_dedupe_mem_size(capacity) > mem_bytes) {
    /* Largest capacity that fits (mem_size is monotonic). */
    size_t lo = 0, hi = capacity;
    while (lo < hi) {
      size_t mid = lo + (hi - lo + 1) / 2;
      size_t need = hmq_dedupe_mem_size(mid);
      if (need != 0 && need <= mem_bytes) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    capacity = lo;
  }
  if (capacity == 0) {
    return;
  }
  /* The table first: on memory aligned to 2 MiB (dedupe_mem.h) it covers
   * exactly its own huge pages and the ring starts on the next one. */
  set->table = (uint64_t *)(void *)((char *)mem + pad);
  set->capacity = capacity;
  set->mask = table_size(capacity) - 1;
  set->ring = set->table + set->mask + 1;
  if (!zeroed) {
    memset(set->table, 0, 8 * (set->mask + 1));
  }
}

void hmq_dedupe_init(hmq_dedupe *set, void *mem, size_t mem_bytes, size_t capacity) {
  setup(set, mem, mem_bytes, capacity, 0);
}

void hmq_dedupe_init_zeroed(hmq_dedupe *set, void *mem, size_t mem_bytes, size_t capacity) {
  setup(set, mem, mem_bytes, capacity, 1);
}

static size_t slot_of(const hmq_dedupe *set, uint64_t h) {
  size_t i = (size_t)h & set->mask;
  while (set->table[i] != 0 && set->table[i] != h) {
    i = (i + 1) & set->mask;
  }
  return i;
}

int hmq_dedupe_contains(const hmq_dedupe *set, uint64_t hash) {
  if (set == NULL || set->capacity == 0 || hash == 0) {
    return 0;
  }
  return set->table[slot_of(set, hash)] == hash;
}

/* Remove h (present) and close the gap: move later members of the probe
 * cluster back when their home slot allows it. */
static void table_delete(hmq_dedupe *set, uint64_t h) {
  size_t i = slot_of(set, h), j = i;
  if (set->table[i] != h) {
    return;
  }
  for (;;) {
    size_t home;
    j = (j + 1) & set->mask;
    if (set->table[j] == 0) {
      break;
    }
    home = (size_t)set->table[j] & set->mask;
    /* The entry at j may fill i unless its home lies cyclically in (i, j]. */
    if (((j - home) & set->mask) >= ((j - i) & set->mask)) {
      set->table[i] = set->table[j];
      i = j;
    }
  }
  set->table[i] = 0;
}

int hmq_dedupe_insert(hmq_dedupe *set, uint64_t hash) {
  size_t slot;
  if (set == NULL || set->capacity == 0 || hash == 0) {
    return 0;
  }
  slot = slot_of(set, hash);
  if (set->table[slot] == hash) {
    return 1;
  }
  if (set->count == set->capacity) {
    table_delete(set, set->ring[set->head]);
    set->ring[set->head] = hash;
    set->head = (set->head + 1) % set->capacity;
    set->evicted++;
    slot = slot_of(set, hash); /* the delete may have shifted the cluster */
  } else {
    set->ring[(set->head + set->count) % set->capacity] = hash;
    set->count++;
  }
  set->table[slot] = hash;
  return 0;
}

int hmq_dedupe_seen(hmq_dedupe *set, const char *id, size_t len) {
  if (set == NULL || (id == NULL && len > 0)) {
    return 0;
  }
  return hmq_dedupe_insert(set, hmq_dedupe_hash(id, len));
}

int hmq_dedupe_forget_last(hmq_dedupe *set) {
  size_t last;
  if (set == NULL || set->count == 0) {
    return 0;
  }
  last = (set->head + set->count - 1) % set->capacity;
  table_delete(set, set->ring[last]);
  set->count--;
  return 1;
}

void hmq_dedupe_clear(hmq_dedupe *set) {
  if (set == NULL || set->capacity == 0) {
    return;
  }
  memset(set->table, 0, 8 * (set->mask + 1));
  set->head = 0;
  set->count = 0;
}

#define EXPORT_HEAD 12u
#define EXPORT_TAIL 8u

size_t hmq_dedupe_export_size(const hmq_dedupe *set) {
  return EXPORT_HEAD + 8 * (set ? set->count : 0) + EXPORT_TAIL;
}

static void wr64(uint8_t *p, uint64_t v) {
  int k;
  for (k = 0; k < 8; k++) {
    p[k] = (uint8_t)(v >> (8 * k));
  }
}

hmq_status hmq_dedupe_export(const hmq_dedupe *set, uint8_t *buf, size_t cap, size_t *out_len) {
  size_t need, i;
  if (set == NULL || out_len == NULL || (buf == NULL && cap > 0)) {
    return HMQ_ERR_ARG;
  }
  need = hmq_dedupe_export_size(set);
  *out_len = need;
  if (cap < need) {
    return HMQ_ERR_NO_ROOM;
  }
  memcpy(buf, "HMQD\x01\0\0\0", 8);
  buf[8] = (uint8_t)set->count;
  buf[9] = (uint8_t)(set->count >> 8);
  buf[10] = (uint8_t)(set->count >> 16);
  buf[11] = (uint8_t)(set->count >> 24);
  for (i = 0; i < set->count; i++) {
    wr64(buf + EXPORT_HEAD + 8 * i, set->ring[(set->head + i) % set->capacity]);
  }
  wr64(buf + need - EXPORT_TAIL, hmq_dedupe_hash((const char *)buf, need - EXPORT_TAIL));
  return HMQ_OK;
}

hmq_status hmq_dedupe_import(hmq_dedupe *set, const uint8_t *buf, size_t len) {
  size_t count, i;
  if (set == NULL || buf == NULL || len < EXPORT_HEAD + EXPORT_TAIL ||
      memcmp(buf, "HMQD\x01\0\0\0", 8) != 0) {
    return HMQ_ERR_ARG;
  }
  count = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
  if ((len - EXPORT_HEAD - EXPORT_TAIL) / 8 != count ||
      (len - EXPORT_HEAD - EXPORT_TAIL) % 8 != 0 ||
      RD64(buf + len - EXPORT_TAIL) != hmq_dedupe_hash((const char *)buf, len - EXPORT_TAIL)) {
    return HMQ_ERR_ARG;
  }
  for (i = 0; i < count; i++) {
    if (RD64(buf + EXPORT_HEAD + 8 * i) == 0) {
      return HMQ_ERR_ARG;
    }
  }
  for (i = 0; i < count; i++) {
    hmq_dedupe_insert(set, RD64(buf + EXPORT_HEAD + 8 * i));
  }
  return HMQ_OK;
}
