/*
 * arrow/format.c - classification of Arrow format strings and the text
 * conversions the builder and the accessors share: decimal128 <-> text and
 * ISO-8601 dates, times and timestamps <-> integers.
 */
#include "arrow_int.h"

#include <stdlib.h>
#include <string.h>

int64_t pdi_unit_per_second(int unit)
{
    static const int64_t f[4] = {1, 1000, 1000000, 1000000000};
    return (unit >= 0 && unit <= 3) ? f[unit] : 1;
}

static int unit_of(char c)
{
    switch (c) {
    case 's': return 0;
    case 'm': return 1;
    case 'u': return 2;
    case 'n': return 3;
    default: return -1;
    }
}

static int parse_int_str(const char *s, int64_t *out, const char **end)
{
    char *e = NULL;
    long long v = strtoll(s, &e, 10);
    if (e == s) {
        return -1;
    }
    *out = v;
    if (end) {
        *end = e;
    }
    return 0;
}

int pdi_format_parse(const char *fmt, pdi_format *f)
{
    memset(f, 0, sizeof *f);
    f->tz = "";
    f->n_buffers = 2;
    if (!fmt || !fmt[0]) {
        return pd_set_error(PD_ERR_INVALID, "arrow: empty format string");
    }
    const char *e = NULL;
    int64_t v = 0;
    if (fmt[1] == '\0') {
        switch (fmt[0]) {
        case 'n':
            f->kind = PDI_K_NULL;
            f->n_buffers = 0;
            return PD_OK;
        case 'b':
            f->kind = PDI_K_BOOL;
            f->bit_width = 1;
            return PD_OK;
        case 'c':
            f->kind = PDI_K_INT;
            f->bit_width = 8;
            return PD_OK;
        case 'C':
            f->kind = PDI_K_UINT;
            f->bit_width = 8;
            return PD_OK;
        case 's':
            f->kind = PDI_K_INT;
            f->bit_width = 16;
            return PD_OK;
        case 'S':
            f->kind = PDI_K_UINT;
            f->bit_width = 16;
            return PD_OK;
        case 'i':
            f->kind = PDI_K_INT;
            f->bit_width = 32;
            return PD_OK;
        case 'I':
            f->kind = PDI_K_UINT;
            f->bit_width = 32;
            return PD_OK;
        case 'l':
            f->kind = PDI_K_INT;
            f->bit_width = 64;
            return PD_OK;
        case 'L':
            f->kind = PDI_K_UINT;
            f->bit_width = 64;
            return PD_OK;
        case 'e':
            f->kind = PDI_K_FLOAT;
            f->bit_width = 16;
            return PD_OK;
        case 'f':
            f->kind = PDI_K_FLOAT;
            f->bit_width = 32;
            return PD_OK;
        case 'g':
            f->kind = PDI_K_FLOAT;
            f->bit_width = 64;
            return PD_OK;
        case 'z':
            f->kind = PDI_K_BIN;
            f->n_buffers = 3;
            return PD_OK;
        case 'u':
            f->kind = PDI_K_BIN;
            f->is_utf8 = true;
            f->n_buffers = 3;
            return PD_OK;
        case 'Z':
            f->kind = PDI_K_LARGE_BIN;
            f->n_buffers = 3;
            return PD_OK;
        case 'U':
            f->kind = PDI_K_LARGE_BIN;
            f->is_utf8 = true;
            f->n_buffers = 3;
            return PD_OK;
        default: break;
        }
    } else if (fmt[0] == 'v' && (fmt[1] == 'z' || fmt[1] == 'u') && fmt[2] == '\0') {
        f->kind = PDI_K_VIEW;
        f->is_utf8 = fmt[1] == 'u';
        f->n_buffers = -1;
        return PD_OK;
    } else if (fmt[0] == 'd' && fmt[1] == ':') {
        int64_t p = 0, sc = 0, w = 128;
        if (parse_int_str(fmt + 2, &p, &e) == 0 && *e == ',' &&
            parse_int_str(e + 1, &sc, &e) == 0 &&
            (*e == '\0' || (*e == ',' && parse_int_str(e + 1, &w, &e) == 0 && *e == '\0')) &&
            p >= 1 && p <= 76 && sc >= -76 && sc <= 76 &&
            (w == 32 || w == 64 || w == 128 || w == 256)) {
            f->kind = PDI_K_DECIMAL;
            f->precision = (int)p;
            f->scale = (int)sc;
            f->bit_width = (int)w;
            return PD_OK;
        }
    } else if (fmt[0] == 'w' && fmt[1] == ':') {
        if (parse_int_str(fmt + 2, &v, &e) == 0 && *e == '\0' && v >= 0) {
            f->kind = PDI_K_FIXED_BIN;
            f->fixed_size = v;
            f->bit_width = (int)(v * 8);
            return PD_OK;
        }
    } else if (fmt[0] == 't') {
        f->kind = PDI_K_INT;
        if (fmt[1] == 'd' && fmt[2] && !fmt[3]) {
            if (fmt[2] == 'D') {
                f->temporal = PDI_T_DATE32;
                f->bit_width = 32;
                return PD_OK;
            }
            if (fmt[2] == 'm') {
                f->temporal = PDI_T_DATE64;
                f->unit = 1;
                f->bit_width = 64;
                return PD_OK;
            }
        } else if (fmt[1] == 't' && fmt[2] && !fmt[3] && unit_of(fmt[2]) >= 0) {
            f->temporal = PDI_T_TIME;
            f->unit = unit_of(fmt[2]);
            f->bit_width = f->unit <= 1 ? 32 : 64;
            return PD_OK;
        } else if (fmt[1] == 's' && fmt[2] && unit_of(fmt[2]) >= 0 && fmt[3] == ':') {
            f->temporal = PDI_T_TIMESTAMP;
            f->unit = unit_of(fmt[2]);
            f->bit_width = 64;
            f->tz = fmt + 4;
            return PD_OK;
        } else if (fmt[1] == 'D' && fmt[2] && !fmt[3] && unit_of(fmt[2]) >= 0) {
            f->temporal = PDI_T_DURATION;
            f->unit = unit_of(fmt[2]);
            f->bit_width = 64;
            return PD_OK;
        } else if (fmt[1] == 'i' && fmt[2] && !fmt[3]) {
            f->kind = PDI_K_INTERVAL;
            f->bit_width = fmt[2] == 'M' ? 32 : fmt[2] == 'D' ? 64 : fmt[2] == 'n' ? 128 : 0;
            if (f->bit_width) {
                return PD_OK;
            }
        }
    } else if (fmt[0] == '+') {
        switch (fmt[1]) {
        case 'l':
            if (!fmt[2]) {
                f->kind = PDI_K_LIST;
                return PD_OK;
            }
            break;
        case 'L':
            if (!fmt[2]) {
                f->kind = PDI_K_LARGE_LIST;
                return PD_OK;
            }
            break;
        case 's':
            if (!fmt[2]) {
                f->kind = PDI_K_STRUCT;
                f->n_buffers = 1;
                return PD_OK;
            }
            break;
        case 'm':
            if (!fmt[2]) {
                f->kind = PDI_K_MAP;
                return PD_OK;
            }
            break;
        case 'r':
            if (!fmt[2]) {
                f->kind = PDI_K_RUN_END;
                f->n_buffers = 0;
                return PD_OK;
            }
            break;
        case 'w':
            if (fmt[2] == ':' && parse_int_str(fmt + 3, &v, &e) == 0 && *e == '\0' && v >= 0) {
                f->kind = PDI_K_FIXED_LIST;
                f->fixed_size = v;
                f->n_buffers = 1;
                return PD_OK;
            }
            break;
        case 'v':
            if ((fmt[2] == 'l' || fmt[2] == 'L') && !fmt[3]) {
                f->kind = PDI_K_LIST_VIEW;
                f->n_buffers = 3;
                return PD_OK;
            }
            break;
        case 'u':
            if (fmt[2] == 'd' && fmt[3] == ':') {
                f->kind = PDI_K_DENSE_UNION;
                f->n_buffers = 2;
                return PD_OK;
            }
            if (fmt[2] == 's' && fmt[3] == ':') {
                f->kind = PDI_K_SPARSE_UNION;
                f->n_buffers = 1;
                return PD_OK;
            }
            break;
        default: break;
        }
    }
    return pd_set_error(PD_ERR_INVALID, "arrow: unsupported format string '%s'", fmt);
}

/* ---- decimal128 ---- */

static pdi_i128 pow10_i128(int n)
{
    pdi_i128 r = 1;
    for (int i = 0; i < n; i++) {
        r *= 10;
    }
    return r;
}

int pdi_decimal_parse(const char *s, size_t n, int precision, int scale, pdi_i128 *out)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    /* Collect significant digits and the position of the decimal point. */
    char digits[160];
    int nd = 0, frac = 0, exp10 = 0;
    bool seen_point = false, any = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = true;
            if (nd == 0 && c == '0') {
                if (seen_point) {
                    frac++;
                }
                continue; /* leading zero */
            }
            if (nd >= (int)sizeof digits) {
                return -1;
            }
            digits[nd++] = c;
            if (seen_point) {
                frac++;
            }
        } else if (c == '.' && !seen_point) {
            seen_point = true;
        } else if ((c == 'e' || c == 'E') && any) {
            char buf[16];
            size_t el = n - i - 1;
            if (el == 0 || el >= sizeof buf) {
                return -1;
            }
            memcpy(buf, s + i + 1, el);
            buf[el] = '\0';
            char *e = NULL;
            long x = strtol(buf, &e, 10);
            if (*e || x > 1000 || x < -1000) {
                return -1;
            }
            exp10 = (int)x;
            i = n;
            break;
        } else {
            return -1;
        }
    }
    if (!any) {
        return -1;
    }
    /* value = digits * 10^(exp10 - frac); want v = value * 10^scale. */
    int shift = exp10 - frac + scale;
    pdi_i128 v = 0;
    const pdi_i128 lim = pow10_i128(precision > 38 ? 38 : precision);
    int keep = nd;
    bool round_up = false;
    if (shift < 0) {
        /* drop -shift trailing digits, rounding half away from zero */
        keep = nd + shift;
        if (keep < 0) {
            keep = 0;
            round_up = false;
        } else if (keep < nd) {
            round_up = digits[keep] >= '5';
        }
    }
    for (int k = 0; k < keep; k++) {
        v = v * 10 + (digits[k] - '0');
        if (v >= lim) {
            return -2;
        }
    }
    for (int k = 0; k < shift; k++) {
        v *= 10;
        if (v >= lim) {
            return -2;
        }
    }
    if (round_up) {
        v += 1;
        if (v >= lim) {
            return -2;
        }
    }
    *out = neg ? -v : v;
    return 0;
}

size_t pdi_decimal_format(pdi_i128 v, int scale, char *buf)
{
    char tmp[64];
    int n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    size_t len = 0;
    if (neg) {
        buf[len++] = '-';
    }
    if (scale <= 0) {
        for (int k = n - 1; k >= 0; k--) {
            buf[len++] = tmp[k];
        }
        for (int k = 0; k < -scale; k++) {
            buf[len++] = '0';
        }
    } else {
        while (n <= scale) {
            tmp[n++] = '0';
        }
        for (int k = n - 1; k >= 0; k--) {
            buf[len++] = tmp[k];
            if (k == scale) {
                buf[len++] = '.';
            }
        }
    }
    buf[len] = '\0';
    return len;
}

/* ---- civil dates (proleptic Gregorian, days since 1970-01-01) ---- */

int64_t pdi_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void pdi_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* Read exactly `w` digits at s[*i]. */
static int rd_digits(const char *s, size_t n, size_t *i, int w, int64_t *out)
{
    int64_t v = 0;
    for (int k = 0; k < w; k++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9') {
            return -1;
        }
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return 0;
}

static int parse_date_at(const char *s, size_t n, size_t *i, int64_t *days)
{
    bool neg = false;
    if (*i < n && (s[*i] == '-' || s[*i] == '+')) {
        neg = s[*i] == '-';
        (*i)++;
    }
    int64_t y = 0, mo, d;
    int nd = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9' && nd < 9) {
        y = y * 10 + (s[*i] - '0');
        (*i)++;
        nd++;
    }
    if (nd < 4 || *i >= n || s[*i] != '-') {
        return -1;
    }
    (*i)++;
    if (rd_digits(s, n, i, 2, &mo) || *i >= n || s[*i] != '-') {
        return -1;
    }
    (*i)++;
    if (rd_digits(s, n, i, 2, &d)) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31) {
        return -1;
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (neg) {
        y = -y;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) {
        return -1;
    }
    *days = pdi_days_from_civil(y, (unsigned)mo, (unsigned)d);
    return 0;
}

/* HH:MM[:SS[.fff]] -> nanoseconds since midnight. */
static int parse_time_at(const char *s, size_t n, size_t *i, int64_t *ns)
{
    int64_t h, mi, se = 0, fr = 0;
    if (rd_digits(s, n, i, 2, &h) || *i >= n || s[*i] != ':') {
        return -1;
    }
    (*i)++;
    if (rd_digits(s, n, i, 2, &mi)) {
        return -1;
    }
    if (*i < n && s[*i] == ':') {
        (*i)++;
        if (rd_digits(s, n, i, 2, &se)) {
            return -1;
        }
        if (*i < n && s[*i] == '.') {
            (*i)++;
            int nd = 0;
            while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
                if (nd < 9) {
                    fr = fr * 10 + (s[*i] - '0');
                }
                nd++;
                (*i)++;
            }
            if (nd == 0) {
                return -1;
            }
            for (int k = nd; k < 9; k++) {
                fr *= 10;
            }
        }
    }
    if (h > 24 || mi > 59 || se > 60) {
        return -1;
    }
    *ns = ((h * 60 + mi) * 60 + se) * 1000000000LL + fr;
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

int pdi_parse_date(const char *s, size_t n, int64_t *days)
{
    trim(&s, &n);
    size_t i = 0;
    if (parse_date_at(s, n, &i, days)) {
        return -1;
    }
    /* Accept a trailing midnight time ("2024-01-02 00:00:00"). */
    if (i < n && (s[i] == ' ' || s[i] == 'T')) {
        int64_t ns = 0;
        i++;
        if (parse_time_at(s, n, &i, &ns) || ns != 0) {
            return -1;
        }
    }
    return i == n ? 0 : -1;
}

static int64_t ns_to_unit(int64_t ns, int unit)
{
    int64_t div = 1000000000LL / pdi_unit_per_second(unit);
    int64_t q = ns / div;
    if (ns % div != 0 && ns < 0) {
        q--; /* floor */
    }
    return q;
}

int pdi_parse_time(const char *s, size_t n, int unit, int64_t *out)
{
    trim(&s, &n);
    size_t i = 0;
    int64_t ns;
    if (parse_time_at(s, n, &i, &ns) || i != n) {
        return -1;
    }
    *out = ns_to_unit(ns, unit);
    return 0;
}

int pdi_parse_timestamp(const char *s, size_t n, int unit, int64_t *out)
{
    trim(&s, &n);
    size_t i = 0;
    int64_t days, ns = 0, off_s = 0;
    if (parse_date_at(s, n, &i, &days)) {
        return -1;
    }
    if (i < n && (s[i] == ' ' || s[i] == 'T')) {
        i++;
        if (parse_time_at(s, n, &i, &ns)) {
            return -1;
        }
    }
    if (i < n && s[i] == ' ') {
        i++;
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        int64_t hh, mm = 0;
        i++;
        if (rd_digits(s, n, &i, 2, &hh)) {
            return -1;
        }
        if (i < n && s[i] == ':') {
            i++;
        }
        if (i < n && rd_digits(s, n, &i, 2, &mm)) {
            return -1;
        }
        off_s = sign * (hh * 3600 + mm * 60);
    } else if (n - i == 3 && memcmp(s + i, "UTC", 3) == 0) {
        i += 3;
    }
    if (i != n) {
        return -1;
    }
    /* Split into seconds and sub-second nanoseconds to avoid overflow. */
    int64_t secs = days * 86400 + ns / 1000000000LL - off_s;
    int64_t sub = ns % 1000000000LL;
    int64_t ups = pdi_unit_per_second(unit);
    int64_t r;
    if (__builtin_mul_overflow(secs, ups, &r) ||
        __builtin_add_overflow(r, sub / (1000000000LL / ups), &r)) {
        return -1;
    }
    *out = r;
    return 0;
}
