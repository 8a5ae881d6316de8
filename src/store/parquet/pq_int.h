/*
 * store/parquet/pq_int.h - internals of the Parquet table store
 * (docs/parquet_store.md). Not for other subsystems: the store layer
 * reaches this folder through store/parquet/parquet_store.h.
 *
 * Files go through src/fs (local disk or S3); Parquet is read and written
 * with our own codec (pipedag/parquet.h); the catalog is a DuckDB file
 * driven through the DuckDB backend; every SQL text comes from
 * store/dialect/parquet.h.
 */
#ifndef PD_STORE_PARQUET_PQ_INT_H
#define PD_STORE_PARQUET_PQ_INT_H

#include "fs/fs.h"
#include "pipedag/arrow.h"
#include "util/util.h"
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ names (pq_names.c) */

/* One table or stage name as one file name / key segment: bytes
 * A-Z a-z 0-9 _ - and UTF-8 bytes (>= 0x80) kept, '.' kept unless first,
 * every other byte written as ~XX (upper-case hex). So a name never
 * reaches outside its directory and is never a glob pattern for DuckDB's
 * read_parquet. NULL (PD_ERR_INVALID naming `what` and the name) when
 * empty or when the result is longer than 255 bytes. */
char *pdi_pq_encode_name(const char *name, const char *what);

/* "<base>/<instance_id>/" with exactly one '/' between parts; `base` is a
 * local directory or s3://bucket/prefix. instance_id is encoded. */
char *pdi_pq_instance_prefix(const char *base, const char *instance_id);
/* "<instance prefix><slot>/" (slot = physical schema name, encoded). */
char *pdi_pq_slot_prefix(const char *instance_prefix, const char *slot);
/* "<slot prefix><table>.parquet" (table encoded). */
char *pdi_pq_table_url(const char *slot_prefix, const char *table);

/* Absolute form of a local base path (relative paths are taken from the
 * current directory, file:// stripped); s3:// URLs are returned as they
 * are (a trailing '/' is added to both). */
char *pdi_pq_normalize_base(const char *base);

/* ---------------------------------------------------------------- I/O (pq_io.c) */

/* Write every batch of `in` as one Parquet file at `url` with our writer
 * (streaming; nothing is visible at `url` before the end). `in` is
 * consumed and released. *rows (may be NULL) = rows written. */
int pdi_pq_write_stream(
    pd_fs *fs, const char *url, int page_version, struct ArrowArrayStream *in, int64_t *rows);

/* One Arrow stream over the Parquet files `urls` (in order, same columns
 * required: names and types, else an error naming both files); `limit` < 0
 * = all rows. Local files are read from disk, S3 objects by ranged GETs of
 * the footer and the column chunks. The stream owns copies of the URLs and
 * opens the files one after another. */
int pdi_pq_open_stream(
    pd_fs *fs, const char *const *urls, size_t n, int64_t limit, struct ArrowArrayStream *out);

/* The hash probe of a unique check on `column` of the table made of
 * `files` (pq_unique.c): *distinct = true when no two non-NULL values can
 * be equal; false: maybe a repeat (the exact query decides).
 * PD_ERR_UNSUPPORTED for a column type the probe does not hash. */
int pdi_pq_unique_probe(pd_fs *fs, const pd_strv *files, const char *column, bool *distinct);
/* The scan checks of such a table decided from the files' footers alone
 * (pq_unique.c): *proven = true when the statistics of every row group
 * show that no row offends any of the n checks (not_null: NULL counts;
 * min, max and accepted_values: exact ranges of signed integer columns,
 * against integer values); false when they do not (the scan decides). */
struct pd_table_check;
int pdi_pq_scan_proof(
    pd_fs *fs, const pd_strv *files, const struct pd_table_check *checks, size_t n, bool *proven);

/* ----------------------------------------------- view definitions (pq_views.c) */

/* The string literals inside the first read_parquet( ... ) / parquet_scan(
 * ... ) call of a view's SQL text, in order ('' unescaped). *found = false
 * when the text has no such call (e.g. a base view SELECT * FROM slot.t). */
int pdi_pq_files_of_view_sql(const char *sql, pd_strv *files, bool *found);
/* For "SELECT * FROM <schema>.<table>" (quoted or not): the schema and the
 * table it selects from. *found = false otherwise. */
int pdi_pq_target_of_view_sql(const char *sql, char **schema, char **table, bool *found);

/* ------------------------------------------------------- the store (pq_core.c) */

typedef struct pdi_duck_conn pdi_duck_conn;
typedef struct pdi_pq_cache pdi_pq_cache;
typedef struct pdi_pq_sync pdi_pq_sync;

typedef struct pdi_pq_args {
    const char *base_path;   /* parquet_base_path */
    const char *instance_id; /* spliced into the layout */
    const char *s3_endpoint_url, *s3_url_style, *s3_region;
    bool print_materialize;
    int page_version; /* data pages our writer writes: 1, or 2 (also when 0) */
} pdi_pq_args;

/* One opened Parquet store: the file system, the layout, the S3 cache. */
typedef struct pdi_pq {
    pd_fs *fs;
    bool s3;
    bool uploads_cleaned; /* S3: incomplete uploads of a killed run cleaned up */
    bool print_materialize;
    int page_version;    /* pdi_pq_args.page_version */
    char *base;          /* normalized parquet_base_path ("/abs/dir/" or "s3://b/p/") */
    char *inst;          /* <base><instance_id>/ */
    pdi_pq_cache *cache; /* S3: local copies for DuckDB (pq_s3.c); NULL locally */
    /* slots whose old files are deleted before the first write into them
     * (a 100 % cache-valid stage never writes, so it deletes nothing) */
    pthread_mutex_t mu;
    pd_strv dirty;
    pdi_pq_sync *sync; /* team sharing (metadata_table_store), else NULL */
    /* counters for tests and benchmarks */
    int64_t n_files_written, n_files_copied, n_files_deleted;
} pdi_pq;

/* Check the base (local: create the directory; S3: the bucket must exist,
 * a missing one is an error naming it), clean up what a killed run left
 * under the instance's prefix (incomplete uploads, temp files). */
int pdi_pq_open(const pdi_pq_args *a, pdi_pq **out);
void pdi_pq_close(pdi_pq *P);
/* Per catalog connection: on S3, the host function and the read_parquet
 * macro (docs/parquet_store.md, "S3 without DuckDB's httpfs"). */
int pdi_pq_conn_setup(pdi_pq *P, pdi_duck_conn *c);
/* Around statements that only create views (binding needs each file's
 * schema, not its data): on S3, read_parquet binds against footer-only
 * local files, so no object is downloaded; locally nothing. Pair every
 * on with an off (also after an error). */
int pdi_pq_bind_views(pdi_pq *P, pdi_duck_conn *c, bool on);

/* Location of a slot's directory / a table's file (caller frees). */
char *pdi_pq_slot_url(pdi_pq *P, const char *slot);
char *pdi_pq_file_url(pdi_pq *P, const char *slot, const char *table);

/* Stage init: the slot's old files are to be deleted - done before the
 * first write into it (pdi_pq_slot_clean), so a stage that writes nothing
 * deletes nothing. */
int pdi_pq_slot_init(pdi_pq *P, const char *slot);
/* Delete every file of the (physical) slot if stage init asked for it;
 * locally create its directory. Called by every write into the slot. */
int pdi_pq_slot_clean(pdi_pq *P, const char *slot);

/* SQL task: COPY (select) TO the table's file (S3: a local staging file,
 * then uploaded), then the slot view. */
int pdi_pq_write_sql(
    pdi_pq *P, pdi_duck_conn *c, const char *slot, const char *table, const char *select);
/* C task: our writer straight to the file (stream consumed), then the
 * slot view. */
int pdi_pq_write_arrow(
    pdi_pq *P, pdi_duck_conn *c, const char *slot, const char *table, struct ArrowArrayStream *in);
/* View task: the files of the sources (each schema.table, physical) as one
 * read_parquet([...]) view; with shape_json (canonical, or NULL) a shaped
 * view (pq_shape.c). A source that is itself a shaped View is refused. */
int pdi_pq_write_view(pdi_pq *P,
                      pdi_duck_conn *c,
                      const char *slot,
                      const char *table,
                      const char *const *src_schemas,
                      const char *const *src_tables,
                      size_t n,
                      const char *shape_json);
/* The Parquet files behind schema.table, following base views to slot
 * views. *found = false for an object that is not such a view (a table
 * made by raw SQL in the catalog). */
int pdi_pq_files_of(pdi_pq *P,
                    pdi_duck_conn *c,
                    const char *schema,
                    const char *table,
                    pd_strv *files,
                    bool *found);
/* schema.table as Arrow: straight from the files (no DuckDB), or through
 * the catalog for a non-file object. */
int pdi_pq_read_arrow(pdi_pq *P,
                      pdi_duck_conn *c,
                      const char *schema,
                      const char *table,
                      int64_t limit,
                      struct ArrowArrayStream *out);
/* A cache-valid table into the new slot: the file copied server-side (S3)
 * or hard-linked (local), then its view; a multi-file view gets the same
 * definition; a catalog table is copied in the catalog. */
int pdi_pq_copy(pdi_pq *P,
                pdi_duck_conn *c,
                const char *from_schema,
                const char *from_table,
                const char *to_schema,
                const char *to_table);

/* ------------------------------------------- shaped Views (pq_shape.c) */

struct pd_view_shape;
/* SELECT <columns> FROM read_parquet([...]) ORDER BY ... LIMIT n. */
char *pdi_pq_shaped_select(const char *const *files, size_t n, const struct pd_view_shape *v);
/* CREATE VIEW slot.table AS <shaped select> and the comment carrying
 * shape_json (canonical), in one DuckDB transaction. */
int pdi_pq_create_shaped(pdi_duck_conn *c,
                         const char *slot,
                         const char *table,
                         const char *const *files,
                         size_t n,
                         const char *shape_json);
/* pdi_pq_create_shaped, recorded in sync_views (type parquet_view, target
 * = the files and the shape JSON, one a line) with team sharing. */
int pdi_pq_record_shaped(pdi_pq *P,
                         pdi_duck_conn *c,
                         const char *slot,
                         const char *table,
                         const char *const *files,
                         size_t n,
                         const char *shape_json);
/* Files under from_slot's directory now named under to_slot's (the
 * cache-valid copies of a changed stage); others unchanged. */
int pdi_pq_remap_slot(pdi_pq *P, pd_strv *files, const char *from_slot, const char *to_slot);
/* As pdi_pq_files_of, plus the shape of a shaped View (*shape_json, NULL
 * for a plain file view) and the schema of the view that reads the files
 * (*slot, may be NULL). */
int pdi_pq_view_of(pdi_duck_conn *c,
                   const char *schema,
                   const char *table,
                   pd_strv *files,
                   char **shape_json,
                   char **slot,
                   bool *found);
/* The shape applied to a stream over the view's files (consumed): columns
 * selected and renamed per batch, a limit by slicing, a sort (stable) by
 * gathering every row first. Unsupported column types for a sort are an
 * error naming `what` and the column. */
int pdi_pq_shape_stream(struct ArrowArrayStream *in,
                        const struct pd_view_shape *v,
                        const char *what,
                        struct ArrowArrayStream *out);

/* ---------------------------------------------- team sharing (pq_sync.c) */

struct pd_store_config;
/* Session to the metadata store `msc`, sync_views created there, this
 * catalog's user_id (table user_id in schema `catalog_meta` of the catalog,
 * created with a random id when missing). */
int pdi_pq_sync_open(const struct pd_store_config *msc,
                     const char *instance_id,
                     pdi_duck_conn *catalog,
                     const char *catalog_meta,
                     pdi_pq_sync **out);
void pdi_pq_sync_close(pdi_pq_sync *y);
const char *pdi_pq_sync_user(const pdi_pq_sync *y);
/* A view I created in schema: my row (target = file URLs joined by '\n'
 * for type "parquet", a schema for type "schema"); other users' rows of
 * that view become obsolete. */
int pdi_pq_sync_record(
    pdi_pq_sync *y, const char *schema, const char *view, const char *target, const char *type);
int pdi_pq_sync_clear_schema(pdi_pq_sync *y, const char *schema);
/* Bring the catalog's schema in line with the rows of other users;
 * *created (may be NULL) += views created. */
int pdi_pq_sync_schema(pdi_pq_sync *y, pdi_duck_conn *c, const char *schema, int *created);
/* Every schema sync_views mentions, sorted. */
int pdi_pq_sync_schemas(pdi_pq_sync *y, pd_strv *out);

/* ------------------------------------------------------------- S3 (pq_s3.c) */

int pdi_pq_cache_open(pd_fs *fs, pdi_pq_cache **out);
void pdi_pq_cache_close(pdi_pq_cache *c); /* deletes the local copies */
/* A local copy of `url` for DuckDB (downloaded once; thread-safe). The
 * returned path lives as long as the cache. */
int pdi_pq_cache_get(pdi_pq_cache *c, const char *url, const char **path);
/* A fresh local path for a file that will become `url` (COPY target). */
char *pdi_pq_cache_staging(pdi_pq_cache *c);
/* `path` (a staging file) now holds the content of `url`. */
int pdi_pq_cache_put(pdi_pq_cache *c, const char *url, const char *path);
/* `dst` has the same content as `src` (server-side copy): share the copy. */
int pdi_pq_cache_alias(pdi_pq_cache *c, const char *src, const char *dst);
/* Forget every entry under `prefix` (its objects are being deleted). */
void pdi_pq_cache_forget_prefix(pdi_pq_cache *c, const char *prefix);
/* Register pipedag_s3_local on the connection (VARCHAR and VARCHAR[]
 * overloads) and define the read_parquet macro. */
int pdi_pq_s3_register(pdi_pq_cache *cache, pdi_duck_conn *c);
/* Downloads done so far (tests). */
int64_t pdi_pq_cache_downloads(pdi_pq_cache *c);
/* A local file for binding `url` in DuckDB: a full copy if the cache has
 * one, else a sparse file holding only the object's footer (one HEAD and a
 * ranged GET of the tail; never handed out by pdi_pq_cache_get). */
int pdi_pq_cache_footer(pdi_pq_cache *c, const char *url, const char **path);
int64_t pdi_pq_cache_footers(pdi_pq_cache *c);
/* `msg` with every local copy's path named by its URL (for errors DuckDB
 * raises about a copy); new string. */
char *pdi_pq_cache_name_urls(pdi_pq_cache *c, const char *msg);
/* Switch the connection's read_parquet macro between reading data (off)
 * and binding views (on: footers only) - see pdi_pq_bind_views. */
int pdi_pq_s3_bind_only(pdi_duck_conn *c, bool on);

#endif
