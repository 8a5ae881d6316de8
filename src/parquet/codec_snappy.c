/*
 * parquet/codec_snappy.c - Snappy block decompression for the reader.
 *
 * Why not libsnappy here: Debian's libsnappy 1.1.9 calls the C library's
 * memmove through the PLT for every back-reference, which makes pages of
 * integers and short strings (many short copies) decode at well under
 * 1 GB/s. This decoder copies in fixed 8/16-byte steps inline while the
 * output has room to spare, and falls back to exact copies near the end.
 * Every read and write is bounds-checked; compression stays with libsnappy.
 *
 * Format (Snappy block): varint uncompressed length, then elements whose tag
 * byte's low two bits say: 0 literal (length in the tag, or in 1-4 extra
 * bytes), 1 copy with an 11-bit offset and length 4-11, 2 copy with a 16-bit
 * offset, 3 copy with a 32-bit offset (length 1-64). Copies may overlap the
 * bytes they produce.
 */
#include "parquet/codec.h"

#include <string.h>

#define SLACK 64 /* output bytes to spare for the fast path's over-copying */

static inline void copy8(uint8_t *d, const uint8_t *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    memcpy(d, &v, 8);
}

static inline void copy16(uint8_t *d, const uint8_t *s)
{
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + 8, &b, 8);
}

static inline uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int corrupt(const char *what)
{
    return pd_set_error(PD_ERR_CORRUPT, "SNAPPY decompression failed: %s", what);
}

/* Back-reference: len bytes from off bytes back, overlapping allowed. The
 * caller checked off <= op - dst and op + len <= end. */
static inline void copy_back(uint8_t *op, size_t off, size_t len, const uint8_t *end)
{
    const uint8_t *from = op - off;
    if ((size_t)(end - op) >= len + SLACK) {
        if (off >= 16) {
            for (size_t i = 0; i < len; i += 16) /* may write up to 15 bytes past len */
                copy16(op + i, from + i);
            return;
        }
        /* off < 16: grow the pattern until it is 8 bytes away, then copy
         * 8 bytes at a time (each step reads only bytes already written) */
        uint8_t *o = op, *stop = op + len;
        while ((size_t)(o - from) < 8) {
            copy8(o, from);
            o += o - from;
        }
        for (; o < stop; o += 8, from += 8)
            copy8(o, from);
        return;
    }
    for (size_t i = 0; i < len; i++) /* short offsets repeat a pattern */
        op[i] = from[i];
}

int pdi_pq_snappy_decompress(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    const uint8_t *ip = src, *ip_end = src + src_len;
    /* preamble: uncompressed length */
    uint64_t n = 0;
    int shift = 0;
    for (;;) {
        if (ip >= ip_end || shift > 28)
            return corrupt("invalid header");
        uint8_t b = *ip++;
        n |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (n > UINT32_MAX)
        return corrupt("invalid header");
    if (n != dst_len)
        return pd_set_error(PD_ERR_CORRUPT, "SNAPPY page inflates to %llu bytes, expected %zu",
                            (unsigned long long)n, dst_len);
    uint8_t *op = dst;
    const uint8_t *end = dst + dst_len;
    while (ip < ip_end) {
        uint8_t tag = *ip++;
        size_t len, off;
        switch (tag & 3) {
        case 0: { /* literal */
            len = (size_t)(tag >> 2) + 1;
            if (len <= 16 && ip_end - ip >= 16 && end - op >= 16) {
                if ((size_t)(end - op) < len)
                    return corrupt("literal beyond the declared length");
                copy16(op, ip); /* over-copies up to 15 bytes, rewritten later */
                op += len;
                ip += len;
                continue;
            }
            if (len > 60) { /* 1-4 extra bytes hold the length - 1 */
                size_t extra = len - 60;
                if ((size_t)(ip_end - ip) < extra)
                    return corrupt("truncated literal length");
                uint32_t l = 0;
                for (size_t k = 0; k < extra; k++)
                    l |= (uint32_t)ip[k] << (8 * k);
                ip += extra;
                len = (uint32_t)(l + 1); /* wraps to 0 for 0xffffffff, as in libsnappy */
            }
            if ((size_t)(ip_end - ip) < len)
                return corrupt("literal beyond the end of the input");
            if ((size_t)(end - op) < len)
                return corrupt("literal beyond the declared length");
            memcpy(op, ip, len);
            op += len;
            ip += len;
            continue;
        }
        case 1:
            if (ip >= ip_end)
                return corrupt("truncated copy");
            len = 4 + ((tag >> 2) & 7);
            off = ((size_t)(tag >> 5) << 8) | *ip++;
            break;
        case 2:
            if (ip_end - ip < 2)
                return corrupt("truncated copy");
            len = (size_t)(tag >> 2) + 1;
            off = (size_t)ip[0] | (size_t)ip[1] << 8;
            ip += 2;
            break;
        default:
            if (ip_end - ip < 4)
                return corrupt("truncated copy");
            len = (size_t)(tag >> 2) + 1;
            off = le32(ip);
            ip += 4;
            break;
        }
        if (off == 0 || off > (size_t)(op - dst))
            return corrupt("copy offset out of range");
        if ((size_t)(end - op) < len)
            return corrupt("copy beyond the declared length");
        copy_back(op, off, len, end);
        op += len;
    }
    if (op != end)
        return pd_set_error(PD_ERR_CORRUPT, "SNAPPY page inflates to %zu bytes, expected %zu",
                            (size_t)(op - dst), dst_len);
    return PD_OK;
}
