/*
 * store/parquet/pq_shape.c - View tasks with a shape (column selection and
 * renaming, sort, limit; PIPEDAG_SEMANTICS.md §1.3) on the Parquet store.
 *
 * In the catalog a shaped View is one view over its sources' files,
 *   SELECT "a" AS "x", ... FROM read_parquet([f1, f2, ...]) ORDER BY ... LIMIT n
 * created together with a comment carrying the shape as canonical JSON (in
 * one DuckDB transaction), so SQL consumers read the view and a C task
 * reads the same files with our codec and applies the same shape here:
 * projection and renaming per batch, a limit by slicing, a sort by
 * gathering every row (stable: ties keep file order).
 */
#include "store/dialect/dialect.h"
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/pq_int.h"
#include "store/store.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ catalog */

char *pdi_pq_shaped_select(const char *const *files, size_t n, const pd_view_shape *v)
{
    char *from = pdi_sql_pq_read_from(files, n);
    if (!from)
        return NULL;
    const char **names = pdi_calloc(v->n_cols + 1, sizeof *names);
    const char **srcs = pdi_calloc(v->n_cols + 1, sizeof *srcs);
    pdi_sql_sort *so = pdi_calloc(v->n_sort + 1, sizeof *so);
    char *q = NULL;
    if (names && srcs && so) {
        for (size_t i = 0; i < v->n_cols; i++) {
            names[i] = v->cols[i].name;
            srcs[i] = v->cols[i].source;
        }
        for (size_t i = 0; i < v->n_sort; i++)
            so[i] = (pdi_sql_sort){v->sort[i].column, v->sort[i].desc, v->sort[i].nulls_first};
        q = pdi_sql_shaped_select(pdi_dialect_get("duckdb"), from, names, srcs, v->n_cols, so,
                                  v->n_sort, v->limit);
    }
    free(names);
    free(srcs);
    free(so);
    free(from);
    return q;
}

int pdi_pq_create_shaped(pdi_duck_conn *c,
                         const char *slot,
                         const char *table,
                         const char *const *files,
                         size_t n,
                         const char *shape_json)
{
    pd_view_shape v;
    int rc = pdi_view_shape_parse(shape_json, table, &v, NULL);
    if (rc)
        return rc;
    char *sel = pdi_pq_shaped_select(files, n, &v);
    pdi_view_shape_free(&v);
    char *tag = pdi_asprintf("%s%s", pdi_sql_pq_shape_tag(), shape_json);
    char *cv = sel ? pdi_sql_create_view(pdi_dialect_get("duckdb"), slot, table, sel) : NULL;
    char *cm = tag ? pdi_sql_pq_comment_view(slot, table, tag) : NULL;
    rc = cv && cm ? pdi_duck_begin(c) : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        rc = pdi_duck_exec(c, cv);
        if (rc == PD_OK)
            rc = pdi_duck_exec(c, cm);
        if (rc == PD_OK)
            rc = pdi_duck_commit(c);
        else
            pdi_duck_rollback(c);
    }
    free(sel);
    free(tag);
    free(cv);
    free(cm);
    return rc;
}

int pdi_pq_record_shaped(pdi_pq *P,
                         pdi_duck_conn *c,
                         const char *slot,
                         const char *table,
                         const char *const *files,
                         size_t n,
                         const char *shape_json)
{
    int rc = pdi_pq_bind_views(P, c, true);
    if (rc == PD_OK) {
        rc = pdi_pq_create_shaped(c, slot, table, files, n, shape_json);
        int r2 = pdi_pq_bind_views(P, c, false);
        if (rc == PD_OK)
            rc = r2;
    }
    if (rc == PD_OK && P->sync) {
        pd_buf b = {0};
        for (size_t i = 0; i < n; i++)
            pdi_buf_printf(&b, "%s\n", files[i]);
        pdi_buf_puts(&b, shape_json);
        char *target = pdi_buf_detach(&b);
        rc = target ? pdi_pq_sync_record(P->sync, slot, table, target, "parquet_view")
                    : PD_ERR_NOMEM;
        free(target);
    }
    return rc;
}

int pdi_pq_remap_slot(pdi_pq *P, pd_strv *files, const char *from_slot, const char *to_slot)
{
    if (!from_slot || !strcmp(from_slot, to_slot))
        return PD_OK;
    char *fp = pdi_pq_slot_url(P, from_slot), *tp = pdi_pq_slot_url(P, to_slot);
    int rc = fp && tp ? PD_OK : PD_ERR_NOMEM;
    size_t n = fp ? strlen(fp) : 0;
    for (size_t i = 0; i < files->n && rc == PD_OK; i++) {
        if (strncmp(files->items[i], fp, n) != 0)
            continue;
        char *m = pdi_asprintf("%s%s", tp, files->items[i] + n);
        if (!m) {
            rc = PD_ERR_NOMEM;
            break;
        }
        free(files->items[i]);
        files->items[i] = m;
    }
    free(fp);
    free(tp);
    return rc;
}

typedef struct two_text {
    char *a, *b;
    int n;
} two_text;

static int two_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    two_text *o = user;
    if (o->n++)
        return PD_OK;
    o->a = ncols > 0 && vals[0] ? pdi_strdup(vals[0]) : NULL;
    o->b = ncols > 1 && vals[1] ? pdi_strdup(vals[1]) : NULL;
    return PD_OK;
}

int pdi_pq_view_of(pdi_duck_conn *c,
                   const char *schema,
                   const char *table,
                   pd_strv *files,
                   char **shape_json,
                   char **slot,
                   bool *found)
{
    *found = false;
    *shape_json = NULL;
    if (slot)
        *slot = NULL;
    char *q = pdi_sql_pq_view_sql_comment();
    char *s = pdi_strdup(schema), *t = pdi_strdup(table);
    int rc = q && s && t ? PD_OK : PD_ERR_NOMEM;
    /* base view -> slot view -> read_parquet(...); a few hops at most */
    for (int hop = 0; rc == PD_OK && hop < 8; hop++) {
        two_text o = {0};
        const char *p[2] = {s, t};
        rc = pdi_duck_query(c, q, 2, p, two_row, &o);
        if (rc || !o.a) {
            free(o.a);
            free(o.b);
            break;
        }
        bool f = false;
        rc = pdi_pq_files_of_view_sql(o.a, files, &f);
        if (rc == PD_OK && f) {
            *found = true;
            const char *tag = pdi_sql_pq_shape_tag();
            if (o.b && !strncmp(o.b, tag, strlen(tag))) {
                *shape_json = pdi_strdup(o.b + strlen(tag));
                if (!*shape_json)
                    rc = PD_ERR_NOMEM;
            }
            if (slot) {
                *slot = s;
                s = NULL;
            }
            free(o.a);
            free(o.b);
            break;
        }
        char *ns = NULL, *nt = NULL;
        if (rc == PD_OK)
            rc = pdi_pq_target_of_view_sql(o.a, &ns, &nt, &f);
        free(o.a);
        free(o.b);
        if (rc || !f)
            break;
        free(s);
        free(t);
        s = ns;
        t = nt;
    }
    free(q);
    free(s);
    free(t);
    return rc;
}

/* ------------------------------------------------------- Arrow: types */

/* Byte width of a fixed-width format, 0 for bool, -1 var (u z U Z: 32 / 64
 * bit offsets, coded -32 / -64), -2 for anything else (nested, dictionary,
 * float16, decimal256, intervals). */
static int width_of(const char *f)
{
    switch (f[0]) {
    case 'b': return 0;
    case 'c':
    case 'C': return f[1] ? -2 : 1;
    case 's':
    case 'S': return f[1] ? -2 : 2;
    case 'i':
    case 'I':
    case 'f': return f[1] ? -2 : 4;
    case 'l':
    case 'L':
    case 'g': return f[1] ? -2 : 8;
    case 'u':
    case 'z': return f[1] ? -2 : -32;
    case 'U':
    case 'Z': return f[1] ? -2 : -64;
    case 'd': return strchr(f, ',') && !strchr(strchr(f, ',') + 1, ',') ? 16 : -2;
    case 'w': return f[1] == ':' ? atoi(f + 2) : -2;
    case 't':
        if (f[1] == 'd')
            return f[2] == 'D' ? 4 : f[2] == 'm' ? 8 : -2;
        if (f[1] == 't')
            return f[2] == 's' || f[2] == 'm' ? 4 : 8;
        if (f[1] == 's' || f[1] == 'D')
            return 8;
        return -2;
    default: return -2;
    }
}

typedef enum { K_SIGNED, K_UNSIGNED, K_FLOAT, K_BOOL, K_DEC, K_BYTES } cmp_kind;

static int cmp_kind_of(const char *f, cmp_kind *k)
{
    switch (f[0]) {
    case 'c':
    case 's':
    case 'i':
    case 'l':
    case 't': *k = K_SIGNED; return 0;
    case 'C':
    case 'S':
    case 'I':
    case 'L': *k = K_UNSIGNED; return 0;
    case 'f':
    case 'g': *k = K_FLOAT; return 0;
    case 'b': *k = K_BOOL; return 0;
    case 'd': *k = K_DEC; return 0;
    case 'u':
    case 'z':
    case 'U':
    case 'Z':
    case 'w': *k = K_BYTES; return 0;
    default: return -1;
    }
}

static bool valid_at(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *v = a->n_buffers > 0 ? a->buffers[0] : NULL;
    if (!v || a->null_count == 0)
        return true;
    int64_t j = a->offset + i;
    return (v[j >> 3] >> (j & 7)) & 1;
}

static int64_t int_at(const struct ArrowArray *a, int w, int64_t i)
{
    const uint8_t *d = (const uint8_t *)a->buffers[1] + (a->offset + i) * w;
    switch (w) {
    case 1: return *(const int8_t *)d;
    case 2: {
        int16_t x;
        memcpy(&x, d, 2);
        return x;
    }
    case 4: {
        int32_t x;
        memcpy(&x, d, 4);
        return x;
    }
    default: {
        int64_t x;
        memcpy(&x, d, 8);
        return x;
    }
    }
}

static uint64_t uint_at(const struct ArrowArray *a, int w, int64_t i)
{
    const uint8_t *d = (const uint8_t *)a->buffers[1] + (a->offset + i) * w;
    uint64_t x = 0;
    memcpy(&x, d, (size_t)w); /* little-endian */
    return x;
}

static const uint8_t *bytes_at(const struct ArrowArray *a, int w, int64_t i, size_t *n)
{
    int64_t j = a->offset + i;
    if (w > 0) {
        *n = (size_t)w;
        return (const uint8_t *)a->buffers[1] + j * w;
    }
    if (w == -32) {
        const int32_t *o = a->buffers[1];
        *n = (size_t)(o[j + 1] - o[j]);
        return (const uint8_t *)a->buffers[2] + o[j];
    }
    const int64_t *o = a->buffers[1];
    *n = (size_t)(o[j + 1] - o[j]);
    return (const uint8_t *)a->buffers[2] + o[j];
}

/* Compare two non-null values of one column (maybe in different batches). */
static int cmp_values(
    cmp_kind k, int w, const struct ArrowArray *a, int64_t i, const struct ArrowArray *b, int64_t j)
{
    switch (k) {
    case K_SIGNED: {
        int64_t x = int_at(a, w, i), y = int_at(b, w, j);
        return x < y ? -1 : x > y;
    }
    case K_UNSIGNED: {
        uint64_t x = uint_at(a, w, i), y = uint_at(b, w, j);
        return x < y ? -1 : x > y;
    }
    case K_FLOAT: {
        double x, y;
        if (w == 4) {
            float fx, fy;
            memcpy(&fx, (const uint8_t *)a->buffers[1] + (a->offset + i) * 4, 4);
            memcpy(&fy, (const uint8_t *)b->buffers[1] + (b->offset + j) * 4, 4);
            x = fx;
            y = fy;
        } else {
            memcpy(&x, (const uint8_t *)a->buffers[1] + (a->offset + i) * 8, 8);
            memcpy(&y, (const uint8_t *)b->buffers[1] + (b->offset + j) * 8, 8);
        }
        /* as DuckDB: NaN is greater than every other value */
        bool nx = isnan(x), ny = isnan(y);
        if (nx || ny)
            return nx - ny;
        return x < y ? -1 : x > y;
    }
    case K_BOOL: {
        const uint8_t *da = a->buffers[1], *db = b->buffers[1];
        int64_t ia = a->offset + i, ib = b->offset + j;
        int x = (da[ia >> 3] >> (ia & 7)) & 1, y = (db[ib >> 3] >> (ib & 7)) & 1;
        return x - y;
    }
    case K_DEC: {
        const uint8_t *pa = (const uint8_t *)a->buffers[1] + (a->offset + i) * 16;
        const uint8_t *pb = (const uint8_t *)b->buffers[1] + (b->offset + j) * 16;
        int64_t ha, hb;
        uint64_t la, lb;
        memcpy(&la, pa, 8);
        memcpy(&ha, pa + 8, 8);
        memcpy(&lb, pb, 8);
        memcpy(&hb, pb + 8, 8);
        if (ha != hb)
            return ha < hb ? -1 : 1;
        return la < lb ? -1 : la > lb;
    }
    case K_BYTES: {
        size_t na, nb;
        const uint8_t *x = bytes_at(a, w, i, &na), *y = bytes_at(b, w, j, &nb);
        int c = memcmp(x, y, na < nb ? na : nb);
        if (c)
            return c < 0 ? -1 : 1;
        return na < nb ? -1 : na > nb;
    }
    }
    return 0;
}

/* ------------------------------------------------ Arrow: the shaping */

typedef struct sort_key {
    int col; /* index in the input schema */
    cmp_kind kind;
    int width;
    bool desc, nulls_first;
} sort_key;

typedef struct row_ref {
    uint32_t batch;
    int64_t row;
} row_ref;

typedef struct shaper {
    struct ArrowArrayStream in;
    struct ArrowSchema in_schema;
    struct ArrowSchema out_schema; /* projected, renamed */
    int *proj;                     /* output column -> input column */
    int64_t n_out;
    int64_t limit, emitted;
    /* sorted mode */
    bool sorted;
    struct ArrowArray *batches;
    size_t n_batches;
    row_ref *order;
    int64_t n_order, next;
    char *err;
} shaper;

static int set_err(shaper *s, int rc)
{
    free(s->err);
    s->err = pdi_strdup(pd_last_error());
    return rc == PD_ERR_NOMEM ? 12 : 5; /* ENOMEM / EIO */
}

/* Index of column `name` in the input (exact, else the one match ignoring
 * ASCII case, as DuckDB's identifiers). */
static int find_col(const struct ArrowSchema *sch, const char *name)
{
    for (int64_t i = 0; i < sch->n_children; i++)
        if (sch->children[i]->name && !strcmp(sch->children[i]->name, name))
            return (int)i;
    int hit = -1;
    for (int64_t i = 0; i < sch->n_children; i++)
        if (sch->children[i]->name && !strcasecmp(sch->children[i]->name, name)) {
            if (hit >= 0)
                return -2;
            hit = (int)i;
        }
    return hit;
}

/* A top-level batch referenced by the output arrays it feeds. */
typedef struct batch_ref {
    struct ArrowArray a;
    int refs;
} batch_ref;

static void batch_unref(batch_ref *b)
{
    if (b && --b->refs == 0) {
        if (b->a.release)
            b->a.release(&b->a);
        free(b);
    }
}

/* Output batch of the unsorted mode: projected children of one input
 * batch, sliced to `len` rows. Children are shallow views of the input's
 * children (buffers shared; the input batch lives until this is released). */
typedef struct proj_priv {
    batch_ref *src;
    struct ArrowArray *kids; /* n_out views */
    struct ArrowArray **kid_ptrs;
    const void *no_buffers[1];
} proj_priv;

static void view_release(struct ArrowArray *a)
{
    a->release = NULL; /* the owner (proj_priv) holds the source */
}

static void proj_release(struct ArrowArray *a)
{
    proj_priv *p = a->private_data;
    batch_unref(p->src);
    free(p->kids);
    free(p->kid_ptrs);
    free(p);
    a->release = NULL;
}

static int64_t count_nulls(const struct ArrowArray *c, int64_t len)
{
    if (c->null_count == 0)
        return 0;
    const uint8_t *v = c->n_buffers > 0 ? c->buffers[0] : NULL;
    if (!v)
        return c->null_count < 0 ? 0 : c->null_count; /* e.g. null type */
    int64_t n = 0;
    for (int64_t i = 0; i < len; i++) {
        int64_t j = c->offset + i;
        n += !((v[j >> 3] >> (j & 7)) & 1);
    }
    return n;
}

static int project(shaper *s, struct ArrowArray *in, int64_t len, struct ArrowArray *out)
{
    batch_ref *b = pdi_calloc(1, sizeof *b);
    proj_priv *p = pdi_calloc(1, sizeof *p);
    struct ArrowArray *kids = pdi_calloc((size_t)(s->n_out ? s->n_out : 1), sizeof *kids);
    struct ArrowArray **kp = pdi_calloc((size_t)(s->n_out ? s->n_out : 1), sizeof *kp);
    if (!b || !p || !kids || !kp) {
        free(b);
        free(p);
        free(kids);
        free(kp);
        in->release(in);
        return PD_ERR_NOMEM;
    }
    pd_arrow_array_move(in, &b->a);
    b->refs = 1;
    for (int64_t i = 0; i < s->n_out; i++) {
        const struct ArrowArray *c = b->a.children[s->proj[i]];
        kids[i] = *c;
        kids[i].offset = c->offset + b->a.offset;
        kids[i].length = len;
        kids[i].null_count = count_nulls(&kids[i], len);
        kids[i].release = view_release;
        kids[i].private_data = NULL;
        kp[i] = &kids[i];
    }
    p->src = b;
    p->kids = kids;
    p->kid_ptrs = kp;
    memset(out, 0, sizeof *out);
    out->length = len;
    out->null_count = 0;
    out->offset = 0;
    out->n_buffers = 1;
    out->buffers = p->no_buffers;
    out->n_children = s->n_out;
    out->children = kp;
    out->release = proj_release;
    out->private_data = p;
    return PD_OK;
}

/* -------- sorted mode: gather rows into new flat arrays */

static int gather_col(
    shaper *s, int col, const char *fmt, const row_ref *rows, int64_t n, struct ArrowArray *out)
{
    int w = width_of(fmt);
    int nbuf = w < 0 ? 3 : 2;
    int rc = pd_arrow_array_init(out, nbuf, 0);
    if (rc)
        return rc;
    uint8_t *valid = pdi_calloc((size_t)(n / 8 + 1), 1);
    if (!valid)
        return PD_ERR_NOMEM;
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct ArrowArray *c = s->batches[rows[i].batch].children[col];
        int64_t r = rows[i].row + s->batches[rows[i].batch].offset;
        struct ArrowArray tmp = *c;
        tmp.offset = c->offset;
        if (valid_at(&tmp, r))
            valid[i >> 3] |= (uint8_t)(1u << (i & 7));
        else
            nulls++;
    }
    pd_arrow_array_set_buffer(out, 0, valid);
    if (w == 0) {
        uint8_t *d = pdi_calloc((size_t)(n / 8 + 1), 1);
        if (!d)
            return PD_ERR_NOMEM;
        for (int64_t i = 0; i < n; i++) {
            const struct ArrowArray *c = s->batches[rows[i].batch].children[col];
            int64_t j = c->offset + rows[i].row + s->batches[rows[i].batch].offset;
            const uint8_t *sd = c->buffers[1];
            if ((sd[j >> 3] >> (j & 7)) & 1)
                d[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        pd_arrow_array_set_buffer(out, 1, d);
    } else if (w > 0) {
        uint8_t *d = pdi_malloc((size_t)(n ? n : 1) * (size_t)w);
        if (!d)
            return PD_ERR_NOMEM;
        for (int64_t i = 0; i < n; i++) {
            const struct ArrowArray *c = s->batches[rows[i].batch].children[col];
            int64_t j = c->offset + rows[i].row + s->batches[rows[i].batch].offset;
            memcpy(d + i * w, (const uint8_t *)c->buffers[1] + j * w, (size_t)w);
        }
        pd_arrow_array_set_buffer(out, 1, d);
    } else {
        size_t total = 0;
        struct ArrowArray tmp;
        for (int64_t i = 0; i < n; i++) {
            const struct ArrowArray *c = s->batches[rows[i].batch].children[col];
            tmp = *c;
            tmp.offset = c->offset + s->batches[rows[i].batch].offset;
            size_t len;
            bytes_at(&tmp, w, rows[i].row, &len);
            total += len;
        }
        if (w == -32 && total > INT32_MAX)
            return pd_set_error(PD_ERR_UNSUPPORTED,
                                "a sorted view column holds more than 2 GiB of text");
        size_t ow = w == -32 ? 4 : 8;
        uint8_t *off = pdi_malloc((size_t)(n + 1) * ow);
        uint8_t *data = pdi_malloc(total ? total : 1);
        if (!off || !data) {
            free(off);
            free(data);
            return PD_ERR_NOMEM;
        }
        size_t pos = 0;
        for (int64_t i = 0; i <= n; i++) {
            if (ow == 4) {
                int32_t o = (int32_t)pos;
                memcpy(off + i * 4, &o, 4);
            } else {
                int64_t o = (int64_t)pos;
                memcpy(off + i * 8, &o, 8);
            }
            if (i == n)
                break;
            const struct ArrowArray *c = s->batches[rows[i].batch].children[col];
            tmp = *c;
            tmp.offset = c->offset + s->batches[rows[i].batch].offset;
            size_t len;
            const uint8_t *src = bytes_at(&tmp, w, rows[i].row, &len);
            if (len)
                memcpy(data + pos, src, len);
            pos += len;
        }
        pd_arrow_array_set_buffer(out, 1, off);
        pd_arrow_array_set_buffer(out, 2, data);
    }
    out->length = n;
    out->null_count = nulls;
    return PD_OK;
}

#define GATHER_ROWS 65536

static int sorted_next(shaper *s, struct ArrowArray *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = s->n_order - s->next;
    if (n <= 0)
        return PD_OK; /* end: released array */
    if (n > GATHER_ROWS)
        n = GATHER_ROWS;
    int rc = pd_arrow_array_init(out, 1, s->n_out);
    for (int64_t i = 0; i < s->n_out && rc == PD_OK; i++)
        rc = gather_col(s, s->proj[i], s->out_schema.children[i]->format, s->order + s->next, n,
                        out->children[i]);
    if (rc) {
        if (out->release)
            out->release(out);
        return rc;
    }
    out->length = n;
    out->null_count = 0;
    s->next += n;
    return PD_OK;
}

/* Stable merge sort of row refs. */
static int cmp_rows(const row_ref *x,
                    const row_ref *y,
                    const sort_key *k,
                    size_t nk,
                    const struct ArrowArray *batches)
{
    for (size_t i = 0; i < nk; i++) {
        const struct ArrowArray *bx = &batches[x->batch], *by = &batches[y->batch];
        struct ArrowArray cx = *bx->children[k[i].col], cy = *by->children[k[i].col];
        cx.offset += bx->offset;
        cy.offset += by->offset;
        bool vx = valid_at(&cx, x->row), vy = valid_at(&cy, y->row);
        if (!vx || !vy) {
            if (vx == vy)
                continue;
            /* the null one first iff nulls_first */
            int c = !vx ? -1 : 1;
            return k[i].nulls_first ? c : -c;
        }
        int c = cmp_values(k[i].kind, k[i].width, &cx, x->row, &cy, y->row);
        if (c)
            return k[i].desc ? -c : c;
    }
    return 0;
}

static void merge_sort(row_ref *a,
                       row_ref *tmp,
                       int64_t n,
                       const sort_key *k,
                       size_t nk,
                       const struct ArrowArray *batches)
{
    if (n < 2)
        return;
    if (n <= 16) { /* insertion sort (stable) */
        for (int64_t i = 1; i < n; i++) {
            row_ref x = a[i];
            int64_t j = i;
            while (j > 0 && cmp_rows(&a[j - 1], &x, k, nk, batches) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    int64_t h = n / 2;
    merge_sort(a, tmp, h, k, nk, batches);
    merge_sort(a + h, tmp, n - h, k, nk, batches);
    if (cmp_rows(&a[h - 1], &a[h], k, nk, batches) <= 0)
        return;
    memcpy(tmp, a, (size_t)h * sizeof *a);
    int64_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        a[o++] = cmp_rows(&a[j], &tmp[i], k, nk, batches) < 0 ? a[j++] : tmp[i++];
    while (i < h)
        a[o++] = tmp[i++];
}

static int load_and_sort(shaper *s, const sort_key *keys, size_t nk)
{
    size_t cap = 0;
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (s->in.get_next(&s->in, &a) != 0) {
            const char *m = s->in.get_last_error ? s->in.get_last_error(&s->in) : NULL;
            return pd_set_error(PD_ERR_IO, "%s", m ? m : "reading the view's files");
        }
        if (!a.release)
            break;
        if (a.length == 0) {
            a.release(&a);
            continue;
        }
        if (s->n_batches == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct ArrowArray *nb = pdi_realloc(s->batches, nc * sizeof *nb);
            if (!nb) {
                a.release(&a);
                return PD_ERR_NOMEM;
            }
            s->batches = nb;
            cap = nc;
        }
        pd_arrow_array_move(&a, &s->batches[s->n_batches++]);
        rows += s->batches[s->n_batches - 1].length;
    }
    s->order = pdi_malloc((size_t)(rows ? rows : 1) * sizeof *s->order);
    row_ref *tmp = pdi_malloc((size_t)(rows / 2 + 1) * sizeof *tmp);
    if (!s->order || !tmp) {
        free(tmp);
        return PD_ERR_NOMEM;
    }
    int64_t k = 0;
    for (size_t b = 0; b < s->n_batches; b++)
        for (int64_t r = 0; r < s->batches[b].length; r++)
            s->order[k++] = (row_ref){(uint32_t)b, r};
    merge_sort(s->order, tmp, rows, keys, nk, s->batches);
    free(tmp);
    s->n_order = s->limit >= 0 && s->limit < rows ? s->limit : rows;
    return PD_OK;
}

static int sh_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    shaper *s = st->private_data;
    int rc = pd_arrow_schema_copy(&s->out_schema, out);
    return rc ? set_err(s, rc) : 0;
}

static int sh_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    shaper *s = st->private_data;
    memset(out, 0, sizeof *out);
    if (s->sorted) {
        int rc = sorted_next(s, out);
        return rc ? set_err(s, rc) : 0;
    }
    for (;;) {
        if (s->limit >= 0 && s->emitted >= s->limit)
            return 0; /* end */
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        if (s->in.get_next(&s->in, &a) != 0) {
            const char *m = s->in.get_last_error ? s->in.get_last_error(&s->in) : NULL;
            pd_set_error(PD_ERR_IO, "%s", m ? m : "reading the view's files");
            return set_err(s, PD_ERR_IO);
        }
        if (!a.release)
            return 0;
        int64_t len = a.length;
        if (s->limit >= 0 && len > s->limit - s->emitted)
            len = s->limit - s->emitted;
        if (len == 0 && a.length) {
            a.release(&a);
            continue;
        }
        int rc = project(s, &a, len, out);
        if (rc)
            return set_err(s, rc);
        s->emitted += len;
        return 0;
    }
}

static const char *sh_error(struct ArrowArrayStream *st)
{
    shaper *s = st->private_data;
    return s->err;
}

static void sh_release(struct ArrowArrayStream *st)
{
    shaper *s = st->private_data;
    if (s) {
        if (s->in.release)
            s->in.release(&s->in);
        pd_arrow_schema_release(&s->in_schema);
        pd_arrow_schema_release(&s->out_schema);
        for (size_t i = 0; i < s->n_batches; i++)
            if (s->batches[i].release)
                s->batches[i].release(&s->batches[i]);
        free(s->batches);
        free(s->order);
        free(s->proj);
        free(s->err);
        free(s);
    }
    st->release = NULL;
}

/* A deep copy of field `src` named `name` (children, dictionary and
 * metadata kept). */
static int renamed_copy(const struct ArrowSchema *src, const char *name, struct ArrowSchema *dst)
{
    int rc = pd_arrow_schema_init(dst, src->format, name, src->flags, src->n_children);
    for (int64_t k = 0; k < src->n_children && rc == PD_OK; k++)
        rc = pd_arrow_schema_copy(src->children[k], dst->children[k]);
    if (rc == PD_OK && src->dictionary) {
        struct ArrowSchema *d = pd_arrow_schema_alloc_dictionary(dst);
        rc = d ? pd_arrow_schema_copy(src->dictionary, d) : PD_ERR_NOMEM;
    }
    int64_t n = rc == PD_OK && src->metadata ? pd_arrow_metadata_count(src->metadata) : 0;
    if (n > 0) {
        /* binary map: int32 count, then (int32 length, bytes) key and value */
        char **kv = pdi_calloc((size_t)n * 2, sizeof *kv);
        const char *p = src->metadata + 4;
        for (int64_t j = 0; kv && j < n * 2; j++) {
            int32_t len;
            memcpy(&len, p, 4);
            kv[j] = pdi_strndup(p + 4, (size_t)len);
            p += 4 + len;
        }
        bool ok = kv != NULL;
        for (int64_t j = 0; ok && j < n * 2; j++)
            ok = kv[j] != NULL;
        const char **keys = pdi_calloc((size_t)n, sizeof *keys);
        const char **vals = pdi_calloc((size_t)n, sizeof *vals);
        for (int64_t j = 0; ok && keys && vals && j < n; j++) {
            keys[j] = kv[2 * j];
            vals[j] = kv[2 * j + 1];
        }
        rc = ok && keys && vals ? pd_arrow_schema_set_metadata(dst, keys, vals, (size_t)n)
                                : PD_ERR_NOMEM;
        for (int64_t j = 0; kv && j < n * 2; j++)
            free(kv[j]);
        free(kv);
        free(keys);
        free(vals);
    }
    return rc;
}

int pdi_pq_shape_stream(struct ArrowArrayStream *in,
                        const pd_view_shape *v,
                        const char *what,
                        struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    shaper *s = pdi_calloc(1, sizeof *s);
    if (!s) {
        in->release(in);
        return PD_ERR_NOMEM;
    }
    pd_arrow_stream_move(in, &s->in);
    s->limit = v->limit;
    int rc = PD_OK;
    if (s->in.get_schema(&s->in, &s->in_schema) != 0) {
        const char *m = s->in.get_last_error ? s->in.get_last_error(&s->in) : NULL;
        rc = pd_set_error(PD_ERR_IO, "%s", m ? m : "reading the view's schema");
    }
    int64_t nin = rc == PD_OK ? s->in_schema.n_children : 0;
    s->n_out = v->n_cols ? (int64_t)v->n_cols : nin;
    s->proj = pdi_calloc((size_t)(s->n_out ? s->n_out : 1), sizeof *s->proj);
    if (rc == PD_OK && !s->proj)
        rc = PD_ERR_NOMEM;
    for (int64_t i = 0; i < s->n_out && rc == PD_OK; i++) {
        if (!v->n_cols) {
            s->proj[i] = (int)i;
            continue;
        }
        int c = find_col(&s->in_schema, v->cols[i].source);
        if (c < 0)
            rc = pd_set_error(PD_ERR_INVALID, "%s: %s column '%s' (for '%s')", what,
                              c == -2 ? "ambiguous" : "no", v->cols[i].source, v->cols[i].name);
        s->proj[i] = c;
    }
    if (rc == PD_OK)
        rc = pd_arrow_schema_init(&s->out_schema, "+s", "", 0, s->n_out);
    for (int64_t i = 0; i < s->n_out && rc == PD_OK; i++) {
        const struct ArrowSchema *src = s->in_schema.children[s->proj[i]];
        struct ArrowSchema *dst = s->out_schema.children[i];
        rc = v->n_cols ? renamed_copy(src, v->cols[i].name, dst) : pd_arrow_schema_copy(src, dst);
    }
    sort_key *keys = pdi_calloc(v->n_sort + 1, sizeof *keys);
    if (rc == PD_OK && !keys)
        rc = PD_ERR_NOMEM;
    for (size_t i = 0; i < v->n_sort && rc == PD_OK; i++) {
        int c = find_col(&s->in_schema, v->sort[i].column);
        if (c < 0) {
            rc = pd_set_error(PD_ERR_INVALID, "%s: %s sort column '%s'", what,
                              c == -2 ? "ambiguous" : "no", v->sort[i].column);
            break;
        }
        const char *f = s->in_schema.children[c]->format;
        keys[i] = (sort_key){c, K_SIGNED, width_of(f), v->sort[i].desc, v->sort[i].nulls_first};
        if (cmp_kind_of(f, &keys[i].kind) || keys[i].width == -2 ||
            s->in_schema.children[c]->dictionary)
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "%s: sorting by column '%s' of Arrow type %s is not supported on "
                              "the Parquet store's C path",
                              what, v->sort[i].column, f);
    }
    if (rc == PD_OK && v->n_sort) {
        s->sorted = true;
        for (int64_t i = 0; i < s->n_out && rc == PD_OK; i++) {
            const struct ArrowSchema *c = s->out_schema.children[i];
            if (width_of(c->format) == -2 || c->dictionary)
                rc = pd_set_error(PD_ERR_UNSUPPORTED,
                                  "%s: a sorted view with column '%s' of Arrow type %s is not "
                                  "supported on the Parquet store's C path",
                                  what, c->name, c->format);
        }
        if (rc == PD_OK)
            rc = load_and_sort(s, keys, v->n_sort);
    }
    free(keys);
    *out = (struct ArrowArrayStream){
        .get_schema = sh_schema,
        .get_next = sh_next,
        .get_last_error = sh_error,
        .release = sh_release,
        .private_data = s,
    };
    if (rc) {
        sh_release(out);
        return rc;
    }
    return PD_OK;
}
