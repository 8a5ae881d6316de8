/*
 * parquet/thrift_write.c - Thrift compact protocol encoder for the writer.
 *
 * Emits field headers (short form when the id delta is 1..15, long form
 * otherwise), zigzag varints, binaries, lists and nested structs into a
 * growable buffer. Errors (out of memory, nesting too deep) are sticky in
 * pdw_thrift.err so callers check once at the end. Also home of the small
 * pdw_buf helpers used by the whole writer.
 */
#include "parquet/writer_int.h"

#include <stdlib.h>

int pdw_buf_grow(pdw_buf *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need < b->len) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: buffer size overflow");
    }
    if (need <= b->cap) {
        return PD_OK;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap + cap / 2 + 64;
        if (cap < need && cap > SIZE_MAX / 2) {
            cap = need;
        }
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory (%zu bytes)", cap);
    }
    b->p = p;
    b->cap = cap;
    return PD_OK;
}

void pdw_buf_free(pdw_buf *b)
{
    if (!b) {
        return;
    }
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void pdw_t_init(pdw_thrift *t, pdw_buf *b)
{
    t->b = b;
    t->depth = 0;
    t->last[0] = 0;
    t->err = PD_OK;
}

static void put_byte(pdw_thrift *t, uint8_t c)
{
    if (t->err || pdw_buf_reserve(t->b, 1) != PD_OK) {
        t->err = PD_ERR_NOMEM;
        return;
    }
    t->b->p[t->b->len++] = c;
}

void pdw_t_raw_varint(pdw_thrift *t, uint64_t v)
{
    if (t->err || pdw_buf_reserve(t->b, 10) != PD_OK) {
        t->err = PD_ERR_NOMEM;
        return;
    }
    uint8_t *p = t->b->p + t->b->len;
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    t->b->len += n;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void pdw_t_raw_i32(pdw_thrift *t, int32_t v)
{
    pdw_t_raw_varint(t, zigzag(v));
}

void pdw_t_raw_i64(pdw_thrift *t, int64_t v)
{
    pdw_t_raw_varint(t, zigzag(v));
}

void pdw_t_raw_bytes(pdw_thrift *t, const void *p, size_t n)
{
    if (t->err || pdw_buf_put(t->b, p, n) != PD_OK) {
        t->err = PD_ERR_NOMEM;
    }
}

void pdw_t_raw_bin(pdw_thrift *t, const void *p, size_t n)
{
    pdw_t_raw_varint(t, n);
    pdw_t_raw_bytes(t, p, n);
}

void pdw_t_field(pdw_thrift *t, int id, int type)
{
    int delta = id - t->last[t->depth];
    if (delta > 0 && delta <= 15) {
        put_byte(t, (uint8_t)((delta << 4) | type));
    } else {
        put_byte(t, (uint8_t)type);
        pdw_t_raw_varint(t, zigzag((int16_t)id));
    }
    t->last[t->depth] = (int16_t)id;
}

void pdw_t_i32(pdw_thrift *t, int id, int32_t v)
{
    pdw_t_field(t, id, PDW_T_I32);
    pdw_t_raw_i32(t, v);
}

void pdw_t_i64(pdw_thrift *t, int id, int64_t v)
{
    pdw_t_field(t, id, PDW_T_I64);
    pdw_t_raw_i64(t, v);
}

void pdw_t_i8(pdw_thrift *t, int id, int8_t v)
{
    pdw_t_field(t, id, PDW_T_I8);
    put_byte(t, (uint8_t)v);
}

void pdw_t_bool(pdw_thrift *t, int id, int v)
{
    pdw_t_field(t, id, v ? PDW_T_TRUE : PDW_T_FALSE);
}

void pdw_t_bin(pdw_thrift *t, int id, const void *p, size_t n)
{
    pdw_t_field(t, id, PDW_T_BINARY);
    pdw_t_raw_bin(t, p, n);
}

void pdw_t_str(pdw_thrift *t, int id, const char *s)
{
    pdw_t_bin(t, id, s, strlen(s));
}

void pdw_t_begin(pdw_thrift *t)
{
    if (t->depth + 1 >= PDW_T_MAX_DEPTH) {
        t->err = PD_ERR_INVALID;
        return;
    }
    t->depth++;
    t->last[t->depth] = 0;
}

void pdw_t_struct(pdw_thrift *t, int id)
{
    pdw_t_field(t, id, PDW_T_STRUCT);
    pdw_t_begin(t);
}

void pdw_t_end(pdw_thrift *t)
{
    put_byte(t, 0);
    if (t->depth > 0) {
        t->depth--;
    }
}

void pdw_t_list(pdw_thrift *t, int id, int etype, size_t n)
{
    pdw_t_field(t, id, PDW_T_LIST);
    if (n < 15) {
        put_byte(t, (uint8_t)((n << 4) | (size_t)etype));
    } else {
        put_byte(t, (uint8_t)(0xF0 | etype));
        pdw_t_raw_varint(t, n);
    }
}
