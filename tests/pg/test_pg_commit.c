/*
 * tests/pg/test_pg_commit.c - atomic Postgres stage commits through the
 * connector plug-in (pdi_pg_connector_open) and pdi_pg_commit_tx: SCHEMA_SWAP
 * and READ_VIEWS publish tables and promote metadata together; a failure or
 * a kill before COMMIT leaves both the old tables and the old metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pg_test_util.h"
#include "pipedag/common.h"
#include "store/pg_store.h"
#include "store/sql.h"

#include <sys/wait.h>
#include <unistd.h>

static char *g_url;
static pd_store_config g_sc;

static pdi_conn *open_conn(void)
{
    pdi_conn *c = NULL;
    if (pdi_pg_connector_open(&g_sc, &c))
        fail_msg("connect: %s", pd_last_error());
    return c;
}

static int val_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    char **out = user;
    if (!*out && ncols > 0)
        *out = strdup(vals[0] ? vals[0] : "NULL");
    return 0;
}

static char *value(pdi_conn *c, const char *sql)
{
    char *v = NULL;
    if (c->ops->query(c, sql, val_row, &v))
        fail_msg("%s: %s", sql, pd_last_error());
    return v;
}

static void expect(pdi_conn *c, const char *sql, const char *want)
{
    char *v = value(c, sql);
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s: got %s, want %s", sql, v ? v : "(no row)", want);
    free(v);
}

static void setup_meta(pdi_conn *c)
{
    assert_int_equal(c->ops->exec(c, "DROP SCHEMA IF EXISTS pdt_meta CASCADE; CREATE SCHEMA "
                                     "pdt_meta"),
                     PD_OK);
    char **ddl = pdi_sql_metadata_ddl(c->dialect, "pdt_meta");
    assert_non_null(ddl);
    for (char **p = ddl; *p; p++)
        if (c->ops->exec(c, *p))
            fail_msg("%s: %s", *p, pd_last_error());
    pdi_sql_strv_free(ddl);
}

/* stage s: base has t=1 and a committed task row "old"; the transaction
 * schema has t=2 and an uncommitted row "new"; stage "other" has a row. */
static void setup_swap(pdi_conn *c, const char *s)
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
    if (c->ops->exec(c, sql))
        fail_msg("%s", pd_last_error());
}

static pdi_pg_commit_args swap_args(const char *s)
{
    static char base[64], tx[64], swap[64];
    snprintf(base, sizeof base, "%s", s);
    snprintf(tx, sizeof tx, "%s__tmp", s);
    snprintf(swap, sizeof swap, "%s__swap", s);
    pdi_pg_commit_args a = {.stage = s,
                            .slot = tx,
                            .base_phys = base,
                            .tx_phys = tx,
                            .swap_phys = swap,
                            .meta_phys = "pdt_meta",
                            .technique = PD_COMMIT_SCHEMA_SWAP,
                            .changed = true};
    return a;
}

static void expect_old(pdi_conn *c)
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
    pdi_conn *c = open_conn();
    setup_meta(c);
    setup_swap(c, "pdt_s1");
    pdi_pg_commit_args a = swap_args("pdt_s1");
    assert_int_equal(pdi_pg_commit_tx(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_s1.t", "2");
    expect(c, "SELECT v FROM pdt_s1__tmp.t", "1");
    expect(c,
           "SELECT string_agg(name || ':' || in_transaction_schema, ',' ORDER BY name) FROM "
           "pdt_meta.tasks",
           "keep:false,new:false");

    /* unchanged stage: metadata promotion only */
    assert_int_equal(c->ops->exec(c, "INSERT INTO pdt_meta.tasks (name, stage, "
                                     "in_transaction_schema) VALUES ('newer', 'pdt_s1', true)"),
                     PD_OK);
    a.changed = false;
    assert_int_equal(pdi_pg_commit_tx(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_s1.t", "2");
    expect(c,
           "SELECT string_agg(name || ':' || in_transaction_schema, ',' ORDER BY name) FROM "
           "pdt_meta.tasks",
           "keep:false,newer:false");
    c->ops->close(c);
}

static void test_swap_failure_rolls_back(void **st)
{
    (void)st;
    pdi_conn *c = open_conn();
    setup_meta(c);
    setup_swap(c, "pdt_s1");
    /* the promotion of raw_sql fails (table missing): everything rolls back */
    assert_int_equal(c->ops->exec(c, "ALTER TABLE pdt_meta.raw_sql RENAME TO raw_sql_x"), PD_OK);
    pdi_pg_commit_args a = swap_args("pdt_s1");
    int rc = pdi_pg_commit_tx(c, &a);
    assert_int_equal(rc, PD_ERR_SQL);
    assert_non_null(strstr(pd_last_error(), "42P01"));
    assert_non_null(strstr(pd_last_error(), "rolled back"));
    expect_old(c);
    assert_int_equal(c->ops->exec(c, "ALTER TABLE pdt_meta.raw_sql_x RENAME TO raw_sql"), PD_OK);
    c->ops->close(c);
}

static void die_now(const char *point)
{
    (void)point;
    _exit(99);
}

static void test_swap_killed_before_commit(void **st)
{
    (void)st;
    pdi_conn *c = open_conn();
    setup_meta(c);
    setup_swap(c, "pdt_s1");
    pid_t p = fork();
    if (p == 0) {
        pdi_conn *cc = NULL;
        if (pdi_pg_connector_open(&g_sc, &cc))
            _exit(1);
        pdi_pg_commit_args a = swap_args("pdt_s1");
        a.crash_point = die_now; /* process dies with the transaction open */
        pdi_pg_commit_tx(cc, &a);
        _exit(2);
    }
    int status = 0;
    waitpid(p, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 99);
    /* the server rolls back when the session disappears; wait for the
     * backend to finish (its locks block our reads until then) */
    expect_old(c);
    c->ops->close(c);
}

static void test_read_views(void **st)
{
    (void)st;
    pdi_conn *c = open_conn();
    setup_meta(c);
    assert_int_equal(
        c->ops->exec(c, "DROP SCHEMA IF EXISTS pdt_rv CASCADE; DROP SCHEMA IF EXISTS pdt_rv__odd "
                        "CASCADE; DROP SCHEMA IF EXISTS pdt_rv__even CASCADE; CREATE SCHEMA "
                        "pdt_rv; CREATE SCHEMA pdt_rv__odd; CREATE TABLE pdt_rv__odd.a AS SELECT "
                        "1 AS v; CREATE VIEW pdt_rv__odd.b AS SELECT v + 10 AS w FROM "
                        "pdt_rv__odd.a; CREATE VIEW pdt_rv.stale AS SELECT 0 AS z; "
                        "INSERT INTO pdt_meta.tasks (name, stage, in_transaction_schema) VALUES "
                        "('r1', 'pdt_rv', true)"),
        PD_OK);
    pdi_pg_commit_args a = {.stage = "pdt_rv",
                            .slot = "pdt_rv__odd",
                            .base_phys = "pdt_rv",
                            .tx_phys = "pdt_rv__odd",
                            .meta_phys = "pdt_meta",
                            .technique = PD_COMMIT_READ_VIEWS,
                            .changed = true};
    assert_int_equal(pdi_pg_commit_tx(c, &a), PD_OK);
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
    assert_int_equal(c->ops->exec(c, "CREATE SCHEMA pdt_rv__even; CREATE TABLE pdt_rv__even.a AS "
                                     "SELECT 2 AS v; INSERT INTO pdt_meta.tasks (name, stage, "
                                     "in_transaction_schema) VALUES ('r2', 'pdt_rv', true)"),
                     PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "1");
    a.slot = a.tx_phys = "pdt_rv__even";
    assert_int_equal(pdi_pg_commit_tx(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "2");
    expect(c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pdt_rv'", "1");
    expect(c,
           "SELECT string_agg(cur_transaction_name, ',') FROM pdt_meta.stages WHERE stage = "
           "'pdt_rv'",
           "pdt_rv__even");
    expect(c, "SELECT string_agg(name, ',') FROM pdt_meta.tasks WHERE stage = 'pdt_rv'", "r2");

    /* failure inside: views and stages row stay on the even slot */
    assert_int_equal(c->ops->exec(c, "DROP SCHEMA pdt_rv__odd CASCADE; CREATE SCHEMA pdt_rv__odd; "
                                     "CREATE TABLE pdt_rv__odd.a AS SELECT 3 AS v; ALTER TABLE "
                                     "pdt_meta.lazy_tables RENAME TO lt_x"),
                     PD_OK);
    a.slot = a.tx_phys = "pdt_rv__odd";
    assert_int_not_equal(pdi_pg_commit_tx(c, &a), PD_OK);
    expect(c, "SELECT v FROM pdt_rv.a", "2");
    expect(c, "SELECT cur_transaction_name FROM pdt_meta.stages WHERE stage = 'pdt_rv'",
           "pdt_rv__even");
    c->ops->close(c);
}

static void test_connector_ops(void **st)
{
    (void)st;
    pdi_conn *c = open_conn();
    assert_string_equal(c->ops->name, "libpq");
    const char *p[3] = {"a'b", NULL, "3"};
    char *v = NULL;
    assert_int_equal(c->ops->query_params(c, "SELECT ? || '|' || coalesce(?, 'null') || '|' || ?",
                                          3, p, val_row, &v),
                     PD_OK);
    assert_string_equal(v, "a'b|null|3");
    free(v);
    assert_int_equal(c->ops->query_params(c, "SELECT ?", 2, p, NULL, NULL), PD_ERR_INVALID);
    /* insert_arrow into an existing table, query_arrow back */
    assert_int_equal(c->ops->exec(c,
                                  "DROP TABLE IF EXISTS pdt_ops; CREATE TABLE pdt_ops (x bigint, "
                                  "s text)"),
                     PD_OK);
    struct ArrowArrayStream in;
    assert_int_equal(c->ops->query_arrow(c,
                                         "SELECT g::bigint AS x, 'v' || g AS s FROM "
                                         "generate_series(1, 1000) g",
                                         0, &in),
                     PD_OK);
    struct ArrowSchema sc;
    assert_int_equal(in.get_schema(&in, &sc), 0);
    struct ArrowArray b;
    while (in.get_next(&in, &b) == 0 && b.release) {
        assert_int_equal(c->ops->insert_arrow(c, "pdt_ops", &sc, &b), PD_OK);
        b.release(&b);
    }
    sc.release(&sc);
    in.release(&in);
    v = value(c, "SELECT count(*) || ',' || sum(x) || ',' || max(s) FROM pdt_ops");
    assert_string_equal(v, "1000,500500,v999");
    free(v);
    assert_int_equal(c->ops->exec(c, "DROP TABLE pdt_ops"), PD_OK);
    c->ops->close(c);
}

int main(void)
{
    g_url = pg_test_url_required();
    g_sc.url = g_url;
    g_sc.dialect = (char *)"postgresql";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connector_ops),
        cmocka_unit_test(test_schema_swap),
        cmocka_unit_test(test_swap_failure_rolls_back),
        cmocka_unit_test(test_swap_killed_before_commit),
        cmocka_unit_test(test_read_views),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_url);
    return r;
}
