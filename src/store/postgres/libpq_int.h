/*
 * store/postgres/libpq_int.h - internals shared by the libpq connector files.
 */
#ifndef PD_STORE_POSTGRES_LIBPQ_INT_H
#define PD_STORE_POSTGRES_LIBPQ_INT_H

#include "store/postgres/libpq.h"
#include <libpq-fe.h>
#include <stdbool.h>

struct pdi_pg {
    PGconn *conn;
    char *server;     /* "host:port/db" */
    char *password;   /* scrubbed from messages */
    const char *task; /* borrowed */
    bool print_sql;
};

/* Set the error from `res` (or the connection) with server/task context and
 * SQLSTATE; `what` is appended (may be ""). Returns code. */
int pdi_pg_fail(pdi_pg *c, int code, const PGresult *res, const char *what);

#endif
