/*
 * tests/store/test_dialect.c - SQL text written by every dialect
 * (quoting, CTAS incl. the MSSQL SELECT INTO splice, PK/index names with the
 * 63-char rule, metadata DDL, canonical SQL for lazy caching).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"

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
    assert_false(pdi_dialect_get("duckdb")->schema_swap);
    assert_false(pdi_dialect_get("sqlite")->read_views);
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
    CHECK_SQL(pdi_sql_ctas(pdi_dialect_get("db2"), "s", "t", "SELECT 1 AS a FROM x", false),
              "CREATE TABLE \"s\".\"t\" AS (SELECT 1 AS a FROM x) WITH DATA");
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
        assert_true(n >= 10);
        if (i == 0)
            assert_non_null(strstr(v[2], "INTEGER PRIMARY KEY AUTOINCREMENT"));
        if (i == 2)
            assert_non_null(strstr(v[1], "CREATE SEQUENCE IF NOT EXISTS"));
        if (i == 3)
            assert_non_null(strstr(v[1], "IDENTITY(1,1)"));
        pdi_sql_strv_free(v);
    }
}

static void test_types(void **st)
{
    (void)st;
    const pdi_dialect *sq = pdi_dialect_get("sqlite");
    assert_string_equal(pdi_sql_type_for_arrow(sq, "l"), "BIGINT");
    assert_string_equal(pdi_sql_type_for_arrow(sq, "u"), "TEXT");
    assert_string_equal(pdi_sql_type_for_arrow(sq, "tsu:"), "TIMESTAMP");
    assert_string_equal(pdi_sql_type_for_arrow(sq, "tdD"), "DATE");
    assert_string_equal(pdi_sql_type_for_arrow(pdi_dialect_get("mssql"), "b"), "BIT");
    assert_null(pdi_sql_type_for_arrow(sq, "+s"));
    assert_string_equal(pdi_sql_arrow_for_type(sq, "BIGINT"), "l");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "DOUBLE PRECISION"), "g");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "BOOLEAN"), "b");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "TIMESTAMP"), "tsu:");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "DATE"), "tdD");
    assert_string_equal(pdi_sql_arrow_for_type(sq, "BLOB"), "z");
    assert_string_equal(pdi_sql_arrow_for_type(sq, ""), "u");
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

static void test_canonical(void **st)
{
    (void)st;
    CHECK_SQL(pdi_sql_canonical("SELECT * FROM \"Stage__tmp\".\"T\" JOIN [s__odd].x;"),
              "select * from stage.t join s.x;");
    CHECK_SQL(pdi_sql_canonical("select a__tmpx from s__even"), "select a__tmpx from s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),       cmocka_unit_test(test_quote),
        cmocka_unit_test(test_schema_ddl),   cmocka_unit_test(test_ctas),
        cmocka_unit_test(test_tables),       cmocka_unit_test(test_keys),
        cmocka_unit_test(test_metadata_ddl), cmocka_unit_test(test_types),
        cmocka_unit_test(test_canonical),    cmocka_unit_test(test_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
