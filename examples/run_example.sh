#!/bin/sh
# Runs one example end to end for ctest:
#   run_example.sh PIPEDAG_BIN SOURCE_DIR UNUSED NAME [FILES_TO_COPY...]
# The example folder is copied to a fresh directory under /tmp (so no
# pipedag.yaml of a parent directory is picked up), then the flow is run
# twice (the second run must be fully cache-valid) and results are checked
# with `pipedag query`.
set -eu
bin=$1; src=$2; name=$4; shift 4
work=$(mktemp -d /tmp/pipedag-example-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -R "$src"/. "$work"/
for f in "$@"; do cp "$f" "$work"/; done
cd "$work"
unset PIPEDAG_CONFIG || true

fail() { echo "example $name: FAILED: $*" >&2; exit 1; }

run_twice() {
    "$bin" run "$1" 2>err1.txt >out1.txt || { cat err1.txt >&2; fail "first run"; }
    cat err1.txt >&2
    grep -q " 0 failed" err1.txt || fail "first run summary"
    "$bin" run "$1" --json 2>err2.txt >out2.json || { cat err2.txt >&2; fail "second run"; }
    cat err2.txt >&2
    grep -q "^0 ran, [0-9]* cache-valid, 0 failed" err2.txt || fail "second run not fully cached"
    grep -q '"successful":true' out2.json || fail "second run JSON"
}

expect_query() {
    got=$("$bin" query "$1") || fail "query $1"
    if [ "$got" != "$2" ]; then
        printf 'query: %s\nexpected:\n%s\ngot:\n%s\n' "$1" "$2" "$got" >&2
        fail "query result"
    fi
}

case "$name" in
quickstart)
    run_twice flow.yaml
    expect_query "SELECT name, age FROM features.adults ORDER BY id" "$(printf 'name,age\nAda,36\nChen,52')"
    expect_query "SELECT people, youngest, oldest FROM features.summary" "$(printf 'people,youngest,oldest\n4,9,52')"
    "$bin" visualize flow.yaml > flow.dot || fail "visualize"
    grep -q '#e8ffc6\|#adef9b' flow.dot || fail "visualize colours"
    ;;
three_stage)
    run_twice flow.yaml
    expect_query "SELECT x, y FROM stage_1.lazy_1" "$(printf 'x,y\n1,2')"
    expect_query "SELECT a, b FROM stage_1.dfa ORDER BY a" "$(printf 'a,b\n0,9\n1,8\n2,7\n4,6')"
    expect_query "SELECT a, x5 FROM stage_3.lazy_task_4 ORDER BY a" "$(printf 'a,x5\n1,5\n2,5')"
    expect_query "SELECT x, y, a FROM stage_2.eager_task ORDER BY a" "$(printf 'x,y,a\n1,2,1\n1,2,2')"
    ;;
c_api)
    "$bin" >out.txt 2>err.txt || { cat out.txt err.txt >&2; fail "c_api program"; }
    cat out.txt
    grep -q "second run: 0 ran" out.txt || fail "second run not cached"
    ;;
*)
    fail "unknown example"
    ;;
esac
echo "example $name: OK"
