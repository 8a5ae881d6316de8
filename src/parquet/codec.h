/*
 * parquet/codec.h - what the Parquet reader and writer share (internal):
 * page compression and split-block Bloom filters.
 *
 * Decompression lives in codec_decompress.c (reader side), compression in
 * codec_compress.c (writer side), Bloom filter hashing and bit placement in
 * bloom.c (both). Codec ids are Parquet's CompressionCodec values
 * (pd_parquet_codec).
 */
#ifndef PD_PARQUET_CODEC_H
#define PD_PARQUET_CODEC_H

#include "pipedag/parquet.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decompress src into dst, which has exactly `dst_len` bytes (the page's
 * uncompressed size). Fails with PD_ERR_CORRUPT if the data does not
 * decompress to exactly dst_len bytes. LZ4 (codec 5) accepts the Hadoop
 * framing, the LZ4 frame format and raw blocks. GZIP accepts concatenated
 * members. */
int pdi_pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len);

/* Snappy block decompression (codec_snappy.c); same contract. */
int pdi_pq_snappy_decompress(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len);

/* Worst-case compressed size for src_len input bytes. */
size_t pdi_pq_compress_bound(int codec, size_t src_len);
/* Compress; level 0 = codec default. *out_len receives the compressed size. */
int pdi_pq_compress(int codec,
                    int level,
                    const uint8_t *src,
                    size_t src_len,
                    uint8_t *dst,
                    size_t dst_cap,
                    size_t *out_len);

/* XXH64 (seed 0): the hash of a value's PLAIN bytes (BYTE_ARRAY values
 * without their length prefix) that Parquet Bloom filters use. */
uint64_t pdi_pq_xxh64(const void *data, size_t len);
/* Split-block Bloom filter of `nbytes` (a multiple of 32) bytes: set the
 * eight bits of `hash`, or check whether all of them are set. */
void pdi_pq_bloom_insert(uint8_t *bitset, size_t nbytes, uint64_t hash);
bool pdi_pq_bloom_check(const uint8_t *bitset, size_t nbytes, uint64_t hash);

#endif
