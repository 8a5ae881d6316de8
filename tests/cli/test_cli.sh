#!/bin/sh
# tests/cli/test_cli.sh PIPEDAG_BIN - end-to-end tests of the `pipedag`
# command: usage errors (exit 2), --version/help, config masking and
# positioned config errors, run (summary line, --json shape, exit status on a
# failing task, cache-valid second run), query CSV quoting, show/explain,
# visualize DOT/SVG, and the confirmation guard of destructive commands.
set -u
. "$(dirname "$0")/../support/checks.sh"
bin=$1
seed=$2
work=$(mktemp -d /tmp/pipedag-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
unset PIPEDAG_CONFIG || true

# ---- usage and version
expect_exit 0 "--version" "$bin" --version
contains out.txt "^pipedag [0-9]" "--version text"
expect_exit 0 "help" "$bin" help
contains out.txt "delete-schemas" "help lists commands"
expect_exit 2 "no arguments" "$bin"
expect_exit 2 "unknown command" "$bin" frobnicate
expect_exit 2 "run without flow" "$bin" run
expect_exit 2 "unknown option" "$bin" run flow.yaml --frob
expect_exit 2 "bad --jobs" "$bin" run flow.yaml --jobs zero
expect_exit 2 "bad --cache" "$bin" run flow.yaml --cache sometimes
expect_exit 2 "visualize bad format" "$bin" visualize flow.yaml --format png
expect_exit 2 "show with two flows" "$bin" show a.yaml b.yaml
contains err.txt "show: expected exactly one flow file" "show usage text"
expect_exit 2 "explain without task" "$bin" explain flow.yaml
contains err.txt "explain: expected a flow file and a task" "explain usage text"
expect_exit 2 "config with argument" "$bin" config extra
contains err.txt "config: unexpected argument 'extra'" "config usage text"
expect_exit 2 "clear-metadata with argument" "$bin" clear-metadata extra
contains err.txt "clear-metadata: unexpected argument 'extra'" "clear-metadata usage text"
expect_exit 2 "query without SQL" "$bin" query
contains err.txt "query: expected one SQL statement" "query usage text"

# ---- config
mkdir cfgdir
cat > cfgdir/pipedag.yaml <<'YAML'
name: clitest
instances:
  __any__:
    instance_id: cli_{$PD_CLI_TEST_ENV}
    table_store:
      class: pydiverse.pipedag.backend.table.SQLTableStore
      args:
        url: "postgresql://alice:TopSecret99@db.example:5432/{instance_id}"
  other:
    fail_fast: true
YAML
PD_CLI_TEST_ENV=x expect_exit 0 "config (masked)" "$bin" config --config cfgdir/pipedag.yaml
contains out.txt "alice:\*\*\*@db.example" "config masks password"
lacks out.txt "TopSecret99" "config never prints the password"
contains out.txt "instance_id: cli_x" "config expands env vars"
expect_exit 1 "config missing env var" "$bin" config --config cfgdir/pipedag.yaml
contains err.txt "cfgdir/pipedag.yaml:4:18: environment variable PD_CLI_TEST_ENV is not set" "config error has file:line:column"
printf 'instances:\n  x:\n    fail_fast: sometimes\n' > bad.yaml
expect_exit 1 "config bad value" "$bin" config --config bad.yaml
contains err.txt "bad.yaml:3:16:" "config bad value position"

# ---- a flow on the default SQLite store
printf 'id,name,score\n1,ann,3.5\n2,"bob, jr",4\n3,cy,\n' > people.csv
cat > flow.yaml <<'YAML'
name: clitest
stages:
  - name: raw
    tasks:
      - name: people
        load: people.csv
        primary_key: id
  - name: derived
    tasks:
      - name: good
        sql: SELECT id, name FROM {{ raw.people }} WHERE score >= 4
      - name: counted
        sql: SELECT COUNT(*) AS n FROM {{ raw.people }}
YAML
expect_exit 0 "run" "$bin" run flow.yaml
contains err.txt "^3 ran, 0 cache-valid, 0 failed in [0-9]*\.[0-9][0-9]s$" "run summary line"
expect_exit 0 "run --json" "$bin" run flow.yaml --json
contains err.txt "^0 ran, 3 cache-valid, 0 failed" "second run cache-valid"
if node -e '
const t = require("fs").readFileSync(0, "utf8");
const lines = t.trim().split("\n");
if (lines.length !== 1) throw new Error("not one line");
const o = JSON.parse(lines[0]);
for (const k of ["flow", "instance", "successful", "seconds", "tasks"])
  if (!(k in o)) throw new Error("missing " + k);
if (o.successful !== true || o.tasks.length !== 3) throw new Error("content");
for (const x of o.tasks) for (const k of ["stage", "task", "state"])
  if (!(k in x)) throw new Error("task missing " + k);
' < out.txt; then pass "run --json shape"; else bad "run --json shape"; cat out.txt >&2; fi

expect_exit 0 "run --cache force_cache_invalid --jobs 2" "$bin" run flow.yaml --cache force_cache_invalid --jobs 2
contains err.txt "^3 ran, 0 cache-valid, 0 failed" "forced run executes everything"
expect_exit 0 "run --stage" "$bin" run flow.yaml --stage derived
contains err.txt "^0 ran, 2 cache-valid, 0 failed" "stage subset runs only that stage"
expect_exit 0 "run --task" "$bin" run flow.yaml --task derived.counted --json
contains out.txt '"task":"counted"' "task subset in JSON"
lacks out.txt '"task":"good"' "task subset excludes other tasks"

expect_exit 0 "query" "$bin" query "SELECT id, name FROM derived.good ORDER BY id"
printf 'id,name\n2,"bob, jr"\n' > want.txt
if cmp -s out.txt want.txt; then pass "query CSV"; else bad "query CSV"; cat out.txt >&2; fi
expect_exit 0 "query quoting" "$bin" query "SELECT 1 AS a, 'say \"hi\"' AS b, NULL AS c"
printf 'a,b,c\n1,"say ""hi""",\n' > want.txt
if cmp -s out.txt want.txt; then pass "query CSV quoting/NULL"; else bad "query CSV quoting/NULL"; cat out.txt >&2; fi
expect_exit 1 "query error" "$bin" query "SELEC nonsense"

expect_exit 0 "show" "$bin" show flow.yaml
contains out.txt "good" "show names tasks"
expect_exit 0 "explain" "$bin" explain flow.yaml derived.good
expect_exit 1 "explain unknown task" "$bin" explain flow.yaml nosuch

expect_exit 0 "visualize dot" "$bin" visualize flow.yaml
contains out.txt "^digraph" "DOT header"
contains out.txt "cluster_0" "DOT stage clusters"
contains out.txt '"raw.people" -> "derived.good"' "DOT edges"
contains out.txt "#e8ffc6\|#adef9b" "DOT colours by last state"
expect_exit 0 "visualize -o" "$bin" visualize flow.yaml -o graph.dot
contains graph.dot "digraph" "visualize -o writes the file"
if command -v dot >/dev/null 2>&1; then
    expect_exit 0 "visualize svg" "$bin" visualize flow.yaml --format svg -o graph.svg
    contains graph.svg "<svg" "SVG output"
fi

# ---- a failing task: exit 1, summary counts it, message names it
cat > failing.yaml <<'YAML'
name: failing
stages:
  - name: s
    tasks:
      - name: ok
        sql: SELECT 1 AS x
      - name: broken
        sql: SELECT * FROM {{ ok }} WHERE no_such_column = 1
YAML
expect_exit 1 "failing run" "$bin" run failing.yaml
contains err.txt "1 failed in" "failing run summary"
contains err.txt "s.broken failed" "failing run names the task"

# ---- flow file errors carry file:line:column
printf 'name: x\nstages:\n  - name: s\n    tasks:\n      - name: a\n        sqll: SELECT 1\n' > badflow.yaml
expect_exit 1 "bad flow" "$bin" run badflow.yaml
contains err.txt "badflow.yaml:6:9: unknown key 'sqll'" "bad flow position"

# ---- the seed config (Parquet on S3 + Postgres metadata) loads as written;
# running it fails cleanly here (no S3/Postgres), never printing the password
expect_exit 0 "seed config" "$bin" config --config "$seed"
contains out.txt "ParquetTableStore" "seed config store class"
lacks out.txt "Pydiverse23" "seed config masks the password"
expect_exit 1 "seed run fails cleanly" "$bin" run flow.yaml --config "$seed"
lacks err.txt "Pydiverse23" "seed run error has no password"
contains err.txt "^0 ran, 0 cache-valid, 0 failed in" "summary line even when the run cannot start"
expect_exit 1 "seed run --json" "$bin" run flow.yaml --config "$seed" --json
if node -e '
const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
if (o.successful !== false || typeof o.error !== "string" || o.tasks.length !== 0) throw 1;
if (o.error.includes("Pydiverse23")) throw 2;
' < out.txt; then pass "--json object when the run cannot start"; else bad "--json on start failure"; cat out.txt >&2; fi

# ---- PIPEDAG_CONFIG and --instance
PIPEDAG_CONFIG="$work/cfgdir" PD_CLI_TEST_ENV=y expect_exit 0 "PIPEDAG_CONFIG dir" "$bin" config --instance other
contains out.txt "instance: other" "--instance selects the instance"
contains out.txt "fail_fast: true" "instance merged over __any__"
PIPEDAG_CONFIG="$work/cfgdir" PD_CLI_TEST_ENV=y expect_exit 1 "unknown instance" "$bin" config --instance nope
contains err.txt "instance 'nope' not found" "unknown instance message"

# ---- destructive commands need --yes without a terminal
expect_exit 1 "delete-schemas without --yes" "$bin" delete-schemas </dev/null
contains err.txt "refusing without --yes" "delete-schemas guard"
expect_exit 0 "clear-metadata --yes" "$bin" clear-metadata --yes
expect_exit 0 "delete-schemas --yes" "$bin" delete-schemas --yes </dev/null

if [ "$failures" -ne 0 ]; then
    echo "$failures CLI check(s) failed" >&2
    exit 1
fi
echo "all CLI checks passed"
