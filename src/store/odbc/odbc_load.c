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
    uint8_t *buf;   /* converted values, chunk rows * stride */
    size_t buf_cap; /* bytes */
    size_t stride;  /* bytes per row */
    SQLLEN *ind;
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

static int reserve(lcol *col, size_t bytes)
{
    if (bytes <= col->buf_cap)
        return PD_OK;
    uint8_t *p = pd_realloc(col->buf, bytes);
    if (!p)
        return PD_ERR_NOMEM;
    col->buf = p;
    col->buf_cap = bytes;
    return PD_OK;
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
    pd_buf_clear(scratch);
    if (pd_buf_reserve(scratch, (size_t)n + 1))
        return NULL;
    pd_arrow_get_text(col->schema, a, i, scratch->data, (size_t)n + 1);
    *len = (size_t)n;
    return (const uint8_t *)scratch->data;
}

/* Prepare column `col` for rows [start, start+k) of array a; bind it. */
static int fill_and_bind(pdi_odbc *c,
                         SQLHSTMT st,
                         SQLUSMALLINT pno,
                         lcol *col,
                         const struct ArrowArray *a,
                         int64_t start,
                         int64_t k,
                         int64_t row_base,
                         pd_buf *scratch)
{
    for (int64_t r = 0; r < k; r++)
        col->ind[r] = pd_arrow_is_null(a, start + r) ? SQL_NULL_DATA : 0;
    SQLPOINTER ptr = NULL;
    SQLLEN buflen = 0;
    SQLULEN colsize = 0;
    SQLSMALLINT digits = 0;
    SQLSMALLINT sqltype = col->sqltype;
    switch (col->kind) {
    case LK_DIRECT: {
        const uint8_t *vals = a->buffers[1];
        ptr = (SQLPOINTER)(vals + (size_t)(a->offset + start) * col->elem);
        buflen = (SQLLEN)col->elem;
        for (int64_t r = 0; r < k; r++)
            if (col->ind[r] == 0)
                col->ind[r] = (SQLLEN)col->elem;
        break;
    }
    case LK_BOOL:
    case LK_WIDEN16:
    case LK_WIDEN32:
    case LK_WIDEN64:
    case LK_DATE32:
    case LK_DATE64:
    case LK_TS:
    case LK_DEC:
    case LK_TIME: {
        if (reserve(col, (size_t)k * col->stride))
            return PD_ERR_NOMEM;
        memset(col->buf, 0, (size_t)k * col->stride);
        for (int64_t r = 0; r < k; r++) {
            if (col->ind[r] == SQL_NULL_DATA)
                continue;
            int64_t i = start + r;
            uint8_t *dst = col->buf + (size_t)r * col->stride;
            col->ind[r] = (SQLLEN)col->stride;
            switch (col->kind) {
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
                if (strcmp(col->schema->format, "L") == 0) {
                    uint64_t u = ((const uint64_t *)a->buffers[1])[a->offset + i];
                    if (u > (uint64_t)INT64_MAX)
                        return pd_set_error(PD_ERR_UNSUPPORTED,
                                            "ODBC load (%s): column \"%s\" row %lld: %llu does "
                                            "not fit a signed 64-bit integer",
                                            c->server, col->name, (long long)(row_base + i),
                                            (unsigned long long)u);
                    int64_t v = (int64_t)u;
                    memcpy(dst, &v, 8);
                } else {
                    int64_t v = pd_arrow_get_int(col->schema, a, i);
                    memcpy(dst, &v, 8);
                }
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
                    return pd_set_error(PD_ERR_UNSUPPORTED,
                                        "ODBC load (%s): column \"%s\" row %lld: year %lld is "
                                        "outside 1..9999",
                                        c->server, col->name, (long long)(row_base + i),
                                        (long long)y);
                SQL_DATE_STRUCT ds = {(SQLSMALLINT)y, (SQLUSMALLINT)m, (SQLUSMALLINT)d};
                memcpy(dst, &ds, sizeof ds);
                break;
            }
            case LK_TS: {
                int64_t v = pd_arrow_get_int(col->schema, a, i);
                int64_t secs = floordiv(v, col->ts_div);
                int64_t sub = v - secs * col->ts_div; /* in unit */
                int64_t days = floordiv(secs, 86400);
                int64_t sod = secs - days * 86400;
                int64_t y;
                unsigned m, d;
                civil_from_days(days, &y, &m, &d);
                if (y < 1 || y > 9999)
                    return pd_set_error(PD_ERR_UNSUPPORTED,
                                        "ODBC load (%s): column \"%s\" row %lld: year %lld is "
                                        "outside 1..9999",
                                        c->server, col->name, (long long)(row_base + i),
                                        (long long)y);
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
                int n = pd_arrow_get_text(col->schema, a, i, (char *)dst, col->stride);
                if (n < 0 || (size_t)n >= col->stride)
                    return pd_set_error(PD_ERR_UNSUPPORTED,
                                        "ODBC load (%s): column \"%s\" row %lld: value does not "
                                        "convert to text",
                                        c->server, col->name, (long long)(row_base + i));
                col->ind[r] = n;
                break;
            }
            default: break;
            }
        }
        ptr = col->buf;
        buflen = (SQLLEN)col->stride;
        if (col->kind == LK_TS) {
            colsize = col->ts_unit == 'n' ? 29 : col->ts_unit == 's' ? 19 : 26;
            digits = col->ts_unit == 'n' ? 9 : col->ts_unit == 's' ? 0 : 6;
            if (col->ts_unit == 'm') {
                colsize = 23;
                digits = 3;
            }
        } else if (col->kind == LK_DEC) {
            int p = 0, s = 0;
            sscanf(col->schema->format + 2, "%d,%d", &p, &s);
            colsize = (SQLULEN)p;
            digits = (SQLSMALLINT)s;
        } else if (col->kind == LK_TIME) {
            colsize = 15;
            digits = 6;
        } else if (col->kind == LK_DATE32 || col->kind == LK_DATE64) {
            colsize = 10;
        }
        break;
    }
    case LK_TEXT: {
        /* stride = longest value (in UTF-16 units) + terminator */
        size_t maxu = 1;
        for (int64_t r = 0; r < k; r++) {
            if (col->ind[r] == SQL_NULL_DATA)
                continue;
            size_t len = 0;
            const uint8_t *p = text_at(col, a, start + r, &len, scratch);
            if (!p && len)
                return PD_ERR_NOMEM;
            if (len > maxu)
                maxu = len; /* UTF-16 units <= UTF-8 bytes */
        }
        size_t stride = (maxu + 1) * sizeof(SQLWCHAR);
        if (reserve(col, (size_t)k * stride))
            return PD_ERR_NOMEM;
        size_t longest = 1;
        for (int64_t r = 0; r < k; r++) {
            if (col->ind[r] == SQL_NULL_DATA)
                continue;
            size_t len = 0;
            const uint8_t *p = text_at(col, a, start + r, &len, scratch);
            SQLWCHAR *dst = (SQLWCHAR *)(col->buf + (size_t)r * stride);
            long n = pdi_odbc_utf8_to_16((const char *)p, len, dst, maxu);
            if (n < 0)
                return pd_set_error(PD_ERR_INVALID,
                                    "ODBC load (%s): column \"%s\" row %lld is not valid UTF-8",
                                    c->server, col->name, (long long)(row_base + start + r));
            dst[n] = 0;
            col->ind[r] = (SQLLEN)((size_t)n * sizeof(SQLWCHAR));
            if ((size_t)n > longest)
                longest = (size_t)n;
        }
        ptr = col->buf;
        buflen = (SQLLEN)stride;
        colsize = longest;
        if (longest > 4000)
            sqltype = SQL_WLONGVARCHAR;
        break;
    }
    case LK_BIN: {
        size_t maxb = 1;
        for (int64_t r = 0; r < k; r++) {
            if (col->ind[r] == SQL_NULL_DATA)
                continue;
            size_t len = 0;
            pd_arrow_get_bytes(col->schema, a, start + r, &len);
            if (len > maxb)
                maxb = len;
        }
        if (reserve(col, (size_t)k * maxb))
            return PD_ERR_NOMEM;
        for (int64_t r = 0; r < k; r++) {
            if (col->ind[r] == SQL_NULL_DATA)
                continue;
            size_t len = 0;
            const uint8_t *p = pd_arrow_get_bytes(col->schema, a, start + r, &len);
            if (len)
                memcpy(col->buf + (size_t)r * maxb, p, len);
            col->ind[r] = (SQLLEN)len;
        }
        ptr = col->buf;
        buflen = (SQLLEN)maxb;
        colsize = maxb;
        if (maxb > 8000)
            sqltype = SQL_LONGVARBINARY;
        break;
    }
    }
    SQLRETURN r = SQLBindParameter(st, pno, SQL_PARAM_INPUT, col->ctype, sqltype, colsize, digits,
                                   ptr, buflen, col->ind);
    if (!pdi_odbc_ok(r))
        return pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st, "ODBC load: binding column \"%s\"",
                             col->name);
    return PD_OK;
}

int pdi_odbc_load_arrow(pdi_odbc *c,
                        const char *insert_sql,
                        struct ArrowArrayStream *in,
                        int64_t paramset,
                        int64_t *rows_out)
{
    if (rows_out)
        *rows_out = 0;
    if (paramset <= 0)
        paramset = 4096;
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    if (in->get_schema(in, &schema) != 0) {
        const char *e = in->get_last_error ? in->get_last_error(in) : NULL;
        return pd_set_error(PD_ERR, "ODBC load (%s): reading the input schema failed: %s",
                            c->server, e ? e : "unknown error");
    }
    pdi_odbc_log_sql(c, insert_sql);
    int rc = PD_OK;
    size_t ncols = (size_t)schema.n_children;
    lcol *cols = pd_calloc(ncols ? ncols : 1, sizeof *cols);
    SQLUSMALLINT *status = pd_calloc((size_t)paramset, sizeof *status);
    SQLULEN processed = 0;
    SQLHSTMT st = SQL_NULL_HSTMT;
    pd_buf scratch = PD_BUF_INIT;
    bool own_tx = false;
    int64_t total = 0;
    if (!cols || !status) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < ncols && !rc; i++) {
        rc = plan_col(c, schema.children[i], &cols[i]);
        if (!rc) {
            cols[i].ind = pd_calloc((size_t)paramset, sizeof(SQLLEN));
            if (!cols[i].ind)
                rc = PD_ERR_NOMEM;
        }
    }
    if (rc)
        goto done;
    rc = pdi_odbc_stmt_new(c, &st);
    if (rc)
        goto done;
    {
        size_t wl = 0;
        SQLWCHAR *w = pdi_odbc_wide(insert_sql, strlen(insert_sql), &wl);
        if (!w) {
            rc = pd_error_prefix("SQL (%s)", c->server);
            goto done;
        }
        SQLRETURN r = SQLPrepareW(st, w, (SQLINTEGER)wl);
        free(w);
        if (!pdi_odbc_ok(r)) {
            rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st,
                               "ODBC load: preparing the INSERT failed");
            goto done;
        }
    }
    if (!pdi_odbc_ok(SQLSetStmtAttr(st, SQL_ATTR_PARAM_BIND_TYPE,
                                    (SQLPOINTER)(uintptr_t)SQL_PARAM_BIND_BY_COLUMN, 0)) ||
        !pdi_odbc_ok(SQLSetStmtAttr(st, SQL_ATTR_PARAM_STATUS_PTR, status, 0)) ||
        !pdi_odbc_ok(SQLSetStmtAttr(st, SQL_ATTR_PARAMS_PROCESSED_PTR, &processed, 0))) {
        rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st,
                           "ODBC load: the driver refuses parameter arrays");
        goto done;
    }
    if (!c->in_tx) {
        rc = pdi_odbc_begin(c);
        if (rc)
            goto done;
        own_tx = true;
    }
    SQLULEN cur_size = 0;
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
        for (int64_t start = 0; start < batch.length && !rc; start += paramset) {
            int64_t k = batch.length - start;
            if (k > paramset)
                k = paramset;
            for (size_t i = 0; i < ncols && !rc; i++) {
                /* a struct batch's children carry their own offsets; add the
                 * batch's offset */
                struct ArrowArray child = *batch.children[i];
                child.offset += batch.offset;
                rc = fill_and_bind(c, st, (SQLUSMALLINT)(i + 1), &cols[i], &child, start, k, total,
                                   &scratch);
            }
            if (rc)
                break;
            if ((SQLULEN)k != cur_size) {
                SQLRETURN r =
                    SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)k, 0);
                if (!pdi_odbc_ok(r)) {
                    rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st,
                                       "ODBC load: setting the parameter array size to %lld",
                                       (long long)k);
                    break;
                }
                cur_size = (SQLULEN)k;
            }
            processed = 0;
            SQLRETURN r = SQLExecute(st);
            bool failed = !(r == SQL_SUCCESS || r == SQL_SUCCESS_WITH_INFO || r == SQL_NO_DATA);
            int64_t bad = -1;
            for (int64_t j = 0; j < k && j < (int64_t)processed; j++)
                if (status[j] == SQL_PARAM_ERROR) {
                    bad = j;
                    break;
                }
            if (failed || bad >= 0) {
                rc = pdi_odbc_fail(c, PD_ERR_SQL, SQL_HANDLE_STMT, st,
                                   "ODBC load: inserting rows %lld..%lld failed%s%lld",
                                   (long long)(total + start), (long long)(total + start + k - 1),
                                   bad >= 0 ? " at row " : "",
                                   bad >= 0 ? (long long)(total + start + bad) : 0LL);
                break;
            }
            /* drain results some drivers leave per parameter set */
            while (SQLMoreResults(st) == SQL_SUCCESS)
                ;
        }
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
    if (st)
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    if (cols)
        for (size_t i = 0; i < ncols; i++) {
            free(cols[i].buf);
            free(cols[i].ind);
        }
    free(cols);
    free(status);
    pd_buf_free(&scratch);
    pd_arrow_schema_release(&schema);
    if (!rc && rows_out)
        *rows_out = total;
    return rc;
}
