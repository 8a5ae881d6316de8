#!/bin/bash
# The 1,000-task benchmark on SQLite, Postgres and DuckDB in one run:
#   bash bench/tasks/run.sh BUILD_DIR [REPS=3] [BASE_BUILD_DIR] [ROUNDS=2]
# Starts a private Postgres 15 cluster on loopback (scripts/pg-test-cluster.sh;
# Postgres is left out when there is none), then one bench_tasks process runs
# the three stores, the fully cached re-runs interleaved (best of REPS), and
# prints µs/task and the ratios. With BASE_BUILD_DIR (a build of another
# commit, e.g. main, with its bench_tasks built), the same benchmark runs
# with that build first, each store in its own process as older builds
# take one store (PD_BENCH_CONFIG), and a before/after table follows; the
# two builds then run alternately ROUNDS times (best of all rounds kept), so
# that the load of a shared machine hits both alike.
set -euo pipefail
B=$(cd "$1" && pwd)
REPS=${2:-3}
BASE=${3:+$(cd "$3" && pwd)}
ROUNDS=${4:-2}
[ -n "$BASE" ] || ROUNDS=1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PIPEDAG_DUCKDB_LIBRARY=${PIPEDAG_DUCKDB_LIBRARY:-$ROOT/.deps/npm/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so}
BT=$B/bench/tasks/bench_tasks
[ -x "$BT" ] || { echo "missing $BT (cmake --build $B --target bench_tasks)"; exit 1; }
W=$(mktemp -d /tmp/pd-bench-tasks-XXXXXX)
cleanup() { sh "$ROOT/scripts/pg-test-cluster.sh" stop "$W-pg" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT

PGURL=
if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    sh "$ROOT/scripts/pg-test-cluster.sh" start "$W-pg" >/dev/null
    PGURL=$(cat "$W-pg/url")
fi
pg_yaml() { # pg_yaml FILE DBNAME: the Postgres store (file locks, as the others)
    cat >"$1" <<YAML
name: bench
instances:
  default:
    instance_id: bench
    table_store:
      class: SQLTableStore
      args:
        url: "${PGURL%/*}/$2"
        create_database_if_not_exists: true
    stage_commit_technique: SCHEMA_SWAP
    lock_manager:
      class: FileLockManager
      args:
        base_path: $W/locks_$2
YAML
}
duck_yaml() { # duck_yaml FILE: as bench_tasks' built-in duckdb store
    cat >"$1" <<YAML
name: bench
instances:
  default:
    instance_id: bench
    table_store:
      class: SQLTableStore
      args:
        url: "duckdb:///.pipedag/{instance_id}.duckdb"
        create_database_if_not_exists: true
    stage_commit_technique: READ_VIEWS
    lock_manager:
      class: FileLockManager
      args:
        base_path: .pipedag/locks
    blob_store:
      class: FileBlobStore
      args:
        base_path: .pipedag/blobs
YAML
}

declare -A before after
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
duck_yaml "$W/duck.yaml"
args=(--store sqlite=sqlite)
[ -n "$PGURL" ] && args+=(--store "postgres=$W/pg_after.yaml")
args+=(--store duckdb=duckdb)
for round in $(seq "$ROUNDS"); do
    if [ -n "$BASE" ]; then
        OLD=$BASE/bench/tasks/bench_tasks
        [ -x "$OLD" ] || { echo "missing $OLD"; exit 1; }
        echo "== round $round, before: $OLD (one process per store)"
        for st in sqlite postgres duckdb; do
            case $st in
            sqlite) cfg= ;;
            postgres) [ -n "$PGURL" ] || continue; pg_yaml "$W/pg_before.yaml" "pd_bench_before_$round"; cfg=$W/pg_before.yaml ;;
            duckdb) cfg=$W/duck.yaml ;;
            esac
            mkdir -p "$W/before_$round"
            out=$(cd "$W/before_$round" && env PD_BENCH_CACHED_RUNS="$REPS" ${cfg:+PD_BENCH_CONFIG="$cfg"} "$OLD" 10 100 1)
            echo "$out" | sed "s/^/$st: /"
            t=$(echo "$out" | sed -n 's/^fully cached re-run best of [0-9]*: \([0-9.]*\) s.*/\1/p')
            before[$st]=$(min "${before[$st]:-}" "$t")
        done
        echo
    fi
    [ -n "$PGURL" ] && pg_yaml "$W/pg_after.yaml" "pd_bench_after_$round"
    echo "== round $round: $BT"
    out=$(cd "$W" && "$BT" "${args[@]}" --reps "$REPS" 10 100 1)
    echo "$out"
    echo
    while read -r st t; do
        after[$st]=$(min "${after[$st]:-}" "$t")
    done < <(echo "$out" | sed -n 's/^RESULT store=\([a-z]*\) .* cached=\([0-9.]*\) .*/\1 \2/p')
done
if [ -n "$BASE" ]; then
    echo "fully cached re-run of 1,000 tasks, best of $REPS x $ROUNDS rounds, before ($BASE) / after ($B):"
    printf "%-10s %12s %12s %12s\n" store "before us/t" "after us/t" "after/before"
    for st in sqlite postgres duckdb; do
        b=${before[$st]:-} a=${after[$st]:-}
        [ -n "$b" ] && [ -n "$a" ] || continue
        awk -v s="$st" -v b="$b" -v a="$a" 'BEGIN { printf "%-10s %12.1f %12.1f %12.2f\n", s, b * 1e6 / 1000, a * 1e6 / 1000, a / b }'
    done
fi
