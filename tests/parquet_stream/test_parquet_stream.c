/*
 * tests/parquet_stream/test_parquet_stream.c - the reader's ArrowArrayStream
 * with decoding threads: every thread count gives the same batches in the
 * same order as one thread (nested columns, column and row-group selection,
 * batch slicing, memory / path / read_at sources), an error in a middle row
 * group arrives in order with its message, early release joins the workers,
 * and arrays outlive their reader (buffers return to a freed pool). Also the
 * reader's other options and extras: page checksums and Bloom filter checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "parquet/reader_int.h"
#include "pipedag/arrow.h"
#include "pipedag/parquet.h"
#include "pqw_table.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROWS    12000
#define RG_ROWS 900 /* 14 row groups */

static pd_buf g_file; /* the test file, written once */
static char g_path[64];

static int buf_write(void *user, const void *data, size_t len)
{
    return pdi_buf_append(user, data, len);
}

static int setup(void **state)
{
    (void)state;
    struct ArrowSchema s;
    struct ArrowArray a;
    if (pqw_make_table(ROWS, 0, &s, &a) != PD_OK)
        return -1;
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.row_group_rows = RG_ROWS;
    o.page_size = 4096; /* several pages per chunk */
    pd_parquet_writer *w;
    int rc = pd_parquet_writer_open_callback(buf_write, &g_file, &s, &o, &w);
    if (!rc)
        rc = pd_parquet_writer_write(w, &a);
    if (!rc)
        rc = pd_parquet_writer_close(w);
    pqw_release_table(&s, &a);
    if (rc)
        return -1;
    snprintf(g_path, sizeof g_path, "/tmp/pd-stream-%ld.parquet", (long)getpid());
    return pdi_file_write_atomic(g_path, g_file.data, g_file.len) == PD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_path);
    pdi_buf_free(&g_file);
    return 0;
}

/* Every row of every batch as JSON, with batch boundaries marked. */
static char *dump(struct ArrowArrayStream *st)
{
    pd_buf out = PD_BUF_INIT;
    struct ArrowSchema s;
    assert_int_equal(st->get_schema(st, &s), 0);
    for (;;) {
        struct ArrowArray a;
        int e = st->get_next(st, &a);
        if (e) {
            fprintf(stderr, "stream error: %s\n", st->get_last_error(st));
            fail();
        }
        if (!a.release)
            break;
        pdi_buf_printf(&out, "batch %lld\n", (long long)a.length);
        for (int64_t i = 0; i < a.length; i++) {
            char *j = pd_arrow_value_to_json(&s, &a, i, NULL);
            assert_non_null(j);
            pdi_buf_puts(&out, j);
            pdi_buf_putc(&out, '\n');
            free(j);
        }
        a.release(&a);
    }
    s.release(&s);
    st->release(st);
    assert_false(out.oom);
    return pdi_buf_detach(&out);
}

static char *dump_memory(const pd_parquet_read_options *o)
{
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_memory(g_file.data, g_file.len, &r), PD_OK);
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_stream(r, o, &st), PD_OK);
    char *d = dump(&st);
    pd_parquet_close(r);
    return d;
}

static void t_threads_same_result(void **state)
{
    (void)state;
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    char *ref = dump_memory(&o);
    assert_true(strlen(ref) > 1000);
    static const int counts[] = {2, 3, 4, 8, 64};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        o.threads = counts[k];
        char *d = dump_memory(&o);
        assert_string_equal(d, ref);
        free(d);
    }
    free(ref);
}

static void t_threads_selection_and_slices(void **state)
{
    (void)state;
    static const int cols[] = {29, 33, 4, 12}; /* struct, nested list, int64, string */
    static const int rgs[] = {9, 2, 13, 0, 5};
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.columns = cols;
    o.n_columns = 4;
    o.row_groups = rgs;
    o.n_row_groups = 5;
    o.max_batch_rows = 400;
    char *ref = dump_memory(&o);
    assert_non_null(strstr(ref, "batch 400\n"));
    o.threads = 3;
    char *d = dump_memory(&o);
    assert_string_equal(d, ref);
    free(d);
    free(ref);
}

static int64_t pread_at(void *user, uint64_t off, void *buf, size_t len)
{
    ssize_t n = pread(*(int *)user, buf, len, (off_t)off);
    return n < 0 ? pd_set_error(PD_ERR_IO, "pread: %s", strerror(errno)) : (int64_t)n;
}

typedef struct spy {
    int fd;
    pthread_t caller;
    atomic_int calls, foreign; /* read_at calls, made off the calling thread */
} spy;

static int64_t spy_read_at(void *user, uint64_t off, void *buf, size_t len)
{
    spy *s = user;
    atomic_fetch_add(&s->calls, 1);
    if (!pthread_equal(pthread_self(), s->caller))
        atomic_fetch_add(&s->foreign, 1);
    ssize_t n = pread(s->fd, buf, len, (off_t)off);
    return n < 0 ? pd_set_error(PD_ERR_IO, "pread: %s", strerror(errno)) : (int64_t)n;
}

/* With threads the decoding (and so the chunk reads) happens on workers;
 * without, on the caller. */
static void t_threads_really_used(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads += 2) {
        spy sp = {.fd = open(g_path, O_RDONLY), .caller = pthread_self()};
        assert_true(sp.fd >= 0);
        atomic_init(&sp.calls, 0);
        atomic_init(&sp.foreign, 0);
        pd_parquet_reader *r;
        assert_int_equal(pd_parquet_open_callback(spy_read_at, &sp, (uint64_t)g_file.len, &r),
                         PD_OK);
        int footer_calls = atomic_load(&sp.calls);
        pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
        o.threads = threads;
        struct ArrowArrayStream st;
        assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_OK);
        free(dump(&st));
        int chunk_calls = atomic_load(&sp.calls) - footer_calls;
        assert_true(chunk_calls >= 14); /* at least one per row group */
        if (threads == 1)
            assert_int_equal(atomic_load(&sp.foreign), 0);
        else
            assert_int_equal(atomic_load(&sp.foreign), chunk_calls);
        pd_parquet_close(r);
        close(sp.fd);
    }
}

static void t_threads_path_and_callback(void **state)
{
    (void)state;
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    char *ref = dump_memory(&o);
    o.threads = 4;
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_file_stream(g_path, &o, &st), PD_OK);
    char *d = dump(&st);
    assert_string_equal(d, ref);
    free(d);

    int fd = open(g_path, O_RDONLY);
    assert_true(fd >= 0);
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_callback(pread_at, &fd, (uint64_t)g_file.len, &r), PD_OK);
    assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_OK);
    d = dump(&st);
    assert_string_equal(d, ref);
    free(d);
    pd_parquet_close(r);
    close(fd);
    free(ref);
}

/* Row group `bad` has its first page header overwritten. */
static uint8_t *corrupt_copy(int bad)
{
    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_memory(g_file.data, g_file.len, &r), PD_OK);
    const pdi_chunk *ch = &r->f.rowgroups[bad].columns[0];
    int64_t off = ch->dict_page_offset > 0 && ch->dict_page_offset < ch->data_page_offset
                      ? ch->dict_page_offset
                      : ch->data_page_offset;
    pd_parquet_close(r);
    uint8_t *copy = malloc(g_file.len);
    assert_non_null(copy);
    memcpy(copy, g_file.data, g_file.len);
    memset(copy + off, 0xff, 6);
    return copy;
}

static void t_error_in_order(void **state)
{
    (void)state;
    const int bad = 6;
    uint8_t *copy = corrupt_copy(bad);
    static const int counts[] = {1, 2, 4};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        pd_parquet_reader *r;
        assert_int_equal(pd_parquet_open_memory(copy, g_file.len, &r), PD_OK);
        pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
        o.threads = counts[k];
        struct ArrowArrayStream st;
        assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_OK);
        int good = 0, e;
        for (;;) {
            struct ArrowArray a;
            e = st.get_next(&st, &a);
            if (e || !a.release)
                break;
            assert_int_equal(a.length, RG_ROWS);
            a.release(&a);
            good++;
        }
        assert_int_equal(e, EIO);
        assert_int_equal(good, bad);
        const char *msg = st.get_last_error(&st);
        assert_non_null(msg);
        assert_non_null(strstr(msg, "row group 6,"));
        /* the stream stays failed: carrying on cannot skip row group 6 */
        for (int again = 0; again < 3; again++) {
            struct ArrowArray a;
            assert_int_equal(st.get_next(&st, &a), EIO);
            assert_null(a.release);
            assert_non_null(strstr(st.get_last_error(&st), "row group 6,"));
        }
        st.release(&st);
        pd_parquet_close(r);
    }
    free(copy);
}

static void t_early_release_and_outliving_arrays(void **state)
{
    (void)state;
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.threads = 4;
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_file_stream(g_path, &o, &st), PD_OK);
    struct ArrowSchema s;
    assert_int_equal(st.get_schema(&st, &s), 0);
    struct ArrowArray first, second;
    assert_int_equal(st.get_next(&st, &first), 0);
    assert_int_equal(st.get_next(&st, &second), 0);
    st.release(&st); /* workers still busy; the reader is closed */
    /* the batches stay valid after the reader is gone */
    char *j = pd_arrow_value_to_json(&s, &second, 0, NULL);
    assert_non_null(j);
    char *k = pd_arrow_value_to_json(&s, &first, RG_ROWS - 1, NULL);
    assert_non_null(k);
    first.release(&first);
    second.release(&second);

    char *ref = dump_memory(NULL);
    char line[64];
    snprintf(line, sizeof line, "batch %d\n", RG_ROWS);
    const char *row = strstr(ref, line); /* first batch's rows */
    assert_non_null(row);
    assert_non_null(strstr(ref, j));
    assert_non_null(strstr(ref, k));
    free(j);
    free(k);
    free(ref);
    s.release(&s);
}

/* A copy of the first `size` bytes of *full in a malloc'd block of exactly
 * that size: the options of a caller compiled against an older header. The
 * block is only ever read by the library (through the prefix its version
 * declares), never through a member access here. */
static const pd_parquet_read_options *short_options(const pd_parquet_read_options *full,
                                                    size_t size)
{
    unsigned char *b = malloc(size);
    assert_non_null(b);
    memcpy(b, full, size);
    return (const pd_parquet_read_options *)(const void *)b;
}

static void t_options_versions(void **state)
{
    (void)state;
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    char *ref = dump_memory(&o);
    /* the older, shorter struct, in a block of exactly its size (ASan
     * catches any read beyond it); filled from a full-size struct, as a
     * caller built against the old header would see it */
    pd_parquet_read_options old = o;
    old.version = 1;
    old.max_batch_rows = 500;
    const pd_parquet_read_options *v1 =
        short_options(&old, offsetof(pd_parquet_read_options, threads));
    char *d = dump_memory(v1);
    assert_non_null(strstr(d, "batch 500\n"));
    free(d);
    pd_parquet_reader *r1;
    assert_int_equal(pd_parquet_open_memory(g_file.data, g_file.len, &r1), PD_OK);
    struct ArrowArray a1;
    assert_int_equal(pd_parquet_read_row_group(r1, 1, v1, NULL, &a1), PD_OK);
    assert_int_equal(a1.length, RG_ROWS);
    a1.release(&a1);
    pd_parquet_close(r1);
    free((void *)v1);
    /* version 2 ends before int96_unit; its threads are honoured */
    old.version = 2;
    old.threads = 3;
    const pd_parquet_read_options *v2 =
        short_options(&old, offsetof(pd_parquet_read_options, int96_unit));
    d = dump_memory(v2);
    assert_non_null(strstr(d, "batch 500\n"));
    free(d);
    free((void *)v2);
    free(ref);

    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_memory(g_file.data, g_file.len, &r), PD_OK);
    o.version = PD_PARQUET_READ_OPTIONS_VERSION;
    o.threads = -1;
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_ERR_INVALID);
    assert_non_null(strstr(pd_last_error(), "thread"));
    o.threads = 0;
    o.int96_unit = 2;
    assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_ERR_INVALID);
    assert_non_null(strstr(pd_last_error(), "INT96 unit 2"));
    o.int96_unit = PD_PARQUET_INT96_NS;
    o.version = PD_PARQUET_READ_OPTIONS_VERSION + 1;
    assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_ERR_INVALID);
    o.version = 0;
    assert_int_equal(pd_parquet_read_stream(r, &o, &st), PD_ERR_INVALID);
    pd_parquet_close(r);
}

/* Rows read from a parquet-testing file, or -1 with the error in *msg. */
static int64_t read_testing_file(const char *name, int verify, char *msg, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data/%s", PQ_TESTING, name);
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    o.verify_checksums = verify;
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_file_stream(path, &o, &st), PD_OK);
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a) != 0) {
            snprintf(msg, cap, "%s", st.get_last_error(&st));
            rows = -1;
            break;
        }
        if (!a.release)
            break;
        rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    return rows;
}

static void t_page_checksums(void **state)
{
    (void)state;
    char msg[1024];
    static const struct {
        const char *name;
        int64_t rows;
    } good[] = {{"datapage_v1-snappy-compressed-checksum.parquet", 5120},
                {"datapage_v1-uncompressed-checksum.parquet", 5120},
                {"plain-dict-uncompressed-checksum.parquet", 1000},
                {"rle-dict-snappy-checksum.parquet", 1000}},
      bad[] = {{"datapage_v1-corrupt-checksum.parquet", 5120},
               {"rle-dict-uncompressed-corrupt-checksum.parquet", 1000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(read_testing_file(good[i].name, 1, msg, sizeof msg), good[i].rows);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* unchecked, the corrupt page still decodes; checked, it is refused */
        assert_int_equal(read_testing_file(bad[i].name, 0, msg, sizeof msg), bad[i].rows);
        assert_int_equal(read_testing_file(bad[i].name, 1, msg, sizeof msg), -1);
        assert_non_null(strstr(msg, "page checksum mismatch"));
        assert_non_null(strstr(msg, "row group 0"));
        assert_non_null(strstr(msg, "column '"));
    }
}

static void t_bloom_parquet_mr_files(void **state)
{
    (void)state;
    static const char *const files[] = {"data_index_bloom_encoding_stats.parquet",
                                        "data_index_bloom_encoding_with_length.parquet"};
    static const char *const present[] = {
        "Hello", "This is",   "a",         "test",  "How",  "are you",  "doing ",
        "today", "the quick", "brown fox", "jumps", "over", "the lazy", "dog"};
    static const char *const absent[] = {"hello", "parquet", "doing", "cat", "Bloom", ""};
    for (size_t f = 0; f < 2; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/data/%s", PQ_TESTING, files[f]);
        pd_parquet_reader *r;
        assert_int_equal(pd_parquet_open_path(path, &r), PD_OK);
        for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
            assert_int_equal(pd_parquet_bloom_check_text(r, 0, "String", present[i]), 1);
        for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
            assert_int_equal(pd_parquet_bloom_check_text(r, 0, "String", absent[i]), 0);
        assert_int_equal(pd_parquet_bloom_check_text(r, 0, "Strin", "x"), PD_ERR_INVALID);
        assert_non_null(strstr(pd_last_error(), "no leaf column 'Strin'"));
        assert_int_equal(pd_parquet_bloom_check_text(r, 1, "String", "x"), PD_ERR_INVALID);
        pd_parquet_close(r);
    }
}

/* Our writer's Bloom filters, read back: no false negatives, few false
 * positives; typed values; columns without a filter; wrong sizes. */
static void t_bloom_roundtrip(void **state)
{
    (void)state;
    pd_arrow_builder *b;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "s", "u", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "k", "l", 0), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "x", "g", 0), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "u", "I", 0), PD_OK); /* uint32 */
    char v[32];
    for (int i = 0; i < 6000; i++) {
        int n = snprintf(v, sizeof v, "v%03d", i % 300);
        assert_int_equal(pd_arrow_builder_append_bytes(b, 0, v, (size_t)n), PD_OK);
        assert_int_equal(pd_arrow_builder_append_int(b, 1, (i * 7) % 500), PD_OK);
        assert_int_equal(pd_arrow_builder_append_double(b, 2, i * 0.37), PD_OK);
        assert_int_equal(pd_arrow_builder_append_uint(b, 3, 4000000000u + (uint64_t)(i % 100)),
                         PD_OK);
    }
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pd_arrow_builder_finish(b, &s, &a), PD_OK);
    pd_arrow_builder_free(b);
    pd_buf file = PD_BUF_INIT;
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.bloom_filters = 1;
    o.row_group_rows = 3000;
    pd_parquet_writer *w;
    assert_int_equal(pd_parquet_writer_open_callback(buf_write, &file, &s, &o, &w), PD_OK);
    assert_int_equal(pd_parquet_writer_write(w, &a), PD_OK);
    assert_int_equal(pd_parquet_writer_close(w), PD_OK);
    a.release(&a);
    s.release(&s);

    pd_parquet_reader *r;
    assert_int_equal(pd_parquet_open_memory(file.data, file.len, &r), PD_OK);
    assert_int_equal(pd_parquet_num_row_groups(r), 2);
    int false_pos = 0;
    for (int g = 0; g < 2; g++) {
        for (int i = 0; i < 300; i++) {
            snprintf(v, sizeof v, "v%03d", i);
            assert_int_equal(pd_parquet_bloom_check_text(r, g, "s", v), 1);
            snprintf(v, sizeof v, "w%03d", i);
            int rc = pd_parquet_bloom_check_text(r, g, "s", v);
            assert_true(rc == 0 || rc == 1);
            false_pos += rc;
        }
        for (int64_t k = 0; k < 500; k++)
            assert_int_equal(pd_parquet_bloom_check(r, g, "k", &k, sizeof k), 1);
        int64_t k = 123456;
        false_pos += pd_parquet_bloom_check(r, g, "k", &k, sizeof k);
        assert_int_equal(pd_parquet_bloom_check_text(r, g, "k", "-77777"), 0);
        assert_int_equal(pd_parquet_bloom_check(r, g, "k", &k, 4), PD_ERR_INVALID);
        assert_int_equal(pd_parquet_bloom_check_text(r, g, "k", "12x"), PD_ERR_INVALID);
        /* uint32 values above INT32_MAX, given as text */
        assert_int_equal(pd_parquet_bloom_check_text(r, g, "u", "4000000042"), 1);
        assert_int_equal(pd_parquet_bloom_check_text(r, g, "u", "4294967296"), PD_ERR_INVALID);
        /* 6000 distinct doubles are not dictionary-encoded: no filter */
        assert_int_equal(pd_parquet_bloom_check_text(r, g, "x", "0.37"), PD_ERR_NOT_FOUND);
        assert_non_null(strstr(pd_last_error(), "no Bloom filter"));
        assert_non_null(strstr(pd_last_error(), "column 'x'"));
    }
    assert_true(false_pos < 30); /* ~1 % of 602 checks expected */
    pd_parquet_close(r);
    pdi_buf_free(&file);
}

/* Released buffers are reused by later row groups (no fresh memory). */
static void t_pool_reuses_buffers(void **state)
{
    (void)state;
    pdi_pool *p = pdi_pool_new((size_t)64 << 20);
    assert_non_null(p);
    uint8_t *a = pdi_balloc(p, 1 << 20);
    assert_non_null(a);
    memset(a, 7, 1 << 20);
    pdi_bfree(a);
    uint8_t *b = pdi_balloc(p, (1 << 20) - 100); /* fits the cached block */
    assert_ptr_equal(a, b);
    assert_int_equal(pdi_bcap(b), 1 << 20);
    uint8_t *c = pdi_balloc(p, 4 << 20); /* nothing cached that large */
    assert_ptr_not_equal(c, b);
    assert_int_equal((uintptr_t)c % 64, 0);
    uint8_t *g = pdi_bgrow(p, b, 10, 3 << 20);
    assert_int_equal(g[9], 7);
    pdi_bfree(c);
    assert_true(pdi_pool_cached(p) >= (size_t)4 << 20); /* c is cached */
    pdi_pool_close(p); /* the owner is done: cache dropped; g keeps the pool alive */
    assert_int_equal(pdi_pool_cached(p), 0);
    uint8_t *h = pdi_balloc(p, 1 << 20);
    assert_non_null(h);
    pdi_bfree(h); /* freed, not cached, after close */
    assert_int_equal(pdi_pool_cached(p), 0);
    pdi_bfree(g);
    uint8_t *s = pdi_balloc(NULL, 100);
    assert_non_null(s);
    pdi_bfree(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_threads_same_result),
        cmocka_unit_test(t_threads_selection_and_slices),
        cmocka_unit_test(t_threads_path_and_callback),
        cmocka_unit_test(t_threads_really_used),
        cmocka_unit_test(t_error_in_order),
        cmocka_unit_test(t_early_release_and_outliving_arrays),
        cmocka_unit_test(t_options_versions),
        cmocka_unit_test(t_pool_reuses_buffers),
        cmocka_unit_test(t_page_checksums),
        cmocka_unit_test(t_bloom_parquet_mr_files),
        cmocka_unit_test(t_bloom_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
