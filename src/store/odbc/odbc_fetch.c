/*
 * store/odbc/odbc_fetch.c - query results as Arrow, with block cursors.
 *
 * The statement's rowset (SQL_ATTR_ROW_ARRAY_SIZE rows per SQLFetch) is
 * bound column-wise: integer and floating columns straight into the values
 * buffer of the Arrow batch being filled (the bind address moves along the
 * batch from one fetch to the next), the other columns into per-column
 * scratch arrays converted after each fetch (UTF-16 -> UTF-8 text, date and
 * timestamp structs -> days/microseconds, decimal text -> decimal128,
 * BIT bytes -> bitmap). Indicators become the validity bitmap.
 *
 * Nothing is cut short: a text or binary value longer than its bound width
 * is read whole with SQLGetData after SQLSetPos on drivers with
 * SQL_GD_BLOCK; drivers without it read a row at a time (rowset 1) with
 * text and binary columns fetched by SQLGetData.
 */
#include "store/odbc/odbc_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* SQL Server specific types (msodbcsql sqlncli.h values). */
#define PDI_SQL_SS_VARIANT         (-150)
#define PDI_SQL_SS_XML             (-152)
#define PDI_SQL_SS_TIME2           (-154)
#define PDI_SQL_SS_TIMESTAMPOFFSET (-155)

/* Bytes of bind memory one rowset may use. */
#define PDI_ROWSET_BYTES (8u << 20)
/* Bound width (UTF-16 units / bytes) of text/binary columns without a
 * known small size. */
#define PDI_LONG_WIDTH   2048

typedef enum fk {
    FK_BOOL,
    FK_I16,
    FK_I32,
    FK_I64,
    FK_F32,
    FK_F64,
    FK_DEC,  /* text -> decimal128 */
    FK_TEXT, /* UTF-16 -> utf8 */
    FK_BIN,
    FK_DATE,
    FK_TIME, /* text -> time64[us] */
    FK_TS,
    FK_TSTZ /* text with offset -> timestamp[us, UTC] */
} fk;

typedef struct fcol {
    char *name;
    fk kind;
    SQLSMALLINT ctype;
    char format[32];
    int prec, scale;
    bool nullable;
    bool direct;  /* bound into the batch's values buffer */
    bool getdata; /* row mode: read with SQLGetData, not bound */
    size_t elem;  /* bytes per value in the values buffer (fixed kinds) */
    size_t width; /* bytes per row of the scratch buffer */
    uint8_t *scratch;
    SQLLEN *ind;
    /* batch being filled */
    uint8_t *values;
    uint8_t *validity;
    int32_t *offsets;
    pd_buf data;
    int64_t nulls;
} fcol;

typedef struct fstate {
    pdi_odbc *c;
    SQLHSTMT st;
    fcol *cols;
    size_t ncols;
    int64_t batch_cap, rowset, limit, emitted;
    bool row_mode;
    bool done;
    bool lower_upper_names;
    const char *(*type_by_name)(const char *, char *, size_t);
    const char *const *formats;
    size_t nformats;
    SQLULEN fetched;
    SQLUSMALLINT *row_status;
    pd_buf tmp; /* a whole value read with SQLGetData (UTF-8 for text) */
    pd_buf raw; /* its pieces as the driver gave them */
    char *error;
} fstate;

/* ------------------------------------------------------------ parsing */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static const char *digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return NULL;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return p + n;
}

/* "HH:MM:SS[.fffffffff]" -> micros of the day; *end after it. */
static int parse_time(const char *p, int64_t *us, const char **end)
{
    int h, mi, s;
    if (!(p = digits(p, 2, &h)) || *p++ != ':' || !(p = digits(p, 2, &mi)) || *p++ != ':' ||
        !(p = digits(p, 2, &s)))
        return -1;
    int64_t frac = 0;
    int nd = 0;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (nd < 6) {
                frac = frac * 10 + (*p - '0');
                nd++;
            } else if (*p != '0') {
                return -1; /* sub-microsecond digits would be lost */
            }
            p++;
        }
    }
    while (nd < 6) {
        frac *= 10;
        nd++;
    }
    if (h > 24 || mi > 59 || s > 60)
        return -1;
    *us = ((int64_t)h * 3600 + mi * 60 + s) * 1000000 + frac;
    *end = p;
    return 0;
}

/* "[-]YYYY-MM-DD[ T]HH:MM:SS[.f][ ][Z|+HH[:MM[:SS]]]" -> UTC micros. */
static int parse_tstz(const char *p, int64_t *out)
{
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    int y, m, d;
    const char *q = p;
    while (isdigit((unsigned char)*q))
        q++;
    if (q - p < 4 || q - p > 6 || !digits(p, (int)(q - p), &y))
        return -1;
    p = q;
    if (*p++ != '-' || !(p = digits(p, 2, &m)) || *p++ != '-' || !(p = digits(p, 2, &d)))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t tod = 0;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (parse_time(p, &tod, &p))
            return -1;
    }
    while (*p == ' ')
        p++;
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh = 0, om = 0, os = 0;
        p++;
        if (!(p = digits(p, 2, &oh)))
            return -1;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p)) {
            if (!(p = digits(p, 2, &om)))
                return -1;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && !(p = digits(p, 2, &os)))
                return -1;
        }
        off = sign * ((int64_t)oh * 3600 + om * 60 + os) * 1000000;
    }
    while (*p == ' ')
        p++;
    if (*p)
        return -1;
    int64_t days = days_from_civil(neg ? -y : y, (unsigned)m, (unsigned)d);
    *out = days * 86400000000LL + tod - off;
    return 0;
}

/* Decimal text -> unscaled int128 at `scale`; exact or error. */
static int parse_decimal(const char *p, int scale, __int128 *out)
{
    while (*p == ' ')
        p++;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    __int128 v = 0;
    int frac = -1, nd = 0;
    const __int128 lim = (__int128)1 << 124;
    for (; *p; p++) {
        if (*p == '.') {
            if (frac >= 0)
                return -1;
            frac = 0;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        if (frac >= 0 && frac >= scale) {
            if (*p != '0')
                return -1; /* more fraction digits than the scale */
            continue;
        }
        if (v > lim)
            return -1;
        v = v * 10 + (*p - '0');
        nd++;
        if (frac >= 0)
            frac++;
    }
    int exp = 0;
    if (*p == 'e' || *p == 'E') {
        char *e;
        long x = strtol(p + 1, &e, 10);
        if (x < -60 || x > 60)
            return -1;
        exp = (int)x;
        p = e;
    }
    while (*p == ' ')
        p++;
    if (*p || nd == 0)
        return -1;
    int have = (frac < 0 ? 0 : frac) - exp;
    while (have < scale) {
        if (v > lim)
            return -1;
        v *= 10;
        have++;
    }
    while (have > scale) {
        if (v % 10)
            return -1;
        v /= 10;
        have--;
    }
    *out = neg ? -v : v;
    return 0;
}

/* ------------------------------------------------------- column setup */

static char *type_name(SQLHSTMT st, SQLUSMALLINT i)
{
    SQLWCHAR tn[128];
    SQLSMALLINT len = 0;
    if (!pdi_odbc_ok(SQLColAttributeW(st, i, SQL_DESC_TYPE_NAME, tn, sizeof tn, &len, NULL)))
        return pdi_strdup("");
    pd_buf b = PD_BUF_INIT;
    size_t n = (size_t)len / sizeof(SQLWCHAR);
    if (n > 127)
        n = 127;
    pdi_odbc_utf16_to_8(&b, tn, n);
    char *s = b.data ? pdi_str_lower(b.data) : pdi_strdup("");
    pdi_buf_free(&b);
    return s;
}

static size_t text_units(SQLULEN size)
{
    /* a VARCHAR(n) holds n characters; UTF-16 may need two units each */
    if (size == 0 || size > PDI_LONG_WIDTH / 2)
        return PDI_LONG_WIDTH;
    return (size_t)size * 2;
}

static int
apply_format(const char *fmt, SQLSMALLINT *type, SQLULEN *size, SQLSMALLINT *dd, bool *tz);

/* The SQL type that reads as the Arrow format the driver's type name
 * stands for (opts.type_by_name); the reported type stays when the name
 * gives no format. */
static int type_from_name(
    fstate *f, const char *tn, SQLSMALLINT *type, SQLULEN *size, SQLSMALLINT *dd, bool *tz)
{
    char name[160], buf[64];
    if (strncmp(tn, "decimal", 7) == 0 && *size > 0)
        snprintf(name, sizeof name, "%s(%lu,%d)", tn, (unsigned long)*size, (int)*dd);
    else
        snprintf(name, sizeof name, "%s", tn);
    return apply_format(f->type_by_name(name, buf, sizeof buf), type, size, dd, tz);
}

/* The SQL type that reads as Arrow format `fmt` (NULL or "": unchanged). */
static int
apply_format(const char *fmt, SQLSMALLINT *type, SQLULEN *size, SQLSMALLINT *dd, bool *tz)
{
    if (!fmt || !*fmt)
        return PD_OK;
    static const struct {
        const char *fmt;
        SQLSMALLINT type;
    } map[] = {
        {"b", SQL_BIT},
        {"c", SQL_SMALLINT},
        {"C", SQL_SMALLINT},
        {"s", SQL_SMALLINT},
        {"S", SQL_INTEGER},
        {"i", SQL_INTEGER},
        {"I", SQL_BIGINT},
        {"l", SQL_BIGINT},
        {"f", SQL_REAL},
        {"g", SQL_DOUBLE},
        {"u", SQL_WLONGVARCHAR},
        {"U", SQL_WLONGVARCHAR},
        {"z", SQL_LONGVARBINARY},
        {"Z", SQL_LONGVARBINARY},
        {"tdD", SQL_TYPE_DATE},
        {"tdm", SQL_TYPE_DATE},
        {"ttu", SQL_TYPE_TIME},
        {"tsu:", SQL_TYPE_TIMESTAMP},
        {"tsu:UTC", SQL_TYPE_TIMESTAMP},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
        if (strcmp(fmt, map[k].fmt) == 0) {
            *type = map[k].type;
            if (*type == SQL_WLONGVARCHAR || *type == SQL_LONGVARBINARY)
                *size = 0;
            *tz = strcmp(fmt, "tsu:UTC") == 0;
            return PD_OK;
        }
    int p = 0, s = 0;
    if (sscanf(fmt, "d:%d,%d", &p, &s) == 2 && p >= 1 && p <= 38 && s >= 0 && s <= p) {
        *type = SQL_DECIMAL;
        *size = (SQLULEN)p;
        *dd = (SQLSMALLINT)s;
    }
    /* anything else (uint64): the reported type's mapping */
    return PD_OK;
}

static int setup_col(fstate *f, SQLUSMALLINT i, fcol *col)
{
    SQLWCHAR nm[512];
    SQLSMALLINT nl = 0, type = 0, dd = 0, nul = SQL_NULLABLE_UNKNOWN;
    SQLULEN size = 0;
    if (!pdi_odbc_ok(SQLDescribeColW(f->st, i, nm, 512, &nl, &type, &size, &dd, &nul)))
        return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                             "ODBC: describing result column %u", (unsigned)i);
    pd_buf b = PD_BUF_INIT;
    if (pdi_odbc_utf16_to_8(&b, nm, nl < 511 ? (size_t)nl : 511))
        return PD_ERR_NOMEM;
    col->name = b.data ? pdi_buf_detach(&b) : pdi_strdup("");
    if (!col->name)
        return PD_ERR_NOMEM;
    if (f->lower_upper_names) {
        bool has_lower = false;
        for (const char *p = col->name; *p; p++)
            has_lower |= *p >= 'a' && *p <= 'z';
        if (!has_lower)
            for (char *p = col->name; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
    }
    col->nullable = nul != SQL_NO_NULLS;
    char *tn = type_name(f->st, i);
    if (!tn)
        return PD_ERR_NOMEM;
    bool tz = strstr(tn, "timestamptz") || strstr(tn, "with time zone") ||
              strstr(tn, "datetimeoffset") || strstr(tn, "timestamp_tz") ||
              strstr(tn, "timestamp_ltz");
    const char *given = (size_t)(i - 1) < f->nformats ? f->formats[i - 1] : NULL;
    if (given) {
        int rc = apply_format(given, &type, &size, &dd, &tz);
        if (rc) {
            free(tn);
            return rc;
        }
    } else if (f->type_by_name && *tn) {
        int rc = type_from_name(f, tn, &type, &size, &dd, &tz);
        if (rc) {
            free(tn);
            return rc;
        }
    }
    free(tn);
    switch (type) {
    case SQL_BIT:
        col->kind = FK_BOOL, col->ctype = SQL_C_BIT, col->width = 1;
        strcpy(col->format, "b");
        break;
    case SQL_TINYINT:
    case SQL_SMALLINT:
        col->kind = FK_I16, col->ctype = SQL_C_SSHORT, col->elem = 2;
        strcpy(col->format, "s");
        break;
    case SQL_INTEGER:
        col->kind = FK_I32, col->ctype = SQL_C_SLONG, col->elem = 4;
        strcpy(col->format, "i");
        break;
    case SQL_BIGINT:
        col->kind = FK_I64, col->ctype = SQL_C_SBIGINT, col->elem = 8;
        strcpy(col->format, "l");
        break;
    case SQL_REAL:
        col->kind = FK_F32, col->ctype = SQL_C_FLOAT, col->elem = 4;
        strcpy(col->format, "f");
        break;
    case SQL_FLOAT:
    case SQL_DOUBLE:
        col->kind = FK_F64, col->ctype = SQL_C_DOUBLE, col->elem = 8;
        strcpy(col->format, "g");
        break;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
        if (size >= 1 && size <= 38 && dd >= 0 && (SQLULEN)dd <= size) {
            col->kind = FK_DEC, col->ctype = SQL_C_CHAR, col->width = 64;
            col->prec = (int)size, col->scale = dd;
            col->elem = 16;
            snprintf(col->format, sizeof col->format, "d:%d,%d", col->prec, col->scale);
        } else {
            /* precision unknown or above 38: the exact value as text */
            col->kind = FK_TEXT, col->ctype = SQL_C_WCHAR;
            col->width = (PDI_LONG_WIDTH + 1) * sizeof(SQLWCHAR);
            strcpy(col->format, "u");
        }
        break;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
        col->kind = FK_BIN, col->ctype = SQL_C_BINARY;
        col->width = size > 0 && size <= PDI_LONG_WIDTH ? (size_t)size : PDI_LONG_WIDTH;
        strcpy(col->format, "z");
        break;
    case SQL_TYPE_DATE:
    case SQL_DATE:
        col->kind = FK_DATE, col->ctype = SQL_C_TYPE_DATE, col->width = sizeof(SQL_DATE_STRUCT);
        col->elem = 4;
        strcpy(col->format, "tdD");
        break;
    case SQL_TYPE_TIME:
    case SQL_TIME:
    case PDI_SQL_SS_TIME2:
        col->kind = FK_TIME, col->ctype = SQL_C_CHAR, col->width = 40, col->elem = 8;
        strcpy(col->format, "ttu");
        break;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
        if (tz) {
            col->kind = FK_TSTZ, col->ctype = SQL_C_CHAR, col->width = 64, col->elem = 8;
            strcpy(col->format, "tsu:UTC");
        } else {
            col->kind = FK_TS, col->ctype = SQL_C_TYPE_TIMESTAMP;
            col->width = sizeof(SQL_TIMESTAMP_STRUCT), col->elem = 8;
            strcpy(col->format, "tsu:");
        }
        break;
    case PDI_SQL_SS_TIMESTAMPOFFSET:
        col->kind = FK_TSTZ, col->ctype = SQL_C_CHAR, col->width = 64, col->elem = 8;
        strcpy(col->format, "tsu:UTC");
        break;
    default:
        /* CHAR/VARCHAR/LONGVARCHAR, W forms, GUID, XML, variants, unknown */
        col->kind = FK_TEXT, col->ctype = SQL_C_WCHAR;
        col->width = (text_units(type == SQL_CHAR || type == SQL_VARCHAR || type == SQL_WCHAR ||
                                         type == SQL_WVARCHAR || type == SQL_GUID
                                     ? size
                                     : 0) +
                      1) *
                     sizeof(SQLWCHAR);
        strcpy(col->format, "u");
        break;
    }
    col->direct = col->elem > 0 && col->width == 0;
    return PD_OK;
}

static void fcols_free_batch(fcol *col)
{
    free(col->values);
    free(col->validity);
    free(col->offsets);
    pdi_buf_free(&col->data);
    col->values = NULL;
    col->validity = NULL;
    col->offsets = NULL;
    col->nulls = 0;
}

static void fstate_free(fstate *f)
{
    if (!f)
        return;
    if (f->st)
        SQLFreeHandle(SQL_HANDLE_STMT, f->st);
    for (size_t i = 0; i < f->ncols; i++) {
        fcol *col = &f->cols[i];
        free(col->name);
        free(col->scratch);
        free(col->ind);
        fcols_free_batch(col);
    }
    free(f->cols);
    free(f->row_status);
    pdi_buf_free(&f->tmp);
    pdi_buf_free(&f->raw);
    free(f->error);
    free(f);
}

/* ---------------------------------------------------------- batches */

static int batch_alloc(fstate *f)
{
    size_t cap = (size_t)f->batch_cap;
    for (size_t i = 0; i < f->ncols; i++) {
        fcol *col = &f->cols[i];
        col->nulls = 0;
        col->validity = pdi_calloc((cap + 7) / 8 + 1, 1);
        if (!col->validity)
            return PD_ERR_NOMEM;
        if (col->kind == FK_BOOL) {
            col->values = pdi_calloc((cap + 7) / 8 + 1, 1);
        } else if (col->kind == FK_TEXT || col->kind == FK_BIN) {
            col->offsets = pdi_calloc(cap + 1, sizeof(int32_t));
            pdi_buf_clear(&col->data);
            if (!col->offsets || pdi_buf_reserve(&col->data, 1))
                return PD_ERR_NOMEM;
        } else {
            col->values = pdi_calloc(cap ? cap : 1, col->elem);
        }
        if ((col->kind != FK_TEXT && col->kind != FK_BIN) && !col->values)
            return PD_ERR_NOMEM;
    }
    return PD_OK;
}

static int bind_rowset(fstate *f, int64_t at)
{
    for (size_t i = 0; i < f->ncols; i++) {
        fcol *col = &f->cols[i];
        if (col->getdata)
            continue;
        SQLPOINTER p = col->direct ? (SQLPOINTER)(col->values + (size_t)at * col->elem)
                                   : (SQLPOINTER)col->scratch;
        SQLLEN w = col->direct ? (SQLLEN)col->elem : (SQLLEN)col->width;
        if (!pdi_odbc_ok(SQLBindCol(f->st, (SQLUSMALLINT)(i + 1), col->ctype, p, w, col->ind)))
            return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                                 "ODBC: binding column \"%s\"", col->name);
    }
    return PD_OK;
}

/* Close value `row` of a text/binary column at the end of its data. */
static int end_value(fcol *col, int64_t row)
{
    if (col->data.len > INT32_MAX)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "ODBC: column \"%s\": more than 2 GiB of text in one batch (use a "
                            "smaller batch)",
                            col->name);
    col->offsets[row + 1] = (int32_t)col->data.len;
    return PD_OK;
}

static int append_bytes(fcol *col, int64_t row, const void *p, size_t n)
{
    if (col->data.len + n > INT32_MAX)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "ODBC: column \"%s\": more than 2 GiB of text in one batch (use a "
                            "smaller batch)",
                            col->name);
    if (pdi_buf_append(&col->data, p, n))
        return PD_ERR_NOMEM;
    col->offsets[row + 1] = (int32_t)col->data.len;
    return PD_OK;
}

/* Whole value of column i at rowset position r (1-based) with SQLGetData,
 * into f->tmp (UTF-8 for text, bytes for binary). */
static int get_whole(fstate *f, size_t i, SQLSETPOSIROW r, bool *is_null)
{
    fcol *col = &f->cols[i];
    if (r > 0 && !pdi_odbc_ok(SQLSetPos(f->st, r, SQL_POSITION, SQL_LOCK_NO_CHANGE)))
        return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                             "ODBC: positioning on row %lu to read the long value of column "
                             "\"%s\"",
                             (unsigned long)r, col->name);
    pdi_buf_clear(&f->tmp);
    pdi_buf_clear(&f->raw);
    *is_null = false;
    uint8_t chunk[16384];
    for (;;) {
        SQLLEN ind = 0;
        SQLRETURN rr =
            SQLGetData(f->st, (SQLUSMALLINT)(i + 1), col->ctype, chunk, sizeof chunk, &ind);
        if (rr == SQL_NO_DATA)
            break;
        if (!pdi_odbc_ok(rr))
            return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                                 "ODBC: reading the long value of column \"%s\"", col->name);
        if (ind == SQL_NULL_DATA) {
            *is_null = true;
            return PD_OK;
        }
        size_t room = col->ctype == SQL_C_WCHAR  ? sizeof chunk - sizeof(SQLWCHAR)
                      : col->ctype == SQL_C_CHAR ? sizeof chunk - 1
                                                 : sizeof chunk;
        size_t got = (ind == SQL_NO_TOTAL || (size_t)ind > room) ? room : (size_t)ind;
        if (pdi_buf_append(&f->raw, chunk, got))
            return PD_ERR_NOMEM;
        if (rr == SQL_SUCCESS || (ind != SQL_NO_TOTAL && (size_t)ind <= room))
            break;
    }
    /* UTF-16 pieces are joined before conversion (a surrogate pair may be
     * split between two pieces) */
    if (col->ctype == SQL_C_WCHAR) {
        if (pdi_odbc_utf16_to_8(&f->tmp, (const SQLWCHAR *)(f->raw.data ? f->raw.data : ""),
                                f->raw.len / sizeof(SQLWCHAR)))
            return PD_ERR_NOMEM;
    } else {
        pd_buf t = f->tmp;
        f->tmp = f->raw;
        f->raw = t;
        if (pdi_buf_reserve(&f->tmp, 1))
            return PD_ERR_NOMEM;
    }
    return PD_OK;
}

static inline void set_valid(uint8_t *bm, int64_t i)
{
    bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Convert rows [0, n) of the rowset into the batch at `at`. */
static int convert_rowset(fstate *f, int64_t at, int64_t n)
{
    for (size_t i = 0; i < f->ncols; i++) {
        fcol *col = &f->cols[i];
        for (int64_t r = 0; r < n; r++) {
            int64_t row = at + r;
            SQLLEN ind;
            bool whole = false;
            if (col->getdata) {
                bool isnull;
                int rc = get_whole(f, i, 0, &isnull);
                if (rc)
                    return rc;
                ind = isnull ? SQL_NULL_DATA : (SQLLEN)f->tmp.len;
                whole = true;
            } else {
                ind = col->ind[r];
            }
            if (ind == SQL_NULL_DATA) {
                col->nulls++;
                if (col->offsets)
                    col->offsets[row + 1] = (int32_t)col->data.len;
                continue;
            }
            set_valid(col->validity, row);
            const uint8_t *p = col->scratch ? col->scratch + (size_t)r * col->width : NULL;
            switch (col->kind) {
            case FK_I16:
            case FK_I32:
            case FK_I64:
            case FK_F32:
            case FK_F64:
                if (col->getdata)
                    memcpy(col->values + (size_t)row * col->elem, f->tmp.data, col->elem);
                break;
            case FK_BOOL:
                if ((whole ? (uint8_t)f->tmp.data[0] : p[0]) != 0)
                    set_valid(col->values, row);
                break;
            case FK_TEXT:
            case FK_BIN: {
                size_t cap = col->width - (col->kind == FK_TEXT ? sizeof(SQLWCHAR) : 0);
                if (!whole && (ind == SQL_NO_TOTAL || (size_t)ind > cap)) {
                    bool isnull;
                    int rc = get_whole(f, i, (SQLSETPOSIROW)(r + 1), &isnull);
                    if (rc)
                        return rc;
                    whole = true;
                }
                int rc;
                if (whole)
                    rc = append_bytes(col, row, f->tmp.data, f->tmp.len);
                else if (col->kind == FK_TEXT) {
                    rc = pdi_odbc_utf16_to_8(&col->data, (const SQLWCHAR *)p,
                                             (size_t)ind / sizeof(SQLWCHAR));
                    if (!rc)
                        rc = end_value(col, row);
                } else
                    rc = append_bytes(col, row, p, (size_t)ind);
                if (rc)
                    return rc;
                break;
            }
            case FK_DATE: {
                const SQL_DATE_STRUCT *d =
                    whole ? (const SQL_DATE_STRUCT *)f->tmp.data : (const SQL_DATE_STRUCT *)p;
                ((int32_t *)col->values)[row] = (int32_t)days_from_civil(d->year, d->month, d->day);
                break;
            }
            case FK_TS: {
                const SQL_TIMESTAMP_STRUCT *t = whole ? (const SQL_TIMESTAMP_STRUCT *)f->tmp.data
                                                      : (const SQL_TIMESTAMP_STRUCT *)p;
                if (t->fraction % 1000 != 0)
                    return pd_set_error(PD_ERR_UNSUPPORTED,
                                        "ODBC (%s): column \"%s\" row %lld has nanoseconds; "
                                        "timestamps are read with microsecond precision",
                                        f->c->server, col->name, (long long)(f->emitted + row));
                int64_t days = days_from_civil(t->year, t->month, t->day);
                ((int64_t *)col->values)[row] =
                    days * 86400000000LL +
                    ((int64_t)t->hour * 3600 + t->minute * 60 + t->second) * 1000000LL +
                    t->fraction / 1000;
                break;
            }
            case FK_DEC:
            case FK_TIME:
            case FK_TSTZ: {
                char text[128];
                const char *src = whole ? f->tmp.data : (const char *)p;
                size_t len = whole ? f->tmp.len : (size_t)ind;
                if (len >= sizeof text)
                    len = sizeof text - 1;
                memcpy(text, src, len);
                text[len] = '\0';
                int bad;
                if (col->kind == FK_DEC) {
                    __int128 v;
                    bad = parse_decimal(text, col->scale, &v);
                    if (!bad)
                        memcpy(col->values + (size_t)row * 16, &v, 16);
                } else if (col->kind == FK_TIME) {
                    int64_t us;
                    const char *e;
                    bad = parse_time(text, &us, &e) || *e;
                    if (!bad)
                        ((int64_t *)col->values)[row] = us;
                } else {
                    int64_t us;
                    bad = parse_tstz(text, &us);
                    if (!bad)
                        ((int64_t *)col->values)[row] = us;
                }
                if (bad)
                    return pd_set_error(PD_ERR_CORRUPT,
                                        "ODBC (%s): column \"%s\" row %lld: cannot read \"%s\" "
                                        "as %s exactly",
                                        f->c->server, col->name, (long long)(f->emitted + row),
                                        text, col->format);
                break;
            }
            }
        }
    }
    return PD_OK;
}

/* Fill one batch; *rows gets its row count (0 at the end). */
static int fill_batch(fstate *f, int64_t *rows)
{
    int64_t n = 0;
    *rows = 0;
    int rc = batch_alloc(f);
    if (rc)
        return rc;
    while (!f->done && n < f->batch_cap) {
        int64_t want = f->rowset;
        if (want > f->batch_cap - n)
            want = f->batch_cap - n;
        if (f->limit >= 0 && want > f->limit - (f->emitted + n))
            want = f->limit - (f->emitted + n);
        if (want <= 0) {
            f->done = true;
            break;
        }
        if (!f->row_mode && !pdi_odbc_ok(SQLSetStmtAttr(f->st, SQL_ATTR_ROW_ARRAY_SIZE,
                                                        (SQLPOINTER)(uintptr_t)want, 0)))
            return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                                 "ODBC: setting the rowset size");
        rc = bind_rowset(f, n);
        if (rc)
            return rc;
        f->fetched = 0;
        SQLRETURN r = SQLFetch(f->st);
        if (r == SQL_NO_DATA) {
            f->done = true;
            break;
        }
        if (!pdi_odbc_ok(r))
            return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                                 "ODBC: fetching rows failed");
        int64_t got = (int64_t)f->fetched;
        if (f->row_mode)
            got = 1;
        for (int64_t k = 0; k < got && f->row_status && !f->row_mode; k++)
            if (f->row_status[k] == SQL_ROW_ERROR)
                return pdi_odbc_fail(f->c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                                     "ODBC: row %lld could not be fetched",
                                     (long long)(f->emitted + n + k));
        rc = convert_rowset(f, n, got);
        if (rc)
            return rc;
        n += got;
    }
    *rows = n;
    return PD_OK;
}

/* ------------------------------------------------------------- stream */

static void fs_set_error(fstate *f)
{
    free(f->error);
    f->error = pdi_strdup(pd_last_error());
}

static int fs_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    fstate *f = s->private_data;
    if (pd_arrow_schema_init(out, "+s", "", 0, (int64_t)f->ncols))
        goto fail;
    for (size_t i = 0; i < f->ncols; i++)
        if (pd_arrow_schema_init(out->children[i], f->cols[i].format, f->cols[i].name,
                                 f->cols[i].nullable ? ARROW_FLAG_NULLABLE : 0, 0))
            goto fail;
    return 0;
fail:
    pd_arrow_schema_release(out);
    fs_set_error(f);
    return ENOMEM;
}

static int fs_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    fstate *f = s->private_data;
    memset(out, 0, sizeof *out);
    if (f->done && f->st == SQL_NULL_HSTMT)
        return 0;
    int64_t n = 0;
    int rc = f->done ? PD_OK : fill_batch(f, &n);
    if (rc) {
        fs_set_error(f);
        for (size_t i = 0; i < f->ncols; i++)
            fcols_free_batch(&f->cols[i]);
        return EIO;
    }
    if (n == 0) {
        for (size_t i = 0; i < f->ncols; i++)
            fcols_free_batch(&f->cols[i]);
        /* end: free the statement now, the connection is usable again */
        if (f->st) {
            SQLFreeHandle(SQL_HANDLE_STMT, f->st);
            f->st = SQL_NULL_HSTMT;
        }
        f->done = true;
        return 0;
    }
    if (pd_arrow_array_init(out, 1, (int64_t)f->ncols))
        goto nomem;
    out->length = n;
    for (size_t i = 0; i < f->ncols; i++) {
        fcol *col = &f->cols[i];
        struct ArrowArray *ch = out->children[i];
        bool var = col->kind == FK_TEXT || col->kind == FK_BIN;
        if (pd_arrow_array_init(ch, var ? 3 : 2, 0))
            goto nomem;
        ch->length = n;
        ch->null_count = col->nulls;
        if (col->nulls) {
            pd_arrow_array_set_buffer(ch, 0, col->validity);
        } else {
            free(col->validity);
        }
        col->validity = NULL;
        if (var) {
            pd_arrow_array_set_buffer(ch, 1, col->offsets);
            col->offsets = NULL;
            char *d = pdi_buf_detach(&col->data);
            pd_arrow_array_set_buffer(ch, 2, d ? d : pdi_calloc(1, 1));
        } else {
            pd_arrow_array_set_buffer(ch, 1, col->values);
            col->values = NULL;
        }
    }
    f->emitted += n;
    if (f->limit >= 0 && f->emitted >= f->limit)
        f->done = true;
    return 0;
nomem:
    pd_arrow_array_release(out);
    for (size_t i = 0; i < f->ncols; i++)
        fcols_free_batch(&f->cols[i]);
    pd_set_error(PD_ERR_NOMEM, "out of memory");
    fs_set_error(f);
    return ENOMEM;
}

static const char *fs_last_error(struct ArrowArrayStream *s)
{
    fstate *f = s->private_data;
    return f->error;
}

static void fs_release(struct ArrowArrayStream *s)
{
    fstate_free(s->private_data);
    s->release = NULL;
}

int pdi_odbc_read_arrow(pdi_odbc *c,
                        const char *sql,
                        const pdi_odbc_read_opts *opts,
                        struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    pdi_odbc_read_opts o = PDI_ODBC_READ_OPTS_INIT;
    if (opts)
        o = *opts;
    pdi_odbc_log_sql(c, sql);
    fstate *f = pdi_calloc(1, sizeof *f);
    if (!f)
        return PD_ERR_NOMEM;
    f->c = c;
    f->batch_cap = o.batch_rows > 0 ? o.batch_rows : 65536;
    f->limit = o.limit;
    f->lower_upper_names = o.lower_upper_names;
    f->type_by_name = o.type_by_name;
    f->formats = o.formats;
    f->nformats = o.formats ? o.nformats : 0;
    SQLRETURN r = SQL_ERROR;
    int rc = pdi_odbc_stmt_sql(c, sql, false, &f->st, &r);
    if (rc)
        goto fail;
    if (!pdi_odbc_ok(r)) {
        char s[200];
        snprintf(s, sizeof s, "%.190s%s", sql, strlen(sql) > 190 ? "..." : "");
        for (char *p = s; *p; p++)
            if (*p == '\n' || *p == '\t' || *p == '\r')
                *p = ' ';
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st, "SQL failed: %s", s);
        goto fail;
    }
    SQLSMALLINT ncols = 0;
    if (!pdi_odbc_ok(SQLNumResultCols(f->st, &ncols)) || ncols <= 0) {
        rc = pd_set_error(PD_ERR_SQL, "ODBC (%s): the statement returned no result set", c->server);
        goto fail;
    }
    f->ncols = (size_t)ncols;
    f->cols = pdi_calloc(f->ncols, sizeof *f->cols);
    if (!f->cols) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }
    size_t row_bytes = 0;
    bool has_var = false;
    for (size_t i = 0; i < f->ncols; i++) {
        rc = setup_col(f, (SQLUSMALLINT)(i + 1), &f->cols[i]);
        if (rc)
            goto fail;
        row_bytes += f->cols[i].width + sizeof(SQLLEN) + f->cols[i].elem;
        has_var |= f->cols[i].kind == FK_TEXT || f->cols[i].kind == FK_BIN;
    }
    /* Without SQLGetData on block cursors a long value could not be read
     * whole: read a row at a time, long columns with SQLGetData. */
    f->row_mode = has_var && !c->gd_block;
    if (f->row_mode) {
        f->rowset = 1;
        bool after = false;
        for (size_t i = 0; i < f->ncols; i++) {
            fcol *col = &f->cols[i];
            bool var = col->kind == FK_TEXT || col->kind == FK_BIN;
            if (var || (after && !c->gd_any_column)) {
                col->getdata = true;
                col->direct = false;
                after = true;
            }
        }
    } else {
        int64_t rs =
            o.rowset > 0 ? o.rowset : (int64_t)(PDI_ROWSET_BYTES / (row_bytes ? row_bytes : 1));
        if (rs < 1)
            rs = 1;
        if (rs > f->batch_cap)
            rs = f->batch_cap;
        f->rowset = rs;
    }
    for (size_t i = 0; i < f->ncols; i++) {
        fcol *col = &f->cols[i];
        col->ind = pdi_calloc((size_t)f->rowset, sizeof(SQLLEN));
        if (!col->ind) {
            rc = PD_ERR_NOMEM;
            goto fail;
        }
        if (col->getdata && col->elem && !col->width)
            col->width = col->elem; /* SQLGetData into tmp, copied */
        if (!col->direct && !col->getdata) {
            col->scratch = pdi_calloc((size_t)f->rowset, col->width);
            if (!col->scratch) {
                rc = PD_ERR_NOMEM;
                goto fail;
            }
        }
    }
    f->row_status = pdi_calloc((size_t)f->rowset, sizeof *f->row_status);
    if (!f->row_status) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }
    if (!pdi_odbc_ok(SQLSetStmtAttr(f->st, SQL_ATTR_ROW_BIND_TYPE,
                                    (SQLPOINTER)(uintptr_t)SQL_BIND_BY_COLUMN, 0)) ||
        !pdi_odbc_ok(SQLSetStmtAttr(f->st, SQL_ATTR_ROWS_FETCHED_PTR, &f->fetched, 0)) ||
        !pdi_odbc_ok(SQLSetStmtAttr(f->st, SQL_ATTR_ROW_STATUS_PTR, f->row_status, 0))) {
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, f->st,
                           "ODBC: the driver refuses block cursors");
        goto fail;
    }
    out->get_schema = fs_get_schema;
    out->get_next = fs_get_next;
    out->get_last_error = fs_last_error;
    out->release = fs_release;
    out->private_data = f;
    return PD_OK;
fail:
    fstate_free(f);
    return rc ? rc : PD_ERR;
}
