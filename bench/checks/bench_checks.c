/*
 * bench/checks/bench_checks.c - the cost of column checks on a large table:
 * a lazy SQL task producing ROWS rows (id, age, target, label) with primary
 * key id, run without checks (the peer: the task's own time), with the
 * scan checks of a typical flow (age not_null/min/max, target
 * accepted_values; with the primary key's not null they are one pass), and
 * with unique on the text column label added (a sort of the whole table),
 * interleaved REPEAT times, forced to materialize each time (cache mode
 * FORCE_CACHE_INVALID). Prints the best wall and CPU time of each and the
 * overhead (checked / plain - 1); the goal is under 0.20.
 *
 *   bench_checks [ROWS] [WORKDIR] [REPEAT]     (defaults 10000000, /tmp, 3)
 *
 * SQLite store by default; with PD_BENCH_PG_URL=postgresql://u:p@h:port/db
 * the same on Postgres (a database named <db>_bench_checks is created).
 */
#include "config/cfg_int.h"
#include "pipedag/pipedag.h"
#include "util/util.h"

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

/* CPU seconds of this process (the SQLite store works in-process). */
static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

/* checks: 0 none, 1 the primary key + not_null/min/max/accepted_values,
 * 2 those + unique on a text column (a sort of the whole table). */
static pd_flow *make_flow(long rows, int checks)
{
    char *sql = pdi_asprintf(
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < %ld) "
        "SELECT i AS id, i %% 100 AS age, i %% 2 AS target, 'k' || CAST(i AS VARCHAR(20)) AS label "
        "FROM r",
        rows);
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

static timing run_once(long rows, int checks)
{
    pd_flow *f = make_flow(rows, checks);
    pd_config *cfg = NULL;
    if (pd_config_load("pipedag.yaml", NULL, &cfg)) {
        fprintf(stderr, "bench_checks: config: %s\n", pd_last_error());
        exit(1);
    }
    pd_run_options o = PD_RUN_OPTIONS_INIT;
    o.cache_mode = PD_CACHE_FORCE_CACHE_INVALID;
    pd_result *r = NULL;
    double t0 = now(), c0 = cpu();
    int rc = pd_run(f, cfg, &o, &r);
    timing secs = {now() - t0, cpu() - c0};
    if (rc) {
        fprintf(stderr, "bench_checks: run: %s\n",
                r && pd_result_count(r) ? pd_result_error(r, 0) : pd_last_error());
        exit(1);
    }
    pd_result_free(r);
    pd_config_free(cfg);
    pd_flow_free(f);
    return secs;
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 10000000L;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    int repeat = argc > 3 ? atoi(argv[3]) : 3;
    const char *pg = getenv("PD_BENCH_PG_URL");
    char *work = pdi_asprintf("%s/pd_bench_checks_XXXXXX", dir);
    if (!work || !mkdtemp(work) || chdir(work)) {
        perror("bench_checks: work dir");
        return 1;
    }
    char *y = pg && *pg ? pdi_asprintf("name: bench_checks\n"
                                       "instances:\n"
                                       "  default:\n"
                                       "    instance_id: bench_checks\n"
                                       "    table_store:\n"
                                       "      class: SQLTableStore\n"
                                       "      args:\n"
                                       "        url: \"%s_bench_checks\"\n"
                                       "        create_database_if_not_exists: true\n",
                                       pg)
                        : pdi_config_default_yaml("bench_checks", "bench_checks");
    if (!y || pdi_file_write_atomic("pipedag.yaml", y, strlen(y))) {
        fprintf(stderr, "bench_checks: pipedag.yaml\n");
        return 1;
    }
    free(y);
    pdi_log_set_level(PD_LOG_WARN);
    static const char *const what[] = {"plain (the task alone)", "scan checks + primary key",
                                       "+ unique on a text column"};
    timing best[3] = {{1e300, 1e300}, {1e300, 1e300}, {1e300, 1e300}};
    for (int i = 0; i < repeat; i++) {
        for (int k = 0; k < 3; k++) {
            timing t = run_once(rows, k);
            printf("round %d: %-28s wall %.3f s, cpu %.3f s\n", i + 1, what[k], t.wall, t.cpu);
            fflush(stdout);
            if (t.wall < best[k].wall)
                best[k].wall = t.wall;
            if (t.cpu < best[k].cpu)
                best[k].cpu = t.cpu;
        }
    }
    bool sqlite = !(pg && *pg);
    printf("store: %s, rows: %ld, best of %d\n", sqlite ? "sqlite" : "postgres", rows, repeat);
    for (int k = 0; k < 3; k++)
        printf("%-28s wall %.3f s, cpu %.3f s\n", what[k], best[k].wall, best[k].cpu);
    for (int k = 1; k < 3; k++) {
        printf("overhead of %-26s wall %.3f", what[k], best[k].wall / best[0].wall - 1);
        if (sqlite) /* in-process: CPU time is the steadier measure on a shared machine */
            printf(", cpu %.3f", best[k].cpu / best[0].cpu - 1);
        printf("  (goal < 0.20)\n");
    }
    char *cmd = pdi_asprintf("rm -rf '%s'", work);
    if (cmd && system(cmd) != 0)
        fprintf(stderr, "bench_checks: could not remove %s\n", work);
    free(cmd);
    free(work);
    return 0;
}
