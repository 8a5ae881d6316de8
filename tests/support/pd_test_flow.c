/*
 * tests/support/pd_test_flow.c - helpers shared by the end-to-end tests:
 * temporary working directory, default pipedag.yaml, running a flow with
 * asserted status, task states and single-cell queries on the committed
 * store (see pd_test_flow.h).
 */
#include "pd_test_flow.h"

#include "config/cfg_int.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];
static char g_cwd[1024];

int pdt_enter_temp_dir(const char *prefix)
{
    if (!getcwd(g_cwd, sizeof g_cwd))
        return -1;
    snprintf(g_dir, sizeof g_dir, "/tmp/%s_XXXXXX", prefix);
    if (!mkdtemp(g_dir) || chdir(g_dir) != 0)
        return -1;
    return 0;
}

int pdt_leave_temp_dir(void)
{
    if (chdir(g_cwd) != 0)
        return -1;
    pdi_rm_rf(g_dir);
    return 0;
}

int pdt_write_default_config(const char *name)
{
    char *y = pdi_config_default_yaml(name, name);
    const char *store = getenv("PD_TEST_STORE");
    if (y && store && strcmp(store, "duckdb") == 0) {
        /* the same instance on a DuckDB file (READ_VIEWS, its default) */
        char *d = pdi_str_replace(y, "sqlite:///.pipedag/{instance_id}",
                                  "duckdb:///.pipedag/{instance_id}.duckdb");
        char *t = d ? pdi_str_replace(d, "stage_commit_technique: SCHEMA_SWAP",
                                      "stage_commit_technique: READ_VIEWS")
                    : NULL;
        free(y);
        free(d);
        y = t;
    }
    if (y && store && strcmp(store, "sqlite_odbc") == 0) {
        /* the same store directory through the SQLite ODBC driver
         * (libsqliteodbc, named by the path in PD_TEST_SQLITEODBC) */
        const char *drv = getenv("PD_TEST_SQLITEODBC");
        char *url = pdi_asprintf("sqlite+odbc:///.pipedag/{instance_id}?driver=%s",
                                 drv && *drv ? drv : "SQLite3");
        char *d = url ? pdi_str_replace(y, "sqlite:///.pipedag/{instance_id}", url) : NULL;
        free(url);
        free(y);
        y = d;
    }
    if (y && store && strcmp(store, "parquet") == 0) {
        /* ParquetTableStore: Parquet files under .pipedag/parquet (or the
         * S3 location in PD_TEST_PARQUET_BASE, with PD_TEST_S3_ENDPOINT),
         * a DuckDB catalog .pipedag/<instance_id>.duckdb */
        const char *base = getenv("PD_TEST_PARQUET_BASE");
        const char *ep = getenv("PD_TEST_S3_ENDPOINT");
        char *args =
            pdi_asprintf("class: ParquetTableStore\n"
                         "      args:\n"
                         "        parquet_base_path: \"%s\"\n"
                         "%s%s%s"
                         "        url: \"duckdb:///.pipedag/{instance_id}.duckdb\"\n",
                         base && *base ? base : ".pipedag/parquet",
                         ep && *ep ? "        s3_endpoint_url: \"" : "", ep && *ep ? ep : "",
                         ep && *ep ? "\"\n        s3_url_style: path\n" : "");
        char *d = args ? pdi_str_replace(y,
                                         "class: SQLTableStore\n"
                                         "      args:\n"
                                         "        url: \"sqlite:///.pipedag/{instance_id}\"\n",
                                         args)
                       : NULL;
        char *t = d ? pdi_str_replace(d, "stage_commit_technique: SCHEMA_SWAP",
                                      "stage_commit_technique: READ_VIEWS")
                    : NULL;
        free(args);
        free(y);
        free(d);
        y = t;
    }
    int rc = y ? pdi_file_write_atomic("pipedag.yaml", y, strlen(y)) : PD_ERR_NOMEM;
    free(y);
    return rc == PD_OK ? 0 : -1;
}

int pdt_write_pg_config(const char *server_url,
                        const char *name,
                        const char *db_prefix,
                        const char *extra_yaml)
{
    static int counter;
    const char *slash = strrchr(server_url, '/');
    char rnd[PD_HASH_LEN + 1];
    pdi_random_id(rnd);
    char *y = slash ? pdi_asprintf("name: %s\n"
                                   "instances:\n"
                                   "  default:\n"
                                   "    instance_id: %s\n"
                                   "    table_store:\n"
                                   "      class: SQLTableStore\n"
                                   "      args:\n"
                                   "        url: \"%.*s/%s_%d_%.8s\"\n"
                                   "        create_database_if_not_exists: true\n"
                                   "    lock_manager:\n"
                                   "      class: DatabaseLockManager\n"
                                   "%s",
                                   name, name, (int)(slash - server_url), server_url, db_prefix,
                                   counter++, rnd, extra_yaml ? extra_yaml : "")
                    : NULL;
    int rc = y ? pdi_file_write_atomic("pipedag.yaml", y, strlen(y)) : PD_ERR;
    free(y);
    return rc == PD_OK ? 0 : -1;
}

pd_config *pdt_load_cfg(void)
{
    pd_config *cfg = NULL;
    int rc = pd_config_load("pipedag.yaml", NULL, &cfg);
    if (rc)
        fprintf(stderr, "config: %s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    return cfg;
}

pd_result *pdt_run_flow(pd_flow *f, const pd_run_options *o, int expect)
{
    pd_config *cfg = pdt_load_cfg();
    pd_result *r = NULL;
    pd_run_options def = PD_RUN_OPTIONS_INIT;
    int rc = pd_run(f, cfg, o ? o : &def, &r);
    if (rc != expect) {
        char *js = r ? pd_result_json(r) : NULL;
        fprintf(stderr, "pd_run: %s (%s) %s\n", pd_status_name(rc), pd_last_error(), js ? js : "");
        free(js);
    }
    assert_int_equal(rc, expect);
    assert_non_null(r);
    pd_config_free(cfg);
    return r;
}

pd_task_state pdt_state_of(const pd_result *r, const char *stage, const char *task)
{
    for (size_t i = 0; i < pd_result_count(r); i++) {
        const pd_task *t = pd_result_task(r, i);
        if (strcmp(pd_task_name(t), task) == 0 &&
            (!stage || strcmp(pd_stage_name(pd_task_stage(t)), stage) == 0))
            return pd_result_state(r, i);
    }
    fail_msg("task %s%s%s not in result", stage ? stage : "", stage ? "." : "", task);
    return PD_STATE_NOT_RUN;
}

void pdt_assert_state_at(const pd_result *r,
                         const char *stage,
                         const char *task,
                         pd_task_state want,
                         const char *file,
                         int line)
{
    pd_task_state got = pdt_state_of(r, stage, task);
    if (got != want) {
        print_error("%s%s%s: state %s, expected %s\n", stage ? stage : "", stage ? "." : "", task,
                    pd_task_state_name(got), pd_task_state_name(want));
        _fail(file, line);
    }
}

/* pdi_store_query callback: keeps the first cell. */
static int first_cell(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    char **out = user;
    if (!*out && ncols > 0)
        *out = pdi_strdup(vals[0] ? vals[0] : "NULL");
    return 0;
}

pd_store *pdt_open_store(pd_config **cfg)
{
    *cfg = pdt_load_cfg();
    pd_store *s = NULL;
    assert_int_equal(pdi_store_open(*cfg, &s), PD_OK);
    bool ok = true;
    assert_int_equal(pdi_store_setup(s, &ok), PD_OK);
    return s;
}

void pdt_close_store(pd_store *s, pd_config *cfg)
{
    pdi_store_close(s);
    pd_config_free(cfg);
}

char *pdt_query_cell(const char *fmt_sql, const char *stage, const char *table)
{
    pd_config *cfg;
    pd_store *s = pdt_open_store(&cfg);
    char *name = pdi_store_sql_name(s, stage, table);
    char *sql = pdi_str_replace(fmt_sql, "%s", name);
    char *out = NULL;
    int rc = pdi_store_query(s, sql, first_cell, &out);
    if (rc)
        fprintf(stderr, "query %s: %s\n", sql, pd_last_error());
    assert_int_equal(rc, PD_OK);
    free(sql);
    free(name);
    pdt_close_store(s, cfg);
    return out;
}

void pdt_assert_cell(const char *fmt_sql, const char *stage, const char *table, const char *want)
{
    char *got = pdt_query_cell(fmt_sql, stage, table);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

int pdt_output_row_count(pd_task_ctx *ctx, const char *input)
{
    struct ArrowArrayStream st;
    memset(&st, 0, sizeof st);
    int rc = pd_ctx_read_table(ctx, input, &st);
    if (rc)
        return rc;
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (st.get_next(&st, &a) != 0) {
            st.release(&st);
            return pd_set_error(PD_ERR, "%s: stream error", input);
        }
        if (!a.release)
            break;
        rows += a.length;
        a.release(&a);
    }
    st.release(&st);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)rows);
    return pd_ctx_output_value(ctx, buf);
}
