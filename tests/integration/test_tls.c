/* SPDX-License-Identifier: MIT */
/*
 * Transport against a real mosquitto with mutual TLS: a good connect, and
 * every configuration / certificate failure with its own status, a message
 * naming the culprit, no retry loop and bounded time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hmq_h_broker broker;

static int group_setup(void **state) {
  (void)state;
  return hmq_h_setup_start(&broker);
}

static int group_teardown(void **state) {
  (void)state;
  hmq_h_cleanup(&broker);
  return 0;
}

static hmq_h_client *new_client(const char *id) {
  hmq_h_client *c = hmq_h_client_new(&broker, id, NULL, false);
  assert_non_null(c);
  return c;
}

static bool is_down(void *ctx) {
  return ((hmq_h_client *)ctx)->downs > 0;
}

static bool is_connected(void *ctx) {
  return ((hmq_h_client *)ctx)->connacks > 0;
}

/* Run until the first DOWN event; it must come within 5 s and be final. */
static void expect_final(hmq_h_client *c, hmq_status want, const char *needle) {
  uint64_t t0 = hmq_h_now();
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 5000, is_down, c));
  assert_true(hmq_h_now() - t0 < 5000);
  fprintf(stderr, "  %s: %s\n", hmq_status_name(c->last_down), c->last_msg);
  assert_int_equal(c->last_down, want);
  assert_true(c->last_final);
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_DONE);
  assert_int_equal(c->connacks, 0);
  assert_non_null(strstr(c->last_msg, needle));
  /* No retry loop: nothing more happens. */
  hmq_h_run(cs, 1, 300, NULL, NULL);
  assert_int_equal(c->downs, 1);
  assert_int_equal(c->retries, 0);
  hmq_h_client_free(c);
}

static void expect_setup_error(hmq_h_client *c, hmq_status want, const char *needle) {
  hmq_status st = hmq_h_client_start(c);
  fprintf(stderr, "  %s: %s\n", hmq_status_name(st), c->last_msg);
  assert_int_equal(st, want);
  assert_non_null(strstr(c->last_msg, needle));
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_DONE);
  hmq_link_free(&c->link);
  free(c);
}

static void test_mutual_tls_connects(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-ok");
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 5000, is_connected, c));
  assert_int_equal(c->downs, 0);
  const char *suite = mbedtls_ssl_get_ciphersuite(&c->link.tls.ssl);
  fprintf(stderr, "  ciphersuite %s, %s\n", suite, mbedtls_ssl_get_version(&c->link.tls.ssl));
  /* We offer AES-GCM first on CPUs with AES-NI, ChaCha20-Poly1305 first
   * without; mosquitto (OpenSSL) picks by its own preference, so only the
   * offered order is ours to check. */
  const char *first = mbedtls_ssl_get_ciphersuite_name(c->link.tls.suites[0]);
  fprintf(stderr, "  first offered: %s\n", first);
  assert_non_null(strstr(first, hmq_tls_cpu_aes() ? "GCM" : "CHACHA20-POLY1305"));
  hmq_h_client_close(c);
  assert_int_equal(hmq_link_get_state(&c->link), HMQ_LINK_DONE);
  free(c);
}

static void test_aes_when_chacha_not_preferred(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-aes");
  c->lcfg.tls.prefer_chacha = false;
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 5000, is_connected, c));
  const char *suite = mbedtls_ssl_get_ciphersuite(&c->link.tls.ssl);
  fprintf(stderr, "  ciphersuite %s\n", suite);
  /* AES-GCM offered before every ChaCha20-Poly1305 suite, and chosen */
  assert_null(strstr(mbedtls_ssl_get_ciphersuite_name(c->link.tls.suites[0]), "CHACHA"));
  assert_non_null(strstr(suite, "GCM"));
  hmq_h_client_free(c);
}

/* The whole offered list is two runs: every suite of the preferred AEAD
 * family, then every other one (none of either left out or interleaved). */
static void assert_family_first(const int *suites, bool chacha_first) {
  size_t n = 0, firsts = 0;
  bool in_first_run = true;
  for (; suites[n]; n++) {
    bool chacha = strstr(mbedtls_ssl_get_ciphersuite_name(suites[n]), "CHACHA20-POLY1305") != NULL;
    if (chacha == chacha_first) {
      assert_true(in_first_run); /* no preferred suite after a non-preferred one */
      firsts++;
    } else {
      in_first_run = false;
    }
  }
  assert_true(firsts > 0);
  assert_true(firsts < n);
}

static void test_chacha_first_when_preferred(void **state) {
  (void)state;
  for (int pref = 0; pref < 2; pref++) {
    hmq_h_client *c = new_client(pref ? "tls-chacha-first" : "tls-aes-first");
    c->lcfg.tls.prefer_chacha = pref == 1;
    assert_int_equal(hmq_h_client_start(c), HMQ_OK);
    hmq_h_client *cs[1] = {c};
    assert_true(hmq_h_run(cs, 1, 5000, is_connected, c));
    assert_family_first(c->link.tls.suites, pref == 1);
    hmq_h_client_free(c);
  }
}

static void test_wrong_ca(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-wrong-ca");
  hmq_h_pki(&broker, "other-ca.crt", c->ca, sizeof c->ca);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  expect_final(c, HMQ_ERR_CERT_UNTRUSTED, "other-ca.crt");
}

static void test_wrong_host_name(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-wrong-name");
  c->lcfg.tls.server_name = "broker.example.org";
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  expect_final(c, HMQ_ERR_CERT_NAME,
               "'localhost, IP:127.0.0.1', not for the expected name 'broker.example.org'");
}

static void test_client_cert_from_other_ca(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-wrong-client");
  hmq_h_pki(&broker, "other-client.crt", c->cert, sizeof c->cert);
  hmq_h_pki(&broker, "other-client.key", c->key, sizeof c->key);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  expect_final(c, HMQ_ERR_CLIENT_CERT, "rejected our client certificate");
}

static void test_missing_key_file(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-no-key");
  snprintf(c->key, sizeof c->key, "%s/pki/does-not-exist.key", broker.dir);
  expect_setup_error(c, HMQ_ERR_FILE, "does-not-exist.key': No such file or directory");
}

static void test_missing_ca_file(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-no-ca");
  snprintf(c->ca, sizeof c->ca, "%s/pki/nope-ca.crt", broker.dir);
  expect_setup_error(c, HMQ_ERR_FILE, "CA file");
}

static void test_ca_not_pem(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-notpem");
  hmq_h_pki(&broker, "notpem.crt", c->ca, sizeof c->ca);
  expect_setup_error(c, HMQ_ERR_PEM, "notpem.crt' is not a usable PEM certificate");
}

static void test_key_not_pem(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-key-notpem");
  hmq_h_pki(&broker, "notpem.crt", c->key, sizeof c->key);
  expect_setup_error(c, HMQ_ERR_PEM, "not a usable PEM private key");
}

static void test_key_mismatch(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-mismatch");
  hmq_h_pki(&broker, "other-client.key", c->key, sizeof c->key);
  expect_setup_error(c, HMQ_ERR_KEY_MISMATCH, "does not belong to certificate");
}

static void test_refused_port_retries(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-refused");
  /* With the broker stopped its port is closed for sure. */
  c->lcfg.backoff_initial_ms = 50;
  assert_int_equal(hmq_h_stop(&broker), 0);
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  hmq_h_client *cs[1] = {c};
  assert_true(hmq_h_run(cs, 1, 3000, is_down, c));
  char want[80];
  snprintf(want, sizeof want, "connection refused by 127.0.0.1:%u", (unsigned)broker.port);
  fprintf(stderr, "  %s: %s\n", hmq_status_name(c->last_down), c->last_msg);
  assert_int_equal(c->last_down, HMQ_ERR_CONNECT);
  assert_string_equal(c->last_msg, want);
  assert_false(c->last_final);
  /* Transient: it keeps retrying (with backoff) ... */
  hmq_h_run(cs, 1, 600, NULL, NULL);
  assert_true(c->retries >= 2);
  /* ... and connects by itself once the broker is back. */
  assert_int_equal(hmq_h_start(&broker), 0);
  assert_true(hmq_h_run(cs, 1, 5000, is_connected, c));
  hmq_h_client_free(c);
}

/* A broker that accepts TCP but never answers (SIGSTOP: the kernel still
 * completes the TCP handshake): the TLS handshake times out, transiently. */
static void test_handshake_timeout(void **state) {
  (void)state;
  hmq_h_client *c = new_client("tls-timeout");
  c->lcfg.tls.connect_timeout_ms = 500;
  c->lcfg.backoff_initial_ms = 5000;
  assert_int_equal(hmq_h_pause(&broker), 0);
  uint64_t t0 = hmq_h_now();
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  hmq_h_client *cs[1] = {c};
  bool down = hmq_h_run(cs, 1, 3000, is_down, c);
  uint64_t took = hmq_h_now() - t0;
  assert_int_equal(hmq_h_resume(&broker), 0);
  assert_true(down);
  fprintf(stderr, "  after %llu ms: %s\n", (unsigned long long)took, c->last_msg);
  assert_int_equal(c->last_down, HMQ_ERR_TIMEOUT);
  assert_non_null(strstr(c->last_msg, "timed out after 500 ms"));
  assert_false(c->last_final);
  assert_true(took >= 500 && took < 1500);
  hmq_h_client_free(c);
}

/* Broker restarted with other server certificates. */
static void with_server_cert(const char *name) {
  hmq_h_stop(&broker);
  broker.server_cert = name;
  assert_int_equal(hmq_h_start(&broker), 0);
}

static void test_expired_server_cert(void **state) {
  (void)state;
  with_server_cert("expired.crt");
  hmq_h_client *c = new_client("tls-expired");
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  expect_final(c, HMQ_ERR_CERT_EXPIRED, "expired");
  with_server_cert("server.crt");
}

static void test_server_cert_without_our_name(void **state) {
  (void)state;
  with_server_cert("wrongname.crt");
  hmq_h_client *c = new_client("tls-wrongname-cert");
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  expect_final(c, HMQ_ERR_CERT_NAME, "'wrong.example.com', not for the expected name 'localhost'");
  with_server_cert("server.crt");
}

static void test_server_cert_from_other_ca(void **state) {
  (void)state;
  with_server_cert("other-server.crt");
  hmq_h_client *c = new_client("tls-other-server");
  assert_int_equal(hmq_h_client_start(c), HMQ_OK);
  expect_final(c, HMQ_ERR_CERT_UNTRUSTED, "not signed by the CA");
  with_server_cert("server.crt");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mutual_tls_connects),
      cmocka_unit_test(test_aes_when_chacha_not_preferred),
      cmocka_unit_test(test_chacha_first_when_preferred),
      cmocka_unit_test(test_wrong_ca),
      cmocka_unit_test(test_wrong_host_name),
      cmocka_unit_test(test_client_cert_from_other_ca),
      cmocka_unit_test(test_missing_key_file),
      cmocka_unit_test(test_missing_ca_file),
      cmocka_unit_test(test_ca_not_pem),
      cmocka_unit_test(test_key_not_pem),
      cmocka_unit_test(test_key_mismatch),
      cmocka_unit_test(test_expired_server_cert),
      cmocka_unit_test(test_server_cert_without_our_name),
      cmocka_unit_test(test_server_cert_from_other_ca),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_refused_port_retries),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
