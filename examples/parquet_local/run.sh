#!/bin/sh
# Runs the local Parquet example end to end (also the ctest
# example/parquet_local):
#   sh run.sh PIPEDAG_BIN [libparquet_example_tasks.so]
# in a fresh directory: the flow twice (the second run fully cache-valid),
# then checks the Parquet files, the catalog's views and the tables.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
lib=${2:-$(dirname "$bin")/examples/parquet_local/libparquet_example_tasks.so}
work=$(mktemp -d /tmp/pipedag-parquet-local-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$here/flow.yaml" "$here/pipedag.yaml" "$lib" "$work"/
cd "$work"
unset PIPEDAG_CONFIG || true
fail() { echo "parquet_local: FAILED: $*" >&2; exit 1; }

"$bin" run flow.yaml 2>err1.txt || { cat err1.txt >&2; fail "first run"; }
cat err1.txt >&2
"$bin" run flow.yaml 2>err2.txt || { cat err2.txt >&2; fail "second run"; }
cat err2.txt >&2
grep -q "^0 ran, [0-9]* cache-valid, 0 failed" err2.txt || fail "second run not fully cached"

# one Parquet file per table, in the slot the first run used
for f in stage_1__odd/dfa stage_1__odd/dfb stage_1__odd/lazy_1 stage_2__odd/task_2_out \
         stage_2__odd/lazy_task_3 stage_3__odd/lazy_task_4; do
    [ -s "pipedag_parquet/pipedag_local/$f.parquet" ] || fail "missing $f.parquet"
done
[ -s pipedag_parquet/catalog/pipedag_local.duckdb ] || fail "no catalog file"

expect() {
    got=$("$bin" query "$1") || fail "query $1"
    [ "$got" = "$2" ] || { printf 'query: %s\nexpected:\n%s\ngot:\n%s\n' "$1" "$2" "$got" >&2; fail "query"; }
}
expect "SELECT a, b FROM stage_1.dfa ORDER BY a" "$(printf 'a,b\n0,9\n1,8\n2,7\n4,6')"
expect "SELECT x5, a FROM stage_2.task_2_out ORDER BY a" "$(printf 'x5,a\n5,1\n5,2')"
expect "SELECT x, y, a FROM stage_2.eager_task ORDER BY a" "$(printf 'x,y,a\n1,2,1\n1,2,2')"
expect "SELECT count(*) AS n FROM stage_3.both_joins" "$(printf 'n\n4')"
echo "parquet_local: OK"
