/*
 * util/util.h - small shared helpers: growable buffers, strings, checked
 * arithmetic, files, hashing (SHA-256, the "stable hash" of the semantics
 * document), base64, and a canonical JSON writer.
 *
 * Every other subsystem may use this header; util depends on nothing but
 * libc and OpenSSL.
 */
#ifndef PD_UTIL_H
#define PD_UTIL_H

#include "pipedag/common.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- memory ---- */
void *pdi_malloc(size_t n);              /* NULL on failure (sets PD_ERR_NOMEM) */
void *pdi_calloc(size_t n, size_t size); /* overflow-checked */
void *pdi_realloc(void *p, size_t n);
/* Room for element n of an array of `elem`-byte items with capacity *cap:
 * when full (n == *cap), realloc to twice the capacity (`first` when empty).
 * Returns the array, maybe moved: the caller stores it. NULL (PD_ERR_NOMEM
 * set; the old array and *cap unchanged) when out of memory. */
void *pdi_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first);
char *pdi_strdup(const char *s); /* NULL-safe: NULL -> NULL */
char *pdi_strndup(const char *s, size_t n);
char *pdi_asprintf(const char *fmt, ...) PD_PRINTF(1, 2);
char *pdi_vasprintf(const char *fmt, va_list ap) PD_PRINTF(1, 0);

/* ---- checked size arithmetic: return false on overflow ---- */
static inline bool pdi_add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool pdi_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* ---- growable byte buffer (always NUL-terminated for text use) ---- */
typedef struct pd_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* sticky: an append failed */
} pd_buf;
#define PD_BUF_INIT       \
    {                     \
        NULL, 0, 0, false \
    }
int pdi_buf_reserve(pd_buf *b, size_t extra);
int pdi_buf_append(pd_buf *b, const void *data, size_t len);
int pdi_buf_puts(pd_buf *b, const char *s);
int pdi_buf_putc(pd_buf *b, char c);
int pdi_buf_printf(pd_buf *b, const char *fmt, ...) PD_PRINTF(2, 3);
int pdi_buf_vprintf(pd_buf *b, const char *fmt, va_list ap) PD_PRINTF(2, 0);
void pdi_buf_clear(pd_buf *b); /* len = 0, keeps memory */
void pdi_buf_free(pd_buf *b);
char *pdi_buf_detach(pd_buf *b); /* returns data (never NULL unless oom), resets b */

/* ---- strings ---- */
bool pdi_str_eq(const char *a, const char *b); /* NULL-safe */
bool pdi_str_ieq(const char *a, const char *b);
bool pdi_str_starts(const char *s, const char *prefix);
bool pdi_str_ends(const char *s, const char *suffix);
char *pdi_str_lower(const char *s); /* new string */
char *pdi_str_trim(const char *s);  /* new string without surrounding whitespace */
/* Replace every occurrence of `from` with `to`; new string. */
char *pdi_str_replace(const char *s, const char *from, const char *to);

/* Growable array of owned strings. */
typedef struct pd_strv {
    char **items;
    size_t n;
    size_t cap;
} pd_strv;
#define PD_STRV_INIT \
    {                \
        NULL, 0, 0   \
    }
int pdi_strv_push(pd_strv *v, const char *s); /* copies */
int pdi_strv_push_owned(pd_strv *v, char *s); /* takes ownership */
bool pdi_strv_contains(const pd_strv *v, const char *s);
void pdi_strv_sort(pd_strv *v);
void pdi_strv_free(pd_strv *v);

/* ---- files ---- */
/* Read a whole file; *len may be NULL. Result is NUL-terminated. */
char *pdi_file_read(const char *path, size_t *len);
/* Write atomically: write to a temp file beside path, fsync, rename. */
int pdi_file_write_atomic(const char *path, const void *data, size_t len);
int pdi_mkdir_p(const char *path); /* like mkdir -p */
int pdi_rm_rf(const char *path);   /* recursive delete; missing is OK */
bool pdi_path_exists(const char *path);
bool pdi_is_dir(const char *path);
/* Join two path parts with '/' (b absolute -> copy of b). */
char *pdi_path_join(const char *a, const char *b);
char *pdi_path_dirname(const char *path);
int pdi_fsync_dir(const char *dir);

/* ---- hashing ---- */
#define PD_SHA256_LEN 32
void pdi_sha256(const void *data, size_t len, uint8_t out[PD_SHA256_LEN]);
/* Streaming SHA-256. */
typedef struct pd_sha256_ctx {
    void *impl;
} pd_sha256_ctx;
int pdi_sha256_init(pd_sha256_ctx *c);
void pdi_sha256_update(pd_sha256_ctx *c, const void *data, size_t len);
void pdi_sha256_final(pd_sha256_ctx *c, uint8_t out[PD_SHA256_LEN]);
/* Lower-case hex of a byte string into out (2*len+1 bytes). */
void pdi_hex(const uint8_t *data, size_t len, char *out);

/* The stable hash of PIPEDAG_SEMANTICS.md: SHA-256 seeded with "PYDIVERSE",
 * then for each argument its 8-byte big-endian length and its bytes; the
 * digest base32-encoded (RFC 4648 alphabet), lower-cased, first 20 chars.
 * out must hold 21 bytes. args[i] may not be NULL. */
#define PD_HASH_LEN 20
void pdi_stable_hash(const char *const *args, size_t n, char out[PD_HASH_LEN + 1]);
/* Convenience: NULL-terminated variadic list of strings. */
void pdi_stable_hashv(char out[PD_HASH_LEN + 1], ...);
/* 20 random lower-case base32 chars (run ids, random versions). */
void pdi_random_id(char out[PD_HASH_LEN + 1]);

/* ---- the hash probe of unique checks (distinct.c) ---- */
/* A 64-bit hash of bytes (not cryptographic: equal input, equal hash, and
 * well spread; collisions cost the caller time, never a wrong answer), and
 * of one 64-bit value; inline, as the probes call them once per row. */
#define PDI_HASH_GOLD 0x9E3779B97F4A7C15ULL
/* splitmix64's finalizer: every input bit moves every output bit. */
static inline uint64_t pdi_fmix64(uint64_t k)
{
    k ^= k >> 30;
    k *= 0xBF58476D1CE4E5B9ULL;
    k ^= k >> 27;
    k *= 0x94D049BB133111EBULL;
    k ^= k >> 31;
    return k;
}
/* The two halves of the 128-bit product, folded. */
static inline uint64_t pdi_mul_fold64(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
/* Two words of input folded into the state h. */
static inline uint64_t pdi_hash_step(uint64_t a, uint64_t b, uint64_t h)
{
    return pdi_mul_fold64(a ^ 0xBF58476D1CE4E5B9ULL, b ^ h ^ 0x94D049BB133111EBULL);
}
/* 16 bytes a step, each folded into the state by one wide multiply; the
 * last 1 to 16 bytes as two (overlapping) words, or fewer bytes as
 * (overlapping) pieces of one, which with the length name them exactly;
 * one finalizer. */
static inline uint64_t pdi_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = pdi_fmix64(seed) ^ ((uint64_t)len * PDI_HASH_GOLD);
    size_t n = len;
    for (; n > 16; n -= 16, p += 16) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        h = pdi_hash_step(a, b, h);
    }
    uint64_t a = 0, b = 0;
    if (n > 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        a = x | (uint64_t)y << 32;
    } else if (n) {
        a = p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
    }
    return pdi_fmix64(pdi_hash_step(a, b, h));
}
static inline uint64_t pdi_hash64_u64(uint64_t v, uint64_t seed)
{
    return pdi_fmix64(pdi_fmix64(seed ^ PDI_HASH_GOLD) ^ v);
}
/* Do two of the n values equal? (A hash set of 2n-4n slots; without
 * memory for it, v is sorted in place.) */
bool pdi_u64_repeats(uint64_t *v, size_t n);
/* The same for many values, kept in 256 parts by their top 8 bits as they
 * arrive (sequential appends, no sort or permutation afterwards); each part
 * is then checked with a set that fits the cache. Equal values always
 * share a part. Values reach their part a cache line at a time, through a
 * line-sized buffer per part, written past the cache where the machine can
 * (256 scattered streams would each miss it). pdi_u64_parts_add fails only
 * for memory. */
#define PDI_U64_PARTS 256
#define PDI_U64_LINE  8
typedef struct pd_u64_parts {
    uint64_t *v[PDI_U64_PARTS];
    size_t n[PDI_U64_PARTS], cap[PDI_U64_PARTS];
    size_t total;
    uint64_t line[PDI_U64_PARTS][PDI_U64_LINE];
    unsigned char in_line[PDI_U64_PARTS];
} pd_u64_parts;
void pdi_u64_parts_init(pd_u64_parts *p);
/* Room for about `expected` values in all, spread evenly over the parts
 * (no copies while they arrive; more than that still fits, by growing). */
int pdi_u64_parts_reserve(pd_u64_parts *p, size_t expected);
int pdi_u64_parts_flush(pd_u64_parts *p, unsigned part);
static inline int pdi_u64_parts_add(pd_u64_parts *p, uint64_t x)
{
    unsigned part = (unsigned)(x >> 56), k = p->in_line[part];
    p->line[part][k] = x;
    p->total++;
    if (k + 1 < PDI_U64_LINE) {
        p->in_line[part] = (unsigned char)(k + 1);
        return 0;
    }
    return pdi_u64_parts_flush(p, part);
}
bool pdi_u64_parts_repeats(pd_u64_parts *p);
void pdi_u64_parts_free(pd_u64_parts *p);
/* TEST HOOK, never reachable from configuration: the unique probes keep
 * only the top `bits` bits of each hash (1..63; anything else: all 64), so
 * that tests can force collisions. pdi_unique_hash_bits() says how many
 * are kept; pdi_unique_hash_reduce() applies it to a hash. */
void pdi_test_set_unique_hash_bits(int bits);
int pdi_unique_hash_bits(void);
uint64_t pdi_unique_hash_reduce(uint64_t h);
/* The unique probes hold at most this many hashes at once (8 bytes each:
 * 128 MiB); a column with more non-NULL values is probed in several passes,
 * each keeping the hashes h with h % passes == pass. */
#define PDI_UNIQUE_MAX_HASHES ((int64_t)1 << 24)
/* The passes for `values` non-NULL values: each pass's expected share at
 * most three quarters of PDI_UNIQUE_MAX_HASHES (room for a hash's skew). */
int64_t pdi_unique_passes(int64_t values);

/* ---- base64 ---- */
char *pdi_base64_encode(const void *data, size_t len);

/* ---- canonical JSON writer ----
 * Sorted object keys are the caller's job (write keys in order); output has
 * no whitespace, separators "," and ":", non-ASCII kept as UTF-8. */
typedef struct pd_json {
    pd_buf out;
    int depth;
    bool need_comma[64];
} pd_json;
void pdi_json_init(pd_json *j);
void pdi_json_obj_begin(pd_json *j);
void pdi_json_obj_end(pd_json *j);
void pdi_json_arr_begin(pd_json *j);
void pdi_json_arr_end(pd_json *j);
void pdi_json_key(pd_json *j, const char *key);
void pdi_json_str(pd_json *j, const char *s); /* NULL -> null */
void pdi_json_strn(pd_json *j, const char *s, size_t n);
void pdi_json_int(pd_json *j, int64_t v);
void pdi_json_double(pd_json *j, double v); /* shortest round-trip form */
void pdi_json_bool(pd_json *j, bool v);
void pdi_json_null(pd_json *j);
void pdi_json_raw(pd_json *j, const char *raw); /* pre-encoded value */
/* Escape s as a JSON string literal (with quotes) into b. */
int pdi_json_escape(pd_buf *b, const char *s, size_t n);
char *pdi_json_finish(pd_json *j); /* returns owned string, resets j */
void pdi_json_free(pd_json *j);

/* Minimal JSON reader (DOM) for metadata output_json and config values. */
typedef enum pd_jtype { PD_J_NULL, PD_J_BOOL, PD_J_NUM, PD_J_STR, PD_J_ARR, PD_J_OBJ } pd_jtype;
typedef struct pd_jval {
    pd_jtype type;
    bool b;
    double num;
    char *str;              /* PD_J_STR; also the raw text of PD_J_NUM */
    struct pd_jval **items; /* PD_J_ARR elements / PD_J_OBJ values */
    char **keys;            /* PD_J_OBJ keys */
    size_t n;
} pd_jval;
/* Parse; on error returns NULL with PD_ERR_CORRUPT and the byte offset. */
pd_jval *pdi_json_parse(const char *text, size_t len);
void pdi_jval_free(pd_jval *v);
const pd_jval *pdi_jval_get(const pd_jval *obj, const char *key); /* NULL if absent */
const char *pdi_jval_str(const pd_jval *v);                       /* NULL unless string */

/* ---- time ---- */
double pdi_now_seconds(void);  /* monotonic */
int64_t pdi_unix_micros(void); /* wall clock */

/* ---- logging (stderr; secrets must never be passed here) ---- */
typedef enum pd_log_level { PD_LOG_DEBUG, PD_LOG_INFO, PD_LOG_WARN, PD_LOG_ERROR } pd_log_level;
void pdi_log_set_level(pd_log_level lvl);
void pdi_log(pd_log_level lvl, const char *fmt, ...) PD_PRINTF(2, 3);

/* Mask the password of a URL ("postgresql://u:***@h/db"); new string. */
char *pdi_url_mask_password(const char *url);

#endif
