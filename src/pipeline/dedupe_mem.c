/* SPDX-License-Identifier: MIT */
/* Zeroed, huge-page friendly memory for the duplicate filter (dedupe_mem.h). */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, madvise() in musl and glibc */

#include "pipeline/dedupe_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_ALIGN ((size_t)2 << 20) /* x86-64 PMD size: one transparent huge page */

static size_t page_round(size_t n) {
  long ps = sysconf(_SC_PAGESIZE);
  size_t p = ps > 0 ? (size_t)ps : 4096;
  return (n + p - 1) / p * p;
}

int hmq_dedupe_mem_get(hmq_dedupe_mem *m, size_t bytes, int no_map) {
  memset(m, 0, sizeof *m);
  if (bytes == 0) {
    return -1;
  }
  if (!no_map && bytes <= SIZE_MAX / 2) {
    /* Map HUGE_ALIGN more and cut the ends so the start is 2 MiB aligned:
     * a huge page can only back an aligned 2 MiB range. */
    size_t len = bytes + HUGE_ALIGN;
    void *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw != MAP_FAILED) {
      uintptr_t a = (uintptr_t)raw;
      uintptr_t start = (a + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1);
      size_t head = (size_t)(start - a);
      size_t keep = page_round(bytes);
      size_t tail = len - head - keep;
      if (head > 0) {
        (void)munmap(raw, head);
      }
      if (tail > 0) {
        (void)munmap((char *)start + keep, tail);
      }
      m->p = (void *)start;
      m->bytes = bytes;
      m->mapped = 1;
#ifdef MADV_HUGEPAGE
      /* EINVAL where the kernel has no THP: small pages, still zeroed */
      m->huge = madvise(m->p, keep, MADV_HUGEPAGE) == 0;
#endif
      return 0;
    }
  }
  m->p = malloc(bytes);
  if (m->p == NULL) {
    return -1;
  }
  m->bytes = bytes;
  return 0;
}

void hmq_dedupe_mem_prefault(hmq_dedupe_mem *m, size_t bytes) {
  if (m->p == NULL || !m->mapped) {
    return;
  }
  if (bytes > m->bytes) {
    bytes = m->bytes;
  }
#ifdef MADV_POPULATE_WRITE
  if (madvise(m->p, page_round(bytes), MADV_POPULATE_WRITE) == 0) {
    return;
  }
#endif
  /* older kernels: one store per small page (a huge page faults in whole
   * at its first store); the memory is zero already, so is the store */
  size_t step = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < bytes; i += step) {
    ((volatile char *)m->p)[i] = 0;
  }
}

void hmq_dedupe_mem_put(hmq_dedupe_mem *m) {
  if (m->p != NULL) {
    if (m->mapped) {
      (void)munmap(m->p, page_round(m->bytes));
    } else {
      free(m->p);
    }
  }
  memset(m, 0, sizeof *m);
}
