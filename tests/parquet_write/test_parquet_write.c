/*
 * tests/parquet_write/test_parquet_write.c - Parquet writer tests.
 *
 * Writes the generated table of pqw_table.c (every Arrow type, nulls,
 * nesting, offsets) with every codec, page version and encoding, and checks
 * each value read back by DuckDB (libduckdb, dlopen'ed) and by our own
 * reader when it is linked in. Also: identical bytes for identical input
 * (and across thread counts), statistics, temp-file handling of
 * pd_parquet_write_stream, error cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/parquet.h"
#include "pqw_duck.h"
#include "pqw_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PQW_LIBDUCKDB
#    define PQW_LIBDUCKDB "libduckdb.so"
#endif

static pqw_duck *duck;
static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    char err[512];
    duck = pqw_duck_open(PQW_LIBDUCKDB, err, sizeof err);
    if (!duck) {
        fprintf(stderr, "DuckDB unavailable (%s): DuckDB checks skipped\n", err);
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pqw-test-%ld", (long)getpid());
    mkdir(tmpdir, 0700);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pqw_duck_close(duck);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
    }
    return 0;
}

/* Write `total` rows in batches of `bs` rows. */
static int
write_table(const char *path, const pd_parquet_write_options *o, int64_t total, int64_t bs)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    if (pqw_make_table(1, 0, &s, &a) != 0) {
        return -1;
    }
    pd_parquet_writer *w = NULL;
    int rc = pd_parquet_writer_open_path(path, &s, o, &w);
    pqw_release_table(&s, &a);
    if (rc != PD_OK) {
        fprintf(stderr, "open: %s\n", pd_last_error());
        return rc;
    }
    for (int64_t r = 0; r < total; r += bs) {
        int64_t n = total - r < bs ? total - r : bs;
        if (pqw_make_table(n, r, &s, &a) != 0) {
            pd_parquet_writer_abort(w);
            return -1;
        }
        rc = pd_parquet_writer_write(w, &a);
        pqw_release_table(&s, &a);
        if (rc != PD_OK) {
            fprintf(stderr, "write: %s\n", pd_last_error());
            pd_parquet_writer_abort(w);
            return rc;
        }
    }
    rc = pd_parquet_writer_close(w);
    if (rc != PD_OK) {
        fprintf(stderr, "close: %s\n", pd_last_error());
    }
    return rc;
}

static char *subst(const char *tmpl, const char *col)
{
    size_t cap = strlen(tmpl) * 4 + 64;
    char *o = malloc(cap);
    size_t k = 0;
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            k += (size_t)snprintf(o + k, cap - k, "\"%s\"", col);
            p++;
        } else {
            o[k++] = *p;
        }
    }
    o[k] = 0;
    return o;
}

/* Compare every value of every column as DuckDB renders it. */
static void check_duck(const char *path, int64_t total)
{
    if (!duck) {
        return;
    }
    int nc = pqw_ncols();
    size_t cap = 65536, k = 0;
    char *sql = malloc(cap);
    k += (size_t)snprintf(sql + k, cap - k, "SELECT ");
    for (int c = 0; c < nc; c++) {
        char *e = subst(pqw_col_info(c)->sql, pqw_col_info(c)->name);
        k += (size_t)snprintf(sql + k, cap - k, "%scoalesce(CAST((%s) AS VARCHAR), 'NULL')",
                              c ? ", " : "", e);
        free(e);
    }
    snprintf(sql + k, cap - k, " FROM read_parquet('%s')", path);
    char err[1024];
    pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
    if (!r) {
        fprintf(stderr, "DuckDB: %s\nSQL: %s\n", err, sql);
    }
    free(sql);
    assert_non_null(r);
    assert_int_equal(pqw_result_rows(r), (uint64_t)total);
    int bad = 0;
    for (int64_t i = 0; i < total && bad < 5; i++) {
        for (int c = 0; c < nc && bad < 5; c++) {
            char exp[4096];
            pqw_expect(c, i, exp, sizeof exp);
            char *got = pqw_result_text(r, (uint64_t)c, (uint64_t)i);
            if (!got || strcmp(got, exp) != 0) {
                fprintf(stderr, "%s: row %" PRId64 " column %s: got '%s' expected '%s'\n", path, i,
                        pqw_col_info(c)->name, got ? got : "(null)", exp);
                bad++;
            }
            free(got);
        }
    }
    pqw_result_free(r);
    assert_int_equal(bad, 0);
}

/* Does DuckDB's parquet_metadata list `enc` for some column? */
static int duck_has_encoding(const char *path, const char *enc)
{
    char sql[1024], err[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM parquet_metadata('%s') WHERE encodings LIKE '%%%s%%'", path,
             enc);
    pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
    if (!r) {
        fprintf(stderr, "DuckDB: %s\n", err);
        return -1;
    }
    int64_t n = pqw_result_i64(r, 0, 0);
    pqw_result_free(r);
    return n > 0;
}

static pd_parquet_write_options small_opts(void)
{
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.row_group_rows = 1000;
    o.page_size = 2048;
    return o;
}

static void test_default_roundtrip(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/default.parquet", tmpdir);
    pd_parquet_write_options o = small_opts();
    assert_int_equal(write_table(path, &o, 2500, 700), PD_OK);
    check_duck(path, 2500);
    if (duck) {
        assert_int_equal(duck_has_encoding(path, "RLE_DICTIONARY"), 1);
    }
}

static void test_codecs(void **state)
{
    (void)state;
    const pd_parquet_codec codecs[] = {PD_CODEC_UNCOMPRESSED, PD_CODEC_SNAPPY,  PD_CODEC_GZIP,
                                       PD_CODEC_ZSTD,         PD_CODEC_LZ4_RAW, PD_CODEC_BROTLI};
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        for (int pv = 1; pv <= 2; pv++) {
            char path[400];
            snprintf(path, sizeof path, "%s/codec-%s-v%d.parquet", tmpdir,
                     pd_parquet_codec_name(codecs[i]), pv);
            pd_parquet_write_options o = small_opts();
            o.codec = codecs[i];
            o.page_version = pv;
            o.level = (i % 2) ? 0 : 5;
            assert_int_equal(write_table(path, &o, 1500, 1500), PD_OK);
            check_duck(path, 1500);
        }
    }
}

static void test_encodings(void **state)
{
    (void)state;
    static const struct {
        pd_parquet_encoding e;
        const char *name;
    } encs[] = {{PD_PARQUET_ENC_PLAIN, "PLAIN"},
                {PD_PARQUET_ENC_RLE, "RLE"},
                {PD_PARQUET_ENC_DELTA_BINARY_PACKED, "DELTA_BINARY_PACKED"},
                {PD_PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY, "DELTA_LENGTH_BYTE_ARRAY"},
                {PD_PARQUET_ENC_DELTA_BYTE_ARRAY, "DELTA_BYTE_ARRAY"},
                {PD_PARQUET_ENC_BYTE_STREAM_SPLIT, "BYTE_STREAM_SPLIT"},
                {PD_PARQUET_ENC_AUTO, "PLAIN"}};
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        for (int pv = 1; pv <= 2; pv++) {
            for (int dict = 0; dict <= 1; dict++) {
                if (dict && encs[i].e != PD_PARQUET_ENC_DELTA_BINARY_PACKED &&
                    encs[i].e != PD_PARQUET_ENC_AUTO) {
                    continue;
                }
                char path[400];
                snprintf(path, sizeof path, "%s/enc-%s-v%d-d%d.parquet", tmpdir, encs[i].name, pv,
                         dict);
                pd_parquet_write_options o = small_opts();
                o.encoding = encs[i].e;
                o.page_version = pv;
                o.dictionary = dict;
                o.codec = pv == 1 ? PD_CODEC_UNCOMPRESSED : PD_CODEC_ZSTD;
                assert_int_equal(write_table(path, &o, 1800, 600), PD_OK);
                check_duck(path, 1800);
                if (duck && !dict) {
                    int has = duck_has_encoding(path, encs[i].name);
                    if (has != 1) {
                        fprintf(stderr, "%s: encoding %s not used\n", path, encs[i].name);
                    }
                    assert_int_equal(has, 1);
                }
            }
        }
    }
}

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
} membuf;

static int mem_write(void *user, const void *buf, size_t len)
{
    membuf *m = user;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->p = realloc(m->p, m->cap);
        if (!m->p) {
            return PD_ERR_NOMEM;
        }
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return PD_OK;
}

static int write_mem(membuf *m, const pd_parquet_write_options *o, int64_t total, int64_t bs)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    if (pqw_make_table(1, 0, &s, &a) != 0) {
        return -1;
    }
    pd_parquet_writer *w = NULL;
    int rc = pd_parquet_writer_open_callback(mem_write, m, &s, o, &w);
    pqw_release_table(&s, &a);
    if (rc != PD_OK) {
        return rc;
    }
    for (int64_t r = 0; r < total && rc == PD_OK; r += bs) {
        int64_t n = total - r < bs ? total - r : bs;
        if (pqw_make_table(n, r, &s, &a) != 0) {
            pd_parquet_writer_abort(w);
            return -1;
        }
        rc = pd_parquet_writer_write(w, &a);
        pqw_release_table(&s, &a);
    }
    if (rc != PD_OK) {
        pd_parquet_writer_abort(w);
        return rc;
    }
    return pd_parquet_writer_close(w);
}

static void test_deterministic(void **state)
{
    (void)state;
    membuf a = {0}, b = {0}, c = {0};
    pd_parquet_write_options o = small_opts();
    assert_int_equal(write_mem(&a, &o, 2200, 500), PD_OK);
    assert_int_equal(write_mem(&b, &o, 2200, 500), PD_OK);
    o.threads = 2;
    assert_int_equal(write_mem(&c, &o, 2200, 1100), PD_OK);
    assert_true(a.len > 100);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    /* threads and batch sizes do not change the bytes */
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.p, c.p, a.len);
    assert_memory_equal(a.p, "PAR1", 4);
    assert_memory_equal(a.p + a.len - 4, "PAR1", 4);
    free(a.p);
    free(b.p);
    free(c.p);
}

static void test_threads_roundtrip(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/threads.parquet", tmpdir);
    pd_parquet_write_options o = small_opts();
    o.threads = 3;
    o.codec = PD_CODEC_ZSTD;
    assert_int_equal(write_table(path, &o, 2100, 2100), PD_OK);
    check_duck(path, 2100);
}

static void test_statistics(void **state)
{
    (void)state;
    if (!duck) {
        skip();
    }
    char path[400];
    snprintf(path, sizeof path, "%s/stats.parquet", tmpdir);
    pd_parquet_write_options o = small_opts();
    o.row_group_rows = 5000;
    assert_int_equal(write_table(path, &o, 3000, 3000), PD_OK);
    /* compare DuckDB's min/max over the data with the footer statistics */
    static const char *const colnames[] = {"i8",   "i32",  "u32",  "u64",    "f64",  "str",
                                           "lstr", "date", "tsus", "sorted", "dec15"};
    for (size_t k = 0; k < sizeof colnames / sizeof colnames[0]; k++) {
        char sql[1024], err[512];
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT CAST(min(\"%s\") AS VARCHAR) FROM read_parquet('%s')), "
                 "(SELECT CAST(max(\"%s\") AS VARCHAR) FROM read_parquet('%s')), "
                 "stats_min_value, stats_max_value, stats_null_count, "
                 "(SELECT count(*) - count(\"%s\") FROM read_parquet('%s')) "
                 "FROM parquet_metadata('%s') WHERE path_in_schema = '%s'",
                 colnames[k], path, colnames[k], path, colnames[k], path, path, colnames[k]);
        pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
        if (!r) {
            fprintf(stderr, "DuckDB: %s\n", err);
        }
        assert_non_null(r);
        assert_int_equal(pqw_result_rows(r), 1);
        char *mn = pqw_result_text(r, 0, 0), *mx = pqw_result_text(r, 1, 0);
        char *smn = pqw_result_text(r, 2, 0), *smx = pqw_result_text(r, 3, 0);
        int64_t nulls = pqw_result_i64(r, 4, 0), cnt_nulls = pqw_result_i64(r, 5, 0);
        if (!smn || !smx || strcmp(mn, smn) != 0 || strcmp(mx, smx) != 0) {
            fprintf(stderr, "column %s: data min/max %s/%s, stats %s/%s\n", colnames[k], mn, mx,
                    smn ? smn : "(null)", smx ? smx : "(null)");
        }
        assert_non_null(smn);
        assert_non_null(smx);
        assert_string_equal(mn, smn);
        assert_string_equal(mx, smx);
        assert_int_equal(nulls, cnt_nulls);
        free(mn);
        free(mx);
        free(smn);
        free(smx);
        pqw_result_free(r);
    }
}

/* Float statistics: NaN ignored, zero min -0.0 / max +0.0, all-NaN: none. */
static void test_float_stats(void **state)
{
    (void)state;
    if (!duck) {
        skip();
    }
    char path[400];
    snprintf(path, sizeof path, "%s/fstats.parquet", tmpdir);
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "x", "g", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "y", "g", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "z", "g", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "f", "f", 1), PD_OK);
    const double nan = __builtin_nan("");
    const double xs[4] = {nan, 0.0, -0.0, 1.5}, zs[4] = {0.0, 0.0, 0.0, 0.0};
    const double fs[4] = {2.5, -1.0, nan, 2.5};
    for (int i = 0; i < 400; i++) {
        assert_int_equal(pd_arrow_builder_append_double(b, 0, xs[i % 4]), PD_OK);
        assert_int_equal(pd_arrow_builder_append_double(b, 1, nan), PD_OK);
        assert_int_equal(pd_arrow_builder_append_double(b, 2, zs[i % 4]), PD_OK);
        assert_int_equal(pd_arrow_builder_append_double(b, 3, fs[i % 4]), PD_OK);
    }
    struct ArrowSchema sc;
    struct ArrowArray a;
    assert_int_equal(pd_arrow_builder_finish(b, &sc, &a), PD_OK);
    pd_arrow_builder_free(b);
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.dictionary = 1; /* the repeated values make the dictionary pay */
    pd_parquet_writer *w = NULL;
    assert_int_equal(pd_parquet_writer_open_path(path, &sc, &o, &w), PD_OK);
    assert_int_equal(pd_parquet_writer_write(w, &a), PD_OK);
    assert_int_equal(pd_parquet_writer_close(w), PD_OK);
    pd_arrow_schema_release(&sc);
    pd_arrow_array_release(&a);
    static const char *const exp[4][2] = {
        {"-0.0", "1.5"}, {NULL, NULL}, {"-0.0", "0.0"}, {"-1.0", "2.5"}};
    char sql[600], err[512];
    snprintf(sql, sizeof sql,
             "SELECT stats_min_value, stats_max_value FROM parquet_metadata('%s') ORDER BY "
             "column_id",
             path);
    pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(pqw_result_rows(r), 4);
    for (int c = 0; c < 4; c++) {
        char *mn = pqw_result_text(r, 0, (uint64_t)c), *mx = pqw_result_text(r, 1, (uint64_t)c);
        if (!exp[c][0]) {
            assert_null(mn);
            assert_null(mx);
        } else {
            if (!mn || !mx || strcmp(mn, exp[c][0]) || strcmp(mx, exp[c][1])) {
                fprintf(stderr, "column %d: stats %s/%s, expected %s/%s\n", c, mn ? mn : "-",
                        mx ? mx : "-", exp[c][0], exp[c][1]);
            }
            assert_non_null(mn);
            assert_non_null(mx);
            assert_string_equal(mn, exp[c][0]);
            assert_string_equal(mx, exp[c][1]);
        }
        free(mn);
        free(mx);
    }
    pqw_result_free(r);
    /* nan_count counts every NaN value, also when dictionary-encoded */
    pd_parquet_reader *rd = NULL;
    assert_int_equal(pd_parquet_open_path(path, &rd), PD_OK);
    char *desc = pd_parquet_describe(rd);
    assert_non_null(desc);
    if (!strstr(desc, "RLE_DICTIONARY")) {
        fprintf(stderr, "dictionary not used:\n%s\n", desc);
    }
    free(desc);
    pd_parquet_close(rd);
}

/* Bloom filters of dictionary-encoded chunks, probed by DuckDB. */
static void test_bloom_filters(void **state)
{
    (void)state;
    if (!duck) {
        skip();
    }
    char path[400];
    snprintf(path, sizeof path, "%s/bloom.parquet", tmpdir);
    pd_parquet_write_options o = small_opts();
    o.bloom_filters = 1;
    assert_int_equal(write_table(path, &o, 2500, 2500), PD_OK);
    check_duck(path, 2500);
    static const struct {
        const char *col, *value;
        int present;
    } probes[] = {{"str", "'v5'", 1},     {"str", "'v36'", 1},   {"str", "'nope'", 0},
                  {"dict", "'gamma'", 1}, {"dict", "'zeta'", 0}, {"i8", "7", 1}};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        char sql[800], err[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*), CAST(sum(CASE WHEN bloom_filter_excludes THEN 1 ELSE 0 END) "
                 "AS BIGINT) FROM parquet_bloom_probe('%s', '%s', %s)",
                 path, probes[k].col, probes[k].value);
        pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
        if (!r) {
            fprintf(stderr, "DuckDB: %s\n", err);
        }
        assert_non_null(r);
        int64_t groups = pqw_result_i64(r, 0, 0), excluded = pqw_result_i64(r, 1, 0);
        pqw_result_free(r);
        assert_int_equal(groups, 3);
        if (probes[k].present) {
            assert_int_equal(excluded, 0); /* never a false negative */
        } else {
            assert_true(excluded >= 2); /* ~1 % false positives per group */
        }
    }
}

static void test_empty_and_kv(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/empty.parquet", tmpdir);
    const char *keys[] = {"k1", "k2"};
    const char *vals[] = {"v1", NULL};
    pd_parquet_write_options o = small_opts();
    o.kv_keys = keys;
    o.kv_values = vals;
    o.n_kv = 2;
    assert_int_equal(write_table(path, &o, 0, 1), PD_OK);
    if (duck) {
        check_duck(path, 0);
        char sql[600], err[512];
        snprintf(sql, sizeof sql,
                 "SELECT CAST(key AS VARCHAR), CAST(value AS VARCHAR) FROM "
                 "parquet_kv_metadata('%s') ORDER BY 1",
                 path);
        pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
        assert_non_null(r);
        assert_int_equal(pqw_result_rows(r), 2);
        char *k = pqw_result_text(r, 0, 0), *v = pqw_result_text(r, 1, 0);
        assert_string_equal(k, "k1");
        assert_string_equal(v, "v1");
        free(k);
        free(v);
        pqw_result_free(r);
        snprintf(sql, sizeof sql, "SELECT created_by FROM parquet_file_metadata('%s')", path);
        r = pqw_duck_query(duck, sql, err, sizeof err);
        assert_non_null(r);
        char *cb = pqw_result_text(r, 0, 0);
        assert_string_equal(cb, "pipedag-c version 0.1.0");
        free(cb);
        pqw_result_free(r);
    }
}

static void test_write_stream(void **state)
{
    (void)state;
    char path[400], tmp[500];
    snprintf(path, sizeof path, "%s/stream.parquet", tmpdir);
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "id", "l", 0), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "name", "u", 1), PD_OK);
    struct ArrowSchema schema;
    struct ArrowArray batches[2];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 100; i++) {
            assert_int_equal(pd_arrow_builder_append_int(b, 0, k * 100 + i), PD_OK);
            if (i % 3 == 0) {
                assert_int_equal(pd_arrow_builder_append_null(b, 1), PD_OK);
            } else {
                char s[32];
                snprintf(s, sizeof s, "n%d", i);
                assert_int_equal(pd_arrow_builder_append_bytes(b, 1, s, strlen(s)), PD_OK);
            }
        }
        assert_int_equal(pd_arrow_builder_finish(b, k == 0 ? &schema : NULL, &batches[k]), PD_OK);
    }
    pd_arrow_builder_free(b);
    struct ArrowArrayStream st;
    assert_int_equal(pd_arrow_stream_from_batches(&schema, batches, 2, &st), PD_OK);
    assert_int_equal(pd_parquet_write_stream(path, &st, NULL), PD_OK);
    assert_null(st.release);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(path, F_OK), 0);
    if (duck) {
        char sql[600], err[512];
        snprintf(sql, sizeof sql, "SELECT count(*), sum(id), count(name) FROM read_parquet('%s')",
                 path);
        pqw_result *r = pqw_duck_query(duck, sql, err, sizeof err);
        assert_non_null(r);
        assert_int_equal(pqw_result_i64(r, 0, 0), 200);
        assert_int_equal(pqw_result_i64(r, 1, 0), 199 * 200 / 2);
        assert_int_equal(pqw_result_i64(r, 2, 0), 200 - 2 * 34);
        pqw_result_free(r);
    }
}

/* A stream whose second batch violates the schema: no file, no temp file. */
static void test_write_stream_failure(void **state)
{
    (void)state;
    char path[400], tmp[500];
    snprintf(path, sizeof path, "%s/fail.parquet", tmpdir);
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "id", "l", 1), PD_OK);
    struct ArrowSchema schema, s2;
    struct ArrowArray batches[2];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 10; i++) {
            if (k == 1 && i == 5) {
                assert_int_equal(pd_arrow_builder_append_null(b, 0), PD_OK);
            } else {
                assert_int_equal(pd_arrow_builder_append_int(b, 0, i), PD_OK);
            }
        }
        assert_int_equal(pd_arrow_builder_finish(b, k == 0 ? &schema : NULL, &batches[k]), PD_OK);
    }
    pd_arrow_builder_free(b);
    /* declare the column non-nullable: the null in batch 2 must fail */
    assert_int_equal(pd_arrow_schema_copy(&schema, &s2), PD_OK);
    pd_arrow_schema_release(&schema);
    s2.children[0]->flags = 0;
    struct ArrowArrayStream st;
    assert_int_equal(pd_arrow_stream_from_batches(&s2, batches, 2, &st), PD_OK);
    int rc = pd_parquet_write_stream(path, &st, NULL);
    assert_int_equal(rc, PD_ERR_INVALID);
    assert_non_null(strstr(pd_last_error(), "id"));
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(path, F_OK), -1);
}

static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

/* Write `total` rows of one in-memory table through sliced views (batch
 * offsets), read the file back with our reader and compare every row's
 * JSON rendering with the source. */
static int
reader_roundtrip(const char *path, const pd_parquet_write_options *o, int64_t total, int64_t bs)
{
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pqw_make_table(total, 0, &s, &a), 0);
    pd_parquet_writer *w = NULL;
    int rc = pd_parquet_writer_open_path(path, &s, o, &w);
    assert_int_equal(rc, PD_OK);
    for (int64_t r = 0; r < total && rc == PD_OK; r += bs) {
        struct ArrowArray view = a;
        view.offset = a.offset + r;
        view.length = total - r < bs ? total - r : bs;
        view.release = noop_release;
        rc = pd_parquet_writer_write(w, &view);
    }
    if (rc != PD_OK) {
        fprintf(stderr, "write: %s\n", pd_last_error());
        pd_parquet_writer_abort(w);
        pqw_release_table(&s, &a);
        return rc;
    }
    assert_int_equal(pd_parquet_writer_close(w), PD_OK);
    struct ArrowArrayStream st;
    rc = pd_parquet_read_file_stream(path, NULL, &st);
    if (rc != PD_OK) {
        fprintf(stderr, "read %s: %s\n", path, pd_last_error());
        pqw_release_table(&s, &a);
        return rc;
    }
    int bad = pqw_compare_stream(&st, &s, &a, total, path);
    pqw_release_table(&s, &a);
    return bad ? PD_ERR : PD_OK;
}

static void test_reader_roundtrip(void **state)
{
    (void)state;
    static const pd_parquet_encoding encs[] = {PD_PARQUET_ENC_AUTO,
                                               PD_PARQUET_ENC_PLAIN,
                                               PD_PARQUET_ENC_RLE,
                                               PD_PARQUET_ENC_DELTA_BINARY_PACKED,
                                               PD_PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY,
                                               PD_PARQUET_ENC_DELTA_BYTE_ARRAY,
                                               PD_PARQUET_ENC_BYTE_STREAM_SPLIT};
    static const pd_parquet_codec codecs[] = {PD_CODEC_UNCOMPRESSED, PD_CODEC_SNAPPY,
                                              PD_CODEC_GZIP,         PD_CODEC_ZSTD,
                                              PD_CODEC_LZ4_RAW,      PD_CODEC_BROTLI};
    int fails = 0, n = 0;
    for (int pv = 1; pv <= 2; pv++) {
        for (int dict = 0; dict <= 1; dict++) {
            for (size_t e = 0; e < sizeof encs / sizeof encs[0]; e++) {
                char path[400];
                pd_parquet_write_options o = small_opts();
                o.page_version = pv;
                o.dictionary = dict;
                o.encoding = encs[e];
                o.codec = codecs[(e + (size_t)pv + (size_t)dict) % 6];
                snprintf(path, sizeof path, "%s/rt-v%d-d%d-e%d-%s.parquet", tmpdir, pv, dict,
                         (int)encs[e], pd_parquet_codec_name(o.codec));
                n++;
                if (reader_roundtrip(path, &o, 2300, 900) != PD_OK) {
                    fails++;
                }
            }
        }
    }
    if (fails) {
        fprintf(stderr, "%d of %d reader round trips failed\n", fails, n);
    }
    assert_int_equal(fails, 0);
}

static void test_errors(void **state)
{
    (void)state;
    struct ArrowSchema s;
    assert_int_equal(pd_arrow_schema_init(&s, "+s", "", 0, 1), PD_OK);
    assert_int_equal(pd_arrow_schema_init(s.children[0], "+ud:0,1", "u", 2, 0), PD_OK);
    pd_parquet_writer *w = NULL;
    membuf m = {0};
    assert_int_equal(pd_parquet_writer_open_callback(mem_write, &m, &s, NULL, &w),
                     PD_ERR_UNSUPPORTED);
    assert_null(w);
    pd_arrow_schema_release(&s);
    assert_int_equal(pd_arrow_schema_init(&s, "i", "", 0, 0), PD_OK);
    assert_int_equal(pd_parquet_writer_open_callback(mem_write, &m, &s, NULL, &w), PD_ERR_INVALID);
    pd_arrow_schema_release(&s);
    pd_parquet_codec c;
    assert_int_equal(pd_parquet_codec_from_name("ZSTD", &c), PD_OK);
    assert_int_equal(c, PD_CODEC_ZSTD);
    assert_int_equal(pd_parquet_codec_from_name("none", &c), PD_OK);
    assert_int_equal(c, PD_CODEC_UNCOMPRESSED);
    assert_int_equal(pd_parquet_codec_from_name("lzo", &c), PD_ERR_INVALID);
    assert_string_equal(pd_parquet_codec_name(PD_CODEC_LZ4_RAW), "lz4_raw");
    pd_parquet_writer_abort(NULL);
    free(m.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_roundtrip), cmocka_unit_test(test_codecs),
        cmocka_unit_test(test_encodings),         cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_threads_roundtrip), cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_float_stats),       cmocka_unit_test(test_empty_and_kv),
        cmocka_unit_test(test_write_stream),      cmocka_unit_test(test_write_stream_failure),
        cmocka_unit_test(test_reader_roundtrip),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bloom_filters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
