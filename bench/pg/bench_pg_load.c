/*
 * bench/pg/bench_pg_load.c - loading the benchmark table of PARQUET.md §18
 * (rows generated in C as Arrow batches, before timing starts) into
 * Postgres through our connector (binary COPY from Arrow), versus psql
 * \copy of the same rows from a CSV file and from a binary COPY file, in
 * one run. Prints rows/s, MB/s of the CSV equivalent and ratios.
 *
 *   bench_pg_load URL [ROWS] [WORKDIR]   (defaults 10000000, /tmp)
 */
#include "bench_table.h"
#include "pipedag/arrow.h"
#include "pipedag/common.h"
#include "store/dialect/dialect.h"
#include "store/postgres/libpq.h"
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
    fprintf(stderr, "bench_pg_load: %s: %s\n", what, pd_last_error());
    exit(1);
}

#define BATCH 1000000

static void generate(int64_t rows, struct ArrowArrayStream *out)
{
    if (pdi_bench_table_generate(rows, BATCH, out))
        die("generating the table");
}

static const char *DDL = PDI_BENCH_TABLE_PG_DDL;

static double psql_copy(const char *url, const char *table, const char *file, const char *fmt)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "psql -X -q -v ON_ERROR_STOP=1 '%s' -c \"\\copy %s FROM '%s' (FORMAT %s)\"", url,
             table, file, fmt);
    double t0 = pdi_bench_now();
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_pg_load: psql failed: %s\n", fmt);
        exit(1);
    }
    return pdi_bench_now() - t0;
}

static void check_count(pdi_pg *c, const char *table, int64_t rows)
{
    char sql[256], *v = NULL;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (pdi_pg_query_value(c, sql, &v))
        die("count");
    if (!v || atoll(v) != rows) {
        fprintf(stderr, "bench_pg_load: %s has %s rows, want %lld\n", table, v ? v : "?",
                (long long)rows);
        exit(1);
    }
    free(v);
}

/* CREATE TABLE (the dialect's types) + binary COPY from Arrow, one
 * transaction - what the store's Arrow hook does. */
static int load_ours(pdi_pg *c, struct ArrowArrayStream *st, int64_t *loaded)
{
    struct ArrowSchema sch;
    if (st->get_schema(st, &sch))
        return -1;
    char *ddl = pdi_sql_create_table_arrow(&pdi_dialect_postgres, "pdbench", "ours", &sch, false);
    char *copy = pdi_sql_pg_copy_in("pdbench", "ours", &sch);
    sch.release(&sch);
    int rc = ddl && copy ? pdi_pg_begin(c) : -1;
    if (rc == 0)
        rc = pdi_pg_exec(c, ddl);
    if (rc == 0)
        rc = pdi_pg_load_arrow(c, copy, "pdbench.ours", st, loaded);
    if (rc == 0)
        rc = pdi_pg_commit(c);
    else
        pdi_pg_rollback(c);
    free(ddl);
    free(copy);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pg_load URL [ROWS] [WORKDIR] [ROUNDS]\n");
        return 2;
    }
    const char *url = argv[1];
    int64_t rows = argc > 2 ? atoll(argv[2]) : 10000000;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    if (reps < 1)
        reps = 1;
    pdi_pg *c = NULL;
    if (pdi_pg_connect(url, false, &c))
        die("connect");
    if (pdi_pg_exec(c, "DROP SCHEMA IF EXISTS pdbench CASCADE; CREATE SCHEMA pdbench"))
        die("schema");

    printf("rows: %lld\n", (long long)rows);
    double t0 = pdi_bench_now();
    struct ArrowArrayStream st;
    generate(rows, &st);
    printf("generate Arrow batches in C: %.2f s (not timed below)\n", pdi_bench_now() - t0);

    /* 1. our connector: CREATE TABLE + binary COPY from Arrow, one transaction */
    pdi_pg_exec(c, "CHECKPOINT");
    t0 = pdi_bench_now();
    int64_t loaded = 0;
    if (load_ours(c, &st, &loaded))
        die("load");
    double t_ours = pdi_bench_now() - t0;
    st.release(&st);
    check_count(c, "pdbench.ours", rows);

    /* same rows as files for psql (written from the loaded table) */
    char csv[1024], bin[1024], cmd[4096];
    snprintf(csv, sizeof csv, "%s/pdbench_%d.csv", dir, (int)getpid());
    snprintf(bin, sizeof bin, "%s/pdbench_%d.bin", dir, (int)getpid());
    snprintf(cmd, sizeof cmd,
             "psql -X -q -v ON_ERROR_STOP=1 '%s' -c \"\\copy (SELECT * FROM pdbench.ours ORDER "
             "BY id) TO '%s' (FORMAT csv)\" -c \"\\copy (SELECT * FROM pdbench.ours ORDER BY id) "
             "TO '%s' (FORMAT binary)\"",
             url, csv, bin);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_pg_load: writing the psql input files failed\n");
        return 1;
    }
    struct stat sb;
    double csv_mb = stat(csv, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
    double bin_mb = stat(bin, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;

    char *ddl2 = pdi_asprintf("CREATE TABLE pdbench.csv %s; CREATE TABLE pdbench.bin %s", DDL, DDL);
    if (!ddl2 || pdi_pg_exec(c, ddl2))
        die("ddl");
    free(ddl2);
    pdi_pg_exec(c, "CHECKPOINT");
    double t_csv = psql_copy(url, "pdbench.csv", csv, "csv");
    check_count(c, "pdbench.csv", rows);
    pdi_pg_exec(c, "CHECKPOINT");
    double t_bin = psql_copy(url, "pdbench.bin", bin, "binary");
    check_count(c, "pdbench.bin", rows);
    /* More rounds, alternating the loaders so that machine noise hits each
     * alike; every loader's best round is reported. */
    for (int rep = 1; rep < reps; rep++) {
        if (pdi_pg_exec(c, "DROP TABLE pdbench.ours; TRUNCATE pdbench.csv, pdbench.bin"))
            die("reset");
        generate(rows, &st);
        pdi_pg_exec(c, "CHECKPOINT");
        t0 = pdi_bench_now();
        if (load_ours(c, &st, &loaded))
            die("load");
        double t = pdi_bench_now() - t0;
        st.release(&st);
        t_ours = t < t_ours ? t : t_ours;
        pdi_pg_exec(c, "CHECKPOINT");
        t = psql_copy(url, "pdbench.csv", csv, "csv");
        t_csv = t < t_csv ? t : t_csv;
        pdi_pg_exec(c, "CHECKPOINT");
        t = psql_copy(url, "pdbench.bin", bin, "binary");
        t_bin = t < t_bin ? t : t_bin;
    }
    check_count(c, "pdbench.ours", rows);
    check_count(c, "pdbench.bin", rows);
    printf("best of %d rounds (loaders alternating)\n", reps);

    /* 2. read back as Arrow (binary COPY out) */
    t0 = pdi_bench_now();
    struct ArrowArrayStream out;
    if (pdi_pg_read_arrow(c, "SELECT * FROM pdbench.ours", &out))
        die("read");
    int64_t got = 0;
    struct ArrowArray a;
    while (out.get_next(&out, &a) == 0 && a.release) {
        got += a.length;
        a.release(&a);
    }
    out.release(&out);
    double t_read = pdi_bench_now() - t0;

    printf("CSV size %.1f MB, binary COPY size %.1f MB\n", csv_mb, bin_mb);
    printf("%-38s %8.2f s %10.0f rows/s %7.1f MB/s(csv-equiv)\n",
           "pipedag connector (Arrow -> binary COPY)", t_ours, (double)rows / t_ours,
           csv_mb / t_ours);
    printf("%-38s %8.2f s %10.0f rows/s %7.1f MB/s\n", "psql \\copy CSV", t_csv,
           (double)rows / t_csv, csv_mb / t_csv);
    printf("%-38s %8.2f s %10.0f rows/s %7.1f MB/s\n", "psql \\copy binary", t_bin,
           (double)rows / t_bin, bin_mb / t_bin);
    printf("ratio ours/psql-csv time: %.2f  ours/psql-binary time: %.2f\n", t_ours / t_csv,
           t_ours / t_bin);
    printf("%-38s %8.2f s %10.0f rows/s (%lld rows)\n", "read back as Arrow (binary COPY out)",
           t_read, (double)got / t_read, (long long)got);
    remove(csv);
    remove(bin);
    pdi_pg_exec(c, "DROP SCHEMA pdbench CASCADE");
    pdi_pg_close(c);
    return 0;
}
