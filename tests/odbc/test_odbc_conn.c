/*
 * tests/odbc/test_odbc_conn.c - the ODBC connector against real databases:
 * the private Postgres cluster through Debian's odbc-postgresql driver,
 * SQLite files through libsqliteodbc, and FreeTDS (tdsodbc) against a
 * closed port. Arrow round trips of every mapped type through parameter-
 * array loads and block-cursor reads (batch and rowset boundaries crossed,
 * values longer than the bound width), text queries with parameters,
 * transactions, and the errors: SQL error with SQLSTATE and task, wrong
 * password, undefined DSN, driver not installed, closed port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../pg/pg_test_util.h"
#include "pipedag/arrow.h"
#include "pipedag/common.h"
#include "store/odbc/odbc.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *g_pg_odbc_url; /* postgresql+odbc://...?driver=<path> */
static char *g_password;

static const char *env_required(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v || strstr(v, "NOTFOUND")) {
        fprintf(stderr, "%s is not set: install the driver (scripts/install-deps.sh)\n", name);
        exit(1);
    }
    return v;
}

/* postgresql://u:p@h:port/db -> postgresql+odbc://u:p@h:port/<db>?driver=... */
static char *odbc_url_for(const char *pg_url, const char *scheme, const char *db)
{
    const char *rest = strstr(pg_url, "://");
    char *with_db = pg_test_url_db(rest + 3, db);
    char *u = pd_asprintf("%s://%s?driver=%s", scheme, with_db, env_required("PD_TEST_PSQLODBC"));
    free(with_db);
    return u;
}

static pdi_odbc *pg_connect(void)
{
    pdi_odbc *c = NULL;
    if (pdi_odbc_connect_url(g_pg_odbc_url, &c))
        fail_msg("connect: %s", pd_last_error());
    assert_int_equal(pdi_odbc_exec(c, "SET TIME ZONE 'UTC'"), PD_OK);
    return c;
}

/* ------------------------------------------------------------ a table */

#define NROWS 1000

static const char *k_formats[] = {"l", "i",   "s",    "g",       "f",      "b",   "u",
                                  "z", "tdD", "tsu:", "tsu:UTC", "d:12,3", "ttu", "u"};
static const char *k_names[] = {"id",  "i4", "i2", "f8",   "f4",  "b",  "t",
                                "bin", "d",  "ts", "tstz", "dec", "tm", "v"};
#define NCOLS (sizeof k_formats / sizeof k_formats[0])

static char *long_text(int r)
{
    /* some values longer than any bound width, with non-ASCII and astral chars */
    size_t n = (size_t)(r % 97 == 0 ? 9000 : r % 13);
    pd_buf b = PD_BUF_INIT;
    pd_buf_printf(&b, "r%d-", r);
    for (size_t i = 0; i < n; i++)
        pd_buf_puts(&b, i % 3 == 0 ? "\xc3\xa4" : i % 3 == 1 ? "\xf0\x9f\x98\x80" : "x");
    return pd_buf_detach(&b);
}

static void make_table(struct ArrowArrayStream *out, struct ArrowSchema *schema_copy)
{
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    for (size_t i = 0; i < NCOLS; i++)
        assert_int_equal(pd_arrow_builder_add_column(b, k_names[i], k_formats[i], 1), PD_OK);
    struct ArrowArray batches[3];
    struct ArrowSchema schema;
    int nb = 0;
    for (int r = 0; r < NROWS; r++) {
        bool null = r % 10 == 7;
        assert_int_equal(pd_arrow_builder_append_int(b, 0, r), PD_OK);
        if (null) {
            for (size_t c = 1; c < NCOLS; c++)
                assert_int_equal(pd_arrow_builder_append_null(b, c), PD_OK);
        } else {
            char tmp[64];
            assert_int_equal(pd_arrow_builder_append_int(b, 1, r * 1000 - 7), PD_OK);
            assert_int_equal(pd_arrow_builder_append_int(b, 2, (r % 600) - 300), PD_OK);
            assert_int_equal(pd_arrow_builder_append_double(b, 3, r / 7.0), PD_OK);
            assert_int_equal(pd_arrow_builder_append_double(b, 4, (float)(r * 0.5)), PD_OK);
            assert_int_equal(pd_arrow_builder_append_bool(b, 5, r % 3 == 0), PD_OK);
            char *t = long_text(r);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 6, t, strlen(t)), PD_OK);
            free(t);
            uint8_t bin[300];
            size_t bl = (size_t)(r % 5 == 0 ? 300 : r % 4);
            for (size_t k = 0; k < bl; k++)
                bin[k] = (uint8_t)(k * 7 + (size_t)r);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 7, bin, bl), PD_OK);
            snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", 1900 + r % 200, 1 + r % 12, 1 + r % 28);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 8, tmp, strlen(tmp)), PD_OK);
            snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%06d", 1960 + r % 80,
                     1 + r % 12, 1 + r % 28, r % 24, r % 60, (r * 7) % 60, (r * 12345) % 1000000);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 9, tmp, strlen(tmp)), PD_OK);
            snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%03d+02:00", 1990 + r % 40,
                     1 + r % 12, 1 + r % 28, r % 24, r % 60, (r * 7) % 60, r % 1000);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 10, tmp, strlen(tmp)), PD_OK);
            snprintf(tmp, sizeof tmp, "%s%d.%03d", r % 2 ? "-" : "", r * 1234, r % 1000);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 11, tmp, strlen(tmp)), PD_OK);
            snprintf(tmp, sizeof tmp, "%02d:%02d:%02d.%06d", r % 24, r % 60, r % 60,
                     r * 3 % 1000000);
            assert_int_equal(pd_arrow_builder_append_bytes(b, 12, tmp, strlen(tmp)), PD_OK);
            snprintf(tmp, sizeof tmp, "%s", r % 2 ? "\xc3\xa9t\xc3\xa9" : "abcde");
            assert_int_equal(pd_arrow_builder_append_bytes(b, 13, tmp, strlen(tmp)), PD_OK);
        }
        if (r == 399 || r == 899) { /* batches of 400, 500 and 100 rows */
            assert_int_equal(pd_arrow_builder_finish(b, nb == 0 ? &schema : NULL, &batches[nb]),
                             PD_OK);
            nb++;
        }
    }
    assert_int_equal(pd_arrow_builder_finish(b, NULL, &batches[nb]), PD_OK);
    nb++;
    pd_arrow_builder_free(b);
    assert_int_equal(pd_arrow_schema_copy(&schema, schema_copy), PD_OK);
    assert_int_equal(pd_arrow_stream_from_batches(&schema, batches, (size_t)nb, out), PD_OK);
}

/* All rows of a stream as text cells [row][col] (NULL = null). */
typedef struct cells {
    char **v;
    int64_t rows;
    size_t cols;
    char formats[16][32];
} cells;

static void cells_read(struct ArrowArrayStream *st, cells *out)
{
    memset(out, 0, sizeof *out);
    struct ArrowSchema s;
    assert_int_equal(st->get_schema(st, &s), 0);
    out->cols = (size_t)s.n_children;
    for (size_t c = 0; c < out->cols && c < 16; c++)
        snprintf(out->formats[c], 32, "%s", s.children[c]->format);
    size_t cap = 0;
    for (;;) {
        struct ArrowArray a;
        int rc = st->get_next(st, &a);
        if (rc)
            fail_msg("get_next: %s", st->get_last_error(st));
        if (!a.release)
            break;
        assert_int_equal(pd_arrow_array_validate(&s, &a), PD_OK);
        for (int64_t r = 0; r < a.length; r++) {
            if ((size_t)(out->rows + 1) * out->cols > cap) {
                cap = cap ? cap * 2 : 1024 * out->cols;
                out->v = realloc(out->v, cap * sizeof *out->v);
            }
            for (size_t c = 0; c < out->cols; c++) {
                char **slot = &out->v[(size_t)out->rows * out->cols + c];
                if (pd_arrow_is_null(a.children[c], r)) {
                    *slot = NULL;
                    continue;
                }
                int n = pd_arrow_get_text(s.children[c], a.children[c], r, NULL, 0);
                assert_true(n >= 0);
                *slot = malloc((size_t)n + 1);
                pd_arrow_get_text(s.children[c], a.children[c], r, *slot, (size_t)n + 1);
            }
            out->rows++;
        }
        a.release(&a);
    }
    s.release(&s);
}

static void cells_free(cells *c)
{
    for (size_t i = 0; i < (size_t)c->rows * c->cols; i++)
        free(c->v[i]);
    free(c->v);
}

static void expect_same(const cells *want, const cells *got, const char *what)
{
    assert_int_equal(want->rows, got->rows);
    assert_int_equal(want->cols, got->cols);
    for (size_t c = 0; c < want->cols; c++)
        if (strcmp(want->formats[c], got->formats[c]) != 0)
            fail_msg("%s: column %zu format %s, expected %s", what, c, got->formats[c],
                     want->formats[c]);
    for (int64_t r = 0; r < want->rows; r++)
        for (size_t c = 0; c < want->cols; c++) {
            const char *a = want->v[(size_t)r * want->cols + c];
            const char *b = got->v[(size_t)r * got->cols + c];
            if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
                fail_msg("%s: row %lld column %s: expected %.80s, got %.80s", what, (long long)r,
                         k_names[c], a ? a : "NULL", b ? b : "NULL");
        }
}

static const char *k_pg_ddl =
    "CREATE TABLE odbc_rt (id bigint PRIMARY KEY, i4 integer, i2 smallint, f8 double precision, "
    "f4 real, b boolean, t text, bin bytea, d date, ts timestamp, tstz timestamptz, "
    "dec numeric(12,3), tm time, v varchar(5))";
static const char *k_insert = "INSERT INTO odbc_rt (id, i4, i2, f8, f4, b, t, bin, d, ts, tstz, "
                              "dec, tm, v) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* the same with `n` tuples (what the dialect's multi-row INSERT gives) */
static char *insert_rows(size_t n)
{
    pd_buf b = PD_BUF_INIT;
    pd_buf_puts(&b, k_insert);
    const char *tuple = strstr(k_insert, " VALUES ") + 8;
    for (size_t i = 1; i < n; i++)
        pd_buf_printf(&b, ", %s", tuple);
    return pd_buf_detach(&b);
}

static void load_and_compare(pdi_odbc *c, const char *ddl, const char *select, const char *what)
{
    pdi_odbc_exec(c, "DROP TABLE IF EXISTS odbc_rt");
    assert_int_equal(pdi_odbc_exec(c, ddl), PD_OK);
    struct ArrowArrayStream in;
    struct ArrowSchema sch;
    make_table(&in, &sch);
    sch.release(&sch);
    int64_t rows = 0;
    /* chunks of 130 rows: 10 statements of 13 tuples, the batch tails through
     * the one-row INSERT */
    char *multi = insert_rows(13);
    int rc = pdi_odbc_load_arrow(c, k_insert, multi, 13, &in, 130, &rows);
    free(multi);
    if (rc)
        fail_msg("%s load: %s", what, pd_last_error());
    assert_int_equal(rows, NROWS);
    in.release(&in);

    /* the input as text */
    cells want;
    make_table(&in, &sch);
    sch.release(&sch);
    cells_read(&in, &want);
    in.release(&in);

    /* default batches, then small batches and rowsets crossing each other */
    int64_t shapes[][2] = {{0, 0}, {7, 3}, {100, 64}};
    for (size_t k = 0; k < 3; k++) {
        pdi_odbc_read_opts o = PDI_ODBC_READ_OPTS_INIT;
        o.batch_rows = shapes[k][0];
        o.rowset = shapes[k][1];
        struct ArrowArrayStream out;
        rc = pdi_odbc_read_arrow(c, select, &o, &out);
        if (rc)
            fail_msg("%s read: %s", what, pd_last_error());
        cells got;
        cells_read(&out, &got);
        out.release(&out);
        expect_same(&want, &got, what);
        cells_free(&got);
    }
    /* limit */
    pdi_odbc_read_opts o = PDI_ODBC_READ_OPTS_INIT;
    o.limit = 5;
    o.rowset = 2;
    struct ArrowArrayStream out;
    assert_int_equal(pdi_odbc_read_arrow(c, select, &o, &out), PD_OK);
    cells got;
    cells_read(&out, &got);
    out.release(&out);
    assert_int_equal(got.rows, 5);
    cells_free(&got);
    /* DB2-style name normalisation: upper-case names lower-cased */
    o = (pdi_odbc_read_opts)PDI_ODBC_READ_OPTS_INIT;
    o.lower_upper_names = true;
    assert_int_equal(pdi_odbc_read_arrow(c, "SELECT 1 AS \"UPPER\", 2 AS \"Mixed\"", &o, &out),
                     PD_OK);
    struct ArrowSchema ns;
    assert_int_equal(out.get_schema(&out, &ns), 0);
    assert_string_equal(ns.children[0]->name, "upper");
    assert_string_equal(ns.children[1]->name, "Mixed");
    ns.release(&ns);
    out.release(&out);
    cells_free(&want);
}

static void pg_roundtrip(void **st)
{
    (void)st;
    pdi_odbc *c = pg_connect();
    assert_string_equal(pdi_odbc_dbms_name(c), "PostgreSQL");
    load_and_compare(c, k_pg_ddl, "SELECT * FROM odbc_rt ORDER BY id", "postgres");
    pdi_odbc_close(c);
}

static int collect(void *user, int ncols, const char *const *names, const char *const *values)
{
    pd_strv *v = user;
    for (int i = 0; i < ncols; i++) {
        char *s = pd_asprintf("%s=%s", names[i], values[i] ? values[i] : "NULL");
        pd_strv_push_owned(v, s);
    }
    return 0;
}

static void pg_text_queries(void **st)
{
    (void)st;
    pdi_odbc *c = pg_connect();
    pdi_odbc_exec(c, "DROP TABLE IF EXISTS odbc_q");
    assert_int_equal(pdi_odbc_exec(c, "CREATE TABLE odbc_q (k varchar(20), n bigint, s text)"),
                     PD_OK);
    const char *ins = "INSERT INTO odbc_q (k, n, s) VALUES (?, ?, ?)";
    const char *p1[] = {"a", "1", "\xc3\xa4\xf0\x9f\x98\x80"};
    const char *p2[] = {"b", "2", NULL};
    assert_int_equal(pdi_odbc_query(c, ins, 3, p1, NULL, NULL), PD_OK);
    assert_int_equal(pdi_odbc_query(c, ins, 3, p2, NULL, NULL), PD_OK);
    pd_strv v = PD_STRV_INIT;
    const char *q[] = {"a"};
    assert_int_equal(
        pdi_odbc_query(c, "SELECT k, n, s FROM odbc_q WHERE k = ? ORDER BY k", 1, q, collect, &v),
        PD_OK);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.items[0], "k=a");
    assert_string_equal(v.items[1], "n=1");
    assert_string_equal(v.items[2], "s=\xc3\xa4\xf0\x9f\x98\x80");
    pd_strv_free(&v);
    /* the cached statement again, other value */
    const char *q2[] = {"b"};
    assert_int_equal(
        pdi_odbc_query(c, "SELECT k, n, s FROM odbc_q WHERE k = ? ORDER BY k", 1, q2, collect, &v),
        PD_OK);
    assert_string_equal(v.items[2], "s=NULL");
    pd_strv_free(&v);
    char *val = NULL;
    assert_int_equal(pdi_odbc_query_value(c, "SELECT count(*) FROM odbc_q", &val), PD_OK);
    assert_string_equal(val, "2");
    free(val);

    /* transactions */
    assert_int_equal(pdi_odbc_begin(c), PD_OK);
    assert_int_equal(pdi_odbc_exec(c, "INSERT INTO odbc_q (k, n) VALUES ('c', 3)"), PD_OK);
    assert_int_equal(pdi_odbc_rollback(c), PD_OK);
    assert_int_equal(pdi_odbc_query_value(c, "SELECT count(*) FROM odbc_q", &val), PD_OK);
    assert_string_equal(val, "2");
    free(val);
    assert_int_equal(pdi_odbc_begin(c), PD_OK);
    assert_int_equal(pdi_odbc_exec(c, "INSERT INTO odbc_q (k, n) VALUES ('c', 3)"), PD_OK);
    assert_int_equal(pdi_odbc_commit(c), PD_OK);
    assert_int_equal(pdi_odbc_query_value(c, "SELECT count(*) FROM odbc_q", &val), PD_OK);
    assert_string_equal(val, "3");
    free(val);
    pdi_odbc_close(c);
}

static void pg_load_is_one_transaction(void **st)
{
    (void)st;
    pdi_odbc *c = pg_connect();
    pdi_odbc_exec(c, "DROP TABLE IF EXISTS odbc_rt");
    assert_int_equal(pdi_odbc_exec(c, k_pg_ddl), PD_OK);
    /* row 950 duplicates a key: nothing of the load may stay */
    assert_int_equal(pdi_odbc_exec(c, "INSERT INTO odbc_rt (id) VALUES (950)"), PD_OK);
    struct ArrowArrayStream in;
    struct ArrowSchema sch;
    make_table(&in, &sch);
    sch.release(&sch);
    pdi_odbc_set_task(c, "load_orders");
    char *multi = insert_rows(8);
    int rc = pdi_odbc_load_arrow(c, k_insert, multi, 8, &in, 100, NULL);
    free(multi);
    in.release(&in);
    assert_int_equal(rc, PD_ERR_SQL);
    const char *e = pd_last_error();
    assert_non_null(strstr(e, "23505"));
    assert_non_null(strstr(e, "load_orders"));
    assert_null(strstr(e, g_password));
    pdi_odbc_set_task(c, NULL);
    char *val = NULL;
    assert_int_equal(pdi_odbc_query_value(c, "SELECT count(*) FROM odbc_rt", &val), PD_OK);
    assert_string_equal(val, "1");
    free(val);
    pdi_odbc_close(c);
}

static void pg_errors(void **st)
{
    (void)st;
    pdi_odbc *c = pg_connect();
    pdi_odbc_set_task(c, "my_task");
    assert_int_equal(pdi_odbc_exec(c, "SELECT * FROM no_such_table"), PD_ERR_SQL);
    const char *e = pd_last_error();
    print_message("SQL error: %s\n", e);
    assert_non_null(strstr(e, "42P01"));
    assert_non_null(strstr(e, "task my_task"));
    assert_non_null(strstr(e, "no_such_table"));
    struct ArrowArrayStream out;
    assert_int_equal(pdi_odbc_read_arrow(c, "SELECT x FROM no_such_table", NULL, &out), PD_ERR_SQL);
    assert_non_null(strstr(pd_last_error(), "42P01"));
    pdi_odbc_close(c);

    /* wrong password: named server, no password */
    char *url = pd_str_replace(g_pg_odbc_url, g_password, "wrong_pw_123");
    c = NULL;
    assert_int_not_equal(pdi_odbc_connect_url(url, &c), PD_OK);
    e = pd_last_error();
    print_message("wrong password: %s\n", e);
    assert_non_null(strstr(e, "28P01") ? strstr(e, "28P01") : strstr(e, "password authentication"));
    assert_null(strstr(e, "wrong_pw_123"));
    assert_non_null(strstr(e, "127.0.0.1"));
    free(url);

    /* undefined DSN */
    assert_int_equal(pdi_odbc_connect_url("odbc://u:hunter2pw@/?dsn=pd_no_such_dsn", &c),
                     PD_ERR_CONFIG);
    e = pd_last_error();
    print_message("bad DSN: %s\n", e);
    assert_non_null(strstr(e, "pd_no_such_dsn"));
    assert_non_null(strstr(e, "IM002"));
    assert_null(strstr(e, "hunter2pw"));

    /* driver not installed: named, how to install, odbcinst.ini, drivers listed */
    assert_int_equal(pdi_odbc_connect_url("mssql+pyodbc://sa:hunter2pw@127.0.0.1:1/db?driver=ODBC+"
                                          "Driver+18+for+SQL+Server",
                                          &c),
                     PD_ERR_CONFIG);
    e = pd_last_error();
    print_message("driver missing: %s\n", e);
    assert_non_null(strstr(e, "\"ODBC Driver 18 for SQL Server\""));
    assert_non_null(strstr(e, "not installed"));
    assert_non_null(strstr(e, "msodbcsql18"));
    assert_non_null(strstr(e, "odbcinst.ini"));
    assert_non_null(strstr(e, "drivers"));
    assert_null(strstr(e, "hunter2pw"));

    /* a driver path that is not there */
    assert_int_equal(pdi_odbc_connect_url("cockroachdb+odbc://u:hunter2pw@h/db?driver=/nonexistent/"
                                          "libx.so",
                                          &c),
                     PD_ERR_CONFIG);
    e = pd_last_error();
    print_message("driver path missing: %s\n", e);
    assert_non_null(strstr(e, "/nonexistent/libx.so"));
    assert_null(strstr(e, "hunter2pw"));
}

/* ------------------------------------------------------------- sqlite */

static const char *k_sqlite_ddl =
    "CREATE TABLE odbc_rt (id bigint PRIMARY KEY, i4 integer, i2 smallint, f8 double, "
    "f4 real, b bit, t text, bin blob, d date, ts timestamp, tstz text, "
    "dec numeric(12,3), tm time, v varchar(5))";

static void sqlite_roundtrip(void **st)
{
    (void)st;
    char dir[] = "/tmp/pd-odbc-sqlite-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *url =
        pd_asprintf("sqlite+odbc:///%s/t.db?driver=%s", dir, env_required("PD_TEST_SQLITEODBC"));
    pdi_odbc *c = NULL;
    if (pdi_odbc_connect_url(url, &c))
        fail_msg("sqlite connect: %s", pd_last_error());
    assert_string_equal(pdi_odbc_dbms_name(c), "SQLite");
    /* SQLite has no time zone type: the tstz column comes back as text, so
     * compare the other columns only */
    pdi_odbc_exec(c, "DROP TABLE IF EXISTS odbc_rt");
    assert_int_equal(pdi_odbc_exec(c, k_sqlite_ddl), PD_OK);
    struct ArrowArrayStream in;
    struct ArrowSchema sch;
    make_table(&in, &sch);
    sch.release(&sch);
    int64_t rows = 0;
    char *multi = insert_rows(7);
    int rc = pdi_odbc_load_arrow(c, k_insert, multi, 7, &in, 100, &rows);
    free(multi);
    in.release(&in);
    if (rc)
        fail_msg("sqlite load: %s", pd_last_error());
    assert_int_equal(rows, NROWS);
    struct ArrowArrayStream out;
    rc = pdi_odbc_read_arrow(c, "SELECT id, i4, i2, f8, t, bin, d, v FROM odbc_rt ORDER BY id",
                             NULL, &out);
    if (rc)
        fail_msg("sqlite read: %s", pd_last_error());
    cells got;
    cells_read(&out, &got);
    out.release(&out);
    assert_int_equal(got.rows, NROWS);
    assert_string_equal(got.formats[0], "l");
    assert_string_equal(got.formats[4], "u");
    for (int r = 0; r < NROWS; r++) {
        char *t = long_text(r);
        const char *g = got.v[(size_t)r * got.cols + 4];
        if (r % 10 == 7)
            assert_null(g);
        else if (!g || strcmp(g, t) != 0)
            fail_msg("sqlite row %d text: got %.60s", r, g ? g : "NULL");
        free(t);
    }
    cells_free(&got);
    pdi_odbc_close(c);
    free(url);
    char *db = pd_asprintf("%s/t.db", dir);
    unlink(db);
    free(db);
    rmdir(dir);
}

/* ------------------------------------------------------------ freetds */

static void freetds_closed_port(void **st)
{
    (void)st;
    /* a port nobody listens on: bind, learn the number, close */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    close(s);
    char *url = pd_asprintf("mssql+pyodbc://sa:hunter2pw@127.0.0.1:%d/master?driver=%s", port,
                            env_required("PD_TEST_TDSODBC"));
    setenv("PD_ODBC_LOGIN_TIMEOUT", "5", 1);
    pdi_odbc *c = NULL;
    assert_int_equal(pdi_odbc_connect_url(url, &c), PD_ERR_IO);
    const char *e = pd_last_error();
    print_message("closed port: %s\n", e);
    char ps[32];
    snprintf(ps, sizeof ps, "at 127.0.0.1:%d/master", port);
    assert_non_null(strstr(e, "libtdsodbc.so"));
    assert_non_null(strstr(e, ps));
    assert_non_null(strstr(e, "PORT="));
    assert_non_null(strstr(e, "08"));
    assert_null(strstr(e, "hunter2pw"));
    free(url);
}

static int setup(void **st)
{
    (void)st;
    char *pg = pg_test_url_required();
    g_pg_odbc_url = odbc_url_for(pg, "postgresql+odbc", "postgres");
    /* the password of the cluster URL, to check it never shows */
    const char *at = strrchr(pg, '@');
    const char *colon = strchr(strstr(pg, "://") + 3, ':');
    g_password = pd_strndup(colon + 1, (size_t)(at - colon - 1));
    free(pg);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    free(g_pg_odbc_url);
    free(g_password);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pg_roundtrip),
        cmocka_unit_test(pg_text_queries),
        cmocka_unit_test(pg_load_is_one_transaction),
        cmocka_unit_test(pg_errors),
        cmocka_unit_test(sqlite_roundtrip),
        cmocka_unit_test(freetds_closed_port),
    };
    return cmocka_run_group_tests_name("odbc/conn", tests, setup, teardown);
}
