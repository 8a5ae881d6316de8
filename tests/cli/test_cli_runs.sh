#!/bin/sh
# tests/cli/test_cli_runs.sh PIPEDAG_BIN - `pipedag` behaviours of issue 8
# items 5, 8, 9 and 10: run --no-fail-fast over `fail_fast: true`, show on a
# fresh instance writes no metadata and takes --stage/--task/--cache,
# visualize colours the last run (failed tasks red), empty stages in flow
# files, two statements in one `sql:` body, raw SQL creating objects outside
# {{ this_stage }}, and reserved / colliding names refused with file:line.
set -u
. "$(dirname "$0")/../support/checks.sh"
bin=$1
work=$(mktemp -d /tmp/pipedag-cli-runs-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
unset PIPEDAG_CONFIG || true

cat > pipedag.yaml <<'YAML'
instances:
  __any__:
    fail_fast: true
    table_store:
      class: SQLTableStore
      args:
        url: "sqlite:///store/{instance_id}"
YAML

# ---- show on a fresh instance: nothing written, every task would run
cat > flow.yaml <<'YAML'
name: shows
stages:
  - name: s1
    tasks:
      - name: a
        sql: SELECT 1 AS x
  - name: s2
    tasks:
      - name: b
        sql: SELECT x + 1 AS y FROM {{ s1.a }}
YAML
expect_exit 0 "show on a fresh instance" "$bin" show flow.yaml
contains out.txt "s1.a: would run" "fresh show: a would run"
contains out.txt "s2.b: would run" "fresh show: b would run"
if [ -e store/pipeline/pipedag_metadata.sqlite ]; then
    bad "show created the metadata file"
else pass "show wrote no metadata"; fi
expect_exit 0 "explain on a fresh instance" "$bin" explain flow.yaml s1.a
contains out.txt "no committed run" "fresh explain"
expect_exit 0 "visualize on a fresh instance" "$bin" visualize flow.yaml
if [ -e store/pipeline/pipedag_metadata.sqlite ]; then
    bad "show/explain/visualize created the metadata file"
else pass "explain and visualize wrote no metadata"; fi

expect_exit 0 "run" "$bin" run flow.yaml
expect_exit 0 "show --stage" "$bin" show flow.yaml --stage s2
contains out.txt "s2.b: cache valid" "show --stage lists the stage"
lacks out.txt "s1.a" "show --stage lists only the stage"
expect_exit 0 "show --task" "$bin" show flow.yaml --task s1.a
contains out.txt "s1.a: would run" "show --task: forced like run --task"
lacks out.txt "s2.b" "show --task lists only the task"
expect_exit 0 "show --cache" "$bin" show flow.yaml --cache force_cache_invalid
contains out.txt "s2.b: would run" "show --cache force_cache_invalid"
expect_exit 2 "show --cache bad" "$bin" show flow.yaml --cache sometimes

# ---- --no-fail-fast overrides fail_fast: true
cat > ff.yaml <<'YAML'
name: ff
stages:
  - name: s
    tasks:
      - name: broken
        sql: SELECT nope FROM nowhere
      - name: fine
        sql: SELECT 1 AS x
YAML
expect_exit 1 "fail_fast from config" "$bin" run ff.yaml --json
contains out.txt '"state":"not_run","task":"fine"' "fail_fast: true stops the run"
expect_exit 1 "run --no-fail-fast" "$bin" run ff.yaml --json --no-fail-fast
contains out.txt '"state":"completed","task":"fine"' "--no-fail-fast runs the independent task"

# ---- visualize shows the last run: the failed task red, not its last
# committed (green) state
cat > vis.yaml <<'YAML'
name: vis
stages:
  - name: s
    tasks:
      - name: a
        sql: SELECT 1 AS x
      - name: b
        sql: SELECT x FROM {{ a }}
YAML
expect_exit 0 "vis run ok" "$bin" run vis.yaml
expect_exit 0 "visualize after success" "$bin" visualize vis.yaml
contains out.txt '"s.b" \[label="b", fillcolor="#adef9b"\]' "visualize: completed green"
sed 's/SELECT x FROM/SELECT no_such_column FROM/' vis.yaml > vis2.yaml
expect_exit 1 "vis run failing" "$bin" run vis2.yaml
expect_exit 0 "visualize after failure" "$bin" visualize vis2.yaml
contains out.txt '"s.b" \[label="b", fillcolor="#ff453a"\]' "visualize: failed task red"
contains out.txt '"s.a" \[label="a", fillcolor="#e8ffc6"\]' "visualize: cache-valid task of the last run"

# ---- empty stages in flow files run (item 9)
cat > empty.yaml <<'YAML'
name: empty
stages:
  - name: full
    tasks:
      - name: a
        sql: SELECT 1 AS x
  - name: none_listed
    tasks: []
  - name: no_key
  - name: null_tasks
    tasks:
YAML
expect_exit 0 "flow with empty stages" "$bin" run empty.yaml
contains err.txt "^1 ran, 0 cache-valid, 0 failed" "empty stages: the other stage runs"

# ---- reserved and colliding names refused at load, with file:line (item 5)
for sn in pipedag_metadata main temp Main st__tmp st__odd st__even pg_x; do
    printf 'name: r\nstages:\n  - name: ok\n    tasks:\n      - name: a\n        sql: SELECT 1 AS x\n  - name: %s\n    tasks:\n      - name: b\n        sql: SELECT 1 AS x\n' "$sn" > reserved.yaml
    expect_exit 1 "stage '$sn' refused" "$bin" run reserved.yaml
    contains err.txt "reserved.yaml:7:5: stage '$sn': invalid stage name" "stage '$sn': file:line"
done
printf 'name: r\nstages:\n  - name: k\303\266ln\n    tasks:\n      - name: a\n        sql: SELECT 1 AS x\n' > umlaut.yaml
expect_exit 1 "non-ASCII stage name refused" "$bin" run umlaut.yaml
contains err.txt "umlaut.yaml:3:5: .*allowed are ASCII letters, digits and _, starting with a letter or _" "exact allowed characters"
printf 'name: r\nstages:\n  - name: s\n    tasks:\n      - name: b\303\244r\n        sql: SELECT 1 AS x\n' > umlaut2.yaml
expect_exit 1 "non-ASCII task name refused" "$bin" run umlaut2.yaml
contains err.txt "umlaut2.yaml:5:15: .*allowed are ASCII letters, digits and _, starting with a letter or _" "exact allowed characters (task)"
if [ -e store/pipeline/pipedag_metadata__tmp.sqlite ] || [ -e store/pipeline/main.sqlite ]; then
    bad "a refused stage was created"
else pass "refused stages create nothing"; fi

# ---- statements that would be dropped (item 8)
cat > stmts.yaml <<'YAML'
name: stmts
stages:
  - name: s
    tasks:
      - name: one
        sql: "SELECT 'a;b' AS x, 1 AS \"y;\" /* ; */ -- ;\n;  ;"
YAML
expect_exit 0 "one statement with ';' in literal, name, comments and trailing" "$bin" run stmts.yaml
cat > two.yaml <<'YAML'
name: two
stages:
  - name: s
    tasks:
      - name: two
        sql: |
          SELECT 1 AS x;
          SELECT 2 AS y
YAML
expect_exit 1 "two statements in sql: refused" "$bin" run two.yaml
contains err.txt "task s.two (two.yaml:5): the sql: body holds more than one statement (the second begins 'SELECT 2 AS y')" "two statements: error names the task"
cat > outside.yaml <<'YAML'
name: outside
stages:
  - name: s
    tasks:
      - name: script
        raw_sql: |
          CREATE TABLE {{ this_stage }}.inside AS SELECT 1 AS x;
          CREATE TEMP TABLE helper AS SELECT 1 AS x;
          CREATE TABLE IF NOT EXISTS outside_tbl AS SELECT 2 AS y;
YAML
expect_exit 0 "raw SQL creating a table outside the stage runs" "$bin" run outside.yaml
contains err.txt "warning: task s.script (outside.yaml:5): raw SQL creates outside_tbl outside {{ this_stage }}" "raw SQL outside the stage: warned, named"
lacks err.txt "creates helper" "temporary tables are not warned about"
lacks err.txt "creates {{" "objects in the stage are not warned about"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
