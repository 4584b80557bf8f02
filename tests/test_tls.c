/* SPDX-License-Identifier: MIT */
/*
 * Transport and link without a network: init/free safety, configuration
 * and file errors with their messages, state errors. (Handshakes, brokers
 * and reconnects are in tests/integration.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hmq/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hmq_tls t;

static void test_init_free_always_safe(void **state) {
  (void)state;
  hmq_tls_init(&t);
  hmq_tls_free(&t);
  hmq_tls_free(&t); /* twice */
  memset(&t, 0, sizeof t);
  hmq_tls_free(&t); /* zeroed, never initialised */
  hmq_tls_init(&t);
  assert_int_equal(hmq_tls_fd(&t), -1);
  assert_false(hmq_tls_is_open(&t));
  assert_string_equal(hmq_tls_errmsg(&t), "");
  hmq_tls_close(&t); /* close without a connection */
  hmq_tls_free(&t);
}

static void test_defaults(void **state) {
  (void)state;
  hmq_tls_config c;
  hmq_tls_config_default(&c);
  assert_int_equal(c.port, 8883);
  assert_int_equal(c.prefer_chacha, !hmq_tls_cpu_aes()); /* ChaCha20 first without AES-NI */
  assert_false(c.plain);
  assert_int_equal(c.connect_timeout_ms, 10000);
  hmq_link_config l;
  hmq_link_config_default(&l);
  assert_int_equal(l.backoff_initial_ms, 500);
  assert_int_equal(l.backoff_max_ms, 30000);
  assert_int_equal(l.tls.port, 8883);
}

static hmq_status setup_with(const hmq_tls_config *c) {
  hmq_tls_free(&t);
  hmq_tls_init(&t);
  hmq_status st = hmq_tls_setup(&t, c);
  fprintf(stderr, "  %s: %s\n", hmq_status_name(st), hmq_tls_errmsg(&t));
  return st;
}

static void test_config_errors(void **state) {
  (void)state;
  hmq_tls_config c;
  hmq_tls_config_default(&c);
  assert_int_equal(setup_with(&c), HMQ_ERR_ARG); /* no host */
  assert_non_null(strstr(hmq_tls_errmsg(&t), "no host"));
  c.host = "broker.invalid";
  assert_int_equal(setup_with(&c), HMQ_ERR_ARG); /* TLS without a CA */
  assert_non_null(strstr(hmq_tls_errmsg(&t), "no CA file"));
  c.ca_file = "ca.pem";
  c.cert_file = "client.pem";
  assert_int_equal(setup_with(&c), HMQ_ERR_ARG); /* cert without key */
  assert_non_null(strstr(hmq_tls_errmsg(&t), "key missing"));
  hmq_tls_free(&t);
}

static void test_file_errors_name_the_file(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  char dir[200];
  snprintf(dir, sizeof dir, "%s/hmq-unit-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  assert_non_null(mkdtemp(dir));
  char empty[256], junk[256], missing[256];
  snprintf(empty, sizeof empty, "%s/empty.pem", dir);
  snprintf(junk, sizeof junk, "%s/junk.pem", dir);
  snprintf(missing, sizeof missing, "%s/missing.pem", dir);
  FILE *f = fopen(empty, "w");
  assert_non_null(f);
  fclose(f);
  f = fopen(junk, "w");
  assert_non_null(f);
  fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n", f);
  fclose(f);

  hmq_tls_config c;
  hmq_tls_config_default(&c);
  c.host = "broker.invalid";
  c.ca_file = missing;
  assert_int_equal(setup_with(&c), HMQ_ERR_FILE);
  assert_non_null(strstr(hmq_tls_errmsg(&t), "missing.pem': No such file or directory"));
  c.ca_file = dir; /* a directory: readable as a file it is not */
  assert_int_equal(setup_with(&c), HMQ_ERR_FILE);
  assert_non_null(strstr(hmq_tls_errmsg(&t), "Is a directory"));
  c.ca_file = empty;
  assert_int_equal(setup_with(&c), HMQ_ERR_PEM);
  assert_non_null(strstr(hmq_tls_errmsg(&t), "empty.pem' is empty"));
  c.ca_file = junk;
  assert_int_equal(setup_with(&c), HMQ_ERR_PEM);
  assert_non_null(strstr(hmq_tls_errmsg(&t), "junk.pem' is not a usable PEM certificate"));
  hmq_tls_free(&t);

  unlink(empty);
  unlink(junk);
  rmdir(dir);
}

static void test_state_errors(void **state) {
  (void)state;
  hmq_tls_init(&t);
  uint8_t buf[8];
  size_t n = 99;
  assert_int_equal(hmq_tls_connect(&t, 0), HMQ_ERR_STATE); /* not set up */
  assert_int_equal(hmq_tls_read(&t, buf, sizeof buf, &n), HMQ_ERR_STATE);
  assert_int_equal(n, 0);
  assert_int_equal(hmq_tls_write(&t, buf, sizeof buf, &n), HMQ_ERR_STATE);
  assert_int_equal(hmq_tls_step(&t, 0), HMQ_ERR_STATE);
  assert_int_equal(hmq_tls_pending(&t), 0);
  assert_int_equal(hmq_tls_deadline(&t), UINT64_MAX);
  const char *ver = NULL, *suite = NULL;
  assert_int_equal(hmq_tls_ciphersuite(&t, &ver, &suite), HMQ_OK); /* no handshake yet */
  assert_string_equal(ver, "none");
  assert_string_equal(suite, "none");
  assert_int_equal(hmq_tls_ciphersuite(NULL, &ver, &suite), HMQ_ERR_ARG);
  assert_int_equal(hmq_tls_ciphersuite(&t, NULL, &suite), HMQ_ERR_ARG);
  assert_int_equal(hmq_tls_ciphersuite(&t, &ver, NULL), HMQ_ERR_ARG);
  hmq_tls_config c;
  hmq_tls_config_default(&c);
  c.host = "127.0.0.1";
  c.plain = true;
  assert_int_equal(hmq_tls_setup(&t, &c), HMQ_OK);
  assert_int_equal(hmq_tls_setup(&t, &c), HMQ_ERR_STATE); /* once per object */
  hmq_tls_free(&t);
}

static void test_link_start_reports_setup_error(void **state) {
  (void)state;
  static hmq_link l;
  static uint8_t rx[1024], tx[1024];
  static hmq_client_slot slots[16];
  hmq_link_config lc;
  hmq_link_config_default(&lc);
  lc.tls.host = "127.0.0.1";
  lc.tls.ca_file = "/nonexistent/hmq/ca.pem";
  hmq_client_config cc;
  hmq_client_config_default(&cc);
  cc.client_id = hmq_str_c("unit");
  cc.receive_max = 16;
  hmq_client_mem mem = {rx, sizeof rx, tx, sizeof tx, slots, 16, NULL, 0};
  hmq_link_init(&l, &lc, &cc, &mem);
  assert_int_equal(hmq_link_get_state(&l), HMQ_LINK_IDLE);
  assert_int_equal(hmq_link_start(&l, 0), HMQ_ERR_FILE);
  assert_non_null(strstr(hmq_link_errmsg(&l), "/nonexistent/hmq/ca.pem"));
  assert_int_equal(hmq_link_get_state(&l), HMQ_LINK_DONE);
  int fd;
  short ev;
  hmq_link_poll_fd(&l, &fd, &ev);
  assert_int_equal(fd, -1);
  hmq_link_event e;
  assert_int_equal(hmq_link_next_event(&l, 0, &e), HMQ_WANT_READ);
  assert_int_equal(hmq_link_start(&l, 0), HMQ_ERR_STATE);
  assert_string_equal(hmq_link_state_name(HMQ_LINK_BACKOFF), "BACKOFF");
  hmq_link_free(&l);
  hmq_link_free(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_free_always_safe),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_file_errors_name_the_file),
      cmocka_unit_test(test_state_errors),
      cmocka_unit_test(test_link_start_reports_setup_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
