/*
 * tests/parquet_write/test_writer_threads.c - the Parquet writer's worker
 * pool and row group pipelining.
 *
 * Writes the generated table of pqw_table.c (every Arrow type, nesting,
 * offsets) in many row groups with threads = 1, 2 and 4 and checks that the
 * files are byte-identical and read back (our reader) to the source values;
 * then failures while row groups are in flight: a failing write callback in
 * a middle row group, a malformed batch, and abort with pending row groups.
 * Leaks and races show under the sanitizer builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/parquet.h"
#include "pqw_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
    int calls;
    int fail_at; /* fail the fail_at-th write call (1-based), 0 never */
} membuf;

static int mem_write(void *user, const void *buf, size_t len)
{
    membuf *m = user;
    m->calls++;
    if (m->fail_at && m->calls == m->fail_at) {
        return pd_set_error(PD_ERR_IO, "test sink: device full");
    }
    if (m->len + len > m->cap) {
        size_t nc = (m->len + len) * 2;
        uint8_t *p = realloc(m->p, nc);
        if (!p) {
            return pd_set_error(PD_ERR_NOMEM, "test sink: out of memory");
        }
        m->p = p;
        m->cap = nc;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return PD_OK;
}

static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static pd_parquet_write_options opts_for(int threads, pd_parquet_codec codec, int page_version)
{
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    o.row_group_rows = 300;
    o.page_size = 1024;
    o.threads = threads;
    o.codec = codec;
    o.page_version = page_version;
    return o;
}

/* Write rows [0, total) of a (sliced into batches of bs rows) to m; returns
 * the first error. */
static int write_batches(membuf *m,
                         const struct ArrowSchema *s,
                         const struct ArrowArray *a,
                         const pd_parquet_write_options *o,
                         int64_t total,
                         int64_t bs)
{
    pd_parquet_writer *w = NULL;
    int rc = pd_parquet_writer_open_callback(mem_write, m, s, o, &w);
    if (rc != PD_OK) {
        return rc;
    }
    for (int64_t r = 0; r < total && rc == PD_OK; r += bs) {
        struct ArrowArray view = *a;
        view.offset = a->offset + r;
        view.length = total - r < bs ? total - r : bs;
        view.release = noop_release;
        rc = pd_parquet_writer_write(w, &view);
    }
    if (rc != PD_OK) {
        pd_parquet_writer_abort(w);
        return rc;
    }
    return pd_parquet_writer_close(w);
}

/* Read the file in m with our reader and compare every value with a. */
static void check_read_back(const membuf *m,
                            const struct ArrowSchema *s,
                            const struct ArrowArray *a,
                            int64_t total,
                            int row_groups)
{
    pd_parquet_reader *rd = NULL;
    int rc = pd_parquet_open_memory(m->p, m->len, &rd);
    if (rc != PD_OK) {
        fprintf(stderr, "open: %s\n", pd_last_error());
    }
    assert_int_equal(rc, PD_OK);
    assert_int_equal(pd_parquet_num_rows(rd), total);
    assert_int_equal(pd_parquet_num_row_groups(rd), row_groups);
    struct ArrowArrayStream st;
    assert_int_equal(pd_parquet_read_stream(rd, NULL, &st), PD_OK);
    assert_int_equal(pqw_compare_stream(&st, s, a, total, "read back"), 0);
    pd_parquet_close(rd);
}

/* threads = 1, 2, 4 give the same bytes for several codecs and page
 * versions; batches straddle row group boundaries, the last row group is
 * partial. */
static void test_identical_across_threads(void **state)
{
    (void)state;
    const int64_t total = 2650, bs = 420;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pqw_make_table(total, 0, &s, &a), 0);
    static const struct {
        pd_parquet_codec codec;
        int pv;
    } cases[] = {{PD_CODEC_SNAPPY, 1}, {PD_CODEC_ZSTD, 2}, {PD_CODEC_UNCOMPRESSED, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        membuf ref = {0};
        pd_parquet_write_options o = opts_for(1, cases[k].codec, cases[k].pv);
        int rc = write_batches(&ref, &s, &a, &o, total, bs);
        if (rc != PD_OK) {
            fprintf(stderr, "threads=1: %s\n", pd_last_error());
        }
        assert_int_equal(rc, PD_OK);
        assert_true(ref.len > 1000);
        check_read_back(&ref, &s, &a, total, 9);
        static const int th[] = {2, 4};
        for (size_t t = 0; t < 2; t++) {
            membuf m = {0};
            o = opts_for(th[t], cases[k].codec, cases[k].pv);
            rc = write_batches(&m, &s, &a, &o, total, bs);
            if (rc != PD_OK) {
                fprintf(stderr, "threads=%d: %s\n", th[t], pd_last_error());
            }
            assert_int_equal(rc, PD_OK);
            assert_int_equal(m.len, ref.len);
            assert_memory_equal(m.p, ref.p, ref.len);
            check_read_back(&m, &s, &a, total, 9);
            free(m.p);
        }
        free(ref.p);
    }
    pqw_release_table(&s, &a);
}

/* One batch per row group and a batch larger than a row group: same bytes
 * as row-at-a-time sized batches, with a pool. */
static void test_batch_sizes_with_pool(void **state)
{
    (void)state;
    /* row groups of 5000 rows: pieces of 4096 rows and more are shredded by
     * one job per leaf, smaller ones on the caller */
    const int64_t total = 12000;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pqw_make_table(total, 0, &s, &a), 0);
    membuf ref = {0}, m1 = {0}, m2 = {0};
    pd_parquet_write_options o = opts_for(1, PD_CODEC_SNAPPY, 1);
    o.row_group_rows = 5000;
    assert_int_equal(write_batches(&ref, &s, &a, &o, total, 997), PD_OK);
    o.threads = 3;
    assert_int_equal(write_batches(&m1, &s, &a, &o, total, 5000), PD_OK);
    assert_int_equal(write_batches(&m2, &s, &a, &o, total, total), PD_OK);
    assert_int_equal(m1.len, ref.len);
    assert_memory_equal(m1.p, ref.p, ref.len);
    assert_int_equal(m2.len, ref.len);
    assert_memory_equal(m2.p, ref.p, ref.len);
    check_read_back(&m2, &s, &a, total, 3);
    free(ref.p);
    free(m1.p);
    free(m2.p);
    pqw_release_table(&s, &a);
}

/* The write callback fails while later row groups are being encoded: the
 * error surfaces (from write or close), later writes are refused, and
 * nothing leaks or hangs. */
static void test_failing_sink_middle_row_group(void **state)
{
    (void)state;
    const int64_t total = 3000;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pqw_make_table(total, 0, &s, &a), 0);
    membuf probe = {0};
    pd_parquet_write_options o = opts_for(2, PD_CODEC_ZSTD, 1);
    assert_int_equal(write_batches(&probe, &s, &a, &o, total, 300), PD_OK);
    int ncalls = probe.calls;
    free(probe.p);
    assert_true(ncalls > 20);
    /* fail somewhere in the middle, and near the end (footer) */
    const int fail_at[] = {ncalls / 2, ncalls / 3, ncalls - 1};
    for (size_t k = 0; k < sizeof fail_at / sizeof fail_at[0]; k++) {
        for (int use_close = 0; use_close < 2; use_close++) {
            membuf m = {0};
            m.fail_at = fail_at[k];
            pd_parquet_writer *w = NULL;
            assert_int_equal(pd_parquet_writer_open_callback(mem_write, &m, &s, &o, &w), PD_OK);
            int rc = PD_OK;
            int64_t r = 0;
            for (; r < total && rc == PD_OK; r += 300) {
                struct ArrowArray view = a;
                view.offset = a.offset + r;
                view.length = 300;
                view.release = noop_release;
                rc = pd_parquet_writer_write(w, &view);
            }
            if (rc != PD_OK) {
                assert_non_null(strstr(pd_last_error(), "device full"));
                /* refused from now on */
                struct ArrowArray view = a;
                view.length = 10;
                view.release = noop_release;
                assert_int_not_equal(pd_parquet_writer_write(w, &view), PD_OK);
                if (use_close) {
                    assert_int_not_equal(pd_parquet_writer_close(w), PD_OK);
                } else {
                    pd_parquet_writer_abort(w);
                }
            } else {
                rc = pd_parquet_writer_close(w);
                assert_int_not_equal(rc, PD_OK);
                assert_non_null(strstr(pd_last_error(), "device full"));
            }
            free(m.p);
        }
    }
    pqw_release_table(&s, &a);
}

static void test_malformed_batch_in_flight(void **state)
{
    (void)state;
    const int64_t total = 10000;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pqw_make_table(total, 0, &s, &a), 0);
    pd_parquet_write_options o = opts_for(2, PD_CODEC_SNAPPY, 1);
    o.row_group_rows = 5000; /* batches big enough for parallel shredding */
    membuf m = {0};
    pd_parquet_writer *w = NULL;
    assert_int_equal(pd_parquet_writer_open_callback(mem_write, &m, &s, &o, &w), PD_OK);
    struct ArrowArray view = a;
    view.length = 5000; /* one row group, in flight */
    view.release = noop_release;
    assert_int_equal(pd_parquet_writer_write(w, &view), PD_OK);
    /* second batch: the first column lost its value buffer */
    struct ArrowArray **kids = calloc((size_t)a.n_children, sizeof *kids);
    assert_non_null(kids);
    memcpy(kids, a.children, (size_t)a.n_children * sizeof *kids);
    /* and a later column too: the first one in leaf order is reported */
    struct ArrowArray broken = *a.children[0], broken3 = *a.children[3];
    broken.n_buffers = 0;
    broken3.n_buffers = 0;
    kids[0] = &broken;
    kids[3] = &broken3;
    view.children = kids;
    view.offset = a.offset + 5000;
    int rc = pd_parquet_writer_write(w, &view);
    assert_int_not_equal(rc, PD_OK);
    assert_non_null(strstr(pd_last_error(), s.children[0]->name));
    assert_int_not_equal(pd_parquet_writer_close(w), PD_OK);
    free(kids);
    free(m.p);
    pqw_release_table(&s, &a);
}

/* Abort with row groups submitted and not written. */
static void test_abort_in_flight(void **state)
{
    (void)state;
    const int64_t total = 2000;
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pqw_make_table(total, 0, &s, &a), 0);
    static const int th[] = {2, 4, 64};
    for (size_t k = 0; k < 3; k++) {
        pd_parquet_write_options o = opts_for(th[k], PD_CODEC_ZSTD, 2);
        membuf m = {0};
        pd_parquet_writer *w = NULL;
        assert_int_equal(pd_parquet_writer_open_callback(mem_write, &m, &s, &o, &w), PD_OK);
        struct ArrowArray view = a;
        view.length = (int64_t)(300 * (k + 1));
        view.release = noop_release;
        assert_int_equal(pd_parquet_writer_write(w, &view), PD_OK);
        pd_parquet_writer_abort(w);
        free(m.p);
    }
    /* and a writer that never got a row */
    pd_parquet_write_options o = opts_for(4, PD_CODEC_SNAPPY, 1);
    membuf m = {0};
    pd_parquet_writer *w = NULL;
    assert_int_equal(pd_parquet_writer_open_callback(mem_write, &m, &s, &o, &w), PD_OK);
    pd_parquet_writer_abort(w);
    free(m.p);
    pqw_release_table(&s, &a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_across_threads),
        cmocka_unit_test(test_batch_sizes_with_pool),
        cmocka_unit_test(test_failing_sink_middle_row_group),
        cmocka_unit_test(test_malformed_batch_in_flight),
        cmocka_unit_test(test_abort_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
