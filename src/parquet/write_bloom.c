/*
 * parquet/write_bloom.c - split-block Bloom filters for the writer: their
 * size and header. Hashing and bit placement are shared with the reader
 * (bloom.c). The writer builds a filter from the distinct values of
 * dictionary-encoded chunks when asked to.
 */
#include "parquet/writer_int.h"

size_t pdw_bloom_size(size_t ndv)
{
    /* about 10 bits per distinct value (~1 % false positives), power of two
     * between 32 bytes and 1 MiB */
    size_t want = ndv * 10 / 8 + 1, n = 32;
    while (n < want && n < (1u << 20)) {
        n <<= 1;
    }
    return n;
}

void pdw_bloom_header(pdw_thrift *t, size_t nbytes)
{
    pdw_t_i32(t, 1, (int32_t)nbytes);
    for (int f = 2; f <= 4; f++) { /* algorithm BLOCK, hash XXHASH, UNCOMPRESSED */
        pdw_t_struct(t, f);
        pdw_t_struct(t, 1);
        pdw_t_end(t);
        pdw_t_end(t);
    }
    pdw_t_end(t);
}
