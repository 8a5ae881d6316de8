/*
 * tests/parquet_read/test_parquet_int96.c - INT96 timestamps never wrap.
 *
 * Our writer does not write INT96, so the test writes its own small Parquet
 * file byte by byte (Thrift compact footer, v1 PLAIN pages): a flat OPTIONAL
 * INT96 column over two row groups and a LIST<INT96> column, holding
 * 9999-12-31 23:59:59.999999, the epoch with negative nanoseconds, nulls and
 * an out-of-range Julian day. Read as microseconds (the default) every value
 * comes out exact; read as nanoseconds a value beyond 2262 is an error naming
 * column and row. The INT96 files of parquet-testing read the same in both
 * units, and the CLI takes --int96-unit.
 */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "pipedag/parquet.h"
#include "util/util.h"

#include "pq_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA PQ_TESTING "/data/"

#define JD_1970     2440588              /* Julian day of 1970-01-01 */
#define JD_99991231 5373484              /* Julian day of 9999-12-31 */
#define JD_20090301 2454892              /* Julian day of 2009-03-01 */
#define US_99991231 253402300799999999LL /* 9999-12-31 23:59:59.999999 in us */
#define NS_LAST_US  86399999999000LL     /* 23:59:59.999999 in ns of the day */

/* ------------------------------------------------------------------ a tiny Parquet writer */
typedef struct tw { /* Thrift compact protocol */
    pd_buf *b;
    int16_t last[8];
    int depth;
} tw;

static void put_varint(pd_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        pdi_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    pdi_buf_putc(b, (char)v);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

enum { T_I32 = 5, T_I64 = 6, T_BIN = 8, T_LIST = 9, T_STRUCT = 12 };

static void tw_field(tw *t, int id, int type)
{
    int delta = id - t->last[t->depth];
    if (delta > 0 && delta <= 15) {
        pdi_buf_putc(t->b, (char)(delta << 4 | type));
    } else {
        pdi_buf_putc(t->b, (char)type);
        put_varint(t->b, zigzag(id));
    }
    t->last[t->depth] = (int16_t)id;
}

static void tw_i32(tw *t, int id, int32_t v)
{
    tw_field(t, id, T_I32);
    put_varint(t->b, zigzag(v));
}

static void tw_i64(tw *t, int id, int64_t v)
{
    tw_field(t, id, T_I64);
    put_varint(t->b, zigzag(v));
}

static void tw_str(tw *t, int id, const char *s)
{
    tw_field(t, id, T_BIN);
    put_varint(t->b, strlen(s));
    pdi_buf_puts(t->b, s);
}

static void tw_list(tw *t, int id, int elem_type, int n) /* n < 15 */
{
    tw_field(t, id, T_LIST);
    pdi_buf_putc(t->b, (char)(n << 4 | elem_type));
}

static void tw_begin(tw *t) /* a struct (field value or list element) */
{
    t->last[++t->depth] = 0;
}

static void tw_struct(tw *t, int id)
{
    tw_field(t, id, T_STRUCT);
    tw_begin(t);
}

static void tw_end(tw *t)
{
    pdi_buf_putc(t->b, 0);
    t->depth--;
}

/* RLE/bit-packed hybrid with its 4-byte length: one bit-packed run. */
static void put_levels(pd_buf *b, const uint8_t *lv, int n, int width)
{
    int groups = (n + 7) / 8;
    uint8_t run[64] = {0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < width; k++)
            if (lv[i] >> k & 1)
                run[(i * width + k) / 8] |= (uint8_t)(1u << ((i * width + k) % 8));
    pd_buf b2 = PD_BUF_INIT;
    put_varint(&b2, (uint64_t)groups << 1 | 1);
    pdi_buf_append(&b2, run, (size_t)(groups * width));
    uint32_t len = (uint32_t)b2.len;
    pdi_buf_append(b, &len, 4);
    pdi_buf_append(b, b2.data, b2.len);
    pdi_buf_free(&b2);
}

typedef struct i96 {
    int64_t tod; /* nanoseconds of the day */
    int32_t jd;  /* Julian day */
} i96;

/* One column chunk of one row group: `n` level slots. */
typedef struct chunk {
    int n;
    uint8_t rep[8], def[8];
    int nv;
    i96 v[8];
    int64_t offset, size; /* filled by write_chunk */
} chunk;

static void write_chunk(pd_buf *f, chunk *c, int max_rep, int max_def)
{
    pd_buf page = PD_BUF_INIT;
    if (max_rep)
        put_levels(&page, c->rep, c->n, 1);
    put_levels(&page, c->def, c->n, max_def > 1 ? 2 : 1);
    for (int i = 0; i < c->nv; i++) {
        pdi_buf_append(&page, &c->v[i].tod, 8);
        pdi_buf_append(&page, &c->v[i].jd, 4);
    }
    c->offset = (int64_t)f->len;
    tw t = {f, {0}, 0};
    tw_i32(&t, 1, 0); /* DATA_PAGE */
    tw_i32(&t, 2, (int32_t)page.len);
    tw_i32(&t, 3, (int32_t)page.len);
    tw_struct(&t, 5);
    tw_i32(&t, 1, c->n);
    tw_i32(&t, 2, 0); /* PLAIN */
    tw_i32(&t, 3, 3); /* RLE */
    tw_i32(&t, 4, 3);
    tw_end(&t);
    pdi_buf_putc(f, 0); /* end of PageHeader */
    pdi_buf_append(f, page.data, page.len);
    c->size = (int64_t)f->len - c->offset;
    pdi_buf_free(&page);
}

static void write_meta(tw *t, const chunk *c, const char *path0, const char *path1, int n_path)
{
    tw_struct(t, 3); /* ColumnMetaData */
    tw_i32(t, 1, 3); /* INT96 */
    tw_list(t, 2, T_I32, 2);
    put_varint(t->b, zigzag(0)); /* PLAIN */
    put_varint(t->b, zigzag(3)); /* RLE */
    tw_list(t, 3, T_BIN, n_path);
    const char *parts[] = {path0, path1, "element"};
    for (int i = 0; i < n_path; i++) {
        put_varint(t->b, strlen(parts[i]));
        pdi_buf_puts(t->b, parts[i]);
    }
    tw_i32(t, 4, 0); /* UNCOMPRESSED */
    tw_i64(t, 5, c->n);
    tw_i64(t, 6, c->size);
    tw_i64(t, 7, c->size);
    tw_i64(t, 9, c->offset);
    tw_end(t);
}

static const i96 EPOCH = {0, JD_1970};
static const i96 MINUS_1US = {-1000, JD_1970}; /* 1969-12-31 23:59:59.999999 */
static const i96 MINUS_1NS = {-1, JD_1970};    /* 1969-12-31 23:59:59.999999999 */
static const i96 LAST = {NS_LAST_US, JD_99991231};
static const i96 MAR2009 = {0, JD_20090301};

static char g_path[64], g_far[64];

/* Column "ts": OPTIONAL INT96. Column "tl": LIST<INT96>.
 *   row  ts                 tl
 *   0    epoch              [epoch]                      row group 0
 *   1    null               null
 *   2    epoch - 1 us       []
 *   3    epoch - 1 ns       [null, epoch, epoch - 1 ns]
 *   4    null               [epoch, epoch]               row group 1
 *   5    9999-12-31 ...     null
 *   6    2009-03-01         [null, 9999-12-31 ...]
 * With `far`, a third column "far" (OPTIONAL INT96) holds Julian day
 * INT32_MAX at row 3, beyond even microseconds. */
static void write_file(const char *path, bool with_far)
{
    chunk ts[2] = {{4, {0}, {1, 0, 1, 1}, 3, {EPOCH, MINUS_1US, MINUS_1NS}, 0, 0},
                   {3, {0}, {0, 1, 1}, 2, {LAST, MAR2009}, 0, 0}};
    chunk tl[2] = {{6, {0, 0, 0, 0, 1, 1}, {3, 0, 1, 2, 3, 3}, 3, {EPOCH, EPOCH, MINUS_1NS}, 0, 0},
                   {5, {0, 1, 0, 0, 1}, {3, 3, 0, 2, 3}, 3, {EPOCH, EPOCH, LAST}, 0, 0}};
    chunk far[2] = {{4, {0}, {1, 1, 0, 1}, 3, {EPOCH, EPOCH, {0, INT32_MAX}}, 0, 0},
                    {3, {0}, {0, 0, 0}, 0, {{0, 0}}, 0, 0}};
    int ncol = with_far ? 3 : 2;
    pd_buf f = PD_BUF_INIT;
    pdi_buf_puts(&f, "PAR1");
    for (int g = 0; g < 2; g++) {
        write_chunk(&f, &ts[g], 0, 1);
        write_chunk(&f, &tl[g], 1, 3);
        if (with_far)
            write_chunk(&f, &far[g], 0, 1);
    }
    size_t footer = f.len;
    tw t = {&f, {0}, 0};
    tw_i32(&t, 1, 1);
    tw_list(&t, 2, T_STRUCT, ncol + 3);
    tw_begin(&t); /* root */
    tw_str(&t, 4, "schema");
    tw_i32(&t, 5, ncol);
    tw_end(&t);
    tw_begin(&t);
    tw_i32(&t, 1, 3); /* INT96 */
    tw_i32(&t, 3, 1); /* OPTIONAL */
    tw_str(&t, 4, "ts");
    tw_end(&t);
    tw_begin(&t);
    tw_i32(&t, 3, 1);
    tw_str(&t, 4, "tl");
    tw_i32(&t, 5, 1);
    tw_i32(&t, 6, 3); /* LIST */
    tw_end(&t);
    tw_begin(&t);
    tw_i32(&t, 3, 2); /* REPEATED */
    tw_str(&t, 4, "list");
    tw_i32(&t, 5, 1);
    tw_end(&t);
    tw_begin(&t);
    tw_i32(&t, 1, 3);
    tw_i32(&t, 3, 1);
    tw_str(&t, 4, "element");
    tw_end(&t);
    if (with_far) {
        tw_begin(&t);
        tw_i32(&t, 1, 3);
        tw_i32(&t, 3, 1);
        tw_str(&t, 4, "far");
        tw_end(&t);
    }
    tw_i64(&t, 3, 7);
    tw_list(&t, 4, T_STRUCT, 2);
    for (int g = 0; g < 2; g++) {
        tw_begin(&t); /* RowGroup */
        tw_list(&t, 1, T_STRUCT, ncol);
        const chunk *cs[] = {&ts[g], &tl[g], &far[g]};
        for (int c = 0; c < ncol; c++) {
            tw_begin(&t); /* ColumnChunk */
            tw_i64(&t, 2, cs[c]->offset);
            if (c == 1)
                write_meta(&t, cs[c], "tl", "list", 3);
            else
                write_meta(&t, cs[c], c == 0 ? "ts" : "far", NULL, 1);
            tw_end(&t);
        }
        tw_i64(&t, 2, ts[g].size + tl[g].size + (with_far ? far[g].size : 0));
        tw_i64(&t, 3, g == 0 ? 4 : 3);
        tw_end(&t);
    }
    tw_str(&t, 6, "pipedag-c test_parquet_int96");
    pdi_buf_putc(&f, 0); /* end of FileMetaData */
    uint32_t flen = (uint32_t)(f.len - footer);
    pdi_buf_append(&f, &flen, 4);
    pdi_buf_puts(&f, "PAR1");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f.data, 1, f.len, fp), f.len);
    fclose(fp);
    pdi_buf_free(&f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/pd-int96-%ld.parquet", (long)getpid());
    snprintf(g_far, sizeof g_far, "/tmp/pd-int96-far-%ld.parquet", (long)getpid());
    write_file(g_path, false);
    write_file(g_far, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove(g_path);
    remove(g_far);
    return 0;
}

/* ------------------------------------------------------------------ helpers */
/* Read row group `rg` of column `col` at `unit`: PD_OK with the array, or the
 * error code. */
static int
read_col(const char *path, int col, int rg, int unit, struct ArrowSchema *s, struct ArrowArray *a)
{
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_path(path, &r), PD_OK);
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.columns = &col;
    o.n_columns = 1;
    o.int96_unit = unit;
    int rc = pd_parquet_read_row_group(r, rg, &o, s, a);
    pd_parquet_close(r);
    return rc;
}

/* ------------------------------------------------------------------ tests */
static void t_micros_default(void **state)
{
    (void)state;
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_path(g_path, &r), PD_OK);
    struct ArrowSchema s;
    assert_int_equal(pd_parquet_get_schema(r, &s), 0);
    assert_string_equal(s.children[0]->format, "tsu:");
    assert_string_equal(s.children[1]->children[0]->format, "tsu:");
    s.release(&s);
    pd_parquet_close(r);

    const int64_t want[] = {0, 0, -1, -1, 0, US_99991231, 1235865600LL * 1000000};
    const bool valid[] = {true, false, true, true, false, true, true};
    for (int rg = 0; rg < 2; rg++) {
        struct ArrowArray a;
        assert_int_equal(read_col(g_path, 0, rg, PD_PARQUET_INT96_US, &s, &a), PD_OK);
        assert_string_equal(s.children[0]->format, "tsu:");
        const struct ArrowArray *c = a.children[0];
        for (int64_t i = 0; i < a.length; i++) {
            int row = rg * 4 + (int)i;
            assert_int_equal(valid_at(c, i), valid[row]);
            if (valid[row])
                assert_int_equal(i64_at(c, i), want[row]);
        }
        a.release(&a);
        s.release(&s);
    }
    /* the list column: row 6 is [null, 9999-12-31 ...] */
    struct ArrowArray a;
    assert_int_equal(read_col(g_path, 1, 1, PD_PARQUET_INT96_US, &s, &a), PD_OK);
    const struct ArrowArray *l = a.children[0], *e = l->children[0];
    const int32_t *offs = l->buffers[1];
    assert_int_equal(offs[2], 2);
    assert_int_equal(offs[3], 4);
    assert_false(valid_at(e, 2));
    assert_int_equal(i64_at(e, 3), US_99991231);
    a.release(&a);
    s.release(&s);
}

static void t_nanos_in_range(void **state)
{
    (void)state;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(read_col(g_path, 0, 0, PD_PARQUET_INT96_NS, &s, &a), PD_OK);
    assert_string_equal(s.children[0]->format, "tsn:");
    const struct ArrowArray *c = a.children[0];
    assert_int_equal(i64_at(c, 0), 0);
    assert_int_equal(i64_at(c, 2), -1000);
    assert_int_equal(i64_at(c, 3), -1);
    a.release(&a);
    s.release(&s);
}

static void t_nanos_out_of_range_is_an_error(void **state)
{
    (void)state;
    struct ArrowSchema s;
    struct ArrowArray a;
    /* flat: row 5 is the second row of row group 1 (its first value) */
    assert_int_equal(read_col(g_path, 0, 1, PD_PARQUET_INT96_NS, &s, &a), PD_ERR_UNSUPPORTED);
    const char *m = pd_last_error();
    assert_non_null(strstr(m, "column 'ts', row 5 (row group 1)"));
    assert_non_null(strstr(m, "9999-12-31T23:59:59.999999000"));
    assert_non_null(strstr(m, "timestamp[ns]"));
    assert_null(a.release);
    /* nested: row 6 holds the far element (after a null one) */
    assert_int_equal(read_col(g_path, 1, 1, PD_PARQUET_INT96_NS, &s, &a), PD_ERR_UNSUPPORTED);
    assert_non_null(strstr(pd_last_error(), "column 'tl.list.element', row 6 (row group 1)"));
    /* a stream with threads reports it too, never a date */
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.int96_unit = PD_PARQUET_INT96_NS;
    o.threads = 2;
    int cols[] = {0};
    o.columns = cols;
    o.n_columns = 1;
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_file_stream(g_path, &o, &st), PD_OK);
    assert_int_equal(st.get_next(&st, &a), 0); /* row group 0 is fine */
    a.release(&a);
    assert_int_not_equal(st.get_next(&st, &a), 0);
    assert_non_null(strstr(st.get_last_error(&st), "column 'ts', row 5"));
    st.release(&st);
}

static void t_beyond_micros_is_an_error(void **state)
{
    (void)state;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(read_col(g_far, 2, 0, PD_PARQUET_INT96_US, &s, &a), PD_ERR_UNSUPPORTED);
    const char *m = pd_last_error();
    assert_non_null(strstr(m, "column 'far', row 3 (row group 0)"));
    assert_non_null(strstr(m, "Julian day 2147483647"));
    assert_non_null(strstr(m, "timestamp[us]"));
}

/* The INT96 files of parquet-testing: the same instants in both units. */
static void t_testing_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int64_t rows;
    } files[] = {{DATA "alltypes_plain.parquet", 8},
                 {DATA "alltypes_plain.snappy.parquet", 2},
                 {DATA "alltypes_dictionary.parquet", 2},
                 {DATA "alltypes_tiny_pages.parquet", 7300},
                 {DATA "alltypes_tiny_pages_plain.parquet", 7300}};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        pd_parquet_reader *r;
        assert_int_equal(pd_parquet_open_path(files[f].file, &r), PD_OK);
        struct ArrowSchema s;
        assert_int_equal(pd_parquet_get_schema(r, &s), 0);
        int ts = -1;
        for (int64_t k = 0; k < s.n_children; k++)
            if (strcmp(s.children[k]->name, "timestamp_col") == 0)
                ts = (int)k;
        assert_true(ts >= 0);
        assert_string_equal(s.children[ts]->format, "tsu:");
        s.release(&s);
        int64_t rows = 0;
        for (int g = 0; g < pd_parquet_num_row_groups(r); g++) {
            struct ArrowArray au, an;
            struct ArrowSchema su, sn;
            pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
            o.columns = &ts;
            o.n_columns = 1;
            assert_int_equal(pd_parquet_read_row_group(r, g, &o, &su, &au), PD_OK);
            o.int96_unit = PD_PARQUET_INT96_NS;
            assert_int_equal(pd_parquet_read_row_group(r, g, &o, &sn, &an), PD_OK);
            assert_string_equal(su.children[0]->format, "tsu:");
            assert_string_equal(sn.children[0]->format, "tsn:");
            const struct ArrowArray *u = au.children[0], *n = an.children[0];
            for (int64_t i = 0; i < au.length; i++) {
                assert_int_equal(valid_at(u, i), valid_at(n, i));
                if (!valid_at(u, i))
                    continue;
                int64_t vu = i64_at(u, i), vn = i64_at(n, i);
                /* 2008 .. 2011 */
                assert_true(vu >= 1199145600LL * 1000000 && vu < 1325376000LL * 1000000);
                assert_int_equal(vu, vn >= 0 ? vn / 1000 : -((-vn + 999) / 1000));
            }
            rows += au.length;
            au.release(&au);
            an.release(&an);
            su.release(&su);
            sn.release(&sn);
        }
        assert_int_equal(rows, files[f].rows);
        pd_parquet_close(r);
    }
}

static void t_cli(void **state)
{
    (void)state;
    char args[256];
    snprintf(args, sizeof args, "cat %s", g_path);
    char *o = pq_run_cli(args, true);
    assert_non_null(strstr(o, "\"ts\":\"9999-12-31T23:59:59.999999\""));
    assert_non_null(strstr(o, "\"ts\":\"1969-12-31T23:59:59.999999\""));
    assert_non_null(strstr(o, "exit=0"));
    free(o);
    snprintf(args, sizeof args, "cat %s", g_far);
    o = pq_run_cli(args, true);
    assert_non_null(strstr(o, "column 'far', row 3 (row group 0)"));
    assert_non_null(strstr(o, "exit=1"));
    free(o);
    snprintf(args, sizeof args, "head -n 4 --int96-unit ns %s", g_path);
    o = pq_run_cli(args, true);
    assert_non_null(strstr(o, "\"ts\":\"1969-12-31T23:59:59.999999999\""));
    assert_non_null(strstr(o, "exit=0"));
    free(o);
    snprintf(args, sizeof args, "cat --int96-unit ns %s", g_path);
    o = pq_run_cli(args, true);
    assert_non_null(strstr(o, "column 'ts', row 5 (row group 1)"));
    assert_null(strstr(o, "1816-"));
    assert_non_null(strstr(o, "exit=1"));
    free(o);
    o = pq_run_cli("head -n 1 --int96-unit us " DATA "alltypes_plain.parquet", true);
    assert_non_null(strstr(o, "\"timestamp_col\":\"2009-03-01T00:00:00.000000\""));
    free(o);
    o = pq_run_cli("head -n 1 --int96-unit ns " DATA "alltypes_plain.parquet", true);
    assert_non_null(strstr(o, "\"timestamp_col\":\"2009-03-01T00:00:00.000000000\""));
    free(o);
    o = pq_run_cli("head -n 1 --int96-unit ms " DATA "alltypes_plain.parquet", true);
    assert_non_null(strstr(o, "usage"));
    assert_non_null(strstr(o, "exit=2"));
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_micros_default),
        cmocka_unit_test(t_nanos_in_range),
        cmocka_unit_test(t_nanos_out_of_range_is_an_error),
        cmocka_unit_test(t_beyond_micros_is_an_error),
        cmocka_unit_test(t_testing_files),
        cmocka_unit_test(t_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
