/*
 * parquet/write_shred.c - Arrow arrays -> definition/repetition levels and
 * Parquet physical values (the writer's "shredding").
 *
 * Flat leaves (a primitive directly under the root) take a fast path that
 * converts whole ranges. Nested leaves walk their path step by step over a
 * list of slots (array index or "ended here", definition level, repetition
 * level): structs and nullable nodes end slots at nulls, lists expand each
 * slot into its elements. Array offsets are honoured at every level.
 */
#include "parquet/writer_int.h"

#include <stdlib.h>

static inline int bit_get(const uint8_t *bm, int64_t i)
{
    return (bm[i >> 3] >> (i & 7)) & 1;
}

static int need_buffers(const pdw_leaf *lf, const struct ArrowArray *a, int64_t nb)
{
    if (!a || a->n_buffers < nb || !a->buffers) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': malformed Arrow array",
                            lf->dotted);
    }
    for (int64_t i = 1; i < nb; i++) {
        if (!a->buffers[i] && a->length > 0) {
            return pd_set_error(PD_ERR_INVALID,
                                "parquet writer: column '%s': Arrow array buffer %d is NULL",
                                lf->dotted, (int)i);
        }
    }
    return PD_OK;
}

static int64_t nbuffers_for(int conv)
{
    switch (conv) {
    case PDW_CV_NULL: return 0;
    case PDW_CV_BIN32:
    case PDW_CV_BIN64: return 3;
    default: return 2;
    }
}

/* Visit i in [p, p+n), only the valid positions when a bitmap is given. */
#define LOOP(...)                                 \
    do {                                          \
        if (!valid) {                             \
            for (int64_t i = p; i < p + n; i++) { \
                __VA_ARGS__;                      \
            }                                     \
        } else {                                  \
            for (int64_t i = p; i < p + n; i++) { \
                if (bit_get(valid, i)) {          \
                    __VA_ARGS__;                  \
                }                                 \
            }                                     \
        }                                         \
    } while (0)

/* Copy values stored as is (w bytes each) to d; returns how many. */
static size_t
copy_values(uint8_t *d, const uint8_t *s, int64_t p, int64_t n, const uint8_t *valid, size_t w)
{
    size_t k = 0;
    if (!valid) {
        memcpy(d, s + (size_t)p * w, (size_t)n * w);
        return (size_t)n;
    }
    switch (w) {
    case 4: LOOP(memcpy(d + 4 * k++, s + 4 * i, 4)); break;
    case 8: LOOP(memcpy(d + 8 * k++, s + 8 * i, 8)); break;
    default: LOOP(memcpy(d + w * k++, s + w * (size_t)i, w)); break;
    }
    return k;
}

static int bad_offsets(const pdw_leaf *lf)
{
    return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': bad offsets", lf->dotted);
}

static inline int64_t bin_off(const void *of, int wide, int64_t i)
{
    return wide ? ((const int64_t *)of)[i] : ((const int32_t *)of)[i];
}

/* utf8/binary (wide: 64-bit offsets) -> PLAIN BYTE_ARRAY (u32 length +
 * bytes); inlined per offset width. */
static inline __attribute__((always_inline)) int put_binary(pdw_leaf *lf,
                                                            const void *of,
                                                            const uint8_t *data,
                                                            int64_t p,
                                                            int64_t n,
                                                            const uint8_t *valid,
                                                            const int wide)
{
    int64_t start = bin_off(of, wide, p), end = bin_off(of, wide, p + n);
    if (end < start || (end > start && !data)) {
        return bad_offsets(lf);
    }
    /* 16 spare bytes: short strings are copied 16 bytes at a time when the
     * source has that many bytes left (offsets are monotonic, so every
     * string lies within [start, end)) */
    pdw_buf *o = &lf->vals;
    if (pdw_buf_reserve(o, (size_t)n * 4 + (size_t)(end - start) + 16) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    uint8_t *d = o->p + o->len;
    size_t k = 0, nv = 0;
    LOOP({
        int64_t s0 = bin_off(of, wide, i), l64 = bin_off(of, wide, i + 1) - s0;
        if (l64 < 0 || l64 > 0x7FFFFFFF) {
            return bad_offsets(lf);
        }
        uint32_t len = (uint32_t)l64;
        memcpy(d + k, &len, 4);
        if (len <= 16 && s0 + 16 <= end) {
            memcpy(d + k + 4, data + s0, 16);
        } else {
            memcpy(d + k + 4, data + s0, len);
        }
        k += 4 + len;
        nv++;
    });
    o->len += k;
    lf->nval += (int64_t)nv;
    return PD_OK;
}

/* Append n values starting at physical index p (valid bitmap optional: only
 * valid positions are appended), converted to the leaf's physical type. */
static int
put_values(pdw_leaf *lf, const struct ArrowArray *a, int64_t p, int64_t n, const uint8_t *valid)
{
    pdw_buf *o = &lf->vals;
    const void *b1 = a->n_buffers > 1 ? a->buffers[1] : NULL;
    size_t cnt = (size_t)n;
    if (lf->conv == PDW_CV_NULL) {
        return PD_OK;
    }
    if (lf->conv == PDW_CV_BIN32) {
        return put_binary(lf, b1, a->buffers[2], p, n, valid, 0);
    }
    if (lf->conv == PDW_CV_BIN64) {
        return put_binary(lf, b1, a->buffers[2], p, n, valid, 1);
    }
    size_t w = pdw_value_width(lf);
    if (pdw_buf_reserve(o, cnt * w) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    uint8_t *d = o->p + o->len;
    int32_t *d32 = (int32_t *)(void *)d;
    int64_t *d64 = (int64_t *)(void *)d;
    size_t k = 0;
    switch (lf->conv) {
    case PDW_CV_BOOL: LOOP(d[k++] = (uint8_t)bit_get(b1, i)); break;
    case PDW_CV_I8: LOOP(d32[k++] = ((const int8_t *)b1)[i]); break;
    case PDW_CV_I16: LOOP(d32[k++] = ((const int16_t *)b1)[i]); break;
    case PDW_CV_U8: LOOP(d32[k++] = ((const uint8_t *)b1)[i]); break;
    case PDW_CV_U16: LOOP(d32[k++] = ((const uint16_t *)b1)[i]); break;
    case PDW_CV_I32_MUL:
        LOOP(d32[k++] = (int32_t)((uint32_t)((const int32_t *)b1)[i] * (uint32_t)lf->mul));
        break;
    case PDW_CV_DATE64: {
        const int64_t *s = b1;
        LOOP({
            int64_t ms = s[i];
            int64_t q = ms / 86400000;
            if (ms % 86400000 < 0) {
                q--;
            }
            d32[k++] = (int32_t)q;
        });
        break;
    }
    case PDW_CV_DEC32: /* low 32 bits of the 128-bit little-endian value */
        LOOP(d32[k++] = (int32_t)((const int64_t *)b1)[2 * i]);
        break;
    case PDW_CV_I64_MUL:
        LOOP(d64[k++] = (int64_t)((uint64_t)((const int64_t *)b1)[i] * (uint64_t)lf->mul));
        break;
    case PDW_CV_DEC64: LOOP(d64[k++] = ((const int64_t *)b1)[2 * i]); break;
    case PDW_CV_DECFIX: { /* big-endian low w bytes of the 128-bit value */
        const uint8_t *s = b1;
        LOOP({
            const uint8_t *v = s + (size_t)i * 16;
            for (size_t j = 0; j < w; j++) {
                d[k * w + j] = v[w - 1 - j];
            }
            k++;
        });
        break;
    }
    case PDW_CV_I32:
    case PDW_CV_I64:
    case PDW_CV_F32:
    case PDW_CV_F64:
    case PDW_CV_FIXED: k = copy_values(d, b1, p, n, valid, w); break;
    default: return pd_set_error(PD_ERR, "parquet writer: internal conversion error");
    }
    o->len += k * w;
    lf->nval += (int64_t)k;
    return PD_OK;
}
#undef LOOP

static int64_t dict_key(char fmt, const void *buf, int64_t i)
{
    switch (fmt) {
    case 'c': return ((const int8_t *)buf)[i];
    case 'C': return ((const uint8_t *)buf)[i];
    case 's': return ((const int16_t *)buf)[i];
    case 'S': return ((const uint16_t *)buf)[i];
    case 'i': return ((const int32_t *)buf)[i];
    case 'I': return ((const uint32_t *)buf)[i];
    case 'l': return ((const int64_t *)buf)[i];
    default: return (int64_t)((const uint64_t *)buf)[i];
    }
}

static int put_levels(pdw_leaf *lf, uint8_t d, uint8_t r)
{
    if (lf->max_def > 0) {
        if (pdw_buf_reserve(&lf->def, 1) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        lf->def.p[lf->def.len++] = d;
    }
    if (lf->max_rep > 0) {
        if (pdw_buf_reserve(&lf->rep, 1) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        lf->rep.p[lf->rep.len++] = r;
    }
    lf->nlev++;
    if (d < lf->max_def) {
        lf->nnull++;
    }
    return PD_OK;
}

static int null_in_required(const pdw_leaf *lf)
{
    return pd_set_error(PD_ERR_INVALID,
                        "parquet writer: column '%s': null value in a non-nullable field",
                        lf->dotted);
}

static inline int arr_valid(const struct ArrowArray *a, int64_t phys)
{
    if (a->null_count == 0 || a->n_buffers < 1 || !a->buffers[0]) {
        return 1;
    }
    return bit_get(a->buffers[0], phys);
}

/* Leaf step for a list of slots. */
static int leaf_slots(pdw_leaf *lf,
                      const struct ArrowArray *a,
                      const struct ArrowArray *dict,
                      const int64_t *idx,
                      const uint8_t *def,
                      const uint8_t *rep,
                      size_t m)
{
    const pdw_step *st = &lf->steps[lf->nsteps - 1];
    const struct ArrowArray *va = dict ? dict : a;
    if (lf->conv == PDW_CV_NULL) {
        for (size_t k = 0; k < m; k++) {
            if (put_levels(lf, def[k], rep ? rep[k] : 0) != PD_OK) {
                return PD_ERR_NOMEM;
            }
        }
        return PD_OK;
    }
    for (size_t k = 0; k < m; k++) {
        uint8_t r = rep ? rep[k] : 0;
        if (idx[k] < 0) {
            if (put_levels(lf, def[k], r) != PD_OK) {
                return PD_ERR_NOMEM;
            }
            continue;
        }
        int64_t phys = a->offset + idx[k];
        int ok = arr_valid(a, phys);
        int64_t vphys = phys;
        if (ok && dict) {
            int64_t key = dict_key(lf->dict_index_fmt, a->buffers[1], phys);
            if (key < 0 || key >= dict->length) {
                return pd_set_error(PD_ERR_INVALID,
                                    "parquet writer: column '%s': dictionary index %lld out of "
                                    "range",
                                    lf->dotted, (long long)key);
            }
            vphys = dict->offset + key;
            ok = arr_valid(dict, vphys);
        }
        if (!ok) {
            if (!st->nullable) {
                return null_in_required(lf);
            }
            if (put_levels(lf, def[k], r) != PD_OK) {
                return PD_ERR_NOMEM;
            }
            continue;
        }
        if (put_levels(lf, (uint8_t)(def[k] + st->nullable), r) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        int rc = put_values(lf, va, vphys, 1, NULL);
        if (rc != PD_OK) {
            return rc;
        }
    }
    return PD_OK;
}

static int grow_scratch(pdw_shred_scratch *sc, size_t need, int second)
{
    size_t *cap = second ? &sc->cap2 : &sc->cap;
    if (need <= *cap) {
        return PD_OK;
    }
    size_t nc = need + need / 2 + 64;
    int64_t **ip = second ? &sc->idx2 : &sc->idx;
    uint8_t **dp = second ? &sc->def2 : &sc->def;
    uint8_t **rp = second ? &sc->rep2 : &sc->rep;
    int64_t *i2 = realloc(*ip, nc * sizeof(int64_t));
    if (!i2) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    *ip = i2;
    uint8_t *d2 = realloc(*dp, nc);
    if (!d2) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    *dp = d2;
    uint8_t *r2 = realloc(*rp, nc);
    if (!r2) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    *rp = r2;
    *cap = nc;
    return PD_OK;
}

void pdw_shred_scratch_free(pdw_shred_scratch *sc)
{
    if (!sc) {
        return;
    }
    free(sc->idx);
    free(sc->idx2);
    free(sc->def);
    free(sc->def2);
    free(sc->rep);
    free(sc->rep2);
    memset(sc, 0, sizeof *sc);
}

/* Flat leaf: a primitive column directly under the root. */
static int shred_flat(pdw_leaf *lf,
                      const struct ArrowArray *a,
                      const struct ArrowArray *dict,
                      int64_t start,
                      int64_t n)
{
    int nullable = lf->steps[0].nullable;
    int64_t p = a->offset + start;
    const uint8_t *vb = (a->null_count != 0 && a->n_buffers > 0) ? a->buffers[0] : NULL;
    if (dict || lf->conv == PDW_CV_NULL) {
        pdw_shred_scratch tmp;
        memset(&tmp, 0, sizeof tmp);
        int rc = grow_scratch(&tmp, (size_t)n, 0);
        if (rc == PD_OK) {
            for (int64_t i = 0; i < n; i++) {
                tmp.idx[i] = start + i;
                tmp.def[i] = 0;
            }
            rc = leaf_slots(lf, a, dict, tmp.idx, tmp.def, NULL, (size_t)n);
        }
        pdw_shred_scratch_free(&tmp);
        return rc;
    }
    int64_t nulls = 0;
    if (vb) {
        if (nullable) {
            if (pdw_buf_reserve(&lf->def, (size_t)n) != PD_OK) {
                return PD_ERR_NOMEM;
            }
            uint8_t *d = lf->def.p + lf->def.len;
            for (int64_t i = 0; i < n; i++) {
                uint8_t v = (uint8_t)bit_get(vb, p + i);
                d[i] = v;
                nulls += !v;
            }
            lf->def.len += (size_t)n;
        } else {
            for (int64_t i = 0; i < n; i++) {
                if (!bit_get(vb, p + i)) {
                    return null_in_required(lf);
                }
            }
        }
    } else if (nullable) {
        if (pdw_buf_reserve(&lf->def, (size_t)n) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        memset(lf->def.p + lf->def.len, 1, (size_t)n);
        lf->def.len += (size_t)n;
    }
    lf->nlev += n;
    lf->nnull += nulls;
    return put_values(lf, a, p, n, nulls ? vb : NULL);
}

/* Slot o of the next step's list: array index (-1: ended here), levels. */
static inline void put_slot(pdw_shred_scratch *sc, size_t o, int64_t idx, uint8_t def, uint8_t rep)
{
    sc->idx2[o] = idx;
    sc->def2[o] = def;
    sc->rep2[o] = rep;
}

/* Check the buffers of the array holding a leaf's values; *dict gets its
 * dictionary when the input is dictionary-encoded (else NULL). */
static int
leaf_array(const pdw_leaf *lf, const struct ArrowArray *a, const struct ArrowArray **dict)
{
    *dict = NULL;
    if (!lf->dict_index_fmt) {
        return need_buffers(lf, a, nbuffers_for(lf->conv));
    }
    *dict = a->dictionary;
    if (!*dict || need_buffers(lf, a, 2) != PD_OK ||
        need_buffers(lf, *dict, nbuffers_for(lf->conv)) != PD_OK) {
        return pd_set_error(PD_ERR_INVALID,
                            "parquet writer: column '%s': malformed dictionary array", lf->dotted);
    }
    return PD_OK;
}

/* Child range [*b, *e) of list slot phys. */
static void
list_range(const pdw_step *st, const struct ArrowArray *a, int64_t phys, int64_t *b, int64_t *e)
{
    if (st->kind == PDW_ST_LIST) {
        *b = ((const int32_t *)a->buffers[1])[phys];
        *e = ((const int32_t *)a->buffers[1])[phys + 1];
    } else if (st->kind == PDW_ST_LARGE_LIST) {
        *b = ((const int64_t *)a->buffers[1])[phys];
        *e = ((const int64_t *)a->buffers[1])[phys + 1];
    } else {
        *b = phys * st->fixed;
        *e = *b + st->fixed;
    }
}

static int shred_leaf(
    pdw_leaf *lf, const struct ArrowArray *top, int64_t start, int64_t n, pdw_shred_scratch *sc)
{
    const struct ArrowArray *a = top;
    if (lf->nsteps == 1) {
        const struct ArrowArray *dict;
        if (leaf_array(lf, a, &dict) != PD_OK) {
            return PD_ERR_INVALID;
        }
        if (start + n > a->length) {
            return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': array too short",
                                lf->dotted);
        }
        return shred_flat(lf, a, dict, start, n);
    }
    if (grow_scratch(sc, (size_t)n, 0) != PD_OK) {
        return PD_ERR_NOMEM;
    }
    size_t m = (size_t)n;
    for (size_t k = 0; k < m; k++) {
        sc->idx[k] = start + (int64_t)k;
        sc->def[k] = 0;
        sc->rep[k] = 0;
    }
    int rep_level = 0;
    for (int s = 0; s < lf->nsteps - 1; s++) {
        const pdw_step *st = &lf->steps[s];
        if (!a || a->n_buffers < 1 || !a->buffers) {
            return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': malformed array",
                                lf->dotted);
        }
        if (st->kind == PDW_ST_STRUCT) {
            for (size_t k = 0; k < m; k++) {
                if (sc->idx[k] < 0) {
                    continue;
                }
                int64_t phys = a->offset + sc->idx[k];
                if (!arr_valid(a, phys)) {
                    if (!st->nullable) {
                        return null_in_required(lf);
                    }
                    sc->idx[k] = -1;
                    continue;
                }
                sc->def[k] = (uint8_t)(sc->def[k] + st->nullable);
                sc->idx[k] = phys;
            }
            if (st->child >= a->n_children || !a->children || !a->children[st->child]) {
                return pd_set_error(PD_ERR_INVALID,
                                    "parquet writer: column '%s': struct child missing",
                                    lf->dotted);
            }
            a = a->children[st->child];
            for (size_t k = 0; k < m; k++) {
                if (sc->idx[k] >= a->length) {
                    return pd_set_error(PD_ERR_INVALID,
                                        "parquet writer: column '%s': struct child shorter than "
                                        "the struct",
                                        lf->dotted);
                }
            }
            continue;
        }
        /* list-like */
        rep_level++;
        if (st->kind != PDW_ST_FIXED_LIST && (a->n_buffers < 2 || !a->buffers[1])) {
            return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': list offsets missing",
                                lf->dotted);
        }
        /* count output slots */
        size_t m2 = 0;
        for (size_t k = 0; k < m; k++) {
            if (sc->idx[k] < 0) {
                m2++;
                continue;
            }
            int64_t phys = a->offset + sc->idx[k];
            int64_t b, e;
            list_range(st, a, phys, &b, &e);
            if (e < b) {
                return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': bad list offsets",
                                    lf->dotted);
            }
            m2 += (e > b && arr_valid(a, phys)) ? (size_t)(e - b) : 1;
        }
        if (grow_scratch(sc, m2, 1) != PD_OK) {
            return PD_ERR_NOMEM;
        }
        size_t o = 0;
        for (size_t k = 0; k < m; k++) {
            if (sc->idx[k] < 0) {
                put_slot(sc, o++, -1, sc->def[k], sc->rep[k]);
                continue;
            }
            int64_t phys = a->offset + sc->idx[k];
            if (!arr_valid(a, phys)) {
                if (!st->nullable) {
                    return null_in_required(lf);
                }
                put_slot(sc, o++, -1, sc->def[k], sc->rep[k]);
                continue;
            }
            uint8_t d = (uint8_t)(sc->def[k] + st->nullable);
            int64_t b, e;
            list_range(st, a, phys, &b, &e);
            if (e == b) {
                put_slot(sc, o++, -1, d, sc->rep[k]);
                continue;
            }
            for (int64_t j = b; j < e; j++) {
                put_slot(sc, o++, j, (uint8_t)(d + 1), j == b ? sc->rep[k] : (uint8_t)rep_level);
            }
        }
        /* swap */
        int64_t *ti = sc->idx;
        sc->idx = sc->idx2;
        sc->idx2 = ti;
        uint8_t *td = sc->def;
        sc->def = sc->def2;
        sc->def2 = td;
        uint8_t *tr = sc->rep;
        sc->rep = sc->rep2;
        sc->rep2 = tr;
        size_t tc = sc->cap;
        sc->cap = sc->cap2;
        sc->cap2 = tc;
        m = o;
        if (a->n_children < 1 || !a->children || !a->children[0]) {
            return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': list child missing",
                                lf->dotted);
        }
        a = a->children[0];
        /* bounds of the child */
        for (size_t k = 0; k < m; k++) {
            if (sc->idx[k] >= 0 && sc->idx[k] >= a->length) {
                return pd_set_error(PD_ERR_INVALID,
                                    "parquet writer: column '%s': list offsets beyond child",
                                    lf->dotted);
            }
        }
    }
    const struct ArrowArray *dict;
    if (leaf_array(lf, a, &dict) != PD_OK) {
        return PD_ERR_INVALID;
    }
    return leaf_slots(lf, a, dict, sc->idx, sc->def, lf->max_rep ? sc->rep : NULL, m);
}

int pdw_shred(
    pdw_leaf *lf, const struct ArrowArray *batch, int64_t row0, int64_t n, pdw_shred_scratch *sc)
{
    const struct ArrowArray *top = batch->children[lf->col];
    if (!top) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s' missing in batch",
                            lf->dotted);
    }
    int64_t start = batch->offset + row0;
    if (top->length < start + n) {
        return pd_set_error(PD_ERR_INVALID,
                            "parquet writer: column '%s': array shorter than the batch",
                            lf->dotted);
    }
    return shred_leaf(lf, top, start, n, sc);
}
