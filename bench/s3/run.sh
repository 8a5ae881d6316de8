#!/usr/bin/env bash
# bench/s3/run.sh - build (Release) and run the S3 benchmark against a private
# loopback s3rver behind the SigV4 checker: src/fs vs awscli vs curl, 256 MiB
# up and down, and 2-of-7 Parquet columns read from S3.
#   PD_BENCH_MIB=256 PD_BENCH_REPS=2 PD_BENCH_PARQUET_MB=1000 bench/s3/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${PD_BENCH_BUILD_DIR:-$PWD/build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
nice -n 10 cmake --build "$BUILD" -j2 --target pd_fscp bench_s3_parquet >/dev/null
exec bash tests/fs/with-s3.sh bash bench/s3/bench.sh "$BUILD"
