/* SPDX-License-Identifier: MIT */
/*
 * Every difference between mbedTLS 2.28 and 3.6 that src/tls depends on, in
 * one place. The rest of src/tls calls only the hmq_mbed_* names below.
 */
#ifndef HMQ_TLS_COMPAT_H
#define HMQ_TLS_COMPAT_H

#include <mbedtls/version.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#if MBEDTLS_VERSION_MAJOR >= 3
#define HMQ_MBED3 1
#include <psa/crypto.h>
#else
#define HMQ_MBED3 0
#endif

/* 3.x wants an RNG for private-key operations (blinding) in parsing and in
 * the pair check; 2.28 has no such parameters. */
static inline int hmq_mbed_parse_keyfile(mbedtls_pk_context *pk, const char *path,
                                         mbedtls_ctr_drbg_context *drbg) {
#if HMQ_MBED3
  return mbedtls_pk_parse_keyfile(pk, path, NULL, mbedtls_ctr_drbg_random, drbg);
#else
  (void)drbg;
  return mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
}

static inline int hmq_mbed_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv,
                                      mbedtls_ctr_drbg_context *drbg) {
#if HMQ_MBED3
  return mbedtls_pk_check_pair(pub, prv, mbedtls_ctr_drbg_random, drbg);
#else
  (void)drbg;
  return mbedtls_pk_check_pair(pub, prv);
#endif
}

/* The certificate's public key: a public field in 2.28 and in 3.6 (3.0
 * made it private, 3.1 public again). */
static inline const mbedtls_pk_context *hmq_mbed_crt_pk(const mbedtls_x509_crt *crt) {
  return &crt->pk;
}

/* Under TLS 1.3 (3.x) a read may report a session ticket or an early-data
 * condition that only means "call again"; 2.28 has no such codes. */
static inline int hmq_mbed_is_retry(int ret) {
#if HMQ_MBED3 && defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
  return ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET;
#else
  (void)ret;
  return 0;
#endif
}

/* True once the handshake has gone past sending our Certificate message:
 * a server that hangs up or alerts from then on is refusing that
 * certificate (or the proof of its key). The state is a public field in
 * 2.28 and private in 3.x; the enum values keep their names. */
static inline int hmq_mbed_sent_client_cert(const mbedtls_ssl_context *ssl) {
#if HMQ_MBED3
  return ssl->MBEDTLS_PRIVATE(state) > MBEDTLS_SSL_CLIENT_CERTIFICATE;
#else
  return ssl->state > MBEDTLS_SSL_CLIENT_CERTIFICATE;
#endif
}

/* The description byte of the fatal alert mbedtls_ssl_read just reported
 * (MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE leaves the alert record in in_msg). */
static inline unsigned hmq_mbed_last_alert(const mbedtls_ssl_context *ssl) {
#if HMQ_MBED3
  const unsigned char *m = ssl->MBEDTLS_PRIVATE(in_msg);
#else
  const unsigned char *m = ssl->in_msg;
#endif
  return m ? m[1] : 0;
}

/* TLS 1.3 negotiated: the client's handshake ends before the server has
 * checked the client certificate, so a refusal arrives on the first read. */
static inline int hmq_mbed_is_tls13(const mbedtls_ssl_context *ssl) {
#if HMQ_MBED3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
  return mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
  (void)ssl;
  return 0;
#endif
}

/* Subject Alternative Names of a certificate, for error messages. */
static inline const mbedtls_x509_sequence *hmq_mbed_crt_san(const mbedtls_x509_crt *crt) {
  return &crt->subject_alt_names;
}

/* TLS protocol versions this build negotiates (hmq never lowers mbedTLS's
 * minimum of 1.2): 1.3 only with 3.x built with MBEDTLS_SSL_PROTO_TLS1_3. */
static inline const char *hmq_mbed_tls_versions(void) {
#if HMQ_MBED3 && defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_PROTO_TLS1_2)
  return "1.2 1.3";
#elif HMQ_MBED3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
  return "1.3";
#else
  return "1.2";
#endif
}

/* Whether the certificate check compares an IP address host with the
 * certificate's iPAddress SANs: 3.6 does (mbedtls_ssl_set_hostname with an
 * address literal); 2.28 compares it with DNS names and the CN only, so an
 * address can never match. */
static inline int hmq_mbed_checks_ip_san(void) {
#if MBEDTLS_VERSION_NUMBER >= 0x03060000
  return 1;
#else
  return 0;
#endif
}

/* 3.x needs PSA initialised before TLS 1.3 handshakes use it (calling it
 * more than once is allowed). */
static inline int hmq_mbed_crypto_init(void) {
#if HMQ_MBED3
  return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
#else
  return 0;
#endif
}

#endif
