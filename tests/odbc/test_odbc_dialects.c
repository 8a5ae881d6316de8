/*
 * tests/odbc/test_odbc_dialects.c - golden tests of the full SQL text of
 * every store operation for the dialects the ODBC backend serves without a
 * live server here: MSSQL, DB2 and Snowflake (create/drop schema, CTAS,
 * inserts, primary key, index, alias, rename, schema swap, metadata DML,
 * locks, limits, and the statements only one of them has).
 *
 * Each expected text below was reviewed against the vendor's documented
 * syntax. Run with PD_GOLDEN_PRINT=1 to print the texts instead of checking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/common.h"
#include "store/backend.h"
#include "store/dialect/dialect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool g_print;

/* want NULL: the dialect must refuse (NULL with an error set). */
static void golden(const char *what, char *got, const char *want)
{
    if (g_print && !got) {
        printf("%s:\nNULL (%s)\n\n", what, pd_last_error());
        return;
    }
    if (!want) {
        if (got)
            fail_msg("%s: expected a refusal, got: %s", what, got);
        assert_true(pd_last_error_code() != PD_OK);
        return;
    }
    if (!got)
        fail_msg("%s: NULL (%s)", what, pd_last_error());
    if (g_print) {
        printf("%s:\n%s\n\n", what, got);
    } else if (strcmp(got, want) != 0) {
        fail_msg("%s:\n got: %s\nwant: %s", what, got, want);
    }
    free(got);
}

static const char *const k_pk[] = {"id", "day"};
static const char *const k_idx[] = {"name"};

/* Every store operation of one dialect; `w` holds the expected texts in
 * this order. */
static void all_statements(const char *dn, const char *const *w)
{
    const pdi_dialect *d = pdi_dialect_get(dn);
    size_t i = 0;
    char what[128];
#define G(expr)                                          \
    do {                                                 \
        snprintf(what, sizeof what, "%s %s", dn, #expr); \
        golden(what, (expr), w ? w[i] : "");             \
        i++;                                             \
    } while (0)
    G(pdi_sql_create_schema(d, "inst_s1__tmp"));
    G(pdi_sql_drop_schema(d, "inst_s1__tmp"));
    G(pdi_sql_rename_schema(d, "inst_s1__tmp", "inst_s1"));
    G(pdi_sql_ctas(d, "inst_s1__tmp", "t",
                   "SELECT a, 'x''y' AS b FROM inst_s0.src WHERE a > 1 "
                   "ORDER BY a;",
                   false));
    G(pdi_sql_insert_select(d, "inst_s1__tmp", "t", "SELECT a, b FROM inst_s0.src"));
    G(pdi_sql_insert_values(d, "inst_s1__tmp", "t", 3));
    G(pdi_sql_insert_values_rows(d, "inst_s1__tmp", "t", 2, 3));
    G(pdi_sql_add_primary_key(d, "inst_s1__tmp", "t", k_pk, 2));
    G(pdi_sql_create_index(d, "inst_s1__tmp", "t", k_idx, 1));
    G(pdi_sql_rename_table(d, "inst_s1__tmp", "t", "u"));
    G(pdi_sql_drop_table(d, "inst_s1__tmp", "t"));
    char *sel = pdi_sql_select_all(d, "inst_s1__odd", "t");
    G(pdi_sql_create_view(d, "inst_s1", "t", sel));
    free(sel);
    G(pdi_sql_drop_view(d, "inst_s1", "t"));
    G(pdi_sql_list_objects(d, "inst_s1"));
    G(pdi_sql_limit(d, "SELECT a FROM t ORDER BY a;", 10));
    G(pdi_sql_meta(d, "inst_pipedag_metadata", PDI_MQ_TASK_INSERT));
    G(pdi_sql_meta(d, "inst_pipedag_metadata", PDI_MQ_PROMOTE_TASKS));
    G(pdi_sql_meta(d, "inst_pipedag_metadata", PDI_MQ_STAGE_PUT));
    G(pdi_sql_meta(d, "inst_pipedag_metadata", PDI_MQ_JOURNAL_ADD));
    G(pdi_sql_lock(d, 4242));
    G(pdi_sql_unlock(d, 4242));
    G(pdi_sql_unlock_all(d));
    if (d->id == PDI_DIALECT_MSSQL) {
        G(pdi_sql_mssql_transfer("inst_s1__swap", "inst_s1", "t"));
        G(pdi_sql_mssql_list_transferable("inst_s1"));
        G(pdi_sql_mssql_use("inst_db"));
        G(pdi_sql_mssql_create_synonym("inst_s1", "t", "inst_s1__odd", "t"));
        G(pdi_sql_mssql_drop_synonym("inst_s1", "t"));
        G(pdi_sql_mssql_columnstore("inst_s1__tmp", "t"));
    } else if (d->id == PDI_DIALECT_DB2) {
        G(pdi_sql_db2_create_alias("inst_s1", "t", "inst_s1__odd", "t"));
        G(pdi_sql_db2_drop_alias("inst_s1", "t"));
        G(pdi_sql_db2_runstats("inst_s1__tmp", "t"));
    } else if (d->id == PDI_DIALECT_SNOWFLAKE) {
        G(pdi_sql_snowflake_swap("inst_s1", "inst_s1__tmp"));
        G(pdi_sql_snowflake_query_tag("inst", "alice", 4711));
        G(pdi_sql_snowflake_mark_schema("inst_s1__tmp", "pipedag:new"));
        G(pdi_sql_snowflake_schema_mark("inst_s1"));
    }
    assert_null(w ? w[i] : NULL); /* every expected text was used */
#undef G
}

/* The expected texts, in the order of all_statements(). */
static const char *const k_mssql[] = {
    /* pdi_sql_create_schema */
    "IF NOT EXISTS (SELECT * FROM sys.schemas WHERE name = 'inst_s1__tmp') EXEC('CREATE "
    "SCHEMA [inst_s1__tmp]')",
    /* pdi_sql_drop_schema */
    "DROP SCHEMA IF EXISTS [inst_s1__tmp]",
    /* pdi_sql_rename_schema */
    NULL /* refused */,
    /* pdi_sql_ctas */
    "SELECT a, 'x''y' AS b INTO [inst_s1__tmp].[t] FROM inst_s0.src WHERE a > 1 ORDER BY "
    "a;",
    /* pdi_sql_insert_select */
    "INSERT INTO [inst_s1__tmp].[t] WITH(TABLOCKX) SELECT a, b FROM inst_s0.src",
    /* pdi_sql_insert_values */
    "INSERT INTO [inst_s1__tmp].[t] VALUES (?, ?, ?)",
    /* pdi_sql_insert_values_rows */
    "INSERT INTO [inst_s1__tmp].[t] VALUES (?, ?), (?, ?), (?, ?)",
    /* pdi_sql_add_primary_key */
    "ALTER TABLE [inst_s1__tmp].[t] ADD CONSTRAINT [pk_t_id_day] PRIMARY KEY ([id], "
    "[day])",
    /* pdi_sql_create_index */
    "CREATE INDEX [idx_t_name] ON [inst_s1__tmp].[t] ([name])",
    /* pdi_sql_rename_table */
    "EXEC sp_rename '[inst_s1__tmp].[t]', 'u'",
    /* pdi_sql_drop_table */
    "DROP TABLE IF EXISTS [inst_s1__tmp].[t]",
    /* pdi_sql_create_view */
    "CREATE VIEW [inst_s1].[t] AS SELECT * FROM [inst_s1__odd].[t]",
    /* pdi_sql_drop_view */
    "DROP VIEW IF EXISTS [inst_s1].[t]",
    /* pdi_sql_list_objects */
    "SELECT o.name FROM sys.objects o JOIN sys.schemas s ON o.schema_id = s.schema_id "
    "WHERE s.name = 'inst_s1' AND o.type IN ('U', 'V', 'SN') ORDER BY o.name",
    /* pdi_sql_limit */
    "SELECT TOP 10 * FROM (SELECT a FROM t ORDER BY a) AS pd_limit_sub",
    /* PDI_MQ_TASK_INSERT */
    "INSERT INTO [inst_pipedag_metadata].tasks (name, stage, version, timestamp, run_id, "
    "position_hash, input_hash, cache_fn_hash, output_json, in_transaction_schema) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* PDI_MQ_PROMOTE_TASKS */
    "UPDATE [inst_pipedag_metadata].tasks SET in_transaction_schema = 0 WHERE stage = ?",
    /* PDI_MQ_STAGE_PUT */
    "INSERT INTO [inst_pipedag_metadata].stages (stage, cur_transaction_name) VALUES (?, "
    "?)",
    /* PDI_MQ_JOURNAL_ADD */
    "INSERT INTO [inst_pipedag_metadata].commit_journal (stage, run_id, started) VALUES "
    "(?, ?, ?)",
    /* pdi_sql_lock */
    "DECLARE @pd_rc INT; EXEC @pd_rc = sp_getapplock @Resource = N'pipedag_4242', "
    "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = -1; IF @pd_rc < 0 "
    "RAISERROR('sp_getapplock pipedag_4242 failed: %d', 16, 1, @pd_rc)",
    /* pdi_sql_unlock */
    "EXEC sp_releaseapplock @Resource = N'pipedag_4242', @LockOwner = 'Session'",
    /* pdi_sql_unlock_all */
    "SELECT 1",
    /* pdi_sql_mssql_transfer */
    "ALTER SCHEMA [inst_s1__swap] TRANSFER [inst_s1].[t]",
    /* pdi_sql_mssql_list_transferable */
    "SELECT o.name FROM sys.objects o JOIN sys.schemas s ON o.schema_id = s.schema_id "
    "WHERE s.name = 'inst_s1' AND o.parent_object_id = 0 AND o.is_ms_shipped = 0 ORDER "
    "BY o.name",
    /* pdi_sql_mssql_use */
    "USE [inst_db]",
    /* pdi_sql_mssql_create_synonym */
    "CREATE SYNONYM [inst_s1].[t] FOR [inst_s1__odd].[t]",
    /* pdi_sql_mssql_drop_synonym */
    "DROP SYNONYM IF EXISTS [inst_s1].[t]",
    /* pdi_sql_mssql_columnstore */
    "CREATE CLUSTERED COLUMNSTORE INDEX ccidx ON [inst_s1__tmp].[t]",
    NULL,
};

static const char *const k_db2[] = {
    /* pdi_sql_create_schema */
    "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; EXECUTE IMMEDIATE "
    "'CREATE SCHEMA \"inst_s1__tmp\"'; END",
    /* pdi_sql_drop_schema */
    "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42704' BEGIN END; EXECUTE IMMEDIATE "
    "'DROP SCHEMA \"inst_s1__tmp\" RESTRICT'; END",
    /* pdi_sql_rename_schema */
    NULL /* refused */,
    /* pdi_sql_ctas */
    "CREATE TABLE \"inst_s1__tmp\".\"t\" AS (SELECT a, 'x''y' AS b FROM inst_s0.src "
    "WHERE a > 1 ORDER BY a) DEFINITION ONLY;\nCALL SYSPROC.ADMIN_CMD('LOAD FROM (SELECT "
    "a, ''x''''y'' AS b FROM inst_s0.src WHERE a > 1 ORDER BY a) OF CURSOR REPLACE "
    "RESETDICTIONARY INTO \"inst_s1__tmp\".\"t\" STATISTICS YES NONRECOVERABLE')",
    /* pdi_sql_insert_select */
    "INSERT INTO \"inst_s1__tmp\".\"t\" SELECT a, b FROM inst_s0.src",
    /* pdi_sql_insert_values */
    "INSERT INTO \"inst_s1__tmp\".\"t\" VALUES (?, ?, ?)",
    /* pdi_sql_insert_values_rows */
    "INSERT INTO \"inst_s1__tmp\".\"t\" VALUES (?, ?), (?, ?), (?, ?)",
    /* pdi_sql_add_primary_key */
    "ALTER TABLE \"inst_s1__tmp\".\"t\" ADD CONSTRAINT \"pk_t_id_day\" PRIMARY KEY "
    "(\"id\", \"day\")",
    /* pdi_sql_create_index */
    "CREATE INDEX \"inst_s1__tmp\".\"idx_t_name\" ON \"inst_s1__tmp\".\"t\" (\"name\")",
    /* pdi_sql_rename_table */
    "RENAME \"inst_s1__tmp\".\"t\" TO \"u\"",
    /* pdi_sql_drop_table */
    "DROP TABLE \"inst_s1__tmp\".\"t\"",
    /* pdi_sql_create_view */
    "CREATE VIEW \"inst_s1\".\"t\" AS SELECT * FROM \"inst_s1__odd\".\"t\"",
    /* pdi_sql_drop_view */
    "DROP VIEW \"inst_s1\".\"t\"",
    /* pdi_sql_list_objects */
    "SELECT TABNAME FROM SYSCAT.TABLES WHERE TABSCHEMA = 'inst_s1' AND TYPE IN ('T', "
    "'V', 'A', 'N') ORDER BY TABNAME",
    /* pdi_sql_limit */
    "SELECT * FROM (SELECT a FROM t ORDER BY a) AS pd_limit_sub FETCH FIRST 10 ROWS ONLY",
    /* PDI_MQ_TASK_INSERT */
    "INSERT INTO \"inst_pipedag_metadata\".tasks (name, stage, version, timestamp, "
    "run_id, position_hash, input_hash, cache_fn_hash, output_json, "
    "in_transaction_schema) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* PDI_MQ_PROMOTE_TASKS */
    "UPDATE \"inst_pipedag_metadata\".tasks SET in_transaction_schema = FALSE WHERE "
    "stage = ?",
    /* PDI_MQ_STAGE_PUT */
    "INSERT INTO \"inst_pipedag_metadata\".stages (stage, cur_transaction_name) VALUES "
    "(?, ?)",
    /* PDI_MQ_JOURNAL_ADD */
    "INSERT INTO \"inst_pipedag_metadata\".commit_journal (stage, run_id, started) "
    "VALUES (?, ?, ?)",
    /* pdi_sql_lock */
    "BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '42710' BEGIN END; EXECUTE IMMEDIATE "
    "'CREATE TABLE PIPEDAG_LOCK (ID INTEGER)'; END;\nLOCK TABLE PIPEDAG_LOCK IN "
    "EXCLUSIVE MODE",
    /* pdi_sql_unlock */
    "ROLLBACK",
    /* pdi_sql_unlock_all */
    "ROLLBACK",
    /* pdi_sql_db2_create_alias */
    "CREATE ALIAS \"inst_s1\".\"t\" FOR TABLE \"inst_s1__odd\".\"t\"",
    /* pdi_sql_db2_drop_alias */
    "DROP ALIAS \"inst_s1\".\"t\"",
    /* pdi_sql_db2_runstats */
    "CALL SYSPROC.ADMIN_CMD('RUNSTATS ON TABLE \"inst_s1__tmp\".\"t\" WITH DISTRIBUTION "
    "AND DETAILED INDEXES ALL')",
    NULL,
};

static const char *const k_snowflake[] = {
    /* pdi_sql_create_schema */
    "CREATE SCHEMA IF NOT EXISTS \"inst_s1__tmp\"",
    /* pdi_sql_drop_schema */
    "DROP SCHEMA IF EXISTS \"inst_s1__tmp\" CASCADE",
    /* pdi_sql_rename_schema */
    "ALTER SCHEMA \"inst_s1__tmp\" RENAME TO \"inst_s1\"",
    /* pdi_sql_ctas */
    "CREATE TABLE \"inst_s1__tmp\".\"t\" AS SELECT a, 'x''y' AS b FROM inst_s0.src WHERE "
    "a > 1 ORDER BY a;",
    /* pdi_sql_insert_select */
    "INSERT INTO \"inst_s1__tmp\".\"t\" SELECT a, b FROM inst_s0.src",
    /* pdi_sql_insert_values */
    "INSERT INTO \"inst_s1__tmp\".\"t\" VALUES (?, ?, ?)",
    /* pdi_sql_insert_values_rows */
    "INSERT INTO \"inst_s1__tmp\".\"t\" VALUES (?, ?), (?, ?), (?, ?)",
    /* pdi_sql_add_primary_key */
    "ALTER TABLE \"inst_s1__tmp\".\"t\" ADD CONSTRAINT \"pk_t_id_day\" PRIMARY KEY "
    "(\"id\", \"day\")",
    /* pdi_sql_create_index */
    "",
    /* pdi_sql_rename_table */
    "ALTER TABLE \"inst_s1__tmp\".\"t\" RENAME TO \"inst_s1__tmp\".\"u\"",
    /* pdi_sql_drop_table */
    "DROP TABLE IF EXISTS \"inst_s1__tmp\".\"t\"",
    /* pdi_sql_create_view */
    "CREATE VIEW \"inst_s1\".\"t\" AS SELECT * FROM \"inst_s1__odd\".\"t\"",
    /* pdi_sql_drop_view */
    "DROP VIEW IF EXISTS \"inst_s1\".\"t\"",
    /* pdi_sql_list_objects */
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'inst_s1' "
    "ORDER BY table_name",
    /* pdi_sql_limit */
    "SELECT * FROM (SELECT a FROM t ORDER BY a) AS pd_limit_sub LIMIT 10",
    /* PDI_MQ_TASK_INSERT */
    "INSERT INTO \"inst_pipedag_metadata\".tasks (name, stage, version, timestamp, "
    "run_id, position_hash, input_hash, cache_fn_hash, output_json, "
    "in_transaction_schema) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* PDI_MQ_PROMOTE_TASKS */
    "UPDATE \"inst_pipedag_metadata\".tasks SET in_transaction_schema = FALSE WHERE "
    "stage = ?",
    /* PDI_MQ_STAGE_PUT */
    "INSERT INTO \"inst_pipedag_metadata\".stages (stage, cur_transaction_name) VALUES "
    "(?, ?)",
    /* PDI_MQ_JOURNAL_ADD */
    "INSERT INTO \"inst_pipedag_metadata\".commit_journal (stage, run_id, started) "
    "VALUES (?, ?, ?)",
    /* pdi_sql_lock */
    NULL /* refused */,
    /* pdi_sql_unlock */
    NULL /* refused */,
    /* pdi_sql_unlock_all */
    NULL /* refused */,
    /* pdi_sql_snowflake_swap */
    "ALTER SCHEMA \"inst_s1\" SWAP WITH \"inst_s1__tmp\"",
    /* pdi_sql_snowflake_query_tag */
    "ALTER SESSION SET QUERY_TAG = 'pipedag|inst|alice|4711'",
    /* pdi_sql_snowflake_mark_schema */
    "COMMENT ON SCHEMA \"inst_s1__tmp\" IS 'pipedag:new'",
    /* pdi_sql_snowflake_schema_mark */
    "SELECT COMMENT FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = 'inst_s1'",
    NULL,
};

static void mssql_statements(void **st)
{
    (void)st;
    all_statements("mssql", g_print ? NULL : k_mssql);
}

static void db2_statements(void **st)
{
    (void)st;
    all_statements("db2", g_print ? NULL : k_db2);
}

static void snowflake_statements(void **st)
{
    (void)st;
    all_statements("snowflake", g_print ? NULL : k_snowflake);
}

static const pdi_backend *route(const char *url, char *dn, size_t cap)
{
    pd_store_config sc;
    memset(&sc, 0, sizeof sc);
    sc.url = (char *)url;
    const char *d = pdi_backend_dialect_of(&sc, dn, cap);
    if (d != dn)
        snprintf(dn, cap, "%s", d);
    return pdi_backend_find(dn);
}

/* Which backend (and dialect) each URL form reaches, and what it may do. */
static void routing(void **st)
{
    (void)st;
    char dn[64];
    assert_ptr_equal(route("postgresql+odbc://u@h/db", dn, sizeof dn), &pdi_backend_odbc);
    assert_int_equal(pdi_dialect_get(dn)->id, PDI_DIALECT_POSTGRES);
    assert_ptr_equal(route("cockroachdb+odbc://u@h/db?driver=x", dn, sizeof dn), &pdi_backend_odbc);
    assert_int_equal(pdi_dialect_get(dn)->id, PDI_DIALECT_POSTGRES);
    assert_ptr_equal(route("odbc://?dsn=x", dn, sizeof dn), &pdi_backend_odbc);
    assert_ptr_equal(route("mssql+odbc://u@h/db", dn, sizeof dn), &pdi_backend_odbc_mssql);
    assert_int_equal(pdi_dialect_get(dn)->id, PDI_DIALECT_MSSQL);
    assert_ptr_equal(route("mssql+pyodbc://u@h/db", dn, sizeof dn), &pdi_backend_odbc_mssql);
    assert_ptr_equal(route("db2+ibm_db://u@h/db", dn, sizeof dn), &pdi_backend_odbc_db2);
    assert_ptr_equal(route("ibm_db_sa://u@h/db", dn, sizeof dn), &pdi_backend_odbc_db2);
    assert_int_equal(pdi_dialect_get(dn)->id, PDI_DIALECT_DB2);
    assert_ptr_equal(route("snowflake://u@acc/db", dn, sizeof dn), &pdi_backend_odbc_snowflake);
    assert_ptr_equal(route("postgresql://u@h/db", dn, sizeof dn), &pdi_backend_postgres);
    assert_ptr_equal(route("sqlite:///x", dn, sizeof dn), &pdi_backend_sqlite);
    assert_ptr_equal(route("sqlite+odbc:///x?driver=SQLite3", dn, sizeof dn),
                     &pdi_backend_odbc_sqlite);
    assert_int_equal(pdi_dialect_get(dn)->id, PDI_DIALECT_SQLITE);
    assert_true(pdi_backend_odbc_sqlite.caps & PDI_CAP_SCHEMA_SWAP);
    assert_false(pdi_backend_odbc_sqlite.caps & PDI_CAP_READ_VIEWS);
    assert_false(pdi_backend_odbc_sqlite.caps & PDI_CAP_LOCKS);

    /* SQLite through ODBC: how columns without a declared type are typed */
    size_t cols[2] = {0, 2};
    golden("sqlite storage classes",
           pdi_sql_sqlite_storage_classes("SELECT 1 AS a, 2 AS b, 'x' AS c;", 3, cols, 2),
           "WITH pd_q(pd_c1, pd_c2, pd_c3) AS (SELECT 1 AS a, 2 AS b, 'x' AS c) SELECT "
           "max(typeof(pd_c1) = 'integer'), max(typeof(pd_c1) = 'real'), max(typeof(pd_c1) = "
           "'text'), max(typeof(pd_c1) = 'blob'), max(typeof(pd_c3) = 'integer'), "
           "max(typeof(pd_c3) = 'real'), max(typeof(pd_c3) = 'text'), max(typeof(pd_c3) = "
           "'blob') FROM pd_q");
    pd_strv refs = PD_STRV_INIT;
    assert_int_equal(pdi_sql_sqlite_schema_refs("SELECT a.x, \"b c\".y FROM a.t, \"b c\".u "
                                                "WHERE s = 'q.r' -- z.w\n",
                                                &refs),
                     PD_OK);
    assert_int_equal(refs.n, 2);
    assert_string_equal(refs.items[0], "a");
    assert_string_equal(refs.items[1], "b c");
    pdi_strv_free(&refs);

    assert_false(pdi_backend_odbc_db2.caps & PDI_CAP_SCHEMA_SWAP);
    assert_true(pdi_backend_odbc_db2.caps & PDI_CAP_READ_VIEWS);
    assert_true(pdi_backend_odbc_mssql.caps & PDI_CAP_SCHEMA_SWAP);
    assert_true(pdi_backend_odbc_mssql.caps & PDI_CAP_LOCKS);
    assert_true(pdi_backend_odbc_snowflake.caps & PDI_CAP_SCHEMA_SWAP);
    assert_false(pdi_backend_odbc_snowflake.caps & PDI_CAP_READ_VIEWS);
    assert_false(pdi_backend_odbc_snowflake.caps & PDI_CAP_LOCKS);
    assert_false(pdi_backend_odbc_snowflake.caps & PDI_CAP_TRANSACTIONAL_DDL);
    assert_non_null(pdi_backend_odbc_snowflake.published);
    assert_non_null(pdi_backend_odbc_mssql.publish);
}

int main(void)
{
    g_print = getenv("PD_GOLDEN_PRINT") && *getenv("PD_GOLDEN_PRINT");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mssql_statements),
        cmocka_unit_test(db2_statements),
        cmocka_unit_test(snowflake_statements),
        cmocka_unit_test(routing),
    };
    return cmocka_run_group_tests_name("odbc/dialects", tests, NULL, NULL);
}
