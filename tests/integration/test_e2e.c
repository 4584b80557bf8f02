/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of the real `hmq` program against a private mosquitto
 * with mutual TLS (harness.h), fed with realistic envelopes from hmq-sim:
 *
 *  - every --format (envelope, flat, raw) on the same published set:
 *    envelope lines are the payloads compacted, raw lines the payloads byte
 *    for byte, flat has one line per entry of each payload;
 *  - every sink (stdout through High Mobility's snippet run by bash, --out,
 *    --exec) receives the same lines;
 *  - repeated message_ids spanning a broker restart: each id once in the
 *    output, and the --stats counters agree exactly;
 *  (test_e2e_stall.c: stdout pipes nobody reads.)
 *
 * Every test starts its own broker (fresh data dir), puts each process it
 * starts in its own process group and kills what is left at teardown.
 */
#include "e2e.h"

/* The payload without insignificant whitespace (RFC 8259 section 2: space,
 * tab, CR, LF between tokens), appended to out. Written here, independent of
 * the library's compactor, as the reference. */
static void strip_ws(ln s, text *out) {
  int in_str = 0, esc = 0;
  size_t i;
  for (i = 0; i < s.n; i++) {
    char c = s.p[i];
    if (in_str) {
      in_str = esc || c != '"';
      esc = !esc && c == '\\';
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    } else {
      in_str = c == '"';
    }
    text_add(out, &c, 1);
  }
  text_add(out, "\n", 1);
}

/* Entries of an envelope: objects directly inside the arrays of
 * data.<capability>.<property>. A small scanner of our own, so the flat
 * output is checked against something other than the library's walker. */
static size_t entries_of(ln s) {
  char stack[64];
  size_t depth = 0, n = 0, i, ks = 0, ke = 0;
  int in_str = 0, esc = 0, in_data = 0;
  for (i = 0; i < s.n; i++) {
    char c = s.p[i];
    if (in_str) {
      if (!esc && c == '"') {
        in_str = 0;
        ke = i;
      }
      esc = !esc && c == '\\';
      continue;
    }
    if (c == '"') {
      in_str = 1;
      if (depth == 1)
        ks = i + 1;
    } else if (c == '{' || c == '[') {
      if (depth == 1)
        in_data = ke == ks + 4 && memcmp(s.p + ks, "data", 4) == 0;
      if (c == '{' && depth == 4 && stack[3] == '[' && in_data)
        n++;
      assert_true(depth < sizeof stack);
      stack[depth++] = c;
    } else if (c == '}' || c == ']') {
      assert_true(depth > 0);
      depth--;
    }
  }
  return n;
}

/* Hand-written, with insignificant whitespace (spaces, tabs), version 3, an
 * unknown top-level key, a multi-valued property and a failure entry. */
static const char ws_payload[] =
    "{ \"version\" : 3 ,\t\"application_id\": \"" APP "\", \"message_id\" : \"E2E-WHITESPACE-1\","
    " \"vin\":\t\"EXV10000000\", \"extra\": { \"note\" : \"kept as is\" }, \"data\": {"
    " \"diagnostics\": { \"tire_pressures\": [ {\"data\": {\"location\": \"front_left\", "
    "\"pressure\": {\"unit\": \"kilopascals\", \"value\": 240}}, \"timestamp\": "
    "\"2025-08-12T16:07:48Z\"},\t{\"data\": {\"location\": \"rear_left\", \"pressure\": "
    "{\"unit\": \"kilopascals\", \"value\": 238.5}}, \"timestamp\": \"2025-08-12T16:07:48.000Z\"}"
    " ] }, \"vehicle_location\": { \"coordinates\": [ { \"failure\": { \"reason\": "
    "\"privacy_mode_active\", \"description\": \"privacy mode is on\" }, \"timestamp\": "
    "\"2025-08-12T16:07:49.648943Z\" } ] } } }\n";

/* 300 hmq-sim envelopes plus the whitespace one, read by three hmq at once
 * (one share group each, so each gets every message) with -C 301. */
static void test_formats_end_to_end(void **state) {
  fixture *f = *state;
  static const char *const fmt[3] = {"envelope", "flat", "raw"};
  const long k = 301;
  text pub, want = {0}, out[3];
  size_t i, j, entries = 0;
  pid_t pid[3];
  char extra[600];
  sim_write(f, "pub.txt", k - 1, 1);
  append_file(f, "pub.txt", ws_payload);
  pub = load(f, "pub.txt");
  assert_int_equal(pub.n, k);
  assert_false(pub.partial);
  for (i = 0; i < 3; i++) {
    snprintf(extra, sizeof extra, "--format %s -C %ld --out '%s/out-%s'", fmt[i], k, f->b.dir,
             fmt[i]);
    pid[i] = run_hmq(f, fmt[i], fmt[i], extra, -1);
  }
  for (i = 0; i < 3; i++) {
    char log[64];
    snprintf(log, sizeof log, "%s.log", fmt[i]);
    wait_log(f, log, "subscribed to", 1, 10000);
  }
  publish_file(f, "pub.txt");
  for (i = 0; i < 3; i++)
    assert_int_equal(wait_exit(pid[i], 30000), 0);
  out[0] = load(f, "out-envelope");
  out[1] = load(f, "out-flat");
  out[2] = load(f, "out-raw");
  for (i = 0; i < 3; i++)
    assert_false(out[i].partial);

  /* raw: the payloads byte for byte */
  assert_same_lines("raw", out[2].v, out[2].n, pub.v, pub.n);

  /* envelope: each payload without its insignificant whitespace, so the
   * message_ids are exactly the published set */
  text_add(&want, "", 0);
  for (i = 0; i < pub.n; i++)
    strip_ws(pub.v[i], &want);
  text_split(&want);
  assert_int_equal(distinct_ids(&want), k);
  assert_int_equal(distinct_ids(&out[0]), k);
  assert_same_lines("envelope", out[0].v, out[0].n, want.v, want.n);

  /* flat: each message's id once per entry of its payload */
  {
    ln *ids = calloc(1, sizeof *ids), *got;
    size_t n = 0;
    text_split(&want); /* unsorted again: lines in payload order */
    for (i = 0; i < want.n; i++) {
      size_t e = entries_of(want.v[i]);
      ids = realloc(ids, (n + e + 1) * sizeof *ids);
      assert_non_null(ids);
      for (j = 0; j < e; j++)
        ids[n++] = id_of(want.v[i]);
      entries += e;
    }
    assert_int_equal(entries_of((ln){ws_payload, sizeof ws_payload - 1}), 3);
    got = calloc(out[1].n + 1, sizeof *got);
    assert_non_null(got);
    for (i = 0; i < out[1].n; i++) {
      got[i] = id_of(out[1].v[i]);
      assert_non_null(got[i].p);
      assert_non_null(find(out[1].v[i], "\"capability\":\""));
    }
    assert_same_lines("flat ids", got, out[1].n, ids, n);
    free(ids);
    free(got);
  }
  fprintf(stderr, "formats: %ld messages, %zu flat entries, %zu raw bytes\n", k, entries, pub.len);
  for (i = 0; i < 3; i++)
    text_free(&out[i]);
  text_free(&want);
  text_free(&pub);
}

/* High Mobility's snippet.txt as downloaded (multi-line, single quotes,
 * $share), mosquitto_sub replaced by the path of hmq, -C appended, run by
 * bash with stdout into a pipe; --out and --exec (other share groups) at
 * the same time: all three get the same lines. */
static void test_every_sink_same_lines(void **state) {
  fixture *f = *state;
  const long k = 200;
  static const char *const files[][2] = {
      {"ca.crt", "ca_crt.pem"}, {"client.crt", "client_crt.pem"}, {"client.key", "client_key.pem"}};
  char dir[300], from[400], cmd[2400], extra[600];
  text pub, so = {0}, fo, eo;
  pid_t ps, pf, pe;
  int p[2];
  size_t i;
  sim_write(f, "pub.txt", k, 2);
  pub = load(f, "pub.txt");
  assert_int_equal(pub.n, k);

  snprintf(dir, sizeof dir, "%s/bundle", f->b.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  for (i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", hmq_h_pki(&f->b, files[i][0], from, sizeof from),
             dir, files[i][1]);
    assert_int_equal(system(cmd), 0);
  }
  snprintf(cmd, sizeof cmd,
           "'%s' \\\n"
           "              --cafile ca_crt.pem \\\n"
           "              --cert client_crt.pem \\\n"
           "              --key client_key.pem\\\n"
           "              --host localhost \\\n"
           "              --port %u \\\n"
           "              --qos 1 \\\n"
           "              -V 5 \\\n"
           "              --id '" APP "-sandbox-4711' \\\n"
           "              --disable-clean-session \\\n"
           "              --topic '$share/" APP "/sandbox/level13/" APP "#'"
           " -C %ld --state-dir '%s/sd-stdout' -d -W 40\n"
           "        \n",
           f->hmq, (unsigned)f->b.port, k, f->b.dir);
  append_file(f, "bundle/snippet-hmq.txt", cmd);

  make_pipe(p);
  snprintf(cmd, sizeof cmd, "cd '%s' && bash snippet-hmq.txt", dir);
  ps = spawn(cmd, p[1], "stdout.log");
  close(p[1]);
  snprintf(extra, sizeof extra, "-C %ld --out '%s/out-file'", k, f->b.dir);
  pf = run_hmq(f, "file", "gfile", extra, -1);
  snprintf(extra, sizeof extra, "-C %ld --exec 'cat > \"%s/out-exec\"'", k, f->b.dir);
  pe = run_hmq(f, "exec", "gexec", extra, -1);
  wait_log(f, "stdout.log", "subscribed to", 1, 10000);
  wait_log(f, "file.log", "subscribed to", 1, 10000);
  wait_log(f, "exec.log", "subscribed to", 1, 10000);
  publish_file(f, "pub.txt");

  text_add(&so, "", 0);
  assert_true(drain(p[0], &so, hmq_h_now() + 30000));
  close(p[0]);
  assert_int_equal(wait_exit(ps, 10000), 0);
  assert_int_equal(wait_exit(pf, 30000), 0);
  assert_int_equal(wait_exit(pe, 30000), 0);
  text_split(&so);
  fo = load(f, "out-file");
  eo = load(f, "out-exec");
  assert_false(so.partial || fo.partial || eo.partial);
  /* hmq-sim writes compact envelopes: compacted they are unchanged */
  assert_same_lines("stdout", so.v, so.n, pub.v, pub.n);
  assert_same_lines("--out", fo.v, fo.n, pub.v, pub.n);
  assert_same_lines("--exec", eo.v, eo.n, pub.v, pub.n);
  assert_int_equal(distinct_ids(&so), k);
  text_free(&so);
  text_free(&fo);
  text_free(&eo);
  text_free(&pub);
}

static void envelope_line(text *t, const char *id, int value) {
  char b[512];
  snprintf(
      b, sizeof b,
      "{\"version\":2,\"application_id\":\"" APP "\",\"message_id\":\"%s\",\"vin\":"
      "\"EXV10000000\",\"data\":{\"diagnostics\":{\"speed\":[{\"data\":{\"unit\":"
      "\"kilometers_per_hour\",\"value\":%d},\"timestamp\":\"2025-08-12T16:07:48.000Z\"}]}}}\n",
      id, value);
  text_add(t, b, strlen(b));
}

/* Distinct ids in the output file. */
static size_t out_distinct(const fixture *f, const char *name) {
  text t = load(f, name);
  size_t d = distinct_ids(&t);
  text_free(&t);
  return d;
}

/* Batch A: D000..D099, then D000..D009 again (same payload) and D010..D019
 * again (other payload). Broker restart (SIGTERM, persistence) while hmq
 * runs; once hmq subscribed again, batch B: D100..D149, D020..D029 again
 * (other payload), D100..D104 again. 185 publishes, 150 ids, 35 repeats. */
static void test_dedupe_across_broker_restart(void **state) {
  fixture *f = *state;
  text a = {0}, b = {0}, o;
  char id[16], extra[600], stats[200];
  uint64_t end;
  pid_t pid;
  int i;
  text_add(&a, "", 0);
  text_add(&b, "", 0);
  for (i = 0; i < 100; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&a, id, i);
  }
  for (i = 0; i < 20; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&a, id, i < 10 ? i : 1000 + i);
  }
  for (i = 100; i < 150; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&b, id, i);
  }
  for (i = 20; i < 30; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&b, id, 1000 + i);
  }
  for (i = 100; i < 105; i++) {
    snprintf(id, sizeof id, "D%03d", i);
    envelope_line(&b, id, i);
  }
  save(f, "a.txt", &a);
  save(f, "b.txt", &b);

  snprintf(extra, sizeof extra, "--out '%s/out' --stats 1", f->b.dir);
  pid = run_hmq(f, "dd", APP, extra, -1);
  wait_log(f, "dd.log", "subscribed to", 1, 10000);
  publish_file(f, "a.txt");
  end = hmq_h_now() + 10000;
  while (out_distinct(f, "out") < 100 && hmq_h_now() < end)
    hmq_h_sleep_ms(20);
  assert_int_equal(out_distinct(f, "out"), 100);
  hmq_h_sleep_ms(300); /* the PUBACKs of the last commit reach the broker */

  assert_int_equal(hmq_h_stop(&f->b), 0);
  assert_int_equal(hmq_h_start(&f->b), 0);
  /* mosquitto 2.0 does not persist $share subscriptions (docs/mosquitto.md): publish
   * only after hmq subscribed again */
  wait_log(f, "dd.log", "subscribed to", 2, 15000);
  publish_file(f, "b.txt");
  end = hmq_h_now() + 10000;
  while (out_distinct(f, "out") < 150 && hmq_h_now() < end)
    hmq_h_sleep_ms(20);

  /* the stats counters are cumulative; wait for a line showing all */
  snprintf(stats, sizeof stats, "received=185 written=150 dup=35 invalid=0 ");
  wait_log(f, "dd.log", stats, 1, 5000);
  kill(pid, SIGTERM);
  assert_int_equal(wait_exit(pid, 10000), 0);
  assert_true(occurrences(f, "dd.log", "reconnects=1 ") >= 1);

  o = load(f, "out");
  assert_false(o.partial);
  assert_int_equal(o.n, 150);
  assert_int_equal(distinct_ids(&o), 150);
  /* the first payload of a repeated id is the one kept */
  for (i = 0; i < (int)o.n; i++) {
    ln v = id_of(o.v[i]);
    int n = atoi(v.p + 1);
    char want[32];
    snprintf(want, sizeof want, "\"value\":%d}", n);
    if (!find(o.v[i], want))
      fail_msg("%.*s: not the first payload: %.200s", (int)v.n, v.p, o.v[i].p);
  }
  text_free(&o);
  text_free(&a);
  text_free(&b);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_formats_end_to_end, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_sink_same_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedupe_across_broker_restart, setup, teardown),
  };
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
