/*
 * tests/store/test_unique_probe.c - the hash probe of the unique check
 * (backend op unique_probe, docs/checks.md) on the native SQLite backend
 * and, with PIPEDAG_DUCKDB_LIBRARY, on the DuckDB backend: distinct values
 * pass, duplicates (text, integer, SQLite's INTEGER 1 = REAL 1.0) are
 * seen, NULLs are ignored, TEXT '1' and BLOB x'31' differ on SQLite, a
 * column whose equality is not bytewise (COLLATE NOCASE, a DuckDB DOUBLE,
 * a DuckDB default collation) or a view gets no probe, and the test hook
 * that shortens the hash makes distinct values collide (the store then
 * runs the exact GROUP BY). Also pdi_u64_repeats and pd_u64_parts
 * against a sort.
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

#include "store/backend.h"
#include "util/util.h"

typedef struct fx {
    char dir[256];
    char url[512];
    pd_store_config sc;
    const pdi_backend *be;
    pdi_db *db;
    pdi_conn *c;
} fx;

static int open_fx(fx *f, const char *dialect)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pd_uprobe_%d_%ld", (int)getpid(), random());
    pdi_rm_rf(f->dir);
    if (pdi_mkdir_p(f->dir))
        return -1;
    if (strcmp(dialect, "duckdb") == 0)
        snprintf(f->url, sizeof f->url, "duckdb:///%s/t.duckdb", f->dir);
    else
        snprintf(f->url, sizeof f->url, "sqlite:///%s", f->dir);
    f->sc.klass = PD_STORE_SQL;
    f->sc.class_name = "SQLTableStore";
    f->sc.url = f->url;
    f->sc.dialect = (char *)dialect;
    f->sc.schema_prefix = "";
    f->sc.schema_suffix = "";
    f->sc.create_database_if_not_exists = true;
    int rc = pdi_backend_open_conn(&f->sc, "t", &f->be, &f->db, &f->c);
    if (rc)
        fprintf(stderr, "open %s: %s\n", dialect, pd_last_error());
    return rc;
}

static void close_fx(fx *f)
{
    pdi_backend_disconnect_close(f->be, f->db, f->c);
    pdi_rm_rf(f->dir);
    pdi_test_set_unique_hash_bits(0);
}

static void exec_ok(fx *f, const char *sql)
{
    int rc = f->be->exec(f->c, sql);
    if (rc)
        fail_msg("%s: %s", sql, pd_last_error());
}

/* 1: all distinct, 0: maybe a repeat, -1: no probe; *any (may be NULL):
 * what the probe said of the predicate `where` */
static int probe_where(fx *f, const char *table, const char *column, const char *where, int *any)
{
    bool distinct = false;
    int a = -2;
    int rc = f->be->unique_probe(f->c, "s", table, column, where, &distinct, &a);
    if (any)
        *any = a;
    if (rc == PD_ERR_UNSUPPORTED)
        return -1;
    if (rc)
        fail_msg("probe %s.%s: %s", table, column, pd_last_error());
    assert_true(a >= -1 && a <= 1);
    return distinct ? 1 : 0;
}

static int probe(fx *f, const char *table, const char *column)
{
    return probe_where(f, table, column, NULL, NULL);
}

static void schema_s(fx *f)
{
    if (f->be->create_schema)
        assert_int_equal(f->be->create_schema(f->c, "s"), PD_OK);
    else
        exec_ok(f, "CREATE SCHEMA s");
}

/* what both backends share: text, integers, NULLs, the collision hook */
static void common_cases(fx *f)
{
    exec_ok(f, "CREATE TABLE s.words (w VARCHAR, n BIGINT, b VARCHAR)");
    exec_ok(f, "INSERT INTO s.words VALUES ('x', 1, 'a'), ('X', 2, 'a'), ('x ', NULL, NULL), "
               "(NULL, NULL, NULL), (NULL, 3, 'c'), ('', 4, '')");
    assert_int_equal(probe(f, "words", "w"), 1); /* NULLs ignored, 'x' <> 'X' */
    assert_int_equal(probe(f, "words", "n"), 1);
    assert_int_equal(probe(f, "words", "b"), 0); /* 'a' twice */
    exec_ok(f, "INSERT INTO s.words VALUES ('x', 4, NULL)");
    assert_int_equal(probe(f, "words", "w"), 0);
    assert_int_equal(probe(f, "words", "n"), 0);
    exec_ok(f, "CREATE TABLE s.empty (w VARCHAR)");
    assert_int_equal(probe(f, "empty", "w"), 1);
    exec_ok(f, "CREATE TABLE s.nulls (w VARCHAR)");
    exec_ok(f, "INSERT INTO s.nulls VALUES (NULL), (NULL)");
    assert_int_equal(probe(f, "nulls", "w"), 1);
    /* the test hook: 1-bit hashes, so three distinct values must collide */
    exec_ok(f, "CREATE TABLE s.three (w VARCHAR)");
    exec_ok(f, "INSERT INTO s.three VALUES ('p'), ('q'), ('r')");
    assert_int_equal(probe(f, "three", "w"), 1);
    pdi_test_set_unique_hash_bits(1);
    assert_int_equal(probe(f, "three", "w"), 0);
    pdi_test_set_unique_hash_bits(0);
    assert_int_equal(probe(f, "three", "w"), 1);
    /* a view: no probe */
    exec_ok(f, "CREATE VIEW s.v AS SELECT w FROM s.three");
    assert_int_equal(probe(f, "v", "w"), -1);
}

static void test_sqlite(void **st)
{
    (void)st;
    fx f;
    assert_int_equal(open_fx(&f, "sqlite"), 0);
    schema_s(&f);
    common_cases(&f);
    /* INTEGER 1 = REAL 1.0 (and -0.0 = 0), but TEXT '1' and BLOB x'31'
     * differ from both and from each other */
    exec_ok(&f, "CREATE TABLE s.mixed (m, z)");
    exec_ok(&f, "INSERT INTO s.mixed VALUES (1, 0), (1.0, -0.0)");
    assert_int_equal(probe(&f, "mixed", "m"), 0);
    assert_int_equal(probe(&f, "mixed", "z"), 0);
    exec_ok(&f, "CREATE TABLE s.mixed2 (m)");
    exec_ok(&f, "INSERT INTO s.mixed2 VALUES (1.0), ('1'), (x'31'), (1.5), (2), "
                "(9007199254740993), (9007199254740992.0)");
    assert_int_equal(probe(&f, "mixed2", "m"), 1);
    exec_ok(&f, "INSERT INTO s.mixed2 VALUES (1.5)");
    assert_int_equal(probe(&f, "mixed2", "m"), 0);
    exec_ok(&f, "CREATE TABLE s.mixed3 (m)");
    exec_ok(&f, "INSERT INTO s.mixed3 VALUES (9007199254740992), (9007199254740992.0)");
    assert_int_equal(probe(&f, "mixed3", "m"), 0);
    /* a collated column: no probe (GROUP BY puts 'a' and 'A' together) */
    exec_ok(&f, "CREATE TABLE s.nc (w TEXT COLLATE NOCASE, r TEXT COLLATE RTRIM, b TEXT "
                "COLLATE BINARY)");
    exec_ok(&f, "INSERT INTO s.nc VALUES ('a', 'a', 'a'), ('A', 'a ', 'A')");
    assert_int_equal(probe(&f, "nc", "w"), -1);
    assert_int_equal(probe(&f, "nc", "r"), -1);
    assert_int_equal(probe(&f, "nc", "b"), 1);
    /* the scan checks' predicate rides on the probe's scan */
    int any = -2;
    assert_int_equal(probe_where(&f, "words", "n", "(\"w\" = 'x ') OR (\"n\" < 0)", &any), 0);
    assert_int_equal(any, 1);
    assert_int_equal(probe_where(&f, "three", "w", "(\"w\" IS NULL) OR (\"w\" = 'z')", &any), 1);
    assert_int_equal(any, 0);
    close_fx(&f);
}

static void test_duckdb(void **st)
{
    (void)st;
    if (!getenv("PIPEDAG_DUCKDB_LIBRARY"))
        skip();
    fx f;
    assert_int_equal(open_fx(&f, "duckdb"), 0);
    schema_s(&f);
    common_cases(&f);
    /* no probe: a collation (visible only in the table's CREATE text), a
     * floating-point column (-0.0 = 0.0), a default collation */
    exec_ok(&f, "CREATE TABLE s.nc (w VARCHAR COLLATE NOCASE, v VARCHAR, d DOUBLE)");
    exec_ok(&f, "INSERT INTO s.nc VALUES ('a', 'a', 0.0), ('A', 'A', 1.0)");
    assert_int_equal(probe(&f, "nc", "w"), -1);
    assert_int_equal(probe(&f, "nc", "v"), -1); /* its table names a COLLATE */
    assert_int_equal(probe(&f, "nc", "d"), -1);
    exec_ok(&f, "CREATE TABLE s.nc2 AS SELECT * FROM s.nc");
    assert_int_equal(probe(&f, "nc2", "w"), -1); /* CTAS keeps the collation */
    exec_ok(&f, "SET default_collation = 'nocase'");
    assert_int_equal(probe(&f, "three", "w"), -1);
    exec_ok(&f, "RESET default_collation");
    assert_int_equal(probe(&f, "three", "w"), 1);
    int any = -2; /* DuckDB keeps its scan checks apart */
    assert_int_equal(probe_where(&f, "three", "w", "(\"w\" IS NULL)", &any), 1);
    assert_int_equal(any, -1);
    close_fx(&f);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_repeats(void **st)
{
    (void)st;
    size_t sizes[] = {0, 1, 2, 47, 48, 49, 300, 5000, 100000, 300000};
    uint64_t seed = 12345;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        for (int variant = 0; variant < 4; variant++) {
            uint64_t *v = malloc((n ? n : 1) * sizeof *v), *w = malloc((n ? n : 1) * sizeof *w);
            assert_non_null(v);
            assert_non_null(w);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                /* variant 1: values sharing their top bytes (one part);
                 * 2: a planted repeat; 3: few distinct values, 0 among
                 * them (the sets' empty mark) */
                v[i] = variant == 1 ? (seed >> 40) : variant == 3 ? seed % 7 : seed;
            }
            if (variant == 2 && n > 1)
                v[n / 3] = v[n - 1];
            memcpy(w, v, n * sizeof *v);
            qsort(w, n, sizeof *w, cmp_u64);
            bool want = false;
            for (size_t i = 1; i < n; i++)
                want = want || w[i] == w[i - 1];
            pd_u64_parts parts;
            pdi_u64_parts_init(&parts);
            /* odd sizes: room reserved for a third of the values, so that
             * parts outgrow their share of the reserved region */
            if (k % 2)
                assert_int_equal(pdi_u64_parts_reserve(&parts, n / 3), PD_OK);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(pdi_u64_parts_add(&parts, v[i]), PD_OK);
            assert_int_equal(parts.total, n);
            assert_int_equal(pdi_u64_parts_repeats(&parts), want);
            pdi_u64_parts_free(&parts);
            assert_int_equal(pdi_u64_repeats(v, n), want);
            free(v);
            free(w);
        }
    }
    /* equal input, equal hash; a byte more or less, another hash */
    assert_true(pdi_hash64("abc", 3, 1) == pdi_hash64("abc", 3, 1));
    assert_true(pdi_hash64("abc", 3, 1) != pdi_hash64("abc", 3, 2));
    assert_true(pdi_hash64("abc", 3, 1) != pdi_hash64("abc\0", 4, 1));
    assert_true(pdi_hash64("", 0, 1) != pdi_hash64("\0", 1, 1));
    /* every byte counts, at every length (the short tails are read in
     * overlapping pieces): each one-byte change of a string changes the
     * hash, and no two of these strings share one */
    uint8_t buf[40];
    uint64_t seen[40 * 41 + 41];
    size_t ns = 0;
    for (size_t len = 0; len <= 40; len++) {
        memset(buf, 'x', sizeof buf);
        seen[ns++] = pdi_hash64(buf, len, 0);
        for (size_t at = 0; at < len; at++) {
            buf[at] = 'y';
            seen[ns++] = pdi_hash64(buf, len, 0);
            buf[at] = 'x';
        }
    }
    assert_false(pdi_u64_repeats(seen, ns));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_sqlite),
        cmocka_unit_test(test_duckdb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
