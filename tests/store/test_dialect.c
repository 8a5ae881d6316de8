/*
 * tests/store/test_dialect.c - SQL text written by every dialect
 * (quoting, CTAS incl. the MSSQL SELECT INTO splice, PK/index names with the
 * 63-char rule, metadata DDL and statements, the one Arrow->SQL type map,
 * the statements only one backend runs, SQL text rewrites).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "store/dialect/dialect.h"
#include "store/store.h"
#include "util/util.h"

#define CHECK_SQL(expr, expected)          \
    do {                                   \
        char *s_ = (expr);                 \
        assert_non_null(s_);               \
        assert_string_equal(s_, expected); \
        free(s_);                          \
    } while (0)

static void test_lookup(void **st)
{
    (void)st;
    assert_int_equal(pdi_dialect_get("sqlite")->id, PDI_DIALECT_SQLITE);
    assert_int_equal(pdi_dialect_get("postgres")->id, PDI_DIALECT_POSTGRES);
    assert_int_equal(pdi_dialect_get("ibm_db_sa")->id, PDI_DIALECT_DB2);
    assert_int_equal(pdi_dialect_get("whatever")->id, PDI_DIALECT_POSTGRES);
    assert_string_equal(pdi_dialect_get("duckdb")->name, "duckdb");
    assert_true(pdi_dialect_get("sqlite")->pk_as_unique_index);
}

static void test_quote(void **st)
{
    (void)st;
    CHECK_SQL(pdi_sql_quote(pdi_dialect_get("postgresql"), "a\"b"), "\"a\"\"b\"");
    CHECK_SQL(pdi_sql_quote(pdi_dialect_get("mssql"), "a]b"), "[a]]b]");
    CHECK_SQL(pdi_sql_qualified(pdi_dialect_get("duckdb"), "s", "t"), "\"s\".\"t\"");
    CHECK_SQL(pdi_sql_physical_schema("pd_", "stage_1__tmp", "_x"), "pd_stage_1__tmp_x");
    CHECK_SQL(pdi_sql_physical_schema(NULL, "s", NULL), "s");
}

static void test_schema_ddl(void **st)
{
    (void)st;
    const pdi_dialect *pg = pdi_dialect_get("postgresql");
    CHECK_SQL(pdi_sql_create_schema(pg, "s"), "CREATE SCHEMA IF NOT EXISTS \"s\"");
    CHECK_SQL(pdi_sql_drop_schema(pg, "s"), "DROP SCHEMA IF EXISTS \"s\" CASCADE");
    CHECK_SQL(pdi_sql_rename_schema(pg, "a", "b"), "ALTER SCHEMA \"a\" RENAME TO \"b\"");
    CHECK_SQL(pdi_sql_create_schema(pdi_dialect_get("mssql"), "s"),
              "IF NOT EXISTS (SELECT * FROM sys.schemas WHERE name = 's') EXEC('CREATE SCHEMA "
              "[s]')");
    CHECK_SQL(pdi_sql_drop_schema(pdi_dialect_get("db2"), "S"),
              "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42704' BEGIN END; EXECUTE "
              "IMMEDIATE 'DROP SCHEMA \"S\" RESTRICT'; END");
    CHECK_SQL(pdi_sql_create_schema(pdi_dialect_get("snowflake"), "s"),
              "CREATE SCHEMA IF NOT EXISTS \"s\"");
}

static void test_ctas(void **st)
{
    (void)st;
    CHECK_SQL(pdi_sql_ctas(pdi_dialect_get("postgresql"), "s", "t", "SELECT 1 AS a", false),
              "CREATE TABLE \"s\".\"t\" AS SELECT 1 AS a");
    CHECK_SQL(pdi_sql_ctas(pdi_dialect_get("postgresql"), "s", "t", "SELECT 1 AS a", true),
              "CREATE UNLOGGED TABLE \"s\".\"t\" AS SELECT 1 AS a");
    CHECK_SQL(pdi_sql_ctas(pdi_dialect_get("sqlite"), "s", "t", "SELECT 1 AS a", true),
              "CREATE TABLE \"s\".\"t\" AS SELECT 1 AS a");
    CHECK_SQL(pdi_sql_ctas(pdi_dialect_get("sqlite"), "s", "t", "SELECT 1 AS a", false),
              "CREATE TABLE \"s\".\"t\" AS SELECT 1 AS a");
    /* DB2: definition, then the rows by LOAD FROM cursor (PIPEDAG_SEMANTICS.md §5.3);
     * the full text is in tests/odbc/test_odbc_dialects.c */
    CHECK_SQL(pdi_sql_ctas(pdi_dialect_get("db2"), "s", "t", "SELECT 'a' AS a FROM x", false),
              "CREATE TABLE \"s\".\"t\" AS (SELECT 'a' AS a FROM x) DEFINITION ONLY;\n"
              "CALL SYSPROC.ADMIN_CMD('LOAD FROM (SELECT ''a'' AS a FROM x) OF CURSOR REPLACE "
              "RESETDICTIONARY INTO \"s\".\"t\" STATISTICS YES NONRECOVERABLE')");
    CHECK_SQL(
        pdi_sql_ctas(pdi_dialect_get("mssql"), "s", "t", "SELECT a, b FROM x WHERE a=1", false),
        "SELECT a, b INTO [s].[t] FROM x WHERE a=1");
    /* FROM inside parentheses, strings, brackets and quotes is skipped */
    CHECK_SQL(pdi_sql_mssql_splice_into(
                  "SELECT (SELECT max(y) FROM z) AS m, 'from' AS [from x], \"from\" FROM t", "T"),
              "SELECT (SELECT max(y) FROM z) AS m, 'from' AS [from x], \"from\" INTO T FROM t");
    CHECK_SQL(pdi_sql_mssql_splice_into("SELECT 1 AS fromage;", "T"), "SELECT 1 AS fromage INTO T");
    CHECK_SQL(pdi_sql_mssql_splice_into("SELECT 1 -- from\n UNION SELECT 2", "T"),
              "SELECT 1 -- from\n INTO T UNION SELECT 2");
    CHECK_SQL(pdi_sql_mssql_splice_into("select a\nfrom t order by a", "T"),
              "select a\n INTO T from t order by a");
}

static void test_tables(void **st)
{
    (void)st;
    const pdi_dialect *pg = pdi_dialect_get("postgresql");
    CHECK_SQL(pdi_sql_drop_table(pg, "s", "t"), "DROP TABLE IF EXISTS \"s\".\"t\"");
    CHECK_SQL(pdi_sql_drop_view(pg, "s", "v"), "DROP VIEW IF EXISTS \"s\".\"v\"");
    CHECK_SQL(pdi_sql_drop_table(pdi_dialect_get("db2"), "s", "t"), "DROP TABLE \"s\".\"t\"");
    CHECK_SQL(pdi_sql_rename_table(pg, "s", "a", "b"), "ALTER TABLE \"s\".\"a\" RENAME TO \"b\"");
    CHECK_SQL(pdi_sql_rename_table(pdi_dialect_get("mssql"), "s", "a", "b"),
              "EXEC sp_rename '[s].[a]', 'b'");
    CHECK_SQL(pdi_sql_rename_table(pdi_dialect_get("db2"), "s", "a", "b"),
              "RENAME \"s\".\"a\" TO \"b\"");
    CHECK_SQL(pdi_sql_rename_table(pdi_dialect_get("snowflake"), "s", "a", "b"),
              "ALTER TABLE \"s\".\"a\" RENAME TO \"s\".\"b\"");
    CHECK_SQL(pdi_sql_create_view(pg, "s", "v", "SELECT 1"), "CREATE VIEW \"s\".\"v\" AS SELECT 1");
    CHECK_SQL(pdi_sql_insert_select(pdi_dialect_get("mssql"), "s", "t", "SELECT 1"),
              "INSERT INTO [s].[t] WITH(TABLOCKX) SELECT 1");
    CHECK_SQL(pdi_sql_limit(pg, "SELECT * FROM t", 5),
              "SELECT * FROM (SELECT * FROM t) AS pd_limit_sub LIMIT 5");
    CHECK_SQL(pdi_sql_limit(pdi_dialect_get("mssql"), "SELECT * FROM t", 5),
              "SELECT TOP 5 * FROM (SELECT * FROM t) AS pd_limit_sub");
    CHECK_SQL(pdi_sql_limit(pdi_dialect_get("db2"), "SELECT * FROM t", 5),
              "SELECT * FROM (SELECT * FROM t) AS pd_limit_sub FETCH FIRST 5 ROWS ONLY");
    CHECK_SQL(pdi_sql_list_objects(pg, "s"),
              "SELECT table_name FROM information_schema.tables WHERE table_schema = 's' ORDER "
              "BY table_name");
}

/* View shapes: the select text per dialect, and the shape's JSON forms. */
static void test_view_shape(void **st)
{
    (void)st;
    const char *names[2] = {"key", "b"}, *srcs[2] = {"id", "b"};
    pdi_sql_sort so[2] = {{"score", true, false}, {"id", false, true}};
    CHECK_SQL(pdi_sql_shaped_select(pdi_dialect_get("postgresql"), "\"s\".\"t\"", names, srcs, 2,
                                    so, 2, 4),
              "SELECT \"id\" AS \"key\", \"b\" AS \"b\" FROM \"s\".\"t\" ORDER BY \"score\" DESC "
              "NULLS LAST, \"id\" ASC NULLS FIRST LIMIT 4");
    CHECK_SQL(pdi_sql_shaped_select(pdi_dialect_get("sqlite"), "x", NULL, NULL, 0, NULL, 0, 2),
              "SELECT * FROM x LIMIT 2");
    CHECK_SQL(pdi_sql_shaped_select(pdi_dialect_get("db2"), "x", NULL, NULL, 0, so, 1, 3),
              "SELECT * FROM x ORDER BY \"score\" DESC NULLS LAST FETCH FIRST 3 ROWS ONLY");
    CHECK_SQL(pdi_sql_shaped_select(pdi_dialect_get("mssql"), "x", names, srcs, 1, so, 2, 3),
              "SELECT TOP 3 [id] AS [key] FROM x ORDER BY CASE WHEN [score] IS NULL THEN 1 ELSE 0 "
              "END, [score] DESC, CASE WHEN [id] IS NULL THEN 0 ELSE 1 END, [id] ASC");
    CHECK_SQL(pdi_sql_shaped_select(pdi_dialect_get("mssql"), "x", NULL, NULL, 0, so, 1, -1),
              "SELECT * FROM x ORDER BY CASE WHEN [score] IS NULL THEN 1 ELSE 0 END, [score] DESC "
              "OFFSET 0 ROWS");

    pd_view_shape v;
    char *canon = NULL;
    assert_int_equal(pdi_view_shape_parse("{\"columns\": [\"a\", {\"x\": \"b\"}], \"sort_by\": "
                                          "[{\"column\": \"b\", \"order\": \"desc\", "
                                          "\"nulls_first\": \"true\"}, \"a\"], \"limit\": \"5\"}",
                                          "t", &v, &canon),
                     PD_OK);
    assert_int_equal(v.n_cols, 2);
    assert_string_equal(v.cols[1].name, "x");
    assert_string_equal(v.cols[1].source, "b");
    assert_int_equal(v.n_sort, 2);
    assert_true(v.sort[0].desc && v.sort[0].nulls_first);
    assert_false(v.sort[1].desc || v.sort[1].nulls_first);
    assert_int_equal(v.limit, 5);
    assert_string_equal(canon,
                        "{\"columns\":[[\"a\",\"a\"],[\"x\",\"b\"]],\"sort_by\":[[\"b\","
                        "\"desc\",\"nulls_first\"],[\"a\",\"asc\",\"nulls_last\"]],\"limit\":5}");
    pdi_view_shape_free(&v);
    /* the canonical form parses to the same canonical form */
    char *again = NULL;
    assert_int_equal(pdi_view_shape_parse(canon, "t", &v, &again), PD_OK);
    assert_string_equal(again, canon);
    pdi_view_shape_free(&v);
    free(again);
    free(canon);
    /* a mapping keeps its order; one name; empty = nothing to apply */
    assert_int_equal(
        pdi_view_shape_parse("{\"columns\": {\"z\": \"a\", \"y\": \"b\"}}", "t", &v, &canon),
        PD_OK);
    assert_string_equal(canon, "{\"columns\":[[\"z\",\"a\"],[\"y\",\"b\"]]}");
    pdi_view_shape_free(&v);
    free(canon);
    assert_int_equal(pdi_view_shape_parse("{}", "t", &v, &canon), PD_OK);
    assert_false(pdi_view_shape_active(&v));
    assert_null(canon);
    /* refused, naming the task */
    const char *bad[] = {"{\"limit\": -1}",
                         "{\"limit\": \"ten\"}",
                         "{\"columns\": [\"a\", {\"a\": \"b\"}]}",
                         "{\"columns\": []}",
                         "{\"sort_by\": [{\"column\": \"a\", \"order\": \"up\"}]}",
                         "{\"sort_by\": [{\"col\": \"a\"}]}",
                         "{\"where\": \"a > 1\"}",
                         "[1]",
                         "{"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(pdi_view_shape_parse(bad[i], "task v9", &v, &canon), PD_OK);
        assert_non_null(strstr(pd_last_error(), "task v9"));
    }
}

static void test_keys(void **st)
{
    (void)st;
    const char *cols[] = {"a", "b"};
    CHECK_SQL(pdi_sql_add_primary_key(pdi_dialect_get("postgresql"), "s", "t", cols, 2),
              "ALTER TABLE \"s\".\"t\" ADD CONSTRAINT \"pk_t_a_b\" PRIMARY KEY (\"a\", \"b\")");
    CHECK_SQL(pdi_sql_add_primary_key(pdi_dialect_get("sqlite"), "s", "t", cols, 2),
              "CREATE UNIQUE INDEX \"s\".\"pk_t_a_b\" ON \"t\" (\"a\", \"b\")");
    CHECK_SQL(pdi_sql_add_primary_key(pdi_dialect_get("duckdb"), "s", "t", cols, 2),
              "CREATE UNIQUE INDEX \"pk_t_a_b\" ON \"s\".\"t\" (\"a\", \"b\")");
    CHECK_SQL(pdi_sql_create_index(pdi_dialect_get("postgresql"), "s", "t", cols, 1),
              "CREATE INDEX \"idx_t_a\" ON \"s\".\"t\" (\"a\")");
    CHECK_SQL(pdi_sql_create_index(pdi_dialect_get("snowflake"), "s", "t", cols, 1), "");
    CHECK_SQL(pdi_sql_create_index(pdi_dialect_get("mssql"), "s", "t", cols, 1),
              "CREATE INDEX [idx_t_a] ON [s].[t] ([a])");
    /* 63-char rule */
    const char *longcols[] = {"a_rather_long_column_name", "another_rather_long_column_2"};
    char *n = pdi_sql_constraint_name("pk_", "table_x", longcols, 2);
    assert_non_null(n);
    assert_true(strlen(n) <= 63);
    assert_true(strncmp(n, "pk_table_x_", 11) == 0);
    assert_int_equal(strlen(n), 11 + 8);
    free(n);
    char longtab[100];
    memset(longtab, 'x', 80);
    longtab[80] = 0;
    n = pdi_sql_constraint_name("idx_", longtab, longcols, 1);
    assert_non_null(n);
    assert_int_equal(strlen(n), 63);
    assert_true(strncmp(n, "idx_", 4) == 0);
    assert_int_equal(n[12], '_');
    free(n);
}

/* Column checks: one SELECT per kind, per dialect only quoting, literals
 * and the row limit differ. */
static void test_checks(void **st)
{
    (void)st;
    const pdi_dialect *pg = pdi_dialect_get("postgresql"), *sq = pdi_dialect_get("sqlite"),
                      *ms = pdi_dialect_get("mssql"), *db2 = pdi_dialect_get("db2");
    const char *cols[] = {"pk", "k2"};
    CHECK_SQL(
        pdi_sql_check_not_null(pg, "s", "t", cols, 1),
        "SELECT COUNT(*) AS pd_nulls FROM \"s\".\"t\" WHERE \"pk\" IS NULL HAVING COUNT(*) > 0");
    CHECK_SQL(pdi_sql_check_not_null(ms, "s", "t", cols, 2),
              "SELECT COUNT(*) AS pd_nulls FROM [s].[t] WHERE [pk] IS NULL OR [k2] IS NULL HAVING "
              "COUNT(*) > 0");
    CHECK_SQL(pdi_sql_check_unique(pg, "s", "t", cols, 2, 6),
              "SELECT * FROM (SELECT \"pk\", \"k2\", COUNT(*) AS pd_rows FROM \"s\".\"t\" WHERE "
              "\"pk\" IS NOT NULL AND \"k2\" IS NOT NULL GROUP BY \"pk\", \"k2\" HAVING COUNT(*) > "
              "1) AS pd_limit_sub LIMIT 6");
    CHECK_SQL(pdi_sql_check_unique(sq, "s", "t", cols, 1, 0),
              "SELECT \"pk\", COUNT(*) AS pd_rows FROM \"s\".\"t\" WHERE \"pk\" IS NOT NULL GROUP "
              "BY \"pk\" HAVING COUNT(*) > 1");
    /* the exact probe of unique (postgres: one sort of the column, bytewise
     * where the collation is deterministic), then the naming GROUP BY */
    assert_true(pdi_sql_check_unique_by_count(pg));
    assert_false(pdi_sql_check_unique_by_count(sq));
    CHECK_SQL(pdi_sql_check_unique_any(pg, "s", "t", "label", true),
              "SELECT 1 AS pd_dup FROM (SELECT COUNT(\"label\") AS pd_n, COUNT(DISTINCT "
              "\"label\" COLLATE \"C\") AS pd_d FROM \"s\".\"t\") AS pd_u WHERE pd_n > pd_d");
    CHECK_SQL(pdi_sql_check_unique_any(pg, "s", "t", "id", false),
              "SELECT 1 AS pd_dup FROM (SELECT COUNT(\"id\") AS pd_n, COUNT(DISTINCT \"id\") AS "
              "pd_d FROM \"s\".\"t\") AS pd_u WHERE pd_n > pd_d");
    char *bw = pdi_sql_check_bytewise_columns(pg, "s'x", "t");
    assert_non_null(bw);
    assert_non_null(strstr(bw, "n.nspname = 's''x' AND t.relname = 't'"));
    assert_non_null(strstr(bw, "co.collisdeterministic"));
    free(bw);
    assert_null(pdi_sql_check_bytewise_columns(sq, "s", "t"));
    /* the hash probe of unique: SQLite's aggregate (the scan checks'
     * predicate riding along), DuckDB's hash() with passes; none elsewhere */
    const pdi_dialect *dk = pdi_dialect_get("duckdb");
    CHECK_SQL(pdi_sql_check_unique_hash(sq, "s", "t", "label", 0, 1, NULL),
              "SELECT pd_unique_hash(\"label\", 0, 1) AS pd_dup FROM \"s\".\"t\"");
    const char *hpreds[] = {"\"a\" IS NULL", "\"b\" < 0"};
    char *w = pdi_sql_check_or(hpreds, 2);
    assert_string_equal(w, "(\"a\" IS NULL) OR (\"b\" < 0)");
    CHECK_SQL(pdi_sql_check_unique_hash(sq, "s", "t", "label", 1, 3, w),
              "SELECT pd_unique_hash(\"label\", 1, 3) AS pd_dup, MAX(CASE WHEN (\"a\" IS NULL) OR "
              "(\"b\" < 0) THEN 1 ELSE 0 END) AS pd_any FROM \"s\".\"t\"");
    CHECK_SQL(pdi_sql_check_any(sq, "s", "t", hpreds, 2),
              "SELECT * FROM (SELECT 1 AS pd_any FROM \"s\".\"t\" WHERE (\"a\" IS NULL) OR "
              "(\"b\" < 0)) AS pd_limit_sub LIMIT 1");
    CHECK_SQL(pdi_sql_check_unique_hash(dk, "s", "t", "label", 0, 1, NULL),
              "SELECT hash(\"label\") AS pd_h FROM \"s\".\"t\" WHERE \"label\" IS NOT NULL");
    CHECK_SQL(pdi_sql_check_unique_hash(dk, "s", "t", "label", 2, 5, NULL),
              "SELECT hash(\"label\") AS pd_h FROM \"s\".\"t\" WHERE \"label\" IS NOT NULL AND "
              "hash(\"label\") % 5 = 2");
    assert_null(pdi_sql_check_unique_hash(dk, "s", "t", "label", 0, 1, w));
    assert_int_equal(pd_last_error_code(), PD_ERR_UNSUPPORTED);
    free(w);
    assert_null(pdi_sql_check_unique_hash(pg, "s", "t", "label", 0, 1, NULL));
    assert_int_equal(pd_last_error_code(), PD_ERR_UNSUPPORTED);
    assert_null(pdi_sql_check_unique_hash_column(sq));
    char *hc = pdi_sql_check_unique_hash_column(dk);
    assert_non_null(hc);
    assert_non_null(strstr(hc, "current_setting('default_collation')"));
    assert_non_null(strstr(hc, "c.schema_name = ? AND c.table_name = ? AND c.column_name = ?"));
    free(hc);
    CHECK_SQL(pdi_sql_check_row_count(ms, "s", "t"), "SELECT COUNT(*) AS pd_rows FROM [s].[t]");
    CHECK_SQL(pdi_sql_check_min(pg, "s", "t", "age", "0", 0),
              "SELECT DISTINCT \"age\" FROM \"s\".\"t\" WHERE \"age\" < 0");
    CHECK_SQL(pdi_sql_check_max(sq, "s", "t", "age", "1.5e2", 0),
              "SELECT DISTINCT \"age\" FROM \"s\".\"t\" WHERE \"age\" > 1.5e2");
    CHECK_SQL(pdi_sql_check_max(sq, "s", "t", "name", "\"O'Hara\"", 0),
              "SELECT DISTINCT \"name\" FROM \"s\".\"t\" WHERE \"name\" > 'O''Hara'");
    CHECK_SQL(pdi_sql_check_min(ms, "s", "t", "age", "-1", 6),
              "SELECT TOP 6 * FROM (SELECT DISTINCT [age] FROM [s].[t] WHERE [age] < -1) AS "
              "pd_limit_sub");
    const char *vals[] = {"0", "1", "\"x\"", "true"};
    CHECK_SQL(pdi_sql_check_accepted_values(pg, "s", "t", "target", vals, 4, 0),
              "SELECT DISTINCT \"target\" FROM \"s\".\"t\" WHERE \"target\" IS NOT NULL AND "
              "\"target\" NOT IN (0, 1, 'x', TRUE)");
    CHECK_SQL(
        pdi_sql_check_accepted_values(ms, "s", "t", "target", vals, 4, 0),
        "SELECT DISTINCT [target] FROM [s].[t] WHERE [target] IS NOT NULL AND [target] NOT IN "
        "(0, 1, 'x', 1)");
    CHECK_SQL(
        pdi_sql_check_references(pg, "s", "t", "cid", "raw", "customers", "id", 0),
        "SELECT DISTINCT pd_c.\"cid\" FROM \"s\".\"t\" AS pd_c WHERE pd_c.\"cid\" IS NOT "
        "NULL AND NOT EXISTS (SELECT 1 FROM \"raw\".\"customers\" AS pd_r WHERE pd_r.\"id\" = "
        "pd_c.\"cid\")");
    char *q = pdi_sql_check_references(db2, "s", "t", "cid", "raw", "customers", "id", 6);
    assert_non_null(q);
    assert_non_null(strstr(q, "FETCH FIRST 6 ROWS ONLY"));
    free(q);
    /* quoting of hostile identifiers */
    CHECK_SQL(pdi_sql_check_min(pg, "s", "t", "a\"b", "0", 0),
              "SELECT DISTINCT \"a\"\"b\" FROM \"s\".\"t\" WHERE \"a\"\"b\" < 0");
    /* only JSON scalars become literals; nothing else reaches the SQL */
    assert_null(pdi_sql_check_min(pg, "s", "t", "age", "0; DROP TABLE x", 0));
    assert_null(pdi_sql_check_min(pg, "s", "t", "age", "null", 0));
    assert_null(pdi_sql_check_min(pg, "s", "t", "age", "[1]", 0));
    assert_null(pdi_sql_check_accepted_values(pg, "s", "t", "a", vals, 0, 0));
    /* one scan for many checks */
    char *p1 = pdi_sql_check_predicate(pg, PD_CHECK_NOT_NULL, cols, 2, NULL, 0);
    char *p2 = pdi_sql_check_predicate(pg, PD_CHECK_ACCEPTED_VALUES, cols, 1, vals, 2);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_string_equal(p1, "\"pk\" IS NULL OR \"k2\" IS NULL");
    assert_string_equal(p2, "\"pk\" IS NOT NULL AND \"pk\" NOT IN (0, 1)");
    const char *preds[] = {p1, p2};
    CHECK_SQL(pdi_sql_check_any(pg, "s", "t", preds, 2),
              "SELECT * FROM (SELECT 1 AS pd_any FROM \"s\".\"t\" WHERE (\"pk\" IS NULL OR "
              "\"k2\" IS NULL) OR (\"pk\" IS NOT NULL AND \"pk\" NOT IN (0, 1))) AS pd_limit_sub "
              "LIMIT 1");
    free(p1);
    free(p2);
    CHECK_SQL(pdi_sql_check_predicate(sq, PD_CHECK_MAX, cols, 1, vals + 1, 1), "\"pk\" > 1");
    assert_null(pdi_sql_check_predicate(pg, PD_CHECK_UNIQUE, cols, 1, NULL, 0));
    assert_null(pdi_sql_check_any(pg, "s", "t", preds, 0));
    CHECK_SQL(pdi_sql_check_literal(sq, "\"a'b\""), "'a''b'");
    CHECK_SQL(pdi_sql_check_literal(sq, "false"), "0");
    CHECK_SQL(pdi_sql_check_literal(pg, "false"), "FALSE");
}

static void test_metadata_ddl(void **st)
{
    (void)st;
    const char *names[] = {"sqlite", "postgresql", "duckdb", "mssql", "db2", "snowflake"};
    for (size_t i = 0; i < 6; i++) {
        char **v = pdi_sql_metadata_ddl(pdi_dialect_get(names[i]), "pipedag_metadata");
        assert_non_null(v);
        size_t n = 0;
        bool has_tasks = false;
        for (; v[n]; n++)
            if (strstr(v[n], "\"tasks\"") || strstr(v[n], "[tasks]"))
                has_tasks = true;
        assert_true(has_tasks);
        assert_true(n >= (i == 5 ? 6u : 10u)); /* snowflake: no indexes */
        if (i == 0)
            assert_non_null(strstr(v[2], "INTEGER PRIMARY KEY AUTOINCREMENT"));
        if (i == 2)
            assert_non_null(strstr(v[1], "CREATE SEQUENCE IF NOT EXISTS"));
        if (i == 3)
            assert_non_null(strstr(v[1], "IDENTITY(1,1)"));
        pdi_sql_strv_free(v);
    }
}

#define TYPE(d, f, want)                                                               \
    do {                                                                               \
        char b_[64];                                                                   \
        const char *t_ = pdi_sql_type_for_arrow(pdi_dialect_get(d), f, b_, sizeof b_); \
        assert_non_null(t_);                                                           \
        assert_string_equal(t_, want);                                                 \
    } while (0)

static void test_types(void **st)
{
    (void)st;
    const pdi_dialect *sq = pdi_dialect_get("sqlite");
    char buf[64];
    TYPE("sqlite", "l", "BIGINT");
    TYPE("sqlite", "u", "TEXT");
    TYPE("sqlite", "tsu:", "TIMESTAMP");
    TYPE("sqlite", "tsu:UTC", "TIMESTAMPTZ");
    TYPE("sqlite", "tdD", "DATE");
    TYPE("mssql", "b", "BIT");
    assert_null(pdi_sql_type_for_arrow(sq, "+s", buf, sizeof buf));
    /* one map: DECIMAL keeps precision and scale on every dialect */
    TYPE("sqlite", "d:12,3", "DECIMAL(12,3)");
    TYPE("postgresql", "d:12,3", "numeric(12,3)");
    TYPE("duckdb", "d:12,3", "DECIMAL(12,3)");
    TYPE("mssql", "d:12,3", "DECIMAL(12,3)");
    TYPE("db2", "d:12,3", "DECIMAL(12,3)");
    TYPE("snowflake", "d:12,3", "NUMBER(12,3)");
    /* unsigned 64-bit never overflows a signed column */
    TYPE("postgresql", "L", "numeric(20,0)");
    TYPE("mssql", "L", "DECIMAL(20,0)");
    TYPE("duckdb", "L", "UBIGINT");
    TYPE("postgresql", "tsu:UTC", "timestamp with time zone");
    TYPE("postgresql", "g", "double precision");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "BIGINT", buf, sizeof buf), "l");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "DOUBLE PRECISION", buf, sizeof buf), "g");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "BOOLEAN", buf, sizeof buf), "b");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "TIMESTAMP", buf, sizeof buf), "tsu:");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "DATE", buf, sizeof buf), "tdD");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "BLOB", buf, sizeof buf), "z");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "DECIMAL(12,3)", buf, sizeof buf), "d:12,3");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "", buf, sizeof buf), ""); /* from values */
    assert_string_equal(pdi_sql_arrow_for_type(pdi_dialect_get("postgresql"), "", buf, sizeof buf),
                        "u");
}

/* An Arrow schema with columns (name, format) for the DDL tests. */
static void make_schema(struct ArrowSchema *s,
                        struct ArrowSchema *kids,
                        struct ArrowSchema **ptrs,
                        const char *const *names,
                        const char *const *fmts,
                        int n)
{
    memset(s, 0, sizeof *s);
    s->format = "+s";
    s->n_children = n;
    s->children = ptrs;
    for (int i = 0; i < n; i++) {
        memset(&kids[i], 0, sizeof kids[i]);
        kids[i].format = fmts[i];
        kids[i].name = names[i];
        ptrs[i] = &kids[i];
    }
}

static void test_arrow_ddl(void **st)
{
    (void)st;
    struct ArrowSchema s, kids[3], *ptrs[3];
    const char *names[] = {"id", "na\"me", "amount"};
    const char *fmts[] = {"l", "u", "d:10,2"};
    make_schema(&s, kids, ptrs, names, fmts, 3);
    CHECK_SQL(pdi_sql_create_table_arrow(pdi_dialect_get("postgresql"), "s", "t", &s, true),
              "CREATE UNLOGGED TABLE \"s\".\"t\" (\"id\" bigint, \"na\"\"me\" text, \"amount\" "
              "numeric(10,2))");
    CHECK_SQL(pdi_sql_create_table_arrow(pdi_dialect_get("sqlite"), "s", "t", &s, true),
              "CREATE TABLE \"s\".\"t\" (\"id\" BIGINT, \"na\"\"me\" TEXT, \"amount\" "
              "DECIMAL(10,2))");
    CHECK_SQL(pdi_sql_pg_copy_in("s", "t", &s),
              "COPY \"s\".\"t\" (\"id\", \"na\"\"me\", \"amount\") FROM STDIN (FORMAT binary)");
    kids[1].format = "+l";
    assert_null(pdi_sql_create_table_arrow(pdi_dialect_get("postgresql"), "s", "t", &s, false));
    assert_non_null(strstr(pd_last_error(), "column 'na\"me'"));
    CHECK_SQL(pdi_sql_insert_values(pdi_dialect_get("sqlite"), "s", "t", 3),
              "INSERT INTO \"s\".\"t\" VALUES (?, ?, ?)");
}

static void test_backend_statements(void **st)
{
    (void)st;
    const pdi_dialect *pg = pdi_dialect_get("postgresql");
    CHECK_SQL(pdi_sql_pg_copy_out("SELECT 1;\n"), "COPY (SELECT 1) TO STDOUT (FORMAT binary)");
    const char *cols[] = {"a", "b"};
    const bool cast[] = {false, true};
    CHECK_SQL(pdi_sql_pg_text_cast("SELECT a, b FROM t", cols, cast, 2),
              "SELECT pd_q.\"a\", pd_q.\"b\"::text FROM (SELECT a, b FROM t) AS pd_q");
    CHECK_SQL(pdi_sql_pg_create_database("my\"db"), "CREATE DATABASE \"my\"\"db\"");
    CHECK_SQL(pdi_sql_lock(pg, -5), "SELECT pg_advisory_lock(-5)");
    CHECK_SQL(pdi_sql_unlock(pg, 7), "SELECT pg_advisory_unlock(7)");
    CHECK_SQL(pdi_sql_unlock_all(pg), "SELECT pg_advisory_unlock_all()");
    assert_null(pdi_sql_lock(pdi_dialect_get("sqlite"), 1));
    CHECK_SQL(pdi_sql_session_setup(pg), "SET TIME ZONE 'UTC'; SET extra_float_digits = 3");
    CHECK_SQL(pdi_sql_session_setup(pdi_dialect_get("sqlite")), "");
    CHECK_SQL(pdi_sql_session_setup(pdi_dialect_get("duckdb")),
              "SET TimeZone = 'UTC'; PRAGMA disable_checkpoint_on_shutdown");
    assert_string_equal(pdi_sql_begin(pdi_dialect_get("sqlite")), "BEGIN IMMEDIATE");
    assert_string_equal(pdi_sql_begin(pg), "BEGIN");
    CHECK_SQL(pdi_sql_sqlite_file_pragmas("s", false),
              "PRAGMA \"s\".journal_mode=DELETE; PRAGMA \"s\".synchronous=OFF");
    CHECK_SQL(pdi_sql_sqlite_writable_schema("s", true), "PRAGMA \"s\".writable_schema = ON");
    CHECK_SQL(pdi_sql_sqlite_set_definition("s"),
              "UPDATE \"s\".sqlite_master SET sql = ? WHERE type = ? AND name = ?");
    CHECK_SQL(pdi_sql_table_exists(pg, "s"),
              "SELECT table_name FROM information_schema.tables WHERE table_schema = 's' AND "
              "table_name = ?");
    CHECK_SQL(pdi_sql_table_exists(pdi_dialect_get("sqlite"), "s"),
              "SELECT name FROM \"s\".sqlite_master WHERE type IN ('table', 'view') AND name = ?");
    CHECK_SQL(pdi_sql_list_columns(pdi_dialect_get("sqlite"), "s", "t"),
              "SELECT name FROM pragma_table_info('t', 's') ORDER BY cid");
    CHECK_SQL(pdi_sql_drop_object(pg, "MATERIALIZED VIEW", "s", "v"),
              "DROP MATERIALIZED VIEW IF EXISTS \"s\".\"v\" CASCADE");
    CHECK_SQL(pdi_sql_drop_object(pdi_dialect_get("sqlite"), "VIEW", "s", "v"),
              "DROP VIEW IF EXISTS \"s\".\"v\"");
    CHECK_SQL(pdi_sql_select_all(pdi_dialect_get("mssql"), "s", "t"), "SELECT * FROM [s].[t]");
    /* metadata statements */
    CHECK_SQL(pdi_sql_meta(pg, "m", PDI_MQ_PROMOTE_LAZY),
              "UPDATE \"m\".lazy_tables SET in_transaction_schema = FALSE WHERE stage = ?");
    CHECK_SQL(pdi_sql_meta(pdi_dialect_get("sqlite"), "m", PDI_MQ_DEL_UNCOMMITTED_RAW),
              "DELETE FROM \"m\".raw_sql WHERE stage = ? AND in_transaction_schema = 1");
    CHECK_SQL(pdi_sql_meta_insert_rows(pg, "m", PDI_MQ_LAZY_INSERT, 2),
              "INSERT INTO \"m\".lazy_tables (name, stage, query_hash, task_hash, "
              "in_transaction_schema) VALUES (?, ?, ?, ?, ?),(?, ?, ?, ?, ?)");
    for (int q = 0; q < PDI_MQ_N; q++) {
        char *t = pdi_sql_meta(pdi_dialect_get("mssql"), "m", (pdi_meta_q)q);
        assert_non_null(t);
        assert_non_null(strstr(t, "[m]."));
        free(t);
    }
}

static void test_idents(void **st)
{
    (void)st;
    assert_true(pdi_sql_same_ident(pdi_dialect_get("sqlite"), "ID", "id"));
    assert_true(pdi_sql_same_ident(pdi_dialect_get("duckdb"), "Id", "iD"));
    assert_false(pdi_sql_same_ident(pdi_dialect_get("postgresql"), "ID", "id"));
    assert_true(pdi_sql_same_ident(pdi_dialect_get("postgresql"), "id", "id"));
}

static void test_rewrites(void **st)
{
    (void)st;
    const pdi_dialect *sq = pdi_dialect_get("sqlite");
    CHECK_SQL(
        pdi_sql_strip_qualifier("SELECT * FROM \"s__tmp\".a JOIN s__tmp.b, 's__tmp.c'", "s__tmp"),
        "SELECT * FROM a JOIN b, 's__tmp.c'");
    CHECK_SQL(pdi_sql_retarget_create(sq, "CREATE TABLE \"t\"(a INT, b TEXT)", "x", "u"),
              "CREATE TABLE \"x\".\"u\" (a INT, b TEXT)");
    CHECK_SQL(pdi_sql_retarget_create(sq, "CREATE VIEW IF NOT EXISTS v AS SELECT 1", "x", "w"),
              "CREATE VIEW \"x\".\"w\" AS SELECT 1");
    assert_null(pdi_sql_retarget_create(sq, "CREATE INDEX i ON t (a)", "x", "w"));
}

static void test_skip(void **st)
{
    (void)st;
    const char *s = "'it''s' x";
    assert_ptr_equal(pdi_sql_skip_quoted(s), s + 7);
    s = "[a]]b] x";
    assert_ptr_equal(pdi_sql_skip_quoted(s), s + 6);
    s = "\"a\"\"b\".t";
    assert_ptr_equal(pdi_sql_skip_quoted(s), s + 6);
    s = "`open";
    assert_ptr_equal(pdi_sql_skip_quoted(s), s + 5); /* unterminated: the end */
    s = "-- c\nx";
    assert_ptr_equal(pdi_sql_skip_comment(s), s + 4); /* stops before the newline */
    s = "/* a */x";
    assert_ptr_equal(pdi_sql_skip_comment(s), s + 7);
    s = "/* open";
    assert_ptr_equal(pdi_sql_skip_comment(s), s + 7);
    assert_null(pdi_sql_skip_comment("-x"));
    assert_null(pdi_sql_skip_comment("/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_schema_ddl),
        cmocka_unit_test(test_ctas),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_view_shape),
        cmocka_unit_test(test_metadata_ddl),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_arrow_ddl),
        cmocka_unit_test(test_backend_statements),
        cmocka_unit_test(test_rewrites),
        cmocka_unit_test(test_idents),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
