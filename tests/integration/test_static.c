/* SPDX-License-Identifier: MIT */
/*
 * The `hmq` program's TLS as built (the dynamic build on the system
 * mbedTLS, or the static musl + mbedTLS 3.6 one from scripts/static when
 * HMQ_IT_HMQ names it):
 *
 *  - the static binary in an empty root (chroot: only the binary and the
 *    three PEM files, no libc, no /etc, no /dev) receives every message
 *    from the test broker over mutual TLS by IP address (--host 127.0.0.1,
 *    the server certificate carries IP:127.0.0.1); skipped when no static
 *    binary was built or chroot is not possible here;
 *  - TLS 1.3 with a broker that offers it (mbedTLS 3.6), TLS 1.2 with a
 *    broker capped at 1.2; `-d` names the version and suite;
 *  - --host 127.0.0.1 against a certificate with that IP SAN connects on
 *    mbedTLS 3.6; against one without, a clear error; on mbedTLS 2.28
 *    (which cannot check IP SANs) the error says so.
 * What the build can do is read from `hmq --version`.
 */
#include "e2e.h"

static char static_hmq[512];

/* Output of `<hmq> --version` into out. */
static void version_of(const char *hmq, char *out, size_t cap) {
  char cmd[700];
  FILE *p;
  size_t n;
  snprintf(cmd, sizeof cmd, "'%s' --version", hmq);
  p = popen(cmd, "r");
  assert_non_null(p);
  n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  pclose(p);
}

static int is_mbed3(const fixture *f) {
  char v[8192];
  version_of(f->hmq, v, sizeof v);
  return strstr(v, "TLS versions: 1.2 1.3") != NULL;
}

/* The broker's certificate without the IP address SAN (DNS:localhost
 * only), signed by the test CA: pki/noip.crt. */
static void make_noip_cert(const fixture *f) {
  char cmd[2000];
  snprintf(cmd, sizeof cmd,
           "cd '%s/pki' && printf '[ext]\\nbasicConstraints=CA:FALSE\\n"
           "keyUsage=critical,digitalSignature,keyAgreement\\nextendedKeyUsage=serverAuth\\n"
           "subjectAltName=DNS:localhost\\n' > noip.ext && openssl x509 -req -in server.csr "
           "-CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile noip.ext "
           "-extensions ext -out noip.crt 2>/dev/null",
           f->b.dir);
  assert_int_equal(system(cmd), 0);
}

/* Like e2e.h's setup, but the broker starts in each test (certificate or
 * TLS version first). */
static int setup_static(void **state) {
  fixture *f = calloc(1, sizeof *f);
  char ca[300], cert[300], key[300];
  if (!f || hmq_h_setup(&f->b) != 0)
    return -1;
  current = f;
  *state = f;
  if (hmq_h_find_prog("hmq", f->hmq, sizeof f->hmq) != 0 ||
      hmq_h_find_prog("hmq-sim", f->sim, sizeof f->sim) != 0)
    return -1;
  snprintf(f->tls, sizeof f->tls, "--cafile '%s' --cert '%s' --key '%s' --port %u",
           hmq_h_pki(&f->b, "ca.crt", ca, sizeof ca),
           hmq_h_pki(&f->b, "client.crt", cert, sizeof cert),
           hmq_h_pki(&f->b, "client.key", key, sizeof key), (unsigned)f->b.port);
  return 0;
}

/* hmq -d by `host`, -C count, output into <dir>/out-<tag>; returns pid. */
static pid_t run_by(const fixture *f, const char *tag, const char *host, long count) {
  char cmd[4096], log[64];
  snprintf(cmd, sizeof cmd,
           "exec '%s' %s --host %s -V 5 -q 1 -c --id " APP
           "-sandbox-%s --topic 'sandbox/level13/" APP
           "/#' --state-dir '%s/sd-%s' -d -W 40 -C %ld --out '%s/out-%s'",
           f->hmq, f->tls, host, tag, f->b.dir, tag, count, f->b.dir, tag);
  snprintf(log, sizeof log, "%s.log", tag);
  return spawn(cmd, -1, log);
}

/* Publish n envelopes to a running hmq (tag) and check it wrote all n. */
static void deliver(fixture *f, const char *tag, pid_t pid, long n) {
  char log[64], out[64];
  text t;
  snprintf(log, sizeof log, "%s.log", tag);
  snprintf(out, sizeof out, "out-%s", tag);
  wait_log(f, log, "subscribed to", 1, 15000);
  sim_write(f, "pub.txt", n, 7);
  publish_file(f, "pub.txt");
  assert_int_equal(wait_exit(pid, 30000), 0);
  t = load(f, out);
  assert_int_equal(distinct_ids(&t), n);
  text_free(&t);
}

static void test_tls13_when_offered(void **state) {
  fixture *f = *state;
  assert_int_equal(hmq_h_start(&f->b), 0);
  pid_t pid = run_by(f, "t13", "localhost", 50);
  deliver(f, "t13", pid, 50);
  if (is_mbed3(f))
    wait_log(f, "t13.log", "TLS established: TLSv1.3 TLS1-3-", 1, 1000);
  else
    wait_log(f, "t13.log", "TLS established: TLSv1.2 TLS-ECDHE-", 1, 1000);
}

static void test_tls12_when_capped(void **state) {
  fixture *f = *state;
  /* mosquitto's tls_version is a minimum; OpenSSL's own configuration caps
   * the broker at 1.2 (read when its TLS library initialises). */
  char conf[400], cmd[900];
  snprintf(conf, sizeof conf, "%s/openssl-tls12.cnf", f->b.dir);
  snprintf(cmd, sizeof cmd,
           "printf 'openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\n"
           "MaxProtocol = TLSv1.2\n' > '%s'",
           conf);
  assert_int_equal(system(cmd), 0);
  setenv("OPENSSL_CONF", conf, 1);
  int rc = hmq_h_start(&f->b);
  unsetenv("OPENSSL_CONF");
  assert_int_equal(rc, 0);
  pid_t pid = run_by(f, "t12", "localhost", 50);
  deliver(f, "t12", pid, 50);
  wait_log(f, "t12.log", "TLS established: TLSv1.2 TLS-ECDHE-ECDSA-WITH-", 1, 1000);
}

static void test_ip_san_matches(void **state) {
  fixture *f = *state;
  assert_int_equal(hmq_h_start(&f->b), 0); /* server.crt: DNS:localhost, IP:127.0.0.1 */
  pid_t pid = run_by(f, "ip", "127.0.0.1", 20);
  if (is_mbed3(f)) {
    deliver(f, "ip", pid, 20);
  } else {
    wait_log(f, "ip.log", "cannot check IP address SANs", 1, 15000);
    wait_exit(pid, 1);
  }
}

static void test_ip_san_missing(void **state) {
  fixture *f = *state;
  make_noip_cert(f);
  f->b.server_cert = "noip.crt";
  assert_int_equal(hmq_h_start(&f->b), 0);
  pid_t pid = run_by(f, "noip", "127.0.0.1", 20);
  wait_log(f, "noip.log",
           is_mbed3(f) ? "server certificate is for 'localhost', which does not include the IP "
                         "address '127.0.0.1'"
                       : "cannot check IP address SANs",
           1, 15000);
  wait_exit(pid, 1);
}

/* The static binary inside an empty root: chroot as root, else a user
 * namespace (unshare -r) where the kernel allows one. */
static void test_empty_root(void **state) {
  fixture *f = *state;
  char root[400], cmd[4096];
  const char *files[] = {"ca.crt", "client.crt", "client.key"};
  size_t i;
  if (!static_hmq[0]) {
    fprintf(stderr, "no static hmq (scripts/static, or HMQ_IT_HMQ): skipped\n");
    skip();
  }
  snprintf(root, sizeof root, "%s/root", f->b.dir);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/hmq'", root, static_hmq, root);
  assert_int_equal(system(cmd), 0);
  for (i = 0; i < 3; i++) {
    char src[300];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", hmq_h_pki(&f->b, files[i], src, sizeof src), root,
             files[i]);
    assert_int_equal(system(cmd), 0);
  }
  const char *wrap = geteuid() == 0 ? "chroot" : "unshare -r chroot";
  snprintf(cmd, sizeof cmd, "%s '%s' /hmq --version >/dev/null 2>&1", wrap, root);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot %s here: skipped\n", wrap);
    skip();
  }
  assert_int_equal(hmq_h_start(&f->b), 0);
  /* nothing but the binary and the PEM files in the root */
  snprintf(cmd, sizeof cmd,
           "test \"$(ls -A '%s' | sort | tr '\\n' ' ')\" = "
           "'ca.crt client.crt client.key hmq '",
           root);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd,
           "exec %s '%s' /hmq --cafile /ca.crt --cert /client.crt --key /client.key "
           "--host 127.0.0.1 --port %u -V 5 -q 1 -c --id " APP
           "-sandbox-root --topic 'sandbox/level13/" APP "/#' --state-dir /state -d -W 40 -C 200",
           wrap, root, (unsigned)f->b.port);
  int p[2];
  make_pipe(p);
  pid_t pid = spawn(cmd, p[1], "root.log");
  close(p[1]);
  wait_log(f, "root.log", "subscribed to", 1, 15000);
  sim_write(f, "pub.txt", 200, 11);
  publish_file(f, "pub.txt");
  text t = {0};
  text_add(&t, "", 0);
  drain(p[0], &t, hmq_h_now() + 30000);
  close(p[0]);
  assert_int_equal(wait_exit(pid, 10000), 0);
  text_split(&t);
  assert_int_equal(distinct_ids(&t), 200);
  text_free(&t);
  wait_log(f, "root.log", "TLS established: TLSv1.3", 1, 1000);
}

int main(void) {
  const char *s = getenv("HMQ_IT_HMQ");
  if (s && s[0])
    snprintf(static_hmq, sizeof static_hmq, "%s", s);
  else
    snprintf(static_hmq, sizeof static_hmq, "%s/build/static/hmq", HMQ_SOURCE_DIR);
  if (access(static_hmq, X_OK) != 0)
    static_hmq[0] = '\0';
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tls13_when_offered, setup_static, teardown),
      cmocka_unit_test_setup_teardown(test_tls12_when_capped, setup_static, teardown),
      cmocka_unit_test_setup_teardown(test_ip_san_matches, setup_static, teardown),
      cmocka_unit_test_setup_teardown(test_ip_san_missing, setup_static, teardown),
      cmocka_unit_test_setup_teardown(test_empty_root, setup_static, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
