/*
 * arrow/stream.c - an ArrowArrayStream over batches already in memory, and
 * structural validation of an array against its schema (buffer and child
 * counts, offsets monotonic and within the child/data bounds).
 */
#include "arrow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pdi_mem_stream {
    struct ArrowSchema schema;
    struct ArrowArray *batches;
    size_t n;
    size_t next;
    char error[256];
} pdi_mem_stream;

static int ms_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    pdi_mem_stream *m = st->private_data;
    if (pd_arrow_schema_copy(&m->schema, out) != PD_OK) {
        snprintf(m->error, sizeof m->error, "%s", pd_last_error());
        return 12; /* ENOMEM */
    }
    return 0;
}

static int ms_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    pdi_mem_stream *m = st->private_data;
    if (m->next >= m->n) {
        memset(out, 0, sizeof *out);
        out->release = NULL; /* end of stream */
        return 0;
    }
    pd_arrow_array_move(&m->batches[m->next++], out);
    return 0;
}

static const char *ms_last_error(struct ArrowArrayStream *st)
{
    pdi_mem_stream *m = st->private_data;
    return m->error[0] ? m->error : NULL;
}

static void ms_release(struct ArrowArrayStream *st)
{
    pdi_mem_stream *m = st->private_data;
    if (m) {
        for (size_t i = 0; i < m->n; i++) {
            pd_arrow_array_release(&m->batches[i]);
        }
        free(m->batches);
        pd_arrow_schema_release(&m->schema);
        free(m);
    }
    st->private_data = NULL;
    st->release = NULL;
}

int pd_arrow_stream_from_batches(struct ArrowSchema *schema,
                                 struct ArrowArray *batches,
                                 size_t n,
                                 struct ArrowArrayStream *out)
{
    if (!schema || !schema->release || !out || (n > 0 && !batches)) {
        return pd_set_error(PD_ERR_INVALID, "arrow: bad arguments to stream_from_batches");
    }
    pdi_mem_stream *m = calloc(1, sizeof *m);
    struct ArrowArray *arr = calloc(n ? n : 1, sizeof *arr);
    if (!m || !arr) {
        free(m);
        free(arr);
        return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for stream");
    }
    pd_arrow_schema_move(schema, &m->schema);
    for (size_t i = 0; i < n; i++) {
        pd_arrow_array_move(&batches[i], &arr[i]);
    }
    m->batches = arr;
    m->n = n;
    out->get_schema = ms_get_schema;
    out->get_next = ms_get_next;
    out->get_last_error = ms_last_error;
    out->release = ms_release;
    out->private_data = m;
    return PD_OK;
}

/* ---- validation ---- */

static int vfail(const char *path, const char *what)
{
    return pd_set_error(PD_ERR_INVALID, "arrow: column '%s': %s", path, what);
}

static int64_t get_off(const void *buf, bool large, int64_t i)
{
    if (large) {
        return ((const int64_t *)buf)[i];
    }
    return ((const int32_t *)buf)[i];
}

static int check_offsets(const char *path, const struct ArrowArray *a, bool large, int64_t limit)
{
    if (a->length == 0) {
        return PD_OK;
    }
    const void *off = a->buffers[1];
    if (!off) {
        return vfail(path, "offsets buffer is NULL");
    }
    int64_t prev = get_off(off, large, a->offset);
    if (prev < 0) {
        return vfail(path, "negative offset");
    }
    for (int64_t i = 1; i <= a->length; i++) {
        int64_t o = get_off(off, large, a->offset + i);
        if (o < prev) {
            return vfail(path, "offsets are not monotonic");
        }
        prev = o;
    }
    if (limit >= 0 && prev > limit) {
        return vfail(path, "offsets point past the end of the child array");
    }
    return PD_OK;
}

static int
validate_rec(const struct ArrowSchema *s, const struct ArrowArray *a, const char *path, int depth)
{
    if (depth > 64) {
        return vfail(path, "nesting too deep");
    }
    if (!a->release) {
        return vfail(path, "array is released");
    }
    if (a->length < 0 || a->offset < 0 || a->null_count < -1 || a->null_count > a->length) {
        return vfail(path, "bad length, offset or null count");
    }
    pdi_format f;
    if (pdi_format_parse(s->format, &f) != PD_OK) {
        return pd_error_prefix("arrow: column '%s'", path);
    }
    if (f.n_buffers >= 0 && a->n_buffers != f.n_buffers) {
        char m[96];
        snprintf(m, sizeof m, "format '%s' needs %d buffers, array has %lld", s->format,
                 f.n_buffers, (long long)a->n_buffers);
        return vfail(path, m);
    }
    if (f.kind == PDI_K_VIEW && a->n_buffers < 3) {
        return vfail(path, "view array needs at least 3 buffers");
    }
    if (a->n_children != s->n_children) {
        char m[96];
        snprintf(m, sizeof m, "schema has %lld children, array has %lld", (long long)s->n_children,
                 (long long)a->n_children);
        return vfail(path, m);
    }
    if ((s->dictionary == NULL) != (a->dictionary == NULL)) {
        return vfail(path, "dictionary present in only one of schema and array");
    }
    if (a->n_buffers > 0 && !a->buffers) {
        return vfail(path, "buffers pointer is NULL");
    }
    bool has_validity = f.kind != PDI_K_NULL && f.kind != PDI_K_RUN_END &&
                        f.kind != PDI_K_SPARSE_UNION && f.kind != PDI_K_DENSE_UNION;
    if (has_validity && a->null_count != 0 && a->length > 0 && !a->buffers[0]) {
        return vfail(path, "null count is not zero but the validity buffer is NULL");
    }
    int64_t end = a->offset + a->length;
    int rc = PD_OK;
    switch (f.kind) {
    case PDI_K_BOOL:
    case PDI_K_INT:
    case PDI_K_UINT:
    case PDI_K_FLOAT:
    case PDI_K_DECIMAL:
    case PDI_K_FIXED_BIN:
    case PDI_K_INTERVAL:
        if (end > 0 && !a->buffers[1]) {
            return vfail(path, "data buffer is NULL");
        }
        break;
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN:
        rc = check_offsets(path, a, f.kind == PDI_K_LARGE_BIN, -1);
        if (rc == PD_OK && a->length > 0) {
            bool large = f.kind == PDI_K_LARGE_BIN;
            if (get_off(a->buffers[1], large, end) > get_off(a->buffers[1], large, a->offset) &&
                !a->buffers[2]) {
                return vfail(path, "data buffer is NULL");
            }
        }
        break;
    case PDI_K_LIST:
    case PDI_K_LARGE_LIST:
    case PDI_K_MAP:
        if (a->n_children != 1) {
            return vfail(path, "list/map needs exactly one child");
        }
        rc = check_offsets(path, a, f.kind == PDI_K_LARGE_LIST, a->children[0]->length);
        break;
    case PDI_K_FIXED_LIST:
        if (a->n_children != 1) {
            return vfail(path, "fixed-size list needs exactly one child");
        }
        if (a->children[0]->length < end * f.fixed_size) {
            return vfail(path, "fixed-size list child is too short");
        }
        break;
    case PDI_K_STRUCT:
        for (int64_t i = 0; i < a->n_children; i++) {
            if (a->children[i]->length < end) {
                return vfail(path, "struct child is shorter than the struct");
            }
        }
        break;
    default: break;
    }
    if (rc != PD_OK) {
        return rc;
    }
    for (int64_t i = 0; i < a->n_children; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "",
                 s->children[i]->name ? s->children[i]->name : "?");
        if ((rc = validate_rec(s->children[i], a->children[i], sub, depth + 1)) != PD_OK) {
            return rc;
        }
    }
    if (s->dictionary) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s(dictionary)", path);
        rc = validate_rec(s->dictionary, a->dictionary, sub, depth + 1);
    }
    return rc;
}

int pd_arrow_array_validate(const struct ArrowSchema *schema, const struct ArrowArray *a)
{
    if (!schema || !a || !schema->release) {
        return pd_set_error(PD_ERR_INVALID, "arrow: validate needs a schema and an array");
    }
    return validate_rec(schema, a, schema->name ? schema->name : "", 0);
}
