/*
 * examples/three_stage/tasks.c - the computed (C) tasks of the three-stage
 * example, loaded by `pipedag run` from libthree_stage_tasks.so (and, the
 * same source, from libparquet_example_tasks.so by examples/parquet_local and
 * examples/parquet_s3):
 * eager_inputs returns two in-memory tables (dfa, dfb) as Arrow streams;
 * eager_task reads lazy_1 and dfb and joins them on x in C.
 */
#include "pipedag/pipedag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int eager_inputs(pd_task_ctx *ctx, void *user);
int eager_task(pd_task_ctx *ctx, void *user);

/* A two-column int64 table as an Arrow stream. */
static int int_table(const char *c1,
                     const int64_t *v1,
                     const char *c2,
                     const int64_t *v2,
                     size_t n,
                     struct ArrowArrayStream *out)
{
    pd_arrow_builder *b = NULL;
    int rc = pd_arrow_builder_new(&b);
    if (rc)
        return rc;
    rc = pd_arrow_builder_add_column(b, c1, "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, c2, "l", 0);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = pd_arrow_builder_append_int(b, 0, v1[i]);
        if (!rc)
            rc = pd_arrow_builder_append_int(b, 1, v2[i]);
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

int eager_inputs(pd_task_ctx *ctx, void *user)
{
    (void)user;
    static const int64_t a1[] = {0, 1, 2, 4}, b1[] = {9, 8, 7, 6};
    static const int64_t a2[] = {2, 1, 0, 1}, x2[] = {1, 1, 2, 2};
    struct ArrowArrayStream st;
    int rc = int_table("a", a1, "b", b1, 4, &st);
    if (!rc)
        rc = pd_ctx_output_table(ctx, "dfa", &st);
    if (!rc)
        rc = int_table("a", a2, "x", x2, 4, &st);
    if (!rc)
        rc = pd_ctx_output_table(ctx, "dfb", &st);
    return rc;
}

/* Read the integer columns `names` of a table into rows (malloc'd). */
static int read_ints(pd_task_ctx *ctx,
                     const char *ref,
                     const char *const *names,
                     size_t ncol,
                     int64_t **rows,
                     size_t *nrows)
{
    struct ArrowArrayStream st;
    int rc = pd_ctx_read_table(ctx, ref, &st);
    if (rc)
        return rc;
    struct ArrowSchema schema;
    if (st.get_schema(&st, &schema) != 0) {
        st.release(&st);
        return pd_set_error(PD_ERR, "%s: cannot read schema", ref);
    }
    int64_t idx[8];
    for (size_t c = 0; c < ncol; c++) {
        idx[c] = -1;
        for (int64_t k = 0; k < schema.n_children; k++)
            if (strcmp(schema.children[k]->name, names[c]) == 0)
                idx[c] = k;
        if (idx[c] < 0) {
            rc = pd_set_error(PD_ERR_NOT_FOUND, "%s has no column %s", ref, names[c]);
            break;
        }
    }
    *rows = NULL;
    *nrows = 0;
    while (!rc) {
        struct ArrowArray batch;
        if (st.get_next(&st, &batch) != 0) {
            rc = pd_set_error(PD_ERR, "%s: cannot read batch", ref);
            break;
        }
        if (!batch.release)
            break;
        int64_t *grown = realloc(*rows, (*nrows + (size_t)batch.length) * ncol * sizeof **rows);
        if (!grown) {
            batch.release(&batch);
            rc = PD_ERR_NOMEM;
            break;
        }
        *rows = grown;
        for (int64_t i = 0; i < batch.length; i++, (*nrows)++)
            for (size_t c = 0; c < ncol; c++)
                (*rows)[*nrows * ncol + c] =
                    pd_arrow_get_int(schema.children[idx[c]], batch.children[idx[c]], i);
        batch.release(&batch);
    }
    schema.release(&schema);
    st.release(&st);
    return rc;
}

int eager_task(pd_task_ctx *ctx, void *user)
{
    (void)user;
    static const char *const lcols[] = {"x", "y"}, *const bcols[] = {"a", "x"};
    int64_t *l = NULL, *b = NULL;
    size_t nl = 0, nb = 0;
    int rc = read_ints(ctx, "stage_1.lazy_1", lcols, 2, &l, &nl);
    if (!rc)
        rc = read_ints(ctx, "stage_1.dfb", bcols, 2, &b, &nb);
    pd_arrow_builder *bld = NULL;
    if (!rc)
        rc = pd_arrow_builder_new(&bld);
    if (!rc)
        rc = pd_arrow_builder_add_column(bld, "x", "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(bld, "y", "l", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(bld, "a", "l", 0);
    for (size_t i = 0; !rc && i < nl; i++)
        for (size_t k = 0; !rc && k < nb; k++)
            if (l[i * 2] == b[k * 2 + 1]) {
                rc = pd_arrow_builder_append_int(bld, 0, l[i * 2]);
                if (!rc)
                    rc = pd_arrow_builder_append_int(bld, 1, l[i * 2 + 1]);
                if (!rc)
                    rc = pd_arrow_builder_append_int(bld, 2, b[k * 2]);
            }
    struct ArrowSchema schema;
    struct ArrowArray batch;
    struct ArrowArrayStream st;
    if (!rc)
        rc = pd_arrow_builder_finish(bld, &schema, &batch);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&schema, &batch, 1, &st);
    if (!rc)
        rc = pd_ctx_output_table(ctx, NULL, &st);
    pd_arrow_builder_free(bld);
    free(l);
    free(b);
    return rc;
}
