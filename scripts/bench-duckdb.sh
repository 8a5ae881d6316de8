#!/bin/sh
# bench-duckdb.sh - the DuckDB benchmarks, in one run (Release build):
#  1. the §18 table (PARQUET.md) loaded from Arrow into a DuckDB file and
#     read back as Arrow, against DuckDB's own CREATE TABLE AS FROM
#     read_parquet() and COPY TO parquet of the same rows;
#  2. the 1,000-task flow (bench/tasks) fully cached re-run on SQLite,
#     Postgres (a private cluster on loopback) and DuckDB: us/task of each.
#   scripts/bench-duckdb.sh [ROWS]      (default 10000000; BUILD_DIR=build-bench;
#   CACHED_RUNS=3: the cached re-run is repeated and the fastest kept)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-10000000}
build=${BUILD_DIR:-$root/build-bench}
lib=${PIPEDAG_DUCKDB_LIBRARY:-$root/.deps/npm/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so}
[ -f "$lib" ] || { echo "bench-duckdb: $lib missing (run scripts/install-deps.sh)" >&2; exit 1; }
export PIPEDAG_DUCKDB_LIBRARY=$lib
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_duckdb_arrow bench_tasks -j2 >/dev/null

echo "== Arrow <-> DuckDB vs DuckDB's Parquet path"
"$build/bench/duckdb/bench_duckdb_arrow" "$rows" /tmp 3

echo
echo "== 1,000 tasks, fully cached re-run, per backend"
state=/tmp/pipedag-pg-bench-$$
work=$(mktemp -d /tmp/pdbench-tasks.XXXXXX)
trap 'sh "$root/scripts/pg-test-cluster.sh" stop "$state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
url=$(sh "$root/scripts/pg-test-cluster.sh" start "$state" | sed -n 's/^PD_TEST_PG_URL=//p')
pgbase=${url%/*}
cat >"$work/pg.yaml" <<YAML
instances:
  default:
    instance_id: bench
    table_store:
      class: SQLTableStore
      args:
        url: "$pgbase/pd_bench_tasks_$$"
        create_database_if_not_exists: true
    lock_manager:
      class: DatabaseLockManager
YAML
cat >"$work/duck.yaml" <<YAML
instances:
  default:
    instance_id: bench
    table_store:
      class: SQLTableStore
      args:
        url: "duckdb:///$work/duck/{instance_id}.duckdb"
        create_database_if_not_exists: true
    lock_manager:
      class: FileLockManager
      args:
        base_path: $work/locks
YAML
out=$work/out
export PD_BENCH_CACHED_RUNS=${CACHED_RUNS:-3}
for store in sqlite postgres duckdb; do
    case $store in
    sqlite) cfg= ;;
    postgres) cfg=$work/pg.yaml ;;
    duckdb) cfg=$work/duck.yaml ;;
    esac
    if [ -n "$cfg" ]; then
        PD_BENCH_CONFIG=$cfg "$build/bench/tasks/bench_tasks" 10 100 1 >"$out.$store"
    else
        "$build/bench/tasks/bench_tasks" 10 100 1 >"$out.$store"
    fi
    sed 's/^/  /' "$out.$store"
done
echo
printf '%-10s %12s %12s\n' store "cached s" "us/task"
for store in sqlite postgres duckdb; do
    line=$(grep "fully cached re-run best of" "$out.$store" || grep "fully cached re-run" "$out.$store")
    s=$(echo "$line" | awk '{print $(NF-3)}')
    us=$(echo "$line" | awk '{print $(NF-1)}')
    printf '%-10s %12s %12s\n' "$store" "$s" "$us"
done
duck=$(grep "fully cached re-run best of" "$out.duckdb" | awk '{print $(NF-3)}')
awk -v d="$duck" 'BEGIN { printf "DuckDB cached 1,000-task re-run %.3f s (goal < 0.3 s: %s)\n", d, (d < 0.3 ? "met" : "NOT met") }'
