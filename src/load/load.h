/*
 * load/load.h - the loader behind `load:` tasks: external files read into
 * tables as Arrow streams, batch by batch (memory stays bounded whatever the
 * file size).
 *
 * A load names one file or a glob. Each file is CSV, possibly compressed with
 * gzip, zstd, bzip2 or xz (recognised by its first bytes, not its name), or
 * Parquet (read with our codec). CSV column types are given (`columns`) or
 * inferred from a bounded sample of rows; a later row that does not fit is an
 * error naming file:line:column, never a silently changed value.
 *
 * Options travel as a JSON object (canonical text; part of the task's key):
 *   {"columns": {"age": "int32"}, "delimiter": ",", "encoding": "utf-8",
 *    "format": "auto", "header": true, "null": "", "quote": "\"",
 *    "sample_rows": 20000, "union": false}
 * Every key is optional. The core calls this subsystem only; it never parses
 * files itself.
 */
#ifndef PD_LOAD_H
#define PD_LOAD_H

#include "pipedag/arrow.h"
#include "util/util.h"
#include <stdbool.h>

typedef struct pdi_load_opts pdi_load_opts;

/* Parse and check options (NULL or "" = defaults). Errors name the key. */
int pdi_load_opts_parse(const char *json, pdi_load_opts **out);
void pdi_load_opts_free(pdi_load_opts *o);
/* Batch size in rows (tests; default 65536). */
void pdi_load_opts_set_batch_rows(pdi_load_opts *o, int64_t rows);

/* True when `spec` is a glob pattern (contains *, ? or [). */
bool pdi_load_is_glob(const char *spec);

/* The files a load reads, sorted: the file itself, or every match of a glob
 * (no match is an error naming the pattern). */
int pdi_load_files(const char *spec, pd_strv *files);

/* The table a file becomes in a one-table-per-file glob load: the file name
 * without directory and without every suffix ("data/a.csv.gz" -> "a"),
 * lower-cased. NULL on out of memory. */
char *pdi_load_table_name(const char *file);

/* Names of the tables a load makes: empty when it makes one table (named
 * after the task: a single file, or a glob with union), else one per file. */
int pdi_load_table_names(const char *spec, const char *opts_json, pd_strv *names);

/* The part of the task's cache key that follows the files' contents: for a
 * single file the hex SHA-256 of its bytes; for a glob, every matching file's
 * name and hash (a new or removed file changes it). Files are hashed
 * streaming. *out is owned by the caller. */
int pdi_load_cache_key(const char *spec, const char *opts_json, char **out);

/* Where each loaded table goes: the stream is taken over (released by the
 * callee, success or failure). */
typedef int (*pdi_load_sink_fn)(void *user, const char *table, struct ArrowArrayStream *st);

/* Run a load: each table it makes is passed to sink (task_table for the
 * single-table case). */
int pdi_load_run(const char *spec,
                 const char *opts_json,
                 const char *task_table,
                 pdi_load_sink_fn sink,
                 void *user);

/* Open one file (CSV of any compression, or Parquet) as a stream; or several
 * files as one stream (their union: same columns in the same order). */
int pdi_load_open(const char *path, const pdi_load_opts *o, struct ArrowArrayStream *out);
int pdi_load_open_union(const char *const *paths,
                        size_t n,
                        const pdi_load_opts *o,
                        struct ArrowArrayStream *out);

#endif
