/* SPDX-License-Identifier: MIT */
/*
 * envelope_parse: hmq::envelope on one captured High Mobility payload.
 *
 *   envelope_parse FILE
 *
 * Parses the envelope (strict JSON, then version, application_id,
 * message_id, vin, data), prints its fields, then walks every reading of
 * `data` (capability → property → entries) with its own timestamp. The
 * stream is not in time order, so a consumer keeps, per property, the
 * reading with the newest timestamp: this example prints which one that is.
 * No allocation: the payload and the token memory are the caller's.
 */
#include <hmq/envelope.h>

#include <stdio.h>
#include <string.h>

#define MAX_PAYLOAD (1u << 20)
#define MAX_TOKENS  65536u

int main(int argc, char **argv) {
  static char payload[MAX_PAYLOAD];
  static unsigned char tokmem[MAX_TOKENS * HMQ_JSON_TOKEN_BYTES];
  if (argc != 2) {
    fprintf(stderr, "usage: envelope_parse FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  size_t len = fread(payload, 1, sizeof payload, f);
  fclose(f);

  hmq_envelope_parser parser;
  hmq_envelope env;
  hmq_envelope_parser_init(&parser, tokmem, sizeof tokmem);
  hmq_status st = hmq_envelope_parse(&parser, payload, len, &env);
  if (st != HMQ_OK) { /* not an envelope: hmq would dead-letter it */
    fprintf(stderr, "envelope_parse: %s at byte %zu: %s\n", hmq_status_name(st), env.error_offset,
            env.reason);
    return 1;
  }
  printf("version %ld, message_id %.*s, vin %.*s\n", env.version, (int)env.message_id.len,
         env.message_id.ptr, (int)env.vin.len, env.vin.ptr);
  for (unsigned bit = 1; bit <= HMQ_ENV_WARN_ALL; bit <<= 1)
    if (env.warnings & bit)
      printf("warning: %s\n", hmq_envelope_warning_str(bit));

  hmq_entries it;
  hmq_entry e, newest = {0};
  size_t readings = 0;
  hmq_entries_begin(&it, &env);
  while ((st = hmq_entries_next(&it, &e)) == HMQ_OK) {
    if (e.warnings & HMQ_ENTRY_SKIPPED)
      continue;
    readings++;
    printf("%.*s.%.*s[%zu] %.*s %.*s\n", (int)e.capability.len, e.capability.ptr,
           (int)e.property.len, e.property.ptr, e.index, e.timestamp.ptr ? (int)e.timestamp.len : 1,
           e.timestamp.ptr ? e.timestamp.ptr : "-",
           e.failure.ptr ? (int)e.failure.len : (e.data.ptr ? (int)e.data.len : 1),
           e.failure.ptr ? e.failure.ptr : (e.data.ptr ? e.data.ptr : "-"));
    if (e.ts_valid && (!newest.ts_valid || e.ts_ms > newest.ts_ms))
      newest = e;
  }
  if (st < 0) {
    fprintf(stderr, "envelope_parse: walk: %s\n", hmq_status_str(st));
    return 1;
  }
  printf("%zu readings", readings);
  if (newest.ts_valid)
    printf("; newest: %.*s.%.*s at %.*s", (int)newest.capability.len, newest.capability.ptr,
           (int)newest.property.len, newest.property.ptr, (int)newest.timestamp.len,
           newest.timestamp.ptr);
  printf("\n");
  return 0;
}
