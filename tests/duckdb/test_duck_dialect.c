/*
 * tests/duckdb/test_duck_dialect.c - the DuckDB dialect's own text
 * (store/dialect/duckdb.c): column types, catalog queries limited to the
 * store's database, indexes from duckdb_indexes(), metadata tables without
 * ART indexes - as text, and run on the real libduckdb.so.
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

#include "store/dialect/dialect.h"
#include "store/duckdb/duck.h"
#include "util/util.h"

static const pdi_dialect *D(void)
{
    return pdi_dialect_get("duckdb");
}

static void test_types(void **st)
{
    (void)st;
    char buf[64];
    static const char *const map[][2] = {
        {"c", "TINYINT"},           {"C", "UTINYINT"},
        {"L", "UBIGINT"},           {"d:38,10", "DECIMAL(38,10)"},
        {"tss:", "TIMESTAMP_S"},    {"tsm:", "TIMESTAMP_MS"},
        {"tsu:", "TIMESTAMP"},      {"tsn:", "TIMESTAMP_NS"},
        {"tsu:UTC", "TIMESTAMPTZ"}, {"ttu", "TIME"},
        {"ttn", "TIME_NS"},         {"tdD", "DATE"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *t = pdi_sql_type_for_arrow(D(), map[i][0], buf, sizeof buf);
        assert_non_null(t);
        assert_string_equal(t, map[i][1]);
    }
    /* TIMESTAMPTZ holds microseconds: a nanosecond instant is refused, not cut */
    assert_null(pdi_sql_type_for_arrow(D(), "tsn:UTC", buf, sizeof buf));
}

static int count_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)n;
    (void)names;
    (void)v;
    (*(int *)user)++;
    return 0;
}

static int collect(void *user, int n, const char *const *names, const char *const *vals)
{
    (void)names;
    pd_buf b = {0};
    for (int i = 0; i < n; i++)
        pdi_buf_printf(&b, "%s%s", i ? "|" : "", vals[i] ? vals[i] : "NULL");
    char *s = pdi_buf_detach(&b);
    return pdi_strv_push_owned(user, s ? s : pdi_strdup(""));
}

static void run(pdi_duck_conn *c, char *sql, pd_strv *out)
{
    assert_non_null(sql);
    if (pdi_duck_query(c, sql, 0, NULL, collect, out) != PD_OK)
        fail_msg("%s: %s", sql, pd_last_error());
    free(sql);
}

static void test_catalog_queries(void **st)
{
    (void)st;
    char dir[] = "/tmp/pd-duck-dialect-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = pdi_asprintf("%s/d.duckdb", dir);
    pdi_duck_open_opts o = {1, true};
    pdi_duck_db *db = NULL;
    pdi_duck_conn *c = NULL;
    assert_int_equal(pdi_duck_db_open(path, &o, &db), PD_OK);
    assert_int_equal(pdi_duck_connect(db, &c), PD_OK);
    pdi_duck_db_release(db);
    assert_int_equal(pdi_duck_exec(c, "CREATE SCHEMA s; CREATE TABLE s.t (id INT, \"b c\" INT); "
                                      "CREATE VIEW s.v AS SELECT * FROM s.t; CREATE TEMP "
                                      "TABLE t (x INT)"),
                     PD_OK);
    char *ddl = pdi_sql_add_primary_key(D(), "s", "t", (const char *[]){"id"}, 1);
    assert_int_equal(pdi_duck_exec(c, ddl), PD_OK);
    free(ddl);
    ddl = pdi_sql_create_index(D(), "s", "t", (const char *[]){"b c", "id"}, 2);
    assert_int_equal(pdi_duck_exec(c, ddl), PD_OK);
    free(ddl);

    /* schemas: ours only (not main, information_schema, pg_catalog, temp) */
    pd_strv v = {0};
    run(c, pdi_sql_list_schemas(D()), &v);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.items[0], "s");
    pdi_strv_free(&v);
    run(c, pdi_sql_list_objects(D(), "s"), &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.items[0], "t");
    assert_string_equal(v.items[1], "v");
    pdi_strv_free(&v);
    run(c, pdi_sql_list_relations(D(), "s"), &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.items[0], "t|TABLE");
    assert_string_equal(v.items[1], "v|VIEW");
    pdi_strv_free(&v);
    /* the temp table "main"."t" is not a table of schema main of the store */
    run(c, pdi_sql_list_objects(D(), "main"), &v);
    assert_int_equal(v.n, 0);
    char *q = pdi_sql_table_exists(D(), "s");
    int n = 0;
    const char *p[1] = {"v"};
    assert_int_equal(pdi_duck_query(c, q, 1, p, count_row, &n), PD_OK);
    assert_int_equal(n, 1);
    p[0] = "nope";
    n = 0;
    assert_int_equal(pdi_duck_query(c, q, 1, p, count_row, &n), PD_OK);
    assert_int_equal(n, 0);
    free(q);
    run(c, pdi_sql_list_columns(D(), "s", "t"), &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.items[1], "b c");
    pdi_strv_free(&v);
    /* indexes: one row per column, in order, quotes removed */
    run(c, pdi_sql_list_indexes(D(), "s", "t"), &v);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.items[0], "idx_t_b c_id|false|false|b c");
    assert_string_equal(v.items[1], "idx_t_b c_id|false|false|id");
    assert_string_equal(v.items[2], "pk_t_id|true|false|id");
    pdi_strv_free(&v);

    /* metadata tables: no primary key, no lookup indexes (DuckDB's ART
     * indexes fail deletes after a WAL replay) */
    char **m = pdi_sql_metadata_ddl(D(), "pipedag_metadata");
    assert_non_null(m);
    assert_int_equal(pdi_duck_exec(c, "CREATE SCHEMA pipedag_metadata"), PD_OK);
    for (size_t i = 0; m[i]; i++) {
        assert_null(strstr(m[i], "PRIMARY KEY"));
        assert_null(strstr(m[i], "CREATE INDEX"));
        assert_int_equal(pdi_duck_exec(c, m[i]), PD_OK);
    }
    pdi_sql_strv_free(m);
    run(c,
        pdi_strdup("SELECT count(*) FROM duckdb_indexes() WHERE schema_name = 'pipedag_metadata'"),
        &v);
    assert_string_equal(v.items[0], "0");
    pdi_strv_free(&v);
    pdi_duck_disconnect(c);
    free(path);
    pdi_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_catalog_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
