/*
 * store/dialect/dialect.h - SQL text per database dialect (internal).
 *
 * Every SQL statement the table store, its backends and the lock manager
 * run is the text of a function here. Dialects write text and never
 * execute anything. One file per dialect (postgres.c, sqlite.c, duckdb.c,
 * mssql.c, db2.c, snowflake.c) fills a `pdi_dialect` with its data and the
 * hooks where its text differs; common.c holds the shared text (the
 * ANSI/Postgres-like default), the ONE identifier quoter and the ONE
 * Arrow->SQL type map. Unknown dialect names behave like postgres.
 * Text is tested in tests/store/test_dialect.c.
 *
 * Unless said otherwise a function returns a new malloc'd string (NULL
 * only on OOM, with the error set). Schema arguments are PHYSICAL names
 * (prefix and suffix applied, see pdi_sql_physical_schema), unquoted.
 */
#ifndef PD_STORE_DIALECT_H
#define PD_STORE_DIALECT_H

#include "pipedag/arrow.h"
#include "pipedag/pipedag.h"
#include "util/util.h" /* pd_strv */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pdi_dialect_id {
    PDI_DIALECT_POSTGRES = 0, /* also every unknown dialect ("treated like postgres") */
    PDI_DIALECT_SQLITE,
    PDI_DIALECT_DUCKDB,
    PDI_DIALECT_MSSQL,
    PDI_DIALECT_DB2,
    PDI_DIALECT_SNOWFLAKE
} pdi_dialect_id;

typedef struct pdi_dialect pdi_dialect;

/* One sort key of a shaped select (View tasks). */
typedef struct pdi_sql_sort {
    const char *column;
    bool desc;
    bool nulls_first;
} pdi_sql_sort;

/* A dialect: data, plus hooks a dialect file sets where its text differs
 * from the common text (NULL = common). Callers use the pdi_sql_*
 * functions below, never the fields. */
struct pdi_dialect {
    pdi_dialect_id id;
    const char *name; /* "postgresql", "sqlite", "duckdb", "mssql", "db2", "snowflake" */
    char quote_open, quote_close; /* '"' '"'; MSSQL '[' ']' */
    bool pk_as_unique_index;      /* PK emulated by a UNIQUE INDEX (sqlite, duckdb) */
    bool index_in_table_schema;   /* CREATE INDEX "schema"."idx" ON ... (sqlite, db2) */
    bool index_on_bare_table;     /* ... ON "table" (sqlite) */
    bool has_indexes;             /* false: indexes are skipped (snowflake) */
    bool drop_cascades;           /* DROP SCHEMA .. CASCADE drops the contents */
    bool drop_if_exists;          /* DROP TABLE/VIEW IF EXISTS */
    bool if_not_exists;           /* CREATE TABLE/INDEX IF NOT EXISTS */
    bool bool_is_bit;             /* boolean literals 1/0 */
    bool ident_nocase;            /* quoted identifiers match case-insensitively
                                     (sqlite, duckdb, mssql) */
    bool has_unlogged;            /* CREATE UNLOGGED TABLE */
    bool meta_unindexed;          /* metadata tables without primary key and lookup
                                     indexes (duckdb: its ART indexes fail deletes
                                     after a WAL replay; scans of these small
                                     tables are cheap) */
    const char *begin_kw;         /* "BEGIN" (sqlite "BEGIN IMMEDIATE") */
    const char *text_type;        /* metadata text column type */
    const char *bool_type;        /* metadata boolean column type */
    const char *meta_id_col;      /* metadata id column; NULL: sequence-backed (duckdb) */
    const char *insert_hint;      /* after INSERT INTO s.t ("" or " WITH(TABLOCKX)") */
    size_t max_ident_len;         /* 63 for pk_/idx_ names (all dialects, §1.6) */
    bool unique_by_count;         /* unique check: COUNT(c) > COUNT(DISTINCT c) first
                                     (one sort), the naming GROUP BY only when it
                                     fails (postgres; bench/checks) */

    /* hooks (NULL = common text) */
    char *(*create_schema)(const pdi_dialect *d, const char *schema);
    char *(*drop_schema)(const pdi_dialect *d, const char *schema);
    char *(*rename_schema)(const pdi_dialect *d, const char *from, const char *to);
    char *(*ctas)(const pdi_dialect *d,
                  const char *schema,
                  const char *table,
                  const char *select,
                  bool unlogged);
    char *(*rename_table)(const pdi_dialect *d,
                          const char *schema,
                          const char *from,
                          const char *to);
    char *(*list_schemas)(const pdi_dialect *d);
    char *(*list_objects)(const pdi_dialect *d, const char *schema);
    char *(*list_objects_in)(const pdi_dialect *d, const char *const *schemas, size_t n);
    char *(*list_relations)(const pdi_dialect *d, const char *schema);
    char *(*table_exists)(const pdi_dialect *d, const char *schema);
    char *(*list_columns)(const pdi_dialect *d, const char *schema, const char *table);
    char *(*list_indexes)(const pdi_dialect *d, const char *schema, const char *table);
    char *(*limit)(const pdi_dialect *d, const char *select, int64_t n);
    char *(*shaped_select)(const pdi_dialect *d,
                           const char *from_item,
                           const char *const *names,
                           const char *const *sources,
                           size_t n_cols,
                           const pdi_sql_sort *sort,
                           size_t n_sort,
                           int64_t limit);
    char *(*session_setup)(const pdi_dialect *d);
    char *(*lock)(const pdi_dialect *d, int64_t id, int op); /* op: 0 lock, 1 unlock, 2 all */
    /* Column type for one Arrow field format; NULL = not storable. `buf`
     * (cap >= 64) holds parametrised types (DECIMAL(p,s)). REQUIRED. */
    const char *(*type_for_arrow)(const pdi_dialect *d, const char *format, char *buf, size_t cap);
    /* Query, one text column: the columns of schema.table whose equality
     * is bytewise (a deterministic collation), so that the unique check may
     * compare them COLLATE "C" (NULL = none: no COLLATE is written). */
    char *(*bytewise_columns)(const pdi_dialect *d, const char *schema, const char *table);
    /* The hash probe of a unique check (pdi_sql_check_unique_hash; NULL =
     * none) and the query telling whether a column may use it
     * (pdi_sql_check_unique_hash_column; NULL = no such query). */
    char *(*unique_hash)(const pdi_dialect *d,
                         const char *schema,
                         const char *table,
                         const char *column,
                         int64_t pass,
                         int64_t passes,
                         const char *any_where);
    char *(*unique_hash_column)(const pdi_dialect *d);
    /* Inverse (NULL = common best effort). */
    const char *(*arrow_for_type)(const pdi_dialect *d, const char *type, char *buf, size_t cap);
};

/* The dialects (one file each under src/store/dialect/). */
extern const pdi_dialect pdi_dialect_postgres, pdi_dialect_sqlite, pdi_dialect_duckdb,
    pdi_dialect_mssql, pdi_dialect_db2, pdi_dialect_snowflake;

/* Dialect by name ("postgresql", "postgres", "sqlite", "duckdb", "mssql",
 * "ibm_db_sa"/"db2", "snowflake"; anything else -> postgres). Never NULL. */
const pdi_dialect *pdi_dialect_get(const char *name);

/* ------------------------------------------------------------- names */

/* THE identifier quoter: "name" with embedded quotes doubled; MSSQL
 * [name] with ] doubled. */
char *pdi_sql_quote(const pdi_dialect *d, const char *ident);
/* "schema"."name" */
char *pdi_sql_qualified(const pdi_dialect *d, const char *schema, const char *name);
/* prefix + logical + suffix (NULL prefix/suffix = ""). */
char *pdi_sql_physical_schema(const char *prefix, const char *logical, const char *suffix);
/* '<text>' with ' doubled. */
char *pdi_sql_literal(const char *text);

/* ----------------------------------------------------------- schemas */

char *pdi_sql_create_schema(const pdi_dialect *d, const char *schema); /* if not exists */
char *pdi_sql_drop_schema(const pdi_dialect *d, const char *schema);   /* if exists, cascade */
char *pdi_sql_rename_schema(const pdi_dialect *d, const char *from, const char *to);
/* Query, one text column: every schema name of the database. */
char *pdi_sql_list_schemas(const pdi_dialect *d);
/* Query, one text column: names of tables and views in `schema`, sorted. */
char *pdi_sql_list_objects(const pdi_dialect *d, const char *schema);
/* Query, two text columns: schema and name of the tables and views of the
 * n `schemas` (one query instead of n); NULL with PD_ERR_UNSUPPORTED where
 * the dialect lists one schema at a time. */
char *pdi_sql_list_objects_in(const pdi_dialect *d, const char *const *schemas, size_t n);
/* Query, two text columns: name and kind ("TABLE", "VIEW", "MATERIALIZED
 * VIEW", "FOREIGN TABLE") of every object of `schema`, sorted by name. */
char *pdi_sql_list_relations(const pdi_dialect *d, const char *schema);
/* DROP <kind> [IF EXISTS] s.n [CASCADE] for a kind of pdi_sql_list_relations. */
char *
pdi_sql_drop_object(const pdi_dialect *d, const char *kind, const char *schema, const char *name);
/* Query with one `?` parameter (the name): one row when a table or view
 * schema.name exists. */
char *pdi_sql_table_exists(const pdi_dialect *d, const char *schema);
/* Query: the column names of schema.table, in order (one text column). */
char *pdi_sql_list_columns(const pdi_dialect *d, const char *schema, const char *table);
/* Query: the indexes of schema.table, one row per (index, column):
 * index_name, is_unique ('1'/'0' or 't'/'f'), is_primary, column_name,
 * ordered by index name then column position. */
char *pdi_sql_list_indexes(const pdi_dialect *d, const char *schema, const char *table);

/* ------------------------------------------------------------ tables */

/* CREATE TABLE s.t AS <select>; MSSQL: SELECT ... INTO s.t FROM ...
 * (pdi_sql_mssql_splice_into); DB2: CREATE TABLE s.t AS (<select>) WITH
 * DATA; Postgres with `unlogged`: CREATE UNLOGGED TABLE. */
char *pdi_sql_ctas(
    const pdi_dialect *d, const char *schema, const char *table, const char *select, bool unlogged);
/* "CREATE TABLE " or, on Postgres with `unlogged`, "CREATE UNLOGGED TABLE ". */
const char *pdi_sql_create_table_kw(const pdi_dialect *d, bool unlogged);
/* CREATE TABLE s.t (<one column per child of `schema`, typed by
 * pdi_sql_type_for_arrow>). An unstorable column: NULL with
 * PD_ERR_UNSUPPORTED naming the column, its Arrow type and the table. */
char *pdi_sql_create_table_arrow(const pdi_dialect *d,
                                 const char *schema,
                                 const char *table,
                                 const struct ArrowSchema *arrow,
                                 bool unlogged);
/* Splice "INTO <target>" before the first top-level FROM/WHERE/GROUP/
 * WINDOW/HAVING/ORDER/UNION/EXCEPT/INTERSECT keyword (or at the end),
 * respecting parentheses, quotes and comments. */
char *pdi_sql_mssql_splice_into(const char *select, const char *target);
char *
pdi_sql_create_view(const pdi_dialect *d, const char *schema, const char *view, const char *select);
char *pdi_sql_drop_table(const pdi_dialect *d, const char *schema, const char *table);
char *pdi_sql_drop_view(const pdi_dialect *d, const char *schema, const char *view);
char *
pdi_sql_rename_table(const pdi_dialect *d, const char *schema, const char *from, const char *to);
/* SELECT * FROM "schema"."table" */
char *pdi_sql_select_all(const pdi_dialect *d, const char *schema, const char *table);
/* DELETE FROM "schema"."table" */
char *pdi_sql_delete_all(const pdi_dialect *d, const char *schema, const char *table);
/* INSERT INTO s.t SELECT ... */
char *pdi_sql_insert_select(const pdi_dialect *d,
                            const char *schema,
                            const char *table,
                            const char *select);
/* SELECT * FROM (<select>) AS pd_limit_sub LIMIT n (MSSQL: TOP n; DB2:
 * FETCH FIRST); trailing `;` and blanks of select are dropped. */
char *pdi_sql_limit(const pdi_dialect *d, const char *select, int64_t n);

/* SELECT "src1" AS "name1", ... FROM <from_item> ORDER BY "c" ASC|DESC
 * NULLS FIRST|LAST, ... LIMIT n: the shape of a View task over its source
 * (n_cols == 0: *; limit < 0: none). from_item is a FROM item as is (a
 * qualified name, a parenthesised union with an alias, read_parquet(...)).
 * MSSQL: TOP n, NULL order by CASE, OFFSET 0 ROWS for an ORDER BY without
 * TOP; DB2: FETCH FIRST n ROWS ONLY. */
char *pdi_sql_shaped_select(const pdi_dialect *d,
                            const char *from_item,
                            const char *const *names,
                            const char *const *sources,
                            size_t n_cols,
                            const pdi_sql_sort *sort,
                            size_t n_sort,
                            int64_t limit);

/* ------------------------------------------------------ keys, indexes */

/* pk_<table>_<cols joined by _> / idx_<table>_<cols>; if longer than 63:
 * <prefix><table>_<hash>, if still too long <prefix><hash>_<truncated
 * table> (hash = first 8 hex chars of SHA-256 of "table|col1|col2..."). */
char *pdi_sql_constraint_name(const char *prefix,
                              const char *table,
                              const char *const *cols,
                              size_t ncols);
/* ALTER TABLE .. ADD CONSTRAINT pk PRIMARY KEY (..); sqlite/duckdb: CREATE
 * UNIQUE INDEX. */
char *pdi_sql_add_primary_key(const pdi_dialect *d,
                              const char *schema,
                              const char *table,
                              const char *const *cols,
                              size_t ncols);
/* CREATE INDEX idx_... ON ...; "" when the dialect has no indexes
 * (snowflake: the store skips it). */
char *pdi_sql_create_index(const pdi_dialect *d,
                           const char *schema,
                           const char *table,
                           const char *const *cols,
                           size_t ncols);
bool pdi_sql_has_indexes(const pdi_dialect *d);
/* Do identifiers a and b name the same column on this dialect? */
bool pdi_sql_same_ident(const pdi_dialect *d, const char *a, const char *b);

/* ------------------------------------------------------------ checks */

/* Column checks (docs/checks.md; text in checks.c). Each query selects the
 * offending values of one check, at most `limit` rows (<= 0: all), and no
 * row when the table passes. Values are JSON scalars (number, string,
 * true/false) written as SQL literals; anything else is NULL with
 * PD_ERR_INVALID. */
/* One row (pd_nulls = the count) when some row has a NULL in any of cols. */
char *pdi_sql_check_not_null(const pdi_dialect *d,
                             const char *schema,
                             const char *table,
                             const char *const *cols,
                             size_t ncols);
/* Duplicated non-NULL value combinations of cols, with pd_rows = count. */
char *pdi_sql_check_unique(const pdi_dialect *d,
                           const char *schema,
                           const char *table,
                           const char *const *cols,
                           size_t ncols,
                           int64_t limit);
/* Distinct values below (min) / above (max) the inclusive bound. */
char *pdi_sql_check_min(const pdi_dialect *d,
                        const char *schema,
                        const char *table,
                        const char *column,
                        const char *value,
                        int64_t limit);
char *pdi_sql_check_max(const pdi_dialect *d,
                        const char *schema,
                        const char *table,
                        const char *column,
                        const char *value,
                        int64_t limit);
/* Distinct non-NULL values outside the list. */
char *pdi_sql_check_accepted_values(const pdi_dialect *d,
                                    const char *schema,
                                    const char *table,
                                    const char *column,
                                    const char *const *values,
                                    size_t nvalues,
                                    int64_t limit);
/* Distinct non-NULL values missing from ref_schema.ref_table.ref_column. */
char *pdi_sql_check_references(const pdi_dialect *d,
                               const char *schema,
                               const char *table,
                               const char *column,
                               const char *ref_schema,
                               const char *ref_table,
                               const char *ref_column,
                               int64_t limit);
/* The exact probe of a unique check on one column, where the dialect has
 * one cheaper than pdi_sql_check_unique (pdi_sql_check_unique_by_count):
 * one row when a non-NULL value occurs twice, none otherwise. `bytewise`:
 * compare COLLATE "C" (only for a column pdi_sql_check_bytewise_columns
 * listed: equal under its collation means equal bytes). */
bool pdi_sql_check_unique_by_count(const pdi_dialect *d);
char *pdi_sql_check_unique_any(
    const pdi_dialect *d, const char *schema, const char *table, const char *column, bool bytewise);
/* Query, one text column: the columns of schema.table that the unique
 * probe may compare bytewise; NULL without an error when the dialect has
 * no such query (then none is). */
char *pdi_sql_check_bytewise_columns(const pdi_dialect *d, const char *schema, const char *table);
/* The hash probe of a unique check on one column, run by a backend's
 * unique_probe (store/backend.h); NULL with PD_ERR_UNSUPPORTED where the
 * dialect has none. Only the values v with hash(v) % passes == pass count
 * (passes <= 1: all).
 *  - sqlite: SELECT pd_unique_hash(c, pass, passes) AS pd_dup[, MAX(CASE
 *    WHEN <any_where> THEN 1 ELSE 0 END) AS pd_any] FROM s.t - the
 *    aggregate the native backend registers (store/sqlite/
 *    sqlite_unique.c): 0 all hashes distinct, 1 a hash repeats, -N more
 *    non-NULL values (N) than one pass holds; with `any_where` (a row
 *    predicate, pdi_sql_check_or) the same scan also tells whether a row
 *    satisfies it (the scan checks' pass);
 *  - duckdb: SELECT hash(c) AS pd_h FROM s.t WHERE c IS NOT NULL [AND
 *    hash(c) % passes = pass]: one UBIGINT per value, which the backend
 *    checks for repeats (store/duckdb/duck_unique.c); `any_where` must be
 *    NULL (refused otherwise). */
char *pdi_sql_check_unique_hash(const pdi_dialect *d,
                                const char *schema,
                                const char *table,
                                const char *column,
                                int64_t pass,
                                int64_t passes,
                                const char *any_where);
/* "(p1) OR (p2) ...": the row predicate of n scan-check predicates. */
char *pdi_sql_check_or(const char *const *predicates, size_t n);
/* DuckDB: one row (data_type, sql, default_collation) for the column
 * named by the parameters schema, table, column (in that order) of the
 * current database: its type, the CREATE TABLE statement of its table
 * (NULL for a view) and the session's default collation ('' for none).
 * NULL with PD_ERR_UNSUPPORTED elsewhere. */
char *pdi_sql_check_unique_hash_column(const pdi_dialect *d);
/* SELECT COUNT(*) AS pd_rows FROM s.t */
char *pdi_sql_check_row_count(const pdi_dialect *d, const char *schema, const char *table);
/* The row predicate of a scan check (not_null over cols, min, max,
 * accepted_values over cols[0]): true for an offending row. */
char *pdi_sql_check_predicate(const pdi_dialect *d,
                              pd_check_kind kind,
                              const char *const *cols,
                              size_t ncols,
                              const char *const *values,
                              size_t nvalues);
/* One scan for many checks: SELECT 1 AS pd_any FROM s.t WHERE (p1) OR
 * (p2) ..., limited to one row - a row when some row offends some check. */
char *pdi_sql_check_any(const pdi_dialect *d,
                        const char *schema,
                        const char *table,
                        const char *const *predicates,
                        size_t n);
/* A check value (JSON scalar) as an SQL literal. */
char *pdi_sql_check_literal(const pdi_dialect *d, const char *json);

/* ------------------------------------------------------------- types */

/* THE Arrow->SQL type map: declared column type for an Arrow format,
 * chosen so that reading the column back gives the same Arrow type where
 * the database can (sqlite: declared types BOOLEAN, TINYINT.., DECIMAL(p,s),
 * TIMESTAMPTZ...). `buf` (cap >= 64) holds parametrised types; the result
 * is `buf` or a static string; NULL if the type cannot be stored. */
const char *pdi_sql_type_for_arrow(const pdi_dialect *d, const char *format, char *buf, size_t cap);
/* Arrow format for a declared SQL column type (best effort; unknown ->
 * "u"). Static string, or `buf` (cap >= 32) for "d:p,s". */
const char *
pdi_sql_arrow_for_type(const pdi_dialect *d, const char *sql_type, char *buf, size_t cap);
/* Boolean literal: TRUE/FALSE, or 1/0 where booleans are bits. Static. */
const char *pdi_sql_bool(const pdi_dialect *d, bool v);

/* ------------------------------------------------ transactions, loads */

/* BEGIN (sqlite: BEGIN IMMEDIATE), COMMIT, ROLLBACK. Static strings. */
const char *pdi_sql_begin(const pdi_dialect *d);
const char *pdi_sql_commit(const pdi_dialect *d);
const char *pdi_sql_rollback(const pdi_dialect *d);
/* INSERT INTO s.t VALUES (?, ?, ...) with `ncols` placeholders. */
char *
pdi_sql_insert_values(const pdi_dialect *d, const char *schema, const char *table, size_t ncols);

/* The same with the tuple repeated `rows` times (multi-row VALUES). */
char *pdi_sql_insert_values_rows(
    const pdi_dialect *d, const char *schema, const char *table, size_t ncols, size_t rows);

/* ------------------------------------------------------ session, locks */

/* Statements run once per new session (deterministic text output: UTC,
 * float digits); "" when none. */
char *pdi_sql_session_setup(const pdi_dialect *d);
/* Advisory lock statements (postgres: SELECT pg_advisory_lock(id) ...);
 * NULL with PD_ERR_UNSUPPORTED where the dialect has none. */
char *pdi_sql_lock(const pdi_dialect *d, int64_t id);
char *pdi_sql_unlock(const pdi_dialect *d, int64_t id);
char *pdi_sql_unlock_all(const pdi_dialect *d);

/* ---------------------------------------------------------- metadata */

/* Metadata DDL of PIPEDAG_SEMANTICS.md §4 for schema `schema`: a
 * NULL-terminated array of statements (free with pdi_sql_strv_free);
 * includes commit_journal(stage, run_id, started) and lookup indexes. */
char **pdi_sql_metadata_ddl(const pdi_dialect *d, const char *schema);
void pdi_sql_strv_free(char **v);

/* The metadata statements (parameters as `?`, in the order given). */
typedef enum pdi_meta_q {
    PDI_MQ_VERSION_GET = 0, /* -> version */
    PDI_MQ_VERSION_PUT,     /* (version) */
    PDI_MQ_VERSION_DELETE,  /* () */
    PDI_MQ_TASK_INSERT,     /* (name, stage, version, timestamp, run_id, position_hash,
                               input_hash, cache_fn_hash, output_json, in_tx) */
    PDI_MQ_TASK_FIND,       /* (name, stage, version, input_hash) committed */
    PDI_MQ_TASK_FIND_FN,    /* (name, stage, version, input_hash, cache_fn_hash) */
    PDI_MQ_TASK_LATEST,     /* (name, stage) newest first */
    PDI_MQ_TASK_LATEST_POS, /* (name, stage, position_hash) newest first */
    PDI_MQ_LAZY_INSERT,     /* (name, stage, query_hash, task_hash, in_tx) */
    PDI_MQ_LAZY_STAGE,      /* (stage) committed rows */
    PDI_MQ_RAW_INSERT,      /* (prev_objects, new_objects, stage, query_hash, task_hash, in_tx) */
    PDI_MQ_RAW_FIND,        /* (stage, query_hash, task_hash) committed */
    PDI_MQ_DEL_UNCOMMITTED_TASKS,
    PDI_MQ_DEL_UNCOMMITTED_LAZY,
    PDI_MQ_DEL_UNCOMMITTED_RAW, /* (stage) */
    PDI_MQ_DEL_COMMITTED_TASKS,
    PDI_MQ_DEL_COMMITTED_LAZY,
    PDI_MQ_DEL_COMMITTED_RAW, /* (stage) */
    PDI_MQ_PROMOTE_TASKS,
    PDI_MQ_PROMOTE_LAZY,
    PDI_MQ_PROMOTE_RAW,        /* (stage) */
    PDI_MQ_JOURNAL_ADD,        /* (stage, run_id, started) */
    PDI_MQ_JOURNAL_DEL,        /* (stage) */
    PDI_MQ_JOURNAL_LIST,       /* () -> stage, run_id */
    PDI_MQ_JOURNAL_LIST_STAGE, /* (stage) -> stage, run_id */
    PDI_MQ_STAGE_GET,          /* (stage) -> cur_transaction_name */
    PDI_MQ_STAGE_DEL,          /* (stage) */
    PDI_MQ_STAGE_PUT,          /* (stage, cur_transaction_name) */
    PDI_MQ_TASK_STAGE,         /* (stage) committed rows of a stage */
    PDI_MQ_RAW_STAGE,          /* (stage) committed rows of a stage */
    PDI_MQ_UNCOMMITTED_STAGES, /* () -> stage, of every uncommitted row */
    PDI_MQ_N
} pdi_meta_q;
char *pdi_sql_meta(const pdi_dialect *d, const char *schema, pdi_meta_q q);
/* The single-row INSERT `q` with its VALUES tuple repeated `rows` times. */
char *pdi_sql_meta_insert_rows(const pdi_dialect *d, const char *schema, pdi_meta_q q, size_t rows);

/* ------------------------------------------- statements of one backend */

/* SQLite (dialect/sqlite.c). */
/* ATTACH DATABASE ?1 AS ?2 (file, schema). Static. */
const char *pdi_sql_sqlite_attach(void);
/* Per-file settings after ATTACH: WAL + NORMAL for the metadata file,
 * DELETE journal + synchronous OFF for table files. */
char *pdi_sql_sqlite_file_pragmas(const char *schema, bool metadata);
/* Query with one `?` (name): type, sql of the table or view `name`. */
char *pdi_sql_sqlite_object_ddl(const char *schema);
/* Query: name, sql, type of the views and triggers of `schema`. */
char *pdi_sql_sqlite_view_defs(const char *schema);
/* UPDATE "schema".sqlite_master SET sql = ? WHERE type = ? AND name = ? */
char *pdi_sql_sqlite_set_definition(const char *schema);
/* PRAGMA "schema".writable_schema = ON|OFF */
char *pdi_sql_sqlite_writable_schema(const char *schema, bool on);
/* The schemas `sql` names: identifiers X of `X.` / `"X".` outside
 * literals and comments, each once, appended to `out` (the files a SQLite
 * backend attaches before running the statement). */
int pdi_sql_sqlite_schema_refs(const char *sql, pd_strv *out);
/* One row telling which storage classes the result columns cols[0..n) (0-based
 * positions among the `ncols` of `select`) hold: for each, four 0/1 values
 * (any integer, real, text, blob; NULL when there are no rows) - how a
 * column without a declared type is typed. */
char *
pdi_sql_sqlite_storage_classes(const char *select, size_t ncols, const size_t *cols, size_t n);

/* PostgreSQL (dialect/postgres.c). */
/* CREATE DATABASE "name" */
char *pdi_sql_pg_create_database(const char *name);
/* COPY "s"."t" ("c1", ...) FROM STDIN (FORMAT binary), columns of `cols`. */
char *pdi_sql_pg_copy_in(const char *schema, const char *table, const struct ArrowSchema *cols);
/* COPY (<select>) TO STDOUT (FORMAT binary); trailing `;` dropped. */
char *pdi_sql_pg_copy_out(const char *select);
/* SELECT pd_q."c1", pd_q."c2"::text ... FROM (<select>) AS pd_q: columns
 * with cast[i] read as their text form. */
char *pdi_sql_pg_text_cast(const char *select, const char *const *cols, const bool *cast, size_t n);

/* MSSQL (dialect/mssql.c), for the ODBC backend. */
/* ALTER SCHEMA [to] TRANSFER [from].[name] (SCHEMA_SWAP without a rename). */
char *pdi_sql_mssql_transfer(const char *to_schema, const char *from_schema, const char *name);
/* Query: the names of the objects of `schema` a transfer moves (tables,
 * views, synonyms, procedures, functions; not their constraints). */
char *pdi_sql_mssql_list_transferable(const char *schema);
/* USE [database] (back to the configured database after a T-SQL script). */
char *pdi_sql_mssql_use(const char *database);
/* CREATE SYNONYM [s].[n] FOR [ts].[t] / DROP SYNONYM IF EXISTS [s].[n]
 * (the alias objects of READ_VIEWS). */
char *pdi_sql_mssql_create_synonym(const char *schema,
                                   const char *name,
                                   const char *target_schema,
                                   const char *target);
char *pdi_sql_mssql_drop_synonym(const char *schema, const char *name);
/* CREATE CLUSTERED COLUMNSTORE INDEX ccidx ON [s].[t] (materialization
 * detail `columnstore`). */
char *pdi_sql_mssql_columnstore(const char *schema, const char *table);

/* DB2 (dialect/db2.c), for the ODBC backend. */
/* CREATE ALIAS "s"."n" FOR TABLE "ts"."t" / DROP ALIAS "s"."n" (aliases
 * cannot be renamed: dropped and made anew). */
char *pdi_sql_db2_create_alias(const char *schema,
                               const char *name,
                               const char *target_schema,
                               const char *target);
char *pdi_sql_db2_drop_alias(const char *schema, const char *name);
/* CALL SYSPROC.ADMIN_CMD('RUNSTATS ON TABLE "s"."t" ...') after a load. */
char *pdi_sql_db2_runstats(const char *schema, const char *table);

/* Snowflake (dialect/snowflake.c), for the ODBC backend. */
/* ALTER SCHEMA "a" SWAP WITH "b" (atomic). */
char *pdi_sql_snowflake_swap(const char *a, const char *b);
/* ALTER SESSION SET QUERY_TAG = 'pipedag|<instance_id>|<user>|<pid>' */
char *pdi_sql_snowflake_query_tag(const char *instance_id, const char *user, long pid);
/* COMMENT ON SCHEMA "s" IS '<mark>' / query: that comment (which side of a
 * swap a crash left the stage on). */
char *pdi_sql_snowflake_mark_schema(const char *schema, const char *mark);
char *pdi_sql_snowflake_schema_mark(const char *schema);

/* ------------------------------------------------------- text scanning */

/* `p` at a line comment ("--") or a block comment: the position after it
 * (a line comment stops before its newline), else NULL. */
const char *pdi_sql_skip_comment(const char *p);
/* `p` at an opening quote (' " ` or [): the position after the closing
 * one, a doubled closing quote being part of the text; the end of the
 * string when unterminated. */
const char *pdi_sql_skip_quoted(const char *p);
/* `sql` without its qualifier `schema.` (bare or quoted, any case) outside
 * string literals (SQLite: a view stored in <stage>__tmp.sqlite that names
 * its own schema). */
char *pdi_sql_strip_qualifier(const char *sql, const char *schema);
/* `ddl` (CREATE TABLE|VIEW <name> ...) re-targeted to "schema"."name". */
char *pdi_sql_retarget_create(const pdi_dialect *d,
                              const char *ddl,
                              const char *schema,
                              const char *name);

#endif
