/*
 * tests/parquet_write/pqw_table.h - generated Arrow test tables for the
 * Parquet writer tests: every supported Arrow type, nulls, nesting, and
 * non-zero array offsets on every level, with the expected text of every
 * value as DuckDB renders the column's SQL expression.
 */
#ifndef PQW_TABLE_H
#define PQW_TABLE_H

#include "pipedag/arrow.h"
#include <stddef.h>
#include <stdint.h>

typedef struct pqw_col {
    const char *name;
    const char *sql; /* SQL expression rendering the column as text; "%s" = column */
} pqw_col;

/* Number of generated columns. */
int pqw_ncols(void);
const pqw_col *pqw_col_info(int i);
/* Build the table: `n` logical rows; every array carries some garbage
 * leading rows hidden by a non-zero offset. Caller releases both. */
int pqw_make_table(int64_t n,
                   int64_t first_row,
                   struct ArrowSchema *schema,
                   struct ArrowArray *batch);
/* Release what pqw_make_table built (either may be NULL or released). */
void pqw_release_table(struct ArrowSchema *schema, struct ArrowArray *batch);
/* Expected text of column c at global row i ("NULL" for null). */
void pqw_expect(int c, int64_t i, char *buf, size_t cap);

/* Read every batch of st and compare each value, column by column, with
 * rows [0, total) of (s, a) through their JSON rendering (a reader handing
 * timestamps out as int64 is compared on the stored integers). Prints the
 * first mismatches prefixed with `what`; returns how many were found (a
 * failing stream or a wrong row count counts too). Releases st. */
int pqw_compare_stream(struct ArrowArrayStream *st,
                       const struct ArrowSchema *s,
                       const struct ArrowArray *a,
                       int64_t total,
                       const char *what);

#endif
