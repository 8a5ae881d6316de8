/*
 * store/parquet/parquet_store.h - what the shared store layer uses of the
 * Parquet table store (docs/parquet_store.md): the backend
 * (pdi_backend_parquet, declared in store/backend.h) and its table hooks.
 * The folder's internals are in pq_int.h.
 */
#ifndef PD_STORE_PARQUET_PARQUET_STORE_H
#define PD_STORE_PARQUET_PARQUET_STORE_H

#include "store/store.h"
#include <stddef.h>

struct pdi_db;
struct pdi_pq;

/* Hooks the store registers after its defaults on a ParquetTableStore. */
const pd_table_hook *const *pdi_parquet_hooks(size_t *n);
/* The files side of a Parquet store's database. */
struct pdi_pq *pdi_parquet_of(struct pdi_db *db);

#endif
