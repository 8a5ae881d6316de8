/*
 * store/backend.h - what a database backend implements (internal).
 *
 * The SQL table store is two layers. ABOVE this header, shared by every
 * database (the .c files of src/store/): the pd_store API of store/store.h, the cache
 * metadata (pipedag_metadata), the table hooks, the connection pool, the
 * stage-commit protocol and crash recovery. It never asks which database it
 * talks to: what differs is an operation in the table below, or a dialect
 * function (store/dialect/dialect.h: every SQL statement is text from a
 * dialect function). BELOW this header, one folder per database
 * (src/store/sqlite/, src/store/postgres/, src/store/duckdb/,
 * src/store/odbc/): the connector plus whatever only that database needs.
 *
 * In the style of sqlite3_module: a backend is one static, versioned table
 * of operations (`pdi_backend`), listed in the registration table of
 * src/store/registry.c. Backends execute SQL and never build it: each
 * statement they run is the text of a dialect function (add one to the
 * dialect if you need a new statement; dialect text is unit-tested).
 *
 * Names. Every schema argument below is a PHYSICAL schema name (the
 * configured schema_prefix/schema_suffix already applied, unquoted); table
 * names are unquoted. Quote with pdi_sql_quote/pdi_sql_qualified.
 *
 * Errors. Every int-returning operation answers PD_OK or a PD_ERR_* code
 * with the message set through pd_set_error (util/util.h). Messages name
 * the server or file and the object; they never contain a password.
 *
 * Threads. A pdi_db may be used from several threads; each pdi_conn is used
 * by one thread at a time (the store's pool hands it out), so a connection
 * needs no locking of its own.
 *
 * Optional operations are marked OPTIONAL: leave them NULL and the store
 * does the generic thing described there, with dialect SQL through exec /
 * query. Required ones must be set for the version you declare.
 *
 * Adding a backend: a folder src/store/<name>/ with one file defining
 *     const pdi_backend pdi_backend_<name> = { .version = PDI_BACKEND_VERSION, ... };
 * declared at the end of this header, and one line in the table of
 * src/store/registry.c. Commit techniques follow the caps: a backend
 * without PDI_CAP_SCHEMA_SWAP (DuckDB) serves READ_VIEWS only - the store
 * handles the __odd/__even slot schemas, the views in the base schema and
 * pipedag_metadata.stages generically, and refuses SCHEMA_SWAP at init with
 * PD_ERR_CONFIG quoting no_schema_swap_reason.
 */
#ifndef PD_STORE_BACKEND_H
#define PD_STORE_BACKEND_H

#include "pipedag/arrow.h"
#include "pipedag/config.h"
#include "store/dialect/dialect.h"
#include "store/store.h" /* pd_row_fn, pd_commit_technique via pipedag/config.h */
#include "util/util.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version of the table below. Bump when an operation is added or a
 * contract changes; the store refuses a backend of another version. */
#define PDI_BACKEND_VERSION 2

typedef struct pdi_backend pdi_backend;

/* --------------------------------------------------------------- objects
 * Base structs a backend embeds as the FIRST member of its own structs
 * (like sqlite3_vtab): `typedef struct sq_conn { pdi_conn base; sqlite3
 * *h; ... } sq_conn;` and casts back in its operations. The store reads
 * and writes only these fields. */

/* One opened database (per table store, and one more for a separate
 * metadata_table_store). Created by open(), freed by close(). */
typedef struct pdi_db {
    const pdi_backend *be; /* set by the store after open() */
    const pdi_dialect *d;  /* the dialect of this database */
    const char *desc;      /* masked URL for messages (borrowed from the store) */
} pdi_db;

/* One session. Created by connect(), freed by disconnect(). */
typedef struct pdi_conn {
    pdi_db *db;     /* set by the store after connect() */
    bool print_sql; /* log every statement at info level ("SQL (<desc>): ...") */
} pdi_conn;

/* What open() gets. */
typedef struct pdi_open_args {
    const pd_store_config *sc; /* url, dialect, create_database_if_not_exists,
                                  unlogged, print_sql, ... (borrowed for the
                                  life of the pdi_db) */
    const pdi_dialect *d;      /* pdi_dialect_get(sc->dialect or URL scheme) */
    const char *instance_id;   /* already spliced into sc->url by the config */
    const char *desc;          /* masked URL, for messages */
} pdi_open_args;

/* The schemas of one stage transaction (PIPEDAG_SEMANTICS.md §3). */
typedef struct pdi_stage_names {
    const char *stage;      /* logical stage name (metadata key, messages) */
    const char *base;       /* physical base schema: what readers see */
    const char *tx;         /* physical transaction schema: <stage>__tmp (SCHEMA_SWAP)
                               or the slot <stage>__odd / <stage>__even (READ_VIEWS) */
    const char *tx_logical; /* logical transaction name ("stage__odd") */
    const char *swap;       /* physical <stage>__swap: scratch name for SCHEMA_SWAP */
    pd_commit_technique technique;
} pdi_stage_names;

/* A parameterised statement (? placeholders, text parameters). */
typedef struct pdi_stmt {
    char *sql;
    size_t nparams;
    const char *params[4];
} pdi_stmt;

typedef enum pdi_lock_op {
    PDI_LOCK_ACQUIRE = 0, /* block until held (session-level, not transactional) */
    PDI_LOCK_RELEASE,
    PDI_LOCK_RELEASE_ALL /* `id` ignored */
} pdi_lock_op;

/* ---------------------------------------------------------- capabilities */
enum {
    /* Schemas can be renamed (ALTER SCHEMA .. RENAME, or a file rename):
     * SCHEMA_SWAP is allowed. Without it, configuring SCHEMA_SWAP is a
     * config error quoting `no_schema_swap_reason`. */
    PDI_CAP_SCHEMA_SWAP = 1u << 0,
    /* Views in one schema may select from another: READ_VIEWS is allowed
     * (without it: config error quoting `no_read_views_reason`). */
    PDI_CAP_READ_VIEWS = 1u << 1,
    /* Secondary indexes exist (false: `indexes:` are skipped with one
     * warning per task; primary keys are still checked for columns). */
    PDI_CAP_INDEXES = 1u << 2,
    /* DDL (CREATE/DROP/RENAME) is transactional: exec() inside begin()
     * .. rollback() leaves nothing behind. */
    PDI_CAP_TRANSACTIONAL_DDL = 1u << 3,
    /* lock() is implemented: the `database` lock manager may use this
     * backend (DatabaseLockManager). */
    PDI_CAP_LOCKS = 1u << 4,
    /* Tables are files behind views (the Parquet store): primary keys and
     * indexes are not created on fresh and copied tables (checks still run). */
    PDI_CAP_NO_KEYS = 1u << 5,
};

/* ============================================================ the table */

struct pdi_backend {
    int version;                       /* PDI_BACKEND_VERSION */
    const char *name;                  /* "sqlite", "postgres", "duckdb", "odbc": messages */
    const char *const *dialects;       /* NULL-terminated dialect names / URL schemes it
                                          serves ("sqlite"; "postgresql", "postgres") */
    unsigned caps;                     /* PDI_CAP_* */
    const char *no_schema_swap_reason; /* e.g. "DuckDB cannot rename schemas" */
    const char *no_read_views_reason;  /* e.g. "SQLite views cannot reference other
                                          database files" */

    /* ---------------------------------------------------------- lifecycle */

    /* REQUIRED. Prepare the database of a store: parse the URL, create the
     * database / directory when sc->create_database_if_not_exists (or
     * always, for file databases), check the server or library is
     * reachable. Do not keep a session open for the whole run if the
     * database allows one writer per file (DuckDB): connect() is called for
     * every pooled session. *out: a struct starting with pdi_db. */
    int (*open)(const pdi_open_args *a, pdi_db **out);
    /* REQUIRED. Free what open() made (connections are already closed). */
    void (*close)(pdi_db *db);
    /* REQUIRED. One new session (the store pools up to 16 per pdi_db and
     * keeps a dedicated one for metadata). Session settings that make text
     * output deterministic (UTC, float digits) are applied here, from
     * dialect text. *out: a struct starting with pdi_conn. */
    int (*connect)(pdi_db *db, pdi_conn **out);
    /* REQUIRED. Close the session (rolling back an open transaction). */
    void (*disconnect)(pdi_conn *c);

    /* ---------------------------------------------------------- statements */

    /* REQUIRED. Execute SQL text: one statement, or a script of several
     * separated by `;` (raw SQL tasks) - a backend whose driver takes one
     * statement at a time splits the script itself (respecting quotes and
     * comments: pdi_sql_skip_quoted / pdi_sql_skip_comment). */
    int (*exec)(pdi_conn *c, const char *sql);
    /* REQUIRED. Run one statement with `nparams` text parameters bound to
     * its `?` placeholders (NULL parameter = SQL NULL; nparams 0 = no
     * binding) and hand every result row to `row` as text (NULL for SQL
     * NULL; numbers in their shortest exact text form). `row` may be NULL
     * (statement without result); a non-zero return from `row` stops and is
     * returned. Cache prepared statements by SQL text where it pays: the
     * store reuses the same metadata statements thousands of times. */
    int (*query)(pdi_conn *c,
                 const char *sql,
                 size_t nparams,
                 const char *const *params,
                 pd_row_fn row,
                 void *user);
    /* REQUIRED. Run a query and return its result as an Arrow stream that
     * stays valid after the connection goes back to the pool (materialise
     * it, or own a session for it). Column types follow the declared SQL
     * types through pdi_sql_arrow_for_type where the database reports
     * them; no row-at-a-time text path where the driver has a bulk one. */
    int (*query_arrow)(pdi_conn *c, const char *sql, struct ArrowArrayStream *out);
    /* REQUIRED. Append every batch of `in` to the EXISTING table
     * schema.table, whose columns the store created from the stream's
     * schema (pdi_sql_create_table_arrow) in the same order. All rows or
     * none: when the caller has not called begin(), the backend wraps the
     * load in a transaction of its own. `in` is consumed (get_next until
     * the end) but not released: the caller releases it. *rows (may be
     * NULL) = rows loaded. */
    int (*load_arrow)(pdi_conn *c,
                      const char *schema,
                      const char *table,
                      struct ArrowArrayStream *in,
                      int64_t *rows);
    /* REQUIRED. Transactions on this session. rollback() must not fail
     * when no transaction is open. */
    int (*begin)(pdi_conn *c);
    int (*commit)(pdi_conn *c);
    int (*rollback)(pdi_conn *c);

    /* ------------------------------------------------------------- schemas */

    /* OPTIONAL. Create `schema` if missing. NULL: exec(pdi_sql_create_schema).
     * (SQLite: create the schema's file.) */
    int (*create_schema)(pdi_conn *c, const char *schema);
    /* OPTIONAL. Drop `schema` and everything in it, if it exists. NULL:
     * exec(pdi_sql_drop_schema) (dialects whose DROP SCHEMA cannot cascade
     * get the objects dropped one by one first: pdi_dialect.drop_cascades). */
    int (*drop_schema)(pdi_conn *c, const char *schema);
    /* OPTIONAL. Physical names of every schema of this database (for
     * `delete-schemas`, which keeps those matching prefix/suffix). NULL:
     * query(pdi_sql_list_schemas). */
    int (*list_schemas)(pdi_conn *c, pd_strv *out);
    /* OPTIONAL. Names of the tables and views of `schema` (any order; empty
     * when the schema does not exist). NULL: query(pdi_sql_list_objects). */
    int (*list_objects)(pdi_conn *c, const char *schema, pd_strv *out);
    /* OPTIONAL. Is there a table or view schema.name? NULL:
     * query(pdi_sql_table_exists) with schema and name as parameters. */
    int (*table_exists)(pdi_conn *c, const char *schema, const char *name, bool *exists);
    /* OPTIONAL. Names of the columns of schema.table, in order (used to
     * check primary_key/indexes before creating them). NULL:
     * query(pdi_sql_list_columns). */
    int (*list_columns)(pdi_conn *c, const char *schema, const char *table, pd_strv *out);
    /* OPTIONAL. Rows of pdi_sql_list_indexes for schema.table handed to
     * `row` (index_name, is_unique, is_primary, column_name; ordered by
     * index, then column position) - used to re-create the keys and
     * indexes of a copied table. NULL: query(pdi_sql_list_indexes). */
    int (*list_indexes)(
        pdi_conn *c, const char *schema, const char *table, pd_row_fn row, void *user);
    /* OPTIONAL. Drop every handle this session holds on `schema` (SQLite:
     * DETACH) because the store is about to rename or delete it. The store
     * calls it on idle pooled sessions at once and on busy ones when they
     * are next checked out. NULL: nothing to forget. */
    int (*forget_schema)(pdi_conn *c, const char *schema);

    /* -------------------------------------------------------------- tables */

    /* OPTIONAL. Copy table or view from_schema.from_name to
     * to_schema.to_name (same column names and types; data for a table, the
     * same definition for a view) - the cache-valid copy of a changed
     * stage. Keys and indexes are NOT the backend's job: the store creates
     * them afterwards from the task's primary_key/indexes. Cheap where the
     * database allows (zero-copy clone, hard link...). NULL: exec of
     * pdi_sql_ctas(SELECT * FROM from). */
    int (*copy_table)(pdi_conn *c,
                      const char *from_schema,
                      const char *from_name,
                      const char *to_schema,
                      const char *to_name);

    /* ---------------------------------------------------- stage transaction
     * The store's commit protocol (commit.c), for stage S whose transaction
     * schema holds the new tables (an unchanged stage only promotes its
     * metadata):
     *
     *  - PDI_CAP_TRANSACTIONAL_DDL: ONE database transaction on one session
     *    (the metadata session when the metadata lives in this database):
     *    begin, publish (yours or the generic one), the metadata statements,
     *    commit - or commit_stage_tx if you set it. A kill or an error at
     *    any point leaves the old tables AND the old metadata.
     *  - otherwise, journaled: the store writes a commit_journal row, makes
     *    every pooled session forget base and tx, calls publish(), then
     *    promotes the metadata and deletes the journal row in one metadata
     *    transaction. After a kill between the two, the next run asks
     *    published(): true -> it finishes the promotion, false -> it rolls
     *    the metadata back (so publish must leave the old tables visible
     *    until its last, atomic step).
     *
     * READ_VIEWS is generic: the store picks the slot (__odd/__even) from
     * pipedag_metadata.stages at init, and the generic publish replaces
     * the contents of base by views on the slot's objects; the stages row
     * is written with the metadata promotion.
     */

    /* OPTIONAL. Extra work when a stage transaction starts, after the store
     * created base and dropped + re-created the transaction schema. NULL:
     * nothing. The store may defer the transaction schema (and this call)
     * to the stage's first write, so that a stage whose tasks are all
     * cache-valid makes no DDL - it does not for a backend that sets
     * init_stage but not begin_stage. */
    int (*init_stage)(pdi_conn *c, const pdi_stage_names *st);
    /* OPTIONAL. Work at stage init that must precede any read of the
     * stage (crash recovery), before the transaction schema exists (st->tx
     * may hold an older slot's objects). NULL: nothing. */
    int (*begin_stage)(pdi_conn *c, const pdi_stage_names *st);
    /* OPTIONAL (journaled protocol). Make st->tx the visible content of
     * st->base. Before the call every other pooled session has been told
     * to forget_schema(base) and forget_schema(tx); `c` must drop its own
     * handles before renaming files. NULL: the generic implementation -
     * SCHEMA_SWAP: drop swap; rename base->swap, tx->base, swap->tx
     * (pdi_sql_rename_schema); READ_VIEWS: drop the objects of base and
     * create one view base.X = SELECT * FROM tx.X per object X of tx. */
    int (*publish)(pdi_conn *c, const pdi_stage_names *st);
    /* OPTIONAL (journaled protocol, crash recovery). Did publish() of this
     * stage complete? (SQLite: the tx file no longer exists.) NULL: "no"
     * (metadata rolled back; correct whenever publish() is atomic). */
    int (*published)(pdi_db *db, const pdi_stage_names *st, bool *done);
    /* OPTIONAL (transactional protocol; needs PDI_CAP_TRANSACTIONAL_DDL;
     * NULL: the store's generic one, which is what Postgres uses).
     * In ONE database transaction on `c`: publish as above, then run the
     * `nmeta` statements `meta` (the metadata promotion and, for
     * READ_VIEWS, the `stages` upsert; nmeta is 0 when the metadata lives
     * elsewhere - the store promotes it afterwards), call
     * pdi_crash_point("pg_commit_before_commit"), commit. On any error:
     * roll back, so tables and metadata stay at the old version. `c` is the
     * store's metadata session when nmeta > 0. */
    int (*commit_stage_tx)(pdi_conn *c,
                           const pdi_stage_names *st,
                           const pdi_stmt *meta,
                           size_t nmeta);

    /* --------------------------------------------------------------- locks */

    /* OPTIONAL (PDI_CAP_LOCKS). Session-level advisory lock `id` (first 8
     * bytes of SHA-256("<instance_id>#<stage>"), see lock/lock.h) on this
     * dedicated session; held until released or the session ends. */
    int (*lock)(pdi_conn *c, int64_t id, pdi_lock_op op);
    /* OPTIONAL. Is the session still alive (cheap; no round trip needed)?
     * The lock manager treats a dead session as every lock lost. NULL:
     * always alive. */
    bool (*alive)(pdi_conn *c);

    /* ------------------------------------------------------------- checks */

    /* OPTIONAL (version 2). The hash probe of a `unique` check on one
     * column (docs/checks.md): *distinct = true when the non-NULL values
     * of schema.table.column are certainly all distinct - their 64-bit
     * hashes are, and values equal under the column's comparison always
     * hash equal (a collation that makes different bytes equal, or a type
     * whose equality is not that of its bytes, must answer
     * PD_ERR_UNSUPPORTED); *distinct = false when two values MAY be equal
     * (a duplicate or a hash collision: the store then runs the exact
     * GROUP BY, which decides). PD_ERR_UNSUPPORTED (no error kept): no
     * probe for this column, the store runs the exact query. Hash SQL
     * comes from pdi_sql_check_unique_hash. `any_where`: NULL, or the row
     * predicate of the table's scan checks (pdi_sql_check_or); a backend
     * that evaluates it in the probe's own scan sets *any to 1 (a row
     * satisfies it) or 0 (none does), else to -1 (the store then runs its
     * scan). NULL: no probe. */
    int (*unique_probe)(pdi_conn *c,
                        const char *schema,
                        const char *table,
                        const char *column,
                        const char *any_where,
                        bool *distinct,
                        int *any);
    /* Optional: *proven = true when the table's metadata alone (Parquet
     * footers' statistics) shows that no row offends any of the n scan
     * checks (kinds NOT_NULL, MIN, MAX, ACCEPTED_VALUES, one column each;
     * values as in pd_table_check); false when it does not show it, and
     * the store runs the scan. A backend answers true only where the
     * metadata decides exactly as the check's SQL would. NULL: never. */
    int (*scan_proof)(pdi_conn *c,
                      const char *schema,
                      const char *table,
                      const pd_table_check *checks,
                      size_t n,
                      bool *proven);
};

/* ================================================ registration and access */

/* The backend serving dialect/scheme `name` ("sqlite", "postgresql",
 * "duckdb", ...): the registration table of src/store/registry.c (add your
 * backend there). NULL with the error set to "<name> is not available in
 * this build" when none does. */
const pdi_backend *pdi_backend_find(const char *name);

/* Dialect name of a store config: sc->dialect, else the URL scheme
 * ("sqlite:///x" -> "sqlite", "postgresql+psycopg2://" -> "postgresql"). */
const char *pdi_backend_dialect_of(const pd_store_config *sc, char *buf, size_t cap);

/* Open a database and one session outside a table store - what the lock
 * manager uses (DatabaseLockManager gets its session through this, not
 * through a connector's internals). *db_out and *conn_out are freed with
 * pdi_backend_disconnect_close. */
int pdi_backend_open_conn(const pd_store_config *sc,
                          const char *instance_id,
                          const pdi_backend **be_out,
                          pdi_db **db_out,
                          pdi_conn **conn_out);
void pdi_backend_disconnect_close(const pdi_backend *be, pdi_db *db, pdi_conn *conn);

/* ============================================ services a backend may call */

/* Test hook: if $PD_TEST_CRASH_AT equals `point`, _exit(99) at once.
 * Crash point names are listed in docs/stores.md. */
void pdi_crash_point(const char *point);

/* Log `sql` at info level as "SQL (<desc>): <sql>" when c->print_sql. */
void pdi_log_sql(const pdi_conn *c, const char *sql);

/* ======================================================== the backends
 * (one line per backend; registry.c lists those built in) */
extern const pdi_backend pdi_backend_sqlite;     /* src/store/sqlite/ */
extern const pdi_backend pdi_backend_postgres;   /* src/store/postgres/ */
extern const pdi_backend pdi_backend_duckdb;     /* src/store/duckdb/ */
extern const pdi_backend pdi_backend_odbc;       /* src/store/odbc/: <dialect>+odbc://, odbc:// */
extern const pdi_backend pdi_backend_odbc_mssql; /* src/store/odbc/: mssql:// */
extern const pdi_backend pdi_backend_odbc_db2;   /* src/store/odbc/: db2://, ibm_db_sa:// */
extern const pdi_backend pdi_backend_odbc_snowflake; /* src/store/odbc/: snowflake:// */
extern const pdi_backend pdi_backend_odbc_sqlite;    /* src/store/odbc/: sqlite+odbc:// (files) */
extern const pdi_backend pdi_backend_parquet; /* src/store/parquet/ (class ParquetTableStore) */

#endif
