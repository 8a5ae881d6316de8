/*
 * store/store.c - the SQL table store's shared layer: lifecycle, the
 * connection pool, schemas, tables, keys and indexes, queries and the hook
 * registry. Every database-specific step is a backend operation
 * (store/backend.h) or dialect text (store/dialect/dialect.h); nothing here
 * asks which database it talks to. Stage transactions are in commit.c,
 * metadata in meta.c, the default hooks in hooks.c.
 */
#include "store/parquet/parquet_store.h"
#include "store/store_int.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

char *pdi_phys(pd_store *s, const char *logical)
{
    return pdi_sql_physical_schema(s->prefix, logical, s->suffix);
}

char *pdi_store_sql_name(pd_store *s, const char *schema, const char *name)
{
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return NULL;
    char *r = pdi_sql_qualified(s->d, ph, name);
    free(ph);
    return r;
}

static int strv_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    pd_strv *v = user;
    if (ncols < 1)
        return PD_OK;
    return pdi_strv_push(v, vals[0] ? vals[0] : "");
}

/* ---------------------------------------------------------------- pool */

static int open_conn(const pdi_backend *be, pdi_db *db, bool print_sql, pdi_conn **out)
{
    int rc = be->connect(db, out);
    if (rc == PD_OK) {
        (*out)->db = db;
        (*out)->print_sql = print_sql;
    }
    return rc;
}

int pdi_pool_get(pd_store *s, pdi_conn **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->pool_mu);
    for (;;) {
        for (size_t i = 0; i < s->npool; i++) {
            pdi_pooled *p = &s->pool[i];
            if (p->in_use)
                continue;
            p->in_use = true;
            /* forgets requested while the session was busy */
            pd_strv pend = p->pending;
            memset(&p->pending, 0, sizeof p->pending);
            pthread_mutex_unlock(&s->pool_mu);
            for (size_t k = 0; k < pend.n; k++)
                if (s->be->forget_schema(p->conn, pend.items[k]) != PD_OK)
                    pd_clear_error();
            pdi_strv_free(&pend);
            *out = p->conn;
            return PD_OK;
        }
        if (s->npool < PDI_POOL_MAX) {
            pdi_conn *c = NULL;
            int rc = open_conn(s->be, s->db, s->print_sql, &c);
            if (rc) {
                pthread_mutex_unlock(&s->pool_mu);
                return rc;
            }
            pdi_pooled *p = &s->pool[s->npool++];
            p->conn = c;
            p->in_use = true;
            memset(&p->pending, 0, sizeof p->pending);
            pthread_mutex_unlock(&s->pool_mu);
            *out = c;
            return PD_OK;
        }
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
}

void pdi_pool_put(pd_store *s, pdi_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->pool_mu);
    for (size_t i = 0; i < s->npool; i++)
        if (s->pool[i].conn == c)
            s->pool[i].in_use = false;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

int pdi_forget_everywhere(pd_store *s, const char *phys)
{
    if (!s->be->forget_schema)
        return PD_OK;
    int rc = PD_OK;
    pthread_mutex_lock(&s->pool_mu);
    for (size_t i = 0; i < s->npool; i++) {
        pdi_pooled *p = &s->pool[i];
        if (p->in_use) {
            if (!pdi_strv_contains(&p->pending, phys))
                pdi_strv_push(&p->pending, phys);
        } else {
            int r = s->be->forget_schema(p->conn, phys);
            if (r && !rc)
                rc = r;
        }
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (s->meta && !s->separate_meta) {
        pthread_mutex_lock(&s->meta_mu);
        int r = s->be->forget_schema(s->meta, phys);
        pthread_mutex_unlock(&s->meta_mu);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

int pdi_exec(pd_store *s, const char *sql)
{
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    rc = s->be->exec(c, sql);
    pdi_pool_put(s, c);
    return rc;
}

int pdi_exec_free(pd_store *s, char *sql)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = *sql ? pdi_exec(s, sql) : PD_OK;
    free(sql);
    return rc;
}

int pdi_query(pd_store *s,
              const char *sql,
              size_t nparams,
              const char *const *params,
              pd_row_fn row,
              void *user)
{
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    rc = s->be->query(c, sql, nparams, params, row, user);
    pdi_pool_put(s, c);
    return rc;
}

int pdi_query_strv(pd_store *s, const char *sql, pd_strv *out)
{
    return pdi_query(s, sql, 0, NULL, strv_row, out);
}

int pdi_meta_exec(pd_store *s, const char *sql)
{
    return s->mbe->exec(s->meta, sql);
}

int pdi_meta_query(
    pd_store *s, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    return s->mbe->query(s->meta, sql, np, params, row, user);
}

/* ------------------------------------------ backend ops with defaults */

static int exec_on(const pdi_backend *be, pdi_conn *c, char *sql)
{
    if (!sql)
        return PD_ERR_NOMEM;
    int rc = *sql ? be->exec(c, sql) : PD_OK;
    free(sql);
    return rc;
}

typedef struct rel_list {
    pd_strv names, kinds;
} rel_list;

static int rel_row(void *user, int ncols, const char *const *names, const char *const *vals)
{
    (void)names;
    rel_list *l = user;
    if (ncols < 2 || !vals[0] || !vals[1])
        return PD_OK;
    if (pdi_strv_push(&l->names, vals[0]) || pdi_strv_push(&l->kinds, vals[1]))
        return PD_ERR_NOMEM;
    return PD_OK;
}

/* Drop every table and view of `phys` (by kind, so that no statement
 * fails - a failed statement would abort a surrounding transaction). */
int pdi_be_drop_contents(const pdi_backend *be, pdi_conn *c, const char *phys)
{
    const pdi_dialect *d = c->db->d;
    rel_list l = {{0}, {0}};
    char *q = pdi_sql_list_relations(d, phys);
    int rc = q ? be->query(c, q, 0, NULL, rel_row, &l) : PD_ERR_NOMEM;
    free(q);
    /* views first: they may depend on the tables */
    for (int pass = 0; pass < 2 && rc == PD_OK; pass++)
        for (size_t i = 0; i < l.names.n && rc == PD_OK; i++) {
            bool view = strstr(l.kinds.items[i], "VIEW") != NULL;
            if (view == (pass == 0))
                rc = exec_on(be, c,
                             pdi_sql_drop_object(d, l.kinds.items[i], phys, l.names.items[i]));
        }
    pdi_strv_free(&l.names);
    pdi_strv_free(&l.kinds);
    return rc;
}

int pdi_be_create_schema(pd_store *s, pdi_conn *c, const char *phys)
{
    if (s->be->create_schema)
        return s->be->create_schema(c, phys);
    if (s->sc->avoid_drop_create_schema)
        return PD_OK;
    return exec_on(s->be, c, pdi_sql_create_schema(s->d, phys));
}

int pdi_be_drop_schema(pd_store *s, pdi_conn *c, const char *phys)
{
    if (s->be->drop_schema)
        return s->be->drop_schema(c, phys);
    int rc = PD_OK;
    if (s->sc->avoid_drop_create_schema || !s->d->drop_cascades)
        rc = pdi_be_drop_contents(s->be, c, phys);
    if (rc == PD_OK && !s->sc->avoid_drop_create_schema)
        rc = exec_on(s->be, c, pdi_sql_drop_schema(s->d, phys));
    return rc;
}

int pdi_be_list_objects(pd_store *s, pdi_conn *c, const char *phys, pd_strv *out)
{
    if (s->be->list_objects)
        return s->be->list_objects(c, phys, out);
    char *q = pdi_sql_list_objects(s->d, phys);
    int rc = q ? s->be->query(c, q, 0, NULL, strv_row, out) : PD_ERR_NOMEM;
    free(q);
    return rc;
}

int pdi_be_table_exists(pd_store *s, pdi_conn *c, const char *phys, const char *name, bool *ex)
{
    *ex = false;
    if (s->be->table_exists)
        return s->be->table_exists(c, phys, name, ex);
    pd_strv v = {0};
    char *q = pdi_sql_table_exists(s->d, phys);
    int rc = q ? s->be->query(c, q, 1, &name, strv_row, &v) : PD_ERR_NOMEM;
    free(q);
    *ex = v.n > 0;
    pdi_strv_free(&v);
    return rc;
}

int pdi_be_copy_table(pd_store *s,
                      pdi_conn *c,
                      const char *from_ph,
                      const char *from,
                      const char *to_ph,
                      const char *to)
{
    if (s->be->copy_table)
        return s->be->copy_table(c, from_ph, from, to_ph, to);
    char *sel = pdi_sql_select_all(s->d, from_ph, from);
    int rc =
        sel ? exec_on(s->be, c, pdi_sql_ctas(s->d, to_ph, to, sel, s->sc->unlogged)) : PD_ERR_NOMEM;
    free(sel);
    return rc;
}

/* ----------------------------------------------------------- lifecycle */

static const pd_table_hook *const *default_hooks(size_t *n);

static const char *dialect_of(const pd_store_config *sc, char *buf, size_t cap)
{
    return pdi_backend_dialect_of(sc, buf, cap);
}

/* Find, check and open the backend of `sc`. */
static int open_backend(const pd_store_config *sc,
                        const char *instance_id,
                        const char *desc,
                        const pdi_backend **be_out,
                        pdi_db **db_out)
{
    char dn[64];
    const char *dialect = dialect_of(sc, dn, sizeof dn);
    /* ParquetTableStore: its own backend (the catalog is DuckDB) */
    const pdi_backend *be =
        sc->klass == PD_STORE_PARQUET ? &pdi_backend_parquet : pdi_backend_find(dialect);
    if (!be)
        return pd_last_error_code();
    pdi_open_args a = {
        .sc = sc, .d = pdi_dialect_get(dialect), .instance_id = instance_id, .desc = desc};
    pdi_db *db = NULL;
    int rc = be->open(&a, &db);
    if (rc)
        return rc;
    db->be = be;
    db->d = a.d;
    db->desc = desc;
    *be_out = be;
    *db_out = db;
    return PD_OK;
}

static int open_meta(pd_store *s, const pd_store_config *sc)
{
    const pd_store_config *msc = sc->metadata_table_store;
    if (!msc) {
        s->mbe = s->be;
        s->mdb = s->db;
        s->md = s->d;
        s->msc = sc;
        s->meta_phys = pdi_phys(s, "pipedag_metadata");
        if (!s->meta_phys)
            return PD_ERR_NOMEM;
        return open_conn(s->be, s->db, s->print_sql, &s->meta);
    }
    s->separate_meta = true;
    s->msc = msc;
    s->meta_phys =
        pdi_sql_physical_schema(msc->schema_prefix, "pipedag_metadata", msc->schema_suffix);
    if (!s->meta_phys)
        return PD_ERR_NOMEM;
    int rc = open_backend(msc, s->instance_id, s->desc, &s->mbe, &s->mdb);
    if (rc == PD_OK) {
        s->md = s->mdb->d;
        rc = open_conn(s->mbe, s->mdb, msc->print_sql, &s->meta);
    }
    if (rc)
        pd_error_prefix("metadata_table_store");
    return rc;
}

/* With a metadata_table_store, the table store's own metadata_version rows
 * are deleted so that switching back later does not trust stale metadata. */
void pdi_forget_local_metadata(pd_store *s)
{
    char *ph = pdi_phys(s, "pipedag_metadata");
    if (!ph)
        return;
    bool ex = false;
    if (pdi_table_exists_phys(s, ph, "metadata_version", &ex) == PD_OK && ex) {
        if (pdi_exec_free(s, pdi_sql_meta(s->d, ph, PDI_MQ_VERSION_DELETE)) != PD_OK)
            pd_clear_error();
    }
    pd_clear_error();
    free(ph);
}

int pdi_store_open(const pd_config *cfg, pd_store **out)
{
    *out = NULL;
    const pd_store_config *sc = &cfg->table_store;
    if (sc->klass != PD_STORE_SQL && sc->klass != PD_STORE_PARQUET)
        return pd_set_error(PD_ERR_UNSUPPORTED, "%s is not available in this build",
                            sc->class_name ? sc->class_name : "?");
    pd_store *s = pdi_calloc(1, sizeof *s);
    if (!s)
        return PD_ERR_NOMEM;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->meta_mu, NULL);
    pthread_mutex_init(&s->hook_mu, NULL);
    pthread_mutex_init(&s->slot_mu, NULL);
    s->sc = sc;
    s->prefix = pdi_strdup(sc->schema_prefix ? sc->schema_prefix : "");
    s->suffix = pdi_strdup(sc->schema_suffix ? sc->schema_suffix : "");
    s->desc = pdi_url_mask_password(sc->url ? sc->url : "");
    s->print_sql = sc->print_sql;
    s->instance_id = pdi_strdup(cfg->instance_id ? cfg->instance_id : "");
    int rc = PD_OK;
    if (!s->prefix || !s->suffix || !s->desc || !s->instance_id) {
        rc = PD_ERR_NOMEM;
        goto fail;
    }
    rc = open_backend(sc, s->instance_id, s->desc, &s->be, &s->db);
    if (rc == PD_OK) {
        s->d = s->db->d;
        /* a technique the database cannot do is a config error, at once */
        rc = pdi_check_technique(s, cfg->stage_commit_technique);
    }
    if (rc == PD_OK)
        rc = open_meta(s, sc);
    if (rc) {
        pd_error_prefix("table store %s", s->desc);
        goto fail;
    }
    size_t nh;
    const pd_table_hook *const *hooks = default_hooks(&nh);
    for (size_t i = 0; i < nh; i++)
        pdi_store_register_hook(s, hooks[i]);
    if (s->be == &pdi_backend_parquet) { /* Parquet files: its hooks win */
        hooks = pdi_parquet_hooks(&nh);
        for (size_t i = 0; i < nh; i++)
            pdi_store_register_hook(s, hooks[i]);
    }
    *out = s;
    return PD_OK;
fail:
    pdi_store_close(s);
    return rc;
}

void pdi_store_close(pd_store *s)
{
    if (!s)
        return;
    if (s->meta && pdi_meta_flush(s) != PD_OK)
        pdi_log(PD_LOG_WARN, "%s", pd_last_error());
    pdi_meta_pending_free(s);
    for (size_t i = 0; i < s->npool; i++) {
        s->be->disconnect(s->pool[i].conn);
        pdi_strv_free(&s->pool[i].pending);
    }
    if (s->meta)
        s->mbe->disconnect(s->meta);
    pdi_meta_sql_free(s);
    if (s->separate_meta && s->mdb)
        s->mbe->close(s->mdb);
    if (s->db)
        s->be->close(s->db);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->meta_mu);
    pthread_mutex_destroy(&s->hook_mu);
    pthread_mutex_destroy(&s->slot_mu);
    pdi_strv_free(&s->slot_stage);
    pdi_strv_free(&s->slot_name);
    free(s->hooks);
    free(s->prefix);
    free(s->suffix);
    free(s->desc);
    free(s->instance_id);
    free(s->meta_phys);
    free(s);
}

const char *pdi_store_dialect(const pd_store *s)
{
    return s->d->name;
}

const char *pdi_store_describe(const pd_store *s)
{
    return s->desc;
}

bool pdi_store_supports(const pd_store *s, pd_commit_technique t)
{
    if (t == PD_COMMIT_SCHEMA_SWAP)
        return (s->be->caps & PDI_CAP_SCHEMA_SWAP) != 0;
    return (s->be->caps & PDI_CAP_READ_VIEWS) != 0;
}

/* ------------------------------------------------------- logical schemas */

int pdi_create_schema(pd_store *s, const char *logical)
{
    char *ph = pdi_phys(s, logical);
    if (!ph)
        return PD_ERR_NOMEM;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = pdi_be_create_schema(s, c, ph);
        pdi_pool_put(s, c);
    }
    free(ph);
    return rc;
}

int pdi_drop_schema(pd_store *s, const char *logical)
{
    char *ph = pdi_phys(s, logical);
    if (!ph)
        return PD_ERR_NOMEM;
    int rc = pdi_forget_everywhere(s, ph);
    pdi_conn *c;
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = pdi_be_drop_schema(s, c, ph);
        pdi_pool_put(s, c);
    }
    free(ph);
    return rc;
}

/* ------------------------------------------------------------- queries */

int pdi_store_query(pd_store *s, const char *sql, pd_row_fn row, void *user)
{
    int rc = pdi_meta_flush(s);
    return rc ? rc : pdi_query(s, sql, 0, NULL, row, user);
}

int pdi_store_execute_script(pd_store *s, const char *script)
{
    int rc = pdi_exec(s, script);
    if (rc)
        pd_error_prefix("raw SQL in %s", s->desc);
    return rc;
}

/* ---------------------------------------------------------------- tables */

int pdi_table_exists_phys(pd_store *s, const char *ph, const char *name, bool *exists)
{
    *exists = false;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = pdi_be_table_exists(s, c, ph, name, exists);
        pdi_pool_put(s, c);
    }
    return rc;
}

int pdi_store_table_exists(pd_store *s, const char *schema, const char *name, bool *exists)
{
    *exists = false;
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    int rc = pdi_table_exists_phys(s, ph, name, exists);
    free(ph);
    return rc;
}

typedef struct many_ctx {
    char **phys;
    size_t n;
    pd_strv *outs;
} many_ctx;

static int many_row(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    many_ctx *m = user;
    if (ncols < 2 || !v[0] || !v[1])
        return PD_OK;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->phys[i], v[0]) == 0)
            return pdi_strv_push(&m->outs[i], v[1]);
    return PD_OK;
}

int pdi_store_list_objects_in(pd_store *s, const char *const *schemas, size_t n, pd_strv *outs)
{
    if (s->be->list_objects)
        return pd_set_error(PD_ERR_UNSUPPORTED, "%s lists one schema at a time", s->be->name);
    many_ctx m = {pdi_calloc(n ? n : 1, sizeof *m.phys), n, outs};
    int rc = m.phys ? PD_OK : PD_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == PD_OK; i++)
        if (!(m.phys[i] = pdi_phys(s, schemas[i])))
            rc = PD_ERR_NOMEM;
    char *q = rc == PD_OK ? pdi_sql_list_objects_in(s->d, (const char *const *)m.phys, n) : NULL;
    if (rc == PD_OK && !q)
        rc = pd_last_error_code() ? pd_last_error_code() : PD_ERR_NOMEM;
    if (rc == PD_OK)
        rc = pdi_query(s, q, 0, NULL, many_row, &m);
    free(q);
    for (size_t i = 0; i < n; i++) {
        if (m.phys)
            free(m.phys[i]);
        if (rc == PD_OK)
            pdi_strv_sort(&outs[i]);
    }
    free(m.phys);
    return rc;
}

int pdi_store_list_objects(pd_store *s, const char *schema, pd_strv *out)
{
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = pdi_be_list_objects(s, c, ph, out);
        pdi_pool_put(s, c);
    }
    free(ph);
    if (rc == PD_OK)
        pdi_strv_sort(out);
    return rc;
}

int pdi_store_drop_table(pd_store *s, const char *schema, const char *name)
{
    char *ph = pdi_phys(s, schema);
    if (!ph)
        return PD_ERR_NOMEM;
    pdi_conn *c;
    rel_list l = {{0}, {0}};
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        char *q = pdi_sql_list_relations(s->d, ph);
        rc = q ? s->be->query(c, q, 0, NULL, rel_row, &l) : PD_ERR_NOMEM;
        free(q);
        for (size_t i = 0; i < l.names.n && rc == PD_OK; i++)
            if (strcmp(l.names.items[i], name) == 0)
                rc = exec_on(s->be, c, pdi_sql_drop_object(s->d, l.kinds.items[i], ph, name));
        pdi_pool_put(s, c);
    }
    pdi_strv_free(&l.names);
    pdi_strv_free(&l.kinds);
    free(ph);
    return rc;
}

/* ------------------------------------------------------- keys, indexes */

static int list_columns(pd_store *s, pdi_conn *c, const char *ph, const char *name, pd_strv *out)
{
    if (s->be->list_columns)
        return s->be->list_columns(c, ph, name, out);
    char *q = pdi_sql_list_columns(s->d, ph, name);
    int rc = q ? s->be->query(c, q, 0, NULL, strv_row, out) : PD_ERR_NOMEM;
    free(q);
    return rc;
}

int pdi_table_columns(pd_store *s, const char *ph, const char *name, pd_strv *out)
{
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = list_columns(s, c, ph, name, out);
        pdi_pool_put(s, c);
    }
    return rc;
}

static bool has_column(const pdi_dialect *d, const pd_strv *have, const char *col)
{
    for (size_t i = 0; i < have->n; i++)
        if (pdi_sql_same_ident(d, have->items[i], col))
            return true;
    return false;
}

/* Every column of `cols` must exist in `have` (as the quoted identifiers of
 * the key statements would find it: exact, or without case where the
 * dialect's identifiers have none). */
static int check_columns(const pdi_dialect *d,
                         const pd_table *t,
                         const char *what,
                         const char *const *cols,
                         size_t n,
                         const pd_strv *have)
{
    for (size_t i = 0; i < n; i++)
        if (!has_column(d, have, cols[i]))
            return pd_set_error(PD_ERR_INVALID,
                                "task '%s': %s names column '%s', which table '%s' does not have",
                                t->task_name ? t->task_name : "?", what, cols[i], t->name);
    return PD_OK;
}

static size_t ncols_of(const char *const *cols)
{
    size_t n = 0;
    while (cols[n])
        n++;
    return n;
}

int pdi_add_keys(pd_store *s, const char *ph, const char *name, const pd_table *t)
{
    if (s->be->caps & PDI_CAP_NO_KEYS) {
        if ((t->primary_key && t->n_primary_key) || t->n_indexes)
            pdi_log(PD_LOG_WARN,
                    "task '%s': the %s table store has no primary keys or indexes; those of "
                    "table '%s' are not created (the key is checked: unique, not null)",
                    t->task_name ? t->task_name : "?", s->be->name, name);
        return PD_OK;
    }
    bool pk = t->primary_key && t->n_primary_key;
    if (!pk && !t->n_indexes)
        return PD_OK;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    pd_strv have = {0};
    rc = list_columns(s, c, ph, name, &have);
    if (rc == PD_OK && pk)
        rc = check_columns(s->d, t, "primary_key", t->primary_key, t->n_primary_key, &have);
    for (size_t i = 0; i < t->n_indexes && rc == PD_OK; i++)
        rc = check_columns(s->d, t, "an index", (const char *const *)t->indexes[i],
                           ncols_of(t->indexes[i]), &have);
    if (rc == PD_OK && pk)
        rc = exec_on(s->be, c,
                     pdi_sql_add_primary_key(s->d, ph, name, t->primary_key, t->n_primary_key));
    if (rc == PD_OK && t->n_indexes && !pdi_sql_has_indexes(s->d))
        pdi_log(PD_LOG_WARN, "task '%s': %s has no indexes; indexes of table '%s' skipped",
                t->task_name ? t->task_name : "?", s->d->name, name);
    for (size_t i = 0; i < t->n_indexes && rc == PD_OK; i++) {
        size_t n = ncols_of(t->indexes[i]);
        if (n)
            rc = exec_on(s->be, c, pdi_sql_create_index(s->d, ph, name, t->indexes[i], n));
    }
    pdi_strv_free(&have);
    pdi_pool_put(s, c);
    return rc;
}

/* One index of a source table, as read by pdi_sql_list_indexes. */
typedef struct idx_row {
    pd_strv names, unique, primary, cols;
} idx_rows;

static int idx_row_fn(void *user, int ncols, const char *const *names, const char *const *v)
{
    (void)names;
    idx_rows *r = user;
    if (ncols < 4 || !v[0] || !v[3])
        return PD_OK;
    if (pdi_strv_push(&r->names, v[0]) || pdi_strv_push(&r->unique, v[1] ? v[1] : "0") ||
        pdi_strv_push(&r->primary, v[2] ? v[2] : "0") || pdi_strv_push(&r->cols, v[3]))
        return PD_ERR_NOMEM;
    return PD_OK;
}

static bool truthy(const char *v)
{
    return v[0] == '1' || v[0] == 't' || v[0] == 'T';
}

int pdi_copy_keys(
    pd_store *s, const char *from_ph, const char *from, const char *to_ph, const char *to)
{
    if ((s->be->caps & PDI_CAP_NO_KEYS) ||
        (!pdi_sql_has_indexes(s->d) && !s->d->pk_as_unique_index))
        return PD_OK;
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    idx_rows r = {{0}, {0}, {0}, {0}};
    if (s->be->list_indexes) {
        rc = s->be->list_indexes(c, from_ph, from, idx_row_fn, &r);
    } else {
        char *q = pdi_sql_list_indexes(s->d, from_ph, from);
        rc = q ? s->be->query(c, q, 0, NULL, idx_row_fn, &r) : pd_last_error_code();
        free(q);
    }
    if (rc == PD_ERR_UNSUPPORTED) { /* the dialect cannot list indexes */
        pdi_log(PD_LOG_DEBUG, "%s", pd_last_error());
        pd_clear_error();
        rc = PD_OK;
    }
    /* group rows by index name (rows are ordered by index, then position);
     * only the indexes pipedag made (pk_/idx_) are re-created */
    for (size_t i = 0; i < r.names.n && rc == PD_OK;) {
        size_t j = i;
        const char **cols = pdi_calloc(r.names.n + 1, sizeof *cols);
        if (!cols) {
            rc = PD_ERR_NOMEM;
            break;
        }
        size_t n = 0;
        while (j < r.names.n && strcmp(r.names.items[j], r.names.items[i]) == 0)
            cols[n++] = r.cols.items[j++];
        const char *iname = r.names.items[i];
        bool primary = truthy(r.primary.items[i]) || pdi_str_starts(iname, "pk_");
        bool ours = pdi_str_starts(iname, "pk_") || pdi_str_starts(iname, "idx_") ||
                    truthy(r.primary.items[i]);
        if (ours)
            rc = exec_on(s->be, c,
                         primary ? pdi_sql_add_primary_key(s->d, to_ph, to, cols, n)
                                 : pdi_sql_create_index(s->d, to_ph, to, cols, n));
        free(cols);
        i = j;
    }
    pdi_strv_free(&r.names);
    pdi_strv_free(&r.unique);
    pdi_strv_free(&r.primary);
    pdi_strv_free(&r.cols);
    pdi_pool_put(s, c);
    return rc;
}

int pdi_store_materialize(pd_store *s, const pd_table *t, const char *schema)
{
    const pd_table_hook *h = pdi_store_find_materialize_hook(s, t->kind);
    if (!h)
        return pd_set_error(PD_ERR_UNSUPPORTED, "no hook of %s can materialize table '%s'", s->desc,
                            t->name);
    if (s->sc->print_materialize)
        pdi_log(PD_LOG_INFO, "Writing table '%s.%s'", schema, t->name);
    int rc = h->materialize(s, t, schema);
    if (rc == PD_OK && t->kind != PD_OBJ_EXTERNAL) {
        char *ph = pdi_phys(s, schema);
        rc = ph ? pdi_run_checks(s, ph, t) : PD_ERR_NOMEM;
        if (rc == PD_OK) {
            rc = pdi_add_keys(s, ph, t->name, t);
            if (rc && rc != PD_ERR_NOMEM)
                rc = pdi_pk_failure(s, ph, t, rc);
        }
        free(ph);
    }
    if (rc)
        pd_error_prefix("task '%s', table '%s.%s'", t->task_name ? t->task_name : "?", schema,
                        t->name);
    return rc;
}

int pdi_store_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out)
{
    const pd_table_hook *h = pdi_store_find_retrieve_hook(s, as);
    if (!h)
        return pd_set_error(PD_ERR_UNSUPPORTED, "no hook of %s can retrieve table '%s'", s->desc,
                            name);
    return h->retrieve(s, schema, name, as, limit, out);
}

int pdi_store_lazy_query_str(pd_store *s, const pd_table *t, char **out)
{
    const pd_table_hook *h = pdi_store_find_materialize_hook(s, t->kind);
    if (!h || !h->lazy_query_str)
        return pd_set_error(PD_ERR_UNSUPPORTED, "no lazy query string for table '%s'", t->name);
    return h->lazy_query_str(s, t, out);
}

int pdi_store_copy_table(pd_store *s,
                         const char *from_schema,
                         const char *from_name,
                         const char *to_schema,
                         const char *to_name,
                         const pd_table *meta)
{
    char *fph = pdi_phys(s, from_schema);
    char *tph = pdi_phys(s, to_schema);
    int rc = (fph && tph) ? PD_OK : PD_ERR_NOMEM;
    pdi_conn *c = NULL;
    if (rc == PD_OK)
        rc = pdi_pool_get(s, &c);
    if (rc == PD_OK) {
        rc = pdi_be_copy_table(s, c, fph, from_name, tph, to_name);
        pdi_pool_put(s, c);
    }
    if (rc == PD_OK) {
        if (meta && (meta->n_primary_key || meta->n_indexes)) {
            rc = pdi_add_keys(s, tph, to_name, meta);
        } else {
            /* READ_VIEWS: the base schema holds views; the table and its
             * indexes are in the stage's current slot */
            char slot[256] = "";
            if (!pdi_slot_lookup(s, from_schema, slot, sizeof slot) &&
                (s->be->caps & PDI_CAP_READ_VIEWS))
                rc = pdi_meta_get_stage_slot(s, from_schema, slot, sizeof slot);
            char *kph = slot[0] ? pdi_phys(s, slot) : NULL;
            if (rc == PD_OK)
                rc = pdi_copy_keys(s, kph ? kph : fph, from_name, tph, to_name);
            free(kph);
        }
    }
    if (rc)
        pd_error_prefix("copy of %s.%s to %s.%s", from_schema, from_name, to_schema, to_name);
    free(fph);
    free(tph);
    return rc;
}

void pdi_slot_note(pd_store *s, const char *stage, const char *slot)
{
    pthread_mutex_lock(&s->slot_mu);
    size_t i = 0;
    while (i < s->slot_stage.n && strcmp(s->slot_stage.items[i], stage) != 0)
        i++;
    if (i < s->slot_stage.n) {
        char *n = pdi_strdup(slot);
        if (n) {
            free(s->slot_name.items[i]);
            s->slot_name.items[i] = n;
        }
    } else if (pdi_strv_push(&s->slot_stage, stage) == PD_OK &&
               pdi_strv_push(&s->slot_name, slot) != PD_OK) {
        free(s->slot_stage.items[--s->slot_stage.n]);
    }
    pthread_mutex_unlock(&s->slot_mu);
}

bool pdi_slot_lookup(pd_store *s, const char *stage, char *out, size_t cap)
{
    bool found = false;
    pthread_mutex_lock(&s->slot_mu);
    for (size_t i = 0; i < s->slot_stage.n && !found; i++)
        if (strcmp(s->slot_stage.items[i], stage) == 0) {
            snprintf(out, cap, "%s", s->slot_name.items[i]);
            found = true;
        }
    pthread_mutex_unlock(&s->slot_mu);
    return found;
}

/* --------------------------------------------------------------- schemas */

int pdi_store_delete_schemas(pd_store *s, pd_strv *deleted)
{
    pd_strv names = {0};
    pdi_conn *c;
    int rc = pdi_pool_get(s, &c);
    if (rc)
        return rc;
    if (s->be->list_schemas) {
        rc = s->be->list_schemas(c, &names);
    } else {
        char *q = pdi_sql_list_schemas(s->d);
        rc = q ? s->be->query(c, q, 0, NULL, strv_row, &names) : PD_ERR_NOMEM;
        free(q);
    }
    pdi_pool_put(s, c);
    pdi_strv_sort(&names);
    for (size_t i = 0; i < names.n && rc == PD_OK; i++) {
        const char *nm = names.items[i];
        if (!pdi_str_starts(nm, s->prefix) || !pdi_str_ends(nm, s->suffix))
            continue;
        rc = pdi_forget_everywhere(s, nm);
        if (rc == PD_OK)
            rc = pdi_pool_get(s, &c);
        if (rc == PD_OK) {
            rc = pdi_be_drop_schema(s, c, nm);
            pdi_pool_put(s, c);
        }
        if (rc == PD_OK && deleted)
            pdi_strv_push(deleted, nm);
    }
    pdi_strv_free(&names);
    pdi_meta_sql_free(s);
    return rc;
}

int pdi_store_clear_metadata(pd_store *s)
{
    pdi_meta_sql_free(s);
    int rc;
    if (!s->separate_meta) {
        rc = pdi_drop_schema(s, "pipedag_metadata");
    } else {
        pthread_mutex_lock(&s->meta_mu);
        if (s->mbe->forget_schema && s->mbe->forget_schema(s->meta, s->meta_phys) != PD_OK)
            pd_clear_error();
        if (s->mbe->drop_schema) {
            rc = s->mbe->drop_schema(s->meta, s->meta_phys);
        } else {
            rc = PD_OK;
            if (!s->md->drop_cascades)
                rc = pdi_be_drop_contents(s->mbe, s->meta, s->meta_phys);
            if (rc == PD_OK)
                rc = exec_on(s->mbe, s->meta, pdi_sql_drop_schema(s->md, s->meta_phys));
        }
        pthread_mutex_unlock(&s->meta_mu);
    }
    if (rc)
        pd_error_prefix("clear-metadata in %s", s->desc);
    return rc;
}

/* ----------------------------------------------------------------- hooks */

int pdi_store_register_hook(pd_store *s, const pd_table_hook *hook)
{
    pthread_mutex_lock(&s->hook_mu);
    const pd_table_hook **n = pdi_realloc(s->hooks, (s->nhooks + 1) * sizeof *n);
    if (!n) {
        pthread_mutex_unlock(&s->hook_mu);
        return PD_ERR_NOMEM;
    }
    s->hooks = n;
    s->hooks[s->nhooks++] = hook;
    pthread_mutex_unlock(&s->hook_mu);
    return PD_OK;
}

const pd_table_hook *pdi_store_find_materialize_hook(pd_store *s, pd_obj_kind kind)
{
    const pd_table_hook *r = NULL;
    pthread_mutex_lock(&s->hook_mu);
    for (size_t i = s->nhooks; i-- > 0 && !r;) {
        pd_can c = s->hooks[i]->can_materialize ? s->hooks[i]->can_materialize(kind) : PD_CAN_NO;
        if (c == PD_CAN_YES || c == PD_CAN_YES_BUT_DONT_CACHE)
            r = s->hooks[i];
    }
    pthread_mutex_unlock(&s->hook_mu);
    return r;
}

const pd_table_hook *pdi_store_find_retrieve_hook(pd_store *s, pd_as_kind as)
{
    const pd_table_hook *r = NULL;
    pthread_mutex_lock(&s->hook_mu);
    for (size_t i = s->nhooks; i-- > 0 && !r;) {
        pd_can c = s->hooks[i]->can_retrieve ? s->hooks[i]->can_retrieve(as) : PD_CAN_NO;
        if (c == PD_CAN_YES)
            r = s->hooks[i];
    }
    pthread_mutex_unlock(&s->hook_mu);
    return r;
}

static const pd_table_hook *const *default_hooks(size_t *n)
{
    return pdi_default_hooks(n);
}
