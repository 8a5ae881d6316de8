#!/bin/sh
# bad_input.sh PIPEDAG - bad input end to end through the CLI: a SQL task
# with a syntax error, corrupt CSV files for a load task, a missing sql_file.
# Checks the exit status, that messages name the task, the flow file:line,
# the file and the database error, that `--json` marks the failed task
# `failed` and its dependents `not_run`, and that the published stage keeps
# its previous content (a failed stage is never committed).
set -u
PD=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/pd-bad-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
store_config "$WORK" bad # PD_CRASH_STORE=duckdb: the same on a DuckDB file
SYNTAX='near "FRM": syntax error'
[ "${PD_CRASH_STORE:-}" = duckdb ] && SYNTAX='syntax error at or near "FRM"'
[ "${PD_CRASH_STORE:-}" = parquet ] && SYNTAX='syntax error at or near "FRM"'
[ "${PD_CRASH_STORE:-}" = parquet_s3_pg ] && SYNTAX='syntax error at or near "FRM"'

# flow STAGE1_K: s1 = load + two SQL tasks; s2 depends on s1
flow() {
    cat >flow.yaml <<YAML
name: bad
stages:
  - name: s1
    tasks:
      - name: src
        load: d.csv
        primary_key: id
      - name: good
        sql: SELECT id, v, $1 AS k FROM {{ src }}
      - name: other
        sql: SELECT $2 AS x
  - name: s2
    tasks:
      - name: dep
        sql: SELECT * FROM {{ s1.good }}
      - name: dep2
        sql: SELECT * FROM {{ dep }}
YAML
}

expect() { # expect FILE TEXT WHAT
    grep -qF -- "$2" "$1" || {
        cat "$1" >&2
        fail "$3: output lacks '$2'"
    }
}

published() {
    "$PD" query "SELECT s1.good.id, v, k, x FROM s1.good, s1.other ORDER BY s1.good.id" 2>&1
}

printf 'id,v\n1,a\n2,b\n' >d.csv
flow 1 5
"$PD" run flow.yaml >out 2>&1 || {
    cat out >&2
    fail "first run failed"
}
published >pub0

# 1. syntax error in s1.good while s1.other changes too
flow "2 AS y FRM" 6
"$PD" run flow.yaml >out 2>err
rc=$?
[ $rc = 1 ] || fail "syntax error: exit status $rc, expected 1"
expect err "task s1.good failed" "syntax error"
expect err "flow.yaml:8" "syntax error (task line)"
expect err "$SYNTAX" "syntax error (database message)"
expect err "1 failed" "syntax error (summary)"
published >pub1
cmp -s pub0 pub1 || fail "syntax error: the published stage s1 changed: $(cat pub1)"

"$PD" run flow.yaml --json >json 2>/dev/null
rc=$?
[ $rc = 1 ] || fail "--json: exit status $rc, expected 1"
expect json '"successful":false' "--json"
expect json '"stage":"s1","state":"failed","task":"good"' "--json (failed task)"
expect json '"stage":"s1","state":"completed","task":"other"' "--json (sibling task)"
expect json '"stage":"s2","state":"not_run","task":"dep"' "--json (dependent)"
expect json '"stage":"s2","state":"not_run","task":"dep2"' "--json (indirect dependent)"
expect json 'flow.yaml:8' "--json (error names the flow line)"
expect json 'syntax error' "--json (error has the database message)"
[ "$(grep -o '"tasks":' json | wc -l)" = 1 ] || fail "--json: not exactly one JSON object: $(cat json)"
published >pub1
cmp -s pub0 pub1 || fail "--json run: the published stage s1 changed: $(cat pub1)"

# the fixed flow runs and publishes the new version
flow 2 6
"$PD" run flow.yaml >out 2>&1 || {
    cat out >&2
    fail "the fixed flow failed"
}
[ "$(published | tr '\n' ' ')" = "id,v,k,x 1,a,2,6 2,b,2,6 " ] ||
    fail "fixed flow: unexpected tables: $(published)"

# 2. corrupt CSV files for the load task: the task fails, names the file
# (and line), and the published stage keeps the last good CSV
published >pub0
i=0
for csv in 'id,v\n1,a\n2,"b\n3,c\n|unterminated quoted field' \
    'id,v\n1,a\n2,b,extra\n|d.csv:3: expected 2 fields, found 3' \
    'id,v\n1,a\n2\n|d.csv:3: expected 2 fields, found 1' \
    '|missing header row' \
    "id,v\\n1,a\\n1,b\\n|primary key check unique failed on column 'id' of table 'src': offending value 1 (2 rows)"; do
    i=$((i + 1))
    printf "${csv%|*}" >d.csv
    msg=${csv##*|}
    # (the Parquet store creates no keys, but checks them all the same)
    "$PD" run flow.yaml --json >json 2>err
    rc=$?
    [ $rc = 1 ] || fail "corrupt CSV $i: exit status $rc, expected 1 ($(cat err))"
    expect err "task s1.src failed" "corrupt CSV $i"
    expect err "flow.yaml:5" "corrupt CSV $i (task line)"
    case $msg in primary*) ;; *) expect err "d.csv" "corrupt CSV $i (file name)" ;; esac
    [ -z "$msg" ] || expect err "$msg" "corrupt CSV $i"
    expect json '"stage":"s1","state":"failed","task":"src"' "corrupt CSV $i --json"
    expect json '"stage":"s1","state":"not_run","task":"good"' "corrupt CSV $i --json (dependent)"
    expect json '"stage":"s2","state":"not_run","task":"dep2"' "corrupt CSV $i --json (dependent)"
    published >pub1
    cmp -s pub0 pub1 || fail "corrupt CSV $i: the published stage s1 changed: $(cat pub1)"
done
printf 'id,v\n1,a\n2,b\n' >d.csv

# 3. a missing sql_file: the flow is refused before anything runs
flow 2 6
cat >>flow.yaml <<'YAML'
      - name: fromfile
        sql_file: sql/missing.sql
YAML
"$PD" run flow.yaml >out 2>err
rc=$?
[ $rc = 1 ] || fail "missing sql_file: exit status $rc, expected 1"
expect err "flow.yaml:19:19" "missing sql_file (file:line)"
expect err "sql/missing.sql" "missing sql_file (names the file)"
"$PD" run flow.yaml --json >json 2>/dev/null
[ $? = 1 ] || fail "missing sql_file --json: exit status, expected 1"
expect json '"successful":false' "missing sql_file --json"
expect json 'sql/missing.sql' "missing sql_file --json error"
published >pub1
cmp -s pub0 pub1 || fail "missing sql_file: the published stage s1 changed: $(cat pub1)"

# 4. a failing raw SQL script in s2: s1 (unchanged) stays, s2 keeps its tables
flow 2 6
"$PD" run flow.yaml >/dev/null 2>&1 || fail "run before the raw SQL case failed"
"$PD" query "SELECT COUNT(*) AS n FROM s2.dep2" >s2before 2>&1
cat >>flow.yaml <<'YAML'
      - name: script
        raw_sql: |
          CREATE TABLE {{ this_stage }}.t1 AS SELECT 1 AS a;
          CREATE TABLE {{ this_stage }}.t2 AS SELECT nosuchcol FROM {{ this_stage }}.t1;
YAML
"$PD" run flow.yaml --json >json 2>err
rc=$?
[ $rc = 1 ] || fail "raw SQL error: exit status $rc, expected 1"
expect err "task s2.script failed" "raw SQL error"
expect err "flow.yaml:18" "raw SQL error (task line)"
expect err "nosuchcol" "raw SQL error (database message)"
expect json '"stage":"s2","state":"failed","task":"script"' "raw SQL error --json"
"$PD" query "SELECT COUNT(*) AS n FROM s2.t1" >out 2>&1 && fail "raw SQL error: table t1 of the failed stage was published"
"$PD" query "SELECT COUNT(*) AS n FROM s2.dep2" >s2after 2>&1
cmp -s s2before s2after || fail "raw SQL error: published s2 changed"
echo ok
