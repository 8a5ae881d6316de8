/*
 * tests/acceptance/test_acceptance.c - caching scenarios of
 * PIPEDAG_SEMANTICS.md §8.2 run end to end on the real SQLite store: cache
 * hits on re-run, version bumps (literal vs table output), lazy query
 * changes, renamed lazy outputs, raw SQL changes, moved tasks, empty stages,
 * sub-flow runs, cache modes, failures, and the parallel engine. Each test
 * works in its own temporary directory with its own pipedag.yaml.
 */
#include "pd_test_flow.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* With PD_ACC_PG_URL (a Postgres cluster URL ending in /<database>) the
 * suite runs on Postgres instead: one fresh database per test, commit
 * technique from PD_ACC_TECHNIQUE (SCHEMA_SWAP | READ_VIEWS). */
static char *pg_yaml(const char *url)
{
    static int counter;
    const char *slash = strrchr(url, '/');
    if (!slash || slash < url + 3 || slash[-1] == '/')
        return NULL;
    char rnd[PD_HASH_LEN + 1];
    pdi_random_id(rnd);
    const char *tech = getenv("PD_ACC_TECHNIQUE");
    return pdi_asprintf("name: acc\n"
                        "instances:\n"
                        "  default:\n"
                        "    instance_id: acc\n"
                        "    table_store:\n"
                        "      class: SQLTableStore\n"
                        "      args:\n"
                        "        url: \"%.*s/pd_acc_%d_%.8s\"\n"
                        "        create_database_if_not_exists: true\n"
                        "    stage_commit_technique: %s\n"
                        "    lock_manager:\n"
                        "      class: DatabaseLockManager\n"
                        "    blob_store:\n"
                        "      class: FileBlobStore\n"
                        "      args:\n"
                        "        base_path: .pipedag/blobs\n"
                        "    orchestration:\n"
                        "      class: SequentialEngine\n",
                        (int)(slash - url), url, counter++, rnd,
                        tech && *tech ? tech : "SCHEMA_SWAP");
}

static int setup(void **state)
{
    (void)state;
    if (pdt_enter_temp_dir("pd_acc") != 0)
        return -1;
    const char *pg = getenv("PD_ACC_PG_URL");
    if (pg && *pg) {
        char *y = pg_yaml(pg);
        int rc = y ? pdi_file_write_atomic("pipedag.yaml", y, strlen(y)) : PD_ERR;
        free(y);
        return rc == PD_OK ? 0 : -1;
    }
    return pdt_write_default_config("acc");
}

static int teardown(void **state)
{
    (void)state;
    return pdt_leave_temp_dir();
}

/* ------------------------------------------------------------ C tasks */

static int g_calls[8];

/* eager: outputs a literal value given by user data */
static int fn_value(pd_task_ctx *ctx, void *user)
{
    g_calls[0]++;
    return pd_ctx_output_value(ctx, (const char *)user);
}

/* eager: reads value of input "src" and outputs a table via SQL */
static int fn_use_value(pd_task_ctx *ctx, void *user)
{
    (void)user;
    g_calls[1]++;
    const char *v = pd_ctx_read_value(ctx, "src");
    if (!v)
        return PD_ERR;
    char *sql = pdi_asprintf("SELECT %s AS v", v);
    int rc = pd_ctx_output_sql(ctx, "use_value", sql);
    free(sql);
    return rc;
}

/* eager: outputs a table via SQL: SELECT <user> AS x */
static int fn_table(pd_task_ctx *ctx, void *user)
{
    g_calls[2]++;
    char *sql = pdi_asprintf("SELECT %s AS x", (const char *)user);
    int rc = pd_ctx_output_sql(ctx, "src", sql);
    free(sql);
    return rc;
}

/* eager: counts rows of input "src" read as Arrow */
static int fn_count(pd_task_ctx *ctx, void *user)
{
    (void)user;
    g_calls[3]++;
    return pdt_output_row_count(ctx, "src");
}

/* lazy: outputs SQL under a name given by user data */
static int fn_lazy_named(pd_task_ctx *ctx, void *user)
{
    g_calls[4]++;
    return pd_ctx_output_sql(ctx, (const char *)user, "SELECT 42 AS answer");
}

static int cache_counter = 0;
static int cf_counter(pd_task_ctx *ctx, void *user, char **out)
{
    (void)ctx;
    (void)user;
    *out = pdi_asprintf("%d", cache_counter);
    return *out ? PD_OK : PD_ERR_NOMEM;
}

/* ------------------------------------------------------------ tests */

static pd_flow *two_stage(const char *sql_a)
{
    pd_flow *f = pd_flow_new("two");
    pd_stage *s1 = pd_flow_add_stage(f, "stage_1");
    pd_stage *s2 = pd_flow_add_stage(f, "stage_2");
    assert_non_null(pd_stage_add_sql(s1, "a", sql_a));
    assert_non_null(pd_stage_add_sql(s1, "b", "SELECT x * 10 AS y FROM {{ a }}"));
    assert_non_null(pd_stage_add_sql(s1, "k", "SELECT 7 AS k"));
    assert_non_null(pd_stage_add_sql(s2, "c", "SELECT y + 1 AS z FROM {{ stage_1.b }}"));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_two_stage_cache(void **state)
{
    (void)state;
    pd_flow *f = two_stage("SELECT 1 AS x");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "stage_1", "a", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "stage_2", "c", PD_STATE_COMPLETED);
    char *js = pd_result_json(r);
    assert_non_null(strstr(js, "\"state\":\"completed\""));
    free(js);
    pd_result_free(r);
    pdt_assert_cell("SELECT z FROM %s", "stage_2", "c", "11");

    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "stage_1", "a", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "stage_1", "b", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "stage_2", "c", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pdt_assert_cell("SELECT z FROM %s", "stage_2", "c", "11");

    char *rep = NULL;
    pd_config *cfg = pdt_load_cfg();
    assert_int_equal(pd_show(f, cfg, &rep), PD_OK);
    assert_non_null(strstr(rep, "stage_2.c: cache valid"));
    free(rep);
    pd_flow_free(f);

    /* lazy query change: a, b, c re-run; k stays cached */
    f = two_stage("SELECT 2 AS x");
    assert_int_equal(pd_show(f, cfg, &rep), PD_OK);
    assert_non_null(strstr(rep, "stage_1.a: would run"));
    assert_non_null(strstr(rep, "stage_1.k: cache valid"));
    free(rep);
    assert_int_equal(pd_explain(f, cfg, "stage_1.b", &rep), PD_OK);
    assert_non_null(strstr(rep, "input a: CHANGED"));
    free(rep);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "stage_1", "a", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "stage_1", "b", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "stage_1", "k", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "stage_2", "c", PD_STATE_COMPLETED);
    pd_result_free(r);
    /* k was copied into the new stage version */
    pdt_assert_cell("SELECT k FROM %s", "stage_1", "k", "7");
    pdt_assert_cell("SELECT z FROM %s", "stage_2", "c", "21");

    pd_task_state st[8];
    assert_int_equal(pd_last_states(f, cfg, st, pd_flow_stage(f, 0) ? 4 : 0), PD_OK);
    pd_config_free(cfg);
    pd_flow_free(f);
}

static pd_flow *version_flow(const char *ver_src, const char *value, bool table_out)
{
    pd_flow *f = pd_flow_new("ver");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_task *src = table_out ? pd_stage_add_c(s1, "src", fn_table, (void *)value)
                             : pd_stage_add_c(s1, "src", fn_value, (void *)value);
    assert_non_null(src);
    pd_task_set_version(src, ver_src);
    pd_task *use;
    if (table_out) {
        use = pd_stage_add_c(s2, "use", fn_count, NULL);
        assert_non_null(pd_stage_add_sql(s2, "lazy", "SELECT x FROM {{ s1.src }}"));
    } else {
        use = pd_stage_add_c(s2, "use", fn_use_value, NULL);
    }
    pd_task_set_version(use, "1");
    assert_int_equal(pd_task_add_input(use, "s1.src"), PD_OK);
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_version_bump_literal(void **state)
{
    (void)state;
    memset(g_calls, 0, sizeof g_calls);
    pd_flow *f = version_flow("1", "5", false);
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    assert_int_equal(g_calls[0], 1);
    assert_int_equal(g_calls[1], 1);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "s2", "use", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_calls[0], 1);
    assert_int_equal(g_calls[1], 1);
    pd_flow_free(f);
    /* version bump, same literal: consumer stays cached */
    f = version_flow("2", "5", false);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s2", "use", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_calls[0], 2);
    assert_int_equal(g_calls[1], 1);
    pd_flow_free(f);
    /* changed literal: consumer runs */
    f = version_flow("3", "6", false);
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    assert_int_equal(g_calls[0], 3);
    assert_int_equal(g_calls[1], 2);
    pdt_assert_cell("SELECT v FROM %s", "s2", "use_value", "6");
    pd_flow_free(f);
}

static void test_version_bump_table(void **state)
{
    (void)state;
    memset(g_calls, 0, sizeof g_calls);
    pd_flow *f = version_flow("1", "5", true);
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    assert_int_equal(g_calls[2], 1);
    assert_int_equal(g_calls[3], 1);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s2", "use", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "s2", "lazy", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_calls[2], 1);
    assert_int_equal(g_calls[3], 1);
    pd_flow_free(f);
    /* bump: the table gets a new cache key, every consumer re-runs */
    f = version_flow("2", "5", true);
    pd_config *cfg = pdt_load_cfg();
    char *rep = NULL;
    assert_int_equal(pd_show(f, cfg, &rep), PD_OK);
    assert_non_null(strstr(rep, "s1.src: would run"));
    assert_non_null(strstr(rep, "s2.lazy: would run"));
    assert_non_null(strstr(rep, "s2.use: would run"));
    free(rep);
    assert_int_equal(pd_explain(f, cfg, "s1.src", &rep), PD_OK);
    assert_non_null(strstr(rep, "version: CHANGED (1 -> 2)"));
    free(rep);
    pd_config_free(cfg);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s2", "use", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s2", "lazy", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_int_equal(g_calls[2], 2);
    assert_int_equal(g_calls[3], 2);
    pdt_assert_cell("SELECT x FROM %s", "s2", "lazy", "5");
    pd_flow_free(f);
}

static pd_flow *renamed_flow(const char *out_name)
{
    pd_flow *f = pd_flow_new("ren");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_task *t = pd_stage_add_c(s1, "lz", fn_lazy_named, (void *)out_name);
    pd_task_set_lazy(t, true);
    pd_task_add_output(t, out_name);
    pd_stage_add_sql(s1, "other", "SELECT 1 AS o");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_renamed_lazy_output(void **state)
{
    (void)state;
    memset(g_calls, 0, sizeof g_calls);
    pd_flow *f = renamed_flow("first_name");
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    pd_flow_free(f);
    f = renamed_flow("second_name");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "lz", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_calls[4], 2); /* lazy functions always run */
    pdt_assert_cell("SELECT answer FROM %s", "s1", "second_name", "42");
    pdt_assert_cell("SELECT o FROM %s", "s1", "other", "1");
    pd_flow_free(f);
}

static pd_flow *raw_flow(const char *val)
{
    pd_flow *f = pd_flow_new("raw");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    char *script = pdi_asprintf("CREATE TABLE {{ this_stage }}.r1 AS SELECT %s AS v;\n"
                                "CREATE TABLE {{ this_stage }}.r2 AS SELECT v * 2 AS w FROM "
                                "{{ this_stage }}.r1;",
                                val);
    assert_non_null(pd_stage_add_raw_sql(s1, "script", script));
    free(script);
    assert_non_null(pd_stage_add_sql(s2, "use", "SELECT w FROM {{ r2 }}"));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_raw_sql(void **state)
{
    (void)state;
    pd_flow *f = raw_flow("3");
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    pdt_assert_cell("SELECT w FROM %s", "s2", "use", "6");
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "script", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "s2", "use", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);
    f = raw_flow("4");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "script", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s2", "use", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT w FROM %s", "s2", "use", "8");
    pd_flow_free(f);
}

static pd_flow *moved_flow(bool moved)
{
    pd_flow *f = pd_flow_new("mv");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_stage *empty = pd_flow_add_stage(f, "empty");
    (void)empty;
    pd_stage_add_sql(moved ? s2 : s1, "m", "SELECT 1 AS x");
    pd_stage_add_sql(s2, "n", "SELECT 2 AS y");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_moved_task_and_empty_stage(void **state)
{
    (void)state;
    pd_flow *f = moved_flow(false);
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    pd_flow_free(f);
    f = moved_flow(true);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "s2", "m", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s2", "n", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pdt_assert_cell("SELECT x FROM %s", "s2", "m", "1");
    pdt_assert_cell("SELECT y FROM %s", "s2", "n", "2");
    pd_flow_free(f);
}

static void test_subflows(void **state)
{
    (void)state;
    pd_flow *f = two_stage("SELECT 1 AS x");
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    pd_flow_free(f);

    /* task subset: runs (forced), never commits */
    f = two_stage("SELECT 3 AS x");
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    const char *tasks[] = {"stage_1.a"};
    o.tasks = tasks;
    o.n_tasks = 1;
    pd_result *r = pdt_run_flow(f, &o, PD_OK);
    assert_int_equal(pd_result_count(r), 1);
    PDT_ASSERT_STATE(r, "stage_1", "a", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT x FROM %s", "stage_1", "a", "1");

    /* task subset reading an input from the store */
    const char *tasks2[] = {"stage_2.c"};
    o.tasks = tasks2;
    r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, "stage_2", "c", PD_STATE_COMPLETED);
    pd_result_free(r);

    /* stage subset: runs and commits */
    pd_run_options o2 = PD_RUN_OPTIONS_INIT;
    const char *stages[] = {"stage_1"};
    o2.stages = stages;
    o2.n_stages = 1;
    r = pdt_run_flow(f, &o2, PD_OK);
    assert_int_equal(pd_result_count(r), 3);
    PDT_ASSERT_STATE(r, "stage_1", "a", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT x FROM %s", "stage_1", "a", "3");
    pdt_assert_cell("SELECT z FROM %s", "stage_2", "c", "11");
    /* then the rest: stage_2 sees the new input */
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, "stage_1", "a", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "stage_2", "c", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT z FROM %s", "stage_2", "c", "31");
    pd_flow_free(f);
}

static pd_flow *source_flow(void)
{
    pd_flow *f = pd_flow_new("src");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_task *src = pd_stage_add_c(s1, "src", fn_table, (void *)"1");
    pd_task_set_version(src, "1");
    pd_task_set_cache_fn(src, cf_counter, NULL);
    pd_stage_add_sql(s1, "use", "SELECT x FROM {{ src }}");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_cache_modes(void **state)
{
    (void)state;
    memset(g_calls, 0, sizeof g_calls);
    cache_counter = 0;
    pd_flow *f = source_flow();
    pd_result_free(pdt_run_flow(f, NULL, PD_OK));
    assert_int_equal(g_calls[2], 1);
    pd_run_options o = PD_RUN_OPTIONS_INIT;

    /* fresh input ignored */
    cache_counter = 1;
    o.cache_mode = PD_CACHE_IGNORE_FRESH_INPUT;
    pd_result *r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, "s1", "use", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_calls[2], 1);

    /* assert no fresh input: fails, nothing committed */
    o.cache_mode = PD_CACHE_ASSERT_NO_FRESH_INPUT;
    r = pdt_run_flow(f, &o, PD_ERR_TASK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_FAILED);
    PDT_ASSERT_STATE(r, "s1", "use", PD_STATE_NOT_RUN);
    assert_non_null(strstr(pd_result_error(r, 0), "ASSERT_NO_FRESH_INPUT"));
    pd_result_free(r);

    /* normal: the changed cache function re-runs the source */
    o.cache_mode = PD_CACHE_NORMAL;
    r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_int_equal(g_calls[2], 2);

    /* force fresh input: source runs, its key is unchanged: consumer cached */
    o.cache_mode = PD_CACHE_FORCE_FRESH_INPUT;
    r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s1", "use", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_calls[2], 3);

    /* force cache invalid: everything materialized */
    o.cache_mode = PD_CACHE_FORCE_CACHE_INVALID;
    r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, "s1", "src", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s1", "use", PD_STATE_COMPLETED);
    pd_result_free(r);

    /* disable_cache_function with normal mode is rejected */
    o.cache_mode = PD_CACHE_NORMAL;
    o.disable_cache_function = 1;
    pd_config *cfg = pdt_load_cfg();
    pd_result *rr = NULL;
    assert_int_equal(pd_run(f, cfg, &o, &rr), PD_ERR_CONFIG);
    assert_null(rr);
    /* ignore_task_version: versioned source always runs */
    o.disable_cache_function = -1;
    o.ignore_task_version = 1;
    assert_int_equal(pd_run(f, cfg, &o, &rr), PD_OK);
    assert_int_equal(g_calls[2], 5);
    PDT_ASSERT_STATE(rr, "s1", "use", PD_STATE_COMPLETED);
    pd_result_free(rr);
    pd_config_free(cfg);
    pd_flow_free(f);
}

static void test_failure(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("fail");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_stage *s3 = pd_flow_add_stage(f, "s3");
    pd_task *bad = pd_stage_add_sql(s1, "bad", "SELECT * FROM no_such_table_xyz");
    pd_task_set_origin(bad, "flow.yaml", 7);
    pd_stage_add_sql(s1, "fine", "SELECT 1 AS x");
    pd_stage_add_sql(s2, "after", "SELECT * FROM {{ s1.fine }}");
    pd_stage_add_sql(s3, "indep", "SELECT 5 AS q");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    pd_result *r = pdt_run_flow(f, NULL, PD_ERR_TASK);
    PDT_ASSERT_STATE(r, "s1", "bad", PD_STATE_FAILED);
    PDT_ASSERT_STATE(r, "s1", "fine", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, "s2", "after", PD_STATE_NOT_RUN);
    PDT_ASSERT_STATE(r, "s3", "indep", PD_STATE_COMPLETED);
    assert_false(pd_result_successful(r));
    const char *err = pd_result_error(r, 0);
    assert_non_null(err);
    assert_non_null(strstr(err, "flow.yaml:7"));
    assert_non_null(strstr(err, "bad"));
    assert_non_null(strstr(err, "no_such_table_xyz"));
    char *js = pd_result_json(r);
    assert_non_null(strstr(js, "\"not_run\""));
    assert_non_null(strstr(js, "\"failed\""));
    free(js);
    pd_result_free(r);
    pdt_assert_cell("SELECT q FROM %s", "s3", "indep", "5");

    /* fail_fast: nothing is started after the first failure */
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    o.fail_fast = 1;
    r = pdt_run_flow(f, &o, PD_ERR_TASK);
    PDT_ASSERT_STATE(r, "s1", "bad", PD_STATE_FAILED);
    PDT_ASSERT_STATE(r, "s1", "fine", PD_STATE_NOT_RUN);
    PDT_ASSERT_STATE(r, "s3", "indep", PD_STATE_NOT_RUN);
    pd_result_free(r);
    pd_flow_free(f);
}

static pd_flow *wide_flow(void)
{
    pd_flow *f = pd_flow_new("wide");
    char name[32], sql[128];
    for (int s = 0; s < 3; s++) {
        snprintf(name, sizeof name, "w%d", s);
        pd_stage *st = pd_flow_add_stage(f, name);
        for (int i = 0; i < 6; i++) {
            snprintf(name, sizeof name, "t%d_%d", s, i);
            if (s == 0)
                snprintf(sql, sizeof sql, "SELECT %d AS v", i);
            else
                snprintf(sql, sizeof sql, "SELECT v + 1 AS v FROM {{ w%d.t%d_%d }}", s - 1, s - 1,
                         (i + 1) % 6);
            assert_non_null(pd_stage_add_sql(st, name, sql));
        }
    }
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_parallel(void **state)
{
    (void)state;
    pd_flow *f = wide_flow();
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    o.jobs = 3;
    pd_result *r = pdt_run_flow(f, &o, PD_OK);
    for (size_t i = 0; i < pd_result_count(r); i++)
        assert_int_equal(pd_result_state(r, i), PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT v FROM %s", "w2", "t2_0", "4");
    r = pdt_run_flow(f, &o, PD_OK);
    for (size_t i = 0; i < pd_result_count(r); i++)
        assert_int_equal(pd_result_state(r, i), PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_stage_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_bump_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_bump_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_lazy_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_task_and_empty_stage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subflows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
