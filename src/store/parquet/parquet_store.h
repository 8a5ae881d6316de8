/*
 * store/parquet/parquet_store.h - what the store layer calls of the
 * Parquet table store (docs/parquet_store.md). INTERIM shape, inside the
 * SQL store of store/sql_store.c; the folder's internals are pq_int.h.
 */
#ifndef PD_STORE_PARQUET_PARQUET_STORE_H
#define PD_STORE_PARQUET_PARQUET_STORE_H

#include "pipedag/config.h"
#include "store/store.h"
#include <stdbool.h>

struct pdi_conn;

/* Open the files side (parquet_base_path, S3 settings) of a store whose
 * catalog the SQL store opened, and register the Parquet hooks. */
int pdi_pq_store_open(pd_store *s, const pd_config *cfg);
void pdi_pq_store_close(pd_store *s);
bool pdi_pq_store_is_parquet(const pd_store *s);
/* Every new catalog connection (S3: host function + read_parquet macro). */
int pdi_pq_store_conn_ready(pd_store *s, struct pdi_conn *c);
/* Stage init, after the slot schema was re-created: check that the base
 * views show the committed slot (re-point them from the metadata if not),
 * and have the slot's old files deleted before its first write. */
int pdi_pq_store_init_stage(pd_store *s, const char *stage, const char *slot_logical);
/* Commit: stages row + metadata promotion + base views re-pointed (one
 * DuckDB transaction when the metadata lives in the catalog; metadata
 * store first, then the catalog, otherwise). */
int pdi_pq_store_commit(pd_store *s, pd_stage_tx *tx, bool changed);
/* Cache-valid table into the new slot (logical schema names). */
int pdi_pq_store_copy(pd_store *s,
                      const char *from_schema,
                      const char *from_name,
                      const char *to_schema,
                      const char *to_name);

#endif
