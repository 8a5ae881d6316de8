#!/bin/sh
# scripts/fuzz-parquet.sh SECONDS [TARGET] - fuzz the Parquet reader with
# libFuzzer (TARGET parquet_read_fuzzer, the default), or our Snappy decoder
# against libsnappy (TARGET snappy_fuzzer).
#
# Configures a separate clang-14 build (build-fuzz/), builds the
# parquet_read_fuzzer target and runs it for SECONDS seconds with the vendored
# parquet-testing files (tests/data/parquet-testing) as seed corpus. New
# interesting inputs go to build-fuzz/fuzz-corpus; crashes are written as
# build-fuzz/crash-* (add them to tests/fuzz/corpus/ together with the fix).
set -eu
SECS=${1:-60}
TARGET=${2:-parquet_read_fuzzer}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PD_FUZZ_BUILD:-$ROOT/build-fuzz}
SEEDS=$ROOT/tests/data/parquet-testing
CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -DPD_BUILD_FUZZERS=ON \
    -DPD_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS=-Wno-unknown-warning-option >/dev/null
cmake --build "$BUILD" --target "$TARGET" -j2
cd "$BUILD"
if [ "$TARGET" = snappy_fuzzer ]; then
    mkdir -p "$BUILD/snappy-corpus"
    exec ./tests/fuzz/snappy_fuzzer -max_total_time="$SECS" -max_len=70000 \
        -print_final_stats=1 "$BUILD/snappy-corpus"
fi
mkdir -p "$BUILD/fuzz-corpus"
exec ./tests/fuzz/parquet_read_fuzzer -max_total_time="$SECS" -max_len=262144 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
    "$BUILD/fuzz-corpus" "$SEEDS/data" "$SEEDS/bad_data" "$ROOT/tests/fuzz/corpus"
