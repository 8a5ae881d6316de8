/*
 * store/parquet/hooks.c - the Parquet store's table hooks (registered by
 * the store after its defaults, so they win): SQL tables become COPY ...
 * TO Parquet + slot view, Arrow tables are written and read with our
 * Parquet codec straight from the files (no DuckDB on that path), View
 * tasks are read_parquet([...]) views; and `pipedag sync-metadata`.
 */
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/parquet_store.h"
#include "store/parquet/pq_int.h"
#include "store/store_int.h"
#include <stdlib.h>
#include <string.h>

static const pd_table_hook *default_hook(const char *name)
{
    size_t n;
    const pd_table_hook *const *h = pdi_default_hooks(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i]->name, name))
            return h[i];
    return NULL;
}

typedef int (*pq_fn)(pdi_pq *P, pdi_duck_conn *c, const char *phys, void *arg);

/* fn on a pooled catalog session, with `schema` made physical */
static int with_conn(pd_store *s, const char *schema, pq_fn fn, void *arg)
{
    char *ph = pdi_phys(s, schema);
    pdi_conn *c = NULL;
    int rc = ph ? pdi_pool_get(s, &c) : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        rc = fn(pdi_parquet_of(s->db), pdi_duckdb_conn(c), ph, arg);
        pdi_pool_put(s, c);
    }
    free(ph);
    return rc;
}

static pd_can no_ret(pd_as_kind as)
{
    (void)as;
    return PD_CAN_NO;
}

/* ---------------------------------------------------------------- SQL */

static pd_can sql_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_SQL ? PD_CAN_YES : PD_CAN_NO;
}

static int do_sql(pdi_pq *P, pdi_duck_conn *c, const char *ph, void *arg)
{
    const pd_table *t = arg;
    return pdi_pq_write_sql(P, c, ph, t->name, t->sql);
}

static int sql_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    if (!t->sql)
        return pd_set_error(PD_ERR_INVALID, "table '%s' has no SQL", t->name);
    return with_conn(s, schema, do_sql, (void *)t);
}

static int sql_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    return default_hook("sql")->lazy_query_str(s, t, out);
}

static const pd_table_hook g_sql = {
    .name = "parquet_sql",
    .can_materialize = sql_can_mat,
    .can_retrieve = no_ret,
    .materialize = sql_materialize,
    .lazy_query_str = sql_lazy_str,
};

/* -------------------------------------------------------------- Arrow */

static pd_can arrow_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_ARROW ? PD_CAN_YES : PD_CAN_NO;
}

static pd_can arrow_can_ret(pd_as_kind as)
{
    return as == PD_AS_ARROW ? PD_CAN_YES : PD_CAN_NO;
}

static int do_arrow(pdi_pq *P, pdi_duck_conn *c, const char *ph, void *arg)
{
    const pd_table *t = arg;
    return pdi_pq_write_arrow(P, c, ph, t->name, t->stream);
}

static int arrow_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    if (!t->stream || !t->stream->release)
        return pd_set_error(PD_ERR_INVALID, "table '%s' has no Arrow stream", t->name);
    return with_conn(s, schema, do_arrow, (void *)t);
}

typedef struct read_args {
    const char *name;
    int64_t limit;
    struct ArrowArrayStream *out;
} read_args;

static int do_read(pdi_pq *P, pdi_duck_conn *c, const char *ph, void *arg)
{
    read_args *r = arg;
    return pdi_pq_read_arrow(P, c, ph, r->name, r->limit, r->out);
}

static int arrow_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    (void)as;
    read_args r = {name, limit, out};
    return with_conn(s, schema, do_read, &r);
}

static const pd_table_hook g_arrow = {
    .name = "parquet_arrow",
    .can_materialize = arrow_can_mat,
    .can_retrieve = arrow_can_ret,
    .materialize = arrow_materialize,
    .retrieve = arrow_retrieve,
};

/* --------------------------------------------------------------- View */

static pd_can view_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_VIEW ? PD_CAN_YES : PD_CAN_NO;
}

typedef struct view_args {
    pd_store *s;
    const pd_table *t;
} view_args;

static int do_view(pdi_pq *P, pdi_duck_conn *c, const char *ph, void *arg)
{
    view_args *va = arg;
    const pd_table *t = va->t;
    size_t n = t->n_view_sources;
    char **sch = pdi_calloc(n ? n : 1, sizeof *sch);
    char **tab = pdi_calloc(n ? n : 1, sizeof *tab);
    int rc = sch && tab ? PD_OK : PD_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == PD_OK; i++) {
        const char *src = t->view_sources[i];
        const char *dot = strchr(src, '.');
        if (!dot) {
            rc = pd_set_error(PD_ERR_INVALID, "view source '%s' is not schema.table", src);
            break;
        }
        char *lg = pdi_strndup(src, (size_t)(dot - src));
        sch[i] = lg ? pdi_phys(va->s, lg) : NULL;
        tab[i] = pdi_strdup(dot + 1);
        free(lg);
        if (!sch[i] || !tab[i])
            rc = PD_ERR_NOMEM;
    }
    if (rc == PD_OK)
        rc =
            pdi_pq_write_view(P, c, ph, t->name, (const char *const *)sch, (const char *const *)tab,
                              n, pdi_view_shape_active(t->view_shape) ? t->view_shape_json : NULL);
    for (size_t i = 0; sch && tab && i < n; i++) {
        free(sch[i]);
        free(tab[i]);
    }
    free(sch);
    free(tab);
    return rc;
}

static int view_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    view_args va = {s, t};
    return with_conn(s, schema, do_view, &va);
}

static int view_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    return default_hook("view")->lazy_query_str(s, t, out);
}

static const pd_table_hook g_view = {
    .name = "parquet_view",
    .can_materialize = view_can_mat,
    .can_retrieve = no_ret,
    .materialize = view_materialize,
    .lazy_query_str = view_lazy_str,
};

const pd_table_hook *const *pdi_parquet_hooks(size_t *n)
{
    static const pd_table_hook *const hooks[] = {&g_sql, &g_arrow, &g_view};
    *n = sizeof hooks / sizeof hooks[0];
    return hooks;
}

/* ------------------------------------------------------ sync-metadata */

typedef struct sync_args {
    pd_strv *synced;
} sync_args;

int pdi_store_sync_metadata(pd_store *s, pd_strv *synced)
{
    if (s->be != &pdi_backend_parquet)
        return pd_set_error(PD_ERR_CONFIG,
                            "sync-metadata needs a ParquetTableStore (this table store is %s)",
                            s->desc);
    pdi_pq *P = pdi_parquet_of(s->db);
    if (!P->sync)
        return pd_set_error(PD_ERR_CONFIG,
                            "sync-metadata needs a metadata_table_store (the metadata of %s "
                            "lives in its own catalog: there is nothing to sync from)",
                            s->desc);
    pd_strv schemas = {0};
    int rc = pdi_pq_sync_schemas(P->sync, &schemas);
    /* slot schemas first, base schemas last (their views read the slots) */
    for (int pass = 0; pass < 2 && rc == PD_OK; pass++) {
        for (size_t i = 0; i < schemas.n && rc == PD_OK; i++) {
            const char *sc = schemas.items[i];
            bool slot = pdi_str_ends(sc, "__odd") || pdi_str_ends(sc, "__even") ||
                        strstr(sc, "__odd") || strstr(sc, "__even");
            if (slot != (pass == 0))
                continue;
            pdi_conn *c = NULL;
            rc = pdi_pool_get(s, &c);
            if (rc == PD_OK) {
                pdi_duck_conn *dc = pdi_duckdb_conn(c);
                rc = pdi_pq_bind_views(P, dc, true);
                if (rc == PD_OK)
                    rc = pdi_pq_sync_schema(P->sync, dc, sc, NULL);
                int r2 = pdi_pq_bind_views(P, dc, false);
                if (rc == PD_OK)
                    rc = r2;
                pdi_pool_put(s, c);
            }
            if (rc == PD_OK && synced)
                rc = pdi_strv_push(synced, sc);
        }
    }
    pdi_strv_free(&schemas);
    return rc;
}
