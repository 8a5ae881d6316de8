/*
 * parquet/write_chunk.c - one leaf's row-group data -> one column chunk.
 *
 * Tries a dictionary first (open-addressing hash table on the values, early
 * abort when the sample looks high-cardinality, fallback when the PLAIN
 * dictionary exceeds the limit or does not pay), computes the chunk
 * statistics (type-defined sort orders, NaN and -0/+0 rules), splits the
 * levels and values into pages of about page_size bytes (rows never span
 * pages), encodes and compresses each page (v1 or v2) and serializes the
 * ColumnChunk metadata.
 */
#include "parquet/codec.h"
#include "parquet/writer_int.h"

#include <math.h>
#include <stdlib.h>

enum {
    E_PLAIN = 0,
    E_RLE = 3,
    E_DELTA_BINARY_PACKED = 5,
    E_DELTA_LENGTH_BYTE_ARRAY = 6,
    E_DELTA_BYTE_ARRAY = 7,
    E_RLE_DICTIONARY = 8,
    E_BYTE_STREAM_SPLIT = 9
};

void pdw_worker_free(pdw_worker *wk)
{
    if (!wk) {
        return;
    }
    pdw_shred_scratch_free(&wk->sc);
    pdw_cctx_free(&wk->cctx);
    pdw_buf_free(&wk->body);
    pdw_buf_free(&wk->lv);
    pdw_buf_free(&wk->vbuf);
    pdw_buf_free(&wk->comp);
    pdw_buf_free(&wk->hdr);
    pdw_buf_free(&wk->dict);
    pdw_buf_free(&wk->tmp);
    free(wk->ind);
    free(wk->table);
    free(wk->ehash);
    free(wk->eoff);
    memset(wk, 0, sizeof *wk);
}

/* The value at *pos of a value buffer (fixed width w, or PLAIN BYTE_ARRAY
 * when w is 0: u32 length + bytes); *len gets its length and *pos moves
 * past it. */
static inline const uint8_t *next_value(const uint8_t *vals, size_t w, size_t *pos, size_t *len)
{
    const uint8_t *p = vals + *pos;
    if (w) {
        *len = w;
        *pos += w;
        return p;
    }
    uint32_t l;
    memcpy(&l, p, 4);
    *len = l;
    *pos += 4 + (size_t)l;
    return p + 4;
}

/* ------------------------------------------------------------ dictionary */

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xbf58476d1ce4e5b9ULL);
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        h = (h ^ x) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        /* tail of 1..7 bytes without a variable-length memcpy call */
        uint64_t x;
        if (n >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, p, 4);
            memcpy(&hi, p + n - 4, 4);
            x = lo | ((uint64_t)hi << 32);
        } else {
            x = (uint64_t)p[0] | ((uint64_t)p[n / 2] << 8) | ((uint64_t)p[n - 1] << 16);
        }
        h = (h ^ x) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    return mix64(h);
}

static int ensure_u32(uint32_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) {
        return PD_OK;
    }
    size_t nc = need + need / 4 + 16;
    uint32_t *q = realloc(*p, nc * sizeof(uint32_t));
    if (!q) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    *p = q;
    *cap = nc;
    return PD_OK;
}

/* Both per-entry arrays (hash, offset) share the capacity e_cap. */
static int grow_entries(pdw_worker *wk, size_t need)
{
    if (need <= wk->e_cap) {
        return PD_OK;
    }
    size_t nc = need * 2 + 64;
    uint32_t *a = realloc(wk->ehash, nc * sizeof(uint32_t));
    if (!a) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    wk->ehash = a;
    uint32_t *b = realloc(wk->eoff, nc * sizeof(uint32_t));
    if (!b) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    wk->eoff = b;
    wk->e_cap = nc;
    return PD_OK;
}

typedef struct dict_state {
    uint32_t *table; /* slot -> entry + 1, 0 empty */
    size_t mask;
    size_t n; /* entries */
} dict_state;

/* Grow the hash table to hold at least `entries` at load <= 1/2. */
static int table_init(pdw_worker *wk, dict_state *ds, size_t slots)
{
    if (slots > wk->table_cap) {
        uint32_t *t = realloc(wk->table, slots * sizeof(uint32_t));
        if (!t) {
            return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
        }
        wk->table = t;
        wk->table_cap = slots;
    }
    memset(wk->table, 0, slots * sizeof(uint32_t));
    ds->table = wk->table;
    ds->mask = slots - 1;
    return PD_OK;
}

static int table_rehash(pdw_worker *wk, dict_state *ds)
{
    size_t slots = (ds->mask + 1) * 2;
    if (table_init(wk, ds, slots) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    for (size_t e = 0; e < ds->n; e++) {
        size_t h = wk->ehash[e] & ds->mask;
        while (ds->table[h]) {
            h = (h + 1) & ds->mask;
        }
        ds->table[h] = (uint32_t)(e + 1);
    }
    return PD_OK;
}

#define SAMPLE 32768

/* Hash of a value for the dictionary table: 4/8-byte values mixed as
 * integers, others hashed bytewise. */
static inline uint64_t value_hash(const uint8_t *p, size_t len, size_t w)
{
    if (w == 4) {
        uint32_t k;
        memcpy(&k, p, 4);
        return mix64(k);
    }
    if (w == 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        return mix64(k);
    }
    return hash_bytes(p, len);
}

/* Is dictionary entry e the value (p, len)? Entries of fixed width w sit at
 * e * w, BYTE_ARRAY entries (w == 0) at eoff[e] with their length prefix. */
static inline int
entry_is(const pdw_worker *wk, uint32_t e, const uint8_t *p, size_t len, uint32_t h32, size_t w)
{
    if (w) {
        return memcmp(wk->dict.p + (size_t)e * w, p, w) == 0;
    }
    if (wk->ehash[e] != h32) {
        return 0;
    }
    const uint8_t *q = wk->dict.p + wk->eoff[e];
    uint32_t ql;
    memcpy(&ql, q, 4);
    return ql == len && memcmp(q + 4, p, len) == 0;
}

/* The dictionary of the leaf's values of width w (0: BYTE_ARRAY), inlined
 * per width: wk->dict gets the PLAIN entries, wk->ind the index of every
 * value. Returns 1 when complete, 0 to fall back (over the limit, or more
 * than half of the first SAMPLE values distinct), <0 on error. */
static inline __attribute__((always_inline)) int
dict_values(const pdw_leaf *lf, pdw_worker *wk, dict_state *ds, size_t limit, const size_t w)
{
    size_t n = (size_t)lf->nval, pos = 0;
    const uint8_t *v = lf->vals.p;
    uint32_t *ind = wk->ind;
    for (size_t i = 0; i < n; i++) {
        if (i == SAMPLE && ds->n * 2 > SAMPLE) {
            return 0;
        }
        size_t len;
        const uint8_t *p = next_value(v, w, &pos, &len);
        uint64_t hh = value_hash(p, len, w);
        size_t h = hh & ds->mask;
        uint32_t e;
        while ((e = ds->table[h]) != 0 && !entry_is(wk, e - 1, p, len, (uint32_t)hh, w)) {
            h = (h + 1) & ds->mask;
        }
        if (e) {
            ind[i] = e - 1;
            continue;
        }
        size_t rec = w ? w : 4 + len;
        if (wk->dict.len + rec > limit) {
            return 0;
        }
        if (pdw_buf_reserve(&wk->dict, rec) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        wk->eoff[ds->n] = (uint32_t)wk->dict.len;
        wk->ehash[ds->n] = (uint32_t)hh;
        memcpy(wk->dict.p + wk->dict.len, w ? p : p - 4, rec);
        wk->dict.len += rec;
        ds->table[h] = (uint32_t)(ds->n + 1);
        ind[i] = (uint32_t)ds->n++;
        /* the check at SAMPLE will fail once more than SAMPLE / 2 distinct
         * values came before it: give up as soon as that is certain */
        if (n > SAMPLE && i < SAMPLE && ds->n * 2 > SAMPLE) {
            return 0;
        }
        if ((ds->n + 1 > wk->e_cap && grow_entries(wk, ds->n + 1) != PD_OK) ||
            ((ds->n + 1) * 2 > ds->mask + 1 && table_rehash(wk, ds) != PD_OK)) {
            return PD_ERR_NOMEM;
        }
    }
    return 1;
}

/* Build the dictionary: wk->dict gets the PLAIN entries, wk->ind the index
 * of every value. Returns 1 on success, 0 to fall back, <0 on error. */
static int build_dict(const pdw_enc_opts *o, const pdw_leaf *lf, pdw_worker *wk, size_t *ndict)
{
    size_t n = (size_t)lf->nval;
    size_t limit = (size_t)o->dict_limit;
    if (n == 0 || lf->phys == T_BOOLEAN) {
        return 0;
    }
    if (ensure_u32(&wk->ind, &wk->ind_cap, n) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    if (grow_entries(wk, 1024) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    dict_state ds = {0};
    /* big chunks start with room for the SAMPLE / 2 + 1 distinct values that
     * decide a fallback, so high-cardinality columns give up unrehashed */
    if (table_init(wk, &ds, n > SAMPLE ? 2 * SAMPLE : 4096) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    wk->dict.len = 0;
    size_t w = pdw_value_width(lf);
    int r = w == 4   ? dict_values(lf, wk, &ds, limit, 4)
            : w == 8 ? dict_values(lf, wk, &ds, limit, 8)
                     : dict_values(lf, wk, &ds, limit, w);
    if (r != 1) {
        return r;
    }
    *ndict = ds.n;
    /* does it pay? */
    size_t plain = lf->vals.len;
    size_t bw = (size_t)pdw_bit_width(ds.n > 1 ? ds.n - 1 : 1);
    size_t dict_cost = wk->dict.len + (n * bw + 7) / 8;
    if (dict_cost >= plain - plain / 8) {
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ statistics */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            float f = (float)man / 1024.0f / 16384.0f;
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint64_t prefix_key(const uint8_t *p, size_t n)
{
    uint64_t k = 0;
    if (n >= 8) {
        memcpy(&k, p, 8);
        return __builtin_bswap64(k);
    }
    for (size_t i = 0; i < n; i++) {
        k |= (uint64_t)p[i] << (56 - 8 * i);
    }
    return k;
}

static int dec_cmp(const uint8_t *a, const uint8_t *b, size_t w)
{
    if (a[0] != b[0]) {
        return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
    }
    return memcmp(a + 1, b + 1, w - 1);
}

static int set_stat(pdw_buf *b, const void *p, size_t n)
{
    b->len = 0;
    return pdw_buf_put(b, p, n);
}

/* minmax_<type>(src, n, min, max): min and max of n values of the type at
 * src, skipping NaNs (x != x, never true for integers); returns the number
 * of NaNs (n: min and max are not set). */
#define DEF_MINMAX(NAME, T)                                                \
    static size_t NAME(const uint8_t *src, size_t n, void *mnp, void *mxp) \
    {                                                                      \
        const T *v = (const T *)(const void *)src;                         \
        size_t i = 0;                                                      \
        while (i < n && v[i] != v[i]) {                                    \
            i++;                                                           \
        }                                                                  \
        if (i == n) {                                                      \
            return n;                                                      \
        }                                                                  \
        size_t nans = i;                                                   \
        T mn = v[i], mx = v[i];                                            \
        for (; i < n; i++) {                                               \
            T x = v[i];                                                    \
            if (x != x) {                                                  \
                nans++;                                                    \
                continue;                                                  \
            }                                                              \
            mn = x < mn ? x : mn;                                          \
            mx = x > mx ? x : mx;                                          \
        }                                                                  \
        memcpy(mnp, &mn, sizeof(T));                                       \
        memcpy(mxp, &mx, sizeof(T));                                       \
        return nans;                                                       \
    }
DEF_MINMAX(minmax_i32, int32_t)
DEF_MINMAX(minmax_u32, uint32_t)
DEF_MINMAX(minmax_i64, int64_t)
DEF_MINMAX(minmax_u64, uint64_t)
DEF_MINMAX(minmax_f32, float)
DEF_MINMAX(minmax_f64, double)
#undef DEF_MINMAX

/* A zero float (w 4) or double bound is written as -0.0 for the min
 * (negative) and +0.0 for the max. */
static void zero_bound(uint8_t *v, size_t w, int negative)
{
    if (w == 4) {
        float f;
        memcpy(&f, v, 4);
        if (f == 0.0f) {
            f = negative ? -0.0f : 0.0f;
            memcpy(v, &f, 4);
        }
    } else {
        double d;
        memcpy(&d, v, 8);
        if (d == 0.0) {
            d = negative ? -0.0 : 0.0;
            memcpy(v, &d, 8);
        }
    }
}

/* Statistics over n values stored as `src` (fixed width w, or PLAIN
 * BYTE_ARRAY when w == 0). */
static int compute_stats(pdw_leaf *lf, const uint8_t *src, size_t n, size_t srclen)
{
    pdw_chunk_meta *m = &lf->meta;
    m->has_minmax = 0;
    m->signed_legacy = 0;
    m->nan_count = -1;
    if (n == 0 || lf->sort == PDW_SO_NONE) {
        return PD_OK;
    }
    switch (lf->sort) {
    case PDW_SO_BOOL: {
        uint8_t mn = 1, mx = 0;
        for (size_t i = 0; i < n; i++) {
            mn &= src[i];
            mx |= src[i];
        }
        m->has_minmax = 1;
        m->signed_legacy = 1;
        if (set_stat(&m->min, &mn, 1) || set_stat(&m->max, &mx, 1)) {
            return PD_ERR_NOMEM;
        }
        return PD_OK;
    }
    case PDW_SO_SIGNED:
    case PDW_SO_UNSIGNED:
    case PDW_SO_FLOAT: {
        size_t w = pdw_value_width(lf);
        uint8_t mn[8], mx[8];
        size_t (*fn)(const uint8_t *, size_t, void *, void *);
        if (lf->sort == PDW_SO_FLOAT) {
            fn = w == 4 ? minmax_f32 : minmax_f64;
        } else if (lf->sort == PDW_SO_SIGNED) {
            fn = w == 4 ? minmax_i32 : minmax_i64;
        } else {
            fn = w == 4 ? minmax_u32 : minmax_u64;
        }
        size_t nans = fn(src, n, mn, mx);
        if (lf->sort == PDW_SO_FLOAT) {
            m->nan_count = (int64_t)nans;
            if (nans == n) {
                return PD_OK; /* only NaNs: no min/max */
            }
            zero_bound(mn, w, 1);
            zero_bound(mx, w, 0);
        }
        if (set_stat(&m->min, mn, w) || set_stat(&m->max, mx, w)) {
            return PD_ERR_NOMEM;
        }
        m->has_minmax = 1;
        m->signed_legacy = lf->sort != PDW_SO_UNSIGNED;
        return PD_OK;
    }
    case PDW_SO_F16: {
        int64_t nans = 0;
        int any = 0;
        float mn = INFINITY, mx = -INFINITY;
        uint16_t hmn = 0, hmx = 0;
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            float x = half_to_float(h);
            if (x != x) {
                nans++;
                continue;
            }
            if (!any || x < mn) {
                mn = x;
                hmn = h;
            }
            if (!any || x > mx) {
                mx = x;
                hmx = h;
            }
            any = 1;
        }
        if (any) {
            if (mn == 0.0f) {
                hmn = 0x8000;
            }
            if (mx == 0.0f) {
                hmx = 0x0000;
            }
            if (set_stat(&m->min, &hmn, 2) || set_stat(&m->max, &hmx, 2)) {
                return PD_ERR_NOMEM;
            }
        }
        m->has_minmax = any;
        m->nan_count = nans;
        return PD_OK;
    }
    case PDW_SO_BYTES:
    case PDW_SO_DECBE: {
        size_t w = pdw_value_width(lf);
        const uint8_t *mnp, *mxp;
        size_t mnl, mxl;
        if (w) {
            mnp = mxp = src;
            mnl = mxl = w;
            for (size_t i = 1; i < n; i++) {
                const uint8_t *p = src + i * w;
                if (lf->sort == PDW_SO_DECBE) {
                    if (dec_cmp(p, mnp, w) < 0) {
                        mnp = p;
                    }
                    if (dec_cmp(p, mxp, w) > 0) {
                        mxp = p;
                    }
                } else {
                    if (memcmp(p, mnp, w) < 0) {
                        mnp = p;
                    }
                    if (memcmp(p, mxp, w) > 0) {
                        mxp = p;
                    }
                }
            }
        } else {
            uint32_t l;
            memcpy(&l, src, 4);
            mnp = mxp = src + 4;
            mnl = mxl = l;
            uint64_t kmn = prefix_key(mnp, mnl), kmx = kmn;
            size_t pos = 4 + l;
            while (pos < srclen) {
                memcpy(&l, src + pos, 4);
                const uint8_t *p = src + pos + 4;
                pos += 4 + l;
                /* the first 8 bytes (big-endian, zero padded) decide most
                 * comparisons; equal keys fall back to memcmp */
                uint64_t k = prefix_key(p, l);
                if (k > kmn && k < kmx) {
                    continue;
                }
                if (k <= kmn) {
                    int c = k < kmn ? -1 : memcmp(p, mnp, l < mnl ? l : mnl);
                    if (c < 0 || (c == 0 && l < mnl)) {
                        mnp = p;
                        mnl = l;
                        kmn = k;
                    }
                }
                if (k >= kmx) {
                    int c = k > kmx ? 1 : memcmp(p, mxp, l < mxl ? l : mxl);
                    if (c > 0 || (c == 0 && l > mxl)) {
                        mxp = p;
                        mxl = l;
                        kmx = k;
                    }
                }
            }
            if (mnl > 4096 || mxl > 4096) {
                return PD_OK; /* too long for statistics */
            }
        }
        if (set_stat(&m->min, mnp, mnl) || set_stat(&m->max, mxp, mxl)) {
            return PD_ERR_NOMEM;
        }
        m->has_minmax = 1;
        return PD_OK;
    }
    default: return PD_OK;
    }
}

/* ------------------------------------------------------------ pages */

static void page_header(pdw_thrift *t, int type, size_t usize, size_t csize)
{
    pdw_t_i32(t, 1, type);
    pdw_t_i32(t, 2, (int32_t)usize);
    pdw_t_i32(t, 3, (int32_t)csize);
}

static int put_u32(pdw_buf *b, uint32_t v)
{
    return pdw_buf_put(b, &v, 4);
}

/* Append n uint8 values as an RLE/bit-packed hybrid of the given width;
 * `prefixed` puts its u32 byte length in front (v1 levels, RLE booleans). */
static int put_rle_u8(pdw_buf *out, const uint8_t *v, size_t n, int width, int prefixed)
{
    size_t at = out->len;
    if ((prefixed && put_u32(out, 0) != PD_OK) || pdw_rle_u8(out, v, n, width) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    if (prefixed) {
        uint32_t l = (uint32_t)(out->len - at - 4);
        memcpy(out->p + at, &l, 4);
    }
    return PD_OK;
}

/* Encode values [v0, v1) (byte range [b0, b1) for BYTE_ARRAY) into out. */
static int encode_values(const pdw_leaf *lf,
                         pdw_worker *wk,
                         int enc,
                         size_t bw,
                         size_t v0,
                         size_t v1,
                         size_t b0,
                         size_t b1,
                         pdw_buf *out)
{
    size_t n = v1 - v0;
    size_t w = pdw_value_width(lf);
    const uint8_t *vals = lf->vals.p;
    switch (enc) {
    case E_RLE_DICTIONARY: {
        uint8_t b = (uint8_t)bw;
        if (pdw_buf_put(out, &b, 1) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        return pdw_rle_u32(out, wk->ind + v0, n, (int)bw);
    }
    case E_PLAIN:
        if (lf->phys == T_BOOLEAN) {
            size_t nb = (n + 7) / 8;
            if (pdw_buf_reserve(out, nb) != PD_OK) {
                return PD_ERR_NOMEM;
            }
            uint8_t *o = out->p + out->len;
            memset(o, 0, nb);
            for (size_t i = 0; i < n; i++) {
                o[i >> 3] |= (uint8_t)(vals[v0 + i] << (i & 7));
            }
            out->len += nb;
            return PD_OK;
        }
        if (w) {
            return pdw_buf_put(out, vals + v0 * w, n * w);
        }
        return pdw_buf_put(out, vals + b0, b1 - b0);
    case E_RLE: /* booleans: length-prefixed hybrid, width 1 */
        return put_rle_u8(out, vals + v0, n, 1, 1);
    case E_DELTA_BINARY_PACKED:
        if (lf->phys == T_INT32) {
            return pdw_delta_i32(out, (const int32_t *)(const void *)(vals + v0 * 4), n);
        }
        return pdw_delta_i64(out, (const int64_t *)(const void *)(vals + v0 * 8), n);
    case E_BYTE_STREAM_SPLIT: return pdw_bss(out, vals + v0 * w, n, w);
    case E_DELTA_LENGTH_BYTE_ARRAY:
    case E_DELTA_BYTE_ARRAY: {
        /* lengths (and prefixes) into wk->tmp as int32 */
        wk->tmp.len = 0;
        if (pdw_buf_reserve(&wk->tmp, n * 8 + 8) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        int32_t *lens = (int32_t *)(void *)wk->tmp.p;
        int32_t *pre = lens + n;
        const uint8_t *prev = NULL;
        size_t prevl = 0, pos0 = w ? v0 * w : b0, pos = pos0, total = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l;
            const uint8_t *p = next_value(vals, w, &pos, &l);
            size_t k = 0;
            if (enc == E_DELTA_BYTE_ARRAY && prev) {
                size_t mx = l < prevl ? l : prevl;
                while (k < mx && p[k] == prev[k]) {
                    k++;
                }
            }
            pre[i] = (int32_t)k;
            lens[i] = (int32_t)(l - k);
            total += l - k;
            prev = p;
            prevl = l;
        }
        if (enc == E_DELTA_BYTE_ARRAY && pdw_delta_i32(out, pre, n) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        if (pdw_delta_i32(out, lens, n) != PD_OK || pdw_buf_reserve(out, total) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        pos = pos0;
        for (size_t i = 0; i < n; i++) {
            size_t l;
            const uint8_t *p = next_value(vals, w, &pos, &l);
            memcpy(out->p + out->len, p + pre[i], l - (size_t)pre[i]);
            out->len += l - (size_t)pre[i];
        }
        return PD_OK;
    }
    default:
        return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': encoding %d not valid",
                            lf->dotted, enc);
    }
}

/* PLAIN values of non-boolean columns are stored as is: hand out the slice. */
static int plain_slice(const pdw_leaf *lf,
                       int enc,
                       size_t v0,
                       size_t v1,
                       size_t b0,
                       size_t b1,
                       const uint8_t **p,
                       size_t *n)
{
    if (enc != E_PLAIN || lf->phys == T_BOOLEAN) {
        return 0;
    }
    size_t w = pdw_value_width(lf);
    if (w) {
        *p = lf->vals.p + v0 * w;
        *n = (v1 - v0) * w;
    } else {
        *p = lf->vals.p + b0;
        *n = b1 - b0;
    }
    return 1;
}

static int enc_valid(int phys, int enc)
{
    switch (enc) {
    case E_PLAIN: return 1;
    case E_RLE: return phys == T_BOOLEAN;
    case E_DELTA_BINARY_PACKED: return phys == T_INT32 || phys == T_INT64;
    case E_DELTA_LENGTH_BYTE_ARRAY: return phys == T_BYTE_ARRAY;
    case E_DELTA_BYTE_ARRAY: return phys == T_BYTE_ARRAY || phys == T_FLBA;
    case E_BYTE_STREAM_SPLIT:
        /* INT32/INT64/FLBA are format 2.11 additions many readers (DuckDB 1.5)
         * refuse: only floating point columns get it */
        return phys == T_FLOAT || phys == T_DOUBLE;
    default: return 0;
    }
}

static int pick_fallback(const pdw_enc_opts *o, const pdw_leaf *lf)
{
    if (o->encoding >= 0) {
        return enc_valid(lf->phys, o->encoding) ? o->encoding : E_PLAIN;
    }
    if (o->page_version != 2) {
        return E_PLAIN;
    }
    switch (lf->phys) {
    case T_BOOLEAN: return E_RLE;
    case T_INT32:
    case T_INT64: {
        /* delta pays for mostly sorted columns */
        size_t n = (size_t)lf->nval, asc = 0, step = n > 4096 ? n / 4096 : 1, seen = 0;
        size_t w = pdw_value_width(lf);
        for (size_t i = step; i < n; i += step) {
            int64_t a, b;
            if (w == 4) {
                int32_t x, y;
                memcpy(&x, lf->vals.p + (i - 1) * 4, 4);
                memcpy(&y, lf->vals.p + i * 4, 4);
                a = x;
                b = y;
            } else {
                memcpy(&a, lf->vals.p + (i - 1) * 8, 8);
                memcpy(&b, lf->vals.p + i * 8, 8);
            }
            asc += b >= a;
            seen++;
        }
        return seen && asc * 10 >= seen * 9 ? E_DELTA_BINARY_PACKED : E_PLAIN;
    }
    case T_BYTE_ARRAY: return E_DELTA_LENGTH_BYTE_ARRAY;
    default: return E_PLAIN;
    }
}

/* Compress src into wk->comp unless the codec is UNCOMPRESSED; *p / *n
 * then point at what goes into the page. */
static int compress_part(const pdw_enc_opts *o, pdw_worker *wk, const uint8_t **p, size_t *n)
{
    if (o->codec == PD_CODEC_UNCOMPRESSED) {
        return PD_OK;
    }
    wk->comp.len = 0;
    int rc = pdw_compress(&wk->cctx, o->codec, o->level, *p, *n, &wk->comp);
    *p = wk->comp.p;
    *n = wk->comp.len;
    return rc;
}

/* Append a page to the chunk: the header serialized in wk->hdr, then the
 * uncompressed prefix `pre` (v2 levels) and the (compressed) payload; usize
 * is the uncompressed size of both. */
static int append_page(pdw_leaf *lf,
                       pdw_worker *wk,
                       const pdw_thrift *t,
                       const uint8_t *pre,
                       size_t pre_len,
                       const uint8_t *pay,
                       size_t pay_len,
                       size_t usize)
{
    if (t->err) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    if (pdw_buf_put(&lf->enc, wk->hdr.p, wk->hdr.len) || pdw_buf_put(&lf->enc, pre, pre_len) ||
        pdw_buf_put(&lf->enc, pay, pay_len)) {
        return PD_ERR_NOMEM;
    }
    lf->meta.total_uncompressed += (int64_t)(wk->hdr.len + usize);
    lf->meta.total_compressed += (int64_t)(wk->hdr.len + pre_len + pay_len);
    return PD_OK;
}

/* Write one page (levels [l0,l1), values [v0,v1)) to lf->enc. A v1 page
 * compresses its length-prefixed levels together with the values; a v2
 * page keeps the levels uncompressed in front and compresses the values. */
static int write_page(const pdw_enc_opts *o,
                      pdw_leaf *lf,
                      pdw_worker *wk,
                      int enc,
                      size_t bw,
                      size_t l0,
                      size_t l1,
                      size_t v0,
                      size_t v1,
                      size_t b0,
                      size_t b1)
{
    int v2 = o->page_version == 2;
    size_t nlev = l1 - l0;
    pdw_buf *body = &wk->body;
    body->len = 0;
    if (lf->max_rep > 0 && put_rle_u8(body, lf->rep.p + l0, nlev,
                                      pdw_bit_width((uint64_t)lf->max_rep), !v2) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    size_t rep_len = body->len;
    if (lf->max_def > 0 && put_rle_u8(body, lf->def.p + l0, nlev,
                                      pdw_bit_width((uint64_t)lf->max_def), !v2) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    size_t def_len = body->len - rep_len;
    /* the payload: PLAIN values as a slice when nothing precedes them in
     * the compressed part, else encoded (v1: after the levels) */
    const uint8_t *pay;
    size_t pay_len;
    if (!((v2 || body->len == 0) && plain_slice(lf, enc, v0, v1, b0, b1, &pay, &pay_len))) {
        pdw_buf *out = v2 ? &wk->vbuf : body;
        if (v2) {
            out->len = 0;
        }
        int rc = encode_values(lf, wk, enc, bw, v0, v1, b0, b1, out);
        if (rc != PD_OK) {
            return rc;
        }
        pay = out->p;
        pay_len = out->len;
    }
    size_t pre_len = v2 ? body->len : 0;
    size_t usize = pre_len + pay_len;
    int rc = compress_part(o, wk, &pay, &pay_len);
    if (rc != PD_OK) {
        return rc;
    }
    if (usize > 0x7FFFFFFF || pre_len + pay_len > 0x7FFFFFFF) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "parquet writer: column '%s': page too large",
                            lf->dotted);
    }
    wk->hdr.len = 0;
    pdw_thrift t;
    pdw_t_init(&t, &wk->hdr);
    page_header(&t, v2 ? 3 : 0, usize, pre_len + pay_len);
    if (v2) {
        size_t nrows = nlev;
        if (lf->max_rep > 0) {
            nrows = 0;
            for (size_t i = l0; i < l1; i++) {
                nrows += lf->rep.p[i] == 0;
            }
        }
        size_t nnull = lf->conv == PDW_CV_NULL ? nlev : nlev - (v1 - v0);
        pdw_t_struct(&t, 8);
        pdw_t_i32(&t, 1, (int32_t)nlev);
        pdw_t_i32(&t, 2, (int32_t)nnull);
        pdw_t_i32(&t, 3, (int32_t)nrows);
        pdw_t_i32(&t, 4, enc);
        pdw_t_i32(&t, 5, (int32_t)def_len);
        pdw_t_i32(&t, 6, (int32_t)rep_len);
        pdw_t_bool(&t, 7, o->codec != PD_CODEC_UNCOMPRESSED);
    } else {
        pdw_t_struct(&t, 5);
        pdw_t_i32(&t, 1, (int32_t)nlev);
        pdw_t_i32(&t, 2, enc);
        pdw_t_i32(&t, 3, E_RLE);
        pdw_t_i32(&t, 4, E_RLE);
    }
    pdw_t_end(&t);
    pdw_t_end(&t);
    rc = append_page(lf, wk, &t, body->p, pre_len, pay, pay_len, usize);
    if (rc != PD_OK) {
        return rc;
    }
    lf->meta.data_pages_by_enc[enc]++;
    lf->meta.encodings |= 1u << enc;
    return PD_OK;
}

static int write_dict_page(const pdw_enc_opts *o, pdw_leaf *lf, pdw_worker *wk, size_t ndict)
{
    const uint8_t *pay = wk->dict.p;
    size_t pay_len = wk->dict.len;
    int rc = compress_part(o, wk, &pay, &pay_len);
    if (rc != PD_OK) {
        return rc;
    }
    wk->hdr.len = 0;
    pdw_thrift t;
    pdw_t_init(&t, &wk->hdr);
    page_header(&t, 2, wk->dict.len, pay_len);
    pdw_t_struct(&t, 7);
    pdw_t_i32(&t, 1, (int32_t)ndict);
    pdw_t_i32(&t, 2, E_PLAIN);
    pdw_t_end(&t);
    pdw_t_end(&t);
    lf->meta.dict_rel = (int64_t)lf->enc.len;
    rc = append_page(lf, wk, &t, NULL, 0, pay, pay_len, wk->dict.len);
    if (rc != PD_OK) {
        return rc;
    }
    lf->meta.dict_pages++;
    lf->meta.encodings |= 1u << E_PLAIN;
    return PD_OK;
}

/* Bloom filter over the dictionary entries, appended after the pages (not
 * counted in the chunk sizes). */
static int write_bloom(pdw_leaf *lf, pdw_worker *wk, size_t ndict)
{
    size_t nbytes = pdw_bloom_size(ndict);
    wk->hdr.len = 0;
    pdw_thrift t;
    pdw_t_init(&t, &wk->hdr);
    pdw_bloom_header(&t, nbytes);
    if (t.err || pdw_buf_reserve(&lf->enc, wk->hdr.len + nbytes) != PD_OK) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    lf->meta.bloom_rel = (int64_t)lf->enc.len;
    lf->meta.bloom_len = (int64_t)(wk->hdr.len + nbytes);
    memcpy(lf->enc.p + lf->enc.len, wk->hdr.p, wk->hdr.len);
    lf->enc.len += wk->hdr.len;
    uint8_t *bits = lf->enc.p + lf->enc.len;
    memset(bits, 0, nbytes);
    size_t w = pdw_value_width(lf), pos = 0;
    for (size_t e = 0; e < ndict; e++) {
        size_t len;
        const uint8_t *p = next_value(wk->dict.p, w, &pos, &len);
        pdi_pq_bloom_insert(bits, nbytes, pdi_pq_xxh64(p, len));
    }
    lf->enc.len += nbytes;
    return PD_OK;
}

int pdw_encode_chunk(const pdw_enc_opts *o, pdw_leaf *lf, pdw_worker *wk)
{
    pdw_chunk_meta *m = &lf->meta;
    lf->enc.len = 0;
    m->num_values = lf->nlev;
    m->total_compressed = m->total_uncompressed = 0;
    m->dict_rel = -1;
    m->data_rel = 0;
    m->encodings = 1u << E_RLE;
    m->dict_pages = 0;
    memset(m->data_pages_by_enc, 0, sizeof m->data_pages_by_enc);
    m->data_page_type = o->page_version == 2 ? 3 : 0;
    m->null_count = o->statistics ? lf->nnull : -1;
    m->has_minmax = 0;
    m->nan_count = -1;
    m->bloom_rel = m->bloom_len = -1;

    size_t ndict = 0;
    int use_dict = 0;
    if (o->dictionary && lf->conv != PDW_CV_NULL) {
        int r = build_dict(o, lf, wk, &ndict);
        if (r < 0) {
            return r;
        }
        use_dict = r;
    }
    int rc;
    size_t w = pdw_value_width(lf);
    if (o->statistics) {
        /* min/max over the distinct values is enough, but nan_count needs
         * every value */
        if (use_dict && lf->sort != PDW_SO_FLOAT && lf->sort != PDW_SO_F16) {
            rc = compute_stats(lf, wk->dict.p, ndict, wk->dict.len);
        } else {
            rc = compute_stats(lf, lf->vals.p, (size_t)lf->nval, lf->vals.len);
        }
        if (rc != PD_OK) {
            return rc;
        }
    }
    int enc = E_RLE_DICTIONARY;
    size_t bw = 0;
    if (use_dict) {
        bw = (size_t)pdw_bit_width(ndict > 1 ? ndict - 1 : 1);
        rc = write_dict_page(o, lf, wk, ndict);
        if (rc != PD_OK) {
            return rc;
        }
    } else {
        enc = pick_fallback(o, lf);
    }
    m->data_rel = (int64_t)lf->enc.len;

    /* page splitting: cost in bits per value */
    uint64_t budget = (uint64_t)o->page_size * 8;
    uint64_t fixed_cost = use_dict ? bw : (w ? w * 8 : 0);
    if (lf->phys == T_BOOLEAN && !use_dict) {
        fixed_cost = 1;
    }
    size_t nlev = (size_t)lf->nlev, nval = (size_t)lf->nval;
    size_t l = 0, v = 0, b = 0;
    int has_levels = lf->max_def > 0 || lf->max_rep > 0;
    const uint8_t *def = lf->def.p, *rep = lf->rep.p;
    uint8_t maxd = (uint8_t)lf->max_def;
    int first = 1;
    while (l < nlev || first) {
        first = 0;
        size_t l1, v1, b1 = b;
        uint64_t cost = 0;
        if (!has_levels) {
            if (fixed_cost || lf->conv == PDW_CV_NULL) {
                size_t per = fixed_cost ? (size_t)(budget / fixed_cost) : nlev;
                if (per < 1) {
                    per = 1;
                }
                l1 = l + per < nlev ? l + per : nlev;
                v1 = l1;
            } else {
                v1 = v;
                while (v1 < nval && cost < budget) {
                    uint32_t len;
                    memcpy(&len, lf->vals.p + b1, 4);
                    b1 += 4 + len;
                    cost += (4 + (uint64_t)len) * 8;
                    v1++;
                }
                l1 = v1;
            }
        } else {
            l1 = l;
            v1 = v;
            while (l1 < nlev) {
                if (cost >= budget && (!lf->max_rep || rep[l1] == 0)) {
                    break;
                }
                if (def[l1] == maxd && lf->conv != PDW_CV_NULL) {
                    if (fixed_cost) {
                        cost += fixed_cost;
                    } else {
                        uint32_t len;
                        memcpy(&len, lf->vals.p + b1, 4);
                        b1 += 4 + len;
                        cost += (4 + (uint64_t)len) * 8;
                    }
                    v1++;
                }
                cost += 1;
                l1++;
            }
        }
        rc = write_page(o, lf, wk, enc, bw, l, l1, v, v1, b, b1);
        if (rc != PD_OK) {
            return rc;
        }
        l = l1;
        v = v1;
        b = b1;
        if (nlev == 0) {
            break;
        }
    }
    if (use_dict) {
        m->encodings |= 1u << E_RLE_DICTIONARY;
        if (o->bloom) {
            return write_bloom(lf, wk, ndict);
        }
    }
    return PD_OK;
}

/* ------------------------------------------------------------ metadata */

void pdw_chunk_serialize(const pdw_leaf *lf, int codec, int64_t base, pdw_thrift *t)
{
    const pdw_chunk_meta *m = &lf->meta;
    pdw_t_begin(t);
    pdw_t_i64(t, 2, 0);
    pdw_t_struct(t, 3);
    pdw_t_i32(t, 1, lf->phys);
    size_t ne = 0;
    for (int e = 0; e < 32; e++) {
        ne += (m->encodings >> e) & 1;
    }
    pdw_t_list(t, 2, PDW_T_I32, ne);
    for (int e = 0; e < 32; e++) {
        if ((m->encodings >> e) & 1) {
            pdw_t_raw_i32(t, e);
        }
    }
    pdw_t_list(t, 3, PDW_T_BINARY, (size_t)lf->npath);
    for (int i = 0; i < lf->npath; i++) {
        pdw_t_raw_bin(t, lf->path[i], strlen(lf->path[i]));
    }
    pdw_t_i32(t, 4, codec);
    pdw_t_i64(t, 5, m->num_values);
    pdw_t_i64(t, 6, m->total_uncompressed);
    pdw_t_i64(t, 7, m->total_compressed);
    pdw_t_i64(t, 9, base + m->data_rel);
    if (m->dict_rel >= 0) {
        pdw_t_i64(t, 11, base + m->dict_rel);
    }
    if (m->has_minmax || m->null_count >= 0) {
        pdw_t_struct(t, 12);
        if (m->has_minmax && m->signed_legacy) {
            pdw_t_bin(t, 1, m->max.p, m->max.len);
            pdw_t_bin(t, 2, m->min.p, m->min.len);
        }
        pdw_t_i64(t, 3, m->null_count);
        if (m->has_minmax) {
            pdw_t_bin(t, 5, m->max.p, m->max.len);
            pdw_t_bin(t, 6, m->min.p, m->min.len);
            pdw_t_bool(t, 7, 1);
            pdw_t_bool(t, 8, 1);
        }
        if (m->nan_count >= 0) {
            pdw_t_i64(t, 9, m->nan_count);
        }
        pdw_t_end(t);
    }
    /* encoding_stats */
    size_t nst = m->dict_pages ? 1 : 0;
    for (int e = 0; e < 10; e++) {
        nst += m->data_pages_by_enc[e] ? 1 : 0;
    }
    pdw_t_list(t, 13, PDW_T_STRUCT, nst);
    if (m->dict_pages) {
        pdw_t_begin(t);
        pdw_t_i32(t, 1, 2);
        pdw_t_i32(t, 2, E_PLAIN);
        pdw_t_i32(t, 3, m->dict_pages);
        pdw_t_end(t);
    }
    for (int e = 0; e < 10; e++) {
        if (m->data_pages_by_enc[e]) {
            pdw_t_begin(t);
            pdw_t_i32(t, 1, m->data_page_type);
            pdw_t_i32(t, 2, e);
            pdw_t_i32(t, 3, m->data_pages_by_enc[e]);
            pdw_t_end(t);
        }
    }
    if (m->bloom_rel >= 0) {
        pdw_t_i64(t, 14, base + m->bloom_rel);
        pdw_t_i32(t, 15, (int32_t)m->bloom_len);
    }
    pdw_t_end(t); /* ColumnMetaData */
    pdw_t_end(t); /* ColumnChunk */
}
