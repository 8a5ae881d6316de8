/*
 * store/duckdb/duck.h - the DuckDB backend's connector (internal).
 *
 * libduckdb.so is loaded at run time (duck_api.h). A database file is opened
 * once per process and shared by every connection to it (DuckDB allows one
 * writing process per file; connections of that process share the
 * instance). The file is held from the first pdi_duck_db_open to the last
 * pdi_duck_db_release, i.e. while a run needs it. When another process
 * holds it, opening waits up to `lock_wait_seconds`, says who holds it,
 * and then fails with that message.
 *
 * Extension autoloading and autoinstalling are off: a statement needing a
 * missing extension fails at once with DuckDB's message instead of trying a
 * download.
 *
 * Nothing here builds SQL text: statements come from the dialect. Arrow
 * tables go in through DuckDB's Arrow scan (the stream as a temporary view,
 * INSERT .. SELECT from it, parallel in DuckDB) and come out as DuckDB data
 * chunks converted to Arrow (duckdb_data_chunk_to_arrow); no row-at-a-time
 * path.
 */
#ifndef PD_STORE_DUCKDB_DUCK_H
#define PD_STORE_DUCKDB_DUCK_H

#include "pipedag/arrow.h"
#include "store/store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pdi_duck_db pdi_duck_db;
typedef struct pdi_duck_conn pdi_duck_conn;

/* Default of the store arg lock_wait_seconds. */
#define PDI_DUCK_LOCK_WAIT_DEFAULT 10.0

/* The database file of a duckdb:// URL: duckdb:////abs/x.duckdb ->
 * "/abs/x.duckdb", duckdb:///rel/x.duckdb -> "rel/x.duckdb" (relative to
 * the current directory); a query string (?...) is dropped. duckdb:// with
 * no path, or ":memory:", is refused (a run needs a file). */
int pdi_duck_url_path(const char *url, char **path_out);

typedef struct pdi_duck_open_opts {
    double lock_wait_seconds; /* how long to wait for another process's hold */
    bool create_dirs;         /* create the file's directory (create_database_if_not_exists) */
} pdi_duck_open_opts;

/* Open (or share) the database at `path`. Without create_dirs, a missing
 * directory is an error naming it. */
int pdi_duck_db_open(const char *path, const pdi_duck_open_opts *o, pdi_duck_db **out);
/* Drop one reference; the last one closes the file (releases the hold). */
void pdi_duck_db_release(pdi_duck_db *db);
const char *pdi_duck_db_path(const pdi_duck_db *db);
/* "DuckDB vX.Y.Z (<path of libduckdb.so>)"; NULL if it cannot be loaded. */
const char *pdi_duck_library_desc(void);
/* Load libduckdb.so now (PD_ERR_UNSUPPORTED "DuckDB library not found
 * (searched: ...)" when it cannot be). */
int pdi_duck_library_load(void);

/* Who holds `path` according to DuckDB's lock error text `msg` ("... (PID
 * n)") or, failing that, /proc/locks: "PID n (<command line>)". NULL when
 * nobody can be named. Exposed for tests. */
char *pdi_duck_holder(const char *path, const char *msg);

int pdi_duck_connect(pdi_duck_db *db, pdi_duck_conn **out);
void pdi_duck_disconnect(pdi_duck_conn *c);

/* Statements are logged (INFO) when print_sql is set. */
void pdi_duck_set_print_sql(pdi_duck_conn *c, bool on);

/* Run one statement or a script of several (raw SQL). */
int pdi_duck_exec(pdi_duck_conn *c, const char *sql);
/* Run a query; rows go to `row` as text (NULL values for SQL NULL), a
 * non-zero return of `row` stops and is returned. With nparams > 0 the
 * statement is prepared (cached by text) and `?` bound as VARCHAR (NULL =
 * SQL NULL), which DuckDB casts to the parameter's type. row may be NULL. */
int pdi_duck_query(pdi_duck_conn *c,
                   const char *sql,
                   size_t nparams,
                   const char *const *params,
                   pd_row_fn row,
                   void *user);
/* Result of `sql` as an Arrow stream (one batch per DuckDB chunk of up to
 * 2048 rows). The result is materialized by DuckDB before this returns, so
 * the connection is free again at once; the stream keeps the database
 * open until released. */
int pdi_duck_query_arrow(pdi_duck_conn *c, const char *sql, struct ArrowArrayStream *out);
/* Append every row of the Arrow batches of `stream` to the existing table
 * schema.table, whose columns are in the stream's order. The stream is
 * read to its end but not released (the caller releases it). Not a
 * transaction by itself: use begin/commit around it to make the load
 * all-or-nothing. *rows gets the row count (may be NULL). The stream's
 * get_next is called by DuckDB's worker threads (one call at a time), and
 * its batches may be released there. */
int pdi_duck_append_stream(pdi_duck_conn *c,
                           const char *schema,
                           const char *table,
                           struct ArrowArrayStream *stream,
                           int64_t *rows);

/* The DuckDB session behind a session of the DuckDB backend
 * (store/backend.h). */
struct pdi_conn;
pdi_duck_conn *pdi_duckdb_conn(struct pdi_conn *c);

/* The hash probe of a unique check (store/backend.h unique_probe) on
 * schema.table.column (duck_unique.c): PD_ERR_UNSUPPORTED (no error text)
 * unless equal values are equal bytes there; `file_view`: schema.table is
 * known to be a view over Parquet files, which is then accepted. */
int pdi_duck_unique_probe(pdi_duck_conn *c,
                          const char *schema,
                          const char *table,
                          const char *column,
                          bool file_view,
                          bool *distinct);

int pdi_duck_begin(pdi_duck_conn *c);
int pdi_duck_commit(pdi_duck_conn *c);
int pdi_duck_rollback(pdi_duck_conn *c);

#endif
