/*
 * bench/common/bench_table.c - the benchmark table of PARQUET.md §18 as
 * Arrow batches (see bench_table.h).
 */
#include "bench_table.h"

#include "pipedag/arrow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int pdi_bench_table_builder(pd_arrow_builder **out)
{
    pd_arrow_builder *b = NULL;
    if (pd_arrow_builder_new(&b))
        return -1;
    pd_arrow_builder_add_column(b, "id", "l", 0);
    pd_arrow_builder_add_column(b, "a", "i", 0);
    pd_arrow_builder_add_column(b, "x", "g", 0);
    pd_arrow_builder_add_column(b, "cat", "u", 0);
    pd_arrow_builder_add_column(b, "s", "u", 0);
    pd_arrow_builder_add_column(b, "ts", "tsu:", 0);
    pd_arrow_builder_add_column(b, "n", "l", 1);
    *out = b;
    return 0;
}

int pdi_bench_table_generate(int64_t rows, int64_t batch, struct ArrowArrayStream *out)
{
    pd_arrow_builder *b = NULL;
    if (batch < 1 || pdi_bench_table_builder(&b))
        return -1;
    size_t nb = (size_t)((rows + batch - 1) / batch);
    struct ArrowArray *batches = calloc(nb ? nb : 1, sizeof *batches);
    struct ArrowSchema schema;
    size_t k = 0;
    if (!batches) {
        pd_arrow_builder_free(b);
        return -1;
    }
    for (int64_t i = 0; i < rows; i++) {
        uint64_t u = (uint64_t)i;
        char buf[32];
        pd_arrow_builder_append_int(b, 0, i);
        pd_arrow_builder_append_int(
            b, 1, (int32_t)((int64_t)(pdi_bench_sm64(8 * u + 1) >> 32) - 2147483648LL));
        pd_arrow_builder_append_double(b, 2, (double)(pdi_bench_sm64(8 * u + 2) >> 11) * 0x1p-53);
        int n = snprintf(buf, sizeof buf, "cat_%02d", (int)(pdi_bench_sm64(8 * u + 3) % 100));
        pd_arrow_builder_append_bytes(b, 3, buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "%012" PRIx64, pdi_bench_sm64(8 * u + 4) >> 16);
        pd_arrow_builder_append_bytes(b, 4, buf, (size_t)n);
        pd_arrow_builder_append_int(b, 5,
                                    1704067200000000LL + i * 1000000 +
                                        (int64_t)(pdi_bench_sm64(8 * u + 5) % 1000000));
        if (pdi_bench_sm64(8 * u + 6) % 10 == 0)
            pd_arrow_builder_append_null(b, 6);
        else
            pd_arrow_builder_append_int(b, 6, (int64_t)(pdi_bench_sm64(8 * u + 7) % 1000000000));
        if (pd_arrow_builder_num_rows(b) == batch || i == rows - 1) {
            if (pd_arrow_builder_finish(b, k == nb - 1 ? &schema : NULL, &batches[k])) {
                for (size_t j = 0; j < k; j++)
                    batches[j].release(&batches[j]);
                free(batches);
                pd_arrow_builder_free(b);
                return -1;
            }
            k++;
        }
    }
    pd_arrow_builder_free(b);
    int rc = pd_arrow_stream_from_batches(&schema, batches, nb, out) ? -1 : 0;
    free(batches);
    return rc;
}
