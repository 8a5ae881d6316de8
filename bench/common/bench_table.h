/*
 * bench/common/bench_table.h - what the benchmarks share: the splitmix64
 * mixer every generated value comes from, a monotonic clock, and the
 * benchmark table of PARQUET.md §18 generated in C as Arrow batches
 * (bench/dataset.sql generates the same rows in SQL).
 *
 * The two inline helpers need only libc (bench_csv uses them without
 * Arrow); pdi_bench_table_generate is in bench_table.c (library
 * pd_bench_table, which links pd_arrow).
 */
#ifndef PD_BENCH_TABLE_H
#define PD_BENCH_TABLE_H

#include <stdint.h>
#include <time.h>

struct ArrowArrayStream;
typedef struct pd_arrow_builder pd_arrow_builder;

/* splitmix64 of x: row i's value of column c is derived from
 * pdi_bench_sm64(8 * i + c). */
static inline uint64_t pdi_bench_sm64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Seconds on the monotonic clock. */
static inline double pdi_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The §18 table's columns as Postgres DDL (after CREATE TABLE name). */
#define PDI_BENCH_TABLE_PG_DDL                                               \
    "(id bigint NOT NULL, a integer NOT NULL, x double precision NOT NULL, " \
    "cat text NOT NULL, s text NOT NULL, ts timestamp NOT NULL, n bigint)"

/* A new Arrow builder with the §18 table's columns (id, a, x, cat, s, ts,
 * n). 0 on success; -1 with pd_last_error() set. */
int pdi_bench_table_builder(pd_arrow_builder **out);

/* Generates `rows` rows of the §18 table (id, a, x, cat, s, ts, n) as an
 * Arrow stream of batches of at most `batch` rows. 0 on success; -1 with
 * pd_last_error() set. */
int pdi_bench_table_generate(int64_t rows, int64_t batch, struct ArrowArrayStream *out);

#endif
