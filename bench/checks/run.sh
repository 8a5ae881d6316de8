#!/bin/sh
# bench/checks/run.sh - the column-check overhead (bench_checks) on SQLite,
# DuckDB, the Parquet store and a private Postgres 15 cluster, in one run:
#   sh bench/checks/run.sh [ROWS] [REPEAT] [STORES]
#       defaults 10000000, 2, sqlite,duckdb,parquet,pg; BUILD_DIR=build-bench
# The cluster is started and stopped by scripts/pg-test-cluster.sh; the
# server's CPU time is counted through its postmaster's pid (autovacuum off).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-10000000}
repeat=${2:-2}
stores=${3:-sqlite,duckdb,parquet,pg}
build=${BUILD_DIR:-$root/build-bench}
state=/tmp/pipedag-pg-bench-checks-$$
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_checks -j2 >/dev/null
trap 'sh "$root/scripts/pg-test-cluster.sh" stop "$state" >/dev/null 2>&1' EXIT INT TERM
PD_BENCH_PG_URL=$(sh "$root/scripts/pg-test-cluster.sh" start "$state" | sed -n 's/^PD_TEST_PG_URL=//p')
PD_BENCH_PG_PID=$(head -1 "$state/data/postmaster.pid")
# no autovacuum: its ANALYZE of the last run's 10M rows would land, at
# random, in the server CPU time of the next run
psql -q "$PD_BENCH_PG_URL" -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
PIPEDAG_DUCKDB_LIBRARY=$root/.deps/npm/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so
export PD_BENCH_PG_URL PD_BENCH_PG_PID PIPEDAG_DUCKDB_LIBRARY
work=$(mktemp -d /tmp/pdbench-checks.XXXXXX)
"$build/bench/checks/bench_checks" "$rows" "$work" "$repeat" "$stores"
rm -rf "$work"
