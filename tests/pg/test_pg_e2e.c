/*
 * tests/pg/test_pg_e2e.c - whole runs (pd_run) on Postgres: SQL, computed
 * (Arrow in and out through binary COPY) and raw SQL tasks, re-runs that are
 * cache-valid, a changed task, and the published schemas, for
 *   argv[1] = schema_swap | read_views  (Postgres table store), or
 *   argv[1] = sqlite_only (reference: same flow on SQLite only, not in ctest),
 *   argv[1] = meta_store  (SQLite tables + Postgres metadata_table_store,
 *                          DatabaseLockManager in Postgres: the seed shape).
 * Also: a foreign session holding the stage's advisory lock makes a run wait.
 */
#include "lock/dblock.h"
#include "pd_test_flow.h"
#include "pg_test_util.h"
#include "store/postgres/libpq.h"
#include "util/util.h"

#include <sys/wait.h>
#include <unistd.h>

static char *g_url;    /* admin URL (database postgres) */
static char *g_db_url; /* the instance's database */
static const char *g_variant;

static pdi_pg *conn(const char *url)
{
    pdi_pg *c = NULL;
    if (pdi_pg_connect(url, false, &c))
        fail_msg("connect: %s", pd_last_error());
    return c;
}

/* The read_views variant also uses a schema prefix: rewrite the schema
 * names of check queries accordingly. */
static const char *g_prefix = "";

static char *prefixed(const char *sql)
{
    static const char *const from[] = {"raw.", "feat.", "lk.", "'raw'", "pipedag_metadata."};
    char *cur = pdi_strdup(sql);
    if (!*g_prefix)
        return cur;
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        char to[64];
        if (from[i][0] == '\'')
            snprintf(to, sizeof to, "'%s%s", g_prefix, from[i] + 1);
        else
            snprintf(to, sizeof to, "%s%s", g_prefix, from[i]);
        char *n = pdi_str_replace(cur, from[i], to);
        free(cur);
        cur = n;
    }
    return cur;
}

static void expect(pdi_pg *c, const char *sql_in, const char *want)
{
    char *v = NULL;
    char *sql = prefixed(sql_in);
    if (pdi_pg_query_value(c, sql, &v))
        fail_msg("%s: %s", sql, pd_last_error());
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s: got %s, want %s", sql, v ? v : "(null)", want);
    free(v);
    free(sql);
}

static void write_config(void)
{
    bool meta = strcmp(g_variant, "meta_store") == 0;
    bool sqlite_only = strcmp(g_variant, "sqlite_only") == 0; /* reference run, no Postgres */
    pd_buf b = PD_BUF_INIT;
    pdi_buf_puts(&b, "name: pge2e\ninstances:\n  default:\n    instance_id: e2e\n"
                     "    table_store:\n      class: SQLTableStore\n      args:\n");
    if (sqlite_only) {
        pdi_buf_puts(&b, "        url: \"sqlite:///.pipedag/{instance_id}\"\n");
    } else if (meta) {
        pdi_buf_puts(&b, "        url: \"sqlite:///.pipedag/{instance_id}\"\n"
                         "        create_database_if_not_exists: true\n"
                         "      metadata_table_store:\n"
                         "        class: \"pydiverse.pipedag.backend.table.SQLTableStore\"\n"
                         "        args:\n");
        pdi_buf_printf(&b, "          url: \"%s\"\n          create_database_if_not_exists: true\n",
                       g_db_url);
    } else {
        pdi_buf_printf(&b, "        url: \"%s\"\n        create_database_if_not_exists: true\n",
                       g_db_url);
    }
    if (*g_prefix)
        pdi_buf_printf(&b, "        schema_prefix: \"%s\"\n", g_prefix);
    if (strcmp(g_variant, "schema_swap") == 0) /* Postgres UNLOGGED tables */
        pdi_buf_puts(&b, "        materialization_details:\n"
                         "          __any__: {unlogged: true}\n"
                         "          logged: {unlogged: false}\n");
    pdi_buf_printf(&b, "    stage_commit_technique: %s\n",
                   strcmp(g_variant, "read_views") == 0 ? "READ_VIEWS" : "SCHEMA_SWAP");
    pdi_buf_puts(&b, sqlite_only
                         ? "    lock_manager:\n      class: FileLockManager\n"
                         : "    lock_manager:\n"
                           "      class: \"pydiverse.pipedag.backend.lock.DatabaseLockManager\"\n");
    pdi_buf_puts(&b, ""
                     "    blob_store:\n      class: FileBlobStore\n      args:\n"
                     "        base_path: .pipedag/blobs\n"
                     "    orchestration:\n      class: SequentialEngine\n");
    assert_false(b.oom);
    assert_int_equal(pdi_file_write_atomic("pipedag.yaml", b.data, b.len), PD_OK);
    pdi_buf_free(&b);
}

/* ------------------------------------------------------------ tasks */

static int g_arrow_calls, g_reader_calls;

static int fn_arrow_out(pd_task_ctx *ctx, void *user)
{
    (void)user;
    g_arrow_calls++;
    pd_arrow_builder *b = NULL;
    if (pd_arrow_builder_new(&b))
        return PD_ERR_NOMEM;
    pd_arrow_builder_add_column(b, "k", "l", 0);
    pd_arrow_builder_add_column(b, "name", "u", 1);
    pd_arrow_builder_add_column(b, "price", "d:10,2", 1);
    pd_arrow_builder_add_column(b, "day", "tdD", 1);
    pd_arrow_builder_add_column(b, "at", "tsu:UTC", 1);
    for (int i = 0; i < 1000; i++) {
        char buf[32];
        pd_arrow_builder_append_int(b, 0, i);
        int n = snprintf(buf, sizeof buf, "n%d", i);
        pd_arrow_builder_append_bytes(b, 1, buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "%d.%02d", i, i % 100);
        pd_arrow_builder_append_bytes(b, 2, buf, (size_t)n);
        pd_arrow_builder_append_int(b, 3, 19000 + i);
        if (i % 10)
            pd_arrow_builder_append_int(b, 4, 1700000000000000LL + i);
        else
            pd_arrow_builder_append_null(b, 4);
    }
    struct ArrowSchema s;
    struct ArrowArray a;
    int rc = pd_arrow_builder_finish(b, &s, &a);
    pd_arrow_builder_free(b);
    if (rc)
        return rc;
    struct ArrowArrayStream st;
    rc = pd_arrow_stream_from_batches(&s, &a, 1, &st);
    if (rc)
        return rc;
    return pd_ctx_output_table(ctx, "arrow_out", &st);
}

static int fn_reader(pd_task_ctx *ctx, void *user)
{
    (void)user;
    g_reader_calls++;
    return pdt_output_row_count(ctx, "raw.arrow_out");
}

static pd_flow *make_flow(const char *t1_value)
{
    pd_flow *f = pd_flow_new("pge2e");
    pd_stage *raw = pd_flow_add_stage(f, "raw");
    pd_stage *feat = pd_flow_add_stage(f, "feat");
    char *sql = pdi_asprintf("SELECT 1 AS id, %s AS v UNION ALL SELECT 2, 'b'", t1_value);
    pd_task *t1 = pd_stage_add_sql(raw, "t1", sql);
    free(sql);
    const char *pk[] = {"id"};
    assert_int_equal(pd_task_set_primary_key(t1, pk, 1), PD_OK);
    pd_task *ao = pd_stage_add_c(raw, "arrow_out", fn_arrow_out, NULL);
    assert_int_equal(pd_task_set_version(ao, "1.0"), PD_OK);
    pd_task *t2 = pd_stage_add_sql(feat, "t2", "SELECT id, v || '!' AS w FROM {{ raw.t1 }}");
    const char *ix[] = {"w", "id"};
    assert_int_equal(pd_task_add_index(t2, ix, 2), PD_OK);
    pd_task *rd = pd_stage_add_c(feat, "reader", fn_reader, NULL);
    assert_int_equal(pd_task_set_version(rd, "1.0"), PD_OK);
    assert_int_equal(pd_task_add_input(rd, "raw.arrow_out"), PD_OK);
    /* several statements (a dollar-quoted block on Postgres) */
    bool pg = strcmp(g_variant, "meta_store") != 0 && strcmp(g_variant, "sqlite_only") != 0;
    assert_non_null(
        pd_stage_add_raw_sql(feat, "script",
                             pg ? "CREATE TABLE {{ this_stage }}.made AS SELECT 42 AS x;\n"
                                  "CREATE VIEW {{ this_stage }}.made_v AS SELECT x + 1 AS y FROM "
                                  "{{ this_stage }}.made;\n"
                                  "DO $$ BEGIN PERFORM 1; END $$;"
                                : "CREATE TABLE {{ this_stage }}.made AS SELECT 42 AS x;\n"
                                  "CREATE VIEW {{ this_stage }}.made_v AS SELECT x + 1 AS y FROM "
                                  "{{ this_stage }}.made;"));
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    return f;
}

static void check_tables(const char *v1)
{
    if (strcmp(g_variant, "sqlite_only") == 0)
        return;
    bool meta = strcmp(g_variant, "meta_store") == 0;
    pdi_pg *c = conn(g_db_url);
    if (!meta) {
        char want[64];
        snprintf(want, sizeof want, "1:%s!,2:b!", v1);
        expect(c, "SELECT string_agg(id || ':' || w, ',' ORDER BY id) FROM feat.t2", want);
        expect(c,
               "SELECT count(*) || ',' || sum(k) || ',' || sum(price) || ',' || count(at) FROM "
               "raw.arrow_out",
               "1000,499500,499995.00,900");
        expect(c,
               "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
               "'raw.t1'::regclass AND attname = 'id'",
               "integer");
        expect(c, "SELECT y FROM feat.made_v", "43");
        if (strcmp(g_variant, "read_views") == 0) {
            expect(c,
                   "SELECT string_agg(table_name || ':' || table_type, ',' ORDER BY table_name) "
                   "FROM information_schema.tables WHERE table_schema = 'raw'",
                   "arrow_out:VIEW,t1:VIEW");
            expect(c,
                   "SELECT count(*) FROM pipedag_metadata.stages WHERE cur_transaction_name "
                   "LIKE '%\\_\\_odd' OR cur_transaction_name LIKE '%\\_\\_even'",
                   "2");
        } else {
            /* materialization_details: SQL (CTAS) and Arrow tables are UNLOGGED */
            expect(c,
                   "SELECT string_agg(relpersistence::text, ',' ORDER BY relname) FROM pg_class "
                   "WHERE oid IN ('feat.t2'::regclass, 'raw.arrow_out'::regclass)",
                   "u,u");
            /* primary key on the published table; previous version in __tmp */
            expect(c,
                   "SELECT count(*) FROM pg_constraint WHERE conrelid = 'raw.t1'::regclass AND "
                   "contype = 'p'",
                   "1");
        }
    }
    /* metadata lives in Postgres in every variant */
    expect(c, "SELECT count(*) > 0 FROM pipedag_metadata.tasks WHERE NOT in_transaction_schema",
           "t");
    expect(c, "SELECT count(*) FROM pipedag_metadata.tasks WHERE in_transaction_schema", "0");
    pdi_pg_close(c);
}

static void test_runs(void **st)
{
    (void)st;
    pd_flow *f = make_flow("'a'");
    /* show and explain on the fresh instance write nothing (issue 8.10) */
    pd_config *cfg = pdt_load_cfg();
    char *report = NULL;
    assert_int_equal(pd_show(f, cfg, &report), PD_OK);
    assert_non_null(strstr(report, "would run"));
    free(report);
    assert_int_equal(pd_explain(f, cfg, "t1", &report), PD_OK);
    assert_non_null(strstr(report, "no committed run"));
    free(report);
    pd_config_free(cfg);
    pdi_pg *c0 = conn(g_db_url);
    expect(c0,
           "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE "
           "'%pipedag_metadata'",
           "0");
    pdi_pg_close(c0);
    pd_result *r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t1", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "reader", PD_STATE_COMPLETED);
    pd_result_free(r);
    check_tables("a");

    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t1", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "t2", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "arrow_out", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "reader", PD_STATE_CACHE_VALID);
    PDT_ASSERT_STATE(r, NULL, "script", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    check_tables("a");
    pd_flow_free(f);

    f = make_flow("'z'");
    r = pdt_run_flow(f, NULL, PD_OK);
    PDT_ASSERT_STATE(r, NULL, "t1", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "t2", PD_STATE_COMPLETED);
    PDT_ASSERT_STATE(r, NULL, "arrow_out", PD_STATE_CACHE_VALID);
    pd_result_free(r);
    check_tables("z");
    pd_flow_free(f);
}

/* A foreign session holds the advisory lock of stage "raw": the run waits
 * until it is released. */
static void test_run_waits_for_lock(void **st)
{
    (void)st;
    pdi_pg *holder = conn(g_db_url);
    pdi_pg *c = conn(g_db_url);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", (long long)pdi_dblock_id("e2e#raw"));
    assert_int_equal(pdi_pg_exec(holder, sql), PD_OK);
    pid_t p = fork();
    if (p == 0) {
        pd_flow *f = make_flow("'w'");
        pd_config *cfg = NULL;
        pd_result *r = NULL;
        pd_run_options o = PD_RUN_OPTIONS_INIT;
        int rc = pd_config_load("pipedag.yaml", NULL, &cfg);
        if (!rc)
            rc = pd_run(f, cfg, &o, &r);
        if (rc)
            fprintf(stderr, "child run: %s\n", pd_last_error());
        _exit(rc ? 1 : 0);
    }
    /* the run is blocked on our lock (no timing: the test's TIMEOUT bounds it) */
    for (;;) {
        char *v = NULL;
        assert_int_equal(pdi_pg_query_value(c,
                                            "SELECT count(*) FROM pg_locks WHERE locktype = "
                                            "'advisory' AND NOT granted",
                                            &v),
                         PD_OK);
        bool waiting = v && atoi(v) > 0;
        free(v);
        if (waiting)
            break;
        int status;
        if (waitpid(p, &status, WNOHANG) == p)
            fail_msg("the run did not wait for the lock (exit %d)", WEXITSTATUS(status));
        usleep(20000);
    }
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)",
             (long long)pdi_dblock_id("e2e#raw"));
    assert_int_equal(pdi_pg_exec(holder, sql), PD_OK);
    int status = 0;
    waitpid(p, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    check_tables("w");
    pdi_pg_close(holder);
    pdi_pg_close(c);
}

/* A task that terminates the session holding the run's advisory locks. */
static int fn_kill_locks(pd_task_ctx *ctx, void *user)
{
    (void)user;
    pdi_pg *c = NULL;
    int rc = pdi_pg_connect(g_db_url, false, &c);
    if (!rc)
        /* only this test's database: other tests share the cluster */
        rc = pdi_pg_exec(c, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                            "'advisory' AND granted AND pid <> pg_backend_pid() AND database = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())");
    pdi_pg_close(c);
    if (rc)
        return rc;
    return pd_ctx_output_sql(ctx, "out", "SELECT 1 AS x");
}

/* Losing the lock connection in the middle of a stage: the stage is not
 * published. */
static void test_lost_lock_stops_commit(void **st)
{
    (void)st;
    pd_flow *f = pd_flow_new("lost");
    pd_stage *lk = pd_flow_add_stage(f, "lk");
    pd_task *t = pd_stage_add_c(lk, "killer", fn_kill_locks, NULL);
    pd_task_add_output(t, "out");
    assert_int_equal(pd_flow_finalize(f), PD_OK);
    pd_config *cfg = pdt_load_cfg();
    pd_result *r = NULL;
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    int rc = pd_run(f, cfg, &o, &r);
    assert_int_not_equal(rc, PD_OK);
    assert_non_null(strstr(pd_last_error(), "lost"));
    pd_result_free(r);
    pd_config_free(cfg);
    pd_flow_free(f);
    if (strcmp(g_variant, "meta_store") != 0) {
        pdi_pg *c = conn(g_db_url);
        expect(c, "SELECT to_regclass('lk.out') IS NULL", "t");
        pdi_pg_close(c);
    }
}

static int setup(void **state)
{
    (void)state;
    if (pdt_enter_temp_dir("pd_pge2e") != 0)
        return -1;
    char db[64];
    snprintf(db, sizeof db, "pdt_e2e_%s", g_variant);
    g_db_url = pg_test_url_db(g_url, db);
    pdi_pg *c = NULL;
    if (pdi_pg_connect(g_url, false, &c))
        return -1;
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    int rc = pdi_pg_exec(c, sql);
    pdi_pg_close(c);
    if (rc)
        return -1;
    write_config();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_db_url);
    return pdt_leave_temp_dir();
}

/* delete-schemas drops the instance's schemas and never a system schema,
 * even without a prefix (public, pg_catalog, information_schema stay). */
static void test_delete_schemas(void **st)
{
    (void)st;
    if (strcmp(g_variant, "meta_store") == 0)
        return; /* tables live in SQLite there */
    pd_config *cfg = NULL;
    pd_store *s = pdt_open_store(&cfg);
    pd_strv gone = {0};
    if (pdi_store_delete_schemas(s, &gone))
        fail_msg("delete-schemas: %s", pd_last_error());
    pdt_close_store(s, cfg);
    bool raw = false;
    for (size_t i = 0; i < gone.n; i++) {
        assert_false(pdi_str_starts(gone.items[i], "pg_"));
        assert_string_not_equal(gone.items[i], "public");
        assert_string_not_equal(gone.items[i], "information_schema");
        raw = raw || strstr(gone.items[i], "raw") != NULL;
    }
    assert_true(raw);
    pdi_strv_free(&gone);
    pdi_pg *c = conn(g_db_url);
    expect(c,
           "SELECT count(*) FROM information_schema.schemata WHERE schema_name IN "
           "('public', 'pg_catalog', 'information_schema')",
           "3");
    expect(c, "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '%raw%'",
           "0");
    pdi_pg_close(c);
}

int main(int argc, char **argv)
{
    g_variant = argc > 1 ? argv[1] : "schema_swap";
    if (strcmp(g_variant, "read_views") == 0)
        g_prefix = "pfx_";
    g_url = pg_test_url_required();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_run_waits_for_lock),
        cmocka_unit_test(test_lost_lock_stops_commit),
        cmocka_unit_test(test_delete_schemas),
    };
    int r = cmocka_run_group_tests(tests, setup, teardown);
    free(g_url);
    return r;
}
