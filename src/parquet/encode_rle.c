/*
 * parquet/encode_rle.c - RLE / bit-packed hybrid encoder (Parquet encoding 3).
 *
 * Used for repetition and definition levels (uint8 input) and dictionary
 * indices (uint32 input). Runs of 8 or more equal values become RLE runs;
 * everything else goes into bit-packed runs of whole groups of 8 values
 * (the last group zero-padded), LSB first, as the spec requires.
 */
#include "parquet/writer_int.h"

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Bit-pack `n` values (n multiple of 8 except that missing tail values are
 * read as zero through `avail`) at width w into o. Returns the end. */
#define PDW_DEFINE_PACK(NAME, T)                                                \
    static uint8_t *NAME(uint8_t *o, const T *v, size_t n, size_t avail, int w) \
    {                                                                           \
        uint64_t acc = 0;                                                       \
        int bits = 0;                                                           \
        if (w == 0) {                                                           \
            return o;                                                           \
        }                                                                       \
        for (size_t i = 0; i < n; i++) {                                        \
            uint64_t x = i < avail ? (uint64_t)v[i] : 0;                        \
            acc |= x << bits;                                                   \
            bits += w;                                                          \
            while (bits >= 8) {                                                 \
                *o++ = (uint8_t)acc;                                            \
                acc >>= 8;                                                      \
                bits -= 8;                                                      \
            }                                                                   \
        }                                                                       \
        return o;                                                               \
    }

PDW_DEFINE_PACK(pack_u8, uint8_t)
PDW_DEFINE_PACK(pack_u32, uint32_t)

/* Emit a bit-packed run of `cnt` values starting at v (padded to groups). */
#define PDW_DEFINE_RLE(NAME, T, PACK)                                    \
    static int NAME##_lit(pdw_buf *out, const T *v, size_t cnt, int w)   \
    {                                                                    \
        size_t groups = (cnt + 7) / 8;                                   \
        if (pdw_buf_reserve(out, 10 + groups * (size_t)w) != PD_OK) {    \
            return PD_ERR_NOMEM;                                         \
        }                                                                \
        uint8_t *p = out->p + out->len;                                  \
        p = put_varint(p, ((uint64_t)groups << 1) | 1);                  \
        p = PACK(p, v, groups * 8, cnt, w);                              \
        out->len = (size_t)(p - out->p);                                 \
        return PD_OK;                                                    \
    }                                                                    \
    static int NAME##_run(pdw_buf *out, uint64_t val, size_t cnt, int w) \
    {                                                                    \
        int nb = (w + 7) / 8;                                            \
        while (cnt > 0) {                                                \
            size_t c = cnt > 0x7FFFFFFF ? 0x7FFFFFFF : cnt;              \
            if (pdw_buf_reserve(out, 16) != PD_OK) {                     \
                return PD_ERR_NOMEM;                                     \
            }                                                            \
            uint8_t *p = out->p + out->len;                              \
            p = put_varint(p, (uint64_t)c << 1);                         \
            for (int k = 0; k < nb; k++) {                               \
                *p++ = (uint8_t)(val >> (8 * k));                        \
            }                                                            \
            out->len = (size_t)(p - out->p);                             \
            cnt -= c;                                                    \
        }                                                                \
        return PD_OK;                                                    \
    }                                                                    \
    int NAME(pdw_buf *out, const T *v, size_t n, int w)                  \
    {                                                                    \
        size_t lit = 0, i = 0;                                           \
        while (i < n) {                                                  \
            T x = v[i];                                                  \
            size_t j = i + 1;                                            \
            while (j < n && v[j] == x) {                                 \
                j++;                                                     \
            }                                                            \
            size_t r = j - i;                                            \
            if (r < 8) {                                                 \
                i = j;                                                   \
                continue;                                                \
            }                                                            \
            size_t L = i - lit;                                          \
            if (L > 0) {                                                 \
                size_t pad = (8 - L % 8) % 8;                            \
                if (r - pad < 8) {                                       \
                    i = j;                                               \
                    continue;                                            \
                }                                                        \
                if (NAME##_lit(out, v + lit, L + pad, w) != PD_OK) {     \
                    return PD_ERR_NOMEM;                                 \
                }                                                        \
                i += pad;                                                \
                r -= pad;                                                \
            }                                                            \
            if (NAME##_run(out, (uint64_t)x, r, w) != PD_OK) {           \
                return PD_ERR_NOMEM;                                     \
            }                                                            \
            i = j;                                                       \
            lit = i;                                                     \
        }                                                                \
        if (n > lit) {                                                   \
            return NAME##_lit(out, v + lit, n - lit, w);                 \
        }                                                                \
        return PD_OK;                                                    \
    }

PDW_DEFINE_RLE(pdw_rle_u8, uint8_t, pack_u8)
PDW_DEFINE_RLE(pdw_rle_u32, uint32_t, pack_u32)
