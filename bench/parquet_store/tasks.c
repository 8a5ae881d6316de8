/*
 * bench/parquet_store/tasks.c - the C task of the Parquet store benchmark:
 * `derive` reads src.bench as an Arrow stream (straight from its Parquet
 * file) and outputs every column plus x2 = x * 2, batch by batch: the input
 * columns are handed on without copying, only x2 is computed.
 */
#include "pipedag/pipedag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int derive(pd_task_ctx *ctx, void *user);

typedef struct derive_stream {
    struct ArrowArrayStream in;
    int64_t x; /* index of column x */
} derive_stream;

typedef struct batch_priv {
    struct ArrowArray in;       /* the input batch (owns the passed-on columns) */
    struct ArrowArray x2;       /* the computed column */
    struct ArrowArray **children;
} batch_priv;

static void x2_release(struct ArrowArray *a)
{
    free((void *)a->buffers[1]);
    free(a->buffers);
    a->release = NULL;
}

static void batch_release(struct ArrowArray *a)
{
    batch_priv *p = a->private_data;
    if (p->x2.release)
        p->x2.release(&p->x2);
    if (p->in.release)
        p->in.release(&p->in);
    free(p->children);
    free(a->buffers);
    free(p);
    a->release = NULL;
}

static int ds_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    derive_stream *d = st->private_data;
    struct ArrowSchema in;
    int rc = d->in.get_schema(&d->in, &in);
    if (rc)
        return rc;
    /* the input's fields + one field "x2" (double, not nullable) */
    rc = pd_arrow_schema_init(out, "+s", "", 0, in.n_children + 1);
    for (int64_t i = 0; rc == 0 && i < in.n_children; i++)
        rc = pd_arrow_schema_copy(in.children[i], out->children[i]);
    if (rc == 0)
        rc = pd_arrow_schema_init(out->children[in.n_children], "g", "x2", 0, 0);
    in.release(&in);
    if (rc && out->release)
        out->release(out);
    return rc ? 12 : 0;
}

static int ds_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    derive_stream *d = st->private_data;
    memset(out, 0, sizeof *out);
    batch_priv *p = calloc(1, sizeof *p);
    if (!p)
        return 12;
    int rc = d->in.get_next(&d->in, &p->in);
    if (rc || !p->in.release) {
        free(p);
        return rc;
    }
    const struct ArrowArray *xc = p->in.children[d->x];
    int64_t n = p->in.length;
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    const void **bufs = malloc(2 * sizeof *bufs);
    p->children = malloc((size_t)(p->in.n_children + 1) * sizeof *p->children);
    const void **obufs = malloc(sizeof *obufs);
    if (!v || !bufs || !p->children || !obufs) {
        free(v);
        free(bufs);
        free(obufs);
        free(p->children);
        p->in.release(&p->in);
        free(p);
        return 12;
    }
    const double *x = (const double *)xc->buffers[1] + xc->offset + p->in.offset;
    for (int64_t i = 0; i < n; i++)
        v[i] = x[i] * 2;
    bufs[0] = NULL; /* no nulls in x */
    bufs[1] = v;
    p->x2 = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = bufs,
                                .release = x2_release};
    for (int64_t i = 0; i < p->in.n_children; i++)
        p->children[i] = p->in.children[i];
    p->children[p->in.n_children] = &p->x2;
    obufs[0] = NULL;
    *out = (struct ArrowArray){.length = n, .offset = p->in.offset, .n_buffers = 1,
                               .buffers = obufs, .n_children = p->in.n_children + 1,
                               .children = p->children, .release = batch_release,
                               .private_data = p};
    return 0;
}

static const char *ds_error(struct ArrowArrayStream *st)
{
    derive_stream *d = st->private_data;
    return d->in.get_last_error ? d->in.get_last_error(&d->in) : "error";
}

static void ds_release(struct ArrowArrayStream *st)
{
    derive_stream *d = st->private_data;
    if (d->in.release)
        d->in.release(&d->in);
    free(d);
    st->release = NULL;
}

int derive(pd_task_ctx *ctx, void *user)
{
    (void)user;
    derive_stream *d = calloc(1, sizeof *d);
    if (!d)
        return PD_ERR_NOMEM;
    int rc = pd_ctx_read_table(ctx, "src.bench", &d->in);
    if (rc) {
        free(d);
        return rc;
    }
    struct ArrowSchema s;
    if (d->in.get_schema(&d->in, &s) != 0) {
        ds_release(&(struct ArrowArrayStream){.private_data = d});
        return pd_set_error(PD_ERR, "src.bench: no schema");
    }
    d->x = -1;
    for (int64_t i = 0; i < s.n_children; i++)
        if (!strcmp(s.children[i]->name, "x") && !strcmp(s.children[i]->format, "g"))
            d->x = i;
    s.release(&s);
    if (d->x < 0) {
        ds_release(&(struct ArrowArrayStream){.private_data = d});
        return pd_set_error(PD_ERR, "src.bench has no double column x");
    }
    struct ArrowArrayStream out = {.get_schema = ds_schema,
                                   .get_next = ds_next,
                                   .get_last_error = ds_error,
                                   .release = ds_release,
                                   .private_data = d};
    return pd_ctx_output_table(ctx, "derived", &out);
}
