/*
 * tests/store/test_checks.c - column checks (pd_task_add_check) in whole
 * runs: every kind passing, every kind failing with the check, the column
 * and at most 5 offending values named and the stage left as published,
 * the primary key checked not null and unique, checks in the cache key,
 * the hash probe of unique (forced collisions pass a unique column, SQLite's
 * mixed storage classes, a DuckDB NOCASE column), and the argument errors
 * of the C API. SQLite; PD_TEST_STORE=duckdb / parquet: the same runs there;
 * with PD_ACC_PG_URL (the private cluster, tests/store/CMakeLists.txt) on
 * Postgres, one fresh database per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_test_flow.h"
#include "util/util.h"

static const char *g_pg; /* cluster URL, or NULL: SQLite */

static int setup(void **st)
{
    (void)st;
    if (pdt_enter_temp_dir("pd_checks"))
        return -1;
    if (!g_pg)
        return pdt_write_default_config("checks");
    return pdt_write_pg_config(g_pg, "checks", "pd_chk", NULL);
}

static int teardown(void **st)
{
    (void)st;
    pdi_test_set_unique_hash_bits(0); /* also after a failed assertion */
    return pdt_leave_temp_dir();
}

/* A C task: ids 1..n (int64) and a text column "t<i>". */
static int ids_table(pd_task_ctx *ctx, void *user)
{
    int n = *(int *)user;
    pd_arrow_builder *b = NULL;
    int rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "id", "l", 1);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "label", "u", 1);
    for (int i = 1; i <= n && !rc; i++) {
        char t[16];
        int len = snprintf(t, sizeof t, "t%d", i);
        rc = pd_arrow_builder_append_int(b, 0, i);
        if (!rc)
            rc = pd_arrow_builder_append_bytes(b, 1, t, (size_t)len);
    }
    struct ArrowSchema s;
    struct ArrowArray a;
    struct ArrowArrayStream st;
    if (!rc)
        rc = pd_arrow_builder_finish(b, &s, &a);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&s, &a, 1, &st);
    if (!rc)
        rc = pd_ctx_output_table(ctx, NULL, &st);
    pd_arrow_builder_free(b);
    return rc;
}

static int g_n = 10;

/* raw.ids (C, 1..10, checked), raw.people (SQL), clean.orders (SQL with
 * every kind of check, `order_sql` its body). */
static pd_flow *flow_with(const char *order_sql, const char *target_min)
{
    pd_flow *f = pd_flow_new("checks");
    pd_stage *raw = pd_flow_add_stage(f, "raw");
    pd_stage *clean = pd_flow_add_stage(f, "clean");
    pd_task *ids = pd_stage_add_c(raw, "ids", ids_table, &g_n);
    assert_non_null(ids);
    assert_int_equal(pd_task_set_version(ids, "1"), PD_OK);
    const char *pk[] = {"id"};
    assert_int_equal(pd_task_set_primary_key(ids, pk, 1), PD_OK);
    const char *one[] = {"1"}, *ten[] = {"10"};
    assert_int_equal(pd_task_add_check(ids, "id", PD_CHECK_MIN, one, 1), PD_OK);
    assert_int_equal(pd_task_add_check(ids, "id", PD_CHECK_MAX, ten, 1), PD_OK);
    assert_int_equal(pd_task_add_check(ids, "label", PD_CHECK_UNIQUE, NULL, 0), PD_OK);
    pd_task *o = pd_stage_add_sql(clean, "orders", order_sql);
    assert_non_null(o);
    const char *tmin[] = {target_min};
    const char *vals[] = {"0", "1"};
    const char *kinds[] = {"\"a\"", "\"b\""};
    const char *ref[] = {"raw.ids.id"};
    assert_int_equal(pd_task_add_check(o, "oid", PD_CHECK_NOT_NULL, NULL, 0), PD_OK);
    assert_int_equal(pd_task_add_check(o, "oid", PD_CHECK_UNIQUE, NULL, 0), PD_OK);
    assert_int_equal(pd_task_add_check(o, "target", PD_CHECK_MIN, tmin, 1), PD_OK);
    assert_int_equal(pd_task_add_check(o, "target", PD_CHECK_ACCEPTED_VALUES, vals, 2), PD_OK);
    assert_int_equal(pd_task_add_check(o, "kind", PD_CHECK_ACCEPTED_VALUES, kinds, 2), PD_OK);
    assert_int_equal(pd_task_add_check(o, "customer", PD_CHECK_REFERENCES, ref, 1), PD_OK);
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

#define GOOD_ORDERS                                                       \
    "SELECT 1 AS oid, 0 AS target, 'a' AS kind, 3 AS customer UNION ALL " \
    "SELECT 2, 1, 'b', NULL UNION ALL SELECT 3, 1, NULL, 10"

static const char *error_of(const pd_result *r, const char *task)
{
    for (size_t i = 0; i < pd_result_count(r); i++)
        if (strcmp(pd_task_name(pd_result_task(r, i)), task) == 0)
            return pd_result_error(r, i);
    return NULL;
}

/* Run `sql` as clean.orders after a good run: the run fails at orders with
 * every needle in the message, and clean.orders keeps its 3 good rows. */
static void expect_failure(const char *sql, const char *const *needles, size_t n)
{
    pd_flow *f = flow_with(GOOD_ORDERS, "0");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    pd_result_free(r);
    pd_flow_free(f);
    f = flow_with(sql, "0");
    r = pdt_run_flow(f, NULL, PD_ERR_TASK);
    PDT_ASSERT_STATE(r, "clean", "orders", PD_STATE_FAILED);
    const char *err = error_of(r, "orders");
    assert_non_null(err);
    for (size_t i = 0; i < n; i++)
        if (!strstr(err, needles[i]))
            fail_msg("'%s' not in: %s", needles[i], err);
    pd_result_free(r);
    pd_flow_free(f);
    pdt_assert_cell("SELECT COUNT(*) FROM %s", "clean", "orders", "3");
    pdt_assert_cell("SELECT SUM(oid) FROM %s", "clean", "orders", "6");
}

static void test_all_pass_and_cache(void **st)
{
    (void)st;
    pd_flow *f = flow_with(GOOD_ORDERS, "0");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "raw", "ids", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "clean", "orders", PD_STATE_COMPLETED);
    pd_result_free(r);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "raw", "ids", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "clean", "orders", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);
    pdt_assert_cell("SELECT COUNT(*) FROM %s", "clean", "orders", "3");
    /* a changed check is a changed key: the task runs again */
    f = flow_with(GOOD_ORDERS, "-5");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "raw", "ids", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "clean", "orders", PD_STATE_COMPLETED);
    pd_result_free(r);
    char *why = NULL;
    pd_flow *g = flow_with(GOOD_ORDERS, "0");
    pd_config *cfg = pdt_load_cfg();
    assert_int_equal(pd_explain(g, cfg, "clean.orders", &why), PD_OK);
    assert_non_null(strstr(why, "checks: CHANGED"));
    free(why);
    pd_config_free(cfg);
    pd_flow_free(g);
    pd_flow_free(f);
}

static void test_not_null(void **st)
{
    (void)st;
    const char *n[] = {"check not_null failed on column 'oid' of table 'orders'", "1 NULL value"};
    expect_failure("SELECT NULL AS oid, 0 AS target, 'a' AS kind, 1 AS customer", n, 2);
}

static void test_unique(void **st)
{
    (void)st;
    const char *n[] = {"check unique failed on column 'oid'", "7 (2 rows)"};
    expect_failure("SELECT 7 AS oid, 0 AS target, 'a' AS kind, 1 AS customer UNION ALL "
                   "SELECT 7, 0, 'a', 1",
                   n, 2);
}

/* unique on a text column (on Postgres: the count probe, bytewise under a
 * deterministic collation, then the naming GROUP BY): NULLs are not
 * compared, 'x' and 'X' differ, a repeated value is named. */
static pd_flow *text_flow(const char *sql)
{
    pd_flow *f = pd_flow_new("checks_text");
    pd_task *t = pd_stage_add_sql(pd_flow_add_stage(f, "txt"), "words", sql);
    assert_non_null(t);
    assert_int_equal(pd_task_add_check(t, "w", PD_CHECK_UNIQUE, NULL, 0), PD_OK);
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_unique_text(void **st)
{
    (void)st;
    pd_flow *f = text_flow("SELECT 'x' AS w UNION ALL SELECT 'X' UNION ALL SELECT 'x ' UNION ALL "
                           "SELECT NULL UNION ALL SELECT NULL");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    pd_result_free(r);
    pd_flow_free(f);
    f = text_flow("SELECT 'x' AS w UNION ALL SELECT 'X' UNION ALL SELECT 'x' UNION ALL "
                  "SELECT NULL");
    r = pdt_run_flow(f, NULL, PD_ERR_TASK);
    PDT_ASSERT_STATE(r, "txt", "words", PD_STATE_FAILED);
    const char *err = error_of(r, "words");
    assert_non_null(err);
    if (!strstr(err, "check unique failed on column 'w' of table 'words': offending value x (2 "
                     "rows)"))
        fail_msg("message: %s", err);
    pd_result_free(r);
    pd_flow_free(f);
}

/* Run text_flow(sql): PD_OK, or a failure naming `want`. */
static void run_words(const char *sql, const char *want)
{
    pd_flow *f = text_flow(sql);
    pd_result *r = pdt_run_flow(f, NULL, want ? PD_ERR_TASK : PD_OK);
    if (want) {
        const char *err = error_of(r, "words");
        assert_non_null(err);
        if (!strstr(err, want))
            fail_msg("'%s' not in: %s", want, err);
    }
    pd_result_free(r);
    pd_flow_free(f);
}

static const char *store_name(void)
{
    const char *st = getenv("PD_TEST_STORE");
    return g_pg ? "postgres" : st && *st ? st : "sqlite";
}

/* The hash probe (SQLite, DuckDB, the Parquet store) with the test hook
 * shortening its hash to 2 bits: 12 distinct values must collide, the
 * exact GROUP BY finds no duplicate and the column passes; a real
 * duplicate is still named. Text and integers. */
static void test_unique_collisions(void **st)
{
    (void)st;
    pdi_test_set_unique_hash_bits(2);
    const char *text = "SELECT 'a' AS w UNION ALL SELECT 'b' UNION ALL SELECT 'c' UNION ALL "
                       "SELECT 'd' UNION ALL SELECT 'e' UNION ALL SELECT 'f' UNION ALL SELECT "
                       "'g' UNION ALL SELECT 'h' UNION ALL SELECT 'i' UNION ALL SELECT 'j' UNION "
                       "ALL SELECT 'k' UNION ALL SELECT NULL UNION ALL SELECT 'l'";
    run_words(text, NULL);
    char *dup = pdi_asprintf("%s UNION ALL SELECT 'e'", text);
    assert_non_null(dup);
    run_words(dup, "offending value e (2 rows)");
    free(dup);
    const char *ints = "SELECT 1 AS w UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
                       "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL "
                       "SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10";
    run_words(ints, NULL);
    dup = pdi_asprintf("%s UNION ALL SELECT 7", ints);
    assert_non_null(dup);
    run_words(dup, "offending value 7 (2 rows)");
    free(dup);
    pdi_test_set_unique_hash_bits(0);
}

/* SQLite compares INTEGER 1 and REAL 1.0 equal, TEXT '1' and BLOB x'31'
 * apart: the probe's canonical hash must agree with its GROUP BY. */
static void test_unique_mixed_sqlite(void **st)
{
    (void)st;
    if (strcmp(store_name(), "sqlite") != 0)
        skip();
    run_words("SELECT 1.0 AS w UNION ALL SELECT '1' UNION ALL SELECT x'31' UNION ALL SELECT 2",
              NULL);
    run_words("SELECT 1 AS w UNION ALL SELECT '1' UNION ALL SELECT 1.0", "(2 rows)");
}

/* DuckDB keeps a COLLATE NOCASE of the task's SQL in its table: 'a' and
 * 'A' are one value there, and unique fails (no hash probe on it). */
static void test_unique_nocase_duckdb(void **st)
{
    (void)st;
    if (strcmp(store_name(), "duckdb") != 0)
        skip();
    run_words("SELECT 'a' COLLATE NOCASE AS w UNION ALL SELECT 'A'", "(2 rows)");
}

static void test_min_lists_five(void **st)
{
    (void)st;
    /* seven offenders: five are shown, then "..." */
    const char *n[] = {"check min 0 failed on column 'target'", "offending values ", ", ..."};
    expect_failure("SELECT 1 AS oid, -1 AS target, 'a' AS kind, 1 AS customer UNION ALL "
                   "SELECT 2, -2, 'a', 1 UNION ALL SELECT 3, -3, 'a', 1 UNION ALL "
                   "SELECT 4, -4, 'a', 1 UNION ALL SELECT 5, -5, 'a', 1 UNION ALL "
                   "SELECT 6, -6, 'a', 1 UNION ALL SELECT 7, -7, 'a', 1",
                   n, 3);
}

static void test_accepted_values(void **st)
{
    (void)st;
    const char *n[] = {"check accepted_values [\"a\", \"b\"] failed on column 'kind'",
                       "offending value zz"};
    expect_failure("SELECT 1 AS oid, 1 AS target, 'zz' AS kind, 1 AS customer", n, 2);
}

static void test_references(void **st)
{
    (void)st;
    const char *n[] = {"check references raw.ids.id failed on column 'customer'",
                       "offending value 42"};
    expect_failure("SELECT 1 AS oid, 1 AS target, 'a' AS kind, 42 AS customer", n, 2);
}

static void test_missing_column(void **st)
{
    (void)st;
    const char *n[] = {"check not_null names column 'oid'", "does not have"};
    expect_failure("SELECT 1 AS id, 1 AS target, 'a' AS kind, 1 AS customer", n, 2);
}

static void test_primary_key(void **st)
{
    (void)st;
    static const char *const sqls[] = {"SELECT 1 AS k UNION ALL SELECT NULL",
                                       "SELECT 1 AS k UNION ALL SELECT 1"};
    static const char *const want[] = {"primary key check not_null failed on column 'k'",
                                       "primary key check unique failed on column 'k'"};
    for (int i = 0; i < 2; i++) {
        pd_flow *f = pd_flow_new("pk");
        pd_stage *s = pd_flow_add_stage(f, "s");
        pd_task *t = pd_stage_add_sql(s, "t", sqls[i]);
        const char *pk[] = {"k"};
        assert_int_equal(pd_task_set_primary_key(t, pk, 1), PD_OK);
        assert_int_equal(pd_flow_finalize(f), PD_OK);
        pd_result *r = pdt_run_flow(f, NULL, PD_ERR_TASK);
        const char *err = error_of(r, "t");
        assert_non_null(err);
        if (!strstr(err, want[i]))
            fail_msg("'%s' not in: %s", want[i], err);
        pd_result_free(r);
        pd_flow_free(f);
    }
}

static void test_api_errors(void **st)
{
    (void)st;
    pd_flow *f = pd_flow_new("bad");
    pd_stage *s = pd_flow_add_stage(f, "s");
    pd_task *t = pd_stage_add_sql(s, "t", "SELECT 1 AS a");
    const char *bad[] = {"1; DROP TABLE x"}, *null[] = {"null"}, *two[] = {"1", "2"};
    const char *noref[] = {"nodots"};
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_MIN, bad, 1), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_MIN, null, 1), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_MAX, two, 2), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_MIN, NULL, 0), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_NOT_NULL, two, 1), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_ACCEPTED_VALUES, NULL, 0), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", PD_CHECK_REFERENCES, noref, 1), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "", PD_CHECK_UNIQUE, NULL, 0), PD_OK);
    assert_int_not_equal(pd_task_add_check(t, "a", (pd_check_kind)99, NULL, 0), PD_OK);
    pd_task *e = pd_stage_add_external(s, "e", "x", "y");
    assert_int_not_equal(pd_task_add_check(e, "a", PD_CHECK_UNIQUE, NULL, 0), PD_OK);
    assert_non_null(strstr(pd_last_error(), "external"));
    pd_check_kind k;
    assert_int_equal(pd_check_kind_from_name("accepted_values", &k), PD_OK);
    assert_int_equal(k, PD_CHECK_ACCEPTED_VALUES);
    assert_string_equal(pd_check_kind_name(PD_CHECK_REFERENCES), "references");
    assert_int_not_equal(pd_check_kind_from_name("between", &k), PD_OK);
    pd_flow_free(f);
}

int main(void)
{
    g_pg = getenv("PD_ACC_PG_URL");
    if (g_pg && !*g_pg)
        g_pg = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_pass_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_collisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_mixed_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_nocase_duckdb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_lists_five, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepted_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_primary_key, setup, teardown),
        cmocka_unit_test(test_api_errors),
    };
    char name[64];
    snprintf(name, sizeof name, "store/checks (%s)", store_name());
    return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}
