/*
 * tests/fs/test_s3.c - src/fs against a real S3 server: s3rver behind the
 * strict SigV4 checker (and the fault proxy for the "faults" group), all
 * started by tests/fs/with-s3.sh on loopback ports.
 *
 *   with-s3.sh test_s3 basic | big | faults
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fs/fs.h"
#include "util/util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bucket(void)
{
    return getenv("PD_TEST_S3_BUCKET");
}

static pd_fs *open_fs(const char *endpoint, const char *style)
{
    pd_fs_config c = PD_FS_CONFIG_INIT;
    c.endpoint_url = endpoint ? endpoint : getenv("PD_TEST_S3_ENDPOINT");
    c.url_style = style;
    c.part_size = 5 << 20;
    c.concurrency = 4;
    pd_fs *fs = NULL;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    return fs;
}

static char *url(const char *key)
{
    return pdi_asprintf("s3://%s/%s", bucket(), key);
}

/* deterministic bytes: a 64-bit LCG per 8-byte block of the offset */
static void fill(uint8_t *b, uint64_t off, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t p = off + i, blk = p >> 3;
        uint64_t x = (blk + seed) * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
        b[i] = (uint8_t)(x >> (8 * (p & 7)));
    }
}

static void put_bytes(pd_fs *fs, const char *u, const void *d, size_t n)
{
    int rc = pdi_fs_write_all(fs, u, d, n);
    if (rc)
        print_error("%s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
}

/* ---------------------------------------------------------------- basic */

static void small_roundtrip_and_keys(void **state)
{
    pd_fs *fs = open_fs(NULL, NULL);
    const char *keys[] = {"rt/plain.txt", "rt/with space and+plus.bin", "rt/ümlaut/€uro=1&x",
                          "rt/a~b_c-d.e(1)", "rt/empty"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        char *u = url(keys[k]);
        char data[100];
        size_t n = k == 4 ? 0 : (size_t)snprintf(data, sizeof data, "hello %s", keys[k]);
        put_bytes(fs, u, data, n);
        void *back;
        size_t len;
        int rc = pdi_fs_read_all(fs, u, &back, &len);
        if (rc)
            print_error("%s: %s\n", u, pd_last_error());
        assert_int_equal(rc, PD_OK);
        assert_int_equal(len, n);
        assert_memory_equal(back, data, n);
        free(back);
        pd_fs_stat st;
        assert_int_equal(pdi_fs_stat_url(fs, u, &st), PD_OK);
        assert_int_equal(st.size, n);
        assert_int_equal(strlen(st.etag), 32);
        free(u);
    }
    pdi_fs_close(fs);
}

static void ranged_reads(void **state)
{
    pd_fs *fs = open_fs(NULL, NULL);
    size_t n = 3 << 20;
    uint8_t *d = malloc(n), *b = malloc(n);
    fill(d, 0, n, 7);
    char *u = url("range/obj");
    put_bytes(fs, u, d, n);
    pd_fs_file *f;
    assert_int_equal(pdi_fs_file_open(fs, u, &f), PD_OK);
    assert_int_equal(pdi_fs_file_size(f), n);
    /* a small read fetches a 64 KiB window, not the object */
    assert_int_equal(pdi_fs_read_at(f, 1000, b, 10), 10);
    assert_memory_equal(b, d + 1000, 10);
    assert_true(pdi_fs_file_bytes_fetched(f) <= (64 << 10));
    uint64_t before = pdi_fs_file_bytes_fetched(f);
    assert_int_equal(pdi_fs_read_at(f, 1020, b, 100), 100); /* from the window */
    assert_memory_equal(b, d + 1020, 100);
    assert_int_equal(pdi_fs_file_bytes_fetched(f), before);
    /* a large range is fetched exactly */
    assert_int_equal(pdi_fs_read_at(f, 1 << 20, b, 1 << 20), 1 << 20);
    assert_memory_equal(b, d + (1 << 20), 1 << 20);
    assert_int_equal(pdi_fs_file_bytes_fetched(f), before + (1 << 20));
    /* past the end: short, then 0 */
    assert_int_equal(pdi_fs_read_at(f, n - 5, b, 100), 5);
    assert_memory_equal(b, d + n - 5, 5);
    assert_int_equal(pdi_fs_read_at(f, n, b, 100), 0);
    /* footer-style reads near the end come from one window */
    assert_int_equal(pdi_fs_read_at(f, n - 8, b, 8), 8);
    assert_memory_equal(b, d + n - 8, 8);
    pdi_fs_file_close(f);
    free(u);
    free(d);
    free(b);
    pdi_fs_close(fs);
}

static void list_delete_copy_rename(void **state)
{
    pd_fs *fs = open_fs(NULL, NULL);
    const char *names[] = {"ld/a/1", "ld/a/2", "ld/a/sub/3", "ld/ab/4", "ld/b/5"};
    for (size_t i = 0; i < 5; i++) {
        char *u = url(names[i]);
        put_bytes(fs, u, names[i], strlen(names[i]));
        free(u);
    }
    char *pa = url("ld/a/");
    pd_fs_entry *e;
    size_t n;
    assert_int_equal(pdi_fs_list(fs, pa, &e, &n), PD_OK);
    assert_int_equal(n, 3);
    char *want = url("ld/a/sub/3");
    assert_string_equal(e[2].url, want);
    assert_int_equal(e[2].size, strlen("ld/a/sub/3"));
    free(want);
    pdi_fs_entries_free(e, n);
    /* server-side copy */
    char *src = url("ld/b/5"), *dst = url("ld/copy/5");
    assert_int_equal(pdi_fs_copy(fs, src, dst), PD_OK);
    void *back;
    size_t len;
    assert_int_equal(pdi_fs_read_all(fs, dst, &back, &len), PD_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(back, "ld/b/5", 6);
    free(back);
    /* no atomic rename on S3 */
    assert_int_equal(pdi_fs_rename(fs, src, dst), PD_ERR_UNSUPPORTED);
    /* delete one (and a missing one is fine), many, prefix */
    assert_int_equal(pdi_fs_delete(fs, dst), PD_OK);
    assert_int_equal(pdi_fs_delete(fs, dst), PD_OK);
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, dst, &st), PD_ERR_NOT_FOUND);
    char *m1 = url("ld/ab/4"), *m2 = url("ld/b/5");
    const char *many[] = {m1, m2};
    assert_int_equal(pdi_fs_delete_many(fs, many, 2), PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, m1, &st), PD_ERR_NOT_FOUND);
    assert_int_equal(pdi_fs_delete_prefix(fs, pa), PD_OK);
    char *all = url("ld/");
    assert_int_equal(pdi_fs_list(fs, all, &e, &n), PD_OK);
    assert_int_equal(n, 0);
    pdi_fs_entries_free(e, n);
    /* a whole bucket is never deleted by prefix */
    char *b = pdi_asprintf("s3://%s/", bucket());
    assert_int_equal(pdi_fs_delete_prefix(fs, b), PD_ERR_INVALID);
    free(b);
    free(all);
    free(m1);
    free(m2);
    free(src);
    free(dst);
    free(pa);
    pdi_fs_close(fs);
}

static void errors_are_clear(void **state)
{
    pd_fs *fs = open_fs(NULL, NULL);
    pd_fs_stat st;
    /* missing bucket */
    assert_int_equal(pdi_fs_stat_url(fs, "s3://no-such-bucket-x/k", &st), PD_ERR_NOT_FOUND);
    assert_non_null(strstr(pd_last_error(), "bucket 'no-such-bucket-x' does not exist"));
    assert_int_equal(pdi_fs_check_base(fs, "s3://no-such-bucket-x/p/", false), PD_ERR_NOT_FOUND);
    assert_non_null(strstr(pd_last_error(), "does not exist"));
    assert_int_equal(pdi_fs_delete(fs, "s3://no-such-bucket-x/k"), PD_ERR_NOT_FOUND);
    assert_non_null(strstr(pd_last_error(), "bucket 'no-such-bucket-x' does not exist"));
    char *b = pdi_asprintf("s3://%s/some/prefix/", bucket());
    assert_int_equal(pdi_fs_check_base(fs, b, false), PD_OK);
    free(b);
    /* missing key names bucket and key */
    char *u = url("missing/key");
    assert_int_equal(pdi_fs_stat_url(fs, u, &st), PD_ERR_NOT_FOUND);
    assert_non_null(strstr(pd_last_error(), u));
    pd_fs_file *f;
    assert_int_equal(pdi_fs_file_open(fs, u, &f), PD_ERR_NOT_FOUND);
    free(u);
    pdi_fs_close(fs);

    /* a wrong secret: "signature does not match", endpoint named, secret not */
    pd_fs_config c = PD_FS_CONFIG_INIT;
    c.endpoint_url = getenv("PD_TEST_S3_ENDPOINT");
    c.access_key_id = "S3RVER";
    c.secret_access_key = "WRONG-SECRET-xyzzy";
    c.max_retries = -1;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    u = url("sig/test");
    assert_int_not_equal(pdi_fs_write_all(fs, u, "x", 1), PD_OK);
    assert_non_null(strstr(pd_last_error(), "signature does not match"));
    assert_non_null(strstr(pd_last_error(), c.endpoint_url));
    assert_null(strstr(pd_last_error(), "WRONG-SECRET"));
    assert_int_not_equal(pdi_fs_stat_url(fs, u, &st), PD_OK);
    assert_non_null(strstr(pd_last_error(), "signature does not match"));
    char *d = pdi_fs_describe(fs);
    assert_null(strstr(d, "WRONG-SECRET"));
    free(d);
    free(u);
    pdi_fs_close(fs);
}

static void virtual_host_style(void **state)
{
    pd_fs *fs = open_fs(getenv("PD_TEST_S3_HOSTNAME"), "virtual");
    char *u = url("vhost/obj");
    put_bytes(fs, u, "virtual", 7);
    void *back;
    size_t len;
    int rc = pdi_fs_read_all(fs, u, &back, &len);
    if (rc)
        print_error("%s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    assert_int_equal(len, 7);
    free(back);
    char *pre = url("vhost/");
    pd_fs_entry *e;
    size_t n;
    assert_int_equal(pdi_fs_list(fs, pre, &e, &n), PD_OK);
    assert_int_equal(n, 1);
    pdi_fs_entries_free(e, n);
    free(pre);
    free(u);
    pdi_fs_close(fs);
    /* with a path-style handle the same object is there */
    fs = open_fs(NULL, "path");
    u = url("vhost/obj");
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, u, &st), PD_OK);
    assert_int_equal(st.size, 7);
    free(u);
    pdi_fs_close(fs);
}

static void credentials_from_profile(void **state)
{
    const char *cred = getenv("AWS_SHARED_CREDENTIALS_FILE");
    const char *conf = getenv("AWS_CONFIG_FILE");
    FILE *f = fopen(cred, "w");
    fprintf(f, "[default]\naws_access_key_id = NOPE\naws_secret_access_key = NOPE\n\n"
               "[pdtest]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n");
    fclose(f);
    f = fopen(conf, "w");
    fprintf(f, "[profile pdtest]\nregion = eu-west-1\ns3 =\n    addressing_style = path\n");
    fclose(f);
    char *ak = pdi_strdup(getenv("AWS_ACCESS_KEY_ID")),
         *sk = pdi_strdup(getenv("AWS_SECRET_ACCESS_KEY"));
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_REGION");
    setenv("AWS_PROFILE", "pdtest", 1);
    pd_fs *fs = open_fs(NULL, NULL);
    char *u = url("profile/obj");
    put_bytes(fs, u, "p", 1);
    char *d = pdi_fs_describe(fs);
    assert_non_null(strstr(d, "profile 'pdtest'"));
    assert_non_null(strstr(d, "eu-west-1"));
    assert_null(strstr(d, "S3RVER:"));
    free(d);
    pdi_fs_close(fs);
    /* the default profile has a wrong key */
    unsetenv("AWS_PROFILE");
    fs = open_fs(NULL, NULL);
    assert_int_not_equal(pdi_fs_write_all(fs, u, "p", 1), PD_OK);
    assert_non_null(strstr(pd_last_error(), "NOPE"));
    pdi_fs_close(fs);
    /* no credentials at all: a clear configuration error */
    unlink(cred);
    fs = open_fs(NULL, NULL);
    assert_int_equal(pdi_fs_write_all(fs, u, "p", 1), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "no S3 credentials"));
    pdi_fs_close(fs);
    setenv("AWS_ACCESS_KEY_ID", ak, 1);
    setenv("AWS_SECRET_ACCESS_KEY", sk, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    free(ak);
    free(sk);
    free(u);
}

static void streaming_writer_multipart(void **state)
{
    /* 23 MiB written in odd-sized pieces: 5 parts of 5 MiB, the last short */
    pd_fs *fs = open_fs(NULL, NULL);
    size_t n = (23 << 20) + 12345;
    uint8_t *d = malloc(n);
    fill(d, 0, n, 3);
    char *u = url("mp/streamed");
    pd_fs_writer *w;
    assert_int_equal(pdi_fs_writer_open(fs, u, &w), PD_OK);
    for (size_t at = 0; at < n;) {
        size_t k = n - at < 777777 ? n - at : 777777;
        assert_int_equal(pdi_fs_write(w, d + at, k), PD_OK);
        at += k;
    }
    /* not visible before commit */
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, u, &st), PD_ERR_NOT_FOUND);
    int rc = pdi_fs_writer_commit(w);
    if (rc)
        print_error("%s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    assert_int_equal(pdi_fs_stat_url(fs, u, &st), PD_OK);
    assert_int_equal(st.size, n);
    void *back;
    size_t len;
    assert_int_equal(pdi_fs_read_all(fs, u, &back, &len), PD_OK);
    assert_int_equal(len, n);
    assert_memory_equal(back, d, n);
    free(back);
    /* an aborted writer leaves nothing */
    char *u2 = url("mp/aborted");
    assert_int_equal(pdi_fs_writer_open(fs, u2, &w), PD_OK);
    assert_int_equal(pdi_fs_write(w, d, n), PD_OK);
    pdi_fs_writer_abort(w);
    assert_int_equal(pdi_fs_stat_url(fs, u2, &st), PD_ERR_NOT_FOUND);
    free(u2);
    free(u);
    free(d);
    pdi_fs_close(fs);
}

static void sigkill_leaves_nothing(void **state)
{
    char *u = url("kill/obj");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pd_fs *fs = open_fs(NULL, NULL);
        pd_fs_writer *w;
        if (pdi_fs_writer_open(fs, u, &w))
            _exit(3);
        size_t n = 1 << 20;
        uint8_t *d = malloc(n);
        fill(d, 0, n, 1);
        for (int i = 0;; i++) /* parts keep going until the parent kills us */
            if (pdi_fs_write(w, d, n))
                _exit(4);
    }
    usleep(1500 * 1000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    pd_fs *fs = open_fs(NULL, NULL);
    pd_fs_stat st;
    assert_int_equal(pdi_fs_stat_url(fs, u, &st), PD_ERR_NOT_FOUND);
    char *pre = url("kill/");
    pd_fs_entry *e;
    size_t n;
    assert_int_equal(pdi_fs_list(fs, pre, &e, &n), PD_OK);
    assert_int_equal(n, 0);
    pdi_fs_entries_free(e, n);
    size_t cleaned = 0;
    assert_int_equal(pdi_fs_cleanup_incomplete(fs, pre, &cleaned), PD_OK);
    free(pre);
    free(u);
    pdi_fs_close(fs);
}

/* ------------------------------------------------------------------ big */

static void big_multipart_roundtrip(void **state)
{
    /* 200 MB through the streaming writer, back through the parallel
     * download, compared byte for byte */
    pd_fs_config c = PD_FS_CONFIG_INIT;
    c.endpoint_url = getenv("PD_TEST_S3_ENDPOINT");
    c.part_size = 16 << 20;
    c.concurrency = 4;
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    size_t n = 200u * 1000 * 1000, chunk = 1 << 20;
    uint8_t *b = malloc(chunk), *r = malloc(chunk);
    char *u = url("big/200mb");
    pd_fs_writer *w;
    assert_int_equal(pdi_fs_writer_open(fs, u, &w), PD_OK);
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        fill(b, at, k, 11);
        assert_int_equal(pdi_fs_write(w, b, k), PD_OK);
    }
    int rc = pdi_fs_writer_commit(w);
    if (rc)
        print_error("%s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    char *local = pdi_asprintf("%s/big-download", getenv("PD_TEST_S3_WORK"));
    rc = pdi_fs_download(fs, u, local);
    if (rc)
        print_error("%s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    FILE *f = fopen(local, "rb");
    assert_non_null(f);
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        fill(b, at, k, 11);
        assert_int_equal(fread(r, 1, k, f), k);
        assert_memory_equal(r, b, k);
    }
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
    unlink(local);
    /* sequential read-ahead (a full scan by two decoding threads): two
     * ascending streams over the halves, interleaved, in reads of 1 MiB,
     * 300 KB and 64 KiB, plus small reads served from the blocks; every
     * byte compared, and the object fetched about once (blocks and the
     * block in flight overlap by less than three blocks) */
    pd_fs_file *sf;
    assert_int_equal(pdi_fs_file_open(fs, u, &sf), PD_OK);
    pdi_fs_file_set_sequential(sf, true);
    static const size_t lens[] = {1 << 20, 300000, 64 << 10, 100};
    uint64_t pos[2] = {0, n / 2}, stop[2] = {n / 2, n};
    for (int i = 0; pos[0] < stop[0] || pos[1] < stop[1]; i++) {
        int h = pos[0] >= stop[0] ? 1 : pos[1] >= stop[1] ? 0 : i & 1;
        size_t k = lens[(size_t)i / 2 % 4];
        if (k > stop[h] - pos[h])
            k = (size_t)(stop[h] - pos[h]);
        int64_t got = pdi_fs_read_at(sf, pos[h], r, k);
        if (got < 0)
            print_error("%s\n", pd_last_error());
        assert_int_equal(got, (int64_t)k);
        fill(b, pos[h], k, 11);
        assert_memory_equal(r, b, k);
        pos[h] += k;
    }
    uint64_t fetched = pdi_fs_file_bytes_fetched(sf);
    pdi_fs_file_close(sf);
    assert_true(fetched >= n);
    assert_true(fetched < n + 3 * ((uint64_t)64 << 20));
    /* and the object as the server stored it */
    char *stored = pdi_asprintf("%s/%s/big/200mb/.dummy", getenv("PD_TEST_S3_DIR"), bucket());
    free(stored);
    assert_int_equal(pdi_fs_delete(fs, u), PD_OK);
    free(local);
    free(u);
    free(b);
    free(r);
    pdi_fs_close(fs);
}

/* --------------------------------------------------------------- faults */

static void faults_upload_download(void **state)
{
    /* through the fault proxy: 503 SlowDown / 429, dropped response
     * bodies, cut uploads, slow bodies, stalled bodies (low-speed timeout);
     * the bytes must come back right */
    pd_fs_config c = PD_FS_CONFIG_INIT;
    c.endpoint_url = getenv("PD_TEST_S3_FAULTY");
    c.part_size = 5 << 20;
    c.concurrency = 4;
    c.low_speed_time_s = 2; /* stalled bodies: give up on them after 2 s, resume */
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    size_t n = (26 << 20) + 999;
    uint8_t *d = malloc(n);
    fill(d, 0, n, 5);
    for (int round = 0; round < 2; round++) {
        char *u = pdi_asprintf("s3://%s/faults/obj%d", bucket(), round);
        int rc = pdi_fs_write_all(fs, u, d, n);
        if (rc)
            print_error("upload: %s\n", pd_last_error());
        assert_int_equal(rc, PD_OK);
        void *back;
        size_t len;
        rc = pdi_fs_read_all(fs, u, &back, &len);
        if (rc)
            print_error("download: %s\n", pd_last_error());
        assert_int_equal(rc, PD_OK);
        assert_int_equal(len, n);
        assert_memory_equal(back, d, n);
        free(back);
        /* small ranged reads too */
        pd_fs_file *f;
        assert_int_equal(pdi_fs_file_open(fs, u, &f), PD_OK);
        uint8_t b[4096];
        for (int i = 0; i < 20; i++) {
            uint64_t off = (uint64_t)i * 1234567 % (n - sizeof b);
            assert_int_equal(pdi_fs_read_at(f, off, b, sizeof b), (int64_t)sizeof b);
            assert_memory_equal(b, d + off, sizeof b);
        }
        pdi_fs_file_close(f);
        /* small objects and listing through faults */
        for (int i = 0; i < 10; i++) {
            char *s = pdi_asprintf("s3://%s/faults/small/%d-%d", bucket(), round, i);
            assert_int_equal(pdi_fs_write_all(fs, s, s, strlen(s)), PD_OK);
            free(s);
        }
        char *pre = pdi_asprintf("s3://%s/faults/small/", bucket());
        pd_fs_entry *e;
        size_t ne;
        assert_int_equal(pdi_fs_list(fs, pre, &e, &ne), PD_OK);
        assert_int_equal(ne, (size_t)(10 * (round + 1)));
        pdi_fs_entries_free(e, ne);
        free(pre);
        free(u);
    }
    free(d);
    pdi_fs_close(fs);
}

static void faults_give_up_cleanly(void **state)
{
    /* every request answered 503 would need retries; with none allowed the
     * error names the status and code */
    pd_fs_config c = PD_FS_CONFIG_INIT;
    c.endpoint_url = getenv("PD_TEST_S3_FAULTY");
    c.max_retries = -1;
    pd_fs *fs;
    assert_int_equal(pdi_fs_open(&c, &fs), PD_OK);
    int failures = 0;
    for (int i = 0; i < 12; i++) {
        char *u = pdi_asprintf("s3://%s/giveup/%d", bucket(), i);
        if (pdi_fs_write_all(fs, u, "x", 1) != PD_OK) {
            failures++;
            const char *m = pd_last_error();
            assert_true(strstr(m, "HTTP 503 SlowDown") || strstr(m, "HTTP 429") ||
                        strstr(m, "attempt"));
            assert_non_null(strstr(m, "giveup/"));
        }
        free(u);
    }
    assert_true(failures > 0);
    pdi_fs_close(fs);
}

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "basic";
    if (!getenv("PD_TEST_S3_ENDPOINT")) {
        fprintf(stderr, "test_s3: run under tests/fs/with-s3.sh\n");
        return 1;
    }
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(small_roundtrip_and_keys),   cmocka_unit_test(ranged_reads),
        cmocka_unit_test(list_delete_copy_rename),    cmocka_unit_test(errors_are_clear),
        cmocka_unit_test(virtual_host_style),         cmocka_unit_test(credentials_from_profile),
        cmocka_unit_test(streaming_writer_multipart), cmocka_unit_test(sigkill_leaves_nothing),
    };
    const struct CMUnitTest big[] = {cmocka_unit_test(big_multipart_roundtrip)};
    const struct CMUnitTest faults[] = {
        cmocka_unit_test(faults_upload_download),
        cmocka_unit_test(faults_give_up_cleanly),
    };
    if (strcmp(group, "big") == 0)
        return cmocka_run_group_tests_name("fs/s3 big", big, NULL, NULL);
    if (strcmp(group, "faults") == 0)
        return cmocka_run_group_tests_name("fs/s3 faults", faults, NULL, NULL);
    return cmocka_run_group_tests_name("fs/s3 basic", basic, NULL, NULL);
}
