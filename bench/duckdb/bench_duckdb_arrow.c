/*
 * bench/duckdb/bench_duckdb_arrow.c - the benchmark table of PARQUET.md §18
 * (rows generated in C as Arrow batches before timing starts) loaded into a
 * DuckDB file through our connector (the Arrow stream registered with
 * DuckDB's Arrow scan and inserted by INSERT .. SELECT, which DuckDB runs
 * on all its threads) and read back as Arrow (DuckDB chunks converted to
 * Arrow batches), against DuckDB's own Parquet path for the same rows in
 * the same run: CREATE TABLE .. AS FROM read_parquet() and COPY .. TO a
 * Parquet file. Every loaded table is checked against DuckDB's own
 * generation of the rows (bench/dataset.sql). Best of ROUNDS rounds, the
 * four loaders alternating.
 *
 *   bench_duckdb_arrow [ROWS] [WORKDIR] [ROUNDS]   (10000000, /tmp, 3)
 *
 * libduckdb.so: PIPEDAG_DUCKDB_LIBRARY, next to the binary, or the library
 * path (scripts/bench-duckdb.sh sets it).
 */
#include "bench_table.h"
#include "pipedag/arrow.h"
#include "pipedag/common.h"
#include "store/duckdb/duck.h"
#include "util/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "bench_duckdb_arrow: %s: %s\n", what, pd_last_error());
    exit(1);
}

#define BATCH 1000000

static void generate(int64_t rows, struct ArrowArrayStream *out)
{
    if (pdi_bench_table_generate(rows, BATCH, out))
        die("generating the table");
}

static void exec(pdi_duck_conn *c, const char *sql)
{
    if (pdi_duck_exec(c, sql))
        die(sql);
}

static int first_value(void *user, int n, const char *const *names, const char *const *v)
{
    (void)names;
    if (n > 0 && v[0])
        snprintf(user, 64, "%s", v[0]);
    return 0;
}

static void expect(pdi_duck_conn *c, const char *sql, const char *want)
{
    char got[64] = "";
    if (pdi_duck_query(c, sql, 0, NULL, first_value, got))
        die(sql);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "bench_duckdb_arrow: %s gives %s, want %s\n", sql, got, want);
        exit(1);
    }
}

/* ours: CREATE TABLE + INSERT from DuckDB's Arrow scan of the stream, one
 * transaction */
static double load_ours(pdi_duck_conn *c, int64_t rows)
{
    struct ArrowArrayStream st;
    generate(rows, &st);
    exec(c, "DROP TABLE IF EXISTS ours");
    double t0 = pdi_bench_now();
    exec(c, "BEGIN TRANSACTION");
    exec(c, "CREATE TABLE ours (id BIGINT NOT NULL, a INTEGER NOT NULL, x DOUBLE NOT NULL, "
            "cat VARCHAR NOT NULL, s VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, n BIGINT)");
    int64_t loaded = 0;
    if (pdi_duck_append_stream(c, "main", "ours", &st, &loaded))
        die("load");
    exec(c, "COMMIT");
    exec(c, "CHECKPOINT");
    double t = pdi_bench_now() - t0;
    st.release(&st);
    return t;
}

/* ours: SELECT * as Arrow batches, every batch consumed */
static double read_ours(pdi_duck_conn *c, int64_t rows)
{
    double t0 = pdi_bench_now();
    struct ArrowArrayStream st;
    if (pdi_duck_query_arrow(c, "SELECT * FROM ours", &st))
        die("read");
    struct ArrowSchema sch;
    if (st.get_schema(&st, &sch))
        die("schema");
    int64_t seen = 0, sum = 0;
    for (;;) {
        struct ArrowArray a;
        if (st.get_next(&st, &a)) {
            fprintf(stderr, "bench_duckdb_arrow: %s\n", st.get_last_error(&st));
            exit(1);
        }
        if (!a.release)
            break;
        const int64_t *id = a.children[0]->buffers[1];
        sum += id[a.children[0]->offset + a.length - 1];
        seen += a.length;
        a.release(&a);
    }
    double t = pdi_bench_now() - t0;
    sch.release(&sch);
    st.release(&st);
    if (seen != rows || sum < 0) {
        fprintf(stderr, "bench_duckdb_arrow: read %lld rows, want %lld\n", (long long)seen,
                (long long)rows);
        exit(1);
    }
    return t;
}

static double timed(pdi_duck_conn *c, const char *sql)
{
    double t0 = pdi_bench_now();
    exec(c, sql);
    return pdi_bench_now() - t0;
}

int main(int argc, char **argv)
{
    int64_t rows = argc > 1 ? atoll(argv[1]) : 10000000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (rows < 1 || reps < 1)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows when piped */
    char *work = pdi_asprintf("%s/pd_bench_duck_%d", dir, (int)getpid());
    char *dbf = pdi_asprintf("%s/bench.duckdb", work);
    char *pq = pdi_asprintf("%s/bench.parquet", work);
    if (!work || !dbf || !pq || pdi_mkdir_p(work))
        die("workdir");
    pdi_duck_open_opts o = {10, true};
    pdi_duck_db *db = NULL;
    pdi_duck_conn *c = NULL;
    if (pdi_duck_db_open(dbf, &o, &db) || pdi_duck_connect(db, &c))
        die("open");
    printf("bench_duckdb_arrow: %lld rows of the PARQUET.md §18 table, %s, best of %d rounds\n",
           (long long)rows, pdi_duck_library_desc(), reps);
    char *dataset = pdi_file_read(PD_DATASET_SQL, NULL);
    if (!dataset)
        die(PD_DATASET_SQL);
    exec(c, dataset);
    free(dataset);

    double best[4] = {1e30, 1e30, 1e30, 1e30};
    char sql[2048];
    for (int r = 0; r < reps; r++) {
        double t[4];
        t[0] = load_ours(c, rows);
        t[1] = read_ours(c, rows);
        unlink(pq);
        snprintf(sql, sizeof sql, "COPY ours TO '%s' (FORMAT parquet)", pq);
        t[2] = timed(c, sql);
        exec(c, "DROP TABLE IF EXISTS peer");
        snprintf(sql, sizeof sql,
                 "BEGIN TRANSACTION; CREATE TABLE peer AS FROM read_parquet('%s'); COMMIT; "
                 "CHECKPOINT",
                 pq);
        t[3] = timed(c, sql);
        for (int i = 0; i < 4; i++)
            best[i] = t[i] < best[i] ? t[i] : best[i];
        if (r == 0) {
            /* the loaded rows are exactly DuckDB's own generation of them */
            char n[32];
            snprintf(n, sizeof n, "%lld", (long long)rows);
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM (SELECT * FROM ours EXCEPT ALL SELECT * FROM "
                     "bench_rows(%lld))",
                     (long long)rows);
            expect(c, sql, "0");
            expect(c, "SELECT count(*) FROM ours", n);
            expect(c, "SELECT count(*) FROM (SELECT * FROM ours EXCEPT ALL SELECT * FROM peer)",
                   "0");
            expect(c, "SELECT count(*) FROM peer", n);
        }
    }
    struct stat sb;
    double mb = stat(pq, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
    double mrows = (double)rows / 1e6;
    printf("%-46s %8.3f s  %7.1f Mrows/s\n", "load  ours: Arrow stream -> Arrow scan INSERT",
           best[0], mrows / best[0]);
    printf("%-46s %8.3f s  %7.1f Mrows/s\n", "load  DuckDB: CREATE TABLE AS FROM read_parquet()",
           best[3], mrows / best[3]);
    printf("%-46s %8.3f s  %7.1f Mrows/s\n", "read  ours: SELECT * -> Arrow batches", best[1],
           mrows / best[1]);
    printf("%-46s %8.3f s  %7.1f Mrows/s  (%.0f MB file)\n", "read  DuckDB: COPY TO parquet",
           best[2], mrows / best[2], mb);
    printf("ratio load ours/DuckDB %.2f (goal <= 1.00: %s)\n", best[0] / best[3],
           best[0] <= best[3] ? "met" : "NOT met");
    printf("ratio read ours/DuckDB %.2f (goal <= 1.00: %s)\n", best[1] / best[2],
           best[1] <= best[2] ? "met" : "NOT met");
    pdi_duck_disconnect(c);
    pdi_duck_db_release(db);
    pdi_rm_rf(work);
    free(work);
    free(dbf);
    free(pq);
    return 0;
}
