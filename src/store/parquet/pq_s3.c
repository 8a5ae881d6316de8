/*
 * store/parquet/pq_s3.c - SQL over S3 files in a DuckDB without httpfs
 * (docs/parquet_store.md, "S3 without DuckDB's httpfs").
 *
 * Each catalog connection gets a host scalar function pipedag_s3_local
 * (VARCHAR -> VARCHAR and VARCHAR[] -> VARCHAR[]) and a temporary macro
 * read_parquet(f) = parquet_scan(pipedag_s3_local(f)) that shadows the
 * built-in, so views whose stored text is read_parquet('s3://...') bind and
 * read here against local copies, while a user's DuckDB with httpfs reads
 * the same views from S3. The copies live in a private directory of this
 * store (deleted at close): files the run wrote itself are registered when
 * they are uploaded; others are downloaded once through src/fs.
 *
 * The scalar-function part of DuckDB's C API is not in the backend's
 * declarations; it is declared here and looked up in the same library.
 */
#include "store/dialect/parquet.h"
#include "store/duckdb/duck_int.h"
#include "store/parquet/pq_int.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- cache */

typedef struct pq_entry {
    char *url, *path;
    bool footer_only; /* a sparse file holding only the object's footer */
} pq_entry;

typedef struct fn_info {
    struct pdi_pq_cache *cache;
    bool footer; /* bind-only: the footer is enough */
} fn_info;

struct pdi_pq_cache {
    fn_info fi_data, fi_footer; /* extra info of the host functions */
    pd_fs *fs;
    char *dir;
    pthread_mutex_t mu;
    pq_entry *e;
    size_t n, cap;
    uint64_t seq;
    int64_t downloads, footers;
};

int pdi_pq_cache_open(pd_fs *fs, pdi_pq_cache **out)
{
    *out = NULL;
    pdi_pq_cache *c = pdi_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    const char *tmp = getenv("TMPDIR");
    char *tmpl = pdi_asprintf("%s/pipedag-s3-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!tmpl || !mkdtemp(tmpl)) {
        int rc = tmpl ? pd_set_error(PD_ERR_IO,
                                     "cannot create a directory for local copies of "
                                     "S3 files under %s",
                                     tmp && *tmp ? tmp : "/tmp")
                      : PD_ERR_NOMEM;
        free(tmpl);
        free(c);
        return rc;
    }
    c->dir = tmpl;
    c->fs = fs;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return PD_OK;
}

void pdi_pq_cache_close(pdi_pq_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].url);
        free(c->e[i].path);
    }
    free(c->e);
    pdi_rm_rf(c->dir);
    free(c->dir);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int64_t pdi_pq_cache_downloads(pdi_pq_cache *c)
{
    return c ? c->downloads : 0;
}

/* caller holds mu */
static pq_entry *find(pdi_pq_cache *c, const char *url)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].url, url))
            return &c->e[i];
    return NULL;
}

/* caller holds mu; takes ownership of path */
static int add(pdi_pq_cache *c, const char *url, char *path)
{
    pq_entry *old = find(c, url);
    if (old) {
        if (strcmp(old->path, path) != 0)
            free(old->path);
        old->path = path;
        old->footer_only = false;
        return PD_OK;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 32;
        pq_entry *e = pdi_realloc(c->e, nc * sizeof *e);
        if (!e) {
            free(path);
            return PD_ERR_NOMEM;
        }
        c->e = e;
        c->cap = nc;
    }
    c->e[c->n].url = pdi_strdup(url);
    c->e[c->n].path = path;
    c->e[c->n].footer_only = false;
    if (!c->e[c->n].url) {
        free(path);
        return PD_ERR_NOMEM;
    }
    c->n++;
    return PD_OK;
}

char *pdi_pq_cache_staging(pdi_pq_cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t k = ++c->seq;
    pthread_mutex_unlock(&c->mu);
    return pdi_asprintf("%s/%llu.parquet", c->dir, (unsigned long long)k);
}

int pdi_pq_cache_put(pdi_pq_cache *c, const char *url, const char *path)
{
    char *p = pdi_strdup(path);
    if (!p)
        return PD_ERR_NOMEM;
    pthread_mutex_lock(&c->mu);
    int rc = add(c, url, p);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int pdi_pq_cache_alias(pdi_pq_cache *c, const char *src, const char *dst)
{
    pthread_mutex_lock(&c->mu);
    pq_entry *e = find(c, src);
    int rc = PD_OK;
    if (e) {
        /* a hard link keeps the copy valid when src's entry is forgotten */
        char *p = pdi_asprintf("%s/%llu.parquet", c->dir, (unsigned long long)++c->seq);
        bool fo = e->footer_only;
        if (p && link(e->path, p) == 0) {
            rc = add(c, dst, p);
            pq_entry *d = rc == PD_OK ? find(c, dst) : NULL;
            if (d)
                d->footer_only = fo;
        } else {
            free(p);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void pdi_pq_cache_forget_prefix(pdi_pq_cache *c, const char *prefix)
{
    pthread_mutex_lock(&c->mu);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (pdi_str_starts(c->e[i].url, prefix)) {
            remove(c->e[i].path);
            free(c->e[i].url);
            free(c->e[i].path);
        } else {
            c->e[k++] = c->e[i];
        }
    }
    c->n = k;
    pthread_mutex_unlock(&c->mu);
}

/* A downloaded copy starts and ends with PAR1 (else DuckDB would name only
 * the local copy). */
static int check_magic(const char *url, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pd_set_error(PD_ERR_IO, "cannot open the local copy of %s", url);
    char head[4] = {0}, tail[4] = {0};
    bool ok = fread(head, 1, 4, f) == 4 && fseeko(f, -4, SEEK_END) == 0 &&
              fread(tail, 1, 4, f) == 4 && ftello(f) >= 12 && !memcmp(head, "PAR1", 4) &&
              !memcmp(tail, "PAR1", 4);
    fclose(f);
    return ok ? PD_OK
              : pd_set_error(PD_ERR_CORRUPT,
                             "%s is not a Parquet file (no PAR1 magic at its start and end)", url);
}

char *pdi_pq_cache_name_urls(pdi_pq_cache *c, const char *msg)
{
    pd_buf b = {0};
    pthread_mutex_lock(&c->mu);
    size_t dl = strlen(c->dir);
    const char *p = msg;
    while (*p) {
        const char *q = strstr(p, c->dir);
        if (!q) {
            pdi_buf_puts(&b, p);
            break;
        }
        pdi_buf_append(&b, p, (size_t)(q - p));
        /* the longest entry path at q */
        const pq_entry *best = NULL;
        for (size_t i = 0; i < c->n; i++) {
            size_t n = strlen(c->e[i].path);
            if (!strncmp(q, c->e[i].path, n) && (!best || n > strlen(best->path)))
                best = &c->e[i];
        }
        if (best) {
            pdi_buf_printf(&b, "%s (local copy %s)", best->url, best->path);
            p = q + strlen(best->path);
        } else {
            pdi_buf_append(&b, q, dl);
            p = q + dl;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return pdi_buf_detach(&b);
}

int pdi_pq_cache_get(pdi_pq_cache *c, const char *url, const char **path)
{
    *path = NULL;
    pthread_mutex_lock(&c->mu);
    pq_entry *e = find(c, url);
    if (e && !e->footer_only) {
        *path = e->path;
        pthread_mutex_unlock(&c->mu);
        return PD_OK;
    }
    /* download under the lock: one copy per URL, however many threads ask */
    char *p = pdi_asprintf("%s/%llu.parquet", c->dir, (unsigned long long)++c->seq);
    int rc = p ? pdi_fs_download(c->fs, url, p) : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = check_magic(url, p);
    if (rc == PD_OK) {
        c->downloads++;
        rc = add(c, url, p);
        p = NULL;
        if (rc == PD_OK)
            *path = find(c, url)->path;
    }
    if (p)
        remove(p);
    free(p);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int64_t pdi_pq_cache_footers(pdi_pq_cache *c)
{
    return c ? c->footers : 0;
}

/* The footer of `url` into a sparse local file of the object's size: the
 * leading magic and the trailing footer are real, the rest reads as
 * zeros. Enough for DuckDB to bind (it reads the schema from the footer);
 * never handed out to read data (pdi_pq_cache_get skips such entries).
 * One HEAD and one ranged GET of the tail (a second one when the footer is
 * longer than the first guess). */
#define TAIL_GUESS 16384
static int fetch_footer(pd_fs *fs, const char *url, const char *local)
{
    pd_fs_file *f = NULL;
    int rc = pdi_fs_file_open(fs, url, &f);
    if (rc)
        return rc;
    uint64_t size = pdi_fs_file_size(f);
    uint8_t *buf = NULL;
    size_t n = size < TAIL_GUESS ? (size_t)size : TAIL_GUESS;
    if (size < 12)
        rc = pd_set_error(PD_ERR_CORRUPT, "%s is not a Parquet file (%llu bytes)", url,
                          (unsigned long long)size);
    if (rc == PD_OK && !(buf = pdi_malloc(n)))
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK && pdi_fs_read_at(f, size - n, buf, n) != (int64_t)n)
        rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_IO;
    uint64_t flen = 0;
    if (rc == PD_OK) {
        if (memcmp(buf + n - 4, "PAR1", 4) != 0)
            rc = pd_set_error(PD_ERR_CORRUPT, "%s is not a Parquet file (no PAR1 at its end)", url);
        flen = (uint64_t)buf[n - 8] | (uint64_t)buf[n - 7] << 8 | (uint64_t)buf[n - 6] << 16 |
               (uint64_t)buf[n - 5] << 24;
        if (rc == PD_OK && flen + 12 > size)
            rc = pd_set_error(PD_ERR_CORRUPT,
                              "%s: Parquet footer length %llu beyond the object's %llu bytes", url,
                              (unsigned long long)flen, (unsigned long long)size);
    }
    if (rc == PD_OK && flen + 8 > n) {
        size_t m = (size_t)flen + 8;
        uint8_t *b2 = pdi_malloc(m);
        if (!b2)
            rc = PD_ERR_NOMEM;
        else if (pdi_fs_read_at(f, size - m, b2, m) != (int64_t)m)
            rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_IO;
        free(buf);
        buf = b2;
        n = m;
    }
    pdi_fs_file_close(f);
    FILE *out = rc == PD_OK ? fopen(local, "wb") : NULL;
    if (rc == PD_OK && !out)
        rc = pd_set_error(PD_ERR_IO, "cannot create %s", local);
    if (out) {
        if (fwrite("PAR1", 1, 4, out) != 4 || fseeko(out, (off_t)(size - n), SEEK_SET) != 0 ||
            fwrite(buf, 1, n, out) != n)
            rc = pd_set_error(PD_ERR_IO, "cannot write %s", local);
        if (fclose(out) != 0 && rc == PD_OK)
            rc = pd_set_error(PD_ERR_IO, "cannot write %s", local);
    }
    free(buf);
    if (rc)
        pd_error_prefix("reading the footer of %s", url);
    return rc;
}

int pdi_pq_cache_footer(pdi_pq_cache *c, const char *url, const char **path)
{
    *path = NULL;
    pthread_mutex_lock(&c->mu);
    pq_entry *e = find(c, url);
    if (e) {
        *path = e->path;
        pthread_mutex_unlock(&c->mu);
        return PD_OK;
    }
    char *p = pdi_asprintf("%s/%llu.footer.parquet", c->dir, (unsigned long long)++c->seq);
    int rc = p ? fetch_footer(c->fs, url, p) : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        c->footers++;
        rc = add(c, url, p);
        p = NULL;
        if (rc == PD_OK) {
            e = find(c, url);
            e->footer_only = true;
            *path = e->path;
        }
    }
    if (p)
        remove(p);
    free(p);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ------------------------------------------------- the host function */

/* DuckDB C API (1.x) pieces for scalar functions, declared here. */
typedef struct duck_sf_s *duck_scalar_function;
typedef struct duck_sfs_s *duck_scalar_function_set;
typedef struct duck_fi_s *duck_function_info;
typedef struct duck_vector_s *duck_vector;
typedef struct {
    union {
        struct {
            uint32_t length;
            char prefix[4];
            char *ptr;
        } pointer;
        struct {
            uint32_t length;
            char inlined[12];
        } inlined;
    } value;
} duck_string_t;
typedef struct {
    uint64_t offset, length;
} duck_list_entry;
enum { DUCK_TYPE_VARCHAR = 17 };

typedef struct sf_api {
    duck_scalar_function (*create)(void);
    void (*destroy)(duck_scalar_function *f);
    void (*set_name)(duck_scalar_function f, const char *name);
    void (*add_parameter)(duck_scalar_function f, duck_logical_type t);
    void (*set_return_type)(duck_scalar_function f, duck_logical_type t);
    void (*set_function)(duck_scalar_function f,
                         void (*fn)(duck_function_info, duck_data_chunk, duck_vector));
    void (*set_extra_info)(duck_scalar_function f, void *info, void (*destroy)(void *));
    void *(*get_extra_info)(duck_function_info info);
    void (*set_error)(duck_function_info info, const char *msg);
    duck_scalar_function_set (*create_set)(const char *name);
    void (*destroy_set)(duck_scalar_function_set *s);
    int (*add_to_set)(duck_scalar_function_set s, duck_scalar_function f);
    int (*register_set)(duck_connection conn, duck_scalar_function_set s);
    duck_logical_type (*create_logical_type)(int type);
    duck_logical_type (*create_list_type)(duck_logical_type child);
    void (*destroy_logical_type)(duck_logical_type *t);
    duck_vector (*chunk_vector)(duck_data_chunk c, uint64_t i);
    uint64_t (*chunk_size)(duck_data_chunk c);
    void *(*vector_data)(duck_vector v);
    uint64_t *(*vector_validity)(duck_vector v);
    void (*assign_string)(duck_vector v, uint64_t row, const char *s, uint64_t len);
    duck_vector (*list_child)(duck_vector v);
    uint64_t (*list_size)(duck_vector v);
    int (*list_set_size)(duck_vector v, uint64_t n);
    int (*list_reserve)(duck_vector v, uint64_t n);
    void (*ensure_validity_writable)(duck_vector v);
    uint64_t *(*vector_get_validity)(duck_vector v);
} sf_api;

static sf_api g_sf;
static int g_sf_rc = 1; /* 1 = not loaded yet */
static pthread_mutex_t g_sf_mu = PTHREAD_MUTEX_INITIALIZER;

static int load_sf(const pdi_duck_api *A)
{
    pthread_mutex_lock(&g_sf_mu);
    if (g_sf_rc == 1) {
        static const struct {
            const char *name;
            size_t off;
        } syms[] = {
#define S(n, f) {"duckdb_" n, offsetof(sf_api, f)}
            S("create_scalar_function", create),
            S("destroy_scalar_function", destroy),
            S("scalar_function_set_name", set_name),
            S("scalar_function_add_parameter", add_parameter),
            S("scalar_function_set_return_type", set_return_type),
            S("scalar_function_set_function", set_function),
            S("scalar_function_set_extra_info", set_extra_info),
            S("scalar_function_get_extra_info", get_extra_info),
            S("scalar_function_set_error", set_error),
            S("create_scalar_function_set", create_set),
            S("destroy_scalar_function_set", destroy_set),
            S("add_scalar_function_to_set", add_to_set),
            S("register_scalar_function_set", register_set),
            S("create_logical_type", create_logical_type),
            S("create_list_type", create_list_type),
            S("destroy_logical_type", destroy_logical_type),
            S("data_chunk_get_vector", chunk_vector),
            S("data_chunk_get_size", chunk_size),
            S("vector_get_data", vector_data),
            S("vector_get_validity", vector_validity),
            S("vector_assign_string_element_len", assign_string),
            S("list_vector_get_child", list_child),
            S("list_vector_get_size", list_size),
            S("list_vector_set_size", list_set_size),
            S("list_vector_reserve", list_reserve),
            S("vector_ensure_validity_writable", ensure_validity_writable),
            S("vector_get_validity", vector_get_validity),
#undef S
        };
        g_sf_rc = PD_OK;
        for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
            void *p = dlsym(A->handle, syms[i].name);
            if (!p) {
                g_sf_rc = pd_set_error(PD_ERR_UNSUPPORTED,
                                       "the DuckDB library %s lacks %s (scalar functions are "
                                       "needed for SQL over S3 files)",
                                       A->path, syms[i].name);
                break;
            }
            memcpy((char *)&g_sf + syms[i].off, &p, sizeof p);
        }
    }
    int rc = g_sf_rc;
    pthread_mutex_unlock(&g_sf_mu);
    if (rc)
        pd_set_error(rc, "the DuckDB library %s cannot register scalar functions", A->path);
    return rc;
}

static const char *str_of(duck_string_t *s, uint32_t *n)
{
    *n = s->value.inlined.length;
    return *n <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr;
}

/* One URL -> local path (non-S3 values pass through). 0 or an error. */
static int
map_one(fn_info *fi, duck_function_info info, duck_vector out, uint64_t row, duck_string_t *in)
{
    uint32_t n;
    const char *s = str_of(in, &n);
    char *url = pdi_strndup(s, n);
    if (!url) {
        g_sf.set_error(info, "pipedag_s3_local: out of memory");
        return -1;
    }
    if (!pdi_fs_is_s3(url)) {
        g_sf.assign_string(out, row, s, n);
        free(url);
        return 0;
    }
    const char *path = NULL;
    int rc = fi->footer ? pdi_pq_cache_footer(fi->cache, url, &path)
                        : pdi_pq_cache_get(fi->cache, url, &path);
    if (rc) {
        char *m = pdi_asprintf("pipedag_s3_local: %s", pd_last_error());
        g_sf.set_error(info, m ? m : "pipedag_s3_local: download failed");
        free(m);
        free(url);
        return -1;
    }
    g_sf.assign_string(out, row, path, strlen(path));
    free(url);
    return 0;
}

static void fn_varchar(duck_function_info info, duck_data_chunk in, duck_vector out)
{
    fn_info *c = g_sf.get_extra_info(info);
    uint64_t n = g_sf.chunk_size(in);
    duck_vector v = g_sf.chunk_vector(in, 0);
    duck_string_t *d = g_sf.vector_data(v);
    uint64_t *valid = g_sf.vector_validity(v);
    for (uint64_t i = 0; i < n; i++) {
        if (valid && !(valid[i / 64] & (1ull << (i % 64)))) {
            g_sf.set_error(info, "pipedag_s3_local: NULL file name");
            return;
        }
        if (map_one(c, info, out, i, &d[i]))
            return;
    }
}

static void fn_list(duck_function_info info, duck_data_chunk in, duck_vector out)
{
    fn_info *c = g_sf.get_extra_info(info);
    uint64_t n = g_sf.chunk_size(in);
    duck_vector iv = g_sf.chunk_vector(in, 0);
    duck_list_entry *le = g_sf.vector_data(iv);
    duck_vector ic = g_sf.list_child(iv);
    duck_string_t *d = g_sf.vector_data(ic);
    uint64_t total = g_sf.list_size(iv);
    duck_list_entry *oe = g_sf.vector_data(out);
    if (g_sf.list_reserve(out, total) != 0) {
        g_sf.set_error(info, "pipedag_s3_local: out of memory");
        return;
    }
    duck_vector oc = g_sf.list_child(out);
    for (uint64_t i = 0; i < n; i++) {
        oe[i] = le[i];
        for (uint64_t k = le[i].offset; k < le[i].offset + le[i].length; k++)
            if (map_one(c, info, oc, k, &d[k]))
                return;
    }
    g_sf.list_set_size(out, total);
}

static duck_scalar_function make_fn(fn_info *fi, const char *name, duck_logical_type t, bool list)
{
    duck_scalar_function f = g_sf.create();
    g_sf.set_name(f, name);
    g_sf.add_parameter(f, t);
    g_sf.set_return_type(f, t);
    g_sf.set_function(f, list ? fn_list : fn_varchar);
    g_sf.set_extra_info(f, fi, NULL);
    return f;
}

/* One function set (VARCHAR and VARCHAR[] overloads) named `name`. The
 * info lives in the cache (functions are registered per connection and
 * the cache outlives every connection). */
static int register_set(pdi_pq_cache *cache, pdi_duck_conn *c, const char *name, bool footer)
{
    fn_info *fi = footer ? &cache->fi_footer : &cache->fi_data;
    fi->cache = cache;
    fi->footer = footer;
    duck_logical_type vc = g_sf.create_logical_type(DUCK_TYPE_VARCHAR);
    duck_logical_type lv = g_sf.create_list_type(vc);
    duck_scalar_function f1 = make_fn(fi, name, vc, false);
    duck_scalar_function f2 = make_fn(fi, name, lv, true);
    duck_scalar_function_set set = g_sf.create_set(name);
    int rc = PD_OK;
    if (g_sf.add_to_set(set, f1) != 0 || g_sf.add_to_set(set, f2) != 0 ||
        g_sf.register_set(c->conn, set) != 0)
        rc = pd_set_error(PD_ERR_SQL, "DuckDB refused the host function %s", name);
    g_sf.destroy(&f1);
    g_sf.destroy(&f2);
    g_sf.destroy_set(&set);
    g_sf.destroy_logical_type(&lv);
    g_sf.destroy_logical_type(&vc);
    return rc;
}

int pdi_pq_s3_register(pdi_pq_cache *cache, pdi_duck_conn *c)
{
    int rc = load_sf(c->A);
    if (rc == PD_OK)
        rc = register_set(cache, c, pdi_sql_pq_s3_function(), false);
    if (rc == PD_OK)
        rc = register_set(cache, c, pdi_sql_pq_s3_bind_function(), true);
    if (rc == PD_OK)
        rc = pdi_pq_s3_bind_only(c, false);
    return rc;
}

int pdi_pq_s3_bind_only(pdi_duck_conn *c, bool on)
{
    char *m = on ? pdi_sql_pq_s3_bind_macro() : pdi_sql_pq_s3_macro();
    int rc = m ? pdi_duck_exec(c, m) : PD_ERR_NOMEM;
    free(m);
    return rc;
}

int pdi_pq_bind_views(pdi_pq *P, pdi_duck_conn *c, bool on)
{
    return P->s3 ? pdi_pq_s3_bind_only(c, on) : PD_OK;
}
