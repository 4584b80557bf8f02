/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the restart path of the dedupe persistence with a damaged or hostile
 * dedupe.log (a crash mid-append, a disk error, a file put there by hand):
 * replaying it must never read outside it, must stop at the first record
 * that is not intact, and the prefix it trusts must replay to itself. The
 * set stays within its capacity; the sink position comes only from an
 * intact record.
 */
#include "pipeline/dedupe_store.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mem[4096];

static void check(int ok) {
  if (!ok)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hmq_dedupe set;
  hmq_dstore s;
  hmq_dedupe_init(&set, mem, sizeof mem, 64);
  memset(&s, 0, sizeof s);
  uint64_t good = hmq_dstore_replay(&s, &set, data, size);
  check(good <= size);
  check(set.count <= set.capacity);
  check(good == 0 ? !s.has_pos : s.has_pos == 1);
  uint64_t hashes = s.log_hashes, off = s.off;
  /* the trusted prefix alone replays the same way */
  hmq_dedupe_init(&set, mem, sizeof mem, 64);
  memset(&s, 0, sizeof s);
  check(hmq_dstore_replay(&s, &set, data, (size_t)good) == good);
  check(s.log_hashes == hashes && s.off == off);
  return 0;
}
