/* SPDX-License-Identifier: MIT */
/*
 * Transport setup: defaults, RNG seeding, loading the CA / client
 * certificate / key with messages a person can act on, and the mbedTLS
 * client configuration (verification always required).
 */
#define _DEFAULT_SOURCE /* getrandom() in musl and glibc */

#include "tls/compat.h"
#include "tls/net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#if defined(MBEDTLS_ENTROPY_HARDWARE_ALT)
/*
 * Entropy for mbedTLS builds configured with MBEDTLS_ENTROPY_HARDWARE_ALT
 * (hmq's own 3.6 configuration, cmake/mbedtls/mbedtls_config.h). mbedTLS
 * uses getrandom(2) only when built against glibc and otherwise opens
 * /dev/urandom, which a bare root (nothing but the static hmq and its PEM
 * files) does not have. getrandom(2) needs no file; it blocks only until
 * the kernel's pool is first initialised at boot. Defined here, next to
 * the code that seeds the RNG, so that static links always pull it in.
 */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen) {
  (void)data;
  size_t got = 0;
  while (got < len) {
    ssize_t k = getrandom(output + got, len - got, 0);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    }
    got += (size_t)k;
  }
  *olen = got;
  return 0;
}
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

bool hmq_tls_cpu_aes(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return false;
  /* CPUID.1:ECX bit 25 AES-NI, bit 1 PCLMULQDQ (the GCM multiply) */
  return (c & (1u << 25)) && (c & (1u << 1));
#else
  return false;
#endif
}

void hmq_tls_config_default(hmq_tls_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->port = 8883;
  /* AES-GCM first where the CPU has AES-NI and PCLMUL (and mbedTLS uses
   * them), ChaCha20-Poly1305 first where it does not. */
#if defined(MBEDTLS_AESNI_C)
  cfg->prefer_chacha = !hmq_tls_cpu_aes();
#else
  cfg->prefer_chacha = true;
#endif
  cfg->connect_timeout_ms = 10000;
}

size_t hmq_tls_build_info(char *out, size_t cap) {
  char ver[32] = MBEDTLS_VERSION_STRING;
#if defined(MBEDTLS_VERSION_C)
  mbedtls_version_get_string(ver); /* the library linked, not the headers */
#endif
  size_t used = 0;
  int k;
#define HMQ_ADD(...)                                                                               \
  do {                                                                                             \
    k = snprintf(out + used, used < cap ? cap - used : 0, __VA_ARGS__);                            \
    if (k > 0)                                                                                     \
      used += (size_t)k;                                                                           \
  } while (0)
  if (cap > 0)
    out[0] = '\0';
  HMQ_ADD("mbedTLS %s%s\n", ver, hmq_mbed_checks_ip_san() ? "" : " (cannot check IP SANs)");
  HMQ_ADD("TLS versions: %s\n", hmq_mbed_tls_versions());
  hmq_tls_config d;
  hmq_tls_config_default(&d);
  HMQ_ADD("AES-NI: %s (%s first)\n", hmq_tls_cpu_aes() ? "yes" : "no",
          d.prefer_chacha ? "ChaCha20-Poly1305" : "AES-GCM");
  HMQ_ADD("TLS suites:");
  for (const int *p = mbedtls_ssl_list_ciphersuites(); *p; p++) {
    const char *name = mbedtls_ssl_get_ciphersuite_name(*p);
    if (name && !strstr(name, "-PSK-")) /* hmq never configures a pre-shared key */
      HMQ_ADD(" %s", name);
  }
  HMQ_ADD("\n");
#undef HMQ_ADD
  return used;
}

void hmq_tls_init(hmq_tls *t) {
  memset(t, 0, sizeof *t);
  t->fd = -1;
  hmq_tls_config_default(&t->cfg);
  mbedtls_entropy_init(&t->entropy);
  mbedtls_ctr_drbg_init(&t->drbg);
  mbedtls_x509_crt_init(&t->ca);
  mbedtls_x509_crt_init(&t->cert);
  mbedtls_pk_init(&t->key);
  mbedtls_ssl_config_init(&t->conf);
  mbedtls_ssl_init(&t->ssl);
}

void hmq_tls_free(hmq_tls *t) {
  hmq_net_close(t);
  /* A zeroed object was never init'ed: mbedTLS free functions accept the
   * zero state of every context, so this is safe as well. */
  mbedtls_ssl_free(&t->ssl);
  mbedtls_ssl_config_free(&t->conf);
  mbedtls_pk_free(&t->key);
  mbedtls_x509_crt_free(&t->cert);
  mbedtls_x509_crt_free(&t->ca);
  mbedtls_ctr_drbg_free(&t->drbg);
  mbedtls_entropy_free(&t->entropy);
  t->ready = false;
  t->state = HMQ_TLS_IDLE;
}

const char *hmq_tls_errmsg(const hmq_tls *t) {
  return t->errmsg;
}

static void mbed_text(int ret, char *out, size_t cap) {
  mbedtls_strerror(ret, out, cap);
}

/* Open the file ourselves first: mbedTLS reports every open failure as one
 * generic FILE_IO error, while the person fixing it needs errno. */
static hmq_status check_readable(hmq_tls *t, const char *what, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(t->errmsg, sizeof t->errmsg, "%s file '%s': %s", what, path, strerror(errno));
    return HMQ_ERR_FILE;
  }
  char c;
  size_t got = fread(&c, 1, 1, f);
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (err) {
    snprintf(t->errmsg, sizeof t->errmsg, "%s file '%s': %s", what, path, strerror(err));
    return HMQ_ERR_FILE;
  }
  if (got == 0) {
    snprintf(t->errmsg, sizeof t->errmsg, "%s file '%s' is empty", what, path);
    return HMQ_ERR_PEM;
  }
  return HMQ_OK;
}

static hmq_status load_crt(hmq_tls *t, mbedtls_x509_crt *crt, const char *what, const char *path) {
  hmq_status st = check_readable(t, what, path);
  if (st != HMQ_OK)
    return st;
  int ret = mbedtls_x509_crt_parse_file(crt, path);
  /* A positive result counts certificates that failed to parse among ones
   * that did; a bundle with some junk is still usable. */
  if (ret < 0 || crt->version == 0) {
    char e[160] = "no certificate found";
    if (ret < 0)
      mbed_text(ret, e, sizeof e);
    snprintf(t->errmsg, sizeof t->errmsg, "%s file '%s' is not a usable PEM certificate: %s", what,
             path, e);
    return HMQ_ERR_PEM;
  }
  return HMQ_OK;
}

static hmq_status load_key(hmq_tls *t) {
  const char *path = t->cfg.key_file;
  hmq_status st = check_readable(t, "key", path);
  if (st != HMQ_OK)
    return st;
  int ret = hmq_mbed_parse_keyfile(&t->key, path, &t->drbg);
  if (ret != 0) {
    char e[160];
    mbed_text(ret, e, sizeof e);
    snprintf(t->errmsg, sizeof t->errmsg,
             "key file '%s' is not a usable PEM private key (encrypted keys are not "
             "supported): %s",
             path, e);
    return HMQ_ERR_PEM;
  }
  ret = hmq_mbed_check_pair(hmq_mbed_crt_pk(&t->cert), &t->key, &t->drbg);
  if (ret != 0) {
    snprintf(t->errmsg, sizeof t->errmsg,
             "key file '%s' does not belong to certificate '%s' (public keys differ)", path,
             t->cfg.cert_file);
    return HMQ_ERR_KEY_MISMATCH;
  }
  return HMQ_OK;
}

/* By name: every ChaCha20-Poly1305 suite (TLS 1.3, ECDHE and DHE ones of
 * TLS 1.2, RFC 7905 / 8446) has CHACHA20 in its mbedTLS name. */
static bool is_chacha(int id) {
  const char *name = mbedtls_ssl_get_ciphersuite_name(id);
  return name && strstr(name, "CHACHA20") != NULL;
}

/* mbedTLS's suite list (its own order otherwise kept) with the
 * ChaCha20-Poly1305 suites moved to the front (prefer_chacha: CPUs without
 * AES instructions, where it is the faster AEAD) or to the back (AES-GCM
 * first: with AES-NI + PCLMUL it is the faster one; mbedTLS's default
 * order would put ChaCha20 before AES-GCM in TLS 1.2). */
static void build_suites(hmq_tls *t) {
  const int *def = mbedtls_ssl_list_ciphersuites();
  size_t n = 0;
  for (int pass = 0; pass < 2; pass++) {
    bool want_chacha = (pass == 0) == t->cfg.prefer_chacha;
    for (const int *d = def; *d && n + 1 < HMQ_TLS_MAX_SUITES; d++)
      if (is_chacha(*d) == want_chacha)
        t->suites[n++] = *d;
  }
  t->suites[n] = 0;
}

static hmq_status setup_tls(hmq_tls *t) {
  hmq_status st;
  if ((st = load_crt(t, &t->ca, "CA", t->cfg.ca_file)) != HMQ_OK)
    return st;
  if (t->cfg.cert_file) {
    if ((st = load_crt(t, &t->cert, "certificate", t->cfg.cert_file)) != HMQ_OK)
      return st;
    if ((st = load_key(t)) != HMQ_OK)
      return st;
  }
  int ret = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
                                        MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret == 0) {
    /* The broker's identity is the whole point of TLS here: required,
     * always (no option to disable). */
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    if (t->cfg.cert_file)
      ret = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key);
  }
  if (ret == 0) {
    build_suites(t);
    mbedtls_ssl_conf_ciphersuites(&t->conf, t->suites);
  }
  if (ret == 0)
    ret = mbedtls_ssl_setup(&t->ssl, &t->conf);
  if (ret != 0) {
    char e[160];
    mbed_text(ret, e, sizeof e);
    snprintf(t->errmsg, sizeof t->errmsg, "TLS setup failed: %s", e);
    return HMQ_ERR_TLS;
  }
  return HMQ_OK;
}

hmq_status hmq_tls_setup(hmq_tls *t, const hmq_tls_config *cfg) {
  t->errmsg[0] = '\0';
  if (t->ready || t->state != HMQ_TLS_IDLE) {
    snprintf(t->errmsg, sizeof t->errmsg, "transport already set up");
    return HMQ_ERR_STATE;
  }
  t->cfg = *cfg;
  if (!cfg->host || !cfg->host[0] || cfg->port == 0) {
    snprintf(t->errmsg, sizeof t->errmsg, "no host or port given");
    return HMQ_ERR_ARG;
  }
  if (!cfg->plain) {
    if (!cfg->ca_file) {
      snprintf(t->errmsg, sizeof t->errmsg, "no CA file given (needed to verify the broker)");
      return HMQ_ERR_ARG;
    }
    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
      snprintf(t->errmsg, sizeof t->errmsg,
               "client certificate and key must be given together (cert %s, key %s)",
               cfg->cert_file ? cfg->cert_file : "missing",
               cfg->key_file ? cfg->key_file : "missing");
      return HMQ_ERR_ARG;
    }
    if (hmq_mbed_crypto_init() != 0) {
      snprintf(t->errmsg, sizeof t->errmsg, "PSA crypto initialisation failed");
      return HMQ_ERR_TLS;
    }
    /* Seed once per object; reconnects reuse the DRBG (it reseeds itself). */
    static const char pers[] = "hmq-tls";
    int ret = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                                    (const unsigned char *)pers, sizeof pers - 1);
    if (ret != 0) {
      char e[160];
      mbed_text(ret, e, sizeof e);
      snprintf(t->errmsg, sizeof t->errmsg, "seeding the RNG failed: %s", e);
      return HMQ_ERR_TLS;
    }
    hmq_status st = setup_tls(t);
    if (st != HMQ_OK)
      return st;
  }
  t->ready = true;
  return HMQ_OK;
}

int hmq_tls_fd(const hmq_tls *t) {
  return t->fd;
}

short hmq_tls_events(const hmq_tls *t) {
  return t->fd >= 0 ? t->events : 0;
}

uint64_t hmq_tls_deadline(const hmq_tls *t) {
  return (t->state == HMQ_TLS_TCP || t->state == HMQ_TLS_HANDSHAKE) ? t->deadline_ms : UINT64_MAX;
}

bool hmq_tls_is_open(const hmq_tls *t) {
  return t->state == HMQ_TLS_OPEN;
}
