/* SPDX-License-Identifier: MIT */
/*
 * Delivery statistics: counters, a fixed data-age histogram, the stats line.
 *
 * Why a log-linear histogram: ages span milliseconds (live stream) to days
 * (a backlog drained after an outage); 8 linear steps per power of two keep
 * the error under 12.5 % everywhere in a few KiB with no per-message cost
 * beyond a bit scan.
 */
#include "pipeline/stats.h"

#include <stdio.h>
#include <string.h>

void hmq_stats_init(hmq_stats *s, uint64_t now_ms) {
  memset(s, 0, sizeof *s);
  s->last_ms = now_ms;
}

static unsigned bit_len(uint64_t v) {
  unsigned n = 0;
  while (v) {
    n++;
    v >>= 1;
  }
  return n;
}

/* Bucket index of v: values below HMQ_STATS_SUB map to themselves; above,
 * the top bit picks the power and the next 3 bits the sub-bucket. */
static size_t bucket_of(uint64_t v) {
  if (v < HMQ_STATS_SUB)
    return (size_t)v;
  unsigned b = bit_len(v); /* >= 4 */
  unsigned power = b - 3;  /* 1.. */
  uint64_t sub = (v >> (b - 4)) & (HMQ_STATS_SUB - 1);
  size_t i = (size_t)power * HMQ_STATS_SUB + (size_t)sub;
  return i < HMQ_STATS_BUCKETS ? i : HMQ_STATS_BUCKETS - 1;
}

/* Largest value that falls into bucket i. */
static uint64_t bucket_top(size_t i) {
  if (i < HMQ_STATS_SUB)
    return i;
  unsigned power = (unsigned)(i / HMQ_STATS_SUB);
  uint64_t sub = i % HMQ_STATS_SUB;
  unsigned shift = power - 1;
  return ((HMQ_STATS_SUB + sub + 1) << shift) - 1;
}

uint64_t hmq_stats_bucket_bound(uint64_t v) {
  return bucket_top(bucket_of(v));
}

void hmq_stats_age(hmq_stats *s, int64_t age_ms) {
  if (age_ms < 0) {
    s->age_future++;
    age_ms = 0;
  }
  s->age_hist[bucket_of((uint64_t)age_ms)]++;
  s->age_count++;
}

/* Value at percentile pct of a histogram holding count samples. */
static uint64_t hist_pct(const uint64_t *hist, uint64_t count, unsigned pct) {
  if (count == 0)
    return 0;
  if (pct > 100)
    pct = 100;
  /* rank = ceil(count * pct / 100), at least 1 */
  uint64_t rank = (count * pct + 99) / 100;
  if (rank == 0)
    rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < HMQ_STATS_BUCKETS; i++) {
    seen += hist[i];
    if (seen >= rank)
      return bucket_top(i);
  }
  return bucket_top(HMQ_STATS_BUCKETS - 1);
}

uint64_t hmq_stats_age_pct(const hmq_stats *s, unsigned pct) {
  return hist_pct(s->age_hist, s->age_count, pct);
}

void hmq_stats_latency(hmq_stats *s, int which, uint64_t ms) {
  if (which != HMQ_STATS_LAT_WRITTEN && which != HMQ_STATS_LAT_ACKED)
    return;
  s->lat_hist[which][bucket_of(ms)]++;
  s->lat_count[which]++;
}

uint64_t hmq_stats_latency_pct(const hmq_stats *s, int which, unsigned pct) {
  if (which != HMQ_STATS_LAT_WRITTEN && which != HMQ_STATS_LAT_ACKED)
    return 0;
  return hist_pct(s->lat_hist[which], s->lat_count[which], pct);
}

static void fmt_ms(char *b, size_t n, uint64_t ms) {
  if (ms < 10000)
    snprintf(b, n, "%llums", (unsigned long long)ms);
  else if (ms < 600000)
    snprintf(b, n, "%.1fs", (double)ms / 1000.0);
  else if (ms < 36000000)
    snprintf(b, n, "%.1fmin", (double)ms / 60000.0);
  else
    snprintf(b, n, "%.1fh", (double)ms / 3600000.0);
}

/* "p50 p99" of one histogram into a and b ("-" without samples). */
static void fmt_pct(const uint64_t *hist, uint64_t count, char *a, char *b, size_t n) {
  if (count) {
    fmt_ms(a, n, hist_pct(hist, count, 50));
    fmt_ms(b, n, hist_pct(hist, count, 99));
  } else {
    snprintf(a, n, "-");
    snprintf(b, n, "-");
  }
}

int hmq_stats_line(hmq_stats *s, uint64_t now_ms, char *buf, size_t len) {
  char p50[24], p99[24], w50[24], w99[24], a50[24], a99[24];
  double secs = now_ms > s->last_ms ? (double)(now_ms - s->last_ms) / 1000.0 : 0.0;
  double rate = secs > 0 ? (double)(s->received - s->last_received) / secs : 0.0;
  fmt_pct(s->age_hist, s->age_count, p50, p99, sizeof p50);
  fmt_pct(s->lat_hist[HMQ_STATS_LAT_WRITTEN], s->lat_count[HMQ_STATS_LAT_WRITTEN], w50, w99,
          sizeof w50);
  fmt_pct(s->lat_hist[HMQ_STATS_LAT_ACKED], s->lat_count[HMQ_STATS_LAT_ACKED], a50, a99,
          sizeof a50);
  int r = snprintf(buf, len,
                   "hmq: received=%llu written=%llu dup=%llu invalid=%llu warn=%llu "
                   "rate=%.1f/s inflight=%llu reconnects=%llu attempts=%llu age_p50=%s "
                   "age_p99=%s written_p50=%s written_p99=%s acked_p50=%s acked_p99=%s",
                   (unsigned long long)s->received, (unsigned long long)s->written,
                   (unsigned long long)s->duplicates, (unsigned long long)s->invalid,
                   (unsigned long long)s->warnings, rate, (unsigned long long)s->in_flight,
                   (unsigned long long)s->reconnects, (unsigned long long)s->attempts, p50, p99,
                   w50, w99, a50, a99);
  s->last_ms = now_ms;
  s->last_received = s->received;
  memset(s->age_hist, 0, sizeof s->age_hist);
  memset(s->lat_hist, 0, sizeof s->lat_hist);
  memset(s->lat_count, 0, sizeof s->lat_count);
  s->age_count = 0;
  s->age_future = 0;
  return r;
}
