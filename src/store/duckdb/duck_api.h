/*
 * store/duckdb/duck_api.h - the part of DuckDB's C API the DuckDB backend
 * uses, declared by us (no duckdb.h ships with pipedag-c) and reached
 * through function pointers filled by dlopen/dlsym (duck_load.c).
 *
 * Only what this folder calls is declared. Handles are opaque pointers;
 * the one struct we allocate ourselves, duckdb_result, is six machine words
 * (three idx_t counters, the deprecated column array, the deprecated error
 * text, the internal pointer) in every DuckDB 1.x release. Functions that
 * return duckdb_state return 0 on success and 1 on error; they are declared
 * here as returning int. Internal to src/store/duckdb/.
 */
#ifndef PD_STORE_DUCKDB_DUCK_API_H
#define PD_STORE_DUCKDB_DUCK_API_H

#include "pipedag/arrow.h"
#include <stdbool.h>
#include <stdint.h>

typedef uint64_t duck_idx;
typedef struct duck_database_s *duck_database;
typedef struct duck_connection_s *duck_connection;
typedef struct duck_config_s *duck_config;
typedef struct duck_prepared_s *duck_prepared;
typedef struct duck_logical_type_s *duck_logical_type;
typedef struct duck_data_chunk_s *duck_data_chunk;
typedef struct duck_arrow_options_s *duck_arrow_options;
typedef struct duck_error_data_s *duck_error_data;

typedef struct duck_result {
    duck_idx deprecated_column_count;
    duck_idx deprecated_row_count;
    duck_idx deprecated_rows_changed;
    void *deprecated_columns;
    char *deprecated_error_message;
    void *internal_data;
} duck_result;

/* The entry points, named as in DuckDB without the "duckdb_" prefix. */
typedef struct pdi_duck_api {
    void *handle;        /* dlopen handle (never closed) */
    const char *path;    /* where it was found */
    const char *version; /* duckdb_library_version() */

    const char *(*library_version)(void);
    void (*free)(void *p);

    int (*create_config)(duck_config *out);
    int (*set_config)(duck_config config, const char *name, const char *value);
    void (*destroy_config)(duck_config *config);
    int (*open_ext)(const char *path, duck_database *out, duck_config config, char **out_error);
    void (*close)(duck_database *db);
    int (*connect)(duck_database db, duck_connection *out);
    void (*disconnect)(duck_connection *conn);
    void (*interrupt)(duck_connection conn);

    int (*query)(duck_connection conn, const char *sql, duck_result *out);
    void (*destroy_result)(duck_result *r);
    const char *(*result_error)(duck_result *r);
    duck_idx (*column_count)(duck_result *r);
    int (*column_type)(duck_result *r, duck_idx col); /* DUCKDB_TYPE_* number */
    duck_idx (*row_count)(duck_result *r);
    const char *(*column_name)(duck_result *r, duck_idx col);
    duck_logical_type (*column_logical_type)(duck_result *r, duck_idx col);
    char *(*value_varchar)(duck_result *r, duck_idx col, duck_idx row);
    bool (*value_is_null)(duck_result *r, duck_idx col, duck_idx row);
    duck_data_chunk (*fetch_chunk)(duck_result r); /* by value */
    void (*destroy_logical_type)(duck_logical_type *t);

    int (*prepare)(duck_connection conn, const char *sql, duck_prepared *out);
    const char *(*prepare_error)(duck_prepared p);
    duck_idx (*nparams)(duck_prepared p);
    int (*bind_varchar)(duck_prepared p, duck_idx index, const char *v); /* 1-based */
    int (*bind_null)(duck_prepared p, duck_idx index);
    int (*execute_prepared)(duck_prepared p, duck_result *out);
    void (*destroy_prepare)(duck_prepared *p);

    duck_idx (*data_chunk_get_size)(duck_data_chunk c);
    void (*destroy_data_chunk)(duck_data_chunk *c);

    duck_arrow_options (*result_get_arrow_options)(duck_result *r);
    void (*destroy_arrow_options)(duck_arrow_options *o);
    duck_error_data (*to_arrow_schema)(duck_arrow_options o,
                                       duck_logical_type *types,
                                       const char **names,
                                       duck_idx n,
                                       struct ArrowSchema *out);
    duck_error_data (*data_chunk_to_arrow)(duck_arrow_options o,
                                           duck_data_chunk c,
                                           struct ArrowArray *out);

    bool (*error_data_has_error)(duck_error_data e);
    const char *(*error_data_message)(duck_error_data e);
    void (*destroy_error_data)(duck_error_data *e);

    /* Register `stream` as the temporary view `name` of the connection
     * (scanned in parallel by DuckDB's threads; the caller keeps ownership
     * of the stream, which is read once). */
    int (*arrow_scan)(duck_connection conn, const char *name, struct ArrowArrayStream *stream);
} pdi_duck_api;

/* The DuckDB library, loaded once per process (thread-safe). Search order:
 * $PIPEDAG_DUCKDB_LIBRARY (a file), libduckdb.so next to the running
 * binary, next to the library holding this code, then the dynamic linker's
 * search path (LD_LIBRARY_PATH, ld.so.cache). Fails with PD_ERR_UNSUPPORTED
 * "DuckDB library not found (searched: ...)" naming each place and why. */
int pdi_duck_api_get(const pdi_duck_api **out);

#endif
