/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the hmq program's command line: the High Mobility snippet
 * verbatim, short forms, usage errors, the shell-word splitter, --bundle,
 * --app-id/--env derivation with the state-dir lock, and format warnings.
 * The app sources are compiled in directly (they are not part of the
 * library).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/options.h"
#include "pipeline/bundle.h"
#include "pipeline/instance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APP "879577a3-b25f-4a28-8c0e-7effcc7682a2"

static hmq_opts g_o;
static char g_err[512];

static int parse(int argc, char **argv) {
  hmq_opts_init(&g_o);
  g_err[0] = '\0';
  return hmq_opts_parse(&g_o, argc, argv, g_err, sizeof g_err);
}

static int has_warning(const char *needle) {
  size_t i;
  for (i = 0; i < g_o.warn_count; i++)
    if (strstr(g_o.warn[i], needle))
      return 1;
  return 0;
}

/* The options of High Mobility's snippet, exactly as bash hands them over
 * (quotes removed), with the docs' own '...<app-id>#' topic. */
static void test_snippet_verbatim(void **state) {
  char *argv[] = {"hmq",
                  "--cafile",
                  "ca_crt.pem",
                  "--cert",
                  "client_crt.pem",
                  "--key",
                  "client_key.pem",
                  "--host",
                  "mqtt-v2.high-mobility.com",
                  "--port",
                  "8883",
                  "--qos",
                  "1",
                  "-V",
                  "5",
                  "--id",
                  APP "-sandbox-4711",
                  "--disable-clean-session",
                  "--topic",
                  "$share/" APP "/sandbox/level13/" APP "#"};
  (void)state;
  assert_int_equal(parse(sizeof argv / sizeof argv[0], argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_string_equal(g_o.cafile, "ca_crt.pem");
  assert_string_equal(g_o.cert, "client_crt.pem");
  assert_string_equal(g_o.key, "client_key.pem");
  assert_string_equal(g_o.host, "mqtt-v2.high-mobility.com");
  assert_int_equal(g_o.port, 8883);
  assert_int_equal(g_o.qos, 1);
  assert_string_equal(g_o.client_id, APP "-sandbox-4711");
  assert_int_equal(g_o.persist, 1);
  assert_int_equal(g_o.session_expiry, 0xFFFFFFFFu);
  assert_int_equal(g_o.keepalive, 60);
  assert_int_equal(g_o.topic_count, 1);
  /* '#' must follow '/': fixed, with a warning. */
  assert_string_equal(g_o.topics[0], "$share/" APP "/sandbox/level13/" APP "/#");
  assert_true(has_warning("MQTT-4.7.1-1"));
  assert_false(has_warning("does not follow"));
}

static void test_short_forms(void **state) {
  char *argv[] = {
      "hmq", "-h",     "127.0.0.1", "-p",          "1884", "-q", "1",
      "-V",  "mqttv5", "-i",        APP "-live-1", "-c",   "-t", "live/level13/" APP "/#",
      "-k",  "30",     "-x",        "3600",        "-C",   "5",  "-W",
      "10",  "-d",     "-v",        "--plain"};
  (void)state;
  assert_int_equal(parse(sizeof argv / sizeof argv[0], argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_string_equal(g_o.host, "127.0.0.1");
  assert_int_equal(g_o.port, 1884);
  assert_string_equal(g_o.client_id, APP "-live-1");
  assert_int_equal(g_o.persist, 1);
  assert_string_equal(g_o.topics[0], "live/level13/" APP "/#");
  assert_int_equal(g_o.keepalive, 30);
  assert_int_equal(g_o.session_expiry, 3600);
  assert_int_equal(g_o.count, 5);
  assert_int_equal(g_o.timeout_s, 10);
  assert_true(g_o.debug && g_o.verbose && g_o.plain);
  /* not shared: the smaller broker queue is worth a warning */
  assert_true(has_warning("not a shared subscription"));
}

static void test_attached_values_and_defaults(void **state) {
  char *argv[] = {"hmq",
                  "-p8884",
                  "--host=localhost",
                  "--protocol-version=5",
                  "--id=abc",
                  "--topic=a/b",
                  "--plain",
                  "-x",
                  "-1",
                  "--format",
                  "flat",
                  "--dedupe=10"};
  char *argv2[] = {"hmq", "--id", "x", "-t", "t", "--plain"};
  (void)state;
  assert_int_equal(parse(sizeof argv / sizeof argv[0], argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(g_o.port, 8884);
  assert_string_equal(g_o.host, "localhost");
  assert_int_equal(g_o.session_expiry, 0xFFFFFFFFu);
  assert_string_equal(g_o.format, "flat");
  assert_int_equal(g_o.dedupe, 10);
  assert_true(has_warning("does not follow High Mobility's documented format"));
  /* no -c, no -x: like mosquitto_sub, a clean session, with a warning */
  assert_int_equal(parse(sizeof argv2 / sizeof argv2[0], argv2), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(g_o.persist, 0);
  assert_int_equal(g_o.session_expiry, 0);
  assert_int_equal(g_o.port, 1883);
  assert_string_equal(g_o.host, HMQ_DEFAULT_HOST);
  assert_int_equal(g_o.max_delay_ms, 50);
  assert_int_equal(g_o.dedupe, 1000000);
  assert_int_equal(g_o.connections, 1);
  assert_true(has_warning("--disable-clean-session"));
}

/* Every usage error names the option it is about. */
static void test_usage_errors_name_the_flag(void **state) {
  static const struct {
    const char *args[4];
    const char *needle;
  } cases[] = {
      {{"-V", "311"}, "-V: '311' is not supported: hmq speaks MQTT 5 only"},
      {{"--protocol-version", "mqttv311"}, "--protocol-version: 'mqttv311'"},
      {{"--frobnicate"}, "unknown option '--frobnicate'"},
      {{"-Z"}, "unknown option '-Z'"},
      {{"--port", "0"}, "--port: '0' is not a port"},
      {{"-p", "http"}, "-p: 'http' is not a port"},
      {{"--qos", "3"}, "--qos: '3' is not a QoS"},
      {{"-k", "2"}, "-k: '2' is not a keepalive"},
      {{"-x", "soon"}, "-x: 'soon' is not a session expiry"},
      {{"-C", "0"}, "-C: '0' is not a message count"},
      {{"-W", "-1"}, "-W: '-1' is not a timeout"},
      {{"--env", "prod"}, "--env: 'prod' is not an environment"},
      {{"--app-id", "a/b"}, "--app-id: 'a/b' cannot be an application id"},
      {{"--format", "xml"}, "--format: 'xml' is not a format"},
      {{"--connections", "0"}, "--connections: '0' is not a number of connections"},
      {{"--stats", "x"}, "--stats: 'x' is not an interval"},
      {{"--max-delay-ms", "1e3"}, "--max-delay-ms: '1e3' is not a delay"},
      {{"--dedupe", "-5"}, "--dedupe: '-5' is not a number"},
      {{"--dedupe", "0"}, "--dedupe: '0' is not a number"},
      {{"--host"}, "--host needs a value"},
      {{"-t"}, "-t needs a value"},
      {{"--plain=yes"}, "--plain takes no value"},
      {{"-cd"}, "-c takes no value"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--id", ""}, "--id: empty client id"},
      {{"--bundle", ""}, "--bundle: empty directory name"},
      {{"--cafile", ""}, "--cafile: empty file name"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *argv[5] = {"hmq"};
    int n = 1;
    while (n < 5 && cases[i].args[n - 1])
      argv[n] = (char *)cases[i].args[n - 1], n++;
    assert_int_equal(parse(n, argv), HMQ_EXIT_USAGE);
    if (!strstr(g_err, cases[i].needle)) {
      print_error("case %zu: '%s' lacks '%s'\n", i, g_err, cases[i].needle);
      fail();
    }
  }
}

/* Errors found when the configuration is completed also name the flags. */
static void test_finish_errors(void **state) {
  static const struct {
    const char *args[6];
    const char *needle;
  } cases[] = {
      {{"--env", "live", "--plain"}, "--env needs --app-id"},
      {{"--app-id", APP, "--plain"}, "--app-id needs --env"},
      {{"--id", "x", "--plain"}, "no topic"},
      {{"-t", "a", "--plain"}, "no client id"},
      {{"--id", "x", "-t", "a"}, "TLS needs --cafile --cert --key"},
      {{"--id", "x", "-t", "a", "--plain", "--out"}, NULL},
  };
  char *argv[] = {"hmq", "--id", "x", "-t", "a", "--plain", "--out", "f", "--exec", "cat"};
  size_t i;
  (void)state;
  for (i = 0; cases[i].needle; i++) {
    char *av[7] = {"hmq"};
    int n = 1;
    while (n < 7 && cases[i].args[n - 1])
      av[n] = (char *)cases[i].args[n - 1], n++;
    assert_int_equal(parse(n, av), HMQ_EXIT_OK);
    assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_USAGE);
    if (!strstr(g_err, cases[i].needle)) {
      print_error("case %zu: '%s' lacks '%s'\n", i, g_err, cases[i].needle);
      fail();
    }
  }
  assert_int_equal(parse(sizeof argv / sizeof argv[0], argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_USAGE);
  assert_non_null(strstr(g_err, "--out and --exec"));
}

static void test_qos_warnings(void **state) {
  char *argv0[] = {"hmq",         "-q", "0",  "-i",
                   APP "-live-9", "-c", "-t", "$share/" APP "/live/level13/" APP "/#",
                   "--plain"};
  char *argv1[] = {"hmq",         "-q", "1",  "-i",
                   APP "-live-9", "-c", "-t", "$share/" APP "/live/level13/" APP "/#",
                   "--plain"};
  (void)state;
  assert_int_equal(parse(9, argv0), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_true(has_warning("--qos 0"));
  assert_int_equal(parse(9, argv1), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(g_o.warn_count, 0); /* the documented form: no warning at all */
}

static void test_id_topic_format_warnings(void **state) {
  (void)state;
  hmq_opts_init(&g_o);
  assert_int_equal(hmq_opts_check_id(&g_o, APP "-sandbox-123"), 1);
  assert_int_equal(hmq_opts_check_id(&g_o, APP "-staging-123"), 0);
  assert_int_equal(hmq_opts_check_id(&g_o, APP "-sandbox-"), 0);
  assert_int_equal(hmq_opts_check_id(&g_o, "my-client"), 0);
  assert_int_equal(hmq_opts_check_id(&g_o, APP "-sandbox-<rnd-number>"), 0);
  assert_true(has_warning("<placeholder>"));
  assert_int_equal(hmq_opts_check_topic(&g_o, "$share/" APP "/sandbox/level13/" APP "/#"), 1);
  assert_int_equal(hmq_opts_check_topic(&g_o, "$share/" APP "/sandbox/level12/" APP "/#"), 0);
  assert_int_equal(
      hmq_opts_check_topic(&g_o,
                           "$share/00000000-0000-0000-0000-000000000000/sandbox/level13/" APP "/#"),
      0);
  assert_int_equal(hmq_opts_check_topic(&g_o, "#"), 0);
  /* with --app-id/--env given, a mismatch is named */
  hmq_opts_init(&g_o);
  memcpy(g_o.app_id, APP, sizeof APP);
  memcpy(g_o.env, "live", 5);
  assert_int_equal(hmq_opts_check_id(&g_o, APP "-sandbox-1"), 0);
  assert_true(has_warning("but --env is live"));
  assert_int_equal(hmq_opts_is_uuid(APP), 1);
  assert_int_equal(hmq_opts_is_uuid("879577a3-b25f-4a28-8c0e-7effcc7682aZ"), 0);
}

static size_t split(const char *s, char **w, char *buf, size_t cap, int *rc) {
  size_t n = 0;
  *rc = hmq_shell_split(s, strlen(s), buf, cap, w, 32, &n, NULL);
  return n;
}

static void test_shell_split(void **state) {
  char buf[1024];
  char *w[32];
  int rc;
  size_t n;
  (void)state;
  n = split("mosquitto_sub \\\n   --id 'a b'\\\n --key k.pem\\\n--host h", w, buf, sizeof buf, &rc);
  assert_int_equal(rc, HMQ_SHELL_OK);
  assert_int_equal(n, 6);
  assert_string_equal(w[2], "a b");
  assert_string_equal(w[4], "k.pem--host"); /* bash joins these too: no blank before '\' */
  n = split("x '$share/a/#' \"q\\\"uo\\$te\\n\" pre'mid'\"end\" '' back\\ slash", w, buf,
            sizeof buf, &rc);
  assert_int_equal(rc, HMQ_SHELL_OK);
  assert_int_equal(n, 6);
  assert_string_equal(w[1], "$share/a/#");
  assert_string_equal(w[2], "q\"uo$te\\n");
  assert_string_equal(w[3], "premidend");
  assert_string_equal(w[4], "");
  assert_string_equal(w[5], "back slash");
  n = split("a \\\r\n b\r\nnext command", w, buf, sizeof buf, &rc);
  assert_int_equal(rc, HMQ_SHELL_OK);
  assert_int_equal(n, 2);
  assert_string_equal(w[1], "b");
  n = split("a b # comment 'x\nc", w, buf, sizeof buf, &rc);
  assert_int_equal(n, 2);
  n = split("a b; c", w, buf, sizeof buf, &rc);
  assert_int_equal(n, 2);
  split("a 'b", w, buf, sizeof buf, &rc);
  assert_int_equal(rc, HMQ_SHELL_UNCLOSED);
  split("abcdef", w, buf, 3, &rc);
  assert_int_equal(rc, HMQ_SHELL_NO_ROOM);
}

static char g_tmp[256];

static void make_tmp(void) {
  snprintf(g_tmp, sizeof g_tmp, "/tmp/hmq-test-options-XXXXXX");
  assert_non_null(mkdtemp(g_tmp));
}

static void write_file(const char *dir, const char *name, const char *text) {
  char p[512];
  FILE *f;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void rm_rf(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* snippet.txt as in the documentation: prose around it, no blank before one
 * backslash, single quotes, trailing blank line. */
static const char snippet[] = "Run this to receive your data:\n\n"
                              "mosquitto_sub \\\n"
                              "              --cafile ca_crt.pem \\\n"
                              "              --cert client_crt.pem \\\n"
                              "              --key client_key.pem\\\n"
                              "              --host mqtt-v2.high-mobility.com \\\n"
                              "              --port 8883 \\\n"
                              "              --qos 1 \\\n"
                              "              -V 5 \\\n"
                              "              --id '" APP "-sandbox-77' \\\n"
                              "              --disable-clean-session \\\n"
                              "              --topic '$share/" APP "/sandbox/level13/" APP "/#'\n"
                              "        \n"
                              "Don't forget: it's mosquitto_sub's job.\n";

static void test_bundle(void **state) {
  char *argv[] = {"hmq", "--bundle", g_tmp, "--host", "127.0.0.1", "--cafile", "/etc/ca.pem"};
  char expect[512];
  (void)state;
  make_tmp();
  write_file(g_tmp, "snippet.txt", snippet);
  assert_int_equal(parse(7, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_string_equal(g_o.host, "127.0.0.1"); /* explicit wins */
  assert_string_equal(g_o.cafile, "/etc/ca.pem");
  snprintf(expect, sizeof expect, "%s/client_crt.pem", g_tmp);
  assert_string_equal(g_o.cert, expect);
  snprintf(expect, sizeof expect, "%s/client_key.pem", g_tmp); /* "pem\" joined right */
  assert_string_equal(g_o.key, expect);
  assert_int_equal(g_o.port, 8883);
  assert_string_equal(g_o.client_id, APP "-sandbox-77");
  assert_string_equal(g_o.topics[0], "$share/" APP "/sandbox/level13/" APP "/#");
  assert_int_equal(g_o.persist, 1);
  assert_int_equal(g_o.session_expiry, 0xFFFFFFFFu);
  assert_int_equal(g_o.warn_count, 0);
  rm_rf(g_tmp);
}

/* The docs' placeholder id: application id and environment come from it,
 * the random part from the state dir. A bad option in the snippet is a
 * configuration error naming the file. No snippet: default file names. */
static void test_bundle_placeholder_and_errors(void **state) {
  char *argv[] = {"hmq", "--bundle", g_tmp};
  char expect[512];
  (void)state;
  make_tmp();
  write_file(g_tmp, "snippet.txt",
             "mosquitto_sub --cafile ca_crt.pem --cert c.pem --key k.pem -V 5 -c -q 1 "
             "--id '" APP "-live-<rnd-number>' "
             "--topic '$share/" APP "/live/level13/" APP "#'\n");
  assert_int_equal(parse(3, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_string_equal(g_o.app_id, APP);
  assert_string_equal(g_o.env, "live");
  assert_string_equal(g_o.client_id, "");
  assert_string_equal(g_o.topics[0], "$share/" APP "/live/level13/" APP "/#");

  write_file(g_tmp, "snippet.txt", "mosquitto_sub --cafile a --frob 1\n");
  assert_int_equal(parse(3, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_CONFIG);
  assert_non_null(strstr(g_err, "snippet.txt: unknown option '--frob'"));

  write_file(g_tmp, "snippet.txt", "mosquitto_sub --id 'open\n");
  assert_int_equal(parse(3, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_CONFIG);
  assert_non_null(strstr(g_err, "unclosed quote"));

  snprintf(expect, sizeof expect, "%s/snippet.txt", g_tmp);
  assert_int_equal(unlink(expect), 0);
  assert_int_equal(parse(3, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  snprintf(expect, sizeof expect, "%s/ca_crt.pem", g_tmp);
  assert_string_equal(g_o.cafile, expect);
  assert_true(has_warning("no snippet.txt"));
  rm_rf(g_tmp);

  assert_int_equal(parse(3, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_CONFIG);
  assert_non_null(strstr(g_err, "not a directory"));
}

/* --app-id/--env: topic and client id derived; the suffix is stable across
 * restarts; a second instance on the same state dir is refused. */
static void test_app_id_env_and_lock(void **state) {
  char sd[300];
  char *argv[] = {"hmq", "--app-id", APP, "--env", "sandbox", "--plain", "--state-dir", sd};
  hmq_instance a, b;
  char first[HMQ_OPT_ID];
  const char *suffix;
  size_t i;
  (void)state;
  make_tmp();
  snprintf(sd, sizeof sd, "%s/deep/state", g_tmp);
  assert_int_equal(parse(8, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_string_equal(g_o.topics[0], "$share/" APP "/sandbox/level13/" APP "/#");
  assert_int_equal(g_o.persist, 1);
  assert_int_equal(g_o.session_expiry, 0xFFFFFFFFu);
  assert_int_equal(hmq_instance_open(&a, &g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(strncmp(g_o.client_id, APP "-sandbox-", sizeof APP + 8), 0);
  suffix = g_o.client_id + sizeof APP + 8;
  assert_int_equal(strlen(suffix), 12);
  for (i = 0; suffix[i]; i++)
    assert_true(suffix[i] >= '0' && suffix[i] <= '9');
  assert_int_equal(hmq_opts_check_id(&g_o, g_o.client_id), 1);
  snprintf(first, sizeof first, "%s", g_o.client_id);

  /* second instance, same state dir: refused while the first holds it */
  assert_int_equal(parse(8, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(hmq_instance_open(&b, &g_o, g_err, sizeof g_err), HMQ_EXIT_CONFIG);
  assert_non_null(strstr(g_err, "already in use by another hmq"));
  assert_non_null(strstr(g_err, "--state-dir"));

  /* restart: same id */
  hmq_instance_close(&a);
  assert_int_equal(parse(8, argv), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(hmq_instance_open(&b, &g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_string_equal(g_o.client_id, first);
  hmq_instance_close(&b);
  hmq_instance_close(&b); /* twice is safe */
  rm_rf(g_tmp);
}

static void test_help_mentions_everything(void **state) {
  static const char *const must[] = {"--bundle",      "--app-id",       "--env",
                                     "--out",         "--exec",         "--format",
                                     "--dead-letter", "--state-dir",    "--dedupe",
                                     "--stats",       "--max-delay-ms", "--plain",
                                     "--connections", "--end-session",  "-C, --count",
                                     "-W, --timeout", "Exit codes",     "27"};
  char buf[8192];
  size_t i, n;
  FILE *f = tmpfile();
  (void)state;
  assert_non_null(f);
  hmq_opts_usage(f);
  rewind(f);
  n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  for (i = 0; i < sizeof must / sizeof must[0]; i++)
    assert_non_null(strstr(buf, must[i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_snippet_verbatim),
      cmocka_unit_test(test_short_forms),
      cmocka_unit_test(test_attached_values_and_defaults),
      cmocka_unit_test(test_usage_errors_name_the_flag),
      cmocka_unit_test(test_finish_errors),
      cmocka_unit_test(test_qos_warnings),
      cmocka_unit_test(test_id_topic_format_warnings),
      cmocka_unit_test(test_shell_split),
      cmocka_unit_test(test_bundle),
      cmocka_unit_test(test_bundle_placeholder_and_errors),
      cmocka_unit_test(test_app_id_env_and_lock),
      cmocka_unit_test(test_help_mentions_everything),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
