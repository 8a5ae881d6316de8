#!/usr/bin/env bash
# Quickstart from a fresh machine: installs what is missing, builds
# pipedag-c, and runs the quickstart flow on the embedded SQLite store
# (no configuration needed; tables land in examples/quickstart/.pipedag/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PD_SKIP_NPM=1 bash scripts/install-deps.sh
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" --target pipedag_cli
cd examples/quickstart
"$ROOT/build/pipedag" run flow.yaml
"$ROOT/build/pipedag" query 'SELECT * FROM features.adults ORDER BY id'
