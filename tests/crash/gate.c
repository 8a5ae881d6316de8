/*
 * tests/crash/gate.c - a computed task for the concurrency tests, loaded by
 * `pipedag run` with dlopen (flow files: c: {library, symbol: pd_crash_gate}).
 * It writes <$PD_GATE_DIR>/<$PD_GATE_TAG>.begin, then (if $PD_GATE_HOLD is
 * set) waits until the file <tag>.go exists, then writes <tag>.end; each file
 * holds a CLOCK_REALTIME timestamp in nanoseconds. Its table names the tag.
 * pd_crash_blob (kill tests) writes the blob "tagblob" holding the column v of
 * the first row of its input table "csv" (the version tag of the flow).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipedag/arrow.h"
#include "pipedag/pipedag.h"

int pd_crash_gate(pd_task_ctx *ctx, void *user);
int pd_crash_blob(pd_task_ctx *ctx, void *user);

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

int pd_crash_blob(pd_task_ctx *ctx, void *user)
{
    (void)user;
    struct ArrowArrayStream st = {0};
    struct ArrowSchema sc = {0};
    struct ArrowArray ar = {0};
    int rc = pd_ctx_read_table(ctx, "csv", &st);
    if (rc)
        return rc;
    if (st.get_schema(&st, &sc) != 0 || st.get_next(&st, &ar) != 0 || !ar.release || ar.length < 1)
        rc = pd_set_error(PD_ERR_CORRUPT, "blob task: cannot read table csv");
    const uint8_t *v = NULL;
    size_t len = 0;
    for (int64_t k = 0; !rc && k < sc.n_children; k++)
        if (sc.children[k]->name && strcmp(sc.children[k]->name, "v") == 0)
            v = pd_arrow_get_bytes(sc.children[k], ar.children[k], 0, &len);
    if (!rc && !v)
        rc = pd_set_error(PD_ERR_CORRUPT, "blob task: table csv has no text column v");
    if (!rc)
        rc = pd_ctx_output_blob(ctx, "tagblob", v, len);
    if (ar.release)
        ar.release(&ar);
    if (sc.release)
        sc.release(&sc);
    st.release(&st);
    return rc;
}
