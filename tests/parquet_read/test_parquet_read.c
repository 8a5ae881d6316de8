/*
 * tests/parquet_read/test_parquet_read.c - Parquet reader tests over the
 * vendored parquet-testing files (tests/data/parquet-testing): every data/
 * file decodes with the expected row count and (where known) values, every
 * bad_data/ file fails cleanly, encrypted files are refused, options
 * (columns, row groups, batches) and the three open modes agree, and the CLI
 * renders JSON lines and CSV.
 */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "parquet/reader_int.h"
#include "pipedag/parquet.h"
#include "util/util.h"

#include "pq_test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA       PQ_TESTING "/data/"
#define BAD        PQ_TESTING "/bad_data/"
#define LOCAL_DATA PQ_LOCAL_DATA "/"

/* ------------------------------------------------------------------ helpers */
typedef struct table {
    pd_parquet_reader *r;
    struct ArrowSchema s;
    struct ArrowArray a; /* row group 0 */
} table;

static void open_rg(table *t, const char *path, int rg)
{
    memset(t, 0, sizeof *t);
    int rc = pd_parquet_open_path(path, &t->r);
    if (rc)
        fail_msg("%s: %s", path, pd_last_error());
    rc = pd_parquet_read_row_group(t->r, rg, NULL, &t->s, &t->a);
    if (rc)
        fail_msg("%s: %s", path, pd_last_error());
}

static void close_t(table *t)
{
    if (t->a.release)
        t->a.release(&t->a);
    if (t->s.release)
        t->s.release(&t->s);
    pd_parquet_close(t->r);
}

static int col_index(const table *t, const char *name)
{
    for (int64_t i = 0; i < t->s.n_children; i++)
        if (strcmp(t->s.children[i]->name, name) == 0)
            return (int)i;
    fail_msg("no column %s", name);
    return -1;
}

/* Text of a flat cell (ints, strings, binary), or NULL for null. */
static char *cell(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    if (!valid_at(a, i))
        return NULL;
    int64_t j = a->offset + i;
    const char *f = s->format;
    char tmp[64];
    switch (f[0]) {
    case 'i': snprintf(tmp, sizeof tmp, "%d", ((const int32_t *)a->buffers[1])[j]); break;
    case 'l':
        snprintf(tmp, sizeof tmp, "%lld", (long long)((const int64_t *)a->buffers[1])[j]);
        break;
    case 'L':
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)((const uint64_t *)a->buffers[1])[j]);
        break;
    case 'u':
    case 'z': {
        const int32_t *o = a->buffers[1];
        return pdi_strndup((const char *)a->buffers[2] + o[j], (size_t)(o[j + 1] - o[j]));
    }
    default: fail_msg("cell: format %s", f);
    }
    return pdi_strdup(tmp);
}

static int32_t i32_at(const struct ArrowArray *a, int64_t i)
{
    return ((const int32_t *)a->buffers[1])[a->offset + i];
}

static void list_files(const char *dir, pd_strv *out)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = pdi_path_join(dir, e->d_name);
        if (pdi_is_dir(p))
            list_files(p, out);
        else if (pdi_str_ends(p, ".parquet") || pdi_str_ends(p, ".encrypted") ||
                 pdi_str_ends(p, ".bin"))
            pdi_strv_push(out, p);
        free(p);
    }
    closedir(d);
    pdi_strv_sort(out);
}

/* Read the whole file through a stream; returns status, *rows the row count. */
static int read_all(pd_parquet_reader *r, int64_t max_batch, int64_t *rows)
{
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.max_batch_rows = max_batch;
    struct ArrowArrayStream st;
    int rc = pd_parquet_read_stream(r, &o, &st);
    if (rc)
        return rc;
    struct ArrowSchema s;
    assert_int_equal(st.get_schema(&st, &s), 0);
    *rows = 0;
    for (;;) {
        struct ArrowArray a;
        int e = st.get_next(&st, &a);
        if (e) {
            rc = pd_last_error_code();
            assert_non_null(st.get_last_error(&st));
            if (!rc)
                rc = PD_ERR;
            break;
        }
        if (!a.release)
            break;
        assert_int_equal(a.n_children, s.n_children);
        *rows += a.length;
        a.release(&a);
    }
    s.release(&s);
    st.release(&st);
    return rc;
}

/* ------------------------------------------------------------------ every file */
static const struct {
    const char *name;
    int64_t rows;
} expected_rows[] = {
    {"alltypes_plain.parquet", 8},
    {"alltypes_plain.snappy.parquet", 2},
    {"alltypes_dictionary.parquet", 2},
    {"alltypes_tiny_pages.parquet", 7300},
    {"alltypes_tiny_pages_plain.parquet", 7300},
    {"binary.parquet", 12},
    {"binary_truncated_min_max.parquet", 12},
    {"byte_array_decimal.parquet", 24},
    {"byte_stream_split.zstd.parquet", 300},
    {"column_chunk_key_value_metadata.parquet", 0},
    {"data_index_bloom_encoding_stats.parquet", 14},
    {"data_index_bloom_encoding_with_length.parquet", 14},
    {"datapage_v1-corrupt-checksum.parquet", 5120},
    {"datapage_v1-snappy-compressed-checksum.parquet", 5120},
    {"datapage_v1-uncompressed-checksum.parquet", 5120},
    {"datapage_v2.snappy.parquet", 5},
    {"delta_binary_packed.parquet", 200},
    {"delta_byte_array.parquet", 1000},
    {"delta_encoding_required_column.parquet", 100},
    {"delta_length_byte_array.parquet", 1000},
    {"fixed_length_byte_array.parquet", 1000},
    {"fixed_length_decimal.parquet", 24},
    {"float16_nonzeros_and_nans.parquet", 8},
    {"float16_zeros_and_nans.parquet", 3},
    {"floating_orders_nan_count.parquet", 50},
    {"hadoop_lz4_compressed.parquet", 4},
    {"int32_decimal.parquet", 24},
    {"int32_with_null_pages.parquet", 1000},
    {"int64_decimal.parquet", 24},
    {"list_columns.parquet", 3},
    {"lz4_raw_compressed.parquet", 4},
    {"lz4_raw_compressed_larger.parquet", 10000},
    {"map_no_value.parquet", 3},
    {"nan_in_stats.parquet", 2},
    {"nested_lists.snappy.parquet", 3},
    {"nested_maps.snappy.parquet", 6},
    {"nested_structs.rust.parquet", 1},
    {"nonnullable.impala.parquet", 1},
    {"null_list.parquet", 1},
    {"nulls.snappy.parquet", 8},
    {"old_list_structure.parquet", 1},
    {"overflow_i16_page_cnt.parquet", 40000},
    {"page_v2_empty_compressed.parquet", 10},
    {"plain-dict-uncompressed-checksum.parquet", 1000},
    {"repeated_no_annotation.parquet", 6},
    {"rle-dict-snappy-checksum.parquet", 1000},
    {"rle-dict-uncompressed-corrupt-checksum.parquet", 1000},
    {"rle_boolean_encoding.parquet", 68},
    {"single_nan.parquet", 1},
    {"sort_columns.parquet", 6},
    {"unknown-logical-type.parquet", 3},
    {"geospatial.parquet", 196},
};

static void t_every_data_file(void **state)
{
    (void)state;
    pd_strv files = PD_STRV_INIT;
    list_files(DATA, &files);
    assert_true(files.n >= 50);
    int checked = 0;
    for (size_t i = 0; i < files.n; i++) {
        const char *p = files.items[i];
        const char *base = strrchr(p, '/') + 1;
        pd_parquet_reader *r;
        int rc = pd_parquet_open_path(p, &r);
        if (pdi_str_ends(p, ".bin")) { /* bloom filter blobs, not Parquet */
            assert_int_equal(rc, PD_ERR_CORRUPT);
            continue;
        }
        if (strcmp(base, "large_string_map.brotli.parquet") == 0 && !getenv("PQ_LARGE")) {
            /* inflates to ~2 GiB: opt-in (PQ_LARGE=1) */
            assert_int_equal(rc, PD_OK);
            pd_parquet_close(r);
            continue;
        }
        if (strcmp(base, "uniform_encryption.parquet.encrypted") == 0) {
            assert_int_equal(rc, PD_ERR_UNSUPPORTED);
            assert_non_null(strstr(pd_last_error(), "encrypted"));
            continue;
        }
        if (rc)
            fail_msg("%s: %s", p, pd_last_error());
        char *d = pd_parquet_describe(r);
        assert_non_null(d);
        free(d);
        int64_t rows = -1;
        rc = read_all(r, 0, &rows);
        if (strcmp(base, "encrypt_columns_plaintext_footer.parquet.encrypted") == 0) {
            assert_int_equal(rc, PD_ERR_UNSUPPORTED);
        } else if (strcmp(base, "large_string_map.brotli.parquet") == 0) {
            /* 2 GiB of keys: beyond int32 offsets; must fail cleanly */
            assert_int_not_equal(rc, PD_OK);
        } else {
            if (rc)
                fail_msg("%s: %s", p, pd_last_error());
            assert_int_equal(rows, pd_parquet_num_rows(r));
            for (size_t k = 0; k < sizeof expected_rows / sizeof expected_rows[0]; k++)
                if (strcmp(expected_rows[k].name, base) == 0) {
                    if (rows != expected_rows[k].rows)
                        fail_msg("%s: %lld rows, expected %lld", base, (long long)rows,
                                 (long long)expected_rows[k].rows);
                    checked++;
                }
            /* batches of 7 rows give the same total */
            int64_t rows7 = -1;
            assert_int_equal(read_all(r, 7, &rows7), PD_OK);
            assert_int_equal(rows7, rows);
        }
        pd_parquet_close(r);
    }
    assert_int_equal(checked, (int)(sizeof expected_rows / sizeof expected_rows[0]));
    pdi_strv_free(&files);
}

static void t_bad_data(void **state)
{
    (void)state;
    pd_strv files = PD_STRV_INIT;
    list_files(BAD, &files);
    assert_true(files.n >= 6);
    for (size_t i = 0; i < files.n; i++) {
        pd_parquet_reader *r;
        int rc = pd_parquet_open_path(files.items[i], &r);
        if (rc == PD_OK) {
            int64_t rows;
            rc = read_all(r, 0, &rows);
            pd_parquet_close(r);
        }
        if (rc != PD_ERR_CORRUPT)
            fail_msg("%s: expected PD_ERR_CORRUPT, got %d (%s)", files.items[i], rc,
                     pd_last_error());
        assert_true(strlen(pd_last_error()) > 0);
    }
    pdi_strv_free(&files);
}

static void t_error_messages(void **state)
{
    (void)state;
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_path(BAD "ARROW-GH-45185.parquet", &r), PD_OK);
    int64_t rows;
    assert_int_equal(read_all(r, 0, &rows), PD_ERR_CORRUPT);
    const char *m = pd_last_error();
    assert_non_null(strstr(m, "column 'x.list.element'"));
    assert_non_null(strstr(m, "row group 0"));
    assert_non_null(strstr(m, "page"));
    pd_parquet_close(r);
    assert_int_equal(pd_parquet_open_path(BAD "PARQUET-1481.parquet", &r), PD_ERR_CORRUPT);
    assert_int_equal(pd_parquet_open_path(DATA "nonexistent.parquet", &r), PD_ERR_NOT_FOUND);
}

static void t_encrypted(void **state)
{
    (void)state;
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_path(DATA "uniform_encryption.parquet.encrypted", &r),
                     PD_ERR_UNSUPPORTED);
    assert_int_equal(
        pd_parquet_open_path(DATA "encrypt_columns_plaintext_footer.parquet.encrypted", &r), PD_OK);
    struct ArrowArray a;
    assert_int_equal(pd_parquet_read_row_group(r, 0, NULL, NULL, &a), PD_ERR_UNSUPPORTED);
    assert_non_null(strstr(pd_last_error(), "encrypt"));
    pd_parquet_close(r);
}

/* ------------------------------------------------------------------ values */
static void t_alltypes_plain(void **state)
{
    (void)state;
    table t;
    open_rg(&t, DATA "alltypes_plain.parquet", 0);
    assert_int_equal(t.a.length, 8);
    const int ids[] = {4, 5, 6, 7, 2, 3, 0, 1};
    const struct ArrowArray *id = t.a.children[col_index(&t, "id")];
    for (int i = 0; i < 8; i++)
        assert_int_equal(i32_at(id, i), ids[i]);
    int ts = col_index(&t, "timestamp_col");
    assert_string_equal(t.s.children[ts]->format, "tsu:"); /* INT96: microseconds */
    /* 2009-03-01 00:00 and 2009-01-01 00:01 */
    assert_int_equal(i64_at(t.a.children[ts], 0), 1235865600LL * 1000000LL);
    assert_int_equal(i64_at(t.a.children[ts], 7), 1230768060LL * 1000000LL);
    const struct ArrowArray *b = t.a.children[col_index(&t, "bool_col")];
    const uint8_t *bits = b->buffers[1];
    assert_true(bits[0] & 1);
    assert_false(bits[0] & 2);
    assert_string_equal(
        pd_parquet_created_by(t.r),
        "impala version 1.3.0-INTERNAL (build 8a48ddb1eff84592b3fc06bc6f51ec120e1fffc9)");
    close_t(&t);
}

static void check_decimal_file(const char *path, const char *fmt)
{
    table t;
    open_rg(&t, path, 0);
    assert_string_equal(t.s.children[0]->format, fmt);
    assert_int_equal(t.a.length, 24);
    const uint8_t *v = t.a.children[0]->buffers[1];
    for (int i = 0; i < 24; i++) {
        int64_t lo, hi;
        memcpy(&lo, v + 16 * i, 8);
        memcpy(&hi, v + 16 * i + 8, 8);
        assert_int_equal(lo, (i + 1) * 100);
        assert_int_equal(hi, 0);
    }
    close_t(&t);
}

static void t_decimals(void **state)
{
    (void)state;
    check_decimal_file(DATA "int32_decimal.parquet", "d:4,2");
    check_decimal_file(DATA "int64_decimal.parquet", "d:10,2");
    check_decimal_file(DATA "fixed_length_decimal.parquet", "d:25,2");
    check_decimal_file(DATA "byte_array_decimal.parquet", "d:4,2");
}

static void t_lz4_and_codecs(void **state)
{
    (void)state;
    const char *files[] = {DATA "hadoop_lz4_compressed.parquet", DATA "lz4_raw_compressed.parquet"};
    for (int f = 0; f < 2; f++) {
        table t;
        open_rg(&t, files[f], 0);
        assert_int_equal(t.a.length, 4);
        const int64_t c0[] = {1593604800, 1593604800, 1593604801, 1593604801};
        const char *c1[] = {"abc", "def", "abc", "def"};
        const double v11[] = {42.0, 7.7, 42.125, 7.7};
        for (int i = 0; i < 4; i++) {
            assert_int_equal(i64_at(t.a.children[0], i), c0[i]);
            char *s = cell(t.s.children[1], t.a.children[1], i);
            assert_string_equal(s, c1[i]);
            free(s);
            assert_true(((const double *)t.a.children[2]->buffers[1])[i] == v11[i]);
        }
        close_t(&t);
    }
    table t;
    open_rg(&t, DATA "lz4_raw_compressed_larger.parquet", 0);
    assert_int_equal(t.a.length, 10000);
    const char *want[] = {"c7ce6bef-d5b0-4863-b199-8ea8c7fb117b",
                          "e8fb9197-cb9f-4118-b67f-fbfa65f61843"};
    for (int i = 0; i < 2; i++) {
        char *s = cell(t.s.children[0], t.a.children[0], i);
        assert_string_equal(s, want[i]);
        free(s);
    }
    char *s = cell(t.s.children[0], t.a.children[0], 9999);
    assert_string_equal(s, "85440778-460a-41ac-aa2e-ac3ee41696bf");
    free(s);
    close_t(&t);
}

static void t_delta_length(void **state)
{
    (void)state;
    table t;
    open_rg(&t, DATA "delta_length_byte_array.parquet", 0);
    assert_int_equal(t.a.length, 1000);
    for (int i = 0; i < 1000; i++) {
        char want[64];
        snprintf(want, sizeof want, "apple_banana_mango%d", i * i);
        char *s = cell(t.s.children[0], t.a.children[0], i);
        assert_non_null(s);
        assert_string_equal(s, want);
        free(s);
    }
    close_t(&t);
}

/* Parse one CSV line of the *_expect.csv files: quoted or bare fields; an
 * unquoted empty field is NULL. */
static int csv_fields(char *line, char **out, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n >= max)
            return n;
        if (*p == '"') {
            char *w = ++p, *start = p;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                *w++ = *p++;
            }
            if (*p == '"')
                p++;
            *w = 0;
            out[n++] = start;
        } else {
            char *start = p;
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                p++;
            out[n++] = p == start ? NULL : start;
            if (*p == ',') {
                *p++ = 0;
                continue;
            }
            *p = 0;
            return n;
        }
        if (*p == ',') {
            p++;
            continue;
        }
        return n;
    }
}

static void check_expect_csv(const char *parquet, const char *csv)
{
    size_t len;
    char *text = pdi_file_read(csv, &len);
    assert_non_null(text);
    table t;
    open_rg(&t, parquet, 0);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* header */
    char *fields[128];
    int nh = csv_fields(line, fields, 128);
    assert_int_equal(nh, (int)t.s.n_children);
    int64_t row = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        int nf = csv_fields(line, fields, 128);
        assert_int_equal(nf, nh);
        assert_true(row < t.a.length);
        for (int c = 0; c < nf; c++) {
            char *got = cell(t.s.children[c], t.a.children[c], row);
            if (!fields[c]) {
                if (got)
                    fail_msg("%s row %lld col %d: got '%s', expected null", parquet, (long long)row,
                             c, got);
            } else {
                if (!got || strcmp(got, fields[c]) != 0)
                    fail_msg("%s row %lld col %d: got '%s', expected '%s'", parquet, (long long)row,
                             c, got ? got : "(null)", fields[c]);
            }
            free(got);
        }
        row++;
    }
    assert_int_equal(row, t.a.length);
    close_t(&t);
    free(text);
}

static void t_delta_expect_csv(void **state)
{
    (void)state;
    check_expect_csv(DATA "delta_binary_packed.parquet", DATA "delta_binary_packed_expect.csv");
    check_expect_csv(DATA "delta_byte_array.parquet", DATA "delta_byte_array_expect.csv");
    check_expect_csv(DATA "delta_encoding_required_column.parquet",
                     DATA "delta_encoding_required_column_expect.csv");
}

static void t_nulls_and_pages(void **state)
{
    (void)state;
    table t;
    open_rg(&t, DATA "int32_with_null_pages.parquet", 0);
    assert_int_equal(t.a.length, 1000);
    assert_int_equal(t.a.children[0]->null_count, 275);
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (int i = 0; i < 1000; i++)
        if (valid_at(t.a.children[0], i)) {
            int32_t v = i32_at(t.a.children[0], i);
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    assert_int_equal(mn, -2136906554);
    assert_int_equal(mx, 2145722375);
    close_t(&t);

    open_rg(&t, DATA "fixed_length_byte_array.parquet", 0);
    assert_string_equal(t.s.children[0]->format, "w:4");
    assert_int_equal(t.a.children[0]->null_count, 105);
    uint32_t prev = UINT32_MAX;
    const uint8_t *v = t.a.children[0]->buffers[1];
    for (int i = 0; i < 1000; i++)
        if (valid_at(t.a.children[0], i)) {
            uint32_t x = (uint32_t)v[4 * i] << 24 | (uint32_t)v[4 * i + 1] << 16 |
                         (uint32_t)v[4 * i + 2] << 8 | v[4 * i + 3];
            assert_true(x < prev);
            assert_true(x >= 1 && x <= 1000);
            prev = x;
        }
    close_t(&t);

    open_rg(&t, DATA "rle_boolean_encoding.parquet", 0);
    const int want[17] = {1, 0, -1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, -1, 1};
    const struct ArrowArray *b = t.a.children[0];
    assert_int_equal(b->null_count, 6);
    for (int i = 0; i < 17; i++) {
        if (want[i] < 0) {
            assert_false(valid_at(b, i));
        } else {
            assert_true(valid_at(b, i));
            int bit = (((const uint8_t *)b->buffers[1])[i >> 3] >> (i & 7)) & 1;
            assert_int_equal(bit, want[i]);
        }
    }
    close_t(&t);

    open_rg(&t, DATA "page_v2_empty_compressed.parquet", 0);
    assert_int_equal(t.a.children[0]->null_count, 10);
    close_t(&t);

    open_rg(&t, DATA "float16_nonzeros_and_nans.parquet", 0);
    assert_string_equal(t.s.children[0]->format, "e");
    const uint16_t *h = t.a.children[0]->buffers[1];
    assert_false(valid_at(t.a.children[0], 0));
    assert_int_equal(h[1], 0x3c00);                           /* 1.0 */
    assert_int_equal(h[2], 0xc000);                           /* -2.0 */
    assert_true((h[3] & 0x7c00) == 0x7c00 && (h[3] & 0x3ff)); /* NaN */
    close_t(&t);

    open_rg(&t, DATA "single_nan.parquet", 0); /* pandas wrote the NaN as a null */
    assert_int_equal(t.a.length, 1);
    assert_false(valid_at(t.a.children[0], 0));
    close_t(&t);

    open_rg(&t, DATA "nan_in_stats.parquet", 0);
    assert_true(((const double *)t.a.children[0]->buffers[1])[0] == 1.0);
    assert_true(isnan(((const double *)t.a.children[0]->buffers[1])[1]));
    close_t(&t);

    open_rg(&t, DATA "column_chunk_key_value_metadata.parquet", 0);
    assert_int_equal(t.a.length, 0);
    assert_int_equal(t.s.n_children, 2);
    close_t(&t);
}

/* ------------------------------------------------------------------ nested */
static void t_list_columns(void **state)
{
    (void)state;
    table t;
    open_rg(&t, DATA "list_columns.parquet", 0);
    const struct ArrowArray *l = t.a.children[0];
    assert_string_equal(t.s.children[0]->format, "+l");
    assert_string_equal(t.s.children[0]->children[0]->format, "l");
    const int32_t *off = l->buffers[1];
    assert_int_equal(off[0], 0);
    assert_int_equal(off[1], 3);
    assert_int_equal(off[2], 5);
    assert_int_equal(off[3], 6);
    const struct ArrowArray *e = l->children[0];
    assert_int_equal(i64_at(e, 0), 1);
    assert_int_equal(i64_at(e, 2), 3);
    assert_false(valid_at(e, 3));
    assert_int_equal(i64_at(e, 4), 1);
    assert_int_equal(i64_at(e, 5), 4);
    const struct ArrowArray *u = t.a.children[1];
    assert_true(valid_at(u, 0));
    assert_false(valid_at(u, 1));
    const int32_t *uo = u->buffers[1];
    assert_int_equal(uo[3] - uo[2], 4);
    char *s = cell(t.s.children[1]->children[0], u->children[0], uo[2] + 3);
    assert_string_equal(s, "xyz");
    free(s);
    assert_false(valid_at(u->children[0], uo[2] + 1));
    close_t(&t);
}

static void t_nested_lists(void **state)
{
    (void)state;
    table t;
    open_rg(&t, DATA "nested_lists.snappy.parquet", 0);
    /* a: list<list<list<string>>>, 3 rows; leaf holds "a".."f" values */
    const struct ArrowArray *a = t.a.children[0];
    const int32_t *o1 = a->buffers[1];
    assert_int_equal(o1[1] - o1[0], 2);
    const struct ArrowArray *l2 = a->children[0];
    const int32_t *o2 = l2->buffers[1];
    assert_int_equal(o2[1] - o2[0], 2); /* [["a","b"],["c"]] */
    assert_int_equal(o2[2] - o2[1], 2); /* [null,["d"]] */
    const struct ArrowArray *l3 = l2->children[0];
    assert_false(valid_at(l3, o2[1])); /* the null inner list */
    for (int i = 0; i < 3; i++)
        assert_int_equal(i32_at(t.a.children[1], i), 1);
    close_t(&t);
}

static void t_maps_and_structs(void **state)
{
    (void)state;
    table t;
    open_rg(&t, DATA "nested_maps.snappy.parquet", 0);
    assert_string_equal(t.s.children[0]->format, "+m");
    assert_string_equal(t.s.children[0]->children[0]->children[1]->format, "+m");
    assert_int_equal(t.a.length, 6);
    close_t(&t);

    open_rg(&t, DATA "nulls.snappy.parquet", 0);
    const struct ArrowArray *st = t.a.children[0];
    assert_int_equal(st->null_count, 0);
    assert_int_equal(st->children[0]->null_count, 8);
    close_t(&t);

    open_rg(&t, DATA "old_list_structure.parquet", 0);
    const struct ArrowArray *l = t.a.children[0];
    assert_string_equal(t.s.children[0]->children[0]->format, "+l");
    const int32_t *o = l->buffers[1];
    assert_int_equal(o[1], 2);
    const struct ArrowArray *in = l->children[0];
    const int32_t *io = in->buffers[1];
    assert_int_equal(io[2], 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(i32_at(in->children[0], i), i + 1);
    close_t(&t);

    open_rg(&t, DATA "repeated_no_annotation.parquet", 0);
    assert_int_equal(t.a.length, 6);
    assert_int_equal(pd_parquet_num_rows(t.r), 6);
    close_t(&t);

    open_rg(&t, DATA "null_list.parquet", 0);
    const int32_t *no = t.a.children[0]->buffers[1];
    assert_int_equal(no[1] - no[0], 0);
    assert_true(valid_at(t.a.children[0], 0));
    close_t(&t);

    open_rg(&t, DATA "nested_structs.rust.parquet", 0);
    assert_int_equal(t.s.n_children, 36);
    close_t(&t);
}

/* ------------------------------------------------------------------ API */
static int64_t mem_read_at(void *user, uint64_t off, void *buf, size_t len)
{
    const pd_buf *b = user;
    if (off >= b->len)
        return 0;
    size_t n = b->len - off < len ? b->len - off : len;
    memcpy(buf, b->data + off, n);
    return (int64_t)n;
}

static void t_open_modes_and_options(void **state)
{
    (void)state;
    size_t len;
    char *data = pdi_file_read(DATA "alltypes_tiny_pages.parquet", &len);
    assert_non_null(data);
    pd_buf b = {data, len, len, false};
    pd_parquet_reader *rm, *rc;
    assert_int_equal(pd_parquet_open_memory(data, len, &rm), PD_OK);
    assert_int_equal(pd_parquet_open_callback(mem_read_at, &b, len, &rc), PD_OK);
    assert_int_equal(pd_parquet_num_columns(rm), 13);
    int cols[] = {12, 0};
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 2;
    struct ArrowSchema s1, s2;
    struct ArrowArray a1, a2;
    assert_int_equal(pd_parquet_read_row_group(rm, 0, &o, &s1, &a1), PD_OK);
    assert_int_equal(pd_parquet_read_row_group(rc, 0, &o, &s2, &a2), PD_OK);
    assert_int_equal(a1.n_children, 2);
    assert_string_equal(s1.children[0]->name, "month");
    assert_string_equal(s1.children[1]->name, "id");
    assert_int_equal(a1.length, a2.length);
    for (int c = 0; c < 2; c++)
        assert_memory_equal(a1.children[c]->buffers[1], a2.children[c]->buffers[1],
                            (size_t)a1.length * 4);
    /* batches: stream over row group 0 in batches of 1000 rows */
    int rgs[] = {0};
    o.row_groups = rgs;
    o.n_row_groups = 1;
    o.max_batch_rows = 1000;
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_stream(rm, &o, &st), PD_OK);
    int64_t pos = 0;
    for (;;) {
        struct ArrowArray a;
        assert_int_equal(st.get_next(&st, &a), 0);
        if (!a.release)
            break;
        assert_true(a.length <= 1000);
        for (int64_t i = 0; i < a.length; i++)
            assert_int_equal(i32_at(a.children[1], i), i32_at(a1.children[1], pos + i));
        pos += a.length;
        a.release(&a);
    }
    assert_int_equal(pos, a1.length);
    st.release(&st);
    /* bad options */
    int badcol[] = {13};
    o.columns = badcol;
    o.n_columns = 1;
    a1.release(&a1);
    s1.release(&s1);
    a2.release(&a2);
    s2.release(&s2);
    struct ArrowArray a3;
    assert_int_equal(pd_parquet_read_row_group(rm, 0, &o, NULL, &a3), PD_ERR_INVALID);
    assert_int_equal(pd_parquet_read_row_group(rm, 99, NULL, NULL, &a3), PD_ERR_INVALID);
    pd_parquet_close(rm);
    pd_parquet_close(rc);
    free(data);
}

/* Truncations and byte flips of real files: errors, never crashes. */
static void t_mutations(void **state)
{
    (void)state;
    const char *files[] = {DATA "alltypes_plain.parquet", DATA "datapage_v2.snappy.parquet",
                           DATA "nested_maps.snappy.parquet", DATA "delta_byte_array.parquet"};
    uint64_t seed = 12345;
    for (size_t f = 0; f < 4; f++) {
        size_t len;
        uint8_t *orig = (uint8_t *)pdi_file_read(files[f], &len);
        assert_non_null(orig);
        uint8_t *m = malloc(len);
        for (int iter = 0; iter < 300; iter++) {
            memcpy(m, orig, len);
            size_t mlen = len;
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            if (iter % 3 == 0) {
                mlen = (size_t)(seed >> 33) % len;
            } else {
                for (int k = 0; k < 1 + iter % 4; k++) {
                    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                    m[(seed >> 33) % len] ^= (uint8_t)(1u << ((seed >> 20) & 7));
                }
            }
            pd_parquet_reader *r;
            if (pd_parquet_open_memory(m, mlen, &r) == PD_OK) {
                int64_t rows;
                (void)read_all(r, 3, &rows);
                char *d = pd_parquet_describe(r);
                free(d);
                pd_parquet_close(r);
            }
        }
        free(m);
        free(orig);
    }
}

/* ------------------------------------------------------------------ CLI */
static void t_cli(void **state)
{
    (void)state;
    char *o = pq_run_cli("cat " DATA "list_columns.parquet", false);
    assert_string_equal(o, "{\"int64_list\":[1,2,3],\"utf8_list\":[\"abc\",\"efg\",\"hij\"]}\n"
                           "{\"int64_list\":[null,1],\"utf8_list\":null}\n"
                           "{\"int64_list\":[4],\"utf8_list\":[\"efg\",null,\"hij\",\"xyz\"]}\n");
    free(o);
    o = pq_run_cli("head -n 1 " DATA "alltypes_plain.parquet", false);
    assert_non_null(strstr(o, "\"timestamp_col\":\"2009-03-01T00:00:00.000000\""));
    assert_non_null(strstr(o, "\"float_col\":0.0"));
    free(o);
    o = pq_run_cli("cat --format csv " DATA "int32_decimal.parquet", false);
    assert_true(pdi_str_starts(o, "value\n1.00\n2.00\n"));
    free(o);
    o = pq_run_cli("cat " DATA "nested_lists.snappy.parquet", false);
    assert_true(pdi_str_starts(o, "{\"a\":[[[\"a\",\"b\"],[\"c\"]],[null,[\"d\"]]],\"b\":1}\n"));
    free(o);
    o = pq_run_cli("cat " DATA "float16_zeros_and_nans.parquet", false);
    assert_string_equal(o, "{\"x\":null}\n{\"x\":0.0}\n{\"x\":\"NaN\"}\n");
    free(o);
    o = pq_run_cli("schema " DATA "nested_maps.snappy.parquet", false);
    assert_non_null(strstr(o, "a: map<string, map<int32, bool"));
    free(o);
    o = pq_run_cli("meta " DATA "sort_columns.parquet", false);
    assert_non_null(strstr(o, "row groups: 2"));
    assert_non_null(strstr(o, "sorting columns"));
    free(o);
    o = pq_run_cli("cat " BAD "PARQUET-1481.parquet", false);
    assert_non_null(strstr(o, "invalid physical type"));
    free(o);
}

/* Low-level decoders against the byte examples of the spec. */
static void t_decoders(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t used;
    const uint8_t msb[] = {0x05, 0x39, 0x77}; /* BIT_PACKED 0..7, width 3 */
    assert_int_equal(pdi_bitpacked_msb_u8(msb, 3, 3, out, 8, 7, &used), PD_OK);
    assert_int_equal(used, 3);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(pdi_bitpacked_msb_u8(msb, 2, 3, out, 8, 7, &used), PD_ERR_CORRUPT);
    const uint8_t hyb[] = {0x03, 0x88, 0xC6, 0xFA}; /* one bit-packed group, 0..7 */
    assert_int_equal(pdi_rle_u8(hyb, 4, 3, out, 8, 7), PD_OK);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(pdi_rle_u8(hyb, 4, 3, out, 8, 6), PD_ERR_CORRUPT); /* 7 > max */
    assert_int_equal(pdi_rle_u8(hyb, 3, 3, out, 8, 7), PD_ERR_CORRUPT); /* truncated */
    const uint8_t run[] = {0x32, 0x01};                                 /* RLE run 25 x 1 */
    uint8_t lv[25];
    assert_int_equal(pdi_rle_u8(run, 2, 1, lv, 25, 1), PD_OK);
    for (int i = 0; i < 25; i++)
        assert_int_equal(lv[i], 1);
    uint32_t idx[4];
    const uint8_t zero_width[] = {0x08}; /* RLE run of 4, bit width 0 */
    assert_int_equal(pdi_rle_u32(zero_width, 1, 0, idx, 4), PD_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(idx[i], 0);
    /* DELTA_BINARY_PACKED: one value only (header, no blocks) */
    const uint8_t one[] = {0x80, 0x01, 0x04, 0x01, 0x0e};
    int64_t v64[1];
    assert_int_equal(pdi_delta_decode(one, sizeof one, 1, 8, v64, &used), PD_OK);
    assert_int_equal(v64[0], 7);
    assert_int_equal(used, 5);
    assert_int_equal(pdi_delta_decode(one, sizeof one, 2, 8, v64, &used), PD_ERR_CORRUPT);
}

/* Files written by DuckDB 1.5.6 (tests/parquet_read/data); the expected
 * lines were checked against DuckDB's own JSON export of the same table. */
static void t_duckdb_files(void **state)
{
    (void)state;
    char *o = pq_run_cli("cat " LOCAL_DATA "types.parquet", false);
    assert_string_equal(
        o, "{\"i8\":-5,\"u8\":200,\"i16\":-300,\"u16\":60000,\"u32\":4000000000,"
           "\"u64\":18446744073709551615,\"dt\":\"1969-12-31\",\"tm\":\"12:34:56.789012\","
           "\"ts\":\"2024-01-01T00:00:00.123456\",\"tstz\":\"2024-01-01T00:00:00.500000Z\","
           "\"tsms\":\"2024-01-01T01:02:03.456\",\"tsns\":\"2024-01-01T01:02:03.123456789\","
           "\"d5\":\"-123.45\",\"d18\":\"12345678901234.5678\","
           "\"d38\":\"-1234567890123456789012345.678\","
           "\"uid\":\"f47ac10b-58cc-4372-a567-0e02b2c3d479\",\"bl\":\"aGk=\",\"f\":1.5,"
           "\"nan\":\"NaN\",\"ninf\":\"-Infinity\",\"b\":true,\"s\":\"a\\\"b,c\"}\n");
    free(o);
    o = pq_run_cli("schema " LOCAL_DATA "types.parquet", false);
    assert_non_null(strstr(o, "tstz: timestamp[us, tz=UTC]"));
    assert_non_null(strstr(o, "tsns: timestamp[ns]"));
    assert_non_null(strstr(o, "uid: fixed_size_binary[16]"));
    free(o);
    const char *want =
        "{\"id\":1,\"l\":[1,2,null],\"s\":{\"a\":1,\"b\":[{\"x\":\"p\"},null,{\"x\":null}]},"
        "\"m\":{\"k1\":[1],\"k2\":null},\"ll\":[[1,2],[],null,[null]]}\n"
        "{\"id\":2,\"l\":null,\"s\":null,\"m\":null,\"ll\":null}\n"
        "{\"id\":3,\"l\":[],\"s\":{\"a\":null,\"b\":[]},\"m\":{},\"ll\":[]}\n"
        "{\"id\":4,\"l\":[null],\"s\":{\"a\":4,\"b\":null},\"m\":{\"z\":[]},"
        "\"ll\":[[null,5]]}\n";
    o = pq_run_cli("cat " LOCAL_DATA "nested.parquet", false);
    assert_string_equal(o, want);
    free(o);
    o = pq_run_cli("cat " LOCAL_DATA "nested_v2.parquet", false); /* v2 pages, 2 row groups */
    assert_string_equal(o, want);
    free(o);
    /* convert (needs the writer) and read back */
    char out[256], args[768];
    snprintf(out, sizeof out, "/tmp/pq_read_test_%d.parquet", (int)getpid());
    snprintf(args, sizeof args, "convert %s %s --codec zstd --page-version 2",
             LOCAL_DATA "nested.parquet", out);
    o = pq_run_cli(args, false);
    if (strstr(o, "writer is not available") == NULL) {
        assert_string_equal(o, "");
        free(o);
        snprintf(args, sizeof args, "cat %s", out);
        o = pq_run_cli(args, false);
        assert_string_equal(o, want);
    }
    free(o);
    remove(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_every_data_file),  cmocka_unit_test(t_bad_data),
        cmocka_unit_test(t_error_messages),   cmocka_unit_test(t_encrypted),
        cmocka_unit_test(t_alltypes_plain),   cmocka_unit_test(t_decimals),
        cmocka_unit_test(t_lz4_and_codecs),   cmocka_unit_test(t_delta_length),
        cmocka_unit_test(t_delta_expect_csv), cmocka_unit_test(t_nulls_and_pages),
        cmocka_unit_test(t_list_columns),     cmocka_unit_test(t_nested_lists),
        cmocka_unit_test(t_maps_and_structs), cmocka_unit_test(t_open_modes_and_options),
        cmocka_unit_test(t_mutations),        cmocka_unit_test(t_cli),
        cmocka_unit_test(t_duckdb_files),     cmocka_unit_test(t_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
