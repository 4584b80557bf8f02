/* SPDX-License-Identifier: MIT */
/*
 * hmq transport: one non-blocking TCP connection, with mutual TLS (mbedTLS)
 * or, only when asked explicitly, plain TCP (tests, local brokers).
 *
 * Every step is non-blocking so that many transports share one poll() loop:
 *
 *   hmq_tls_init(&t);                            // once; cannot fail
 *   hmq_tls_setup(&t, &cfg);                     // once: load CA/cert/key, seed RNG
 *   hmq_tls_connect(&t, now_ms);                 // each (re)connect: DNS + TCP connect
 *   while ((st = hmq_tls_step(&t, now_ms)) > 0)  // TCP connect done? handshake
 *     poll({hmq_tls_fd(&t), hmq_tls_events(&t)}, until hmq_tls_deadline(&t));
 *   hmq_tls_read / hmq_tls_write ...             // HMQ_WANT_READ / HMQ_WANT_WRITE
 *   hmq_tls_close(&t);                           // socket closed, ready to reconnect
 *   hmq_tls_free(&t);
 *
 * The server certificate is always verified against the CA file and the
 * host name (or cfg.server_name); there is no way to turn that off.
 *
 * This header includes mbedTLS headers because the object embeds the mbedTLS
 * contexts (caller-allocated, no heap of ours); callers treat all fields as
 * private. Errors carry a human message naming the file, host or reason:
 * hmq_tls_errmsg().
 *
 * Contract: hmq::tls. The hmq_tls object and the strings of its
 * configuration are the caller's and must outlive it; read/write move bytes
 * between the socket and caller buffers (no copy of ours kept). What
 * blocks: the DNS lookup in hmq_tls_connect() and the file loading in
 * hmq_tls_setup(); nothing else waits on the socket (HMQ_WANT_READ /
 * HMQ_WANT_WRITE say what to poll for). Every call returns an hmq_status
 * (hmq.h).
 */
#ifndef HMQ_TLS_H
#define HMQ_TLS_H

#include "hmq/hmq.h"

#include <stdbool.h>

#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#ifdef __cplusplus
extern "C" {
#endif

HMQ_API_BEGIN

typedef struct hmq_tls_config {
  const char *host;            /* name or address literal to connect to */
  uint16_t port;               /* 8883 for High Mobility */
  const char *server_name;     /* name to verify and send as SNI; NULL = host */
  const char *ca_file;         /* PEM CA bundle; required unless plain */
  const char *cert_file;       /* PEM client certificate; NULL = none */
  const char *key_file;        /* PEM private key of cert_file */
  bool plain;                  /* plain TCP, no TLS: only for tests / local brokers */
  bool prefer_chacha;          /* ChaCha20-Poly1305 first; default: CPU without AES-NI */
  uint32_t connect_timeout_ms; /* TCP connect + handshake; default 10000 */
  int rcvbuf;                  /* SO_RCVBUF bytes; 0 = kernel autotuning (default) */
  int sndbuf;                  /* SO_SNDBUF bytes; 0 = kernel autotuning (default) */
} hmq_tls_config;

/* Addresses kept from one name lookup. */
#define HMQ_TLS_MAX_ADDRS 8
/* Socket read-ahead for TLS: mbedTLS asks for a 5-byte record header and
 * then the record body, two recv() calls per record; reading ahead in
 * larger pieces makes it about one per HMQ_TLS_READAHEAD bytes. */
#define HMQ_TLS_READAHEAD 32768
/* Room for the reordered ciphersuite list. */
#define HMQ_TLS_MAX_SUITES 256

typedef enum hmq_tls_state {
  HMQ_TLS_IDLE = 0,  /* no socket */
  HMQ_TLS_TCP,       /* non-blocking connect in progress */
  HMQ_TLS_HANDSHAKE, /* TLS handshake in progress */
  HMQ_TLS_OPEN,      /* ready for read/write */
  HMQ_TLS_FAILED     /* last connect/handshake failed; see errmsg */
} hmq_tls_state;

typedef struct hmq_tls {
  hmq_tls_config cfg;
  hmq_tls_state state;
  bool ready; /* setup succeeded */
  int fd;
  short events; /* poll events the current step waits for */
  uint64_t deadline_ms;
  struct sockaddr_storage addrs[HMQ_TLS_MAX_ADDRS];
  socklen_t addr_lens[HMQ_TLS_MAX_ADDRS];
  size_t addr_count;
  size_t addr_next;
  int last_errno;
  hmq_status rd_err;     /* error seen after a partial read; returned next call */
  bool rx_any;           /* application data received on this connection */
  size_t wr_pending;     /* length of an mbedtls_ssl_write to repeat, 0 = none */
  size_t ra_off, ra_len; /* read-ahead window in ra[] */
  uint8_t ra[HMQ_TLS_READAHEAD];
  uint64_t n_write_blocked; /* writes that returned WANT_WRITE/READ (stats) */
  char errmsg[512];
  char peer_names[200]; /* names in the server's certificate (for messages) */
  int suites[HMQ_TLS_MAX_SUITES];
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt ca;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;
  mbedtls_ssl_context ssl;
} hmq_tls;

/* Fill cfg with defaults: port 8883, prefer_chacha when the CPU lacks
 * AES-NI/PCLMUL (or mbedTLS was built without its AES-NI code), connect
 * timeout 10 s, socket buffers left to the kernel; everything else empty. */
void hmq_tls_config_default(hmq_tls_config *cfg);

/* True when the CPU has AES-NI and PCLMULQDQ (x86 only; false elsewhere). */
bool hmq_tls_cpu_aes(void);

/* What this build's TLS can do, as text lines for `hmq --version`: the
 * mbedTLS version linked, the TLS versions, AES-NI and the suite order, and
 * every cipher suite compiled in (mbedTLS names). Writes at most cap bytes
 * (NUL-terminated when cap > 0) and returns the length it needed, like
 * snprintf. */
size_t hmq_tls_build_info(char *out, size_t cap);

/* Make t a valid, empty transport. Cannot fail; no allocation. */
void hmq_tls_init(hmq_tls *t);

/* Close the socket and release everything mbedTLS holds. Always safe (also
 * twice, also after init only). */
void hmq_tls_free(hmq_tls *t);

/*
 * Copy cfg (its strings must outlive t), seed the RNG once and, unless
 * cfg->plain, load the CA, client certificate and key and prepare the TLS
 * configuration. Returns HMQ_OK, HMQ_ERR_ARG (no host, no CA file, cert
 * without key), HMQ_ERR_FILE (missing or unreadable, with strerror),
 * HMQ_ERR_PEM (not a PEM certificate/key), HMQ_ERR_KEY_MISMATCH (key does
 * not belong to the certificate) or HMQ_ERR_TLS; each with errmsg naming
 * the file. Call once per object.
 */
hmq_status hmq_tls_setup(hmq_tls *t, const hmq_tls_config *cfg);

/*
 * Start a connection: resolve host (IPv4 and IPv6, in the resolver's order)
 * and begin a non-blocking connect, trying the next address when one fails.
 * Returns what hmq_tls_step() returns (usually HMQ_WANT_WRITE: poll and
 * step), or HMQ_ERR_STATE (not set up, or still connected: close first),
 * HMQ_ERR_DNS (name does not resolve; errmsg names the host). The name
 * lookup itself blocks (getaddrinfo); everything after it does not.
 */
hmq_status hmq_tls_connect(hmq_tls *t, uint64_t now_ms);

/*
 * Advance the connection (TCP connect, trying each address in turn, then the
 * TLS handshake). Returns HMQ_OK once open (also when already open),
 * HMQ_WANT_READ / HMQ_WANT_WRITE (poll hmq_tls_fd() for hmq_tls_events()
 * until hmq_tls_deadline()), or an error after which the socket is closed:
 * HMQ_ERR_CONNECT ("connection refused by 127.0.0.1:8883"), HMQ_ERR_TIMEOUT,
 * HMQ_ERR_CERT_UNTRUSTED, HMQ_ERR_CERT_EXPIRED, HMQ_ERR_CERT_NAME (naming
 * the names the certificate has), HMQ_ERR_CLIENT_CERT (server rejected our
 * certificate with an alert), HMQ_ERR_CLOSED, HMQ_ERR_TLS (mbedTLS text).
 */
hmq_status hmq_tls_step(hmq_tls *t, uint64_t now_ms);

/* The socket, or -1 when there is none. */
int hmq_tls_fd(const hmq_tls *t);

/* POLLIN / POLLOUT the last step, read or write is waiting for. */
short hmq_tls_events(const hmq_tls *t);

/* Time by which connect + handshake must finish; UINT64_MAX once open. */
uint64_t hmq_tls_deadline(const hmq_tls *t);

/* True once open. */
bool hmq_tls_is_open(const hmq_tls *t);

/*
 * Read up to cap bytes into buf, several TLS records in one call when they
 * are there. HMQ_OK with *n > 0, HMQ_WANT_READ / HMQ_WANT_WRITE (nothing
 * now, *n == 0), HMQ_ERR_CLOSED (peer closed: EOF or close_notify),
 * HMQ_ERR_IO, HMQ_ERR_TLS. An error met after some bytes were read is
 * returned by the next call.
 */
hmq_status hmq_tls_read(hmq_tls *t, uint8_t *buf, size_t cap, size_t *n);

/*
 * Write up to len bytes; *n gets how many were taken. HMQ_OK (*n may be less
 * than len), HMQ_WANT_WRITE / HMQ_WANT_READ (*n bytes taken before blocking),
 * HMQ_ERR_CLOSED, HMQ_ERR_IO, HMQ_ERR_TLS. After a WANT the next call must
 * start with the same bytes (mbedTLS rule; the length is remembered here);
 * HMQ_ERR_ARG if len is shorter than that pending write.
 */
hmq_status hmq_tls_write(hmq_tls *t, const uint8_t *buf, size_t len, size_t *n);

/* Decrypted or buffered bytes waiting inside mbedTLS: when > 0, read again
 * before sleeping in poll(). */
size_t hmq_tls_pending(const hmq_tls *t);

/* Close the socket (sending close_notify best-effort when open) and reset
 * the TLS session (mbedtls_ssl_session_reset: certificates, configuration
 * and RNG are kept) so hmq_tls_connect() can be called again. Always safe. */
void hmq_tls_close(hmq_tls *t);

/* Human message for the last error ("" when none); static storage in t. */
const char *hmq_tls_errmsg(const hmq_tls *t);

/* Protocol version and cipher suite of the open connection, as mbedTLS
 * names them ("TLSv1.2", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"): views
 * of static strings owned by mbedTLS, valid for the life of the program.
 * Both are set to "plain" for a plain-TCP connection and to "none" before the
 * handshake has finished or after hmq_tls_close(). HMQ_OK, or HMQ_ERR_ARG
 * when t, version or suite is NULL. */
hmq_status hmq_tls_ciphersuite(const hmq_tls *t, const char **version, const char **suite);

HMQ_API_END

#ifdef __cplusplus
}
#endif

#endif
