/*
 * parquet/decode.c - low-level Parquet decoders: RLE/bit-packed hybrid (levels,
 * dictionary indices, booleans), legacy MSB-first BIT_PACKED levels,
 * DELTA_BINARY_PACKED, plus the reader's bounded allocation helpers.
 *
 * Every decoder is given the exact byte range it may read and the exact
 * number of values to produce; running out of input is PD_ERR_CORRUPT.
 */
#include "parquet/reader_int.h"

#include <stdlib.h>
#include <string.h>

size_t pdi_pq_alloc_limit = (size_t)1 << 34; /* 16 GiB */

int pdi_alloc_check(size_t n)
{
    if (n > pdi_pq_alloc_limit)
        return pd_set_error(PD_ERR_CORRUPT, "decoded data too large (%zu bytes)", n);
    return PD_OK;
}

void *pdi_alloc(size_t n)
{
    if (pdi_alloc_check(n))
        return NULL;
    void *p = malloc(n ? n : 1);
    if (!p)
        pd_set_error(PD_ERR_NOMEM, "out of memory (%zu bytes)", n);
    return p;
}

void *pdi_pq_realloc(void *p, size_t n)
{
    if (pdi_alloc_check(n))
        return NULL;
    void *q = realloc(p, n ? n : 1);
    if (!q)
        pd_set_error(PD_ERR_NOMEM, "out of memory (%zu bytes)", n);
    return q;
}

int pdi_bytes_reserve(pdi_bytes *b, int64_t n, size_t bytes)
{
    if (n < 0 || n > PDI_MAX_COLUMN_VALUES - b->n)
        return pd_set_error(PD_ERR_CORRUPT, "too many values");
    if (b->n + n > b->cap || !b->offs) {
        int64_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n)
            cap *= 2;
        int32_t *o = pdi_bgrow(b->pool, b->offs, b->offs ? (size_t)(b->n + 1) * sizeof(int32_t) : 0,
                               (size_t)(cap + 1) * sizeof(int32_t));
        if (!o)
            return pd_last_error_code();
        if (!b->offs)
            o[0] = 0;
        b->offs = o;
        b->cap = cap;
    }
    if (bytes > (size_t)INT32_MAX - b->len)
        return pd_set_error(
            PD_ERR_CORRUPT,
            "string data of one column chunk exceeds 2 GiB (use smaller row groups)");
    /* keep 16 bytes of slack so short values can be copied 16 bytes at a time */
    if (b->len + bytes + 16 > b->dcap || !b->data) {
        size_t cap = b->dcap ? b->dcap : 256;
        while (cap < b->len + bytes + 16)
            cap *= 2;
        uint8_t *d = pdi_bgrow(b->pool, b->data, b->len, cap);
        if (!d)
            return pd_last_error_code();
        b->data = d;
        b->dcap = pdi_bcap(d);
    }
    return PD_OK;
}

void pdi_bytes_free(pdi_bytes *b)
{
    pdi_pool *pool = b->pool;
    pdi_bfree(b->offs);
    pdi_bfree(b->data);
    memset(b, 0, sizeof *b);
    b->pool = pool;
}

int pdi_bit_width(uint32_t v)
{
    return v ? 32 - __builtin_clz(v) : 0;
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian host assumed (x86-64, aarch64) */
}

static int rd_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return pd_set_error(PD_ERR_CORRUPT, "truncated varint");
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = r;
            return PD_OK;
        }
    }
    return pd_set_error(PD_ERR_CORRUPT, "varint too long");
}

/* Unpack n (<= 8*k) values of width w (<= 32) from p (avail bytes) into out. */
static void unpack32(const uint8_t *p, size_t avail, int w, uint32_t *out, int64_t n)
{
    if (w == 0) {
        memset(out, 0, (size_t)n * sizeof(uint32_t));
        return;
    }
    uint64_t mask = (w == 32) ? 0xffffffffu : ((1ull << w) - 1);
    int64_t i = 0;
    /* fast part: while 8 readable bytes remain at the byte of value i */
    int64_t fast = 0;
    if (avail >= 8) {
        /* value i starts at byte (i*w)/8; need that + 8 <= avail */
        fast = (int64_t)(((avail - 8) * 8) / (size_t)w);
        if (fast > n)
            fast = n;
    }
    if (w == 1) {
        for (; i + 8 <= fast; i += 8) {
            uint8_t b = p[i >> 3];
            out[i] = b & 1;
            out[i + 1] = (b >> 1) & 1;
            out[i + 2] = (b >> 2) & 1;
            out[i + 3] = (b >> 3) & 1;
            out[i + 4] = (b >> 4) & 1;
            out[i + 5] = (b >> 5) & 1;
            out[i + 6] = (b >> 6) & 1;
            out[i + 7] = (b >> 7) & 1;
        }
    }
    for (; i < fast; i++) {
        size_t bit = (size_t)i * (size_t)w;
        out[i] = (uint32_t)((load64(p + (bit >> 3)) >> (bit & 7)) & mask);
    }
    if (i < n) {
        uint8_t tmp[16];
        for (; i < n; i++) {
            size_t bit = (size_t)i * (size_t)w;
            size_t byte = bit >> 3;
            memset(tmp, 0, sizeof tmp);
            size_t take = byte < avail ? avail - byte : 0;
            if (take > 8)
                take = 8;
            memcpy(tmp, p + byte, take);
            out[i] = (uint32_t)((load64(tmp) >> (bit & 7)) & mask);
        }
    }
}

/* One run of the RLE/bit-packed hybrid: `take` values (capped at the `left`
 * still wanted), either bit-packed at `data` (`avail` readable bytes) or one
 * repeated `value`. Advances *pp past the run. */
typedef struct rle_run {
    bool packed;
    int64_t take;
    const uint8_t *data;
    size_t avail;
    uint32_t value;
} rle_run;

static int
next_run(const uint8_t **pp, const uint8_t *end, int bw, int64_t done, int64_t n, rle_run *r)
{
    const uint8_t *p = *pp;
    uint64_t h = 0;
    *r = (rle_run){0};
    if (rd_uleb(&p, end, &h))
        return pd_set_error(PD_ERR_CORRUPT, "RLE data ends after %lld of %lld values",
                            (long long)done, (long long)n);
    uint64_t left = (uint64_t)(n - done), cnt;
    r->packed = h & 1;
    if (r->packed) {
        uint64_t groups = h >> 1;
        if (groups == 0 || groups > ((uint64_t)1 << 40))
            return pd_set_error(PD_ERR_CORRUPT, "bad bit-packed run length");
        cnt = groups * 8;
        size_t bytes = (size_t)groups * (size_t)bw;
        size_t avail = (size_t)(end - p);
        r->take = (int64_t)(left < cnt ? left : cnt);
        if (((size_t)r->take * (size_t)bw + 7) / 8 > avail)
            return pd_set_error(PD_ERR_CORRUPT, "bit-packed run beyond end of data");
        r->data = p;
        r->avail = avail < bytes ? avail : bytes;
        *pp = p + r->avail;
        return PD_OK;
    }
    cnt = h >> 1;
    if (cnt == 0)
        return pd_set_error(PD_ERR_CORRUPT, "RLE run of length 0");
    size_t vbytes = ((size_t)bw + 7) / 8;
    if ((size_t)(end - p) < vbytes)
        return pd_set_error(PD_ERR_CORRUPT, "RLE run value beyond end of data");
    r->value = 0;
    for (size_t k = 0; k < vbytes; k++)
        r->value |= (uint32_t)p[k] << (8 * k);
    r->take = (int64_t)(left < cnt ? left : cnt);
    *pp = p + vbytes;
    return PD_OK;
}

/* Generic RLE/bit-packed hybrid decoder core writing u32. */
int pdi_rle_u32(const uint8_t *p, size_t len, int bw, uint32_t *out, int64_t n)
{
    const uint8_t *end = p + len;
    if (bw < 0 || bw > 32)
        return pd_set_error(PD_ERR_CORRUPT, "bad RLE bit width %d", bw);
    for (int64_t i = 0; i < n;) {
        rle_run r;
        int rc = next_run(&p, end, bw, i, n, &r);
        if (rc)
            return rc;
        if (r.packed) {
            unpack32(r.data, r.avail, bw, out + i, r.take);
        } else {
            for (int64_t k = 0; k < r.take; k++)
                out[i + k] = r.value;
        }
        i += r.take;
    }
    return PD_OK;
}

int pdi_rle_u8(const uint8_t *p, size_t len, int bw, uint8_t *out, int64_t n, int maxv)
{
    const uint8_t *end = p + len;
    if (bw < 0 || bw > 8)
        return pd_set_error(PD_ERR_CORRUPT, "bad level bit width %d", bw);
    uint32_t tmp[512];
    for (int64_t i = 0; i < n;) {
        rle_run r;
        int rc = next_run(&p, end, bw, i, n, &r);
        if (rc)
            return rc;
        int64_t take = r.take;
        const uint8_t *q = r.data;
        if (!r.packed) {
            if (r.value > (uint32_t)maxv)
                return pd_set_error(PD_ERR_CORRUPT, "level %u exceeds maximum %d", r.value, maxv);
            memset(out + i, (int)r.value, (size_t)take);
        } else if (bw == 1) {
            int64_t k = 0;
            for (; k + 8 <= take; k += 8) {
                uint8_t b = q[k >> 3];
                uint8_t *o = out + i + k;
                o[0] = b & 1;
                o[1] = (b >> 1) & 1;
                o[2] = (b >> 2) & 1;
                o[3] = (b >> 3) & 1;
                o[4] = (b >> 4) & 1;
                o[5] = (b >> 5) & 1;
                o[6] = (b >> 6) & 1;
                o[7] = (b >> 7) & 1;
            }
            for (; k < take; k++)
                out[i + k] = (q[k >> 3] >> (k & 7)) & 1;
            if (maxv < 1)
                for (k = 0; k < take; k++)
                    if (out[i + k] > maxv)
                        return pd_set_error(PD_ERR_CORRUPT, "level %d exceeds maximum %d",
                                            out[i + k], maxv);
        } else {
            for (int64_t k = 0; k < take; k += 512) {
                int64_t m = take - k < 512 ? take - k : 512;
                /* chunks of 512 values start on byte boundaries (512*bw bits) */
                size_t off = (size_t)k * (size_t)bw / 8;
                unpack32(q + off, r.avail - off, bw, tmp, m);
                for (int64_t j = 0; j < m; j++) {
                    if (tmp[j] > (uint32_t)maxv)
                        return pd_set_error(PD_ERR_CORRUPT, "level %u exceeds maximum %d", tmp[j],
                                            maxv);
                    out[i + k + j] = (uint8_t)tmp[j];
                }
            }
        }
        i += take;
    }
    return PD_OK;
}

int pdi_bitpacked_msb_u8(
    const uint8_t *p, size_t len, int bw, uint8_t *out, int64_t n, int maxv, size_t *used)
{
    if (bw < 0 || bw > 8)
        return pd_set_error(PD_ERR_CORRUPT, "bad level bit width %d", bw);
    size_t need = ((size_t)n * (size_t)bw + 7) / 8;
    if (need > len)
        return pd_set_error(PD_ERR_CORRUPT, "BIT_PACKED levels beyond end of data");
    for (int64_t i = 0; i < n; i++) {
        uint32_t v = 0;
        size_t bit = (size_t)i * (size_t)bw;
        for (int k = 0; k < bw; k++, bit++)
            v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
        if (v > (uint32_t)maxv)
            return pd_set_error(PD_ERR_CORRUPT, "level %u exceeds maximum %d", v, maxv);
        out[i] = (uint8_t)v;
    }
    *used = need;
    return PD_OK;
}

/* Unpack n values of width w (0..64) into u64. */
static void unpack64(const uint8_t *p, size_t avail, int w, uint64_t *out, int64_t n)
{
    if (w == 0) {
        memset(out, 0, (size_t)n * 8);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        size_t bit = (size_t)i * (size_t)w;
        size_t byte = bit >> 3;
        int sh = (int)(bit & 7);
        uint8_t tmp[16] = {0};
        size_t take = avail > byte ? avail - byte : 0;
        if (take > 9)
            take = 9;
        memcpy(tmp, p + byte, take);
        uint64_t lo = load64(tmp);
        uint64_t v = lo >> sh;
        if (sh && w > 64 - sh)
            v |= (uint64_t)tmp[8] << (64 - sh);
        if (w < 64)
            v &= (1ull << w) - 1;
        out[i] = v;
    }
}

int pdi_delta_count(const uint8_t *p, size_t len, int64_t *n)
{
    const uint8_t *end = p + len;
    uint64_t bs = 0, nmb = 0, total = 0;
    if (rd_uleb(&p, end, &bs) || rd_uleb(&p, end, &nmb) || rd_uleb(&p, end, &total))
        return pd_set_error(PD_ERR_CORRUPT, "truncated DELTA_BINARY_PACKED header");
    if (total > (uint64_t)PDI_MAX_COLUMN_VALUES)
        return pd_set_error(PD_ERR_CORRUPT, "DELTA_BINARY_PACKED value count too large");
    *n = (int64_t)total;
    return PD_OK;
}

int pdi_delta_decode(const uint8_t *p, size_t len, int64_t n, int width, void *out, size_t *used)
{
    const uint8_t *start = p, *end = p + len;
    uint64_t bs = 0, nmb = 0, total = 0, zz = 0;
    if (rd_uleb(&p, end, &bs) || rd_uleb(&p, end, &nmb) || rd_uleb(&p, end, &total) ||
        rd_uleb(&p, end, &zz))
        return pd_set_error(PD_ERR_CORRUPT, "truncated DELTA_BINARY_PACKED header");
    if (bs == 0 || bs % 128 || bs > (1u << 20) || nmb == 0 || bs % nmb || (bs / nmb) % 32)
        return pd_set_error(PD_ERR_CORRUPT,
                            "bad DELTA_BINARY_PACKED block size %llu / %llu miniblocks",
                            (unsigned long long)bs, (unsigned long long)nmb);
    if ((int64_t)total != n || total > (uint64_t)PDI_MAX_COLUMN_VALUES)
        return pd_set_error(PD_ERR_CORRUPT, "DELTA_BINARY_PACKED holds %llu values, expected %lld",
                            (unsigned long long)total, (long long)n);
    int32_t *o32 = width == 4 ? out : NULL;
    int64_t *o64 = width == 8 ? out : NULL;
    uint64_t last = (zz >> 1) ^ (~(zz & 1) + 1);
    if (n == 0) {
        *used = (size_t)(p - start);
        return PD_OK;
    }
    if (o32)
        o32[0] = (int32_t)(uint32_t)last;
    else
        o64[0] = (int64_t)last;
    int64_t i = 1;
    uint64_t vpm = bs / nmb;
    uint64_t *tmp = malloc(vpm * sizeof(uint64_t));
    if (!tmp)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    int rc = PD_OK;
    while (i < n) {
        uint64_t mz = 0;
        if ((rc = rd_uleb(&p, end, &mz))) {
            rc = pd_set_error(PD_ERR_CORRUPT, "truncated DELTA_BINARY_PACKED block");
            break;
        }
        uint64_t min_delta = (mz >> 1) ^ (~(mz & 1) + 1);
        if ((uint64_t)(end - p) < nmb) {
            rc = pd_set_error(PD_ERR_CORRUPT, "truncated DELTA_BINARY_PACKED miniblock widths");
            break;
        }
        const uint8_t *widths = p;
        p += nmb;
        for (uint64_t m = 0; m < nmb && i < n; m++) {
            int w = widths[m];
            if (w > 64) {
                rc = pd_set_error(PD_ERR_CORRUPT, "DELTA_BINARY_PACKED bit width %d", w);
                break;
            }
            int64_t cnt = (int64_t)vpm < n - i ? (int64_t)vpm : n - i;
            size_t full = (size_t)w * vpm / 8;
            size_t need = ((size_t)cnt * (size_t)w + 7) / 8;
            size_t avail = (size_t)(end - p);
            if (need > avail) {
                rc = pd_set_error(PD_ERR_CORRUPT, "truncated DELTA_BINARY_PACKED miniblock");
                break;
            }
            unpack64(p, avail < full ? avail : full, w, tmp, cnt);
            if (o32) {
                for (int64_t k = 0; k < cnt; k++) {
                    last += min_delta + tmp[k];
                    o32[i + k] = (int32_t)(uint32_t)last;
                }
            } else {
                for (int64_t k = 0; k < cnt; k++) {
                    last += min_delta + tmp[k];
                    o64[i + k] = (int64_t)last;
                }
            }
            i += cnt;
            p += full < avail ? full : avail;
        }
        if (rc)
            break;
    }
    free(tmp);
    *used = (size_t)(p - start);
    return rc;
}
