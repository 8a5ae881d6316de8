/*
 * arrow/json.c - JSON rendering of Arrow values and schemas (nested types
 * included), used by `parquet cat --format jsonl`, the interop tests and
 * debugging. Scalars follow pd_arrow_get_text; see arrow.h for the mapping.
 */
#include "arrow_int.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static int value_json(
    pd_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, int depth);

static int64_t off_at(const struct ArrowArray *a, bool large, int64_t j)
{
    if (large) {
        return ((const int64_t *)a->buffers[1])[j];
    }
    return ((const int32_t *)a->buffers[1])[j];
}

static int scalar_json(pd_buf *b,
                       const struct ArrowSchema *s,
                       const struct ArrowArray *a,
                       int64_t i,
                       const pdi_format *f)
{
    char small[160];
    switch (f->kind) {
    case PDI_K_BOOL:
    case PDI_K_INT:
    case PDI_K_UINT:
    case PDI_K_DECIMAL: {
        int n = pd_arrow_get_text(s, a, i, small, sizeof small);
        if (n < 0) {
            return n;
        }
        if (f->kind == PDI_K_INT && f->temporal != PDI_T_NONE && f->temporal != PDI_T_DURATION) {
            return pdi_json_escape(b, small, (size_t)n);
        }
        return pdi_buf_append(b, small, (size_t)n);
    }
    case PDI_K_FLOAT: {
        int n = pd_arrow_get_text(s, a, i, small, sizeof small);
        if (n < 0) {
            return n;
        }
        if (small[0] == 'N' || small[0] == 'I' || small[1] == 'I') {
            return pdi_json_escape(b, small, (size_t)n); /* "NaN", "Infinity", "-Infinity" */
        }
        return pdi_buf_append(b, small, (size_t)n);
    }
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN:
    case PDI_K_FIXED_BIN:
    case PDI_K_VIEW: {
        size_t len = 0;
        const uint8_t *p = pd_arrow_get_bytes(s, a, i, &len);
        if (f->is_utf8) {
            return pdi_json_escape(b, (const char *)p, len);
        }
        static const char hex[] = "0123456789abcdef";
        int rc = pdi_buf_putc(b, '"');
        for (size_t k = 0; k < len && rc == 0; k++) {
            char h[2] = {hex[p[k] >> 4], hex[p[k] & 15]};
            rc = pdi_buf_append(b, h, 2);
        }
        return rc ? rc : pdi_buf_putc(b, '"');
    }
    default:
        return pd_set_error(PD_ERR_UNSUPPORTED, "arrow: no JSON form for format '%s'", s->format);
    }
}

static int
value_json(pd_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, int depth)
{
    if (depth > 64) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "arrow: nesting too deep for JSON");
    }
    if (pd_arrow_is_null(a, i)) {
        return pdi_buf_puts(b, "null");
    }
    pdi_format f;
    if (pdi_format_parse(s->format, &f) != PD_OK) {
        return PD_ERR_INVALID;
    }
    if (s->dictionary) {
        /* Render the referenced dictionary value (itself possibly null);
         * the index is read with the dictionary detached from the schema. */
        struct ArrowSchema idx_schema = *s;
        idx_schema.dictionary = NULL;
        int64_t idx = pd_arrow_get_int(&idx_schema, a, i);
        if (!a->dictionary || idx < 0 || idx >= a->dictionary->length) {
            return pd_set_error(PD_ERR_CORRUPT, "arrow: dictionary index %lld out of range",
                                (long long)idx);
        }
        return value_json(b, s->dictionary, a->dictionary, idx, depth + 1);
    }
    int64_t j = a->offset + i;
    int rc = 0;
    switch (f.kind) {
    case PDI_K_NULL: return pdi_buf_puts(b, "null");
    case PDI_K_LIST:
    case PDI_K_LARGE_LIST:
    case PDI_K_FIXED_LIST:
    case PDI_K_MAP: {
        int64_t start, end;
        if (f.kind == PDI_K_FIXED_LIST) {
            start = j * f.fixed_size;
            end = start + f.fixed_size;
        } else {
            bool large = f.kind == PDI_K_LARGE_LIST;
            start = off_at(a, large, j);
            end = off_at(a, large, j + 1);
        }
        const struct ArrowSchema *cs = s->children[0];
        const struct ArrowArray *ca = a->children[0];
        rc = pdi_buf_putc(b, '[');
        for (int64_t k = start; k < end && rc == 0; k++) {
            if (k > start) {
                rc = pdi_buf_putc(b, ',');
            }
            if (rc == 0 && f.kind == PDI_K_MAP) {
                /* entries struct (key, value) -> [key, value] */
                if (cs->n_children != 2 || ca->n_children != 2) {
                    return pd_set_error(PD_ERR_INVALID, "arrow: map entries need 2 children");
                }
                int64_t e = ca->offset + k;
                rc = pdi_buf_putc(b, '[');
                if (rc == 0) {
                    rc = value_json(b, cs->children[0], ca->children[0], e, depth + 1);
                }
                if (rc == 0) {
                    rc = pdi_buf_putc(b, ',');
                }
                if (rc == 0) {
                    rc = value_json(b, cs->children[1], ca->children[1], e, depth + 1);
                }
                if (rc == 0) {
                    rc = pdi_buf_putc(b, ']');
                }
            } else if (rc == 0) {
                rc = value_json(b, cs, ca, k, depth + 1);
            }
        }
        return rc ? rc : pdi_buf_putc(b, ']');
    }
    case PDI_K_STRUCT:
        rc = pdi_buf_putc(b, '{');
        for (int64_t c = 0; c < s->n_children && rc == 0; c++) {
            const char *name = s->children[c]->name ? s->children[c]->name : "";
            if (c) {
                rc = pdi_buf_putc(b, ',');
            }
            if (rc == 0) {
                rc = pdi_json_escape(b, name, strlen(name));
            }
            if (rc == 0) {
                rc = pdi_buf_putc(b, ':');
            }
            if (rc == 0) {
                rc = value_json(b, s->children[c], a->children[c], j, depth + 1);
            }
        }
        return rc ? rc : pdi_buf_putc(b, '}');
    default: return scalar_json(b, s, a, i, &f);
    }
}

char *pd_arrow_value_to_json(const struct ArrowSchema *s,
                             const struct ArrowArray *a,
                             int64_t i,
                             size_t *len)
{
    if (!s || !a || i < 0 || i >= a->length) {
        pd_set_error(PD_ERR_INVALID, "arrow: value_to_json: bad arguments");
        return NULL;
    }
    pd_buf b = PD_BUF_INIT;
    int rc = value_json(&b, s, a, i, 0);
    if (rc == 0 && b.oom) {
        rc = pd_set_error(PD_ERR_NOMEM, "arrow: out of memory rendering JSON");
    }
    if (rc != 0) {
        pdi_buf_free(&b);
        return NULL;
    }
    if (len) {
        *len = b.len;
    }
    char *out = pdi_buf_detach(&b);
    if (!out) {
        pd_set_error(PD_ERR_NOMEM, "arrow: out of memory rendering JSON");
    }
    return out;
}

static int schema_json(pd_buf *b, const struct ArrowSchema *s, int depth)
{
    if (depth > 64) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "arrow: schema nesting too deep");
    }
    /* Dictionary-encoded fields are described by their value type. */
    const struct ArrowSchema *t = s->dictionary ? s->dictionary : s;
    const char *name = s->name ? s->name : "";
    int rc = pdi_buf_puts(b, "{\"name\":");
    if (rc == 0) {
        rc = pdi_json_escape(b, name, strlen(name));
    }
    if (rc == 0) {
        rc = pdi_buf_puts(b, ",\"format\":");
    }
    if (rc == 0) {
        rc = pdi_json_escape(b, t->format, strlen(t->format));
    }
    if (rc == 0) {
        rc = pdi_buf_printf(b, ",\"nullable\":%s",
                            (s->flags & ARROW_FLAG_NULLABLE) ? "true" : "false");
    }
    if (rc == 0 && t->n_children > 0) {
        rc = pdi_buf_puts(b, ",\"children\":[");
        for (int64_t c = 0; c < t->n_children && rc == 0; c++) {
            if (c) {
                rc = pdi_buf_putc(b, ',');
            }
            if (rc == 0) {
                rc = schema_json(b, t->children[c], depth + 1);
            }
        }
        if (rc == 0) {
            rc = pdi_buf_putc(b, ']');
        }
    }
    return rc ? rc : pdi_buf_putc(b, '}');
}

char *pd_arrow_schema_to_json(const struct ArrowSchema *s)
{
    if (!s || !s->release) {
        pd_set_error(PD_ERR_INVALID, "arrow: schema_to_json: released schema");
        return NULL;
    }
    pd_buf b = PD_BUF_INIT;
    int rc = schema_json(&b, s, 0);
    if (rc != 0 || b.oom) {
        pdi_buf_free(&b);
        if (rc == 0) {
            pd_set_error(PD_ERR_NOMEM, "arrow: out of memory rendering JSON");
        }
        return NULL;
    }
    char *out = pdi_buf_detach(&b);
    if (!out) {
        pd_set_error(PD_ERR_NOMEM, "arrow: out of memory rendering JSON");
    }
    return out;
}
