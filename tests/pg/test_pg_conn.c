/*
 * tests/pg/test_pg_conn.c - the libpq connector against the private test
 * cluster: URL parsing, Arrow round trips of every mapped type through
 * binary COPY, server-side text of loaded values, create_database, and
 * error messages (refused, bad password, missing database, SQL errors with
 * SQLSTATE) that name the server but never the password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pg_test_util.h"
#include "pipedag/arrow.h"
#include "pipedag/common.h"
#include "store/dialect/dialect.h"
#include "store/postgres/libpq.h"

#include <sys/wait.h>
#include <unistd.h>

static char *g_url;

static pdi_pg *connect_ok(void)
{
    pdi_pg *c = NULL;
    int rc = pdi_pg_connect(g_url, false, &c);
    if (rc)
        fail_msg("connect: %s", pd_last_error());
    return c;
}

static void test_url_parse(void **st)
{
    (void)st;
    pdi_pg_url u;
    assert_int_equal(pdi_pg_url_parse("postgresql+psycopg2://us%40r:p%3Aw@@db.example:6543/my%20db?"
                                      "sslmode=disable&connect_timeout=5",
                                      &u),
                     PD_OK);
    assert_string_equal(u.user, "us@r");
    assert_string_equal(u.password, "p:w@");
    assert_string_equal(u.host, "db.example");
    assert_string_equal(u.port, "6543");
    assert_string_equal(u.dbname, "my db");
    assert_int_equal(u.n_opts, 2);
    assert_string_equal(u.opt_keys[0], "sslmode");
    assert_string_equal(u.opt_values[0], "disable");
    assert_string_equal(u.opt_keys[1], "connect_timeout");
    assert_string_equal(u.opt_values[1], "5");
    pdi_pg_url_clear(&u);

    assert_int_equal(pdi_pg_url_parse("postgres://[::1]:5433/x", &u), PD_OK);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "5433");
    assert_null(u.user);
    assert_null(u.password);
    pdi_pg_url_clear(&u);

    assert_int_equal(pdi_pg_url_parse("postgresql:///localdb", &u), PD_OK);
    assert_null(u.host);
    assert_string_equal(u.dbname, "localdb");
    pdi_pg_url_clear(&u);

    assert_int_equal(pdi_pg_url_parse("mysql://a:b@h/db", &u), PD_ERR_CONFIG);
    assert_int_equal(pdi_pg_url_parse("postgresql://h:12x/db", &u), PD_ERR_CONFIG);
}

/* Builder table with every mapped type; row 2 all NULL. */
static void make_table(struct ArrowArrayStream *out)
{
    static const struct {
        const char *name, *fmt;
    } cols[] = {{"id", "l"},  {"i8", "c"},       {"i16", "s"},         {"i32", "i"},
                {"u8", "C"},  {"u16", "S"},      {"u32", "I"},         {"u64", "L"},
                {"f32", "f"}, {"f64", "g"},      {"b", "b"},           {"s", "u"},
                {"bin", "z"}, {"d", "tdD"},      {"ts", "tsu:"},       {"tstz", "tsu:UTC"},
                {"t", "ttu"}, {"dec", "d:12,3"}, {"bigdec", "d:38,10"}};
    static const char *rows[][19] = {
        {"1", "-128", "-32768", "-2147483648", "255", "65535", "4294967295", "18446744073709551615",
         "1.5", "-2.25e300", "true", "héllo \"q\" \\ tab\t", "00ff10", "1969-07-20",
         "1999-12-31 23:59:59.999999", "2024-02-29 12:00:00.5", "23:59:59.000001", "-123456789.123",
         "-1234567890123456789012345678.0123456789"},
        {"2", "127", "32767", "2147483647", "0", "0", "0", "0", "-0", "0", "false", "", "",
         "2000-01-01", "2000-01-01 00:00:00", "1970-01-01 00:00:00", "00:00:00", "0.001",
         "0.0000000001"},
        {"3", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL},
        {"4", "7", "7", "7", "7", "7", "7", "9223372036854775808", "inf", "nan", "true",
         "\xe2\x82\xac", "41", "2262-04-11", "1677-09-21 00:12:44", "9999-12-31 23:59:59",
         "12:34:56.5", "10000", "99999999999999999999999999.9999999999"},
    };
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    size_t nc = sizeof cols / sizeof cols[0];
    for (size_t c = 0; c < nc; c++)
        assert_int_equal(pd_arrow_builder_add_column(b, cols[c].name, cols[c].fmt, 1), PD_OK);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (size_t c = 0; c < nc; c++) {
            const char *v = rows[r][c];
            int rc;
            if (!v)
                rc = pd_arrow_builder_append_null(b, c);
            else if (!strcmp(cols[c].fmt, "z")) {
                uint8_t bytes[16];
                size_t n = strlen(v) / 2;
                for (size_t i = 0; i < n; i++) {
                    unsigned x;
                    sscanf(v + 2 * i, "%2x", &x);
                    bytes[i] = (uint8_t)x;
                }
                rc = pd_arrow_builder_append_bytes(b, c, bytes, n);
            } else if (!strcmp(cols[c].fmt, "u") || cols[c].fmt[0] == 'd')
                rc = pd_arrow_builder_append_bytes(b, c, v, strlen(v));
            else
                rc = pd_arrow_builder_append_bytes(b, c, v, strlen(v));
            if (rc)
                fail_msg("row %zu col %s: %s", r, cols[c].name, pd_last_error());
        }
    struct ArrowSchema s;
    struct ArrowArray a;
    assert_int_equal(pd_arrow_builder_finish(b, &s, &a), PD_OK);
    pd_arrow_builder_free(b);
    assert_int_equal(pd_arrow_stream_from_batches(&s, &a, 1, out), PD_OK);
}

/* Collect one stream into a single batch (tests use small tables). */
static void read_all(struct ArrowArrayStream *st, struct ArrowSchema *s, struct ArrowArray *a)
{
    assert_int_equal(st->get_schema(st, s), 0);
    memset(a, 0, sizeof *a);
    struct ArrowArray tmp;
    int got = 0;
    for (;;) {
        assert_int_equal(st->get_next(st, &tmp), 0);
        if (!tmp.release)
            break;
        if (!got || a->length == 0) {
            if (got)
                a->release(a);
            *a = tmp;
            got = 1;
        } else {
            assert_int_equal(tmp.length, 0);
            tmp.release(&tmp);
        }
    }
    assert_true(got);
}

static void
text_of(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, char *buf, size_t cap)
{
    if (pd_arrow_is_null(a, i))
        snprintf(buf, cap, "NULL");
    else
        assert_true(pd_arrow_get_text(s, a, i, buf, cap) >= 0);
}

/* CREATE TABLE from the dialect's type map (when create) + binary COPY,
 * in one transaction - what the store's Arrow hook does. */
static int load(pdi_pg *c,
                const char *schema,
                const char *table,
                struct ArrowArrayStream *in,
                bool create,
                bool unlogged,
                int64_t *rows)
{
    struct ArrowSchema sch;
    if (in->get_schema(in, &sch))
        return PD_ERR_INVALID;
    char *ddl = pdi_sql_create_table_arrow(&pdi_dialect_postgres, schema, table, &sch, unlogged);
    char *copy = pdi_sql_pg_copy_in(schema, table, &sch);
    sch.release(&sch);
    int rc = ddl && copy ? pdi_pg_begin(c) : PD_ERR_NOMEM;
    if (rc == PD_OK && create)
        rc = pdi_pg_exec(c, ddl);
    if (rc == PD_OK)
        rc = pdi_pg_load_arrow(c, copy, table, in, rows);
    if (rc == PD_OK)
        rc = pdi_pg_commit(c);
    else
        pdi_pg_rollback(c);
    free(ddl);
    free(copy);
    return rc;
}

static void test_roundtrip(void **st)
{
    (void)st;
    pdi_pg *c = connect_ok();
    assert_int_equal(pdi_pg_exec(c, "DROP SCHEMA IF EXISTS pdt_rt CASCADE; CREATE SCHEMA pdt_rt"),
                     PD_OK);
    struct ArrowArrayStream in;
    make_table(&in);
    int64_t rows = 0;
    int rc = load(c, "pdt_rt", "all_types", &in, true, false, &rows);
    in.release(&in);
    if (rc)
        fail_msg("load: %s", pd_last_error());
    assert_int_equal(rows, 4);

    /* Postgres types chosen for each Arrow type */
    char *v = NULL;
    assert_int_equal(
        pdi_pg_query_value(c,
                           "SELECT string_agg(column_name || ':' || "
                           "format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM "
                           "pg_attribute a JOIN information_schema.columns ic ON "
                           "ic.table_schema='pdt_rt' AND ic.table_name='all_types' AND "
                           "ic.column_name=a.attname WHERE attrelid='pdt_rt.all_types'::regclass "
                           "AND attnum>0",
                           &v),
        PD_OK);
    assert_string_equal(
        v, "id:bigint,i8:smallint,i16:smallint,i32:integer,u8:smallint,u16:integer,u32:bigint,"
           "u64:numeric(20,0),f32:real,f64:double precision,b:boolean,s:text,bin:bytea,d:date,"
           "ts:timestamp without time zone,tstz:timestamp with time zone,t:time without time "
           "zone,dec:numeric(12,3),bigdec:numeric(38,10)");
    free(v);

    /* server-side text of the binary-loaded values */
    assert_int_equal(pdi_pg_exec(c, "SET TIME ZONE 'UTC'"), PD_OK);
    assert_int_equal(pdi_pg_query_value(c,
                                        "SELECT concat_ws('|', u64, f64, s, encode(bin,'hex'), d, "
                                        "ts, tstz, t, dec, bigdec) FROM pdt_rt.all_types WHERE "
                                        "id=1",
                                        &v),
                     PD_OK);
    assert_string_equal(v, "18446744073709551615|-2.25e+300|héllo \"q\" \\ tab\t|00ff10|1969-07-20|"
                           "1999-12-31 23:59:59.999999|2024-02-29 12:00:00.5+00|23:59:59.000001|"
                           "-123456789.123|-1234567890123456789012345678.0123456789");
    free(v);
    assert_int_equal(pdi_pg_query_value(c,
                                        "SELECT concat_ws('|', dec, bigdec, f32, u64) FROM "
                                        "pdt_rt.all_types WHERE id=2",
                                        &v),
                     PD_OK);
    assert_string_equal(v, "0.001|0.0000000001|-0|0");
    free(v);
    assert_int_equal(pdi_pg_query_value(c,
                                        "SELECT count(*) FROM pdt_rt.all_types WHERE id=3 AND "
                                        "num_nulls(i8,i16,i32,u8,u16,u32,u64,f32,f64,b,s,bin,"
                                        "d,ts,tstz,t,dec,bigdec)=18",
                                        &v),
                     PD_OK);
    assert_string_equal(v, "1");
    free(v);

    /* read back through binary COPY and compare value texts */
    struct ArrowArrayStream back;
    rc = pdi_pg_read_arrow(c, "SELECT * FROM pdt_rt.all_types ORDER BY id", &back);
    if (rc)
        fail_msg("read: %s", pd_last_error());
    struct ArrowSchema s2;
    struct ArrowArray a2;
    read_all(&back, &s2, &a2);
    back.release(&back);
    struct ArrowArrayStream in2;
    make_table(&in2);
    struct ArrowSchema s1;
    struct ArrowArray a1;
    read_all(&in2, &s1, &a1);
    in2.release(&in2);
    assert_int_equal(a2.length, 4);
    assert_int_equal(s2.n_children, s1.n_children);
    for (int64_t k = 0; k < s1.n_children; k++) {
        assert_string_equal(s2.children[k]->name, s1.children[k]->name);
        for (int64_t i = 0; i < a1.length; i++) {
            char t1[256], t2[256];
            text_of(s1.children[k], a1.children[k], i, t1, sizeof t1);
            text_of(s2.children[k], a2.children[k], i, t2, sizeof t2);
            if (strcmp(t1, t2) != 0)
                fail_msg("column %s row %lld: wrote %s read %s (format %s -> %s)",
                         s1.children[k]->name, (long long)i, t1, t2, s1.children[k]->format,
                         s2.children[k]->format);
        }
    }
    a1.release(&a1);
    s1.release(&s1);
    a2.release(&a2);
    s2.release(&s2);

    /* limit, expressions, unknown types read as text, empty results */
    rc = pdi_pg_read_arrow(c,
                           "SELECT id, interval '1 day' AS iv, sum(i32) OVER () AS s, "
                           "'{\"a\": 1}'::jsonb AS j, "
                           "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u FROM "
                           "pdt_rt.all_types ORDER BY id LIMIT 2",
                           &back);
    if (rc)
        fail_msg("read: %s", pd_last_error());
    read_all(&back, &s2, &a2);
    back.release(&back);
    assert_int_equal(a2.length, 2);
    char t[128];
    text_of(s2.children[1], a2.children[1], 0, t, sizeof t);
    assert_string_equal(t, "1 day");
    text_of(s2.children[3], a2.children[3], 0, t, sizeof t);
    assert_string_equal(t, "{\"a\": 1}");
    text_of(s2.children[4], a2.children[4], 1, t, sizeof t);
    assert_string_equal(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    a2.release(&a2);
    s2.release(&s2);

    rc = pdi_pg_read_arrow(c, "SELECT * FROM pdt_rt.all_types WHERE false ;\n", &back);
    assert_int_equal(rc, PD_OK);
    read_all(&back, &s2, &a2);
    back.release(&back);
    assert_int_equal(a2.length, 0);
    assert_int_equal(s2.n_children, 19);
    a2.release(&a2);
    s2.release(&s2);

    /* a failing load (duplicate table) rolls back and leaves the session usable */
    make_table(&in);
    rc = load(c, "pdt_rt", "all_types", &in, true, false, &rows);
    in.release(&in);
    assert_int_equal(rc, PD_ERR_SQL);
    assert_non_null(strstr(pd_last_error(), "42P07"));
    assert_int_equal(pdi_pg_query_value(c, "SELECT count(*) FROM pdt_rt.all_types", &v), PD_OK);
    assert_string_equal(v, "4");
    free(v);
    /* unlogged + load into an existing table */
    make_table(&in);
    assert_int_equal(load(c, "pdt_rt", "u", &in, true, true, &rows), PD_OK);
    in.release(&in);
    assert_int_equal(pdi_pg_query_value(c,
                                        "SELECT relpersistence FROM pg_class WHERE "
                                        "oid='pdt_rt.u'::regclass",
                                        &v),
                     PD_OK);
    assert_string_equal(v, "u");
    free(v);
    make_table(&in);
    assert_int_equal(load(c, "pdt_rt", "u", &in, false, false, &rows), PD_OK);
    in.release(&in);
    assert_int_equal(pdi_pg_query_value(c, "SELECT count(*) FROM pdt_rt.u", &v), PD_OK);
    assert_string_equal(v, "8");
    free(v);
    assert_int_equal(pdi_pg_exec(c, "DROP SCHEMA pdt_rt CASCADE"), PD_OK);
    pdi_pg_close(c);
}

/* Several batches, sliced arrays (non-zero offsets). */
static void test_many_batches(void **st)
{
    (void)st;
    pdi_pg *c = connect_ok();
    assert_int_equal(pdi_pg_exec(c, "DROP SCHEMA IF EXISTS pdt_mb CASCADE; CREATE SCHEMA pdt_mb"),
                     PD_OK);
    pd_arrow_builder *b = NULL;
    assert_int_equal(pd_arrow_builder_new(&b), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "x", "l", 0), PD_OK);
    assert_int_equal(pd_arrow_builder_add_column(b, "s", "u", 1), PD_OK);
    struct ArrowArray batches[3];
    struct ArrowSchema s;
    int64_t x = 0;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 50000; i++, x++) {
            assert_int_equal(pd_arrow_builder_append_int(b, 0, x), PD_OK);
            char buf[32];
            int n = snprintf(buf, sizeof buf, "v%lld", (long long)x);
            if (x % 7 == 0)
                assert_int_equal(pd_arrow_builder_append_null(b, 1), PD_OK);
            else
                assert_int_equal(pd_arrow_builder_append_bytes(b, 1, buf, (size_t)n), PD_OK);
        }
        assert_int_equal(pd_arrow_builder_finish(b, k == 2 ? &s : NULL, &batches[k]), PD_OK);
    }
    pd_arrow_builder_free(b);
    /* slice the middle batch: skip its first 10 rows */
    batches[1].offset += 10;
    batches[1].length -= 10;
    batches[1].null_count = -1;
    struct ArrowArrayStream in;
    assert_int_equal(pd_arrow_stream_from_batches(&s, batches, 3, &in), PD_OK);
    int64_t rows = 0;
    int rc = load(c, "pdt_mb", "t", &in, true, false, &rows);
    in.release(&in);
    if (rc)
        fail_msg("%s", pd_last_error());
    assert_int_equal(rows, 149990);
    char *v = NULL;
    assert_int_equal(pdi_pg_query_value(c,
                                        "SELECT count(*) || ',' || sum(x) || ',' || count(s) || "
                                        "',' || bool_and(s = 'v' || x) FROM pdt_mb.t",
                                        &v),
                     PD_OK);
    /* sum 0..149999 minus 50000..50009 */
    long long sum = 149999LL * 150000 / 2 - (50000LL * 10 + 45);
    long long nonnull = 0;
    for (long long i = 0; i < 150000; i++)
        if (!(i >= 50000 && i < 50010) && i % 7)
            nonnull++;
    char want[128];
    snprintf(want, sizeof want, "149990,%lld,%lld,true", sum, nonnull);
    assert_string_equal(v, want);
    free(v);
    assert_int_equal(pdi_pg_exec(c, "DROP SCHEMA pdt_mb CASCADE"), PD_OK);
    pdi_pg_close(c);
}

static const char *PW = "pdtest_pw_4711";

static void no_password(const char *msg)
{
    if (strstr(msg, PW) || strstr(msg, "wrong_secret_pw"))
        fail_msg("password leaked: %s", msg);
}

static void test_errors(void **st)
{
    (void)st;
    pdi_pg *c = NULL;
    /* bad password */
    char *bad = strdup(g_url);
    char *p = strstr(bad, PW);
    assert_non_null(p);
    char *badurl = malloc(strlen(bad) + 32);
    *p = '\0';
    sprintf(badurl, "%swrong_secret_pw%s", bad, p + strlen(PW));
    int rc = pdi_pg_connect(badurl, false, &c);
    assert_int_equal(rc, PD_ERR_IO);
    assert_null(c);
    const char *m = pd_last_error();
    assert_non_null(strstr(m, "password authentication failed"));
    assert_non_null(strstr(m, "127.0.0.1:"));
    no_password(m);
    free(badurl);
    free(bad);

    /* missing database (and no password in that message either) */
    char *missing = pg_test_url_db(g_url, "pdt_no_such_db");
    rc = pdi_pg_connect(missing, false, &c);
    assert_int_equal(rc, PD_ERR_NOT_FOUND);
    m = pd_last_error();
    assert_non_null(strstr(m, "/pdt_no_such_db"));
    assert_non_null(strstr(m, "does not exist"));
    no_password(m);
    free(missing);

    /* connection refused: a port nobody listens on */
    rc = pdi_pg_connect(
        "postgresql://pdtest:wrong_secret_pw@127.0.0.1:1/postgres?connect_timeout=5", false, &c);
    assert_int_equal(rc, PD_ERR_IO);
    m = pd_last_error();
    assert_non_null(strstr(m, "127.0.0.1:1/postgres"));
    no_password(m);

    /* invalid libpq option passed through */
    char *opt = malloc(strlen(g_url) + 32);
    sprintf(opt, "%s?no_such_option=1", g_url);
    rc = pdi_pg_connect(opt, false, &c);
    assert_int_not_equal(rc, PD_OK);
    no_password(pd_last_error());
    free(opt);

    /* SQL error: SQLSTATE, server and task named; password never */
    c = connect_ok();
    pdi_pg_set_task(c, "my_task");
    rc = pdi_pg_exec(c, "SELECT * FROM pdt_missing_table");
    assert_int_equal(rc, PD_ERR_SQL);
    m = pd_last_error();
    assert_non_null(strstr(m, "42P01"));
    assert_non_null(strstr(m, "my_task"));
    assert_non_null(strstr(m, "127.0.0.1:"));
    no_password(m);
    /* a statement echoing the password in its error text is scrubbed */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT '%s'::int", PW);
    rc = pdi_pg_exec(c, sql);
    assert_int_equal(rc, PD_ERR_SQL);
    assert_non_null(strstr(pd_last_error(), "22P02"));
    no_password(pd_last_error());
    pdi_pg_close(c);
}

/* Password from PGPASSWORD or a pgpass file when the URL has none. */
static void test_password_sources(void **st)
{
    (void)st;
    pdi_pg_url u;
    assert_int_equal(pdi_pg_url_parse(g_url, &u), PD_OK);
    char url[512];
    snprintf(url, sizeof url, "postgresql://%s@%s:%s/%s", u.user, u.host, u.port, u.dbname);
    pdi_pg *c = NULL;
    setenv("PGPASSFILE", "/nonexistent/pgpass", 1);
    setenv("PGPASSWORD", u.password, 1);
    assert_int_equal(pdi_pg_connect(url, false, &c), PD_OK);
    pdi_pg_close(c);
    unsetenv("PGPASSWORD");
    c = NULL;
    assert_int_equal(pdi_pg_connect(url, false, &c), PD_ERR_IO);
    char path[] = "/tmp/pd_pgpass_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char line[512];
    int n = snprintf(line, sizeof line, "%s:%s:*:%s:%s\n", u.host, u.port, u.user, u.password);
    assert_int_equal(write(fd, line, (size_t)n), n);
    close(fd);
    setenv("PGPASSFILE", path, 1);
    assert_int_equal(pdi_pg_connect(url, false, &c), PD_OK);
    pdi_pg_close(c);
    unsetenv("PGPASSFILE");
    unlink(path);
    pdi_pg_url_clear(&u);
}

static void test_create_database(void **st)
{
    (void)st;
    pdi_pg *c = connect_ok();
    assert_int_equal(pdi_pg_exec(c, "DROP DATABASE IF EXISTS pdt_created"), PD_OK);
    char *url = pg_test_url_db(g_url, "pdt_created");
    /* two processes create it at the same time: both must succeed */
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            pdi_pg *cc = NULL;
            int rc = pdi_pg_connect(url, true, &cc);
            if (rc)
                fprintf(stderr, "child: %s\n", pd_last_error());
            pdi_pg_close(cc);
            _exit(rc ? 1 : 0);
        }
    }
    for (int k = 0; k < 3; k++) {
        int status = 0;
        waitpid(kids[k], &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    pdi_pg *c2 = NULL;
    assert_int_equal(pdi_pg_connect(url, false, &c2), PD_OK);
    char *v = NULL;
    assert_int_equal(pdi_pg_query_value(c2, "SELECT current_database()", &v), PD_OK);
    assert_string_equal(v, "pdt_created");
    free(v);
    pdi_pg_close(c2);
    assert_int_equal(pdi_pg_exec(c, "DROP DATABASE pdt_created"), PD_OK);
    free(url);
    pdi_pg_close(c);
}

int main(void)
{
    g_url = pg_test_url_required();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),       cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_many_batches),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_create_database), cmocka_unit_test(test_password_sources),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_url);
    return r;
}
