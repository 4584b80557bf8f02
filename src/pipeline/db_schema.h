/* SPDX-License-Identifier: MIT */
/*
 * hmq program: the database schema shared by the SQLite and PostgreSQL
 * sinks (docs/database.md describes it for users).
 *
 *   schema_version(version)            one row: the schema's version
 *   messages(message_id PRIMARY KEY, vin, application_id, version,
 *            received_at, envelope)    one row per message, envelope compact
 *   readings(message_id, idx, vin, capability, property, instance, ts,
 *            ts_ms, data, failure)     one row per data entry
 *   latest(vin, capability, property, instance PRIMARY KEY, ts, ts_ms,
 *          data, message_id, idx)      the newest reading of each key
 *
 * Rules both sinks keep:
 *  - a message is stored once: its readings go in only when its messages
 *    row did (the primary key absorbs duplicates, from this process, from
 *    a restart, or from another instance of the share group);
 *  - idx is the entry's position among the message's entries (payload
 *    order, from 0); instance is the string member "location" of the
 *    entry's data when it is an object that has one (a door, a tire), else
 *    ''; ts is the entry's timestamp, ts_ms the same in milliseconds since
 *    the Unix epoch (NULL when absent or not RFC 3339);
 *  - latest holds, per (vin, capability, property, instance), the entry
 *    with data and a timestamp that is greatest by (ts_ms, message_id, idx):
 *    newer timestamps win; equal timestamps are settled by the message_id
 *    and position so that every commit order gives the same row. Entries
 *    without a timestamp or with only a failure do not enter latest.
 *
 * Versioning: a database without schema_version gets the whole schema in
 * one transaction; version HMQ_DB_SCHEMA_VERSION is used as is; a higher
 * version (a newer hmq wrote it) is refused with a message saying so.
 */
#ifndef HMQ_PIPELINE_DB_SCHEMA_H
#define HMQ_PIPELINE_DB_SCHEMA_H

#include <stddef.h>

#define HMQ_DB_SCHEMA_VERSION 1

typedef enum hmq_db_dialect { HMQ_DB_SQLITE = 0, HMQ_DB_POSTGRES = 1 } hmq_db_dialect;

/* The statements that create version HMQ_DB_SCHEMA_VERSION, in order, and
 * their number (*n). Static strings. */
const char *const *hmq_db_schema_create(hmq_db_dialect d, size_t *n);

/* One line for a schema_version the program cannot use, into buf:
 * "<target>: database schema version 7 is newer than this hmq understands
 * (1); use a newer hmq or another database". */
void hmq_db_schema_refusal(const char *target, long found, char *buf, size_t len);

#endif
