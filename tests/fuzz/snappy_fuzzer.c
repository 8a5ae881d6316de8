/*
 * tests/fuzz/snappy_fuzzer.c - libFuzzer differential target for our Snappy
 * decoder: any input decodes with ours exactly when libsnappy accepts it,
 * to the same bytes (output size taken from the block's preamble, capped).
 */
#include "parquet/codec.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)data, size, &n) != SNAPPY_OK || n > (1u << 20))
        n = size * 2;
    uint8_t *a = malloc(n ? n : 1), *b = malloc(n ? n : 1);
    if (!a || !b)
        abort();
    size_t got = n;
    int lib_ok =
        snappy_uncompressed_length((const char *)data, size, &got) == SNAPPY_OK && got == n &&
        snappy_uncompress((const char *)data, size, (char *)a, &got) == SNAPPY_OK && got == n;
    int ours_ok = pdi_pq_snappy_decompress(data, size, b, n) == PD_OK;
    if (lib_ok != ours_ok || (lib_ok && memcmp(a, b, n) != 0))
        abort();
    free(a);
    free(b);
    return 0;
}
