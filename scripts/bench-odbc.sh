#!/bin/sh
# bench-odbc.sh - the ODBC connector through odbc-postgresql (psqlODBC) on a
# private Postgres 15 cluster: parameter-array load vs row-at-a-time INSERTs,
# block-cursor fetch vs a SQLFetch row loop, both also vs our libpq backend.
#   scripts/bench-odbc.sh [ROWS] [PEER_ROWS]   (defaults 2000000, 200000; BUILD_DIR=build-bench)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-2000000}
peer=${2:-200000}
build=${BUILD_DIR:-$root/build-bench}
driver=${PD_PSQLODBC:-/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/odbc/psqlodbcw.so}
state=/tmp/pipedag-pg-bench-odbc-$$
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_odbc -j2 >/dev/null
trap 'sh "$root/scripts/pg-test-cluster.sh" stop "$state"' EXIT INT TERM
url=$(sh "$root/scripts/pg-test-cluster.sh" start "$state" | sed -n 's/^PD_TEST_PG_URL=//p')
"$build/bench/odbc/bench_odbc" "$url" "$driver" "$rows" "$peer"
