/*
 * cli/cmd_parquet.c - `pipedag parquet schema|meta|head|cat|convert`.
 *
 * Inspects Parquet files with our own reader and prints rows as JSON lines or
 * CSV (values rendered from the Arrow arrays the reader produces); `convert`
 * rewrites a file with the writer's options. FILE may be a path, file:// or
 * s3://bucket/key (src/fs: ranged reads, so only the footer and the column
 * chunks a command needs are fetched; S3 settings from the environment).
 */
#include "cli/cli.h"
#include "fs/fs.h"
#include "pipedag/parquet.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The writer lives in other files; weak references keep this command
 * linkable while it is absent. */
#pragma weak pd_parquet_write_stream
#pragma weak pd_parquet_codec_from_name

enum { FMT_JSONL, FMT_CSV };

static int usage(void)
{
    fprintf(stderr,
            "usage: pipedag parquet schema FILE\n"
            "       pipedag parquet meta FILE\n"
            "       pipedag parquet head [-n N] [--format jsonl|csv] [READ OPTIONS] FILE\n"
            "       pipedag parquet cat [--format jsonl|csv] [READ OPTIONS] FILE...\n"
            "       pipedag parquet convert IN OUT [--codec C] [--level N] [--page-version 1|2]\n"
            "                               [--row-group-rows N] [--no-dictionary] [READ OPTIONS]\n"
            "       pipedag parquet bloom FILE COLUMN VALUE\n"
            "READ OPTIONS: --threads N (decoding threads; convert: encoding threads too)\n"
            "              --verify-checksums (check the CRC-32 of pages that carry one)\n"
            "              --int96-unit us|ns (INT96 timestamps as microseconds, the default,\n"
            "                                  or nanoseconds: 1677-09-21 .. 2262-04-11)\n"
            "              --columns A,B (head/cat: only these top-level columns)\n"
            "FILE/IN/OUT: a path, file:///path or s3://bucket/key (S3 settings and credentials\n"
            "             from AWS_ENDPOINT_URL(_S3), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE "
            "...)\n");
    return 2;
}

static int fail(const char *what)
{
    const char *m = pd_last_error();
    if (pdi_str_starts(m, what))
        fprintf(stderr, "pipedag parquet: %s\n", m);
    else
        fprintf(stderr, "pipedag parquet: %s%s%s\n", what, *m ? ": " : "", m);
    return 1;
}

/* ------------------------------------------------------------------ value rendering */
static bool is_valid(const struct ArrowArray *a, int64_t i)
{
    if (a->n_buffers == 0)
        return false;
    const uint8_t *bm = a->buffers[0];
    if (!bm || a->null_count == 0)
        return true;
    int64_t j = a->offset + i;
    return (bm[j >> 3] >> (j & 7)) & 1;
}

static void civil(int64_t days, int64_t *y, int *m, int *d)
{
    /* days since 1970-01-01 -> proleptic Gregorian date */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static void put_date(pd_buf *b, int64_t days)
{
    int64_t y;
    int m, d;
    civil(days, &y, &m, &d);
    pdi_buf_printf(b, "%04" PRId64 "-%02d-%02d", y, m, d);
}

/* unit: 1e3 (ms), 1e6 (us), 1e9 (ns) per second */
static void put_time_of_day(pd_buf *b, int64_t v, int64_t per_sec, int digits)
{
    int64_t secs = floordiv(v, per_sec);
    int64_t frac = v - secs * per_sec;
    int64_t sod = secs % 86400;
    if (sod < 0)
        sod += 86400;
    pdi_buf_printf(b, "%02d:%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (digits)
        pdi_buf_printf(b, ".%0*" PRId64, digits, frac);
}

static void put_timestamp(pd_buf *b, int64_t v, int64_t per_sec, int digits, bool utc)
{
    int64_t secs = floordiv(v, per_sec);
    put_date(b, floordiv(secs, 86400));
    pdi_buf_putc(b, 'T');
    put_time_of_day(b, v, per_sec, digits);
    if (utc)
        pdi_buf_putc(b, 'Z');
}

static void put_double(pd_buf *b, double v, bool as_float)
{
    if (isnan(v)) {
        pdi_buf_puts(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        pdi_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[64];
    for (int prec = as_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (as_float ? (float)strtod(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    pdi_buf_puts(b, tmp);
    if (!strpbrk(tmp, ".eE"))
        pdi_buf_puts(b, ".0");
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static void put_decimal(pd_buf *b, const uint8_t *p, int scale)
{
    uint64_t lo, hi;
    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    unsigned __int128 u = ((unsigned __int128)hi << 64) | lo;
    bool neg = (hi >> 63) != 0;
    if (neg)
        u = ~u + 1;
    char digits[64];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        digits[n++] = '0';
    if (neg)
        pdi_buf_putc(b, '-');
    for (int i = n - 1; i >= 0; i--) {
        pdi_buf_putc(b, digits[i]);
        if (i == scale && scale > 0)
            pdi_buf_putc(b, '.');
    }
}

static void put_json_string(pd_buf *b, const uint8_t *s, size_t n)
{
    pdi_json_escape(b, (const char *)s, n);
}

static void
put_value(pd_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i);

/* Render a map key as a JSON object key (a string). */
static void put_key(pd_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    const char *f = s->format;
    if ((f[0] == 'u' || f[0] == 'U') && !f[1]) {
        put_value(b, s, a, i);
        return;
    }
    pd_buf tmp = PD_BUF_INIT;
    put_value(&tmp, s, a, i);
    if (tmp.data && tmp.data[0] == '"')
        pdi_buf_append(b, tmp.data, tmp.len);
    else
        put_json_string(b, (const uint8_t *)(tmp.data ? tmp.data : ""), tmp.len);
    pdi_buf_free(&tmp);
}

static void put_value(pd_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    if (!is_valid(a, i)) {
        pdi_buf_puts(b, "null");
        return;
    }
    const char *f = s->format;
    int64_t j = a->offset + i;
    const void *v1 = a->n_buffers > 1 ? a->buffers[1] : NULL;
    switch (f[0]) {
    case 'b': {
        const uint8_t *bm = v1;
        pdi_buf_puts(b, ((bm[j >> 3] >> (j & 7)) & 1) ? "true" : "false");
        return;
    }
    case 'c': pdi_buf_printf(b, "%d", ((const int8_t *)v1)[j]); return;
    case 'C': pdi_buf_printf(b, "%u", ((const uint8_t *)v1)[j]); return;
    case 's': pdi_buf_printf(b, "%d", ((const int16_t *)v1)[j]); return;
    case 'S': pdi_buf_printf(b, "%u", ((const uint16_t *)v1)[j]); return;
    case 'i': pdi_buf_printf(b, "%" PRId32, ((const int32_t *)v1)[j]); return;
    case 'I': pdi_buf_printf(b, "%" PRIu32, ((const uint32_t *)v1)[j]); return;
    case 'l': pdi_buf_printf(b, "%" PRId64, ((const int64_t *)v1)[j]); return;
    case 'L': pdi_buf_printf(b, "%" PRIu64, ((const uint64_t *)v1)[j]); return;
    case 'e': put_double(b, half_to_double(((const uint16_t *)v1)[j]), true); return;
    case 'f': put_double(b, ((const float *)v1)[j], true); return;
    case 'g': put_double(b, ((const double *)v1)[j], false); return;
    case 'n': pdi_buf_puts(b, "null"); return;
    case 'u':
    case 'z': {
        const int32_t *o = v1;
        const uint8_t *d = a->buffers[2];
        size_t n = (size_t)(o[j + 1] - o[j]);
        if (f[0] == 'u') {
            put_json_string(b, d + o[j], n);
        } else {
            char *e = pdi_base64_encode(d + o[j], n);
            pdi_buf_printf(b, "\"%s\"", e ? e : "");
            free(e);
        }
        return;
    }
    case 'w': {
        int w = atoi(f + 2);
        const uint8_t *d = (const uint8_t *)v1 + (size_t)j * (size_t)w;
        if (w == 16 && s->metadata == NULL) {
            /* 16-byte fixed binary: print UUID-style hex */
            pdi_buf_putc(b, '"');
            for (int k = 0; k < 16; k++)
                pdi_buf_printf(b, "%s%02x", (k == 4 || k == 6 || k == 8 || k == 10) ? "-" : "",
                               d[k]);
            pdi_buf_putc(b, '"');
        } else {
            char *e = pdi_base64_encode(d, (size_t)w);
            pdi_buf_printf(b, "\"%s\"", e ? e : "");
            free(e);
        }
        return;
    }
    case 'd': {
        const char *comma = strchr(f, ',');
        int scale = comma ? atoi(comma + 1) : 0;
        pdi_buf_putc(b, '"');
        put_decimal(b, (const uint8_t *)v1 + (size_t)j * 16, scale);
        pdi_buf_putc(b, '"');
        return;
    }
    case 't': {
        if (f[1] == 'd') {
            pdi_buf_putc(b, '"');
            if (f[2] == 'D')
                put_date(b, ((const int32_t *)v1)[j]);
            else
                put_date(b, floordiv(((const int64_t *)v1)[j], 86400000));
            pdi_buf_putc(b, '"');
            return;
        }
        char unit = f[2];
        int64_t per = unit == 's' ? 1 : unit == 'm' ? 1000 : unit == 'u' ? 1000000 : 1000000000;
        int digits = unit == 's' ? 0 : unit == 'm' ? 3 : unit == 'u' ? 6 : 9;
        int64_t v = (unit == 's' || unit == 'm') && f[1] == 't' ? ((const int32_t *)v1)[j]
                                                                : ((const int64_t *)v1)[j];
        pdi_buf_putc(b, '"');
        if (f[1] == 't')
            put_time_of_day(b, v, per, digits);
        else
            put_timestamp(b, v, per, digits, f[3] == ':' && f[4] != 0);
        pdi_buf_putc(b, '"');
        return;
    }
    case '+': {
        if (f[1] == 's') {
            pdi_buf_putc(b, '{');
            for (int64_t k = 0; k < s->n_children; k++) {
                if (k)
                    pdi_buf_putc(b, ',');
                const char *nm = s->children[k]->name ? s->children[k]->name : "";
                put_json_string(b, (const uint8_t *)nm, strlen(nm));
                pdi_buf_putc(b, ':');
                put_value(b, s->children[k], a->children[k], j);
            }
            pdi_buf_putc(b, '}');
            return;
        }
        if (f[1] == 'l' || f[1] == 'm') {
            const int32_t *o = v1;
            bool map = f[1] == 'm';
            pdi_buf_putc(b, map ? '{' : '[');
            const struct ArrowSchema *cs = s->children[0];
            const struct ArrowArray *ca = a->children[0];
            for (int32_t k = o[j]; k < o[j + 1]; k++) {
                if (k > o[j])
                    pdi_buf_putc(b, ',');
                if (map) {
                    put_key(b, cs->children[0], ca->children[0], ca->offset + k);
                    pdi_buf_putc(b, ':');
                    put_value(b, cs->children[1], ca->children[1], ca->offset + k);
                } else {
                    put_value(b, cs, ca, k);
                }
            }
            pdi_buf_putc(b, map ? '}' : ']');
            return;
        }
        break;
    }
    default: break;
    }
    pdi_buf_puts(b, "\"<unsupported>\"");
}

static void put_csv_field(pd_buf *b, const char *s, size_t n)
{
    bool q = false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            q = true;
    if (!q) {
        pdi_buf_append(b, s, n);
        return;
    }
    pdi_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            pdi_buf_putc(b, '"');
        pdi_buf_putc(b, s[i]);
    }
    pdi_buf_putc(b, '"');
}

static void
put_csv_value(pd_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i)
{
    if (!is_valid(a, i))
        return;
    pd_buf tmp = PD_BUF_INIT;
    put_value(&tmp, s, a, i);
    const char *t = tmp.data ? tmp.data : "";
    size_t n = tmp.len;
    char f = s->format[0];
    if (n >= 2 && t[0] == '"' && f != '+') {
        /* a plain JSON string: unescape the simple cases for CSV */
        pd_jval *jv = pdi_json_parse(t, n);
        if (jv && jv->type == PD_J_STR) {
            put_csv_field(b, jv->str, strlen(jv->str));
            pdi_jval_free(jv);
            pdi_buf_free(&tmp);
            return;
        }
        pdi_jval_free(jv);
    }
    put_csv_field(b, t, n);
    pdi_buf_free(&tmp);
}

/* ------------------------------------------------------------------ inputs and outputs */
/* One opened input: a local path (the reader maps it) or an S3 object read
 * through src/fs with ranged GETs. */
typedef struct input {
    pd_fs *fs;
    pd_fs_file *f;
    pd_parquet_reader *r;
    int *cols;
    pd_parquet_read_options ro;
} input;

static void input_close(input *in)
{
    pd_parquet_close(in->r);
    pdi_fs_file_close(in->f);
    pdi_fs_close(in->fs);
    free(in->cols);
    memset(in, 0, sizeof *in);
}

/* `columns`: NULL or "a,b,c" (top-level field names). */
static int
input_open(const char *path, const pd_parquet_read_options *ro, const char *columns, input *in)
{
    memset(in, 0, sizeof *in);
    if (ro)
        in->ro = *ro;
    else
        in->ro = (pd_parquet_read_options)PD_PARQUET_READ_OPTIONS_INIT;
    int rc;
    if (pdi_fs_is_s3(path) || pdi_str_starts(path, "file://")) {
        rc = pdi_fs_open(NULL, &in->fs);
        if (!rc)
            rc = pdi_fs_file_open(in->fs, path, &in->f);
        if (!rc)
            rc =
                pd_parquet_open_callback(pdi_fs_read_at_cb, in->f, pdi_fs_file_size(in->f), &in->r);
    } else {
        rc = pd_parquet_open_path(path, &in->r);
    }
    if (!rc && columns) {
        struct ArrowSchema sc;
        rc = pd_parquet_get_schema(in->r, &sc);
        if (!rc) {
            char *list = pdi_strdup(columns), *save = NULL;
            in->cols = pdi_calloc((size_t)sc.n_children + 1, sizeof *in->cols);
            int n = 0;
            for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && !rc;
                 t = strtok_r(NULL, ",", &save)) {
                int64_t k = 0;
                while (k < sc.n_children && strcmp(sc.children[k]->name, t) != 0)
                    k++;
                if (k == sc.n_children)
                    rc = pd_set_error(PD_ERR_INVALID, "no column '%s'", t);
                else if (n < sc.n_children)
                    in->cols[n++] = (int)k;
            }
            free(list);
            in->ro.columns = in->cols;
            in->ro.n_columns = n;
            sc.release(&sc);
        }
    }
    if (rc)
        input_close(in);
    return rc;
}

/* Drain a stream into OUT: a local path (written beside it and renamed), or
 * an S3 object (streaming multipart upload, visible only when complete). */
static int
write_output(const char *out, struct ArrowArrayStream *st, const pd_parquet_write_options *o)
{
    if (!pdi_fs_is_s3(out) && !pdi_str_starts(out, "file://"))
        return pd_parquet_write_stream(out, st, o);
    pd_fs *fs = NULL;
    pd_fs_writer *w = NULL;
    pd_parquet_writer *pw = NULL;
    struct ArrowSchema sc;
    sc.release = NULL;
    int rc = pdi_fs_open(NULL, &fs);
    if (!rc && st->get_schema(st, &sc) != 0)
        rc = pd_set_error(PD_ERR_IO, "%s", st->get_last_error(st));
    if (!rc)
        rc = pdi_fs_writer_open(fs, out, &w);
    if (!rc)
        rc = pd_parquet_writer_open_callback(pdi_fs_write_cb, w, &sc, o, &pw);
    while (!rc) {
        struct ArrowArray a;
        if (st->get_next(st, &a) != 0) {
            rc = pd_set_error(PD_ERR_IO, "%s", st->get_last_error(st));
            break;
        }
        if (!a.release)
            break;
        rc = pd_parquet_writer_write(pw, &a);
        a.release(&a);
    }
    if (!rc) {
        rc = pd_parquet_writer_close(pw);
        pw = NULL;
    }
    if (!rc) {
        rc = pdi_fs_writer_commit(w);
        w = NULL;
    }
    pd_parquet_writer_abort(pw);
    pdi_fs_writer_abort(w);
    if (sc.release)
        sc.release(&sc);
    st->release(st);
    pdi_fs_close(fs);
    return rc;
}

/* ------------------------------------------------------------------ commands */
static int print_rows(const char *path,
                      const pd_parquet_read_options *ro,
                      const char *columns,
                      int fmt,
                      int64_t limit,
                      bool header,
                      int64_t *printed)
{
    struct ArrowArrayStream st;
    input in;
    if (input_open(path, ro, columns, &in))
        return fail(path);
    if (pd_parquet_read_stream(in.r, &in.ro, &st)) {
        input_close(&in);
        return fail(path);
    }
    struct ArrowSchema sc;
    if (st.get_schema(&st, &sc) != 0) {
        fprintf(stderr, "pipedag parquet: %s: %s\n", path, st.get_last_error(&st));
        st.release(&st);
        input_close(&in);
        return 1;
    }
    pd_buf b = PD_BUF_INIT;
    if (fmt == FMT_CSV && header) {
        for (int64_t k = 0; k < sc.n_children; k++) {
            if (k)
                pdi_buf_putc(&b, ',');
            const char *nm = sc.children[k]->name;
            put_csv_field(&b, nm, strlen(nm));
        }
        pdi_buf_putc(&b, '\n');
    }
    int ret = 0;
    while (limit < 0 || *printed < limit) {
        struct ArrowArray arr;
        if (st.get_next(&st, &arr) != 0) {
            fprintf(stderr, "pipedag parquet: %s: %s\n", path, st.get_last_error(&st));
            ret = 1;
            break;
        }
        if (!arr.release)
            break;
        for (int64_t i = 0; i < arr.length && (limit < 0 || *printed < limit); i++) {
            if (fmt == FMT_JSONL) {
                put_value(&b, &sc, &arr, i);
            } else {
                for (int64_t k = 0; k < sc.n_children; k++) {
                    if (k)
                        pdi_buf_putc(&b, ',');
                    put_csv_value(&b, sc.children[k], arr.children[k], arr.offset + i);
                }
            }
            pdi_buf_putc(&b, '\n');
            (*printed)++;
            if (b.len > (1 << 16)) {
                fwrite(b.data, 1, b.len, stdout);
                pdi_buf_clear(&b);
            }
        }
        arr.release(&arr);
    }
    if (b.len)
        fwrite(b.data, 1, b.len, stdout);
    pdi_buf_free(&b);
    sc.release(&sc);
    st.release(&st);
    input_close(&in);
    return ret;
}

static void format_type(pd_buf *b, const struct ArrowSchema *s)
{
    const char *f = s->format;
    static const struct {
        const char *fmt, *name;
    } names[] = {
        {"b", "bool"},         {"c", "int8"},         {"C", "uint8"},       {"s", "int16"},
        {"S", "uint16"},       {"i", "int32"},        {"I", "uint32"},      {"l", "int64"},
        {"L", "uint64"},       {"e", "float16"},      {"f", "float32"},     {"g", "float64"},
        {"u", "string"},       {"z", "binary"},       {"n", "null"},        {"tdD", "date32"},
        {"ttm", "time32[ms]"}, {"ttu", "time64[us]"}, {"ttn", "time64[ns]"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(f, names[i].fmt) == 0) {
            pdi_buf_puts(b, names[i].name);
            return;
        }
    if (f[0] == 't' && f[1] == 's') {
        const char *u = f[2] == 'm' ? "ms" : f[2] == 'u' ? "us" : f[2] == 'n' ? "ns" : "s";
        pdi_buf_printf(b, "timestamp[%s%s%s]", u, f[4] ? ", tz=" : "", f + 4);
    } else if (f[0] == 'd' && f[1] == ':') {
        pdi_buf_printf(b, "decimal128(%s)", f + 2);
    } else if (f[0] == 'w' && f[1] == ':') {
        pdi_buf_printf(b, "fixed_size_binary[%s]", f + 2);
    } else if (strcmp(f, "+l") == 0) {
        pdi_buf_puts(b, "list<");
        format_type(b, s->children[0]);
        pdi_buf_putc(b, '>');
    } else if (strcmp(f, "+m") == 0) {
        pdi_buf_puts(b, "map<");
        format_type(b, s->children[0]->children[0]);
        pdi_buf_puts(b, ", ");
        format_type(b, s->children[0]->children[1]);
        pdi_buf_putc(b, '>');
    } else if (strcmp(f, "+s") == 0) {
        pdi_buf_puts(b, "struct<");
        for (int64_t k = 0; k < s->n_children; k++) {
            pdi_buf_printf(b, "%s%s: ", k ? ", " : "", s->children[k]->name);
            format_type(b, s->children[k]);
            if (!(s->children[k]->flags & ARROW_FLAG_NULLABLE))
                pdi_buf_puts(b, " not null");
        }
        pdi_buf_putc(b, '>');
    } else {
        pdi_buf_puts(b, f);
    }
}

static int cmd_schema(const char *path)
{
    input in;
    if (input_open(path, NULL, NULL, &in))
        return fail(path);
    pd_parquet_reader *r = in.r;
    struct ArrowSchema s;
    if (pd_parquet_get_schema(r, &s)) {
        input_close(&in);
        return fail(path);
    }
    pd_buf b = PD_BUF_INIT;
    for (int64_t k = 0; k < s.n_children; k++) {
        pdi_buf_printf(&b, "%s: ", s.children[k]->name);
        format_type(&b, s.children[k]);
        if (!(s.children[k]->flags & ARROW_FLAG_NULLABLE))
            pdi_buf_puts(&b, " not null");
        pdi_buf_putc(&b, '\n');
    }
    if (b.data)
        fputs(b.data, stdout);
    pdi_buf_free(&b);
    s.release(&s);
    input_close(&in);
    return 0;
}

static int cmd_meta(const char *path)
{
    input in;
    if (input_open(path, NULL, NULL, &in))
        return fail(path);
    char *d = pd_parquet_describe(in.r);
    input_close(&in);
    if (!d)
        return fail(path);
    fputs(d, stdout);
    free(d);
    return 0;
}

static int parse_format(const char *s, int *fmt)
{
    if (strcmp(s, "jsonl") == 0 || strcmp(s, "json") == 0)
        *fmt = FMT_JSONL;
    else if (strcmp(s, "csv") == 0)
        *fmt = FMT_CSV;
    else
        return -1;
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* --threads N / --verify-checksums / --int96-unit us|ns at argv[*i]: 1 =
 * taken (and *i advanced past its value), 0 = not a read option, -1 = bad
 * value. */
static int parse_read_option(int argc, char **argv, int *i, pd_parquet_read_options *ro)
{
    int64_t v;
    if (strcmp(argv[*i], "--verify-checksums") == 0) {
        ro->verify_checksums = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--int96-unit") == 0) {
        if (*i + 1 >= argc)
            return -1;
        const char *u = argv[++*i];
        if (strcmp(u, "us") == 0)
            ro->int96_unit = PD_PARQUET_INT96_US;
        else if (strcmp(u, "ns") == 0)
            ro->int96_unit = PD_PARQUET_INT96_NS;
        else
            return -1;
        return 1;
    }
    if (strcmp(argv[*i], "--threads") != 0)
        return 0;
    if (*i + 1 >= argc || parse_i64(argv[++*i], &v) || v < 1 || v > 64)
        return -1;
    ro->threads = (int)v;
    return 1;
}

static int cmd_print(int argc, char **argv, bool head)
{
    pd_parquet_read_options ro = PD_PARQUET_READ_OPTIONS_INIT;
    int fmt = FMT_JSONL;
    int64_t limit = head ? 10 : -1;
    const char *columns = NULL;
    const char *files[256];
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        int taken = parse_read_option(argc, argv, &i, &ro);
        if (taken < 0)
            return usage();
        if (taken)
            continue;
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (parse_format(argv[++i], &fmt))
                return usage();
        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            if (parse_format(argv[i] + 9, &fmt))
                return usage();
        } else if (strcmp(argv[i], "--columns") == 0 && i + 1 < argc) {
            columns = argv[++i];
        } else if (head && strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &limit))
                return usage();
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage();
        } else if (nf < 256) {
            files[nf++] = argv[i];
        }
    }
    if (nf == 0 || (head && nf != 1))
        return usage();
    int64_t printed = 0;
    for (int k = 0; k < nf; k++) {
        int rc = print_rows(files[k], &ro, columns, fmt, limit, k == 0, &printed);
        if (rc) {
            fflush(stdout);
            return rc;
        }
    }
    fflush(stdout);
    return 0;
}

static int cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
    pd_parquet_read_options ro = PD_PARQUET_READ_OPTIONS_INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int64_t v;
        int taken = parse_read_option(argc, argv, &i, &ro);
        if (taken < 0)
            return usage();
        if (taken) {
            o.threads = ro.threads;
        } else if (strcmp(a, "--codec") == 0 && i + 1 < argc) {
            if (!pd_parquet_codec_from_name) {
                fprintf(stderr, "pipedag parquet: the Parquet writer is not available\n");
                return 1;
            }
            if (pd_parquet_codec_from_name(argv[++i], &o.codec))
                return fail("convert");
        } else if (strcmp(a, "--level") == 0 && i + 1 < argc) {
            char *end;
            long l = strtol(argv[++i], &end, 10);
            if (*end)
                return usage();
            o.level = (int)l;
        } else if (strcmp(a, "--page-version") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &v) || (v != 1 && v != 2))
                return usage();
            o.page_version = (int)v;
        } else if (strcmp(a, "--row-group-rows") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &v) || v == 0)
                return usage();
            o.row_group_rows = v;
        } else if (strcmp(a, "--no-dictionary") == 0) {
            o.dictionary = 0;
        } else if (a[0] == '-' && a[1]) {
            return usage();
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            return usage();
        }
    }
    if (!in || !out)
        return usage();
    if (!pd_parquet_write_stream) {
        fprintf(stderr, "pipedag parquet: the Parquet writer is not available\n");
        return 1;
    }
    struct ArrowArrayStream st;
    input src;
    if (input_open(in, &ro, NULL, &src))
        return fail(in);
    if (pd_parquet_read_stream(src.r, &src.ro, &st)) {
        input_close(&src);
        return fail(in);
    }
    int rc = write_output(out, &st, &o); /* releases the stream */
    input_close(&src);
    return rc ? fail(out) : 0;
}

/* Which row groups may hold VALUE in COLUMN, by the column's Bloom filters. */
static int cmd_bloom(const char *path, const char *column, const char *value)
{
    input in;
    if (input_open(path, NULL, NULL, &in))
        return fail(path);
    pd_parquet_reader *r = in.r;
    int n = pd_parquet_num_row_groups(r);
    for (int g = 0; g < n; g++) {
        int rc = pd_parquet_bloom_check_text(r, g, column, value);
        if (rc == PD_ERR_NOT_FOUND) {
            printf("row group %d: no Bloom filter\n", g);
        } else if (rc < 0) {
            input_close(&in);
            return fail(path);
        } else {
            printf("row group %d: %s\n", g, rc ? "may contain" : "absent");
        }
    }
    input_close(&in);
    return 0;
}

int pdi_cli_parquet(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "schema") == 0)
        return argc == 3 ? cmd_schema(argv[2]) : usage();
    if (strcmp(cmd, "meta") == 0)
        return argc == 3 ? cmd_meta(argv[2]) : usage();
    if (strcmp(cmd, "head") == 0)
        return cmd_print(argc - 1, argv + 1, true);
    if (strcmp(cmd, "cat") == 0)
        return cmd_print(argc - 1, argv + 1, false);
    if (strcmp(cmd, "convert") == 0)
        return cmd_convert(argc - 1, argv + 1);
    if (strcmp(cmd, "bloom") == 0)
        return argc == 5 ? cmd_bloom(argv[2], argv[3], argv[4]) : usage();
    return usage();
}
