/*
 * parquet/writer.c - the public Parquet writer (pd_parquet_writer_*).
 *
 * Batches are shredded into per-leaf level/value buffers until a row group
 * is full; the row group's column chunks are then encoded, written in leaf
 * order, and its metadata kept as pre-serialized Thrift bytes; the footer is
 * written on close. With threads > 1 a worker pool (created at open, joined
 * at close/abort) encodes the leaves of a submitted row group while the
 * caller shreds the next one into a second buffer set and then helps
 * encoding; chunks are written by the caller in order, so the file does not
 * depend on the thread count. Memory is bounded by about two row groups (one
 * with threads = 1). pd_parquet_write_stream writes to a temporary file
 * renamed into place on success.
 */
#include "parquet/writer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATED_BY         "pipedag-c version " PD_VERSION_STRING
#define DEFAULT_RG_ROWS    122880
#define DEFAULT_PAGE_SIZE  (1 << 20)
#define DEFAULT_DICT_LIMIT (1 << 20)
#define PAR_SHRED_MIN_ROWS 4096 /* smaller batch pieces are shredded serially */

/* A leaf to encode and its size (accumulated bytes). */
typedef struct leaf_job {
    size_t bytes;
    size_t leaf;
} leaf_job;

/* One row group buffer: struct copies of the schema's leaves holding the
 * shredded levels/values and, once encoded, the column chunks. */
typedef struct rg_slot {
    pdw_leaf *lv;
    leaf_job *order; /* leaves by decreasing size: the biggest start first */
    int64_t rows;
    size_t rg; /* row group index, set when submitted */
    /* under the pool lock: order[next, end) are not yet claimed; the pool
     * takes from the front (biggest), the caller helping ahead takes from
     * the back (smallest) */
    size_t next, end;
    size_t done; /* leaves encoded */
} rg_slot;

typedef struct pool_arg {
    struct pd_parquet_writer *w;
    int wi;
} pool_arg;

struct pd_parquet_writer {
    pd_parquet_write_fn write;
    void *user;
    int fd; /* own file, -1 for callbacks */
    char *path;
    pdw_schema sch;
    pdw_enc_opts eo;
    int threads;
    int64_t rg_rows;
    char **kv_keys, **kv_vals;
    size_t n_kv;
    int64_t offset;
    int64_t total_rows;
    pdw_buf rgmeta;
    size_t n_rg;         /* row groups written */
    size_t n_submitted;  /* row groups handed to encoding */
    rg_slot slots[2];    /* slots[1] only with a pool */
    int cur;             /* slot being filled */
    int q[2], nq;        /* submitted slots not yet written, oldest first */
    pdw_worker *workers; /* [0] the caller, [k] pool thread k */
    int nworkers;
    /* pool: nworkers - 1 threads */
    pthread_t *th;
    pool_arg *th_arg;
    int nth;
    int pool_ok; /* mutex and condition variables initialized */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    /* shredding of the current batch into sh_slot (pool lock) */
    rg_slot *sh_slot; /* NULL when no batch is being shredded */
    const struct ArrowArray *sh_batch;
    int64_t sh_row0, sh_n;
    size_t sh_next, sh_done;
    int failed;
    int sync_on_close; /* fsync before close (pd_parquet_write_stream) */
};

/* ------------------------------------------------------------ codecs */

int pd_parquet_codec_from_name(const char *name, pd_parquet_codec *out)
{
    static const struct {
        const char *n;
        pd_parquet_codec c;
    } tab[] = {{"snappy", PD_CODEC_SNAPPY},
               {"zstd", PD_CODEC_ZSTD},
               {"gzip", PD_CODEC_GZIP},
               {"none", PD_CODEC_UNCOMPRESSED},
               {"uncompressed", PD_CODEC_UNCOMPRESSED},
               {"lz4_raw", PD_CODEC_LZ4_RAW},
               {"lz4", PD_CODEC_LZ4_RAW},
               {"brotli", PD_CODEC_BROTLI}};
    if (name && out) {
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
            if (strcasecmp(name, tab[i].n) == 0) {
                *out = tab[i].c;
                return PD_OK;
            }
        }
    }
    return pd_set_error(PD_ERR_INVALID, "unknown Parquet compression codec '%s'",
                        name ? name : "(null)");
}

const char *pd_parquet_codec_name(pd_parquet_codec codec)
{
    switch (codec) {
    case PD_CODEC_UNCOMPRESSED: return "uncompressed";
    case PD_CODEC_SNAPPY: return "snappy";
    case PD_CODEC_GZIP: return "gzip";
    case PD_CODEC_LZO: return "lzo";
    case PD_CODEC_BROTLI: return "brotli";
    case PD_CODEC_LZ4: return "lz4";
    case PD_CODEC_ZSTD: return "zstd";
    case PD_CODEC_LZ4_RAW: return "lz4_raw";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------ output */

static int fd_write(void *user, const void *buf, size_t len)
{
    pd_parquet_writer *w = user;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = write(w->fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return pd_set_error(PD_ERR_IO, "parquet writer: write %s: %s", w->path,
                                strerror(errno));
        }
        p += r;
        len -= (size_t)r;
    }
    return PD_OK;
}

static int out_write(pd_parquet_writer *w, const void *p, size_t n)
{
    if (n == 0) {
        return PD_OK;
    }
    int rc = w->write(w->user, p, n);
    if (rc != PD_OK) {
        w->failed = 1;
        return rc < 0 ? rc : PD_ERR_IO;
    }
    w->offset += (int64_t)n;
    return PD_OK;
}

/* ------------------------------------------------------------ worker pool */

static void slot_free(rg_slot *s, size_t nleaves)
{
    if (s->lv) {
        for (size_t i = 0; i < nleaves; i++) {
            pdw_leaf_data_free(&s->lv[i]);
        }
    }
    free(s->lv);
    free(s->order);
    s->lv = NULL;
    s->order = NULL;
}

static int slot_init(rg_slot *s, const pdw_schema *sch)
{
    s->lv = malloc((sch->nleaves ? sch->nleaves : 1) * sizeof(pdw_leaf));
    s->order = malloc((sch->nleaves ? sch->nleaves : 1) * sizeof(leaf_job));
    if (!s->lv || !s->order) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    if (sch->nleaves) {
        memcpy(s->lv, sch->leaves, sch->nleaves * sizeof(pdw_leaf));
    }
    return PD_OK;
}

/* A unit of pool work: shred one leaf of the current batch into slot s, or
 * encode leaf i of the submitted row group in slot s. */
typedef struct job {
    rg_slot *s;
    size_t i;
    int shred;
} job;

/* Claim a job (pool lock held): shredding first (the caller waits for it),
 * then the biggest unclaimed leaf of the oldest submitted row group. */
static int take_job(pd_parquet_writer *w, job *j)
{
    if (w->sh_slot && w->sh_next < w->sch.nleaves) {
        j->s = w->sh_slot;
        j->i = w->sh_next++;
        j->shred = 1;
        return 1;
    }
    for (int k = 0; k < w->nq; k++) {
        rg_slot *s = &w->slots[w->q[k]];
        if (s->next < s->end) {
            j->s = s;
            j->i = s->order[s->next++].leaf;
            j->shred = 0;
            return 1;
        }
    }
    return 0;
}

/* Run a claimed job without the lock; failures are kept in the leaf. */
static void run_job(pd_parquet_writer *w, const job *j, pdw_worker *wk)
{
    pdw_leaf *lf = &j->s->lv[j->i];
    if (j->shred) {
        lf->rc = pdw_shred(lf, w->sh_batch, w->sh_row0, w->sh_n, &wk->sc);
    } else {
        lf->rc = pdw_encode_chunk(&w->eo, lf, wk);
    }
    if (lf->rc != PD_OK) {
        free(lf->err);
        lf->err = strdup(pd_last_error());
    }
}

/* Count a finished job (pool lock held); wake the caller when what it may
 * wait for is complete. */
static void finish_job(pd_parquet_writer *w, const job *j)
{
    size_t *done = j->shred ? &w->sh_done : &j->s->done;
    if (++*done == w->sch.nleaves) {
        pthread_cond_signal(&w->done_cv); /* only the caller waits */
    }
}

static void *pool_main(void *arg)
{
    pool_arg *a = arg;
    pd_parquet_writer *w = a->w;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        job j;
        if (!take_job(w, &j)) {
            pthread_cond_wait(&w->work_cv, &w->mu);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        run_job(w, &j, &w->workers[a->wi]);
        pthread_mutex_lock(&w->mu);
        finish_job(w, &j);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start nworkers - 1 pool threads (fewer if thread creation fails). */
static int pool_start(pd_parquet_writer *w)
{
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        return pd_set_error(PD_ERR, "parquet writer: cannot create a mutex");
    }
    if (pthread_cond_init(&w->work_cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        return pd_set_error(PD_ERR, "parquet writer: cannot create a condition variable");
    }
    if (pthread_cond_init(&w->done_cv, NULL) != 0) {
        pthread_cond_destroy(&w->work_cv);
        pthread_mutex_destroy(&w->mu);
        return pd_set_error(PD_ERR, "parquet writer: cannot create a condition variable");
    }
    w->pool_ok = 1;
    int want = w->nworkers - 1;
    if (want <= 0) {
        return PD_OK;
    }
    w->th = calloc((size_t)want, sizeof *w->th);
    w->th_arg = calloc((size_t)want, sizeof *w->th_arg);
    if (!w->th || !w->th_arg) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    for (int k = 0; k < want; k++) {
        w->th_arg[k].w = w;
        w->th_arg[k].wi = k + 1;
        if (pthread_create(&w->th[k], NULL, pool_main, &w->th_arg[k]) != 0) {
            break; /* run with the threads we have */
        }
        w->nth = k + 1;
    }
    return PD_OK;
}

/* Stop and join the pool threads; a job in progress finishes first. */
static void pool_stop(pd_parquet_writer *w)
{
    if (!w->pool_ok) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    for (int k = 0; k < w->nth; k++) {
        pthread_join(w->th[k], NULL);
    }
    w->nth = 0;
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->work_cv);
    pthread_mutex_destroy(&w->mu);
    w->pool_ok = 0;
}

/* ------------------------------------------------------------ open/close */

static void writer_free(pd_parquet_writer *w)
{
    if (!w) {
        return;
    }
    pool_stop(w);
    free(w->th);
    free(w->th_arg);
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->path);
    for (int k = 0; k < 2; k++) {
        slot_free(&w->slots[k], w->sch.nleaves);
    }
    pdw_schema_free(&w->sch);
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv_keys[i]);
        free(w->kv_vals[i]);
    }
    free(w->kv_keys);
    free(w->kv_vals);
    pdw_buf_free(&w->rgmeta);
    for (int i = 0; i < w->nworkers; i++) {
        pdw_worker_free(&w->workers[i]);
    }
    free(w->workers);
    free(w);
}

static int map_encoding(int e)
{
    switch (e) {
    case PD_PARQUET_ENC_PLAIN: return 0;
    case PD_PARQUET_ENC_RLE: return 3;
    case PD_PARQUET_ENC_DELTA_BINARY_PACKED: return 5;
    case PD_PARQUET_ENC_DELTA_LENGTH_BYTE_ARRAY: return 6;
    case PD_PARQUET_ENC_DELTA_BYTE_ARRAY: return 7;
    case PD_PARQUET_ENC_BYTE_STREAM_SPLIT: return 9;
    default: return -1;
    }
}

/* Validate the arguments (out and the sink given: have_sink) and options
 * and build a writer without a sink. */
static int writer_new(int have_sink,
                      const struct ArrowSchema *schema,
                      const pd_parquet_write_options *opts,
                      pd_parquet_writer **out,
                      pd_parquet_writer **wp)
{
    if (!out || !have_sink) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: NULL argument");
    }
    *out = NULL;
    pd_parquet_write_options def = PD_PARQUET_WRITE_OPTIONS_INIT;
    if (!opts) {
        opts = &def;
    }
    if (opts->version < 1 || opts->version > PD_PARQUET_WRITE_OPTIONS_VERSION) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: unknown options version %d",
                            opts->version);
    }
    switch (opts->codec) {
    case PD_CODEC_UNCOMPRESSED:
    case PD_CODEC_SNAPPY:
    case PD_CODEC_GZIP:
    case PD_CODEC_BROTLI:
    case PD_CODEC_ZSTD:
    case PD_CODEC_LZ4_RAW: break;
    default:
        return pd_set_error(PD_ERR_UNSUPPORTED, "parquet writer: codec %s cannot be written",
                            pd_parquet_codec_name(opts->codec));
    }
    if (opts->page_version != 0 && opts->page_version != 1 && opts->page_version != 2) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: page_version must be 1 or 2");
    }
    if (opts->row_group_rows < 0 || opts->page_size < 0) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: negative row group or page size");
    }
    pd_parquet_writer *w = calloc(1, sizeof *w);
    if (!w) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    w->fd = -1;
    int rc = pdw_schema_build(schema, &w->sch);
    if (rc != PD_OK) {
        free(w);
        return rc;
    }
    w->eo.codec = opts->codec;
    w->eo.level = opts->level;
    w->eo.page_size = opts->page_size ? opts->page_size : DEFAULT_PAGE_SIZE;
    w->eo.dictionary = opts->dictionary != 0;
    w->eo.page_version = opts->page_version == 2 ? 2 : 1;
    w->eo.statistics = opts->statistics != 0;
    w->eo.encoding = -1;
    w->eo.dict_limit = DEFAULT_DICT_LIMIT;
    if (opts->version >= 2) {
        w->eo.encoding = map_encoding(opts->encoding);
        w->eo.bloom = opts->bloom_filters != 0;
        if (opts->dictionary_limit > 0) {
            w->eo.dict_limit =
                opts->dictionary_limit > 0x7FFFFFFF ? 0x7FFFFFFF : opts->dictionary_limit;
        }
    }
    w->rg_rows = opts->row_group_rows ? opts->row_group_rows : DEFAULT_RG_ROWS;
    w->threads = opts->threads > 1 ? opts->threads : 1;
    if (w->threads > 64) {
        w->threads = 64;
    }
    if (opts->n_kv) {
        w->kv_keys = calloc(opts->n_kv, sizeof(char *));
        w->kv_vals = calloc(opts->n_kv, sizeof(char *));
        if (!w->kv_keys || !w->kv_vals) {
            writer_free(w);
            return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
        }
        for (size_t i = 0; i < opts->n_kv; i++) {
            if (!opts->kv_keys || !opts->kv_keys[i]) {
                writer_free(w);
                return pd_set_error(PD_ERR_INVALID, "parquet writer: key-value key %zu is NULL", i);
            }
            w->kv_keys[i] = strdup(opts->kv_keys[i]);
            w->n_kv = i + 1;
            if (!w->kv_keys[i]) {
                writer_free(w);
                return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
            }
            if (opts->kv_values && opts->kv_values[i]) {
                w->kv_vals[i] = strdup(opts->kv_values[i]);
                if (!w->kv_vals[i]) {
                    writer_free(w);
                    return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
                }
            }
        }
    }
    /* two row groups in flight at most: more workers than twice the
     * leaves would idle */
    int nw = w->threads;
    if ((size_t)nw > 2 * w->sch.nleaves) {
        nw = w->sch.nleaves ? (int)(2 * w->sch.nleaves) : 1;
    }
    w->workers = calloc((size_t)nw, sizeof(pdw_worker));
    if (!w->workers) {
        writer_free(w);
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    w->nworkers = nw;
    rc = slot_init(&w->slots[0], &w->sch);
    if (rc == PD_OK) {
        rc = pool_start(w);
    }
    if (rc == PD_OK && w->nth > 0) {
        rc = slot_init(&w->slots[1], &w->sch);
    }
    if (rc != PD_OK) {
        writer_free(w);
        return rc;
    }
    *wp = w;
    return PD_OK;
}

/* Set the sink, write the magic and hand the writer out (freed on
 * failure). */
static int
writer_start(pd_parquet_writer *w, pd_parquet_write_fn write, void *user, pd_parquet_writer **out)
{
    w->write = write;
    w->user = user;
    int rc = out_write(w, "PAR1", 4);
    if (rc != PD_OK) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return PD_OK;
}

int pd_parquet_writer_open_callback(pd_parquet_write_fn write,
                                    void *user,
                                    const struct ArrowSchema *schema,
                                    const pd_parquet_write_options *opts,
                                    pd_parquet_writer **out)
{
    pd_parquet_writer *w;
    int rc = writer_new(write != NULL, schema, opts, out, &w);
    return rc != PD_OK ? rc : writer_start(w, write, user, out);
}

int pd_parquet_writer_open_path(const char *path,
                                const struct ArrowSchema *schema,
                                const pd_parquet_write_options *opts,
                                pd_parquet_writer **out)
{
    pd_parquet_writer *w;
    int rc = writer_new(path != NULL, schema, opts, out, &w);
    if (rc != PD_OK) {
        return rc;
    }
    w->path = strdup(path);
    if (!w->path) {
        writer_free(w);
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = pd_set_error(PD_ERR_IO, "parquet writer: cannot create %s: %s", path, strerror(errno));
        writer_free(w);
        return rc;
    }
    return writer_start(w, fd_write, w, out);
}

/* ------------------------------------------------------------ row groups */

static int leaf_error(const rg_slot *s, const pdw_leaf *lf)
{
    int rc = pd_set_error(lf->rc, "%s", lf->err ? lf->err : "parquet writer: encoding failed");
    pd_error_prefix("row group %zu, column '%s'", s->rg, lf->dotted);
    return rc;
}

/* Bigger first; equal sizes in leaf order. */
static int by_size_desc(const void *pa, const void *pb)
{
    const leaf_job *a = pa, *b = pb;
    if (a->bytes != b->bytes) {
        return a->bytes > b->bytes ? -1 : 1;
    }
    return a->leaf < b->leaf ? -1 : a->leaf > b->leaf;
}

/* Queue a filled row group for encoding. */
static void submit_slot(pd_parquet_writer *w, int si)
{
    rg_slot *s = &w->slots[si];
    for (size_t i = 0; i < w->sch.nleaves; i++) {
        const pdw_leaf *lf = &s->lv[i];
        s->order[i].bytes = lf->vals.len + lf->def.len + lf->rep.len;
        s->order[i].leaf = i;
    }
    qsort(s->order, w->sch.nleaves, sizeof *s->order, by_size_desc);
    pthread_mutex_lock(&w->mu);
    s->rg = w->n_submitted++;
    s->next = s->done = 0;
    s->end = w->sch.nleaves;
    w->q[w->nq++] = si;
    if (w->nth > 0) {
        pthread_cond_broadcast(&w->work_cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* The caller's share of the work (pool lock held): run the jobs pick()
 * hands out until *done counts every leaf, sleeping while others finish. */
static void
caller_work(pd_parquet_writer *w, const size_t *done, int (*pick)(pd_parquet_writer *, job *))
{
    while (*done < w->sch.nleaves) {
        job j;
        if (pick(w, &j)) {
            pthread_mutex_unlock(&w->mu);
            run_job(w, &j, &w->workers[0]);
            pthread_mutex_lock(&w->mu);
            finish_job(w, &j);
            continue;
        }
        pthread_cond_wait(&w->done_cv, &w->mu);
    }
}

/* While waiting for the oldest row group: its unclaimed leaves, then the
 * smallest unclaimed leaves of the newer one (short detours keep the
 * oldest from waiting for the caller). */
static int pick_oldest(pd_parquet_writer *w, job *j)
{
    rg_slot *s = &w->slots[w->q[0]];
    rg_slot *newer = w->nq > 1 ? &w->slots[w->q[1]] : NULL;
    j->shred = 0;
    if (s->next < s->end) {
        j->s = s;
        j->i = s->order[s->next++].leaf;
        return 1;
    }
    if (newer && newer->next < newer->end) {
        j->s = newer;
        j->i = newer->order[--newer->end].leaf;
        return 1;
    }
    return 0;
}

static int pick_shred(pd_parquet_writer *w, job *j)
{
    if (w->sh_next >= w->sch.nleaves) {
        return 0;
    }
    j->s = w->sh_slot;
    j->i = w->sh_next++;
    j->shred = 1;
    return 1;
}

/* Wait until every leaf of the oldest submitted row group is encoded. */
static void wait_oldest(pd_parquet_writer *w)
{
    pthread_mutex_lock(&w->mu);
    caller_work(w, &w->slots[w->q[0]].done, pick_oldest);
    pthread_mutex_unlock(&w->mu);
}

/* Shred rows [row0, row0+n) of batch into every leaf of s: one job per leaf
 * with a pool (the caller takes part and waits, as the batch is only
 * borrowed); small pieces stay on the caller, where a hand-off would cost
 * more than it saves. The first failing leaf in leaf order gives the
 * error. */
static int shred_batch(
    pd_parquet_writer *w, rg_slot *s, const struct ArrowArray *batch, int64_t row0, int64_t n)
{
    size_t nl = w->sch.nleaves;
    if (w->nth == 0 || nl < 2 || n < PAR_SHRED_MIN_ROWS) {
        for (size_t i = 0; i < nl; i++) {
            int rc = pdw_shred(&s->lv[i], batch, row0, n, &w->workers[0].sc);
            if (rc != PD_OK) {
                return rc;
            }
        }
        return PD_OK;
    }
    pthread_mutex_lock(&w->mu);
    w->sh_batch = batch;
    w->sh_row0 = row0;
    w->sh_n = n;
    w->sh_next = w->sh_done = 0;
    w->sh_slot = s;
    pthread_cond_broadcast(&w->work_cv);
    caller_work(w, &w->sh_done, pick_shred);
    w->sh_slot = NULL;
    w->sh_batch = NULL;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < nl; i++) {
        if (s->lv[i].rc != PD_OK) {
            return pd_set_error(s->lv[i].rc, "%s", s->lv[i].err ? s->lv[i].err : "shred failed");
        }
    }
    return PD_OK;
}

/* Write the encoded chunks of s in leaf order and keep its RowGroup
 * metadata. */
static int write_slot(pd_parquet_writer *w, rg_slot *s)
{
    pdw_schema *sch = &w->sch;
    int64_t rg_start = w->offset;
    int64_t total_unc = 0, total_comp = 0;
    pdw_thrift t;
    pdw_t_init(&t, &w->rgmeta);
    pdw_t_begin(&t);
    pdw_t_list(&t, 1, PDW_T_STRUCT, sch->nleaves);
    for (size_t i = 0; i < sch->nleaves; i++) {
        pdw_leaf *lf = &s->lv[i];
        if (lf->rc != PD_OK) {
            return leaf_error(s, lf);
        }
        int64_t base = w->offset;
        int rc = out_write(w, lf->enc.p, lf->enc.len);
        if (rc != PD_OK) {
            return rc;
        }
        pdw_chunk_serialize(lf, w->eo.codec, base, &t);
        total_unc += lf->meta.total_uncompressed;
        total_comp += lf->meta.total_compressed;
    }
    pdw_t_i64(&t, 2, total_unc);
    pdw_t_i64(&t, 3, s->rows);
    pdw_t_i64(&t, 5, rg_start);
    pdw_t_i64(&t, 6, total_comp);
    pdw_t_field(&t, 7, PDW_T_I16);
    pdw_t_raw_i32(&t, (int32_t)(s->rg & 0x7FFF));
    pdw_t_end(&t);
    if (t.err) {
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    w->n_rg++;
    w->total_rows += s->rows;
    return PD_OK;
}

/* Write the oldest submitted row group once encoded and make its slot
 * reusable. */
static int write_oldest(pd_parquet_writer *w)
{
    rg_slot *s = &w->slots[w->q[0]];
    wait_oldest(w);
    pthread_mutex_lock(&w->mu);
    w->q[0] = w->q[1];
    w->nq--;
    pthread_mutex_unlock(&w->mu);
    int rc = write_slot(w, s);
    if (rc != PD_OK) {
        w->failed = 1;
        return rc;
    }
    for (size_t i = 0; i < w->sch.nleaves; i++) {
        pdw_leaf *lf = &s->lv[i];
        lf->def.len = lf->rep.len = lf->vals.len = 0;
        lf->nlev = lf->nval = lf->nnull = 0;
        if (lf->enc.cap > (64u << 20)) {
            pdw_buf_free(&lf->enc);
        }
    }
    s->rows = 0;
    return PD_OK;
}

/* Submit the filled row group; with a pool, keep it in flight (encoded
 * while the caller fills the other slot) after writing the previous one,
 * otherwise encode and write it now. */
static int flush_row_group(pd_parquet_writer *w)
{
    if (w->slots[w->cur].rows == 0) {
        return PD_OK;
    }
    submit_slot(w, w->cur);
    int keep = w->nth > 0 ? 1 : 0;
    while (w->nq > keep) {
        int rc = write_oldest(w);
        if (rc != PD_OK) {
            return rc;
        }
    }
    if (keep) {
        w->cur ^= 1;
    }
    return PD_OK;
}

/* Flush the partial row group and write every one still in flight. */
static int drain(pd_parquet_writer *w)
{
    int rc = flush_row_group(w);
    while (rc == PD_OK && w->nq > 0) {
        rc = write_oldest(w);
    }
    return rc;
}

int pd_parquet_writer_write(pd_parquet_writer *w, const struct ArrowArray *batch)
{
    if (!w || !batch) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: NULL argument");
    }
    if (w->failed) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: a previous write failed");
    }
    if (!batch->release) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: batch is released");
    }
    if (batch->n_children != w->sch.ncols || (batch->n_children > 0 && !batch->children)) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: batch has %lld columns, the schema %d",
                            (long long)batch->n_children, w->sch.ncols);
    }
    if (batch->length < 0 || batch->offset < 0) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: negative batch length or offset");
    }
    int64_t pos = 0;
    while (pos < batch->length) {
        rg_slot *s = &w->slots[w->cur];
        int64_t take = batch->length - pos;
        if (take > w->rg_rows - s->rows) {
            take = w->rg_rows - s->rows;
        }
        int rc = shred_batch(w, s, batch, pos, take);
        if (rc != PD_OK) {
            w->failed = 1;
            return rc;
        }
        s->rows += take;
        pos += take;
        if (s->rows >= w->rg_rows) {
            rc = flush_row_group(w);
            if (rc != PD_OK) {
                return rc;
            }
        }
    }
    return PD_OK;
}

static int write_footer(pd_parquet_writer *w)
{
    pdw_buf fb = {0};
    pdw_thrift t;
    pdw_t_init(&t, &fb);
    pdw_t_i32(&t, 1, 1);
    pdw_schema_serialize(&w->sch, &t);
    pdw_t_i64(&t, 3, w->total_rows);
    pdw_t_list(&t, 4, PDW_T_STRUCT, w->n_rg);
    pdw_t_raw_bytes(&t, w->rgmeta.p, w->rgmeta.len);
    if (w->n_kv) {
        pdw_t_list(&t, 5, PDW_T_STRUCT, w->n_kv);
        for (size_t i = 0; i < w->n_kv; i++) {
            pdw_t_begin(&t);
            pdw_t_str(&t, 1, w->kv_keys[i]);
            if (w->kv_vals[i]) {
                pdw_t_str(&t, 2, w->kv_vals[i]);
            }
            pdw_t_end(&t);
        }
    }
    pdw_t_str(&t, 6, CREATED_BY);
    pdw_t_list(&t, 7, PDW_T_STRUCT, w->sch.nleaves);
    for (size_t i = 0; i < w->sch.nleaves; i++) {
        pdw_t_begin(&t);
        pdw_t_struct(&t, 1);
        pdw_t_end(&t);
        pdw_t_end(&t);
    }
    pdw_t_end(&t);
    if (t.err || fb.len > 0xFFFFFFFFu) {
        pdw_buf_free(&fb);
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: cannot build the footer");
    }
    uint8_t tail[8];
    uint32_t fl = (uint32_t)fb.len;
    memcpy(tail, &fl, 4);
    memcpy(tail + 4, "PAR1", 4);
    int rc = out_write(w, fb.p, fb.len);
    if (rc == PD_OK) {
        rc = out_write(w, tail, 8);
    }
    pdw_buf_free(&fb);
    return rc;
}

int pd_parquet_writer_close(pd_parquet_writer *w)
{
    if (!w) {
        return pd_set_error(PD_ERR_INVALID, "parquet writer: NULL writer");
    }
    int rc = PD_OK;
    if (w->failed) {
        rc = pd_set_error(PD_ERR_INVALID, "parquet writer: closing after a failed write");
    }
    if (rc == PD_OK) {
        rc = drain(w);
    }
    if (rc == PD_OK) {
        rc = write_footer(w);
    }
    if (rc == PD_OK && w->fd >= 0 && w->sync_on_close && fsync(w->fd) != 0) {
        rc = pd_set_error(PD_ERR_IO, "parquet writer: fsync %s: %s", w->path, strerror(errno));
    }
    if (rc == PD_OK && w->fd >= 0) {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0) {
            rc = pd_set_error(PD_ERR_IO, "parquet writer: close %s: %s", w->path, strerror(errno));
        }
    }
    writer_free(w);
    return rc;
}

void pd_parquet_writer_abort(pd_parquet_writer *w)
{
    writer_free(w);
}

/* ------------------------------------------------------------ streams */

int pd_parquet_write_stream(const char *path,
                            struct ArrowArrayStream *in,
                            const pd_parquet_write_options *opts)
{
    if (!path || !in || !in->release) {
        if (in && in->release) {
            in->release(in);
        }
        return pd_set_error(PD_ERR_INVALID, "parquet writer: NULL path or released stream");
    }
    char *tmp = malloc(strlen(path) + 32);
    if (!tmp) {
        in->release(in);
        return pd_set_error(PD_ERR_NOMEM, "parquet writer: out of memory");
    }
    sprintf(tmp, "%s.tmp-%ld", path, (long)getpid());
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    pd_parquet_writer *w = NULL;
    int rc;
    int e = in->get_schema(in, &schema);
    if (e != 0) {
        const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
        rc = pd_set_error(PD_ERR, "parquet writer: stream get_schema failed: %s",
                          m ? m : strerror(e));
        goto done;
    }
    rc = pd_parquet_writer_open_path(tmp, &schema, opts, &w);
    if (rc != PD_OK) {
        goto done;
    }
    w->sync_on_close = 1;
    for (;;) {
        struct ArrowArray batch;
        memset(&batch, 0, sizeof batch);
        e = in->get_next(in, &batch);
        if (e != 0) {
            const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
            rc = pd_set_error(PD_ERR, "parquet writer: stream get_next failed: %s",
                              m ? m : strerror(e));
            break;
        }
        if (!batch.release) {
            break;
        }
        rc = pd_parquet_writer_write(w, &batch);
        batch.release(&batch);
        if (rc != PD_OK) {
            break;
        }
    }
    if (rc == PD_OK) {
        rc = pd_parquet_writer_close(w);
        w = NULL;
        if (rc == PD_OK && rename(tmp, path) != 0) {
            rc = pd_set_error(PD_ERR_IO, "parquet writer: rename %s -> %s: %s", tmp, path,
                              strerror(errno));
        }
    }
done:
    if (w) {
        pd_parquet_writer_abort(w);
    }
    if (rc != PD_OK) {
        pd_error_prefix("writing %s", path);
        unlink(tmp);
    }
    if (schema.release) {
        schema.release(&schema);
    }
    in->release(in);
    free(tmp);
    return rc;
}
