#!/bin/sh
# bench-pg.sh - load benchmark on a private Postgres 15 cluster: the §18
# table (PARQUET.md) through our connector vs psql \copy (CSV and binary).
#   scripts/bench-pg.sh [ROWS]      (default 10000000; BUILD_DIR=build-bench)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-10000000}
build=${BUILD_DIR:-$root/build-bench}
state=/tmp/pipedag-pg-bench-$$
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_pg_load -j2 >/dev/null
trap 'sh "$root/scripts/pg-test-cluster.sh" stop "$state"' EXIT INT TERM
url=$(sh "$root/scripts/pg-test-cluster.sh" start "$state" | sed -n 's/^PD_TEST_PG_URL=//p')
work=$(mktemp -d /tmp/pdbench.XXXXXX)
chmod 777 "$work"
"$build/bench/pg/bench_pg_load" "$url" "$rows" "$work"
rm -rf "$work"
