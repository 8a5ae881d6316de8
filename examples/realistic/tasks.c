/*
 * examples/realistic/tasks.c - the computed (C) tasks of the realistic
 * pipeline (flow.yaml), loaded by `pipedag run` from librealistic_tasks.so:
 *
 *   trim_all_strings  lazy: a SELECT trimming the text columns of
 *                     s1_raw_input.<task name> (the SQL runs in the store)
 *   eager_features    aa LEFT JOIN cc on pk, in C on Arrow input:
 *                     xx = x, yy = 2 * yz, zz = xz + 3
 *   model_training    a logistic regression of target on every other
 *                     numeric column, fitted by gradient descent; stored as
 *                     the blob "model" (text, exact doubles)
 *   model_evaluation  the model applied to the test set: evaluation (pk,
 *                     target, prediction, abs_error)
 *
 * Rows are sorted by pk before any arithmetic, so results do not depend on
 * the order a store returns rows in, and are equal on every store.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "pipedag/pipedag.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int trim_all_strings(pd_task_ctx *ctx, void *user);
int eager_features(pd_task_ctx *ctx, void *user);
int model_training(pd_task_ctx *ctx, void *user);
int model_evaluation(pd_task_ctx *ctx, void *user);

/* ------------------------------------------------------------ trimming */

int trim_all_strings(pd_task_ctx *ctx, void *user)
{
    (void)user;
    char ref[256];
    snprintf(ref, sizeof ref, "s1_raw_input.%s", pd_ctx_task_name(ctx));
    struct ArrowArrayStream st;
    int rc = pd_ctx_read_table(ctx, ref, &st);
    if (rc)
        return rc;
    struct ArrowSchema schema;
    if (st.get_schema(&st, &schema) != 0) {
        st.release(&st);
        return pd_set_error(PD_ERR, "%s: cannot read its schema", ref);
    }
    size_t cap = 64 + strlen(ref);
    for (int64_t i = 0; i < schema.n_children; i++)
        cap += 2 * strlen(schema.children[i]->name) + 32;
    char *sql = malloc(cap);
    size_t len = 0;
    if (!sql) {
        rc = PD_ERR_NOMEM;
    } else {
        len += (size_t)sprintf(sql + len, "SELECT ");
        for (int64_t i = 0; i < schema.n_children && !rc; i++) {
            const char *name = schema.children[i]->name;
            const char *fmt = schema.children[i]->format;
            bool text = strcmp(fmt, "u") == 0 || strcmp(fmt, "U") == 0;
            if (strchr(name, '"')) {
                rc = pd_set_error(PD_ERR_INVALID, "%s: column name with a quote", ref);
                break;
            }
            len += (size_t)sprintf(sql + len, "%s", i ? ", " : "");
            if (text)
                len += (size_t)sprintf(sql + len, "TRIM(\"%s\") AS \"%s\"", name, name);
            else
                len += (size_t)sprintf(sql + len, "\"%s\"", name);
        }
        sprintf(sql + len, " FROM {{ %s }}", ref);
    }
    schema.release(&schema);
    st.release(&st);
    if (!rc)
        rc = pd_ctx_output_sql(ctx, NULL, sql);
    free(sql);
    return rc;
}

/* ------------------------------------------------------ reading tables */

/* A table read into memory: the pk column as text and numeric columns as
 * doubles (NaN = NULL), rows sorted by pk (byte order). */
typedef struct rows {
    size_t n, ncol;
    char **pk;
    double *v; /* n * ncol, row-major */
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->pk[i]);
    free(r->pk);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int
read_rows(pd_task_ctx *ctx, const char *ref, const char *const *cols, size_t ncol, rows *out)
{
    memset(out, 0, sizeof *out);
    out->ncol = ncol;
    struct ArrowArrayStream st;
    int rc = pd_ctx_read_table(ctx, ref, &st);
    if (rc)
        return rc;
    struct ArrowSchema schema;
    if (st.get_schema(&st, &schema) != 0) {
        st.release(&st);
        return pd_set_error(PD_ERR, "%s: cannot read its schema", ref);
    }
    int64_t pk = -1, idx[16];
    for (int64_t k = 0; k < schema.n_children; k++)
        if (strcmp(schema.children[k]->name, "pk") == 0)
            pk = k;
    if (pk < 0 || ncol > 16)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "%s has no column pk", ref);
    for (size_t c = 0; c < ncol && !rc; c++) {
        idx[c] = -1;
        for (int64_t k = 0; k < schema.n_children; k++)
            if (strcmp(schema.children[k]->name, cols[c]) == 0)
                idx[c] = k;
        if (idx[c] < 0)
            rc = pd_set_error(PD_ERR_NOT_FOUND, "%s has no column %s", ref, cols[c]);
    }
    size_t cap = 0;
    while (!rc) {
        struct ArrowArray batch;
        if (st.get_next(&st, &batch) != 0) {
            rc = pd_set_error(PD_ERR, "%s: cannot read a batch", ref);
            break;
        }
        if (!batch.release)
            break;
        for (int64_t i = 0; i < batch.length && !rc; i++) {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 1024;
                char **p = realloc(out->pk, cap * sizeof *p);
                double *v = p ? realloc(out->v, cap * (ncol ? ncol : 1) * sizeof *v) : NULL;
                if (p)
                    out->pk = p;
                if (v)
                    out->v = v;
                if (!p || !v) {
                    rc = PD_ERR_NOMEM;
                    break;
                }
            }
            const struct ArrowArray *pa = batch.children[pk];
            char buf[128];
            if (pd_arrow_is_null(pa, i)) {
                rc = pd_set_error(PD_ERR_INVALID, "%s: NULL pk", ref);
                break;
            }
            int len = pd_arrow_get_text(schema.children[pk], pa, i, buf, sizeof buf);
            if (len < 0 || (size_t)len >= sizeof buf) {
                rc = pd_set_error(PD_ERR_INVALID, "%s: pk too long", ref);
                break;
            }
            if (!(out->pk[out->n] = strdup(buf))) {
                rc = PD_ERR_NOMEM;
                break;
            }
            for (size_t c = 0; c < ncol; c++) {
                const struct ArrowArray *a = batch.children[idx[c]];
                double d = NAN;
                /* the shortest round-trip text of any numeric type, read back exactly */
                if (!pd_arrow_is_null(a, i) &&
                    pd_arrow_get_text(schema.children[idx[c]], a, i, buf, sizeof buf) > 0)
                    d = strtod(buf, NULL);
                out->v[out->n * ncol + c] = d;
            }
            out->n++;
        }
        batch.release(&batch);
    }
    schema.release(&schema);
    st.release(&st);
    if (rc) {
        rows_free(out);
        return rc;
    }
    /* sort by pk: an index permutation, then apply */
    size_t *perm = malloc((out->n ? out->n : 1) * sizeof *perm);
    char **pks = malloc((out->n ? out->n : 1) * sizeof *pks);
    double *vs = malloc((out->n ? out->n : 1) * (ncol ? ncol : 1) * sizeof *vs);
    if (!perm || !pks || !vs) {
        free(perm);
        free(pks);
        free(vs);
        rows_free(out);
        return PD_ERR_NOMEM;
    }
    for (size_t i = 0; i < out->n; i++)
        perm[i] = i;
    char **keys = out->pk;
    for (size_t gap = out->n / 2; gap > 0; gap /= 2) /* shell sort: no global context needed */
        for (size_t i = gap; i < out->n; i++)
            for (size_t j = i; j >= gap && strcmp(keys[perm[j - gap]], keys[perm[j]]) > 0;
                 j -= gap) {
                size_t t = perm[j];
                perm[j] = perm[j - gap];
                perm[j - gap] = t;
            }
    for (size_t i = 0; i < out->n; i++) {
        pks[i] = out->pk[perm[i]];
        memcpy(&vs[i * ncol], &out->v[perm[i] * ncol], ncol * sizeof *vs);
    }
    free(out->pk);
    free(out->v);
    free(perm);
    out->pk = pks;
    out->v = vs;
    return PD_OK;
}

/* Row of `key` in sorted rows, or -1. */
static long find_row(const rows *r, const char *key)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->pk[mid], key);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Append a double column value (NaN -> NULL). */
static int put_double(pd_arrow_builder *b, size_t col, double v)
{
    return isnan(v) ? pd_arrow_builder_append_null(b, col)
                    : pd_arrow_builder_append_double(b, col, v);
}

static int output_builder(pd_task_ctx *ctx, const char *name, pd_arrow_builder *b)
{
    struct ArrowSchema schema;
    struct ArrowArray batch;
    struct ArrowArrayStream st;
    int rc = pd_arrow_builder_finish(b, &schema, &batch);
    if (!rc)
        rc = pd_arrow_stream_from_batches(&schema, &batch, 1, &st);
    if (!rc)
        rc = pd_ctx_output_table(ctx, name, &st);
    return rc;
}

/* ------------------------------------------------------------ features */

int eager_features(pd_task_ctx *ctx, void *user)
{
    (void)user;
    static const char *const ccols[] = {"x", "yz", "xz"};
    rows a, c;
    int rc = read_rows(ctx, "s3_transformed_data.aa", NULL, 0, &a);
    if (rc)
        return rc;
    if ((rc = read_rows(ctx, "s3_transformed_data.cc", ccols, 3, &c))) {
        rows_free(&a);
        return rc;
    }
    pd_arrow_builder *b = NULL;
    rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "pk", "u", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "xx", "g", 1);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "yy", "g", 1);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "zz", "g", 1);
    for (size_t i = 0; i < a.n && !rc; i++) {
        long k = find_row(&c, a.pk[i]);
        double x = k < 0 ? NAN : c.v[k * 3], yz = k < 0 ? NAN : c.v[k * 3 + 1],
               xz = k < 0 ? NAN : c.v[k * 3 + 2];
        rc = pd_arrow_builder_append_bytes(b, 0, a.pk[i], strlen(a.pk[i]));
        if (!rc)
            rc = put_double(b, 1, x);
        if (!rc)
            rc = put_double(b, 2, yz * 2);
        if (!rc)
            rc = put_double(b, 3, xz + 3);
    }
    if (!rc)
        rc = output_builder(ctx, NULL, b);
    pd_arrow_builder_free(b);
    rows_free(&a);
    rows_free(&c);
    return rc;
}

/* --------------------------------------------------------------- model */

#define NFEAT 7
static const char *const feature_cols[NFEAT] = {"age", "xx", "yy", "zz", "aiige", "y", "z"};

typedef struct model {
    double mean[NFEAT], sd[NFEAT], w[NFEAT], bias;
} model;

/* Standardized feature j of a row (NULL -> the mean, i.e. 0). */
static double feature(const model *m, const double *row, int j)
{
    double v = row[j + 1]; /* column 0 is the target */
    return isnan(v) ? 0.0 : (v - m->mean[j]) / m->sd[j];
}

static double predict(const model *m, const double *row)
{
    double z = m->bias;
    for (int j = 0; j < NFEAT; j++)
        z += m->w[j] * feature(m, row, j);
    return 1.0 / (1.0 + exp(-z));
}

static int read_model_rows(pd_task_ctx *ctx, const char *ref, rows *r)
{
    const char *cols[NFEAT + 1] = {"target"};
    for (int j = 0; j < NFEAT; j++)
        cols[j + 1] = feature_cols[j];
    return read_rows(ctx, ref, cols, NFEAT + 1, r);
}

int model_training(pd_task_ctx *ctx, void *user)
{
    (void)user;
    rows r;
    int rc = read_model_rows(ctx, "training_set", &r);
    if (rc)
        return rc;
    if (!r.n) {
        rows_free(&r);
        return pd_set_error(PD_ERR_INVALID, "training_set is empty");
    }
    model m;
    memset(&m, 0, sizeof m);
    for (int j = 0; j < NFEAT; j++) {
        double s = 0, s2 = 0;
        size_t n = 0;
        for (size_t i = 0; i < r.n; i++) {
            double v = r.v[i * r.ncol + j + 1];
            if (!isnan(v)) {
                s += v;
                n++;
            }
        }
        m.mean[j] = n ? s / (double)n : 0;
        for (size_t i = 0; i < r.n; i++) {
            double v = r.v[i * r.ncol + j + 1];
            if (!isnan(v))
                s2 += (v - m.mean[j]) * (v - m.mean[j]);
        }
        m.sd[j] = n > 1 && s2 > 0 ? sqrt(s2 / (double)(n - 1)) : 1.0;
    }
    /* batch gradient descent on the mean log-loss, small L2 penalty */
    const double lr = 0.5, l2 = 1e-4;
    for (int it = 0; it < 2000; it++) {
        double g[NFEAT] = {0}, gb = 0;
        for (size_t i = 0; i < r.n; i++) {
            const double *row = &r.v[i * r.ncol];
            double err = predict(&m, row) - (isnan(row[0]) ? 0 : row[0]);
            for (int j = 0; j < NFEAT; j++)
                g[j] += err * feature(&m, row, j);
            gb += err;
        }
        for (int j = 0; j < NFEAT; j++)
            m.w[j] -= lr * (g[j] / (double)r.n + l2 * m.w[j]);
        m.bias -= lr * gb / (double)r.n;
    }
    rows_free(&r);
    /* the blob: one line per feature "name mean sd weight", then the bias */
    char buf[4096];
    size_t len = (size_t)snprintf(buf, sizeof buf, "pipedag-realistic logistic-regression 1\n");
    for (int j = 0; j < NFEAT; j++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %.17g %.17g %.17g\n",
                                feature_cols[j], m.mean[j], m.sd[j], m.w[j]);
    len += (size_t)snprintf(buf + len, sizeof buf - len, "bias %.17g\n", m.bias);
    return pd_ctx_output_blob(ctx, "model", buf, len);
}

static int parse_model(const char *text, size_t len, model *m)
{
    char *s = malloc(len + 1);
    if (!s)
        return PD_ERR_NOMEM;
    memcpy(s, text, len);
    s[len] = 0;
    int rc = PD_OK;
    char *line = strtok(s, "\n");
    if (!line || strcmp(line, "pipedag-realistic logistic-regression 1") != 0)
        rc = pd_set_error(PD_ERR_CORRUPT, "model blob: unknown format");
    for (int j = 0; j < NFEAT && !rc; j++) {
        char name[32];
        line = strtok(NULL, "\n");
        if (!line ||
            sscanf(line, "%31s %lf %lf %lf", name, &m->mean[j], &m->sd[j], &m->w[j]) != 4 ||
            strcmp(name, feature_cols[j]) != 0)
            rc = pd_set_error(PD_ERR_CORRUPT, "model blob: bad line for feature %s",
                              feature_cols[j]);
    }
    line = rc ? NULL : strtok(NULL, "\n");
    if (!rc && (!line || sscanf(line, "bias %lf", &m->bias) != 1))
        rc = pd_set_error(PD_ERR_CORRUPT, "model blob: no bias");
    free(s);
    return rc;
}

int model_evaluation(pd_task_ctx *ctx, void *user)
{
    (void)user;
    void *blob = NULL;
    size_t blen = 0;
    int rc = pd_ctx_read_blob(ctx, "s5_model.model", &blob, &blen);
    if (rc)
        return rc;
    model m;
    rc = parse_model(blob, blen, &m);
    free(blob);
    if (rc)
        return rc;
    rows r;
    if ((rc = read_model_rows(ctx, "s5_model.test_set", &r)))
        return rc;
    pd_arrow_builder *b = NULL;
    rc = pd_arrow_builder_new(&b);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "pk", "u", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "target", "l", 1);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "prediction", "g", 0);
    if (!rc)
        rc = pd_arrow_builder_add_column(b, "abs_error", "g", 1);
    for (size_t i = 0; i < r.n && !rc; i++) {
        const double *row = &r.v[i * r.ncol];
        double p = predict(&m, row);
        rc = pd_arrow_builder_append_bytes(b, 0, r.pk[i], strlen(r.pk[i]));
        if (!rc)
            rc = isnan(row[0]) ? pd_arrow_builder_append_null(b, 1)
                               : pd_arrow_builder_append_int(b, 1, (int64_t)row[0]);
        if (!rc)
            rc = pd_arrow_builder_append_double(b, 2, p);
        if (!rc)
            rc = put_double(b, 3, fabs(row[0] - p));
    }
    if (!rc)
        rc = output_builder(ctx, NULL, b);
    pd_arrow_builder_free(b);
    rows_free(&r);
    return rc;
}
