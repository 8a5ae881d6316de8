/*
 * tests/parquet_write/pqw_table.c - the generated test table (see
 * pqw_table.h): deterministic values from a hash of (column, row), nulls by
 * row pattern, nested columns with nulls and empties at every level, and
 * arrays built with non-zero offsets on every level. Also the read-back
 * comparison the writer tests share.
 */
#include "pqw_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF_TOP   3 /* garbage rows before each top-level array */
#define OFF_CHILD 2 /* garbage slots before each child array */

static uint64_t sm64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t H(int c, int64_t i)
{
    return sm64((uint64_t)i * 131 + (uint64_t)c);
}

enum {
    C_BOOL,
    C_I8,
    C_I16,
    C_I32,
    C_I64,
    C_U8,
    C_U16,
    C_U32,
    C_U64,
    C_F32,
    C_F64,
    C_F16,
    C_STR,
    C_LSTR,
    C_BIN,
    C_LBIN,
    C_FSB,
    C_UUID,
    C_DATE,
    C_TIMEMS,
    C_TIMEUS,
    C_TSS,
    C_TSMS_UTC,
    C_TSUS,
    C_TSNS,
    C_DEC7,
    C_DEC15,
    C_DEC30,
    C_DICT,
    C_STRUCT,
    C_LIST,
    C_LLIST,
    C_MAP,
    C_DEEP,
    C_SORTED,
    C_NULL,
    C_TIMES,
    C_DATE64,
    C_FLIST,
    C_NCOLS
};

#define LIST_SQL(c)                                                                       \
    "CASE WHEN %s IS NULL THEN 'NULL' ELSE array_to_string(list_transform(%s, lambda x: " \
    "coalesce(CAST(x AS VARCHAR), 'N')), ',') END"

static const pqw_col cols[C_NCOLS] = {
    {"b", "%s"},
    {"i8", "%s"},
    {"i16", "%s"},
    {"i32", "%s"},
    {"i64", "%s"},
    {"u8", "%s"},
    {"u16", "%s"},
    {"u32", "%s"},
    {"u64", "%s"},
    {"f32", "CAST(%s * 4 AS BIGINT)"},
    {"f64", "CAST(%s * 4 AS BIGINT)"},
    {"f16", "CAST(%s * 4 AS BIGINT)"},
    {"str", "%s"},
    {"lstr", "%s"},
    {"bin", "hex(%s)"},
    {"lbin", "hex(%s)"},
    {"fsb", "hex(%s)"},
    {"uuid", "CAST(%s AS VARCHAR)"},
    {"date", "date_diff('day', DATE '1970-01-01', %s)"},
    {"tms", "date_diff('microsecond', TIME '00:00:00', %s)"},
    {"tus", "date_diff('microsecond', TIME '00:00:00', %s)"},
    {"tss", "epoch_ms(%s)"},
    {"tsms", "epoch_ms(%s)"},
    {"tsus", "epoch_us(%s)"},
    {"tsns", "epoch_ns(%s)"},
    {"dec7", "CAST(%s AS VARCHAR)"},
    {"dec15", "CAST(%s AS VARCHAR)"},
    {"dec30", "CAST(%s AS VARCHAR)"},
    {"dict", "%s"},
    {"st", "CASE WHEN %s IS NULL THEN 'NULL' ELSE coalesce(CAST(%s.a AS VARCHAR), 'N') || '/' || "
           "%s.b END"},
    {"lst", LIST_SQL(0)},
    {"llst", LIST_SQL(0)},
    {"mp", "CASE WHEN %s IS NULL THEN 'NULL' ELSE array_to_string(list_transform(map_entries(%s), "
           "lambda e: e.key || '=' || coalesce(CAST(e.value AS VARCHAR), 'N')), ',') END"},
    {"deep", "CAST(%s AS VARCHAR)"},
    {"sorted", "%s"},
    {"nul", "%s"},
    {"tsec", "date_diff('microsecond', TIME '00:00:00', %s)"},
    {"d64", "date_diff('day', DATE '1970-01-01', %s)"},
    {"fl", LIST_SQL(0)},
};

int pqw_ncols(void)
{
    return C_NCOLS;
}

const pqw_col *pqw_col_info(int i)
{
    return &cols[i];
}

/* ---- per-column nulls and values ---- */

static int is_null(int c, int64_t i)
{
    switch (c) {
    case C_I32:
    case C_STR: /* declared non-nullable */
    case C_SORTED: return 0;
    case C_BOOL: return i % 7 == 3;
    case C_STRUCT: return i % 5 == 1;
    case C_LIST:
    case C_LLIST: return i % 9 == 4;
    case C_MAP: return i % 8 == 2;
    case C_DEEP: return i % 6 == 5;
    case C_NULL: return 1;
    case C_FLIST: return i % 7 == 2;
    default: return (H(c, i) % 10) == 0;
    }
}

static const char *const words[5] = {"alpha", "beta", "gamma", "delta", ""};

static float half_bits_to_float_exact(int k) /* value k/4 */
{
    return (float)k / 4.0f;
}

static uint16_t float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    int32_t exp = (int32_t)((x >> 23) & 0xFF) - 127 + 15;
    uint32_t man = x & 0x7FFFFF;
    if (f == 0.0f) {
        return sign;
    }
    if (exp <= 0) { /* subnormal (not produced by our values) */
        return sign;
    }
    return (uint16_t)(sign | (uint16_t)(exp << 10) | (uint16_t)(man >> 13));
}

static void fmt_dec(char *buf, size_t cap, int64_t unscaled, int scale)
{
    uint64_t a = unscaled < 0 ? (uint64_t)0 - (uint64_t)unscaled : (uint64_t)unscaled;
    uint64_t p = 1;
    for (int k = 0; k < scale; k++) {
        p *= 10;
    }
    snprintf(buf, cap, "%s%" PRIu64 ".%0*" PRIu64, unscaled < 0 ? "-" : "", a / p, scale, a % p);
}

/* list lengths / element nulls for the nested columns */
static int64_t list_len(int c, int64_t i)
{
    return (int64_t)(H(c + 100, i) % 5); /* 0..4 */
}

static int elem_null(int c, int64_t i, int64_t k)
{
    return H(c + 200, i * 8 + k) % 6 == 0;
}

static int64_t elem_val(int c, int64_t i, int64_t k)
{
    return (int64_t)(H(c + 300, i * 8 + k) % 2000) - 1000;
}

void pqw_expect(int c, int64_t i, char *buf, size_t cap)
{
    if (is_null(c, i)) {
        snprintf(buf, cap, "NULL");
        return;
    }
    uint64_t h = H(c, i);
    switch (c) {
    case C_BOOL: snprintf(buf, cap, "%s", (h & 1) ? "true" : "false"); break;
    case C_I8: snprintf(buf, cap, "%d", (int)(int8_t)h); break;
    case C_I16: snprintf(buf, cap, "%d", (int)(int16_t)h); break;
    case C_I32: snprintf(buf, cap, "%d", (int)(int32_t)h); break;
    case C_I64: snprintf(buf, cap, "%" PRId64, (int64_t)h); break;
    case C_U8: snprintf(buf, cap, "%u", (unsigned)(uint8_t)h); break;
    case C_U16: snprintf(buf, cap, "%u", (unsigned)(uint16_t)h); break;
    case C_U32: snprintf(buf, cap, "%" PRIu32, (uint32_t)h); break;
    case C_U64: snprintf(buf, cap, "%" PRIu64, h); break;
    case C_F32:
    case C_F64: snprintf(buf, cap, "%d", (int)(h % 200001) - 100000); break;
    case C_F16: snprintf(buf, cap, "%d", (int)(h % 1001) - 500); break;
    case C_STR: snprintf(buf, cap, "v%d", (int)(h % 37)); break;
    case C_LSTR: snprintf(buf, cap, "row%" PRId64 "-%" PRIx64 "-ü", i, h >> 40); break;
    case C_BIN:
    case C_LBIN: {
        int len = (int)(h % 6);
        size_t o = 0;
        buf[0] = 0;
        for (int j = 0; j < len; j++) {
            o += (size_t)snprintf(buf + o, cap - o, "%02X", (unsigned)((h >> (8 * j + 8)) & 0xFF));
        }
        break;
    }
    case C_FSB:
        snprintf(buf, cap, "%02X%02X%02X", (unsigned)(h & 0xFF), (unsigned)((h >> 8) & 0xFF),
                 (unsigned)((h >> 16) & 0xFF));
        break;
    case C_UUID: {
        uint64_t h2 = sm64(h);
        snprintf(buf, cap, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
                 h >> 32, (h >> 16) & 0xFFFF, h & 0xFFFF, h2 >> 48, h2 & (uint64_t)0xFFFFFFFFFFFF);
        break;
    }
    case C_DATE: snprintf(buf, cap, "%d", (int)(h % 40000) - 20000); break;
    case C_TIMEMS: snprintf(buf, cap, "%" PRIu64, (h % (uint64_t)86400000) * 1000); break;
    case C_TIMEUS: snprintf(buf, cap, "%" PRIu64, h % (uint64_t)86400000000); break;
    case C_TSS:
        snprintf(buf, cap, "%" PRId64, ((int64_t)(h % 4000000000ULL) - 2000000000) * 1000);
        break;
    case C_TSMS_UTC:
        snprintf(buf, cap, "%" PRId64, (int64_t)(h % 4000000000000ULL) - 2000000000000);
        break;
    case C_TSUS:
        snprintf(buf, cap, "%" PRId64, (int64_t)(h % 4000000000000000ULL) - 2000000000000000);
        break;
    case C_TSNS: snprintf(buf, cap, "%" PRId64, (int64_t)(h >> 2) - (int64_t)(1ULL << 61)); break;
    case C_DEC7: fmt_dec(buf, cap, (int64_t)(h % 19999999) - 9999999, 2); break;
    case C_DEC15: fmt_dec(buf, cap, (int64_t)(h % 1999999999999999ULL) - 999999999999999, 3); break;
    case C_DEC30: fmt_dec(buf, cap, (int64_t)(h >> 1) - (int64_t)(1ULL << 62), 4); break;
    case C_DICT: snprintf(buf, cap, "%s", words[h % 5]); break;
    case C_STRUCT: {
        char a[32];
        if (h % 4 == 0) {
            snprintf(a, sizeof a, "N");
        } else {
            snprintf(a, sizeof a, "%d", (int)(h % 1000));
        }
        snprintf(buf, cap, "%s/%s", a, words[(h >> 8) % 5]);
        break;
    }
    case C_LIST:
    case C_LLIST:
    case C_MAP: {
        int64_t n = list_len(c, i);
        size_t o = 0;
        buf[0] = 0;
        for (int64_t k = 0; k < n; k++) {
            if (k) {
                o += (size_t)snprintf(buf + o, cap - o, ",");
            }
            if (c == C_MAP) {
                o += (size_t)snprintf(buf + o, cap - o, "k%d=", (int)k);
            }
            if (c == C_LLIST) {
                o += (size_t)snprintf(buf + o, cap - o, "e%" PRId64, elem_val(c, i, k));
            } else if (elem_null(c, i, k)) {
                o += (size_t)snprintf(buf + o, cap - o, "N");
            } else {
                o += (size_t)snprintf(buf + o, cap - o, "%" PRId64, elem_val(c, i, k));
            }
        }
        break;
    }
    case C_DEEP: {
        /* list<struct<x int16, y list<int8>>>; struct null when elem_null */
        int64_t n = list_len(c, i);
        size_t o = (size_t)snprintf(buf, cap, "[");
        for (int64_t k = 0; k < n; k++) {
            if (k) {
                o += (size_t)snprintf(buf + o, cap - o, ", ");
            }
            if (elem_null(c, i, k)) {
                o += (size_t)snprintf(buf + o, cap - o, "NULL");
                continue;
            }
            int64_t v = elem_val(c, i, k);
            o += (size_t)snprintf(buf + o, cap - o, "{'x': %d, 'y': [", (int)v);
            int64_t m = (v & 3) == 3 ? 0 : (v & 3);
            for (int64_t q = 0; q < m; q++) {
                o +=
                    (size_t)snprintf(buf + o, cap - o, "%s%d", q ? ", " : "", (int)(int8_t)(v + q));
            }
            o += (size_t)snprintf(buf + o, cap - o, "]}");
        }
        snprintf(buf + o, cap - o, "]");
        break;
    }
    case C_SORTED: snprintf(buf, cap, "%" PRId64, i * 3 + (int64_t)(h % 3)); break;
    case C_TIMES: snprintf(buf, cap, "%" PRIu64, (h % 86400) * 1000000); break;
    case C_DATE64: snprintf(buf, cap, "%d", (int)(h % 40000) - 20000); break;
    case C_FLIST: {
        size_t o = 0;
        for (int64_t k = 0; k < 2; k++) {
            if (elem_null(c, i, k)) {
                o += (size_t)snprintf(buf + o, cap - o, "%sN", k ? "," : "");
            } else {
                o += (size_t)snprintf(buf + o, cap - o, "%s%d", k ? "," : "",
                                      (int)(int16_t)elem_val(c, i, k));
            }
        }
        break;
    }
    default: snprintf(buf, cap, "?"); break;
    }
}

/* ---- array building ---- */

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) {
        abort();
    }
    return p;
}

static void set_valid(uint8_t *bm, int64_t pos, int v)
{
    if (v) {
        bm[pos >> 3] |= (uint8_t)(1u << (pos & 7));
    } else {
        bm[pos >> 3] &= (uint8_t) ~(1u << (pos & 7));
    }
}

/* Build a flat primitive array of n logical values for column c, rows
 * first_row.., with `off` garbage slots. */
static int build_flat(int c, int64_t n, int64_t first, int64_t off, struct ArrowArray *a)
{
    int64_t tot = n + off;
    if (c == C_NULL) {
        if (pd_arrow_array_init(a, 0, 0) != 0) {
            return -1;
        }
        a->length = n;
        a->offset = off;
        a->null_count = n;
        return 0;
    }
    int var = c == C_STR || c == C_LSTR || c == C_BIN || c == C_LBIN;
    if (pd_arrow_array_init(a, var ? 3 : 2, 0) != 0) {
        return -1;
    }
    a->length = n;
    a->offset = off;
    uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
    int64_t nulls = 0;
    for (int64_t j = 0; j < tot; j++) {
        int nl = j < off ? (j & 1) : is_null(c, first + j - off);
        set_valid(bm, j, !nl);
        nulls += j >= off && nl;
    }
    a->null_count = nulls;
    pd_arrow_array_set_buffer(a, 0, bm);
    if (var) {
        int large = c == C_LSTR || c == C_LBIN;
        void *offs = xcalloc((size_t)tot + 1, large ? 8 : 4);
        size_t cap = 64, len = 0;
        char *data = xcalloc(cap, 1);
        for (int64_t j = 0; j < tot; j++) {
            char tmp[256];
            size_t l;
            int64_t i = first + j - off;
            if (j < off) {
                l = (size_t)snprintf(tmp, sizeof tmp, "garbage%d", (int)j);
            } else if (c == C_BIN || c == C_LBIN) {
                uint64_t h = H(c, i);
                l = h % 6;
                for (size_t q = 0; q < l; q++) {
                    tmp[q] = (char)((h >> (8 * q + 8)) & 0xFF);
                }
            } else {
                pqw_expect(c, i, tmp, sizeof tmp);
                l = strlen(tmp);
                if (is_null(c, i)) {
                    l = 2; /* some bytes behind a null */
                }
            }
            if (len + l > cap) {
                cap = (len + l) * 2;
                data = realloc(data, cap);
                if (!data) {
                    abort();
                }
            }
            memcpy(data + len, tmp, l);
            len += l;
            if (large) {
                ((int64_t *)offs)[j + 1] = (int64_t)len;
            } else {
                ((int32_t *)offs)[j + 1] = (int32_t)len;
            }
        }
        pd_arrow_array_set_buffer(a, 1, offs);
        pd_arrow_array_set_buffer(a, 2, data);
        return 0;
    }
    size_t w;
    switch (c) {
    case C_BOOL: w = 0; break;
    case C_I8:
    case C_U8: w = 1; break;
    case C_I16:
    case C_U16:
    case C_F16: w = 2; break;
    case C_I32:
    case C_U32:
    case C_F32:
    case C_DATE:
    case C_TIMES:
    case C_TIMEMS: w = 4; break;
    case C_FSB: w = 3; break;
    case C_UUID:
    case C_DEC7:
    case C_DEC15:
    case C_DEC30: w = 16; break;
    default: w = 8; break;
    }
    uint8_t *d = xcalloc(w ? (size_t)tot * w : (size_t)(tot + 7) / 8, 1);
    for (int64_t j = 0; j < tot; j++) {
        uint64_t h = H(c, first + j - off);
        if (j < off) {
            h = 0xDEADBEEFDEADBEEFULL;
        }
        uint8_t *p = d + (size_t)j * w;
        switch (c) {
        case C_BOOL: set_valid(d, j, (int)(h & 1)); break;
        case C_I8:
        case C_U8: *p = (uint8_t)h; break;
        case C_I16:
        case C_U16: {
            uint16_t v = (uint16_t)h;
            memcpy(p, &v, 2);
            break;
        }
        case C_I32:
        case C_U32: {
            uint32_t v = (uint32_t)h;
            memcpy(p, &v, 4);
            break;
        }
        case C_F32: {
            float f = (float)((int)(h % 200001) - 100000) / 4.0f;
            memcpy(p, &f, 4);
            break;
        }
        case C_F64: {
            double f = (double)((int)(h % 200001) - 100000) / 4.0;
            memcpy(p, &f, 8);
            break;
        }
        case C_F16: {
            uint16_t v = float_to_half(half_bits_to_float_exact((int)(h % 1001) - 500));
            memcpy(p, &v, 2);
            break;
        }
        case C_FSB: p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8), p[2] = (uint8_t)(h >> 16); break;
        case C_UUID: {
            uint64_t h2 = sm64(h);
            for (int q = 0; q < 8; q++) {
                p[q] = (uint8_t)(h >> (56 - 8 * q));
                p[8 + q] = (uint8_t)(h2 >> (56 - 8 * q));
            }
            break;
        }
        case C_DATE: {
            int32_t v = (int32_t)(h % 40000) - 20000;
            memcpy(p, &v, 4);
            break;
        }
        case C_TIMEMS: {
            int32_t v = (int32_t)(h % 86400000ULL);
            memcpy(p, &v, 4);
            break;
        }
        case C_TIMES: {
            int32_t v = (int32_t)(h % 86400);
            memcpy(p, &v, 4);
            break;
        }
        case C_DATE64: {
            int64_t v = ((int64_t)(h % 40000) - 20000) * 86400000 + (int64_t)((h >> 20) % 86400000);
            memcpy(p, &v, 8);
            break;
        }
        case C_TIMEUS: {
            int64_t v = (int64_t)(h % 86400000000ULL);
            memcpy(p, &v, 8);
            break;
        }
        case C_TSS: {
            int64_t v = (int64_t)(h % 4000000000ULL) - 2000000000;
            memcpy(p, &v, 8);
            break;
        }
        case C_TSMS_UTC: {
            int64_t v = (int64_t)(h % 4000000000000ULL) - 2000000000000;
            memcpy(p, &v, 8);
            break;
        }
        case C_TSUS: {
            int64_t v = (int64_t)(h % 4000000000000000ULL) - 2000000000000000;
            memcpy(p, &v, 8);
            break;
        }
        case C_TSNS: {
            int64_t v = (int64_t)(h >> 2) - (int64_t)(1ULL << 61);
            memcpy(p, &v, 8);
            break;
        }
        case C_DEC7:
        case C_DEC15:
        case C_DEC30: {
            int64_t v = c == C_DEC7    ? (int64_t)(h % 19999999) - 9999999
                        : c == C_DEC15 ? (int64_t)(h % 1999999999999999ULL) - 999999999999999
                                       : (int64_t)(h >> 1) - (int64_t)(1ULL << 62);
            int64_t hi = v < 0 ? -1 : 0;
            memcpy(p, &v, 8);
            memcpy(p + 8, &hi, 8);
            break;
        }
        case C_SORTED: {
            int64_t v = (first + j - off) * 3 + (int64_t)(h % 3);
            memcpy(p, &v, 8);
            break;
        }
        default: memcpy(p, &h, 8); break;
        }
    }
    pd_arrow_array_set_buffer(a, 1, d);
    return 0;
}

static int build_dict(int64_t n, int64_t first, int64_t off, struct ArrowArray *a)
{
    if (pd_arrow_array_init(a, 2, 0) != 0) {
        return -1;
    }
    int64_t tot = n + off;
    a->length = n;
    a->offset = off;
    uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
    int8_t *ix = xcalloc((size_t)tot, 1);
    int64_t nulls = 0;
    for (int64_t j = 0; j < tot; j++) {
        int64_t i = first + j - off;
        int nl = j < off ? 0 : is_null(C_DICT, i);
        set_valid(bm, j, !nl);
        nulls += j >= off && nl;
        /* dictionary has 2 leading garbage entries (its own offset) */
        ix[j] = j < off ? 1 : (int8_t)(H(C_DICT, i) % 5);
    }
    a->null_count = nulls;
    pd_arrow_array_set_buffer(a, 0, bm);
    pd_arrow_array_set_buffer(a, 1, ix);
    struct ArrowArray *d = xcalloc(1, sizeof *d);
    if (pd_arrow_array_init(d, 3, 0) != 0) {
        return -1;
    }
    d->length = 5;
    d->offset = 2;
    d->null_count = 0;
    int32_t *of = xcalloc(8, 4);
    char *data = xcalloc(64, 1);
    size_t len = 0;
    const char *ent[7] = {"xx", "yy", words[0], words[1], words[2], words[3], words[4]};
    for (int k = 0; k < 7; k++) {
        memcpy(data + len, ent[k], strlen(ent[k]));
        len += strlen(ent[k]);
        of[k + 1] = (int32_t)len;
    }
    pd_arrow_array_set_buffer(d, 1, of);
    pd_arrow_array_set_buffer(d, 2, data);
    a->dictionary = d;
    return 0;
}

/* Generic child-array builder for nested columns: values given per slot. */
typedef struct slotv {
    int null;
    int64_t v;
} slotv;

static int build_i_child(const slotv *sv, int64_t n, int bytes, struct ArrowArray *a)
{
    int64_t off = OFF_CHILD, tot = n + off;
    if (pd_arrow_array_init(a, 2, 0) != 0) {
        return -1;
    }
    a->length = n;
    a->offset = off;
    uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
    uint8_t *d = xcalloc((size_t)tot, (size_t)bytes);
    int64_t nulls = 0;
    for (int64_t j = 0; j < tot; j++) {
        int nl = j < off ? 1 : sv[j - off].null;
        int64_t v = j < off ? 77 : sv[j - off].v;
        set_valid(bm, j, !nl);
        nulls += j >= off && nl;
        memcpy(d + (size_t)j * (size_t)bytes, &v, (size_t)bytes);
    }
    a->null_count = nulls;
    pd_arrow_array_set_buffer(a, 0, bm);
    pd_arrow_array_set_buffer(a, 1, d);
    return 0;
}

static int build_s_child(char **strs, int64_t n, struct ArrowArray *a)
{
    int64_t off = OFF_CHILD, tot = n + off;
    if (pd_arrow_array_init(a, 3, 0) != 0) {
        return -1;
    }
    a->length = n;
    a->offset = off;
    a->null_count = 0;
    int32_t *of = xcalloc((size_t)tot + 1, 4);
    size_t cap = 64, len = 0;
    char *data = xcalloc(cap, 1);
    for (int64_t j = 0; j < tot; j++) {
        const char *s = j < off ? "zz" : strs[j - off];
        size_t l = strlen(s);
        if (len + l > cap) {
            cap = (len + l) * 2;
            data = realloc(data, cap);
            if (!data) {
                abort();
            }
        }
        memcpy(data + len, s, l);
        len += l;
        of[j + 1] = (int32_t)len;
    }
    pd_arrow_array_set_buffer(a, 1, of);
    pd_arrow_array_set_buffer(a, 2, data);
    return 0;
}

/* Offsets + validity for a list-like array over rows; returns child count. */
static int64_t build_list_node(
    int c, int64_t n, int64_t first, int64_t off, int large, struct ArrowArray *a, int nchildren)
{
    int64_t tot = n + off;
    if (pd_arrow_array_init(a, 2, nchildren) != 0) {
        return -1;
    }
    a->length = n;
    a->offset = off;
    uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
    void *of = xcalloc((size_t)tot + 1, large ? 8 : 4);
    int64_t pos = 0, nulls = 0;
    for (int64_t j = 0; j < tot; j++) {
        int64_t i = first + j - off;
        int nl = j < off ? 1 : is_null(c, i);
        int64_t len = j < off ? 1 : list_len(c, i);
        if (nl && j >= off) {
            len = (j & 1); /* null lists may still span child slots */
        }
        set_valid(bm, j, !nl);
        nulls += j >= off && nl;
        pos += len;
        if (large) {
            ((int64_t *)of)[j + 1] = pos;
        } else {
            ((int32_t *)of)[j + 1] = (int32_t)pos;
        }
    }
    a->null_count = nulls;
    pd_arrow_array_set_buffer(a, 0, bm);
    pd_arrow_array_set_buffer(a, 1, of);
    return pos;
}

/* Walk the slots of a list node in order, telling (row, k) for each child
 * slot; garbage slots get row -1. */
static void list_slots(int c, int64_t n, int64_t first, int64_t off, int64_t *row, int64_t *kk)
{
    int64_t tot = n + off, pos = 0;
    for (int64_t j = 0; j < tot; j++) {
        int64_t i = first + j - off;
        int nl = j < off ? 1 : is_null(c, i);
        int64_t len = j < off ? 1 : list_len(c, i);
        if (nl && j >= off) {
            len = (j & 1);
        }
        for (int64_t k = 0; k < len; k++) {
            row[pos] = (nl || j < off) ? -1 : i;
            kk[pos] = k;
            pos++;
        }
    }
}

static int build_nested(int c, int64_t n, int64_t first, struct ArrowArray *a)
{
    int64_t off = OFF_TOP;
    if (c == C_STRUCT) {
        int64_t tot = n + off;
        if (pd_arrow_array_init(a, 1, 2) != 0) {
            return -1;
        }
        a->length = n;
        a->offset = off;
        uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
        int64_t nulls = 0;
        /* children are indexed with the parent's offset: child logical j */
        int64_t cn = tot;
        slotv *sv = xcalloc((size_t)cn, sizeof *sv);
        char **strs = xcalloc((size_t)cn, sizeof(char *));
        for (int64_t j = 0; j < tot; j++) {
            int64_t i = first + j - off;
            int nl = j < off ? 1 : is_null(c, i);
            set_valid(bm, j, !nl);
            nulls += j >= off && nl;
            uint64_t h = H(c, i);
            sv[j].null = nl ? (int)(j & 1) : h % 4 == 0;
            sv[j].v = (int64_t)(h % 1000);
            strs[j] = (char *)(nl ? "q" : words[(h >> 8) % 5]);
        }
        a->null_count = nulls;
        pd_arrow_array_set_buffer(a, 0, bm);
        int rc = build_i_child(sv, cn, 4, a->children[0]);
        if (rc == 0) {
            rc = build_s_child(strs, cn, a->children[1]);
        }
        free(sv);
        free(strs);
        return rc;
    }
    if (c == C_FLIST) {
        int64_t tot = n + off;
        if (pd_arrow_array_init(a, 1, 1) != 0) {
            return -1;
        }
        a->length = n;
        a->offset = off;
        uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
        slotv *sv = xcalloc((size_t)tot * 2, sizeof *sv);
        int64_t nulls = 0;
        for (int64_t j = 0; j < tot; j++) {
            int64_t i = first + j - off;
            int nl = j < off ? 1 : is_null(c, i);
            set_valid(bm, j, !nl);
            nulls += j >= off && nl;
            for (int64_t k = 0; k < 2; k++) {
                sv[j * 2 + k].null = nl ? 1 : elem_null(c, i, k);
                sv[j * 2 + k].v = nl ? 0 : (int16_t)elem_val(c, i, k);
            }
        }
        a->null_count = nulls;
        pd_arrow_array_set_buffer(a, 0, bm);
        int rc = build_i_child(sv, tot * 2, 2, a->children[0]);
        free(sv);
        return rc;
    }
    int large = c == C_LLIST;
    int64_t cn = build_list_node(c, n, first, off, large, a, 1);
    if (cn < 0) {
        return -1;
    }
    int64_t *row = xcalloc((size_t)cn, sizeof(int64_t));
    int64_t *kk = xcalloc((size_t)cn, sizeof(int64_t));
    list_slots(c, n, first, off, row, kk);
    int rc = 0;
    if (c == C_LIST) {
        slotv *sv = xcalloc((size_t)cn, sizeof *sv);
        for (int64_t q = 0; q < cn; q++) {
            sv[q].null = row[q] < 0 ? 1 : elem_null(c, row[q], kk[q]);
            sv[q].v = row[q] < 0 ? -5 : elem_val(c, row[q], kk[q]);
        }
        rc = build_i_child(sv, cn, 8, a->children[0]);
        free(sv);
    } else if (c == C_LLIST) {
        char **strs = xcalloc((size_t)cn, sizeof(char *));
        for (int64_t q = 0; q < cn; q++) {
            strs[q] = xcalloc(32, 1);
            snprintf(strs[q], 32, "e%" PRId64,
                     row[q] < 0 ? (int64_t)0 : elem_val(c, row[q], kk[q]));
        }
        rc = build_s_child(strs, cn, a->children[0]);
        for (int64_t q = 0; q < cn; q++) {
            free(strs[q]);
        }
        free(strs);
    } else if (c == C_MAP) {
        struct ArrowArray *ent = a->children[0];
        if (pd_arrow_array_init(ent, 1, 2) != 0) {
            rc = -1;
        } else {
            ent->length = cn;
            ent->offset = 0;
            ent->null_count = 0;
            char **strs = xcalloc((size_t)cn, sizeof(char *));
            slotv *sv = xcalloc((size_t)cn, sizeof *sv);
            for (int64_t q = 0; q < cn; q++) {
                strs[q] = xcalloc(32, 1);
                snprintf(strs[q], 32, "k%d", (int)kk[q]);
                sv[q].null = row[q] < 0 ? 1 : elem_null(c, row[q], kk[q]);
                sv[q].v = row[q] < 0 ? 0 : elem_val(c, row[q], kk[q]);
            }
            rc = build_s_child(strs, cn, ent->children[0]);
            if (rc == 0) {
                rc = build_i_child(sv, cn, 4, ent->children[1]);
            }
            for (int64_t q = 0; q < cn; q++) {
                free(strs[q]);
            }
            free(strs);
            free(sv);
        }
    } else { /* C_DEEP: list<struct<x int16, y list<int8>>> */
        struct ArrowArray *st = a->children[0];
        int64_t toff = OFF_CHILD, tot = cn + toff;
        if (pd_arrow_array_init(st, 1, 2) != 0) {
            rc = -1;
        } else {
            st->length = cn;
            st->offset = toff;
            uint8_t *bm = xcalloc((size_t)(tot + 7) / 8, 1);
            slotv *sx = xcalloc((size_t)tot, sizeof *sx);
            int64_t nulls = 0;
            /* inner list over tot struct slots (children indexed by struct phys) */
            struct ArrowArray *yl = st->children[1];
            if (pd_arrow_array_init(yl, 2, 1) != 0) {
                abort();
            }
            yl->length = tot;
            yl->offset = 0;
            uint8_t *ybm = xcalloc((size_t)(tot + 7) / 8, 1);
            int32_t *yof = xcalloc((size_t)tot + 1, 4);
            slotv *yv = xcalloc((size_t)tot * 4 + 1, sizeof *yv);
            int64_t ypos = 0;
            for (int64_t j = 0; j < tot; j++) {
                int64_t q = j - toff;
                int garbage = q < 0 || row[q] < 0;
                int nl = garbage ? 1 : elem_null(c, row[q], kk[q]);
                int64_t v = garbage ? 9 : elem_val(c, row[q], kk[q]);
                set_valid(bm, j, !nl);
                nulls += !garbage && nl;
                sx[j].null = 0;
                sx[j].v = v;
                int64_t m = (v & 3) == 3 ? 0 : (v & 3);
                if (nl) {
                    m = 1;
                }
                set_valid(ybm, j, 1);
                for (int64_t r = 0; r < m; r++) {
                    yv[ypos].null = 0;
                    yv[ypos].v = (int8_t)(v + r);
                    ypos++;
                }
                yof[j + 1] = (int32_t)ypos;
            }
            st->null_count = nulls;
            yl->null_count = 0;
            pd_arrow_array_set_buffer(st, 0, bm);
            pd_arrow_array_set_buffer(yl, 0, ybm);
            pd_arrow_array_set_buffer(yl, 1, yof);
            /* x child: struct children indexed by struct physical index */
            struct ArrowArray *xa = st->children[0];
            if (pd_arrow_array_init(xa, 2, 0) != 0) {
                abort();
            }
            xa->length = tot;
            xa->offset = 0;
            xa->null_count = 0;
            int16_t *xd = xcalloc((size_t)tot, 2);
            for (int64_t j = 0; j < tot; j++) {
                xd[j] = (int16_t)sx[j].v;
            }
            pd_arrow_array_set_buffer(xa, 1, xd);
            rc = build_i_child(yv, ypos, 1, yl->children[0]);
            free(sx);
            free(yv);
        }
    }
    free(row);
    free(kk);
    return rc;
}

static int
mk_schema(struct ArrowSchema *s, const char *fmt, const char *name, int nullable, int64_t nch)
{
    return pd_arrow_schema_init(s, fmt, name, nullable ? ARROW_FLAG_NULLABLE : 0, nch);
}

static int col_schema(int c, struct ArrowSchema *s)
{
    static const char *fmts[C_NCOLS] = {
        "b",   "c",    "s",       "i",    "l",    "C",     "S",      "I",      "L",   "f",
        "g",   "e",    "u",       "U",    "z",    "Z",     "w:3",    "w:16",   "tdD", "ttm",
        "ttu", "tss:", "tsm:UTC", "tsu:", "tsn:", "d:7,2", "d:15,3", "d:30,4", "c",   "+s",
        "+l",  "+L",   "+m",      "+l",   "l",    "n",     "tts",    "tdm",    "+w:2"};
    const char *name = cols[c].name;
    int nullable = !(c == C_I32 || c == C_STR || c == C_SORTED);
    if (mk_schema(s, fmts[c], name, nullable,
                  c == C_STRUCT                                    ? 2
                  : ((c >= C_LIST && c <= C_DEEP) || c == C_FLIST) ? 1
                                                                   : 0) != 0) {
        return -1;
    }
    if (c == C_UUID) {
        const char *k[] = {"ARROW:extension:name"};
        const char *v[] = {"arrow.uuid"};
        if (pd_arrow_schema_set_metadata(s, k, v, 1) != 0) {
            return -1;
        }
    }
    if (c == C_DICT) {
        /* released by the parent, the struct itself freed by pqw_release_table */
        struct ArrowSchema *d = xcalloc(1, sizeof *d);
        if (mk_schema(d, "u", "", 0, 0) != 0) {
            return -1;
        }
        s->dictionary = d;
    }
    switch (c) {
    case C_STRUCT:
        mk_schema(s->children[0], "i", "a", 1, 0);
        mk_schema(s->children[1], "u", "b", 0, 0);
        break;
    case C_LIST: mk_schema(s->children[0], "l", "item", 1, 0); break;
    case C_FLIST: mk_schema(s->children[0], "s", "item", 1, 0); break;
    case C_LLIST: mk_schema(s->children[0], "u", "item", 0, 0); break;
    case C_MAP:
        mk_schema(s->children[0], "+s", "entries", 0, 2);
        mk_schema(s->children[0]->children[0], "u", "key", 0, 0);
        mk_schema(s->children[0]->children[1], "i", "value", 1, 0);
        break;
    case C_DEEP:
        mk_schema(s->children[0], "+s", "item", 1, 2);
        mk_schema(s->children[0]->children[0], "s", "x", 0, 0);
        mk_schema(s->children[0]->children[1], "+l", "y", 0, 1);
        mk_schema(s->children[0]->children[1]->children[0], "c", "item", 0, 0);
        break;
    default: break;
    }
    return 0;
}

int pqw_make_table(int64_t n,
                   int64_t first_row,
                   struct ArrowSchema *schema,
                   struct ArrowArray *batch)
{
    if (mk_schema(schema, "+s", "", 0, C_NCOLS) != 0) {
        return -1;
    }
    for (int c = 0; c < C_NCOLS; c++) {
        if (col_schema(c, schema->children[c]) != 0) {
            return -1;
        }
    }
    if (pd_arrow_array_init(batch, 1, C_NCOLS) != 0) {
        return -1;
    }
    /* the batch itself has offset 1: children are built with one extra
     * leading row of garbage beyond their own offsets */
    batch->length = n;
    batch->offset = 1;
    batch->null_count = 0;
    for (int c = 0; c < C_NCOLS; c++) {
        int rc;
        struct ArrowArray *a = batch->children[c];
        if (c == C_DICT) {
            rc = build_dict(n + 1, first_row - 1, OFF_TOP, a);
        } else if ((c >= C_STRUCT && c <= C_DEEP) || c == C_FLIST) {
            rc = build_nested(c, n + 1, first_row - 1, a);
        } else {
            rc = build_flat(c, n + 1, first_row - 1, OFF_TOP, a);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

void pqw_release_table(struct ArrowSchema *schema, struct ArrowArray *batch)
{
    struct ArrowSchema *sd = NULL;
    struct ArrowArray *ad = NULL;
    if (schema && schema->release && schema->n_children > C_DICT) {
        sd = schema->children[C_DICT]->dictionary;
    }
    if (batch && batch->release && batch->n_children > C_DICT) {
        ad = batch->children[C_DICT]->dictionary;
    }
    pd_arrow_schema_release(schema);
    pd_arrow_array_release(batch);
    free(sd);
    free(ad);
}

static int same_value(const struct ArrowSchema *gs,
                      const struct ArrowArray *ga,
                      int64_t gi,
                      const struct ArrowSchema *es,
                      const struct ArrowArray *ea,
                      int64_t ei,
                      char **got,
                      char **exp)
{
    *got = pd_arrow_value_to_json(gs, ga, gi, NULL);
    *exp = pd_arrow_value_to_json(es, ea, ei, NULL);
    if (!*got || !*exp) {
        return 0;
    }
    if (strcmp(*got, *exp) == 0) {
        return 1;
    }
    if (strcmp(gs->format, "l") != 0 || strncmp(es->format, "ts", 2) != 0) {
        return 0;
    }
    /* timestamps handed out as int64: compare the stored integers (seconds
     * are stored as ms) */
    int ng = strcmp(*got, "null") == 0, ne = strcmp(*exp, "null") == 0;
    int64_t gv = ng ? 0 : pd_arrow_get_int(gs, ga, gi);
    int64_t ev = ne ? 0 : pd_arrow_get_int(es, ea, ei);
    if (es->format[2] == 's') {
        ev *= 1000;
    }
    return ng == ne && gv == ev;
}

int pqw_compare_stream(struct ArrowArrayStream *st,
                       const struct ArrowSchema *s,
                       const struct ArrowArray *a,
                       int64_t total,
                       const char *what)
{
    struct ArrowSchema rs;
    memset(&rs, 0, sizeof rs);
    int bad = 0;
    int64_t row = 0;
    if (st->get_schema(st, &rs) != 0 || rs.n_children != s->n_children) {
        fprintf(stderr, "%s: read schema differs\n", what);
        bad++;
    }
    while (!bad) {
        struct ArrowArray b;
        memset(&b, 0, sizeof b);
        if (st->get_next(st, &b) != 0) {
            fprintf(stderr, "%s: read: %s\n", what, st->get_last_error(st));
            bad++;
            break;
        }
        if (!b.release) {
            break;
        }
        for (int64_t j = 0; j < b.length && bad < 5; j++, row++) {
            for (int64_t c = 0; c < s->n_children && bad < 5; c++) {
                char *got, *exp;
                if (!same_value(rs.children[c], b.children[c], b.offset + j, s->children[c],
                                a->children[c], a->offset + row, &got, &exp)) {
                    fprintf(stderr, "%s: row %" PRId64 " column %s:\n  got %s\n  exp %s\n", what,
                            row, s->children[c]->name, got ? got : pd_last_error(),
                            exp ? exp : "(null)");
                    bad++;
                }
                free(got);
                free(exp);
            }
        }
        b.release(&b);
    }
    if (!bad && row != total) {
        fprintf(stderr, "%s: read %" PRId64 " rows, wrote %" PRId64 "\n", what, row, total);
        bad++;
    }
    if (rs.release) {
        pd_arrow_schema_release(&rs);
    }
    st->release(st);
    return bad;
}
