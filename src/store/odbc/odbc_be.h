/*
 * store/odbc/odbc_be.h - what the ODBC backend's operation tables share
 * (odbc_backend.c: the server databases; odbc_sqlite.c: SQLite files
 * through libsqliteodbc). Not for other subsystems.
 */
#ifndef PD_STORE_ODBC_BE_H
#define PD_STORE_ODBC_BE_H

#include "store/backend.h"
#include "store/odbc/odbc.h"
#include "store/sqlite/sqlite_session.h"

typedef struct pdi_odbc_db {
    pdi_db base;
    pdi_odbc_target t; /* where sessions connect */
    const pd_store_config *sc;
    const pdi_dialect *d;
    char *instance_id;
    char *dir; /* sqlite+odbc: the store directory (one file per schema) */
} pdi_odbc_db;

typedef struct pdi_odbc_conn {
    pdi_sqlite_conn base; /* pdi_conn, and for sqlite+odbc the attached schema
                             files (store/sqlite/sqlite_session.h) */
    pdi_odbc *c;
    bool whole_scripts; /* the driver runs several statements at once */
    int db2_locks;      /* DB2: stage locks held by the open lock transaction */
} pdi_odbc_conn;

/* The connector of a session, with the session's print_sql applied. */
pdi_odbc *pdi_odbc_be_handle(pdi_conn *pc);
/* Session setup shared by every table: connect to db->t, run the dialect's
 * session setup (and Snowflake's query tag). */
int pdi_odbc_be_connect(pdi_db *pdb, pdi_conn **out);
void pdi_odbc_be_disconnect(pdi_conn *pc);
void pdi_odbc_be_close(pdi_db *pdb);
/* Scripts split as the driver needs (MSSQL GO batches, top-level `;`). */
int pdi_odbc_be_exec(pdi_conn *pc, const char *sql);
/* A statement from a dialect function (NULL: error set / out of memory;
 * "": nothing to do), executed and freed. */
int pdi_odbc_be_run(pdi_conn *pc, char *sql);
int pdi_odbc_be_query(pdi_conn *pc,
                      const char *sql,
                      size_t nparams,
                      const char *const *params,
                      pd_row_fn row,
                      void *user);
int pdi_odbc_be_query_arrow(pdi_conn *pc, const char *sql, struct ArrowArrayStream *out);
/* The same with the Arrow formats of some columns given (formats[i] for
 * result column i, NULL: from the driver's report). */
int pdi_odbc_be_query_arrow_as(pdi_conn *pc,
                               const char *sql,
                               const char *const *formats,
                               size_t nformats,
                               struct ArrowArrayStream *out);
int pdi_odbc_be_load_arrow(pdi_conn *pc,
                           const char *schema,
                           const char *table,
                           struct ArrowArrayStream *in,
                           int64_t *rows);
int pdi_odbc_be_begin(pdi_conn *pc);
int pdi_odbc_be_commit(pdi_conn *pc);
int pdi_odbc_be_rollback(pdi_conn *pc);

#endif
