/*
 * store/store.h - the table store interface the core drives (internal).
 *
 * A table store holds the tables of every stage of one instance, the stage
 * transaction machinery (SCHEMA_SWAP / READ_VIEWS), and - unless a separate
 * metadata_table_store is configured - the pipedag_metadata tables of
 * PIPEDAG_SEMANTICS.md §4. The core never writes SQL: it calls these
 * functions. Implementations: the SQL store (src/store/sql*.c: a dialect
 * that writes SQL text + a connector that executes it; SQLite, Postgres,
 * DuckDB, MSSQL, DB2, Snowflake) and the Parquet store.
 *
 * Thread safety: a pd_store may be called from several engine workers at
 * once; implementations keep one connection per worker (a pool) internally.
 * Within one stage the core serialises raw-SQL tasks.
 */
#ifndef PD_STORE_H
#define PD_STORE_H

#include "pipedag/arrow.h"
#include "pipedag/config.h"
#include "pipedag/pipedag.h"
#include "util/util.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct pd_store pd_store;

/* ---------------------------------------------------------------- objects */

/* What a task hands to the store (the kinds of output a hook may handle). */
typedef enum pd_obj_kind {
    PD_OBJ_SQL = 0,  /* a SELECT (already rendered: physical, quoted names) */
    PD_OBJ_ARROW,    /* an in-memory table (ArrowArrayStream) */
    PD_OBJ_EXTERNAL, /* reference to an existing table (ext_schema.ext_name) */
    PD_OBJ_VIEW,     /* union of source tables (view_sources: physical names) */
    PD_OBJ_N_KINDS
} pd_obj_kind;

/* How a consumer wants a table back. */
typedef enum pd_as_kind {
    PD_AS_ARROW = 0, /* ArrowArrayStream */
    PD_AS_SQL_NAME,  /* the physical, quoted name to use in SQL (char*) */
    PD_AS_N_KINDS
} pd_as_kind;

typedef enum pd_can {
    PD_CAN_NO = 0,
    PD_CAN_YES,
    PD_CAN_YES_BUT_DONT_CACHE,
    PD_CAN_NO_HOOK_EXPECTED
} pd_can;

/* A column check run on a table after it is written (docs/checks.md).
 * values: canonical JSON scalars (min/max: one, accepted_values: one or
 * more); references: ref_schema (logical, where the referenced table is
 * read right now), ref_table, ref_column. */
typedef struct pd_table_check {
    pd_check_kind kind;
    const char *column;
    const char *const *values;
    size_t n_values;
    const char *ref_schema, *ref_table, *ref_column;
} pd_table_check;

/* The shape of a View task (PIPEDAG_SEMANTICS.md §1.3): column selection
 * and renaming, sort and limit applied to the union of its sources. Sort
 * columns name SOURCE columns (before renaming). NULL / empty = a plain
 * union. Parsed from the task's options JSON (pdi_view_shape_parse). */
typedef struct pd_view_col {
    char *name;   /* output column */
    char *source; /* source column */
} pd_view_col;
typedef struct pd_view_sort {
    char *column;
    bool desc;
    bool nulls_first; /* default: nulls last, ascending or descending */
} pd_view_sort;
typedef struct pd_view_shape {
    pd_view_col *cols; /* n_cols == 0: every column */
    size_t n_cols;
    pd_view_sort *sort;
    size_t n_sort;
    int64_t limit; /* < 0: none */
} pd_view_shape;
/* Accepted JSON (docs/config.md, view tasks):
 *   {"columns": "a" | ["a", {"new": "src"}, ...] | {"new": "src", ...},
 *    "sort_by": "a" | ["a", {"column": "b", "order": "desc",
 *                             "nulls_first": true}, ...],
 *    "limit": 10}
 * (limit and nulls_first may also be strings, as YAML scalars are). An
 * unknown key, an empty or duplicate output name, a negative limit is
 * PD_ERR_INVALID naming `what`. *canon (may be NULL) = the canonical JSON
 * (part of the cache key): {"columns":[["new","src"],..],"sort_by":
 * [["col","asc|desc","nulls_first|nulls_last"],..],"limit":n}. */
int pdi_view_shape_parse(const char *json, const char *what, pd_view_shape *out, char **canon);
void pdi_view_shape_free(pd_view_shape *v);
/* Is there anything to apply? */
bool pdi_view_shape_active(const pd_view_shape *v);

/* A table as the store sees it. Schema arguments are *logical* schema names
 * ("stage", "stage__tmp", "stage__odd", "pipedag_metadata"); the store adds
 * schema_prefix/schema_suffix and quoting. */
typedef struct pd_table {
    const char *name;
    pd_obj_kind kind;
    const char *sql;                   /* PD_OBJ_SQL */
    struct ArrowArrayStream *stream;   /* PD_OBJ_ARROW (consumed by materialize) */
    const char *ext_schema, *ext_name; /* PD_OBJ_EXTERNAL */
    const char *const *view_sources;   /* PD_OBJ_VIEW: "schema.table" logical pairs */
    size_t n_view_sources;
    const pd_view_shape *view_shape;   /* PD_OBJ_VIEW: NULL = plain union */
    const char *view_shape_json;       /* its canonical JSON (cache key), or NULL */
    const char *const *primary_key; /* may be NULL */
    size_t n_primary_key;
    const char *const *const *indexes; /* each a NULL-terminated column list */
    size_t n_indexes;
    const pd_table_check *checks; /* run after writing, before the primary key */
    size_t n_checks;
    const char *task_name; /* for messages */
} pd_table;

/* ------------------------------------------------------------ hook registry
 * Per kind of task output, how a store materializes it and hands it back.
 * Lookup: newest registration first; the first PD_CAN_YES wins. */
typedef struct pd_table_hook {
    const char *name;
    pd_can (*can_materialize)(pd_obj_kind kind);
    pd_can (*can_retrieve)(pd_as_kind as);
    /* Write `t` as schema.t->name. */
    int (*materialize)(pd_store *s, const pd_table *t, const char *schema);
    /* Read schema.name as `as`; out is a struct ArrowArrayStream* or char**.
     * limit < 0 = all rows. */
    int (*retrieve)(
        pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out);
    /* Identity string for lazy caching (e.g. the canonicalized SQL). */
    int (*lazy_query_str)(pd_store *s, const pd_table *t, char **out);
} pd_table_hook;

int pdi_store_register_hook(pd_store *s, const pd_table_hook *hook);
const pd_table_hook *pdi_store_find_materialize_hook(pd_store *s, pd_obj_kind kind);
const pd_table_hook *pdi_store_find_retrieve_hook(pd_store *s, pd_as_kind as);

/* -------------------------------------------------------------- metadata */

typedef struct pd_task_meta {
    char *name, *stage, *version;
    int64_t timestamp; /* unix micros */
    char *run_id, *position_hash, *input_hash, *cache_fn_hash;
    char *output_json;
    bool in_transaction_schema;
} pd_task_meta;
void pdi_task_meta_clear(pd_task_meta *m);

typedef struct pd_lazy_meta {
    char *name, *stage, *query_hash, *task_hash;
    bool in_transaction_schema;
} pd_lazy_meta;
void pdi_lazy_meta_clear(pd_lazy_meta *m);

typedef struct pd_raw_sql_meta {
    char *prev_objects, *new_objects; /* JSON lists */
    char *stage, *query_hash, *task_hash;
    bool in_transaction_schema;
} pd_raw_sql_meta;
void pdi_raw_sql_meta_clear(pd_raw_sql_meta *m);

/* ------------------------------------------------------------- lifecycle */

/* Open the store of an instance (connects, creates the database/directory
 * if configured). Unavailable classes answer PD_ERR_UNSUPPORTED with
 * "<class> is not available in this build". */
int pdi_store_open(const pd_config *cfg, pd_store **out);
void pdi_store_close(pd_store *s);
/* Create schema pipedag_metadata and its tables if missing; check the
 * metadata version (mismatch -> *caching_ok = false with a warning). */
int pdi_store_setup(pd_store *s, bool *caching_ok);
const char *pdi_store_dialect(const pd_store *s); /* "sqlite", "postgresql", ... */
/* Masked description for messages ("sqlite:///.pipedag/db", "postgresql://u:***@h/db"). */
const char *pdi_store_describe(const pd_store *s);
bool pdi_store_supports(const pd_store *s, pd_commit_technique t);

/* --------------------------------------------------------------- stages */

typedef struct pd_stage_tx {
    const char *stage; /* logical base name */
    pd_commit_technique technique;
    char transaction_name[256]; /* filled by init: "stage__tmp" / "stage__odd" / "stage__even" */
    const char *run_id;
    bool defer_tx; /* set by the caller: see pdi_store_init_stage */
    bool tx_ready; /* the transaction schema is (re)created: set by the store */
} pd_stage_tx;

/* Create the base schema if missing, choose the transaction schema, delete
 * this stage's uncommitted metadata rows, and (re)create the empty
 * transaction schema - unless tx->defer_tx: then the caller calls
 * pdi_store_prepare_tx before the stage's first write (the run does, so
 * that a stage whose tasks are all cache-valid makes no DDL; where the
 * backend has an init_stage operation it is prepared at once all the
 * same). */
int pdi_store_init_stage(pd_store *s, pd_stage_tx *tx);
/* Before the first write into tx->transaction_name: drop and re-create
 * it (and the backend's init_stage). No-op once tx->tx_ready. */
int pdi_store_prepare_tx(pd_store *s, pd_stage_tx *tx);
/* Publish: if `changed`, make the transaction schema the stage's visible
 * content (swap or re-point views); in every case promote the stage's
 * metadata (delete committed rows, mark this run's rows committed).
 * Crash-safe: after a kill at any point, the next pdi_store_setup/init sees
 * either the old or the new version of tables AND metadata, never a mix. */
int pdi_store_commit_stage(pd_store *s, pd_stage_tx *tx, bool changed);

/* ---------------------------------------------------------------- tables */

/* Materialize through the hook registry, run the checks (a primary key is
 * checked not null and unique first), then create primary key/indexes. A
 * failing check is PD_ERR_CHECK naming the check, the column and up to 5
 * offending values. */
int pdi_store_materialize(pd_store *s, const pd_table *t, const char *schema);
int pdi_store_retrieve(
    pd_store *s, const char *schema, const char *name, pd_as_kind as, int64_t limit, void *out);
int pdi_store_lazy_query_str(pd_store *s, const pd_table *t, char **out);
int pdi_store_table_exists(pd_store *s, const char *schema, const char *name, bool *exists);
/* Copy a table (data, primary key, indexes) between schemas - used for
 * cache-valid tables of a changed stage. Cheap where the store allows. */
int pdi_store_copy_table(pd_store *s,
                         const char *from_schema,
                         const char *from_name,
                         const char *to_schema,
                         const char *to_name,
                         const pd_table *meta);
int pdi_store_drop_table(pd_store *s, const char *schema, const char *name);
/* Objects (tables and views) in a schema, sorted. */
int pdi_store_list_objects(pd_store *s, const char *schema, pd_strv *out);
/* The same for n schemas in one query: outs[i] (appended to) for
 * schemas[i]; PD_ERR_UNSUPPORTED where the store lists one at a time. */
int pdi_store_list_objects_in(pd_store *s, const char *const *schemas, size_t n, pd_strv *outs);
/* Physical, quoted "schema"."table" for SQL text (caller frees). */
char *pdi_store_sql_name(pd_store *s, const char *schema, const char *name);
/* Run a raw SQL script with `schema` as the stage it creates objects in. */
int pdi_store_execute_script(pd_store *s, const char *script);
/* Run any query, rows handed to `row` as text (NULL for SQL NULL). */
typedef int (*pd_row_fn)(void *user,
                         int ncols,
                         const char *const *names,
                         const char *const *values);
int pdi_store_query(pd_store *s, const char *sql, pd_row_fn row, void *user);

/* ------------------------------------------------------ metadata access */

int pdi_meta_insert_task(pd_store *s, const pd_task_meta *m);
/* Committed rows matching (name, stage, version, input_hash[, cache_fn_hash
 * unless NULL]). *count = number of matches; *out filled when count == 1. */
int pdi_meta_find_task(pd_store *s,
                       const char *name,
                       const char *stage,
                       const char *version,
                       const char *input_hash,
                       const char *cache_fn_hash,
                       pd_task_meta *out,
                       int *count);
/* Newest row (committed or not) for (name, stage[, position_hash]). */
int pdi_meta_latest_task(pd_store *s,
                         const char *name,
                         const char *stage,
                         const char *position_hash,
                         bool committed_only,
                         pd_task_meta *out,
                         bool *found);
int pdi_meta_insert_lazy(pd_store *s, const pd_lazy_meta *m);
int pdi_meta_find_lazy(pd_store *s,
                       const char *stage,
                       const char *query_hash,
                       const char *task_hash,
                       pd_lazy_meta *out,
                       int *count);
int pdi_meta_insert_raw_sql(pd_store *s, const pd_raw_sql_meta *m);
int pdi_meta_find_raw_sql(pd_store *s,
                          const char *stage,
                          const char *query_hash,
                          const char *task_hash,
                          pd_raw_sql_meta *out,
                          int *count);
/* ParquetTableStore with a metadata_table_store: bring this catalog's
 * views in line with sync_views without running (`sync-metadata`);
 * *synced (may be NULL) gets the schemas synced. Other stores: an error. */
int pdi_store_sync_metadata(pd_store *s, pd_strv *synced);
/* Drop schema pipedag_metadata (`clear-metadata`). */
int pdi_store_clear_metadata(pd_store *s);
/* Drop every schema with the configured prefix/suffix (`delete-schemas`). */
int pdi_store_delete_schemas(pd_store *s, pd_strv *deleted);

#endif
