#!/bin/sh
# Build bench_parquet in Release and run it: our Parquet writer/reader vs DuckDB
# on the table of PARQUET.md section 18. Extra arguments go to the benchmark,
# e.g. scripts/bench-parquet.sh --rows 10000000
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PD_BENCH_BUILD:-$root/build-bench}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF -DPD_WERROR=OFF >/dev/null
cmake --build "$build" --target bench_parquet -j2 >/dev/null
exec "$build/bench/parquet/bench_parquet" "$@"
