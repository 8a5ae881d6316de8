/*
 * store/duckdb/duck_int.h - internals shared by the files of
 * src/store/duckdb/ (not for other subsystems).
 */
#ifndef PD_STORE_DUCKDB_DUCK_INT_H
#define PD_STORE_DUCKDB_DUCK_INT_H

#include "store/duckdb/duck.h"
#include "store/duckdb/duck_api.h"

#define PDI_DUCK_STMT_CACHE 32
/* Rows of a DuckDB data chunk (STANDARD_VECTOR_SIZE of the release builds). */
#define PDI_DUCK_CHUNK_ROWS 2048

typedef struct pdi_duck_stmt {
    char *sql;
    duck_prepared st;
    uint64_t last_use;
} pdi_duck_stmt;

struct pdi_duck_conn {
    const pdi_duck_api *A;
    pdi_duck_db *db; /* one reference held */
    duck_connection conn;
    bool print_sql;
    uint64_t tick;
    pdi_duck_stmt cache[PDI_DUCK_STMT_CACHE];
};

/* duck_db.c */
duck_database pdi_duck_db_handle(pdi_duck_db *db);
void pdi_duck_db_retain(pdi_duck_db *db);

/* duck_arrow.c: every row of a materialized result (not yet read) as text
 * rendered from its Arrow form (pd_arrow_get_text; nested values as JSON),
 * for column types duckdb_value_varchar cannot render. */
int pdi_duck_rows_via_arrow(pdi_duck_conn *c, duck_result *r, pd_row_fn row, void *user);

/* duck_conn.c: PD_ERR_SQL "duckdb: <msg> (in: <sql>)". */
int pdi_duck_err(pdi_duck_conn *c, const char *msg, const char *sql);

#endif
