/*
 * tests/parquet_store/test_pq_core.c - the Parquet store's file and view
 * operations (src/store/parquet) against the real libduckdb.so and a real
 * file system: local disk (no argument) or S3 (`s3`: s3rver behind the
 * SigV4 checker, started by tests/fs/with-s3.sh). Names and view parsing
 * are checked as text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipedag/arrow.h"
#include "store/dialect/dialect.h"
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/pq_int.h"
#include "util/util.h"

static char g_dir[256];
static bool g_s3;
static char *g_base;

/* ------------------------------------------------------------ text only */

static void test_names(void **st)
{
    (void)st;
    char *s = pdi_pq_encode_name("dfa", "table");
    assert_string_equal(s, "dfa");
    free(s);
    s = pdi_pq_encode_name("a b/../*?[x]'.x", "table");
    assert_string_equal(s, "a~20b~2F..~2F~2A~3F~5Bx~5D~27.x");
    free(s);
    s = pdi_pq_encode_name("..", "table");
    assert_string_equal(s, "~2E.");
    free(s);
    s = pdi_pq_encode_name("größe", "table");
    assert_string_equal(s, "größe");
    free(s);
    assert_null(pdi_pq_encode_name("", "table"));
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_null(pdi_pq_encode_name(big, "table"));
    assert_non_null(strstr(pd_last_error(), "too long"));
    char *ip = pdi_pq_instance_prefix("s3://b/table_store", "pipedag_default");
    assert_string_equal(ip, "s3://b/table_store/pipedag_default/");
    char *sp = pdi_pq_slot_prefix(ip, "stage_1__odd");
    char *u = pdi_pq_table_url(sp, "dfa");
    assert_string_equal(u, "s3://b/table_store/pipedag_default/stage_1__odd/dfa.parquet");
    free(ip);
    free(sp);
    free(u);
}

static void test_view_sql(void **st)
{
    (void)st;
    pd_strv f = {0};
    bool found = false;
    assert_int_equal(
        pdi_pq_files_of_view_sql(
            "CREATE VIEW s.v AS SELECT * FROM read_parquet('s3://b/it''s.parquet');", &f, &found),
        PD_OK);
    assert_true(found);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.items[0], "s3://b/it's.parquet");
    pdi_strv_free(&f);
    assert_int_equal(pdi_pq_files_of_view_sql("CREATE VIEW s.w AS SELECT * FROM "
                                              "read_parquet(main.list_value('/a.parquet', "
                                              "'/b.parquet'));",
                                              &f, &found),
                     PD_OK);
    assert_true(found);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[1], "/b.parquet");
    pdi_strv_free(&f);
    assert_int_equal(
        pdi_pq_files_of_view_sql("CREATE VIEW s.v AS SELECT * FROM s__odd.v;", &f, &found), PD_OK);
    assert_false(found);
    char *sc, *tb;
    assert_int_equal(pdi_pq_target_of_view_sql("CREATE VIEW \"st 1\".v AS SELECT * FROM "
                                               "\"st 1__odd\".\"v\"\"x\";",
                                               &sc, &tb, &found),
                     PD_OK);
    assert_true(found);
    assert_string_equal(sc, "st 1__odd");
    assert_string_equal(tb, "v\"x");
    free(sc);
    free(tb);
    assert_int_equal(
        pdi_pq_target_of_view_sql("CREATE VIEW a.b AS SELECT x FROM a.c WHERE 1", &sc, &tb, &found),
        PD_OK);
    assert_false(found);
}

static void test_dialect_text(void **st)
{
    (void)st;
    char *t = pdi_sql_pq_copy_to("SELECT 1 AS x ;\n", "/d/it's.parquet");
    assert_string_equal(t, "COPY (SELECT 1 AS x) TO '/d/it''s.parquet' (FORMAT PARQUET)");
    free(t);
    const char *one[1] = {"s3://b/k.parquet"}, *two[2] = {"/a.parquet", "/b'.parquet"};
    t = pdi_sql_pq_read_select(one, 1);
    assert_string_equal(t, "SELECT * FROM read_parquet('s3://b/k.parquet')");
    free(t);
    t = pdi_sql_pq_read_select(two, 2);
    assert_string_equal(t, "SELECT * FROM read_parquet(['/a.parquet', '/b''.parquet'])");
    free(t);
    const char *cols[2] = {"s", "we\"ird"};
    t = pdi_sql_pq_exact_select("SELECT sum(v) AS s FROM x;", cols, 2);
    assert_string_equal(t, "SELECT * REPLACE (CAST(\"s\" AS DECIMAL(38,0)) AS \"s\", "
                           "CAST(\"we\"\"ird\" AS DECIMAL(38,0)) AS \"we\"\"ird\") FROM "
                           "(SELECT sum(v) AS s FROM x) AS pd_exact");
    free(t);
    t = pdi_sql_pq_s3_macro();
    assert_string_equal(t, "CREATE OR REPLACE TEMP MACRO read_parquet(f) AS TABLE SELECT * FROM "
                           "parquet_scan(pipedag_s3_local(f))");
    free(t);
    const struct pdi_dialect *pg = pdi_dialect_get("postgresql");
    t = pdi_sql_pq_sync_insert(pg, "pipedag_metadata");
    assert_string_equal(t, "INSERT INTO \"pipedag_metadata\".\"sync_views\" (schema, view_name, "
                           "user_id, target, target_type, obsolete) VALUES (?, ?, ?, ?, ?, 0)");
    free(t);
    t = pdi_sql_pq_sync_obsolete_others(pg, "m");
    assert_string_equal(t, "UPDATE \"m\".\"sync_views\" SET obsolete = 1 WHERE schema = ? AND "
                           "view_name = ? AND user_id <> ?");
    free(t);
}

/* ------------------------------------------------------ against DuckDB */

static int ints(const char *c1, const char *c2, int64_t n, int64_t k, struct ArrowArrayStream *out)
{
    pd_arrow_builder *b = NULL;
    int rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, c1, "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, c2, "u", 1);
    for (int64_t i = 0; !rc && i < n; i++) {
        rc = pd_arrow_builder_append_int(b, 0, i * k);
        char t[32];
        snprintf(t, sizeof t, "row %lld", (long long)i);
        if (!rc)
            rc = i % 3 == 2 ? pd_arrow_builder_append_null(b, 1)
                            : pd_arrow_builder_append_bytes(b, 1, t, strlen(t));
    }
    struct ArrowSchema s;
    struct ArrowArray a;
    if (!rc)
        rc = pd_arrow_builder_finish(b, &s, &a);
    pd_arrow_builder_free(b);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&s, &a, 1, out);
    return rc;
}

static int64_t count_rows(struct ArrowArrayStream *s)
{
    int64_t n = 0;
    for (;;) {
        struct ArrowArray a;
        if (s->get_next(s, &a) != 0)
            return -1;
        if (!a.release)
            break;
        n += a.length;
        a.release(&a);
    }
    s->release(s);
    return n;
}

static int one_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    if (ncols > 0 && vals[0])
        snprintf(user, 64, "%s", vals[0]);
    return 0;
}

static void q1(pdi_duck_conn *c, const char *sql, const char *want)
{
    char got[64] = "";
    int rc = pdi_duck_query(c, sql, 0, NULL, one_row, got);
    if (rc)
        fail_msg("%s: %s", sql, pd_last_error());
    assert_string_equal(got, want);
}

/* The catalog file `name` in the test directory, opened and connected. */
static void open_catalog(const char *name, pdi_duck_db **db, pdi_duck_conn **c)
{
    char *cat = pdi_asprintf("%s/%s", g_dir, name);
    pdi_duck_open_opts o = {5, true};
    *db = NULL;
    *c = NULL;
    assert_int_equal(pdi_duck_db_open(cat, &o, db), PD_OK);
    assert_int_equal(pdi_duck_connect(*db, c), PD_OK);
    free(cat);
}

/* The store's arguments for `instance` on the test's base path (S3: the
 * test server). */
static pdi_pq_args store_args(const char *instance)
{
    pdi_pq_args a = {0};
    a.base_path = g_base;
    a.instance_id = instance;
    if (g_s3) {
        a.s3_endpoint_url = getenv("PD_TEST_S3_ENDPOINT");
        a.s3_url_style = "path";
        a.s3_region = "us-east-1";
    }
    return a;
}

static void test_store_ops(void **st)
{
    (void)st;
    pdi_duck_db *db;
    pdi_duck_conn *c;
    open_catalog("catalog.duckdb", &db, &c);
    pdi_pq_args a = store_args("inst");
    pdi_pq *P = NULL;
    int rc;
    if (g_s3) { /* a missing bucket is a clear error */
        pdi_pq_args bad = a;
        bad.base_path = "s3://no-such-bucket-pd/x/";
        assert_int_equal(pdi_pq_open(&bad, &P), PD_ERR_NOT_FOUND);
        assert_non_null(strstr(pd_last_error(), "no-such-bucket-pd"));
        assert_null(P);
    }
    rc = pdi_pq_open(&a, &P);
    if (rc)
        fail_msg("open: %s", pd_last_error());
    assert_int_equal(pdi_pq_conn_setup(P, c), PD_OK);
    assert_int_equal(pdi_duck_exec(c, "CREATE SCHEMA st; CREATE SCHEMA st__odd; CREATE SCHEMA "
                                      "st__even"),
                     PD_OK);
    assert_int_equal(pdi_pq_slot_init(P, "st__odd"), PD_OK);

    /* C output: our writer; SQL output: COPY; SQL reading a C output */
    struct ArrowArrayStream s;
    assert_int_equal(ints("a", "t", 1000, 3, &s), PD_OK);
    rc = pdi_pq_write_arrow(P, c, "st__odd", "dfa", &s);
    if (rc)
        fail_msg("write_arrow: %s", pd_last_error());
    rc = pdi_pq_write_sql(P, c, "st__odd", "lazy", "SELECT 1 AS x, 'a' AS y;\n");
    if (rc)
        fail_msg("write_sql: %s", pd_last_error());
    rc =
        pdi_pq_write_sql(P, c, "st__odd", "joined", "SELECT a, t FROM st__odd.dfa WHERE a >= 1500");
    if (rc)
        fail_msg("write_sql 2: %s", pd_last_error());
    q1(c, "SELECT count(*) FROM st__odd.joined", "500");
    q1(c, "SELECT count(t) FROM st__odd.dfa", "667");

    /* files behind views, through a base view */
    assert_int_equal(pdi_duck_exec(c, "CREATE VIEW st.dfa AS SELECT * FROM st__odd.dfa"), PD_OK);
    pd_strv f = {0};
    bool found = false;
    assert_int_equal(pdi_pq_files_of(P, c, "st", "dfa", &f, &found), PD_OK);
    assert_true(found);
    assert_int_equal(f.n, 1);
    char *want = pdi_pq_file_url(P, "st__odd", "dfa");
    assert_string_equal(f.items[0], want);
    free(want);
    pdi_strv_free(&f);

    /* C input straight from the file, with a limit; a view of two files */
    assert_int_equal(pdi_pq_read_arrow(P, c, "st", "dfa", -1, &s), PD_OK);
    assert_int_equal(count_rows(&s), 1000);
    assert_int_equal(pdi_pq_read_arrow(P, c, "st__odd", "joined", 7, &s), PD_OK);
    assert_int_equal(count_rows(&s), 7);
    const char *ss[2] = {"st", "st__odd"}, *tt[2] = {"dfa", "joined"};
    rc = pdi_pq_write_view(P, c, "st__odd", "both", ss, tt, 2, NULL);
    if (rc)
        fail_msg("write_view: %s", pd_last_error());
    assert_int_equal(pdi_pq_read_arrow(P, c, "st__odd", "both", -1, &s), PD_OK);
    assert_int_equal(count_rows(&s), 1500);
    q1(c, "SELECT count(*) FROM st__odd.both", "1500");

    /* a table not backed by files: read through the catalog */
    assert_int_equal(pdi_duck_exec(c, "CREATE TABLE st__odd.raw AS SELECT 42 AS v"), PD_OK);
    assert_int_equal(pdi_pq_read_arrow(P, c, "st__odd", "raw", -1, &s), PD_OK);
    assert_int_equal(count_rows(&s), 1);

    /* cache-valid copy into the other slot: link/server-side copy + view */
    assert_int_equal(pdi_pq_slot_init(P, "st__even"), PD_OK);
    rc = pdi_pq_copy(P, c, "st", "dfa", "st__even", "dfa_renamed");
    if (rc)
        fail_msg("copy: %s", pd_last_error());
    assert_int_equal(P->n_files_copied, 1);
    /* a View of several files is not copied: it reads its sources' copies
     * in the new slot (cache-valid sources of its stage are copied first) */
    assert_int_equal(pdi_pq_copy(P, c, "st", "dfa", "st__even", "dfa"), PD_OK);
    assert_int_equal(pdi_pq_copy(P, c, "st__odd", "joined", "st__even", "joined"), PD_OK);
    assert_int_equal(P->n_files_copied, 3);
    rc = pdi_pq_copy(P, c, "st__odd", "both", "st__even", "both");
    if (rc)
        fail_msg("copy of a view: %s", pd_last_error());
    assert_int_equal(P->n_files_copied, 3);
    {
        pd_strv vf = {0};
        bool vfound = false;
        assert_int_equal(pdi_pq_files_of(P, c, "st__even", "both", &vf, &vfound), PD_OK);
        assert_true(vfound);
        assert_int_equal(vf.n, 2);
        char *w0 = pdi_pq_file_url(P, "st__even", "dfa");
        assert_string_equal(vf.items[0], w0);
        free(w0);
        pdi_strv_free(&vf);
    }
    q1(c, "SELECT sum(a) FROM st__even.dfa_renamed", "1498500");
    q1(c, "SELECT count(*) FROM st__even.both", "1500");

    /* stage init of the odd slot deletes its files before the first write
     * (not at all if nothing is written); even keeps its copy */
    assert_int_equal(pdi_pq_slot_init(P, "st__odd"), PD_OK);
    char *sp = pdi_pq_slot_url(P, "st__odd");
    pd_fs_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(pdi_fs_list(P->fs, sp, &e, &n), PD_OK);
    assert_int_equal(n, 3);
    pdi_fs_entries_free(e, n);
    assert_int_equal(pdi_pq_slot_clean(P, "st__odd"), PD_OK);
    rc = pdi_fs_list(P->fs, sp, &e, &n);
    assert_true(rc == PD_OK || rc == PD_ERR_NOT_FOUND);
    assert_int_equal(n, 0);
    pdi_fs_entries_free(e, n);
    free(sp);
    assert_int_equal(pdi_pq_read_arrow(P, c, "st__even", "dfa_renamed", -1, &s), PD_OK);
    assert_int_equal(count_rows(&s), 1000);

    /* a view of the catalog reads the same after a reopen (S3: the
     * macro of a new connection, a fresh cache) */
    pdi_duck_disconnect(c);
    pdi_pq_close(P);
    P = NULL;
    assert_int_equal(pdi_pq_open(&a, &P), PD_OK);
    assert_int_equal(pdi_duck_connect(db, &c), PD_OK);
    assert_int_equal(pdi_pq_conn_setup(P, c), PD_OK);
    q1(c, "SELECT count(*) FROM st__even.dfa_renamed", "1000");
    if (g_s3) {
        assert_int_equal(pdi_pq_cache_downloads(P->cache), 1);
        q1(c,
           "SELECT sql LIKE '%read_parquet(''s3://%' FROM duckdb_views() WHERE view_name = "
           "'dfa_renamed'",
           "true");
    }
    pdi_duck_disconnect(c);
    pdi_pq_close(P);
    pdi_duck_db_release(db);
}

/* The unique probe straight from the files (pq_unique.c): exact answers for
 * the types it hashes, PD_ERR_UNSUPPORTED for the others, repeats across
 * files, NULLs ignored, forced hash collisions reported as "maybe". */
static void expect_probe(pdi_pq *P, const char *t1, const char *t2, const char *col, int want)
{
    pd_strv f = {0};
    assert_int_equal(pdi_strv_push_owned(&f, pdi_pq_file_url(P, "su__odd", t1)), PD_OK);
    if (t2)
        assert_int_equal(pdi_strv_push_owned(&f, pdi_pq_file_url(P, "su__odd", t2)), PD_OK);
    bool distinct = false;
    int rc = pdi_pq_unique_probe(P->fs, &f, col, &distinct);
    if (want < 0) {
        assert_int_equal(rc, PD_ERR_UNSUPPORTED);
    } else {
        if (rc)
            fail_msg("probe %s.%s: %s", t1, col, pd_last_error());
        if (distinct != (want == 1))
            fail_msg("probe %s%s%s.%s: distinct %d", t1, t2 ? "+" : "", t2 ? t2 : "", col,
                     (int)distinct);
    }
    pdi_strv_free(&f);
}

/* The scan checks decided from the footers' statistics (pq_unique.c):
 * proven only where the statistics decide exactly as the SQL would. */
static void expect_proof(pdi_pq *P,
                         const char *t2,
                         pd_check_kind kind,
                         const char *col,
                         const char *const *values,
                         size_t n_values,
                         bool want)
{
    pd_strv f = {0};
    assert_int_equal(pdi_strv_push_owned(&f, pdi_pq_file_url(P, "su__odd", "u1")), PD_OK);
    if (t2)
        assert_int_equal(pdi_strv_push_owned(&f, pdi_pq_file_url(P, "su__odd", t2)), PD_OK);
    pd_table_check c = {.kind = kind, .column = col, .values = values, .n_values = n_values};
    bool proven = !want;
    int rc = pdi_pq_scan_proof(P->fs, &f, &c, 1, &proven);
    if (rc)
        fail_msg("proof %s: %s", col, pd_last_error());
    if (proven != want)
        fail_msg("proof of check %d on %s%s: %d", (int)kind, col, t2 ? " (two files)" : "",
                 (int)proven);
    pdi_strv_free(&f);
}

static void test_scan_proof(pdi_pq *P)
{
    const char *zero[] = {"0"}, *one[] = {"1"}, *v99[] = {"99"}, *v98[] = {"98"};
    const char *m500[] = {"-500"}, *m499[] = {"-499"}, *str0[] = {"\"0\""}, *dec0[] = {"0.0"};
    const char *v1009[] = {"1009"}, *v1008[] = {"1008"};
    char buf[100][4];
    const char *all[100];
    for (int i = 0; i < 100; i++) {
        snprintf(buf[i], sizeof buf[i], "%d", 99 - i); /* in any order */
        all[i] = buf[i];
    }
    expect_proof(P, NULL, PD_CHECK_NOT_NULL, "id", NULL, 0, true);
    expect_proof(P, NULL, PD_CHECK_NOT_NULL, "s", NULL, 0, true);   /* any type */
    expect_proof(P, NULL, PD_CHECK_NOT_NULL, "sn", NULL, 0, false); /* 100 NULLs */
    expect_proof(P, NULL, PD_CHECK_MIN, "id", zero, 1, true);
    expect_proof(P, NULL, PD_CHECK_MIN, "id", one, 1, false); /* 0 < 1 */
    expect_proof(P, NULL, PD_CHECK_MIN, "neg", m500, 1, true);
    expect_proof(P, NULL, PD_CHECK_MIN, "neg", m499, 1, false);
    expect_proof(P, NULL, PD_CHECK_MAX, "small", v99, 1, true);
    expect_proof(P, NULL, PD_CHECK_MAX, "small", v98, 1, false);
    expect_proof(P, NULL, PD_CHECK_ACCEPTED_VALUES, "small", all, 100, true);
    expect_proof(P, NULL, PD_CHECK_ACCEPTED_VALUES, "small", all, 99, false);     /* no 0 */
    expect_proof(P, NULL, PD_CHECK_ACCEPTED_VALUES, "small", all + 1, 99, false); /* no 99 */
    /* not decided from statistics: the scan runs */
    expect_proof(P, NULL, PD_CHECK_MIN, "id", str0, 1, false); /* a string value */
    expect_proof(P, NULL, PD_CHECK_MIN, "id", dec0, 1, false); /* not an integer */
    expect_proof(P, NULL, PD_CHECK_MIN, "d", zero, 1, false);  /* floating point */
    expect_proof(P, NULL, PD_CHECK_MIN, "dt", zero, 1, false); /* a date */
    expect_proof(P, NULL, PD_CHECK_MIN, "u8", zero, 1, false); /* unsigned */
    expect_proof(P, NULL, PD_CHECK_MIN, "nope", zero, 1, false);
    /* over two files */
    expect_proof(P, "u2", PD_CHECK_MAX, "id", v1009, 1, true);
    expect_proof(P, "u2", PD_CHECK_MAX, "id", v1008, 1, false);
    expect_proof(P, "u2", PD_CHECK_NOT_NULL, "s", NULL, 0, true);
}

static void test_unique_probe(void **st)
{
    (void)st;
    pdi_duck_db *db;
    pdi_duck_conn *c;
    open_catalog("catalog_u.duckdb", &db, &c);
    pdi_pq_args a = store_args("uniq");
    pdi_pq *P = NULL;
    int rc = pdi_pq_open(&a, &P);
    if (rc)
        fail_msg("open: %s", pd_last_error());
    assert_int_equal(pdi_pq_conn_setup(P, c), PD_OK);
    assert_int_equal(pdi_duck_exec(c, "CREATE SCHEMA su__odd"), PD_OK);
    assert_int_equal(pdi_pq_slot_init(P, "su__odd"), PD_OK);
    rc = pdi_pq_write_sql(P, c, "su__odd", "u1",
                          "SELECT i AS id, 'v' || i AS s, CASE WHEN i % 10 = 0 THEN NULL ELSE "
                          "'n' || i END AS sn, i::DOUBLE AS d, (i % 100)::INTEGER AS small, "
                          "(i % 100)::BIGINT + 4294967296 AS wide, ('v' || i)::BLOB AS b, "
                          "DATE '2020-01-01' + i::INTEGER AS dt, CASE WHEN i < 2 THEN '' ELSE "
                          "'e' || i END AS e, (i - 500)::INTEGER AS neg, "
                          "(100000 - 7 * i)::BIGINT AS down, i * 1000000007 AS sparse, "
                          "CASE WHEN i = 999 THEN 0 ELSE i * 1000000007 END AS sparse_dup, "
                          "CASE WHEN i = 998 THEN -3 ELSE i - 500 END::SMALLINT AS neg_dup, "
                          "(i % 250)::UTINYINT AS u8, (i + 18446744073709550000)::UBIGINT AS "
                          "top FROM range(1000) t(i)");
    if (rc)
        fail_msg("write u1: %s", pd_last_error());
    rc = pdi_pq_write_sql(P, c, "su__odd", "u2",
                          "SELECT i + 1000 AS id, 'v' || (i + 999) AS s FROM range(10) t(i)");
    if (rc)
        fail_msg("write u2: %s", pd_last_error());
    expect_probe(P, "u1", NULL, "id", 1);
    expect_probe(P, "u1", NULL, "s", 1);
    expect_probe(P, "u1", NULL, "sn", 1);    /* 100 NULLs: ignored */
    expect_probe(P, "u1", NULL, "b", 1);     /* binary */
    expect_probe(P, "u1", NULL, "dt", 1);    /* dates */
    expect_probe(P, "u1", NULL, "small", 0); /* 10 of each */
    expect_probe(P, "u1", NULL, "wide", 0);
    expect_probe(P, "u1", NULL, "e", 0); /* '' twice */
    /* integers: a bitmap over their range where it is dense enough */
    expect_probe(P, "u1", NULL, "neg", 1);        /* signed, across zero */
    expect_probe(P, "u1", NULL, "down", 1);       /* descending, with gaps */
    expect_probe(P, "u1", NULL, "neg_dup", 0);    /* -3 twice */
    expect_probe(P, "u1", NULL, "u8", 0);         /* unsigned bytes, 4 of each */
    expect_probe(P, "u1", NULL, "top", 1);        /* unsigned, near 2^64 */
    expect_probe(P, "u1", NULL, "sparse", 1);     /* too spread out: hashes */
    expect_probe(P, "u1", NULL, "sparse_dup", 0); /* 0 twice, found by hashes */
    expect_probe(P, "u1", NULL, "d", -1);         /* floating point: not hashed here */
    expect_probe(P, "u1", NULL, "nope", -1);      /* no such column */
    expect_probe(P, "u1", "u2", "id", 1);         /* two files, all distinct */
    expect_probe(P, "u1", "u2", "s", 0);          /* 'v999' in both files */
    pdi_test_set_unique_hash_bits(2);             /* 1,000 values, 4 hashes */
    expect_probe(P, "u1", NULL, "s", 0);
    pdi_test_set_unique_hash_bits(64);
    expect_probe(P, "u1", NULL, "s", 1);
    test_scan_proof(P);
    pdi_duck_disconnect(c);
    pdi_pq_close(P);
    pdi_duck_db_release(db);
}

int main(int argc, char **argv)
{
    g_s3 = argc > 1 && !strcmp(argv[1], "s3");
    snprintf(g_dir, sizeof g_dir, "/tmp/pd-pqcore-XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    if (g_s3) {
        const char *b = getenv("PD_TEST_S3_BUCKET");
        if (!b || !getenv("PD_TEST_S3_ENDPOINT")) {
            fprintf(stderr, "test_pq_core s3: run under tests/fs/with-s3.sh\n");
            return 1;
        }
        g_base = pdi_asprintf("s3://%s/pqcore/", b);
    } else {
        g_base = pdi_asprintf("%s/files", g_dir);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),        cmocka_unit_test(test_view_sql),
        cmocka_unit_test(test_dialect_text), cmocka_unit_test(test_store_ops),
        cmocka_unit_test(test_unique_probe),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    pdi_rm_rf(g_dir);
    free(g_base);
    return r;
}
