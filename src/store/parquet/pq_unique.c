/*
 * store/parquet/pq_unique.c - the hash probe of a `unique` check on a
 * table of the Parquet store, read straight from its files with our codec
 * (docs/checks.md): only the checked column is decoded, every non-NULL
 * value is hashed here, and the hashes are checked for repeats
 * (util/distinct.c). Distinct hashes prove distinct values; a repeat sends
 * the store to the exact GROUP BY in the catalog, which decides.
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How a column's values are hashed: 0 = not offered, 1/2 = strings with
 * 32/64-bit offsets, else the byte width of a fixed-width integer value. */
static int value_kind(const char *fmt)
{
    if (!fmt)
        return 0;
    if (!strcmp(fmt, "u") || !strcmp(fmt, "z"))
        return 1;
    if (!strcmp(fmt, "U") || !strcmp(fmt, "Z"))
        return 2;
    if (!strcmp(fmt, "c") || !strcmp(fmt, "C"))
        return -1;
    if (!strcmp(fmt, "s") || !strcmp(fmt, "S"))
        return -2;
    if (!strcmp(fmt, "i") || !strcmp(fmt, "I") || !strcmp(fmt, "tdD"))
        return -4;
    if (!strcmp(fmt, "l") || !strcmp(fmt, "L") || !strcmp(fmt, "tdm") || !strncmp(fmt, "ts", 2))
        return -8;
    return 0;
}

static bool valid_at(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *v = a->null_count ? a->buffers[0] : NULL;
    int64_t j = i + a->offset;
    return !v || (v[j >> 3] >> (j & 7)) & 1;
}

/* The hash of row i of a (kind from value_kind). */
static uint64_t value_hash(const struct ArrowArray *a, int kind, int64_t i)
{
    int64_t j = i + a->offset;
    if (kind == 1 || kind == 2) {
        const uint8_t *data = a->buffers[2];
        int64_t b, e;
        if (kind == 1) {
            const int32_t *o = a->buffers[1];
            b = o[j];
            e = o[j + 1];
        } else {
            const int64_t *o = a->buffers[1];
            b = o[j];
            e = o[j + 1];
        }
        return pdi_hash64(data ? data + b : (const uint8_t *)"", (size_t)(e - b), 0);
    }
    const uint8_t *p = (const uint8_t *)a->buffers[1] + (size_t)j * (size_t)-kind;
    uint64_t v = 0;
    memcpy(&v, p, (size_t)-kind); /* the value's bytes (little-endian), zero-extended */
    return pdi_hash64_u64(v, (uint64_t)-kind);
}

/* One file's `column`: its index and kind; *rows += its row count. */
static int open_file(pd_fs *fs,
                     const char *url,
                     const char *column,
                     pd_fs_file **file,
                     pd_parquet_reader **reader,
                     int *index,
                     int *kind,
                     int64_t *rows)
{
    *file = NULL;
    *reader = NULL;
    *index = -1;
    *kind = 0;
    int rc = pdi_fs_file_open(fs, url, file);
    if (rc == PD_OK)
        rc = pd_parquet_open_callback(pdi_fs_read_at_cb, *file, pdi_fs_file_size(*file), reader);
    struct ArrowSchema s = {0};
    if (rc == PD_OK)
        rc = pd_parquet_get_schema(*reader, &s);
    for (int64_t i = 0; rc == PD_OK && i < s.n_children; i++)
        if (s.children[i]->name && !strcmp(s.children[i]->name, column)) {
            *index = (int)i;
            *kind = value_kind(s.children[i]->format);
        }
    if (s.release)
        s.release(&s);
    if (rc == PD_OK)
        *rows += pd_parquet_num_rows(*reader);
    if (rc) {
        pd_error_prefix("reading %s", url);
        pd_parquet_close(*reader);
        pdi_fs_file_close(*file);
        *reader = NULL;
        *file = NULL;
    }
    return rc;
}

/* Add the hashes of one file's column (those of this pass) to p. */
static int hash_file(pd_parquet_reader *r,
                     int index,
                     int kind,
                     int64_t pass,
                     int64_t passes,
                     pd_u64_parts *p,
                     int64_t max)
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
        const struct ArrowArray *a = b.n_children == 1 ? b.children[0] : NULL;
        if (!a) {
            rc = pd_set_error(PD_ERR_INVALID, "unexpected batch shape");
        } else {
            for (int64_t i = 0; i < a->length && rc == PD_OK; i++) {
                if (!valid_at(a, i))
                    continue;
                uint64_t h = pdi_unique_hash_reduce(value_hash(a, kind, i));
                if (passes > 1 && (int64_t)(h % (uint64_t)passes) != pass)
                    continue;
                if ((int64_t)p->total >= max)
                    rc = PD_ERR_UNSUPPORTED; /* more than the rows counted: no decision */
                else
                    rc = pdi_u64_parts_add(p, h);
            }
        }
        b.release(&b);
    }
    if (st.release)
        st.release(&st);
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
        rc = open_file(fs, files->items[i], column, &fh[i], &rd[i], &index[i], &kind[i], &rows);
        if (rc == PD_OK && (index[i] < 0 || !kind[i] || kind[i] != kind[0]))
            rc = PD_ERR_UNSUPPORTED; /* not found, not offered, or types differ */
    }
    int64_t passes = pdi_unique_passes(rows);
    bool repeat = false;
    for (int64_t pass = 0; rc == PD_OK && !repeat && pass < passes; pass++) {
        pd_u64_parts p;
        pdi_u64_parts_init(&p);
        for (size_t i = 0; i < n && rc == PD_OK; i++) {
            rc = hash_file(rd[i], index[i], kind[i], pass, passes, &p, PDI_UNIQUE_MAX_HASHES);
            if (rc && rc != PD_ERR_UNSUPPORTED)
                pd_error_prefix("reading %s", files->items[i]);
        }
        if (rc == PD_OK)
            repeat = pdi_u64_parts_repeats(&p);
        pdi_u64_parts_free(&p);
    }
    for (size_t i = 0; i < n; i++) {
        if (rd && rd[i])
            pd_parquet_close(rd[i]);
        if (fh && fh[i])
            pdi_fs_file_close(fh[i]);
    }
    free(fh);
    free(rd);
    free(index);
    free(kind);
    if (rc == PD_OK)
        *distinct = !repeat;
    return rc;
}
