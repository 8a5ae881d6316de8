/*
 * store/duckdb/duck_conn.c - one DuckDB connection: statements, scripts,
 * queries with rows as text, prepared statements cached by text, and
 * transactions.
 */
#include "store/duckdb/duck_int.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>

int pdi_duck_err(pdi_duck_conn *c, const char *msg, const char *sql)
{
    (void)c;
    if (sql) {
        size_t n = strlen(sql);
        return pd_set_error(PD_ERR_SQL, "duckdb: %s (in: %.*s%s)", msg ? msg : "error",
                            n > 300 ? 300 : (int)n, sql, n > 300 ? "..." : "");
    }
    return pd_set_error(PD_ERR_SQL, "duckdb: %s", msg ? msg : "error");
}

int pdi_duck_connect(pdi_duck_db *db, pdi_duck_conn **out)
{
    *out = NULL;
    const pdi_duck_api *A;
    int rc = pdi_duck_api_get(&A);
    if (rc)
        return rc;
    pdi_duck_conn *c = pdi_calloc(1, sizeof *c);
    if (!c)
        return PD_ERR_NOMEM;
    c->A = A;
    if (A->connect(pdi_duck_db_handle(db), &c->conn) != 0) {
        free(c);
        return pd_set_error(PD_ERR_IO, "DuckDB: cannot connect to %s", pdi_duck_db_path(db));
    }
    pdi_duck_db_retain(db);
    c->db = db;
    *out = c;
    return PD_OK;
}

void pdi_duck_disconnect(pdi_duck_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < PDI_DUCK_STMT_CACHE; i++) {
        if (c->cache[i].st)
            c->A->destroy_prepare(&c->cache[i].st);
        free(c->cache[i].sql);
    }
    c->A->disconnect(&c->conn);
    pdi_duck_db_release(c->db);
    free(c);
}

void pdi_duck_set_print_sql(pdi_duck_conn *c, bool on)
{
    c->print_sql = on;
}

static void log_sql(pdi_duck_conn *c, const char *sql)
{
    if (c->print_sql)
        pdi_log(PD_LOG_INFO, "SQL: %s", sql);
}

int pdi_duck_exec(pdi_duck_conn *c, const char *sql)
{
    log_sql(c, sql);
    duck_result r;
    memset(&r, 0, sizeof r);
    int rc = PD_OK;
    if (c->A->query(c->conn, sql, &r) != 0)
        rc = pdi_duck_err(c, c->A->result_error(&r), sql);
    c->A->destroy_result(&r);
    return rc;
}

/* Types duckdb_value_varchar renders (DuckDB's own text): booleans,
 * integers, floats, TIMESTAMP, DATE, TIME, INTERVAL, HUGEINT, VARCHAR, BLOB,
 * DECIMAL, UHUGEINT. For others (TIMESTAMPTZ, TIMESTAMP_S/MS/NS, lists,
 * structs, maps, enums, UUID...) it answers NULL, so those results are
 * rendered from Arrow instead. */
static bool varchar_renders(int type)
{
    return (type >= 1 && type <= 19) || type == 32;
}

/* Hand every row of a materialized result to `row`. */
static int result_rows(pdi_duck_conn *c, duck_result *r, pd_row_fn row, void *user)
{
    const pdi_duck_api *A = c->A;
    duck_idx nc = A->column_count(r), nr = A->row_count(r);
    if (!row || nr == 0)
        return PD_OK;
    for (duck_idx j = 0; j < nc; j++)
        if (!varchar_renders(A->column_type(r, j)))
            return pdi_duck_rows_via_arrow(c, r, row, user);
    if (nc > 4096)
        return pd_set_error(PD_ERR_UNSUPPORTED, "duckdb: a result of %llu columns is too wide",
                            (unsigned long long)nc);
    const char **names = pdi_calloc(nc ? nc : 1, sizeof *names);
    char **vals = pdi_calloc(nc ? nc : 1, sizeof *vals);
    int rc = names && vals ? PD_OK : PD_ERR_NOMEM;
    for (duck_idx j = 0; rc == PD_OK && j < nc; j++)
        names[j] = A->column_name(r, j);
    for (duck_idx i = 0; rc == PD_OK && i < nr; i++) {
        for (duck_idx j = 0; j < nc; j++)
            vals[j] = A->value_is_null(r, j, i) ? NULL : A->value_varchar(r, j, i);
        rc = row(user, (int)nc, names, (const char *const *)vals);
        for (duck_idx j = 0; j < nc; j++) {
            if (vals[j])
                A->free(vals[j]);
            vals[j] = NULL;
        }
    }
    free(names);
    free(vals);
    return rc;
}

/* The cached prepared statement for `sql`, preparing it (and evicting the
 * least recently used one) if needed. */
static int prepared(pdi_duck_conn *c, const char *sql, duck_prepared *out)
{
    size_t victim = 0;
    for (size_t i = 0; i < PDI_DUCK_STMT_CACHE; i++) {
        pdi_duck_stmt *e = &c->cache[i];
        if (e->sql && strcmp(e->sql, sql) == 0) {
            e->last_use = ++c->tick;
            *out = e->st;
            return PD_OK;
        }
        if (!e->sql || e->last_use < c->cache[victim].last_use || (c->cache[victim].sql && !e->sql))
            victim = i;
    }
    duck_prepared st = NULL;
    if (c->A->prepare(c->conn, sql, &st) != 0) {
        int rc = pdi_duck_err(c, st ? c->A->prepare_error(st) : "prepare failed", sql);
        if (st)
            c->A->destroy_prepare(&st);
        return rc;
    }
    char *copy = pdi_strdup(sql);
    if (!copy) {
        c->A->destroy_prepare(&st);
        return PD_ERR_NOMEM;
    }
    pdi_duck_stmt *e = &c->cache[victim];
    if (e->st)
        c->A->destroy_prepare(&e->st);
    free(e->sql);
    e->sql = copy;
    e->st = st;
    e->last_use = ++c->tick;
    *out = st;
    return PD_OK;
}

int pdi_duck_query(pdi_duck_conn *c,
                   const char *sql,
                   size_t nparams,
                   const char *const *params,
                   pd_row_fn row,
                   void *user)
{
    const pdi_duck_api *A = c->A;
    log_sql(c, sql);
    duck_result r;
    memset(&r, 0, sizeof r);
    int rc;
    if (nparams == 0) {
        rc = A->query(c->conn, sql, &r) == 0 ? PD_OK : pdi_duck_err(c, A->result_error(&r), sql);
    } else {
        duck_prepared st = NULL;
        rc = prepared(c, sql, &st);
        if (rc)
            return rc;
        if (A->nparams(st) != nparams)
            return pd_set_error(PD_ERR_INVALID,
                                "duckdb: %zu parameters given, %llu expected (in: %s)", nparams,
                                (unsigned long long)A->nparams(st), sql);
        for (size_t i = 0; i < nparams && rc == PD_OK; i++) {
            int b = params[i] ? A->bind_varchar(st, i + 1, params[i]) : A->bind_null(st, i + 1);
            if (b != 0)
                rc = pdi_duck_err(c, "cannot bind a parameter", sql);
        }
        if (rc)
            return rc;
        if (A->execute_prepared(st, &r) != 0)
            rc = pdi_duck_err(c, A->result_error(&r), sql);
    }
    if (rc == PD_OK)
        rc = result_rows(c, &r, row, user);
    A->destroy_result(&r);
    return rc;
}

int pdi_duck_begin(pdi_duck_conn *c)
{
    return pdi_duck_exec(c, "BEGIN TRANSACTION");
}

int pdi_duck_commit(pdi_duck_conn *c)
{
    return pdi_duck_exec(c, "COMMIT");
}

int pdi_duck_rollback(pdi_duck_conn *c)
{
    /* keep the error that made the caller roll back */
    pd_buf keep = {0};
    pdi_buf_puts(&keep, pd_last_error());
    int code = pd_last_error_code();
    int rc = pdi_duck_exec(c, "ROLLBACK");
    char *k = pdi_buf_detach(&keep);
    if (code != PD_OK && k)
        pd_set_error(code, "%s", k);
    free(k);
    return rc;
}
