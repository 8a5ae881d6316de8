/*
 * bench/parquet_read/bench_parquet_read.c - times our Parquet reader on one
 * file: full scans (all columns, every row group) on THREADS decoding
 * threads (default 1), best of N runs, printing rows/s and a checksum over
 * the fixed-width columns.
 * Usage: bench_parquet_read FILE [RUNS] [THREADS]
 */
#include "pipedag/parquet.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t checksum(const struct ArrowArray *a)
{
    uint64_t h = 0;
    for (int64_t c = 0; c < a->n_children; c++) {
        const struct ArrowArray *ch = a->children[c];
        if (ch->n_buffers == 3) {
            const int32_t *o = ch->buffers[1];
            h += (uint64_t)(o[ch->offset + ch->length] - o[ch->offset]);
        } else if (ch->n_buffers == 2 && ch->buffers[1]) {
            const uint8_t *v = ch->buffers[1];
            h += v[0] + v[ch->length > 0 ? ch->length - 1 : 0];
        }
        h += (uint64_t)ch->null_count;
    }
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [RUNS] [THREADS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.threads = argc > 3 ? atoi(argv[3]) : 1;
    double best = 1e30;
    int64_t rows = 0;
    uint64_t sum = 0;
    for (int r = 0; r < runs; r++) {
        double t = now();
        struct ArrowArrayStream st;
        if (pd_parquet_read_file_stream(argv[1], &o, &st) != PD_OK) {
            fprintf(stderr, "%s\n", pd_last_error());
            return 1;
        }
        rows = 0;
        sum = 0;
        for (;;) {
            struct ArrowArray a;
            if (st.get_next(&st, &a) != 0) {
                fprintf(stderr, "%s\n", st.get_last_error(&st));
                return 1;
            }
            if (!a.release)
                break;
            rows += a.length;
            sum += checksum(&a);
            a.release(&a);
        }
        st.release(&st);
        t = now() - t;
        if (t < best)
            best = t;
    }
    printf("%s: %" PRId64 " rows, best of %d: %.3f s (%.1f M rows/s), checksum %" PRIu64 "\n",
           argv[1], rows, runs, best, (double)rows / best / 1e6, sum);
    return 0;
}
