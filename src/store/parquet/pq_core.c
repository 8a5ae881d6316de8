/*
 * store/parquet/pq_core.c - the Parquet store's operations on files and
 * catalog views (docs/parquet_store.md): one Parquet file per table under
 * <base>/<instance_id>/<slot>/, a read_parquet view per table in the slot
 * schema of the DuckDB catalog. The store layer (backend + hooks) calls
 * these with a catalog connection; SQL text comes from the dialects.
 */
#include "pipedag/parquet.h"
#include "store/backend.h"
#include "store/dialect/dialect.h"
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/pq_int.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

static const pdi_dialect *duck(void)
{
    return pdi_dialect_get("duckdb");
}

int pdi_pq_open(const pdi_pq_args *a, pdi_pq **out)
{
    *out = NULL;
    pdi_pq *P = pdi_calloc(1, sizeof *P);
    if (!P)
        return PD_ERR_NOMEM;
    P->print_materialize = a->print_materialize;
    P->page_version = a->page_version;
    pthread_mutex_init(&P->mu, NULL);
    int rc = PD_OK;
    P->base = pdi_pq_normalize_base(a->base_path);
    if (!P->base)
        rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        P->s3 = pdi_fs_is_s3(P->base);
        P->inst = pdi_pq_instance_prefix(P->base, a->instance_id);
        if (!P->inst)
            rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    }
    if (rc == PD_OK) {
        pd_fs_config fc;
        memset(&fc, 0, sizeof fc);
        fc.version = PD_FS_CONFIG_VERSION;
        fc.endpoint_url = a->s3_endpoint_url;
        fc.url_style = a->s3_url_style;
        fc.region = a->s3_region;
        rc = pdi_fs_open(&fc, &P->fs);
    }
    if (rc == PD_OK)
        rc = pdi_fs_check_base(P->fs, P->base, true);
    if (rc == PD_OK && P->s3)
        rc = pdi_pq_cache_open(P->fs, &P->cache);
    if (rc) {
        pd_error_prefix("parquet_base_path %s", a->base_path ? a->base_path : "");
        pdi_pq_close(P);
        return rc;
    }
    *out = P;
    return PD_OK;
}

void pdi_pq_close(pdi_pq *P)
{
    if (!P)
        return;
    pdi_pq_sync_close(P->sync);
    pdi_pq_cache_close(P->cache);
    pdi_fs_close(P->fs);
    pdi_strv_free(&P->dirty);
    pthread_mutex_destroy(&P->mu);
    free(P->base);
    free(P->inst);
    free(P);
}

int pdi_pq_conn_setup(pdi_pq *P, pdi_duck_conn *c)
{
    return P->s3 ? pdi_pq_s3_register(P->cache, c) : PD_OK;
}

char *pdi_pq_slot_url(pdi_pq *P, const char *slot)
{
    return pdi_pq_slot_prefix(P->inst, slot);
}

char *pdi_pq_file_url(pdi_pq *P, const char *slot, const char *table)
{
    char *sp = pdi_pq_slot_prefix(P->inst, slot);
    char *u = sp ? pdi_pq_table_url(sp, table) : NULL;
    free(sp);
    return u;
}

int pdi_pq_slot_init(pdi_pq *P, const char *slot)
{
    pthread_mutex_lock(&P->mu);
    int rc = pdi_strv_contains(&P->dirty, slot) ? PD_OK : pdi_strv_push(&P->dirty, slot);
    pthread_mutex_unlock(&P->mu);
    return rc;
}

static int clean_locked(pdi_pq *P, const char *slot)
{
    if (P->s3 && !P->uploads_cleaned) {
        /* what a killed run left: incomplete multipart uploads - before the
         * run's first write, so that a fully cached run makes no request
         * for it */
        P->uploads_cleaned = true;
        if (pdi_fs_cleanup_incomplete(P->fs, P->inst, NULL) != PD_OK) {
            pdi_log(PD_LOG_WARN, "parquet_base_path %s: cleaning up incomplete uploads: %s",
                    P->base, pd_last_error());
            pd_clear_error();
        }
    }
    char *sp = pdi_pq_slot_url(P, slot);
    if (!sp)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    pd_fs_entry *e = NULL;
    size_t n = 0;
    int rc = pdi_fs_list(P->fs, sp, &e, &n);
    if (rc == PD_ERR_NOT_FOUND) {
        pd_clear_error();
        rc = PD_OK;
        n = 0;
    }
    if (rc == PD_OK && n > 0) {
        rc = pdi_fs_delete_prefix(P->fs, sp);
        if (rc == PD_OK)
            P->n_files_deleted += (int64_t)n;
    }
    pdi_fs_entries_free(e, n);
    if (P->cache)
        pdi_pq_cache_forget_prefix(P->cache, sp);
    if (rc == PD_OK && !P->s3)
        rc = pdi_fs_check_base(P->fs, sp, true);
    if (rc)
        pd_error_prefix("clearing the files of slot %s (%s)", slot, sp);
    free(sp);
    return rc;
}

int pdi_pq_slot_clean(pdi_pq *P, const char *slot)
{
    pthread_mutex_lock(&P->mu);
    int rc = PD_OK;
    for (size_t i = 0; i < P->dirty.n; i++) {
        if (strcmp(P->dirty.items[i], slot) != 0)
            continue;
        rc = clean_locked(P, slot);
        if (rc == PD_OK) {
            free(P->dirty.items[i]);
            P->dirty.items[i] = P->dirty.items[--P->dirty.n];
        }
        break;
    }
    pthread_mutex_unlock(&P->mu);
    return rc;
}

/* CREATE VIEW slot.table AS read_parquet(files); with team sharing the
 * view is recorded in sync_views. */
static int create_file_view(pdi_pq *P,
                            pdi_duck_conn *c,
                            const char *slot,
                            const char *table,
                            const char *const *files,
                            size_t n)
{
    char *sel = pdi_sql_pq_read_select(files, n);
    char *sql = sel ? pdi_sql_create_view(duck(), slot, table, sel) : NULL;
    int rc = sql ? pdi_pq_bind_views(P, c, true) : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        /* binding needs the files' footers only (S3: no download) */
        rc = pdi_duck_exec(c, sql);
        int r2 = pdi_pq_bind_views(P, c, false);
        if (rc == PD_OK)
            rc = r2;
    }
    free(sel);
    free(sql);
    if (rc == PD_OK && P->sync) {
        pd_buf b = {0};
        for (size_t i = 0; i < n; i++)
            pdi_buf_printf(&b, "%s%s", i ? "\n" : "", files[i]);
        char *target = pdi_buf_detach(&b);
        rc = target ? pdi_pq_sync_record(P->sync, slot, table, target, "parquet") : PD_ERR_NOMEM;
        free(target);
    }
    return rc;
}

static void log_write(pdi_pq *P, const char *slot, const char *table, const char *url)
{
    if (P->print_materialize)
        pdi_log(PD_LOG_INFO, "Writing table %s.%s to %s", slot, table, url);
}

typedef struct huge_cols {
    pd_strv cols;
} huge_cols;

static int huge_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    huge_cols *h = user;
    if (ncols >= 2 && vals[0] && vals[1] &&
        (!strcmp(vals[1], "HUGEINT") || !strcmp(vals[1], "UHUGEINT")))
        return pdi_strv_push(&h->cols, vals[0]);
    return PD_OK;
}

/* The select to COPY: HUGEINT columns (SUM of integers, ...) cast to an
 * exact Parquet type (see pdi_sql_pq_exact_select). */
static int exact_select(pdi_duck_conn *c, const char *select, char **out)
{
    *out = NULL;
    char *d = pdi_sql_pq_describe(select);
    huge_cols h = {0};
    int rc = d ? pdi_duck_query(c, d, 0, NULL, huge_row, &h) : PD_ERR_NOMEM;
    if (rc == PD_OK)
        *out = h.cols.n
                   ? pdi_sql_pq_exact_select(select, (const char *const *)h.cols.items, h.cols.n)
                   : pdi_strdup(select);
    if (rc == PD_OK && !*out)
        rc = PD_ERR_NOMEM;
    pdi_strv_free(&h.cols);
    free(d);
    return rc;
}

int pdi_pq_write_sql(
    pdi_pq *P, pdi_duck_conn *c, const char *slot, const char *table, const char *select)
{
    char *url = pdi_pq_file_url(P, slot, table);
    if (!url)
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    log_write(P, slot, table, url);
    int rc0 = pdi_pq_slot_clean(P, slot);
    if (rc0) {
        free(url);
        return rc0;
    }
    char *target = P->s3 ? pdi_pq_cache_staging(P->cache) : pdi_strdup(url);
    char *sel = NULL;
    int rc = target ? exact_select(c, select, &sel) : PD_ERR_NOMEM;
    char *copy = rc == PD_OK ? pdi_sql_pq_copy_to(sel, target) : NULL;
    if (rc == PD_OK)
        rc = copy ? pdi_duck_exec(c, copy) : PD_ERR_NOMEM;
    free(sel);
    pdi_crash_point("parquet_after_copy");
    if (rc == PD_OK && P->s3) {
        rc = pdi_fs_upload(P->fs, target, url);
        if (rc == PD_OK)
            rc = pdi_pq_cache_put(P->cache, url, target);
        else
            remove(target);
        pdi_crash_point("parquet_after_upload");
    }
    if (rc == PD_OK) {
        P->n_files_written++;
        const char *f[1] = {url};
        rc = create_file_view(P, c, slot, table, f, 1);
    }
    if (rc && P->cache) { /* DuckDB names local copies: name their objects */
        char *m = pdi_pq_cache_name_urls(P->cache, pd_last_error());
        if (m)
            pd_set_error(rc, "%s", m);
        free(m);
    }
    if (rc)
        pd_error_prefix("writing table %s.%s", slot, table);
    free(copy);
    free(target);
    free(url);
    return rc;
}

int pdi_pq_write_arrow(
    pdi_pq *P, pdi_duck_conn *c, const char *slot, const char *table, struct ArrowArrayStream *in)
{
    char *url = pdi_pq_file_url(P, slot, table);
    if (!url) {
        if (in && in->release)
            in->release(in);
        return pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    }
    log_write(P, slot, table, url);
    int rc = pdi_pq_slot_clean(P, slot);
    if (rc) {
        if (in && in->release)
            in->release(in);
        free(url);
        return rc;
    }
    rc = pdi_pq_write_stream(P->fs, url, P->page_version, in, NULL);
    pdi_crash_point("parquet_after_upload");
    if (rc == PD_OK) {
        P->n_files_written++;
        const char *f[1] = {url};
        rc = create_file_view(P, c, slot, table, f, 1);
    }
    if (rc)
        pd_error_prefix("writing table %s.%s", slot, table);
    free(url);
    return rc;
}

typedef struct one_text {
    char *v;
    int n;
} one_text;

static int one_text_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    one_text *o = user;
    o->n++;
    if (ncols >= 1 && vals[0] && !o->v) {
        o->v = pdi_strdup(vals[0]);
        if (!o->v)
            return PD_ERR_NOMEM;
    }
    return PD_OK;
}

int pdi_pq_files_of(
    pdi_pq *P, pdi_duck_conn *c, const char *schema, const char *table, pd_strv *files, bool *found)
{
    (void)P;
    *found = false;
    char *q = pdi_sql_pq_view_sql();
    if (!q)
        return PD_ERR_NOMEM;
    char *s = pdi_strdup(schema), *t = pdi_strdup(table);
    int rc = s && t ? PD_OK : PD_ERR_NOMEM;
    /* base view -> slot view -> read_parquet(...); a few hops at most */
    for (int hop = 0; rc == PD_OK && hop < 8; hop++) {
        one_text o = {0};
        const char *p[2] = {s, t};
        rc = pdi_duck_query(c, q, 2, p, one_text_row, &o);
        if (rc || !o.v) {
            free(o.v);
            break;
        }
        bool f = false;
        rc = pdi_pq_files_of_view_sql(o.v, files, &f);
        if (rc == PD_OK && f) {
            *found = true;
            free(o.v);
            break;
        }
        char *ns = NULL, *nt = NULL;
        if (rc == PD_OK)
            rc = pdi_pq_target_of_view_sql(o.v, &ns, &nt, &f);
        free(o.v);
        if (rc || !f)
            break;
        free(s);
        free(t);
        s = ns;
        t = nt;
    }
    free(q);
    free(s);
    free(t);
    return rc;
}

int pdi_pq_read_arrow(pdi_pq *P,
                      pdi_duck_conn *c,
                      const char *schema,
                      const char *table,
                      int64_t limit,
                      struct ArrowArrayStream *out)
{
    pd_strv files = {0};
    bool found = false;
    char *shape = NULL;
    int rc = pdi_pq_view_of(c, schema, table, &files, &shape, NULL, &found);
    if (rc == PD_OK && found && shape) {
        /* a shaped View: the same files, the shape applied here */
        pd_view_shape v;
        rc = pdi_view_shape_parse(shape, table, &v, NULL);
        struct ArrowArrayStream raw = {0};
        if (rc == PD_OK)
            rc = pdi_pq_open_stream(P->fs, (const char *const *)files.items, files.n, -1, &raw);
        if (rc == PD_OK) {
            if (limit >= 0 && (v.limit < 0 || limit < v.limit))
                v.limit = limit;
            char *what = pdi_asprintf("view %s.%s", schema, table);
            rc = pdi_pq_shape_stream(&raw, &v, what ? what : table, out);
            free(what);
        }
        pdi_view_shape_free(&v);
    } else if (rc == PD_OK && found) {
        rc = pdi_pq_open_stream(P->fs, (const char *const *)files.items, files.n, limit, out);
    } else if (rc == PD_OK) {
        /* not a file view (raw SQL made it in the catalog): ask DuckDB */
        char *sel = pdi_sql_select_all(duck(), schema, table);
        char *sql = sel && limit >= 0 ? pdi_sql_limit(duck(), sel, limit) : pdi_strdup(sel);
        rc = sql ? pdi_duck_query_arrow(c, sql, out) : PD_ERR_NOMEM;
        free(sel);
        free(sql);
    }
    pdi_strv_free(&files);
    free(shape);
    if (rc)
        pd_error_prefix("reading table %s.%s", schema, table);
    return rc;
}

int pdi_pq_write_view(pdi_pq *P,
                      pdi_duck_conn *c,
                      const char *slot,
                      const char *table,
                      const char *const *src_schemas,
                      const char *const *src_tables,
                      size_t n,
                      const char *shape_json)
{
    pd_strv files = {0};
    int rc = n ? pdi_pq_slot_clean(P, slot)
               : pd_set_error(PD_ERR_INVALID, "view %s has no source tables", table);
    for (size_t i = 0; i < n && rc == PD_OK; i++) {
        bool found = false;
        char *shape = NULL;
        rc = pdi_pq_view_of(c, src_schemas[i], src_tables[i], &files, &shape, NULL, &found);
        if (rc == PD_OK && !found)
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "view %s: source %s.%s is not a Parquet table of this store (a "
                              "View over catalog tables made by raw SQL is not supported)",
                              table, src_schemas[i], src_tables[i]);
        if (rc == PD_OK && shape)
            rc = pd_set_error(PD_ERR_UNSUPPORTED,
                              "view %s: source %s.%s is a View with columns, sort or limit; a "
                              "View over it is not supported on the Parquet store (give the "
                              "shape to one View over the tables)",
                              table, src_schemas[i], src_tables[i]);
        free(shape);
    }
    if (rc == PD_OK && shape_json)
        rc = pdi_pq_record_shaped(P, c, slot, table, (const char *const *)files.items, files.n,
                                  shape_json);
    else if (rc == PD_OK)
        rc = create_file_view(P, c, slot, table, (const char *const *)files.items, files.n);
    if (rc)
        pd_error_prefix("creating view %s.%s", slot, table);
    pdi_strv_free(&files);
    return rc;
}

int pdi_pq_copy(pdi_pq *P,
                pdi_duck_conn *c,
                const char *from_schema,
                const char *from_table,
                const char *to_schema,
                const char *to_table)
{
    pd_strv files = {0};
    bool found = false;
    char *dst = NULL, *shape = NULL, *from_slot = NULL;
    int rc = pdi_pq_slot_clean(P, to_schema);
    if (rc == PD_OK)
        rc = pdi_pq_view_of(c, from_schema, from_table, &files, &shape, &from_slot, &found);
    if (rc == PD_OK && found && (shape || files.n != 1)) {
        /* a View (several files, or a shape): same definition, its files
         * in the old slot (cache-valid sources of this stage, copied
         * before it) read from the new slot */
        rc = pdi_pq_remap_slot(P, &files, from_slot, to_schema);
        if (rc == PD_OK && shape)
            rc = pdi_pq_record_shaped(P, c, to_schema, to_table, (const char *const *)files.items,
                                      files.n, shape);
        else if (rc == PD_OK)
            rc = create_file_view(P, c, to_schema, to_table, (const char *const *)files.items,
                                  files.n);
    } else if (rc == PD_OK && found) {
        /* one file (a table's own file, wherever the view chain leads):
         * copied */
        {
            dst = pdi_pq_file_url(P, to_schema, to_table);
            rc = dst ? pdi_fs_copy(P->fs, files.items[0], dst) : PD_ERR_NOMEM;
            if (rc == PD_OK) {
                P->n_files_copied++;
                if (P->cache)
                    pdi_pq_cache_alias(P->cache, files.items[0], dst);
                const char *f[1] = {dst};
                rc = create_file_view(P, c, to_schema, to_table, f, 1);
            }
        }
    } else if (rc == PD_OK) {
        char *sel = pdi_sql_select_all(duck(), from_schema, from_table);
        char *sql = sel ? pdi_sql_ctas(duck(), to_schema, to_table, sel, false) : NULL;
        rc = sql ? pdi_duck_exec(c, sql) : PD_ERR_NOMEM;
        free(sel);
        free(sql);
    }
    if (rc)
        pd_error_prefix("copying %s.%s to %s.%s", from_schema, from_table, to_schema, to_table);
    free(dst);
    free(shape);
    free(from_slot);
    pdi_strv_free(&files);
    return rc;
}
