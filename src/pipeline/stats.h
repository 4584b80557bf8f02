/* SPDX-License-Identifier: MIT */
/*
 * hmq program: delivery counters and data age, printed as one stderr line
 * every --stats seconds.
 *
 * Counters are cumulative. Data age (now minus the newest reading timestamp
 * in a message) goes into a fixed log-linear histogram — no allocation per
 * message — that is read and cleared by each stats line, so p50/p99 describe
 * the last interval: how far behind the vehicles the stream is right now.
 */
#ifndef HMQ_APP_STATS_H
#define HMQ_APP_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Histogram shape: 8 linear sub-buckets per power of two of milliseconds
 * (at most 12.5 % error), up to 2^40 ms (~35 years). */
#define HMQ_STATS_SUB     8
#define HMQ_STATS_POWERS  41
#define HMQ_STATS_BUCKETS (HMQ_STATS_SUB * HMQ_STATS_POWERS)

typedef struct hmq_stats {
  /* cumulative counters (deliver.c fills these) */
  uint64_t received;   /* messages handed to hmq_deliver_message */
  uint64_t written;    /* messages written to the sink (not duplicates, not invalid) */
  uint64_t duplicates; /* message_id already seen: dropped, still acked */
  uint64_t invalid;    /* dead-lettered */
  uint64_t warnings;   /* delivered with a warning (odd version, id shape, …) */
  uint64_t lines;      /* lines written to the sink (flat: one per entry) */
  uint64_t commits;    /* successful commits */
  /* set by the loop */
  uint64_t in_flight; /* messages received from the broker and not yet acked */
  uint64_t reconnects;
  uint64_t attempts; /* connection attempts, the first one included */
  /* data age of the current interval */
  uint64_t age_count;
  uint64_t age_future; /* newest reading is later than now (clock skew) */
  uint64_t age_hist[HMQ_STATS_BUCKETS];
  /* latency of the current interval: receive -> line handed to write(),
   * receive -> seq released for PUBACK (after its sync) */
  uint64_t lat_count[2];
  uint64_t lat_hist[2][HMQ_STATS_BUCKETS];
  /* interval bookkeeping for msgs/s */
  uint64_t last_ms;
  uint64_t last_received;
} hmq_stats;

/* Zero every counter; now_ms starts the first rate interval. */
void hmq_stats_init(hmq_stats *s, uint64_t now_ms);

/* Record one message's data age in milliseconds (negative: the reading is
 * from the future, counted in age_future and as age 0). */
void hmq_stats_age(hmq_stats *s, int64_t age_ms);

#define HMQ_STATS_LAT_WRITTEN 0
#define HMQ_STATS_LAT_ACKED   1

/* Record one message's latency (HMQ_STATS_LAT_*) in milliseconds. */
void hmq_stats_latency(hmq_stats *s, int which, uint64_t ms);

/* Latency (HMQ_STATS_LAT_*) at percentile pct of the current interval, in
 * ms (bucket upper bound as hmq_stats_age_pct); 0 with no samples. */
uint64_t hmq_stats_latency_pct(const hmq_stats *s, int which, unsigned pct);

/* Data age at percentile pct (0..100] of the current interval, in ms: the
 * upper bound of the bucket holding that rank. Returns 0 with no samples. */
uint64_t hmq_stats_age_pct(const hmq_stats *s, unsigned pct);

/* The upper bound of the histogram bucket that holds v (what
 * hmq_stats_age_pct reports for a rank that falls on v). */
uint64_t hmq_stats_bucket_bound(uint64_t v);

/* Format the one stats line (no trailing newline, always NUL-terminated,
 * truncated to len) and start a new interval: the rate and the age
 * percentiles cover the time since the previous call. Returns the length
 * snprintf would have produced. Example:
 * "hmq: received=1200 written=1180 dup=15 invalid=5 warn=0 rate=400.0/s
 *  inflight=10 reconnects=0 attempts=1 age_p50=812ms age_p99=2.1s
 *  written_p50=1ms written_p99=3ms acked_p50=4ms acked_p99=15ms" (one line;
 *  "-" for a figure without samples in the interval). */
int hmq_stats_line(hmq_stats *s, uint64_t now_ms, char *buf, size_t len);

#endif
