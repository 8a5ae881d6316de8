/*
 * parquet/write_schema.c - Arrow schema -> Parquet schema for the writer.
 *
 * Walks the Arrow schema (a struct of top-level fields) depth-first and
 * produces the flat SchemaElement list (LogicalType plus legacy
 * ConvertedType), and one pdw_leaf per leaf column with its shredding path
 * (struct / list / map steps), level maxima, value conversion and statistics
 * sort order. Lists and maps use the standard 3-level forms
 * (list/element, key_value/key/value).
 */
#include "parquet/writer_int.h"

#include <stdio.h>
#include <stdlib.h>

enum {
    CT_UTF8 = 0,
    CT_MAP = 1,
    CT_LIST = 3,
    CT_DECIMAL = 5,
    CT_DATE = 6,
    CT_TIME_MILLIS = 7,
    CT_TIME_MICROS = 8,
    CT_TS_MILLIS = 9,
    CT_TS_MICROS = 10,
    CT_UINT_8 = 11,
    CT_UINT_16 = 12,
    CT_UINT_32 = 13,
    CT_UINT_64 = 14,
    CT_INT_8 = 15,
    CT_INT_16 = 16
};
enum {
    LT_STRING = 1,
    LT_MAP = 2,
    LT_LIST = 3,
    LT_DECIMAL = 5,
    LT_DATE = 6,
    LT_TIME = 7,
    LT_TIMESTAMP = 8,
    LT_INTEGER = 10,
    LT_UNKNOWN = 11,
    LT_UUID = 14,
    LT_FLOAT16 = 15
};

typedef struct ctx {
    pdw_schema *s;
    pdw_step steps[PDW_MAX_STEPS];
    int nsteps;
    const char *path[PDW_MAX_STEPS * 2];
    int npath;
    int col;
} ctx;

static int add_elem(pdw_schema *s, const char *name, pdw_selem **out)
{
    if (s->nel == s->capel) {
        size_t nc = s->capel ? s->capel * 2 : 16;
        pdw_selem *p = realloc(s->el, nc * sizeof *p);
        if (!p) {
            return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
        }
        s->el = p;
        s->capel = nc;
    }
    pdw_selem *e = &s->el[s->nel];
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->converted = -1;
    e->name = strdup(name ? name : "");
    if (!e->name) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    s->nel++;
    *out = e;
    return PD_OK;
}

/* Value of key `key` in Arrow binary metadata, or NULL. */
static const char *meta_get(const char *meta, const char *key, int32_t *vlen)
{
    if (!meta) {
        return NULL;
    }
    int32_t n;
    memcpy(&n, meta, 4);
    const char *p = meta + 4;
    size_t klen = strlen(key);
    for (int32_t i = 0; i < n && i < 4096; i++) {
        int32_t kl, vl;
        memcpy(&kl, p, 4);
        p += 4;
        const char *k = p;
        p += kl;
        memcpy(&vl, p, 4);
        p += 4;
        if (kl >= 0 && (size_t)kl == klen && memcmp(k, key, klen) == 0) {
            *vlen = vl;
            return p;
        }
        p += vl;
    }
    return NULL;
}

static int dec_bytes(int precision)
{
    /* smallest n with 10^precision - 1 <= 2^(8n-1) - 1 */
    for (int n = 1; n <= 16; n++) {
        double maxv = 1.0;
        for (int i = 0; i < 8 * n - 1; i++) {
            maxv *= 2.0;
        }
        double need = 1.0;
        for (int i = 0; i < precision; i++) {
            need *= 10.0;
        }
        if (need <= maxv) {
            return n;
        }
    }
    return 16;
}

/* Fill the element and leaf facts for a primitive Arrow format. */
static int
map_primitive(const struct ArrowSchema *vs, pdw_selem *e, pdw_leaf *lf, const char *colname)
{
    const char *f = vs->format;
    lf->mul = 1;
    lf->type_length = 0;
    switch (f[0]) {
    case 'n':
        e->type = T_INT32;
        e->logical = LT_UNKNOWN;
        lf->conv = PDW_CV_NULL;
        lf->sort = PDW_SO_NONE;
        break;
    case 'b':
        e->type = T_BOOLEAN;
        lf->conv = PDW_CV_BOOL;
        lf->sort = PDW_SO_BOOL;
        break;
    case 'c':
    case 's':
    case 'C':
    case 'S':
    case 'I':
        e->type = T_INT32;
        e->logical = LT_INTEGER;
        e->lt_signed = f[0] == 'c' || f[0] == 's';
        e->lt_bits = (f[0] == 'c' || f[0] == 'C') ? 8 : (f[0] == 's' || f[0] == 'S') ? 16 : 32;
        e->converted = f[0] == 'c'   ? CT_INT_8
                       : f[0] == 's' ? CT_INT_16
                       : f[0] == 'C' ? CT_UINT_8
                       : f[0] == 'S' ? CT_UINT_16
                                     : CT_UINT_32;
        lf->conv = f[0] == 'c'   ? PDW_CV_I8
                   : f[0] == 's' ? PDW_CV_I16
                   : f[0] == 'C' ? PDW_CV_U8
                   : f[0] == 'S' ? PDW_CV_U16
                                 : PDW_CV_I32;
        lf->sort = e->lt_signed ? PDW_SO_SIGNED : PDW_SO_UNSIGNED;
        break;
    case 'i':
        e->type = T_INT32;
        lf->conv = PDW_CV_I32;
        lf->sort = PDW_SO_SIGNED;
        break;
    case 'l':
        e->type = T_INT64;
        lf->conv = PDW_CV_I64;
        lf->sort = PDW_SO_SIGNED;
        break;
    case 'L':
        e->type = T_INT64;
        e->logical = LT_INTEGER;
        e->lt_bits = 64;
        e->lt_signed = 0;
        e->converted = CT_UINT_64;
        lf->conv = PDW_CV_I64;
        lf->sort = PDW_SO_UNSIGNED;
        break;
    case 'e':
        e->type = T_FLBA;
        e->type_length = 2;
        e->logical = LT_FLOAT16;
        lf->conv = PDW_CV_FIXED;
        lf->sort = PDW_SO_F16;
        break;
    case 'f':
        e->type = T_FLOAT;
        lf->conv = PDW_CV_F32;
        lf->sort = PDW_SO_FLOAT;
        break;
    case 'g':
        e->type = T_DOUBLE;
        lf->conv = PDW_CV_F64;
        lf->sort = PDW_SO_FLOAT;
        break;
    case 'u':
    case 'U':
    case 'z':
    case 'Z':
        if (f[1] != 0) {
            goto unsupported;
        }
        e->type = T_BYTE_ARRAY;
        if (f[0] == 'u' || f[0] == 'U') {
            e->logical = LT_STRING;
            e->converted = CT_UTF8;
        }
        lf->conv = (f[0] == 'u' || f[0] == 'z') ? PDW_CV_BIN32 : PDW_CV_BIN64;
        lf->sort = PDW_SO_BYTES;
        break;
    case 'w': {
        long n = f[1] == ':' ? strtol(f + 2, NULL, 10) : 0;
        if (n <= 0 || n > 0x7FFFFFFF) {
            goto unsupported;
        }
        e->type = T_FLBA;
        e->type_length = (int)n;
        int32_t vl = 0;
        const char *ext = meta_get(vs->metadata, "ARROW:extension:name", &vl);
        if (n == 16 && ext && vl == 10 && memcmp(ext, "arrow.uuid", 10) == 0) {
            e->logical = LT_UUID;
        }
        lf->conv = PDW_CV_FIXED;
        lf->sort = PDW_SO_BYTES;
        break;
    }
    case 'd': {
        int p = 0, sc = 0, bits = 128;
        if (sscanf(f, "d:%d,%d,%d", &p, &sc, &bits) < 2 || bits != 128 || p <= 0 || p > 38) {
            goto unsupported;
        }
        e->logical = LT_DECIMAL;
        e->converted = CT_DECIMAL;
        e->has_decimal = 1;
        e->precision = p;
        e->scale = sc;
        if (p <= 9) {
            e->type = T_INT32;
            lf->conv = PDW_CV_DEC32;
            lf->sort = PDW_SO_SIGNED;
        } else if (p <= 18) {
            e->type = T_INT64;
            lf->conv = PDW_CV_DEC64;
            lf->sort = PDW_SO_SIGNED;
        } else {
            e->type = T_FLBA;
            e->type_length = dec_bytes(p);
            lf->conv = PDW_CV_DECFIX;
            lf->sort = PDW_SO_DECBE;
        }
        break;
    }
    case 't':
        if (f[1] == 'd' && (f[2] == 'D' || f[2] == 'm') && !f[3]) {
            e->type = T_INT32;
            e->logical = LT_DATE;
            e->converted = CT_DATE;
            lf->conv = f[2] == 'D' ? PDW_CV_I32 : PDW_CV_DATE64;
            lf->sort = PDW_SO_SIGNED;
        } else if (f[1] == 't' && f[2] && !f[3]) {
            e->logical = LT_TIME;
            e->lt_utc = 0; /* Arrow times are wall-clock times of day */
            lf->sort = PDW_SO_SIGNED;
            if (f[2] == 's' || f[2] == 'm') {
                e->type = T_INT32;
                e->lt_unit = 1;
                e->converted = CT_TIME_MILLIS;
                lf->conv = f[2] == 's' ? PDW_CV_I32_MUL : PDW_CV_I32;
                lf->mul = f[2] == 's' ? 1000 : 1;
            } else if (f[2] == 'u' || f[2] == 'n') {
                e->type = T_INT64;
                e->lt_unit = f[2] == 'u' ? 2 : 3;
                e->converted = f[2] == 'u' ? CT_TIME_MICROS : -1;
                lf->conv = PDW_CV_I64;
            } else {
                goto unsupported;
            }
        } else if (f[1] == 's' && f[2] && f[3] == ':') {
            e->type = T_INT64;
            e->logical = LT_TIMESTAMP;
            e->lt_utc = f[4] != 0;
            lf->sort = PDW_SO_SIGNED;
            lf->conv = PDW_CV_I64;
            switch (f[2]) {
            case 's':
                lf->conv = PDW_CV_I64_MUL;
                lf->mul = 1000;
                e->lt_unit = 1;
                e->converted = CT_TS_MILLIS;
                break;
            case 'm':
                e->lt_unit = 1;
                e->converted = CT_TS_MILLIS;
                break;
            case 'u':
                e->lt_unit = 2;
                e->converted = CT_TS_MICROS;
                break;
            case 'n': e->lt_unit = 3; break;
            default: goto unsupported;
            }
        } else if (f[1] == 'D' && f[2] && !f[3] && strchr("smun", f[2])) {
            e->type = T_INT64;
            lf->conv = PDW_CV_I64;
            lf->sort = PDW_SO_SIGNED;
        } else {
            goto unsupported;
        }
        break;
    default: goto unsupported;
    }
    lf->phys = e->type;
    lf->type_length = e->type_length;
    return PD_OK;
unsupported:
    return pd_set_error(PD_ERR_UNSUPPORTED,
                        "parquet writer: column '%s': Arrow type '%s' is not supported", colname,
                        f);
}

static int push_path(ctx *c, const char *name)
{
    if (c->npath >= PDW_MAX_STEPS * 2) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "parquet writer: nesting too deep");
    }
    c->path[c->npath++] = name;
    return PD_OK;
}

static int add_leaf(ctx *c, const struct ArrowSchema *vs, pdw_selem *e, int nullable, char dict_fmt)
{
    pdw_schema *s = c->s;
    if (s->nleaves == s->capleaves) {
        size_t nc = s->capleaves ? s->capleaves * 2 : 8;
        pdw_leaf *p = realloc(s->leaves, nc * sizeof *p);
        if (!p) {
            return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
        }
        s->leaves = p;
        s->capleaves = nc;
    }
    pdw_leaf *lf = &s->leaves[s->nleaves];
    memset(lf, 0, sizeof *lf);
    lf->meta.dict_rel = -1;
    lf->col = c->col;
    if (c->nsteps >= PDW_MAX_STEPS) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "parquet writer: nesting too deep");
    }
    memcpy(lf->steps, c->steps, (size_t)c->nsteps * sizeof(pdw_step));
    lf->nsteps = c->nsteps + 1;
    lf->steps[c->nsteps].kind = PDW_ST_LEAF;
    lf->steps[c->nsteps].nullable = nullable;
    lf->dict_index_fmt = dict_fmt;
    int rc = map_primitive(vs, e, lf, c->path[0]);
    if (rc != PD_OK) {
        return rc;
    }
    for (int i = 0; i < lf->nsteps; i++) {
        lf->max_def += lf->steps[i].nullable;
        if (lf->steps[i].kind != PDW_ST_STRUCT && lf->steps[i].kind != PDW_ST_LEAF) {
            lf->max_def++;
            lf->max_rep++;
        }
    }
    if (lf->max_def > 255 || lf->max_rep > 255) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "parquet writer: nesting too deep");
    }
    lf->path = calloc((size_t)c->npath, sizeof(char *));
    if (!lf->path) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    s->nleaves++; /* owned from here on (freed by pdw_schema_free) */
    size_t dl = 0;
    for (int i = 0; i < c->npath; i++) {
        lf->path[i] = strdup(c->path[i]);
        if (!lf->path[i]) {
            return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
        }
        lf->npath++;
        dl += strlen(c->path[i]) + 1;
    }
    lf->dotted = malloc(dl + 1);
    if (!lf->dotted) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    lf->dotted[0] = 0;
    for (int i = 0; i < c->npath; i++) {
        if (i) {
            strcat(lf->dotted, ".");
        }
        strcat(lf->dotted, c->path[i]);
    }
    return PD_OK;
}

static int
map_node(ctx *c, const struct ArrowSchema *sc, const char *name, int repetition_force, int depth);

static int
map_child(ctx *c, const struct ArrowSchema *sc, const char *name, int rep_force, int depth)
{
    if (push_path(c, name) != PD_OK) {
        return PD_ERR_UNSUPPORTED;
    }
    int rc = map_node(c, sc, name, rep_force, depth);
    c->npath--;
    return rc;
}

/* rep_force: -1 = from the Arrow nullable flag, 0 = force REQUIRED. */
static int
map_node(ctx *c, const struct ArrowSchema *sc, const char *name, int rep_force, int depth)
{
    pdw_schema *s = c->s;
    if (!sc || !sc->format) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: schema node without format");
    }
    if (depth > 40 || c->nsteps + 2 >= PDW_MAX_STEPS) {
        return pd_set_error(PD_ERR_UNSUPPORTED, "parquet writer: nesting too deep at '%s'", name);
    }
    int nullable = rep_force == 0 ? 0 : (sc->flags & ARROW_FLAG_NULLABLE) != 0;
    const char *f = sc->format;
    pdw_selem *e;
    int rc = add_elem(s, name, &e);
    if (rc != PD_OK) {
        return rc;
    }
    size_t ei = s->nel - 1;
    s->el[ei].repetition = nullable ? 1 : 0;
    if (sc->dictionary) {
        if (!strchr("csilCSIL", f[0]) || f[1]) {
            return pd_set_error(PD_ERR_INVALID,
                                "parquet writer: column '%s': bad dictionary index type '%s'", name,
                                f);
        }
        if (sc->dictionary->format && sc->dictionary->format[0] == '+') {
            return pd_set_error(PD_ERR_UNSUPPORTED,
                                "parquet writer: column '%s': dictionary of nested values", name);
        }
        return add_leaf(c, sc->dictionary, &s->el[ei], nullable, f[0]);
    }
    if (f[0] != '+') {
        return add_leaf(c, sc, &s->el[ei], nullable, 0);
    }
    pdw_step *st = &c->steps[c->nsteps];
    memset(st, 0, sizeof *st);
    st->nullable = nullable;
    if (f[1] == 's' && !f[2]) {
        if (sc->n_children <= 0) {
            return pd_set_error(PD_ERR_UNSUPPORTED,
                                "parquet writer: column '%s': struct without fields", name);
        }
        s->el[ei].num_children = (int)sc->n_children;
        st->kind = PDW_ST_STRUCT;
        c->nsteps++;
        for (int64_t i = 0; i < sc->n_children; i++) {
            c->steps[c->nsteps - 1].child = (int)i;
            const struct ArrowSchema *ch = sc->children[i];
            rc = map_child(c, ch, ch && ch->name ? ch->name : "", -1, depth + 1);
            if (rc != PD_OK) {
                return rc;
            }
        }
        c->nsteps--;
        return PD_OK;
    }
    int is_list = (f[1] == 'l' || f[1] == 'L') && !f[2];
    int is_fixed = f[1] == 'w' && f[2] == ':';
    int is_map = f[1] == 'm' && !f[2];
    if (!is_list && !is_fixed && !is_map) {
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "parquet writer: column '%s': Arrow type '%s' is not supported", name,
                            f);
    }
    if (sc->n_children != 1 || !sc->children[0]) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: column '%s': list needs one child",
                            name);
    }
    st->kind = is_fixed ? PDW_ST_FIXED_LIST : f[1] == 'L' ? PDW_ST_LARGE_LIST : PDW_ST_LIST;
    if (is_fixed) {
        st->fixed = strtol(f + 3, NULL, 10);
        if (st->fixed < 0) {
            return pd_set_error(PD_ERR_INVALID, "parquet writer: bad fixed list size '%s'", f);
        }
    }
    s->el[ei].num_children = 1;
    s->el[ei].converted = is_map ? CT_MAP : CT_LIST;
    s->el[ei].logical = is_map ? LT_MAP : LT_LIST;
    c->nsteps++;
    pdw_selem *rg;
    rc = add_elem(s, is_map ? "key_value" : "list", &rg);
    if (rc != PD_OK) {
        return rc;
    }
    rg->repetition = 2;
    rc = push_path(c, is_map ? "key_value" : "list");
    if (rc != PD_OK) {
        return rc;
    }
    const struct ArrowSchema *ch = sc->children[0];
    if (!is_map) {
        rg->num_children = 1;
        rc = map_child(c, ch, "element", -1, depth + 1);
    } else {
        if (!ch->format || strcmp(ch->format, "+s") != 0 || ch->n_children < 1 ||
            ch->n_children > 2) {
            return pd_set_error(PD_ERR_INVALID,
                                "parquet writer: column '%s': map entries must be a struct of "
                                "key and value",
                                name);
        }
        rg->num_children = (int)ch->n_children;
        pdw_step *es = &c->steps[c->nsteps];
        memset(es, 0, sizeof *es);
        es->kind = PDW_ST_STRUCT;
        c->nsteps++;
        for (int64_t i = 0; i < ch->n_children && rc == PD_OK; i++) {
            c->steps[c->nsteps - 1].child = (int)i;
            rc =
                map_child(c, ch->children[i], i == 0 ? "key" : "value", i == 0 ? 0 : -1, depth + 1);
        }
        c->nsteps--;
    }
    c->npath--;
    c->nsteps--;
    return rc;
}

int pdw_schema_build(const struct ArrowSchema *sc, pdw_schema *out)
{
    memset(out, 0, sizeof *out);
    if (!sc || !sc->format || strcmp(sc->format, "+s") != 0) {
        return pd_set_error(PD_ERR_INVALID,
                            "parquet writer: the schema must be a struct (\"+s\") of columns");
    }
    if (sc->n_children <= 0 || !sc->children) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: the schema has no columns");
    }
    ctx c;
    memset(&c, 0, sizeof c);
    c.s = out;
    pdw_selem *root;
    int rc = add_elem(out, "schema", &root);
    if (rc != PD_OK) {
        goto fail;
    }
    root->num_children = (int)sc->n_children;
    out->ncols = (int)sc->n_children;
    for (int64_t i = 0; i < sc->n_children; i++) {
        const struct ArrowSchema *ch = sc->children[i];
        c.col = (int)i;
        const char *nm = ch && ch->name ? ch->name : "";
        char tmp[32];
        if (!nm[0]) {
            snprintf(tmp, sizeof tmp, "col%d", (int)i);
            nm = tmp;
        }
        rc = map_child(&c, ch, nm, -1, 0);
        if (rc != PD_OK) {
            goto fail;
        }
    }
    return PD_OK;
fail:
    pdw_schema_free(out);
    return rc;
}

void pdw_schema_free(pdw_schema *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->nel; i++) {
        free(s->el[i].name);
    }
    free(s->el);
    for (size_t i = 0; i < s->nleaves; i++) {
        pdw_leaf *lf = &s->leaves[i];
        for (int k = 0; k < lf->npath; k++) {
            free(lf->path[k]);
        }
        free(lf->path);
        free(lf->dotted);
        pdw_leaf_data_free(lf);
    }
    free(s->leaves);
    memset(s, 0, sizeof *s);
}

void pdw_leaf_data_free(pdw_leaf *lf)
{
    if (!lf) {
        return;
    }
    free(lf->err);
    lf->err = NULL;
    pdw_buf_free(&lf->def);
    pdw_buf_free(&lf->rep);
    pdw_buf_free(&lf->vals);
    pdw_buf_free(&lf->enc);
    pdw_buf_free(&lf->meta.min);
    pdw_buf_free(&lf->meta.max);
}

void pdw_schema_serialize(const pdw_schema *s, pdw_thrift *t)
{
    pdw_t_list(t, 2, PDW_T_STRUCT, s->nel);
    for (size_t i = 0; i < s->nel; i++) {
        const pdw_selem *e = &s->el[i];
        pdw_t_begin(t);
        if (e->type >= 0) {
            pdw_t_i32(t, 1, e->type);
            if (e->type == T_FLBA) {
                pdw_t_i32(t, 2, e->type_length);
            }
        }
        pdw_t_i32(t, 3, e->repetition);
        pdw_t_str(t, 4, e->name);
        if (e->type < 0) {
            pdw_t_i32(t, 5, e->num_children);
        }
        if (e->converted >= 0) {
            pdw_t_i32(t, 6, e->converted);
        }
        if (e->has_decimal) {
            pdw_t_i32(t, 7, e->scale);
            pdw_t_i32(t, 8, e->precision);
        }
        if (e->logical) {
            pdw_t_struct(t, 10);
            pdw_t_struct(t, e->logical);
            switch (e->logical) {
            case LT_DECIMAL:
                pdw_t_i32(t, 1, e->scale);
                pdw_t_i32(t, 2, e->precision);
                break;
            case LT_TIME:
            case LT_TIMESTAMP:
                pdw_t_bool(t, 1, e->lt_utc);
                pdw_t_struct(t, 2);
                pdw_t_struct(t, e->lt_unit);
                pdw_t_end(t);
                pdw_t_end(t);
                break;
            case LT_INTEGER:
                pdw_t_i8(t, 1, (int8_t)e->lt_bits);
                pdw_t_bool(t, 2, e->lt_signed);
                break;
            default: break;
            }
            pdw_t_end(t);
            pdw_t_end(t);
        }
        pdw_t_end(t);
    }
}
