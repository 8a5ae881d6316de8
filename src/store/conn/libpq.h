/*
 * store/conn/libpq.h - the PostgreSQL connector (libpq), internal.
 *
 * Connects from a SQLAlchemy-style URL, executes SQL text, loads Arrow
 * streams with binary COPY FROM STDIN and reads query results as Arrow with
 * binary COPY TO STDOUT. Every error message names the server as
 * host:port/db (and the task when one is set), never the password.
 */
#ifndef PD_STORE_CONN_LIBPQ_H
#define PD_STORE_CONN_LIBPQ_H

#include "pipedag/arrow.h"
#include <stdbool.h>
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
/* The raw PGconn (for the lock manager); type-erased to keep libpq-fe.h out. */
void *pdi_pg_raw(pdi_pg *c);

/* Execute SQL text (may hold several statements). */
int pdi_pg_exec(pdi_pg *c, const char *sql);
int pdi_pg_execf(pdi_pg *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
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

/* Postgres column type for an Arrow format string (static text), NULL if
 * there is none. */
const char *pdi_pg_type_for_arrow(const char *format);
/* "CREATE [UNLOGGED] TABLE <qname> (<cols>)" for an Arrow schema (struct). */
int pdi_pg_create_table_sql(const char *qname,
                            const struct ArrowSchema *schema,
                            bool unlogged,
                            char **out);
/* Load every batch of `stream` into table qname (already quoted
 * "schema"."table") with COPY ... FROM STDIN (FORMAT binary). create: create
 * the table first (same transaction). Runs in one transaction unless the
 * caller already opened one. The stream is consumed (not released). */
int pdi_pg_load_arrow(pdi_pg *c,
                      const char *qname,
                      struct ArrowArrayStream *stream,
                      bool create,
                      bool unlogged,
                      int64_t *rows_out);
/* Run a SELECT and return its rows as an Arrow stream (binary COPY out).
 * limit < 0 = all rows. */
int pdi_pg_read_arrow(pdi_pg *c,
                      const char *select_sql,
                      int64_t limit,
                      struct ArrowArrayStream *out);

/* Quote an identifier ("a""b"); caller frees. */
char *pdi_pg_quote_ident(const char *name);

#endif
