/*
 * tests/parquet_write/pqw_duck.h - tiny libduckdb wrapper loaded with dlopen.
 *
 * Used by the writer tests (verify files with an independent reader) and by
 * bench/parquet (DuckDB as the reference writer). Only a handful of DuckDB C
 * API functions are declared, matching the documented 1.x ABI.
 */
#ifndef PQW_DUCK_H
#define PQW_DUCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct pqw_duck pqw_duck;
typedef struct pqw_result pqw_result;

/* Open an in-memory DuckDB. Path of libduckdb.so from $PD_LIBDUCKDB or the
 * npm package under the source tree. NULL (message in err) if unavailable. */
pqw_duck *pqw_duck_open(const char *libpath, char *err, size_t errlen);
void pqw_duck_close(pqw_duck *d);
/* Run SQL; returns NULL on error (message in err). */
pqw_result *pqw_duck_query(pqw_duck *d, const char *sql, char *err, size_t errlen);
/* Run SQL that returns nothing useful; 0 on success. */
int pqw_duck_exec(pqw_duck *d, const char *sql, char *err, size_t errlen);
uint64_t pqw_result_rows(pqw_result *r);
/* malloc'd text of a value, NULL for SQL NULL. */
char *pqw_result_text(pqw_result *r, uint64_t col, uint64_t row);
int64_t pqw_result_i64(pqw_result *r, uint64_t col, uint64_t row);
void pqw_result_free(pqw_result *r);

#endif
