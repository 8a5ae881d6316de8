/*
 * store/dialect/parquet.h - SQL text of the Parquet table store
 * (docs/parquet_store.md): statements run in its DuckDB catalog, and the
 * team-sharing table sync_views in the metadata store's dialect. Text
 * only; nothing here executes. Every function returns a new malloc'd
 * string (NULL only on OOM, with the error set).
 */
#ifndef PD_STORE_DIALECT_PARQUET_H
#define PD_STORE_DIALECT_PARQUET_H

struct pdi_dialect;
#include <stddef.h>

/* COPY (<select>) TO '<path>' (FORMAT PARQUET); trailing `;` and blanks of
 * `select` are dropped. */
char *pdi_sql_pq_copy_to(const char *select, const char *path);
/* Query: column_name, column_type, ... of the result of `select`. */
char *pdi_sql_pq_describe(const char *select);
/* `select` with the listed columns cast to DECIMAL(38,0) - DuckDB writes
 * HUGEINT / UHUGEINT to Parquet as DOUBLE, which would lose digits; a
 * value beyond DECIMAL(38,0) fails the cast instead. */
char *pdi_sql_pq_exact_select(const char *select, const char *const *cols, size_t n);
/* SELECT * FROM read_parquet('<f>') for one file, read_parquet(['f1',
 * 'f2', ...]) for several: the text of a slot view. */
char *pdi_sql_pq_read_select(const char *const *files, size_t n);
/* read_parquet('<f>') / read_parquet(['f1', ...]): the FROM item of a
 * shaped View (pdi_sql_shaped_select with the duckdb dialect). */
char *pdi_sql_pq_read_from(const char *const *files, size_t n);
/* Prefix of the comment that carries a View's shape (canonical JSON) on
 * its catalog view. Static. */
const char *pdi_sql_pq_shape_tag(void);
/* COMMENT ON VIEW "schema"."view" IS '<text>' */
char *pdi_sql_pq_comment_view(const char *schema, const char *view, const char *text);
/* Query, parameters (schema, view): one row: the view's stored SQL and
 * its comment. */
char *pdi_sql_pq_view_sql_comment(void);
/* The bind-only variant of the S3 macro, active while the store creates
 * views (binding needs each file's schema, not its data): read_parquet(f)
 * = parquet_scan(pipedag_s3_footer(f)), a host function handing out local
 * files that hold only the object's footer (docs/parquet_store.md). */
char *pdi_sql_pq_s3_bind_macro(void);
const char *pdi_sql_pq_s3_bind_function(void);
/* The connection-local shadow of read_parquet on an S3 store: binds
 * read_parquet('s3://...') views against local copies handed out by the
 * host function `pipedag_s3_local` (the built-in stays parquet_scan). */
char *pdi_sql_pq_s3_macro(void);
/* Name of the host scalar function the macro calls. Static. */
const char *pdi_sql_pq_s3_function(void);
/* Query, parameters (schema, view): one row with the view's stored SQL. */
char *pdi_sql_pq_view_sql(void);
/* Query, parameter (schema): view_name, sql of every view of a schema. */
char *pdi_sql_pq_views_of_schema(void);

/* ------------------------------------------------------- team sharing
 * sync_views(schema, view_name, user_id, target, target_type, obsolete) in
 * the metadata schema `meta` of the metadata store (dialect `d`), and the
 * catalog's user_id table in its own metadata schema. */
/* CREATE TABLE IF NOT EXISTS <meta>.sync_views (...) */
char *pdi_sql_pq_sync_views_ddl(const struct pdi_dialect *d, const char *meta);
/* CREATE TABLE IF NOT EXISTS <meta>.user_id (user_id VARCHAR(64)) */
char *pdi_sql_pq_user_id_ddl(const struct pdi_dialect *d, const char *meta);
char *pdi_sql_pq_user_id_get(const struct pdi_dialect *d, const char *meta);
/* Parameter: user_id. */
char *pdi_sql_pq_user_id_set(const struct pdi_dialect *d, const char *meta);
/* Parameters (schema, view_name, user_id): delete that row. */
char *pdi_sql_pq_sync_delete_row(const struct pdi_dialect *d, const char *meta);
/* Parameters (schema, view_name, user_id, target, target_type): insert a
 * row with obsolete = 0. */
char *pdi_sql_pq_sync_insert(const struct pdi_dialect *d, const char *meta);
/* Parameters (schema, view_name, user_id): obsolete = 1 for every OTHER
 * user's row of that view. */
char *pdi_sql_pq_sync_obsolete_others(const struct pdi_dialect *d, const char *meta);
/* Parameter (schema): delete every row of a schema. */
char *pdi_sql_pq_sync_clear_schema(const struct pdi_dialect *d, const char *meta);
/* Parameter (schema): view_name, user_id, target, target_type, obsolete of
 * every row of a schema, ordered by view_name, user_id. */
char *pdi_sql_pq_sync_rows(const struct pdi_dialect *d, const char *meta);
/* Query: every schema mentioned in sync_views (distinct, sorted). */
char *pdi_sql_pq_sync_schemas(const struct pdi_dialect *d, const char *meta);

#endif
