/*
 * arrow/access.c - reading single values out of flat Arrow arrays by format:
 * null checks, integers, doubles, bytes, and a text rendering (ISO dates and
 * times, decimals, shortest round-trip floats) for CSV output, SQL binding
 * and comparisons. Dictionary-encoded arrays are resolved transparently.
 */
#include "arrow_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pd_arrow_is_null(const struct ArrowArray *a, int64_t i)
{
    if (!a || i < 0 || i >= a->length) {
        return 1;
    }
    if (a->n_buffers == 0) {
        /* null type (or run-end encoded, where nulls live in the values) */
        return a->null_count > 0 && a->null_count == a->length;
    }
    if (a->null_count == 0 || !a->buffers || !a->buffers[0]) {
        return 0;
    }
    int64_t j = a->offset + i;
    const uint8_t *v = a->buffers[0];
    return !((v[j >> 3] >> (j & 7)) & 1);
}

/* Value j of a buffer of signed (PDI_K_INT) or unsigned integers of
 * f->bit_width bits; 64-bit unsigned values keep their bits. */
static int64_t load_int(const pdi_format *f, const void *b, int64_t j)
{
    bool u = f->kind == PDI_K_UINT;
    switch (f->bit_width) {
    case 8: return u ? ((const uint8_t *)b)[j] : ((const int8_t *)b)[j];
    case 16: return u ? ((const uint16_t *)b)[j] : ((const int16_t *)b)[j];
    case 32: return u ? (int64_t)((const uint32_t *)b)[j] : (int64_t)((const int32_t *)b)[j];
    default: return ((const int64_t *)b)[j];
    }
}

/* Resolve dictionary encoding: returns the (schema, array, index) that holds
 * the value. */
static void
resolve(const struct ArrowSchema **s, const struct ArrowArray **a, int64_t *i, pdi_format *f)
{
    for (int guard = 0; guard < 4 && (*s)->dictionary && (*a)->dictionary; guard++) {
        if (pdi_format_parse((*s)->format, f) != PD_OK) {
            return;
        }
        int64_t idx = load_int(f, (*a)->buffers[1], (*a)->offset + *i);
        *s = (*s)->dictionary;
        *a = (*a)->dictionary;
        *i = idx;
    }
    if (pdi_format_parse((*s)->format, f) != PD_OK) {
        f->kind = PDI_K_INVALID;
    }
}

static pdi_i128 load_decimal(const pdi_format *f, const void *buf, int64_t j)
{
    switch (f->bit_width) {
    case 32: return ((const int32_t *)buf)[j];
    case 64: return ((const int64_t *)buf)[j];
    case 256: {
        /* low 128 bits of a little-endian 256-bit value */
        pdi_i128 v;
        memcpy(&v, (const uint8_t *)buf + j * 32, 16);
        return v;
    }
    default: {
        pdi_i128 v;
        memcpy(&v, (const uint8_t *)buf + j * 16, 16);
        return v;
    }
    }
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f;
    int m = h & 0x3ff;
    double v;
    if (e == 0) {
        v = ldexp(m, -24);
    } else if (e == 31) {
        v = m ? NAN : INFINITY;
    } else {
        v = ldexp(m + 1024, e - 25);
    }
    return (h & 0x8000) ? -v : v;
}

/* The fixed-width value buffer holding value *i, after dictionary resolution
 * (which moves *s, *a and *i to the dictionary), its format and absolute
 * index *j; NULL if there is none. */
static const void *value_buffer(const struct ArrowSchema **s,
                                const struct ArrowArray **a,
                                int64_t *i,
                                pdi_format *f,
                                int64_t *j)
{
    if (!*s || !*a || *i < 0) {
        return NULL;
    }
    resolve(s, a, i, f);
    *j = (*a)->offset + *i;
    return (*a)->n_buffers > 1 ? (*a)->buffers[1] : NULL;
}

int64_t pd_arrow_get_int(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    pdi_format f;
    int64_t j;
    const void *b = value_buffer(&s, &a, &i, &f, &j);
    if (!b) {
        return 0;
    }
    switch (f.kind) {
    case PDI_K_BOOL: return (((const uint8_t *)b)[j >> 3] >> (j & 7)) & 1;
    case PDI_K_INT:
    case PDI_K_UINT: return load_int(&f, b, j);
    case PDI_K_FLOAT: {
        double d = pd_arrow_get_double(s, a, i);
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
            return 0;
        }
        return (int64_t)d;
    }
    case PDI_K_DECIMAL: {
        pdi_i128 v = load_decimal(&f, b, j);
        for (int k = 0; k < f.scale; k++) {
            v /= 10;
        }
        return (int64_t)v;
    }
    case PDI_K_INTERVAL:
        if (f.bit_width == 32) {
            return ((const int32_t *)b)[j];
        }
        return 0;
    default: return 0;
    }
}

double pd_arrow_get_double(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    pdi_format f;
    int64_t j;
    const void *b = value_buffer(&s, &a, &i, &f, &j);
    if (!b) {
        return 0;
    }
    switch (f.kind) {
    case PDI_K_FLOAT:
        switch (f.bit_width) {
        case 16: return half_to_double(((const uint16_t *)b)[j]);
        case 32: return ((const float *)b)[j];
        default: return ((const double *)b)[j];
        }
    case PDI_K_UINT:
        if (f.bit_width == 64) {
            return (double)((const uint64_t *)b)[j];
        }
        return (double)pd_arrow_get_int(s, a, i);
    case PDI_K_DECIMAL: {
        char t[96];
        pdi_decimal_format(load_decimal(&f, b, j), f.scale, t);
        return strtod(t, NULL);
    }
    case PDI_K_BOOL:
    case PDI_K_INT: return (double)pd_arrow_get_int(s, a, i);
    default: return 0;
    }
}

const uint8_t *
pd_arrow_get_bytes(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, size_t *len)
{
    size_t dummy;
    if (!len) {
        len = &dummy;
    }
    *len = 0;
    if (!s || !a || i < 0) {
        return NULL;
    }
    pdi_format f;
    resolve(&s, &a, &i, &f);
    int64_t j = a->offset + i;
    static const uint8_t empty[1] = {0};
    switch (f.kind) {
    case PDI_K_BIN: {
        const int32_t *o = a->buffers[1];
        *len = (size_t)(o[j + 1] - o[j]);
        return a->buffers[2] ? (const uint8_t *)a->buffers[2] + o[j] : empty;
    }
    case PDI_K_LARGE_BIN: {
        const int64_t *o = a->buffers[1];
        *len = (size_t)(o[j + 1] - o[j]);
        return a->buffers[2] ? (const uint8_t *)a->buffers[2] + o[j] : empty;
    }
    case PDI_K_FIXED_BIN:
        *len = (size_t)f.fixed_size;
        return (const uint8_t *)a->buffers[1] + j * f.fixed_size;
    case PDI_K_VIEW: {
        const uint8_t *v = (const uint8_t *)a->buffers[1] + j * 16;
        int32_t l, bi, off;
        memcpy(&l, v, 4);
        *len = (size_t)l;
        if (l <= 12) {
            return v + 4;
        }
        memcpy(&bi, v + 8, 4);
        memcpy(&off, v + 12, 4);
        if (bi < 0 || 2 + (int64_t)bi >= a->n_buffers) {
            *len = 0;
            return NULL;
        }
        return (const uint8_t *)a->buffers[2 + bi] + off;
    }
    default: return NULL;
    }
}

/* ---- text rendering ---- */

static size_t put(char *buf, size_t cap, size_t pos, const char *s, size_t n)
{
    if (pos < cap) {
        size_t room = cap - pos - 1;
        memcpy(buf + pos, s, n < room ? n : room);
        buf[pos + (n < room ? n : room)] = '\0';
    }
    return pos + n;
}

static size_t fmt_frac(char *t, int64_t frac, int unit)
{
    static const int digits[4] = {0, 3, 6, 9};
    if (unit == 0 || frac == 0) {
        t[0] = '\0';
        return 0;
    }
    return (size_t)snprintf(t, 16, ".%0*lld", digits[unit], (long long)frac);
}

static size_t fmt_date(char *t, int64_t days)
{
    int64_t y;
    unsigned m, d;
    pdi_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) {
        return (size_t)snprintf(t, 32, "%04lld-%02u-%02u", (long long)y, m, d);
    }
    return (size_t)snprintf(t, 32, "%lld-%02u-%02u", (long long)y, m, d);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

int pd_arrow_format_double(double v, char *buf, size_t cap)
{
    char t[40];
    if (isnan(v)) {
        snprintf(t, sizeof t, "NaN");
    } else if (isinf(v)) {
        snprintf(t, sizeof t, "%s", v < 0 ? "-Infinity" : "Infinity");
    } else {
        for (int p = 15; p <= 17; p++) {
            snprintf(t, sizeof t, "%.*g", p, v);
            if (strtod(t, NULL) == v) {
                break;
            }
        }
    }
    size_t n = strlen(t);
    put(buf, cap, 0, t, n);
    return (int)n;
}

int pd_arrow_get_text(
    const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, char *buf, size_t cap)
{
    if (!s || !a || i < 0 || i >= a->length) {
        return pd_set_error(PD_ERR_INVALID, "arrow: get_text: bad arguments");
    }
    if (cap > 0) {
        buf[0] = '\0';
    }
    pdi_format f;
    resolve(&s, &a, &i, &f);
    int64_t j = a->offset + i;
    char t[128];
    size_t n = 0;
    switch (f.kind) {
    case PDI_K_NULL: return 0;
    case PDI_K_BOOL:
        n = (size_t)snprintf(t, sizeof t, "%s", pd_arrow_get_int(s, a, i) ? "true" : "false");
        break;
    case PDI_K_UINT:
        n = (size_t)snprintf(t, sizeof t, "%" PRIu64, (uint64_t)pd_arrow_get_int(s, a, i));
        break;
    case PDI_K_INT: {
        int64_t v = pd_arrow_get_int(s, a, i);
        switch (f.temporal) {
        case PDI_T_DATE32: n = fmt_date(t, v); break;
        case PDI_T_DATE64: n = fmt_date(t, floor_div(v, 86400000)); break;
        case PDI_T_TIME: {
            int64_t ups = pdi_unit_per_second(f.unit);
            int64_t sec = floor_div(v, ups), frac = v - sec * ups;
            char fr[16];
            fmt_frac(fr, frac, f.unit);
            n = (size_t)snprintf(t, sizeof t, "%02lld:%02lld:%02lld%s", (long long)(sec / 3600),
                                 (long long)(sec / 60 % 60), (long long)(sec % 60), fr);
            break;
        }
        case PDI_T_TIMESTAMP: {
            int64_t ups = pdi_unit_per_second(f.unit);
            int64_t sec = floor_div(v, ups), frac = v - sec * ups;
            int64_t days = floor_div(sec, 86400), sod = sec - days * 86400;
            char fr[16];
            fmt_frac(fr, frac, f.unit);
            n = fmt_date(t, days);
            n += (size_t)snprintf(t + n, sizeof t - n, " %02lld:%02lld:%02lld%s%s",
                                  (long long)(sod / 3600), (long long)(sod / 60 % 60),
                                  (long long)(sod % 60), fr, f.tz[0] ? "+00:00" : "");
            break;
        }
        default: n = (size_t)snprintf(t, sizeof t, "%" PRId64, v); break;
        }
        break;
    }
    case PDI_K_FLOAT:
        n = (size_t)pd_arrow_format_double(pd_arrow_get_double(s, a, i), t, sizeof t);
        break;
    case PDI_K_DECIMAL:
        if (f.bit_width == 256) {
            /* Only exact when the value fits 128 bits. */
            const uint8_t *p = (const uint8_t *)a->buffers[1] + j * 32;
            uint8_t fill = (p[15] & 0x80) ? 0xff : 0;
            for (int k = 16; k < 32; k++) {
                if (p[k] != fill) {
                    return pd_set_error(PD_ERR_UNSUPPORTED,
                                        "arrow: decimal256 value beyond 128 bits");
                }
            }
        }
        n = pdi_decimal_format(load_decimal(&f, a->buffers[1], j), f.scale, t);
        break;
    case PDI_K_BIN:
    case PDI_K_LARGE_BIN:
    case PDI_K_FIXED_BIN:
    case PDI_K_VIEW: {
        size_t len = 0;
        const uint8_t *p = pd_arrow_get_bytes(s, a, i, &len);
        if (f.is_utf8) {
            return (int)put(buf, cap, 0, (const char *)p, len);
        }
        static const char hex[] = "0123456789abcdef";
        size_t pos = 0;
        for (size_t k = 0; k < len; k++) {
            char h[2] = {hex[p[k] >> 4], hex[p[k] & 15]};
            pos = put(buf, cap, pos, h, 2);
        }
        return (int)pos;
    }
    default:
        return pd_set_error(PD_ERR_UNSUPPORTED, "arrow: no text form for format '%s'", s->format);
    }
    put(buf, cap, 0, t, n);
    return (int)n;
}
