/*
 * store/postgres/libpq_copy.c - Arrow <-> PostgreSQL bulk transfer with binary
 * COPY: Arrow batches are encoded straight into COPY ... FROM STDIN (FORMAT
 * binary) messages (one transaction), and query results come back through
 * COPY (SELECT ...) TO STDOUT (FORMAT binary), decoded into Arrow batches.
 * The column types (CREATE TABLE) are the dialect's type map
 * (dialect/postgres.c); the encoders here write the binary form of those
 * types. Statements come from the dialect.
 */
#include "store/dialect/dialect.h"
#include "store/postgres/libpq.h"
#include "store/postgres/libpq_int.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_EPOCH_DAYS 10957                    /* 2000-01-01 - 1970-01-01 in days */
#define PG_EPOCH_US   INT64_C(946684800000000) /* ... in microseconds */

/* ------------------------------------------------------------ encoding */

typedef enum enc_kind {
    E_BOOL,
    E_I8,
    E_I16,
    E_I32,
    E_I64,
    E_U8,
    E_U16,
    E_U32,
    E_U64,
    E_F16,
    E_F32,
    E_F64,
    E_STR,  /* int32 offsets */
    E_LSTR, /* int64 offsets */
    E_DATE32,
    E_DATE64,
    E_TS, /* int64 with unit multiplier/divisor */
    E_TIME32,
    E_TIME64,
    E_DEC128,
    E_NULL
} enc_kind;

typedef struct col_enc {
    enc_kind kind;
    int64_t mul, div; /* timestamp/time unit -> microseconds */
    int scale;        /* decimal */
} col_enc;

static int unit_factor(char u, int64_t *mul, int64_t *div)
{
    switch (u) {
    case 's': *mul = 1000000, *div = 1; return 0;
    case 'm': *mul = 1000, *div = 1; return 0;
    case 'u': *mul = 1, *div = 1; return 0;
    case 'n': *mul = 1, *div = 1000; return 0;
    default: return -1;
    }
}

/* Classify an Arrow format; -1 if unsupported. */
static int classify(const char *f, col_enc *e)
{
    memset(e, 0, sizeof *e);
    e->mul = e->div = 1;
    if (!f)
        return -1;
    if (!strcmp(f, "b"))
        return e->kind = E_BOOL, 0;
    if (!strcmp(f, "c"))
        return e->kind = E_I8, 0;
    if (!strcmp(f, "s"))
        return e->kind = E_I16, 0;
    if (!strcmp(f, "i"))
        return e->kind = E_I32, 0;
    if (!strcmp(f, "l"))
        return e->kind = E_I64, 0;
    if (!strcmp(f, "C"))
        return e->kind = E_U8, 0;
    if (!strcmp(f, "S"))
        return e->kind = E_U16, 0;
    if (!strcmp(f, "I"))
        return e->kind = E_U32, 0;
    if (!strcmp(f, "L"))
        return e->kind = E_U64, 0;
    if (!strcmp(f, "e"))
        return e->kind = E_F16, 0;
    if (!strcmp(f, "f"))
        return e->kind = E_F32, 0;
    if (!strcmp(f, "g"))
        return e->kind = E_F64, 0;
    if (!strcmp(f, "u"))
        return e->kind = E_STR, 0;
    if (!strcmp(f, "U"))
        return e->kind = E_LSTR, 0;
    if (!strcmp(f, "z"))
        return e->kind = E_STR, 0;
    if (!strcmp(f, "Z"))
        return e->kind = E_LSTR, 0;
    if (!strcmp(f, "n"))
        return e->kind = E_NULL, 0;
    if (!strcmp(f, "tdD"))
        return e->kind = E_DATE32, 0;
    if (!strcmp(f, "tdm"))
        return e->kind = E_DATE64, 0;
    if (!strncmp(f, "ts", 2) && f[2] && f[3] == ':') {
        if (unit_factor(f[2], &e->mul, &e->div))
            return -1;
        e->kind = E_TS;
        return 0;
    }
    if (!strncmp(f, "tt", 2) && f[2] && !f[3]) {
        if (unit_factor(f[2], &e->mul, &e->div))
            return -1;
        e->kind = (f[2] == 's' || f[2] == 'm') ? E_TIME32 : E_TIME64;
        return 0;
    }
    if (!strncmp(f, "d:", 2)) {
        int p = 0, s = 0, w = 128;
        int n = sscanf(f + 2, "%d,%d,%d", &p, &s, &w);
        if (n < 2 || w != 128 || p < 1 || p > 38)
            return -1;
        e->kind = E_DEC128;
        e->scale = s;
        return 0;
    }
    return -1;
}

/* Output buffer with big-endian writers. */
typedef struct obuf {
    uint8_t *p;
    size_t len, cap;
} obuf;

static int ob_reserve(obuf *o, size_t n)
{
    if (o->len + n <= o->cap)
        return 0;
    size_t nc = o->cap ? o->cap : 1 << 16;
    while (nc < o->len + n)
        nc *= 2;
    uint8_t *np = realloc(o->p, nc);
    if (!np)
        return -1;
    o->p = np;
    o->cap = nc;
    return 0;
}
static inline void put16(obuf *o, uint16_t v)
{
    v = htons(v);
    memcpy(o->p + o->len, &v, 2);
    o->len += 2;
}
static inline void put32(obuf *o, uint32_t v)
{
    v = htonl(v);
    memcpy(o->p + o->len, &v, 4);
    o->len += 4;
}
static inline void put64(obuf *o, uint64_t v)
{
    put32(o, (uint32_t)(v >> 32));
    put32(o, (uint32_t)v);
}

static float half_to_float(uint16_t h)
{
    int s = (h >> 15) & 1, ex = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (ex == 0)
        v = ldexpf((float)m, -24);
    else if (ex == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400), ex - 25);
    return s ? -v : v;
}

/* Numeric binary value for unscaled * 10^-scale (decimal128). */
static int put_numeric(obuf *o, __int128 v, int scale)
{
    char dig[64];
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    int nd = 0;
    do {
        dig[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    /* reverse into D */
    char D[96];
    int len = 0;
    if (scale < 0) {
        for (int i = nd - 1; i >= 0; i--)
            D[len++] = dig[i];
        for (int i = 0; i < -scale && len < 90; i++)
            D[len++] = '0';
        scale = 0;
    } else {
        int pad = scale + 1 > nd ? scale + 1 - nd : 0;
        for (int i = 0; i < pad; i++)
            D[len++] = '0';
        for (int i = nd - 1; i >= 0; i--)
            D[len++] = dig[i];
    }
    int ilen = len - scale; /* >= 1 */
    uint16_t groups[32];
    int ng = 0;
    int lead = (4 - ilen % 4) % 4;
    int nig = (ilen + lead) / 4;
    for (int g = 0; g < nig; g++) {
        int val = 0;
        for (int k = 0; k < 4; k++) {
            int pos = g * 4 + k - lead;
            val = val * 10 + (pos >= 0 ? D[pos] - '0' : 0);
        }
        groups[ng++] = (uint16_t)val;
    }
    int nfg = (scale + 3) / 4;
    for (int g = 0; g < nfg; g++) {
        int val = 0;
        for (int k = 0; k < 4; k++) {
            int pos = ilen + g * 4 + k;
            val = val * 10 + (pos < len ? D[pos] - '0' : 0);
        }
        groups[ng++] = (uint16_t)val;
    }
    int weight = nig - 1, first = 0;
    while (first < ng && groups[first] == 0)
        first++, weight--;
    int last = ng;
    while (last > first && groups[last - 1] == 0)
        last--;
    int n = last - first;
    if (n == 0)
        weight = 0, neg = 0;
    if (ob_reserve(o, 4 + 8 + 2 * (size_t)n))
        return -1;
    put32(o, (uint32_t)(8 + 2 * n));
    put16(o, (uint16_t)n);
    put16(o, (uint16_t)(int16_t)weight);
    put16(o, neg ? 0x4000 : 0x0000);
    put16(o, (uint16_t)scale);
    for (int i = first; i < last; i++)
        put16(o, groups[i]);
    return 0;
}

static inline bool valid_at(const struct ArrowArray *a, int64_t j)
{
    const uint8_t *bm = a->null_count == 0 ? NULL : (const uint8_t *)a->buffers[0];
    return !bm || (bm[j >> 3] >> (j & 7)) & 1;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Encode one field of row i (logical index j into the child array). */
static int put_field(obuf *o, const col_enc *e, const struct ArrowArray *a, int64_t j)
{
    if (e->kind == E_NULL || !valid_at(a, j)) {
        if (ob_reserve(o, 4))
            return -1;
        put32(o, 0xFFFFFFFFu);
        return 0;
    }
    const void *vb = a->buffers[1];
    if (ob_reserve(o, 16))
        return -1;
    switch (e->kind) {
    case E_BOOL: {
        const uint8_t *bits = vb;
        put32(o, 1);
        o->p[o->len++] = (uint8_t)((bits[j >> 3] >> (j & 7)) & 1);
        return 0;
    }
    case E_I8: put32(o, 2), put16(o, (uint16_t)(int16_t)((const int8_t *)vb)[j]); return 0;
    case E_I16: put32(o, 2), put16(o, (uint16_t)((const int16_t *)vb)[j]); return 0;
    case E_I32: put32(o, 4), put32(o, (uint32_t)((const int32_t *)vb)[j]); return 0;
    case E_I64: put32(o, 8), put64(o, (uint64_t)((const int64_t *)vb)[j]); return 0;
    case E_U8: put32(o, 2), put16(o, ((const uint8_t *)vb)[j]); return 0;
    case E_U16: put32(o, 4), put32(o, ((const uint16_t *)vb)[j]); return 0;
    case E_U32: put32(o, 8), put64(o, ((const uint32_t *)vb)[j]); return 0;
    case E_U64: return put_numeric(o, (__int128)((const uint64_t *)vb)[j], 0);
    case E_F16: {
        float f = half_to_float(((const uint16_t *)vb)[j]);
        uint32_t u;
        memcpy(&u, &f, 4);
        put32(o, 4), put32(o, u);
        return 0;
    }
    case E_F32: {
        uint32_t u;
        memcpy(&u, (const float *)vb + j, 4);
        put32(o, 4), put32(o, u);
        return 0;
    }
    case E_F64: {
        uint64_t u;
        memcpy(&u, (const double *)vb + j, 8);
        put32(o, 8), put64(o, u);
        return 0;
    }
    case E_STR:
    case E_LSTR: {
        int64_t s, n;
        if (e->kind == E_STR) {
            const int32_t *off = vb;
            s = off[j], n = off[j + 1] - off[j];
        } else {
            const int64_t *off = vb;
            s = off[j], n = off[j + 1] - off[j];
        }
        if (n < 0 || n > INT32_MAX || ob_reserve(o, 4 + (size_t)n))
            return -1;
        put32(o, (uint32_t)n);
        memcpy(o->p + o->len, (const uint8_t *)a->buffers[2] + s, (size_t)n);
        o->len += (size_t)n;
        return 0;
    }
    case E_DATE32:
        put32(o, 4), put32(o, (uint32_t)(((const int32_t *)vb)[j] - PG_EPOCH_DAYS));
        return 0;
    case E_DATE64:
        put32(o, 4);
        put32(o, (uint32_t)(int32_t)(floordiv(((const int64_t *)vb)[j], 86400000) - PG_EPOCH_DAYS));
        return 0;
    case E_TS: {
        int64_t v = ((const int64_t *)vb)[j];
        v = e->div > 1 ? floordiv(v, e->div) : v * e->mul;
        put32(o, 8), put64(o, (uint64_t)(v - PG_EPOCH_US));
        return 0;
    }
    case E_TIME32: {
        int64_t v = ((const int32_t *)vb)[j];
        put32(o, 8), put64(o, (uint64_t)(v * e->mul));
        return 0;
    }
    case E_TIME64: {
        int64_t v = ((const int64_t *)vb)[j];
        v = e->div > 1 ? v / e->div : v * e->mul;
        put32(o, 8), put64(o, (uint64_t)v);
        return 0;
    }
    case E_DEC128: {
        __int128 v;
        memcpy(&v, (const uint8_t *)vb + 16 * j, 16);
        return put_numeric(o, v, e->scale);
    }
    case E_NULL: break;
    }
    return -1;
}

static int copy_send(pdi_pg *c, obuf *o)
{
    if (!o->len)
        return PD_OK;
    if (PQputCopyData(c->conn, (const char *)o->p, (int)o->len) != 1)
        return pdi_pg_fail(c, PD_ERR_IO, NULL, " (COPY FROM STDIN)");
    o->len = 0;
    return PD_OK;
}

int pdi_pg_load_arrow(pdi_pg *c,
                      const char *copy_sql,
                      const char *qname,
                      struct ArrowArrayStream *stream,
                      int64_t *rows_out)
{
    if (rows_out)
        *rows_out = 0;
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    if (stream->get_schema(stream, &schema) != 0) {
        const char *m = stream->get_last_error ? stream->get_last_error(stream) : NULL;
        return pd_set_error(PD_ERR_INVALID, "postgres %s: loading %s: cannot get Arrow schema: %s",
                            c->server, qname, m ? m : "?");
    }
    int rc = PD_OK;
    obuf o = {0};
    col_enc *enc = NULL;
    int64_t ncol = schema.n_children, rows = 0;
    bool own_tx = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
    bool in_copy = false;
    if (strcmp(schema.format, "+s") != 0) {
        rc = pd_set_error(PD_ERR_INVALID, "postgres: loading %s: Arrow stream is not a struct",
                          qname);
        goto done;
    }
    enc = pdi_calloc((size_t)ncol + 1, sizeof *enc);
    if (!enc) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < ncol; i++)
        if (schema.children[i]->dictionary || classify(schema.children[i]->format, &enc[i])) {
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "postgres %s: loading %s: column '%s' has Arrow type '%s' with no "
                              "Postgres mapping",
                              c->server, qname, schema.children[i]->name,
                              schema.children[i]->format);
            goto done;
        }
    if (own_tx && (rc = pdi_pg_begin(c)))
        goto done;
    {
        if (c->print_sql)
            pdi_log(PD_LOG_INFO, "SQL (%s): %s", c->server, copy_sql);
        PGresult *r = PQexec(c->conn, copy_sql);
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            rc = pdi_pg_fail(c, PD_ERR_SQL, r, " (COPY FROM STDIN)");
            PQclear(r);
            goto done;
        }
        PQclear(r);
        in_copy = true;
    }
    if (ob_reserve(&o, 19)) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    memcpy(o.p, "PGCOPY\n\377\r\n\0", 11);
    o.len = 11;
    put32(&o, 0);
    put32(&o, 0);
    for (;;) {
        struct ArrowArray batch;
        memset(&batch, 0, sizeof batch);
        if (stream->get_next(stream, &batch) != 0) {
            const char *m = stream->get_last_error ? stream->get_last_error(stream) : NULL;
            rc = pd_set_error(PD_ERR_INVALID, "postgres %s: loading %s: Arrow stream error: %s",
                              c->server, qname, m ? m : "?");
            goto done;
        }
        if (!batch.release)
            break;
        if (batch.n_children != ncol) {
            batch.release(&batch);
            rc = pd_set_error(PD_ERR_INVALID,
                              "postgres: loading %s: batch has %lld columns, "
                              "schema %lld",
                              qname, (long long)batch.n_children, (long long)ncol);
            goto done;
        }
        for (int64_t i = 0; i < batch.length && !rc; i++) {
            if (ob_reserve(&o, 2)) {
                rc = PD_ERR_NOMEM;
                break;
            }
            put16(&o, (uint16_t)ncol);
            for (int64_t k = 0; k < ncol; k++) {
                const struct ArrowArray *ch = batch.children[k];
                if (put_field(&o, &enc[k], ch, ch->offset + batch.offset + i)) {
                    rc = pd_set_error(PD_ERR_INVALID,
                                      "postgres: loading %s: column '%s' row %lld: value cannot "
                                      "be encoded",
                                      qname, schema.children[k]->name, (long long)(rows + i));
                    break;
                }
            }
            if (!rc && o.len >= (1u << 20))
                rc = copy_send(c, &o);
        }
        rows += batch.length;
        batch.release(&batch);
        if (rc)
            goto done;
    }
    if (ob_reserve(&o, 2)) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    put16(&o, 0xFFFF);
    if ((rc = copy_send(c, &o)))
        goto done;
    in_copy = false;
    if (PQputCopyEnd(c->conn, NULL) != 1) {
        rc = pdi_pg_fail(c, PD_ERR_IO, NULL, " (COPY end)");
        goto done;
    }
    {
        PGresult *r;
        while ((r = PQgetResult(c->conn))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) {
                pd_buf w = PD_BUF_INIT;
                pdi_buf_printf(&w, " (COPY into %s)", qname);
                rc = pdi_pg_fail(c, PD_ERR_SQL, r, w.data ? w.data : "");
                pdi_buf_free(&w);
            }
            PQclear(r);
        }
    }
    if (!rc && own_tx)
        rc = pdi_pg_commit(c);
done:
    if (in_copy) {
        PQputCopyEnd(c->conn, "pipedag: load aborted");
        PGresult *r;
        while ((r = PQgetResult(c->conn)))
            PQclear(r);
    }
    if (rc && own_tx)
        pdi_pg_rollback(c);
    free(o.p);
    free(enc);
    if (schema.release)
        schema.release(&schema);
    if (!rc && rows_out)
        *rows_out = rows;
    return rc;
}

/* ------------------------------------------------------------ decoding */

enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIME = 1083,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802
};

typedef enum dec_kind {
    D_BOOL,
    D_I16,
    D_I32,
    D_I64,
    D_OID,
    D_F32,
    D_F64,
    D_TEXT,
    D_JSONB,
    D_BYTES,
    D_DATE,
    D_TS,
    D_TIME,
    D_NUM_INT,
    D_NUM_DEC,
    D_NUM_F64,
    D_UUID
} dec_kind;

typedef struct col_dec {
    dec_kind kind;
    char format[32];
} col_dec;

/* Decide the Arrow type of a result column; -1 = no binary decoder. */
static int decide(Oid t, int typmod, col_dec *d)
{
    switch (t) {
    case OID_BOOL: d->kind = D_BOOL, strcpy(d->format, "b"); return 0;
    case OID_INT2: d->kind = D_I16, strcpy(d->format, "s"); return 0;
    case OID_INT4: d->kind = D_I32, strcpy(d->format, "i"); return 0;
    case OID_INT8: d->kind = D_I64, strcpy(d->format, "l"); return 0;
    case OID_OID: d->kind = D_OID, strcpy(d->format, "l"); return 0;
    case OID_FLOAT4: d->kind = D_F32, strcpy(d->format, "f"); return 0;
    case OID_FLOAT8: d->kind = D_F64, strcpy(d->format, "g"); return 0;
    case OID_TEXT:
    case OID_NAME:
    case OID_JSON:
    case OID_BPCHAR:
    case OID_VARCHAR: d->kind = D_TEXT, strcpy(d->format, "u"); return 0;
    case OID_JSONB: d->kind = D_JSONB, strcpy(d->format, "u"); return 0;
    case OID_UUID: d->kind = D_UUID, strcpy(d->format, "u"); return 0;
    case OID_BYTEA: d->kind = D_BYTES, strcpy(d->format, "z"); return 0;
    case OID_DATE: d->kind = D_DATE, strcpy(d->format, "tdD"); return 0;
    case OID_TIME: d->kind = D_TIME, strcpy(d->format, "ttu"); return 0;
    case OID_TIMESTAMP: d->kind = D_TS, strcpy(d->format, "tsu:"); return 0;
    case OID_TIMESTAMPTZ: d->kind = D_TS, strcpy(d->format, "tsu:UTC"); return 0;
    case OID_NUMERIC:
        if (typmod >= 4) {
            int p = ((typmod - 4) >> 16) & 0xffff, s = (typmod - 4) & 0xffff;
            if (s == 0 && p <= 18) {
                d->kind = D_NUM_INT, strcpy(d->format, "l");
                return 0;
            }
            if (p <= 38 && s <= p) {
                d->kind = D_NUM_DEC;
                snprintf(d->format, sizeof d->format, "d:%d,%d", p, s);
                return 0;
            }
        }
        d->kind = D_NUM_F64, strcpy(d->format, "g");
        return 0;
    default: return -1;
    }
}

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* Numeric binary -> decimal text. */
static int numeric_text(const uint8_t *p, int32_t len, char *out, size_t cap)
{
    if (len < 8)
        return -1;
    int nd = rd16(p), weight = (int16_t)rd16(p + 2), sign = rd16(p + 4), dscale = rd16(p + 6);
    if (len < 8 + 2 * nd)
        return -1;
    if (sign == 0xC000)
        return snprintf(out, cap, "NaN") >= (int)cap ? -1 : 0;
    pd_buf b = PD_BUF_INIT;
    if (sign == 0x4000)
        pdi_buf_putc(&b, '-');
    if (weight < 0) {
        pdi_buf_putc(&b, '0');
    } else {
        for (int i = 0; i <= weight; i++) {
            int v = i < nd ? rd16(p + 8 + 2 * i) : 0;
            pdi_buf_printf(&b, i ? "%04d" : "%d", v);
        }
    }
    if (dscale > 0) {
        pdi_buf_putc(&b, '.');
        size_t start = b.len;
        for (int g = weight + 1; (int)(b.len - start) < dscale; g++) {
            int v = (g >= 0 && g < nd) ? rd16(p + 8 + 2 * g) : 0;
            pdi_buf_printf(&b, "%04d", v);
        }
        b.len = start + (size_t)dscale;
    }
    int rc = (b.oom || b.len + 1 > cap) ? -1 : 0;
    if (!rc) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    pdi_buf_free(&b);
    return rc;
}

static int
append_value(pd_arrow_builder *b, size_t col, const col_dec *d, const uint8_t *p, int32_t len)
{
    char tmp[256];
    switch (d->kind) {
    case D_BOOL: return len == 1 ? pd_arrow_builder_append_bool(b, col, p[0] != 0) : -1;
    case D_I16: return len == 2 ? pd_arrow_builder_append_int(b, col, (int16_t)rd16(p)) : -1;
    case D_I32: return len == 4 ? pd_arrow_builder_append_int(b, col, (int32_t)rd32(p)) : -1;
    case D_OID: return len == 4 ? pd_arrow_builder_append_int(b, col, rd32(p)) : -1;
    case D_I64: return len == 8 ? pd_arrow_builder_append_int(b, col, (int64_t)rd64(p)) : -1;
    case D_F32: {
        if (len != 4)
            return -1;
        uint32_t u = rd32(p);
        float f;
        memcpy(&f, &u, 4);
        return pd_arrow_builder_append_double(b, col, f);
    }
    case D_F64: {
        if (len != 8)
            return -1;
        uint64_t u = rd64(p);
        double f;
        memcpy(&f, &u, 8);
        return pd_arrow_builder_append_double(b, col, f);
    }
    case D_TEXT:
    case D_BYTES: return pd_arrow_builder_append_bytes(b, col, p, (size_t)len);
    case D_JSONB:
        return len >= 1 ? pd_arrow_builder_append_bytes(b, col, p + 1, (size_t)len - 1) : -1;
    case D_UUID: {
        if (len != 16)
            return -1;
        char *o = tmp;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                *o++ = '-';
            o += sprintf(o, "%02x", p[i]);
        }
        return pd_arrow_builder_append_bytes(b, col, tmp, (size_t)(o - tmp));
    }
    case D_DATE:
        return len == 4 ? pd_arrow_builder_append_int(b, col, (int32_t)rd32(p) + PG_EPOCH_DAYS)
                        : -1;
    case D_TS:
        return len == 8 ? pd_arrow_builder_append_int(b, col, (int64_t)rd64(p) + PG_EPOCH_US) : -1;
    case D_TIME: return len == 8 ? pd_arrow_builder_append_int(b, col, (int64_t)rd64(p)) : -1;
    case D_NUM_INT:
    case D_NUM_DEC:
    case D_NUM_F64:
        if (numeric_text(p, len, tmp, sizeof tmp))
            return -1;
        if (d->kind == D_NUM_INT)
            return pd_arrow_builder_append_int(b, col, strtoll(tmp, NULL, 10));
        if (d->kind == D_NUM_F64)
            return pd_arrow_builder_append_double(b, col, strtod(tmp, NULL));
        return pd_arrow_builder_append_bytes(b, col, tmp, strlen(tmp));
    }
    return -1;
}

#define BATCH_ROWS 65536

int pdi_pg_read_arrow(pdi_pg *c, const char *select_sql, struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    int rc = PD_OK;
    /* the query is nested in COPY (...): drop trailing semicolons */
    size_t qlen = strlen(select_sql);
    while (qlen && (select_sql[qlen - 1] == ';' || select_sql[qlen - 1] == ' ' ||
                    select_sql[qlen - 1] == '\n' || select_sql[qlen - 1] == '\t' ||
                    select_sql[qlen - 1] == '\r'))
        qlen--;
    char *sql = pdi_strndup(select_sql, qlen);
    char *wrapped = NULL;
    col_dec *dec = NULL;
    pd_arrow_builder *b = NULL;
    struct ArrowArray *batches = NULL;
    size_t nb = 0, capb = 0;
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    PGresult *desc = NULL;
    if (!sql)
        return PD_ERR_NOMEM;
    /* 1. result columns and types */
    PGresult *r = PQprepare(c->conn, "", sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pdi_pg_fail(c, PD_ERR_SQL, r, "");
        PQclear(r);
        goto done;
    }
    PQclear(r);
    desc = PQdescribePrepared(c->conn, "");
    if (PQresultStatus(desc) != PGRES_COMMAND_OK) {
        rc = pdi_pg_fail(c, PD_ERR_SQL, desc, "");
        goto done;
    }
    int nf = PQnfields(desc);
    dec = pdi_calloc((size_t)nf + 1, sizeof *dec);
    if (!dec || pd_arrow_builder_new(&b)) {
        rc = PD_ERR_NOMEM;
        goto done;
    }
    bool need_cast = false;
    for (int f = 0; f < nf; f++)
        if (decide(PQftype(desc, f), PQfmod(desc, f), &dec[f])) {
            need_cast = true;
            dec[f].kind = D_TEXT;
            strcpy(dec[f].format, "u");
        }
    if (need_cast) {
        /* columns without a binary decoder are read as their text form */
        const char **names = pdi_calloc((size_t)nf + 1, sizeof *names);
        bool *cast = pdi_calloc((size_t)nf + 1, sizeof *cast);
        for (int f = 0; names && cast && f < nf; f++) {
            col_dec tmpd;
            names[f] = PQfname(desc, f);
            cast[f] = decide(PQftype(desc, f), PQfmod(desc, f), &tmpd) != 0;
        }
        wrapped = names && cast ? pdi_sql_pg_text_cast(sql, names, cast, (size_t)nf) : NULL;
        free(names);
        free(cast);
        if (!wrapped) {
            rc = PD_ERR_NOMEM;
            goto done;
        }
    }
    for (int f = 0; f < nf; f++)
        if (pd_arrow_builder_add_column(b, PQfname(desc, f), dec[f].format, 1)) {
            rc = pd_error_prefix("postgres: column '%s'", PQfname(desc, f));
            goto done;
        }
    /* 2. COPY out */
    {
        char *copy = pdi_sql_pg_copy_out(wrapped ? wrapped : sql);
        if (!copy) {
            rc = PD_ERR_NOMEM;
            goto done;
        }
        if (c->print_sql)
            pdi_log(PD_LOG_INFO, "SQL (%s): %s", c->server, copy);
        r = PQexec(c->conn, copy);
        free(copy);
        if (PQresultStatus(r) != PGRES_COPY_OUT) {
            rc = pdi_pg_fail(c, PD_ERR_SQL, r, "");
            PQclear(r);
            goto done;
        }
        PQclear(r);
    }
    bool header = false, copy_done = false;
    for (;;) {
        char *msg = NULL;
        int n = PQgetCopyData(c->conn, &msg, 0);
        if (n == -1)
            break;
        if (n < 0) {
            rc = pdi_pg_fail(c, PD_ERR_IO, NULL, " (COPY TO STDOUT)");
            break;
        }
        const uint8_t *p = (const uint8_t *)msg, *end = p + n;
        if (!header) {
            if (n < 19 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0) {
                PQfreemem(msg);
                rc = pd_set_error(PD_ERR_CORRUPT, "postgres %s: bad binary COPY header", c->server);
                break;
            }
            uint32_t ext = rd32(p + 15);
            p += 19 + ext;
            header = true;
        }
        while (!rc && p + 2 <= end) {
            int16_t nfields = (int16_t)rd16(p);
            p += 2;
            if (nfields == -1) {
                copy_done = true;
                break;
            }
            if (nfields != nf) {
                rc = pd_set_error(PD_ERR_CORRUPT, "postgres %s: COPY row has %d fields, want %d",
                                  c->server, nfields, nf);
                break;
            }
            for (int f = 0; f < nf && !rc; f++) {
                if (p + 4 > end) {
                    rc = pd_set_error(PD_ERR_CORRUPT, "postgres %s: truncated COPY row", c->server);
                    break;
                }
                int32_t len = (int32_t)rd32(p);
                p += 4;
                if (len < 0) {
                    rc = pd_arrow_builder_append_null(b, (size_t)f);
                } else {
                    if (p + len > end) {
                        rc = pd_set_error(PD_ERR_CORRUPT, "postgres %s: truncated COPY field",
                                          c->server);
                        break;
                    }
                    if (append_value(b, (size_t)f, &dec[f], p, len))
                        rc = pd_set_error(PD_ERR_CORRUPT,
                                          "postgres %s: column '%s': cannot decode value",
                                          c->server, PQfname(desc, f));
                    p += len;
                }
            }
            if (!rc && pd_arrow_builder_num_rows(b) >= BATCH_ROWS) {
                if (nb == capb) {
                    capb = capb ? capb * 2 : 8;
                    struct ArrowArray *nbp = pdi_realloc(batches, capb * sizeof *nbp);
                    if (!nbp) {
                        rc = PD_ERR_NOMEM;
                        break;
                    }
                    batches = nbp;
                }
                rc = pd_arrow_builder_finish(b, NULL, &batches[nb]);
                if (!rc)
                    nb++;
            }
        }
        PQfreemem(msg);
        if (rc)
            break;
    }
    (void)copy_done;
    if (rc) {
        /* drain the rest of the COPY */
        char *msg;
        while (PQgetCopyData(c->conn, &msg, 0) >= 0)
            PQfreemem(msg);
    }
    {
        PGresult *rr;
        while ((rr = PQgetResult(c->conn))) {
            if (PQresultStatus(rr) != PGRES_COMMAND_OK && !rc)
                rc = pdi_pg_fail(c, PD_ERR_SQL, rr, "");
            PQclear(rr);
        }
    }
    if (rc)
        goto done;
    if (nb == capb) {
        capb = capb + 1;
        struct ArrowArray *nbp = pdi_realloc(batches, capb * sizeof *nbp);
        if (!nbp) {
            rc = PD_ERR_NOMEM;
            goto done;
        }
        batches = nbp;
    }
    /* the last (possibly empty) batch carries the schema */
    rc = pd_arrow_builder_finish(b, &schema, &batches[nb]);
    if (rc)
        goto done;
    if (batches[nb].length > 0 || nb == 0)
        nb++;
    else
        batches[nb].release(&batches[nb]);
    rc = pd_arrow_stream_from_batches(&schema, batches, nb, out);
    nb = 0;
done:
    for (size_t i = 0; i < nb; i++)
        if (batches[i].release)
            batches[i].release(&batches[i]);
    free(batches);
    if (schema.release)
        schema.release(&schema);
    pd_arrow_builder_free(b);
    free(dec);
    PQclear(desc);
    free(wrapped);
    free(sql);
    return rc;
}
