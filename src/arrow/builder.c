/*
 * arrow/builder.c - row-by-row builder of flat Arrow tables (one struct batch
 * whose children are the columns). Used for bulk loads from SQL result sets
 * and CSV, so appends are O(1) amortised: each column keeps growable value,
 * offset and validity buffers (doubling), and finish() hands those buffers to
 * the emitted arrays without copying. Values may be given as integers,
 * doubles, booleans or text; text is parsed for numeric, decimal and
 * temporal columns.
 */
#include "arrow_int.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct pdi_col {
    char *name;
    char *format;
    pdi_format f;
    int nullable;
    int width; /* bytes per value for fixed-width columns, 0 for bool / var */
    bool var;  /* offsets + data */
    bool large;
    int64_t len;
    int64_t null_count;
    uint8_t *validity; /* NULL until the first null */
    size_t validity_cap;
    uint8_t *values; /* fixed-width values, bool bits or offsets */
    size_t values_cap;
    uint8_t *data; /* var-length bytes */
    size_t data_cap;
    size_t data_len;
} pdi_col;

struct pd_arrow_builder {
    pdi_col *cols;
    size_t ncols;
    size_t cap;
};

int pd_arrow_builder_new(pd_arrow_builder **out)
{
    if (!out) {
        return pd_set_error(PD_ERR_INVALID, "arrow builder: NULL out pointer");
    }
    *out = calloc(1, sizeof **out);
    if (!*out) {
        return pd_set_error(PD_ERR_NOMEM, "arrow builder: out of memory");
    }
    return PD_OK;
}

static void col_free_buffers(pdi_col *c)
{
    free(c->validity);
    free(c->values);
    free(c->data);
    c->validity = c->values = c->data = NULL;
    c->validity_cap = c->values_cap = c->data_cap = c->data_len = 0;
    c->len = c->null_count = 0;
}

void pd_arrow_builder_free(pd_arrow_builder *b)
{
    if (!b) {
        return;
    }
    for (size_t i = 0; i < b->ncols; i++) {
        col_free_buffers(&b->cols[i]);
        free(b->cols[i].name);
        free(b->cols[i].format);
    }
    free(b->cols);
    free(b);
}

int pd_arrow_builder_add_column(pd_arrow_builder *b,
                                const char *name,
                                const char *format,
                                int nullable)
{
    if (!b || !name || !format) {
        return pd_set_error(PD_ERR_INVALID, "arrow builder: NULL argument");
    }
    for (size_t i = 0; i < b->ncols; i++) {
        if (b->cols[i].len > 0) {
            return pd_set_error(PD_ERR_INVALID,
                                "arrow builder: column '%s' added after rows were appended", name);
        }
    }
    pdi_format f;
    if (pdi_format_parse(format, &f) != PD_OK) {
        return pd_error_prefix("arrow builder: column '%s'", name);
    }
    int width = 0;
    bool var = false, large = false;
    switch (f.kind) {
    case PDI_K_BOOL: break;
    case PDI_K_INT:
    case PDI_K_UINT: width = f.bit_width / 8; break;
    case PDI_K_FLOAT:
        if (f.bit_width == 16) {
            return pd_set_error(PD_ERR_UNSUPPORTED,
                                "arrow builder: column '%s': float16 is not supported", name);
        }
        width = f.bit_width / 8;
        break;
    case PDI_K_DECIMAL:
        if (f.bit_width != 128 || f.precision > 38) {
            return pd_set_error(PD_ERR_UNSUPPORTED,
                                "arrow builder: column '%s': only decimal128 (precision <= 38) "
                                "is supported, got '%s'",
                                name, format);
        }
        width = 16;
        break;
    case PDI_K_FIXED_BIN:
        if (f.fixed_size <= 0 || f.fixed_size > (1 << 20)) {
            return pd_set_error(PD_ERR_UNSUPPORTED, "arrow builder: column '%s': bad width '%s'",
                                name, format);
        }
        width = (int)f.fixed_size;
        break;
    case PDI_K_BIN: var = true; break;
    case PDI_K_LARGE_BIN:
        var = true;
        large = true;
        break;
    default:
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "arrow builder: column '%s': format '%s' is not a flat type", name,
                            format);
    }
    pdi_col *cols = pdi_grow(b->cols, &b->cap, b->ncols, sizeof *cols, 8);
    if (!cols) {
        return pd_set_error(PD_ERR_NOMEM, "arrow builder: out of memory");
    }
    b->cols = cols;
    pdi_col *c = &b->cols[b->ncols];
    memset(c, 0, sizeof *c);
    size_t nl = strlen(name) + 1, fl = strlen(format) + 1;
    c->name = malloc(nl);
    c->format = malloc(fl);
    if (!c->name || !c->format) {
        free(c->name);
        free(c->format);
        return pd_set_error(PD_ERR_NOMEM, "arrow builder: out of memory");
    }
    memcpy(c->name, name, nl);
    memcpy(c->format, format, fl);
    pdi_format_parse(c->format, &c->f); /* re-parse so f.tz points into our copy */
    c->nullable = nullable;
    c->width = width;
    c->var = var;
    c->large = large;
    b->ncols++;
    return PD_OK;
}

size_t pd_arrow_builder_num_columns(const pd_arrow_builder *b)
{
    return b ? b->ncols : 0;
}

const char *pd_arrow_builder_column_format(const pd_arrow_builder *b, size_t col)
{
    return (b && col < b->ncols) ? b->cols[col].format : NULL;
}

int64_t pd_arrow_builder_num_rows(const pd_arrow_builder *b)
{
    if (!b || b->ncols == 0) {
        return 0;
    }
    int64_t n = b->cols[0].len;
    for (size_t i = 1; i < b->ncols; i++) {
        if (b->cols[i].len < n) {
            n = b->cols[i].len;
        }
    }
    return n;
}

/* ---- growth ---- */

/* Make *buf hold at least `need` bytes; new bytes are zeroed if `zero`. */
static int grow(uint8_t **buf, size_t *cap, size_t need, bool zero)
{
    if (need <= *cap) {
        return 0;
    }
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) {
            return -1;
        }
        nc *= 2;
    }
    uint8_t *n = realloc(*buf, nc);
    if (!n) {
        return -1;
    }
    if (zero) {
        memset(n + *cap, 0, nc - *cap);
    }
    *buf = n;
    *cap = nc;
    return 0;
}

static int oom(const pdi_col *c)
{
    return pd_set_error(PD_ERR_NOMEM, "arrow builder: out of memory in column '%s' at row %lld",
                        c->name, (long long)c->len);
}

static pdi_col *get_col(pd_arrow_builder *b, size_t col)
{
    if (!b || col >= b->ncols) {
        pd_set_error(PD_ERR_INVALID, "arrow builder: column index %zu out of range", col);
        return NULL;
    }
    return &b->cols[col];
}

/* Mark the value about to be appended (index c->len) valid in the bitmap, if
 * one exists, and make room for it. */
static inline int mark_valid(pdi_col *c)
{
    if (c->validity) {
        size_t need = (size_t)(c->len >> 3) + 1;
        if (need > c->validity_cap && grow(&c->validity, &c->validity_cap, need, true)) {
            return oom(c);
        }
        c->validity[c->len >> 3] |= (uint8_t)(1u << (c->len & 7));
    }
    return 0;
}

/* Offsets buffer must always hold len+1 entries; entry 0 is 0. */
static int ensure_offsets(pdi_col *c)
{
    size_t w = c->large ? 8 : 4;
    size_t need = ((size_t)c->len + 2) * w;
    if (need > c->values_cap) {
        bool fresh = c->values == NULL;
        if (grow(&c->values, &c->values_cap, need, false)) {
            return oom(c);
        }
        if (fresh) {
            memset(c->values, 0, w);
        }
    }
    return 0;
}

static inline void set_offset(pdi_col *c, int64_t idx, size_t v)
{
    if (c->large) {
        ((int64_t *)(void *)c->values)[idx] = (int64_t)v;
    } else {
        ((int32_t *)(void *)c->values)[idx] = (int32_t)v;
    }
}

static int push_var(pdi_col *c, const void *data, size_t len)
{
    if (ensure_offsets(c)) {
        return PD_ERR_NOMEM;
    }
    size_t limit = c->large ? (size_t)INT64_MAX : (size_t)INT32_MAX;
    if (len > limit - c->data_len) {
        return pd_set_error(PD_ERR_INVALID,
                            "arrow builder: column '%s' exceeds 2 GiB of data in one batch "
                            "(use a large type, 'U' or 'Z', or finish batches earlier)",
                            c->name);
    }
    if (len) {
        if (grow(&c->data, &c->data_cap, c->data_len + len, false)) {
            return oom(c);
        }
        memcpy(c->data + c->data_len, data, len);
        c->data_len += len;
    }
    if (mark_valid(c)) {
        return PD_ERR_NOMEM;
    }
    set_offset(c, c->len + 1, c->data_len);
    c->len++;
    return PD_OK;
}

/* Append a fixed-width value of c->width bytes. */
static inline int push_fixed(pdi_col *c, const void *v)
{
    size_t need = ((size_t)c->len + 1) * (size_t)c->width;
    if (need > c->values_cap && grow(&c->values, &c->values_cap, need, false)) {
        return oom(c);
    }
    if (mark_valid(c)) {
        return PD_ERR_NOMEM;
    }
    memcpy(c->values + (size_t)c->len * (size_t)c->width, v, (size_t)c->width);
    c->len++;
    return PD_OK;
}

/* Append a floating-point value: `f32` to a float column, else `f64` (the
 * caller converts its value to both, each conversion rounding once). */
static int push_float(pdi_col *c, float f32, double f64)
{
    return c->width == 4 ? push_fixed(c, &f32) : push_fixed(c, &f64);
}

static int push_bool(pdi_col *c, int v)
{
    size_t need = (size_t)(c->len >> 3) + 1;
    if (need > c->values_cap && grow(&c->values, &c->values_cap, need, true)) {
        return oom(c);
    }
    if (mark_valid(c)) {
        return PD_ERR_NOMEM;
    }
    if (v) {
        c->values[c->len >> 3] |= (uint8_t)(1u << (c->len & 7));
    }
    c->len++;
    return PD_OK;
}

int pd_arrow_builder_append_null(pd_arrow_builder *b, size_t col)
{
    pdi_col *c = get_col(b, col);
    if (!c) {
        return PD_ERR_INVALID;
    }
    if (!c->nullable) {
        return pd_set_error(PD_ERR_INVALID,
                            "arrow builder: NULL in non-nullable column '%s' at row %lld", c->name,
                            (long long)c->len);
    }
    if (!c->validity) {
        /* First null: materialise the bitmap with all earlier rows valid. */
        size_t need = (size_t)(c->len >> 3) + 1;
        if (grow(&c->validity, &c->validity_cap, need, true)) {
            return oom(c);
        }
        size_t full = (size_t)(c->len >> 3);
        memset(c->validity, 0xff, full);
        for (int64_t i = (int64_t)full * 8; i < c->len; i++) {
            c->validity[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
    } else {
        size_t need = (size_t)(c->len >> 3) + 1;
        if (need > c->validity_cap && grow(&c->validity, &c->validity_cap, need, true)) {
            return oom(c);
        }
    }
    /* The bit for this row is already 0 (bitmaps grow zero-filled). */
    int rc;
    if (c->var) {
        if (ensure_offsets(c)) {
            return PD_ERR_NOMEM;
        }
        set_offset(c, c->len + 1, c->data_len);
        c->len++;
        rc = PD_OK;
    } else if (c->f.kind == PDI_K_BOOL) {
        size_t need = (size_t)(c->len >> 3) + 1;
        if (need > c->values_cap && grow(&c->values, &c->values_cap, need, true)) {
            return oom(c);
        }
        c->len++;
        rc = PD_OK;
    } else {
        size_t need = ((size_t)c->len + 1) * (size_t)c->width;
        if (need > c->values_cap && grow(&c->values, &c->values_cap, need, false)) {
            return oom(c);
        }
        memset(c->values + (size_t)c->len * (size_t)c->width, 0, (size_t)c->width);
        c->len++;
        rc = PD_OK;
    }
    c->null_count++;
    return rc;
}

/* ---- typed appends ---- */

static int range_err(const pdi_col *c, const char *what)
{
    return pd_set_error(PD_ERR_INVALID,
                        "arrow builder: value %s out of range for column '%s' (%s) at row %lld",
                        what, c->name, c->format, (long long)c->len);
}

/* An integer into an INT/UINT column of width 1, 2, 4 or 8 bytes, range-checked. */
static int store_int(pdi_col *c, int64_t v)
{
    bool u = c->f.kind == PDI_K_UINT;
    int64_t lo = u ? 0 : INT64_MIN, hi = INT64_MAX;
    if (c->width < 8) {
        int64_t span = (int64_t)1 << (8 * c->width); /* 2^bits */
        lo = u ? 0 : -span / 2;
        hi = u ? span - 1 : span / 2 - 1;
    }
    if (v < lo || v > hi) {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)v);
        return range_err(c, t);
    }
    switch (c->width) {
    case 1: {
        uint8_t x = (uint8_t)v;
        return push_fixed(c, &x);
    }
    case 2: {
        uint16_t x = (uint16_t)v;
        return push_fixed(c, &x);
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        return push_fixed(c, &x);
    }
    default: return push_fixed(c, &v);
    }
}

static int store_decimal(pdi_col *c, pdi_i128 v)
{
    return push_fixed(c, &v);
}

static int store_text_of(pdi_col *c, const char *s)
{
    return push_var(c, s, strlen(s));
}

static void shortest_double(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) {
            return;
        }
    }
}

static int type_err(const pdi_col *c, const char *what)
{
    return pd_set_error(PD_ERR_INVALID,
                        "arrow builder: cannot append %s to column '%s' (%s) at row %lld", what,
                        c->name, c->format, (long long)c->len);
}

int pd_arrow_builder_append_int(pd_arrow_builder *b, size_t col, int64_t v)
{
    pdi_col *c = get_col(b, col);
    if (!c) {
        return PD_ERR_INVALID;
    }
    switch (c->f.kind) {
    case PDI_K_INT:
    case PDI_K_UINT: return store_int(c, v);
    case PDI_K_BOOL: return push_bool(c, v != 0);
    case PDI_K_FLOAT: return push_float(c, (float)v, (double)v);
    case PDI_K_DECIMAL:
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN: {
        char t[32];
        int n = snprintf(t, sizeof t, "%lld", (long long)v);
        return c->f.kind == PDI_K_DECIMAL ? pd_arrow_builder_append_bytes(b, col, t, (size_t)n)
                                          : push_var(c, t, (size_t)n);
    }
    default: return type_err(c, "an integer");
    }
}

int pd_arrow_builder_append_uint(pd_arrow_builder *b, size_t col, uint64_t v)
{
    pdi_col *c = get_col(b, col);
    if (!c) {
        return PD_ERR_INVALID;
    }
    if (c->f.kind == PDI_K_UINT && c->width == 8) {
        return push_fixed(c, &v);
    }
    if (v <= (uint64_t)INT64_MAX) {
        return pd_arrow_builder_append_int(b, col, (int64_t)v);
    }
    char t[32];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    switch (c->f.kind) {
    case PDI_K_FLOAT: return push_float(c, (float)v, (double)v);
    case PDI_K_DECIMAL:
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN: return pd_arrow_builder_append_bytes(b, col, t, (size_t)n);
    case PDI_K_BOOL: return push_bool(c, 1);
    default: return range_err(c, t);
    }
}

int pd_arrow_builder_append_double(pd_arrow_builder *b, size_t col, double v)
{
    pdi_col *c = get_col(b, col);
    if (!c) {
        return PD_ERR_INVALID;
    }
    char t[40];
    switch (c->f.kind) {
    case PDI_K_FLOAT: return push_float(c, (float)v, v);
    case PDI_K_INT:
    case PDI_K_UINT:
        if (v == floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0) {
            return store_int(c, (int64_t)v);
        }
        if (c->f.kind == PDI_K_UINT && v == floor(v) && v >= 0 && v < 18446744073709551616.0) {
            return pd_arrow_builder_append_uint(b, col, (uint64_t)v);
        }
        shortest_double(v, t, sizeof t);
        return range_err(c, t);
    case PDI_K_BOOL: return push_bool(c, v != 0);
    case PDI_K_DECIMAL:
        if (!isfinite(v)) {
            return type_err(c, "a non-finite number");
        }
        shortest_double(v, t, sizeof t);
        return pd_arrow_builder_append_bytes(b, col, t, strlen(t));
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN: shortest_double(v, t, sizeof t); return store_text_of(c, t);
    default: return type_err(c, "a floating-point number");
    }
}

int pd_arrow_builder_append_bool(pd_arrow_builder *b, size_t col, int v)
{
    pdi_col *c = get_col(b, col);
    if (!c) {
        return PD_ERR_INVALID;
    }
    switch (c->f.kind) {
    case PDI_K_BOOL: return push_bool(c, v != 0);
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN: return store_text_of(c, v ? "true" : "false");
    case PDI_K_INT:
    case PDI_K_UINT:
    case PDI_K_FLOAT:
    case PDI_K_DECIMAL: return pd_arrow_builder_append_int(b, col, v != 0);
    default: return type_err(c, "a boolean");
    }
}

static bool text_ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Copy the `len` bytes of s into t[cap] as a C string; false if too long. */
static bool text_to_cstr(char *t, size_t cap, const char *s, size_t len)
{
    if (len >= cap) {
        return false;
    }
    memcpy(t, s, len);
    t[len] = '\0';
    return true;
}

/* A strto* call on t that stopped at e read a number followed by nothing
 * but spaces. */
static bool parsed_to_end(const char *t, const char *e)
{
    while (e && *e == ' ') {
        e++;
    }
    return e && e != t && !*e;
}

static int parse_err(const pdi_col *c, const char *s, size_t n)
{
    int shown = n > 60 ? 60 : (int)n;
    return pd_set_error(PD_ERR_INVALID,
                        "arrow builder: cannot parse '%.*s%s' as %s for column '%s' at row %lld",
                        shown, s, n > 60 ? "..." : "", c->format, c->name, (long long)c->len);
}

int pd_arrow_builder_append_bytes(pd_arrow_builder *b, size_t col, const void *data, size_t len)
{
    pdi_col *c = get_col(b, col);
    if (!c) {
        return PD_ERR_INVALID;
    }
    if (!data && len) {
        return pd_set_error(PD_ERR_INVALID, "arrow builder: NULL data for column '%s'", c->name);
    }
    const char *s = data;
    switch (c->f.kind) {
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN: return push_var(c, data, len);
    case PDI_K_FIXED_BIN:
        if ((int64_t)len != c->f.fixed_size) {
            return pd_set_error(PD_ERR_INVALID,
                                "arrow builder: column '%s' (%s) needs %lld bytes, got %zu at "
                                "row %lld",
                                c->name, c->format, (long long)c->f.fixed_size, len,
                                (long long)c->len);
        }
        return push_fixed(c, data);
    case PDI_K_DECIMAL: {
        pdi_i128 v;
        int r = pdi_decimal_parse(s, len, c->f.precision, c->f.scale, &v);
        if (r == -2) {
            int shown = len > 60 ? 60 : (int)len;
            return pd_set_error(PD_ERR_INVALID,
                                "arrow builder: value '%.*s' does not fit %s in column '%s' at "
                                "row %lld",
                                shown, s, c->format, c->name, (long long)c->len);
        }
        if (r) {
            return parse_err(c, s, len);
        }
        return store_decimal(c, v);
    }
    case PDI_K_BOOL: {
        size_t i = 0, n = len;
        while (i < n && s[i] == ' ') {
            i++;
        }
        while (n > i && s[n - 1] == ' ') {
            n--;
        }
        const char *t = s + i;
        size_t tl = n - i;
        if (text_ieq(t, tl, "true") || text_ieq(t, tl, "t") || text_ieq(t, tl, "1") ||
            text_ieq(t, tl, "yes") || text_ieq(t, tl, "y") || text_ieq(t, tl, "on")) {
            return push_bool(c, 1);
        }
        if (text_ieq(t, tl, "false") || text_ieq(t, tl, "f") || text_ieq(t, tl, "0") ||
            text_ieq(t, tl, "no") || text_ieq(t, tl, "n") || text_ieq(t, tl, "off")) {
            return push_bool(c, 0);
        }
        return parse_err(c, s, len);
    }
    case PDI_K_INT:
    case PDI_K_UINT: {
        int64_t v;
        switch (c->f.temporal) {
        case PDI_T_DATE32:
            if (pdi_parse_date(s, len, &v)) {
                return parse_err(c, s, len);
            }
            return store_int(c, v);
        case PDI_T_DATE64:
            if (pdi_parse_date(s, len, &v)) {
                return parse_err(c, s, len);
            }
            return store_int(c, v * 86400000LL);
        case PDI_T_TIME:
            if (pdi_parse_time(s, len, c->f.unit, &v)) {
                return parse_err(c, s, len);
            }
            return store_int(c, v);
        case PDI_T_TIMESTAMP:
            if (pdi_parse_timestamp(s, len, c->f.unit, &v)) {
                return parse_err(c, s, len);
            }
            return store_int(c, v);
        default: break;
        }
        char t[64];
        if (!text_to_cstr(t, sizeof t, s, len)) {
            return parse_err(c, s, len);
        }
        char *e = NULL;
        if (c->f.kind == PDI_K_UINT && c->width == 8) {
            const char *p = t;
            while (*p == ' ') {
                p++;
            }
            if (*p == '-') {
                return range_err(c, t);
            }
            errno = 0;
            unsigned long long u = strtoull(t, &e, 10);
            if (!parsed_to_end(t, e) || errno) {
                return errno ? range_err(c, t) : parse_err(c, s, len);
            }
            uint64_t x = u;
            return push_fixed(c, &x);
        }
        errno = 0;
        long long x = strtoll(t, &e, 10);
        if (!parsed_to_end(t, e)) {
            /* Accept integral decimals such as "12.0" from some drivers. */
            char *e2 = NULL;
            double d = strtod(t, &e2);
            if (parsed_to_end(t, e2) && d == floor(d) && fabs(d) < 9007199254740992.0) {
                return store_int(c, (int64_t)d);
            }
            return parse_err(c, s, len);
        }
        if (errno) {
            return range_err(c, t);
        }
        return store_int(c, x);
    }
    case PDI_K_FLOAT: {
        char t[400];
        if (!text_to_cstr(t, sizeof t, s, len)) {
            return parse_err(c, s, len);
        }
        char *e = NULL;
        double d = strtod(t, &e);
        if (!parsed_to_end(t, e)) {
            return parse_err(c, s, len);
        }
        return push_float(c, (float)d, d);
    }
    default: return type_err(c, "text");
    }
}

/* ---- finish ---- */

int pd_arrow_builder_finish(pd_arrow_builder *b,
                            struct ArrowSchema *schema_out,
                            struct ArrowArray *array_out)
{
    if (!b || !array_out) {
        return pd_set_error(PD_ERR_INVALID, "arrow builder: NULL argument to finish");
    }
    int64_t rows = b->ncols ? b->cols[0].len : 0;
    for (size_t i = 0; i < b->ncols; i++) {
        if (b->cols[i].len != rows) {
            return pd_set_error(PD_ERR_INVALID,
                                "arrow builder: column '%s' has %lld values but column '%s' has "
                                "%lld (incomplete row)",
                                b->cols[i].name, (long long)b->cols[i].len, b->cols[0].name,
                                (long long)rows);
        }
    }
    /* Make sure every buffer exists (consumers dislike NULL data buffers). */
    for (size_t i = 0; i < b->ncols; i++) {
        pdi_col *c = &b->cols[i];
        if (c->var) {
            if (ensure_offsets(c) || grow(&c->data, &c->data_cap, 1, false)) {
                return oom(c);
            }
        } else if (!c->values && grow(&c->values, &c->values_cap, 1, true)) {
            return oom(c);
        }
    }
    struct ArrowSchema sch;
    sch.release = NULL;
    int rc;
    if (schema_out) {
        rc = pd_arrow_schema_init(&sch, "+s", "", 0, (int64_t)b->ncols);
        if (rc != PD_OK) {
            return rc;
        }
        for (size_t i = 0; i < b->ncols; i++) {
            rc = pd_arrow_schema_init(sch.children[i], b->cols[i].format, b->cols[i].name,
                                      b->cols[i].nullable ? ARROW_FLAG_NULLABLE : 0, 0);
            if (rc != PD_OK) {
                pd_arrow_schema_release(&sch);
                return rc;
            }
        }
    }
    struct ArrowArray arr;
    rc = pd_arrow_array_init(&arr, 1, (int64_t)b->ncols);
    if (rc != PD_OK) {
        pd_arrow_schema_release(&sch);
        return rc;
    }
    for (size_t i = 0; i < b->ncols; i++) {
        pdi_col *c = &b->cols[i];
        struct ArrowArray *ch = arr.children[i];
        rc = pd_arrow_array_init(ch, c->var ? 3 : 2, 0);
        if (rc != PD_OK) {
            pd_arrow_array_release(&arr);
            pd_arrow_schema_release(&sch);
            return rc;
        }
    }
    /* Nothing can fail from here on: hand the buffers over. */
    arr.length = rows;
    arr.null_count = 0;
    for (size_t i = 0; i < b->ncols; i++) {
        pdi_col *c = &b->cols[i];
        struct ArrowArray *ch = arr.children[i];
        ch->length = c->len;
        ch->null_count = c->null_count;
        if (c->null_count > 0) {
            pd_arrow_array_set_buffer(ch, 0, c->validity);
        } else {
            free(c->validity);
        }
        pd_arrow_array_set_buffer(ch, 1, c->values);
        if (c->var) {
            pd_arrow_array_set_buffer(ch, 2, c->data);
        }
        c->validity = c->values = c->data = NULL;
        c->validity_cap = c->values_cap = c->data_cap = c->data_len = 0;
        c->len = c->null_count = 0;
    }
    pd_arrow_array_move(&arr, array_out);
    if (schema_out) {
        pd_arrow_schema_move(&sch, schema_out);
    }
    return PD_OK;
}
