/*
 * parquet/reader.c - the public Parquet reader API: opening files (mmap,
 * memory, read_at callback), the footer, Arrow schema export, row-group
 * reading with record assembly from repetition/definition levels into Arrow
 * arrays (structs, lists, maps), batch slicing and the ArrowArrayStream.
 */
#include "parquet/reader_int.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ open/close */
static int64_t fd_read_at(void *user, uint64_t off, void *buf, size_t len)
{
    int fd = (int)(intptr_t)user;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return pd_set_error(PD_ERR_IO, "read failed: %s", strerror(errno));
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

static int read_exact(pd_parquet_reader *r, uint64_t off, void *buf, size_t len)
{
    if (off > r->file_size || len > r->file_size - off)
        return pd_set_error(PD_ERR_CORRUPT, "read beyond end of file");
    if (r->mem) {
        memcpy(buf, r->mem + off, len);
        return PD_OK;
    }
    int64_t got = r->read_at(r->user, off, buf, len);
    if (got < 0)
        return (int)got;
    if ((uint64_t)got != len)
        return pd_set_error(PD_ERR_CORRUPT, "file truncated (short read at offset %llu)",
                            (unsigned long long)off);
    return PD_OK;
}

/* Bytes of released buffers worth keeping for reuse: enough for the row
 * groups that can be in flight at once (decoding threads + the consumer's). */
static size_t pool_limit(const pd_parquet_reader *r, int threads)
{
    int64_t big = 0;
    for (int i = 0; i < r->f.n_rowgroups; i++)
        if (r->f.rowgroups[i].total_byte_size > big)
            big = r->f.rowgroups[i].total_byte_size;
    uint64_t lim = (uint64_t)(big > 0 ? big : 0) * (uint64_t)(threads + 3);
    const uint64_t lo = (uint64_t)64 << 20, hi = (uint64_t)1 << 30;
    return (size_t)(lim < lo ? lo : lim > hi ? hi : lim);
}

#define PDI_PAGE         4096
#define PDI_POPULATE_MIN ((size_t)64 << 10)

int pdi_read_range(
    pd_parquet_reader *r, uint64_t off, size_t len, const uint8_t **out, uint8_t **owned)
{
    *owned = NULL;
    if (off > r->file_size || len > r->file_size - off)
        return pd_set_error(PD_ERR_CORRUPT, "read beyond end of file (offset %llu, %zu bytes)",
                            (unsigned long long)off, len);
    if (r->mem) {
        *out = r->mem + off;
#ifdef MADV_POPULATE_READ
        /* map the range's file pages in one call rather than fault by fault */
        if (r->map && len >= PDI_POPULATE_MIN) {
            uintptr_t a = (uintptr_t)*out & ~(uintptr_t)(PDI_PAGE - 1);
            (void)madvise((void *)a, (uintptr_t)*out + len - a, MADV_POPULATE_READ);
        }
#endif
        return PD_OK;
    }
    uint8_t *b = pdi_balloc(r->pool, len);
    if (!b)
        return pd_last_error_code();
    pthread_mutex_lock(&r->io_mu);
    int64_t got = r->read_at(r->user, off, b, len);
    pthread_mutex_unlock(&r->io_mu);
    if (got < 0 || (uint64_t)got != len) {
        pdi_bfree(b);
        return got < 0 ? (int)got
                       : pd_set_error(PD_ERR_IO, "short read at offset %llu (%lld of %zu bytes)",
                                      (unsigned long long)off, (long long)got, len);
    }
    *out = *owned = b;
    return PD_OK;
}

static int open_common(pd_parquet_reader *r)
{
    uint8_t tail[8], head[4];
    if (r->file_size < 12)
        return pd_set_error(PD_ERR_CORRUPT, "not a Parquet file: only %llu bytes",
                            (unsigned long long)r->file_size);
    int rc = read_exact(r, r->file_size - 8, tail, 8);
    if (!rc)
        rc = read_exact(r, 0, head, 4);
    if (rc)
        return rc;
    if (memcmp(tail + 4, "PARE", 4) == 0 || memcmp(head, "PARE", 4) == 0)
        return pd_set_error(PD_ERR_UNSUPPORTED,
                            "encrypted Parquet file (encrypted footer) is not supported");
    if (memcmp(tail + 4, "PAR1", 4) != 0 || memcmp(head, "PAR1", 4) != 0)
        return pd_set_error(PD_ERR_CORRUPT, "not a Parquet file (bad magic)");
    uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                    (uint32_t)tail[3] << 24;
    if (flen > r->file_size - 12)
        return pd_set_error(PD_ERR_CORRUPT, "footer length %u larger than the file", flen);
    r->meta_start = r->file_size - 8 - flen;
    uint8_t *buf = NULL;
    const uint8_t *meta;
    if (r->mem) {
        meta = r->mem + r->meta_start;
    } else {
        buf = malloc(flen ? flen : 1);
        if (!buf)
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        if ((rc = read_exact(r, r->meta_start, buf, flen))) {
            free(buf);
            return rc;
        }
        meta = buf;
    }
    rc = pdi_parse_footer(meta, flen, r->file_size, &r->f);
    free(buf);
    if (!rc)
        pdi_pool_set_limit(r->pool, pool_limit(r, 1));
    return rc;
}

static pd_parquet_reader *new_reader(void)
{
    pd_parquet_reader *r = calloc(1, sizeof *r);
    if (!r) {
        pd_set_error(PD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->fd = -1;
    if (!(r->pool = pdi_pool_new(0))) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->io_mu, NULL);
    return r;
}

int pd_parquet_open_memory(const void *data, size_t len, pd_parquet_reader **out)
{
    *out = NULL;
    if (!data && len)
        return pd_set_error(PD_ERR_INVALID, "NULL buffer");
    pd_parquet_reader *r = new_reader();
    if (!r)
        return PD_ERR_NOMEM;
    r->mem = data ? data : (const uint8_t *)"";
    r->file_size = len;
    int rc = open_common(r);
    if (rc) {
        pd_parquet_close(r);
        return rc;
    }
    *out = r;
    return PD_OK;
}

int pd_parquet_open_callback(pd_parquet_read_at_fn read_at,
                             void *user,
                             uint64_t file_size,
                             pd_parquet_reader **out)
{
    *out = NULL;
    if (!read_at)
        return pd_set_error(PD_ERR_INVALID, "NULL read_at callback");
    pd_parquet_reader *r = new_reader();
    if (!r)
        return PD_ERR_NOMEM;
    r->read_at = read_at;
    r->user = user;
    r->file_size = file_size;
    int rc = open_common(r);
    if (rc) {
        pd_parquet_close(r);
        return rc;
    }
    *out = r;
    return PD_OK;
}

int pd_parquet_open_path(const char *path, pd_parquet_reader **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pd_set_error(errno == ENOENT ? PD_ERR_NOT_FOUND : PD_ERR_IO, "%s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pd_set_error(PD_ERR_IO, "%s: not a regular file", path);
    }
    pd_parquet_reader *r = new_reader();
    if (!r) {
        close(fd);
        return PD_ERR_NOMEM;
    }
    r->fd = fd;
    r->file_size = (uint64_t)st.st_size;
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            r->map = m;
            r->map_len = (size_t)st.st_size;
            r->mem = m;
        }
    }
    if (!r->mem) {
        r->read_at = fd_read_at;
        r->user = (void *)(intptr_t)fd;
    }
    int rc = open_common(r);
    if (rc) {
        pd_error_prefix("%s", path);
        pd_parquet_close(r);
        return rc;
    }
    *out = r;
    return PD_OK;
}

void pd_parquet_close(pd_parquet_reader *r)
{
    if (!r)
        return;
    pdi_file_free(&r->f);
    pdi_scratch_free(&r->scratch);
    pdi_pool_close(r->pool);
    pthread_mutex_destroy(&r->io_mu);
    if (r->map)
        munmap(r->map, r->map_len);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

int64_t pd_parquet_num_rows(const pd_parquet_reader *r)
{
    return r ? r->f.num_rows : 0;
}

/* A statistic's value as a signed integer of the column's width. */
static bool stat_int(const uint8_t *v, size_t len, int ptype, int64_t *out)
{
    if (ptype == PDI_INT32 && len == 4) {
        int32_t x;
        memcpy(&x, v, 4);
        *out = x;
        return true;
    }
    if (ptype == PDI_INT64 && len == 8) {
        memcpy(out, v, 8);
        return true;
    }
    return false;
}

int pd_parquet_int_range(
    const pd_parquet_reader *r, int column, int64_t *min, int64_t *max, int64_t *nulls)
{
    int64_t lo_all = INT64_MAX, hi_all = INT64_MIN;
    *nulls = 0;
    if (!r || column < 0 || column >= r->f.root.n_children)
        return PD_ERR_UNSUPPORTED;
    const pdi_field *fd = &r->f.root.children[column];
    if (fd->kind != PDI_F_LEAF)
        return PD_ERR_UNSUPPORTED;
    const pdi_column *col = &r->f.leaves[fd->leaf];
    const pdi_node *nd = col->node;
    bool signed_int = nd->logical == PDI_LT_INTEGER ? nd->lt_signed
                      : nd->logical == PDI_LT_NONE
                          ? nd->converted < 0 || nd->converted == PDI_CT_INT_8 ||
                                nd->converted == PDI_CT_INT_16 || nd->converted == PDI_CT_INT_32 ||
                                nd->converted == PDI_CT_INT_64
                          : false;
    bool range = min || max;
    if (col->max_rep || (range && ((col->ptype != PDI_INT32 && col->ptype != PDI_INT64) ||
                                   !signed_int || !min || !max)))
        return PD_ERR_UNSUPPORTED;
    for (int g = 0; g < r->f.n_rowgroups; g++) {
        const pdi_rowgroup *rg = &r->f.rowgroups[g];
        if (fd->leaf >= rg->n_columns)
            return PD_ERR_UNSUPPORTED;
        const pdi_chunk *ch = &rg->columns[fd->leaf];
        const pdi_stats *st = &ch->stats;
        if (!ch->has_meta || !ch->has_stats || !st->has_null_count || st->null_count < 0 ||
            st->null_count > ch->num_values)
            return PD_ERR_UNSUPPORTED;
        *nulls += st->null_count;
        if (!range || st->null_count == ch->num_values)
            continue; /* all NULL: no range to state */
        int64_t lo, hi;
        if (!st->has_min || !st->has_max || !st->min_exact || !st->max_exact ||
            !stat_int(st->min, st->min_len, col->ptype, &lo) ||
            !stat_int(st->max, st->max_len, col->ptype, &hi) || lo > hi)
            return PD_ERR_UNSUPPORTED;
        lo_all = lo < lo_all ? lo : lo_all;
        hi_all = hi > hi_all ? hi : hi_all;
    }
    if (range) {
        *min = lo_all;
        *max = hi_all;
    }
    return PD_OK;
}

int pd_parquet_num_row_groups(const pd_parquet_reader *r)
{
    return r ? r->f.n_rowgroups : 0;
}

int64_t pd_parquet_row_group_num_rows(const pd_parquet_reader *r, int row_group)
{
    if (!r || row_group < 0 || row_group >= r->f.n_rowgroups)
        return -1;
    return r->f.rowgroups[row_group].num_rows;
}

int pd_parquet_num_columns(const pd_parquet_reader *r)
{
    return r ? r->f.root.n_children : 0;
}

const char *pd_parquet_created_by(const pd_parquet_reader *r)
{
    return r && r->f.created_by ? r->f.created_by : "";
}

size_t pd_parquet_kv_count(const pd_parquet_reader *r)
{
    return r ? r->f.n_kv : 0;
}

const char *pd_parquet_kv_key(const pd_parquet_reader *r, size_t i)
{
    return r && i < r->f.n_kv ? r->f.kv_keys[i] : NULL;
}

const char *pd_parquet_kv_value(const pd_parquet_reader *r, size_t i)
{
    return r && i < r->f.n_kv ? r->f.kv_values[i] : NULL;
}

/* ------------------------------------------------------------------ Arrow schema */
typedef struct sch_priv {
    char *format;
    char *name;
    struct ArrowSchema **kids;
} sch_priv;

static void sch_release(struct ArrowSchema *s)
{
    sch_priv *p = s->private_data;
    for (int64_t i = 0; i < s->n_children; i++) {
        if (p->kids[i]->release)
            p->kids[i]->release(p->kids[i]);
        free(p->kids[i]);
    }
    free(p->kids);
    free(p->format);
    free(p->name);
    free(p);
    s->release = NULL;
}

static int
sch_new(struct ArrowSchema *s, const char *format, const char *name, bool nullable, int n)
{
    memset(s, 0, sizeof *s);
    sch_priv *p = calloc(1, sizeof *p);
    if (!p)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    p->format = pdi_strdup(format);
    p->name = pdi_strdup(name ? name : "");
    p->kids = calloc(n ? (size_t)n : 1, sizeof *p->kids);
    s->private_data = p;
    s->release = sch_release;
    if (!p->format || !p->name || !p->kids) {
        sch_release(s);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        p->kids[i] = calloc(1, sizeof(struct ArrowSchema));
        if (!p->kids[i]) {
            s->n_children = i;
            sch_release(s);
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        }
    }
    s->n_children = n;
    s->format = p->format;
    s->name = p->name;
    s->flags = nullable ? ARROW_FLAG_NULLABLE : 0;
    s->children = p->kids;
    return PD_OK;
}

/* INT96 leaves take their Arrow unit from the read options. */
static int
export_field(const pdi_file *file, int int96_unit, const pdi_field *f, struct ArrowSchema *s)
{
    const char *fmt = f->format;
    if (f->kind == PDI_F_LEAF && file->leaves[f->leaf].conv == PDI_CV_INT96)
        fmt = int96_unit == PD_PARQUET_INT96_NS ? "tsn:" : "tsu:";
    int rc = sch_new(s, fmt, f->name, f->nullable, f->n_children);
    for (int i = 0; !rc && i < f->n_children; i++)
        rc = export_field(file, int96_unit, &f->children[i], s->children[i]);
    if (rc && s->release)
        s->release(s);
    return rc;
}

/* The caller's options as the current version: an older caller's struct is
 * shorter (version 1 ends before threads, version 2 before int96_unit) and
 * only that prefix may be read; the rest keeps its defaults. */
static pd_parquet_read_options read_options(const pd_parquet_read_options *o)
{
    pd_parquet_read_options v = PD_PARQUET_READ_OPTIONS_INIT;
    if (o && o->version == 1)
        memcpy(&v, o, offsetof(pd_parquet_read_options, threads));
    else if (o && o->version == 2)
        memcpy(&v, o, offsetof(pd_parquet_read_options, int96_unit));
    else if (o)
        v = *o;
    v.version = PD_PARQUET_READ_OPTIONS_VERSION;
    return v;
}

static int check_cols(const pd_parquet_reader *r, const pd_parquet_read_options *o)
{
    if (o && (o->version < 1 || o->version > PD_PARQUET_READ_OPTIONS_VERSION))
        return pd_set_error(PD_ERR_INVALID, "read options version %d not supported", o->version);
    if (o && o->version >= 2 && o->threads < 0)
        return pd_set_error(PD_ERR_INVALID, "negative thread count %d", o->threads);
    if (o && o->version >= 3 && o->int96_unit != PD_PARQUET_INT96_US &&
        o->int96_unit != PD_PARQUET_INT96_NS)
        return pd_set_error(PD_ERR_INVALID,
                            "INT96 unit %d unknown (0 = microseconds, 1 = nanoseconds)",
                            o->int96_unit);
    if (o && o->columns) {
        if (o->n_columns < 0)
            return pd_set_error(PD_ERR_INVALID, "negative column count");
        for (int i = 0; i < o->n_columns; i++)
            if (o->columns[i] < 0 || o->columns[i] >= r->f.root.n_children)
                return pd_set_error(PD_ERR_INVALID, "column index %d out of range (0..%d)",
                                    o->columns[i], r->f.root.n_children - 1);
    }
    if (o && o->row_groups) {
        if (o->n_row_groups < 0)
            return pd_set_error(PD_ERR_INVALID, "negative row group count");
        for (int i = 0; i < o->n_row_groups; i++)
            if (o->row_groups[i] < 0 || o->row_groups[i] >= r->f.n_rowgroups)
                return pd_set_error(PD_ERR_INVALID, "row group %d out of range", o->row_groups[i]);
    }
    return PD_OK;
}

static int n_selected(const pd_parquet_reader *r, const pd_parquet_read_options *o)
{
    return o && o->columns ? o->n_columns : r->f.root.n_children;
}

static int sel_col(const pd_parquet_reader *r, const pd_parquet_read_options *o, int i)
{
    (void)r;
    return o && o->columns ? o->columns[i] : i;
}

static int
export_schema(const pd_parquet_reader *r, const pd_parquet_read_options *o, struct ArrowSchema *out)
{
    int n = n_selected(r, o);
    int unit = o ? o->int96_unit : PD_PARQUET_INT96_US; /* o: current version */
    int rc = sch_new(out, "+s", "", false, n);
    for (int i = 0; !rc && i < n; i++)
        rc = export_field(&r->f, unit, &r->f.root.children[sel_col(r, o, i)], out->children[i]);
    if (rc && out->release)
        out->release(out);
    return rc;
}

int pd_parquet_get_schema(const pd_parquet_reader *r, struct ArrowSchema *out)
{
    if (!r || !out)
        return pd_set_error(PD_ERR_INVALID, "NULL argument");
    return export_schema(r, NULL, out);
}

/* ------------------------------------------------------------------ Arrow arrays */
typedef struct arr_priv {
    void *owned[3];
    const void *bufs[3];
    struct ArrowArray **kids;
} arr_priv;

static void arr_release(struct ArrowArray *a)
{
    arr_priv *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        if (p->kids[i]->release)
            p->kids[i]->release(p->kids[i]);
        free(p->kids[i]);
    }
    free(p->kids);
    for (int i = 0; i < 3; i++)
        pdi_bfree(p->owned[i]);
    free(p);
    a->release = NULL;
}

static int arr_new(struct ArrowArray *a, int64_t len, int nb, int nc)
{
    memset(a, 0, sizeof *a);
    arr_priv *p = calloc(1, sizeof *p);
    if (!p)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    p->kids = calloc(nc ? (size_t)nc : 1, sizeof *p->kids);
    a->private_data = p;
    a->release = arr_release;
    if (!p->kids) {
        arr_release(a);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nc; i++) {
        p->kids[i] = calloc(1, sizeof(struct ArrowArray));
        if (!p->kids[i]) {
            a->n_children = i;
            arr_release(a);
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        }
    }
    a->length = len;
    a->n_buffers = nb;
    a->n_children = nc;
    a->buffers = p->bufs;
    a->children = p->kids;
    return PD_OK;
}

static void arr_set(struct ArrowArray *a, int i, void *owned)
{
    arr_priv *p = a->private_data;
    pdi_bfree(p->owned[i]);
    p->owned[i] = owned;
    p->bufs[i] = owned;
}

typedef struct rgctx {
    pd_parquet_reader *r;
    int rg;
    pdi_leafbuf *lb; /* indexed by leaf */
    int int96_unit;  /* pd_parquet_int96_unit */
} rgctx;

static inline int64_t slot_of(const int64_t *inst, int64_t k)
{
    return inst ? inst[k] : k;
}

/* Validity bitmap from def levels (valid iff def >= need). Returns NULL
 * bitmap when everything is valid. */
static int make_validity(pdi_pool *pool,
                         const pdi_leafbuf *lb,
                         const int64_t *inst,
                         int64_t n,
                         int need,
                         uint8_t **bm_out,
                         int64_t *nulls_out)
{
    *bm_out = NULL;
    *nulls_out = 0;
    if (!lb->def || need <= 0)
        return PD_OK;
    const uint8_t *def = lb->def;
    uint8_t *bm = pdi_balloc(pool, (size_t)(n + 7) / 8);
    if (!bm)
        return pd_last_error_code();
    int64_t valid = 0;
    if (!inst) {
        int64_t k = 0;
        for (; k + 8 <= n; k += 8) {
            unsigned byte = 0;
            for (int b = 0; b < 8; b++)
                byte |= (unsigned)(def[k + b] >= need) << b;
            bm[k >> 3] = (uint8_t)byte;
        }
        for (int64_t q = 0; q < k; q++)
            valid += def[q] >= need;
        if (k < n) {
            unsigned byte = 0;
            for (int b = 0; k + b < n; b++)
                byte |= (unsigned)(def[k + b] >= need) << b;
            bm[k >> 3] = (uint8_t)byte;
            for (int b = 0; k + b < n; b++)
                valid += def[k + b] >= need;
        }
    } else {
        memset(bm, 0, (size_t)(n + 7) / 8);
        for (int64_t k = 0; k < n; k++)
            if (def[inst[k]] >= need) {
                bm[k >> 3] |= (uint8_t)(1u << (k & 7));
                valid++;
            }
    }
    if (valid == n) {
        pdi_bfree(bm);
        return PD_OK;
    }
    *bm_out = bm;
    *nulls_out = n - valid;
    return PD_OK;
}

static inline bool bm_get(const uint8_t *bm, int64_t i)
{
    return !bm || ((bm[i >> 3] >> (i & 7)) & 1);
}

static void put_i128(uint8_t *dst, int64_t lo_signed)
{
    uint64_t lo = (uint64_t)lo_signed, hi = lo_signed < 0 ? UINT64_MAX : 0;
    memcpy(dst, &lo, 8);
    memcpy(dst + 8, &hi, 8);
}

static void be_to_i128(uint8_t *dst, const uint8_t *src, size_t n)
{
    uint8_t fill = (n && (src[0] & 0x80)) ? 0xff : 0;
    memset(dst, fill, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        dst[i] = src[n - 1 - i];
}

/* ------------------------------------------------------------------ INT96 */
#define JULIAN_DAY_1970 2440588 /* Julian day number of 1970-01-01 */
#define NS_PER_DAY      86400000000000LL

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* An INT96 value (int64 nanoseconds of the day, then int32 Julian day, both
 * little-endian; the nanoseconds may be negative or exceed a day, as Spark
 * accepts them) as a count of microseconds or nanoseconds since 1970-01-01
 * 00:00. Microseconds round towards the past. False if it does not fit
 * int64. */
static bool int96_to_unit(const uint8_t *s, int unit, int64_t *out)
{
    int64_t tod;
    int32_t jd;
    memcpy(&tod, s, 8);
    memcpy(&jd, s + 8, 4);
    int64_t days = (int64_t)jd - JULIAN_DAY_1970, per_day = NS_PER_DAY, part = tod;
    if (unit != PD_PARQUET_INT96_NS) {
        per_day /= 1000;
        part = floor_div(tod, 1000);
    }
    int64_t v;
    if (__builtin_mul_overflow(days, per_day, &v) || __builtin_add_overflow(v, part, &v))
        return false;
    *out = v;
    return true;
}

/* Proleptic Gregorian date of a day count since 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* The error for an INT96 value beyond the chosen unit: column, row of the
 * file (0-based), the value as a date, and the way out. Element k of the
 * leaf's array sits in level slot inst[k]; its row is the number of slots up
 * to there that start a record. */
static int int96_range_error(const rgctx *c,
                             const pdi_column *col,
                             const pdi_leafbuf *lb,
                             const int64_t *inst,
                             int64_t k,
                             const uint8_t *s)
{
    int64_t row = k;
    if (inst && lb->rep) {
        int64_t slot = inst[k];
        row = -1;
        for (int64_t t = 0; t <= slot && t < lb->n_slots; t++)
            row += lb->rep[t] == 0;
    }
    for (int g = 0; g < c->rg; g++)
        row += c->r->f.rowgroups[g].num_rows;
    int64_t tod;
    int32_t jd;
    memcpy(&tod, s, 8);
    memcpy(&jd, s + 8, 4);
    int64_t days = (int64_t)jd - JULIAN_DAY_1970 + floor_div(tod, NS_PER_DAY);
    int64_t ns = tod - floor_div(tod, NS_PER_DAY) * NS_PER_DAY, y;
    int mo, d;
    civil_from_days(days, &y, &mo, &d);
    bool ns_unit = c->int96_unit == PD_PARQUET_INT96_NS;
    return pd_set_error(
        PD_ERR_UNSUPPORTED,
        "column '%s', row %lld (row group %d): INT96 timestamp "
        "%04lld-%02d-%02dT%02d:%02d:%02d.%09lld "
        "(Julian day %d, %lld ns) does not fit timestamp[%s]%s",
        col->path, (long long)row, c->rg, (long long)y, mo, d, (int)(ns / 3600000000000LL),
        (int)(ns / 60000000000LL % 60), (int)(ns / 1000000000LL % 60),
        (long long)(ns % 1000000000LL), (int)jd, (long long)tod, ns_unit ? "ns" : "us",
        ns_unit ? " (1677-09-21 .. 2262-04-11); read INT96 as microseconds (the default, CLI "
                  "--int96-unit us)"
                : " (-290308-12-21 .. 294247-01-10)");
}

static int
finish_leaf(rgctx *c, const pdi_field *f, int64_t n, const int64_t *inst, struct ArrowArray *out)
{
    pdi_leafbuf *lb = &c->lb[f->leaf];
    const pdi_column *col = &c->r->f.leaves[f->leaf];
    uint8_t *bm;
    int64_t nulls;
    pdi_pool *pool = c->r->pool;
    int rc = make_validity(pool, lb, inst, n, col->max_def, &bm, &nulls);
    if (rc)
        return rc;
    if (n - nulls != lb->n_values) {
        pdi_bfree(bm);
        return pd_set_error(PD_ERR_CORRUPT,
                            "column '%s', row group %d: levels announce %lld values, pages hold "
                            "%lld",
                            col->path, c->rg, (long long)(n - nulls), (long long)lb->n_values);
    }
    if (col->conv == PDI_CV_NULL) {
        pdi_bfree(bm);
        if ((rc = arr_new(out, n, 0, 0)))
            return rc;
        out->null_count = n;
        return PD_OK;
    }
    int nb = col->conv == PDI_CV_BINARY ? 3 : 2;
    if ((rc = arr_new(out, n, nb, 0))) {
        pdi_bfree(bm);
        return rc;
    }
    arr_set(out, 0, bm);
    out->null_count = nulls;
    size_t pw = (size_t)col->pw, aw = (size_t)col->aw;
    switch (col->conv) {
    case PDI_CV_COPY: {
        uint8_t *v = lb->vals;
        lb->vals = NULL;
        if (nulls) { /* expand in place, back to front */
            int64_t j = lb->n_values - 1;
            if (pw == 8) {
                uint64_t *d = (uint64_t *)(void *)v;
                for (int64_t k = n - 1; k >= 0; k--)
                    d[k] = bm_get(bm, k) ? d[j--] : 0;
            } else if (pw == 4) {
                uint32_t *d = (uint32_t *)(void *)v;
                for (int64_t k = n - 1; k >= 0; k--)
                    d[k] = bm_get(bm, k) ? d[j--] : 0;
            } else {
                for (int64_t k = n - 1; k >= 0; k--) {
                    if (bm_get(bm, k))
                        memmove(v + (size_t)k * pw, v + (size_t)(j--) * pw, pw);
                    else
                        memset(v + (size_t)k * pw, 0, pw);
                }
            }
        }
        arr_set(out, 1, v);
        return PD_OK;
    }
    case PDI_CV_BINARY: {
        int32_t *o = lb->ba.offs;
        uint8_t *d = lb->ba.data;
        lb->ba.offs = NULL;
        lb->ba.data = NULL;
        if (!d)
            d = pdi_balloc(NULL, 1);
        if (nulls) {
            int64_t j = lb->n_values;
            for (int64_t k = n; k >= 1; k--) {
                o[k] = o[j];
                if (bm_get(bm, k - 1))
                    j--;
            }
            o[0] = 0;
        }
        arr_set(out, 1, o);
        arr_set(out, 2, d);
        return d ? PD_OK : pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    default: break;
    }
    /* conversions into a new buffer */
    size_t bytes = col->conv == PDI_CV_BOOL ? (size_t)(n + 7) / 8 : (size_t)n * aw;
    uint8_t *dst = pdi_balloc(pool, bytes);
    if (!dst)
        return pd_last_error_code();
    memset(dst, 0, bytes);
    arr_set(out, 1, dst);
    const uint8_t *src = lb->vals;
    int64_t j = 0;
    for (int64_t k = 0; k < n; k++) {
        if (!bm_get(bm, k))
            continue;
        const uint8_t *s = src ? src + (size_t)j * pw : NULL;
        uint8_t *d = dst + (size_t)k * aw;
        switch (col->conv) {
        case PDI_CV_BOOL:
            if (s[0])
                dst[k >> 3] |= (uint8_t)(1u << (k & 7));
            break;
        case PDI_CV_I8: d[0] = s[0]; break;
        case PDI_CV_I16: memcpy(d, s, 2); break;
        case PDI_CV_INT96: {
            int64_t v;
            if (!int96_to_unit(s, c->int96_unit, &v))
                return int96_range_error(c, col, lb, inst, k, s);
            memcpy(d, &v, 8);
            break;
        }
        case PDI_CV_DEC_I32: {
            int32_t x;
            memcpy(&x, s, 4);
            put_i128(d, x);
            break;
        }
        case PDI_CV_DEC_I64: {
            int64_t x;
            memcpy(&x, s, 8);
            put_i128(d, x);
            break;
        }
        case PDI_CV_DEC_BE: be_to_i128(d, s, pw); break;
        case PDI_CV_DEC_BA: {
            int32_t a = lb->ba.offs[j], l = lb->ba.offs[j + 1] - a;
            if (l > 16)
                return pd_set_error(PD_ERR_CORRUPT,
                                    "column '%s', row group %d: decimal of %d bytes", col->path,
                                    c->rg, (int)l);
            be_to_i128(d, lb->ba.data + a, (size_t)l);
            break;
        }
        default: break;
        }
        j++;
    }
    return PD_OK;
}

static int
assemble(rgctx *c, const pdi_field *f, int64_t n, int64_t *const *inst, struct ArrowArray *out);

static int assemble_struct(
    rgctx *c, const pdi_field *f, int64_t n, int64_t *const *inst, struct ArrowArray *out)
{
    int rc = arr_new(out, n, 1, f->n_children);
    if (rc)
        return rc;
    if (f->nullable && f->n_leaves > 0) {
        uint8_t *bm;
        int64_t nulls;
        if ((rc =
                 make_validity(c->r->pool, &c->lb[f->first_leaf], inst[0], n, f->def, &bm, &nulls)))
            return rc;
        arr_set(out, 0, bm);
        out->null_count = nulls;
    }
    for (int i = 0; i < f->n_children; i++) {
        const pdi_field *ch = &f->children[i];
        if ((rc = assemble(c, ch, n, inst + (ch->first_leaf - f->first_leaf), out->children[i])))
            return rc;
    }
    return PD_OK;
}

static int
assemble_list(rgctx *c, const pdi_field *f, int64_t n, int64_t *const *inst, struct ArrowArray *out)
{
    int rc = arr_new(out, n, 2, 1);
    if (rc)
        return rc;
    int nl = f->n_leaves;
    int64_t **elems = calloc(nl ? (size_t)nl : 1, sizeof(int64_t *));
    int32_t *offs = pdi_balloc(c->r->pool, (size_t)(n + 1) * sizeof(int32_t));
    if (!elems || !offs) {
        free(elems);
        pdi_bfree(offs);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    arr_set(out, 1, offs);
    int64_t count0 = 0;
    for (int j = 0; j < nl && !rc; j++) {
        const pdi_leafbuf *lb = &c->lb[f->first_leaf + j];
        const int64_t *in = inst[j];
        const uint8_t *def = lb->def, *rep = lb->rep;
        if (!def || !rep) {
            rc = pd_set_error(PD_ERR_CORRUPT, "list column without levels");
            break;
        }
        int64_t *e =
            pdi_balloc(c->r->pool, (size_t)(lb->n_slots ? lb->n_slots : 1) * sizeof(int64_t));
        if (!e) {
            rc = pd_last_error_code();
            break;
        }
        elems[j] = e;
        int64_t cnt = 0;
        uint8_t ed = (uint8_t)f->elem_def, er = (uint8_t)f->rep;
        for (int64_t k = 0; k < n; k++) {
            int64_t s = slot_of(in, k);
            int64_t end = k + 1 < n ? slot_of(in, k + 1) : lb->n_slots;
            if (j == 0)
                offs[k] = (int32_t)cnt;
            if (def[s] >= ed) {
                e[cnt++] = s;
                for (int64_t t = s + 1; t < end; t++)
                    if (rep[t] == er)
                        e[cnt++] = t;
            }
            if (cnt > INT32_MAX) {
                rc = pd_set_error(PD_ERR_CORRUPT, "list has more than 2^31 elements");
                break;
            }
        }
        if (rc)
            break;
        if (j == 0) {
            offs[n] = (int32_t)cnt;
            count0 = cnt;
        } else if (cnt != count0) {
            rc = pd_set_error(PD_ERR_CORRUPT,
                              "row group %d: leaf columns of list '%s' disagree (%lld vs %lld "
                              "elements)",
                              c->rg, f->name, (long long)count0, (long long)cnt);
        }
    }
    if (!rc && f->nullable && nl > 0) {
        uint8_t *bm;
        int64_t nulls;
        rc = make_validity(c->r->pool, &c->lb[f->first_leaf], inst[0], n, f->def, &bm, &nulls);
        if (!rc) {
            arr_set(out, 0, bm);
            out->null_count = nulls;
        }
    }
    if (!rc && nl == 0)
        memset(offs, 0, (size_t)(n + 1) * sizeof(int32_t));
    if (!rc)
        rc = assemble(c, &f->children[0], count0, elems, out->children[0]);
    for (int j = 0; j < nl; j++)
        pdi_bfree(elems[j]);
    free(elems);
    return rc;
}

static int
assemble(rgctx *c, const pdi_field *f, int64_t n, int64_t *const *inst, struct ArrowArray *out)
{
    switch (f->kind) {
    case PDI_F_LEAF: return finish_leaf(c, f, n, inst[0], out);
    case PDI_F_STRUCT: return assemble_struct(c, f, n, inst, out);
    default: return assemble_list(c, f, n, inst, out);
    }
}

/* Read the selected top-level fields of one row group into `out`. */
static int read_rg(pd_parquet_reader *r,
                   pdi_scratch *scr,
                   int rg,
                   const pd_parquet_read_options *o,
                   const atomic_bool *cancel,
                   struct ArrowArray *out)
{
    pdi_file *f = &r->f;
    int64_t rows = f->rowgroups[rg].num_rows;
    int nsel = n_selected(r, o);
    unsigned flags = o && o->verify_checksums ? PDI_VERIFY_CRC : 0;
    rgctx c = {r, rg, NULL, o ? o->int96_unit : PD_PARQUET_INT96_US};
    c.lb = calloc(f->n_leaves ? (size_t)f->n_leaves : 1, sizeof(pdi_leafbuf));
    int64_t **inst = calloc(f->n_leaves ? (size_t)f->n_leaves : 1, sizeof(int64_t *));
    int rc = (!c.lb || !inst) ? pd_set_error(PD_ERR_NOMEM, "out of memory") : PD_OK;
    if (!rc)
        rc = arr_new(out, rows, 1, nsel);
    for (int i = 0; i < nsel && !rc; i++) {
        const pdi_field *fd = &f->root.children[sel_col(r, o, i)];
        for (int l = fd->first_leaf; l < fd->first_leaf + fd->n_leaves && !rc; l++) {
            if (cancel && atomic_load_explicit(cancel, memory_order_relaxed)) {
                rc = pd_set_error(PD_ERR_INVALID, "stream released");
                break;
            }
            if ((rc = pdi_read_chunk(r, scr, rg, l, flags, &c.lb[l])))
                break;
            const pdi_leafbuf *lb = &c.lb[l];
            if (f->leaves[l].max_rep == 0)
                continue;
            int64_t *rs = pdi_balloc(r->pool, (size_t)(rows ? rows : 1) * sizeof(int64_t));
            if (!rs) {
                rc = pd_last_error_code();
                break;
            }
            inst[l] = rs;
            int64_t k = 0;
            for (int64_t s = 0; s < lb->n_slots; s++) {
                if (lb->rep[s] != 0)
                    continue;
                if (k >= rows) {
                    k++;
                    break;
                }
                rs[k++] = s;
            }
            if (k != rows)
                rc = pd_set_error(
                    PD_ERR_CORRUPT, "column '%s', row group %d: %s rows, expected %lld",
                    f->leaves[l].path, rg, k > rows ? "more" : "fewer", (long long)rows);
        }
        if (!rc)
            rc = assemble(&c, fd, rows, inst + fd->first_leaf, out->children[i]);
        for (int l = fd->first_leaf; l < fd->first_leaf + fd->n_leaves; l++) {
            pdi_leafbuf_free(&c.lb[l]);
            pdi_bfree(inst[l]);
            inst[l] = NULL;
        }
    }
    if (c.lb)
        for (int l = 0; l < f->n_leaves; l++)
            pdi_leafbuf_free(&c.lb[l]);
    free(c.lb);
    if (inst)
        for (int l = 0; l < f->n_leaves; l++)
            pdi_bfree(inst[l]);
    free(inst);
    if (rc && out->release)
        out->release(out);
    return rc;
}

int pd_parquet_read_row_group(pd_parquet_reader *r,
                              int row_group,
                              const pd_parquet_read_options *opts,
                              struct ArrowSchema *schema_out,
                              struct ArrowArray *out)
{
    if (!r || !out)
        return pd_set_error(PD_ERR_INVALID, "NULL argument");
    memset(out, 0, sizeof *out);
    if (schema_out)
        memset(schema_out, 0, sizeof *schema_out);
    if (row_group < 0 || row_group >= r->f.n_rowgroups)
        return pd_set_error(PD_ERR_INVALID, "row group %d out of range (file has %d)", row_group,
                            r->f.n_rowgroups);
    int rc = check_cols(r, opts);
    if (rc)
        return rc;
    pd_parquet_read_options o = read_options(opts);
    if ((rc = read_rg(r, &r->scratch, row_group, &o, NULL, out)))
        return rc;
    if (schema_out && (rc = export_schema(r, &o, schema_out))) {
        out->release(out);
        return rc;
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ slicing */
typedef struct holder {
    struct ArrowArray arr;
    atomic_int refs; /* slices may be released on any thread */
} holder;

typedef struct slice_priv {
    holder *h;
    const void *bufs[1];
    struct ArrowArray **kids;
} slice_priv;

static void holder_unref(holder *h)
{
    if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
        if (h->arr.release)
            h->arr.release(&h->arr);
        free(h);
    }
}

static void slice_child_release(struct ArrowArray *a)
{
    holder_unref(a->private_data);
    a->release = NULL;
}

static void slice_release(struct ArrowArray *a)
{
    slice_priv *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        if (p->kids[i]->release)
            p->kids[i]->release(p->kids[i]);
        free(p->kids[i]);
    }
    free(p->kids);
    holder_unref(p->h);
    free(p);
    a->release = NULL;
}

static int64_t count_nulls(const struct ArrowArray *a, int64_t off, int64_t len)
{
    if (a->n_buffers == 0)
        return len;
    if (a->null_count == 0 || !a->buffers[0])
        return 0;
    const uint8_t *bm = a->buffers[0];
    int64_t nulls = 0;
    for (int64_t i = off; i < off + len; i++)
        nulls += !((bm[i >> 3] >> (i & 7)) & 1);
    return nulls;
}

static int make_slice(holder *h, int64_t off, int64_t len, struct ArrowArray *out)
{
    memset(out, 0, sizeof *out);
    slice_priv *p = calloc(1, sizeof *p);
    int64_t nc = h->arr.n_children;
    if (!p || !(p->kids = calloc(nc ? (size_t)nc : 1, sizeof *p->kids))) {
        free(p);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    p->h = h;
    atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    out->length = len;
    out->n_buffers = 1;
    out->buffers = p->bufs;
    out->children = p->kids;
    out->private_data = p;
    out->release = slice_release;
    for (int64_t i = 0; i < nc; i++) {
        struct ArrowArray *k = malloc(sizeof *k);
        if (!k) {
            out->n_children = i;
            slice_release(out);
            return pd_set_error(PD_ERR_NOMEM, "out of memory");
        }
        const struct ArrowArray *src = h->arr.children[i];
        *k = *src;
        k->offset = src->offset + off;
        k->length = len;
        k->null_count = count_nulls(src, src->offset + off, len);
        k->private_data = h;
        k->release = slice_child_release;
        atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
        p->kids[i] = k;
        out->n_children = i + 1;
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ stream */
/* With threads > 1 the stream decodes row groups ahead of the consumer on
 * `threads` worker threads (the calling thread only waits for them): each
 * worker claims the next row group in file order; at most `threads` row
 * groups beyond the one the consumer holds are decoded at a time, so memory
 * stays bounded. Results are handed out in order, and an error is reported
 * when its row group is reached, with the worker's message. */
enum { JOB_FREE, JOB_BUSY, JOB_DONE };

typedef struct rg_job {
    int state;
    int rc;
    char *err; /* message of a failed decode (owned) */
    holder *h; /* NULL for an empty row group */
} rg_job;

typedef struct stream_priv {
    pd_parquet_reader *r;
    bool owns;
    pd_parquet_read_options o;
    int *cols, *rgs;
    int nrg;  /* row groups to read */
    int next; /* index (into the row groups to read) handed out next */
    holder *cur;
    int64_t cur_off;
    char err[1024];
    /* decoding threads */
    int threads;
    int nworkers; /* started */
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rg_job *jobs;
    int claim; /* next row group index to decode */
    bool stop;
    atomic_bool cancel; /* released: workers abandon their row groups */
    int failed;         /* errno of the first get_next failure, returned ever after */
} stream_priv;

static int st_errno(int code)
{
    switch (code) {
    case PD_ERR_NOMEM: return ENOMEM;
    case PD_ERR_INVALID: return EINVAL;
    case PD_ERR_UNSUPPORTED: return ENOSYS;
    default: return EIO;
    }
}

static int st_fail(stream_priv *p, int code)
{
    snprintf(p->err, sizeof p->err, "%s", pd_last_error());
    return st_errno(code);
}

static int st_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    stream_priv *p = s->private_data;
    int rc = export_schema(p->r, &p->o, out);
    return rc ? st_fail(p, rc) : 0;
}

/* Decode row group number i of the stream into job j (any thread). */
static void run_job(stream_priv *p, int i, pdi_scratch *scr, rg_job *j)
{
    int rg = p->o.row_groups ? p->o.row_groups[i] : i;
    j->h = NULL;
    j->rc = PD_OK;
    j->err = NULL;
    j->state = JOB_DONE;
    if (p->r->f.rowgroups[rg].num_rows == 0)
        return;
    holder *h = calloc(1, sizeof *h);
    if (!h) {
        j->rc = pd_set_error(PD_ERR_NOMEM, "out of memory");
    } else {
        atomic_init(&h->refs, 1);
        j->rc = read_rg(p->r, scr, rg, &p->o, &p->cancel, &h->arr);
        if (j->rc)
            free(h);
        else
            j->h = h;
    }
    if (j->rc)
        j->err = strdup(pd_last_error());
}

static void *worker_main(void *arg)
{
    stream_priv *p = arg;
    pdi_scratch scr;
    memset(&scr, 0, sizeof scr);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->claim < p->nrg && p->claim >= p->next + p->threads)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || p->claim >= p->nrg)
            break;
        int i = p->claim++;
        p->jobs[i].state = JOB_BUSY;
        pthread_mutex_unlock(&p->mu);
        rg_job done;
        run_job(p, i, &scr, &done);
        pthread_mutex_lock(&p->mu);
        p->jobs[i] = done; /* state JOB_DONE */
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    pdi_scratch_free(&scr);
    return NULL;
}

static void start_workers(stream_priv *p)
{
    int want = p->threads < p->nrg ? p->threads : p->nrg;
    if (want <= 0 || !(p->workers = calloc((size_t)want, sizeof *p->workers)))
        return; /* decode on the calling thread alone */
    pthread_mutex_lock(&p->mu);
    for (int k = 0; k < want; k++) {
        if (pthread_create(&p->workers[k], NULL, worker_main, p) != 0)
            break;
        p->nworkers = k + 1;
    }
    pthread_mutex_unlock(&p->mu);
}

static void stop_workers(stream_priv *p)
{
    if (!p->jobs)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    atomic_store(&p->cancel, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < p->nworkers; k++)
        pthread_join(p->workers[k], NULL);
    free(p->workers);
    p->workers = NULL;
    p->nworkers = 0;
    for (int i = 0; i < p->nrg; i++) {
        if (p->jobs[i].h)
            holder_unref(p->jobs[i].h);
        free(p->jobs[i].err);
    }
    free(p->jobs);
    p->jobs = NULL;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

/* The next row group's result, decoded here or by a worker. */
static void take_job(stream_priv *p, rg_job *out)
{
    int i = p->next;
    if (p->threads <= 1) {
        run_job(p, i, &p->r->scratch, out);
        p->next++;
        return;
    }
    if (!p->jobs) {
        if (!(p->jobs = calloc((size_t)p->nrg, sizeof *p->jobs))) {
            out->h = NULL;
            out->rc = pd_set_error(PD_ERR_NOMEM, "out of memory");
            out->err = strdup(pd_last_error());
            p->next++;
            return;
        }
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        start_workers(p);
    }
    pthread_mutex_lock(&p->mu);
    rg_job *j = &p->jobs[i];
    if (j->state == JOB_FREE && p->nworkers == 0) { /* no worker could start: decode here */
        p->claim = i + 1;
        j->state = JOB_BUSY;
        pthread_mutex_unlock(&p->mu);
        run_job(p, i, &p->r->scratch, out);
        pthread_mutex_lock(&p->mu);
    } else {
        while (j->state != JOB_DONE)
            pthread_cond_wait(&p->cv, &p->mu);
        *out = *j;
    }
    memset(j, 0, sizeof *j);
    j->state = JOB_DONE;
    p->next++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* A failed get_next leaves the stream failed: the same error ever after, so
 * a consumer that carries on cannot silently skip the row group. */
static int st_failed(stream_priv *p, int code)
{
    p->failed = st_fail(p, code);
    return p->failed;
}

static int st_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    stream_priv *p = s->private_data;
    memset(out, 0, sizeof *out);
    if (p->failed)
        return p->failed;
    for (;;) {
        if (p->cur && p->cur_off < p->cur->arr.length) {
            int64_t len = p->cur->arr.length - p->cur_off;
            if (p->o.max_batch_rows > 0 && len > p->o.max_batch_rows)
                len = p->o.max_batch_rows;
            int rc = PD_OK;
            if (p->cur_off == 0 && len == p->cur->arr.length) {
                /* whole row group: hand it over */
                *out = p->cur->arr;
                p->cur->arr.release = NULL;
            } else {
                rc = make_slice(p->cur, p->cur_off, len, out);
            }
            if (rc)
                return st_failed(p, rc);
            p->cur_off += len;
            return 0;
        }
        if (p->cur) {
            holder_unref(p->cur);
            p->cur = NULL;
        }
        if (p->next >= p->nrg) {
            out->release = NULL;
            return 0;
        }
        rg_job j;
        take_job(p, &j);
        if (j.rc) {
            pd_set_error(j.rc, "%s", j.err ? j.err : "out of memory");
            free(j.err);
            return st_failed(p, j.rc);
        }
        if (!j.h)
            continue; /* empty row group */
        p->cur = j.h;
        p->cur_off = 0;
    }
}

static const char *st_last_error(struct ArrowArrayStream *s)
{
    stream_priv *p = s->private_data;
    return p->err[0] ? p->err : NULL;
}

static void st_release(struct ArrowArrayStream *s)
{
    stream_priv *p = s->private_data;
    stop_workers(p);
    if (p->cur)
        holder_unref(p->cur);
    if (p->owns)
        pd_parquet_close(p->r);
    free(p->cols);
    free(p->rgs);
    free(p);
    s->release = NULL;
}

static int make_stream(pd_parquet_reader *r,
                       bool owns,
                       const pd_parquet_read_options *opts,
                       struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    int rc = check_cols(r, opts);
    if (rc)
        return rc;
    stream_priv *p = calloc(1, sizeof *p);
    if (!p)
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    p->o = read_options(opts);
    if (opts && opts->columns) {
        p->cols = malloc((size_t)(opts->n_columns ? opts->n_columns : 1) * sizeof(int));
        if (p->cols)
            memcpy(p->cols, opts->columns, (size_t)opts->n_columns * sizeof(int));
        p->o.columns = p->cols;
    }
    if (opts && opts->row_groups) {
        p->rgs = malloc((size_t)(opts->n_row_groups ? opts->n_row_groups : 1) * sizeof(int));
        if (p->rgs)
            memcpy(p->rgs, opts->row_groups, (size_t)opts->n_row_groups * sizeof(int));
        p->o.row_groups = p->rgs;
    }
    if ((opts && opts->columns && !p->cols) || (opts && opts->row_groups && !p->rgs)) {
        free(p->cols);
        free(p->rgs);
        free(p);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    p->r = r;
    p->owns = owns;
    atomic_init(&p->cancel, false);
    p->nrg = p->o.row_groups ? p->o.n_row_groups : r->f.n_rowgroups;
    p->threads = p->o.threads > PDI_MAX_READ_THREADS ? PDI_MAX_READ_THREADS : p->o.threads;
    if (p->threads > 1)
        pdi_pool_set_limit(r->pool, pool_limit(r, p->threads));
    out->get_schema = st_get_schema;
    out->get_next = st_get_next;
    out->get_last_error = st_last_error;
    out->release = st_release;
    out->private_data = p;
    return PD_OK;
}

int pd_parquet_read_stream(pd_parquet_reader *r,
                           const pd_parquet_read_options *opts,
                           struct ArrowArrayStream *out)
{
    if (!r || !out)
        return pd_set_error(PD_ERR_INVALID, "NULL argument");
    return make_stream(r, false, opts, out);
}

int pd_parquet_read_file_stream(const char *path,
                                const pd_parquet_read_options *opts,
                                struct ArrowArrayStream *out)
{
    pd_parquet_reader *r;
    int rc = pd_parquet_open_path(path, &r);
    if (rc)
        return rc;
    rc = make_stream(r, true, opts, out);
    if (rc)
        pd_parquet_close(r);
    return rc;
}
