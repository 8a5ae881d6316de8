/*
 * store/odbc/odbc_load.c - Arrow tables loaded with parameter arrays.
 *
 * One prepared INSERT (from the dialect), parameters bound column-wise
 * (SQL_PARAM_BIND_BY_COLUMN) for up to `paramset` rows per SQLExecute
 * (SQL_ATTR_PARAMSET_SIZE): int16/int32/int64/float32/float64 columns bind
 * the Arrow values buffer itself, the others are converted per chunk into
 * the driver's C types (UTF-16 text, date/timestamp structs, decimal text).
 * Validity bitmaps become indicator arrays. All of it in one transaction.
 */
#include "store/odbc/odbc_int.h"

#include <stdlib.h>
#include <string.h>

typedef enum lk {
    LK_DIRECT, /* Arrow values buffer bound as is */
    LK_BOOL,
    LK_WIDEN16, /* int8/uint8 -> int16 */
    LK_WIDEN32, /* uint16 -> int32 */
    LK_WIDEN64, /* uint32/uint64 -> int64 */
    LK_TEXT,
    LK_BIN,
    LK_DEC,
    LK_DATE32,
    LK_DATE64,
    LK_TIME,
    LK_TS
} lk;

typedef struct lcol {
    const struct ArrowSchema *schema;
    const char *name;
    lk kind;
    SQLSMALLINT ctype, sqltype;
    size_t elem;    /* direct: bytes per value */
    int64_t ts_div; /* timestamp unit -> micro/nanoseconds factor */
    int ts_unit;    /* 's','m','u','n' */
    size_t stride;  /* bytes of a value of the fixed-width kinds */
    /* per chunk (measure_col) */
    size_t width; /* bytes of the value slot in a row */
    SQLSMALLINT cur_sqltype, digits;
    SQLULEN colsize;
    size_t off, ind_off; /* of the value and its indicator in a row */
} lcol;

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int plan_col(pdi_odbc *c, const struct ArrowSchema *s, lcol *col)
{
    const char *f = s->format;
    col->schema = s;
    col->name = s->name ? s->name : "?";
    if (s->dictionary) {
        const char *vf = s->dictionary->format;
        if (strcmp(vf, "u") == 0 || strcmp(vf, "U") == 0) {
            col->kind = LK_TEXT, col->ctype = SQL_C_WCHAR, col->sqltype = SQL_WVARCHAR;
            return PD_OK;
        }
        goto unsupported;
    }
    if (strcmp(f, "b") == 0) {
        col->kind = LK_BOOL, col->ctype = SQL_C_BIT, col->sqltype = SQL_BIT, col->stride = 1;
    } else if (strcmp(f, "s") == 0) {
        col->kind = LK_DIRECT, col->ctype = SQL_C_SSHORT, col->sqltype = SQL_SMALLINT,
        col->elem = 2;
    } else if (strcmp(f, "i") == 0) {
        col->kind = LK_DIRECT, col->ctype = SQL_C_SLONG, col->sqltype = SQL_INTEGER, col->elem = 4;
    } else if (strcmp(f, "l") == 0) {
        col->kind = LK_DIRECT, col->ctype = SQL_C_SBIGINT, col->sqltype = SQL_BIGINT, col->elem = 8;
    } else if (strcmp(f, "f") == 0) {
        col->kind = LK_DIRECT, col->ctype = SQL_C_FLOAT, col->sqltype = SQL_REAL, col->elem = 4;
    } else if (strcmp(f, "g") == 0) {
        col->kind = LK_DIRECT, col->ctype = SQL_C_DOUBLE, col->sqltype = SQL_DOUBLE, col->elem = 8;
    } else if (strcmp(f, "c") == 0 || strcmp(f, "C") == 0) {
        col->kind = LK_WIDEN16, col->ctype = SQL_C_SSHORT, col->sqltype = SQL_SMALLINT,
        col->stride = 2;
    } else if (strcmp(f, "S") == 0) {
        col->kind = LK_WIDEN32, col->ctype = SQL_C_SLONG, col->sqltype = SQL_INTEGER,
        col->stride = 4;
    } else if (strcmp(f, "I") == 0 || strcmp(f, "L") == 0) {
        col->kind = LK_WIDEN64, col->ctype = SQL_C_SBIGINT, col->sqltype = SQL_BIGINT,
        col->stride = 8;
    } else if (strcmp(f, "u") == 0 || strcmp(f, "U") == 0) {
        col->kind = LK_TEXT, col->ctype = SQL_C_WCHAR, col->sqltype = SQL_WVARCHAR;
    } else if (strcmp(f, "z") == 0 || strcmp(f, "Z") == 0 || strncmp(f, "w:", 2) == 0) {
        col->kind = LK_BIN, col->ctype = SQL_C_BINARY, col->sqltype = SQL_VARBINARY;
    } else if (strncmp(f, "d:", 2) == 0) {
        col->kind = LK_DEC, col->ctype = SQL_C_CHAR, col->sqltype = SQL_DECIMAL, col->stride = 48;
    } else if (strcmp(f, "tdD") == 0) {
        col->kind = LK_DATE32, col->ctype = SQL_C_TYPE_DATE, col->sqltype = SQL_TYPE_DATE,
        col->stride = sizeof(SQL_DATE_STRUCT);
    } else if (strcmp(f, "tdm") == 0) {
        col->kind = LK_DATE64, col->ctype = SQL_C_TYPE_DATE, col->sqltype = SQL_TYPE_DATE,
        col->stride = sizeof(SQL_DATE_STRUCT);
    } else if (strncmp(f, "tt", 2) == 0 && f[2] && !f[3]) {
        col->kind = LK_TIME, col->ctype = SQL_C_CHAR, col->sqltype = SQL_TYPE_TIME,
        col->stride = 24;
    } else if (strncmp(f, "ts", 2) == 0 && f[2] && f[3] == ':') {
        col->kind = LK_TS, col->ctype = SQL_C_TYPE_TIMESTAMP, col->sqltype = SQL_TYPE_TIMESTAMP,
        col->stride = sizeof(SQL_TIMESTAMP_STRUCT);
        col->ts_unit = f[2];
        switch (f[2]) {
        case 's': col->ts_div = 1; break;
        case 'm': col->ts_div = 1000; break;
        case 'u': col->ts_div = 1000000; break;
        case 'n': col->ts_div = 1000000000; break;
        default: goto unsupported;
        }
    } else {
        goto unsupported;
    }
    return PD_OK;
unsupported:
    return pd_set_error(PD_ERR_UNSUPPORTED,
                        "ODBC load (%s): column \"%s\" has Arrow type \"%s\", which cannot be "
                        "loaded through ODBC",
                        c->server, col->name, s->dictionary ? "dictionary" : f);
}

/* Text of a text value (dictionary resolved): pointer + length. */
static const uint8_t *
text_at(const lcol *col, const struct ArrowArray *a, int64_t i, size_t *len, pd_buf *scratch)
{
    if (!col->schema->dictionary)
        return pd_arrow_get_bytes(col->schema, a, i, len);
    int n = pd_arrow_get_text(col->schema, a, i, NULL, 0);
    if (n < 0)
        return NULL;
    pdi_buf_clear(scratch);
    if (pdi_buf_reserve(scratch, (size_t)n + 1))
        return NULL;
    pd_arrow_get_text(col->schema, a, i, scratch->data, (size_t)n + 1);
    *len = (size_t)n;
    return (const uint8_t *)scratch->data;
}

/* Width, SQL type and size of column `col` for rows [start, start+k). */
static int
measure_col(lcol *col, const struct ArrowArray *a, int64_t start, int64_t k, pd_buf *scratch)
{
    col->cur_sqltype = col->sqltype;
    col->colsize = 0;
    col->digits = 0;
    switch (col->kind) {
    case LK_DIRECT: col->width = col->elem; break;
    case LK_TEXT: {
        size_t maxb = 1;
        for (int64_t r = 0; r < k; r++) {
            if (pd_arrow_is_null(a, start + r))
                continue;
            size_t len = 0;
            const uint8_t *p = text_at(col, a, start + r, &len, scratch);
            if (!p && len)
                return PD_ERR_NOMEM;
            if (len > maxb)
                maxb = len; /* UTF-16 units <= UTF-8 bytes */
        }
        col->width = (maxb + 1) * sizeof(SQLWCHAR);
        col->colsize = maxb;
        if (maxb > 4000)
            col->cur_sqltype = SQL_WLONGVARCHAR;
        break;
    }
    case LK_BIN: {
        size_t maxb = 1;
        for (int64_t r = 0; r < k; r++) {
            if (pd_arrow_is_null(a, start + r))
                continue;
            size_t len = 0;
            pd_arrow_get_bytes(col->schema, a, start + r, &len);
            if (len > maxb)
                maxb = len;
        }
        col->width = maxb;
        col->colsize = maxb;
        if (maxb > 8000)
            col->cur_sqltype = SQL_LONGVARBINARY;
        break;
    }
    default:
        col->width = col->stride;
        if (col->kind == LK_TS) {
            col->colsize = col->ts_unit == 'n'   ? 29
                           : col->ts_unit == 's' ? 19
                           : col->ts_unit == 'm' ? 23
                                                 : 26;
            col->digits = col->ts_unit == 'n'   ? 9
                          : col->ts_unit == 's' ? 0
                          : col->ts_unit == 'm' ? 3
                                                : 6;
        } else if (col->kind == LK_DEC) {
            int p = 0, sc = 0;
            sscanf(col->schema->format + 2, "%d,%d", &p, &sc);
            col->colsize = (SQLULEN)p;
            col->digits = (SQLSMALLINT)sc;
        } else if (col->kind == LK_TIME) {
            col->colsize = 15;
            col->digits = 6;
        } else if (col->kind == LK_DATE32 || col->kind == LK_DATE64) {
            col->colsize = 10;
        }
        break;
    }
    return PD_OK;
}

static int out_of_range(pdi_odbc *c, const lcol *col, int64_t row, const char *what)
{
    return pd_set_error(PD_ERR_UNSUPPORTED, "ODBC load (%s): column \"%s\" row %lld: %s", c->server,
                        col->name, (long long)row, what);
}

/* Value i of column `col` into its slot `dst` (col->width bytes) and *ind. */
static int put_value(pdi_odbc *c,
                     const lcol *col,
                     const struct ArrowArray *a,
                     int64_t i,
                     uint8_t *dst,
                     SQLLEN *ind,
                     int64_t row_no,
                     pd_buf *scratch)
{
    if (pd_arrow_is_null(a, i)) {
        *ind = SQL_NULL_DATA;
        return PD_OK;
    }
    *ind = (SQLLEN)col->width;
    switch (col->kind) {
    case LK_DIRECT:
        memcpy(dst, (const uint8_t *)a->buffers[1] + (size_t)(a->offset + i) * col->elem,
               col->elem);
        break;
    case LK_BOOL: *dst = (uint8_t)(pd_arrow_get_int(col->schema, a, i) != 0); break;
    case LK_WIDEN16: {
        int16_t v = (int16_t)pd_arrow_get_int(col->schema, a, i);
        memcpy(dst, &v, 2);
        break;
    }
    case LK_WIDEN32: {
        int32_t v = (int32_t)pd_arrow_get_int(col->schema, a, i);
        memcpy(dst, &v, 4);
        break;
    }
    case LK_WIDEN64: {
        int64_t v;
        if (strcmp(col->schema->format, "L") == 0) {
            uint64_t u = ((const uint64_t *)a->buffers[1])[a->offset + i];
            if (u > (uint64_t)INT64_MAX)
                return out_of_range(c, col, row_no,
                                    "the value does not fit a signed 64-bit integer");
            v = (int64_t)u;
        } else {
            v = pd_arrow_get_int(col->schema, a, i);
        }
        memcpy(dst, &v, 8);
        break;
    }
    case LK_DATE32:
    case LK_DATE64: {
        int64_t days = pd_arrow_get_int(col->schema, a, i);
        if (col->kind == LK_DATE64)
            days = floordiv(days, 86400000);
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y < 1 || y > 9999)
            return out_of_range(c, col, row_no, "the year is outside 1..9999");
        SQL_DATE_STRUCT ds = {(SQLSMALLINT)y, (SQLUSMALLINT)m, (SQLUSMALLINT)d};
        memcpy(dst, &ds, sizeof ds);
        break;
    }
    case LK_TS: {
        int64_t v = pd_arrow_get_int(col->schema, a, i);
        int64_t secs = floordiv(v, col->ts_div);
        int64_t sub = v - secs * col->ts_div;
        int64_t days = floordiv(secs, 86400);
        int64_t sod = secs - days * 86400;
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y < 1 || y > 9999)
            return out_of_range(c, col, row_no, "the year is outside 1..9999");
        SQL_TIMESTAMP_STRUCT ts;
        ts.year = (SQLSMALLINT)y;
        ts.month = (SQLUSMALLINT)m;
        ts.day = (SQLUSMALLINT)d;
        ts.hour = (SQLUSMALLINT)(sod / 3600);
        ts.minute = (SQLUSMALLINT)(sod / 60 % 60);
        ts.second = (SQLUSMALLINT)(sod % 60);
        ts.fraction = (SQLUINTEGER)(sub * (1000000000 / col->ts_div));
        memcpy(dst, &ts, sizeof ts);
        break;
    }
    case LK_DEC:
    case LK_TIME: {
        int n = pd_arrow_get_text(col->schema, a, i, (char *)dst, col->width);
        if (n < 0 || (size_t)n >= col->width)
            return out_of_range(c, col, row_no, "the value does not convert to text");
        *ind = n;
        break;
    }
    case LK_TEXT: {
        size_t len = 0;
        const uint8_t *p = text_at(col, a, i, &len, scratch);
        if (!p && len)
            return PD_ERR_NOMEM;
        size_t cap = col->width / sizeof(SQLWCHAR) - 1;
        SQLWCHAR *w = (SQLWCHAR *)(void *)dst;
        long n = pdi_odbc_utf8_to_16((const char *)p, len, w, cap);
        if (n < 0)
            return pd_set_error(PD_ERR_INVALID,
                                "ODBC load (%s): column \"%s\" row %lld is not valid UTF-8",
                                c->server, col->name, (long long)row_no);
        w[n] = 0;
        *ind = (SQLLEN)((size_t)n * sizeof(SQLWCHAR));
        break;
    }
    case LK_BIN: {
        size_t len = 0;
        const uint8_t *p = pd_arrow_get_bytes(col->schema, a, i, &len);
        if (len)
            memcpy(dst, p, len);
        *ind = (SQLLEN)len;
        break;
    }
    }
    return PD_OK;
}

/* One prepared INSERT with `tuples` rows of parameters. */
typedef struct lstmt {
    SQLHSTMT st;
    size_t tuples;
    SQLUSMALLINT *status;
    SQLULEN processed;
    SQLULEN cur_size;
} lstmt;

static int lstmt_prepare(pdi_odbc *c, const char *sql, size_t tuples, size_t max_sets, lstmt *ls)
{
    memset(ls, 0, sizeof *ls);
    ls->tuples = tuples;
    ls->status = pdi_calloc(max_sets ? max_sets : 1, sizeof *ls->status);
    if (!ls->status)
        return PD_ERR_NOMEM;
    SQLRETURN r = SQL_ERROR;
    int rc = pdi_odbc_stmt_sql(c, sql, true, &ls->st, &r);
    if (rc)
        return rc;
    if (!pdi_odbc_ok(r))
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                             "ODBC load: preparing the INSERT failed");
    if (!pdi_odbc_ok(SQLSetStmtAttr(ls->st, SQL_ATTR_PARAM_STATUS_PTR, ls->status, 0)) ||
        !pdi_odbc_ok(SQLSetStmtAttr(ls->st, SQL_ATTR_PARAMS_PROCESSED_PTR, &ls->processed, 0)))
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                             "ODBC load: the driver refuses parameter arrays");
    return PD_OK;
}

static void lstmt_free(lstmt *ls)
{
    if (ls->st)
        SQLFreeHandle(SQL_HANDLE_STMT, ls->st);
    free(ls->status);
    memset(ls, 0, sizeof *ls);
}

/* Execute `ls` for `sets` parameter sets laid out row after row from
 * `base` (rowbytes per row, ls->tuples rows per set). */
static int lstmt_run(pdi_odbc *c,
                     lstmt *ls,
                     lcol *cols,
                     size_t ncols,
                     uint8_t *base,
                     size_t rowbytes,
                     size_t sets,
                     int64_t first_row)
{
    if (sets == 0)
        return PD_OK;
    SQLULEN bind = (SQLULEN)(rowbytes * ls->tuples);
    if (!pdi_odbc_ok(
            SQLSetStmtAttr(ls->st, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER)(uintptr_t)bind, 0)))
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                             "ODBC load: the driver refuses row-wise parameter binding");
    for (size_t t = 0; t < ls->tuples; t++)
        for (size_t j = 0; j < ncols; j++) {
            lcol *col = &cols[j];
            uint8_t *row = base + t * rowbytes;
            SQLRETURN r = SQLBindParameter(
                ls->st, (SQLUSMALLINT)(t * ncols + j + 1), SQL_PARAM_INPUT, col->ctype,
                col->cur_sqltype, col->colsize, col->digits, row + col->off, (SQLLEN)col->width,
                (SQLLEN *)(void *)(row + col->ind_off));
            if (!pdi_odbc_ok(r))
                return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                                     "ODBC load: binding column \"%s\"", col->name);
        }
    if (sets != ls->cur_size) {
        if (!pdi_odbc_ok(
                SQLSetStmtAttr(ls->st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)sets, 0)))
            return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                                 "ODBC load: setting the parameter array size to %zu", sets);
        ls->cur_size = sets;
    }
    ls->processed = 0;
    SQLRETURN r = SQLExecute(ls->st);
    bool failed = !(r == SQL_SUCCESS || r == SQL_SUCCESS_WITH_INFO || r == SQL_NO_DATA);
    int64_t bad = -1;
    for (size_t j = 0; j < sets && j < ls->processed; j++)
        if (ls->status[j] == SQL_PARAM_ERROR) {
            bad = (int64_t)j;
            break;
        }
    if (failed || bad >= 0) {
        int64_t last = first_row + (int64_t)(sets * ls->tuples) - 1;
        if (bad >= 0)
            return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                                 "ODBC load: inserting rows %lld..%lld failed",
                                 (long long)(first_row + bad * (int64_t)ls->tuples),
                                 (long long)(first_row + (bad + 1) * (int64_t)ls->tuples - 1));
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, ls->st,
                             "ODBC load: inserting rows %lld..%lld failed", (long long)first_row,
                             (long long)last);
    }
    while (SQLMoreResults(ls->st) == SQL_SUCCESS)
        ; /* results some drivers leave per parameter set */
    return PD_OK;
}

int pdi_odbc_load_arrow(pdi_odbc *c,
                        const char *insert_one,
                        const char *insert_multi,
                        size_t multi_rows,
                        struct ArrowArrayStream *in,
                        int64_t chunk_rows,
                        int64_t *rows_out)
{
    if (rows_out)
        *rows_out = 0;
    if (!insert_multi || multi_rows < 2)
        multi_rows = 1;
    if (chunk_rows <= 0)
        chunk_rows = 4096;
    if (chunk_rows < (int64_t)multi_rows)
        chunk_rows = (int64_t)multi_rows;
    chunk_rows -= chunk_rows % (int64_t)multi_rows;
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    if (in->get_schema(in, &schema) != 0) {
        const char *e = in->get_last_error ? in->get_last_error(in) : NULL;
        return pd_set_error(PD_ERR, "ODBC load (%s): reading the input schema failed: %s",
                            c->server, e ? e : "unknown error");
    }
    pdi_odbc_log_sql(c, multi_rows > 1 ? insert_multi : insert_one);
    int rc = PD_OK;
    size_t ncols = (size_t)schema.n_children;
    lcol *cols = pdi_calloc(ncols ? ncols : 1, sizeof *cols);
    lstmt one, multi;
    memset(&one, 0, sizeof one);
    memset(&multi, 0, sizeof multi);
    uint8_t *rows_buf = NULL;
    size_t rows_cap = 0;
    pd_buf scratch = PD_BUF_INIT;
    bool own_tx = false;
    int64_t total = 0;
    if (!cols) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < ncols && !rc; i++)
        rc = plan_col(c, schema.children[i], &cols[i]);
    if (rc)
        goto done;
    rc = lstmt_prepare(c, insert_one, 1, (size_t)chunk_rows, &one);
    if (!rc && multi_rows > 1)
        rc = lstmt_prepare(c, insert_multi, multi_rows, (size_t)chunk_rows / multi_rows, &multi);
    if (rc)
        goto done;
    if (!c->in_tx) {
        rc = pdi_odbc_begin(c);
        if (rc)
            goto done;
        own_tx = true;
    }
    for (;;) {
        struct ArrowArray batch;
        memset(&batch, 0, sizeof batch);
        if (in->get_next(in, &batch) != 0) {
            const char *e = in->get_last_error ? in->get_last_error(in) : NULL;
            rc = pd_set_error(PD_ERR, "ODBC load (%s): reading the input failed: %s", c->server,
                              e ? e : "unknown error");
            break;
        }
        if (!batch.release)
            break;
        if ((size_t)batch.n_children != ncols) {
            pd_arrow_array_release(&batch);
            rc = pd_set_error(PD_ERR_INVALID, "ODBC load (%s): batch has %lld columns, schema %zu",
                              c->server, (long long)batch.n_children, ncols);
            break;
        }
        /* a struct batch's children carry their own offsets; add the batch's */
        struct ArrowArray *kids = pdi_calloc(ncols ? ncols : 1, sizeof *kids);
        if (!kids) {
            pd_arrow_array_release(&batch);
            rc = PD_ERR_NOMEM;
            break;
        }
        for (size_t j = 0; j < ncols; j++) {
            kids[j] = *batch.children[j];
            kids[j].offset += batch.offset;
        }
        for (int64_t start = 0; start < batch.length && !rc; start += chunk_rows) {
            int64_t k = batch.length - start;
            if (k > chunk_rows)
                k = chunk_rows;
            size_t rowbytes = 0;
            for (size_t j = 0; j < ncols && !rc; j++) {
                rc = measure_col(&cols[j], &kids[j], start, k, &scratch);
                cols[j].off = rowbytes;
                rowbytes += (cols[j].width + 7) & ~(size_t)7;
                cols[j].ind_off = rowbytes;
                rowbytes += sizeof(SQLLEN);
            }
            if (rc)
                break;
            size_t need = (size_t)k * rowbytes;
            if (need > rows_cap) {
                uint8_t *nb = pdi_realloc(rows_buf, need);
                if (!nb) {
                    rc = PD_ERR_NOMEM;
                    break;
                }
                rows_buf = nb;
                rows_cap = need;
            }
            for (int64_t r = 0; r < k && !rc; r++) {
                uint8_t *row = rows_buf + (size_t)r * rowbytes;
                for (size_t j = 0; j < ncols && !rc; j++)
                    rc = put_value(c, &cols[j], &kids[j], start + r, row + cols[j].off,
                                   (SQLLEN *)(void *)(row + cols[j].ind_off), total + start + r,
                                   &scratch);
            }
            if (rc)
                break;
            size_t sets = multi_rows > 1 ? (size_t)k / multi_rows : 0;
            size_t tail = (size_t)k - sets * multi_rows;
            rc = lstmt_run(c, &multi, cols, ncols, rows_buf, rowbytes, sets, total + start);
            if (!rc)
                rc = lstmt_run(c, &one, cols, ncols, rows_buf + sets * multi_rows * rowbytes,
                               rowbytes, tail, total + start + (int64_t)(sets * multi_rows));
        }
        free(kids);
        total += batch.length;
        pd_arrow_array_release(&batch);
        if (rc)
            break;
    }
    if (own_tx) {
        if (rc)
            pdi_odbc_rollback(c);
        else
            rc = pdi_odbc_commit(c);
    }
done:
    lstmt_free(&one);
    lstmt_free(&multi);
    free(rows_buf);
    free(cols);
    pdi_buf_free(&scratch);
    pd_arrow_schema_release(&schema);
    if (!rc && rows_out)
        *rows_out = total;
    return rc;
}
