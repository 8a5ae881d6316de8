/*
 * store/parquet/pq_io.c - Parquet files of the Parquet store through
 * src/fs: a C task's Arrow output written with our writer straight to the
 * file (local or a streaming S3 upload), and one Arrow stream over one or
 * several files for C task inputs and View tasks (local reads or S3 ranged
 * GETs). No DuckDB on this path.
 */
#include "pipedag/parquet.h"
#include "store/parquet/pq_int.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Encoder / decoder threads: the machine's cores (at most 8). */
static int pq_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* ------------------------------------------------------------------ writing */

int pdi_pq_write_stream(
    pd_fs *fs, const char *url, int page_version, struct ArrowArrayStream *in, int64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!in || !in->release)
        return pd_set_error(PD_ERR_INVALID, "writing %s: no Arrow stream", url);
    struct ArrowSchema sch = {0};
    pd_fs_writer *w = NULL;
    pd_parquet_writer *pw = NULL;
    int rc = PD_OK;
    if (in->get_schema(in, &sch) != 0) {
        const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
        rc = pd_set_error(PD_ERR_INVALID, "reading the Arrow schema: %s", m ? m : "stream error");
    }
    if (rc == PD_OK)
        rc = pdi_fs_writer_open(fs, url, &w);
    if (rc == PD_OK) {
        pd_parquet_write_options o = PD_PARQUET_WRITE_OPTIONS_INIT;
        o.threads = pq_threads();
        /* v2 pages: the writer picks DELTA_BINARY_PACKED for mostly sorted
         * integers and DELTA_LENGTH_BYTE_ARRAY for strings */
        o.page_version = page_version == 1 ? 1 : 2;
        rc = pd_parquet_writer_open_callback(pdi_fs_write_cb, w, &sch, &o, &pw);
    }
    int64_t n = 0;
    while (rc == PD_OK) {
        struct ArrowArray a = {0};
        if (in->get_next(in, &a) != 0) {
            const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
            rc = pd_set_error(PD_ERR_INVALID, "reading an Arrow batch: %s", m ? m : "stream error");
            break;
        }
        if (!a.release)
            break;
        if (a.length > 0)
            rc = pd_parquet_writer_write(pw, &a);
        n += a.length;
        a.release(&a);
    }
    if (rc == PD_OK) {
        rc = pd_parquet_writer_close(pw);
        pw = NULL;
    }
    if (rc == PD_OK) {
        rc = pdi_fs_writer_commit(w);
        w = NULL;
    }
    pd_parquet_writer_abort(pw);
    pdi_fs_writer_abort(w);
    if (sch.release)
        sch.release(&sch);
    in->release(in);
    if (rc)
        pd_error_prefix("writing %s", url);
    else if (rows)
        *rows = n;
    return rc;
}

/* ------------------------------------------------------------------ reading */

typedef struct pq_multi {
    pd_fs *fs;
    pd_strv urls;
    size_t next;       /* index of the next file to open */
    int64_t remaining; /* rows still to hand out; < 0 = no limit */
    struct ArrowSchema schema;
    pd_fs_file *file;
    pd_parquet_reader *reader;
    struct ArrowArrayStream cur;
    char *first_url;
    char *err;
} pq_multi;

static void close_current(pq_multi *m)
{
    if (m->cur.release)
        m->cur.release(&m->cur);
    memset(&m->cur, 0, sizeof m->cur);
    pd_parquet_close(m->reader);
    m->reader = NULL;
    pdi_fs_file_close(m->file);
    m->file = NULL;
}

static int set_err(pq_multi *m, int rc)
{
    free(m->err);
    m->err = pdi_strdup(pd_last_error());
    return rc < 0 ? -rc : (rc ? rc : 5 /* EIO */);
}

static bool same_fields(const struct ArrowSchema *a, const struct ArrowSchema *b)
{
    if (a->n_children != b->n_children)
        return false;
    for (int64_t i = 0; i < a->n_children; i++) {
        const struct ArrowSchema *x = a->children[i], *y = b->children[i];
        if (!pdi_str_eq(x->name, y->name) || !pdi_str_eq(x->format, y->format) ||
            !same_fields(x, y))
            return false;
    }
    return true;
}

/* Open urls[m->next]; with `first`, its schema becomes the stream's. */
static int open_next(pq_multi *m, bool first)
{
    const char *url = m->urls.items[m->next++];
    int rc = pdi_fs_file_open(m->fs, url, &m->file);
    /* every column of the file is read, row group after row group */
    if (rc == PD_OK)
        pdi_fs_file_set_sequential(m->file, true);
    if (rc == PD_OK)
        rc = pd_parquet_open_callback(pdi_fs_read_at_cb, m->file, pdi_fs_file_size(m->file),
                                      &m->reader);
    struct ArrowSchema s = {0};
    if (rc == PD_OK)
        rc = pd_parquet_get_schema(m->reader, &s);
    if (rc == PD_OK) {
        if (first) {
            pd_arrow_schema_move(&s, &m->schema);
        } else {
            if (!same_fields(&m->schema, &s))
                rc = pd_set_error(PD_ERR_INVALID,
                                  "%s and %s do not have the same columns (names and types), so "
                                  "they cannot be read as one table",
                                  m->first_url, url);
            s.release(&s);
        }
    }
    if (rc == PD_OK) {
        pd_parquet_read_options o = PD_PARQUET_READ_OPTIONS_INIT;
        o.threads = pq_threads();
        rc = pd_parquet_read_stream(m->reader, &o, &m->cur);
    }
    if (rc) {
        pd_error_prefix("reading %s", url);
        close_current(m);
    }
    return rc;
}

static int multi_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    pq_multi *m = st->private_data;
    int rc = pd_arrow_schema_copy(&m->schema, out);
    return rc ? set_err(m, rc) : 0;
}

/* Cut a batch to its first n rows (top-level children too; buffers stay). */
static void truncate_batch(struct ArrowArray *a, int64_t n)
{
    a->length = n;
    for (int64_t i = 0; i < a->n_children; i++)
        if (a->children[i]->length > n + a->offset)
            a->children[i]->length = n + a->offset;
}

static int multi_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    pq_multi *m = st->private_data;
    memset(out, 0, sizeof *out);
    for (;;) {
        if (m->remaining == 0)
            return 0;
        if (!m->cur.release) {
            if (m->next >= m->urls.n)
                return 0;
            int rc = open_next(m, false);
            if (rc)
                return set_err(m, rc);
        }
        int e = m->cur.get_next(&m->cur, out);
        if (e) {
            const char *msg = m->cur.get_last_error ? m->cur.get_last_error(&m->cur) : NULL;
            pd_set_error(PD_ERR_IO, "reading %s: %s", m->urls.items[m->next - 1],
                         msg ? msg : "stream error");
            return set_err(m, PD_ERR_IO);
        }
        if (out->release) {
            if (m->remaining > 0) {
                if (out->length > m->remaining)
                    truncate_batch(out, m->remaining);
                m->remaining -= out->length;
            }
            return 0;
        }
        close_current(m); /* end of this file */
    }
}

static const char *multi_last_error(struct ArrowArrayStream *st)
{
    pq_multi *m = st->private_data;
    return m->err;
}

static void multi_release(struct ArrowArrayStream *st)
{
    pq_multi *m = st->private_data;
    if (m) {
        close_current(m);
        if (m->schema.release)
            m->schema.release(&m->schema);
        pdi_strv_free(&m->urls);
        free(m->err);
        free(m);
    }
    st->release = NULL;
    st->private_data = NULL;
}

int pdi_pq_open_stream(
    pd_fs *fs, const char *const *urls, size_t n, int64_t limit, struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return pd_set_error(PD_ERR_INVALID, "no Parquet file to read");
    pq_multi *m = pdi_calloc(1, sizeof *m);
    if (!m)
        return PD_ERR_NOMEM;
    m->fs = fs;
    m->remaining = limit < 0 ? -1 : limit;
    int rc = PD_OK;
    for (size_t i = 0; i < n && rc == PD_OK; i++)
        rc = pdi_strv_push(&m->urls, urls[i]);
    if (rc == PD_OK) {
        m->first_url = m->urls.items[0];
        rc = open_next(m, true);
    }
    struct ArrowArrayStream st = {
        .get_schema = multi_get_schema,
        .get_next = multi_get_next,
        .get_last_error = multi_last_error,
        .release = multi_release,
        .private_data = m,
    };
    if (rc) {
        multi_release(&st);
        return rc;
    }
    *out = st;
    return PD_OK;
}
