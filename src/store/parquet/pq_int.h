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
int pdi_pq_write_stream(pd_fs *fs, const char *url, struct ArrowArrayStream *in, int64_t *rows);

/* One Arrow stream over the Parquet files `urls` (in order, same columns
 * required: names and types, else an error naming both files); `limit` < 0
 * = all rows. Local files are read from disk, S3 objects by ranged GETs of
 * the footer and the column chunks. The stream owns copies of the URLs and
 * opens the files one after another. */
int pdi_pq_open_stream(pd_fs *fs,
                       const char *const *urls,
                       size_t n,
                       int64_t limit,
                       struct ArrowArrayStream *out);

/* ----------------------------------------------- view definitions (pq_views.c) */

/* The string literals inside the first read_parquet( ... ) / parquet_scan(
 * ... ) call of a view's SQL text, in order ('' unescaped). *found = false
 * when the text has no such call (e.g. a base view SELECT * FROM slot.t). */
int pdi_pq_files_of_view_sql(const char *sql, pd_strv *files, bool *found);
/* For "SELECT * FROM <schema>.<table>" (quoted or not): the schema and the
 * table it selects from. *found = false otherwise. */
int pdi_pq_target_of_view_sql(const char *sql, char **schema, char **table, bool *found);

#endif
