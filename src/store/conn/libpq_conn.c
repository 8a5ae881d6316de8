/*
 * store/conn/libpq_conn.c - plugs the libpq connector into the SQL store:
 * the strong pdi_pg_connector_open (sql.h) wrapping pdi_pg in the generic
 * pdi_conn_ops (exec, query, parameterised query with ? -> $n, Arrow
 * insert through binary COPY, Arrow query through binary COPY out,
 * transactions).
 */
#include "store/conn/libpq.h"
#include "store/conn/libpq_int.h"
#include "store/sql.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static pdi_pg *pg_of(pdi_conn *c)
{
    pdi_pg *p = c->impl;
    pdi_pg_set_print_sql(p, c->print_sql);
    return p;
}

static int pc_exec(pdi_conn *c, const char *sql)
{
    return pdi_pg_exec(pg_of(c), sql);
}

static int pc_query(pdi_conn *c, const char *sql, pd_row_fn row, void *user)
{
    return pdi_pg_query(pg_of(c), sql, row, user);
}

/* A stream over one borrowed batch (nothing is released but our copies). */
typedef struct one_batch {
    const struct ArrowSchema *schema;
    const struct ArrowArray *batch;
    bool done;
} one_batch;

static int ob_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    one_batch *o = st->private_data;
    return pd_arrow_schema_copy(o->schema, out) ? -1 : 0;
}

static void borrowed_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static int ob_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    one_batch *o = st->private_data;
    if (o->done) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    *out = *o->batch;
    out->release = borrowed_release;
    out->private_data = NULL;
    o->done = true;
    return 0;
}

static const char *ob_last_error(struct ArrowArrayStream *st)
{
    (void)st;
    return pd_last_error();
}

static int pc_insert_arrow(pdi_conn *c,
                           const char *qualified,
                           const struct ArrowSchema *schema,
                           const struct ArrowArray *batch)
{
    one_batch o = {schema, batch, false};
    struct ArrowArrayStream st = {ob_get_schema, ob_get_next, ob_last_error, NULL, &o};
    return pdi_pg_load_arrow(pg_of(c), qualified, &st, false, false, NULL);
}

static int
pc_query_arrow(pdi_conn *c, const char *sql, int64_t batch_rows, struct ArrowArrayStream *out)
{
    (void)batch_rows;
    return pdi_pg_read_arrow(pg_of(c), sql, -1, out);
}

static int pc_query_params(pdi_conn *c,
                           const char *sql,
                           size_t nparams,
                           const char *const *params,
                           pd_row_fn row,
                           void *user)
{
    pdi_pg *p = pg_of(c);
    /* ? -> $n (the store never puts ? inside literals) */
    pd_buf b = PD_BUF_INIT;
    int n = 0;
    for (const char *s = sql; *s; s++) {
        if (*s == '?')
            pd_buf_printf(&b, "$%d", ++n);
        else
            pd_buf_putc(&b, *s);
    }
    if (b.oom || !b.data) {
        pd_buf_free(&b);
        return pd_set_error(PD_ERR_NOMEM, "out of memory");
    }
    if ((size_t)n != nparams) {
        pd_buf_free(&b);
        return pd_set_error(PD_ERR_INVALID, "postgres %s: %d placeholders but %zu parameters",
                            p->server, n, nparams);
    }
    if (p->print_sql)
        pd_log(PD_LOG_INFO, "SQL (%s): %s", p->server, b.data);
    PGresult *r = PQexecParams(p->conn, b.data, (int)nparams, NULL, params, NULL, NULL, 0);
    pd_buf_free(&b);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = pdi_pg_fail(p, PQstatus(p->conn) == CONNECTION_OK ? PD_ERR_SQL : PD_ERR_IO, r, "");
        PQclear(r);
        return rc;
    }
    int rc = PD_OK;
    int nf = PQnfields(r), nt = PQntuples(r);
    if (row && nt > 0) {
        const char **names = pd_calloc((size_t)nf + 1, sizeof *names);
        const char **vals = pd_calloc((size_t)nf + 1, sizeof *vals);
        if (!names || !vals) {
            rc = PD_ERR_NOMEM;
        } else {
            for (int f = 0; f < nf; f++)
                names[f] = PQfname(r, f);
            for (int t = 0; t < nt && !rc; t++) {
                for (int f = 0; f < nf; f++)
                    vals[f] = PQgetisnull(r, t, f) ? NULL : PQgetvalue(r, t, f);
                rc = row(user, nf, names, vals);
            }
        }
        free(names);
        free(vals);
    }
    PQclear(r);
    return rc;
}

static int pc_begin(pdi_conn *c)
{
    return pdi_pg_begin(pg_of(c));
}
static int pc_commit(pdi_conn *c)
{
    return pdi_pg_commit(pg_of(c));
}
static int pc_rollback(pdi_conn *c)
{
    return pdi_pg_rollback(pg_of(c));
}

static void pc_close(pdi_conn *c)
{
    if (!c)
        return;
    pdi_pg_close(c->impl);
    free(c);
}

static const pdi_conn_ops g_pg_ops = {
    .name = "libpq",
    .exec = pc_exec,
    .query = pc_query,
    .insert_arrow = pc_insert_arrow,
    .query_arrow = pc_query_arrow,
    .query_params = pc_query_params,
    .begin = pc_begin,
    .commit = pc_commit,
    .rollback = pc_rollback,
    .close = pc_close,
};

int pdi_pg_connector_open(const pd_store_config *sc, pdi_conn **out)
{
    *out = NULL;
    pdi_conn *c = pd_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    pdi_pg *p = NULL;
    int rc = pdi_pg_connect(sc->url, sc->create_database_if_not_exists, &p);
    if (rc) {
        free(c);
        return rc;
    }
    c->ops = &g_pg_ops;
    c->dialect = pdi_dialect_get(sc->dialect ? sc->dialect : "postgresql");
    c->impl = p;
    c->print_sql = sc->print_sql;
    /* Deterministic text forms for values read as text. */
    rc = pdi_pg_exec(p, "SET TIME ZONE 'UTC'; SET extra_float_digits = 3");
    if (rc) {
        pc_close(c);
        return rc;
    }
    *out = c;
    return PD_OK;
}
