/*
 * tests/parquet_store/view_tasks.c - C tasks of the view-task test
 * (views.sh): make_rows writes two small tables t1, t2; read_views reads
 * the shaped views v and v2 as Arrow and writes every row it got, in the
 * order it got them, as (pos, row JSON) into c_rows / c_rows2, so the test
 * can check names, values and order with SQL.
 */
#include "pipedag/pipedag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int make_rows(pd_task_ctx *ctx, void *user);
int read_views(pd_task_ctx *ctx, void *user);

typedef struct row {
    int64_t id;
    const char *name; /* NULL = null */
    double score;
    int score_null;
} row;

static int table(const row *r, size_t n, struct ArrowArrayStream *out)
{
    pd_arrow_builder *b = NULL;
    int rc = pd_arrow_builder_new(&b);
    if (rc)
        return rc;
    rc = pd_arrow_builder_add_column(b, "id", "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "name", "u", 1);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "score", "g", 1);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = pd_arrow_builder_append_int(b, 0, r[i].id);
        if (!rc)
            rc = r[i].name ? pd_arrow_builder_append_bytes(b, 1, r[i].name, strlen(r[i].name))
                           : pd_arrow_builder_append_null(b, 1);
        if (!rc)
            rc = r[i].score_null ? pd_arrow_builder_append_null(b, 2)
                                 : pd_arrow_builder_append_double(b, 2, r[i].score);
    }
    struct ArrowSchema schema;
    struct ArrowArray batch;
    if (!rc)
        rc = pd_arrow_builder_finish(b, &schema, &batch);
    pd_arrow_builder_free(b);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&schema, &batch, 1, out);
    return rc;
}

int make_rows(pd_task_ctx *ctx, void *user)
{
    (void)user;
    static const row t1[] = {{1, "a", 10.5, 0}, {2, "b", 0, 1}, {3, NULL, 7.0, 0}};
    static const row t2[] = {{4, "d", 7.0, 0}, {5, "e", 12.0, 0}, {6, "f", 0, 1}};
    struct ArrowArrayStream s;
    int rc = table(t1, 3, &s);
    if (!rc)
        rc = pd_ctx_output_table(ctx, "t1", &s);
    if (!rc)
        rc = table(t2, 3, &s);
    if (!rc)
        rc = pd_ctx_output_table(ctx, "t2", &s);
    return rc;
}

/* Every row of `ref` as (pos, JSON object) into table `name`. */
static int dump(pd_task_ctx *ctx, const char *ref, const char *name)
{
    struct ArrowArrayStream in;
    int rc = pd_ctx_read_table(ctx, ref, &in);
    if (rc)
        return rc;
    struct ArrowSchema sch;
    memset(&sch, 0, sizeof sch);
    if (in.get_schema(&in, &sch) != 0) {
        in.release(&in);
        return pd_set_error(PD_ERR, "%s: no schema", ref);
    }
    pd_arrow_builder *b = NULL;
    rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "pos", "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "row", "u", 0);
    int64_t pos = 0;
    while (!rc) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (in.get_next(&in, &a) != 0) {
            const char *m = in.get_last_error(&in);
            rc = pd_set_error(PD_ERR, "%s: %s", ref, m ? m : "read error");
            break;
        }
        if (!a.release)
            break;
        for (int64_t i = 0; !rc && i < a.length; i++) {
            size_t len = 0;
            char *j = pd_arrow_value_to_json(&sch, &a, i, &len);
            rc = j ? pd_arrow_builder_append_int(b, 0, pos++) : PD_ERR_NOMEM;
            if (!rc)
                rc = pd_arrow_builder_append_bytes(b, 1, j, len);
            free(j);
        }
        a.release(&a);
    }
    sch.release(&sch);
    in.release(&in);
    struct ArrowSchema os;
    struct ArrowArray ob;
    if (!rc)
        rc = pd_arrow_builder_finish(b, &os, &ob);
    pd_arrow_builder_free(b);
    struct ArrowArrayStream out;
    if (!rc)
        rc = pd_arrow_stream_from_batches(&os, &ob, 1, &out);
    if (!rc)
        rc = pd_ctx_output_table(ctx, name, &out);
    return rc;
}

int read_views(pd_task_ctx *ctx, void *user)
{
    (void)user;
    int rc = dump(ctx, "stage_1.v", "c_rows");
    if (!rc)
        rc = dump(ctx, "stage_1.v2", "c_rows2");
    return rc;
}
