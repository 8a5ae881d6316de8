/*
 * store/postgres/backend.c - the PostgreSQL backend (store/backend.h) on
 * the libpq connector: sessions, parameterised queries (? -> $n), Arrow in
 * and out through binary COPY, and session advisory locks for the
 * DatabaseLockManager. Postgres has transactional DDL, so the store commits
 * a stage (schema renames or view re-pointing, plus the metadata
 * promotion) in ONE transaction with its generic publish; nothing else is
 * Postgres-only.
 */
#include "store/backend.h"
#include "store/postgres/libpq.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct pg_db {
    pdi_db base;
    char *url; /* with the password: never in messages */
    bool create_db;
} pg_db;

typedef struct pg_conn {
    pdi_conn base;
    pdi_pg *pg;
} pg_conn;

static pdi_pg *PG(pdi_conn *c)
{
    pdi_pg *p = ((pg_conn *)c)->pg;
    pdi_pg_set_print_sql(p, c->print_sql);
    return p;
}

static int pg_open(const pdi_open_args *a, pdi_db **out)
{
    *out = NULL;
    pg_db *d = pdi_calloc(1, sizeof *d);
    if (!d)
        return PD_ERR_NOMEM;
    d->url = pdi_strdup(a->sc->url ? a->sc->url : "");
    d->create_db = a->sc->create_database_if_not_exists;
    if (!d->url) {
        free(d);
        return PD_ERR_NOMEM;
    }
    *out = &d->base;
    return PD_OK;
}

static void pg_close(pdi_db *dbp)
{
    pg_db *d = (pg_db *)dbp;
    if (!d)
        return;
    free(d->url);
    free(d);
}

static void pg_disconnect(pdi_conn *c)
{
    if (!c)
        return;
    pdi_pg_close(((pg_conn *)c)->pg);
    free(c);
}

static int pg_connect(pdi_db *dbp, pdi_conn **out)
{
    *out = NULL;
    pg_db *d = (pg_db *)dbp;
    pg_conn *c = pdi_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    int rc = pdi_pg_connect(d->url, d->create_db, &c->pg);
    if (rc) {
        free(c);
        return rc;
    }
    /* deterministic text forms for values read as text */
    char *setup = pdi_sql_session_setup(&pdi_dialect_postgres);
    rc = setup ? pdi_pg_exec(c->pg, setup) : PD_ERR_NOMEM;
    free(setup);
    if (rc) {
        pg_disconnect(&c->base);
        return rc;
    }
    *out = &c->base;
    return PD_OK;
}

static int pg_exec(pdi_conn *c, const char *sql)
{
    return pdi_pg_exec(PG(c), sql);
}

static int pg_query(
    pdi_conn *c, const char *sql, size_t np, const char *const *params, pd_row_fn row, void *user)
{
    if (np == 0)
        return pdi_pg_query(PG(c), sql, row, user);
    return pdi_pg_query_params(PG(c), sql, np, params, row, user);
}

static int pg_query_arrow(pdi_conn *c, const char *sql, struct ArrowArrayStream *out)
{
    return pdi_pg_read_arrow(PG(c), sql, out);
}

static int pg_load_arrow(
    pdi_conn *c, const char *schema, const char *table, struct ArrowArrayStream *in, int64_t *rows)
{
    struct ArrowSchema sch = {0};
    if (in->get_schema(in, &sch) != 0) {
        const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
        return pd_set_error(PD_ERR_INVALID, "reading Arrow schema of table '%s': %s", table,
                            m ? m : "stream error");
    }
    char *copy = pdi_sql_pg_copy_in(schema, table, &sch);
    char *what = pdi_sql_qualified(&pdi_dialect_postgres, schema, table);
    sch.release(&sch);
    int rc = copy && what ? pdi_pg_load_arrow(PG(c), copy, what, in, rows) : PD_ERR_NOMEM;
    free(copy);
    free(what);
    return rc;
}

static int pg_begin(pdi_conn *c)
{
    return pdi_pg_begin(PG(c));
}

static int pg_commit(pdi_conn *c)
{
    return pdi_pg_commit(PG(c));
}

static int pg_rollback(pdi_conn *c)
{
    return pdi_pg_rollback(PG(c));
}

static int pg_lock(pdi_conn *c, int64_t id, pdi_lock_op op)
{
    const pdi_dialect *d = &pdi_dialect_postgres;
    char *sql = op == PDI_LOCK_ACQUIRE   ? pdi_sql_lock(d, id)
                : op == PDI_LOCK_RELEASE ? pdi_sql_unlock(d, id)
                                         : pdi_sql_unlock_all(d);
    int rc = sql ? pdi_pg_exec(PG(c), sql) : PD_ERR_NOMEM;
    free(sql);
    return rc;
}

static bool pg_alive(pdi_conn *c)
{
    return pdi_pg_alive(((pg_conn *)c)->pg);
}

static const char *const g_names[] = {"postgresql", "postgres", NULL};

const pdi_backend pdi_backend_postgres = {
    .version = PDI_BACKEND_VERSION,
    .name = "Postgres",
    .dialects = g_names,
    .caps = PDI_CAP_SCHEMA_SWAP | PDI_CAP_READ_VIEWS | PDI_CAP_INDEXES | PDI_CAP_TRANSACTIONAL_DDL |
            PDI_CAP_LOCKS,
    .open = pg_open,
    .close = pg_close,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .query = pg_query,
    .query_arrow = pg_query_arrow,
    .load_arrow = pg_load_arrow,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .alive = pg_alive,
};
