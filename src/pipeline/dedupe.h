/* SPDX-License-Identifier: MIT */
/*
 * hmq dedupe: a bounded set of recently seen message ids.
 *
 * The set keeps a 64-bit hash of each id, never the id itself: an open-
 * addressing hash table (linear probing, load <= 1/2) answers "seen?" in
 * O(1), and a ring remembers insertion order so that, when full, the oldest
 * id is evicted first (FIFO). Memory is the caller's: about 24 bytes per id
 * (hmq_dedupe_mem_size()). No allocation.
 *
 * Collisions: two different ids share a hash with probability 2^-64. With n
 * ids in the set, a new id is wrongly reported as a duplicate with
 * probability about n / 2^64: for a set of 1,000,000 ids that is 5.4e-14 per
 * message, i.e. one expected false drop in ~1.8e13 messages.
 *
 * The hash function is fixed (it is part of the export format): the same id
 * gives the same hash on every platform and in every version of this format.
 */
#ifndef HMQ_DEDUPE_H
#define HMQ_DEDUPE_H

#include "hmq/hmq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hmq_dedupe {
  uint64_t *ring;   /* private: hashes in insertion order */
  uint64_t *table;  /* private: open-addressing slots, 0 = empty */
  size_t capacity;  /* ids the set holds before evicting */
  size_t mask;      /* table size - 1 (power of two) */
  size_t head;      /* ring index of the oldest id */
  size_t count;     /* ids in the set */
  uint64_t evicted; /* ids evicted so far (statistics) */
} hmq_dedupe;

/* Bytes of memory hmq_dedupe_init needs for `capacity` ids (0 when the
 * size would overflow). */
size_t hmq_dedupe_mem_size(size_t capacity);

/*
 * Set up an empty set over caller memory `mem` (`mem_bytes` bytes, any
 * alignment) for up to `capacity` ids. The memory must outlive the set and
 * is not freed by anything here. Cannot fail: when the memory is smaller
 * than hmq_dedupe_mem_size(capacity) the capacity is reduced to what fits
 * (read set->capacity); a capacity of 0 gives a set that remembers nothing.
 */
void hmq_dedupe_init(hmq_dedupe *set, void *mem, size_t mem_bytes, size_t capacity);

/* The same over memory the caller knows to be all zero bytes (a fresh
 * anonymous mapping, dedupe_mem.h): the table is not written, so its pages
 * are faulted in by the first lookups, not all at start. */
void hmq_dedupe_init_zeroed(hmq_dedupe *set, void *mem, size_t mem_bytes, size_t capacity);

/* The fixed 64-bit hash of an id (never 0). */
uint64_t hmq_dedupe_hash(const char *id, size_t len);

/* The hash of a message_id as it appears inside a JSON string (escapes not
 * decoded): the hash of the string it stands for, so "\u0041" and "A" are
 * one id, as the database sinks store it, at any length (decoded in parts,
 * no buffer of the id's size). An id without a backslash is hashed as it is
 * (hmq_dedupe_hash); one whose escapes fail to decode, too. */
uint64_t hmq_dedupe_hash_id(const char *id, size_t len);

/*
 * Returns 1 when `id` (len bytes, compared exactly) is in the set; else
 * inserts it (evicting the oldest id when full) and returns 0.
 */
int hmq_dedupe_seen(hmq_dedupe *set, const char *id, size_t len);

/* Two-phase use ("insert only after the sink committed"): contains() only
 * looks; insert() adds a hash if absent (evicting the oldest when full) and
 * returns 1 if it was already there, else 0. Hashes from hmq_dedupe_hash(). */
int hmq_dedupe_contains(const hmq_dedupe *set, uint64_t hash);
int hmq_dedupe_insert(hmq_dedupe *set, uint64_t hash);

/* Remove the most recently inserted id (undo of the last insert). An id the
 * insert evicted does not come back. Returns 1 if one was removed, 0 when the
 * set is empty. */
int hmq_dedupe_forget_last(hmq_dedupe *set);

/* Remove every id. */
void hmq_dedupe_clear(hmq_dedupe *set);

/* Size in bytes of hmq_dedupe_export()'s output for the current content. */
size_t hmq_dedupe_export_size(const hmq_dedupe *set);

/*
 * Serialize the set, oldest id first, into buf: "HMQD", format version 1,
 * three zero bytes, the count as 4 bytes little endian, count hashes as
 * 8 bytes little endian each, then an 8-byte little-endian checksum of all
 * bytes before it. *out_len gets the bytes written, or on HMQ_ERR_NO_ROOM
 * the size needed.
 */
hmq_status hmq_dedupe_export(const hmq_dedupe *set, uint8_t *buf, size_t cap, size_t *out_len);

/*
 * Insert the ids of an export, oldest first, into `set` (on top of what it
 * holds; a smaller set keeps the newest ones). HMQ_ERR_ARG when buf is not
 * a complete, intact export (wrong magic or version, length or checksum);
 * then the set is unchanged.
 */
hmq_status hmq_dedupe_import(hmq_dedupe *set, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
