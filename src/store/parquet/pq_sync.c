/*
 * store/parquet/pq_sync.c - team sharing (docs/parquet_store.md, "Team
 * sharing"): several catalog files mirror the same Parquet data through
 * the table sync_views of a shared metadata store. Each catalog has a
 * random user_id (table user_id of its own metadata schema).
 *
 * Rules (PIPEDAG_SEMANTICS.md §6.4): creating a view in schema S records
 * (S, view, me, target, parquet|schema) and marks other users' rows of
 * that view obsolete; clearing a schema deletes its rows; syncing a schema
 * drops my local views marked obsolete for me (and their rows), drops every
 * local view of the schema if I have no row there, then creates every view
 * recorded by another user. The session to the metadata store is this
 * file's own (opened through the backend interface); rows are written as
 * views are created, outside the metadata store's commit transaction.
 */
#include "store/backend.h"
#include "store/dialect/dialect.h"
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/pq_int.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct pdi_pq_sync {
    const pdi_backend *be;
    pdi_db *db;
    pdi_conn *c;
    const pdi_dialect *md;
    char *meta; /* physical pipedag_metadata of the metadata store */
    char user_id[64];
    pthread_mutex_t mu;
};

static int mexec(pdi_pq_sync *y, char *sql, size_t np, const char *const *p)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = y->be->query(y->c, sql, np, p, NULL, NULL);
    free(sql);
    return rc;
}

static int first_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    char *out = user;
    if (ncols > 0 && vals[0] && !out[0])
        snprintf(out, 64, "%s", vals[0]);
    return PD_OK;
}

int pdi_pq_sync_open(const pd_store_config *msc,
                     const char *instance_id,
                     pdi_duck_conn *catalog,
                     const char *catalog_meta,
                     pdi_pq_sync **out)
{
    *out = NULL;
    pdi_pq_sync *y = pdi_calloc(1, sizeof *y);
    if (!y)
        return PD_ERR_NOMEM;
    pthread_mutex_init(&y->mu, NULL);
    int rc = pdi_backend_open_conn(msc, instance_id, &y->be, &y->db, &y->c);
    if (rc == PD_OK) {
        y->md = y->db->d;
        y->meta =
            pdi_sql_physical_schema(msc->schema_prefix, "pipedag_metadata", msc->schema_suffix);
        rc = y->meta ? mexec(y, pdi_sql_create_schema(y->md, y->meta), 0, NULL) : PD_ERR_NOMEM;
    }
    if (rc == PD_OK)
        rc = mexec(y, pdi_sql_pq_sync_views_ddl(y->md, y->meta), 0, NULL);
    /* this catalog's user_id */
    const pdi_dialect *dd = pdi_dialect_get("duckdb");
    if (rc == PD_OK) {
        char *s = pdi_sql_create_schema(dd, catalog_meta);
        rc = s ? pdi_duck_exec(catalog, s) : PD_ERR_NOMEM;
        free(s);
    }
    if (rc == PD_OK) {
        char *s = pdi_sql_pq_user_id_ddl(dd, catalog_meta);
        rc = s ? pdi_duck_exec(catalog, s) : PD_ERR_NOMEM;
        free(s);
    }
    if (rc == PD_OK) {
        char *s = pdi_sql_pq_user_id_get(dd, catalog_meta);
        rc = s ? pdi_duck_query(catalog, s, 0, NULL, first_row, y->user_id) : PD_ERR_NOMEM;
        free(s);
    }
    if (rc == PD_OK && !y->user_id[0]) {
        char a[PD_HASH_LEN + 1], b[PD_HASH_LEN + 1];
        pdi_random_id(a);
        pdi_random_id(b);
        snprintf(y->user_id, sizeof y->user_id, "%s%s", a, b);
        char *s = pdi_sql_pq_user_id_set(dd, catalog_meta);
        const char *p[1] = {y->user_id};
        rc = s ? pdi_duck_query(catalog, s, 1, p, NULL, NULL) : PD_ERR_NOMEM;
        free(s);
    }
    if (rc) {
        pd_error_prefix("team sharing (sync_views in the metadata_table_store)");
        pdi_pq_sync_close(y);
        return rc;
    }
    *out = y;
    return PD_OK;
}

void pdi_pq_sync_close(pdi_pq_sync *y)
{
    if (!y)
        return;
    pdi_backend_disconnect_close(y->be, y->db, y->c);
    free(y->meta);
    pthread_mutex_destroy(&y->mu);
    free(y);
}

const char *pdi_pq_sync_user(const pdi_pq_sync *y)
{
    return y->user_id;
}

int pdi_pq_sync_record(
    pdi_pq_sync *y, const char *schema, const char *view, const char *target, const char *type)
{
    pthread_mutex_lock(&y->mu);
    const char *k[3] = {schema, view, y->user_id};
    const char *ins[5] = {schema, view, y->user_id, target, type};
    int rc = y->be->begin(y->c);
    if (rc == PD_OK)
        rc = mexec(y, pdi_sql_pq_sync_delete_row(y->md, y->meta), 3, k);
    if (rc == PD_OK)
        rc = mexec(y, pdi_sql_pq_sync_insert(y->md, y->meta), 5, ins);
    if (rc == PD_OK)
        rc = mexec(y, pdi_sql_pq_sync_obsolete_others(y->md, y->meta), 3, k);
    if (rc == PD_OK)
        rc = y->be->commit(y->c);
    else
        y->be->rollback(y->c);
    pthread_mutex_unlock(&y->mu);
    return rc;
}

int pdi_pq_sync_clear_schema(pdi_pq_sync *y, const char *schema)
{
    pthread_mutex_lock(&y->mu);
    const char *p[1] = {schema};
    int rc = mexec(y, pdi_sql_pq_sync_clear_schema(y->md, y->meta), 1, p);
    pthread_mutex_unlock(&y->mu);
    return rc;
}

typedef struct sync_row {
    char *view, *user, *target, *type;
    bool obsolete;
} sync_row;

typedef struct sync_rows {
    sync_row *r;
    size_t n, cap;
} sync_rows;

static int rows_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    sync_rows *s = user;
    if (ncols < 5)
        return PD_OK;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        sync_row *r = pdi_realloc(s->r, nc * sizeof *r);
        if (!r)
            return PD_ERR_NOMEM;
        s->r = r;
        s->cap = nc;
    }
    sync_row *r = &s->r[s->n++];
    r->view = pdi_strdup(v[0] ? v[0] : "");
    r->user = pdi_strdup(v[1] ? v[1] : "");
    r->target = pdi_strdup(v[2] ? v[2] : "");
    r->type = pdi_strdup(v[3] ? v[3] : "");
    r->obsolete = v[4] && strcmp(v[4], "0") != 0;
    return r->view && r->user && r->target && r->type ? PD_OK : PD_ERR_NOMEM;
}

static void rows_free(sync_rows *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->r[i].view);
        free(s->r[i].user);
        free(s->r[i].target);
        free(s->r[i].type);
    }
    free(s->r);
}

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    return ncols > 0 && vals[0] ? pdi_strv_push(user, vals[0]) : PD_OK;
}

static int cexec(pdi_duck_conn *c, char *sql)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = pdi_duck_exec(c, sql);
    free(sql);
    return rc;
}

/* The select of a recorded view: parquet target = one file URL, or several
 * joined by newlines; schema target = the same-named view there. */
static char *select_of(const sync_row *r, const char *view)
{
    if (!strcmp(r->type, "schema"))
        return pdi_sql_select_all(pdi_dialect_get("duckdb"), r->target, view);
    pd_strv f = {0};
    const char *p = r->target;
    while (*p) {
        size_t n = strcspn(p, "\n");
        char *one = pdi_strndup(p, n);
        if (!one || pdi_strv_push_owned(&f, one)) {
            pdi_strv_free(&f);
            return NULL;
        }
        p += n;
        if (*p)
            p++;
    }
    char *s = f.n ? pdi_sql_pq_read_select((const char *const *)f.items, f.n) : NULL;
    pdi_strv_free(&f);
    return s;
}

static int create_shaped(pdi_duck_conn *c, const char *schema, const char *view, const char *target)
{
    pd_strv lines = {0};
    const char *p = target;
    int rc = PD_OK;
    while (*p && rc == PD_OK) {
        size_t n = strcspn(p, "\n");
        char *one = pdi_strndup(p, n);
        rc = one ? pdi_strv_push_owned(&lines, one) : PD_ERR_NOMEM;
        p += n;
        if (*p)
            p++;
    }
    if (rc == PD_OK && (lines.n < 2 || lines.items[lines.n - 1][0] != '{'))
        rc =
            pd_set_error(PD_ERR_CORRUPT, "sync_views row of view %s.%s is malformed", schema, view);
    if (rc == PD_OK)
        rc = pdi_pq_create_shaped(c, schema, view, (const char *const *)lines.items, lines.n - 1,
                                  lines.items[lines.n - 1]);
    pdi_strv_free(&lines);
    return rc;
}

int pdi_pq_sync_schema(pdi_pq_sync *y, pdi_duck_conn *c, const char *schema, int *created)
{
    const pdi_dialect *dd = pdi_dialect_get("duckdb");
    sync_rows rows = {0};
    pthread_mutex_lock(&y->mu);
    const char *p[1] = {schema};
    char *q = pdi_sql_pq_sync_rows(y->md, y->meta);
    int rc = q ? y->be->query(y->c, q, 1, p, rows_row, &rows) : PD_ERR_NOMEM;
    free(q);
    bool mine = false;
    for (size_t i = 0; i < rows.n && rc == PD_OK; i++) {
        if (strcmp(rows.r[i].user, y->user_id) != 0)
            continue;
        mine = true;
        if (rows.r[i].obsolete) {
            rc = cexec(c, pdi_sql_drop_view(dd, schema, rows.r[i].view));
            const char *k[3] = {schema, rows.r[i].view, y->user_id};
            if (rc == PD_OK)
                rc = mexec(y, pdi_sql_pq_sync_delete_row(y->md, y->meta), 3, k);
        }
    }
    pthread_mutex_unlock(&y->mu);
    pd_strv local = {0};
    if (rc == PD_OK && !mine) {
        q = pdi_sql_list_objects(dd, schema);
        rc = q ? pdi_duck_query(c, q, 0, NULL, strv_row, &local) : PD_ERR_NOMEM;
        free(q);
        for (size_t i = 0; i < local.n && rc == PD_OK; i++)
            rc = cexec(c, pdi_sql_drop_view(dd, schema, local.items[i]));
    }
    bool any_other = false;
    for (size_t i = 0; i < rows.n && rc == PD_OK; i++)
        if (strcmp(rows.r[i].user, y->user_id) != 0 && !rows.r[i].obsolete)
            any_other = true;
    if (rc == PD_OK && any_other)
        rc = cexec(c, pdi_sql_create_schema(dd, schema));
    for (size_t i = 0; i < rows.n && rc == PD_OK; i++) {
        const sync_row *r = &rows.r[i];
        if (!strcmp(r->user, y->user_id) || r->obsolete)
            continue;
        if (!strcmp(r->type, "parquet_view")) {
            /* a shaped View: files, then the shape JSON, one a line */
            rc = cexec(c, pdi_sql_drop_view(dd, schema, r->view));
            if (rc == PD_OK)
                rc = create_shaped(c, schema, r->view, r->target);
            if (rc == PD_OK && created)
                (*created)++;
            continue;
        }
        char *sel = select_of(r, r->view);
        char *v = sel ? pdi_sql_create_view(dd, schema, r->view, sel) : NULL;
        /* replace whatever this catalog had under that name */
        if (v)
            rc = cexec(c, pdi_sql_drop_view(dd, schema, r->view));
        if (rc == PD_OK)
            rc = v ? pdi_duck_exec(c, v) : PD_ERR_NOMEM;
        free(sel);
        free(v);
        if (rc == PD_OK && created)
            (*created)++;
    }
    pdi_strv_free(&local);
    rows_free(&rows);
    if (rc)
        pd_error_prefix("syncing the views of schema %s from sync_views", schema);
    return rc;
}

int pdi_pq_sync_schemas(pdi_pq_sync *y, pd_strv *out)
{
    pthread_mutex_lock(&y->mu);
    char *q = pdi_sql_pq_sync_schemas(y->md, y->meta);
    int rc = q ? y->be->query(y->c, q, 0, NULL, strv_row, out) : PD_ERR_NOMEM;
    free(q);
    pthread_mutex_unlock(&y->mu);
    return rc;
}
