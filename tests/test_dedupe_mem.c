/* SPDX-License-Identifier: MIT */
/*
 * The duplicate filter's memory (dedupe_mem.h): a zeroed, 2 MiB aligned
 * mapping that the filter does not touch at start (mincore() shows no
 * table page resident until ids go in), the malloc fallback, and the same
 * answers from a filter over either; hmq_deliver_open takes the mapping.
 */
#define _DEFAULT_SOURCE 1 /* mincore() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipeline/dedupe.h"
#include "pipeline/dedupe_mem.h"
#include "pipeline/deliver.h"

#define CAP 1000000u /* the default filter: 8 MB ring, 16 MB table */

static size_t page(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

/* Resident pages of the pages [p, p + len) lies in. */
static size_t resident(const void *p, size_t len) {
  uintptr_t a = (uintptr_t)p / page() * page();
  len += (uintptr_t)p - a;
  size_t n = (len + page() - 1) / page(), r = 0;
  unsigned char *v = malloc(n);
  assert_non_null(v);
  assert_int_equal(mincore((void *)a, len, v), 0);
  for (size_t i = 0; i < n; i++)
    r += v[i] & 1;
  free(v);
  return r;
}

static uint64_t id_hash(unsigned long n) {
  char id[32];
  int k = snprintf(id, sizeof id, "id-%lu", n);
  return hmq_dedupe_hash(id, (size_t)k);
}

static void mapped_zeroed_aligned(void **state) {
  hmq_dedupe_mem m;
  size_t bytes = hmq_dedupe_mem_size(CAP);
  (void)state;
  assert_int_equal(hmq_dedupe_mem_get(&m, bytes, 0), 0);
  assert_int_equal(m.mapped, 1);
  assert_int_equal(m.bytes, bytes);
  assert_int_equal((uintptr_t)m.p % ((size_t)2 << 20), 0);
  const unsigned char *b = m.p;
  unsigned char acc = 0;
  for (size_t i = 0; i < bytes; i += 512)
    acc |= b[i];
  acc |= b[bytes - 1];
  assert_int_equal(acc, 0);
  memset(m.p, 0x5a, bytes); /* all of it is writable */
  hmq_dedupe_mem_put(&m);
  assert_null(m.p);
  hmq_dedupe_mem_put(&m); /* twice: harmless */
  assert_int_equal(hmq_dedupe_mem_get(&m, 0, 0), -1);
}

static void table_not_touched_at_start(void **state) {
  hmq_dedupe_mem m;
  hmq_dedupe set;
  size_t bytes = hmq_dedupe_mem_size(CAP);
  (void)state;
  assert_int_equal(hmq_dedupe_mem_get(&m, bytes, 0), 0);
  assert_int_equal(m.mapped, 1);
  hmq_dedupe_init_zeroed(&set, m.p, m.bytes, CAP);
  assert_int_equal(set.capacity, CAP);
  size_t tbytes = 8 * (set.mask + 1);
  assert_int_equal(tbytes, (size_t)16 << 20);
  assert_int_equal((uintptr_t)set.table % ((size_t)2 << 20), 0); /* exactly 8 huge pages */
  /* hmq_dedupe_init would have written all 16 MB here */
  assert_int_equal(resident(set.table, tbytes), 0);
  assert_int_equal(hmq_dedupe_contains(&set, id_hash(1)), 0);
  assert_int_equal(hmq_dedupe_insert(&set, id_hash(1)), 0);
  assert_int_equal(hmq_dedupe_insert(&set, id_hash(1)), 1);
  size_t r = resident(set.table, tbytes);
  assert_true(r >= 1);
  assert_true(r * page() <= ((size_t)2 << 20)); /* one page: 4 KiB, or a 2 MiB huge one */
  hmq_dedupe_mem_put(&m);
}

static void huge_pages_asked_where_offered(void **state) {
  hmq_dedupe_mem m;
  char mode[128] = "";
  (void)state;
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f == NULL)
    skip(); /* no THP in this kernel: madvise may refuse, memory still good */
  if (!fgets(mode, sizeof mode, f))
    mode[0] = 0;
  fclose(f);
  assert_int_equal(hmq_dedupe_mem_get(&m, hmq_dedupe_mem_size(CAP), 0), 0);
  /* a kernel with THP takes MADV_HUGEPAGE even when set to "never" */
  assert_int_equal(m.huge, 1);
  printf("# transparent_hugepage: %s", mode);
  hmq_dedupe_mem_put(&m);
}

static void fallback_and_same_answers(void **state) {
  hmq_dedupe_mem a, b;
  hmq_dedupe sa, sb;
  size_t bytes = hmq_dedupe_mem_size(1000);
  (void)state;
  assert_int_equal(hmq_dedupe_mem_get(&a, bytes, 0), 0);
  assert_int_equal(hmq_dedupe_mem_get(&b, bytes, 1), 0);
  assert_int_equal(a.mapped, 1);
  assert_int_equal(b.mapped, 0);
  assert_int_equal(b.huge, 0);
  memset(b.p, 0xab, bytes); /* malloc memory is not zero: init must clear it */
  hmq_dedupe_init_zeroed(&sa, a.p, a.bytes, 1000);
  hmq_dedupe_init(&sb, b.p, b.bytes, 1000);
  assert_int_equal(sa.capacity, sb.capacity);
  for (unsigned long i = 0; i < 20000; i++) {
    unsigned long n = i % 5 == 4 ? i - 3 : i; /* some repeats, FIFO evictions */
    assert_int_equal(hmq_dedupe_insert(&sa, id_hash(n)), hmq_dedupe_insert(&sb, id_hash(n)));
  }
  assert_int_equal(sa.count, sb.count);
  assert_int_equal(sa.evicted, sb.evicted);
  for (unsigned long i = 0; i < 20000; i++)
    assert_int_equal(hmq_dedupe_contains(&sa, id_hash(i)), hmq_dedupe_contains(&sb, id_hash(i)));
  hmq_dedupe_mem_put(&a);
  hmq_dedupe_mem_put(&b);
}

static void deliver_open_maps_the_filter(void **state) {
  char dir[] = "/tmp/hmq-dedupe-mem-XXXXXX", out[96], st[96], err[256];
  hmq_deliver_config c;
  hmq_deliver d;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(out, sizeof out, "%s/out.ndjson", dir);
  snprintf(st, sizeof st, "%s/state", dir);
  memset(&c, 0, sizeof c);
  c.sink = HMQ_SINK_FILE;
  c.out_path = out;
  c.state_dir = st;
  assert_int_equal(hmq_deliver_open(&d, &c, err, sizeof err), HMQ_OK);
  assert_int_equal(d.set_mem.mapped, 1);
  assert_int_equal(d.set.capacity, CAP); /* the default */
  /* the table is faulted in at open, not by the first messages' lookups
   * (dedupe_mem.h hmq_dedupe_mem_prefault), and it is still all zero */
  size_t tbytes = 8 * (d.set.mask + 1);
  assert_int_equal(resident(d.set.table, tbytes), (tbytes + page() - 1) / page());
  for (size_t i = 0; i < d.set.mask + 1; i += 4099)
    assert_int_equal(d.set.table[i], 0);
  hmq_deliver_close(&d);
  assert_null(d.set_mem.p);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mapped_zeroed_aligned),
      cmocka_unit_test(table_not_touched_at_start),
      cmocka_unit_test(huge_pages_asked_where_offered),
      cmocka_unit_test(fallback_and_same_answers),
      cmocka_unit_test(deliver_open_maps_the_filter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
