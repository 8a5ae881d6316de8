/*
 * bench/csv/bench_csv.c - `load:` of a CSV file into the SQLite store
 * (`pipedag run` of a one-task flow) versus `sqlite3 .import` of the same
 * file, plain and gzipped (the peer reads `zcat file.gz |`), in one run.
 * Each side runs REPEAT times interleaved; the best time of each counts.
 * Prints seconds, peak RSS of each process and the ratios (ours / peer:
 * below 1 is faster).
 *
 *   bench_csv PIPEDAG_BINARY [ROWS] [WORKDIR] [REPEAT]
 *   (defaults 1000000 rows, /tmp, 3)
 *
 * The generated file has six columns (int, text, float, text, int, text),
 * about 46 bytes a row.
 */
#include "bench_table.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static void die(const char *what)
{
    fprintf(stderr, "bench_csv: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void generate(const char *path, const char *gz_path, long rows)
{
    static const char *const cities[] = {"Berlin", "Zurich",   "Paris",
                                         "London", "New York", "Tokyo"};
    FILE *f = fopen(path, "w");
    gzFile g = gzopen(gz_path, "wb6");
    if (!f || !g)
        die("creating the data files");
    char line[256];
    int n = snprintf(line, sizeof line, "id,name,score,city,qty,flag\n");
    fwrite(line, 1, (size_t)n, f);
    gzwrite(g, line, (unsigned)n);
    for (long i = 0; i < rows; i++) {
        uint64_t r = pdi_bench_sm64((uint64_t)i);
        n = snprintf(line, sizeof line, "%ld,name_%06u,%u.%06u,%s,%u,%s\n", i,
                     (unsigned)(r % 1000000), (unsigned)(r >> 20) % 1000,
                     (unsigned)(r >> 30) % 1000000, cities[(r >> 40) % 6],
                     (unsigned)(r >> 44) % 100000, (r >> 63) ? "yes" : "no");
        fwrite(line, 1, (size_t)n, f);
        gzwrite(g, line, (unsigned)n);
    }
    if (fclose(f) != 0 || gzclose(g) != Z_OK)
        die("writing the data files");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(path);
}

/* Run `sh -c cmd` in dir; seconds and peak RSS (KiB) of the largest process
 * of the command (wait4 reports the child and the descendants it waited for). */
static double run(const char *dir, const char *cmd, long *rss_kb)
{
    double t0 = pdi_bench_now();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0)
        die("wait4");
    double t = pdi_bench_now() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_csv: command failed (%d): %s\n", WEXITSTATUS(st), cmd);
        exit(1);
    }
    *rss_kb = ru.ru_maxrss;
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_csv PIPEDAG_BINARY [ROWS] [WORKDIR] [REPEAT]\n");
        return 2;
    }
    const char *bin = argv[1];
    long rows = argc > 2 ? atol(argv[2]) : 1000000;
    const char *base = argc > 3 ? argv[3] : "/tmp";
    int repeat = argc > 4 ? atoi(argv[4]) : 3;
    if (repeat < 1)
        repeat = 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/pd_bench_csv_XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp");
    char p[4200], pg[4200];
    snprintf(p, sizeof p, "%s/big.csv", dir);
    snprintf(pg, sizeof pg, "%s/big.csv.gz", dir);
    fprintf(stderr, "bench_csv: generating %ld rows in %s\n", rows, dir);
    generate(p, pg, rows);
    struct stat sb, sg;
    if (stat(p, &sb) != 0 || stat(pg, &sg) != 0)
        die("stat");
    char f1[4200], f2[4200];
    snprintf(f1, sizeof f1, "%s/plain.yaml", dir);
    snprintf(f2, sizeof f2, "%s/gz.yaml", dir);
    write_text(f1, "name: plain\nstages:\n  - name: raw\n    tasks:\n      - name: big\n"
                   "        load: big.csv\n");
    write_text(f2, "name: gz\nstages:\n  - name: raw\n    tasks:\n      - name: big\n"
                   "        load: big.csv.gz\n");
    char ours_plain[8400], ours_gz[8400];
    snprintf(ours_plain, sizeof ours_plain,
             "rm -rf .pipedag && exec '%s' run plain.yaml >/dev/null 2>&1", bin);
    snprintf(ours_gz, sizeof ours_gz, "rm -rf .pipedag && exec '%s' run gz.yaml >/dev/null 2>&1",
             bin);
    const char *peer_plain = "rm -f imp.db && exec sqlite3 imp.db '.import --csv big.csv t'";
    const char *peer_gz =
        "rm -f imp.db && zcat big.csv.gz | sqlite3 imp.db '.import --csv /dev/stdin t'";
    const char *names[4] = {"pipedag load big.csv", "sqlite3 .import big.csv",
                            "pipedag load big.csv.gz", "zcat | sqlite3 .import"};
    const char *cmds[4] = {ours_plain, peer_plain, ours_gz, peer_gz};
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    long rss[4] = {0, 0, 0, 0};
    for (int r = 0; r < repeat; r++)
        for (int k = 0; k < 4; k++) {
            long kb = 0;
            double t = run(dir, cmds[k], &kb);
            if (t < best[k])
                best[k] = t;
            if (kb > rss[k])
                rss[k] = kb;
        }
    printf("rows %ld, CSV %.1f MB, gzipped %.1f MB, best of %d\n", rows, (double)sb.st_size / 1e6,
           (double)sg.st_size / 1e6, repeat);
    for (int k = 0; k < 4; k++)
        printf("  %-26s %7.3f s  %8.0f rows/s  peak RSS %6.1f MB\n", names[k], best[k],
               (double)rows / best[k], (double)rss[k] / 1024.0);
    printf("ratio plain (pipedag / sqlite3 .import): %.2f\n", best[0] / best[1]);
    printf("ratio gzip  (pipedag / zcat | sqlite3):  %.2f\n", best[2] / best[3]);
    char rm[4300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0)
        fprintf(stderr, "bench_csv: could not remove %s\n", dir);
    return 0;
}
