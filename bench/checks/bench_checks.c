/*
 * bench/checks/bench_checks.c - the cost of column checks on a large table:
 * a lazy SQL task producing ROWS rows (id, age, target, label) with primary
 * key id, run without checks (the peer: the task's own time), with the
 * scan checks of a typical flow (age not_null/min/max, target
 * accepted_values; with the primary key's not null they are one pass), and
 * with unique on the text column label added, interleaved REPEAT times
 * (round i starting with configuration i mod 3),
 * forced to materialize each time (cache mode FORCE_CACHE_INVALID), on each
 * store named, in one run. Prints the best wall and CPU time of each and
 * the overhead (checked / plain - 1) per store; the goal is under 0.20.
 *
 *   bench_checks [ROWS] [WORKDIR] [REPEAT] [STORES]
 *       defaults 10000000, /tmp, 3, "sqlite,duckdb,parquet" (+ ",pg" when
 *       PD_BENCH_PG_URL is set)
 *
 * Stores: sqlite (a file), duckdb (a file; PIPEDAG_DUCKDB_LIBRARY),
 * parquet (ParquetTableStore, local parquet_base_path, DuckDB catalog), pg
 * (PD_BENCH_PG_URL=postgresql://u:p@h:port/db; a database <db>_bench_checks
 * is created). CPU time is this process's (the in-process stores, DuckDB's
 * threads included) plus, for pg, the server's: PD_BENCH_PG_PID names the
 * postmaster, whose exited children's time and live children's time are
 * read from /proc (scripts/bench-checks.sh sets both).
 */
#include "config/cfg_int.h"
#include "pipedag/pipedag.h"
#include "util/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of this process (the SQLite, DuckDB and Parquet stores work
 * in-process). */
static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

/* utime + stime (+ cutime + cstime) of /proc/PID/stat, in seconds; -1 when
 * unreadable. */
static double proc_cpu(long pid, bool children)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    /* fields after ")": 3 state ... 14 utime 15 stime 16 cutime 17 cstime */
    unsigned long long v[18] = {0};
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok && field < 17; tok = strtok(NULL, " ")) {
        field++;
        v[field] = strtoull(tok, NULL, 10);
    }
    if (field < 17)
        return -1;
    double t = (double)(v[14] + v[15] + (children ? v[16] + v[17] : 0));
    return t / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of the Postgres server: the postmaster, the children it has
 * reaped, and its live children (backends, parallel workers, WAL writer,
 * checkpointer). 0 when PD_BENCH_PG_PID is not set. */
static double pg_cpu(void)
{
    const char *e = getenv("PD_BENCH_PG_PID");
    long pm = e ? atol(e) : 0;
    if (pm <= 0)
        return 0;
    double t = proc_cpu(pm, true);
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        long pid = atol(de->d_name);
        if (pid <= 0 || pid == pm)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        long ppid = 0;
        if (p && sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == pm) {
            double c = proc_cpu(pid, false);
            if (c > 0)
                t += c;
        }
    }
    if (d)
        closedir(d);
    return t;
}

typedef enum store_kind { ST_SQLITE, ST_DUCKDB, ST_PARQUET, ST_PG } store_kind;

static const char *const store_names[] = {"sqlite", "duckdb", "parquet", "pg"};

/* The task's SQL: ROWS rows from each store's own row generator. */
static char *task_sql(store_kind st, long rows)
{
    const char *cols = "i AS id, i % 100 AS age, i % 2 AS target, "
                       "'k' || CAST(i AS VARCHAR(20)) AS label";
    switch (st) {
    case ST_PG: return pdi_asprintf("SELECT %s FROM generate_series(1, %ld) AS g(i)", cols, rows);
    case ST_DUCKDB:
    case ST_PARQUET:
        return pdi_asprintf("SELECT %s FROM (SELECT range AS i FROM range(1, %ld)) AS g", cols,
                            rows + 1);
    case ST_SQLITE: break;
    }
    return pdi_asprintf("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE "
                        "i < %ld) SELECT %s FROM r",
                        rows, cols);
}

/* checks: 0 none, 1 the primary key + not_null/min/max/accepted_values,
 * 2 those + unique on a text column. */
static pd_flow *make_flow(store_kind st, long rows, int checks)
{
    char *sql = task_sql(st, rows);
    pd_flow *f = pd_flow_new("bench_checks");
    pd_stage *s = pd_flow_add_stage(f, "s");
    pd_task *t = pd_stage_add_sql(s, "big", sql);
    free(sql);
    const char *pk[] = {"id"};
    int rc = pd_task_set_primary_key(t, pk, 1);
    if (checks) {
        const char *zero[] = {"0"}, *max[] = {"99"}, *tv[] = {"0", "1"};
        rc = rc ? rc : pd_task_add_check(t, "age", PD_CHECK_NOT_NULL, NULL, 0);
        rc = rc ? rc : pd_task_add_check(t, "age", PD_CHECK_MIN, zero, 1);
        rc = rc ? rc : pd_task_add_check(t, "age", PD_CHECK_MAX, max, 1);
        rc = rc ? rc : pd_task_add_check(t, "target", PD_CHECK_ACCEPTED_VALUES, tv, 2);
    }
    if (checks > 1)
        rc = rc ? rc : pd_task_add_check(t, "label", PD_CHECK_UNIQUE, NULL, 0);
    if (rc || pd_flow_finalize(f)) {
        fprintf(stderr, "bench_checks: flow: %s\n", pd_last_error());
        exit(1);
    }
    return f;
}

typedef struct timing {
    double wall, cpu;
} timing;

static timing run_once(store_kind st, const char *yaml, long rows, int checks)
{
    pd_flow *f = make_flow(st, rows, checks);
    pd_config *cfg = NULL;
    if (pd_config_load(yaml, NULL, &cfg)) {
        fprintf(stderr, "bench_checks: config: %s\n", pd_last_error());
        exit(1);
    }
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    o.cache_mode = PD_CACHE_FORCE_CACHE_INVALID;
    pd_result *r = NULL;
    double t0 = now(), c0 = cpu() + pg_cpu();
    int rc = pd_run(f, cfg, &o, &r);
    timing secs = {now() - t0, cpu() + pg_cpu() - c0};
    if (rc) {
        fprintf(stderr, "bench_checks: %s: run: %s\n", store_names[st],
                r && pd_result_count(r) ? pd_result_error(r, 0) : pd_last_error());
        exit(1);
    }
    pd_result_free(r);
    pd_config_free(cfg);
    pd_flow_free(f);
    return secs;
}

/* pipedag_<store>.yaml for one store; false when it cannot be written */
static bool write_config(store_kind st, const char *pg, char *path, size_t cap)
{
    snprintf(path, cap, "pipedag_%s.yaml", store_names[st]);
    const char *head = "name: bench_checks\n"
                       "instances:\n"
                       "  default:\n"
                       "    instance_id: bench_checks\n"
                       "    table_store:\n";
    char *y = NULL;
    switch (st) {
    case ST_SQLITE: y = pdi_config_default_yaml("bench_checks", "bench_checks"); break;
    case ST_PG:
        y = pdi_asprintf("%s      class: SQLTableStore\n"
                         "      args:\n"
                         "        url: \"%s_bench_checks\"\n"
                         "        create_database_if_not_exists: true\n",
                         head, pg);
        break;
    case ST_DUCKDB:
        y = pdi_asprintf("%s      class: SQLTableStore\n"
                         "      args:\n"
                         "        url: \"duckdb:///duck/bench.duckdb\"\n"
                         "        create_database_if_not_exists: true\n"
                         "    lock_manager:\n"
                         "      class: FileLockManager\n"
                         "      args:\n"
                         "        base_path: locks_duckdb\n",
                         head);
        break;
    case ST_PARQUET:
        y = pdi_asprintf("%s      class: ParquetTableStore\n"
                         "      args:\n"
                         "        parquet_base_path: \"files/\"\n"
                         "        url: \"duckdb:///catalog/bench.duckdb\"\n"
                         "        create_database_if_not_exists: true\n"
                         "    lock_manager:\n"
                         "      class: FileLockManager\n"
                         "      args:\n"
                         "        base_path: locks_parquet\n",
                         head);
        break;
    }
    bool ok = y && pdi_file_write_atomic(path, y, strlen(y)) == 0;
    free(y);
    return ok;
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 10000000L;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    int repeat = argc > 3 ? atoi(argv[3]) : 3;
    const char *pg = getenv("PD_BENCH_PG_URL");
    bool have_pg = pg && *pg;
    const char *list = argc > 4  ? argv[4]
                       : have_pg ? "sqlite,duckdb,parquet,pg"
                                 : "sqlite,duckdb,parquet";
    store_kind stores[8];
    int nst = 0;
    char *l = pdi_strdup(list);
    for (char *tok = strtok(l, ","); tok && nst < 8; tok = strtok(NULL, ",")) {
        int k = 0;
        while (k < 4 && strcmp(tok, store_names[k]) != 0)
            k++;
        if (k == 4 || (k == ST_PG && !have_pg)) {
            fprintf(stderr,
                    "bench_checks: unknown store '%s' (sqlite, duckdb, parquet, pg with "
                    "PD_BENCH_PG_URL)\n",
                    tok);
            return 1;
        }
        stores[nst++] = (store_kind)k;
    }
    free(l);
    char *work = pdi_asprintf("%s/pd_bench_checks_XXXXXX", dir);
    if (!work || !mkdtemp(work) || chdir(work)) {
        perror("bench_checks: work dir");
        return 1;
    }
    pdi_log_set_level(PD_LOG_ERROR); /* the Parquet store warns that keys are not created */
    static const char *const what[] = {"plain (the task alone)", "scan checks + primary key",
                                       "+ unique on a text column"};
    timing best[8][3];
    for (int si = 0; si < nst; si++) {
        store_kind st = stores[si];
        char yaml[64];
        if (!write_config(st, pg, yaml, sizeof yaml)) {
            fprintf(stderr, "bench_checks: %s\n", yaml);
            return 1;
        }
        for (int k = 0; k < 3; k++)
            best[si][k] = (timing){1e300, 1e300};
        for (int i = 0; i < repeat; i++) {
            for (int j = 0; j < 3; j++) {
                /* each round starts with the next configuration, so that
                 * what one run leaves to the next (DuckDB's freeing of the
                 * previous table, say) does not always land on the same one */
                int k = (i + j) % 3;
                timing t = run_once(st, yaml, rows, k);
                printf("%-7s round %d: %-28s wall %.3f s, cpu %.3f s\n", store_names[st], i + 1,
                       what[k], t.wall, t.cpu);
                fflush(stdout);
                if (t.wall < best[si][k].wall)
                    best[si][k].wall = t.wall;
                if (t.cpu < best[si][k].cpu)
                    best[si][k].cpu = t.cpu;
            }
        }
    }
    printf("\nrows: %ld, best of %d per store (cpu: this process%s)\n", rows, repeat,
           getenv("PD_BENCH_PG_PID") ? " + the Postgres server" : "");
    printf("| store | configuration | wall | cpu | overhead wall | overhead cpu |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int si = 0; si < nst; si++)
        for (int k = 0; k < 3; k++) {
            printf("| %s | %s | %.2f s | %.2f s |", store_names[stores[si]], what[k],
                   best[si][k].wall, best[si][k].cpu);
            if (k)
                printf(" %.3f | %.3f |\n", best[si][k].wall / best[si][0].wall - 1,
                       best[si][k].cpu / best[si][0].cpu - 1);
            else
                printf(" | |\n");
        }
    printf("(goal: overhead < 0.20)\n");
    char *cmd = pdi_asprintf("rm -rf '%s'", work);
    if (cmd && system(cmd) != 0)
        fprintf(stderr, "bench_checks: could not remove %s\n", work);
    free(cmd);
    free(work);
    return 0;
}
