/* SPDX-License-Identifier: MIT */
/*
 * bench_cipher: the "cipher floor" of a TLS library: CPU microseconds to
 * open (decrypt and verify) one TLS record of the size hmq receives in a
 * drain (default 1400 bytes: one ~1.4 KB envelope), per AEAD used by the
 * suites hmq offers: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305.
 *
 * It measures the mbedTLS it is linked with (2.28 or 3.6, whatever its
 * build found) and, when compiled with -DHMQ_BENCH_OPENSSL and -lcrypto,
 * OpenSSL's EVP interface in the same run. bench/tls.sh builds it three
 * times (system mbedTLS 2.28 + OpenSSL, glibc mbedTLS 3.6 and musl
 * mbedTLS 3.6 as scripts/static builds them) and prints the table.
 *
 *   bench_cipher [--quick] [--bytes N] [--records N] [--rounds N]
 *
 * Each row: the fastest of --rounds rounds (process CPU time per round of
 * --records records), as `floor <library> <aead> <bytes> B <us> us/record`.
 * Before timing, every AEAD's output is checked: the opened record equals
 * the plaintext and a record with one flipped bit is refused; a failure
 * exits 1 (so the --quick ctest can fail).
 */
#include <mbedtls/aes.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <mbedtls/version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(HMQ_BENCH_OPENSSL)
#include <openssl/crypto.h>
#include <openssl/evp.h>
#endif

#define MAX_BYTES 16384

static unsigned char plain[MAX_BYTES], sealed[MAX_BYTES], opened[MAX_BYTES];
static unsigned char key[32], iv[12], aad[13], tag[16];

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum aead { AES128_GCM, AES256_GCM, CHACHAPOLY };
static const char *const aead_name[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};

/* One library's AEAD: seal `plain` into `sealed`+`tag` once (setup), then
 * open(sealed) -> opened as often as asked. open returns 0 when the tag
 * verified. */
struct impl {
  int (*setup)(enum aead a, size_t n);
  int (*open)(enum aead a, size_t n, const unsigned char *in);
  void (*done)(void);
};

/* --- mbedTLS ------------------------------------------------------------- */
/* The contexts live at an offset of 0 or 8 bytes from 16-byte alignment
 * (--quick tries both): mbedTLS's AES-NI code needs its round keys aligned
 * and aligns them itself when built consistently; a build that mixes the
 * AES-NI implementations crashes at the offset 8 (cmake/mbedtls/aesni.cmake). */
static _Alignas(
    16) unsigned char ctx_mem[sizeof(mbedtls_gcm_context) + sizeof(mbedtls_aes_context) +
                              sizeof(mbedtls_chachapoly_context) + 32];
static mbedtls_gcm_context *gcm_p;
static mbedtls_chachapoly_context *cp_p;
#define gcm (*gcm_p)
#define cp  (*cp_p)

static void place_contexts(size_t skew) {
  gcm_p = (mbedtls_gcm_context *)(void *)(ctx_mem + skew);
  cp_p = (mbedtls_chachapoly_context *)(void *)(ctx_mem + skew +
                                                (sizeof(mbedtls_gcm_context) + 15) / 16 * 16);
}

static int mb_setup(enum aead a, size_t n) {
  if (a == CHACHAPOLY) {
    mbedtls_chachapoly_init(&cp);
    if (mbedtls_chachapoly_setkey(&cp, key) != 0)
      return -1;
    return mbedtls_chachapoly_encrypt_and_tag(&cp, n, iv, aad, sizeof aad, plain, sealed, tag);
  }
  mbedtls_gcm_init(&gcm);
  if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, a == AES128_GCM ? 128 : 256) != 0)
    return -1;
  return mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n, iv, sizeof iv, aad, sizeof aad,
                                   plain, sealed, sizeof tag, tag);
}

static int mb_open(enum aead a, size_t n, const unsigned char *in) {
  if (a == CHACHAPOLY)
    return mbedtls_chachapoly_auth_decrypt(&cp, n, iv, aad, sizeof aad, tag, in, opened);
  return mbedtls_gcm_auth_decrypt(&gcm, n, iv, sizeof iv, aad, sizeof aad, tag, sizeof tag, in,
                                  opened);
}

static void mb_done(void) {
  mbedtls_gcm_free(&gcm);
  mbedtls_chachapoly_free(&cp);
}

/* --- OpenSSL (EVP) --------------------------------------------------------- */
#if defined(HMQ_BENCH_OPENSSL)
static EVP_CIPHER_CTX *ectx;
static const EVP_CIPHER *evp_of(enum aead a) {
  return a == AES128_GCM   ? EVP_aes_128_gcm()
         : a == AES256_GCM ? EVP_aes_256_gcm()
                           : EVP_chacha20_poly1305();
}

static int os_setup(enum aead a, size_t n) {
  int len = 0, fin = 0;
  ectx = EVP_CIPHER_CTX_new();
  if (!ectx || EVP_EncryptInit_ex(ectx, evp_of(a), NULL, key, iv) != 1 ||
      EVP_EncryptUpdate(ectx, NULL, &len, aad, (int)sizeof aad) != 1 ||
      EVP_EncryptUpdate(ectx, sealed, &len, plain, (int)n) != 1 ||
      EVP_EncryptFinal_ex(ectx, sealed + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ectx, EVP_CTRL_AEAD_GET_TAG, (int)sizeof tag, tag) != 1)
    return -1;
  return 0;
}

/* As a TLS library opens a record: key schedule kept, new nonce, AAD,
 * data, tag check. */
static int os_open(enum aead a, size_t n, const unsigned char *in) {
  int len = 0, fin = 0;
  (void)a;
  if (EVP_DecryptInit_ex(ectx, NULL, NULL, NULL, iv) != 1 ||
      EVP_DecryptUpdate(ectx, NULL, &len, aad, (int)sizeof aad) != 1 ||
      EVP_DecryptUpdate(ectx, opened, &len, in, (int)n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ectx, EVP_CTRL_AEAD_SET_TAG, (int)sizeof tag, tag) != 1)
    return -1;
  return EVP_DecryptFinal_ex(ectx, opened + len, &fin) == 1 ? 0 : -1;
}

static void os_done(void) {
  EVP_CIPHER_CTX_free(ectx);
  ectx = NULL;
}
#endif

/* An AES context embedded at `skew` bytes from 16-byte alignment, as
 * mbedTLS's CTR-DRBG embeds one (the GCM contexts above get theirs from the
 * heap): FIPS-197 appendix C.1 (AES-128) must come out. */
static int aes_at(size_t skew) {
  static const unsigned char k[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  static const unsigned char pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  static const unsigned char want[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                         0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
  unsigned char ct[16];
  mbedtls_aes_context *a = (mbedtls_aes_context *)(void *)(ctx_mem + skew);
  mbedtls_aes_init(a);
  int ok = mbedtls_aes_setkey_enc(a, k, 128) == 0 &&
           mbedtls_aes_crypt_ecb(a, MBEDTLS_AES_ENCRYPT, pt, ct) == 0 &&
           memcmp(ct, want, sizeof ct) == 0;
  mbedtls_aes_free(a);
  if (!ok)
    fprintf(stderr, "bench_cipher: AES-128 (context at +%zu) gives the wrong block\n", skew);
  return ok ? 0 : -1;
}

/* Check one AEAD of one library, then time it. Returns 0 or -1. */
static int run(const char *lib, const struct impl *im, enum aead a, size_t n, int records,
               int rounds) {
  static unsigned char bad[MAX_BYTES];
  if (im->setup(a, n) != 0) {
    fprintf(stderr, "bench_cipher: %s %s: setup failed\n", lib, aead_name[a]);
    return -1;
  }
  memset(opened, 0, n);
  if (im->open(a, n, sealed) != 0 || memcmp(opened, plain, n) != 0) {
    fprintf(stderr, "bench_cipher: %s %s: the sealed record does not open to the plaintext\n", lib,
            aead_name[a]);
    im->done();
    return -1;
  }
  memcpy(bad, sealed, n);
  bad[n / 2] ^= 0x10;
  if (im->open(a, n, bad) == 0) {
    fprintf(stderr, "bench_cipher: %s %s: a record with a flipped bit was accepted\n", lib,
            aead_name[a]);
    im->done();
    return -1;
  }
  double best = 1e30;
  for (int r = 0; r < rounds; r++) {
    double t0 = cpu_s();
    for (int i = 0; i < records; i++)
      if (im->open(a, n, sealed) != 0) {
        fprintf(stderr, "bench_cipher: %s %s: open failed while timing\n", lib, aead_name[a]);
        im->done();
        return -1;
      }
    double t = (cpu_s() - t0) / records;
    if (t < best)
      best = t;
  }
  im->done();
  printf("floor %-16s %-18s %5zu B %7.3f us/record\n", lib, aead_name[a], n, best * 1e6);
  return 0;
}

int main(int argc, char **argv) {
  size_t bytes = 1400;
  int records = 20000, rounds = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      records = 200;
      rounds = 1;
    } else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
      bytes = (size_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
      records = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: bench_cipher [--quick] [--bytes 16..%d] [--records N] [--rounds N]\n",
              MAX_BYTES);
      return 2;
    }
  }
  if (bytes < 16 || bytes > MAX_BYTES || records < 1 || rounds < 1) {
    fprintf(stderr, "bench_cipher: --bytes must be 16..%d, --records and --rounds >= 1\n",
            MAX_BYTES);
    return 2;
  }
  for (size_t i = 0; i < sizeof key; i++)
    key[i] = (unsigned char)(i * 7 + 1);
  for (size_t i = 0; i < sizeof iv; i++)
    iv[i] = (unsigned char)(i + 100);
  for (size_t i = 0; i < sizeof aad; i++)
    aad[i] = (unsigned char)i;
  for (size_t i = 0; i < bytes; i++)
    plain[i] = (unsigned char)(i * 31 + 7);

  char ver[32], lib[40];
  mbedtls_version_get_string(ver);
  snprintf(lib, sizeof lib, "mbedTLS-%s", ver);
  static const struct impl mb = {mb_setup, mb_open, mb_done};
  int fail = 0;
  fail |= aes_at(0) | aes_at(8);
  if (records <= 200) { /* --quick: also at 16-byte alignment */
    place_contexts(0);
    for (int a = AES128_GCM; a <= CHACHAPOLY; a++)
      fail |= run(lib, &mb, (enum aead)a, bytes, records, rounds);
  }
  place_contexts(8);
  for (int a = AES128_GCM; a <= CHACHAPOLY; a++)
    fail |= run(lib, &mb, (enum aead)a, bytes, records, rounds);
#if defined(HMQ_BENCH_OPENSSL)
  static const struct impl os = {os_setup, os_open, os_done};
  snprintf(lib, sizeof lib, "OpenSSL-%s", OpenSSL_version(OPENSSL_VERSION_STRING));
  for (int a = AES128_GCM; a <= CHACHAPOLY; a++)
    fail |= run(lib, &os, (enum aead)a, bytes, records, rounds);
#endif
  return fail ? 1 : 0;
}
