/*
 * store/postgres/libpq.h - the PostgreSQL connector (libpq) of the
 * postgres backend, internal to src/store/postgres (and its tests).
 *
 * Connects from a SQLAlchemy-style URL, executes SQL text, loads Arrow
 * streams with binary COPY FROM STDIN and reads query results as Arrow with
 * binary COPY TO STDOUT. Every statement it runs is given to it, or is the
 * text of a dialect function. Every error message names the server as
 * host:port/db (and the task when one is set), never the password.
 */
#ifndef PD_STORE_POSTGRES_LIBPQ_H
#define PD_STORE_POSTGRES_LIBPQ_H

#include "pipedag/arrow.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pdi_pg pdi_pg;

/* Parsed connection URL: postgresql:// postgres:// postgresql+<driver>:// */
typedef struct pdi_pg_url {
    char *user, *password, *host, *port, *dbname; /* NULL when absent */
    char **opt_keys, **opt_values;                /* query parameters (libpq keywords) */
    size_t n_opts;
} pdi_pg_url;
int pdi_pg_url_parse(const char *url, pdi_pg_url *out);
void pdi_pg_url_clear(pdi_pg_url *u);

/* Connect. create_db: when the database is missing, connect to database
 * `postgres`, CREATE DATABASE (tolerating a concurrent creation), retry. */
int pdi_pg_connect(const char *url, bool create_db, pdi_pg **out);
void pdi_pg_close(pdi_pg *c);
/* "host:port/db" (no user, no password). */
const char *pdi_pg_server(const pdi_pg *c);
/* Task named in error messages (borrowed; NULL to clear). */
void pdi_pg_set_task(pdi_pg *c, const char *task);
/* Log every statement at debug level (print_sql). */
void pdi_pg_set_print_sql(pdi_pg *c, bool on);
/* True while the session is alive (checks the socket; cheap). */
bool pdi_pg_alive(pdi_pg *c);

/* Execute SQL text (may hold several statements). */
int pdi_pg_exec(pdi_pg *c, const char *sql);
/* Run a query; `row` receives each row as text (NULL = SQL NULL). A
 * non-zero return from `row` stops and is returned. */
typedef int (*pdi_pg_row_fn)(void *user,
                             int ncols,
                             const char *const *names,
                             const char *const *values);
int pdi_pg_query(pdi_pg *c, const char *sql, pdi_pg_row_fn row, void *user);
/* First column of the first row as a new string (*out NULL if no row/NULL). */
int pdi_pg_query_value(pdi_pg *c, const char *sql, char **out);

int pdi_pg_begin(pdi_pg *c);
int pdi_pg_commit(pdi_pg *c);
int pdi_pg_rollback(pdi_pg *c);

/* Like pdi_pg_query with `?` placeholders rewritten to $1.. and bound to
 * `params` as text (NULL = SQL NULL); row may be NULL. */
int pdi_pg_query_params(pdi_pg *c,
                        const char *sql,
                        size_t nparams,
                        const char *const *params,
                        pdi_pg_row_fn row,
                        void *user);

/* Load every batch of `stream` with `copy_sql` (pdi_sql_pg_copy_in: COPY
 * "s"."t" (cols) FROM STDIN (FORMAT binary)) into an existing table whose
 * column types are the dialect's type map of the stream's columns; `what`
 * names the table in messages. Runs in one transaction unless the caller
 * already opened one. The stream is consumed (not released). */
int pdi_pg_load_arrow(pdi_pg *c,
                      const char *copy_sql,
                      const char *what,
                      struct ArrowArrayStream *stream,
                      int64_t *rows_out);
/* Run a SELECT and return its rows as an Arrow stream (binary COPY out;
 * columns without a binary decoder are read as their text form). */
int pdi_pg_read_arrow(pdi_pg *c, const char *select_sql, struct ArrowArrayStream *out);

#endif
