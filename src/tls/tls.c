/* SPDX-License-Identifier: MIT */
/*
 * Transport I/O: non-blocking connect over every resolved address, the
 * mbedTLS handshake driven by poll(), and record-level read/write with the
 * mbedTLS retry rules (see hmq/tls.h and docs/ARCHITECTURE.md).
 */
#include "tls/compat.h"
#include "tls/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* BIO callbacks: mbedTLS sees our non-blocking socket through these, so it
 * never blocks and never needs a timeout callback. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
  hmq_tls *t = ctx;
  ssize_t k = send(t->fd, buf, len, MSG_NOSIGNAL);
  if (k >= 0)
    return (int)k;
  t->last_errno = errno;
  hmq_status st = hmq_net_errno_status(errno, false);
  if (st == HMQ_WANT_WRITE)
    return MBEDTLS_ERR_SSL_WANT_WRITE;
  return st == HMQ_ERR_CLOSED ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
  hmq_tls *t = ctx;
  if (t->ra_off == t->ra_len) {
    ssize_t k = recv(t->fd, t->ra, sizeof t->ra, 0);
    if (k == 0)
      return 0; /* EOF; mbedTLS turns it into MBEDTLS_ERR_SSL_CONN_EOF */
    if (k < 0) {
      t->last_errno = errno;
      hmq_status st = hmq_net_errno_status(errno, true);
      if (st == HMQ_WANT_READ)
        return MBEDTLS_ERR_SSL_WANT_READ;
      return st == HMQ_ERR_CLOSED ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    t->ra_off = 0;
    t->ra_len = (size_t)k;
  }
  size_t n = t->ra_len - t->ra_off;
  if (n > len)
    n = len;
  if (n > INT32_MAX)
    n = INT32_MAX;
  memcpy(buf, t->ra + t->ra_off, n);
  t->ra_off += n;
  return (int)n;
}

static hmq_status fail(hmq_tls *t, hmq_status st) {
  hmq_net_close(t);
  t->state = HMQ_TLS_FAILED;
  t->events = 0;
  return st;
}

hmq_status hmq_tls_connect(hmq_tls *t, uint64_t now_ms) {
  if (!t->ready || t->fd >= 0 || t->state == HMQ_TLS_OPEN) {
    snprintf(t->errmsg, sizeof t->errmsg, "connect: transport not set up or still open");
    return HMQ_ERR_STATE;
  }
  t->errmsg[0] = '\0';
  t->rd_err = HMQ_OK;
  t->rx_any = false;
  t->wr_pending = 0;
  t->last_errno = 0;
  t->ra_off = t->ra_len = 0;
  hmq_status st = hmq_net_resolve(t);
  if (st != HMQ_OK)
    return fail(t, st);
  t->deadline_ms = now_ms + (t->cfg.connect_timeout_ms ? t->cfg.connect_timeout_ms : 10000);
  t->addr_next = 0;
  t->state = HMQ_TLS_TCP;
  t->events = POLLOUT;
  return hmq_tls_step(t, now_ms); /* opens the first socket */
}

/* True when host is an IPv4 or IPv6 address literal. */
static bool is_ip_literal(const char *host) {
  unsigned char a[16];
  return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* Names the certificate carries (DNS and IP address SANs, else its
 * subject), for the name-mismatch message. */
static void cert_names(const mbedtls_x509_crt *peer, char *out, size_t cap) {
  out[0] = '\0';
  size_t used = 0;
  for (const mbedtls_x509_sequence *s = hmq_mbed_crt_san(peer); s && s->buf.p && used + 4 < cap;
       s = s->next) {
    char ip[INET6_ADDRSTRLEN + 4];
    int k;
    /* RFC 5280 4.2.1.6: [2] dNSName, [7] iPAddress (4 or 16 bytes) */
    if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) {
      k = snprintf(out + used, cap - used, "%s%.*s", used ? ", " : "", (int)s->buf.len,
                   (const char *)s->buf.p);
    } else if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
               (s->buf.len == 4 || s->buf.len == 16) &&
               inet_ntop(s->buf.len == 4 ? AF_INET : AF_INET6, s->buf.p, ip, sizeof ip)) {
      k = snprintf(out + used, cap - used, "%sIP:%s", used ? ", " : "", ip);
    } else {
      continue;
    }
    if (k < 0)
      break;
    used += (size_t)k < cap - used ? (size_t)k : cap - used - 1;
  }
  if (used == 0 && mbedtls_x509_dn_gets(out, cap, &peer->subject) < 0)
    out[0] = '\0';
}

/* Verification callback: changes no verdict, only remembers the names of
 * the server's own certificate (depth 0), because after a failed handshake
 * mbedTLS no longer hands out the peer certificate. */
static int on_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
  (void)flags;
  if (depth == 0)
    cert_names(crt, ((hmq_tls *)ctx)->peer_names, sizeof((hmq_tls *)ctx)->peer_names);
  return 0;
}

static hmq_status start_handshake(hmq_tls *t) {
  if (t->cfg.plain) {
    t->state = HMQ_TLS_OPEN;
    t->events = POLLIN;
    return HMQ_OK;
  }
  /* session_reset keeps the configuration and certificates; only the
   * per-connection state goes, so one context serves every reconnect. */
  mbedtls_ssl_session_reset(&t->ssl);
  const char *name = t->cfg.server_name ? t->cfg.server_name : t->cfg.host;
  int ret = mbedtls_ssl_set_hostname(&t->ssl, name); /* SNI + name check */
  if (ret != 0) {
    char e[120];
    mbedtls_strerror(ret, e, sizeof e);
    snprintf(t->errmsg, sizeof t->errmsg, "TLS: cannot set host name '%s': %s", name, e);
    return fail(t, HMQ_ERR_TLS);
  }
  mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
  mbedtls_ssl_set_verify(&t->ssl, on_verify, t);
  t->peer_names[0] = '\0';
  t->state = HMQ_TLS_HANDSHAKE;
  return HMQ_WANT_WRITE;
}

/* Advance the TCP connect: on failure move to the next address. */
static hmq_status step_tcp(hmq_tls *t, uint64_t now_ms) {
  char where[80];
  hmq_status st = HMQ_ERR_CONNECT;
  for (;;) {
    if (t->fd >= 0) {
      struct pollfd p = {.fd = t->fd, .events = POLLOUT, .revents = 0};
      if (poll(&p, 1, 0) == 0) {
        if (now_ms >= t->deadline_ms)
          break;
        t->events = POLLOUT;
        return HMQ_WANT_WRITE;
      }
      st = hmq_net_finish(t);
      if (st == HMQ_OK)
        return start_handshake(t);
      hmq_net_close(t);
    }
    if (t->addr_next >= t->addr_count)
      break;
    st = hmq_net_start(t, t->addr_next++);
    if (st == HMQ_OK)
      return start_handshake(t);
  }
  size_t last = t->addr_next ? t->addr_next - 1 : 0;
  hmq_net_addr_str(t, last, where, sizeof where);
  if (now_ms >= t->deadline_ms && t->fd >= 0) {
    snprintf(t->errmsg, sizeof t->errmsg, "TCP connect to %s (%s) timed out after %u ms",
             t->cfg.host, where, (unsigned)t->cfg.connect_timeout_ms);
    return fail(t, HMQ_ERR_TIMEOUT);
  }
  if (t->last_errno == ECONNREFUSED)
    snprintf(t->errmsg, sizeof t->errmsg, "connection refused by %s", where);
  else
    snprintf(t->errmsg, sizeof t->errmsg, "TCP connect to %s (%s) failed: %s", t->cfg.host, where,
             strerror(t->last_errno));
  return fail(t, st == HMQ_OK ? HMQ_ERR_CONNECT : st);
}

static hmq_status handshake_error(hmq_tls *t, int ret) {
  const char *name = t->cfg.server_name ? t->cfg.server_name : t->cfg.host;
  char e[160];
  mbedtls_strerror(ret, e, sizeof e);
  if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    if (flags & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING)) {
      snprintf(t->errmsg, sizeof t->errmsg,
               "server certificate of %s:%u is not signed by the CA in '%s'", t->cfg.host,
               (unsigned)t->cfg.port, t->cfg.ca_file);
      return fail(t, HMQ_ERR_CERT_UNTRUSTED);
    }
    if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) {
      snprintf(t->errmsg, sizeof t->errmsg, "server certificate of %s:%u is %s", t->cfg.host,
               (unsigned)t->cfg.port,
               (flags & MBEDTLS_X509_BADCERT_EXPIRED) ? "expired" : "not yet valid");
      return fail(t, HMQ_ERR_CERT_EXPIRED);
    }
    if ((flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) && is_ip_literal(name)) {
      if (!hmq_mbed_checks_ip_san())
        snprintf(t->errmsg, sizeof t->errmsg,
                 "cannot check the server certificate (for '%s') against the IP address '%s': "
                 "mbedTLS %s, which this hmq uses, cannot check IP address SANs; connect by a "
                 "name the certificate carries (--host <name>), or use the static hmq "
                 "(mbedTLS 3.6)",
                 t->peer_names[0] ? t->peer_names : "?", name, MBEDTLS_VERSION_STRING);
      else
        snprintf(t->errmsg, sizeof t->errmsg,
                 "server certificate is for '%s', which does not include the IP address '%s' "
                 "(no matching IP address SAN); connect by a name it carries (--host <name>)",
                 t->peer_names[0] ? t->peer_names : "?", name);
      return fail(t, HMQ_ERR_CERT_NAME);
    }
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
      snprintf(t->errmsg, sizeof t->errmsg,
               "server certificate is for '%s', not for the expected name '%s'",
               t->peer_names[0] ? t->peer_names : "?", name);
      return fail(t, HMQ_ERR_CERT_NAME);
    }
    char info[200];
    mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
    info[strcspn(info, "\n")] = '\0';
    snprintf(t->errmsg, sizeof t->errmsg, "server certificate rejected: %s", info);
    return fail(t, HMQ_ERR_CERT_UNTRUSTED);
  }
  bool hung_up = ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_NET_CONN_RESET ||
                 ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY;
  /* An alert or a hang-up once our certificate went out is, in practice,
   * the server refusing it (unknown_ca, bad_certificate; mosquitto just
   * closes). */
  if ((ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE || hung_up) && t->cfg.cert_file &&
      hmq_mbed_sent_client_cert(&t->ssl)) {
    snprintf(t->errmsg, sizeof t->errmsg,
             "server %s:%u rejected our client certificate '%s' (%s after we sent it; is it "
             "signed by a CA the server trusts?)",
             t->cfg.host, (unsigned)t->cfg.port, t->cfg.cert_file,
             hung_up ? "connection closed" : "TLS alert");
    return fail(t, HMQ_ERR_CLIENT_CERT);
  }
  if (hung_up) {
    snprintf(t->errmsg, sizeof t->errmsg, "server %s:%u closed the connection during the handshake",
             t->cfg.host, (unsigned)t->cfg.port);
    return fail(t, HMQ_ERR_CLOSED);
  }
  snprintf(t->errmsg, sizeof t->errmsg, "TLS handshake with %s:%u failed: %s (-0x%04x)",
           t->cfg.host, (unsigned)t->cfg.port, e, (unsigned)-ret);
  return fail(t, HMQ_ERR_TLS);
}

static hmq_status step_handshake(hmq_tls *t, uint64_t now_ms) {
  int ret = mbedtls_ssl_handshake(&t->ssl);
  if (ret == 0) {
    t->state = HMQ_TLS_OPEN;
    t->events = POLLIN;
    return HMQ_OK;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ||
      hmq_mbed_is_retry(ret)) {
    if (now_ms >= t->deadline_ms) {
      snprintf(t->errmsg, sizeof t->errmsg, "TLS handshake with %s:%u timed out after %u ms",
               t->cfg.host, (unsigned)t->cfg.port, (unsigned)t->cfg.connect_timeout_ms);
      return fail(t, HMQ_ERR_TIMEOUT);
    }
    t->events = ret == MBEDTLS_ERR_SSL_WANT_WRITE ? POLLOUT : POLLIN;
    return ret == MBEDTLS_ERR_SSL_WANT_WRITE ? HMQ_WANT_WRITE : HMQ_WANT_READ;
  }
  return handshake_error(t, ret);
}

hmq_status hmq_tls_step(hmq_tls *t, uint64_t now_ms) {
  switch (t->state) {
  case HMQ_TLS_OPEN:
    return HMQ_OK;
  case HMQ_TLS_TCP: {
    hmq_status st = step_tcp(t, now_ms);
    if (st != HMQ_WANT_WRITE || t->state != HMQ_TLS_HANDSHAKE)
      return st;
    return step_handshake(t, now_ms);
  }
  case HMQ_TLS_HANDSHAKE:
    return step_handshake(t, now_ms);
  default:
    return HMQ_ERR_STATE;
  }
}

static hmq_status io_error(hmq_tls *t, int ret, bool reading) {
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || hmq_mbed_is_retry(ret)) {
    t->events = POLLIN;
    return HMQ_WANT_READ;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
    t->events = POLLOUT;
    return HMQ_WANT_WRITE;
  }
  if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
      ret == MBEDTLS_ERR_NET_CONN_RESET) {
    snprintf(t->errmsg, sizeof t->errmsg, "connection to %s:%u closed by the peer", t->cfg.host,
             (unsigned)t->cfg.port);
    return HMQ_ERR_CLOSED;
  }
  if (ret == MBEDTLS_ERR_NET_RECV_FAILED || ret == MBEDTLS_ERR_NET_SEND_FAILED) {
    snprintf(t->errmsg, sizeof t->errmsg, "socket %s failed: %s", reading ? "read" : "write",
             strerror(t->last_errno));
    return HMQ_ERR_IO;
  }
  if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && reading && !t->rx_any && t->cfg.cert_file &&
      hmq_mbed_is_tls13(&t->ssl)) {
    /* TLS 1.3: the server checks our certificate after our handshake is
     * over; a certificate alert (RFC 8446 6.2: bad_certificate 42 ..
     * unknown_ca 48, certificate_required 116) before any data is it
     * refusing the certificate, as the alert during a 1.2 handshake is. */
    unsigned a = hmq_mbed_last_alert(&t->ssl);
    if ((a >= 42 && a <= 48) || a == 116) {
      snprintf(t->errmsg, sizeof t->errmsg,
               "server %s:%u rejected our client certificate '%s' (TLS alert %u after the TLS 1.3 "
               "handshake; is it signed by a CA the server trusts?)",
               t->cfg.host, (unsigned)t->cfg.port, t->cfg.cert_file, a);
      return HMQ_ERR_CLIENT_CERT;
    }
  }
  char e[160];
  mbedtls_strerror(ret, e, sizeof e);
  snprintf(t->errmsg, sizeof t->errmsg, "TLS %s failed: %s (-0x%04x)", reading ? "read" : "write",
           e, (unsigned)-ret);
  return HMQ_ERR_TLS;
}

/* One read of at most cap bytes: >0 bytes, or a status (never OK). */
static hmq_status read_once(hmq_tls *t, uint8_t *buf, size_t cap, size_t *got) {
  *got = 0;
  if (t->cfg.plain) {
    ssize_t k = recv(t->fd, buf, cap, 0);
    if (k > 0) {
      *got = (size_t)k;
      return HMQ_OK;
    }
    if (k == 0)
      return io_error(t, 0, true);
    t->last_errno = errno;
    hmq_status st = hmq_net_errno_status(errno, true);
    if (st == HMQ_WANT_READ)
      t->events = POLLIN;
    else
      snprintf(t->errmsg, sizeof t->errmsg, "socket read failed: %s", strerror(errno));
    return st;
  }
  int ret = mbedtls_ssl_read(&t->ssl, buf, cap);
  if (ret > 0) {
    *got = (size_t)ret;
    t->rx_any = true;
    return HMQ_OK;
  }
  return io_error(t, ret, true);
}

hmq_status hmq_tls_read(hmq_tls *t, uint8_t *buf, size_t cap, size_t *n) {
  *n = 0;
  if (t->state != HMQ_TLS_OPEN)
    return HMQ_ERR_STATE;
  if (t->rd_err != HMQ_OK)
    return t->rd_err;
  /* mbedtls_ssl_read returns at most one record (16 KiB); keep going while
   * the caller's buffer has room so one call drains what has arrived. */
  while (*n < cap) {
    size_t got;
    hmq_status st = read_once(t, buf + *n, cap - *n, &got);
    if (st != HMQ_OK) {
      if (*n == 0)
        return st;
      if (st < 0)
        t->rd_err = st;
      return HMQ_OK;
    }
    *n += got;
  }
  return HMQ_OK;
}

hmq_status hmq_tls_write(hmq_tls *t, const uint8_t *buf, size_t len, size_t *n) {
  *n = 0;
  if (t->state != HMQ_TLS_OPEN)
    return HMQ_ERR_STATE;
  if (t->cfg.plain) {
    while (*n < len) {
      ssize_t k = send(t->fd, buf + *n, len - *n, MSG_NOSIGNAL);
      if (k < 0) {
        t->last_errno = errno;
        hmq_status st = hmq_net_errno_status(errno, false);
        if (st == HMQ_WANT_WRITE) {
          t->events = POLLOUT;
          t->n_write_blocked++;
          return st;
        }
        snprintf(t->errmsg, sizeof t->errmsg, "socket write failed: %s", strerror(errno));
        return st;
      }
      *n += (size_t)k;
    }
    return HMQ_OK;
  }
  if (t->wr_pending > len) {
    snprintf(t->errmsg, sizeof t->errmsg, "TLS write retried with %zu bytes, %zu pending", len,
             t->wr_pending);
    return HMQ_ERR_ARG;
  }
  while (*n < len) {
    /* After WANT_WRITE, mbedTLS has already encrypted the record and wants
     * the very same call again (same length) to flush it. */
    size_t chunk = t->wr_pending ? t->wr_pending : len - *n;
    int ret = mbedtls_ssl_write(&t->ssl, buf + *n, chunk);
    if (ret > 0) {
      t->wr_pending = 0;
      *n += (size_t)ret;
      continue;
    }
    hmq_status st = io_error(t, ret, false);
    if (st == HMQ_WANT_WRITE || st == HMQ_WANT_READ) {
      t->wr_pending = chunk;
      t->n_write_blocked++;
    }
    return st;
  }
  return HMQ_OK;
}

hmq_status hmq_tls_ciphersuite(const hmq_tls *t, const char **version, const char **suite) {
  if (t == NULL || version == NULL || suite == NULL)
    return HMQ_ERR_ARG;
  *version = "none";
  *suite = "none";
  if (t->state != HMQ_TLS_OPEN)
    return HMQ_OK;
  if (t->cfg.plain) {
    *version = "plain";
    *suite = "plain";
    return HMQ_OK;
  }
  /* Same calls in mbedTLS 2.28 and 3.6; NULL only before a handshake. */
  const char *v = mbedtls_ssl_get_version(&t->ssl);
  const char *c = mbedtls_ssl_get_ciphersuite(&t->ssl);
  if (v != NULL)
    *version = v;
  if (c != NULL)
    *suite = c;
  return HMQ_OK;
}

size_t hmq_tls_pending(const hmq_tls *t) {
  if (t->state != HMQ_TLS_OPEN || t->cfg.plain)
    return 0;
  size_t n = mbedtls_ssl_get_bytes_avail(&t->ssl);
  /* A record may sit undecrypted in mbedTLS's input buffer or in our
   * read-ahead; poll() would not wake for either. */
  if (n == 0 && mbedtls_ssl_check_pending(&t->ssl))
    n = 1;
  return n + (t->ra_len - t->ra_off);
}

void hmq_tls_close(hmq_tls *t) {
  if (t->state == HMQ_TLS_OPEN && !t->cfg.plain)
    (void)mbedtls_ssl_close_notify(&t->ssl); /* best effort, non-blocking */
  hmq_net_close(t);
  if (t->ready && !t->cfg.plain)
    mbedtls_ssl_session_reset(&t->ssl);
  t->state = HMQ_TLS_IDLE;
  t->events = 0;
  t->wr_pending = 0;
  t->rd_err = HMQ_OK;
  t->ra_off = t->ra_len = 0;
}
