/*
 * tests/fuzz/parquet_read_fuzzer.c - libFuzzer target for the Parquet reader:
 * open the input from memory, describe it, read every row group (and once in
 * small batches through a stream decoding on two threads with page checksums
 * verified and INT96 read as nanoseconds), release everything.
 */
#include "pipedag/parquet.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

extern size_t pdi_pq_alloc_limit;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pdi_pq_alloc_limit = (size_t)64 << 20; /* keep under libFuzzer's malloc limit */
    pd_parquet_reader *r;
    if (pd_parquet_open_memory(data, size, &r) != PD_OK)
        return 0;
    char *d = pd_parquet_describe(r);
    free(d);
    struct ArrowSchema s;
    if (pd_parquet_get_schema(r, &s) == PD_OK)
        s.release(&s);
    int n = pd_parquet_num_row_groups(r);
    for (int g = 0; g < n && g < 64; g++) {
        struct ArrowArray a;
        if (pd_parquet_read_row_group(r, g, NULL, NULL, &a) == PD_OK)
            a.release(&a);
    }
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.max_batch_rows = 5;
    o.threads = 2;
    o.verify_checksums = 1;
    o.int96_unit = PD_PARQUET_INT96_NS;
    struct ArrowArrayStream st;
    if (pd_parquet_read_stream(r, &o, &st) == PD_OK) {
        for (int i = 0; i < 1000; i++) {
            struct ArrowArray a;
            if (st.get_next(&st, &a) != 0 || !a.release)
                break;
            a.release(&a);
        }
        st.release(&st);
    }
    pd_parquet_close(r);
    return 0;
}
