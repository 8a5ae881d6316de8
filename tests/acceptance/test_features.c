/*
 * tests/acceptance/test_features.c - end-to-end tests of task kinds and run
 * features on the real SQLite store: CSV load tasks (content changes re-run
 * them), views, external tables, blobs, C tasks from a shared library,
 * progress callbacks, last states, and the re-run of an eager cache hit whose
 * stored table vanished (PIPEDAG_SEMANTICS.md §11 deviation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipedag/pipedag.h"
#include "store/store.h"
#include "util/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];
static char g_cwd[1024];

static const char yaml_text[] = "name: feat\n"
                                "instances:\n"
                                "  default:\n"
                                "    instance_id: feat\n"
                                "    table_store:\n"
                                "      class: SQLTableStore\n"
                                "      args:\n"
                                "        url: \"sqlite:///.pipedag/{instance_id}\"\n"
                                "        create_database_if_not_exists: true\n"
                                "    lock_manager:\n"
                                "      class: FileLockManager\n"
                                "      args:\n"
                                "        base_path: .pipedag/locks\n"
                                "    blob_store:\n"
                                "      class: FileBlobStore\n"
                                "      args:\n"
                                "        base_path: .pipedag/blobs\n"
                                "    orchestration:\n"
                                "      class: SequentialEngine\n";

static int setup(void **state)
{
    (void)state;
    if (!getcwd(g_cwd, sizeof g_cwd))
        return -1;
    snprintf(g_dir, sizeof g_dir, "/tmp/pd_feat_XXXXXX");
    if (!mkdtemp(g_dir) || chdir(g_dir) != 0)
        return -1;
    return pd_file_write_atomic("pipedag.yaml", yaml_text, strlen(yaml_text)) == PD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (chdir(g_cwd) != 0)
        return -1;
    pd_rm_rf(g_dir);
    return 0;
}

static pd_config *load_cfg(void)
{
    pd_config *cfg = NULL;
    int rc = pd_config_load("pipedag.yaml", NULL, &cfg);
    if (rc)
        fprintf(stderr, "config: %s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    return cfg;
}

static pd_result *run_flow(pd_flow *f, const pd_run_options *o, int expect)
{
    pd_config *cfg = load_cfg();
    pd_result *r = NULL;
    pd_run_options def = PD_RUN_OPTIONS_INIT;
    int rc = pd_run(f, cfg, o ? o : &def, &r);
    if (rc != expect)
        fprintf(stderr, "pd_run: %d %s\n", rc, pd_last_error());
    assert_int_equal(rc, expect);
    assert_non_null(r);
    pd_config_free(cfg);
    return r;
}

static pd_task_state state_of(const pd_result *r, const char *task)
{
    for (size_t i = 0; i < pd_result_count(r); i++)
        if (strcmp(pd_task_name(pd_result_task(r, i)), task) == 0)
            return pd_result_state(r, i);
    fail_msg("task %s not in result", task);
    return PD_STATE_NOT_RUN;
}

#define ASSERT_STATE(r, t, want)                                               \
    do {                                                                       \
        pd_task_state got_ = state_of(r, t);                                   \
        if (got_ != (want))                                                    \
            fail_msg("%s: state %s, expected %s", t, pd_task_state_name(got_), \
                     pd_task_state_name(want));                                \
    } while (0)

static int cell_cb(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    char **out = user;
    if (!*out && ncols > 0)
        *out = pd_strdup(vals[0] ? vals[0] : "NULL");
    return 0;
}

/* sql contains "%s" where the physical name of stage.table goes */
static void assert_cell(const char *sql_tpl, const char *stage, const char *table, const char *want)
{
    pd_config *cfg = load_cfg();
    pd_store *s = NULL;
    assert_int_equal(pd_store_open(cfg, &s), PD_OK);
    bool ok = true;
    assert_int_equal(pd_store_setup(s, &ok), PD_OK);
    char *name = pd_store_sql_name(s, stage, table);
    char *sql = pd_str_replace(sql_tpl, "%s", name);
    char *out = NULL;
    int rc = pd_store_query(s, sql, cell_cb, &out);
    if (rc)
        fprintf(stderr, "query %s: %s\n", sql, pd_last_error());
    assert_int_equal(rc, PD_OK);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
    free(sql);
    free(name);
    pd_store_close(s);
    pd_config_free(cfg);
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
    assert_int_equal(pd_mkdir_p("flows/data"), PD_OK);
    const char *csv1 = "name,age,score\nann,30,1.5\n\"bo, b\",12,\n";
    assert_int_equal(pd_file_write_atomic("flows/data/people.csv", csv1, strlen(csv1)), PD_OK);
    pd_flow *f = load_flow();
    pd_result *r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "people", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_cell("SELECT s || '/' || n FROM %s", "use", "total", "42/2");
    assert_cell("SELECT name FROM %s WHERE age = 12", "raw", "people", "bo, b");
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "people", PD_STATE_CACHE_VALID);
    ASSERT_STATE(r, "total", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    /* content change: the load task and its consumer re-run */
    const char *csv2 = "name,age,score\nann,31,1.5\n\"bo, b\",12,\n";
    assert_int_equal(pd_file_write_atomic("flows/data/people.csv", csv2, strlen(csv2)), PD_OK);
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "people", PD_STATE_COMPLETED);
    ASSERT_STATE(r, "other", PD_STATE_CACHE_VALID);
    ASSERT_STATE(r, "total", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_cell("SELECT s FROM %s", "use", "total", "43");
    assert_cell("SELECT one FROM %s", "raw", "other", "1");

    /* a vanished stored table: the eager hit re-runs instead of failing */
    pd_config *cfg = load_cfg();
    pd_store *s = NULL;
    assert_int_equal(pd_store_open(cfg, &s), PD_OK);
    bool ok = true;
    assert_int_equal(pd_store_setup(s, &ok), PD_OK);
    assert_int_equal(pd_store_drop_table(s, "raw", "people"), PD_OK);
    pd_store_close(s);
    pd_config_free(cfg);
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "people", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_cell("SELECT COUNT(*) FROM %s", "raw", "people", "2");
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
    pd_result *r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "pq", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_cell("SELECT s FROM %s", "s2", "sum", "3");
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "pq", PD_STATE_CACHE_VALID);
    ASSERT_STATE(r, "sum", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    pd_flow_free(f);

    /* an external table: s1.p as seen by a later flow */
    f = pd_flow_new("ext");
    s1 = pd_flow_add_stage(f, "ext_stage");
    assert_non_null(pd_stage_add_external(s1, "outside", "s1", "p"));
    pd_stage_add_sql(s1, "read", "SELECT v + 10 AS w FROM {{ outside }}");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    r = run_flow(f, NULL, PD_OK);
    pd_result_free(r);
    assert_cell("SELECT w FROM %s", "ext_stage", "read", "11");
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "read", PD_STATE_CACHE_VALID);
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
    char *sql = pd_asprintf("SELECT '%.*s' AS content", (int)len, (const char *)data);
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
    pd_result *r = run_flow(f, &o, PD_OK);
    ASSERT_STATE(r, "train", PD_STATE_COMPLETED);
    ASSERT_STATE(r, "reader", PD_STATE_COMPLETED);
    ASSERT_STATE(r, "libtask", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_int_equal(g_progress_done, 3);
    assert_int_equal(g_progress_total, 3);
    assert_cell("SELECT content FROM %s", "s2", "reader", "weights:42");
    assert_cell("SELECT origin FROM %s", "s2", "libtask", "from_lib");
    r = run_flow(f, &o, PD_OK);
    ASSERT_STATE(r, "train", PD_STATE_CACHE_VALID);
    ASSERT_STATE(r, "reader", PD_STATE_CACHE_VALID);
    ASSERT_STATE(r, "libtask", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    assert_int_equal(g_blob_calls, 1);
    assert_int_equal(g_reader_calls, 1);

    /* the blob survived the unchanged commit: a forced reader still reads it */
    const char *only[] = {"s2"};
    o.stages = only;
    o.n_stages = 1;
    o.cache_mode = PD_CACHE_FORCE_CACHE_INVALID;
    r = run_flow(f, &o, PD_OK);
    ASSERT_STATE(r, "reader", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_int_equal(g_reader_calls, 2);

    pd_config *cfg = load_cfg();
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
    pd_result *r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "gen", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_cell("SELECT s FROM %s", "s1", "total", "6");
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "gen", PD_STATE_CACHE_VALID);
    ASSERT_STATE(r, "total", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    base = 2;
    r = run_flow(f, NULL, PD_OK);
    ASSERT_STATE(r, "gen", PD_STATE_COMPLETED);
    ASSERT_STATE(r, "total", PD_STATE_COMPLETED);
    pd_result_free(r);
    assert_cell("SELECT s FROM %s", "s1", "total", "9");
    assert_int_equal(g_arrow_calls, 3);
    pd_flow_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_and_external, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blobs_library_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_arrow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
