#!/bin/bash
# The 1,000-task benchmark on SQLite, Postgres and DuckDB in one run:
#   bash bench/tasks/run.sh BUILD_DIR [REPS=3] [BASE_BUILD_DIR] [ROUNDS=2]
# Starts a private Postgres 15 cluster on loopback (scripts/pg-test-cluster.sh;
# Postgres is left out when there is none), then one bench_tasks process runs
# the three stores, the fully cached re-runs interleaved (best of REPS), and
# prints µs/task and the ratios. With BASE_BUILD_DIR (a build of another
# commit, e.g. main, with its bench_tasks built), the same benchmark runs
# with that build too, each store in a process of its own (older builds
# take one store, PD_BENCH_CONFIG), the two builds alternating store by
# store ROUNDS times (best kept, so that the load of a shared machine hits
# both alike), and a before/after table follows.
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
stores=(sqlite)
[ -n "$PGURL" ] && stores+=(postgres)
stores+=(duckdb)
# before/after: each store in a process of its own, the two builds
# alternating store by store, ROUNDS times
for round in $(seq "$ROUNDS"); do
    [ -n "$BASE" ] || break
    OLD=$BASE/bench/tasks/bench_tasks
    [ -x "$OLD" ] || { echo "missing $OLD"; exit 1; }
    echo "== before/after, round $round (one process per store and build)"
    for st in "${stores[@]}"; do
        case $st in
        sqlite) cfg= spec=sqlite ;;
        postgres)
            pg_yaml "$W/pg_b$round.yaml" "pd_bench_b$round"
            pg_yaml "$W/pg_a$round.yaml" "pd_bench_a$round"
            cfg=$W/pg_b$round.yaml spec=$W/pg_a$round.yaml ;;
        duckdb) cfg=$W/duck.yaml spec=duckdb ;;
        esac
        mkdir -p "$W/b$round"
        out=$(cd "$W/b$round" && env PD_BENCH_CACHED_RUNS="$REPS" ${cfg:+PD_BENCH_CONFIG="$cfg"} "$OLD" 10 100 1)
        t=$(echo "$out" | sed -n 's/^fully cached re-run best of [0-9]*: \([0-9.]*\) s.*/\1/p')
        before[$st]=$(min "${before[$st]:-}" "$t")
        out=$(cd "$W" && "$BT" --store "$st=$spec" --reps "$REPS" --no-change 10 100 1)
        a=$(echo "$out" | sed -n 's/^RESULT store=[a-z]* .* cached=\([0-9.]*\) .*/\1/p')
        after[$st]=$(min "${after[$st]:-}" "$a")
        echo "$st: before $t s, after $a s"
    done
done
# the three stores in one process, interleaved
[ -n "$PGURL" ] && pg_yaml "$W/pg_all.yaml" pd_bench_all
args=(--store sqlite=sqlite)
[ -n "$PGURL" ] && args+=(--store "postgres=$W/pg_all.yaml")
args+=(--store duckdb=duckdb)
echo
echo "== $BT, the stores in one process"
"$BT" "${args[@]}" --reps "$REPS" 10 100 1
if [ -n "$BASE" ]; then
    echo
    echo "fully cached re-run of 1,000 tasks, best of $REPS x $ROUNDS rounds, before ($BASE) / after ($B):"
    printf "%-10s %12s %12s %12s\n" store "before us/t" "after us/t" "after/before"
    for st in "${stores[@]}"; do
        b=${before[$st]:-} a=${after[$st]:-}
        [ -n "$b" ] && [ -n "$a" ] || continue
        awk -v s="$st" -v b="$b" -v a="$a" 'BEGIN { printf "%-10s %12.1f %12.1f %12.2f\n", s, b * 1e6 / 1000, a * 1e6 / 1000, a / b }'
    done
fi
