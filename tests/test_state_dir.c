/* SPDX-License-Identifier: MIT */
/*
 * The state directory is hmq's own: files in it are never opened through a
 * symbolic link, are created 0600 (the directory 0700) whatever the umask,
 * a directory another user owns or others can write into is refused, and so
 * is --out, --dead-letter or --sqlite pointing into it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/dedupe.h"
#include "pipeline/dedupe_store.h"
#include "pipeline/instance.h"
#include "pipeline/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APP "879577a3-b25f-4a28-8c0e-7effcc7682a2"

static char g_tmp[256];
static char g_err[1024];
static hmq_opts g_o;

static const char *path(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", g_tmp, name);
  return p[k];
}

static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/hmq-test-state-XXXXXX");
  if (!mkdtemp(g_tmp))
    return -1;
  umask(0); /* the modes below must come from hmq, not from the umask */
  return 0;
}

static int teardown(void **state) {
  char cmd[600];
  (void)state;
  umask(022);
  snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", g_tmp, g_tmp);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *p, const char *text) {
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

/* Options for --app-id/--env with state dir <tmp>/<dir>, finished. */
static void opts_for(const char *dir) {
  char *argv[] = {"hmq", "--app-id", APP, "--env", "sandbox", "--plain", "--state-dir", NULL};
  argv[7] = (char *)path(dir);
  hmq_opts_init(&g_o);
  assert_int_equal(hmq_opts_parse(&g_o, 8, argv, g_err, sizeof g_err), HMQ_EXIT_OK);
  assert_int_equal(hmq_opts_finish(&g_o, g_err, sizeof g_err), HMQ_EXIT_OK);
}

static int open_state(void) {
  hmq_instance in;
  int rc;
  g_err[0] = '\0';
  rc = hmq_instance_open(&in, &g_o, g_err, sizeof g_err);
  hmq_instance_close(&in);
  return rc;
}

static unsigned mode_of(const char *p) {
  struct stat st;
  assert_int_equal(lstat(p, &st), 0);
  return (unsigned)(st.st_mode & 07777);
}

static void assert_err(const char *needle) {
  if (!strstr(g_err, needle))
    fail_msg("error '%s' lacks '%s'", g_err, needle);
}

/* Under umask 0: directory 0700, lock and client-suffix 0600, and the
 * dedupe log and snapshot 0600. */
static void test_created_private(void **state) {
  hmq_dedupe set;
  hmq_dstore st;
  void *mem;
  (void)state;
  opts_for("a/b/sd");
  assert_int_equal(open_state(), HMQ_EXIT_OK);
  assert_int_equal(mode_of(path("a")), 0700);
  assert_int_equal(mode_of(path("a/b/sd")), 0700);
  assert_int_equal(mode_of(path("a/b/sd/lock")), 0600);
  assert_int_equal(mode_of(path("a/b/sd/client-suffix")), 0600);
  mem = malloc(hmq_dedupe_mem_size(16));
  assert_non_null(mem);
  hmq_dedupe_init(&set, mem, hmq_dedupe_mem_size(16), 16);
  assert_int_equal(hmq_dstore_open(&st, path("a/b/sd"), &set, 4, g_err, sizeof g_err), HMQ_OK);
  hmq_dstore_close(&st);
  assert_int_equal(mode_of(path("a/b/sd/dedupe.log")), 0600);
  free(mem);
}

/* A lock file or client-suffix that is a symbolic link is refused, and
 * the file it points to is neither read nor written. */
static void test_symlinks_refused(void **state) {
  (void)state;
  assert_int_equal(mkdir(path("sd"), 0700), 0);
  write_file(path("victim"), "keep me\n");
  assert_int_equal(symlink(path("victim"), path("sd/lock")), 0);
  opts_for("sd");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("lock");
  assert_err("symbolic link");
  assert_int_equal(unlink(path("sd/lock")), 0);

  /* a planted suffix behind a link would choose our client id */
  write_file(path("planted"), "999999999999\n");
  assert_int_equal(symlink(path("planted"), path("sd/client-suffix")), 0);
  opts_for("sd");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("client-suffix");
  assert_err("symbolic link");
  assert_null(strstr(g_o.client_id, "999999999999"));
  assert_int_equal(unlink(path("sd/client-suffix")), 0);

  /* the dedupe log */
  {
    hmq_dedupe set;
    hmq_dstore st;
    void *mem = malloc(hmq_dedupe_mem_size(16));
    FILE *f;
    char buf[32] = "";
    assert_non_null(mem);
    hmq_dedupe_init(&set, mem, hmq_dedupe_mem_size(16), 16);
    assert_int_equal(symlink(path("victim"), path("sd/dedupe.log")), 0);
    assert_int_not_equal(hmq_dstore_open(&st, path("sd"), &set, 4, g_err, sizeof g_err), HMQ_OK);
    free(mem);
    f = fopen(path("victim"), "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "keep me\n");
  }
  /* hmq itself stops earlier, with a state-dir error (exit 3) naming it */
  opts_for("sd");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("dedupe.log is a symbolic link");
  assert_int_equal(unlink(path("sd/dedupe.log")), 0);
  assert_int_equal(mkdir(path("sd/dedupe.log"), 0700), 0);
  opts_for("sd");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("dedupe.log is a directory");
  assert_int_equal(rmdir(path("sd/dedupe.log")), 0);
  opts_for("sd");
  assert_int_equal(open_state(), HMQ_EXIT_OK);
}

/* Group- or world-writable state directories are refused, named. */
static void test_writable_by_others_refused(void **state) {
  (void)state;
  assert_int_equal(mkdir(path("g"), 0770), 0);
  opts_for("g");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("group-writable");
  assert_err(path("g"));
  assert_int_equal(mkdir(path("w"), 0703), 0);
  opts_for("w");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("world-writable");
  /* no state file was made in either */
  assert_int_equal(access(path("g/lock"), F_OK), -1);
  assert_int_equal(access(path("w/lock"), F_OK), -1);
}

/* A directory owned by another user is refused (needs root to chown). */
static void test_other_owner_refused(void **state) {
  (void)state;
  if (geteuid() != 0) {
    print_message("skipped: chown to another user needs root\n");
    skip();
  }
  assert_int_equal(mkdir(path("o"), 0700), 0);
  assert_int_equal(chown(path("o"), 65534, 65534), 0);
  opts_for("o");
  assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
  assert_err("owned by uid 65534");
}

/* --out, --dead-letter and --sqlite inside the state dir are refused;
 * beside it they are fine. */
static void test_outputs_inside_refused(void **state) {
  static const char *const flags[] = {"--out", "--dead-letter", "--sqlite"};
  size_t i;
  (void)state;
  assert_int_equal(mkdir(path("sd"), 0700), 0);
  assert_int_equal(mkdir(path("sd/sub"), 0700), 0);
  for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    char *argv[] = {"hmq", (char *)flags[i], NULL};
    int k;
    for (k = 0; k < 3; k++) {
      const char *target = k == 0 ? path("sd/data.ndjson") : k == 1 ? path("sd/sub/x") : NULL;
      char dotted[600];
      if (!target) { /* the same directory spelled with .. */
        snprintf(dotted, sizeof dotted, "%s/sd/sub/../out", g_tmp);
        target = dotted;
      }
      opts_for("sd");
      argv[2] = (char *)target;
      assert_int_equal(hmq_opts_parse(&g_o, 3, argv, g_err, sizeof g_err), HMQ_EXIT_OK);
      assert_int_equal(open_state(), HMQ_EXIT_CONFIG);
      assert_err(flags[i]);
      assert_err("inside the state dir");
    }
    opts_for("sd");
    argv[2] = (char *)path("beside.ndjson");
    assert_int_equal(hmq_opts_parse(&g_o, 3, argv, g_err, sizeof g_err), HMQ_EXIT_OK);
    assert_int_equal(open_state(), HMQ_EXIT_OK);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_created_private, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writable_by_others_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_owner_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_outputs_inside_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
