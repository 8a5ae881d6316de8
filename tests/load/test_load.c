/*
 * tests/load/test_load.c - the loader (src/load): every compression found by
 * magic bytes, truncated and damaged streams, Parquet input, globs (a table
 * per file, union), BOM, wide integers, Latin-1, dialect options, given
 * types, inference over a bounded sample and the error for a later row that
 * does not fit, bounded batches, cache keys, the original's example data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "load/load.h"
#include "pipedag/arrow.h"
#include <bzlib.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char g_dir[256];

static char *tpath(const char *name)
{
    return pdi_path_join(g_dir, name);
}

static void put_file(const char *name, const void *data, size_t len)
{
    char *p = tpath(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(p);
}

static void put_text(const char *name, const char *text)
{
    put_file(name, text, strlen(text));
}

/* The whole stream as text: "name:format,..." then one JSON row a line. */
static int dump_stream(struct ArrowArrayStream *st, char **out, int64_t *batches, int64_t max_batch)
{
    pd_buf b = PD_BUF_INIT;
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    int e = st->get_schema(st, &s);
    if (e) {
        pd_set_error(PD_ERR_CORRUPT, "%s", st->get_last_error(st));
        st->release(st);
        return PD_ERR_CORRUPT;
    }
    for (int64_t i = 0; i < s.n_children; i++)
        pdi_buf_printf(&b, "%s%s:%s", i ? "," : "", s.children[i]->name, s.children[i]->format);
    pdi_buf_putc(&b, '\n');
    int rc = PD_OK;
    for (;;) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (st->get_next(st, &a)) {
            rc = pd_set_error(PD_ERR_CORRUPT, "%s", st->get_last_error(st));
            break;
        }
        if (!a.release)
            break;
        if (batches)
            (*batches)++;
        if (max_batch)
            assert_true(a.length <= max_batch);
        assert_int_equal(pd_arrow_array_validate(&s, &a), PD_OK);
        for (int64_t r = 0; r < a.length; r++) {
            char *j = pd_arrow_value_to_json(&s, &a, r, NULL);
            assert_non_null(j);
            pdi_buf_printf(&b, "%s\n", j);
            free(j);
        }
        a.release(&a);
    }
    s.release(&s);
    st->release(st);
    if (rc) {
        pdi_buf_free(&b);
        return rc;
    }
    *out = pdi_buf_detach(&b);
    return PD_OK;
}

/* Load one file (name in the temp dir, or an absolute path) with options. */
static int load(const char *name, const char *opts, char **out)
{
    *out = NULL;
    char *p = name[0] == '/' ? pdi_strdup(name) : tpath(name);
    pdi_load_opts *o = NULL;
    int rc = pdi_load_opts_parse(opts, &o);
    struct ArrowArrayStream st;
    if (!rc)
        rc = pdi_load_open(p, o, &st);
    if (!rc)
        rc = dump_stream(&st, out, NULL, 0);
    pdi_load_opts_free(o);
    free(p);
    return rc;
}

static void expect_load(const char *name, const char *opts, const char *want)
{
    char *got = NULL;
    int rc = load(name, opts, &got);
    if (rc)
        fail_msg("loading %s: %s", name, pd_last_error());
    if (strcmp(got, want))
        fail_msg("loading %s:\n--- got\n%s--- want\n%s", name, got, want);
    free(got);
}

static void expect_error(const char *name, const char *opts, const char *part1, const char *part2)
{
    char *got = NULL;
    int rc = load(name, opts, &got);
    if (!rc)
        fail_msg("loading %s succeeded:\n%s", name, got);
    const char *m = pd_last_error();
    if (!strstr(m, part1) || (part2 && !strstr(m, part2)))
        fail_msg("error '%s' lacks '%s' / '%s'", m, part1, part2 ? part2 : "");
}

static const char g_csv[] = "id,name,score\n1,Anna,1.5\n2,\"B, \"\"q\"\"\",2\n3,,-0.25\n";
static const char g_csv_want[] = "id:l,name:u,score:g\n"
                                 "{\"id\":1,\"name\":\"Anna\",\"score\":1.5}\n"
                                 "{\"id\":2,\"name\":\"B, \\\"q\\\"\",\"score\":2}\n"
                                 "{\"id\":3,\"name\":null,\"score\":-0.25}\n";

/* ---------------------------------------------------------- compressions */

static void *gzip_bytes(const char *text, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, strlen(text)) + 64;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void compressions(void **state)
{
    (void)state;
    size_t n = 0;
    /* names say nothing: the first bytes decide */
    void *gz = gzip_bytes(g_csv, &n);
    put_file("gz.dat", gz, n);
    expect_load("gz.dat", NULL, g_csv_want);
    /* two gzip members one after the other (cat a.gz b.gz) */
    size_t n2 = 0;
    void *gz2 = gzip_bytes("4,Dora,7\n", &n2);
    unsigned char *both = malloc(n + n2);
    memcpy(both, gz, n);
    memcpy(both + n, gz2, n2);
    put_file("two.csv.gz", both, n + n2);
    char *got = NULL;
    assert_int_equal(load("two.csv.gz", NULL, &got), PD_OK);
    assert_non_null(strstr(got, "\"name\":\"Dora\""));
    free(got);
    /* truncated: the file is named, the format too */
    put_file("cut.csv.gz", gz, n - 9);
    expect_error("cut.csv.gz", NULL, "cut.csv.gz", "gzip data ends early");
    put_file("cut2.csv.gz", gz, n / 2);
    expect_error("cut2.csv.gz", NULL, "cut2.csv.gz", "gzip");
    /* damaged */
    unsigned char *bad = malloc(n);
    memcpy(bad, gz, n);
    bad[n / 2] ^= 0x55;
    bad[n / 2 + 1] ^= 0x55;
    put_file("bad.csv.gz", bad, n);
    expect_error("bad.csv.gz", NULL, "bad.csv.gz", "gzip");
    free(bad);
    free(both);
    free(gz2);
    free(gz);

    size_t zcap = ZSTD_compressBound(strlen(g_csv));
    void *zs = malloc(zcap);
    size_t zn = ZSTD_compress(zs, zcap, g_csv, strlen(g_csv), 3);
    assert_false(ZSTD_isError(zn));
    put_file("z.bin", zs, zn);
    expect_load("z.bin", NULL, g_csv_want);
    put_file("zcut.csv.zst", zs, zn - 3);
    expect_error("zcut.csv.zst", NULL, "zcut.csv.zst", "zstd");
    free(zs);

    unsigned bcap = (unsigned)strlen(g_csv) * 2 + 600;
    char *bz = malloc(bcap);
    assert_int_equal(
        BZ2_bzBuffToBuffCompress(bz, &bcap, (char *)g_csv, (unsigned)strlen(g_csv), 9, 0, 0),
        BZ_OK);
    put_file("b.csv.bz2", bz, bcap);
    expect_load("b.csv.bz2", NULL, g_csv_want);
    put_file("bcut.csv.bz2", bz, bcap - 5);
    expect_error("bcut.csv.bz2", NULL, "bcut.csv.bz2", "bzip2");
    free(bz);

    size_t xcap = lzma_stream_buffer_bound(strlen(g_csv)), xn = 0;
    uint8_t *xz = malloc(xcap);
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)g_csv,
                                             strlen(g_csv), xz, &xn, xcap),
                     LZMA_OK);
    put_file("x.csv", xz, xn); /* a .csv name that is really xz */
    expect_load("x.csv", NULL, g_csv_want);
    put_file("xcut.csv.xz", xz, xn - 7);
    expect_error("xcut.csv.xz", NULL, "xcut.csv.xz", "xz");
    free(xz);
}

/* ------------------------------------------------------------ CSV details */

static void bom_and_wide_integers(void **state)
{
    (void)state;
    put_text("bom.csv", "\xEF\xBB\xBFid,v\n1,a\n");
    expect_load("bom.csv", NULL, "id:l,v:u\n{\"id\":1,\"v\":\"a\"}\n");
    /* 20 digits: beyond int64, exact as decimal128(38,0) */
    put_text("wide.csv", "k,big\n1,12345678901234567890\n2,-5\n3,\n");
    expect_load("wide.csv", NULL,
                "k:l,big:d:38,0\n{\"k\":1,\"big\":12345678901234567890}\n"
                "{\"k\":2,\"big\":-5}\n{\"k\":3,\"big\":null}\n");
    /* int64 limits stay int64 */
    put_text("lim.csv", "v\n9223372036854775807\n-9223372036854775808\n");
    expect_load("lim.csv", NULL,
                "v:l\n{\"v\":9223372036854775807}\n{\"v\":-9223372036854775808}\n");
    /* beyond 38 digits: text, never a double */
    put_text("huge.csv", "v\n123456789012345678901234567890123456789012\n7\n");
    expect_load("huge.csv", NULL,
                "v:u\n{\"v\":\"123456789012345678901234567890123456789012\"}\n{\"v\":\"7\"}\n");
    /* wide integers with fractions: text (a double would change them) */
    put_text("mix.csv", "v\n12345678901234567890\n1.5\n");
    expect_load("mix.csv", NULL, "v:u\n{\"v\":\"12345678901234567890\"}\n{\"v\":\"1.5\"}\n");
    /* quoted empty text is an empty string, unquoted empty is NULL; a quoted
     * empty field does not make a number column text (it is NULL there) */
    put_text("empty.csv", "a,b\n\"\",\"\"\n,1\nz,2\n");
    expect_load("empty.csv", NULL,
                "a:u,b:l\n{\"a\":\"\",\"b\":null}\n{\"a\":null,\"b\":1}\n"
                "{\"a\":\"z\",\"b\":2}\n");
    /* CRLF, a missing final newline, blank lines */
    put_text("crlf.csv", "a,b\r\n1,2\r\n\r\n3,4");
    expect_load("crlf.csv", NULL, "a:l,b:l\n{\"a\":1,\"b\":2}\n{\"a\":3,\"b\":4}\n");
    /* numbers as today: leading spaces are text, not silently trimmed */
    put_text("sp.csv", "a\n 1\n2\n");
    expect_load("sp.csv", NULL, "a:u\n{\"a\":\" 1\"}\n{\"a\":\"2\"}\n");
    /* all empty over the whole file: int64, as it always was */
    put_text("nul.csv", "a,b\n,1\n");
    expect_load("nul.csv", NULL, "a:l,b:l\n{\"a\":null,\"b\":1}\n");
}

static void encodings(void **state)
{
    (void)state;
    put_text("l1.csv", "city,n\nZ\xFCrich,1\nK\xF8"
                       "benhavn,2\n");
    expect_error("l1.csv", NULL, "l1.csv:2:1", "encoding: latin-1");
    expect_load("l1.csv", "{\"encoding\":\"latin-1\"}",
                "city:u,n:l\n{\"city\":\"Z\xC3\xBCrich\",\"n\":1}\n"
                "{\"city\":\"K\xC3\xB8"
                "benhavn\",\"n\":2}\n");
    put_text("u8.csv", "city\nZ\xC3\xBCrich\n");
    expect_load("u8.csv", "{\"encoding\":\"utf-8\"}", "city:u\n{\"city\":\"Z\xC3\xBCrich\"}\n");
}

static void dialect_and_types(void **state)
{
    (void)state;
    put_text("semi.csv", "1;'a;b';NA\n2;'it''s';3\n");
    expect_load("semi.csv",
                "{\"delimiter\":\";\",\"header\":false,\"null\":\"NA\",\"quote\":\"'\"}",
                "column1:l,column2:u,column3:l\n"
                "{\"column1\":1,\"column2\":\"a;b\",\"column3\":null}\n"
                "{\"column1\":2,\"column2\":\"it's\",\"column3\":3}\n");
    put_text("tab.csv", "a\tb\n1\tx\n");
    expect_load("tab.csv", "{\"delimiter\":\"\\t\"}", "a:l,b:u\n{\"a\":1,\"b\":\"x\"}\n");
    put_text("typed.csv", "pk,age,ok,day,amount,at\n"
                          "007,42,yes,2024-02-29,12.5,2024-01-02 03:04:05.25\n"
                          "8,,false,1970-01-01,-0.01,2024-01-02T00:00:00\n");
    expect_load("typed.csv",
                "{\"columns\":{\"age\":\"int32\",\"amount\":\"decimal(10,2)\",\"at\":"
                "\"timestamp\",\"day\":\"date\",\"ok\":\"bool\",\"pk\":\"text\"}}",
                "pk:u,age:i,ok:b,day:tdD,amount:d:10,2,at:tsu:\n"
                "{\"pk\":\"007\",\"age\":42,\"ok\":true,\"day\":\"2024-02-29\",\"amount\":12.50,"
                "\"at\":\"2024-01-02 03:04:05.250000\"}\n"
                "{\"pk\":\"8\",\"age\":null,\"ok\":false,\"day\":\"1970-01-01\",\"amount\":-0.01,"
                "\"at\":\"2024-01-02 00:00:00\"}\n");
    put_text("typed_bad.csv", "age\n1\n3000000000\n");
    expect_error("typed_bad.csv", "{\"columns\":{\"age\":\"int32\"}}", "typed_bad.csv:3:1",
                 "'3000000000' is not an int32");
    put_text("dec_bad.csv", "amount\n1.234\n");
    expect_error("dec_bad.csv", "{\"columns\":{\"amount\":\"decimal(10,2)\"}}", "dec_bad.csv:2:1",
                 "amount");
    /* 30 integer digits + scale 10 exceed 38 digits: an error, never a wrap */
    put_text("dec_wide.csv", "amount\n123456789012345678901234567890\n");
    expect_error("dec_wide.csv", "{\"columns\":{\"amount\":\"decimal(38,10)\"}}",
                 "dec_wide.csv:2:1", "amount");
    put_text("dec_ok.csv", "amount\n-1234567890123456789012345678.5\n");
    expect_load("dec_ok.csv", "{\"columns\":{\"amount\":\"decimal(38,10)\"}}",
                "amount:d:38,10\n{\"amount\":-1234567890123456789012345678.5000000000}\n");
    expect_error("typed.csv", "{\"columns\":{\"agee\":\"int32\"}}", "no column named 'agee'",
                 "pk, age, ok");
    pdi_load_opts *o = NULL;
    assert_int_not_equal(pdi_load_opts_parse("{\"columns\":{\"a\":\"int33\"}}", &o), PD_OK);
    assert_non_null(strstr(pd_last_error(), "int33"));
    assert_int_not_equal(pdi_load_opts_parse("{\"delimiter\":\";;\"}", &o), PD_OK);
    assert_int_not_equal(pdi_load_opts_parse("{\"encoding\":\"ebcdic\"}", &o), PD_OK);
    assert_int_not_equal(pdi_load_opts_parse("{\"bogus\":1}", &o), PD_OK);
    assert_non_null(strstr(pd_last_error(), "bogus"));
}

static void bad_input(void **state)
{
    (void)state;
    put_text("fields.csv", "a,b\n1,2\n3\n");
    expect_error("fields.csv", NULL, "fields.csv:3", "expected 2 fields, found 1");
    put_text("quote.csv", "a,b\n1,\"open\n2,3\n");
    expect_error("quote.csv", NULL, "quote.csv:2", "unterminated quoted field");
    put_text("after.csv", "a,b\n1,\"x\"y\n");
    expect_error("after.csv", NULL, "after.csv:2", "after a closing quote");
    put_file("nul.dat", "a,b\n1,x\0y\n", 10);
    expect_error("nul.dat", NULL, "nul.dat:2", "NUL byte");
    put_text("dup.csv", "a,A\n1,2\n");
    expect_error("dup.csv", NULL, "dup.csv:1", "twice");
    put_text("none.csv", "");
    expect_error("none.csv", NULL, "none.csv", "missing header");
    expect_error("does_not_exist.csv", NULL, "does_not_exist.csv", "cannot open");
}

/* A value after the sample that does not fit: file:line:column, never a
 * changed value; sample_rows: all reads it right. */
static void later_rows(void **state)
{
    (void)state;
    pd_buf b = PD_BUF_INIT;
    pdi_buf_puts(&b, "id,v\n");
    for (int i = 1; i <= 200; i++)
        pdi_buf_printf(&b, "%d,%d\n", i, i * 3);
    pdi_buf_puts(&b, "201,abc\n");
    put_text("late.csv", b.data);
    pdi_buf_free(&b);
    expect_error("late.csv", "{\"sample_rows\":50}", "late.csv:202:5", "column 'v': 'abc'");
    char *got = NULL;
    assert_int_equal(load("late.csv", "{\"sample_rows\":\"all\"}", &got), PD_OK);
    assert_non_null(strstr(got, "id:l,v:u\n"));
    assert_non_null(strstr(got, "{\"id\":201,\"v\":\"abc\"}"));
    free(got);
    /* within the default sample: inferred right away */
    assert_int_equal(load("late.csv", NULL, &got), PD_OK);
    assert_non_null(strstr(got, "id:l,v:u\n"));
    free(got);
}

/* ------------------------------------------------------------- batching */

static void bounded_batches(void **state)
{
    (void)state;
    char *p = tpath("big.csv");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("id,name,score\n", f);
    const int rows = 300000;
    for (int i = 0; i < rows; i++)
        fprintf(f, "%d,name number %d with some padding text,%d.%d\n", i, i * 7, i, i % 10);
    long size = ftell(f);
    fclose(f);
    pdi_load_opts *o = NULL;
    assert_int_equal(pdi_load_opts_parse(NULL, &o), PD_OK);
    pdi_load_opts_set_batch_rows(o, 4096);
    struct ArrowArrayStream st;
    assert_int_equal(pdi_load_open(p, o, &st), PD_OK);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    struct ArrowSchema s;
    assert_int_equal(st.get_schema(&st, &s), 0);
    int64_t total = 0, batches = 0;
    for (;;) {
        struct ArrowArray a;
        assert_int_equal(st.get_next(&st, &a), 0);
        if (!a.release)
            break;
        assert_true(a.length <= 4096);
        assert_true(a.length > 0);
        /* spot check the last row of each batch */
        total += a.length;
        assert_int_equal(pd_arrow_get_int(s.children[0], a.children[0], a.length - 1), total - 1);
        batches++;
        a.release(&a);
    }
    getrusage(RUSAGE_SELF, &ru1);
    s.release(&s);
    st.release(&st);
    assert_int_equal(total, rows);
    assert_true(batches >= rows / 4096);
#ifndef __SANITIZE_ADDRESS__
    /* peak RSS grows by far less than the file (ru_maxrss is in KiB) */
    assert_true((ru1.ru_maxrss - ru0.ru_maxrss) * 1024L < size / 3);
#endif
    (void)size;
    (void)ru0;
    (void)ru1;
    pdi_load_opts_free(o);
    free(p);
}

/* --------------------------------------------------------------- Parquet */

static void parquet_input(void **state)
{
    (void)state;
    char *got = NULL;
    char *p = pdi_path_join(PD_LOAD_DATA, "int32_decimal.parquet");
    assert_int_equal(load(p, NULL, &got), PD_OK);
    assert_non_null(strstr(got, "value:d:4,2\n"));
    assert_non_null(strstr(got, "{\"value\":1.00}\n"));
    assert_non_null(strstr(got, "{\"value\":24.00}\n"));
    free(got);
    free(p);
    p = pdi_path_join(PD_LOAD_DATA, "alltypes_plain.snappy.parquet");
    assert_int_equal(load(p, NULL, &got), PD_OK);
    assert_non_null(strstr(got, "id:i,bool_col:b"));
    free(got);
    /* columns: is for CSV */
    expect_error(p, "{\"columns\":{\"id\":\"int64\"}}", "alltypes_plain.snappy.parquet", "Parquet");
    free(p);
    /* format: parquet on a CSV file is refused */
    put_text("notpq.csv", "a\n1\n");
    expect_error("notpq.csv", "{\"format\":\"parquet\"}", "notpq.csv", "not a Parquet file");
}

/* ------------------------------------------------------------------ globs */

typedef struct sink_log {
    pd_strv tables;
    pd_buf text;
} sink_log;

static int log_sink(void *user, const char *table, struct ArrowArrayStream *st)
{
    sink_log *l = user;
    char *t = NULL;
    int rc = dump_stream(st, &t, NULL, 0);
    if (rc)
        return rc;
    pdi_strv_push(&l->tables, table);
    pdi_buf_printf(&l->text, "[%s]\n%s", table, t);
    free(t);
    return PD_OK;
}

static void globs(void **state)
{
    (void)state;
    char *dir = tpath("g");
    assert_int_equal(pdi_mkdir_p(dir), PD_OK);
    put_text("g/Alpha.csv", "k,v\n1,x\n");
    size_t n = 0;
    void *gz = gzip_bytes("k,v\n2,3.5\n", &n);
    put_file("g/beta.csv.gz", gz, n);
    free(gz);
    char *spec = pdi_path_join(dir, "*.csv*");
    pd_strv names = PD_STRV_INIT;
    assert_int_equal(pdi_load_table_names(spec, NULL, &names), PD_OK);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.items[0], "alpha");
    assert_string_equal(names.items[1], "beta");
    pdi_strv_free(&names);
    assert_int_equal(pdi_load_table_names(spec, "{\"union\":true}", &names), PD_OK);
    assert_int_equal(names.n, 0);

    sink_log l = {PD_STRV_INIT, PD_BUF_INIT};
    assert_int_equal(pdi_load_run(spec, NULL, "task", log_sink, &l), PD_OK);
    assert_string_equal(l.text.data, "[alpha]\nk:l,v:u\n{\"k\":1,\"v\":\"x\"}\n"
                                     "[beta]\nk:l,v:g\n{\"k\":2,\"v\":3.5}\n");
    pdi_strv_free(&l.tables);
    pdi_buf_free(&l.text);
    /* union: one table, types joined over the files (text wins) */
    assert_int_equal(pdi_load_run(spec, "{\"union\":true}", "task", log_sink, &l), PD_OK);
    assert_string_equal(l.text.data,
                        "[task]\nk:l,v:u\n{\"k\":1,\"v\":\"x\"}\n{\"k\":2,\"v\":\"3.5\"}\n");
    pdi_strv_free(&l.tables);
    pdi_buf_free(&l.text);
    /* union of files with other columns: refused, the file named */
    put_text("g/gamma.csv", "k,w\n1,2\n");
    assert_int_not_equal(pdi_load_run(spec, "{\"union\":true}", "task", log_sink, &l), PD_OK);
    assert_non_null(strstr(pd_last_error(), "gamma.csv"));
    pdi_strv_free(&l.tables);
    pdi_buf_free(&l.text);
    /* two files making one table name */
    put_text("g/beta.csv", "k\n1\n");
    assert_int_not_equal(pdi_load_table_names(spec, NULL, &names), PD_OK);
    assert_non_null(strstr(pd_last_error(), "beta"));
    pdi_strv_free(&names);

    /* no match */
    char *none = pdi_path_join(dir, "*.nothing");
    assert_int_equal(pdi_load_table_names(none, NULL, &names), PD_ERR_NOT_FOUND);
    free(none);
    free(spec);
    free(dir);
    char *t = pdi_load_table_name("/x/y/My.Data.csv.gz");
    assert_string_equal(t, "my");
    free(t);
}

static void cache_keys(void **state)
{
    (void)state;
    char *dir = tpath("k");
    assert_int_equal(pdi_mkdir_p(dir), PD_OK);
    put_text("k/a.csv", "x\n1\n");
    put_text("k/b.csv", "x\n2\n");
    char *spec = pdi_path_join(dir, "*.csv");
    char *single = pdi_path_join(dir, "a.csv");
    char *k1 = NULL, *k2 = NULL, *k3 = NULL, *k4 = NULL, *s1 = NULL;
    assert_int_equal(pdi_load_cache_key(spec, NULL, &k1), PD_OK);
    assert_int_equal(pdi_load_cache_key(single, NULL, &s1), PD_OK);
    /* a single file keeps the key it always had: the SHA-256 of its bytes */
    assert_string_equal(s1, "daff832f802000e645771a60983c76c963f6ee602a6230e45237bd360e91cc1a");
    put_text("k/b.csv", "x\n3\n");
    assert_int_equal(pdi_load_cache_key(spec, NULL, &k2), PD_OK);
    assert_string_not_equal(k1, k2);
    put_text("k/c.csv", "x\n3\n");
    assert_int_equal(pdi_load_cache_key(spec, NULL, &k3), PD_OK);
    assert_string_not_equal(k2, k3);
    char *c = pdi_path_join(dir, "c.csv");
    unlink(c);
    free(c);
    assert_int_equal(pdi_load_cache_key(spec, NULL, &k4), PD_OK);
    assert_string_equal(k2, k4);
    free(k1);
    free(k2);
    free(k3);
    free(k4);
    free(s1);
    free(single);
    free(spec);
    free(dir);
}

/* The original's realistic pipeline inputs (gzip, BSD licence). */
static void example_data(void **state)
{
    (void)state;
    const char *files[] = {"a.csv.gz", "b.csv.gz", "c.csv.gz"};
    const char *heads[] = {"pk:u,age:l,target:l\n", "pk:u,x:l,y:g,z:l\n", "pk:u,x:g,y:g,z:g\n"};
    for (int i = 0; i < 3; i++) {
        char *p = pdi_path_join(PD_EXAMPLE_DATA, files[i]);
        char *got = NULL;
        if (load(p, NULL, &got))
            fail_msg("%s: %s", files[i], pd_last_error());
        assert_true(pdi_str_starts(got, heads[i]));
        size_t lines = 0;
        for (const char *q = got; *q; q++)
            lines += *q == '\n';
        assert_int_equal(lines, 1001);
        free(got);
        free(p);
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/pd_load_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return pdi_rm_rf(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compressions),    cmocka_unit_test(bom_and_wide_integers),
        cmocka_unit_test(encodings),       cmocka_unit_test(dialect_and_types),
        cmocka_unit_test(bad_input),       cmocka_unit_test(later_rows),
        cmocka_unit_test(bounded_batches), cmocka_unit_test(parquet_input),
        cmocka_unit_test(globs),           cmocka_unit_test(cache_keys),
        cmocka_unit_test(example_data),
    };
    return cmocka_run_group_tests_name("load", tests, setup, teardown);
}
