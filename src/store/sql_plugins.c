/*
 * store/sql_plugins.c - connector registration for the SQL store, weak
 * defaults for connectors that other files (or builds) provide, and the
 * crash-point test hook.
 *
 * The Postgres (libpq), ADBC and ODBC connectors define the strong symbols
 * pdi_pg_connector_open / pdi_adbc_connector_open / pdi_odbc_connector_open
 * in their own files; until then these weak versions say the dialect is
 * not available in this build.
 */
#include "store/sql.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((weak)) int pdi_pg_connector_open(const pd_store_config *sc, pdi_conn **out)
{
    *out = NULL;
    return pd_set_error(PD_ERR_UNSUPPORTED, "%s is not available in this build",
                        sc && sc->dialect ? sc->dialect : "postgresql");
}

__attribute__((weak)) int pdi_adbc_connector_open(const pd_store_config *sc, pdi_conn **out)
{
    *out = NULL;
    return pd_set_error(PD_ERR_UNSUPPORTED, "%s (ADBC) is not available in this build",
                        sc && sc->dialect ? sc->dialect : "adbc");
}

__attribute__((weak)) int pdi_odbc_connector_open(const pd_store_config *sc, pdi_conn **out)
{
    *out = NULL;
    return pd_set_error(PD_ERR_UNSUPPORTED, "%s (ODBC) is not available in this build",
                        sc && sc->dialect ? sc->dialect : "odbc");
}

static const pdi_connector_entry g_connectors[] = {
    {"postgresql", pdi_pg_connector_open},  {"postgres", pdi_pg_connector_open},
    {"duckdb", pdi_adbc_connector_open},    {"snowflake", pdi_adbc_connector_open},
    {"mssql", pdi_odbc_connector_open},     {"db2", pdi_odbc_connector_open},
    {"ibm_db_sa", pdi_odbc_connector_open},
};

pdi_conn_open_fn pdi_connector_for(const char *dialect)
{
    for (size_t i = 0; i < sizeof g_connectors / sizeof g_connectors[0]; i++)
        if (pd_str_ieq(dialect, g_connectors[i].dialect))
            return g_connectors[i].open;
    return pdi_pg_connector_open; /* unknown dialects: like postgres */
}

void pdi_crash_point(const char *point)
{
    const char *at = getenv("PD_TEST_CRASH_AT");
    if (at && strcmp(at, point) == 0)
        _exit(99);
}
