/*
 * load/load.c - what a `load:` task does: expand its file or glob, open each
 * file as an Arrow stream (CSV of any compression, or Parquet), hand one
 * table per file (or their union) to the caller, and compute the part of the
 * task's key that follows every file's content.
 */
#include "load/load_int.h"
#include "pipedag/parquet.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool pdi_load_is_glob(const char *spec)
{
    return spec && strpbrk(spec, "*?[") != NULL;
}

int pdi_load_files(const char *spec, pd_strv *files)
{
    if (!pdi_load_is_glob(spec)) {
        if (!pdi_path_exists(spec))
            return pd_set_error(PD_ERR_NOT_FOUND, "file '%s' not found", spec);
        return pdi_strv_push(files, spec);
    }
    glob_t g;
    memset(&g, 0, sizeof g);
    int gr = glob(spec, GLOB_ERR, NULL, &g);
    int rc = PD_OK;
    if (gr == GLOB_NOMATCH)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "no file matches '%s'", spec);
    else if (gr != 0)
        rc = pd_set_error(PD_ERR_IO, "cannot expand '%s': %s", spec,
                          gr == GLOB_NOSPACE ? "out of memory" : "read error");
    for (size_t i = 0; !rc && i < g.gl_pathc; i++)
        if (!pdi_is_dir(g.gl_pathv[i]))
            rc = pdi_strv_push(files, g.gl_pathv[i]);
    globfree(&g);
    if (!rc && files->n == 0)
        rc = pd_set_error(PD_ERR_NOT_FOUND, "no file matches '%s'", spec);
    if (!rc)
        pdi_strv_sort(files);
    return rc;
}

char *pdi_load_table_name(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strchr(base + (base[0] == '.'), '.');
    char *n = dot ? pdi_strndup(base, (size_t)(dot - base)) : pdi_strdup(base);
    if (!n)
        return NULL;
    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return n;
}

int pdi_load_table_names(const char *spec, const char *opts_json, pd_strv *names)
{
    pdi_load_opts *o = NULL;
    int rc = pdi_load_opts_parse(opts_json, &o);
    if (rc)
        return rc;
    if (!pdi_load_is_glob(spec) || o->union_files) {
        pdi_load_opts_free(o);
        return PD_OK;
    }
    pdi_load_opts_free(o);
    pd_strv files = PD_STRV_INIT;
    rc = pdi_load_files(spec, &files);
    for (size_t i = 0; !rc && i < files.n; i++) {
        char *n = pdi_load_table_name(files.items[i]);
        if (!n) {
            rc = PD_ERR_NOMEM;
            break;
        }
        if (pdi_strv_contains(names, n)) {
            rc = pd_set_error(PD_ERR_CONFIG,
                              "'%s' and another file of '%s' both make table '%s' (a table is "
                              "named after its file without suffixes); use union: true or a "
                              "narrower pattern",
                              files.items[i], spec, n);
            free(n);
            break;
        }
        rc = pdi_strv_push_owned(names, n);
    }
    pdi_strv_free(&files);
    return rc;
}

/* ------------------------------------------------------------ cache key */

static int hash_file(const char *path, char hex[2 * PD_SHA256_LEN + 1])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pd_set_error(PD_ERR_IO, "cannot read file %s: %s", path, strerror(errno));
    pd_sha256_ctx h;
    if (pdi_sha256_init(&h)) {
        close(fd);
        return PD_ERR_NOMEM;
    }
    size_t cap = 1 << 20;
    char *buf = pdi_malloc(cap);
    int rc = buf ? PD_OK : PD_ERR_NOMEM;
    while (!rc) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = pd_set_error(PD_ERR_IO, "cannot read file %s: %s", path, strerror(errno));
        if (n <= 0)
            break;
        pdi_sha256_update(&h, buf, (size_t)n);
    }
    uint8_t d[PD_SHA256_LEN];
    pdi_sha256_final(&h, d);
    pdi_hex(d, PD_SHA256_LEN, hex);
    free(buf);
    close(fd);
    return rc;
}

int pdi_load_cache_key(const char *spec, const char *opts_json, char **out)
{
    (void)opts_json; /* the options are in the task's arguments already */
    *out = NULL;
    char hex[2 * PD_SHA256_LEN + 1];
    if (!pdi_load_is_glob(spec)) {
        int rc = hash_file(spec, hex);
        if (rc)
            return rc;
        *out = pdi_strdup(hex); /* the key a single CSV always had */
        return *out ? PD_OK : PD_ERR_NOMEM;
    }
    pd_strv files = PD_STRV_INIT;
    int rc = pdi_load_files(spec, &files);
    pd_json j;
    pdi_json_init(&j);
    pdi_json_arr_begin(&j);
    for (size_t i = 0; !rc && i < files.n; i++) {
        rc = hash_file(files.items[i], hex);
        const char *base = strrchr(files.items[i], '/');
        pdi_json_arr_begin(&j);
        pdi_json_str(&j, base ? base + 1 : files.items[i]);
        pdi_json_str(&j, hex);
        pdi_json_arr_end(&j);
    }
    pdi_json_arr_end(&j);
    pdi_strv_free(&files);
    char *s = pdi_json_finish(&j);
    if (rc || !s) {
        free(s);
        return rc ? rc : PD_ERR_NOMEM;
    }
    *out = s;
    return PD_OK;
}

/* ------------------------------------------------------------- opening */

static int open_parquet(const char *path, const pdi_load_opts *o, struct ArrowArrayStream *out)
{
    if (o->n_cols)
        return pd_set_error(PD_ERR_CONFIG,
                            "%s: columns: applies to CSV files; a Parquet file carries its "
                            "types",
                            path);
    pd_parquet_read_options ro = PD_PARQUET_READ_OPTIONS_INIT;
    ro.max_batch_rows = o->batch_rows;
    int rc = pd_parquet_read_file_stream(path, &ro, out);
    if (rc && !strstr(pd_last_error(), path))
        pd_error_prefix("%s", path);
    return rc;
}

static int is_parquet(const char *path, const pdi_load_opts *o, bool *pq)
{
    if (o->format == PDI_FMT_CSV) {
        *pq = false;
        return PD_OK;
    }
    int rc = pdi_file_is_parquet(path, pq);
    if (!rc && o->format == PDI_FMT_PARQUET && !*pq)
        rc = pd_set_error(PD_ERR_CORRUPT, "%s: not a Parquet file (format: parquet)", path);
    return rc;
}

int pdi_load_open(const char *path, const pdi_load_opts *o, struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    bool pq = false;
    int rc = is_parquet(path, o, &pq);
    if (rc)
        return rc;
    if (pq)
        return open_parquet(path, o, out);
    pdi_csv *c = NULL;
    if ((rc = pdi_csv_open(path, o, &c)))
        return rc;
    return pdi_csv_stream(c, out);
}

/* ------------------------------------------------------ union of files */

typedef struct ustream {
    pd_strv files;
    const pdi_load_opts *o;
    pdi_load_opts *own_o; /* forced CSV types for every file */
    size_t next;
    struct ArrowArrayStream cur;
    struct ArrowSchema schema;
    char *err;
} ustream;

static int same_schema(const struct ArrowSchema *a,
                       const struct ArrowSchema *b,
                       const char *path,
                       const char *first)
{
    if (a->n_children != b->n_children)
        return pd_set_error(PD_ERR_CORRUPT,
                            "%s has %lld columns but %s has %lld; union: true needs the same "
                            "columns in every file",
                            path, (long long)b->n_children, first, (long long)a->n_children);
    for (int64_t i = 0; i < a->n_children; i++) {
        const struct ArrowSchema *x = a->children[i], *y = b->children[i];
        if (strcmp(x->name ? x->name : "", y->name ? y->name : ""))
            return pd_set_error(PD_ERR_CORRUPT,
                                "%s: column %lld is '%s' but in %s it is '%s'; union: true needs "
                                "the same columns in every file",
                                path, (long long)i + 1, y->name ? y->name : "", first,
                                x->name ? x->name : "");
        if (strcmp(x->format, y->format))
            return pd_set_error(PD_ERR_CORRUPT,
                                "%s: column '%s' has type %s but in %s it has %s; give the type "
                                "(columns:)",
                                path, y->name ? y->name : "", y->format, first, x->format);
    }
    return PD_OK;
}

static int u_open_next(ustream *u)
{
    const char *path = u->files.items[u->next];
    int rc = pdi_load_open(path, u->own_o ? u->own_o : u->o, &u->cur);
    struct ArrowSchema s = {0};
    if (!rc && u->cur.get_schema(&u->cur, &s) != 0) {
        const char *m = u->cur.get_last_error(&u->cur);
        rc = pd_set_error(PD_ERR_CORRUPT, "%s: %s", path, m ? m : "cannot read the schema");
    }
    if (!rc && u->next == 0)
        rc = pd_arrow_schema_copy(&s, &u->schema);
    else if (!rc)
        rc = same_schema(&u->schema, &s, path, u->files.items[0]);
    pd_arrow_schema_release(&s);
    if (rc)
        pd_arrow_stream_release(&u->cur);
    else
        u->next++;
    return rc;
}

static int u_err(ustream *u, int rc)
{
    free(u->err);
    u->err = pdi_strdup(pd_last_error());
    return rc == PD_ERR_NOMEM ? ENOMEM : EINVAL;
}

static int u_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    ustream *u = st->private_data;
    int rc = pd_arrow_schema_copy(&u->schema, out);
    return rc ? u_err(u, rc) : 0;
}

static int u_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    ustream *u = st->private_data;
    out->release = NULL;
    for (;;) {
        if (u->cur.release) {
            if (u->cur.get_next(&u->cur, out) != 0) {
                const char *m = u->cur.get_last_error(&u->cur);
                pd_set_error(PD_ERR_CORRUPT, "%s", m ? m : "stream error");
                return u_err(u, PD_ERR_CORRUPT);
            }
            if (out->release)
                return 0;
            pd_arrow_stream_release(&u->cur);
        }
        if (u->next >= u->files.n)
            return 0;
        int rc = u_open_next(u);
        if (rc)
            return u_err(u, rc);
    }
}

static const char *u_last_error(struct ArrowArrayStream *st)
{
    return ((ustream *)st->private_data)->err;
}

static void u_release(struct ArrowArrayStream *st)
{
    ustream *u = st->private_data;
    pd_arrow_stream_release(&u->cur);
    pd_arrow_schema_release(&u->schema);
    pdi_strv_free(&u->files);
    pdi_load_opts_free(u->own_o);
    free(u->err);
    free(u);
    st->release = NULL;
}

/* CSV files of a union: infer each file's types from its own sample and join
 * them, so every file is read with the same types. */
static int union_csv_types(ustream *u)
{
    size_t ncols = 0;
    pdi_coltype *types = NULL;
    char **names = NULL;
    int rc = PD_OK;
    for (size_t i = 0; i < u->files.n && !rc; i++) {
        bool pq = false;
        if ((rc = is_parquet(u->files.items[i], u->o, &pq)) || pq)
            break;
        pdi_csv *c = NULL;
        if ((rc = pdi_csv_open(u->files.items[i], u->o, &c)))
            break;
        if (i == 0) {
            ncols = pdi_csv_ncols(c);
            types = pdi_calloc(ncols, sizeof *types);
            names = pdi_calloc(ncols, sizeof *names);
            rc = types && names ? PD_OK : PD_ERR_NOMEM;
            for (size_t k = 0; !rc && k < ncols; k++)
                if (!(names[k] = pdi_strdup(pdi_csv_col_name(c, k))))
                    rc = PD_ERR_NOMEM;
        } else if (pdi_csv_ncols(c) != ncols) {
            rc = pd_set_error(PD_ERR_CORRUPT,
                              "%s has %zu columns but %s has %zu; union: true needs the same "
                              "columns in every file",
                              u->files.items[i], pdi_csv_ncols(c), u->files.items[0], ncols);
        }
        for (size_t k = 0; !rc && k < ncols; k++) {
            if (strcmp(names[k], pdi_csv_col_name(c, k)))
                rc = pd_set_error(PD_ERR_CORRUPT,
                                  "%s: column %zu is '%s' but in %s it is '%s'; union: true "
                                  "needs the same columns in every file",
                                  u->files.items[i], k + 1, pdi_csv_col_name(c, k),
                                  u->files.items[0], names[k]);
            else
                types[k] = pdi_coltype_join(types[k], *pdi_csv_col_type(c, k));
        }
        pdi_csv_close(c);
    }
    if (!rc && types) {
        /* every column given: the joined types */
        pdi_load_opts *o = NULL;
        rc = pdi_load_opts_parse(NULL, &o);
        if (!rc) {
            *o = *u->o;
            o->null_str = pdi_strdup(u->o->null_str);
            o->cols = pdi_calloc(ncols ? ncols : 1, sizeof *o->cols);
            o->n_cols = 0;
            if (!o->cols || (u->o->null_str && !o->null_str))
                rc = PD_ERR_NOMEM;
            for (size_t k = 0; !rc && k < ncols; k++) {
                o->cols[k].name = pdi_strdup(names[k]);
                o->cols[k].type = types[k];
                if (!o->cols[k].name)
                    rc = PD_ERR_NOMEM;
                o->n_cols++;
            }
            u->own_o = o;
        }
    }
    for (size_t k = 0; names && k < ncols; k++)
        free(names[k]);
    free(names);
    free(types);
    return rc;
}

int pdi_load_open_union(const char *const *paths,
                        size_t n,
                        const pdi_load_opts *o,
                        struct ArrowArrayStream *out)
{
    memset(out, 0, sizeof *out);
    ustream *u = pdi_calloc(1, sizeof *u);
    if (!u)
        return PD_ERR_NOMEM;
    u->o = o;
    int rc = PD_OK;
    for (size_t i = 0; i < n && !rc; i++)
        rc = pdi_strv_push(&u->files, paths[i]);
    if (!rc && n == 0)
        rc = pd_set_error(PD_ERR_INVALID, "a union of no files");
    if (!rc)
        rc = union_csv_types(u);
    if (!rc)
        rc = u_open_next(u);
    struct ArrowArrayStream st = {u_get_schema, u_get_next, u_last_error, u_release, u};
    if (rc) {
        u_release(&st);
        return rc;
    }
    *out = st;
    return PD_OK;
}

/* ------------------------------------------------------------ prefetch */

/* Reads the next batches on a thread of its own while the consumer (the
 * store's insert loop) works on the current one: at most PF_AHEAD batches
 * wait, so memory stays bounded. */
#define PF_AHEAD 2

typedef struct prefetch {
    struct ArrowArrayStream in;
    struct ArrowSchema schema;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ArrowArray q[PF_AHEAD];
    int qn, qhead;
    bool done, stop;
    int err;
    char *errmsg;
} prefetch;

static void *pf_main(void *arg)
{
    prefetch *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->qn == PF_AHEAD && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        struct ArrowArray a;
        memset(&a, 0, sizeof a);
        int e = p->in.get_next(&p->in, &a);
        const char *m = e ? p->in.get_last_error(&p->in) : NULL;
        char *copy = e ? pdi_strdup(m ? m : "stream error") : NULL;
        pthread_mutex_lock(&p->mu);
        if (e || !a.release) {
            p->err = e;
            p->errmsg = copy;
            p->done = true;
        } else {
            pd_arrow_array_move(&a, &p->q[(p->qhead + p->qn) % PF_AHEAD]);
            p->qn++;
        }
        pthread_cond_broadcast(&p->cv);
        bool fin = p->done;
        pthread_mutex_unlock(&p->mu);
        if (fin)
            break;
    }
    return NULL;
}

static int pf_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    prefetch *p = st->private_data;
    return pd_arrow_schema_copy(&p->schema, out) ? ENOMEM : 0;
}

static int pf_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    prefetch *p = st->private_data;
    out->release = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->qn == 0 && !p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    int e = 0;
    if (p->qn > 0) {
        pd_arrow_array_move(&p->q[p->qhead], out);
        p->qhead = (p->qhead + 1) % PF_AHEAD;
        p->qn--;
        pthread_cond_broadcast(&p->cv);
    } else {
        e = p->err;
    }
    pthread_mutex_unlock(&p->mu);
    if (e)
        pd_set_error(PD_ERR_CORRUPT, "%s", p->errmsg ? p->errmsg : "stream error");
    return e;
}

static const char *pf_last_error(struct ArrowArrayStream *st)
{
    prefetch *p = st->private_data;
    return p->errmsg;
}

static void pf_release(struct ArrowArrayStream *st)
{
    prefetch *p = st->private_data;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    for (int i = 0; i < PF_AHEAD; i++)
        pd_arrow_array_release(&p->q[i]);
    pd_arrow_stream_release(&p->in);
    pd_arrow_schema_release(&p->schema);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->errmsg);
    free(p);
    st->release = NULL;
}

/* Wrap *st (taken over) in a prefetching stream. */
static int prefetch_wrap(struct ArrowArrayStream *st)
{
    prefetch *p = pdi_calloc(1, sizeof *p);
    if (!p) {
        pd_arrow_stream_release(st);
        return PD_ERR_NOMEM;
    }
    pd_arrow_stream_move(st, &p->in);
    if (p->in.get_schema(&p->in, &p->schema) != 0) {
        const char *m = p->in.get_last_error(&p->in);
        int rc = pd_set_error(PD_ERR_CORRUPT, "%s", m ? m : "cannot read the schema");
        pd_arrow_stream_release(&p->in);
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, pf_main, p) != 0) {
        pd_arrow_stream_release(&p->in);
        pd_arrow_schema_release(&p->schema);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return pd_set_error(PD_ERR_IO, "cannot start a loader thread");
    }
    st->get_schema = pf_get_schema;
    st->get_next = pf_get_next;
    st->get_last_error = pf_last_error;
    st->release = pf_release;
    st->private_data = p;
    return PD_OK;
}

/* ------------------------------------------------------------------ run */

int pdi_load_run(const char *spec,
                 const char *opts_json,
                 const char *task_table,
                 pdi_load_sink_fn sink,
                 void *user)
{
    pdi_load_opts *o = NULL;
    int rc = pdi_load_opts_parse(opts_json, &o);
    if (rc)
        return rc;
    pd_strv files = PD_STRV_INIT, names = PD_STRV_INIT;
    rc = pdi_load_files(spec, &files);
    struct ArrowArrayStream st;
    memset(&st, 0, sizeof st);
    if (!rc && (!pdi_load_is_glob(spec) || o->union_files)) {
        rc = files.n == 1 ? pdi_load_open(files.items[0], o, &st)
                          : pdi_load_open_union((const char *const *)files.items, files.n, o, &st);
        if (!rc)
            rc = prefetch_wrap(&st);
        if (!rc)
            rc = sink(user, task_table, &st);
    } else if (!rc) {
        rc = pdi_load_table_names(spec, opts_json, &names);
        if (!rc && names.n != files.n)
            rc = pd_set_error(PD_ERR_IO, "the files matching '%s' changed while loading", spec);
        for (size_t i = 0; !rc && i < files.n; i++) {
            rc = pdi_load_open(files.items[i], o, &st);
            if (!rc)
                rc = prefetch_wrap(&st);
            if (!rc)
                rc = sink(user, names.items[i], &st);
        }
    }
    pd_arrow_stream_release(&st);
    pdi_strv_free(&names);
    pdi_strv_free(&files);
    pdi_load_opts_free(o);
    return rc;
}
