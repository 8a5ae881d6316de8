/*
 * parquet/meta.c - Parquet footer (FileMetaData) and page header decoding,
 * schema tree construction, Parquet -> Arrow type mapping, and the
 * human-readable footer dump of pd_parquet_describe().
 *
 * Everything parsed here is validated: enums are range-checked, the schema
 * tree must be consistent, and row groups must have one chunk per leaf.
 */
#include "parquet/reader_int.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ names */
const char *pdi_type_name(int t)
{
    static const char *names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                  "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return (t >= 0 && t < 8) ? names[t] : "?";
}

const char *pdi_encoding_name(int e)
{
    static const char *names[] = {"PLAIN",
                                  "GROUP_VAR_INT",
                                  "PLAIN_DICTIONARY",
                                  "RLE",
                                  "BIT_PACKED",
                                  "DELTA_BINARY_PACKED",
                                  "DELTA_LENGTH_BYTE_ARRAY",
                                  "DELTA_BYTE_ARRAY",
                                  "RLE_DICTIONARY",
                                  "BYTE_STREAM_SPLIT",
                                  "ALP"};
    return (e >= 0 && e < 11) ? names[e] : "?";
}

const char *pdi_converted_name(int c)
{
    static const char *names[] = {"UTF8",
                                  "MAP",
                                  "MAP_KEY_VALUE",
                                  "LIST",
                                  "ENUM",
                                  "DECIMAL",
                                  "DATE",
                                  "TIME_MILLIS",
                                  "TIME_MICROS",
                                  "TIMESTAMP_MILLIS",
                                  "TIMESTAMP_MICROS",
                                  "UINT_8",
                                  "UINT_16",
                                  "UINT_32",
                                  "UINT_64",
                                  "INT_8",
                                  "INT_16",
                                  "INT_32",
                                  "INT_64",
                                  "JSON",
                                  "BSON",
                                  "INTERVAL"};
    return (c >= 0 && c < 22) ? names[c] : "?";
}

/* ------------------------------------------------------------------ field helpers */
static int get_i32(pdi_thrift *t, int ft, int32_t *v)
{
    if (ft != PDI_T_I32 && ft != PDI_T_I16)
        return pdi_tr_skip(t, ft);
    return pdi_tr_i32(t, v);
}

static int get_int(pdi_thrift *t, int ft, int *v)
{
    int32_t x = *v;
    int rc = get_i32(t, ft, &x);
    *v = x;
    return rc;
}

static int get_i64(pdi_thrift *t, int ft, int64_t *v)
{
    if (ft != PDI_T_I64 && ft != PDI_T_I32 && ft != PDI_T_I16)
        return pdi_tr_skip(t, ft);
    return pdi_tr_i64(t, v);
}

static void get_bool(int ft, bool *v)
{
    if (ft == PDI_T_TRUE)
        *v = true;
    else if (ft == PDI_T_FALSE)
        *v = false;
}

/* Copy a binary field into a new NUL-terminated buffer that replaces *out;
 * a field of another wire type is skipped and leaves *out as it was. */
static int get_bytes(pdi_thrift *t, int ft, uint8_t **out, size_t *len)
{
    if (ft != PDI_T_BINARY)
        return pdi_tr_skip(t, ft);
    const uint8_t *d;
    size_t n;
    int rc = pdi_tr_binary(t, &d, &n);
    if (rc)
        return rc;
    uint8_t *s = malloc(n + 1);
    if (!s)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    memcpy(s, d, n);
    s[n] = 0;
    free(*out);
    *out = s;
    *len = n;
    return PD_OK;
}

/* A string field: the text up to its first NUL byte, as C code reads it. */
static int get_str(pdi_thrift *t, int ft, char **out)
{
    uint8_t *s = NULL;
    size_t n;
    int rc = get_bytes(t, ft, &s, &n);
    if (s) {
        free(*out);
        *out = (char *)s;
    }
    return rc;
}

static int skip_elems(pdi_thrift *t, int et, uint32_t n)
{
    int rc = PD_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        bool b;
        rc = (et == PDI_T_TRUE || et == PDI_T_FALSE) ? pdi_tr_bool_elem(t, &b) : pdi_tr_skip(t, et);
    }
    return rc;
}

/* Begin a list of `want` elements; if the wire type does not fit, skip the
 * value and report *n = 0 with *ok = false. */
static int list_begin(pdi_thrift *t, int ft, int want, uint32_t *n, bool *ok)
{
    *n = 0;
    *ok = false;
    if (ft != PDI_T_LIST && ft != PDI_T_SET)
        return pdi_tr_skip(t, ft);
    int et, rc = pdi_tr_list(t, &et, n);
    if (rc)
        return rc;
    if (et != want && !(want == PDI_T_I32 && et == PDI_T_I16)) {
        rc = skip_elems(t, et, *n);
        *n = 0;
        return rc;
    }
    *ok = true;
    return PD_OK;
}

/* Skip a list<struct> field whose elements are not kept, noting their count. */
static int count_struct_list(pdi_thrift *t, int ft, int *count)
{
    uint32_t n;
    bool ok;
    int rc = list_begin(t, ft, PDI_T_STRUCT, &n, &ok);
    if (!rc && ok) {
        *count = (int)n;
        rc = skip_elems(t, PDI_T_STRUCT, n);
    }
    return rc;
}

/* Parses one element of a list<struct> into `elem` (zeroed beforehand). */
typedef int (*elem_parser)(pdi_thrift *t, void *elem);

/* Parse a list<struct> field into a new zeroed array of `size`-byte elements,
 * each read by `parse`. The element count is capped by the bytes left
 * (pdi_tr_list), so the allocation is bounded by the footer size. A field of
 * another wire type, or one that is `seen` already (only the first counts),
 * is skipped and leaves *arr NULL. *n counts the elements begun, also on
 * failure, so that the owner frees a partly parsed array. */
static int get_struct_list(
    pdi_thrift *t, int ft, bool seen, size_t size, elem_parser parse, void **arr, uint32_t *n)
{
    uint32_t len;
    bool ok;
    *arr = NULL;
    *n = 0;
    int rc = list_begin(t, ft, PDI_T_STRUCT, &len, &ok);
    if (rc || !ok)
        return rc;
    if (seen)
        return skip_elems(t, PDI_T_STRUCT, len);
    uint8_t *a = calloc(len ? len : 1, size);
    if (!a)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    *arr = a;
    for (uint32_t i = 0; i < len && !rc; i++) {
        (*n)++;
        rc = parse(t, a + (size_t)i * size);
    }
    return rc;
}

/* A struct field parsed by `parse` into `elem`; another wire type is skipped. */
static int get_struct(pdi_thrift *t, int ft, elem_parser parse, void *elem)
{
    return ft == PDI_T_STRUCT ? parse(t, elem) : pdi_tr_skip(t, ft);
}

#define FIELDS_BEGIN(t)                                                            \
    int rc = pdi_tr_enter(t);                                                      \
    int16_t last_ = 0, id;                                                         \
    int ft;                                                                        \
    while (!rc && !(rc = pdi_tr_field(t, &last_, &id, &ft)) && ft != PDI_T_STOP) { \
        switch (id) {
#define FIELDS_END(t)                 \
    default: rc = pdi_tr_skip(t, ft); \
        }                             \
        }                             \
        pdi_tr_leave(t);

/* Inside FIELDS_BEGIN: the first list<struct> field of its id into the typed
 * array `arr` (NULL until then) and its element count `count`. */
#define STRUCT_LIST_FIELD(arr, count, parse)                                          \
    do {                                                                              \
        void *a_;                                                                     \
        uint32_t n_;                                                                  \
        rc = get_struct_list(t, ft, (arr) != NULL, sizeof *(arr), (parse), &a_, &n_); \
        if (a_) {                                                                     \
            (arr) = a_;                                                               \
            (count) = n_;                                                             \
        }                                                                             \
    } while (0)

/* ------------------------------------------------------------------ logical type */
static int parse_empty_union(pdi_thrift *t, int *member)
{
    FIELDS_BEGIN(t)
case 1:
case 2:
case 3:
    *member = id;
    rc = pdi_tr_skip(t, ft);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_time_type(pdi_thrift *t, pdi_node *n)
{
    FIELDS_BEGIN(t)
case 1: get_bool(ft, &n->lt_utc); break;
case 2:
    if (ft == PDI_T_STRUCT)
        rc = parse_empty_union(t, &n->lt_unit);
    else
        rc = pdi_tr_skip(t, ft);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_decimal_type(pdi_thrift *t, pdi_node *n)
{
    FIELDS_BEGIN(t)
case 1: rc = get_int(t, ft, &n->scale); break;
case 2:
    rc = get_int(t, ft, &n->precision);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_int_type(pdi_thrift *t, pdi_node *n)
{
    FIELDS_BEGIN(t)
case 1:
    if (ft == PDI_T_I8) {
        int8_t b;
        rc = pdi_tr_i8(t, &b);
        n->lt_bits = b;
    } else {
        rc = get_int(t, ft, &n->lt_bits);
    }
    break;
case 2:
    get_bool(ft, &n->lt_signed);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_logical(pdi_thrift *t, void *elem)
{
    pdi_node *n = elem;
    FIELDS_BEGIN(t)
default:
    if (ft != PDI_T_STRUCT) {
        rc = pdi_tr_skip(t, ft);
        break;
    }
    switch (id) {
    case PDI_LT_DECIMAL:
        n->logical = id;
        rc = parse_decimal_type(t, n);
        break;
    case PDI_LT_TIME:
    case PDI_LT_TIMESTAMP:
        n->logical = id;
        rc = parse_time_type(t, n);
        break;
    case PDI_LT_INTEGER:
        n->logical = id;
        rc = parse_int_type(t, n);
        break;
    case PDI_LT_STRING:
    case PDI_LT_MAP:
    case PDI_LT_LIST:
    case PDI_LT_ENUM:
    case PDI_LT_DATE:
    case PDI_LT_UNKNOWN:
    case PDI_LT_JSON:
    case PDI_LT_BSON:
    case PDI_LT_UUID:
    case PDI_LT_FLOAT16:
    case PDI_LT_VARIANT:
    case PDI_LT_GEOMETRY:
    case PDI_LT_GEOGRAPHY:
        n->logical = id;
        rc = pdi_tr_skip(t, ft);
        break;
    default: n->logical = PDI_LT_OTHER; rc = pdi_tr_skip(t, ft);
    }
}
}
pdi_tr_leave(t);
return rc;
}

/* ------------------------------------------------------------------ schema element */
static int parse_schema_element(pdi_thrift *t, void *elem)
{
    pdi_node *n = elem;
    n->repetition = -1;
    n->ptype = -1;
    n->converted = -1;
    n->precision = -1;
    n->scale = -1;
    n->num_children = -1;
    n->leaf = -1;
    n->lt_signed = true;
    FIELDS_BEGIN(t)
case 1: rc = get_int(t, ft, &n->ptype); break;
case 2: rc = get_int(t, ft, &n->type_length); break;
case 3: rc = get_int(t, ft, &n->repetition); break;
case 4: rc = get_str(t, ft, &n->name); break;
case 5: rc = get_int(t, ft, &n->num_children); break;
case 6: rc = get_int(t, ft, &n->converted); break;
case 7: rc = get_int(t, ft, &n->scale); break;
case 8: rc = get_int(t, ft, &n->precision); break;
case 9:
    rc = get_int(t, ft, &n->field_id);
    n->has_field_id = (ft == PDI_T_I32);
    break;
case 10:
    rc = get_struct(t, ft, parse_logical, n);
    break;
    FIELDS_END(t)
    if (!rc && !n->name)
        n->name = pdi_strdup("");
    if (!rc && !n->name)
        rc = PD_ERR_NOMEM;
    return rc;
}

/* ------------------------------------------------------------------ statistics */
static int parse_stats(pdi_thrift *t, pdi_stats *s)
{
    uint8_t *omin = NULL, *omax = NULL;
    size_t ominl = 0, omaxl = 0;
    s->min_exact = s->max_exact = true;
    FIELDS_BEGIN(t)
case 1: rc = get_bytes(t, ft, &omax, &omaxl); break;
case 2: rc = get_bytes(t, ft, &omin, &ominl); break;
case 3:
    rc = get_i64(t, ft, &s->null_count);
    s->has_null_count = !rc;
    break;
case 4:
    rc = get_i64(t, ft, &s->distinct_count);
    s->has_distinct = !rc;
    break;
case 5:
    rc = get_bytes(t, ft, &s->max, &s->max_len);
    s->has_max = !rc && s->max;
    break;
case 6:
    rc = get_bytes(t, ft, &s->min, &s->min_len);
    s->has_min = !rc && s->min;
    break;
case 7: get_bool(ft, &s->max_exact); break;
case 8:
    get_bool(ft, &s->min_exact);
    break;
    FIELDS_END(t)
    if (!s->has_min && !s->has_max && (omin || omax)) {
        s->min = omin;
        s->min_len = ominl;
        s->max = omax;
        s->max_len = omaxl;
        s->has_min = omin != NULL;
        s->has_max = omax != NULL;
        s->deprecated_minmax = true;
    } else {
        free(omin);
        free(omax);
    }
    return rc;
}

static void stats_free(pdi_stats *s)
{
    free(s->min);
    free(s->max);
}

/* ------------------------------------------------------------------ column chunk */
static int parse_column_meta(pdi_thrift *t, void *elem)
{
    pdi_chunk *c = elem;
    uint32_t n;
    bool ok;
    c->has_meta = true;
    c->type = -1;
    c->codec = -1;
    c->num_values = -1;
    c->data_page_offset = -1;
    c->dict_page_offset = -1;
    c->bloom_offset = -1;
    c->bloom_length = -1;
    FIELDS_BEGIN(t)
case 1: rc = get_int(t, ft, &c->type); break;
case 2:
    rc = list_begin(t, ft, PDI_T_I32, &n, &ok);
    if (!rc && ok) {
        free(c->encodings);
        c->n_encodings = 0;
        c->encodings = calloc(n ? n : 1, sizeof(int));
        if (!c->encodings)
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < n && !rc; i++) {
            int32_t e;
            rc = pdi_tr_i32(t, &e);
            c->encodings[c->n_encodings++] = e;
        }
    }
    break;
case 3:
    rc = list_begin(t, ft, PDI_T_BINARY, &n, &ok);
    if (!rc && ok) {
        pd_buf b = PD_BUF_INIT;
        for (uint32_t i = 0; i < n && !rc; i++) {
            const uint8_t *d;
            size_t l;
            rc = pdi_tr_binary(t, &d, &l);
            if (!rc) {
                if (i)
                    pdi_buf_putc(&b, '.');
                pdi_buf_append(&b, d, l);
            }
        }
        if (b.oom) {
            pdi_buf_free(&b);
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        }
        free(c->path);
        c->path = b.data ? pdi_buf_detach(&b) : pdi_strdup("");
    }
    break;
case 4: rc = get_int(t, ft, &c->codec); break;
case 5: rc = get_i64(t, ft, &c->num_values); break;
case 6: rc = get_i64(t, ft, &c->total_uncompressed); break;
case 7: rc = get_i64(t, ft, &c->total_compressed); break;
case 8: rc = count_struct_list(t, ft, &c->n_kv); break;
case 9: rc = get_i64(t, ft, &c->data_page_offset); break;
case 11: rc = get_i64(t, ft, &c->dict_page_offset); break;
case 12:
    if (ft == PDI_T_STRUCT) {
        stats_free(&c->stats);
        memset(&c->stats, 0, sizeof c->stats);
        rc = parse_stats(t, &c->stats);
        c->has_stats = true;
    } else {
        rc = pdi_tr_skip(t, ft);
    }
    break;
case 14: rc = get_i64(t, ft, &c->bloom_offset); break;
case 15:
    rc = get_i32(t, ft, &c->bloom_length);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_column_chunk(pdi_thrift *t, void *elem)
{
    pdi_chunk *c = elem;
    int64_t tmp;
    c->column_index_offset = -1;
    c->offset_index_offset = -1;
    c->dict_page_offset = -1;
    c->bloom_offset = -1;
    c->bloom_length = -1;
    FIELDS_BEGIN(t)
case 1: rc = get_str(t, ft, &c->file_path); break;
case 2: rc = get_i64(t, ft, &tmp); break;
case 3: rc = c->has_meta ? pdi_tr_skip(t, ft) : get_struct(t, ft, parse_column_meta, c); break;
case 4: rc = get_i64(t, ft, &c->offset_index_offset); break;
case 6: rc = get_i64(t, ft, &c->column_index_offset); break;
case 8:
case 9:
    c->encrypted = true;
    rc = pdi_tr_skip(t, ft);
    break;
    FIELDS_END(t)
    return rc;
}

static void chunk_free(pdi_chunk *c)
{
    free(c->file_path);
    free(c->encodings);
    free(c->path);
    stats_free(&c->stats);
}

static int parse_row_group(pdi_thrift *t, void *elem)
{
    pdi_rowgroup *g = elem;
    g->num_rows = -1;
    g->total_compressed = -1;
    FIELDS_BEGIN(t)
case 1: STRUCT_LIST_FIELD(g->columns, g->n_columns, parse_column_chunk); break;
case 2: rc = get_i64(t, ft, &g->total_byte_size); break;
case 3: rc = get_i64(t, ft, &g->num_rows); break;
case 4: rc = count_struct_list(t, ft, &g->n_sorting); break;
case 6:
    rc = get_i64(t, ft, &g->total_compressed);
    break;
    FIELDS_END(t)
    return rc;
}

/* One key-value pair of the footer, until it moves into the parallel arrays. */
typedef struct {
    char *key, *value;
} kv_pair;

static int parse_kv(pdi_thrift *t, void *elem)
{
    kv_pair *kv = elem;
    FIELDS_BEGIN(t)
case 1: rc = get_str(t, ft, &kv->key); break;
case 2:
    rc = get_str(t, ft, &kv->value);
    break;
    FIELDS_END(t)
    if (!rc && !kv->key && !(kv->key = pdi_strdup("")))
        rc = PD_ERR_NOMEM;
    return rc;
}

/* Move n parsed pairs (the last one maybe partly parsed) into the key and
 * value arrays of f, which then own them; frees the pair array. */
static int take_kv(pdi_file *f, kv_pair *kv, uint32_t n)
{
    f->kv_keys = calloc(n ? n : 1, sizeof(char *));
    f->kv_values = calloc(n ? n : 1, sizeof(char *));
    bool oom = !f->kv_keys || !f->kv_values;
    for (uint32_t i = 0; i < n; i++) {
        if (oom) {
            free(kv[i].key);
            free(kv[i].value);
        } else {
            f->kv_keys[i] = kv[i].key;
            f->kv_values[i] = kv[i].value;
        }
    }
    f->n_kv = oom ? 0 : n;
    free(kv);
    return oom ? pd_set_error(PD_ERR_NOMEM, "out of memory") : PD_OK;
}

static int parse_file_meta(pdi_thrift *t, pdi_file *f)
{
    f->num_rows = -1;
    FIELDS_BEGIN(t)
case 1: rc = get_i32(t, ft, &f->version); break;
case 2: STRUCT_LIST_FIELD(f->nodes, f->n_nodes, parse_schema_element); break;
case 3: rc = get_i64(t, ft, &f->num_rows); break;
case 4: STRUCT_LIST_FIELD(f->rowgroups, f->n_rowgroups, parse_row_group); break;
case 5: {
    void *kv;
    uint32_t n;
    rc = get_struct_list(t, ft, f->kv_keys != NULL, sizeof(kv_pair), parse_kv, &kv, &n);
    int rc_take = kv ? take_kv(f, kv, n) : PD_OK;
    rc = rc ? rc : rc_take;
    break;
}
case 6: rc = get_str(t, ft, &f->created_by); break;
case 7: rc = count_struct_list(t, ft, &f->n_column_orders); break;
case 8:
    f->encrypted_footer_alg = true;
    rc = pdi_tr_skip(t, ft);
    break;
    FIELDS_END(t)
    if (rc)
        return rc;
    if (!f->nodes || f->n_nodes < 1)
        return pd_set_error(PD_ERR_CORRUPT, "footer has no schema");
    if (!f->rowgroups)
        return pd_set_error(PD_ERR_CORRUPT, "footer has no row_groups field");
    return PD_OK;
}

/* ------------------------------------------------------------------ schema tree */
static int build_tree(pdi_file *f, int *pos, pdi_node *parent, int depth)
{
    if (*pos >= f->n_nodes)
        return pd_set_error(PD_ERR_CORRUPT, "schema: fewer elements than num_children says");
    if (depth > PDI_MAX_SCHEMA_DEPTH)
        return pd_set_error(PD_ERR_CORRUPT, "schema nested too deeply");
    pdi_node *n = &f->nodes[(*pos)++];
    n->parent = parent;
    if (parent) {
        if (n->repetition < 0)
            n->repetition = PDI_REQUIRED;
        if (n->repetition > PDI_REPEATED)
            return pd_set_error(PD_ERR_CORRUPT, "schema element '%s': bad repetition type %d",
                                n->name, n->repetition);
        n->def = parent->def + (n->repetition != PDI_REQUIRED);
        n->rep = parent->rep + (n->repetition == PDI_REPEATED);
    }
    bool group = n->num_children >= 0 || (!parent && n->ptype < 0);
    if (!group) {
        if (n->ptype < 0 || n->ptype > PDI_FLBA)
            return pd_set_error(PD_ERR_CORRUPT, "schema element '%s': invalid physical type %d",
                                n->name, n->ptype);
        if (n->ptype == PDI_FLBA && (n->type_length <= 0 || n->type_length > (1 << 24)))
            return pd_set_error(PD_ERR_CORRUPT,
                                "schema element '%s': invalid FIXED_LEN_BYTE_ARRAY length %d",
                                n->name, n->type_length);
        n->num_children = -1;
        n->leaf = f->n_leaves++;
        return PD_OK;
    }
    n->ptype = -1;
    if (n->num_children < 0)
        n->num_children = 0;
    if (n->num_children > f->n_nodes - *pos)
        return pd_set_error(PD_ERR_CORRUPT, "schema element '%s': num_children %d too large",
                            n->name, n->num_children);
    if (n->num_children) {
        n->children = calloc((size_t)n->num_children, sizeof(pdi_node *));
        if (!n->children)
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n->num_children; i++) {
        n->children[i] = &f->nodes[*pos];
        int rc = build_tree(f, pos, n, depth + 1);
        if (rc)
            return rc;
    }
    return PD_OK;
}

static int effective_ct(const pdi_node *n)
{
    return n->converted;
}

static bool is_list_node(const pdi_node *n)
{
    if (n->logical == PDI_LT_LIST)
        return true;
    if (n->logical != PDI_LT_NONE && n->logical != PDI_LT_OTHER)
        return false;
    return effective_ct(n) == PDI_CT_LIST;
}

static bool is_map_node(const pdi_node *n)
{
    if (n->logical == PDI_LT_MAP)
        return true;
    if (n->logical != PDI_LT_NONE && n->logical != PDI_LT_OTHER)
        return false;
    return effective_ct(n) == PDI_CT_MAP || effective_ct(n) == PDI_CT_MAP_KEY_VALUE;
}

static void leaf_format(pdi_file *f, pdi_node *n, pdi_field *fd)
{
    pdi_column *c = &f->leaves[n->leaf];
    int lt = n->logical, ct = n->converted;
    if (lt == PDI_LT_OTHER)
        lt = PDI_LT_NONE;
    int prec = -1, scale = 0;
    bool dec = false;
    if (lt == PDI_LT_DECIMAL || (lt == PDI_LT_NONE && ct == PDI_CT_DECIMAL)) {
        prec = n->precision;
        scale = n->scale < 0 ? 0 : n->scale;
        dec = prec >= 1 && prec <= 38 && scale <= prec;
    }
    /* legacy converted types as logical equivalents */
    int bits = 0;
    bool sign = true, utc = n->lt_utc;
    int unit = n->lt_unit;
    if (lt == PDI_LT_INTEGER) {
        bits = n->lt_bits;
        sign = n->lt_signed;
    } else if (lt == PDI_LT_NONE && ct >= PDI_CT_UINT_8 && ct <= PDI_CT_INT_64) {
        static const int b[] = {8, 16, 32, 64, 8, 16, 32, 64};
        bits = b[ct - PDI_CT_UINT_8];
        sign = ct >= PDI_CT_INT_8;
        lt = PDI_LT_INTEGER;
    } else if (lt == PDI_LT_NONE &&
               (ct == PDI_CT_TIMESTAMP_MILLIS || ct == PDI_CT_TIMESTAMP_MICROS)) {
        lt = PDI_LT_TIMESTAMP;
        unit = ct == PDI_CT_TIMESTAMP_MILLIS ? PDI_UNIT_MS : PDI_UNIT_US;
        utc = true;
    } else if (lt == PDI_LT_NONE && (ct == PDI_CT_TIME_MILLIS || ct == PDI_CT_TIME_MICROS)) {
        lt = PDI_LT_TIME;
        unit = ct == PDI_CT_TIME_MILLIS ? PDI_UNIT_MS : PDI_UNIT_US;
        utc = true;
    } else if (lt == PDI_LT_NONE && ct == PDI_CT_DATE) {
        lt = PDI_LT_DATE;
    } else if (lt == PDI_LT_NONE && (ct == PDI_CT_UTF8 || ct == PDI_CT_ENUM || ct == PDI_CT_JSON)) {
        lt = PDI_LT_STRING;
    }
    const char *fmt = NULL;
    c->conv = PDI_CV_COPY;
    c->aw = c->pw;
    switch (n->ptype) {
    case PDI_BOOLEAN:
        fmt = "b";
        c->conv = PDI_CV_BOOL;
        c->aw = 0;
        break;
    case PDI_INT32:
        fmt = "i";
        if (dec) {
            c->conv = PDI_CV_DEC_I32;
        } else if (lt == PDI_LT_DATE) {
            fmt = "tdD";
        } else if (lt == PDI_LT_TIME && unit == PDI_UNIT_MS) {
            fmt = "ttm";
        } else if (lt == PDI_LT_INTEGER && bits == 8) {
            fmt = sign ? "c" : "C";
            c->conv = PDI_CV_I8;
            c->aw = 1;
        } else if (lt == PDI_LT_INTEGER && bits == 16) {
            fmt = sign ? "s" : "S";
            c->conv = PDI_CV_I16;
            c->aw = 2;
        } else if (lt == PDI_LT_INTEGER && !sign) {
            fmt = "I";
        } else if (lt == PDI_LT_UNKNOWN) {
            fmt = "n";
            c->conv = PDI_CV_NULL;
        }
        break;
    case PDI_INT64:
        fmt = "l";
        if (dec) {
            c->conv = PDI_CV_DEC_I64;
        } else if (lt == PDI_LT_TIMESTAMP && unit >= PDI_UNIT_MS && unit <= PDI_UNIT_NS) {
            static const char *u[] = {"tsm:", "tsu:", "tsn:"};
            snprintf(fd->format, sizeof fd->format, "%s%s", u[unit - 1], utc ? "UTC" : "");
            fmt = NULL;
        } else if (lt == PDI_LT_TIME && unit == PDI_UNIT_US) {
            fmt = "ttu";
        } else if (lt == PDI_LT_TIME && unit == PDI_UNIT_NS) {
            fmt = "ttn";
        } else if (lt == PDI_LT_INTEGER && !sign) {
            fmt = "L";
        } else if (lt == PDI_LT_UNKNOWN) {
            fmt = "n";
            c->conv = PDI_CV_NULL;
        }
        break;
    case PDI_INT96: /* the unit is a read option (export_field in reader.c) */
        fmt = "tsu:";
        c->conv = PDI_CV_INT96;
        c->aw = 8;
        break;
    case PDI_FLOAT: fmt = "f"; break;
    case PDI_DOUBLE: fmt = "g"; break;
    case PDI_BYTE_ARRAY:
        c->conv = PDI_CV_BINARY;
        fmt = (lt == PDI_LT_STRING || lt == PDI_LT_ENUM || lt == PDI_LT_JSON) ? "u" : "z";
        if (dec)
            c->conv = PDI_CV_DEC_BA;
        else if (lt == PDI_LT_UNKNOWN) {
            fmt = "n";
            c->conv = PDI_CV_NULL;
        }
        break;
    case PDI_FLBA:
        if (dec && n->type_length <= 16) {
            c->conv = PDI_CV_DEC_BE;
        } else if (lt == PDI_LT_FLOAT16 && n->type_length == 2) {
            fmt = "e";
        } else if (lt == PDI_LT_UNKNOWN) {
            fmt = "n";
            c->conv = PDI_CV_NULL;
        } else {
            snprintf(fd->format, sizeof fd->format, "w:%d", n->type_length);
        }
        break;
    }
    if (c->conv == PDI_CV_DEC_I32 || c->conv == PDI_CV_DEC_I64 || c->conv == PDI_CV_DEC_BE ||
        c->conv == PDI_CV_DEC_BA) {
        snprintf(fd->format, sizeof fd->format, "d:%d,%d", prec, scale);
        c->aw = 16;
        c->dec_precision = prec;
        c->dec_scale = scale;
        return;
    } else if (c->conv == PDI_CV_NULL) {
        c->aw = 0;
    }
    if (fmt)
        snprintf(fd->format, sizeof fd->format, "%s", fmt);
}

static int build_field(pdi_file *f, pdi_node *n, bool as_element, pdi_field *fd, int depth);

static int alloc_children(pdi_field *fd, int n)
{
    fd->n_children = n;
    fd->children = calloc(n ? (size_t)n : 1, sizeof(pdi_field));
    return fd->children ? PD_OK : pd_set_error(PD_ERR_NOMEM, "out of memory");
}

static int first_leaf_of(const pdi_node *n)
{
    while (n->leaf < 0) {
        if (n->num_children <= 0)
            return -1;
        n = n->children[0];
    }
    return n->leaf;
}

static int count_leaves(const pdi_node *n)
{
    if (n->leaf >= 0)
        return 1;
    int s = 0;
    for (int i = 0; i < n->num_children; i++)
        s += count_leaves(n->children[i]);
    return s;
}

static int build_field(pdi_file *f, pdi_node *n, bool as_element, pdi_field *fd, int depth)
{
    int rc;
    if (depth > PDI_MAX_SCHEMA_DEPTH * 2)
        return pd_set_error(PD_ERR_CORRUPT, "schema nested too deeply");
    fd->name = n->name;
    fd->first_leaf = first_leaf_of(n);
    fd->n_leaves = count_leaves(n);
    if (fd->first_leaf < 0) { /* no leaves below: an empty struct */
        fd->first_leaf = 0;
        fd->n_leaves = 0;
    }
    fd->leaf = -1;
    if (n->repetition == PDI_REPEATED && !as_element) {
        /* unannotated repeated field: a required list of required elements */
        fd->kind = PDI_F_LIST;
        fd->nullable = false;
        fd->def = n->def - 1;
        fd->elem_def = n->def;
        fd->rep = n->rep;
        snprintf(fd->format, sizeof fd->format, "+l");
        if ((rc = alloc_children(fd, 1)))
            return rc;
        return build_field(f, n, true, &fd->children[0], depth + 1);
    }
    fd->def = n->def;
    fd->nullable = n->repetition == PDI_OPTIONAL;
    if (n->leaf >= 0) {
        fd->kind = PDI_F_LEAF;
        fd->leaf = n->leaf;
        leaf_format(f, n, fd);
        return PD_OK;
    }
    bool one_rep_child = n->num_children == 1 && n->children[0]->repetition == PDI_REPEATED;
    if (one_rep_child && is_map_node(n) && n->children[0]->num_children == 2) {
        pdi_node *r = n->children[0];
        fd->kind = PDI_F_MAP;
        fd->elem_def = r->def;
        fd->rep = r->rep;
        snprintf(fd->format, sizeof fd->format, "+m");
        if ((rc = alloc_children(fd, 1)))
            return rc;
        pdi_field *e = &fd->children[0];
        e->kind = PDI_F_STRUCT;
        e->name = "entries";
        e->nullable = false;
        e->def = r->def;
        e->first_leaf = fd->first_leaf;
        e->n_leaves = fd->n_leaves;
        e->leaf = -1;
        snprintf(e->format, sizeof e->format, "+s");
        if ((rc = alloc_children(e, 2)))
            return rc;
        if ((rc = build_field(f, r->children[0], false, &e->children[0], depth + 1)))
            return rc;
        e->children[0].name = "key";
        if ((rc = build_field(f, r->children[1], false, &e->children[1], depth + 1)))
            return rc;
        e->children[1].name = "value";
        return PD_OK;
    }
    if (one_rep_child && (is_list_node(n) || is_map_node(n))) {
        pdi_node *r = n->children[0];
        fd->kind = PDI_F_LIST;
        fd->elem_def = r->def;
        fd->rep = r->rep;
        snprintf(fd->format, sizeof fd->format, "+l");
        if ((rc = alloc_children(fd, 1)))
            return rc;
        pdi_node *elem;
        bool elem_is_rep = true;
        if (r->leaf >= 0 || r->num_children != 1 ||
            (r->num_children == 1 && r->children[0]->repetition == PDI_REPEATED) ||
            strcmp(r->name, "array") == 0 ||
            (strlen(r->name) == strlen(n->name) + 6 &&
             strncmp(r->name, n->name, strlen(n->name)) == 0 &&
             strcmp(r->name + strlen(n->name), "_tuple") == 0) ||
            is_map_node(n)) {
            elem = r;
        } else {
            elem = r->children[0];
            elem_is_rep = false;
        }
        return build_field(f, elem, elem_is_rep, &fd->children[0], depth + 1);
    }
    fd->kind = PDI_F_STRUCT;
    snprintf(fd->format, sizeof fd->format, "+s");
    if ((rc = alloc_children(fd, n->num_children)))
        return rc;
    for (int i = 0; i < n->num_children; i++)
        if ((rc = build_field(f, n->children[i], false, &fd->children[i], depth + 1)))
            return rc;
    return PD_OK;
}

static void field_free(pdi_field *fd)
{
    for (int i = 0; i < fd->n_children; i++)
        field_free(&fd->children[i]);
    free(fd->children);
    fd->children = NULL;
    fd->n_children = 0;
}

static int build_schema(pdi_file *f)
{
    int pos = 0, rc = build_tree(f, &pos, NULL, 0);
    if (rc)
        return rc;
    if (pos != f->n_nodes)
        return pd_set_error(PD_ERR_CORRUPT, "schema has %d elements, tree uses %d", f->n_nodes,
                            pos);
    f->leaves = calloc(f->n_leaves ? (size_t)f->n_leaves : 1, sizeof(pdi_column));
    if (!f->leaves)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    for (int i = 0; i < f->n_nodes; i++) {
        pdi_node *n = &f->nodes[i];
        if (n->leaf < 0)
            continue;
        pdi_column *c = &f->leaves[n->leaf];
        c->node = n;
        c->ptype = n->ptype;
        c->type_length = n->type_length;
        c->max_def = n->def;
        c->max_rep = n->rep;
        static const int widths[] = {1, 4, 8, 12, 4, 8, 0, 0};
        c->pw = n->ptype == PDI_FLBA ? n->type_length : widths[n->ptype];
        pd_buf b = PD_BUF_INIT;
        const pdi_node *chain[PDI_MAX_SCHEMA_DEPTH + 2];
        int k = 0;
        for (const pdi_node *p = n; p && p->parent; p = p->parent)
            chain[k++] = p;
        for (int j = k - 1; j >= 0; j--) {
            pdi_buf_puts(&b, chain[j]->name);
            if (j)
                pdi_buf_putc(&b, '.');
        }
        c->path = b.data ? pdi_buf_detach(&b) : pdi_strdup("");
        if (!c->path)
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        if (c->max_def > 255 || c->max_rep > 255)
            return pd_set_error(PD_ERR_CORRUPT, "column '%s': nesting too deep", c->path);
    }
    pdi_node *root = &f->nodes[0];
    pdi_field *r = &f->root;
    r->kind = PDI_F_STRUCT;
    r->name = "";
    r->first_leaf = 0;
    r->n_leaves = f->n_leaves;
    snprintf(r->format, sizeof r->format, "+s");
    if ((rc = alloc_children(r, root->num_children)))
        return rc;
    for (int i = 0; i < root->num_children; i++)
        if ((rc = build_field(f, root->children[i], false, &r->children[i], 0)))
            return rc;
    return PD_OK;
}

static int validate(pdi_file *f)
{
    int64_t total = 0;
    for (int g = 0; g < f->n_rowgroups; g++) {
        pdi_rowgroup *rg = &f->rowgroups[g];
        if (rg->num_rows < 0)
            return pd_set_error(PD_ERR_CORRUPT, "row group %d: missing or negative num_rows", g);
        if (rg->n_columns != f->n_leaves)
            return pd_set_error(PD_ERR_CORRUPT,
                                "row group %d has %d column chunks, schema has %d leaf columns", g,
                                rg->n_columns, f->n_leaves);
        if (__builtin_add_overflow(total, rg->num_rows, &total))
            return pd_set_error(PD_ERR_CORRUPT, "total row count overflows");
        for (int i = 0; i < rg->n_columns; i++) {
            pdi_chunk *c = &rg->columns[i];
            if (c->has_meta && c->type != f->leaves[i].ptype && !c->encrypted)
                return pd_set_error(PD_ERR_CORRUPT,
                                    "column '%s', row group %d: chunk type %d differs from schema "
                                    "type %s",
                                    f->leaves[i].path, g, c->type,
                                    pdi_type_name(f->leaves[i].ptype));
        }
    }
    f->num_rows = total;
    return PD_OK;
}

int pdi_parse_footer(const uint8_t *buf, size_t len, uint64_t file_size, pdi_file *f)
{
    (void)file_size;
    pdi_thrift t;
    pdi_tr_init(&t, buf, len);
    int rc = parse_file_meta(&t, f);
    if (rc == PD_ERR_CORRUPT)
        pd_error_prefix("footer");
    if (!rc)
        rc = build_schema(f);
    if (!rc)
        rc = validate(f);
    return rc;
}

void pdi_file_free(pdi_file *f)
{
    for (int i = 0; i < f->n_nodes; i++) {
        free(f->nodes[i].name);
        free(f->nodes[i].children);
    }
    free(f->nodes);
    for (int g = 0; g < f->n_rowgroups; g++) {
        for (int i = 0; i < f->rowgroups[g].n_columns; i++)
            chunk_free(&f->rowgroups[g].columns[i]);
        free(f->rowgroups[g].columns);
    }
    free(f->rowgroups);
    for (size_t i = 0; i < f->n_kv; i++) {
        free(f->kv_keys[i]);
        free(f->kv_values[i]);
    }
    free(f->kv_keys);
    free(f->kv_values);
    free(f->created_by);
    if (f->leaves)
        for (int i = 0; i < f->n_leaves; i++)
            free(f->leaves[i].path);
    free(f->leaves);
    field_free(&f->root);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------------ page header */
static int parse_dph(pdi_thrift *t, void *elem)
{
    pdi_page_header *h = elem;
    h->has_data_header = true;
    FIELDS_BEGIN(t)
case 1: rc = get_i32(t, ft, &h->num_values); break;
case 2: rc = get_int(t, ft, &h->encoding); break;
case 3: rc = get_int(t, ft, &h->def_encoding); break;
case 4:
    rc = get_int(t, ft, &h->rep_encoding);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_dph2(pdi_thrift *t, void *elem)
{
    pdi_page_header *h = elem;
    h->has_v2_header = true;
    FIELDS_BEGIN(t)
case 1: rc = get_i32(t, ft, &h->num_values); break;
case 2: rc = get_i32(t, ft, &h->num_nulls); break;
case 3: rc = get_i32(t, ft, &h->num_rows); break;
case 4: rc = get_int(t, ft, &h->encoding); break;
case 5: rc = get_i32(t, ft, &h->def_len); break;
case 6: rc = get_i32(t, ft, &h->rep_len); break;
case 7:
    get_bool(ft, &h->is_compressed);
    break;
    FIELDS_END(t)
    return rc;
}

static int parse_dict_ph(pdi_thrift *t, void *elem)
{
    pdi_page_header *h = elem;
    h->has_dict_header = true;
    FIELDS_BEGIN(t)
case 1: rc = get_i32(t, ft, &h->dict_num_values); break;
case 2:
    rc = get_int(t, ft, &h->dict_encoding);
    break;
    FIELDS_END(t)
    return rc;
}

int pdi_parse_page_header(const uint8_t *buf, size_t len, pdi_page_header *h, size_t *consumed)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncompressed_size = -1;
    h->compressed_size = -1;
    h->is_compressed = true;
    pdi_thrift tt, *t = &tt;
    pdi_tr_init(t, buf, len);
    FIELDS_BEGIN(t)
case 1: rc = get_int(t, ft, &h->type); break;
case 2: rc = get_i32(t, ft, &h->uncompressed_size); break;
case 3: rc = get_i32(t, ft, &h->compressed_size); break;
case 4:
    h->has_crc = ft == PDI_T_I32;
    rc = h->has_crc ? pdi_tr_i32(t, &h->crc) : pdi_tr_skip(t, ft);
    break;
case 5: rc = get_struct(t, ft, parse_dph, h); break;
case 7: rc = get_struct(t, ft, parse_dict_ph, h); break;
case 8:
    rc = get_struct(t, ft, parse_dph2, h);
    break;
    FIELDS_END(t)
    if (rc)
        return pd_error_prefix("page header");
    if (h->uncompressed_size < 0 || h->compressed_size < 0)
        return pd_set_error(PD_ERR_CORRUPT, "page header: missing or negative page size");
    *consumed = (size_t)(t->p - buf);
    return PD_OK;
}

/* ------------------------------------------------------------------ describe */
static void put_stat_value(pd_buf *b, const pdi_column *c, const uint8_t *v, size_t n)
{
    if (c->ptype == PDI_INT32 && n == 4) {
        int32_t x;
        memcpy(&x, v, 4);
        if (c->node->converted == PDI_CT_UINT_32 ||
            (c->node->logical == PDI_LT_INTEGER && !c->node->lt_signed))
            pdi_buf_printf(b, "%" PRIu32, (uint32_t)x);
        else
            pdi_buf_printf(b, "%" PRId32, x);
    } else if (c->ptype == PDI_INT64 && n == 8) {
        int64_t x;
        memcpy(&x, v, 8);
        if (c->node->converted == PDI_CT_UINT_64 ||
            (c->node->logical == PDI_LT_INTEGER && !c->node->lt_signed))
            pdi_buf_printf(b, "%" PRIu64, (uint64_t)x);
        else
            pdi_buf_printf(b, "%" PRId64, x);
    } else if (c->ptype == PDI_FLOAT && n == 4) {
        float x;
        memcpy(&x, v, 4);
        pdi_buf_printf(b, "%.9g", (double)x);
    } else if (c->ptype == PDI_DOUBLE && n == 8) {
        double x;
        memcpy(&x, v, 8);
        pdi_buf_printf(b, "%.17g", x);
    } else if (c->ptype == PDI_BOOLEAN && n >= 1) {
        pdi_buf_puts(b, v[0] ? "true" : "false");
    } else {
        bool text = true;
        for (size_t i = 0; i < n; i++)
            if (v[i] < 0x20 || v[i] == 0x7f || v[i] == '"')
                text = false;
        if (text && (c->conv == PDI_CV_BINARY || c->ptype == PDI_BYTE_ARRAY)) {
            pdi_buf_putc(b, '"');
            pdi_buf_append(b, v, n > 64 ? 64 : n);
            pdi_buf_puts(b, n > 64 ? "...\"" : "\"");
        } else {
            pdi_buf_puts(b, "0x");
            for (size_t i = 0; i < n && i < 32; i++)
                pdi_buf_printf(b, "%02x", v[i]);
            if (n > 32)
                pdi_buf_puts(b, "...");
        }
    }
}

static void describe_node(pd_buf *b, const pdi_node *n, int indent)
{
    static const char *reps[] = {"required", "optional", "repeated"};
    for (int i = 0; i < indent; i++)
        pdi_buf_puts(b, "  ");
    const char *rep = n->repetition >= 0 && n->repetition <= 2 ? reps[n->repetition] : "";
    if (n->leaf >= 0) {
        pdi_buf_printf(b, "%s %s", rep, pdi_type_name(n->ptype));
        if (n->ptype == PDI_FLBA)
            pdi_buf_printf(b, "(%d)", n->type_length);
        pdi_buf_printf(b, " %s", n->name);
    } else {
        pdi_buf_printf(b, "%s%sgroup %s", rep, *rep ? " " : "", n->name);
    }
    if (n->converted >= 0)
        pdi_buf_printf(b, " (%s", pdi_converted_name(n->converted));
    if (n->converted == PDI_CT_DECIMAL)
        pdi_buf_printf(b, "(%d,%d)", n->precision, n->scale);
    if (n->converted >= 0)
        pdi_buf_putc(b, ')');
    if (n->logical) {
        static const char *lts[] = {"",        "STRING",  "MAP",      "LIST",      "ENUM",
                                    "DECIMAL", "DATE",    "TIME",     "TIMESTAMP", "",
                                    "INTEGER", "UNKNOWN", "JSON",     "BSON",      "UUID",
                                    "FLOAT16", "VARIANT", "GEOMETRY", "GEOGRAPHY"};
        const char *name = n->logical < 19 ? lts[n->logical] : "unknown";
        pdi_buf_printf(b, " logical=%s", name);
        if (n->logical == PDI_LT_DECIMAL)
            pdi_buf_printf(b, "(%d,%d)", n->precision, n->scale);
        else if (n->logical == PDI_LT_INTEGER)
            pdi_buf_printf(b, "(%d,%s)", n->lt_bits, n->lt_signed ? "signed" : "unsigned");
        else if (n->logical == PDI_LT_TIME || n->logical == PDI_LT_TIMESTAMP)
            pdi_buf_printf(b, "(%s,%s)",
                           n->lt_unit == 1   ? "ms"
                           : n->lt_unit == 2 ? "us"
                                             : "ns",
                           n->lt_utc ? "utc" : "local");
    }
    if (n->has_field_id)
        pdi_buf_printf(b, " id=%d", n->field_id);
    pdi_buf_putc(b, '\n');
    for (int i = 0; i < n->num_children; i++)
        describe_node(b, n->children[i], indent + 1);
}

static const char *codec_label(int c)
{
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                  "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return (c >= 0 && c < 8) ? names[c] : "?";
}

char *pd_parquet_describe(const pd_parquet_reader *r)
{
    if (!r)
        return NULL;
    const pdi_file *f = &r->f;
    pd_buf b = PD_BUF_INIT;
    pdi_buf_printf(&b, "file size: %" PRIu64 " bytes\n", r->file_size);
    pdi_buf_printf(&b, "format version: %d\n", (int)f->version);
    pdi_buf_printf(&b, "created by: %s\n", f->created_by ? f->created_by : "");
    pdi_buf_printf(&b, "rows: %" PRId64 "\n", f->num_rows);
    pdi_buf_printf(&b, "row groups: %d\n", f->n_rowgroups);
    pdi_buf_printf(&b, "leaf columns: %d\n", f->n_leaves);
    if (f->encrypted_footer_alg)
        pdi_buf_puts(&b, "encryption: plaintext footer, encrypted columns\n");
    if (f->n_kv) {
        pdi_buf_printf(&b, "key-value metadata: %zu\n", f->n_kv);
        for (size_t i = 0; i < f->n_kv; i++) {
            const char *v = f->kv_values[i];
            size_t vl = v ? strlen(v) : 0;
            pdi_buf_printf(&b, "  %s = ", f->kv_keys[i]);
            if (!v)
                pdi_buf_puts(&b, "(null)");
            else if (vl > 100)
                pdi_buf_printf(&b, "%.100s... (%zu bytes)", v, vl);
            else
                pdi_buf_puts(&b, v);
            pdi_buf_putc(&b, '\n');
        }
    }
    pdi_buf_puts(&b, "schema:\n");
    describe_node(&b, &f->nodes[0], 1);
    for (int g = 0; g < f->n_rowgroups; g++) {
        const pdi_rowgroup *rg = &f->rowgroups[g];
        pdi_buf_printf(&b, "row group %d: %" PRId64 " rows, %" PRId64 " bytes uncompressed", g,
                       rg->num_rows, rg->total_byte_size);
        if (rg->total_compressed >= 0)
            pdi_buf_printf(&b, ", %" PRId64 " compressed", rg->total_compressed);
        if (rg->n_sorting)
            pdi_buf_printf(&b, ", %d sorting columns", rg->n_sorting);
        pdi_buf_putc(&b, '\n');
        for (int i = 0; i < rg->n_columns; i++) {
            const pdi_chunk *c = &rg->columns[i];
            const pdi_column *lc = &f->leaves[i];
            pdi_buf_printf(&b, "  column %d '%s': ", i, lc->path);
            if (c->encrypted) {
                pdi_buf_puts(&b, "encrypted\n");
                continue;
            }
            if (!c->has_meta) {
                pdi_buf_puts(&b, "no metadata\n");
                continue;
            }
            pdi_buf_printf(&b, "%s %s, %" PRId64 " values, %" PRId64 " -> %" PRId64 " bytes",
                           pdi_type_name(c->type), codec_label(c->codec), c->num_values,
                           c->total_uncompressed, c->total_compressed);
            pdi_buf_puts(&b, ", encodings");
            for (int e = 0; e < c->n_encodings; e++)
                pdi_buf_printf(&b, "%s%s", e ? "," : " ", pdi_encoding_name(c->encodings[e]));
            pdi_buf_printf(&b, ", data page @%" PRId64, c->data_page_offset);
            if (c->dict_page_offset > 0)
                pdi_buf_printf(&b, ", dictionary page @%" PRId64, c->dict_page_offset);
            if (c->bloom_offset >= 0)
                pdi_buf_puts(&b, ", bloom filter");
            if (c->column_index_offset >= 0 || c->offset_index_offset >= 0)
                pdi_buf_puts(&b, ", page index");
            if (c->has_stats) {
                const pdi_stats *s = &c->stats;
                if (s->has_null_count)
                    pdi_buf_printf(&b, ", nulls %" PRId64, s->null_count);
                if (s->has_distinct)
                    pdi_buf_printf(&b, ", distinct %" PRId64, s->distinct_count);
                if (s->has_min) {
                    pdi_buf_puts(&b, ", min ");
                    put_stat_value(&b, lc, s->min, s->min_len);
                    if (!s->min_exact)
                        pdi_buf_puts(&b, " (inexact)");
                }
                if (s->has_max) {
                    pdi_buf_puts(&b, ", max ");
                    put_stat_value(&b, lc, s->max, s->max_len);
                    if (!s->max_exact)
                        pdi_buf_puts(&b, " (inexact)");
                }
            }
            pdi_buf_putc(&b, '\n');
        }
    }
    if (b.oom) {
        pdi_buf_free(&b);
        pd_set_error(PD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return pdi_buf_detach(&b);
}
