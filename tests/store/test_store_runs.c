/*
 * tests/store/test_store_runs.c - whole runs on the SQLite store for what
 * the store guarantees across runs:
 *  - primary keys and `indexes:` exist on fresh tables AND on cache-valid
 *    tables copied into a changed stage;
 *  - a key or index naming a missing column fails the task, naming the
 *    task and the column;
 *  - the text of a string literal is part of the lazy cache key
 *    ('de' -> 'DE' is a cache miss, a whitespace-only change is not);
 *  - a stage whose tasks are all cache-valid, and whose metadata rows this
 *    run equal the committed ones, is not rewritten; a removed task's rows
 *    go all the same, and the task, added back, is computed again.
 * With PD_ACC_PG_URL (tests/store/CMakeLists.txt: the private cluster) the
 * same runs go to Postgres, one fresh database per test, technique from
 * PD_ACC_TECHNIQUE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pd_test_flow.h"
#include "util/util.h"

static const char *g_pg; /* cluster URL, or NULL: SQLite */

static int setup(void **st)
{
    (void)st;
    if (pdt_enter_temp_dir("pd_store_runs"))
        return -1;
    if (!g_pg)
        return pdt_write_default_config("store_runs");
    const char *tech = getenv("PD_ACC_TECHNIQUE");
    char *extra = pdi_asprintf("    stage_commit_technique: %s\n"
                               "    blob_store:\n"
                               "      class: FileBlobStore\n"
                               "      args:\n"
                               "        base_path: .pipedag/blobs\n",
                               tech && *tech ? tech : "SCHEMA_SWAP");
    int rc = extra ? pdt_write_pg_config(g_pg, "store_runs", "pd_sr", extra) : -1;
    free(extra);
    return rc;
}

static int teardown(void **st)
{
    (void)st;
    return pdt_leave_temp_dir();
}

static int first_cell(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    char **out = user;
    if (!*out && ncols > 0)
        *out = strdup(vals[0] ? vals[0] : "NULL");
    return 0;
}

/* The index names of the committed table stage.table, sorted, joined by ','. */
static char *index_names(const char *stage, const char *table)
{
    pd_config *cfg;
    pd_store *s = pdt_open_store(&cfg);
    char *master = pdi_store_sql_name(s, stage, "sqlite_master");
    char *sql = pdi_asprintf("SELECT group_concat(name, ',') FROM (SELECT name FROM %s WHERE type "
                             "= 'index' AND tbl_name = '%s' ORDER BY name)",
                             master, table);
    if (g_pg) { /* the table lives in the base schema or, READ_VIEWS, in the slot */
        free(sql);
        sql = pdi_asprintf("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                           "WHERE tablename = '%s' AND schemaname = coalesce((SELECT "
                           "cur_transaction_name FROM pipedag_metadata.stages WHERE stage = "
                           "'%s'), '%s')",
                           table, stage, stage);
    }
    const char *store = getenv("PD_TEST_STORE");
    if (store && strcmp(store, "duckdb") == 0) { /* READ_VIEWS: the table is in the slot */
        free(sql);
        sql = pdi_asprintf("SELECT string_agg(index_name, ',' ORDER BY index_name) FROM "
                           "duckdb_indexes() WHERE table_name = '%s' AND schema_name = (SELECT "
                           "cur_transaction_name FROM pipedag_metadata.stages WHERE stage = '%s')",
                           table, stage);
    }
    char *out = NULL;
    int rc = pdi_store_query(s, sql, first_cell, &out);
    if (rc)
        fail_msg("%s: %s", sql, pd_last_error());
    free(sql);
    free(master);
    pdt_close_store(s, cfg);
    return out;
}

static pd_flow *keys_flow(const char *b_sql, const char *pk_col)
{
    pd_flow *f = pd_flow_new("keys");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_task *a = pd_stage_add_sql(s1, "a", "SELECT 1 AS id, 'x' AS name, 2 AS n");
    const char *pk[] = {pk_col};
    const char *ix1[] = {"name"};
    const char *ix2[] = {"n", "id"};
    assert_int_equal(pd_task_set_primary_key(a, pk, 1), PD_OK);
    assert_int_equal(pd_task_add_index(a, ix1, 1), PD_OK);
    assert_int_equal(pd_task_add_index(a, ix2, 2), PD_OK);
    assert_non_null(pd_stage_add_sql(s1, "b", b_sql));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_keys_fresh_and_copied(void **st)
{
    (void)st;
    pd_flow *f = keys_flow("SELECT 2 AS v", "id");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "a", PD_STATE_COMPLETED);
    pd_result_free(r);
    pd_flow_free(f);
    char *ix = index_names("s1", "a");
    assert_non_null(ix);
    assert_string_equal(ix, "idx_a_n_id,idx_a_name,pk_a_id");
    free(ix);

    /* b changes: the stage is rebuilt, a is cache-valid and copied */
    f = keys_flow("SELECT 3 AS v", "id");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "a", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "s1", "b", PD_STATE_COMPLETED);
    pd_result_free(r);
    pd_flow_free(f);
    ix = index_names("s1", "a");
    assert_non_null(ix);
    assert_string_equal(ix, "idx_a_n_id,idx_a_name,pk_a_id");
    free(ix);
    pdt_assert_cell("SELECT v FROM %s", "s1", "b", "3");
}

static void test_key_missing_column(void **st)
{
    (void)st;
    pd_flow *f = keys_flow("SELECT 2 AS v", "idd");
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    pd_result *r = NULL;
    pd_config *cfg = pdt_load_cfg();
    int rc = pd_run(f, cfg, &o, &r);
    assert_int_not_equal(rc, PD_OK);
    assert_non_null(r);
    const char *err = NULL;
    for (size_t i = 0; i < pd_result_count(r); i++)
        if (strcmp(pd_task_name(pd_result_task(r, i)), "a") == 0)
            err = pd_result_error(r, i);
    assert_non_null(err);
    assert_non_null(strstr(err, "task 'a'"));
    assert_non_null(strstr(err, "column 'idd'"));
    pd_result_free(r);
    pd_config_free(cfg);
    pd_flow_free(f);
}

static pd_flow *literal_flow(const char *sql)
{
    pd_flow *f = pd_flow_new("literal");
    pd_stage *s1 = pd_flow_add_stage(f, "lit");
    assert_non_null(pd_stage_add_sql(s1, "country", sql));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_literal_case_is_a_cache_miss(void **st)
{
    (void)st;
    pd_flow *f = literal_flow("SELECT 'de' AS country");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "lit", "country", PD_STATE_COMPLETED);
    pd_result_free(r);
    pd_flow_free(f);
    pdt_assert_cell("SELECT country FROM %s", "lit", "country", "de");

    /* only the literal's case changes: a new table, never the old one */
    f = literal_flow("SELECT 'DE' AS country");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "lit", "country", PD_STATE_COMPLETED);
    pd_result_free(r);
    pd_flow_free(f);
    pdt_assert_cell("SELECT country FROM %s", "lit", "country", "DE");

    /* whitespace outside the literal is insignificant */
    f = literal_flow("SELECT   'DE'\n   AS country  ");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "lit", "country", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);
}

static pd_flow *cached_flow(bool with_b)
{
    pd_flow *f = pd_flow_new("cached");
    pd_stage *s = pd_flow_add_stage(f, "cs");
    assert_non_null(pd_stage_add_sql(s, "a", "SELECT 1 AS v"));
    if (with_b)
        assert_non_null(pd_stage_add_sql(s, "b", "SELECT v + 1 AS v FROM {{ a }}"));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

/* The committed task rows of stage cs: "name:run_id:state;..." by name. */
static char *cs_rows(void)
{
    /* SQLite, native or through ODBC: group_concat and 0/1 booleans */
    const char *store = getenv("PD_TEST_STORE");
    bool sqlite = !g_pg && (!store || strcmp(store, "sqlite_odbc") == 0);
    const char *agg = sqlite ? "group_concat(x, ';')" : "string_agg(x, ';' ORDER BY x)";
    char *sql = pdi_asprintf("SELECT %s FROM (SELECT name || ':' || run_id || ':' || CASE WHEN "
                             "output_json LIKE '%%\"state\":\"cache_valid\"%%' THEN 'cv' "
                             "ELSE 'other' END AS x FROM %%s WHERE stage = 'cs' AND "
                             "in_transaction_schema = %s ORDER BY x) AS q",
                             agg, sqlite ? "0" : "false");
    char *out = pdt_query_cell(sql, "pipedag_metadata", "tasks");
    free(sql);
    return out;
}

/* Does the cs_rows() answer hold a row of task `name`? (Each row starts
 * with "name:"; a bare strstr would also match a run id ending in the
 * name's letter, as in "...2b:cv".) */
static bool has_task(const char *rows, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = rows; p; p = strchr(p, ';')) {
        if (*p == ';')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return true;
    }
    return false;
}

static void run_cached(bool with_b, pd_task_state a, pd_task_state b)
{
    pd_flow *f = cached_flow(with_b);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "cs", "a", a);
    if (with_b)
        PDT_ASSERT_STATE(r, "cs", "b", b);
    pd_result_free(r);
    pd_flow_free(f);
}

static void test_cached_stage_not_rewritten(void **st)
{
    (void)st;
    run_cached(true, PD_STATE_COMPLETED, PD_STATE_COMPLETED);
    /* the first cached run records the tasks as cache-valid */
    run_cached(true, PD_STATE_CACHE_VALID, PD_STATE_CACHE_VALID);
    char *rows1 = cs_rows();
    assert_non_null(rows1);
    assert_true(has_task(rows1, "a"));
    assert_true(has_task(rows1, "b"));
    assert_null(strstr(rows1, "other"));
    /* the next one finds them equal and writes nothing: same run ids */
    run_cached(true, PD_STATE_CACHE_VALID, PD_STATE_CACHE_VALID);
    char *rows2 = cs_rows();
    assert_non_null(rows2);
    assert_string_equal(rows1, rows2);
    pdt_assert_cell("SELECT v FROM %s", "cs", "b", "2");
    /* b removed: a is cache-valid, but the stage's rows differ (b's go) */
    run_cached(false, PD_STATE_CACHE_VALID, PD_STATE_CACHE_VALID);
    char *rows3 = cs_rows();
    assert_non_null(rows3);
    assert_false(has_task(rows3, "b"));
    assert_true(has_task(rows3, "a"));
    /* b back: no committed row of it, so it is computed again */
    run_cached(true, PD_STATE_CACHE_VALID, PD_STATE_COMPLETED);
    pdt_assert_cell("SELECT v FROM %s", "cs", "b", "2");
    free(rows1);
    free(rows2);
    free(rows3);
}

int main(void)
{
    g_pg = getenv("PD_ACC_PG_URL");
    if (g_pg && !*g_pg)
        g_pg = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_fresh_and_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_missing_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_case_is_a_cache_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_stage_not_rewritten, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
