/*
 * bench/parquet/bench_parquet.c - Parquet write/read benchmark against DuckDB.
 *
 * Generates the table of PARQUET.md section 18 in memory as Arrow batches,
 * writes it with our writer and DuckDB's COPY (libduckdb via dlopen, same
 * rows from bench/dataset.sql) for SNAPPY, ZSTD and uncompressed
 * with 1 and 2 threads, reads every file back fully (our reader when linked,
 * and DuckDB), and prints MB/s, sizes and ours/DuckDB ratios. Not a test:
 * scripts/bench-parquet.sh builds it in Release and runs it.
 */
#include "pipedag/parquet.h"
#include "pqw_duck.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The reader may be absent in partial builds: weak references. */
extern int pd_parquet_read_file_stream(const char *path,
                                       const pd_parquet_read_options *opts,
                                       struct ArrowArrayStream *out) __attribute__((weak));

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t sm64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static size_t g_bytes; /* in-memory Arrow data size */

static void col_fixed(struct ArrowArray *a, int64_t n, size_t w, void *data)
{
    pd_arrow_array_init(a, 2, 0);
    a->length = n;
    a->null_count = 0;
    pd_arrow_array_set_buffer(a, 1, data);
    g_bytes += (size_t)n * w;
}

static void make_batch(int64_t start, int64_t n, struct ArrowArray *b)
{
    pd_arrow_array_init(b, 1, 7);
    b->length = n;
    b->null_count = 0;
    int64_t *id = xmalloc((size_t)n * 8);
    int32_t *av = xmalloc((size_t)n * 4);
    double *x = xmalloc((size_t)n * 8);
    int32_t *cat_off = xmalloc((size_t)(n + 1) * 4);
    char *cat = xmalloc((size_t)n * 6);
    int32_t *s_off = xmalloc((size_t)(n + 1) * 4);
    char *s = xmalloc((size_t)n * 12);
    int64_t *ts = xmalloc((size_t)n * 8);
    int64_t *nv = xmalloc((size_t)n * 8);
    uint8_t *nvalid = calloc((size_t)(n + 7) / 8, 1);
    int64_t nnull = 0;
    static const char hex[] = "0123456789abcdef";
    cat_off[0] = s_off[0] = 0;
    for (int64_t k = 0; k < n; k++) {
        uint64_t i = (uint64_t)(start + k);
        id[k] = (int64_t)i;
        av[k] = (int32_t)(int64_t)((sm64(i * 8 + 1) >> 32) - 2147483648ULL);
        x[k] = (double)(sm64(i * 8 + 2) >> 11) * (1.0 / 9007199254740992.0);
        unsigned c = (unsigned)(sm64(i * 8 + 3) % 100);
        char *cp = cat + k * 6;
        memcpy(cp, "cat_", 4);
        cp[4] = (char)('0' + c / 10);
        cp[5] = (char)('0' + c % 10);
        cat_off[k + 1] = (int32_t)((k + 1) * 6);
        uint64_t sv = sm64(i * 8 + 4) >> 16;
        for (int q = 0; q < 12; q++) {
            s[k * 12 + q] = hex[(sv >> (44 - 4 * q)) & 15];
        }
        s_off[k + 1] = (int32_t)((k + 1) * 12);
        ts[k] = 1704067200000000LL + (int64_t)i * 1000000 + (int64_t)(sm64(i * 8 + 5) % 1000000);
        if (sm64(i * 8 + 6) % 10 == 0) {
            nv[k] = 0;
            nnull++;
        } else {
            nv[k] = (int64_t)(sm64(i * 8 + 7) % 1000000000);
            nvalid[k >> 3] |= (uint8_t)(1u << (k & 7));
        }
    }
    col_fixed(b->children[0], n, 8, id);
    col_fixed(b->children[1], n, 4, av);
    col_fixed(b->children[2], n, 8, x);
    pd_arrow_array_init(b->children[3], 3, 0);
    b->children[3]->length = n;
    pd_arrow_array_set_buffer(b->children[3], 1, cat_off);
    pd_arrow_array_set_buffer(b->children[3], 2, cat);
    pd_arrow_array_init(b->children[4], 3, 0);
    b->children[4]->length = n;
    pd_arrow_array_set_buffer(b->children[4], 1, s_off);
    pd_arrow_array_set_buffer(b->children[4], 2, s);
    g_bytes += (size_t)n * (4 + 6 + 4 + 12);
    col_fixed(b->children[5], n, 8, ts);
    col_fixed(b->children[6], n, 8, nv);
    b->children[6]->null_count = nnull;
    pd_arrow_array_set_buffer(b->children[6], 0, nvalid);
    g_bytes += (size_t)(n + 7) / 8;
}

static void make_schema(struct ArrowSchema *s)
{
    static const char *names[7] = {"id", "a", "x", "cat", "s", "ts", "n"};
    static const char *fmts[7] = {"l", "i", "g", "u", "u", "tsu:", "l"};
    pd_arrow_schema_init(s, "+s", "", 0, 7);
    for (int i = 0; i < 7; i++) {
        pd_arrow_schema_init(s->children[i], fmts[i], names[i], i == 6 ? ARROW_FLAG_NULLABLE : 0,
                             0);
    }
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = xmalloc((size_t)n + 1);
    size_t r = fread(b, 1, (size_t)n, f);
    b[r] = 0;
    fclose(f);
    return b;
}

/* Read a file fully with our reader on `threads` threads: returns rows, -1
 * if the reader is not linked, -2 on error. */
static int64_t our_read(const char *path, int threads)
{
    if (!pd_parquet_read_file_stream) {
        return -1;
    }
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.threads = threads;
    struct ArrowArrayStream st;
    if (pd_parquet_read_file_stream(path, &o, &st) != PD_OK) {
        fprintf(stderr, "our reader: %s: %s\n", path, pd_last_error());
        return -2;
    }
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (st.get_next(&st, &a) != 0) {
            fprintf(stderr, "our reader: %s\n", st.get_last_error(&st));
            rows = -2;
            break;
        }
        if (!a.release) {
            break;
        }
        rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    return rows;
}

/* The smaller of two times, where a negative time means "not measured". */
static double best_time(double best, double t)
{
    return best < 0 || t < best ? t : best;
}

/* Time a full read of `path` by our reader into *best (best so far); 0 if
 * it did not return the expected number of rows. */
static int timed_read(const char *path, int threads, int64_t rows, double *best)
{
    double t = now();
    int64_t got = our_read(path, threads);
    if (got < 0) {
        return got == -1; /* -1: reader not linked */
    }
    *best = best_time(*best, now() - t);
    if (got != rows) {
        fprintf(stderr, "our reader: %s: %" PRId64 " rows, expected %" PRId64 "\n", path, got,
                rows);
        return 0;
    }
    return 1;
}

static int64_t duck_scalar(pqw_duck *d, const char *sql, char **text)
{
    char err[1024];
    pqw_result *r = pqw_duck_query(d, sql, err, sizeof err);
    if (!r) {
        fprintf(stderr, "DuckDB: %s\n  in: %s\n", err, sql);
        return -1;
    }
    int64_t v = pqw_result_i64(r, 0, 0);
    if (text) {
        *text = pqw_result_text(r, 1, 0);
    }
    pqw_result_free(r);
    return v;
}

int main(int argc, char **argv)
{
    int64_t rows = 1000000, batch = 122880, rg_rows = 0, page_size = 0;
    int level = 0;
    const char *dir = "/tmp";
    const char *lib = PQW_LIBDUCKDB;
    const char *dataset = PQW_DATASET_SQL;
    int with_duck = 1, with_read = 1, only_threads = 0, keep = 0, runs = 3;
    const char *only_codec = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
            rows = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--no-duckdb")) {
            with_duck = 0;
        } else if (!strcmp(argv[i], "--level") && i + 1 < argc) {
            level = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--page-size") && i + 1 < argc) {
            page_size = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--row-group") && i + 1 < argc) {
            rg_rows = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
            runs = runs < 1 ? 1 : runs;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = 1;
        } else if (!strcmp(argv[i], "--no-read")) {
            with_read = 0;
        } else if (!strcmp(argv[i], "--codec") && i + 1 < argc) {
            only_codec = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            only_threads = atoi(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: %s [--rows N] [--batch N] [--dir D] [--runs N] [--keep] [--no-duckdb] "
                    "[--no-read] "
                    "[--codec "
                    "snappy|zstd|uncompressed] [--threads N] [--row-group N] [--level N] "
                    "[--page-size N]\n",
                    argv[0]);
            return 2;
        }
    }
    printf("rows %" PRId64 ", batches of %" PRId64 "\n", rows, batch);
    size_t nb = (size_t)((rows + batch - 1) / batch);
    struct ArrowArray *batches = calloc(nb ? nb : 1, sizeof *batches);
    double t0 = now();
    for (size_t k = 0; k < nb; k++) {
        int64_t st = (int64_t)k * batch;
        make_batch(st, rows - st < batch ? rows - st : batch, &batches[k]);
    }
    double mb = (double)g_bytes / 1e6;
    printf("generated %.1f MB of Arrow data in %.2f s\n", mb, now() - t0);
    struct ArrowSchema schema;
    make_schema(&schema);

    pqw_duck *duck = NULL;
    if (with_duck) {
        char err[512];
        duck = pqw_duck_open(lib, err, sizeof err);
        if (!duck) {
            fprintf(stderr, "DuckDB unavailable: %s\n", err);
        } else {
            char *sql = read_text(dataset);
            if (!sql || pqw_duck_exec(duck, sql, err, sizeof err) != 0) {
                fprintf(stderr, "dataset.sql: %s\n", sql ? err : "cannot read");
                return 1;
            }
            free(sql);
            char q[256];
            snprintf(q, sizeof q, "CREATE TABLE bench AS SELECT * FROM bench_rows(%" PRId64 ")",
                     rows);
            t0 = now();
            if (pqw_duck_exec(duck, q, err, sizeof err) != 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            printf("DuckDB table built in %.2f s\n", now() - t0);
        }
    }

    static const struct {
        pd_parquet_codec c;
        const char *duckname;
    } codecs[] = {{PD_CODEC_SNAPPY, "snappy"},
                  {PD_CODEC_ZSTD, "zstd"},
                  {PD_CODEC_UNCOMPRESSED, "uncompressed"}};
    printf("\n%-13s %2s | %9s %9s %7s | %9s %9s %7s | %11s %11s %6s | %9s %9s %7s | %9s "
           "%9s\n",
           "codec", "th", "ours MB/s", "duck MB/s", "ratio", "ours/cpu", "duck/cpu", "cpurat",
           "ours bytes", "duck bytes", "size", "rd ours", "rd duck", "rd rat", "us@duckf",
           "duck@ourf");
    int ok = 1;
    for (size_t ci = 0; ci < sizeof codecs / sizeof codecs[0]; ci++) {
        if (only_codec && strcmp(only_codec, codecs[ci].duckname) != 0) {
            continue;
        }
        for (int th = 1; th <= 2; th++) {
            if (only_threads && th != only_threads) {
                continue;
            }
            char ours[512], theirs[512];
            snprintf(ours, sizeof ours, "%s/pqbench-%ld-ours-%s-%d.parquet", dir, (long)getpid(),
                     codecs[ci].duckname, th);
            snprintf(theirs, sizeof theirs, "%s/pqbench-%ld-duck-%s-%d.parquet", dir,
                     (long)getpid(), codecs[ci].duckname, th);
            pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
            o.codec = codecs[ci].c;
            o.threads = th;
            o.row_group_rows = rg_rows;
            o.level = level;
            o.page_size = page_size;
            /* best of `runs` rounds; each round runs ours and DuckDB back to back */
            double t_ours = 1e30, c_ours = 1e30, t_duck = 1e30, c_duck = 1e30;
            double rd_ours = -1, rd_duck = -1, rd_duck_ours = -1, rd_ours_duck = -1;
            if (duck) {
                char q[64], err[512];
                snprintf(q, sizeof q, "SET threads=%d", th);
                pqw_duck_exec(duck, q, err, sizeof err);
            }
            for (int round = 0; round < runs; round++) {
                double t = now(), c0 = cpu_now();
                pd_parquet_writer *w = NULL;
                int rc = pd_parquet_writer_open_path(ours, &schema, &o, &w);
                for (size_t k = 0; rc == PD_OK && k < nb; k++) {
                    rc = pd_parquet_writer_write(w, &batches[k]);
                }
                if (rc == PD_OK) {
                    rc = pd_parquet_writer_close(w);
                } else {
                    pd_parquet_writer_abort(w);
                }
                if (rc != PD_OK) {
                    fprintf(stderr, "our writer: %s\n", pd_last_error());
                    return 1;
                }
                t_ours = fmin(t_ours, now() - t);
                c_ours = fmin(c_ours, cpu_now() - c0);
                if (duck) {
                    char q[1024], err[512];
                    snprintf(q, sizeof q, "COPY bench TO '%s' (FORMAT parquet, COMPRESSION %s)",
                             theirs, codecs[ci].duckname);
                    t = now();
                    c0 = cpu_now();
                    if (pqw_duck_exec(duck, q, err, sizeof err) != 0) {
                        fprintf(stderr, "DuckDB COPY: %s\n", err);
                        return 1;
                    }
                    t_duck = fmin(t_duck, now() - t);
                    c_duck = fmin(c_duck, cpu_now() - c0);
                }
                if (!with_read) {
                    continue;
                }
                if (duck) {
                    /* full scans; the checksums must agree */
#define AGG \
    "SELECT count(*), CAST(sum(hash(id, a, x, cat, s, ts, n)) AS VARCHAR) FROM read_parquet('%s')"
                    char q[1024];
                    char *h1 = NULL, *h2 = NULL;
                    snprintf(q, sizeof q, AGG, theirs);
                    t = now();
                    int64_t n1 = duck_scalar(duck, q, &h1);
                    rd_duck = best_time(rd_duck, now() - t);
                    snprintf(q, sizeof q, AGG, ours);
                    t = now();
                    int64_t n2 = duck_scalar(duck, q, &h2);
                    rd_duck_ours = best_time(rd_duck_ours, now() - t);
                    if (n1 != rows || n2 != rows || !h1 || !h2 || strcmp(h1, h2) != 0) {
                        fprintf(stderr,
                                "MISMATCH: duck %" PRId64 " rows hash %s, ours %" PRId64
                                " rows hash %s\n",
                                n1, h1 ? h1 : "-", n2, h2 ? h2 : "-");
                        ok = 0;
                    }
                    free(h1);
                    free(h2);
                    ok &= timed_read(theirs, th, rows, &rd_ours_duck);
                }
                ok &= timed_read(ours, th, rows, &rd_ours);
            }
            double w_ours = mb / t_ours, w_duck = duck ? mb / t_duck : 0;
            long long s_ours = file_size(ours), s_duck = duck ? file_size(theirs) : 0;
            printf("%-13s %2d | %9.1f %9.1f %7.2f | %9.1f %9.1f %7.2f | %11lld %11lld %6.3f | "
                   "%9.1f %9.1f %7.2f | %9.1f %9.1f\n",
                   codecs[ci].duckname, th, w_ours, w_duck, duck ? w_ours / w_duck : 0.0,
                   mb / c_ours, duck ? mb / c_duck : 0.0, duck ? c_duck / c_ours : 0.0, s_ours,
                   s_duck, duck ? (double)s_ours / (double)s_duck : 0.0,
                   rd_ours > 0 ? mb / rd_ours : 0.0, rd_duck > 0 ? mb / rd_duck : 0.0,
                   rd_ours > 0 && rd_duck > 0 ? rd_duck / rd_ours : 0.0,
                   rd_ours_duck > 0 ? mb / rd_ours_duck : 0.0,
                   rd_duck_ours > 0 ? mb / rd_duck_ours : 0.0);
            fflush(stdout);
            if (!keep) {
                unlink(ours);
                if (duck)
                    unlink(theirs);
            } else {
                printf("kept %s%s%s\n", ours, duck ? " " : "", duck ? theirs : "");
            }
        }
    }
    printf(
        "\nBest of %d rounds (ours and DuckDB alternate). MB = in-memory Arrow bytes (%.1f MB).\n"
        "ratio = ours/DuckDB write throughput (wall clock); /cpu = MB per CPU-second of the "
        "process (all threads), cpurat = ours/DuckDB of that;\nsize = ours/DuckDB file bytes;\n"
        "rd ours = our reader (th threads) on our file, rd duck = DuckDB (th threads) on its "
        "file, rd rat = ours/DuckDB read throughput;\nus@duckf = our reader on DuckDB's file, "
        "duck@ourf = DuckDB on our file (MB/s).\n",
        runs, mb);
    pd_arrow_schema_release(&schema);
    for (size_t k = 0; k < nb; k++) {
        pd_arrow_array_release(&batches[k]);
    }
    free(batches);
    pqw_duck_close(duck);
    return ok ? 0 : 1;
}
