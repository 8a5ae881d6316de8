/*
 * tests/fs/test_fs_local.c - src/fs on the local file system, safe names and
 * locations, and the S3 settings that need no server (style, region,
 * credentials resolution errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fs/fs.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/pd_fs_test_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    pdi_rm_rf(dir);
    return 0;
}

static char *p(const char *rel)
{
    return pdi_asprintf("%s/%s", dir, rel);
}

static void names_are_safe(void **state)
{
    assert_int_equal(pdi_fs_check_name("table_1.parquet"), PD_OK);
    assert_int_equal(pdi_fs_check_name("Ünïcode name"), PD_OK);
    const char *bad[] = {"", ".", "..", "a/b", "/abs", "a\\b", "tab\there", "nl\n", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(pdi_fs_check_name(bad[i]), PD_ERR_INVALID);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(pdi_fs_check_name(longname), PD_ERR_INVALID);
    /* join never escapes the base */
    char *j = pdi_fs_join("s3://bucket/inst/", "stage__odd");
    assert_string_equal(j, "s3://bucket/inst/stage__odd");
    free(j);
    j = pdi_fs_join("/data/inst", "t.parquet");
    assert_string_equal(j, "/data/inst/t.parquet");
    free(j);
    assert_null(pdi_fs_join("/data/inst", ".."));
    assert_null(pdi_fs_join("s3://bucket/inst", "../other"));
    assert_null(pdi_fs_join("s3://bucket/inst", "/etc"));
    assert_null(pdi_fs_join("s3://", "x"));
    /* the whole key stays within S3's 1024 bytes */
    pd_buf b = {0};
    pdi_buf_puts(&b, "s3://bucket/");
    for (int i = 0; i < 1000; i++)
        pdi_buf_putc(&b, 'k');
    memset(longname, 'y', 200);
    longname[200] = 0;
    assert_null(pdi_fs_join(b.data, longname));
    pdi_buf_free(&b);
}

static void locations(void **state)
{
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(NULL, &fs), PD_OK);
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, "http://example.com/x", &st), PD_ERR_UNSUPPORTED);
    assert_int_equal(pdi_fs_stat_url(fs, "s3://a/key", &st), PD_ERR_INVALID); /* bucket < 3 */
    assert_int_equal(pdi_fs_stat_url(fs, "s3://bad bucket/key", &st), PD_ERR_INVALID);
    assert_int_equal(pdi_fs_stat_url(fs, "file://relative", &st), PD_ERR_INVALID);
    assert_int_equal(pdi_fs_stat_url(fs, "", &st), PD_ERR_INVALID);
    assert_int_equal(pdi_fs_stat_url(fs, "/tmp/x\001y", &st), PD_ERR_INVALID);
    assert_true(pdi_fs_is_s3("s3://b/k"));
    assert_false(pdi_fs_is_s3("/s3://b/k"));
    pdi_fs_close(fs);
}

static void write_read_stat(void **state)
{
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(NULL, &fs), PD_OK);
    char *f = p("a.bin");
    char *furl = pdi_asprintf("file://%s", f);
    pd_fs_writer *w;
    assert_int_equal(pdi_fs_writer_open(fs, furl, &w), PD_OK);
    assert_int_equal(pdi_fs_write(w, "hello ", 6), PD_OK);
    assert_int_equal(pdi_fs_write_cb(w, "world", 5), PD_OK);
    assert_false(pdi_path_exists(f)); /* nothing visible before commit */
    assert_int_equal(pdi_fs_writer_commit(w), PD_OK);
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, f, &st), PD_OK);
    assert_int_equal(st.size, 11);
    assert_false(st.is_dir);
    pd_fs_file *rf;
    assert_int_equal(pdi_fs_file_open(fs, furl, &rf), PD_OK);
    char b[32];
    assert_int_equal(pdi_fs_read_at(rf, 6, b, 5), 5);
    assert_memory_equal(b, "world", 5);
    assert_int_equal(pdi_fs_read_at_cb(rf, 9, b, 10), 2);
    assert_int_equal(pdi_fs_read_at(rf, 11, b, 10), 0);
    assert_int_equal(pdi_fs_file_size(rf), 11);
    pdi_fs_file_close(rf);
    /* abort leaves nothing, not even the temp file */
    char *g = p("b.bin");
    assert_int_equal(pdi_fs_writer_open(fs, g, &w), PD_OK);
    assert_int_equal(pdi_fs_write(w, "x", 1), PD_OK);
    pdi_fs_writer_abort(w);
    assert_false(pdi_path_exists(g));
    pd_fs_entry *e;
    size_t n;
    assert_int_equal(pdi_fs_list(fs, dir, &e, &n), PD_OK);
    assert_int_equal(n, 1);
    pdi_fs_entries_free(e, n);
    /* missing */
    assert_int_equal(pdi_fs_stat_url(fs, g, &st), PD_ERR_NOT_FOUND);
    assert_int_equal(pdi_fs_file_open(fs, g, &rf), PD_ERR_NOT_FOUND);
    void *data;
    size_t len;
    assert_int_equal(pdi_fs_read_all(fs, f, &data, &len), PD_OK);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "hello world", 11);
    free(data);
    free(f);
    free(g);
    free(furl);
    pdi_fs_close(fs);
}

static void list_copy_link_rename_delete(void **state)
{
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(NULL, &fs), PD_OK);
    char *base = p("inst");
    assert_int_equal(pdi_fs_check_base(fs, base, false), PD_ERR_NOT_FOUND);
    assert_int_equal(pdi_fs_check_base(fs, base, true), PD_OK);
    char *s1 = p("inst/s__odd"), *t1 = p("inst/s__odd/t1.parquet"),
         *t2 = p("inst/s__odd/t2.parquet"), *c1 = p("inst/s__even/t1.parquet");
    pdi_mkdir_p(s1);
    assert_int_equal(pdi_fs_write_all(fs, t1, "one", 3), PD_OK);
    assert_int_equal(pdi_fs_write_all(fs, t2, "two!", 4), PD_OK);
    char *se = p("inst/s__even");
    pdi_mkdir_p(se);
    /* copy is a hard link locally */
    assert_int_equal(pdi_fs_copy(fs, t1, c1), PD_OK);
    struct stat a, b;
    assert_int_equal(stat(t1, &a), 0);
    assert_int_equal(stat(c1, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    /* copy over an existing file replaces it */
    assert_int_equal(pdi_fs_copy(fs, t2, c1), PD_OK);
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, c1, &st), PD_OK);
    assert_int_equal(st.size, 4);
    pd_fs_entry *e;
    size_t n;
    assert_int_equal(pdi_fs_list(fs, base, &e, &n), PD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].url, c1); /* sorted: s__even < s__odd */
    pdi_fs_entries_free(e, n);
    /* listing a missing prefix is empty */
    char *missing = p("nothing-here");
    assert_int_equal(pdi_fs_list(fs, missing, &e, &n), PD_OK);
    assert_int_equal(n, 0);
    pdi_fs_entries_free(e, n);
    /* rename is atomic locally */
    char *r = p("inst/s__odd/renamed");
    assert_int_equal(pdi_fs_rename(fs, t2, r), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, t2, &st), PD_ERR_NOT_FOUND);
    /* delete, many, prefix */
    assert_int_equal(pdi_fs_delete(fs, r), PD_OK);
    assert_int_equal(pdi_fs_delete(fs, r), PD_OK); /* missing is fine */
    const char *many[] = {t1, c1};
    assert_int_equal(pdi_fs_delete_many(fs, many, 2), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, c1, &st), PD_ERR_NOT_FOUND);
    assert_int_equal(pdi_fs_write_all(fs, t1, "one", 3), PD_OK);
    assert_int_equal(pdi_fs_delete_prefix(fs, base), PD_OK);
    assert_false(pdi_path_exists(base));
    /* mixing file systems is refused */
    const char *mixed[] = {t1, "s3://bucket/k"};
    assert_int_equal(pdi_fs_delete_many(fs, mixed, 2), PD_ERR_INVALID);
    assert_int_equal(pdi_fs_copy(fs, t1, "s3://bucket/k"), PD_ERR_UNSUPPORTED);
    free(missing);
    free(r);
    free(base);
    free(s1);
    free(se);
    free(t1);
    free(t2);
    free(c1);
    pdi_fs_close(fs);
}

static void cleanup_stale_temp_files(void **state)
{
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(NULL, &fs), PD_OK);
    /* pid 999999999 does not exist; our own pid's temp files are kept */
    char *dead = p("t.parquet.tmp-999999999-0");
    char *mine = pdi_asprintf("%s/u.parquet.tmp-%ld-0", dir, (long)getpid());
    char *keep = p("notatemp.parquet");
    assert_int_equal(pdi_file_write_atomic(dead, "x", 1), PD_OK);
    assert_int_equal(pdi_file_write_atomic(mine, "x", 1), PD_OK);
    assert_int_equal(pdi_file_write_atomic(keep, "x", 1), PD_OK);
    size_t n = 0;
    assert_int_equal(pdi_fs_cleanup_incomplete(fs, dir, &n), PD_OK);
    assert_int_equal(n, 1);
    assert_false(pdi_path_exists(dead));
    assert_true(pdi_path_exists(mine));
    assert_true(pdi_path_exists(keep));
    free(dead);
    free(mine);
    free(keep);
    pdi_fs_close(fs);
}

static void s3_settings_without_server(void **state)
{
    /* resolution errors come before any request and name the setting */
    pd_fs_config c = PD_FS_CONFIG_INIT;
    c.endpoint_url = "ftp://example.com";
    c.access_key_id = "AK";
    c.secret_access_key = "SECRETSECRET";
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, "s3://bucket/k", &st), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "http:// or https://"));
    pdi_fs_close(fs);
    c.endpoint_url = "http://127.0.0.1:9/path";
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, "s3://bucket/k", &st), PD_ERR_CONFIG);
    pdi_fs_close(fs);
    c.endpoint_url = "http://127.0.0.1:9";
    c.url_style = "virtual";
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, "s3://bucket/k", &st), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "IP endpoint"));
    pdi_fs_close(fs);
    c.url_style = "sideways";
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, "s3://bucket/k", &st), PD_ERR_CONFIG);
    pdi_fs_close(fs);
    /* an IP endpoint is path style; describe never shows the secret */
    c.url_style = NULL;
    c.region = "eu-central-1";
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    char *d = pdi_fs_describe(fs);
    assert_non_null(strstr(d, "path style"));
    assert_non_null(strstr(d, "eu-central-1"));
    assert_null(strstr(d, "SECRETSECRET"));
    free(d);
    /* nothing listens on port 9: a clear connection error, no hang */
    pdi_fs_close(fs);
    c.max_retries = -1;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, "s3://bucket/k", &st), PD_ERR_IO);
    assert_non_null(strstr(pd_last_error(), "http://127.0.0.1:9"));
    assert_null(strstr(pd_last_error(), "SECRETSECRET"));
    pdi_fs_close(fs);
    /* AWS default endpoint from the region, virtual style */
    c.endpoint_url = NULL;
    c.region = "us-west-2";
    setenv("AWS_ENDPOINT_URL", "", 1);
    unsetenv("AWS_ENDPOINT_URL_S3");
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    d = pdi_fs_describe(fs);
    assert_non_null(strstr(d, "https://s3.us-west-2.amazonaws.com"));
    assert_non_null(strstr(d, "auto style"));
    free(d);
    pdi_fs_close(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_safe),
        cmocka_unit_test(locations),
        cmocka_unit_test_setup_teardown(write_read_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(list_copy_link_rename_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(cleanup_stale_temp_files, setup, teardown),
        cmocka_unit_test(s3_settings_without_server),
    };
    return cmocka_run_group_tests_name("fs/local", tests, NULL, NULL);
}
