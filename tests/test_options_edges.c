/* SPDX-License-Identifier: MIT */
/*
 * Small edges of the command line and the bundle: --end-session with an
 * output option is refused (it receives nothing, the option would be
 * ignored), and a snippet.txt with a NUL byte is an error instead of a
 * command cut off at the NUL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/bundle.h"
#include "pipeline/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hmq_opts g_o;
static char g_err[1024];

static void test_end_session_refuses_outputs(void **state) {
  static const char *const flags[][2] = {{"--out", "f"},         {"--exec", "cat"},
                                         {"--dead-letter", "d"}, {"--sqlite", "db"},
                                         {"--postgres", "x=y"},  {"--count", "5"}};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    char *argv[] = {"hmq",
                    "--id",
                    "x",
                    "-t",
                    "a",
                    "--plain",
                    "--end-session",
                    (char *)flags[i][0],
                    (char *)flags[i][1]};
    hmq_opts_init(&g_o);
    assert_int_equal(hmq_opts_parse(&g_o, 9, argv, g_err, sizeof g_err), HMQ_EXIT_OK);
    assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_USAGE);
    if (!strstr(g_err, "--end-session") || !strstr(g_err, flags[i][0]))
      fail_msg("'%s' lacks --end-session or %s", g_err, flags[i][0]);
  }
  {
    char *argv[] = {"hmq", "--id", "x", "-t", "a", "--plain", "--end-session"};
    hmq_opts_init(&g_o);
    assert_int_equal(hmq_opts_parse(&g_o, 7, argv, g_err, sizeof g_err), HMQ_EXIT_OK);
    assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
  }
}

static void test_snippet_with_nul_is_an_error(void **state) {
  static const char text[] = "mosquitto_sub --host h --id 'abc\0def' --topic t\n";
  char dir[] = "/tmp/hmq-test-edges-XXXXXX", p[128], cmd[160];
  char *argv[] = {"hmq", "--bundle", dir};
  FILE *f;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(p, sizeof p, "%s/snippet.txt", dir);
  f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
  assert_int_equal(fclose(f), 0);
  hmq_opts_init(&g_o);
  assert_int_equal(hmq_opts_parse(&g_o, 3, argv, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(hmq_bundle_apply(&g_o, g_err, sizeof g_err), HMQ_EXIT_CONFIG);
  if (!strstr(g_err, "NUL byte at offset 32") || !strstr(g_err, "snippet.txt"))
    fail_msg("'%s'", g_err);
  assert_string_equal(g_o.client_id, ""); /* not the truncated "abc" */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_end_session_refuses_outputs),
      cmocka_unit_test(test_snippet_with_nul_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
