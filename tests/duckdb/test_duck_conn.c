/*
 * tests/duckdb/test_duck_conn.c - the DuckDB connector against the real
 * libduckdb.so (PIPEDAG_DUCKDB_LIBRARY, set by CMake): loading, URLs,
 * statements, parameters, Arrow out and in, and waiting for a file that
 * another process holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/duckdb/duck.h"
#include "util/util.h"

static char g_dir[256];

static char *db_file(const char *name)
{
    return pdi_asprintf("%s/%s", g_dir, name);
}

/* Runs first, in a child: the loader's message when the library is absent. */
static void test_library_not_found(void **st)
{
    (void)st;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        setenv("PIPEDAG_DUCKDB_LIBRARY", "/nonexistent/libduckdb.so", 1);
        char *path = db_file("x.duckdb");
        pdi_duck_open_opts o = {1, true};
        pdi_duck_db *db = NULL;
        int rc = pdi_duck_db_open(path, &o, &db);
        const char *m = pd_last_error();
        if (write(pfd[1], m, strlen(m)) < 0)
            _exit(3);
        _exit(rc == PD_ERR_UNSUPPORTED ? 0 : 2);
    }
    close(pfd[1]);
    char buf[2048] = "";
    ssize_t n = read(pfd[0], buf, sizeof buf - 1);
    close(pfd[0]);
    buf[n > 0 ? n : 0] = 0;
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(buf, "DuckDB library not found"));
    assert_non_null(strstr(buf, "/nonexistent/libduckdb.so"));
}

static void test_url(void **st)
{
    (void)st;
    char *p = NULL;
    assert_int_equal(pdi_duck_url_path("duckdb:////tmp/a/b.duckdb", &p), PD_OK);
    assert_string_equal(p, "/tmp/a/b.duckdb");
    free(p);
    assert_int_equal(pdi_duck_url_path("duckdb:///rel/x.duckdb?threads=2", &p), PD_OK);
    assert_string_equal(p, "rel/x.duckdb");
    free(p);
    assert_int_equal(pdi_duck_url_path("duckdb:///:memory:", &p), PD_ERR_CONFIG);
    assert_int_equal(pdi_duck_url_path("duckdb://", &p), PD_ERR_CONFIG);
    assert_int_equal(pdi_duck_url_path("sqlite:///x", &p), PD_ERR_CONFIG);
    assert_null(p);
}

typedef struct rows {
    pd_strv v;
} rows;

static int collect(void *user, int n, const char *const *names, const char *const *vals)
{
    (void)names;
    rows *r = user;
    pd_buf b = {0};
    for (int i = 0; i < n; i++)
        pdi_buf_printf(&b, "%s%s", i ? "|" : "", vals[i] ? vals[i] : "NULL");
    char *s = pdi_buf_detach(&b);
    return pdi_strv_push_owned(&r->v, s ? s : pdi_strdup(""));
}

static void test_exec_query_params(void **st)
{
    (void)st;
    char *path = db_file("sub/dir/q.duckdb");
    pdi_duck_open_opts o = {1, false};
    pdi_duck_db *db = NULL;
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_ERR_NOT_FOUND);
    assert_non_null(strstr(pd_last_error(), "create_database_if_not_exists"));
    o.create_dirs = true;
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_OK);
    pdi_duck_conn *c = NULL;
    assert_int_equal(pdi_duck_connect(db, &c), PD_OK);
    pdi_duck_db_release(db); /* the connection keeps it open */
    assert_int_equal(pdi_duck_exec(c, "CREATE SCHEMA s; CREATE TABLE s.t (a BIGINT, b BOOLEAN, "
                                      "c VARCHAR)"),
                     PD_OK);
    const char *p1[3] = {"42", "1", "x"};
    const char *p2[3] = {"43", "false", NULL};
    assert_int_equal(pdi_duck_query(c, "INSERT INTO s.t VALUES (?, ?, ?)", 3, p1, NULL, NULL),
                     PD_OK);
    assert_int_equal(pdi_duck_query(c, "INSERT INTO s.t VALUES (?, ?, ?)", 3, p2, NULL, NULL),
                     PD_OK);
    rows r = {0};
    assert_int_equal(pdi_duck_query(c, "SELECT * FROM s.t ORDER BY a", 0, NULL, collect, &r),
                     PD_OK);
    assert_int_equal(r.v.n, 2);
    assert_string_equal(r.v.items[0], "42|true|x");
    assert_string_equal(r.v.items[1], "43|false|NULL");
    pdi_strv_free(&r.v);
    const char *k[1] = {"43"};
    assert_int_equal(pdi_duck_query(c, "SELECT c, b FROM s.t WHERE a = ?", 1, k, collect, &r),
                     PD_OK);
    assert_int_equal(r.v.n, 1);
    assert_string_equal(r.v.items[0], "NULL|false");
    pdi_strv_free(&r.v);
    /* types duckdb_value_varchar cannot render come out right, not NULL */
    assert_int_equal(pdi_duck_exec(c, "SET TimeZone = 'UTC'"), PD_OK);
    assert_int_equal(pdi_duck_query(c,
                                    "SELECT '2024-01-01 10:00:00+02'::TIMESTAMPTZ, [1, 2], "
                                    "'2024-01-01 00:00:00.123456789'::TIMESTAMP_NS, "
                                    "INTERVAL '1 month 2 days 3 hours', 'b'::ENUM('a', 'b'), "
                                    "NULL::TIMESTAMPTZ, 7::BIGINT",
                                    0, NULL, collect, &r),
                     PD_OK);
    assert_int_equal(r.v.n, 1);
    assert_string_equal(r.v.items[0], "2024-01-01 08:00:00+00:00|[1,2]|2024-01-01 "
                                      "00:00:00.123456789|1 month 2 days 03:00:00|b|NULL|7");
    pdi_strv_free(&r.v);
    /* errors name the statement */
    assert_int_equal(pdi_duck_exec(c, "SELECT * FROM nope"), PD_ERR_SQL);
    assert_non_null(strstr(pd_last_error(), "nope"));
    /* a rolled back transaction leaves nothing */
    assert_int_equal(pdi_duck_begin(c), PD_OK);
    assert_int_equal(pdi_duck_exec(c, "INSERT INTO s.t VALUES (1, true, 'y')"), PD_OK);
    assert_int_equal(pdi_duck_rollback(c), PD_OK);
    assert_int_equal(pdi_duck_query(c, "SELECT count(*) FROM s.t", 0, NULL, collect, &r), PD_OK);
    assert_string_equal(r.v.items[0], "2");
    pdi_strv_free(&r.v);
    /* extension autoloading is off: no download attempt, a clear error */
    assert_int_equal(pdi_duck_exec(c, "SELECT * FROM read_json_auto('https://example.invalid/x')"),
                     PD_ERR_SQL);
    pdi_duck_disconnect(c);
    free(path);
}

/* A table of n rows: id BIGINT, name utf8 (every 7th NULL), x double,
 * flag bool, small int8, d date32. */
static void make_stream(int64_t n, int batch, struct ArrowArrayStream *out)
{
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "id", "l", 0), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "name", "u", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "x", "g", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "flag", "b", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "small", "c", 1), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "d", "tdD", 1), PD_OK);
    size_t nb = (size_t)((n + batch - 1) / batch);
    struct ArrowArray *arrs = calloc(nb ? nb : 1, sizeof *arrs);
    struct ArrowSchema sch = {0};
    for (size_t k = 0; k < nb; k++) {
        for (int64_t i = (int64_t)k * batch; i < n && i < (int64_t)(k + 1) * batch; i++) {
            char name[32];
            snprintf(name, sizeof name, "row-%lld", (long long)i);
            pd_arrow_builder_append_int(b, 0, i);
            if (i % 7 == 3)
                pd_arrow_builder_append_null(b, 1);
            else
                pd_arrow_builder_append_bytes(b, 1, name, strlen(name));
            pd_arrow_builder_append_double(b, 2, (double)i / 4);
            pd_arrow_builder_append_bool(b, 3, (int)(i % 2));
            pd_arrow_builder_append_int(b, 4, i % 100);
            pd_arrow_builder_append_int(b, 5, 19000 + i % 1000);
        }
        assert_int_equal(pd_arrow_builder_finish(b, k == 0 ? &sch : NULL, &arrs[k]), PD_OK);
    }
    if (nb == 0)
        assert_int_equal(pd_arrow_builder_finish(b, &sch, &arrs[0]), PD_OK);
    pd_arrow_builder_free(b);
    assert_int_equal(pd_arrow_stream_from_batches(&sch, arrs, nb, out), PD_OK);
    free(arrs);
}

static void test_arrow_roundtrip(void **st)
{
    (void)st;
    char *path = db_file("arrow.duckdb");
    pdi_duck_open_opts o = {1, true};
    pdi_duck_db *db = NULL;
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_OK);
    pdi_duck_conn *c = NULL;
    assert_int_equal(pdi_duck_connect(db, &c), PD_OK);
    assert_int_equal(pdi_duck_exec(c, "CREATE SCHEMA s; CREATE TABLE s.t (id BIGINT, name VARCHAR, "
                                      "x DOUBLE, flag BOOLEAN, small TINYINT, d DATE)"),
                     PD_OK);
    const int64_t n = 10000; /* batches of 3000: windows cross chunk limits */
    struct ArrowArrayStream in;
    make_stream(n, 3000, &in);
    int64_t loaded = 0;
    assert_int_equal(pdi_duck_begin(c), PD_OK);
    assert_int_equal(pdi_duck_append_stream(c, "s", "t", &in, &loaded), PD_OK);
    assert_int_equal(pdi_duck_commit(c), PD_OK);
    in.release(&in);
    assert_int_equal(loaded, n);
    rows r = {0};
    assert_int_equal(pdi_duck_query(c,
                                    "SELECT count(*), sum(id), count(name), sum(x), "
                                    "sum(flag::INT), sum(small), min(d), max(d), "
                                    "max(name) FILTER (WHERE id = 9998) FROM s.t",
                                    0, NULL, collect, &r),
                     PD_OK);
    assert_string_equal(r.v.items[0], "10000|49995000|8571|12498750.0|5000|495000|2022-01-08|"
                                      "2024-10-03|row-9998");
    pdi_strv_free(&r.v);

    /* and back out as Arrow */
    struct ArrowArrayStream out;
    assert_int_equal(pdi_duck_query_arrow(c, "SELECT * FROM s.t ORDER BY id", &out), PD_OK);
    struct ArrowSchema sch;
    assert_int_equal(out.get_schema(&out, &sch), 0);
    assert_int_equal(sch.n_children, 6);
    assert_string_equal(sch.children[0]->format, "l");
    assert_string_equal(sch.children[1]->format, "u");
    assert_string_equal(sch.children[2]->format, "g");
    assert_string_equal(sch.children[3]->format, "b");
    assert_string_equal(sch.children[4]->format, "c");
    assert_string_equal(sch.children[5]->format, "tdD");
    int64_t seen = 0, nulls = 0;
    for (;;) {
        struct ArrowArray a;
        assert_int_equal(out.get_next(&out, &a), 0);
        if (!a.release)
            break;
        for (int64_t i = 0; i < a.length; i++) {
            int64_t id = pd_arrow_get_int(sch.children[0], a.children[0], i);
            assert_int_equal(id, seen + i);
            if (pd_arrow_is_null(a.children[1], i)) {
                nulls++;
                assert_int_equal(id % 7, 3);
            } else {
                size_t len;
                const uint8_t *s = pd_arrow_get_bytes(sch.children[1], a.children[1], i, &len);
                char want[32];
                snprintf(want, sizeof want, "row-%lld", (long long)id);
                assert_int_equal(len, strlen(want));
                assert_memory_equal(s, want, len);
            }
        }
        seen += a.length;
        a.release(&a);
    }
    assert_int_equal(seen, n);
    assert_int_equal(nulls, n - 8571);
    sch.release(&sch);
    /* the stream outlives the connection */
    pdi_duck_disconnect(c);
    pdi_duck_db_release(db);
    out.release(&out);

    /* a schema the table does not match is refused with the table named */
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_OK);
    assert_int_equal(pdi_duck_connect(db, &c), PD_OK);
    make_stream(10, 10, &in);
    assert_int_equal(pdi_duck_append_stream(c, "s", "missing", &in, NULL), PD_ERR_SQL);
    in.release(&in);
    assert_non_null(strstr(pd_last_error(), "s.missing"));
    pdi_duck_disconnect(c);
    pdi_duck_db_release(db);
    free(path);
}

/* A child process holds the file for `hold_ms`, signalling when it has it. */
static pid_t hold_file(const char *path, int hold_ms)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        pdi_duck_open_opts o = {1, true};
        pdi_duck_db *db = NULL;
        if (pdi_duck_db_open(path, &o, &db) != PD_OK)
            _exit(2);
        if (write(pfd[1], "x", 1) != 1)
            _exit(3);
        usleep((useconds_t)hold_ms * 1000);
        pdi_duck_db_release(db);
        _exit(0);
    }
    close(pfd[1]);
    char ch;
    assert_int_equal(read(pfd[0], &ch, 1), 1);
    close(pfd[0]);
    return pid;
}

static void test_held_file(void **st)
{
    (void)st;
    char *path = db_file("held.duckdb");
    pid_t pid = hold_file(path, 1500);
    pdi_duck_open_opts o = {0.3, true};
    pdi_duck_db *db = NULL;
    double t0 = pdi_now_seconds();
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_ERR_LOCK);
    double waited = pdi_now_seconds() - t0;
    assert_true(waited >= 0.3);
    char want[64];
    snprintf(want, sizeof want, "PID %d", (int)pid);
    assert_non_null(strstr(pd_last_error(), want));
    assert_non_null(strstr(pd_last_error(), "lock_wait_seconds"));
    assert_non_null(strstr(pd_last_error(), path));
    /* the same holder found through /proc/locks alone */
    char *who = pdi_duck_holder(path, "no pid in this text");
    assert_non_null(who);
    assert_non_null(strstr(who, want));
    free(who);
    /* released in time: the open waits and succeeds */
    o.lock_wait_seconds = 20;
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_OK);
    pdi_duck_db_release(db);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(path);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/pd-duck-test-XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_not_found), cmocka_unit_test(test_url),
        cmocka_unit_test(test_exec_query_params), cmocka_unit_test(test_arrow_roundtrip),
        cmocka_unit_test(test_held_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pdi_rm_rf(g_dir);
    return rc;
}
