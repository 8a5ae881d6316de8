/*
 * store/parquet/pq_store.c - INTERIM: the Parquet store inside the SQL
 * store of store/sql_store.c (the catalog is its DuckDB database, reached
 * through the DuckDB backend's interim connector, store/duckdb/duck_plug.c).
 * When the store moves onto store/backend.h this becomes the "parquet"
 * backend (init_stage, copy_table, connect) plus the same hooks.
 *
 * Hooks (registered after the defaults, so they win): SQL tables become
 * COPY ... TO Parquet + slot view, Arrow tables are written and read with
 * our Parquet codec straight from the files, View tasks are
 * read_parquet([...]) views. Primary keys and indexes are ignored on this
 * store (docs/parquet_store.md).
 */
#include "store/dialect/parquet.h"
#include "store/duckdb/duck.h"
#include "store/parquet/parquet_store.h"
#include "store/parquet/pq_int.h"
#include "store/sql_int.h"
#include <stdlib.h>
#include <string.h>

/* The DuckDB connection behind a pooled connector (duck_plug.c keeps it as
 * the first member of its private struct). */
static pdi_duck_conn *duck_of(pdi_conn *c)
{
    return *(pdi_duck_conn **)c->impl;
}

bool pdi_pq_store_is_parquet(const pd_store *s)
{
    return s->pq != NULL;
}

int pdi_pq_store_conn_ready(pd_store *s, pdi_conn *c)
{
    if (!s->pq)
        return PD_OK;
    return pdi_pq_conn_setup(s->pq, duck_of(c));
}

/* ------------------------------------------------- base views of a stage */

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    return ncols > 0 ? pd_strv_push(user, vals[0] ? vals[0] : "") : PD_OK;
}

/* On `c`: drop every view of `base`, then (slot != NULL) create base.x =
 * SELECT * FROM slot.x for every object x of `slot`. The caller wraps it
 * in a transaction. */
static int repoint(pd_store *s, pdi_conn *c, const char *base, const char *slot)
{
    pd_strv objs = {0}, old = {0};
    char *q = pdi_sql_list_objects(s->d, base);
    int rc = q ? c->ops->query(c, q, strv_row, &old) : PD_ERR_NOMEM;
    free(q);
    for (size_t i = 0; i < old.n && rc == PD_OK; i++) {
        char *d = pdi_sql_drop_view(s->d, base, old.items[i]);
        rc = d ? c->ops->exec(c, d) : PD_ERR_NOMEM;
        free(d);
    }
    pdi_crash_point("parquet_mid_repoint");
    if (rc == PD_OK && slot) {
        q = pdi_sql_list_objects(s->d, slot);
        rc = q ? c->ops->query(c, q, strv_row, &objs) : PD_ERR_NOMEM;
        free(q);
    }
    for (size_t i = 0; i < objs.n && rc == PD_OK; i++) {
        char *sel = pdi_sql_pq_select_all(slot, objs.items[i]);
        char *v = sel ? pdi_sql_create_view(s->d, base, objs.items[i], sel) : NULL;
        rc = v ? c->ops->exec(c, v) : PD_ERR_NOMEM;
        free(sel);
        free(v);
    }
    pd_strv_free(&objs);
    pd_strv_free(&old);
    return rc;
}

/* repoint() in a transaction of a pooled catalog connection */
static int repoint_tx(pd_store *s, const char *base, const char *slot)
{
    pdi_conn *c = NULL;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    rc = c->ops->begin(c);
    if (rc == PD_OK) {
        rc = repoint(s, c, base, slot);
        if (rc == PD_OK)
            rc = c->ops->commit(c);
        else
            c->ops->rollback(c);
    }
    pdi_pool_put(s, c);
    return rc;
}

typedef struct view_target {
    pd_strv schemas;
} view_target;

static int target_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    view_target *vt = user;
    if (ncols < 2 || !vals[1])
        return PD_OK;
    char *sc = NULL, *tb = NULL;
    bool found = false;
    int rc = pdi_pq_target_of_view_sql(vals[1], &sc, &tb, &found);
    if (rc == PD_OK)
        rc = pd_strv_push(&vt->schemas, found ? sc : "");
    free(sc);
    free(tb);
    return rc;
}

/* Do the base views of `stage` point into its committed slot (per the
 * metadata)? If not - a commit killed between the metadata and the catalog,
 * or a catalog changed by hand - re-point them there, before the new slot's
 * files can be deleted. */
static int check_base_views(pd_store *s, const char *stage)
{
    char cur[256] = "";
    int rc = pdi_meta_get_stage_slot(s, stage, cur, sizeof cur);
    char *base = rc == PD_OK ? pdi_phys(s, stage) : NULL;
    char *curp = base && cur[0] ? pdi_phys(s, cur) : NULL;
    if (rc == PD_OK && (!base || (cur[0] && !curp)))
        rc = PD_ERR_NOMEM;
    view_target vt = {0};
    char *q = rc == PD_OK ? pdi_sql_pq_views_of_schema() : NULL;
    if (rc == PD_OK && !q)
        rc = PD_ERR_NOMEM;
    if (rc == PD_OK) {
        pdi_conn *c = NULL;
        rc = pdi_pool_get(s, &c);
        if (rc == PD_OK) {
            const char *p[1] = {base};
            rc = c->ops->query_params(c, q, 1, p, target_row, &vt);
            pdi_pool_put(s, c);
        }
    }
    bool wrong = false;
    for (size_t i = 0; rc == PD_OK && i < vt.schemas.n; i++)
        if (!curp || strcmp(vt.schemas.items[i], curp) != 0)
            wrong = true;
    if (rc == PD_OK && wrong) {
        pd_log(PD_LOG_WARN,
               "stage '%s': the catalog's views do not show the committed slot '%s' (a commit "
               "was interrupted between the metadata and the catalog): re-pointing them",
               stage, cur[0] ? cur : "(none)");
        rc = repoint_tx(s, base, curp);
    }
    pd_strv_free(&vt.schemas);
    free(q);
    free(base);
    free(curp);
    return rc;
}

int pdi_pq_store_init_stage(pd_store *s, const char *stage, const char *slot_logical)
{
    int rc = check_base_views(s, stage);
    char *ph = rc == PD_OK ? pdi_phys(s, slot_logical) : NULL;
    if (rc == PD_OK)
        rc = ph ? pdi_pq_slot_init(s->pq, ph) : PD_ERR_NOMEM;
    free(ph);
    return rc;
}

typedef struct repoint_args {
    const char *base, *slot;
} repoint_args;

static int repoint_extra(pd_store *s, pdi_conn *c, void *user)
{
    repoint_args *a = user;
    return repoint(s, c, a->base, a->slot);
}

int pdi_pq_store_commit(pd_store *s, pd_stage_tx *tx, bool changed)
{
    if (!changed)
        return pdi_meta_promote(s, tx->stage, false);
    char *base = pdi_phys(s, tx->stage);
    char *slot = pdi_phys(s, tx->transaction_name);
    int rc = base && slot ? PD_OK : PD_ERR_NOMEM;
    pdi_crash_point("parquet_before_commit");
    if (rc == PD_OK && !s->separate_meta) {
        /* metadata in the catalog: views, stages row and promotion in one
         * DuckDB transaction */
        repoint_args a = {base, slot};
        rc = pdi_meta_promote_slot(s, tx->stage, tx->transaction_name, repoint_extra, &a);
    } else if (rc == PD_OK) {
        /* metadata store: its transaction is the commit point; the catalog
         * follows (and is re-pointed from the metadata at the next stage
         * init if a kill comes in between) */
        rc = pdi_meta_promote_slot(s, tx->stage, tx->transaction_name, NULL, NULL);
        pdi_crash_point("parquet_before_repoint");
        if (rc == PD_OK)
            rc = repoint_tx(s, base, slot);
    }
    pdi_crash_point("parquet_after_commit");
    free(base);
    free(slot);
    return rc;
}

int pdi_pq_store_copy(pd_store *s,
                      const char *from_schema,
                      const char *from_name,
                      const char *to_schema,
                      const char *to_name)
{
    char *fph = pdi_phys(s, from_schema);
    char *tph = pdi_phys(s, to_schema);
    pdi_conn *c = NULL;
    int rc = fph && tph ? pdi_pool_get(s, &c) : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        rc = pdi_pq_copy(s->pq, duck_of(c), fph, from_name, tph, to_name);
        pdi_pool_put(s, c);
    }
    free(fph);
    free(tph);
    return rc;
}

/* ------------------------------------------------------------------ hooks */

static const pd_table_hook *default_hook(const char *name)
{
    size_t n;
    const pd_table_hook *const *h = pdi_default_hooks(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i]->name, name))
            return h[i];
    return NULL;
}

static pd_can sql_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_SQL ? PD_CAN_YES : PD_CAN_NO;
}

static pd_can no_ret(pd_as_kind as)
{
    (void)as;
    return PD_CAN_NO;
}

static int with_conn(pd_store *s,
                     const char *schema,
                     int (*fn)(pd_store *, pdi_duck_conn *, const char *, void *),
                     void *arg)
{
    char *ph = pdi_phys(s, schema);
    pdi_conn *c = NULL;
    int rc = ph ? pdi_pool_get(s, &c) : PD_ERR_NOMEM;
    if (rc == PD_OK) {
        pdi_duck_set_print_sql(duck_of(c), c->print_sql);
        rc = fn(s, duck_of(c), ph, arg);
        pdi_pool_put(s, c);
    }
    free(ph);
    return rc;
}

static int do_sql(pd_store *s, pdi_duck_conn *c, const char *ph, void *arg)
{
    const pd_table *t = arg;
    return pdi_pq_write_sql(s->pq, c, ph, t->name, t->sql);
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

static const pd_table_hook g_pq_sql_hook = {
    .name = "parquet_sql",
    .can_materialize = sql_can_mat,
    .can_retrieve = no_ret,
    .materialize = sql_materialize,
    .lazy_query_str = sql_lazy_str,
};

static pd_can arrow_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_ARROW ? PD_CAN_YES : PD_CAN_NO;
}

static pd_can arrow_can_ret(pd_as_kind as)
{
    return as == PD_AS_ARROW ? PD_CAN_YES : PD_CAN_NO;
}

static int do_arrow(pd_store *s, pdi_duck_conn *c, const char *ph, void *arg)
{
    const pd_table *t = arg;
    return pdi_pq_write_arrow(s->pq, c, ph, t->name, t->stream);
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

static int do_read(pd_store *s, pdi_duck_conn *c, const char *ph, void *arg)
{
    read_args *r = arg;
    return pdi_pq_read_arrow(s->pq, c, ph, r->name, r->limit, r->out);
}

static int arrow_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    (void)as;
    read_args r = {name, limit, out};
    return with_conn(s, schema, do_read, &r);
}

static const pd_table_hook g_pq_arrow_hook = {
    .name = "parquet_arrow",
    .can_materialize = arrow_can_mat,
    .can_retrieve = arrow_can_ret,
    .materialize = arrow_materialize,
    .retrieve = arrow_retrieve,
};

static pd_can view_can_mat(pd_obj_kind k)
{
    return k == PD_OBJ_VIEW ? PD_CAN_YES : PD_CAN_NO;
}

static int do_view(pd_store *s, pdi_duck_conn *c, const char *ph, void *arg)
{
    const pd_table *t = arg;
    size_t n = t->n_view_sources;
    char **sch = pd_calloc(n ? n : 1, sizeof *sch);
    char **tab = pd_calloc(n ? n : 1, sizeof *tab);
    int rc = sch && tab ? PD_OK : PD_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == PD_OK; i++) {
        const char *src = t->view_sources[i];
        const char *dot = strchr(src, '.');
        if (!dot) {
            rc = pd_set_error(PD_ERR_INVALID, "view source '%s' is not schema.table", src);
            break;
        }
        char *lg = pd_strndup(src, (size_t)(dot - src));
        sch[i] = lg ? pdi_phys(s, lg) : NULL;
        tab[i] = pd_strdup(dot + 1);
        free(lg);
        if (!sch[i] || !tab[i])
            rc = PD_ERR_NOMEM;
    }
    if (rc == PD_OK)
        rc = pdi_pq_write_view(s->pq, c, ph, t->name, (const char *const *)sch,
                               (const char *const *)tab, n);
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
    return with_conn(s, schema, do_view, (void *)t);
}

static int view_lazy_str(pd_store *s, const pd_table *t, char **out)
{
    return default_hook("view")->lazy_query_str(s, t, out);
}

static const pd_table_hook g_pq_view_hook = {
    .name = "parquet_view",
    .can_materialize = view_can_mat,
    .can_retrieve = no_ret,
    .materialize = view_materialize,
    .lazy_query_str = view_lazy_str,
};

int pdi_pq_store_open(pd_store *s, const pd_config *cfg)
{
    const pd_store_config *sc = &cfg->table_store;
    pdi_pq_args a = {0};
    a.base_path = sc->parquet_base_path;
    a.instance_id = cfg->instance_id ? cfg->instance_id : "pipeline";
    a.s3_endpoint_url = sc->s3_endpoint_url;
    a.s3_url_style = sc->s3_url_style;
    a.s3_region = sc->s3_region;
    a.print_materialize = false; /* the store logs "Writing table" itself */
    int rc = pdi_pq_open(&a, &s->pq);
    if (rc)
        return rc;
    /* metadata in the catalog: the commit re-points views on that
     * connection too */
    if (!s->separate_meta && s->meta && (rc = pdi_pq_store_conn_ready(s, s->meta)) != PD_OK)
        return rc;
    pd_store_register_hook(s, &g_pq_sql_hook);
    pd_store_register_hook(s, &g_pq_arrow_hook);
    pd_store_register_hook(s, &g_pq_view_hook);
    return PD_OK;
}

void pdi_pq_store_close(pd_store *s)
{
    pdi_pq_close(s->pq);
    s->pq = NULL;
}
