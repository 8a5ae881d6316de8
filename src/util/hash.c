/*
 * util/hash.c - SHA-256 (OpenSSL EVP), hex and base64 encoding, and the
 * "stable hash" that all cache keys of pipedag-c are built from.
 *
 * The stable hash follows the original tool: SHA-256 seeded with the bytes
 * "PYDIVERSE", then each argument as an 8-byte big-endian length followed by
 * its bytes; the digest in lower-case base32, first 20 characters.
 */
#include "util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void pdi_sha256(const void *data, size_t len, uint8_t out[PD_SHA256_LEN])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int pdi_sha256_init(pd_sha256_ctx *c)
{
    /* Defined on every path (gcc -O3 otherwise warns in callers). */
    c->impl = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        return pd_set_error(PD_ERR_NOMEM, "out of memory (sha256)");
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    c->impl = ctx;
    return PD_OK;
}

void pdi_sha256_update(pd_sha256_ctx *c, const void *data, size_t len)
{
    EVP_DigestUpdate((EVP_MD_CTX *)c->impl, data, len);
}

void pdi_sha256_final(pd_sha256_ctx *c, uint8_t out[PD_SHA256_LEN])
{
    unsigned int n = 0;
    EVP_DigestFinal_ex((EVP_MD_CTX *)c->impl, out, &n);
    EVP_MD_CTX_free((EVP_MD_CTX *)c->impl);
    c->impl = NULL;
}

void pdi_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static void base32_prefix(const uint8_t *d, size_t len, char *out, size_t nchars)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint64_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len && o < nchars; i++) {
        acc = (acc << 8) | d[i];
        bits += 8;
        while (bits >= 5 && o < nchars) {
            out[o++] = alpha[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    out[o] = '\0';
}

void pdi_stable_hash(const char *const *args, size_t n, char out[PD_HASH_LEN + 1])
{
    pd_sha256_ctx c = {NULL}; /* gcc -O2 -Wmaybe-uninitialized cannot see through pd_set_error */
    uint8_t dig[PD_SHA256_LEN];
    if (pdi_sha256_init(&c) != PD_OK) {
        /* out of memory: a key no stored run can have (a cache miss, never
         * a hit shared by every key that failed alike) */
        pdi_random_id(out);
        return;
    }
    pdi_sha256_update(&c, "PYDIVERSE", 9);
    for (size_t i = 0; i < n; i++) {
        uint64_t len = strlen(args[i]);
        uint8_t be[8];
        for (int k = 0; k < 8; k++) {
            be[k] = (uint8_t)(len >> (56 - 8 * k));
        }
        pdi_sha256_update(&c, be, 8);
        pdi_sha256_update(&c, args[i], (size_t)len);
    }
    pdi_sha256_final(&c, dig);
    base32_prefix(dig, sizeof dig, out, PD_HASH_LEN);
}

void pdi_stable_hashv(char out[PD_HASH_LEN + 1], ...)
{
    const char *args[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, out);
    const char *s;
    while (n < 32 && (s = va_arg(ap, const char *)) != NULL) {
        args[n++] = s;
    }
    va_end(ap);
    pdi_stable_hash(args, n, out);
}

void pdi_random_id(char out[PD_HASH_LEN + 1])
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        /* fall back to time-based entropy; uniqueness, not secrecy, matters */
        int64_t t = pdi_unix_micros();
        memcpy(r, &t, sizeof t);
        memcpy(r + 8, &out, sizeof(void *) < 8 ? sizeof(void *) : 8);
    }
    base32_prefix(r, sizeof r, out, PD_HASH_LEN);
}

char *pdi_base64_encode(const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen;
    if (!pdi_add_size(len, 2, &olen)) {
        return NULL;
    }
    olen = olen / 3 * 4 + 1;
    char *out = pdi_malloc(olen);
    if (!out) {
        return NULL;
    }
    const uint8_t *d = data;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < len ? (uint32_t)d[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}
