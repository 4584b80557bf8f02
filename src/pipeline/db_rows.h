/* SPDX-License-Identifier: MIT */
/*
 * hmq program: one message as database rows, shared by the SQLite and
 * PostgreSQL sinks.
 *
 * The walk is the envelope library's (hmq_entries); this only turns its
 * views into column values: names and ids with their JSON escapes decoded,
 * the envelope and each entry's data / failure compacted (byte-identical
 * strings and numbers, no insignificant whitespace). Entries the walk
 * reports as skipped (not an object, a property that is not an array) give
 * no row. All values are views into the walker's payload or into this
 * object's scratch memory, allocated once at init.
 */
#ifndef HMQ_PIPELINE_DB_ROWS_H
#define HMQ_PIPELINE_DB_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "hmq/envelope.h"
#include "pipeline/bsink.h"

typedef struct hmq_dbmsg {
  hmq_str message_id;
  hmq_str vin;
  hmq_str application_id; /* ptr NULL when absent */
  long version;
  int has_version;
  hmq_str envelope; /* compact */
  uint64_t received_ms;
} hmq_dbmsg;

typedef struct hmq_dbreading {
  size_t idx; /* position among the message's rows, from 0 */
  hmq_str capability;
  hmq_str property;
  hmq_str ts; /* as sent; ptr NULL when absent */
  int64_t ts_ms;
  int has_ts_ms;    /* ts parsed as RFC 3339 */
  hmq_str data;     /* compact JSON; ptr NULL when absent */
  hmq_str failure;  /* compact JSON; ptr NULL when absent */
  hmq_str instance; /* the string member "location" of data when data is an
                       object that has one (escapes decoded), else "" (ptr
                       never NULL): the instance column (db_schema.h) */
} hmq_dbreading;

typedef struct hmq_dbrows {
  hmq_envelope_parser parser;
  void *tok_mem;
  hmq_envelope env;
  hmq_entries it;
  char *scratch; /* message fields | reading fields */
  size_t region; /* bytes per region: two for the message, two for a reading */
  size_t msg_used;
  size_t next_idx;
} hmq_dbrows;

/* Allocate for payloads up to max_message bytes. HMQ_OK or HMQ_ERR_IO. */
hmq_status hmq_dbrows_init(hmq_dbrows *r, size_t max_message);
void hmq_dbrows_free(hmq_dbrows *r);

/* Start on one message (the copy in the batch): parse it and fill *out.
 * HMQ_OK, or an error with *why set to a static reason (the payload no
 * longer parses, a field does not decode or fit: the message is rejected). */
hmq_status hmq_dbrows_message(hmq_dbrows *r, const hmq_bmsg *m, hmq_dbmsg *out, const char **why);

/* The next reading of the current message. HMQ_OK, HMQ_NEED_MORE at the
 * end, or an error with *why (as above). Values of the previous reading are
 * overwritten. */
hmq_status hmq_dbrows_next(hmq_dbrows *r, hmq_dbreading *out, const char **why);

#endif
