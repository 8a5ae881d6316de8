#!/bin/sh
# scripts/fuzz-parquet.sh SECONDS - fuzz the Parquet reader with libFuzzer.
#
# Configures a separate clang-14 build (build-fuzz/), builds the
# parquet_read_fuzzer target and runs it for SECONDS seconds with the shared
# parquet-testing files as seed corpus. New interesting inputs go to
# build-fuzz/fuzz-corpus; crashes are written as build-fuzz/crash-* (add them
# to tests/fuzz/corpus/ together with the fix).
set -eu
SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PD_FUZZ_BUILD:-$ROOT/build-fuzz}
SHARED=$ROOT/../shared/parquet-testing
CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -DPD_BUILD_FUZZERS=ON \
    -DPD_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS=-Wno-unknown-warning-option >/dev/null
cmake --build "$BUILD" --target parquet_read_fuzzer -j2
mkdir -p "$BUILD/fuzz-corpus"
cd "$BUILD"
exec ./tests/fuzz/parquet_read_fuzzer -max_total_time="$SECS" -max_len=262144 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
    "$BUILD/fuzz-corpus" "$SHARED/data" "$SHARED/bad_data" "$ROOT/tests/fuzz/corpus"
