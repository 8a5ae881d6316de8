/*
 * store/pg_store.h - Postgres-specific parts of the SQL store (internal).
 *
 * pdi_pg_commit_tx: the whole stage commit (SCHEMA_SWAP renames or
 * READ_VIEWS re-pointing, `stages` upsert, metadata promotion) in ONE
 * transaction on connection `c` (transactional DDL: atomic). Call it from
 * pd_store_commit_stage for the Postgres dialect when the metadata schema
 * is in the same database as the tables (meta_phys != NULL); with a
 * separate metadata_table_store pass meta_phys = NULL (tables only) and
 * promote the metadata afterwards on the metadata connection.
 *
 * The promotion only sees rows already in the metadata tables: a caller
 * that queues metadata inserts (pdi_meta_flush in sql_meta.c) must flush
 * them before calling, or this run's rows stay uncommitted (cache lost).
 */
#ifndef PD_STORE_PG_STORE_H
#define PD_STORE_PG_STORE_H

#include "store/sql.h"

typedef struct pdi_pg_commit_args {
    const char *stage;     /* logical stage name (metadata key) */
    const char *slot;      /* logical transaction name ("stage__odd"), READ_VIEWS */
    const char *base_phys; /* physical schema names */
    const char *tx_phys;   /* "<stage>__tmp" or the odd/even slot */
    const char *swap_phys; /* "<stage>__swap" (SCHEMA_SWAP) */
    const char *meta_phys; /* physical pipedag_metadata; NULL = metadata elsewhere */
    pd_commit_technique technique;
    bool changed;                      /* false: metadata promotion only */
    void (*crash_point)(const char *); /* test hook (pdi_crash_point) or NULL */
} pdi_pg_commit_args;

int pdi_pg_commit_tx(pdi_conn *c, const pdi_pg_commit_args *a);

#endif
