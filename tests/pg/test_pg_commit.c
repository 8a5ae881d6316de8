/*
 * tests/pg/test_pg_commit.c - atomic Postgres stage commits through the
 * backend interface (pdi_backend_open_conn) and the store's transactional
 * commit (pdi_commit_tx): SCHEMA_SWAP and READ_VIEWS publish tables and
 * promote metadata together; a failure or a kill before COMMIT leaves both
 * the old tables and the old metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pg_test_util.h"
#include "pipedag/common.h"
#include "store/store_int.h"

#include <stdlib.h>

#include <sys/wait.h>
#include <unistd.h>

static char *g_url;
static pd_store_config g_sc;

/* One backend session (its backend and database kept beside it). */
typedef struct sess {
    const pdi_backend *be;
    pdi_db *db;
    pdi_conn *c;
} sess;

static sess *open_conn(void)
{
    sess *x = calloc(1, sizeof *x);
    assert_non_null(x);
    if (pdi_backend_open_conn(&g_sc, "t", &x->be, &x->db, &x->c))
        fail_msg("connect: %s", pd_last_error());
    return x;
}

static void close_conn(sess *x)
{
    pdi_backend_disconnect_close(x->be, x->db, x->c);
    free(x);
}

static int xexec(sess *x, const char *sql)
{
    return x->be->exec(x->c, sql);
}

/* The commit arguments of the old pdi_pg_commit_tx, run through the
 * store's transactional commit. */
typedef struct commit_args {
    const char *stage, *slot, *base_phys, *tx_phys, *swap_phys, *meta_phys;
    pd_commit_technique technique;
    bool changed;
} commit_args;

static int commit(sess *x, const commit_args *a)
{
    pdi_stage_names n = {.stage = a->stage,
                         .base = a->base_phys,
                         .tx = a->tx_phys,
                         .tx_logical = a->slot,
                         .swap = a->swap_phys,
                         .technique = a->technique};
    pdi_stmt meta[16];
    const char *slot = a->technique == PD_COMMIT_READ_VIEWS ? a->slot : NULL;
    size_t nmeta =
        a->meta_phys ? pdi_meta_promote_stmts_for(x->db->d, a->meta_phys, a->stage, slot, meta) : 0;
    int rc;
    if (a->changed) {
        rc = pdi_commit_tx(x->be, x->c, &n, meta, nmeta);
    } else { /* metadata promotion only, as the store does */
        rc = x->be->begin(x->c);
        for (size_t i = 0; i < nmeta && rc == PD_OK; i++)
            rc = x->be->query(x->c, meta[i].sql, meta[i].nparams, meta[i].params, NULL, NULL);
        if (rc == PD_OK)
            rc = x->be->commit(x->c);
        else
            x->be->rollback(x->c);
    }
    for (size_t i = 0; i < nmeta; i++)
        free(meta[i].sql);
    return rc;
}

static int val_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    char **out = user;
    if (!*out && ncols > 0)
        *out = strdup(vals[0] ? vals[0] : "NULL");
    return 0;
}

static char *value(sess *c, const char *sql)
{
    char *v = NULL;
    if (c->be->query(c->c, sql, 0, NULL, val_row, &v))
        fail_msg("%s: %s", sql, pd_last_error());
    return v;
}

static void expect(sess *c, const char *sql, const char *want)
{
    char *v = value(c, sql);
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s: got %s, want %s", sql, v ? v : "(no row)", want);
    free(v);
}

static void setup_meta(sess *c)
{
    assert_int_equal(xexec(c, "DROP SCHEMA IF EXISTS pdt_meta CASCADE; CREATE SCHEMA pdt_meta"),
                     PD_OK);
    char **ddl = pdi_sql_metadata_ddl(c->db->d, "pdt_meta");
    assert_non_null(ddl);
    for (char **p = ddl; *p; p++)
        if (xexec(c, *p))
            fail_msg("%s: %s", *p, pd_last_error());
    pdi_sql_strv_free(ddl);
}

/* stage s: base has t=1 and a committed task row "old"; the transaction
 * schema has t=2 and an uncommitted row "new"; stage "other" has a row. */
static void setup_swap(sess *c, const char *s)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s__tmp CASCADE; "
             "DROP SCHEMA IF EXISTS %s__swap CASCADE; CREATE SCHEMA %s; CREATE SCHEMA %s__tmp; "
             "CREATE TABLE %s.t AS SELECT 1 AS v; CREATE TABLE %s__tmp.t AS SELECT 2 AS v; "
             "DELETE FROM pdt_meta.tasks; "
             "INSERT INTO pdt_meta.tasks (name, stage, in_transaction_schema) VALUES "
             "('old', '%s', false), ('new', '%s', true), ('keep', 'other', false)",
             s, s, s, s, s, s, s, s, s);
    if (xexec(c, sql))
        fail_msg("%s", pd_last_error());
}

static commit_args swap_args(const char *s)
{
    static char base[64], tx[64], swap[64];
    snprintf(base, sizeof base, "%s", s);
    snprintf(tx, sizeof tx, "%s__tmp", s);
    snprintf(swap, sizeof swap, "%s__swap", s);
    commit_args a = {.stage = s,
                     .slot = tx,
                     .base_phys = base,
                     .tx_phys = tx,
                     .swap_phys = swap,
                     .meta_phys = "pdt_meta",
                     .technique = PD_COMMIT_SCHEMA_SWAP,
                     .changed = true};
    return a;
}

static void expect_old(sess *c)
{
    expect(c, "SELECT v FROM pdt_s1.t", "1");
    expect(c, "SELECT v FROM pdt_s1__tmp.t", "2");
    expect(c,
           "SELECT string_agg(name || ':' || in_transaction_schema, ',' ORDER BY name) FROM "
           "pdt_meta.tasks",
           "keep:false,new:true,old:false");
    expect(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pdt_s1__swap'", "0");
}

static void test_schema_swap(void **st)
{
    (void)st;
    sess *c = open_conn();
    setup_meta(c);
    setup_swap(c, "pdt_s1");
    commit_args a = swap_args("pdt_s1");
    assert_int_equal(commit(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_s1.t", "2");
    expect(c, "SELECT v FROM pdt_s1__tmp.t", "1");
    expect(c,
           "SELECT string_agg(name || ':' || in_transaction_schema, ',' ORDER BY name) FROM "
           "pdt_meta.tasks",
           "keep:false,new:false");

    /* unchanged stage: metadata promotion only */
    assert_int_equal(xexec(c, "INSERT INTO pdt_meta.tasks (name, stage, "
                              "in_transaction_schema) VALUES ('newer', 'pdt_s1', true)"),
                     PD_OK);
    a.changed = false;
    assert_int_equal(commit(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_s1.t", "2");
    expect(c,
           "SELECT string_agg(name || ':' || in_transaction_schema, ',' ORDER BY name) FROM "
           "pdt_meta.tasks",
           "keep:false,newer:false");
    close_conn(c);
}

static void test_swap_failure_rolls_back(void **st)
{
    (void)st;
    sess *c = open_conn();
    setup_meta(c);
    setup_swap(c, "pdt_s1");
    /* the promotion of raw_sql fails (table missing): everything rolls back */
    assert_int_equal(xexec(c, "ALTER TABLE pdt_meta.raw_sql RENAME TO raw_sql_x"), PD_OK);
    commit_args a = swap_args("pdt_s1");
    int rc = commit(c, &a);
    assert_int_equal(rc, PD_ERR_SQL);
    assert_non_null(strstr(pd_last_error(), "42P01"));
    assert_non_null(strstr(pd_last_error(), "rolled back"));
    expect_old(c);
    assert_int_equal(xexec(c, "ALTER TABLE pdt_meta.raw_sql_x RENAME TO raw_sql"), PD_OK);
    close_conn(c);
}

static void test_swap_killed_before_commit(void **st)
{
    (void)st;
    sess *c = open_conn();
    setup_meta(c);
    setup_swap(c, "pdt_s1");
    pid_t p = fork();
    if (p == 0) {
        sess *cc = open_conn();
        commit_args a = swap_args("pdt_s1");
        /* the process dies with the transaction open */
        setenv("PD_TEST_CRASH_AT", "pg_commit_before_commit", 1);
        commit(cc, &a);
        _exit(2);
    }
    int status = 0;
    waitpid(p, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 99);
    /* the server rolls back when the session disappears; wait for the
     * backend to finish (its locks block our reads until then) */
    expect_old(c);
    close_conn(c);
}

static void test_read_views(void **st)
{
    (void)st;
    sess *c = open_conn();
    setup_meta(c);
    assert_int_equal(
        xexec(c, "DROP SCHEMA IF EXISTS pdt_rv CASCADE; DROP SCHEMA IF EXISTS pdt_rv__odd "
                 "CASCADE; DROP SCHEMA IF EXISTS pdt_rv__even CASCADE; CREATE SCHEMA "
                 "pdt_rv; CREATE SCHEMA pdt_rv__odd; CREATE TABLE pdt_rv__odd.a AS SELECT "
                 "1 AS v; CREATE VIEW pdt_rv__odd.b AS SELECT v + 10 AS w FROM "
                 "pdt_rv__odd.a; CREATE VIEW pdt_rv.stale AS SELECT 0 AS z; "
                 "INSERT INTO pdt_meta.tasks (name, stage, in_transaction_schema) VALUES "
                 "('r1', 'pdt_rv', true)"),
        PD_OK);
    commit_args a = {.stage = "pdt_rv",
                     .slot = "pdt_rv__odd",
                     .base_phys = "pdt_rv",
                     .tx_phys = "pdt_rv__odd",
                     .meta_phys = "pdt_meta",
                     .technique = PD_COMMIT_READ_VIEWS,
                     .changed = true};
    assert_int_equal(commit(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "1");
    expect(c, "SELECT w FROM pdt_rv.b", "11");
    expect(c,
           "SELECT string_agg(table_name || ':' || table_type, ',' ORDER BY table_name) FROM "
           "information_schema.tables WHERE table_schema = 'pdt_rv'",
           "a:VIEW,b:VIEW");
    expect(c, "SELECT cur_transaction_name FROM pdt_meta.stages WHERE stage = 'pdt_rv'",
           "pdt_rv__odd");
    expect(c, "SELECT count(*) FROM pdt_meta.tasks WHERE in_transaction_schema", "0");

    /* next run writes the even slot; readers keep seeing odd until commit */
    assert_int_equal(xexec(c, "CREATE SCHEMA pdt_rv__even; CREATE TABLE pdt_rv__even.a AS "
                              "SELECT 2 AS v; INSERT INTO pdt_meta.tasks (name, stage, "
                              "in_transaction_schema) VALUES ('r2', 'pdt_rv', true)"),
                     PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "1");
    a.slot = a.tx_phys = "pdt_rv__even";
    assert_int_equal(commit(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "2");
    expect(c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pdt_rv'", "1");
    expect(c,
           "SELECT string_agg(cur_transaction_name, ',') FROM pdt_meta.stages WHERE stage = "
           "'pdt_rv'",
           "pdt_rv__even");
    expect(c, "SELECT string_agg(name, ',') FROM pdt_meta.tasks WHERE stage = 'pdt_rv'", "r2");

    /* failure inside: views and stages row stay on the even slot */
    assert_int_equal(xexec(c, "DROP SCHEMA pdt_rv__odd CASCADE; CREATE SCHEMA pdt_rv__odd; "
                              "CREATE TABLE pdt_rv__odd.a AS SELECT 3 AS v; ALTER TABLE "
                              "pdt_meta.lazy_tables RENAME TO lt_x"),
                     PD_OK);
    a.slot = a.tx_phys = "pdt_rv__odd";
    assert_int_not_equal(commit(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "2");
    expect(c, "SELECT cur_transaction_name FROM pdt_meta.stages WHERE stage = 'pdt_rv'",
           "pdt_rv__even");
    close_conn(c);
}

static void test_backend_ops(void **st)
{
    (void)st;
    sess *c = open_conn();
    assert_string_equal(c->be->name, "Postgres");
    const char *p[3] = {"a'b", NULL, "3"};
    char *v = NULL;
    assert_int_equal(
        c->be->query(c->c, "SELECT ? || '|' || coalesce(?, 'null') || '|' || ?", 3, p, val_row, &v),
        PD_OK);
    assert_string_equal(v, "a'b|null|3");
    free(v);
    assert_int_equal(c->be->query(c->c, "SELECT ?", 2, p, NULL, NULL), PD_ERR_INVALID);
    /* load_arrow into an existing table, query_arrow back */
    assert_int_equal(xexec(c, "DROP TABLE IF EXISTS public.pdt_ops; CREATE TABLE public.pdt_ops "
                              "(x bigint, s text)"),
                     PD_OK);
    struct ArrowArrayStream in;
    assert_int_equal(c->be->query_arrow(c->c,
                                        "SELECT g::bigint AS x, 'v' || g AS s FROM "
                                        "generate_series(1, 1000) g",
                                        &in),
                     PD_OK);
    int64_t rows = 0;
    assert_int_equal(c->be->load_arrow(c->c, "public", "pdt_ops", &in, &rows), PD_OK);
    assert_int_equal(rows, 1000);
    in.release(&in);
    v = value(c, "SELECT count(*) || ',' || sum(x) || ',' || max(s) FROM pdt_ops");
    assert_string_equal(v, "1000,500500,v999");
    free(v);
    assert_int_equal(xexec(c, "DROP TABLE pdt_ops"), PD_OK);
    close_conn(c);
}

int main(void)
{
    g_url = pg_test_url_required();
    g_sc.url = g_url;
    g_sc.dialect = (char *)"postgresql";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_ops),
        cmocka_unit_test(test_schema_swap),
        cmocka_unit_test(test_swap_failure_rolls_back),
        cmocka_unit_test(test_swap_killed_before_commit),
        cmocka_unit_test(test_read_views),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_url);
    return r;
}
