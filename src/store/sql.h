/*
 * store/sql.h - the SQL table store's two halves (internal).
 *
 * A SQL store = a *dialect* (pure functions that write SQL text and never
 * execute anything) + a *connector* (executes text, returns rows as text or
 * Arrow, bulk-loads Arrow batches; never builds SQL). The store (sql_store.c)
 * picks both from pd_store_config.dialect (the URL scheme). Dialect text is
 * unit-tested per dialect; connectors are tested against real databases.
 *
 * Plug-in points for other builds/engineers: pdi_pg_connector_open (libpq),
 * pdi_adbc_connector_open (ADBC drivers, e.g. libduckdb's duckdb_adbc_init),
 * pdi_odbc_connector_open (unixODBC). Each has a weak default in
 * src/store/sql_plugins.c that answers PD_ERR_UNSUPPORTED "<dialect> is not
 * available in this build"; define the strong symbol in your own file.
 */
#ifndef PD_STORE_SQL_H
#define PD_STORE_SQL_H

#include "pipedag/arrow.h"
#include "pipedag/config.h"
#include "store/store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ================================================================ dialects */

typedef enum pdi_dialect_id {
    PDI_DIALECT_POSTGRES = 0, /* also every unknown dialect ("treated like postgres") */
    PDI_DIALECT_SQLITE,
    PDI_DIALECT_DUCKDB,
    PDI_DIALECT_MSSQL,
    PDI_DIALECT_DB2,
    PDI_DIALECT_SNOWFLAKE
} pdi_dialect_id;

/* Data describing one dialect; the pdi_sql_* functions below switch on id.
 * Strings are static. */
typedef struct pdi_dialect {
    pdi_dialect_id id;
    const char *name;        /* "postgresql", "sqlite", "duckdb", "mssql", "db2", "snowflake" */
    bool schema_swap;        /* can rename schemas (SCHEMA_SWAP) */
    bool read_views;         /* cross-schema views work (READ_VIEWS) */
    bool pk_as_unique_index; /* PK emulated by a UNIQUE INDEX (sqlite, duckdb) */
    bool indexes_supported;  /* false: skipped with a warning (snowflake) */
    size_t max_ident_len;    /* 63 for pk_/idx_ names (all dialects, §1.6) */
} pdi_dialect;

/* Dialect by name ("postgresql", "postgres", "sqlite", "duckdb", "mssql",
 * "ibm_db_sa"/"db2", "snowflake"; anything else -> postgres-like with that
 * name kept for messages). Never NULL. */
const pdi_dialect *pdi_dialect_get(const char *name);

/* Every function below returns a new malloc'd string (NULL only on OOM,
 * with the error set). Schema arguments are *physical* names (prefix and
 * suffix already applied, see pdi_sql_physical_schema). */

/* "name" with embedded quotes doubled; MSSQL: [name] with ] doubled. */
char *pdi_sql_quote(const pdi_dialect *d, const char *ident);
/* "schema"."name" */
char *pdi_sql_qualified(const pdi_dialect *d, const char *schema, const char *name);
/* prefix + logical + suffix (NULL prefix/suffix = ""). */
char *pdi_sql_physical_schema(const char *prefix, const char *logical, const char *suffix);

char *pdi_sql_create_schema(const pdi_dialect *d, const char *schema); /* if not exists */
char *pdi_sql_drop_schema(const pdi_dialect *d, const char *schema);   /* if exists, cascade */
char *pdi_sql_rename_schema(const pdi_dialect *d, const char *from, const char *to);
/* CREATE TABLE s.t AS <select>; MSSQL: SELECT ... INTO s.t FROM ... spliced
 * (see pdi_sql_mssql_splice_into); DB2: CREATE TABLE s.t AS (<select>) WITH DATA. */
char *pdi_sql_ctas(
    const pdi_dialect *d, const char *schema, const char *table, const char *select, bool unlogged);
/* "CREATE TABLE " or, on Postgres with `unlogged`, "CREATE UNLOGGED TABLE ". */
const char *pdi_sql_create_table_kw(const pdi_dialect *d, bool unlogged);
/* Splice "INTO <target>" before the first top-level FROM/WHERE/GROUP/WINDOW/
 * HAVING/ORDER/UNION/EXCEPT/INTERSECT keyword (or at the end), respecting
 * parentheses, '...' strings, "..." and [...] identifiers and comments. */
char *pdi_sql_mssql_splice_into(const char *select, const char *target);
char *
pdi_sql_create_view(const pdi_dialect *d, const char *schema, const char *view, const char *select);
char *pdi_sql_drop_table(const pdi_dialect *d, const char *schema, const char *table);
char *pdi_sql_drop_view(const pdi_dialect *d, const char *schema, const char *view);
char *
pdi_sql_rename_table(const pdi_dialect *d, const char *schema, const char *from, const char *to);
/* pk_<table>_<cols joined by _> / idx_<table>_<cols>; if longer than 63:
 * <prefix><table>_<hash>, if still too long <prefix><hash>_<truncated table>
 * (hash = first 8 hex chars of SHA-256 of "table|col1|col2..."). */
char *pdi_sql_constraint_name(const char *prefix,
                              const char *table,
                              const char *const *cols,
                              size_t ncols);
/* ALTER TABLE .. ADD CONSTRAINT pk PRIMARY KEY (..); sqlite/duckdb: CREATE
 * UNIQUE INDEX (schema-qualified index name on sqlite). */
char *pdi_sql_add_primary_key(const pdi_dialect *d,
                              const char *schema,
                              const char *table,
                              const char *const *cols,
                              size_t ncols);
/* CREATE INDEX; NULL-with-PD_OK is never returned: snowflake returns "" (skip). */
char *pdi_sql_create_index(const pdi_dialect *d,
                           const char *schema,
                           const char *table,
                           const char *const *cols,
                           size_t ncols);
/* Query returning one text column: names of tables and views in `schema`,
 * sorted. */
char *pdi_sql_list_objects(const pdi_dialect *d, const char *schema);
/* INSERT INTO s.t SELECT ... */
char *pdi_sql_insert_select(const pdi_dialect *d,
                            const char *schema,
                            const char *table,
                            const char *select);
/* SELECT * FROM (<select>) LIMIT n  (MSSQL: SELECT TOP n; DB2: FETCH FIRST). */
char *pdi_sql_limit(const pdi_dialect *d, const char *select, int64_t n);
/* SQL column type for an Arrow format string ("l" -> BIGINT, "u" -> TEXT
 * on sqlite, VARCHAR elsewhere...). Static string or NULL if unsupported. */
const char *pdi_sql_type_for_arrow(const pdi_dialect *d, const char *arrow_format);
/* Arrow format for a declared SQL column type (inverse, best effort;
 * unknown -> "u"). Static string. */
const char *pdi_sql_arrow_for_type(const pdi_dialect *d, const char *sql_type);

/* SQL text scanning. `p` at a line comment ("--") or a block comment: the position after it
 * (a line comment stops before its newline), else NULL. */
const char *pdi_sql_skip_comment(const char *p);
/* `p` at an opening quote (' " ` or [): the position after the closing one,
 * a doubled closing quote being part of the text; the end of the string
 * when unterminated. */
const char *pdi_sql_skip_quoted(const char *p);

/* Boolean literal: TRUE/FALSE, or 1/0 where booleans are bits (sqlite,
 * mssql). */
const char *pdi_sql_bool(const pdi_dialect *d, bool v);

/* Metadata DDL of PIPEDAG_SEMANTICS.md §4 for schema `schema` (physical):
 * a NULL-terminated array of statements (static storage is not used: free
 * with pdi_sql_strv_free). Includes the commit journal table
 * (`commit_journal(stage, run_id)`) and lookup indexes. id columns are
 * auto-increment per dialect. */
char **pdi_sql_metadata_ddl(const pdi_dialect *d, const char *schema);
void pdi_sql_strv_free(char **v);

/* Canonical form of SQL for lazy caching: remove `"`, `[`, `]`; lower-case;
 * strip the suffixes __tmp/__even/__odd when followed by whitespace, `.`,
 * `;`, `"` or the end. */
char *pdi_sql_canonical(const char *sql);

/* ============================================================== connectors */

typedef struct pdi_conn pdi_conn;

/* Rows as text: see pd_row_fn in store.h (values NULL for SQL NULL). */
typedef struct pdi_conn_ops {
    const char *name; /* "sqlite3", "libpq", "adbc", "odbc" */
    /* Execute one statement (or a script where the driver allows it). */
    int (*exec)(pdi_conn *c, const char *sql);
    /* Run a query; every row handed to `row` (stop with non-zero return,
     * which is passed back). */
    int (*query)(pdi_conn *c, const char *sql, pd_row_fn row, void *user);
    /* Insert every row of `batch` into the existing table `qualified`
     * (quoted "schema"."table") whose columns are in schema order. May be
     * NULL: the store then falls back to generic INSERT ... VALUES text. */
    int (*insert_arrow)(pdi_conn *c,
                        const char *qualified,
                        const struct ArrowSchema *schema,
                        const struct ArrowArray *batch);
    /* Stream the result of `sql` as Arrow batches of at most batch_rows
     * rows. May be NULL (store falls back to query() + builder). */
    int (*query_arrow)(pdi_conn *c,
                       const char *sql,
                       int64_t batch_rows,
                       struct ArrowArrayStream *out);
    /* Like query with positional `?` parameters bound as text (NULL = SQL
     * NULL); connectors cache prepared statements by SQL text (libpq:
     * rewrite ? to $n; the store never puts ? inside literals). row may be
     * NULL for statements without results. */
    int (*query_params)(pdi_conn *c,
                        const char *sql,
                        size_t nparams,
                        const char *const *params,
                        pd_row_fn row,
                        void *user);
    int (*begin)(pdi_conn *c);
    int (*commit)(pdi_conn *c);
    int (*rollback)(pdi_conn *c);
    void (*close)(pdi_conn *c);
} pdi_conn_ops;

struct pdi_conn {
    const pdi_conn_ops *ops;
    const pdi_dialect *dialect;
    void *impl;     /* connector-private state */
    bool in_use;    /* pool bookkeeping (sql_store.c) */
    bool print_sql; /* log every statement */
};

/* Open one connection for store config `sc` (the URL inside it). */
typedef int (*pdi_conn_open_fn)(const pd_store_config *sc, pdi_conn **out);

/* sqlite3 connector (src/store/conn/sqlite.c). `dir` is the store
 * directory: each schema S is the attached file <dir>/S.sqlite, attached on
 * demand (SQL is scanned for "S". and S. prefixes whose file exists), at
 * most 10 at once (LRU detach). */
int pdi_sqlite_conn_open_dir(const char *dir, pdi_conn **out);
/* Attach <dir>/<schema>.sqlite (creating the file) if not attached. */
int pdi_sqlite_conn_attach(pdi_conn *c, const char *schema, bool create);
/* Detach schema if attached (before files are renamed/deleted). */
int pdi_sqlite_conn_detach(pdi_conn *c, const char *schema);
/* The directory of a sqlite:// URL: sqlite:///rel -> "rel" (cwd relative),
 * sqlite:////abs -> "/abs". Query string (?...) dropped. */
int pdi_sqlite_url_dir(const char *url, char **dir_out);

/* Declared column type the sqlite store uses for an Arrow format, chosen so
 * that reading the table back gives the same Arrow type (BOOLEAN, TINYINT,
 * SMALLINT, INT32, BIGINT, UTINYINT.., FLOAT, DOUBLE, TEXT, BLOB, DATE, TIME,
 * TIMESTAMP, TIMESTAMPTZ, DECIMAL(p,s)). Writes into buf; NULL if the
 * format is not supported (nested types). */
const char *pdi_sqlite_decl_for_arrow(const char *format, char *buf, size_t cap);

/* Plug-ins with weak defaults (sql_plugins.c). */
int pdi_pg_connector_open(const pd_store_config *sc, pdi_conn **out);
int pdi_adbc_connector_open(const pd_store_config *sc, pdi_conn **out);
int pdi_odbc_connector_open(const pd_store_config *sc, pdi_conn **out);

/* Registration table: dialect name -> connector. Postgres (and unknown
 * dialects) -> pdi_pg_connector_open; duckdb/snowflake -> ADBC; mssql/db2 ->
 * ODBC; sqlite -> the store's own directory handling. */
typedef struct pdi_connector_entry {
    const char *dialect;
    pdi_conn_open_fn open;
} pdi_connector_entry;
pdi_conn_open_fn pdi_connector_for(const char *dialect);

/* Test hook: if $PD_TEST_CRASH_AT equals `point`, _exit(99). Point names
 * are listed in docs/stores.md. */
void pdi_crash_point(const char *point);

#endif
