/*
 * store/registry.c - the registration table of database backends
 * (store/backend.h), opening a backend session outside a table store (the
 * lock manager's), and the services backends may call.
 *
 * Adding a backend: one line in g_backends below.
 */
#include "store/store_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const pdi_backend *const g_backends[] = {
    &pdi_backend_sqlite,     &pdi_backend_postgres, &pdi_backend_duckdb,
    &pdi_backend_odbc_mssql, &pdi_backend_odbc_db2, &pdi_backend_odbc_snowflake,
    &pdi_backend_parquet, /* no URL scheme: chosen by class ParquetTableStore */
};

/* "odbc" or "<dialect>+odbc": a URL that asks for the ODBC backend. */
static bool odbc_scheme(const char *n)
{
    return pdi_str_ieq(n, "odbc") || (strlen(n) > 5 && pdi_str_ieq(n + strlen(n) - 5, "+odbc"));
}

const pdi_backend *pdi_backend_find(const char *name)
{
    const char *n = name && *name ? name : "postgresql";
    if (odbc_scheme(n)) {
        /* <dialect>+odbc://: the dialect's own ODBC table where it has one
         * (mssql, db2, snowflake), the generic ODBC backend otherwise */
        const pdi_dialect *d = pdi_dialect_get(n);
        if (d->id == PDI_DIALECT_MSSQL)
            return &pdi_backend_odbc_mssql;
        if (d->id == PDI_DIALECT_DB2)
            return &pdi_backend_odbc_db2;
        if (d->id == PDI_DIALECT_SNOWFLAKE)
            return &pdi_backend_odbc_snowflake;
        if (d->id == PDI_DIALECT_SQLITE)
            return &pdi_backend_odbc_sqlite;
        return &pdi_backend_odbc;
    }
    for (size_t i = 0; i < sizeof g_backends / sizeof g_backends[0]; i++) {
        const pdi_backend *be = g_backends[i];
        if (be->version != PDI_BACKEND_VERSION)
            continue;
        for (size_t k = 0; be->dialects && be->dialects[k]; k++)
            if (pdi_str_ieq(n, be->dialects[k]))
                return be;
    }
    /* unknown dialects are treated like postgres (their SQL is) */
    if (pdi_dialect_get(n)->id == PDI_DIALECT_POSTGRES)
        return &pdi_backend_postgres;
    pd_set_error(PD_ERR_UNSUPPORTED, "%s is not available in this build", n);
    return NULL;
}

const char *pdi_backend_dialect_of(const pd_store_config *sc, char *buf, size_t cap)
{
    /* <x>+odbc:// and odbc://: the whole scheme, which routes to the ODBC
     * backend (pdi_dialect_get still finds the dialect before the '+') */
    const char *u = sc->url ? sc->url : "";
    size_t sl = strcspn(u, ":");
    if (u[sl] == ':' && sl < cap && sl > 0) {
        memcpy(buf, u, sl);
        buf[sl] = 0;
        for (char *p = buf; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (odbc_scheme(buf))
            return buf;
    }
    if (sc->dialect && *sc->dialect)
        return sc->dialect;
    const char *url = sc->url ? sc->url : "";
    size_t n = strcspn(url, ":+");
    if (n == 0 || url[n] == 0 || n >= cap)
        return "postgresql";
    memcpy(buf, url, n);
    buf[n] = 0;
    return buf;
}

int pdi_backend_open_conn(const pd_store_config *sc,
                          const char *instance_id,
                          const pdi_backend **be_out,
                          pdi_db **db_out,
                          pdi_conn **conn_out)
{
    *be_out = NULL;
    *db_out = NULL;
    *conn_out = NULL;
    char dn[64];
    const char *dialect = pdi_backend_dialect_of(sc, dn, sizeof dn);
    const pdi_backend *be = pdi_backend_find(dialect);
    if (!be)
        return pd_last_error_code();
    char *desc = pdi_url_mask_password(sc->url ? sc->url : "");
    if (!desc)
        return PD_ERR_NOMEM;
    pdi_open_args a = {
        .sc = sc, .d = pdi_dialect_get(dialect), .instance_id = instance_id, .desc = desc};
    pdi_db *db = NULL;
    int rc = be->open(&a, &db);
    if (rc) {
        free(desc);
        return rc;
    }
    db->be = be;
    db->d = a.d;
    db->desc = desc; /* owned here: freed by pdi_backend_disconnect_close */
    pdi_conn *c = NULL;
    rc = be->connect(db, &c);
    if (rc) {
        be->close(db);
        free(desc);
        return rc;
    }
    c->db = db;
    c->print_sql = sc->print_sql;
    *be_out = be;
    *db_out = db;
    *conn_out = c;
    return PD_OK;
}

void pdi_backend_disconnect_close(const pdi_backend *be, pdi_db *db, pdi_conn *conn)
{
    if (!be)
        return;
    if (conn)
        be->disconnect(conn);
    if (db) {
        char *desc = (char *)db->desc;
        be->close(db);
        free(desc);
    }
}

void pdi_crash_point(const char *point)
{
    const char *at = getenv("PD_TEST_CRASH_AT");
    if (at && strcmp(at, point) == 0)
        _exit(99);
}

void pdi_log_sql(const pdi_conn *c, const char *sql)
{
    if (c && c->print_sql)
        pdi_log(PD_LOG_INFO, "SQL (%s): %s", c->db && c->db->desc ? c->db->desc : "?", sql);
}
