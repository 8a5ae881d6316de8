/*
 * store/duckdb/duck_plug.c - INTERIM: the DuckDB connector behind the SQL
 * store's current connector interface (store/sql.h, pdi_conn_ops), so that
 * duckdb:// URLs work before the store moves onto store/backend.h. Replaced
 * by the pdi_backend_duckdb ops table when that lands.
 */
#include "store/duckdb/duck_int.h"
#include "store/sql.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>

typedef struct plug {
    pdi_duck_conn *dc;
} plug;

static pdi_duck_conn *DC(pdi_conn *c)
{
    return ((plug *)c->impl)->dc;
}

static int p_exec(pdi_conn *c, const char *sql)
{
    pdi_duck_set_print_sql(DC(c), c->print_sql);
    return pdi_duck_exec(DC(c), sql);
}

static int p_query(pdi_conn *c, const char *sql, pd_row_fn row, void *user)
{
    pdi_duck_set_print_sql(DC(c), c->print_sql);
    return pdi_duck_query(DC(c), sql, 0, NULL, row, user);
}

static int p_query_params(pdi_conn *c,
                          const char *sql,
                          size_t nparams,
                          const char *const *params,
                          pd_row_fn row,
                          void *user)
{
    pdi_duck_set_print_sql(DC(c), c->print_sql);
    return pdi_duck_query(DC(c), sql, nparams, params, row, user);
}

/* "a"."b" (quotes doubled inside) -> a, b */
static int split_qualified(const char *q, char **schema, char **table)
{
    char *parts[2] = {NULL, NULL};
    const char *p = q;
    for (int k = 0; k < 2; k++) {
        if (*p != '"')
            break;
        pd_buf b = {0};
        p++;
        while (*p && !(*p == '"' && p[1] != '"')) {
            if (*p == '"')
                p++;
            pd_buf_putc(&b, *p++);
        }
        if (*p == '"')
            p++;
        parts[k] = pd_buf_detach(&b);
        if (k == 0 && *p == '.')
            p++;
    }
    if (!parts[0] || !parts[1]) {
        free(parts[0]);
        free(parts[1]);
        return pd_set_error(PD_ERR_INVALID, "duckdb: not a qualified table name: %s", q);
    }
    *schema = parts[0];
    *table = parts[1];
    return PD_OK;
}

static int p_insert_arrow(pdi_conn *c,
                          const char *qualified,
                          const struct ArrowSchema *schema,
                          const struct ArrowArray *batch)
{
    char *s = NULL, *t = NULL;
    int rc = split_qualified(qualified, &s, &t);
    if (rc == PD_OK)
        rc = pdi_duck_append_batch(DC(c), s, t, schema, batch);
    free(s);
    free(t);
    return rc;
}

static int
p_query_arrow(pdi_conn *c, const char *sql, int64_t batch_rows, struct ArrowArrayStream *out)
{
    (void)batch_rows;
    pdi_duck_set_print_sql(DC(c), c->print_sql);
    return pdi_duck_query_arrow(DC(c), sql, out);
}

static int p_begin(pdi_conn *c)
{
    return pdi_duck_begin(DC(c));
}

static int p_commit(pdi_conn *c)
{
    return pdi_duck_commit(DC(c));
}

static int p_rollback(pdi_conn *c)
{
    return pdi_duck_rollback(DC(c));
}

static void p_close(pdi_conn *c)
{
    if (!c)
        return;
    pdi_duck_disconnect(DC(c));
    free(c->impl);
    free(c);
}

static const pdi_conn_ops g_ops = {
    .name = "duckdb",
    .exec = p_exec,
    .query = p_query,
    .insert_arrow = p_insert_arrow,
    .query_arrow = p_query_arrow,
    .query_params = p_query_params,
    .begin = p_begin,
    .commit = p_commit,
    .rollback = p_rollback,
    .close = p_close,
};

/* lock_wait_seconds from the store args (default 10 s). */
static double lock_wait(const pd_store_config *sc)
{
    const pd_cfg_node *a = sc->args;
    for (size_t i = 0; a && a->type == PD_CFG_MAP && i < a->n; i++)
        if (pd_str_eq(a->keys[i], "lock_wait_seconds") && a->items[i]->type == PD_CFG_SCALAR)
            return strtod(a->items[i]->scalar, NULL);
    return PDI_DUCK_LOCK_WAIT_DEFAULT;
}

int pdi_adbc_connector_open(const pd_store_config *sc, pdi_conn **out)
{
    *out = NULL;
    if (!sc->dialect || !pd_str_eq(sc->dialect, "duckdb"))
        return pd_set_error(PD_ERR_UNSUPPORTED, "%s (ADBC) is not available in this build",
                            sc->dialect ? sc->dialect : "adbc");
    char *path = NULL;
    int rc = pdi_duck_url_path(sc->url, &path);
    if (rc)
        return rc;
    pdi_duck_open_opts o = {lock_wait(sc), sc->create_database_if_not_exists};
    pdi_duck_db *db = NULL;
    rc = pdi_duck_db_open(path, &o, &db);
    free(path);
    if (rc)
        return rc;
    pdi_duck_conn *dc = NULL;
    rc = pdi_duck_connect(db, &dc);
    pdi_duck_db_release(db);
    if (rc)
        return rc;
    pdi_conn *c = pd_calloc(1, sizeof *c);
    plug *p = pd_calloc(1, sizeof *p);
    if (!c || !p) {
        free(c);
        free(p);
        pdi_duck_disconnect(dc);
        return PD_ERR_NOMEM;
    }
    p->dc = dc;
    c->ops = &g_ops;
    c->dialect = pdi_dialect_get("duckdb");
    c->impl = p;
    *out = c;
    return PD_OK;
}
