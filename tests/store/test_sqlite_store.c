/*
 * tests/store/test_sqlite_store.c - the SQLite table store end to end:
 * stage init/commit (file swap), SQL/Arrow/view/external hooks, keys,
 * copies, metadata lookups and promotion, attach limit, and crash safety
 * of the commit at every named crash point (PD_TEST_CRASH_AT, forked child).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "util/util.h"

static char g_dir[256];

static void make_cfg(pd_config *cfg, const char *dir, const char *prefix)
{
    memset(cfg, 0, sizeof *cfg);
    static char url[512];
    /* PD_TEST_STORE=sqlite_odbc: the same store through the ODBC backend
     * (libsqliteodbc at $PD_TEST_SQLITEODBC) */
    const char *store = getenv("PD_TEST_STORE"), *drv = getenv("PD_TEST_SQLITEODBC");
    if (store && strcmp(store, "sqlite_odbc") == 0 && drv)
        snprintf(url, sizeof url, "sqlite+odbc:///%s?driver=%s", dir, drv);
    else
        snprintf(url, sizeof url, "sqlite:///%s", dir);
    cfg->instance_id = "test";
    cfg->table_store.klass = PD_STORE_SQL;
    cfg->table_store.class_name = "SQLTableStore";
    cfg->table_store.url = url;
    cfg->table_store.dialect = "sqlite";
    cfg->table_store.schema_prefix = (char *)prefix;
    cfg->table_store.schema_suffix = "";
}

static pd_store *open_store(pd_config *cfg, const char *prefix)
{
    make_cfg(cfg, g_dir, prefix);
    pd_store *s = NULL;
    int rc = pdi_store_open(cfg, &s);
    if (rc)
        fprintf(stderr, "open: %s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    bool ok = false;
    rc = pdi_store_setup(s, &ok);
    if (rc)
        fprintf(stderr, "setup: %s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
    assert_true(ok);
    return s;
}

static int setup_dir(void **st)
{
    (void)st;
    snprintf(g_dir, sizeof g_dir, "/tmp/pd_store_test_%d_%ld", (int)getpid(), random());
    pdi_rm_rf(g_dir);
    return 0;
}

static int teardown_dir(void **st)
{
    (void)st;
    pdi_rm_rf(g_dir);
    return 0;
}

static int count_row(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    (void)n;
    (void)v;
    (*(int *)user)++;
    return 0;
}

static int first_val(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    char *out = user;
    snprintf(out, 256, "%s", n > 0 && v[0] ? v[0] : "NULL");
    return 0;
}

static void check(int rc)
{
    if (rc)
        fprintf(stderr, "error: %s\n", pd_last_error());
    assert_int_equal(rc, PD_OK);
}

static pd_task_meta task(const char *name, const char *stage, const char *hash)
{
    pd_task_meta m = {0};
    m.name = (char *)name;
    m.stage = (char *)stage;
    m.version = "1.0";
    m.timestamp = pdi_unix_micros();
    m.run_id = "run1";
    m.position_hash = "pos";
    m.input_hash = (char *)hash;
    m.cache_fn_hash = "";
    m.output_json = "{\"x\":1}";
    m.in_transaction_schema = true;
    return m;
}

static void test_stage_cycle(void **st)
{
    (void)st;
    pd_config cfg;
    pd_store *s = open_store(&cfg, "");
    assert_string_equal(pdi_store_dialect(s), "sqlite");
    assert_true(pdi_store_supports(s, PD_COMMIT_SCHEMA_SWAP));
    assert_false(pdi_store_supports(s, PD_COMMIT_READ_VIEWS));

    pd_stage_tx tx = {.stage = "stage_1", .technique = PD_COMMIT_READ_VIEWS, .run_id = "run1"};
    assert_int_equal(pdi_store_init_stage(s, &tx), PD_ERR_CONFIG);
    assert_non_null(strstr(pd_last_error(), "READ_VIEWS is not possible on the SQLite"));
    assert_non_null(strstr(pd_last_error(), "SQLite views cannot read tables of other schemas"));

    /* configured for the whole instance: refused when the store opens */
    pd_config cfg2;
    make_cfg(&cfg2, g_dir, "");
    cfg2.stage_commit_technique = PD_COMMIT_READ_VIEWS;
    pd_store *s2 = NULL;
    assert_int_equal(pdi_store_open(&cfg2, &s2), PD_ERR_CONFIG);
    assert_null(s2);
    assert_non_null(strstr(pd_last_error(), "SQLite views cannot read tables of other schemas"));

    tx.technique = PD_COMMIT_SCHEMA_SWAP;
    check(pdi_store_init_stage(s, &tx));
    assert_string_equal(tx.transaction_name, "stage_1__tmp");

    const char *pk[] = {"a"};
    const char *ix1[] = {"b", NULL};
    const char *const *ixs[] = {ix1};
    pd_table t = {.name = "t1",
                  .kind = PD_OBJ_SQL,
                  .sql = "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y';",
                  .primary_key = pk,
                  .n_primary_key = 1,
                  .indexes = ixs,
                  .n_indexes = 1,
                  .task_name = "task_t1"};
    check(pdi_store_materialize(s, &t, "stage_1__tmp"));
    bool ex = false;
    check(pdi_store_table_exists(s, "stage_1__tmp", "t1", &ex));
    assert_true(ex);
    check(pdi_store_table_exists(s, "stage_1", "t1", &ex));
    assert_false(ex);
    /* the PK is a unique index */
    int n = 0;
    check(pdi_store_query(s,
                          "SELECT name FROM \"stage_1__tmp\".sqlite_master WHERE type = 'index' "
                          "AND name IN ('pk_t1_a', 'idx_t1_b')",
                          count_row, &n));
    assert_int_equal(n, 2);
    assert_int_not_equal(pdi_store_execute_script(s, "INSERT INTO stage_1__tmp.t1 VALUES (1, 'z')"),
                         PD_OK);

    char *name = NULL;
    check(pdi_store_retrieve(s, "stage_1__tmp", "t1", PD_AS_SQL_NAME, -1, &name));
    assert_string_equal(name, "\"stage_1__tmp\".\"t1\"");
    free(name);

    /* metadata: uncommitted rows are invisible to the cache lookup */
    pd_task_meta m = task("t1", "stage_1", "h1");
    check(pdi_meta_insert_task(s, &m));
    int cnt = -1;
    pd_task_meta out = {0};
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h1", NULL, &out, &cnt));
    assert_int_equal(cnt, 0);
    bool found = false;
    check(pdi_meta_latest_task(s, "t1", "stage_1", "pos", false, &out, &found));
    assert_true(found);
    assert_true(out.in_transaction_schema);
    check(pdi_meta_latest_task(s, "t1", "stage_1", "pos", true, &out, &found));
    assert_false(found);

    check(pdi_store_commit_stage(s, &tx, true));
    check(pdi_store_table_exists(s, "stage_1", "t1", &ex));
    assert_true(ex);
    check(pdi_store_table_exists(s, "stage_1__tmp", "t1", &ex));
    assert_false(ex);
    char v[256];
    check(pdi_store_query(s, "SELECT sum(a) FROM stage_1.t1", first_val, v));
    assert_string_equal(v, "3");
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h1", NULL, &out, &cnt));
    assert_int_equal(cnt, 1);
    assert_string_equal(out.output_json, "{\"x\":1}");
    assert_false(out.in_transaction_schema);
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h1", "", &out, &cnt));
    assert_int_equal(cnt, 1);
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h1", "other", &out, &cnt));
    assert_int_equal(cnt, 0);

    /* second run: cache-valid copy keeps types and keys; new rows replace old */
    check(pdi_store_init_stage(s, &tx));
    check(pdi_store_copy_table(s, "stage_1", "t1", "stage_1__tmp", "t1", NULL));
    n = 0;
    check(pdi_store_query(s,
                          "SELECT name FROM \"stage_1__tmp\".sqlite_master WHERE type = 'index' "
                          "AND name IN ('pk_t1_a', 'idx_t1_b')",
                          count_row, &n));
    assert_int_equal(n, 2);
    m = task("t1", "stage_1", "h2");
    check(pdi_meta_insert_task(s, &m));
    check(pdi_store_commit_stage(s, &tx, true));
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h1", NULL, &out, &cnt));
    assert_int_equal(cnt, 0);
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h2", NULL, &out, &cnt));
    assert_int_equal(cnt, 1);

    /* unchanged commit: metadata only */
    check(pdi_store_init_stage(s, &tx));
    m = task("t1", "stage_1", "h3");
    check(pdi_meta_insert_task(s, &m));
    check(pdi_store_commit_stage(s, &tx, false));
    check(pdi_meta_find_task(s, "t1", "stage_1", "1.0", "h3", NULL, &out, &cnt));
    assert_int_equal(cnt, 1);
    check(pdi_store_table_exists(s, "stage_1", "t1", &ex));
    assert_true(ex);

    pd_strv objs = {0};
    check(pdi_store_list_objects(s, "stage_1", &objs));
    assert_int_equal(objs.n, 1);
    assert_string_equal(objs.items[0], "t1");
    pdi_strv_free(&objs);
    pdi_task_meta_clear(&out);
    pdi_store_close(s);
}

static void test_lazy_raw_meta(void **st)
{
    (void)st;
    pd_config cfg;
    pd_store *s = open_store(&cfg, "pfx_");
    pd_stage_tx tx = {.stage = "s", .technique = PD_COMMIT_SCHEMA_SWAP, .run_id = "r"};
    check(pdi_store_init_stage(s, &tx));
    char *sn = pdi_store_sql_name(s, "s__tmp", "x");
    assert_string_equal(sn, "\"pfx_s__tmp\".\"x\"");
    free(sn);
    pd_lazy_meta l = {.name = "x",
                      .stage = "s",
                      .query_hash = "q",
                      .task_hash = "t",
                      .in_transaction_schema = true};
    check(pdi_meta_insert_lazy(s, &l));
    pd_raw_sql_meta r = {.prev_objects = "[]",
                         .new_objects = "[\"a\"]",
                         .stage = "s",
                         .query_hash = "q",
                         .task_hash = "t",
                         .in_transaction_schema = true};
    check(pdi_meta_insert_raw_sql(s, &r));
    int cnt;
    pd_lazy_meta lo = {0};
    pd_raw_sql_meta ro = {0};
    check(pdi_meta_find_lazy(s, "s", "q", "t", &lo, &cnt));
    assert_int_equal(cnt, 0);
    check(pdi_store_execute_script(s, "CREATE TABLE pfx_s__tmp.a AS SELECT 1 AS x;\n"
                                      "-- comment\nCREATE TABLE \"pfx_s__tmp\".b (y TEXT); "));
    check(pdi_store_commit_stage(s, &tx, true));
    check(pdi_meta_find_lazy(s, "s", "q", "t", &lo, &cnt));
    assert_int_equal(cnt, 1);
    assert_string_equal(lo.name, "x");
    check(pdi_meta_find_raw_sql(s, "s", "q", "t", &ro, &cnt));
    assert_int_equal(cnt, 1);
    assert_string_equal(ro.new_objects, "[\"a\"]");
    pd_strv objs = {0};
    check(pdi_store_list_objects(s, "s", &objs));
    assert_int_equal(objs.n, 2);
    pdi_strv_free(&objs);

    pd_table t = {
        .name = "q1", .kind = PD_OBJ_SQL, .sql = "SELECT * FROM \"pfx_s__tmp\".\"a\" WHERE x = 1"};
    char *lq = NULL;
    check(pdi_store_lazy_query_str(s, &t, &lq));
    /* the store hands the query text; the core canonicalises it once */
    assert_string_equal(lq, "SELECT * FROM \"pfx_s__tmp\".\"a\" WHERE x = 1");
    free(lq);

    pd_strv del = {0};
    check(pdi_store_delete_schemas(s, &del));
    assert_true(pdi_strv_contains(&del, "pfx_s"));
    assert_true(pdi_strv_contains(&del, "pfx_pipedag_metadata"));
    pdi_strv_free(&del);
    pdi_lazy_meta_clear(&lo);
    pdi_raw_sql_meta_clear(&ro);
    pdi_store_close(s);
}

static void test_arrow_and_views(void **st)
{
    (void)st;
    pd_config cfg;
    pd_store *s = open_store(&cfg, "");
    pd_stage_tx tx = {.stage = "a", .technique = PD_COMMIT_SCHEMA_SWAP, .run_id = "r"};
    check(pdi_store_init_stage(s, &tx));

    pd_arrow_builder *b = NULL;
    check(pd_arrow_builder_new(&b));
    const char *fmts[] = {"l", "g", "u", "b", "tdD", "tsu:", "i", "z"};
    const char *names[] = {"id", "val", "txt", "flag", "day", "ts", "small", "bin"};
    for (size_t i = 0; i < 8; i++)
        check(pd_arrow_builder_add_column(b, names[i], fmts[i], 1));
    for (int r = 0; r < 100; r++) {
        check(pd_arrow_builder_append_int(b, 0, r));
        check(pd_arrow_builder_append_double(b, 1, r * 0.5));
        if (r == 7)
            check(pd_arrow_builder_append_null(b, 2));
        else
            check(pd_arrow_builder_append_bytes(b, 2, "h\xc3\xa9llo", 6));
        check(pd_arrow_builder_append_bool(b, 3, r % 2));
        check(pd_arrow_builder_append_bytes(b, 4, "2024-01-31", 10));
        check(pd_arrow_builder_append_bytes(b, 5, "2024-01-31 13:45:07.5", 21));
        check(pd_arrow_builder_append_int(b, 6, -r));
        check(pd_arrow_builder_append_bytes(b, 7, "\x00\x01", 2));
    }
    struct ArrowSchema sch;
    struct ArrowArray arr;
    check(pd_arrow_builder_finish(b, &sch, &arr));
    pd_arrow_builder_free(b);
    struct ArrowArrayStream stream;
    check(pd_arrow_stream_from_batches(&sch, &arr, 1, &stream));
    const char *pk[] = {"id"};
    pd_table t = {.name = "df",
                  .kind = PD_OBJ_ARROW,
                  .stream = &stream,
                  .primary_key = pk,
                  .n_primary_key = 1};
    check(pdi_store_materialize(s, &t, "a__tmp"));
    assert_null(stream.release);

    struct ArrowArrayStream out;
    check(pdi_store_retrieve(s, "a__tmp", "df", PD_AS_ARROW, -1, &out));
    struct ArrowSchema os;
    assert_int_equal(out.get_schema(&out, &os), 0);
    assert_int_equal(os.n_children, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(os.children[i]->name, names[i]);
        assert_string_equal(os.children[i]->format, fmts[i]);
    }
    struct ArrowArray oa;
    assert_int_equal(out.get_next(&out, &oa), 0);
    assert_int_equal(oa.length, 100);
    assert_int_equal(pd_arrow_get_int(os.children[0], oa.children[0], 42), 42);
    assert_true(pd_arrow_get_double(os.children[1], oa.children[1], 3) == 1.5);
    assert_true(pd_arrow_is_null(oa.children[2], 7));
    size_t len = 0;
    const uint8_t *p = pd_arrow_get_bytes(os.children[2], oa.children[2], 8, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(p, "h\xc3\xa9llo", 6);
    assert_int_equal(pd_arrow_get_int(os.children[3], oa.children[3], 3), 1);
    char txt[64];
    pd_arrow_get_text(os.children[5], oa.children[5], 0, txt, sizeof txt);
    assert_string_equal(txt, "2024-01-31 13:45:07.500000");
    pd_arrow_get_text(os.children[4], oa.children[4], 0, txt, sizeof txt);
    assert_string_equal(txt, "2024-01-31");
    p = pd_arrow_get_bytes(os.children[7], oa.children[7], 0, &len);
    assert_int_equal(len, 2);
    oa.release(&oa);
    assert_int_equal(out.get_next(&out, &oa), 0);
    assert_null(oa.release);
    os.release(&os);
    out.release(&out);

    /* limit */
    check(pdi_store_retrieve(s, "a__tmp", "df", PD_AS_ARROW, 5, &out));
    assert_int_equal(out.get_next(&out, &oa), 0);
    assert_int_equal(oa.length, 5);
    oa.release(&oa);
    out.release(&out);

    /* view over two tables: a table copy on SQLite, keeping declared types */
    const char *srcs[] = {"a__tmp.df", "a__tmp.df"};
    pd_table v = {.name = "v", .kind = PD_OBJ_VIEW, .view_sources = srcs, .n_view_sources = 2};
    check(pdi_store_materialize(s, &v, "a__tmp"));
    char val[256];
    check(pdi_store_query(s, "SELECT count(*) FROM a__tmp.v", first_val, val));
    assert_string_equal(val, "200");
    check(pdi_store_retrieve(s, "a__tmp", "v", PD_AS_ARROW, 1, &out));
    assert_int_equal(out.get_schema(&out, &os), 0);
    assert_string_equal(os.children[4]->format, "tdD");
    os.release(&os);
    out.release(&out);

    /* expression columns: types from all rows (int then float -> double) */
    pd_table mx = {.name = "mx",
                   .kind = PD_OBJ_SQL,
                   .sql = "SELECT 1 AS a, NULL AS b, sum(1) AS c UNION ALL SELECT 2.5, 'x', 2"};
    check(pdi_store_materialize(s, &mx, "a__tmp"));
    check(pdi_store_retrieve(s, "a__tmp", "mx", PD_AS_ARROW, -1, &out));
    assert_int_equal(out.get_schema(&out, &os), 0);
    assert_string_equal(os.children[0]->format, "g");
    assert_string_equal(os.children[1]->format, "u");
    assert_string_equal(os.children[2]->format, "l");
    assert_int_equal(out.get_next(&out, &oa), 0);
    assert_int_equal(oa.length, 2);
    assert_true(pd_arrow_get_double(os.children[0], oa.children[0], 1) == 2.5);
    oa.release(&oa);
    os.release(&os);
    out.release(&out);

    /* external */
    pd_table e = {.name = "e", .kind = PD_OBJ_EXTERNAL, .ext_schema = "a__tmp", .ext_name = "df"};
    check(pdi_store_materialize(s, &e, "a__tmp"));
    e.ext_name = "missing";
    assert_int_equal(pdi_store_materialize(s, &e, "a__tmp"), PD_ERR_NOT_FOUND);

    check(pdi_store_drop_table(s, "a__tmp", "v"));
    bool ex = true;
    check(pdi_store_table_exists(s, "a__tmp", "v", &ex));
    assert_false(ex);
    pdi_store_close(s);
}

static void test_many_schemas(void **st)
{
    (void)st;
    pd_config cfg;
    pd_store *s = open_store(&cfg, "");
    /* more schemas than SQLite can attach at once */
    for (int i = 0; i < 14; i++) {
        char stage[32];
        snprintf(stage, sizeof stage, "st%02d", i);
        pd_stage_tx tx = {.stage = stage, .technique = PD_COMMIT_SCHEMA_SWAP, .run_id = "r"};
        check(pdi_store_init_stage(s, &tx));
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT %d AS v", i);
        pd_table t = {.name = "t", .kind = PD_OBJ_SQL, .sql = sql};
        check(pdi_store_materialize(s, &t, tx.transaction_name));
        check(pdi_store_commit_stage(s, &tx, true));
    }
    char v[256];
    check(pdi_store_query(s,
                          "SELECT (SELECT v FROM st00.t) + (SELECT v FROM st01.t) + "
                          "(SELECT v FROM st13.t)",
                          first_val, v));
    assert_string_equal(v, "14");
    /* a cached lookup loop (fast path; timing goes to bench/) */
    for (int i = 0; i < 1000; i++) {
        char h[32];
        snprintf(h, sizeof h, "h%d", i);
        pd_task_meta m = task("t", "st00", h);
        check(pdi_meta_insert_task(s, &m));
    }
    double t0 = pdi_now_seconds();
    for (int i = 0; i < 1000; i++) {
        char h[32];
        snprintf(h, sizeof h, "h%d", i);
        int cnt;
        pd_task_meta out = {0};
        check(pdi_meta_find_task(s, "t", "st00", "1.0", h, NULL, &out, &cnt));
        pdi_task_meta_clear(&out);
    }
    double t1 = pdi_now_seconds();
    for (int i = 0; i < 1000; i++) {
        char h[32];
        snprintf(h, sizeof h, "h%d", i);
        pd_task_meta m = task("t", "st00", h);
        check(pdi_meta_insert_task(s, &m));
    }
    fprintf(stderr, "1000 finds: %.1f ms, 1000 inserts: %.1f ms\n", (t1 - t0) * 1e3,
            (pdi_now_seconds() - t1) * 1e3);
    pdi_store_close(s);
}

static void test_views_survive_commit(void **st)
{
    (void)st;
    pd_config cfg;
    pd_store *s = open_store(&cfg, "");
    pd_stage_tx tx = {.stage = "feat", .technique = PD_COMMIT_SCHEMA_SWAP, .run_id = "r"};
    check(pdi_store_init_stage(s, &tx));
    check(pdi_store_execute_script(s, "CREATE TABLE feat__tmp.made AS SELECT 42 AS x;\n"
                                      "CREATE VIEW feat__tmp.made_v AS SELECT x + 1 AS y FROM "
                                      "\"feat__tmp\".made WHERE 'feat__tmp.' <> '';"));
    check(pdi_store_commit_stage(s, &tx, true));
    char v[256] = "";
    check(pdi_store_query(s, "SELECT y FROM feat.made_v", first_val, v));
    assert_string_equal(v, "43");
    bool ex = false;
    check(pdi_store_table_exists(s, "feat", "made_v", &ex));
    assert_true(ex);
    /* cache-valid raw SQL objects are copied into the next transaction */
    check(pdi_store_init_stage(s, &tx));
    check(pdi_store_copy_table(s, "feat", "made", "feat__tmp", "made", NULL));
    check(pdi_store_copy_table(s, "feat", "made_v", "feat__tmp", "made_v", NULL));
    check(pdi_store_commit_stage(s, &tx, true));
    check(pdi_store_query(s, "SELECT y FROM feat.made_v", first_val, v));
    assert_string_equal(v, "43");
    pdi_store_close(s);
}

typedef struct thr_arg {
    pd_store *s;
    int id;
    int rc;
} thr_arg;

static void *thr_main(void *u)
{
    thr_arg *a = u;
    char stage[32];
    snprintf(stage, sizeof stage, "th%d", a->id);
    for (int round = 0; round < 3 && a->rc == PD_OK; round++) {
        pd_stage_tx tx = {.stage = stage, .technique = PD_COMMIT_SCHEMA_SWAP, .run_id = "r"};
        a->rc = pdi_store_init_stage(a->s, &tx);
        for (int t = 0; t < 4 && a->rc == PD_OK; t++) {
            char name[16], sql[96], h[16];
            snprintf(name, sizeof name, "t%d", t);
            snprintf(sql, sizeof sql, "SELECT %d AS v UNION ALL SELECT %d", t, round);
            pd_table tb = {.name = name, .kind = PD_OBJ_SQL, .sql = sql};
            a->rc = pdi_store_materialize(a->s, &tb, tx.transaction_name);
            snprintf(h, sizeof h, "h%d_%d", round, t);
            pd_task_meta m = task(name, stage, h);
            if (a->rc == PD_OK)
                a->rc = pdi_meta_insert_task(a->s, &m);
            int cnt;
            if (a->rc == PD_OK)
                a->rc = pdi_meta_find_task(a->s, name, stage, "1.0", h, NULL, NULL, &cnt);
        }
        if (a->rc == PD_OK)
            a->rc = pdi_store_commit_stage(a->s, &tx, true);
        struct ArrowArrayStream st;
        if (a->rc == PD_OK)
            a->rc = pdi_store_retrieve(a->s, stage, "t3", PD_AS_ARROW, -1, &st);
        if (a->rc == PD_OK)
            st.release(&st);
    }
    if (a->rc)
        fprintf(stderr, "thread %d: %s\n", a->id, pd_last_error());
    return NULL;
}

static void test_threads(void **st)
{
    (void)st;
    pd_config cfg;
    pd_store *s = open_store(&cfg, "");
    pthread_t th[6];
    thr_arg args[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (thr_arg){s, i, PD_OK};
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, PD_OK);
    }
    char v[256];
    check(pdi_store_query(s, "SELECT sum(v) FROM th5.t3", first_val, v));
    assert_string_equal(v, "5");
    pdi_store_close(s);
}

/* ---------------------------------------------------------------- crash */

static const char *const g_points[] = {"commit_begin", "commit_after_journal",
                                       "commit_before_rename", "commit_after_rename",
                                       "commit_after_promote"};

static void run_two(pd_store *s, int run)
{
    pd_stage_tx tx = {
        .stage = "c", .technique = PD_COMMIT_SCHEMA_SWAP, .run_id = run == 1 ? "run1" : "run2"};
    check(pdi_store_init_stage(s, &tx));
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d AS v", run);
    pd_table t = {.name = "t", .kind = PD_OBJ_SQL, .sql = sql};
    check(pdi_store_materialize(s, &t, "c__tmp"));
    pd_task_meta m = task("t", "c", run == 1 ? "h1" : "h2");
    m.run_id = (char *)tx.run_id;
    check(pdi_meta_insert_task(s, &m));
    check(pdi_store_commit_stage(s, &tx, true));
}

static void test_crash_points(void **st)
{
    (void)st;
    for (size_t k = 0; k < sizeof g_points / sizeof g_points[0]; k++) {
        pdi_rm_rf(g_dir);
        pd_config cfg;
        pd_store *s = open_store(&cfg, "");
        run_two(s, 1);
        pdi_store_close(s);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setenv("PD_TEST_CRASH_AT", g_points[k], 1);
            pd_config c2;
            pd_store *s2 = open_store(&c2, "");
            run_two(s2, 2);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 99);

        s = open_store(&cfg, "");
        char v[256] = "";
        check(pdi_store_query(s, "SELECT v FROM c.t", first_val, v));
        int c1, c2;
        pd_task_meta out = {0};
        check(pdi_meta_find_task(s, "t", "c", "1.0", "h1", NULL, &out, &c1));
        check(pdi_meta_find_task(s, "t", "c", "1.0", "h2", NULL, &out, &c2));
        pdi_task_meta_clear(&out);
        bool new_version = k >= 3; /* renamed: rolled forward */
        fprintf(stderr, "crash at %s: table v=%s, meta old=%d new=%d\n", g_points[k], v, c1, c2);
        if (new_version) {
            assert_string_equal(v, "2");
            assert_int_equal(c1, 0);
            assert_int_equal(c2, 1);
        } else {
            assert_string_equal(v, "1");
            assert_int_equal(c1, 1);
            assert_int_equal(c2, 0);
        }
        /* and the next run works */
        run_two(s, 2);
        check(pdi_store_query(s, "SELECT v FROM c.t", first_val, v));
        assert_string_equal(v, "2");
        pdi_store_close(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stage_cycle, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_lazy_raw_meta, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_arrow_and_views, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_many_schemas, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_views_survive_commit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_threads, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_crash_points, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
