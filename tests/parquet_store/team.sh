#!/bin/sh
# team.sh PIPEDAG - two catalog files (two team members) share one
# ParquetTableStore instance: the same parquet_base_path, metadata and
# DatabaseLockManager locks in the Postgres test cluster
# ($PD_TEST_PG_STATE/url). They run the instance in turn; each sees the
# other's committed stages (synced at stage init), `pipedag sync-metadata`
# brings a catalog in line without running, and after each run the base
# schemas hold exactly their views, all pointing into one slot that
# alternates between the runs (PIPEDAG_SEMANTICS.md §8.2 scenario 21).
set -eu
PD=$1
fail() { echo "team: FAILED: $*" >&2; exit 1; }
[ -f "${PD_TEST_PG_STATE:-}/url" ] || fail "PD_TEST_PG_STATE does not name a running test cluster"
PGURL=$(cat "$PD_TEST_PG_STATE/url")
work=$(mktemp -d /tmp/pd-pq-team-XXXXXX)
trap 'rm -rf "$work"' EXIT
db=pd_pq_team_$$
PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PGURL" -c "DROP DATABASE IF EXISTS $db" >/dev/null
for u in alice bob; do
    mkdir -p "$work/$u"
    cat >"$work/$u/pipedag.yaml" <<YAML
instances:
  default:
    instance_id: team
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "$work/shared_files/"
        url: "duckdb:///catalog.duckdb"
        create_database_if_not_exists: true
      metadata_table_store:
        class: SQLTableStore
        args:
          url: "${PGURL%/*}/$db"
          create_database_if_not_exists: true
    stage_commit_technique: READ_VIEWS
    lock_manager:
      class: DatabaseLockManager
YAML
done
flow() { # flow DIR VERSION
    cat >"$1/flow.yaml" <<YAML
name: team
stages:
  - name: s1
    tasks:
      - name: a
        sql: SELECT $2 AS v, 'a' AS t
      - name: b
        sql: SELECT $2 * 10 AS v, 'b' AS t
      - name: ab
        view: [a, b]
      - name: top
        view: {sources: [a, b], columns: {vv: v}, sort_by: [{column: v, order: desc}], limit: 1}
  - name: s2
    tasks:
      - name: total
        sql: SELECT sum(v) AS s FROM {{ s1.ab }}
      - name: copy_a
        sql: SELECT * FROM {{ s1.a }}
YAML
}
q() { (cd "$work/$1" && "$PD" query "$2") | tail -n +2; }
run() { # run USER VERSION -> stderr summary in $work/USER/err
    flow "$work/$1" "$2"
    (cd "$work/$1" && "$PD" run flow.yaml 2>err >/dev/null) || { cat "$work/$1/err" >&2; fail "run of $1 (v$2)"; }
}
check() { # check USER VERSION: tables, view counts, one slot per stage
    [ "$(q "$1" "SELECT s FROM s2.total")" = "$(($2 * 11))" ] || fail "$1 sees s2.total $(q "$1" "SELECT s FROM s2.total"), expected $(($2 * 11)) (v$2)"
    [ "$(q "$1" "SELECT v FROM s2.copy_a")" = "$2" ] || fail "$1 sees s2.copy_a of another version"
    [ "$(q "$1" "SELECT count(*) FROM duckdb_views() WHERE schema_name = 's1'")" = 4 ] || fail "$1: s1 does not hold exactly 4 views"
    # the shaped View (synced as parquet_view: its comment carries the shape)
    top=$(q "$1" "SELECT (SELECT vv FROM s1.top) AS vv, (SELECT bool_and(comment LIKE 'pipedag-view-shape:%') FROM duckdb_views() WHERE view_name = 'top' AND schema_name LIKE 's1__%') AS shaped")
    [ "$top" = "$(($2 * 10)),true" ] || fail "$1 sees s1.top / its shape comment as '$top' (v$2)"
    [ "$(q "$1" "SELECT count(*) FROM duckdb_views() WHERE schema_name = 's2'")" = 2 ] || fail "$1: s2 does not hold exactly 2 views"
    n=$(q "$1" "SELECT count(DISTINCT regexp_extract(sql, 'FROM (s1__[a-z]+)', 1)) FROM duckdb_views() WHERE schema_name = 's1'")
    [ "$n" = 1 ] || fail "$1: the views of s1 point into $n slots"
    q "$1" "SELECT DISTINCT regexp_extract(sql, 'FROM (s1__[a-z]+)', 1) FROM duckdb_views() WHERE schema_name = 's1'"
}

run alice 1
s_a=$(check alice 1)
# bob has run nothing: sync-metadata alone makes alice's stages readable
(cd "$work/bob" && "$PD" sync-metadata >/dev/null 2>"$work/bob/err") || { cat "$work/bob/err" >&2; fail "sync-metadata"; }
[ "$(check bob 1)" = "$s_a" ] || fail "bob's catalog after sync-metadata shows another slot"
# bob runs the same version: fully cache-valid (shared metadata), same slot
run bob 1
grep -q "^0 ran, 6 cache-valid, 0 failed" "$work/bob/err" || { cat "$work/bob/err" >&2; fail "bob's run of v1 was not fully cache-valid"; }
[ "$(check bob 1)" = "$s_a" ] || fail "a cache-valid run moved the slot"
# they alternate new versions; each sees the other's committed stages
prev=$s_a
for v in 2 3 4; do
    if [ $((v % 2)) = 0 ]; then me=bob other=alice; else me=alice other=bob; fi
    run $me $v
    s=$(check $me $v)
    [ "$s" != "$prev" ] || fail "v$v by $me committed into the same slot $s as before"
    (cd "$work/$other" && "$PD" sync-metadata >/dev/null 2>"$work/$other/err") || { cat "$work/$other/err" >&2; fail "sync-metadata of $other"; }
    [ "$(check $other $v)" = "$s" ] || fail "$other does not see $me's v$v after sync-metadata"
    prev=$s
done
# a run after the other's commit syncs at stage init (no sync-metadata)
run alice 5
run bob 5
grep -q "^0 ran, 6 cache-valid, 0 failed" "$work/bob/err" || { cat "$work/bob/err" >&2; fail "bob's run of alice's v5 was not cache-valid"; }
check bob 5 >/dev/null
echo "team: OK"
