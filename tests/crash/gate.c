/*
 * tests/crash/gate.c - a computed task for the concurrency tests, loaded by
 * `pipedag run` with dlopen (flow files: c: {library, symbol: pd_crash_gate}).
 * It writes <$PD_GATE_DIR>/<$PD_GATE_TAG>.begin, then (if $PD_GATE_HOLD is
 * set) waits until the file <tag>.go exists, then writes <tag>.end; each file
 * holds a CLOCK_REALTIME timestamp in nanoseconds. Its table names the tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pipedag/pipedag.h"

int pd_crash_gate(pd_task_ctx *ctx, void *user);

static int mark(const char *dir, const char *tag, const char *what)
{
    char path[4096];
    char tmp[4200];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(path, sizeof path, "%s/%s.%s", dir, tag, what);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%lld%09ld\n", (long long)ts.tv_sec, (long)ts.tv_nsec);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* appears complete or not at all */
}

int pd_crash_gate(pd_task_ctx *ctx, void *user)
{
    (void)user;
    const char *dir = getenv("PD_GATE_DIR");
    const char *tag = getenv("PD_GATE_TAG");
    if (!dir || !tag)
        return pd_ctx_output_sql(ctx, NULL, "SELECT 'none' AS tag");
    if (mark(dir, tag, "begin") != 0)
        return pd_set_error(PD_ERR_IO, "gate: cannot write %s/%s.begin", dir, tag);
    if (getenv("PD_GATE_HOLD")) {
        char go[4096];
        snprintf(go, sizeof go, "%s/%s.go", dir, tag);
        for (int i = 0; i < 6000 && access(go, F_OK) != 0; i++) { /* at most 60 s */
            struct timespec d = {0, 10 * 1000 * 1000};
            nanosleep(&d, NULL);
        }
    }
    if (mark(dir, tag, "end") != 0)
        return pd_set_error(PD_ERR_IO, "gate: cannot write %s/%s.end", dir, tag);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT '%.64s' AS tag", tag);
    return pd_ctx_output_sql(ctx, NULL, sql);
}
