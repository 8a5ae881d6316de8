/*
 * load/csv.c - the CSV reader: RFC 4180 records read from a byte source in
 * a bounded buffer, column types inferred from a sample of rows (or given),
 * and Arrow batches built straight into column buffers.
 *
 * Inference (as it always was, plus exact wide integers): a column whose
 * non-empty values are all integers is int64; integers beyond int64 make it
 * decimal128(38,0) (text beyond 38 digits); integers mixed with other numbers
 * make it float64, but wide integers mixed with fractions make it text (a
 * double would change them); anything else is text. Empty unquoted fields
 * (and the `null` string) are NULL. A value after the sample that does not
 * fit its column's type is an error naming file:line:column.
 */
#include "load/load_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUF_FIRST      (1u << 20)
#define BUF_MAX        ((size_t)1 << 30) /* longest record */
#define BATCH_TEXT_MAX ((size_t)64 << 20)

typedef struct fspan {
    size_t start, len; /* content (after unescaping) in the buffer */
    size_t line, col;
    size_t end; /* scan end of the content (before unescaping) */
    bool quoted, esc;
} fspan;

typedef struct sfield {
    size_t off, len; /* into sample data */
    size_t line, col;
    bool quoted;
} sfield;

typedef struct colbuf {
    uint8_t *valid;
    uint8_t *vals; /* fixed width values (bool: bitmap) */
    int32_t *offs;
    char *data;
    size_t dlen, dcap;
    int64_t nulls;
} colbuf;

struct pdi_csv {
    char *path;
    const pdi_load_opts *o;
    pdi_src *src;
    char *buf;
    size_t cap, pos, end;
    bool eof;
    size_t line;
    int64_t line_start; /* buffer offset of the current line's first byte */
    uint8_t special[256];
    fspan *f;
    size_t nf, fcap;
    /* columns */
    size_t ncols;
    char **names;
    pdi_coltype *types;
    bool *given;
    bool sample_all_null_eof; /* sample covered the file */
    /* sample rows kept for the first batches */
    pd_buf sdata;
    sfield *sf;
    size_t nsf, sfcap;
    size_t srows, snext;
    int64_t sampled;
    /* batch */
    colbuf *cb;
    int64_t brow, batch_rows;
    size_t btext;
    struct ArrowSchema schema;
    bool schema_ready;
    bool finished;
    char *err;
    int err_code;
};

/* ------------------------------------------------------------- reading */

static int refill(pdi_csv *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->end - c->pos);
        c->end -= c->pos;
        c->line_start -= (int64_t)c->pos;
        c->pos = 0;
    }
    if (c->end + 1 >= c->cap) {
        if (c->cap >= BUF_MAX)
            return pd_set_error(PD_ERR_CORRUPT, "%s:%zu: a record longer than %zu bytes", c->path,
                                c->line, BUF_MAX);
        char *nb = pdi_realloc(c->buf, c->cap * 2);
        if (!nb)
            return PD_ERR_NOMEM;
        c->buf = nb;
        c->cap *= 2;
    }
    size_t got = 0;
    int rc = pdi_src_read(c->src, c->buf + c->end, c->cap - c->end - 1, &got);
    if (rc)
        return rc;
    if (!got)
        c->eof = true;
    c->end += got;
    return PD_OK;
}

static int push_span(pdi_csv *c, const fspan *s)
{
    if (c->nf == c->fcap) {
        fspan *n = pdi_grow(c->f, &c->fcap, c->nf, sizeof *n, 16);
        if (!n)
            return PD_ERR_NOMEM;
        c->f = n;
    }
    c->f[c->nf++] = *s;
    return PD_OK;
}

/* Scan one record from pos. 1 = a record is in c->f, 0 = the input ended,
 * 2 = more input is needed, < 0 = error. Nothing is changed in the buffer
 * before the whole record is known, so a rescan after a refill is safe. */
static int scan_record(pdi_csv *c)
{
    char *b = c->buf;
    size_t p = c->pos, e = c->end;
    const int q = c->o->quote;
    const char d = c->o->delimiter;
    while (p < e && (b[p] == '\n' || b[p] == '\r')) {
        if (b[p] == '\n') {
            c->line++;
            c->line_start = (int64_t)p + 1;
        }
        p++;
    }
    c->pos = p;
    if (p == e)
        return c->eof ? 0 : 2;
    size_t line = c->line;
    int64_t ls = c->line_start;
    const size_t rec_line = line;
    c->nf = 0;
    for (;;) {
        fspan s = {0};
        s.line = line;
        s.col = (size_t)((int64_t)p - ls + 1);
        if (q >= 0 && p < e && (unsigned char)b[p] == q) {
            s.quoted = true;
            p++;
            s.start = p;
            for (;;) {
                if (p >= e) {
                    if (c->eof)
                        return pd_set_error(
                            PD_ERR_CORRUPT,
                            "%s:%zu:%zu: unterminated quoted field (the file ends on line %zu)",
                            c->path, s.line, s.col, line);
                    return 2;
                }
                unsigned char ch = (unsigned char)b[p];
                if (ch == q) {
                    if (p + 1 >= e && !c->eof)
                        return 2;
                    if (p + 1 < e && (unsigned char)b[p + 1] == q) {
                        s.esc = true;
                        p += 2;
                        continue;
                    }
                    break;
                }
                if (ch == '\n') {
                    line++;
                    ls = (int64_t)p + 1;
                } else if (ch == 0) {
                    return pd_set_error(PD_ERR_CORRUPT, "%s:%zu: NUL byte in a field", c->path,
                                        line);
                }
                p++;
            }
            s.end = p;
            p++;
            if (p < e && b[p] != d && b[p] != '\n' && b[p] != '\r')
                return pd_set_error(PD_ERR_CORRUPT,
                                    "%s:%zu:%zu: unexpected text after a closing quote", c->path,
                                    line, (size_t)((int64_t)p - ls + 1));
        } else {
            s.start = p;
            const uint8_t *sp = c->special;
            while (p < e && !sp[(unsigned char)b[p]])
                p++;
            if (p < e && b[p] == 0)
                return pd_set_error(PD_ERR_CORRUPT, "%s:%zu:%zu: NUL byte in a field", c->path,
                                    line, (size_t)((int64_t)p - ls + 1));
            s.end = p;
        }
        s.len = s.end - s.start;
        int rc = push_span(c, &s);
        if (rc)
            return rc;
        if (p >= e) {
            if (!c->eof)
                return 2;
            break;
        }
        if (b[p] == d) {
            p++;
            continue;
        }
        if (b[p] == '\r') {
            if (p + 1 >= e && !c->eof)
                return 2;
            p++;
            if (p < e && b[p] == '\n') {
                p++;
                line++;
                ls = (int64_t)p;
            }
        } else {
            p++;
            line++;
            ls = (int64_t)p;
        }
        break;
    }
    c->pos = p;
    c->line = line;
    c->line_start = ls;
    (void)rec_line;
    /* unescape doubled quotes and terminate every field in place */
    for (size_t i = 0; i < c->nf; i++) {
        fspan *s = &c->f[i];
        if (s->esc) {
            size_t w = s->start;
            for (size_t r = s->start; r < s->end; r++) {
                b[w++] = b[r];
                if ((unsigned char)b[r] == q)
                    r++;
            }
            s->len = w - s->start;
        }
        b[s->start + s->len] = 0;
    }
    return 1;
}

/* 1 = record, 0 = end of input. */
static int next_record(pdi_csv *c)
{
    for (;;) {
        int r = scan_record(c);
        if (r != 2)
            return r;
        int rc = refill(c);
        if (rc)
            return rc;
    }
}

/* ----------------------------------------------------------- values */

static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int k;
        uint32_t cp;
        if ((*p & 0xE0) == 0xC0) {
            k = 1;
            cp = *p & 0x1F;
        } else if ((*p & 0xF0) == 0xE0) {
            k = 2;
            cp = *p & 0x0F;
        } else if ((*p & 0xF8) == 0xF0) {
            k = 3;
            cp = *p & 0x07;
        } else {
            return false;
        }
        if (e - p <= k)
            return false;
        for (int i = 1; i <= k; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += k + 1;
    }
    return true;
}

/* Integer text: [+-]digits. 1 = fits int64 (*v), 2 = wider (digits in *sig), 0 = not an
 * integer. */
static int parse_int(const char *s, size_t n, int64_t *v, int *sig)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == n)
        return 0;
    uint64_t acc = 0;
    bool over = false;
    int digits = 0;
    for (; i < n; i++) {
        unsigned dg = (unsigned)(s[i] - '0');
        if (dg > 9)
            return 0;
        if (digits || dg)
            digits++;
        if (acc > (UINT64_MAX - dg) / 10)
            over = true;
        else
            acc = acc * 10 + dg;
    }
    *sig = digits;
    if (over || acc > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return 2;
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 1;
}

/* Exact fast path (Clinger): at most 15 significant digits times a power of
 * ten up to 1e22 is one correctly rounded operation. 1 = done, 0 = use strtod. */
static int fast_double(const char *s, size_t n, double *v)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    uint64_t m = 0;
    int digits = 0, scale = 0;
    bool any = false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        any = true;
        if (digits || s[i] != '0') {
            if (++digits > 15)
                return 0;
            m = m * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            any = true;
            if (digits || s[i] != '0') {
                if (++digits > 15)
                    return 0;
            }
            m = m * 10 + (uint64_t)(s[i] - '0');
            scale--;
        }
    }
    if (!any)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        int e = 0, ed = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++) {
            if (e > 10000)
                return 0;
            e = e * 10 + (s[i] - '0');
        }
        if (!ed)
            return 0;
        scale += eneg ? -e : e;
    }
    if (i != n)
        return 0;
    double x = (double)m;
    if (m == 0)
        scale = 0;
    if (scale < -22 || scale > 22)
        return 0;
    x = scale < 0 ? x / p10[-scale] : x * p10[scale];
    *v = neg ? -x : x;
    return 1;
}

static bool parse_double(const char *s, size_t n, double *v)
{
    if (!n)
        return false;
    if (fast_double(s, n, v))
        return true;
    unsigned char f = (unsigned char)s[0];
    if (!(f == '-' || f == '+' || f == '.' || (f >= '0' && f <= '9') || f == 'i' || f == 'I' ||
          f == 'n' || f == 'N'))
        return false;
    for (size_t i = 0; i + 1 < n && i < 3; i++)
        if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
            return false;
    char *e = NULL;
    errno = 0;
    double x = strtod(s, &e);
    if (e != s + n)
        return false;
    if (errno == ERANGE && (x > 1 || x < -1))
        return false; /* overflow: not silently infinity */
    *v = x;
    return true;
}

/* Decimal text [+-]digits[.digits] scaled to `scale`; false if more than
 * `prec` digits or more fractional digits than `scale` (non-zero ones). */
static bool parse_decimal(const char *s, size_t n, int prec, int scale, __int128 *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    __int128 acc = 0;
    int digits = 0, frac = 0;
    bool dot = false, any = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (ch == '.' && !dot) {
            dot = true;
            continue;
        }
        if (ch < '0' || ch > '9')
            return false;
        any = true;
        if (dot) {
            if (frac == scale) {
                if (ch != '0')
                    return false;
                continue;
            }
            frac++;
        }
        if (digits || ch != '0')
            digits++;
        if (digits > 38)
            return false;
        acc = acc * 10 + (ch - '0');
    }
    if (!any)
        return false;
    for (; frac < scale; frac++) {
        if (digits && ++digits > prec)
            return false; /* checked before the multiplication can overflow */
        acc *= 10;
    }
    if (digits > prec)
        return false;
    *out = neg ? -acc : acc;
    return true;
}

static bool parse_bool(const char *s, size_t n, int *v)
{
    static const char *const t[] = {"true", "t", "yes", "y", "1"};
    static const char *const f[] = {"false", "f", "no", "n", "0"};
    for (size_t i = 0; i < 5; i++) {
        if (strlen(t[i]) == n && !strncasecmp(s, t[i], n)) {
            *v = 1;
            return true;
        }
        if (strlen(f[i]) == n && !strncasecmp(s, f[i], n)) {
            *v = 0;
            return true;
        }
    }
    return false;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits_at(const char *s, size_t n, size_t at, size_t k, unsigned *v)
{
    if (at + k > n)
        return false;
    unsigned x = 0;
    for (size_t i = 0; i < k; i++) {
        unsigned dg = (unsigned)(s[at + i] - '0');
        if (dg > 9)
            return false;
        x = x * 10 + dg;
    }
    *v = x;
    return true;
}

static bool parse_date(const char *s, size_t n, int64_t *days)
{
    unsigned y, m, d;
    if (n < 10 || !digits_at(s, n, 0, 4, &y) || s[4] != '-' || !digits_at(s, n, 5, 2, &m) ||
        s[7] != '-' || !digits_at(s, n, 8, 2, &d) || m < 1 || m > 12 || d < 1)
        return false;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned lim = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d > lim)
        return false;
    *days = days_from_civil(y, m, d);
    return true;
}

static bool parse_timestamp(const char *s, size_t n, int64_t *us)
{
    int64_t days;
    if (!parse_date(s, n, &days))
        return false;
    int64_t t = 0;
    if (n > 10) {
        unsigned hh, mi, ss;
        if ((s[10] != ' ' && s[10] != 'T') || !digits_at(s, n, 11, 2, &hh) || s[13] != ':' ||
            !digits_at(s, n, 14, 2, &mi) || hh > 23 || mi > 59)
            return false;
        size_t i = 16;
        ss = 0;
        if (i < n && s[i] == ':') {
            if (!digits_at(s, n, 17, 2, &ss) || ss > 59)
                return false;
            i = 19;
        }
        int64_t frac = 0;
        if (i < n && s[i] == '.') {
            i++;
            int k = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (k < 6) {
                    frac = frac * 10 + (s[i] - '0');
                    k++;
                } else if (s[i] != '0') {
                    return false; /* below a microsecond: not representable */
                }
                i++;
            }
            if (!k)
                return false;
            for (; k < 6; k++)
                frac *= 10;
        }
        if (i != n)
            return false;
        t = ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000 + frac;
    }
    *us = days * 86400000000LL + t;
    return true;
}

/* Inferred type of one non-null value. */
static pdi_ctype classify(const char *s, size_t n)
{
    int64_t v;
    int sig = 0;
    int k = parse_int(s, n, &v, &sig);
    if (k == 1)
        return PDI_CT_INT64;
    if (k == 2)
        return sig <= 38 ? PDI_CT_DECIMAL : PDI_CT_TEXT;
    double dv;
    return parse_double(s, n, &dv) ? PDI_CT_FLOAT64 : PDI_CT_TEXT;
}

pdi_coltype pdi_coltype_join(pdi_coltype a, pdi_coltype b)
{
    if (a.t == PDI_CT_NULL)
        return b;
    if (b.t == PDI_CT_NULL || (a.t == b.t && a.precision == b.precision && a.scale == b.scale))
        return a;
    pdi_coltype r = {PDI_CT_TEXT, 0, 0};
    pdi_ctype x = a.t < b.t ? a.t : b.t, y = a.t < b.t ? b.t : a.t;
    if (x == PDI_CT_INT64 && y == PDI_CT_DECIMAL && (a.scale | b.scale) == 0) {
        r.t = PDI_CT_DECIMAL;
        r.precision = 38;
    } else if (x == PDI_CT_INT64 && y == PDI_CT_FLOAT64) {
        r.t = PDI_CT_FLOAT64;
    }
    return r;
}

static void join_value(pdi_coltype *t, const char *s, size_t n)
{
    if (t->t == PDI_CT_TEXT)
        return;
    pdi_coltype v = {classify(s, n), 0, 0};
    if (v.t == PDI_CT_DECIMAL)
        v.precision = 38;
    *t = pdi_coltype_join(*t, v);
}

/* ------------------------------------------------------------- batches */

static void free_colbuf(colbuf *b)
{
    free(b->valid);
    free(b->vals);
    free(b->offs);
    free(b->data);
    memset(b, 0, sizeof *b);
}

static size_t type_width(pdi_ctype t)
{
    switch (t) {
    case PDI_CT_INT8: return 1;
    case PDI_CT_INT16: return 2;
    case PDI_CT_INT32:
    case PDI_CT_FLOAT32:
    case PDI_CT_DATE: return 4;
    case PDI_CT_DECIMAL: return 16;
    case PDI_CT_TEXT: return 0;
    case PDI_CT_BOOL: return 0;
    default: return 8;
    }
}

static int batch_begin(pdi_csv *c)
{
    size_t rows = (size_t)c->batch_rows;
    size_t vbytes = (rows + 7) / 8;
    for (size_t k = 0; k < c->ncols; k++) {
        colbuf *b = &c->cb[k];
        pdi_ctype t = c->types[k].t;
        b->nulls = 0;
        b->dlen = 0;
        b->valid = pdi_calloc(vbytes ? vbytes : 1, 1);
        if (!b->valid)
            return PD_ERR_NOMEM;
        if (t == PDI_CT_TEXT) {
            b->offs = pdi_malloc((rows + 1) * sizeof *b->offs);
            if (!b->offs)
                return PD_ERR_NOMEM;
            b->offs[0] = 0;
            if (!b->data) {
                b->dcap = 1 << 16;
                b->data = pdi_malloc(b->dcap);
                if (!b->data)
                    return PD_ERR_NOMEM;
            }
        } else if (t == PDI_CT_BOOL) {
            b->vals = pdi_calloc(vbytes ? vbytes : 1, 1);
        } else {
            b->vals = pdi_malloc(rows * type_width(t) + 1);
        }
        if (t != PDI_CT_TEXT && !b->vals)
            return PD_ERR_NOMEM;
    }
    c->brow = 0;
    c->btext = 0;
    return PD_OK;
}

static const char *type_word(const pdi_coltype *t)
{
    switch (t->t) {
    case PDI_CT_BOOL: return "a boolean";
    case PDI_CT_INT8: return "an int8";
    case PDI_CT_INT16: return "an int16";
    case PDI_CT_INT32: return "an int32";
    case PDI_CT_INT64: return "an int64";
    case PDI_CT_DECIMAL: return "a decimal of that precision and scale";
    case PDI_CT_FLOAT32:
    case PDI_CT_FLOAT64: return "a number";
    case PDI_CT_DATE: return "a date (YYYY-MM-DD)";
    case PDI_CT_TIMESTAMP: return "a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])";
    default: return "text";
    }
}

static int bad_value(pdi_csv *c, size_t k, const char *s, size_t n, size_t line, size_t col)
{
    char fmt[32];
    pdi_coltype_format(&c->types[k], fmt, sizeof fmt);
    if (c->given[k])
        return pd_set_error(PD_ERR_CORRUPT,
                            "%s:%zu:%zu: column '%s': '%.*s' is not %s (the type given in "
                            "columns:)",
                            c->path, line, col, c->names[k], (int)(n > 60 ? 60 : n), s,
                            type_word(&c->types[k]));
    return pd_set_error(PD_ERR_CORRUPT,
                        "%s:%zu:%zu: column '%s': '%.*s' is not %s, the type (Arrow %s) inferred "
                        "from the first %lld rows; give the column's type (columns: {%s: "
                        "text}) or infer from every row (sample_rows: all)",
                        c->path, line, col, c->names[k], (int)(n > 60 ? 60 : n), s,
                        type_word(&c->types[k]), fmt, (long long)c->sampled, c->names[k]);
}

static int put(pdi_csv *c, size_t k, const char *s, size_t n, bool quoted, size_t line, size_t col)
{
    colbuf *b = &c->cb[k];
    const pdi_coltype *t = &c->types[k];
    int64_t r = c->brow;
    const char *ns = c->o->null_str;
    bool isnull =
        (!quoted && (n == 0 || (ns && !strcmp(s, ns)))) || (n == 0 && t->t != PDI_CT_TEXT);
    if (isnull) {
        b->nulls++;
        if (t->t == PDI_CT_TEXT)
            b->offs[r + 1] = b->offs[r];
        else if (t->t != PDI_CT_BOOL)
            memset(b->vals + (size_t)r * type_width(t->t), 0, type_width(t->t));
        return PD_OK;
    }
    b->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
    switch (t->t) {
    case PDI_CT_TEXT: {
        if (!utf8_ok(s, n))
            return pd_set_error(PD_ERR_CORRUPT,
                                "%s:%zu:%zu: column '%s': the text is not valid UTF-8 (is the "
                                "file Latin-1? then give encoding: latin-1)",
                                c->path, line, col, c->names[k]);
        if (b->dlen + n > b->dcap) {
            size_t nc = b->dcap * 2;
            while (nc < b->dlen + n)
                nc *= 2;
            char *nd = pdi_realloc(b->data, nc);
            if (!nd)
                return PD_ERR_NOMEM;
            b->data = nd;
            b->dcap = nc;
        }
        memcpy(b->data + b->dlen, s, n);
        b->dlen += n;
        c->btext += n;
        b->offs[r + 1] = (int32_t)b->dlen;
        return PD_OK;
    }
    case PDI_CT_INT8:
    case PDI_CT_INT16:
    case PDI_CT_INT32:
    case PDI_CT_INT64: {
        int64_t v = 0;
        int sig;
        if (parse_int(s, n, &v, &sig) != 1)
            return bad_value(c, k, s, n, line, col);
        if (t->t == PDI_CT_INT64) {
            memcpy(b->vals + (size_t)r * 8, &v, 8);
        } else if (t->t == PDI_CT_INT32) {
            if (v < INT32_MIN || v > INT32_MAX)
                return bad_value(c, k, s, n, line, col);
            int32_t x = (int32_t)v;
            memcpy(b->vals + (size_t)r * 4, &x, 4);
        } else if (t->t == PDI_CT_INT16) {
            if (v < INT16_MIN || v > INT16_MAX)
                return bad_value(c, k, s, n, line, col);
            int16_t x = (int16_t)v;
            memcpy(b->vals + (size_t)r * 2, &x, 2);
        } else {
            if (v < INT8_MIN || v > INT8_MAX)
                return bad_value(c, k, s, n, line, col);
            b->vals[r] = (uint8_t)(int8_t)v;
        }
        return PD_OK;
    }
    case PDI_CT_FLOAT32:
    case PDI_CT_FLOAT64: {
        double v;
        if (!parse_double(s, n, &v))
            return bad_value(c, k, s, n, line, col);
        if (t->t == PDI_CT_FLOAT64) {
            memcpy(b->vals + (size_t)r * 8, &v, 8);
        } else {
            float x = (float)v;
            memcpy(b->vals + (size_t)r * 4, &x, 4);
        }
        return PD_OK;
    }
    case PDI_CT_DECIMAL: {
        __int128 v;
        if (!parse_decimal(s, n, t->precision, t->scale, &v))
            return bad_value(c, k, s, n, line, col);
        memcpy(b->vals + (size_t)r * 16, &v, 16);
        return PD_OK;
    }
    case PDI_CT_BOOL: {
        int v;
        if (!parse_bool(s, n, &v))
            return bad_value(c, k, s, n, line, col);
        if (v)
            b->vals[r >> 3] |= (uint8_t)(1u << (r & 7));
        return PD_OK;
    }
    case PDI_CT_DATE: {
        int64_t d;
        if (!parse_date(s, n, &d) || n != 10 || d < INT32_MIN || d > INT32_MAX)
            return bad_value(c, k, s, n, line, col);
        int32_t x = (int32_t)d;
        memcpy(b->vals + (size_t)r * 4, &x, 4);
        return PD_OK;
    }
    case PDI_CT_TIMESTAMP: {
        int64_t us;
        if (!parse_timestamp(s, n, &us))
            return bad_value(c, k, s, n, line, col);
        memcpy(b->vals + (size_t)r * 8, &us, 8);
        return PD_OK;
    }
    default: return pd_set_error(PD_ERR_INVALID, "csv: column '%s' has no type", c->names[k]);
    }
}

static int batch_finish(pdi_csv *c, struct ArrowArray *out)
{
    int rc = pd_arrow_array_init(out, 1, (int64_t)c->ncols);
    if (rc)
        return rc;
    out->length = c->brow;
    for (size_t k = 0; k < c->ncols; k++) {
        colbuf *b = &c->cb[k];
        struct ArrowArray *ch = out->children[k];
        bool text = c->types[k].t == PDI_CT_TEXT;
        if ((rc = pd_arrow_array_init(ch, text ? 3 : 2, 0))) {
            pd_arrow_array_release(out);
            return rc;
        }
        ch->length = c->brow;
        ch->null_count = b->nulls;
        pd_arrow_array_set_buffer(ch, 0, b->valid);
        b->valid = NULL;
        if (text) {
            pd_arrow_array_set_buffer(ch, 1, b->offs);
            b->offs = NULL;
            /* keep a right-sized copy; reuse the big buffer for the next batch */
            char *d = pdi_malloc(b->dlen ? b->dlen : 1);
            if (!d) {
                pd_arrow_array_release(out);
                return PD_ERR_NOMEM;
            }
            memcpy(d, b->data, b->dlen);
            pd_arrow_array_set_buffer(ch, 2, d);
        } else {
            pd_arrow_array_set_buffer(ch, 1, b->vals);
            b->vals = NULL;
        }
    }
    return PD_OK;
}

/* -------------------------------------------------------------- opening */

static int check_fields(pdi_csv *c, size_t line)
{
    if (c->nf != c->ncols)
        return pd_set_error(PD_ERR_CORRUPT, "%s:%zu: expected %zu fields, found %zu", c->path, line,
                            c->ncols, c->nf);
    return PD_OK;
}

static int keep_sample_row(pdi_csv *c)
{
    for (size_t i = 0; i < c->nf; i++) {
        fspan *s = &c->f[i];
        if (c->nsf == c->sfcap) {
            sfield *n = pdi_grow(c->sf, &c->sfcap, c->nsf, sizeof *n, 256);
            if (!n)
                return PD_ERR_NOMEM;
            c->sf = n;
        }
        sfield *t = &c->sf[c->nsf++];
        t->off = c->sdata.len;
        t->len = s->len;
        t->line = s->line;
        t->col = s->col;
        t->quoted = s->quoted;
        pdi_buf_append(&c->sdata, c->buf + s->start, s->len + 1); /* with its NUL */
        if (c->sdata.oom)
            return PD_ERR_NOMEM;
    }
    c->srows++;
    return PD_OK;
}

static int read_header(pdi_csv *c)
{
    int r = next_record(c);
    if (r < 0)
        return r;
    if (r == 0 || (c->nf == 1 && c->f[0].len == 0 && !c->f[0].quoted))
        return pd_set_error(PD_ERR_CORRUPT, "%s: missing header row", c->path);
    c->ncols = c->nf;
    c->names = pdi_calloc(c->ncols, sizeof *c->names);
    if (!c->names)
        return PD_ERR_NOMEM;
    for (size_t i = 0; i < c->ncols; i++) {
        fspan *s = &c->f[i];
        const char *p = c->buf + s->start;
        if (!c->o->header || !s->len)
            c->names[i] = pdi_asprintf("column%zu", i + 1);
        else if (!utf8_ok(p, s->len))
            return pd_set_error(PD_ERR_CORRUPT,
                                "%s:1:%zu: the header is not valid UTF-8 (is the file Latin-1? "
                                "then give encoding: latin-1)",
                                c->path, s->col);
        else
            c->names[i] = pdi_strndup(p, s->len);
        if (!c->names[i])
            return PD_ERR_NOMEM;
        for (size_t j = 0; j < i; j++)
            if (pdi_str_ieq(c->names[j], c->names[i]))
                return pd_set_error(PD_ERR_CORRUPT, "%s:1: column name '%s' appears twice", c->path,
                                    c->names[i]);
    }
    if (!c->o->header)
        return keep_sample_row(c); /* the first record is data */
    return PD_OK;
}

static int apply_given(pdi_csv *c)
{
    for (size_t g = 0; g < c->o->n_cols; g++) {
        const pdi_colspec *cs = &c->o->cols[g];
        size_t k = 0;
        while (k < c->ncols && strcmp(c->names[k], cs->name))
            k++;
        if (k == c->ncols) {
            k = 0;
            while (k < c->ncols && !pdi_str_ieq(c->names[k], cs->name))
                k++;
        }
        if (k == c->ncols) {
            pd_buf b = PD_BUF_INIT;
            for (size_t i = 0; i < c->ncols && i < 20; i++)
                pdi_buf_printf(&b, "%s%s", i ? ", " : "", c->names[i]);
            int rc = pd_set_error(PD_ERR_CONFIG,
                                  "%s: columns: no column named '%s' (the file has: %s%s)", c->path,
                                  cs->name, b.data ? b.data : "", c->ncols > 20 ? ", ..." : "");
            pdi_buf_free(&b);
            return rc;
        }
        c->types[k] = cs->type;
        c->given[k] = true;
    }
    return PD_OK;
}

static int open_reader(const char *path, const pdi_load_opts *o, pdi_csv **out)
{
    *out = NULL;
    pdi_csv *c = pdi_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    c->o = o;
    c->line = 1;
    c->batch_rows = o->batch_rows > 0 ? o->batch_rows : 65536;
    c->path = pdi_strdup(path);
    c->cap = BUF_FIRST;
    c->buf = pdi_malloc(c->cap);
    int rc = c->path && c->buf ? PD_OK : PD_ERR_NOMEM;
    if (!rc)
        rc = pdi_src_open(path, o->latin1, &c->src);
    c->special[(unsigned char)o->delimiter] = 1;
    c->special['\n'] = c->special['\r'] = 1;
    c->special[0] = 1;
    if (!rc)
        rc = refill(c);
    if (!rc && c->end >= 3 && !memcmp(c->buf, "\xEF\xBB\xBF", 3)) {
        c->pos = 3; /* a byte-order mark is not data */
        c->line_start = 3;
    }
    if (!rc)
        rc = read_header(c);
    if (!rc) {
        c->types = pdi_calloc(c->ncols, sizeof *c->types);
        c->given = pdi_calloc(c->ncols, sizeof *c->given);
        c->cb = pdi_calloc(c->ncols, sizeof *c->cb);
        if (!c->types || !c->given || !c->cb)
            rc = PD_ERR_NOMEM;
    }
    if (!rc)
        rc = apply_given(c);
    if (rc) {
        pdi_csv_close(c);
        return rc;
    }
    *out = c;
    return PD_OK;
}

/* Infer the types of the columns not given from rows kept (sample) or
 * streamed past (keep = false: the whole file, nothing kept). */
static int infer(pdi_csv *c, bool keep, int64_t limit)
{
    /* rows already kept (header: false) */
    for (size_t i = 0; i < c->nsf; i++) {
        size_t k = i % c->ncols;
        const sfield *f = &c->sf[i];
        if (!c->given[k] && f->len &&
            !(c->o->null_str && !strcmp(c->sdata.data + f->off, c->o->null_str) && !f->quoted))
            join_value(&c->types[k], c->sdata.data + f->off, f->len);
    }
    c->sampled = (int64_t)c->srows;
    bool hit_end = false;
    while (limit < 0 || c->sampled < limit) {
        int r = next_record(c);
        if (r < 0)
            return r;
        if (r == 0) {
            hit_end = true;
            break;
        }
        int rc = check_fields(c, c->f[0].line);
        if (rc)
            return rc;
        for (size_t k = 0; k < c->ncols; k++) {
            const fspan *f = &c->f[k];
            const char *s = c->buf + f->start;
            if (c->given[k] || !f->len)
                continue;
            if (!f->quoted && c->o->null_str && !strcmp(s, c->o->null_str))
                continue;
            join_value(&c->types[k], s, f->len);
        }
        if (keep && (rc = keep_sample_row(c)))
            return rc;
        c->sampled++;
    }
    for (size_t k = 0; k < c->ncols; k++)
        if (!c->given[k] && c->types[k].t == PDI_CT_NULL)
            c->types[k].t = hit_end ? PDI_CT_INT64 : PDI_CT_TEXT; /* all empty: as ever */
    return PD_OK;
}

int pdi_csv_open(const char *path, const pdi_load_opts *o, pdi_csv **out)
{
    *out = NULL;
    pdi_csv *c = NULL;
    int rc;
    if (o->sample_rows < 0) {
        /* a first pass over the whole file for the types, then the real one */
        rc = open_reader(path, o, &c);
        if (!rc)
            rc = infer(c, false, -1);
        pdi_coltype *types = NULL;
        int64_t sampled = c ? c->sampled : 0;
        if (!rc) {
            types = c->types;
            c->types = NULL;
        }
        pdi_csv_close(c);
        c = NULL;
        if (!rc)
            rc = open_reader(path, o, &c);
        if (!rc)
            rc = pdi_csv_force_types(c, types);
        if (!rc)
            c->sampled = sampled;
        free(types);
    } else {
        rc = open_reader(path, o, &c);
        if (!rc)
            rc = infer(c, true, o->sample_rows);
    }
    if (rc) {
        pdi_csv_close(c);
        if (rc != PD_ERR_NOMEM && !strstr(pd_last_error(), path))
            pd_error_prefix("%s", path);
        return rc;
    }
    *out = c;
    return PD_OK;
}

int pdi_csv_force_types(pdi_csv *c, const pdi_coltype *types)
{
    for (size_t k = 0; k < c->ncols; k++) {
        if (types[k].t == PDI_CT_NULL)
            return pd_set_error(PD_ERR_INVALID, "csv: column '%s' has no type", c->names[k]);
        c->types[k] = types[k];
    }
    return PD_OK;
}

size_t pdi_csv_ncols(const pdi_csv *c)
{
    return c->ncols;
}
const char *pdi_csv_col_name(const pdi_csv *c, size_t i)
{
    return c->names[i];
}
const pdi_coltype *pdi_csv_col_type(const pdi_csv *c, size_t i)
{
    return &c->types[i];
}

void pdi_csv_close(pdi_csv *c)
{
    if (!c)
        return;
    pdi_src_close(c->src);
    for (size_t k = 0; c->names && k < c->ncols; k++)
        free(c->names[k]);
    for (size_t k = 0; c->cb && k < c->ncols; k++)
        free_colbuf(&c->cb[k]);
    free(c->cb);
    free(c->names);
    free(c->types);
    free(c->given);
    free(c->f);
    free(c->sf);
    pdi_buf_free(&c->sdata);
    pd_arrow_schema_release(&c->schema);
    free(c->buf);
    free(c->path);
    free(c->err);
    free(c);
}

/* ---------------------------------------------------------------- stream */

static int make_schema(pdi_csv *c)
{
    if (c->schema_ready)
        return PD_OK;
    int rc = pd_arrow_schema_init(&c->schema, "+s", "", 0, (int64_t)c->ncols);
    for (size_t k = 0; !rc && k < c->ncols; k++) {
        char fmt[32];
        rc = pd_arrow_schema_init(c->schema.children[k],
                                  pdi_coltype_format(&c->types[k], fmt, sizeof fmt), c->names[k],
                                  ARROW_FLAG_NULLABLE, 0);
    }
    c->schema_ready = rc == PD_OK;
    return rc;
}

/* Fill one batch: kept sample rows first, then rows from the file. */
static int fill_batch(pdi_csv *c, struct ArrowArray *out)
{
    out->release = NULL;
    if (c->finished)
        return PD_OK;
    int rc = batch_begin(c);
    while (!rc && c->brow < c->batch_rows && c->btext < BATCH_TEXT_MAX) {
        if (c->snext < c->srows) {
            const sfield *f = &c->sf[c->snext * c->ncols];
            for (size_t k = 0; k < c->ncols && !rc; k++)
                rc =
                    put(c, k, c->sdata.data + f[k].off, f[k].len, f[k].quoted, f[k].line, f[k].col);
            if (++c->snext == c->srows) {
                pdi_buf_free(&c->sdata);
                free(c->sf);
                c->sf = NULL;
                c->nsf = c->sfcap = 0;
            }
        } else {
            int r = next_record(c);
            if (r < 0) {
                rc = r;
                break;
            }
            if (r == 0) {
                c->finished = true;
                break;
            }
            if ((rc = check_fields(c, c->f[0].line)))
                break;
            for (size_t k = 0; k < c->ncols && !rc; k++) {
                const fspan *f = &c->f[k];
                rc = put(c, k, c->buf + f->start, f->len, f->quoted, f->line, f->col);
            }
        }
        if (!rc)
            c->brow++;
    }
    if (!rc && c->brow > 0)
        rc = batch_finish(c, out);
    for (size_t k = 0; k < c->ncols; k++) {
        colbuf *b = &c->cb[k];
        free(b->valid);
        free(b->vals);
        free(b->offs);
        b->valid = b->vals = NULL;
        b->offs = NULL;
    }
    return rc;
}

static int st_error(struct ArrowArrayStream *st, int rc)
{
    pdi_csv *c = st->private_data;
    free(c->err);
    c->err = pdi_strdup(pd_last_error());
    c->err_code = rc;
    return rc == PD_ERR_NOMEM ? ENOMEM : rc == PD_ERR_IO ? EIO : EINVAL;
}

static int st_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    pdi_csv *c = st->private_data;
    int rc = make_schema(c);
    if (!rc)
        rc = pd_arrow_schema_copy(&c->schema, out);
    return rc ? st_error(st, rc) : 0;
}

static int st_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    pdi_csv *c = st->private_data;
    if (c->err) {
        pd_set_error(c->err_code, "%s", c->err);
        return c->err_code == PD_ERR_NOMEM ? ENOMEM : EINVAL;
    }
    int rc = fill_batch(c, out);
    return rc ? st_error(st, rc) : 0;
}

static const char *st_last_error(struct ArrowArrayStream *st)
{
    pdi_csv *c = st->private_data;
    return c->err;
}

static void st_release(struct ArrowArrayStream *st)
{
    pdi_csv_close(st->private_data);
    st->release = NULL;
    st->private_data = NULL;
}

int pdi_csv_stream(pdi_csv *c, struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    int rc = make_schema(c);
    if (rc) {
        pdi_csv_close(c);
        return rc;
    }
    out->get_schema = st_get_schema;
    out->get_next = st_get_next;
    out->get_last_error = st_last_error;
    out->release = st_release;
    out->private_data = c;
    return PD_OK;
}
