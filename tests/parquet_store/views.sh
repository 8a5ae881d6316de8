#!/bin/sh
# views.sh PIPEDAG TASKS_LIB MODE - View tasks with column selection and
# renaming, sort and limit (PIPEDAG_SEMANTICS.md §1.3), consumed by a SQL
# task and by a C task (view_tasks.c), results checked with SQL.
# MODE: parquet (ParquetTableStore, local), parquet_s3 (the same on S3: run
# under tests/fs/with-s3.sh), sqlite (the default store), duckdb, postgres
# (the test cluster of tests/pg, $PD_TEST_PG_STATE).
# Runs: fresh; fully cache-valid; twice with a changed sibling task in the
# views' stage (cache-valid views copied into the new slot, whose old
# files are deleted in between) - the results must stay the same.
set -eu
PD=$1
LIB=$2
MODE=$3
fail() { echo "views($MODE): FAILED: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/pd-views-XXXXXX)
trap "${PD_KEEP:+:} rm -rf $work" EXIT
cp "$LIB" "$work/libview_tasks.so"
cd "$work"
unset PIPEDAG_CONFIG || true

case $MODE in
parquet | parquet_s3)
    base=./parquet
    s3=""
    if [ "$MODE" = parquet_s3 ]; then
        [ -n "${PD_TEST_S3_ENDPOINT:-}" ] || fail "run under tests/fs/with-s3.sh"
        base="s3://$PD_TEST_S3_BUCKET/views/"
        s3="        s3_endpoint_url: \"$PD_TEST_S3_ENDPOINT\"
        s3_url_style: path"
    fi
    cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: views
    stage_commit_technique: READ_VIEWS
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "$base"
$s3
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
YAML
    ;;
duckdb)
    cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: views
    stage_commit_technique: READ_VIEWS
    table_store:
      class: SQLTableStore
      args:
        url: "duckdb:///db/{instance_id}.duckdb"
        create_database_if_not_exists: true
YAML
    ;;
postgres)
    [ -f "${PD_TEST_PG_STATE:-}/url" ] || fail "PD_TEST_PG_STATE does not name a running test cluster"
    pgurl=$(cat "$PD_TEST_PG_STATE/url")
    db=pd_views_$$
    PGOPTIONS="-c client_min_messages=warning" psql -q -X "$pgurl" -c "DROP DATABASE IF EXISTS $db" >/dev/null
    cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: views
    table_store:
      class: SQLTableStore
      args:
        url: "${pgurl%/*}/$db"
        create_database_if_not_exists: true
YAML
    ;;
sqlite) ;; # the built-in default store
*) fail "unknown mode $MODE" ;;
esac

flow() { # flow SIBLING_VALUE
    cat >flow.yaml <<YAML
name: views
stages:
  - name: stage_1
    tasks:
      - name: make_rows
        c: {library: ./libview_tasks.so, symbol: make_rows}
        version: "1"
        outputs: [t1, t2]
      - name: sibling
        sql: SELECT $1 AS x
      - name: v
        view:
          sources: [t1, t2]
          columns: [{key: id}, {label: name}, score]
          sort_by: [{column: score, order: desc}, id]
          limit: 4
      - name: v2
        view:
          sources: [t1]
          columns: {nm: name}
          limit: 2
  - name: stage_2
    tasks:
      - name: by_sql
        sql: SELECT key * 10 AS k10, label, score FROM {{ stage_1.v }}
      - name: read_views
        c: {library: ./libview_tasks.so, symbol: read_views}
        inputs: [stage_1.v, stage_1.v2]
        version: "1"
        outputs: [c_rows, c_rows2]
YAML
}

expect() {
    got=$("$PD" query "$1" 2>qerr) || { cat qerr >&2; fail "query $1"; }
    [ "$got" = "$2" ] || { printf 'query: %s\nexpected:\n%s\ngot:\n%s\n' "$1" "$2" "$got" >&2; fail "query"; }
}
check() { # the results, whatever run made them
    expect "SELECT k10, label, CAST(score * 10 AS INTEGER) AS s10 FROM stage_2.by_sql ORDER BY k10" \
        "$(printf 'k10,label,s10\n10,a,105\n30,,70\n40,d,70\n50,e,120')"
    # the C task saw the rows renamed, sorted (score desc, nulls last, then id), limited
    expect "SELECT pos, row FROM stage_2.c_rows ORDER BY pos" "$(printf '%s\n' 'pos,row' \
        '0,"{""key"":5,""label"":""e"",""score"":12}"' \
        '1,"{""key"":1,""label"":""a"",""score"":10.5}"' \
        '2,"{""key"":3,""label"":null,""score"":7}"' \
        '3,"{""key"":4,""label"":""d"",""score"":7}"')"
    expect "SELECT pos, row FROM stage_2.c_rows2 ORDER BY pos" "$(printf '%s\n' 'pos,row' \
        '0,"{""nm"":""a""}"' '1,"{""nm"":""b""}"')"
    # SQL reads the view itself: its columns, its limit
    expect "SELECT COUNT(*) AS n, MIN(key) AS lo, MAX(key) AS hi FROM stage_1.v" \
        "$(printf 'n,lo,hi\n4,1,5')"
    expect "SELECT nm FROM stage_1.v2 ORDER BY nm" "$(printf 'nm\na\nb')"
}

flow 1
"$PD" run flow.yaml >out 2>err || { cat err >&2; fail "first run"; }
check
"$PD" run flow.yaml >out 2>err || { cat err >&2; fail "second run"; }
grep -q "^0 ran, [0-9]* cache-valid, 0 failed" err || { cat err >&2; fail "second run not fully cache-valid"; }
check
for k in 2 3; do
    flow $k
    "$PD" run flow.yaml >out 2>err || { cat err >&2; fail "run with sibling $k"; }
    grep -q "^1 ran, " err || { cat err >&2; fail "run with sibling $k: only the sibling should run"; }
    check
done
# a View over a shaped View: refused on the Parquet store (its C path reads
# files); a view of the view on SQL stores
cat >>flow.yaml <<YAML
  - name: stage_3
    tasks:
      - name: vv
        view: [stage_1.v]
YAML
case $MODE in
parquet*)
    "$PD" run flow.yaml >out 2>err && fail "a View over a shaped View was accepted"
    grep -q "source stage_1.v is a View with columns, sort or limit" err || { cat err >&2; fail "view of a view: message"; }
    check
    ;;
*)
    "$PD" run flow.yaml >out 2>err || { cat err >&2; fail "view of a view"; }
    expect "SELECT COUNT(*) AS n, MAX(key) AS hi FROM stage_3.vv" "$(printf 'n,hi\n4,5')"
    ;;
esac
echo "views($MODE): OK"
