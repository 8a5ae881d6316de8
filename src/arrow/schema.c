/*
 * arrow/schema.c - ownership plumbing of the Arrow C Data Interface: release
 * and move helpers, schema nodes with owned strings/children/metadata, deep
 * schema copies, array nodes with owned buffers and children.
 *
 * Nodes made here keep everything they own in one private record so that
 * release is a single walk; children may be moved out (left released) before
 * the parent is released, as the Arrow spec allows.
 */
#include "arrow_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- release / move ---- */

void pd_arrow_schema_release(struct ArrowSchema *s)
{
    if (s && s->release) {
        s->release(s);
        s->release = NULL;
    }
}

void pd_arrow_array_release(struct ArrowArray *a)
{
    if (a && a->release) {
        a->release(a);
        a->release = NULL;
    }
}

void pd_arrow_stream_release(struct ArrowArrayStream *st)
{
    if (st && st->release) {
        st->release(st);
        st->release = NULL;
    }
}

void pd_arrow_schema_move(struct ArrowSchema *src, struct ArrowSchema *dst)
{
    if (src == dst) {
        return;
    }
    memcpy(dst, src, sizeof *dst);
    src->release = NULL;
}

void pd_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst)
{
    if (src == dst) {
        return;
    }
    memcpy(dst, src, sizeof *dst);
    src->release = NULL;
}

void pd_arrow_stream_move(struct ArrowArrayStream *src, struct ArrowArrayStream *dst)
{
    if (src == dst) {
        return;
    }
    memcpy(dst, src, sizeof *dst);
    src->release = NULL;
}

/* ---- binary metadata ---- */

static int32_t rd_i32(const char *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Byte size of an encoded metadata map (0 for NULL). */
static size_t metadata_size(const char *m)
{
    if (!m) {
        return 0;
    }
    int32_t n = rd_i32(m);
    size_t pos = 4;
    for (int32_t i = 0; i < n; i++) {
        int32_t kl = rd_i32(m + pos);
        pos += 4 + (size_t)kl;
        int32_t vl = rd_i32(m + pos);
        pos += 4 + (size_t)vl;
    }
    return pos;
}

const char *pd_arrow_metadata_get(const char *metadata, const char *key, size_t *len)
{
    if (!metadata || !key) {
        return NULL;
    }
    size_t klen = strlen(key);
    int32_t n = rd_i32(metadata);
    size_t pos = 4;
    for (int32_t i = 0; i < n; i++) {
        int32_t kl = rd_i32(metadata + pos);
        const char *k = metadata + pos + 4;
        pos += 4 + (size_t)kl;
        int32_t vl = rd_i32(metadata + pos);
        const char *v = metadata + pos + 4;
        pos += 4 + (size_t)vl;
        if ((size_t)kl == klen && memcmp(k, key, klen) == 0) {
            if (len) {
                *len = (size_t)vl;
            }
            return v;
        }
    }
    return NULL;
}

int64_t pd_arrow_metadata_count(const char *metadata)
{
    return metadata ? rd_i32(metadata) : 0;
}

/* ---- schema nodes ---- */

typedef struct pdi_schema_priv {
    char *format;
    char *name;
    char *metadata;
    struct ArrowSchema **child_ptrs;
    struct ArrowSchema *child_nodes;
    struct ArrowSchema *dict_node;
} pdi_schema_priv;

static void schema_release_cb(struct ArrowSchema *s)
{
    pdi_schema_priv *p = s->private_data;
    for (int64_t i = 0; i < s->n_children; i++) {
        pd_arrow_schema_release(s->children[i]);
    }
    if (s->dictionary) {
        pd_arrow_schema_release(s->dictionary);
    }
    if (p) {
        free(p->format);
        free(p->name);
        free(p->metadata);
        free(p->child_ptrs);
        free(p->child_nodes);
        free(p->dict_node);
        free(p);
    }
    s->release = NULL;
    s->private_data = NULL;
}

static char *dup_str(const char *s)
{
    if (!s) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) {
        memcpy(d, s, n);
    }
    return d;
}

int pd_arrow_schema_init(
    struct ArrowSchema *s, const char *format, const char *name, int64_t flags, int64_t n_children)
{
    if (!s || !format || n_children < 0) {
        return pd_set_error(PD_ERR_INVALID, "arrow: bad arguments to pd_arrow_schema_init");
    }
    memset(s, 0, sizeof *s);
    pdi_schema_priv *p = calloc(1, sizeof *p);
    if (!p) {
        return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for schema '%s'", name ? name : "");
    }
    p->format = dup_str(format);
    p->name = dup_str(name);
    if (n_children > 0) {
        p->child_ptrs = calloc((size_t)n_children, sizeof *p->child_ptrs);
        p->child_nodes = calloc((size_t)n_children, sizeof *p->child_nodes);
    }
    if (!p->format || (name && !p->name) ||
        (n_children > 0 && (!p->child_ptrs || !p->child_nodes))) {
        free(p->format);
        free(p->name);
        free(p->child_ptrs);
        free(p->child_nodes);
        free(p);
        return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for schema '%s'", name ? name : "");
    }
    for (int64_t i = 0; i < n_children; i++) {
        p->child_ptrs[i] = &p->child_nodes[i];
    }
    s->format = p->format;
    s->name = p->name;
    s->metadata = NULL;
    s->flags = flags;
    s->n_children = n_children;
    s->children = p->child_ptrs;
    s->dictionary = NULL;
    s->release = schema_release_cb;
    s->private_data = p;
    return PD_OK;
}

static int set_metadata_raw(struct ArrowSchema *s, const char *raw)
{
    if (s->release != schema_release_cb) {
        return pd_set_error(PD_ERR_INVALID,
                            "arrow: metadata can only be set on schemas made by pipedag");
    }
    pdi_schema_priv *p = s->private_data;
    char *copy = NULL;
    if (raw) {
        size_t n = metadata_size(raw);
        copy = malloc(n);
        if (!copy) {
            return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for metadata");
        }
        memcpy(copy, raw, n);
    }
    free(p->metadata);
    p->metadata = copy;
    s->metadata = copy;
    return PD_OK;
}

int pd_arrow_schema_set_metadata(struct ArrowSchema *s,
                                 const char *const *keys,
                                 const char *const *values,
                                 size_t n)
{
    if (!s || (n > 0 && (!keys || !values))) {
        return pd_set_error(PD_ERR_INVALID, "arrow: bad arguments to set_metadata");
    }
    if (n == 0) {
        return set_metadata_raw(s, NULL);
    }
    size_t total = 4;
    for (size_t i = 0; i < n; i++) {
        total += 8 + strlen(keys[i]) + strlen(values[i]);
    }
    if (total > INT32_MAX) {
        return pd_set_error(PD_ERR_INVALID, "arrow: metadata too large");
    }
    char *buf = malloc(total);
    if (!buf) {
        return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for metadata");
    }
    int32_t cnt = (int32_t)n;
    memcpy(buf, &cnt, 4);
    size_t pos = 4;
    for (size_t i = 0; i < n; i++) {
        int32_t kl = (int32_t)strlen(keys[i]);
        int32_t vl = (int32_t)strlen(values[i]);
        memcpy(buf + pos, &kl, 4);
        memcpy(buf + pos + 4, keys[i], (size_t)kl);
        pos += 4 + (size_t)kl;
        memcpy(buf + pos, &vl, 4);
        memcpy(buf + pos + 4, values[i], (size_t)vl);
        pos += 4 + (size_t)vl;
    }
    int rc = set_metadata_raw(s, buf);
    free(buf);
    return rc;
}

struct ArrowSchema *pd_arrow_schema_alloc_dictionary(struct ArrowSchema *s)
{
    if (!s || s->release != schema_release_cb) {
        pd_set_error(PD_ERR_INVALID, "arrow: dictionary on a foreign schema node");
        return NULL;
    }
    pdi_schema_priv *p = s->private_data;
    if (!p->dict_node) {
        p->dict_node = calloc(1, sizeof *p->dict_node);
        if (!p->dict_node) {
            pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for dictionary schema");
            return NULL;
        }
    }
    s->dictionary = p->dict_node;
    return p->dict_node;
}

int pd_arrow_schema_copy(const struct ArrowSchema *src, struct ArrowSchema *dst)
{
    if (!src || !dst || !src->release) {
        return pd_set_error(PD_ERR_INVALID, "arrow: cannot copy a released schema");
    }
    int rc = pd_arrow_schema_init(dst, src->format, src->name, src->flags, src->n_children);
    if (rc != PD_OK) {
        return rc;
    }
    if (src->metadata && (rc = set_metadata_raw(dst, src->metadata)) != PD_OK) {
        goto fail;
    }
    for (int64_t i = 0; i < src->n_children; i++) {
        if ((rc = pd_arrow_schema_copy(src->children[i], dst->children[i])) != PD_OK) {
            goto fail;
        }
    }
    if (src->dictionary) {
        struct ArrowSchema *d = pd_arrow_schema_alloc_dictionary(dst);
        if (!d) {
            rc = PD_ERR_NOMEM;
            goto fail;
        }
        if ((rc = pd_arrow_schema_copy(src->dictionary, d)) != PD_OK) {
            dst->dictionary = NULL;
            goto fail;
        }
    }
    return PD_OK;
fail:
    pd_arrow_schema_release(dst);
    return rc;
}

/* ---- array nodes ---- */

typedef struct pdi_array_priv {
    void **owned;             /* n_buffers owned buffer pointers */
    const void **buffer_ptrs; /* what a->buffers points to */
    struct ArrowArray **child_ptrs;
    struct ArrowArray *child_nodes;
    struct ArrowArray *dict_node;
} pdi_array_priv;

static void array_release_cb(struct ArrowArray *a)
{
    pdi_array_priv *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        pd_arrow_array_release(a->children[i]);
    }
    if (a->dictionary) {
        pd_arrow_array_release(a->dictionary);
    }
    if (p) {
        for (int64_t i = 0; i < a->n_buffers; i++) {
            free(p->owned[i]);
        }
        free(p->owned);
        free(p->buffer_ptrs);
        free(p->child_ptrs);
        free(p->child_nodes);
        free(p->dict_node);
        free(p);
    }
    a->release = NULL;
    a->private_data = NULL;
}

int pd_arrow_array_init(struct ArrowArray *a, int64_t n_buffers, int64_t n_children)
{
    if (!a || n_buffers < 0 || n_children < 0) {
        return pd_set_error(PD_ERR_INVALID, "arrow: bad arguments to pd_arrow_array_init");
    }
    memset(a, 0, sizeof *a);
    pdi_array_priv *p = calloc(1, sizeof *p);
    if (!p) {
        return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for array");
    }
    size_t nb = (size_t)(n_buffers > 0 ? n_buffers : 1);
    p->owned = calloc(nb, sizeof *p->owned);
    p->buffer_ptrs = calloc(nb, sizeof *p->buffer_ptrs);
    if (n_children > 0) {
        p->child_ptrs = calloc((size_t)n_children, sizeof *p->child_ptrs);
        p->child_nodes = calloc((size_t)n_children, sizeof *p->child_nodes);
    }
    if (!p->owned || !p->buffer_ptrs || (n_children > 0 && (!p->child_ptrs || !p->child_nodes))) {
        free(p->owned);
        free(p->buffer_ptrs);
        free(p->child_ptrs);
        free(p->child_nodes);
        free(p);
        return pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for array");
    }
    for (int64_t i = 0; i < n_children; i++) {
        p->child_ptrs[i] = &p->child_nodes[i];
    }
    a->n_buffers = n_buffers;
    a->n_children = n_children;
    a->buffers = p->buffer_ptrs;
    a->children = p->child_ptrs;
    a->release = array_release_cb;
    a->private_data = p;
    return PD_OK;
}

void pd_arrow_array_set_buffer(struct ArrowArray *a, int64_t i, void *owned_buffer)
{
    if (!a || a->release != array_release_cb || i < 0 || i >= a->n_buffers) {
        free(owned_buffer);
        return;
    }
    pdi_array_priv *p = a->private_data;
    if (p->owned[i] != owned_buffer) {
        free(p->owned[i]);
    }
    p->owned[i] = owned_buffer;
    p->buffer_ptrs[i] = owned_buffer;
}

struct ArrowArray *pd_arrow_array_alloc_dictionary(struct ArrowArray *a)
{
    if (!a || a->release != array_release_cb) {
        pd_set_error(PD_ERR_INVALID, "arrow: dictionary on a foreign array node");
        return NULL;
    }
    pdi_array_priv *p = a->private_data;
    if (!p->dict_node) {
        p->dict_node = calloc(1, sizeof *p->dict_node);
        if (!p->dict_node) {
            pd_set_error(PD_ERR_NOMEM, "arrow: out of memory for dictionary array");
            return NULL;
        }
    }
    a->dictionary = p->dict_node;
    return p->dict_node;
}
