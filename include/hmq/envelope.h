/* SPDX-License-Identifier: MIT */
/*
 * hmq envelope: High Mobility's MQTT V2 message envelope, parsed in place.
 *
 *   {"version":2,"application_id":"…","message_id":"…","vin":"…",
 *    "data":{capability:{property:[entry, …]}}}
 *
 * The parser tokenizes the payload once into caller-owned token memory
 * (reused on every call, no allocation), checks that it is strict JSON
 * (RFC 8259 grammar: commas, colons, literals, numbers, no raw control
 * characters in strings, every string valid UTF-8 (RFC 3629), at most
 * HMQ_JSON_MAX_DEPTH levels of nesting) and hands out views of the
 * envelope fields. Every view points into the payload and stays valid while
 * the payload bytes are unchanged and until the next hmq_envelope_parse() on
 * the same parser (the walk reads the parser's tokens; a stale envelope is
 * refused by hmq_entries_next with HMQ_ERR_ARG).
 *
 * String views (application_id, message_id, vin, capability and property
 * names, timestamp, failure reason/description) hold the characters between
 * the quotes exactly as they are in the payload, JSON escapes included;
 * hmq_json_unescape() decodes one when its has-escapes flag is set. Raw
 * views (data, failure, availability, an entry's data) hold one whole JSON
 * value as it appears in the payload (whitespace included).
 *
 * Contract: hmq::envelope (jsmn is a private detail, not in this header).
 * The payload and the token memory are the caller's; nothing is copied or
 * allocated, nothing blocks or does I/O. Errors: an hmq_status (hmq.h) plus
 * a static reason text and the byte offset in the hmq_envelope.
 */
#ifndef HMQ_ENVELOPE_H
#define HMQ_ENVELOPE_H

#include "hmq/hmq.h"

#ifdef __cplusplus
extern "C" {
#endif

HMQ_API_BEGIN

/* Upper bound of the bytes one JSON token takes in the parser's memory: a
 * buffer of n * HMQ_JSON_TOKEN_BYTES bytes holds at least n tokens. A JSON
 * document needs one token per object, array, string (keys included) and
 * number/literal; a realistic 1.9 KB envelope takes about 190. */
#define HMQ_JSON_TOKEN_BYTES 24u

/* Deepest nesting of objects and arrays the parser accepts (an envelope
 * needs about 8). Deeper documents are refused with HMQ_ERR_JSON_TOO_BIG;
 * the limit keeps every parse linear in the payload's size. */
#define HMQ_JSON_MAX_DEPTH 64u

/* Largest payload the parser accepts (the tokenizer keeps int offsets). */
#define HMQ_JSON_MAX_BYTES ((size_t)(2147483647 / 2))

/* The parser: token storage owned by the caller. Fields are private. */
typedef struct hmq_envelope_parser {
  void *tokens;     /* private: token array inside the caller's memory */
  size_t cap;       /* number of tokens the memory holds */
  size_t count;     /* tokens of the last successful parse */
  const char *json; /* payload of the last parse */
  size_t len;
  size_t generation; /* counts parses: tells a stale envelope from a live one */
} hmq_envelope_parser;

/* Warning bits in hmq_envelope.warnings: the envelope is still usable. */
#define HMQ_ENV_WARN_VERSION         0x01u /* version is a number but not 2 or 3 */
#define HMQ_ENV_WARN_VERSION_MISSING 0x02u /* version absent or not an integer */
#define HMQ_ENV_WARN_APP_ID          0x04u /* application_id absent or not a string */
#define HMQ_ENV_WARN_MESSAGE_ID      0x08u /* message_id is not 64 hex characters */
#define HMQ_ENV_WARN_VIN_EMPTY       0x10u /* vin is "" */
#define HMQ_ENV_WARN_ALL             0x1Fu

/* One parsed envelope. Views: see the top of this file. */
typedef struct hmq_envelope {
  long version;           /* valid unless HMQ_ENV_WARN_VERSION_MISSING */
  hmq_str application_id; /* ptr == NULL when absent or not a string */
  hmq_str message_id;     /* never absent after HMQ_OK; never empty */
  hmq_str vin;            /* never absent after HMQ_OK */
  hmq_str data;           /* raw view of the data object, braces included */
  hmq_str json;           /* the whole top-level object (no surrounding space) */
  uint8_t app_id_escapes; /* 1 when the view contains a backslash escape */
  uint8_t message_id_escapes;
  uint8_t vin_escapes;
  uint8_t json_tight;  /* private: json has no whitespace between tokens */
  unsigned warnings;   /* HMQ_ENV_WARN_* bits */
  size_t extra_keys;   /* top-level keys other than the five known ones */
  const char *reason;  /* static text: why parse failed ("" after HMQ_OK) */
  size_t error_offset; /* byte where the failure was found (0 if none) */
  /* private: what the walk and the formatters need */
  const hmq_envelope_parser *parser;
  size_t data_tok;
  size_t generation;
} hmq_envelope;

/*
 * Give the parser `mem_bytes` bytes of caller memory at `mem` for tokens
 * (any alignment; a few bytes may go to alignment). The memory must outlive
 * the parser; nothing else is kept. Cannot fail: a buffer too small for any
 * token gives a parser that returns HMQ_ERR_JSON_TOO_BIG on every parse.
 */
void hmq_envelope_parser_init(hmq_envelope_parser *p, void *mem, size_t mem_bytes);

/*
 * Parse one payload. On HMQ_OK *env holds the views (lifetime: top of this
 * file) and env->warnings the warning bits. Errors, with env->reason set to
 * a precise static text (and env->error_offset for syntax errors):
 *  HMQ_ERR_JSON_TOO_BIG  len > HMQ_JSON_MAX_BYTES, more tokens than the
 *                        parser's memory holds, or objects/arrays nested
 *                        deeper than HMQ_JSON_MAX_DEPTH;
 *  HMQ_ERR_JSON_NUL      a NUL byte anywhere in the payload;
 *  HMQ_ERR_JSON          not strict JSON (truncated, bad literal, missing
 *                        comma, trailing bytes, a string that is not UTF-8 …);
 *  HMQ_ERR_ENVELOPE      valid JSON but not an envelope: top level not an
 *                        object, message_id missing / not a string / empty,
 *                        vin missing / not a string, data missing / not an
 *                        object, a known key given twice;
 *  HMQ_ERR_ARG           p, env or (payload with len > 0) NULL.
 * A failed parse invalidates views from earlier parses with this parser.
 * Time is linear in len whatever the payload (deep nesting, many keys, long
 * strings, many tiny tokens).
 */
hmq_status hmq_envelope_parse(hmq_envelope_parser *p, const char *payload, size_t len,
                              hmq_envelope *env);

/* Text of one warning bit ("message_id is not 64 hex characters"); static,
 * never NULL ("unknown warning" for other values). */
const char *hmq_envelope_warning_str(unsigned bit);

/*
 * Describe an envelope's outcome into buf as one NUL-terminated line: the
 * reason after a failed parse, else the warnings joined by "; " with their
 * details ("version 7 not supported; message_id is not 64 hex characters"),
 * or "" when there are none. Truncates to fit `cap` (cap 0 writes nothing).
 * *out_len (may be NULL) gets the full length the text needs, without NUL.
 * Returns HMQ_OK, or HMQ_ERR_NO_ROOM when the text was truncated.
 */
hmq_status hmq_envelope_describe(const hmq_envelope *env, char *buf, size_t cap, size_t *out_len);

/*
 * Decode the JSON escapes of a string view (without its quotes) into
 * buf as UTF-8 (\uXXXX surrogate pairs combined; a lone surrogate becomes
 * U+FFFD). Not NUL-terminated. *out_len gets the decoded length, or on
 * HMQ_ERR_NO_ROOM the size needed. HMQ_ERR_JSON for a malformed escape.
 * The decoded text is never longer than the view.
 */
hmq_status hmq_json_unescape(hmq_str s, char *buf, size_t cap, size_t *out_len);

/*
 * The same in parts, for a string of any length with a small buffer:
 * decode s from byte *at on into buf until s ends or fewer than 4 bytes of
 * buf are left (a character never splits across parts), set *at to where
 * the next part starts (s.len at the end) and *out_len to the bytes
 * written. The parts put together are hmq_json_unescape's output. HMQ_OK,
 * HMQ_ERR_JSON for a malformed escape, HMQ_ERR_ARG when cap < 4, *at > s.len
 * or a pointer is NULL.
 */
hmq_status hmq_json_unescape_part(hmq_str s, size_t *at, char *buf, size_t cap, size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Data walk: capability -> property -> array of entries                     */

/* Warning bits in hmq_entry.warnings. The first two mark a record that is
 * not an entry: it reports a shape the walk skipped (see hmq_entries_next). */
#define HMQ_ENTRY_WARN_NOT_ARRAY  0x01u /* a property's value is not an array */
#define HMQ_ENTRY_WARN_NOT_OBJECT 0x02u /* a capability or an array element is not an object */
#define HMQ_ENTRY_WARN_TIMESTAMP  0x04u /* timestamp not an RFC 3339 string; ts_valid = 0 */
#define HMQ_ENTRY_WARN_DUP_KEY    0x08u /* an entry key given twice; the first one is used */
#define HMQ_ENTRY_SKIPPED         (HMQ_ENTRY_WARN_NOT_ARRAY | HMQ_ENTRY_WARN_NOT_OBJECT)

typedef struct hmq_entry {
  hmq_str capability;          /* key in data, as in the payload */
  hmq_str property;            /* key in the capability; NULL for a skipped capability */
  size_t index;                /* position in the property's array */
  hmq_str raw;                 /* the whole entry value (or the skipped value) */
  hmq_str data;                /* raw JSON value of "data" (any type); NULL absent */
  hmq_str timestamp;           /* string view of "timestamp"; NULL when absent or not a string */
  int64_t ts_ms;               /* milliseconds since 1970-01-01T00:00:00Z */
  uint8_t ts_valid;            /* 1 when timestamp parsed as RFC 3339 */
  hmq_str failure;             /* raw view of "failure"; NULL absent */
  hmq_str failure_reason;      /* string view of failure.reason; NULL absent */
  hmq_str failure_description; /* string view of failure.description */
  hmq_str availability;        /* raw view of "availability"; NULL absent */
  unsigned warnings;           /* HMQ_ENTRY_WARN_* bits */
} hmq_entry;

/* Iterator state; fields are private. */
typedef struct hmq_entries {
  const hmq_envelope *env;
  size_t cap_key, prop_key; /* private: token of the current names */
  size_t next;              /* private: next token to look at */
  size_t index;             /* private: next array position */
  int level;                /* private: 0 capabilities, 1 properties, 2 entries */
  unsigned warnings;        /* OR of the warnings of all records returned so far */
  size_t skipped;           /* records returned with an HMQ_ENTRY_SKIPPED bit */
} hmq_entries;

/* Start walking env's data (env from a successful hmq_envelope_parse; it
 * must stay in place while the walk runs). Cannot fail. */
void hmq_entries_begin(hmq_entries *it, const hmq_envelope *env);

/*
 * Next record in payload order. HMQ_OK: *entry is filled (views into the
 * payload, lifetime as the envelope's). A record with an HMQ_ENTRY_SKIPPED
 * bit is not an entry but a report of a shape the walk passed over (a
 * capability that is not an object, a property that is not an array, an
 * array element that is not an object): log it and go on. HMQ_NEED_MORE:
 * no more records (not an error). HMQ_ERR_ARG: it or entry NULL, or the
 * iterator was not begun on a parsed envelope, or the parser has parsed
 * another payload since (the envelope is stale).
 */
hmq_status hmq_entries_next(hmq_entries *it, hmq_entry *entry);

/* Text of one entry warning bit; static, never NULL. */
const char *hmq_entry_warning_str(unsigned bit);

/*
 * Parse an RFC 3339 date-time ("2025-08-12T16:07:48.000Z", 0–9 fractional
 * digits, 'Z' or ±hh:mm offset, 'T'/'t' separator, 'z' accepted) into
 * milliseconds since the Unix epoch (fraction truncated to ms). Years
 * 0000–9999; seconds 00–60. HMQ_OK or HMQ_ERR_ARG when s is not such a date.
 */
hmq_status hmq_rfc3339_parse(hmq_str s, int64_t *ms);

/* ------------------------------------------------------------------------ */
/* Output formatting (caller buffers; nothing NUL-terminated, no newline)    */

/*
 * The whole envelope as one compact line: insignificant whitespace removed,
 * every string, number, literal and key order byte-identical to the payload.
 * *out_len gets the bytes written, or on HMQ_ERR_NO_ROOM the size needed
 * (the buffer's content is then unspecified). HMQ_ERR_ARG on NULL/unparsed.
 */
hmq_status hmq_json_compact(const hmq_envelope *env, char *buf, size_t cap, size_t *out_len);

/*
 * Same as hmq_json_compact for any JSON value that a successful parse has
 * validated (an envelope or entry view): `json`/`len` must be valid JSON.
 */
hmq_status hmq_json_compact_value(const char *json, size_t len, char *buf, size_t cap,
                                  size_t *out_len);

/*
 * One flat NDJSON object for one entry:
 *   {"vin":…,"message_id":…,"capability":…,"property":…,"timestamp":…|null,
 *    "data":…,"failure":…,"availability":…}
 * where data/failure/availability appear only when present (in that order),
 * values are compacted and strings are re-emitted exactly as in the payload.
 * No trailing newline. A skipped record (HMQ_ENTRY_SKIPPED bit) writes
 * nothing: HMQ_OK with *out_len 0. Sizes and errors as hmq_json_compact.
 */
hmq_status hmq_format_flat(const hmq_envelope *env, const hmq_entry *entry, char *buf, size_t cap,
                           size_t *out_len);

HMQ_API_END

#ifdef __cplusplus
}
#endif

#endif
