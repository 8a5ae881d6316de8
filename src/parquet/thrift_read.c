/*
 * parquet/thrift_read.c - Thrift compact protocol decoder for Parquet metadata.
 *
 * A bounded cursor over a byte range: every length is checked against the
 * bytes left, list sizes are capped by the bytes left, and nesting depth is
 * capped. Unknown fields are skipped with a generic recursive skipper.
 */
#include "parquet/reader_int.h"

#include <string.h>

static int tr_err(const pdi_thrift *t, const char *what)
{
    return pd_set_error(PD_ERR_CORRUPT, "bad Thrift metadata at byte %zu: %s",
                        (size_t)(t->p - t->start), what);
}

void pdi_tr_init(pdi_thrift *t, const void *data, size_t len)
{
    t->p = data;
    t->start = data;
    t->end = (const uint8_t *)data + len;
    t->depth = 0;
}

int pdi_tr_varint(pdi_thrift *t, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (t->p >= t->end)
            return tr_err(t, "truncated varint");
        uint8_t b = *t->p++;
        if (shift == 63 && (b & 0x7e))
            return tr_err(t, "varint too long");
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return PD_OK;
        }
    }
    return tr_err(t, "varint too long");
}

int pdi_tr_i64(pdi_thrift *t, int64_t *v)
{
    uint64_t u = 0;
    int rc = pdi_tr_varint(t, &u);
    if (rc)
        return rc;
    *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    return PD_OK;
}

int pdi_tr_i32(pdi_thrift *t, int32_t *v)
{
    int64_t x = 0;
    int rc = pdi_tr_i64(t, &x);
    if (rc)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return tr_err(t, "i32 out of range");
    *v = (int32_t)x;
    return PD_OK;
}

int pdi_tr_i8(pdi_thrift *t, int8_t *v)
{
    if (t->p >= t->end)
        return tr_err(t, "truncated i8");
    *v = (int8_t)*t->p++;
    return PD_OK;
}

int pdi_tr_double(pdi_thrift *t, double *v)
{
    if (t->end - t->p < 8)
        return tr_err(t, "truncated double");
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | t->p[i];
    memcpy(v, &u, 8);
    t->p += 8;
    return PD_OK;
}

int pdi_tr_binary(pdi_thrift *t, const uint8_t **data, size_t *len)
{
    uint64_t n = 0;
    int rc = pdi_tr_varint(t, &n);
    if (rc)
        return rc;
    if (n > (uint64_t)(t->end - t->p))
        return tr_err(t, "binary length beyond end of data");
    *data = t->p;
    *len = (size_t)n;
    t->p += n;
    return PD_OK;
}

int pdi_tr_field(pdi_thrift *t, int16_t *last, int16_t *id, int *type)
{
    if (t->p >= t->end)
        return tr_err(t, "truncated struct (no stop byte)");
    uint8_t b = *t->p++;
    if (b == 0) {
        *type = PDI_T_STOP;
        *id = 0;
        return PD_OK;
    }
    int ty = b & 0x0f;
    int delta = b >> 4;
    if (ty > PDI_T_UUID)
        return tr_err(t, "unknown wire type");
    if (delta) {
        *id = (int16_t)(*last + delta);
    } else {
        int64_t x = 0;
        int rc = pdi_tr_i64(t, &x);
        if (rc)
            return rc;
        if (x < INT16_MIN || x > INT16_MAX)
            return tr_err(t, "field id out of range");
        *id = (int16_t)x;
    }
    *last = *id;
    *type = ty;
    return PD_OK;
}

static int elem_min_size(int type)
{
    switch (type) {
    case PDI_T_DOUBLE: return 8;
    case PDI_T_UUID: return 16;
    default: return 1;
    }
}

int pdi_tr_list(pdi_thrift *t, int *elem_type, uint32_t *n)
{
    if (t->p >= t->end)
        return tr_err(t, "truncated list header");
    uint8_t b = *t->p++;
    uint64_t size = b >> 4;
    int ty = b & 0x0f;
    if (size == 15) {
        int rc = pdi_tr_varint(t, &size);
        if (rc)
            return rc;
    }
    if (ty == PDI_T_STOP || ty > PDI_T_UUID)
        return tr_err(t, "bad list element type");
    /* every element takes at least one byte (structs: the stop byte) */
    if (size > (uint64_t)(t->end - t->p) / (uint64_t)elem_min_size(ty))
        return tr_err(t, "list size larger than the data");
    *elem_type = ty;
    *n = (uint32_t)size;
    return PD_OK;
}

int pdi_tr_bool_elem(pdi_thrift *t, bool *v)
{
    if (t->p >= t->end)
        return tr_err(t, "truncated bool");
    uint8_t b = *t->p++;
    *v = (b == 1);
    return PD_OK;
}

int pdi_tr_enter(pdi_thrift *t)
{
    if (++t->depth > PDI_MAX_THRIFT_DEPTH)
        return tr_err(t, "nesting too deep");
    return PD_OK;
}

void pdi_tr_leave(pdi_thrift *t)
{
    t->depth--;
}

int pdi_tr_skip(pdi_thrift *t, int type)
{
    int rc = PD_OK;
    uint64_t u = 0;
    switch (type) {
    case PDI_T_TRUE:
    case PDI_T_FALSE: return PD_OK; /* value lives in the field header */
    case PDI_T_I8:
        if (t->p >= t->end)
            return tr_err(t, "truncated i8");
        t->p++;
        return PD_OK;
    case PDI_T_I16:
    case PDI_T_I32:
    case PDI_T_I64: return pdi_tr_varint(t, &u);
    case PDI_T_DOUBLE:
        if (t->end - t->p < 8)
            return tr_err(t, "truncated double");
        t->p += 8;
        return PD_OK;
    case PDI_T_UUID:
        if (t->end - t->p < 16)
            return tr_err(t, "truncated uuid");
        t->p += 16;
        return PD_OK;
    case PDI_T_BINARY: {
        const uint8_t *d;
        size_t n;
        return pdi_tr_binary(t, &d, &n);
    }
    case PDI_T_LIST:
    case PDI_T_SET: {
        int et = 0;
        uint32_t n = 0;
        if ((rc = pdi_tr_enter(t)))
            return rc;
        if ((rc = pdi_tr_list(t, &et, &n)))
            return rc;
        for (uint32_t i = 0; i < n && !rc; i++) {
            if (et == PDI_T_TRUE || et == PDI_T_FALSE) {
                bool b;
                rc = pdi_tr_bool_elem(t, &b);
            } else {
                rc = pdi_tr_skip(t, et);
            }
        }
        pdi_tr_leave(t);
        return rc;
    }
    case PDI_T_MAP: {
        if ((rc = pdi_tr_enter(t)))
            return rc;
        if ((rc = pdi_tr_varint(t, &u)))
            return rc;
        if (u > 0) {
            if (t->p >= t->end)
                return tr_err(t, "truncated map");
            uint8_t kv = *t->p++;
            int kt = kv >> 4, vt = kv & 0x0f;
            if (u > (uint64_t)(t->end - t->p))
                return tr_err(t, "map size larger than the data");
            for (uint64_t i = 0; i < u && !rc; i++) {
                bool b;
                rc = (kt == PDI_T_TRUE || kt == PDI_T_FALSE) ? pdi_tr_bool_elem(t, &b)
                                                             : pdi_tr_skip(t, kt);
                if (!rc)
                    rc = (vt == PDI_T_TRUE || vt == PDI_T_FALSE) ? pdi_tr_bool_elem(t, &b)
                                                                 : pdi_tr_skip(t, vt);
            }
        }
        pdi_tr_leave(t);
        return rc;
    }
    case PDI_T_STRUCT: {
        if ((rc = pdi_tr_enter(t)))
            return rc;
        int16_t last = 0, id;
        int ft = PDI_T_STOP;
        for (;;) {
            if ((rc = pdi_tr_field(t, &last, &id, &ft)))
                break;
            if (ft == PDI_T_STOP)
                break;
            if ((rc = pdi_tr_skip(t, ft)))
                break;
        }
        pdi_tr_leave(t);
        return rc;
    }
    default: return tr_err(t, "unknown wire type");
    }
}
