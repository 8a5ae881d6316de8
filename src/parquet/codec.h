/*
 * parquet/codec.h - page compression for the Parquet codec (internal).
 *
 * Decompression lives in codec_decompress.c (reader side), compression in
 * codec_compress.c (writer side). Codec ids are Parquet's CompressionCodec
 * values (pd_parquet_codec).
 */
#ifndef PD_PARQUET_CODEC_H
#define PD_PARQUET_CODEC_H

#include "pipedag/parquet.h"
#include <stddef.h>
#include <stdint.h>

/* Decompress src into dst, which has exactly `dst_len` bytes (the page's
 * uncompressed size). Fails with PD_ERR_CORRUPT if the data does not
 * decompress to exactly dst_len bytes. LZ4 (codec 5) accepts the Hadoop
 * framing, the LZ4 frame format and raw blocks. GZIP accepts concatenated
 * members. */
int pd_pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len);

/* Worst-case compressed size for src_len input bytes. */
size_t pd_pq_compress_bound(int codec, size_t src_len);
/* Compress; level 0 = codec default. *out_len receives the compressed size. */
int pd_pq_compress(int codec,
                   int level,
                   const uint8_t *src,
                   size_t src_len,
                   uint8_t *dst,
                   size_t dst_cap,
                   size_t *out_len);

#endif
