/*
 * parquet/codec_compress.c - page compression for the Parquet writer.
 *
 * SNAPPY (raw block), GZIP (one RFC 1952 member via zlib), BROTLI, ZSTD (one
 * frame; the writer reuses a ZSTD_CCtx per thread through pdw_cctx) and
 * LZ4_RAW (block format; LZ4HC for levels >= 3). Implements
 * pdi_pq_compress_bound / pdi_pq_compress of codec.h and the context-reusing
 * pdw_compress of writer_int.h.
 */
#include "parquet/codec.h"
#include "parquet/writer_int.h"

#include <brotli/encode.h>
#include <lz4.h>
#include <lz4hc.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

size_t pdi_pq_compress_bound(int codec, size_t n)
{
    switch (codec) {
    case PD_CODEC_UNCOMPRESSED: return n;
    case PD_CODEC_SNAPPY: return snappy_max_compressed_length(n);
    case PD_CODEC_GZIP: return compressBound((uLong)n) + 32;
    case PD_CODEC_BROTLI:
        return BrotliEncoderMaxCompressedSize(n) ? BrotliEncoderMaxCompressedSize(n) : n + 1024;
    case PD_CODEC_ZSTD: return ZSTD_compressBound(n);
    case PD_CODEC_LZ4_RAW: return n > LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)n);
    default: return 0;
    }
}

static int
gzip_compress(int level, const uint8_t *src, size_t n, uint8_t *dst, size_t cap, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (level == 0) {
        level = Z_DEFAULT_COMPRESSION;
    }
    if (level > 9) {
        level = 9;
    }
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return pd_set_error(PD_ERR_NOMEM, "gzip: deflateInit2 failed");
    }
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.next_out = dst;
    int rc = Z_OK;
    size_t in_left = n, out_left = cap;
    while (rc == Z_OK) {
        uInt ci = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
        uInt co = out_left > 0x40000000u ? 0x40000000u : (uInt)out_left;
        zs.avail_in = ci;
        zs.avail_out = co;
        rc = deflate(&zs, in_left == ci ? Z_FINISH : Z_NO_FLUSH);
        in_left -= ci - zs.avail_in;
        out_left -= co - zs.avail_out;
        if (rc == Z_OK && zs.avail_out == 0 && out_left == 0) {
            break;
        }
    }
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        return pd_set_error(PD_ERR, "gzip: compression failed (%d)", rc);
    }
    *out_len = cap - out_left;
    return PD_OK;
}

static int compress_into(pdw_cctx *ctx,
                         int codec,
                         int level,
                         const uint8_t *src,
                         size_t n,
                         uint8_t *dst,
                         size_t cap,
                         size_t *out_len)
{
    switch (codec) {
    case PD_CODEC_UNCOMPRESSED:
        if (cap < n) {
            return pd_set_error(PD_ERR_INVALID, "compress: output buffer too small");
        }
        if (n) {
            memcpy(dst, src, n);
        }
        *out_len = n;
        return PD_OK;
    case PD_CODEC_SNAPPY: {
        size_t ol = cap;
        if (snappy_compress((const char *)src, n, (char *)dst, &ol) != SNAPPY_OK) {
            return pd_set_error(PD_ERR, "snappy: compression failed");
        }
        *out_len = ol;
        return PD_OK;
    }
    case PD_CODEC_GZIP: return gzip_compress(level, src, n, dst, cap, out_len);
    case PD_CODEC_BROTLI: {
        size_t ol = cap;
        int q = level <= 0 ? 5 : (level > 11 ? 11 : level);
        if (!BrotliEncoderCompress(q, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, src, &ol,
                                   dst)) {
            return pd_set_error(PD_ERR, "brotli: compression failed");
        }
        *out_len = ol;
        return PD_OK;
    }
    case PD_CODEC_ZSTD: {
        int lv = level == 0 ? 2 : level; /* 2: see docs/parquet_writer.md */
        size_t r;
        if (ctx) {
            if (!ctx->zstd) {
                ctx->zstd = ZSTD_createCCtx();
                if (!ctx->zstd) {
                    return pd_set_error(PD_ERR_NOMEM, "zstd: cannot create context");
                }
            }
            r = ZSTD_compressCCtx((ZSTD_CCtx *)ctx->zstd, dst, cap, src, n, lv);
        } else {
            r = ZSTD_compress(dst, cap, src, n, lv);
        }
        if (ZSTD_isError(r)) {
            return pd_set_error(PD_ERR, "zstd: %s", ZSTD_getErrorName(r));
        }
        *out_len = r;
        return PD_OK;
    }
    case PD_CODEC_LZ4_RAW: {
        if (n > LZ4_MAX_INPUT_SIZE || cap > 0x7FFFFFFF) {
            if (n > LZ4_MAX_INPUT_SIZE) {
                return pd_set_error(PD_ERR_INVALID, "lz4: page too large (%zu bytes)", n);
            }
            cap = 0x7FFFFFFF;
        }
        int r;
        if (level >= 3) {
            r = LZ4_compress_HC((const char *)src, (char *)dst, (int)n, (int)cap,
                                level > LZ4HC_CLEVEL_MAX ? LZ4HC_CLEVEL_MAX : level);
        } else {
            r = LZ4_compress_default((const char *)src, (char *)dst, (int)n, (int)cap);
        }
        if (r <= 0 && n > 0) {
            return pd_set_error(PD_ERR, "lz4: compression failed");
        }
        *out_len = (size_t)(r < 0 ? 0 : r);
        return PD_OK;
    }
    default:
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "parquet writer: compression codec %d not supported", codec);
    }
}

int pdi_pq_compress(int codec,
                    int level,
                    const uint8_t *src,
                    size_t src_len,
                    uint8_t *dst,
                    size_t dst_cap,
                    size_t *out_len)
{
    return compress_into(NULL, codec, level, src, src_len, dst, dst_cap, out_len);
}

int pdw_compress(
    pdw_cctx *ctx, int codec, int level, const uint8_t *src, size_t src_len, pdw_buf *out)
{
    size_t bound = pdi_pq_compress_bound(codec, src_len);
    if (bound == 0 && src_len > 0) {
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "parquet writer: codec %d cannot compress %zu bytes", codec, src_len);
    }
    if (pdw_buf_reserve(out, bound + 1) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    size_t ol = 0;
    int rc = compress_into(ctx, codec, level, src, src_len, out->p + out->len, bound + 1, &ol);
    if (rc != PD_OK) {
        return rc;
    }
    out->len += ol;
    return PD_OK;
}

void pdw_cctx_free(pdw_cctx *ctx)
{
    if (ctx && ctx->zstd) {
        ZSTD_freeCCtx((ZSTD_CCtx *)ctx->zstd);
        ctx->zstd = NULL;
    }
}
