/*
 * tests/acceptance/test_features.c - end-to-end tests of task kinds and run
 * features on the real SQLite store: CSV load tasks (content changes re-run
 * them), views, external tables, blobs, C tasks from a shared library,
 * progress callbacks, last states, and the re-run of an eager cache hit whose
 * stored table vanished (PIPEDAG_SEMANTICS.md §11 deviation).
 */
#include "pd_test_flow.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    if (pdt_enter_temp_dir("pd_feat") != 0)
        return -1;
    return pdt_write_default_config("feat");
}

static int teardown(void **state)
{
    (void)state;
    return pdt_leave_temp_dir();
}

/* ------------------------------------------------------------ CSV load */

static pd_flow *load_flow(void)
{
    pd_flow *f = pd_flow_new("load");
    pd_flow_set_file(f, "flows/flow.yaml"); /* CSV path relative to this */
    pd_stage *s1 = pd_flow_add_stage(f, "raw");
    pd_stage *s2 = pd_flow_add_stage(f, "use");
    assert_non_null(pd_stage_add_load(s1, "people", "data/people.csv"));
    assert_non_null(pd_stage_add_sql(s1, "other", "SELECT 1 AS one"));
    assert_non_null(pd_stage_add_sql(s2, "total",
                                     "SELECT SUM(age) AS s, COUNT(*) AS n FROM "
                                     "{{ people }}"));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_load_csv(void **state)
{
    (void)state;
    assert_int_equal(pdi_mkdir_p("flows/data"), PD_OK);
    const char *csv1 = "name,age,score\nann,30,1.5\n\"bo, b\",12,\n";
    assert_int_equal(pdi_file_write_atomic("flows/data/people.csv", csv1, strlen(csv1)), PD_OK);
    pd_flow *f = load_flow();
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "people", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT s || '/' || n FROM %s", "use", "total", "42/2");
    pdt_assert_cell("SELECT name FROM %s WHERE age = 12", "raw", "people", "bo, b");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "people", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "total", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    /* content change: the load task and its consumer re-run */
    const char *csv2 = "name,age,score\nann,31,1.5\n\"bo, b\",12,\n";
    assert_int_equal(pdi_file_write_atomic("flows/data/people.csv", csv2, strlen(csv2)), PD_OK);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "people", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "other", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "total", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT s FROM %s", "use", "total", "43");
    pdt_assert_cell("SELECT one FROM %s", "raw", "other", "1");

    /* a vanished stored table: the eager hit re-runs instead of failing */
    pd_config *cfg;
    pd_store *s = pdt_open_store(&cfg);
    assert_int_equal(pdi_store_drop_table(s, "raw", "people"), PD_OK);
    pdt_close_store(s, cfg);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "people", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT COUNT(*) FROM %s", "raw", "people", "2");
    pd_flow_free(f);
}

/* ------------------------------------------------------------ views, externals */

static void test_view_and_external(void **state)
{
    (void)state;
    pd_flow *f = pd_flow_new("views");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_stage_add_sql(s1, "p", "SELECT 1 AS v");
    pd_stage_add_sql(s1, "q", "SELECT 2 AS v");
    const char *srcs[] = {"p", "q"};
    assert_non_null(pd_stage_add_view(s1, "pq", srcs, 2));
    pd_stage_add_sql(s2, "sum", "SELECT SUM(v) AS s FROM {{ s1.pq }}");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "pq", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT s FROM %s", "s2", "sum", "3");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "pq", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "sum", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);

    /* an external table: s1.p as seen by a later flow */
    f = pd_flow_new("ext");
    s1 = pd_flow_add_stage(f, "ext_stage");
    assert_non_null(pd_stage_add_external(s1, "outside", "s1", "p"));
    pd_stage_add_sql(s1, "read", "SELECT v + 10 AS w FROM {{ outside }}");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    r = pdt_run_flow(f, NULL, PD_OK);
    pd_result_free(r);
    pdt_assert_cell("SELECT w FROM %s", "ext_stage", "read", "11");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "read", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);
}

/* ------------------------------------------------------------ blobs, library, progress */

static int g_blob_calls, g_reader_calls;

static int fn_blob(pd_task_ctx *ctx, void *user)
{
    (void)user;
    g_blob_calls++;
    return pd_ctx_output_blob(ctx, "model", "weights:42", 10);
}

static int fn_blob_reader(pd_task_ctx *ctx, void *user)
{
    (void)user;
    g_reader_calls++;
    void *data = NULL;
    size_t len = 0;
    int rc = pd_ctx_read_blob(ctx, "model", &data, &len);
    if (rc)
        return rc;
    char *sql = pdi_asprintf("SELECT '%.*s' AS content", (int)len, (const char *)data);
    free(data);
    rc = pd_ctx_output_sql(ctx, NULL, sql);
    free(sql);
    return rc;
}

static size_t g_progress_done, g_progress_total;
static void progress(void *user, const pd_task *t, pd_task_state s, size_t done, size_t total)
{
    (void)user;
    (void)t;
    (void)s;
    g_progress_done = done;
    g_progress_total = total;
}

static pd_flow *blob_flow(void)
{
    pd_flow *f = pd_flow_new("blobs");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_stage *s2 = pd_flow_add_stage(f, "s2");
    pd_task *b = pd_stage_add_c(s1, "train", fn_blob, NULL);
    pd_task_set_version(b, "1");
    pd_task_add_output(b, "model");
    pd_task *rd = pd_stage_add_c(s2, "reader", fn_blob_reader, NULL);
    pd_task_set_version(rd, "1");
    pd_task_add_input(rd, "model");
    pd_task *lib = pd_stage_add_c_symbol(s2, "libtask", PD_ACC_TASKS_LIB, "pd_acc_lib_task");
    assert_non_null(lib);
    pd_task_set_version(lib, "1");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_blobs_library_progress(void **state)
{
    (void)state;
    pd_flow *f = blob_flow();
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    o.progress = progress;
    pd_result *r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "train", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "reader", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "libtask", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_int_equal(g_progress_done, 3);
    assert_int_equal(g_progress_total, 3);
    pdt_assert_cell("SELECT content FROM %s", "s2", "reader", "weights:42");
    pdt_assert_cell("SELECT origin FROM %s", "s2", "libtask", "from_lib");
    r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "train", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "reader", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "libtask", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_blob_calls, 1);
    assert_int_equal(g_reader_calls, 1);

    /* the blob survived the unchanged commit: a forced reader still reads it */
    const char *only[] = {"s2"};
    o.stages = only;
    o.n_stages = 1;
    o.cache_mode = PD_CACHE_FORCE_CACHE_INVALID;
    r = pdt_run_flow(f, &o, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "reader", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_int_equal(g_reader_calls, 2);

    pd_config *cfg = pdt_load_cfg();
    pd_task_state st[3];
    assert_int_equal(pd_last_states(f, cfg, st, 3), PD_OK);
    assert_int_equal(st[0], PD_STATE_CACHE_VALID);
    assert_int_equal(st[1], PD_STATE_COMPLETED);
    pd_config_free(cfg);
    pd_flow_free(f);
}

/* ------------------------------------------------------------ lazy Arrow */

static int g_arrow_calls;
static int fn_lazy_arrow(pd_task_ctx *ctx, void *user)
{
    g_arrow_calls++;
    pd_arrow_builder *b = NULL;
    int rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "v", "l", 1);
    for (int i = 0; !rc && i < 3; i++)
        rc = pd_arrow_builder_append_int(b, 0, *(const int *)user + i);
    struct ArrowSchema sch;
    struct ArrowArray arr;
    memset(&sch, 0, sizeof sch);
    memset(&arr, 0, sizeof arr);
    if (!rc)
        rc = pd_arrow_builder_finish(b, &sch, &arr);
    pd_arrow_builder_free(b);
    struct ArrowArrayStream st;
    memset(&st, 0, sizeof st);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&sch, &arr, 1, &st);
    if (rc)
        return rc;
    return pd_ctx_output_table(ctx, "nums", &st);
}

static pd_flow *arrow_flow(int *base)
{
    pd_flow *f = pd_flow_new("arrow");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_task *t = pd_stage_add_c(s1, "gen", fn_lazy_arrow, base);
    pd_task_set_lazy(t, true);
    pd_task_add_output(t, "nums");
    pd_stage_add_sql(s1, "total", "SELECT SUM(v) AS s FROM {{ nums }}");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void test_lazy_arrow(void **state)
{
    (void)state;
    int base = 1;
    pd_flow *f = arrow_flow(&base);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "gen", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT s FROM %s", "s1", "total", "6");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "gen", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "total", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    base = 2;
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "gen", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "total", PD_STATE_COMPLETED);
    pd_result_free(r);
    pdt_assert_cell("SELECT s FROM %s", "s1", "total", "9");
    assert_int_equal(g_arrow_calls, 3);
    pd_flow_free(f);
}

/* --------------------------------------- primary key and indexes in the key */

static pd_flow *keyed_flow(const char *pk, const char *index)
{
    pd_flow *f = pd_flow_new("keyed");
    pd_stage *s1 = pd_flow_add_stage(f, "s1");
    pd_task *t = pd_stage_add_sql(s1, "t", "SELECT 1 AS a, 2 AS b");
    assert_non_null(t);
    if (pk)
        assert_int_equal(pd_task_set_primary_key(t, &pk, 1), PD_OK);
    if (index)
        assert_int_equal(pd_task_add_index(t, &index, 1), PD_OK);
    assert_non_null(pd_stage_add_sql(s1, "u", "SELECT a FROM {{ t }}"));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void expect_explain(pd_flow *f, const char *needle)
{
    pd_config *cfg = pdt_load_cfg();
    char *rep = NULL;
    assert_int_equal(pd_explain(f, cfg, "s1.t", &rep), PD_OK);
    if (!strstr(rep, needle))
        fail_msg("explain lacks '%s':\n%s", needle, rep);
    free(rep);
    pd_config_free(cfg);
}

static void test_materialization_in_key(void **state)
{
    (void)state;
    pd_flow *f = keyed_flow("a", NULL);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t", PD_STATE_COMPLETED);
    pd_result_free(r);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    expect_explain(f, "primary key and indexes: unchanged");
    pd_flow_free(f);
    /* another primary key: the table is re-created, explain names it */
    f = keyed_flow("b", NULL);
    expect_explain(f, "primary key and indexes: CHANGED");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "u", PD_STATE_COMPLETED);
    pd_result_free(r);
    pd_flow_free(f);
    /* an added index too */
    f = keyed_flow("b", "a");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t", PD_STATE_COMPLETED);
    pd_result_free(r);
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_and_external, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blobs_library_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_arrow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_materialization_in_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
