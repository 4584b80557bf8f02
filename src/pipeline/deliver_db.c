/* SPDX-License-Identifier: MIT */
/*
 * The delivery pipeline's database side (deliver_db.h).
 */
#include "pipeline/deliver_db.h"

#include <stdio.h>

/* A message the database refused: a dead-letter line with its reason, part
 * of the same commit (deliver.c syncs the dead-letter sink after the
 * database), and no longer counted as written. Called by
 * hmq_bsink_release() on the loop thread. */
static void on_reject(void *ctx, const hmq_bmsg *m, const char *reason) {
  hmq_deliver *d = ctx;
  char why[600];
  snprintf(why, sizeof why, "database refused: %s", reason);
  (void)hmq_deliver_dead_letter(d, why, m->topic, m->topic_len, m->payload, m->len, m->received_ms);
  if (d->stats.written)
    d->stats.written--;
}

hmq_status hmq_deliver_db_open(hmq_deliver *d, const hmq_deliver_config *cfg, char *err,
                               size_t errlen) {
  hmq_db_config dc = {0};
  hmq_status st;
  dc.max_message = cfg->max_message;
  dc.batch_msgs = cfg->max_pending;
  dc.batch_bytes = cfg->db_batch_bytes;
  if (cfg->sqlite_path && *cfg->sqlite_path) {
    dc.target = cfg->sqlite_path;
    st = hmq_sink_sqlite_open(&d->db, &dc, err, errlen);
  } else {
    dc.target = cfg->pg_conninfo;
    st = hmq_sink_pg_open(&d->db, &dc, err, errlen);
  }
  if (st == HMQ_OK) {
    d->db->reject = on_reject;
    d->db->reject_ctx = d;
    /* opened without its server (down or not answering): carry on, the
     * first commit connects (hmq_deliver_db_down() is 1 until then) */
    if (d->db->err[0]) {
      d->db_down = 1;
      fprintf(stderr,
              "hmq: database unavailable at start, waiting for it (retrying with backoff): %s\n",
              d->db->err);
    }
  }
  return st;
}

hmq_status hmq_deliver_db_put(hmq_deliver *d, const hmq_envelope *env, const char *topic,
                              size_t topic_len, const uint8_t *payload, size_t len,
                              uint64_t now_ms) {
  hmq_bmsg m = {env, topic, topic_len, payload, len, now_ms};
  return hmq_bsink_put(d->db, &m);
}

hmq_status hmq_deliver_db_commit(hmq_deliver *d) {
  hmq_status st = hmq_bsink_commit(d->db);
  d->db_down = st != HMQ_OK;
  d->db_failures = d->db->failures;
  d->db_rejected = d->db->rejected;
  return st == HMQ_OK ? HMQ_OK : HMQ_WANT_WRITE;
}

hmq_status hmq_deliver_db_stored(hmq_deliver *d, hmq_status st, int *refused) {
  d->db_down = st != HMQ_OK;
  d->db_failures = d->db->failures;
  *refused = 0;
  if (st != HMQ_OK)
    return HMQ_WANT_WRITE;
  *refused = d->db->rejected > d->db_rejected;
  d->db_rejected = d->db->rejected;
  hmq_bsink_release(d->db); /* the refused ones to the dead-letter sink (on_reject) */
  return HMQ_OK;
}

int hmq_deliver_db_down(const hmq_deliver *d) {
  return d && d->db && d->db_down;
}

const char *hmq_deliver_db_reason(const hmq_deliver *d) {
  return d && d->db ? d->db->err : "";
}

uint64_t hmq_deliver_db_failures(const hmq_deliver *d) {
  return d && d->db ? d->db_failures : 0;
}

uint64_t hmq_deliver_db_rejected(const hmq_deliver *d) {
  return d && d->db ? d->db_rejected : 0;
}

void hmq_deliver_db_close(hmq_deliver *d) {
  hmq_bsink_close(d->db);
  d->db = NULL;
  d->db_down = 0;
}
