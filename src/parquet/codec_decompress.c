/*
 * parquet/codec_decompress.c - page decompression for the Parquet reader
 * (pdi_pq_decompress of codec.h): SNAPPY, GZIP (concatenated members), ZSTD
 * (several frames), BROTLI, LZ4_RAW and legacy LZ4 (Hadoop framing, LZ4
 * frame, raw block). The output must be exactly dst_len bytes.
 */
#include "parquet/codec.h"
#include "util/util.h"

#include <brotli/decode.h>
#include <lz4.h>
#include <lz4frame.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int bad(const char *codec, const char *what)
{
    return pd_set_error(PD_ERR_CORRUPT, "%s decompression failed: %s", codec, what);
}

static int gunzip(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* auto-detect gzip/zlib header */
        return pd_set_error(PD_ERR_NOMEM, "zlib init failed");
    size_t in_off = 0, out_off = 0;
    int rc = PD_OK;
    for (;;) {
        z.next_in = (Bytef *)(uintptr_t)(src + in_off);
        z.avail_in = (uInt)((src_len - in_off) > UINT32_MAX ? UINT32_MAX : src_len - in_off);
        z.next_out = dst + out_off;
        z.avail_out = (uInt)((dst_len - out_off) > UINT32_MAX ? UINT32_MAX : dst_len - out_off);
        size_t in0 = z.avail_in, out0 = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        in_off += in0 - z.avail_in;
        out_off += out0 - z.avail_out;
        if (zr == Z_STREAM_END) {
            /* another member may follow (skip trailing zero padding) */
            while (in_off < src_len && src[in_off] == 0)
                in_off++;
            if (in_off >= src_len)
                break;
            if (inflateReset(&z) != Z_OK) {
                rc = bad("GZIP", "reset");
                break;
            }
            continue;
        }
        if (zr == Z_OK && (in0 != z.avail_in || out0 != z.avail_out))
            continue;
        if (zr == Z_BUF_ERROR && z.avail_out == 0 && out_off == dst_len) {
            rc = bad("GZIP", "output larger than the page size");
            break;
        }
        rc = bad("GZIP", z.msg ? z.msg : "invalid or truncated stream");
        break;
    }
    inflateEnd(&z);
    if (!rc && out_off != dst_len)
        rc = pd_set_error(PD_ERR_CORRUPT, "GZIP page inflates to %zu bytes, expected %zu", out_off,
                          dst_len);
    return rc;
}

static int unzstd(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    /* ZSTD_decompress handles several concatenated frames and frames
     * without a content size */
    size_t r = ZSTD_decompress(dst, dst_len, src, src_len);
    if (ZSTD_isError(r))
        return bad("ZSTD", ZSTD_getErrorName(r));
    if (r != dst_len)
        return pd_set_error(PD_ERR_CORRUPT, "ZSTD page inflates to %zu bytes, expected %zu", r,
                            dst_len);
    return PD_OK;
}

static int lz4_raw(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    if (src_len > INT32_MAX || dst_len > INT32_MAX)
        return bad("LZ4", "page too large");
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)dst_len);
    if (r < 0)
        return bad("LZ4", "invalid block");
    if ((size_t)r != dst_len)
        return pd_set_error(PD_ERR_CORRUPT, "LZ4 page inflates to %d bytes, expected %zu", r,
                            dst_len);
    return PD_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop framing: [u32 BE raw size][u32 BE compressed size][block]... ; a
 * raw-size header may cover several (size, block) chunks. */
static bool lz4_hadoop(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    size_t in = 0, out = 0;
    while (in < src_len) {
        if (src_len - in < 8)
            return false;
        size_t raw = be32(src + in);
        in += 4;
        if (raw > dst_len - out)
            return false;
        size_t done = 0;
        while (done < raw) {
            if (src_len - in < 4)
                return false;
            size_t clen = be32(src + in);
            in += 4;
            if (clen > src_len - in || clen > INT32_MAX)
                return false;
            int r = LZ4_decompress_safe((const char *)src + in, (char *)dst + out + done, (int)clen,
                                        (int)(raw - done));
            if (r <= 0)
                return false;
            done += (size_t)r;
            in += clen;
        }
        out += raw;
    }
    return out == dst_len;
}

static int lz4_frame(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    LZ4F_dctx *ctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
        return pd_set_error(PD_ERR_NOMEM, "lz4 init failed");
    size_t in = 0, out = 0;
    int rc = PD_OK;
    while (in < src_len) {
        size_t il = src_len - in, ol = dst_len - out;
        size_t r = LZ4F_decompress(ctx, dst + out, &ol, src + in, &il, NULL);
        if (LZ4F_isError(r)) {
            rc = bad("LZ4", LZ4F_getErrorName(r));
            break;
        }
        in += il;
        out += ol;
        if (il == 0 && ol == 0) {
            rc = bad("LZ4", "frame does not fit the page size");
            break;
        }
    }
    LZ4F_freeDecompressionContext(ctx);
    if (!rc && out != dst_len)
        rc = pd_set_error(PD_ERR_CORRUPT, "LZ4 page inflates to %zu bytes, expected %zu", out,
                          dst_len);
    return rc;
}

int pdi_pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    switch (codec) {
    case PD_CODEC_UNCOMPRESSED:
        if (src_len != dst_len)
            return pd_set_error(PD_ERR_CORRUPT, "uncompressed page has %zu bytes, header says %zu",
                                src_len, dst_len);
        if (src_len)
            memcpy(dst, src, src_len);
        return PD_OK;
    case PD_CODEC_SNAPPY: return pdi_pq_snappy_decompress(src, src_len, dst, dst_len);
    case PD_CODEC_GZIP: return gunzip(src, src_len, dst, dst_len);
    case PD_CODEC_ZSTD: return unzstd(src, src_len, dst, dst_len);
    case PD_CODEC_LZ4_RAW: return lz4_raw(src, src_len, dst, dst_len);
    case PD_CODEC_LZ4:
        if (src_len >= 4 && src[0] == 0x04 && src[1] == 0x22 && src[2] == 0x4d && src[3] == 0x18)
            return lz4_frame(src, src_len, dst, dst_len);
        if (lz4_hadoop(src, src_len, dst, dst_len))
            return PD_OK;
        return lz4_raw(src, src_len, dst, dst_len);
    case PD_CODEC_BROTLI: {
        size_t n = dst_len;
        if (BrotliDecoderDecompress(src_len, src, &n, dst) != BROTLI_DECODER_RESULT_SUCCESS)
            return bad("BROTLI", "invalid stream or larger than the page size");
        if (n != dst_len)
            return pd_set_error(PD_ERR_CORRUPT, "BROTLI page inflates to %zu bytes, expected %zu",
                                n, dst_len);
        return PD_OK;
    }
    case PD_CODEC_LZO: return pd_set_error(PD_ERR_UNSUPPORTED, "LZO compression is not supported");
    default: return pd_set_error(PD_ERR_UNSUPPORTED, "unknown compression codec %d", codec);
    }
}
