/*
 * store/parquet/pq_unique.c - the hash probe of a `unique` check on a
 * table of the Parquet store, read straight from its files with our codec
 * (docs/checks.md): only the checked column is decoded, every non-NULL
 * value is hashed here, and the hashes are checked for repeats
 * (util/distinct.c). Distinct hashes prove distinct values; a repeat sends
 * the store to the exact GROUP BY in the catalog, which decides.
 *
 * Integers (and dates and timestamps) go first into a bitmap over their
 * range, which decides exactly without hashing, as long as the range is
 * dense enough (no more memory than the hashes would take); only a column
 * more spread out than that is hashed (a second read).
 *
 * Offered only for column types whose equality is that of the stored
 * bytes: strings and binaries (Parquet strings carry no collation),
 * integers, dates and timestamps. Anything else (floating point: -0.0 =
 * 0.0; booleans, decimals, nested types) answers PD_ERR_UNSUPPORTED and the
 * caller takes another way.
 *
 * Memory: at most PDI_UNIQUE_MAX_HASHES hashes at once; more rows are
 * probed in passes over the files (pdi_unique_passes), each keeping the
 * hashes h with h % passes == pass.
 */
#include "pipedag/parquet.h"
#include "store/parquet/pq_int.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How a column's values are probed: 0 = not offered, 1/2 = strings with
 * 32/64-bit offsets, else the byte width of a fixed-width integer value,
 * negated, and 16 more if it is signed. */
enum { K_NONE = 0, K_STR32 = 1, K_STR64 = 2, K_SIGNED = 16 };
static int value_kind(const char *fmt)
{
    if (!fmt)
        return K_NONE;
    if (!strcmp(fmt, "u") || !strcmp(fmt, "z"))
        return K_STR32;
    if (!strcmp(fmt, "U") || !strcmp(fmt, "Z"))
        return K_STR64;
    if (!strcmp(fmt, "C"))
        return -1;
    if (!strcmp(fmt, "S"))
        return -2;
    if (!strcmp(fmt, "I"))
        return -4;
    if (!strcmp(fmt, "L"))
        return -8;
    if (!strcmp(fmt, "c"))
        return -1 - K_SIGNED;
    if (!strcmp(fmt, "s"))
        return -2 - K_SIGNED;
    if (!strcmp(fmt, "i") || !strcmp(fmt, "tdD"))
        return -4 - K_SIGNED;
    if (!strcmp(fmt, "l") || !strcmp(fmt, "tdm") || !strncmp(fmt, "ts", 2))
        return -8 - K_SIGNED;
    return K_NONE;
}

static int int_width(int kind)
{
    return -kind & (K_SIGNED - 1);
}

/* Row i of an integer column as a 64-bit key: its bytes (little-endian)
 * zero-extended, the sign bit of a signed type flipped, so that the keys
 * keep the values' order and a dense range of values is a dense range of
 * keys. */
static uint64_t int_key(const struct ArrowArray *a, int kind, int64_t i)
{
    int w = int_width(kind);
    const uint8_t *p = (const uint8_t *)a->buffers[1] + (size_t)(i + a->offset) * (size_t)w;
    uint64_t v;
    switch (w) { /* fixed sizes: no call to memcpy */
    case 1: v = *p; break;
    case 2: v = (uint64_t)p[0] | (uint64_t)p[1] << 8; break;
    case 4: {
        uint32_t x;
        memcpy(&x, p, 4);
        v = x;
        break;
    }
    default: memcpy(&v, p, 8); break;
    }
    return -kind & K_SIGNED ? v ^ (uint64_t)1 << (w * 8 - 1) : v;
}

/* The validity bitmap of a, or NULL when every row is valid. */
static const uint8_t *validity(const struct ArrowArray *a)
{
    return a->null_count ? a->buffers[0] : NULL;
}

static bool valid_at(const uint8_t *v, const struct ArrowArray *a, int64_t i)
{
    int64_t j = i + a->offset;
    return !v || (v[j >> 3] >> (j & 7)) & 1;
}

/* Both NULL-safe. */
static void close_file(pd_fs_file *file, pd_parquet_reader *reader)
{
    pd_parquet_close(reader);
    pdi_fs_file_close(file);
}

/* Open one file for reading (the error names it). */
static int open_file(pd_fs *fs, const char *url, pd_fs_file **file, pd_parquet_reader **reader)
{
    *file = NULL;
    *reader = NULL;
    int rc = pdi_fs_file_open(fs, url, file);
    if (rc == PD_OK)
        rc = pd_parquet_open_callback(pdi_fs_read_at_cb, *file, pdi_fs_file_size(*file), reader);
    if (rc) {
        pd_error_prefix("reading %s", url);
        close_file(*file, *reader);
        *reader = NULL;
        *file = NULL;
    }
    return rc;
}

/* The top-level `column` of a file: its index (-1: none) and kind. */
static int column_at(pd_parquet_reader *r, const char *column, int *index, int *kind)
{
    *index = -1;
    *kind = K_NONE;
    struct ArrowSchema s = {0};
    int rc = pd_parquet_get_schema(r, &s);
    for (int64_t i = 0; rc == PD_OK && i < s.n_children; i++)
        if (s.children[i]->name && !strcmp(s.children[i]->name, column)) {
            *index = (int)i;
            *kind = value_kind(s.children[i]->format);
        }
    if (s.release)
        s.release(&s);
    return rc;
}

/* The batches of one file's column (index) to fn, read on up to 8
 * threads; a positive return of fn stops early (and is returned). */
typedef int (*batch_fn)(const struct ArrowArray *a, void *ctx);
static int each_batch(pd_parquet_reader *r, int index, batch_fn fn, void *ctx)
{
    pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.columns = &index;
    o.n_columns = 1;
    o.threads = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
    struct ArrowArrayStream st = {0};
    int rc = pd_parquet_read_stream(r, &o, &st);
    while (rc == PD_OK) {
        struct ArrowArray b = {0};
        if (st.get_next(&st, &b) != 0) {
            const char *m = st.get_last_error(&st);
            rc = pd_set_error(PD_ERR_IO, "%s", m ? m : "stream error");
            break;
        }
        if (!b.release)
            break;
        if (b.n_children != 1)
            rc = pd_set_error(PD_ERR_INVALID, "unexpected batch shape");
        else
            rc = fn(b.children[0], ctx);
        b.release(&b);
    }
    if (st.release)
        st.release(&st);
    return rc;
}

/* ---- integers over a dense range: a bitmap, exact ---- */

/* One bit per key over the words [lo, lo + n) of the key space; at most
 * `limit` words (as much memory as the hashes of the rows would take). */
typedef struct dense_bits {
    uint64_t *w;
    uint64_t lo, n, limit;
    int kind;
    bool repeat;
} dense_bits;

enum { DENSE_STOP = 1 }; /* a repeat, or keys too spread out for the bitmap */

/* Cover word wi too, at least doubling the span towards it; false when
 * the span would pass the limit (or for memory). */
static bool dense_cover(dense_bits *d, uint64_t wi)
{
    uint64_t lo = d->n && d->lo < wi ? d->lo : wi;
    uint64_t hi = d->n && d->lo + d->n > wi ? d->lo + d->n : wi + 1;
    if (hi - lo > d->limit)
        return false;
    uint64_t n = 2 * d->n > hi - lo ? 2 * d->n : hi - lo;
    n = n < 1024 ? 1024 : n > d->limit ? d->limit : n;
    if (wi < d->lo) /* growing downwards: keep the top, room below */
        lo = hi >= n ? hi - n : 0;
    uint64_t *w = calloc((size_t)n, sizeof *w);
    if (!w)
        return false;
    if (d->n)
        memcpy(w + (d->lo - lo), d->w, (size_t)d->n * sizeof *w);
    free(d->w);
    d->w = w;
    d->lo = lo;
    d->n = n;
    return true;
}

static int dense_batch(const struct ArrowArray *a, void *ctx)
{
    dense_bits *d = ctx;
    const uint8_t *v = validity(a);
    for (int64_t i = 0; i < a->length; i++) {
        if (!valid_at(v, a, i))
            continue;
        uint64_t k = int_key(a, d->kind, i), wi = k >> 6, bit = (uint64_t)1 << (k & 63);
        if (wi - d->lo >= d->n && !dense_cover(d, wi))
            return DENSE_STOP;
        uint64_t *x = &d->w[wi - d->lo];
        if (*x & bit) {
            d->repeat = true;
            return DENSE_STOP;
        }
        *x |= bit;
    }
    return PD_OK;
}

/* Integer keys spanning at most `limit` words: *decided = true and
 * *repeat exact (a repeat here is a duplicate, not a collision). Keys more
 * spread out, or no memory for the bitmap: *decided = false. */
static int dense_probe(pd_parquet_reader **rd,
                       const int *index,
                       size_t n,
                       int kind,
                       uint64_t limit,
                       bool *decided,
                       bool *repeat)
{
    dense_bits d = {.limit = limit, .kind = kind};
    int rc = PD_OK;
    for (size_t i = 0; i < n && rc == PD_OK; i++)
        rc = each_batch(rd[i], index[i], dense_batch, &d);
    free(d.w);
    *decided = rc == PD_OK || (rc == DENSE_STOP && d.repeat);
    *repeat = d.repeat;
    return rc == DENSE_STOP ? PD_OK : rc;
}

/* ---- hashes ---- */

typedef struct hash_pass {
    int kind, shift; /* shift: the test hook's reduction (util.h) */
    uint64_t pass, passes;
    pd_u64_parts *p;
    size_t max;
} hash_pass;

static int hash_add(hash_pass *h, uint64_t x)
{
    x >>= h->shift;
    if (h->passes > 1 && x % h->passes != h->pass)
        return PD_OK;
    if (h->p->total >= h->max)
        return PD_ERR_UNSUPPORTED; /* more than the rows counted: no decision */
    return pdi_u64_parts_add(h->p, x);
}

static int hash_batch(const struct ArrowArray *a, void *ctx)
{
    hash_pass *h = ctx;
    const uint8_t *v = validity(a), *data = a->buffers[2];
    int rc = PD_OK;
    if (h->kind == K_STR32) {
        const int32_t *o = (const int32_t *)a->buffers[1] + a->offset;
        for (int64_t i = 0; i < a->length && rc == PD_OK; i++)
            if (valid_at(v, a, i))
                rc = hash_add(h, pdi_hash64(data ? data + o[i] : (const uint8_t *)"",
                                            (size_t)(o[i + 1] - o[i]), 0));
    } else if (h->kind == K_STR64) {
        const int64_t *o = (const int64_t *)a->buffers[1] + a->offset;
        for (int64_t i = 0; i < a->length && rc == PD_OK; i++)
            if (valid_at(v, a, i))
                rc = hash_add(h, pdi_hash64(data ? data + o[i] : (const uint8_t *)"",
                                            (size_t)(o[i + 1] - o[i]), 0));
    } else {
        for (int64_t i = 0; i < a->length && rc == PD_OK; i++)
            if (valid_at(v, a, i))
                rc = hash_add(h, pdi_hash64_u64(int_key(a, h->kind, i), 0));
    }
    return rc;
}

int pdi_pq_unique_probe(pd_fs *fs, const pd_strv *files, const char *column, bool *distinct)
{
    *distinct = false;
    size_t n = files->n;
    pd_fs_file **fh = pdi_calloc(n ? n : 1, sizeof *fh);
    pd_parquet_reader **rd = pdi_calloc(n ? n : 1, sizeof *rd);
    int *index = pdi_calloc(n ? n : 1, sizeof *index), *kind = pdi_calloc(n ? n : 1, sizeof *kind);
    int rc = fh && rd && index && kind ? PD_OK : PD_ERR_NOMEM;
    int64_t rows = 0;
    if (rc == PD_OK && n == 0)
        rc = PD_ERR_UNSUPPORTED;
    for (size_t i = 0; i < n && rc == PD_OK; i++) {
        rc = open_file(fs, files->items[i], &fh[i], &rd[i]);
        if (rc == PD_OK)
            rc = column_at(rd[i], column, &index[i], &kind[i]);
        if (rc == PD_OK)
            rows += pd_parquet_num_rows(rd[i]);
        if (rc == PD_OK && (index[i] < 0 || !kind[i] || kind[i] != kind[0]))
            rc = PD_ERR_UNSUPPORTED; /* not found, not offered, or types differ */
    }
    bool decided = false, repeat = false;
    /* integers: first a bitmap over their range, using no more memory than
     * the hashes would (ids are mostly dense); hashes when too spread out */
    if (rc == PD_OK && kind[0] < 0) {
        int64_t words = rows < PDI_UNIQUE_MAX_HASHES ? rows : PDI_UNIQUE_MAX_HASHES;
        rc = dense_probe(rd, index, n, kind[0], (uint64_t)(words < 4096 ? 4096 : words), &decided,
                         &repeat);
    }
    int64_t passes = pdi_unique_passes(rows);
    for (int64_t pass = 0; rc == PD_OK && !decided && !repeat && pass < passes; pass++) {
        pd_u64_parts p;
        pdi_u64_parts_init(&p);
        hash_pass h = {.kind = kind[0],
                       .shift = 64 - pdi_unique_hash_bits(),
                       .pass = (uint64_t)pass,
                       .passes = (uint64_t)passes,
                       .p = &p,
                       .max = (size_t)PDI_UNIQUE_MAX_HASHES};
        rc = pdi_u64_parts_reserve(&p, (size_t)(rows / passes));
        for (size_t i = 0; i < n && rc == PD_OK; i++) {
            rc = each_batch(rd[i], index[i], hash_batch, &h);
            if (rc && rc != PD_ERR_UNSUPPORTED)
                pd_error_prefix("reading %s", files->items[i]);
        }
        if (rc == PD_OK)
            repeat = pdi_u64_parts_repeats(&p);
        pdi_u64_parts_free(&p);
    }
    for (size_t i = 0; rd && fh && i < n; i++)
        close_file(fh[i], rd[i]);
    free(fh);
    free(rd);
    free(index);
    free(kind);
    if (rc == PD_OK)
        *distinct = !repeat;
    return rc;
}

/* ---- scan checks from the footers' statistics ---- */

/* A check value that is a plain JSON integer (what the check's SQL
 * compares as an integer with an integer column). */
static bool json_int(const char *v, int64_t *out)
{
    const char *p = v && *v == '-' ? v + 1 : v;
    size_t digits = p ? strspn(p, "0123456789") : 0;
    if (!digits || digits > 18 || p[digits])
        return false;
    *out = strtoll(v, NULL, 10);
    return true;
}

typedef struct col_range {
    int64_t min, max, nulls; /* min > max: no non-NULL value */
} col_range;

/* Does the range decide that no row offends check c? */
static bool range_passes(const pd_table_check *c, const col_range *r)
{
    bool empty = r->min > r->max;
    int64_t b;
    switch (c->kind) {
    case PD_CHECK_NOT_NULL: return r->nulls == 0;
    case PD_CHECK_MIN:
        return c->n_values == 1 && json_int(c->values[0], &b) && (empty || r->min >= b);
    case PD_CHECK_MAX:
        return c->n_values == 1 && json_int(c->values[0], &b) && (empty || r->max <= b);
    case PD_CHECK_ACCEPTED_VALUES:
        if (empty)
            return c->n_values > 0;
        /* every integer of [min, max] is an accepted value */
        if ((uint64_t)r->max - (uint64_t)r->min >= c->n_values)
            return false;
        for (int64_t v = r->min;; v++) {
            bool in = false;
            for (size_t i = 0; i < c->n_values && !in; i++)
                in = json_int(c->values[i], &b) && b == v;
            if (!in)
                return false;
            if (v == r->max)
                return true;
        }
    default: return false;
    }
}

int pdi_pq_scan_proof(
    pd_fs *fs, const pd_strv *files, const pd_table_check *checks, size_t n, bool *proven)
{
    *proven = false;
    col_range *r = pdi_calloc(n ? n : 1, sizeof *r);
    if (!r)
        return PD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        r[i] = (col_range){INT64_MAX, INT64_MIN, 0};
    bool ok = files->n > 0;
    int rc = PD_OK;
    for (size_t f = 0; f < files->n && ok && rc == PD_OK; f++) {
        pd_fs_file *fh;
        pd_parquet_reader *rd;
        rc = open_file(fs, files->items[f], &fh, &rd);
        for (size_t i = 0; i < n && ok && rc == PD_OK; i++) {
            int index, kind;
            rc = column_at(rd, checks[i].column, &index, &kind);
            bool nulls_only = checks[i].kind == PD_CHECK_NOT_NULL;
            col_range c;
            ok = rc == PD_OK && index >= 0 &&
                 pd_parquet_int_range(rd, index, nulls_only ? NULL : &c.min,
                                      nulls_only ? NULL : &c.max, &c.nulls) == PD_OK;
            if (ok) {
                r[i].nulls += c.nulls;
                if (!nulls_only && c.min < r[i].min)
                    r[i].min = c.min;
                if (!nulls_only && c.max > r[i].max)
                    r[i].max = c.max;
            }
        }
        close_file(fh, rd);
    }
    for (size_t i = 0; i < n && ok && rc == PD_OK; i++)
        ok = range_passes(&checks[i], &r[i]);
    free(r);
    *proven = rc == PD_OK && ok;
    return rc;
}
