/*
 * parquet/read_bloom.c - checking a value against a column chunk's Bloom
 * filter (BloomFilterHeader + split-block bitset at bloom_filter_offset):
 * lets a caller skip row groups that certainly do not hold a value.
 */
#include "parquet/codec.h"
#include "parquet/reader_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOOM_MAX_BYTES ((int32_t)128 << 20)
#define BLOOM_HDR_MAX   256 /* bytes read for the header; real headers take ~16 */

/* Id of the (single) member set in a Thrift union (0 if none). */
static int union_member(pdi_thrift *t, int ft, int *member)
{
    *member = 0;
    if (ft != PDI_T_STRUCT)
        return pdi_tr_skip(t, ft);
    int rc = pdi_tr_enter(t);
    int16_t last = 0, id;
    int type;
    while (!rc && !(rc = pdi_tr_field(t, &last, &id, &type)) && type != PDI_T_STOP) {
        if (!*member)
            *member = id;
        rc = pdi_tr_skip(t, type);
    }
    pdi_tr_leave(t);
    return rc;
}

/* numBytes of a BloomFilterHeader, checking it is the one format we know
 * (BLOCK, XXHASH, UNCOMPRESSED); *hlen receives the header's size. */
static int parse_header(const uint8_t *p, size_t len, int32_t *nbytes, size_t *hlen)
{
    pdi_thrift t;
    pdi_tr_init(&t, p, len);
    int16_t last = 0, id;
    int type, rc = PD_OK, members[5] = {0, 0, 0, 0, 0};
    *nbytes = -1;
    while (!rc && !(rc = pdi_tr_field(&t, &last, &id, &type)) && type != PDI_T_STOP) {
        if (id == 1 && type == PDI_T_I32)
            rc = pdi_tr_i32(&t, nbytes);
        else if (id >= 2 && id <= 4)
            rc = union_member(&t, type, &members[id]);
        else
            rc = pdi_tr_skip(&t, type);
    }
    if (rc)
        return pd_error_prefix("Bloom filter header");
    if (*nbytes <= 0 || *nbytes > BLOOM_MAX_BYTES || *nbytes % 32)
        return pd_set_error(PD_ERR_CORRUPT, "Bloom filter of %d bytes", (int)*nbytes);
    if (members[2] != 1 || members[3] != 1 || members[4] != 1)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "Bloom filter algorithm %d / hash %d / compression %d is not the "
                            "split-block XXHASH uncompressed filter",
                            members[2], members[3], members[4]);
    *hlen = (size_t)(t.p - t.start);
    return PD_OK;
}

static int value_fits(const pdi_column *col, size_t len)
{
    size_t want;
    switch (col->ptype) {
    case PDI_BOOLEAN:
        return pd_set_error(PD_ERR_INVALID, "column '%s' is BOOLEAN: no Bloom filter applies",
                            col->path);
    case PDI_INT32:
    case PDI_FLOAT: want = 4; break;
    case PDI_INT64:
    case PDI_DOUBLE: want = 8; break;
    case PDI_INT96: want = 12; break;
    case PDI_FLBA: want = (size_t)col->type_length; break;
    default: return PD_OK; /* BYTE_ARRAY: any length */
    }
    if (len != want)
        return pd_set_error(PD_ERR_INVALID,
                            "column '%s' (%s) takes %zu-byte values for its Bloom filter, got %zu",
                            col->path, pdi_type_name(col->ptype), want, len);
    return PD_OK;
}

static int bloom_check(pd_parquet_reader *r, int rg, int leaf, const void *value, size_t len)
{
    const pdi_chunk *ch = &r->f.rowgroups[rg].columns[leaf];
    if (ch->bloom_offset < 0)
        return pd_set_error(PD_ERR_NOT_FOUND, "no Bloom filter");
    uint64_t off = (uint64_t)ch->bloom_offset;
    if (off >= r->meta_start)
        return pd_set_error(PD_ERR_CORRUPT, "Bloom filter offset %llu beyond the data",
                            (unsigned long long)off);
    size_t avail = (size_t)(r->meta_start - off);
    const uint8_t *p;
    uint8_t *owned;
    int rc = pdi_read_range(r, off, avail < BLOOM_HDR_MAX ? avail : BLOOM_HDR_MAX, &p, &owned);
    if (rc)
        return rc;
    int32_t nbytes = 0;
    size_t hlen = 0;
    rc = parse_header(p, avail < BLOOM_HDR_MAX ? avail : BLOOM_HDR_MAX, &nbytes, &hlen);
    pdi_bfree(owned);
    if (rc)
        return rc;
    if ((size_t)nbytes > avail - hlen)
        return pd_set_error(PD_ERR_CORRUPT, "Bloom filter of %d bytes runs into the footer",
                            (int)nbytes);
    if (ch->bloom_length >= 0 && (size_t)ch->bloom_length != hlen + (size_t)nbytes)
        return pd_set_error(PD_ERR_CORRUPT, "Bloom filter length %d, header and bitset take %zu",
                            (int)ch->bloom_length, hlen + (size_t)nbytes);
    if ((rc = pdi_read_range(r, off + hlen, (size_t)nbytes, &p, &owned)))
        return rc;
    bool maybe = pdi_pq_bloom_check(p, (size_t)nbytes, pdi_pq_xxh64(value, len));
    pdi_bfree(owned);
    return maybe ? 1 : 0;
}

static int find_leaf(const pd_parquet_reader *r, const char *column, int *leaf)
{
    for (int i = 0; i < r->f.n_leaves; i++)
        if (strcmp(r->f.leaves[i].path, column) == 0) {
            *leaf = i;
            return PD_OK;
        }
    return pd_set_error(PD_ERR_INVALID, "no leaf column '%s'", column);
}

int pd_parquet_bloom_check(
    pd_parquet_reader *r, int row_group, const char *column, const void *value, size_t len)
{
    if (!r || !column || (!value && len))
        return pd_set_error(PD_ERR_INVALID, "NULL argument");
    if (row_group < 0 || row_group >= r->f.n_rowgroups)
        return pd_set_error(PD_ERR_INVALID, "row group %d out of range (file has %d)", row_group,
                            r->f.n_rowgroups);
    int leaf = -1;
    int rc = find_leaf(r, column, &leaf);
    if (rc)
        return rc;
    rc = value_fits(&r->f.leaves[leaf], len);
    if (!rc)
        rc = bloom_check(r, row_group, leaf, value ? value : "", len);
    if (rc < 0)
        pd_error_prefix("column '%s', row group %d", column, row_group);
    return rc;
}

int pd_parquet_bloom_check_text(pd_parquet_reader *r,
                                int row_group,
                                const char *column,
                                const char *text)
{
    if (!r || !column || !text)
        return pd_set_error(PD_ERR_INVALID, "NULL argument");
    int leaf = -1;
    int rc = find_leaf(r, column, &leaf);
    if (rc)
        return rc;
    int t = r->f.leaves[leaf].ptype;
    if (t == PDI_BYTE_ARRAY || t == PDI_FLBA || t == PDI_BOOLEAN || t == PDI_INT96)
        return pd_parquet_bloom_check(r, row_group, column, text, strlen(text));
    char *end;
    errno = 0;
    union {
        int32_t i32;
        int64_t i64;
        float f;
        double d;
    } v;
    size_t len;
    if (t == PDI_FLOAT || t == PDI_DOUBLE) {
        double d = strtod(text, &end);
        if (t == PDI_FLOAT) {
            v.f = (float)d;
            len = 4;
        } else {
            v.d = d;
            len = 8;
        }
    } else {
        /* signed, or unsigned up to the width's maximum (UINT_32 / UINT_64
         * columns store the same bits) */
        long long x = strtoll(text, &end, 10);
        if (errno == ERANGE || (t == PDI_INT32 && x > INT32_MAX)) {
            errno = 0;
            unsigned long long u = strchr(text, '-') ? 0 : strtoull(text, &end, 10);
            if (!u || (t == PDI_INT32 && u > UINT32_MAX))
                errno = ERANGE;
            x = (long long)u;
        } else if (t == PDI_INT32 && x < INT32_MIN) {
            errno = ERANGE;
        }
        if (t == PDI_INT32) {
            v.i32 = (int32_t)(uint32_t)x;
            len = 4;
        } else {
            v.i64 = x;
            len = 8;
        }
    }
    if (end == text || *end || errno)
        return pd_set_error(PD_ERR_INVALID, "column '%s' (%s): '%s' is not a %s value", column,
                            pdi_type_name(t), text, pdi_type_name(t));
    return pd_parquet_bloom_check(r, row_group, column, &v, len);
}
