/* SPDX-License-Identifier: MIT */
/*
 * Memory for the duplicate filter (dedupe.h), taken from the kernel so it
 * starts zeroed: an anonymous mapping aligned to 2 MiB and, where the
 * kernel offers transparent huge pages (enabled "always" or "madvise"),
 * marked MADV_HUGEPAGE. The 16 MiB table of the default 1,000,000-id
 * filter then needs no memset at start (4,096 page faults and 16 MiB of
 * stores) and is touched in 2 MiB pages: eight faults instead of 4,096,
 * and a TLB entry per 2 MiB for the random lookups. When the mapping is
 * refused, plain malloc() is the fallback (not known to be zero).
 *
 * The pipeline faults the table and the ring's first 2 MiB in at open
 * (hmq_dedupe_mem_prefault), off the receive path.
 *
 * RSS: with huge pages a touched table page is resident as a whole 2 MiB;
 * the random lookups touch every table page within the first few thousand
 * ids, so the table is resident in full either way (as after the old
 * memset); the ring (after the table, dedupe.c) grows in 2 MiB steps
 * instead of 4 KiB, so RSS shows up to 2 MiB more than with small pages.
 */
#ifndef HMQ_DEDUPE_MEM_H
#define HMQ_DEDUPE_MEM_H

#include <stddef.h>

typedef struct hmq_dedupe_mem {
  void *p;      /* the memory, NULL when none */
  size_t bytes; /* usable bytes at p */
  int mapped;   /* 1: an mmap (zeroed; munmap it), 0: malloc (free it) */
  int huge;     /* 1: MADV_HUGEPAGE was accepted */
} hmq_dedupe_mem;

/* Get `bytes` bytes (> 0). Returns 0 on success (m->p set; zeroed when
 * m->mapped), -1 when neither the mapping nor malloc gave memory. A
 * nonzero `no_map` skips the mapping (the fallback path, for tests). */
int hmq_dedupe_mem_get(hmq_dedupe_mem *m, size_t bytes, int no_map);

/* Fault in the first `bytes` (at most m->bytes) of a mapping now, with
 * their zeroes (MADV_POPULATE_WRITE, else one store per page): the page
 * faults then happen at start instead of on the first messages' receive
 * path (on this project's VMs a huge-page fault took 3-5 ms, and the first
 * lookups fault in all eight of the table's: the live path's first
 * message waited 11-60 ms; BENCHMARKS.md "Live latency at 10,000 msg/s").
 * Nothing for malloc'd memory (the caller initialises it). */
void hmq_dedupe_mem_prefault(hmq_dedupe_mem *m, size_t bytes);

/* Give it back; safe on a zeroed or already released struct. */
void hmq_dedupe_mem_put(hmq_dedupe_mem *m);

#endif
