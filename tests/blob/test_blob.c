/*
 * tests/blob/test_blob.c - FileBlobStore: put/get in the transaction,
 * commit publishes, cache-hit copy, recovery of an interrupted commit, and
 * NoBlobStore errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob/blob.h"
#include "util/util.h"

static char g_dir[256];

static pd_blob_store *open_blobs(pd_blob_class k)
{
    pd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.instance_id = "inst";
    cfg.blob_store = k;
    cfg.blob_base_path = g_dir;
    pd_blob_store *b = NULL;
    assert_int_equal(pdi_blob_store_open(&cfg, &b), PD_OK);
    return b;
}

static void expect_blob(pd_blob_store *b, int committed, const char *want)
{
    void *d = NULL;
    size_t n = 0;
    int rc = pdi_blob_get(b, "s", "x", committed, &d, &n);
    if (!want) {
        assert_int_equal(rc, PD_ERR_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, PD_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(d, want, n);
    free(d);
}

static void test_cycle(void **st)
{
    (void)st;
    pd_blob_store *b = open_blobs(PD_BLOB_FILE);
    assert_int_equal(pdi_blob_init_stage(b, "s"), PD_OK);
    assert_int_equal(pdi_blob_put(b, "s", "x", "v1", 2), PD_OK);
    expect_blob(b, 0, "v1");
    expect_blob(b, 1, NULL);
    assert_int_equal(pdi_blob_commit_stage(b, "s"), PD_OK);
    expect_blob(b, 1, "v1");
    /* second run: cache hit copies, then a new blob replaces */
    assert_int_equal(pdi_blob_init_stage(b, "s"), PD_OK);
    expect_blob(b, 0, NULL);
    assert_int_equal(pdi_blob_copy_to_transaction(b, "s", "x"), PD_OK);
    expect_blob(b, 0, "v1");
    assert_int_equal(pdi_blob_copy_to_transaction(b, "s", "nope"), PD_ERR_CACHE);
    assert_int_equal(pdi_blob_put(b, "s", "x", "v2!", 3), PD_OK);
    expect_blob(b, 1, "v1");
    assert_int_equal(pdi_blob_commit_stage(b, "s"), PD_OK);
    expect_blob(b, 1, "v2!");
    char p[512];
    snprintf(p, sizeof p, "%s/inst/s__tmp", g_dir);
    assert_false(pdi_path_exists(p));
    assert_int_equal(pdi_blob_put(b, "s", "../x", "a", 1), PD_ERR_INVALID);
    assert_non_null(strstr(pd_last_error(), "invalid blob name '../x'"));
    assert_int_equal(pdi_blob_put(b, "..", "x", "a", 1), PD_ERR_INVALID);
    assert_non_null(strstr(pd_last_error(), "invalid stage name '..'"));
    assert_int_equal(pdi_blob_commit_stage(b, "../s"), PD_ERR_INVALID);
    assert_int_equal(pdi_blob_init_stage(b, "a/b"), PD_ERR_INVALID);
    pdi_blob_store_close(b);
}

static void test_recover_dance(void **st)
{
    (void)st;
    pd_blob_store *b = open_blobs(PD_BLOB_FILE);
    assert_int_equal(pdi_blob_init_stage(b, "s"), PD_OK);
    assert_int_equal(pdi_blob_put(b, "s", "x", "old", 3), PD_OK);
    assert_int_equal(pdi_blob_commit_stage(b, "s"), PD_OK);
    /* simulate a crash of the fallback path after "tmp -> swap" */
    char base[512], swap[512], old[512];
    snprintf(base, sizeof base, "%s/inst/s", g_dir);
    snprintf(swap, sizeof swap, "%s/inst/s__swap", g_dir);
    snprintf(old, sizeof old, "%s/inst/s__old", g_dir);
    assert_int_equal(pdi_mkdir_p(swap), PD_OK);
    char f[600];
    snprintf(f, sizeof f, "%s/x.blob", swap);
    assert_int_equal(pdi_file_write_atomic(f, "new", 3), PD_OK);
    expect_blob(b, 1, "new");
    assert_false(pdi_path_exists(swap));
    assert_false(pdi_path_exists(old));
    /* crash after "base -> old" */
    assert_int_equal(pdi_mkdir_p(swap), PD_OK);
    assert_int_equal(pdi_file_write_atomic(f, "newer", 5), PD_OK);
    assert_int_equal(rename(base, old), 0);
    assert_int_equal(pdi_blob_init_stage(b, "s"), PD_OK);
    expect_blob(b, 1, "newer");
    assert_false(pdi_path_exists(old));
    pdi_blob_store_close(b);
}

static void test_none(void **st)
{
    (void)st;
    pd_blob_store *b = open_blobs(PD_BLOB_NONE);
    assert_int_equal(pdi_blob_init_stage(b, "s"), PD_OK);
    assert_int_equal(pdi_blob_commit_stage(b, "s"), PD_OK);
    assert_int_equal(pdi_blob_put(b, "s", "x", "a", 1), PD_ERR_UNSUPPORTED);
    assert_non_null(strstr(pd_last_error(), "NoBlobStore"));
    pdi_blob_store_close(b);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/pd_blob_test_%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_recover_dance),
        cmocka_unit_test(test_none),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    pdi_rm_rf(g_dir);
    return r;
}
