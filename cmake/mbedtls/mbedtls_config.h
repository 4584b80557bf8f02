/* SPDX-License-Identifier: MIT */
/*
 * hmq's mbedTLS 3.6 configuration (scripts/static; -DHMQ_MBEDTLS_SOURCE).
 *
 * Only what an MQTT-over-TLS client with a client certificate uses:
 * TLS 1.2 and 1.3 client, ECDHE key exchange (X25519, P-256, P-384, P-521),
 * RSA and ECDSA verification (and signing with our own key for the client
 * certificate), AES-GCM with the AES-NI/PCLMUL code paths, ChaCha20-
 * Poly1305, X.509 and PEM parsing. No server side, no DTLS, no PSK, no CBC,
 * no renegotiation, no self tests, no file-based PSA storage.
 *
 * Entropy: the static hmq runs in roots without /dev/urandom, and mbedTLS
 * only uses getrandom(2) on glibc; so platform entropy is off and hmq
 * supplies mbedtls_hardware_poll() (src/tls/entropy.c, getrandom(2)).
 */
#ifndef HMQ_MBEDTLS_CONFIG_H
#define HMQ_MBEDTLS_CONFIG_H

/* platform */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_FS_IO
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_ERROR_C
#define MBEDTLS_VERSION_C

/* symmetric: AES-GCM (AES-NI + PCLMUL when the CPU has them), ChaCha20-Poly1305 */
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C

/* hashes (TLS 1.2 PRF, TLS 1.3 HKDF, certificate signatures) */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C

/* public key */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C

/* X.509 / PEM */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* PSA crypto: TLS 1.3 in 3.6 runs its key schedule through PSA
 * (psa_crypto_init() before the first handshake) */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC

/* TLS client, 1.2 and 1.3 */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
/* TLS 1.3 servers (OpenSSL) send NewSessionTicket after the handshake;
 * with tickets compiled in, mbedTLS parses and drops them quietly. */
#define MBEDTLS_SSL_SESSION_TICKETS

/* The suites hmq offers, AES-128-GCM first (fastest with AES-NI); hmq
 * moves ChaCha20-Poly1305 to the front on CPUs without AES-NI. */
#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
  MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384,                            \
      MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,    \
      MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,                                               \
      MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,                                             \
      MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,                                               \
      MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                       \
      MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256

#endif
