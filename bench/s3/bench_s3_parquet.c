/*
 * bench/s3/bench_s3_parquet.c - reading 2 of 7 columns of a ~1 GB Parquet
 * file on S3: bytes fetched and time through ranged reads (src/fs + our
 * reader), against fetching the whole object first. Writes the file with the
 * streaming S3 writer when it is missing.
 *
 *   bench_s3_parquet s3://bucket/key [MB]     (S3 settings from the environment)
 */
#include "fs/fs.h"
#include "pipedag/arrow.h"
#include "pipedag/parquet.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_s3_parquet: %s: %s\n", what, pd_last_error());
    exit(1);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void generate(pd_fs *fs, const char *url, size_t mb)
{
    pd_arrow_builder *b;
    if (pd_arrow_builder_new(&b))
        die("builder");
    const char *names[7] = {"id", "a", "b", "c", "d", "e", "f"};
    const char *fmts[7] = {"l", "l", "g", "u", "i", "g", "l"};
    for (int k = 0; k < 7; k++)
        pd_arrow_builder_add_column(b, names[k], fmts[k], 0);
    pd_fs_writer *w;
    if (pdi_fs_writer_open(fs, url, &w))
        die("writer");
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.codec = PD_CODEC_UNCOMPRESSED;
    o.threads = 2;
    pd_parquet_writer *pw = NULL;
    /* ~72 bytes a row of mostly random values */
    int64_t rows = (int64_t)mb * 1000 * 1000 / 72, batch = 1 << 17;
    char txt[32];
    for (int64_t r = 0; r < rows; r += batch) {
        int64_t n = rows - r < batch ? rows - r : batch;
        for (int64_t i = 0; i < n; i++) {
            uint64_t x = next();
            pd_arrow_builder_append_int(b, 0, r + i);
            pd_arrow_builder_append_int(b, 1, (int64_t)(x >> 1));
            pd_arrow_builder_append_double(b, 2, (double)(x >> 11) * 0x1p-53);
            int len = snprintf(txt, sizeof txt, "%016llx-%llu", (unsigned long long)next(),
                               (unsigned long long)(x % 1000));
            pd_arrow_builder_append_bytes(b, 3, txt, (size_t)len);
            pd_arrow_builder_append_int(b, 4, (int32_t)(x >> 40));
            pd_arrow_builder_append_double(b, 5, (double)(next() >> 11) * 0x1p-50);
            pd_arrow_builder_append_int(b, 6, (int64_t)next());
        }
        struct ArrowSchema sc;
        struct ArrowArray a;
        if (pd_arrow_builder_finish(b, pw ? NULL : &sc, &a))
            die("finish");
        if (!pw) {
            if (pd_parquet_writer_open_callback(pdi_fs_write_cb, w, &sc, &o, &pw))
                die("parquet writer");
            sc.release(&sc);
        }
        if (pd_parquet_writer_write(pw, &a))
            die("write");
        a.release(&a);
    }
    if (pd_parquet_writer_close(pw))
        die("close");
    if (pdi_fs_writer_commit(w))
        die("commit");
    pd_arrow_builder_free(b);
}

/* Sum of columns b and e over every row (a check that both ways read the
 * same values). */
static double read_two(pd_parquet_reader *r)
{
    static const int cols[2] = {2, 5};
    pd_parquet_read_options ro = PD_PARQUET_READ_OPTIONS_INIT;
    ro.columns = cols;
    ro.n_columns = 2;
    ro.threads = 2;
    struct ArrowArrayStream st;
    if (pd_parquet_read_stream(r, &ro, &st))
        die("stream");
    double sum = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            fprintf(stderr, "bench_s3_parquet: %s\n", st.get_last_error(&st));
            exit(1);
        }
        if (!a.release)
            break;
        for (int k = 0; k < 2; k++) {
            const double *v = a.children[k]->buffers[1];
            for (int64_t i = 0; i < a.length; i++)
                sum += v[a.children[k]->offset + i];
        }
        a.release(&a);
    }
    st.release(&st);
    return sum;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_s3_parquet s3://bucket/key [MB]\n");
        return 2;
    }
    const char *url = argv[1];
    size_t mb = argc > 2 ? (size_t)atol(argv[2]) : 1000;
    pd_fs *fs;
    if (pdi_fs_open(NULL, &fs))
        die("fs");
    pd_fs_stat st;
    if (pdi_fs_stat_url(fs, url, &st) == PD_ERR_NOT_FOUND) {
        double t = now();
        generate(fs, url, mb);
        if (pdi_fs_stat_url(fs, url, &st))
            die("stat");
        fprintf(stderr, "generated %s: %.1f MB in %.1f s\n", url, (double)st.size / 1e6, now() - t);
    }
    /* 2 of 7 columns through ranged reads */
    double t0 = now();
    pd_fs_file *f;
    pd_parquet_reader *r;
    if (pdi_fs_file_open(fs, url, &f) ||
        pd_parquet_open_callback(pdi_fs_read_at_cb, f, pdi_fs_file_size(f), &r))
        die(url);
    double s1 = read_two(r);
    double t_ranged = now() - t0;
    uint64_t fetched = pdi_fs_file_bytes_fetched(f);
    pd_parquet_close(r);
    pdi_fs_file_close(f);
    /* the whole object, then the same 2 columns from memory */
    t0 = now();
    void *data;
    size_t len;
    if (pdi_fs_read_all(fs, url, &data, &len))
        die("read_all");
    double t_fetch = now() - t0;
    if (pd_parquet_open_memory(data, len, &r))
        die("open memory");
    double s2 = read_two(r);
    double t_whole = now() - t0;
    pd_parquet_close(r);
    free(data);
    if (s1 != s2) {
        fprintf(stderr, "bench_s3_parquet: sums differ (%.17g vs %.17g)\n", s1, s2);
        return 1;
    }
    printf("parquet on S3, %.1f MB object, 2 of 7 columns:\n", (double)st.size / 1e6);
    printf("  ranged reads : %8.1f MB fetched (%4.1f %% of the object) in %6.2f s\n",
           (double)fetched / 1e6, 100.0 * (double)fetched / (double)st.size, t_ranged);
    printf("  whole object : %8.1f MB fetched (100.0 %%) in %6.2f s (download %.2f s)\n",
           (double)len / 1e6, t_whole, t_fetch);
    printf("  ratio        : %.2fx less data, %.2fx faster\n",
           (double)len / (double)(fetched ? fetched : 1), t_whole / t_ranged);
    pdi_fs_close(fs);
    return 0;
}
