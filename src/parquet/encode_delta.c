/*
 * parquet/encode_delta.c - DELTA_BINARY_PACKED (5) and BYTE_STREAM_SPLIT (9)
 * encoders.
 *
 * Delta: blocks of 128 values in 4 miniblocks of 32, deltas in wrapping
 * two's complement arithmetic of the column's width (32-bit deltas for INT32
 * so widths never exceed 32), min delta subtracted, miniblocks bit-packed LSB
 * first; miniblocks past the last value get a width byte of 0 and no body.
 * Byte stream split: byte j of value i goes to out[j*n + i].
 */
#include "parquet/writer_int.h"

#define BLOCK 128
#define MINIS 4
#define MINI  32

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static uint8_t *pack64(uint8_t *o, const uint64_t *v, size_t n, int w)
{
    if (w == 0) {
        return o;
    }
    unsigned __int128 acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (unsigned __int128)v[i] << bits;
        bits += w;
        while (bits >= 8) {
            *o++ = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    return o;
}

/* Encode deltas already computed: d[k] (k < nd) as wrapped unsigned values of
 * `bits` width (32 or 64); signed comparison on that width finds the min. */
static int delta_blocks(pdw_buf *out, const uint64_t *d, size_t nd, int bits)
{
    uint64_t tmp[BLOCK];
    for (size_t b0 = 0; b0 < nd; b0 += BLOCK) {
        size_t cnt = nd - b0 < BLOCK ? nd - b0 : BLOCK;
        int64_t mn;
        if (bits == 32) {
            int32_t m = (int32_t)(uint32_t)d[b0];
            for (size_t k = 1; k < cnt; k++) {
                int32_t x = (int32_t)(uint32_t)d[b0 + k];
                m = x < m ? x : m;
            }
            mn = m;
            for (size_t k = 0; k < cnt; k++) {
                tmp[k] = (uint32_t)((uint32_t)d[b0 + k] - (uint32_t)m);
            }
        } else {
            int64_t m = (int64_t)d[b0];
            for (size_t k = 1; k < cnt; k++) {
                int64_t x = (int64_t)d[b0 + k];
                m = x < m ? x : m;
            }
            mn = m;
            for (size_t k = 0; k < cnt; k++) {
                tmp[k] = d[b0 + k] - (uint64_t)m;
            }
        }
        for (size_t k = cnt; k < BLOCK; k++) {
            tmp[k] = 0;
        }
        int w[MINIS];
        size_t used = (cnt + MINI - 1) / MINI;
        for (int m = 0; m < MINIS; m++) {
            uint64_t o = 0;
            if ((size_t)m < used) {
                for (int k = 0; k < MINI; k++) {
                    o |= tmp[m * MINI + k];
                }
            }
            w[m] = pdw_bit_width(o);
        }
        if (pdw_buf_reserve(out, 10 + MINIS + (size_t)BLOCK * 8) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        uint8_t *p = out->p + out->len;
        p = put_varint(p, zz(mn));
        for (int m = 0; m < MINIS; m++) {
            *p++ = (uint8_t)w[m];
        }
        for (size_t m = 0; m < used; m++) {
            p = pack64(p, tmp + m * MINI, MINI, w[m]);
        }
        out->len = (size_t)(p - out->p);
    }
    return PD_OK;
}

static int delta_header(pdw_buf *out, size_t n, int64_t first)
{
    if (pdw_buf_reserve(out, 32) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    uint8_t *p = out->p + out->len;
    p = put_varint(p, BLOCK);
    p = put_varint(p, MINIS);
    p = put_varint(p, n);
    p = put_varint(p, zz(first));
    out->len = (size_t)(p - out->p);
    return PD_OK;
}

static inline int64_t load_value(const void *v, size_t i, int bits)
{
    return bits == 32 ? ((const int32_t *)v)[i] : ((const int64_t *)v)[i];
}

/* DELTA_BINARY_PACKED of n values of `bits` (32 or 64) bits: differences
 * wrap at that width. Inlined per width. */
static inline __attribute__((always_inline)) int
delta_encode(pdw_buf *out, const void *v, size_t n, const int bits)
{
    if (delta_header(out, n, n ? load_value(v, 0, bits) : 0) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    uint64_t mask = bits == 32 ? 0xFFFFFFFFu : ~(uint64_t)0;
    uint64_t d[BLOCK];
    for (size_t i = 1; i < n; i += BLOCK) {
        size_t cnt = n - i < BLOCK ? n - i : BLOCK;
        for (size_t k = 0; k < cnt; k++) {
            d[k] =
                ((uint64_t)load_value(v, i + k, bits) - (uint64_t)load_value(v, i + k - 1, bits)) &
                mask;
        }
        if (delta_blocks(out, d, cnt, bits) != PD_OK) {
            return PD_ERR_NOMEM;
        }
    }
    return PD_OK;
}

int pdw_delta_i32(pdw_buf *out, const int32_t *v, size_t n)
{
    return delta_encode(out, v, n, 32);
}

int pdw_delta_i64(pdw_buf *out, const int64_t *v, size_t n)
{
    return delta_encode(out, v, n, 64);
}

int pdw_bss(pdw_buf *out, const uint8_t *v, size_t n, size_t width)
{
    size_t total = n * width;
    if (pdw_buf_reserve(out, total) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    uint8_t *o = out->p + out->len;
    if (width == 4) {
        for (size_t i = 0; i < n; i++) {
            o[i] = v[4 * i];
            o[n + i] = v[4 * i + 1];
            o[2 * n + i] = v[4 * i + 2];
            o[3 * n + i] = v[4 * i + 3];
        }
    } else if (width == 8) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < 8; j++) {
                o[j * n + i] = v[8 * i + j];
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < width; j++) {
                o[j * n + i] = v[width * i + j];
            }
        }
    }
    out->len += total;
    return PD_OK;
}
