/*
 * pipedag/config.h - pipedag.yaml: instances, table stores, locks, blobs.
 *
 * pd_config_load reads a pipedag.yaml (or builds the default instance when
 * path is NULL and no file is found), merges `instances.__any__` under the
 * chosen instance, expands {instance_id}, {name}, {username} and {$ENV_VAR}
 * in every string, validates keys, types and values, and returns one
 * resolved instance. Errors name file:line:column. Class names are accepted
 * in the seed's dotted form (pydiverse.pipedag.backend.table.SQLTableStore)
 * and short form (SQLTableStore).
 */
#ifndef PIPEDAG_CONFIG_H
#define PIPEDAG_CONFIG_H

#include "common.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A generic YAML value with its source position (after merging/expansion). */
typedef enum pd_cfg_type { PD_CFG_NULL, PD_CFG_SCALAR, PD_CFG_MAP, PD_CFG_LIST } pd_cfg_type;
typedef struct pd_cfg_node {
    pd_cfg_type type;
    char *scalar;               /* PD_CFG_SCALAR text */
    bool quoted;                /* scalar was quoted in YAML */
    char **keys;                /* PD_CFG_MAP keys (n entries) */
    struct pd_cfg_node **items; /* PD_CFG_MAP values / PD_CFG_LIST items */
    size_t n;
    const char *file;               /* borrowed from the owning pd_config */
    int line, column;               /* 1-based */
    struct pd_cfg_node **key_nodes; /* PD_CFG_MAP: the key scalars (positions), may be NULL */
} pd_cfg_node;
PD_API const pd_cfg_node *pd_cfg_get(const pd_cfg_node *map, const char *key);

typedef enum pd_commit_technique {
    PD_COMMIT_SCHEMA_SWAP = 0,
    PD_COMMIT_READ_VIEWS = 1
} pd_commit_technique;

/* Store classes (short names). */
typedef enum pd_store_class {
    PD_STORE_SQL = 0, /* SQLTableStore: dialect from the URL */
    PD_STORE_PARQUET  /* ParquetTableStore */
} pd_store_class;

typedef struct pd_store_config {
    pd_store_class klass;
    char *class_name; /* as written, for messages */
    char *url;        /* expanded; may contain a password: never log it raw */
    char *dialect;    /* from the URL scheme: "sqlite", "postgresql", "duckdb",
                         "mssql", "db2", "snowflake", or the unknown scheme */
    bool create_database_if_not_exists;
    bool print_materialize;
    bool print_sql;
    char *schema_prefix; /* "" if unset */
    char *schema_suffix;
    bool avoid_drop_create_schema;
    /* ParquetTableStore */
    char *parquet_base_path;
    char *s3_endpoint_url;
    char *s3_url_style; /* "path" or "virtual" (NULL = virtual) */
    char *s3_region;
    const pd_cfg_node *args; /* all args as written (validated) */
    const pd_cfg_node *hook_args;
    struct pd_store_config *metadata_table_store; /* NULL if none */
    const char *file;
    int line, column;              /* where the `class:` was declared */
    bool allow_overwrite;          /* ParquetTableStore: overwrite existing files */
    bool unlogged;                 /* Postgres: CREATE UNLOGGED TABLE, from materialization_details
                                      (__any__ merged under default_materialization_details) */
    int parquet_data_page_version; /* ParquetTableStore: data pages of the files our writer
                                      writes (C tasks, loads): 1 or 2 (default) */
} pd_store_config;

typedef enum pd_lock_class { PD_LOCK_NONE = 0, PD_LOCK_FILE, PD_LOCK_DATABASE } pd_lock_class;
typedef enum pd_blob_class { PD_BLOB_NONE = 0, PD_BLOB_FILE } pd_blob_class;

typedef struct pd_config {
    char *path;     /* config file, NULL for the built-in default */
    char *name;     /* top-level `name`, default "pipedag" */
    char *instance; /* chosen instance name */
    char *instance_id;
    bool fail_fast;
    pd_store_config table_store;
    pd_commit_technique stage_commit_technique;
    pd_lock_class lock_manager;
    char *lock_base_path; /* FileLockManager base_path (default .pipedag/locks) */
    pd_blob_class blob_store;
    char *blob_base_path; /* FileBlobStore base_path */
    int engine_workers;   /* orchestration: SequentialEngine = 1; ParallelEngine
                             args.max_workers (default: number of CPUs) */
    char *cache_mode;     /* cache_validation.mode, lower-case ("normal") */
    bool disable_cache_function;
    bool ignore_task_version;
    const pd_cfg_node *attrs; /* free-form */
    const pd_cfg_node *root;  /* the merged instance section */
    void *priv;               /* loader internals (node storage) */
} pd_config;

/* path NULL: $PIPEDAG_CONFIG, else pipedag.yaml/.yml in the current dir and
 * its parents, else the built-in default (SQLite store under ./.pipedag/).
 * instance NULL: the only instance, or "default" / "__any__" rules (see
 * README). */
PD_API int pd_config_load(const char *path, const char *instance, pd_config **out);
PD_API void pd_config_free(pd_config *cfg);
/* Resolved config as YAML text with secrets masked (`pipedag config`). */
PD_API char *pd_config_dump(const pd_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
