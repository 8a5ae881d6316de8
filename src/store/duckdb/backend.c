/*
 * store/duckdb/backend.c - the DuckDB backend: the ops table of
 * store/backend.h over the connector of duck.h.
 *
 * A store's pdi_db remembers the file and how to open it; the first
 * session opens the file and the pdi_db keeps it (every later session
 * shares it), so the file is held from the first session to the store's
 * close and no longer (a SQL UI can open it between
 * runs). DuckDB cannot rename schemas: READ_VIEWS only. DDL is
 * transactional (PDI_CAP_TRANSACTIONAL_DDL), so the store's generic commit
 * makes a stage commit (views re-pointed onto the new slot, metadata
 * promoted, `stages` updated) one DuckDB transaction.
 */
#include "store/backend.h"
#include "store/duckdb/duck.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>

typedef struct duck_be_db {
    pdi_db base;
    char *path;
    pdi_duck_open_opts opts;
    /* the file, from the first session to d_close: a store whose sessions
     * all close for a moment (the Parquet store's first one) does not open
     * and load the file twice */
    pdi_duck_db *held;
} duck_be_db;

typedef struct duck_be_conn {
    pdi_conn base;
    pdi_duck_conn *dc;
    bool in_tx;
} duck_be_conn;

static duck_be_conn *C(pdi_conn *c)
{
    return (duck_be_conn *)c;
}

static pdi_duck_conn *DC(pdi_conn *c)
{
    return C(c)->dc;
}

/* The DuckDB session behind a session of this backend (the Parquet store,
 * built on this backend, drives its catalog through it). */
pdi_duck_conn *pdi_duckdb_conn(pdi_conn *c)
{
    return DC(c);
}

/* lock_wait_seconds of the store args (validated by the config loader). */
static double lock_wait(const pd_store_config *sc)
{
    const pd_cfg_node *a = sc->args;
    for (size_t i = 0; a && a->type == PD_CFG_MAP && i < a->n; i++)
        if (pdi_str_eq(a->keys[i], "lock_wait_seconds") && a->items[i]->type == PD_CFG_SCALAR)
            return strtod(a->items[i]->scalar, NULL);
    return PDI_DUCK_LOCK_WAIT_DEFAULT;
}

static int d_open(const pdi_open_args *a, pdi_db **out)
{
    *out = NULL;
    int rc = pdi_duck_library_load(); /* needed by every session: say so now */
    if (rc)
        return rc;
    duck_be_db *db = pdi_calloc(1, sizeof *db);
    if (!db)
        return PD_ERR_NOMEM;
    rc = pdi_duck_url_path(a->sc->url, &db->path);
    db->opts.lock_wait_seconds = lock_wait(a->sc);
    db->opts.create_dirs = a->sc->create_database_if_not_exists;
    if (rc == PD_OK && db->opts.create_dirs) {
        char *dir = pdi_path_dirname(db->path);
        rc = dir ? (pdi_is_dir(dir) ? PD_OK : pdi_mkdir_p(dir)) : PD_ERR_NOMEM;
        free(dir);
    }
    if (rc) {
        free(db->path);
        free(db);
        return rc;
    }
    db->base.d = a->d;
    *out = &db->base;
    return PD_OK;
}

static void d_close(pdi_db *db)
{
    if (!db)
        return;
    pdi_duck_db_release(((duck_be_db *)db)->held);
    free(((duck_be_db *)db)->path);
    free(db);
}

static int d_connect(pdi_db *db, pdi_conn **out)
{
    *out = NULL;
    duck_be_db *bd = (duck_be_db *)db;
    pdi_duck_db *f = NULL;
    int rc = pdi_duck_db_open(bd->path, &bd->opts, &f);
    if (rc)
        return rc;
    duck_be_conn *c = pdi_calloc(1, sizeof *c);
    rc = c ? pdi_duck_connect(f, &c->dc) : PD_ERR_NOMEM;
    if (!bd->held) /* the store's reference (d_close releases it) */
        bd->held = f;
    else
        pdi_duck_db_release(f); /* the session holds its own reference */
    if (rc == PD_OK) {
        char *setup = pdi_sql_session_setup(db->d);
        rc = !setup ? PD_ERR_NOMEM : *setup ? pdi_duck_exec(c->dc, setup) : PD_OK;
        free(setup);
    }
    if (rc) {
        if (c)
            pdi_duck_disconnect(c->dc);
        free(c);
        return rc;
    }
    *out = &c->base;
    return PD_OK;
}

static void d_disconnect(pdi_conn *c)
{
    if (!c)
        return;
    if (C(c)->in_tx && pdi_duck_rollback(C(c)->dc) != PD_OK)
        pd_clear_error();
    pdi_duck_disconnect(C(c)->dc);
    free(c);
}

static int d_exec(pdi_conn *c, const char *sql)
{
    pdi_log_sql(c, sql);
    return pdi_duck_exec(DC(c), sql);
}

static int d_query(pdi_conn *c,
                   const char *sql,
                   size_t nparams,
                   const char *const *params,
                   pd_row_fn row,
                   void *user)
{
    pdi_log_sql(c, sql);
    return pdi_duck_query(DC(c), sql, nparams, params, row, user);
}

static int d_query_arrow(pdi_conn *c, const char *sql, struct ArrowArrayStream *out)
{
    pdi_log_sql(c, sql);
    return pdi_duck_query_arrow(DC(c), sql, out);
}

static int d_begin(pdi_conn *c)
{
    int rc = pdi_duck_begin(DC(c));
    if (rc == PD_OK)
        C(c)->in_tx = true;
    return rc;
}

static int d_commit(pdi_conn *c)
{
    int rc = pdi_duck_commit(DC(c));
    C(c)->in_tx = false; /* DuckDB ends a transaction whose commit fails */
    return rc;
}

static int d_rollback(pdi_conn *c)
{
    if (!C(c)->in_tx)
        return PD_OK;
    C(c)->in_tx = false;
    return pdi_duck_rollback(DC(c));
}

static int d_load_arrow(
    pdi_conn *c, const char *schema, const char *table, struct ArrowArrayStream *in, int64_t *rows)
{
    bool own = !C(c)->in_tx;
    int rc = own ? d_begin(c) : PD_OK;
    if (rc == PD_OK)
        rc = pdi_duck_append_stream(DC(c), schema, table, in, rows);
    if (own && C(c)->in_tx) {
        if (rc == PD_OK)
            rc = d_commit(c);
        else
            d_rollback(c);
    }
    return rc;
}

static int d_unique_probe(pdi_conn *c,
                          const char *schema,
                          const char *table,
                          const char *column,
                          const char *any_where,
                          bool *distinct,
                          int *any)
{
    (void)any_where; /* DuckDB's scan checks stop at the first offending row: kept apart */
    *any = -1;
    return pdi_duck_unique_probe(DC(c), schema, table, column, false, distinct);
}

static const char *const g_dialects[] = {"duckdb", NULL};

const pdi_backend pdi_backend_duckdb = {
    .version = PDI_BACKEND_VERSION,
    .name = "duckdb",
    .dialects = g_dialects,
    .caps = PDI_CAP_READ_VIEWS | PDI_CAP_INDEXES | PDI_CAP_TRANSACTIONAL_DDL,
    .no_schema_swap_reason = "DuckDB cannot rename schemas",
    .no_read_views_reason = NULL,
    .open = d_open,
    .close = d_close,
    .connect = d_connect,
    .disconnect = d_disconnect,
    .exec = d_exec,
    .query = d_query,
    .query_arrow = d_query_arrow,
    .load_arrow = d_load_arrow,
    .begin = d_begin,
    .commit = d_commit,
    .rollback = d_rollback,
    .unique_probe = d_unique_probe,
};
