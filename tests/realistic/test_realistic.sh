#!/bin/sh
# tests/realistic/test_realistic.sh PIPEDAG_BIN TASK_LIB EXAMPLE_DIR STORE...
# The realistic example (examples/realistic) end to end on each STORE
# (sqlite | pg | duckdb | parquet; pg uses the private test cluster of
# tests/pg, URL from $PD_TEST_PG_STATE/url, in a database of its own that is
# dropped at the end; duckdb a file under the work directory; parquet the
# ParquetTableStore on a local parquet_base_path with a DuckDB catalog; both
# need PIPEDAG_DUCKDB_LIBRARY):
#   1. first run: every task completed; second run: every task cache-valid
#   2. a changed input file (c.csv.gz) re-runs exactly the tasks it feeds
#   3. a bumped version of eager_features re-runs it and its dependents only
#   4. a corrupted row (age = -1 in a.csv.gz) fails the check on aa with the
#      value named, and the published aa and evaluation stay as they were
#   5. a duplicated pk fails aa's primary key naming the value (on the Parquet
#      store, which creates no keys, by the key check's query), aa unchanged;
#      the original file back, only a's load and trim run again
# and, with more than one store, the evaluation tables are equal.
set -u
. "$(dirname "$0")/../support/checks.sh"
bin=$1
lib=$2
example=$3
shift 3
root=$(mktemp -d /tmp/pipedag-realistic-XXXXXX)
dbs=""
cleanup() {
    for d in $dbs; do
        psql -q "$pgbase" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf "$root"
}
trap cleanup EXIT
unset PIPEDAG_CONFIG || true

# "stage.task state" per line, sorted, from `pipedag run --json`
states() { sed 's/},{/}\n{/g' "$1" | sed -n 's/.*"stage":"\([^"]*\)","state":"\([^"]*\)","task":"\([^"]*\)".*/\1.\3 \2/p' | LC_ALL=C sort; }
# the tasks of a run in state $2
in_state() { states "$1.json" | awk -v s="$2" '$2 == s {print $1}' | tr '\n' ' ' | sed 's/ $//'; }
run() { # OUT.json: run the flow, JSON result in OUT.json, stderr in OUT.err
    "$bin" run flow.yaml --json >"$1.json" 2>"$1.err"
}
# evaluation, rows sorted bytewise, numbers to 12 significant digits
evaluation() {
    "$bin" query "SELECT pk, target, prediction, abs_error FROM s6_evaluation.evaluation" 2>/dev/null |
        tail -n +2 | LC_ALL=C sort | awk -F, -v OFS=, '{ $3 = sprintf("%.12g", $3); $4 = sprintf("%.12g", $4); print }'
}
all_tasks="s1_raw_input.a s1_raw_input.b s1_raw_input.c s2_clean_input.a s2_clean_input.b s2_clean_input.c s3_transformed_data.aa s3_transformed_data.bb s3_transformed_data.cc s3_transformed_data.completeness_check s4_features.eager_features s4_features.features s4_features.lazy_features s5_model.model_training s5_model.prepare_split s5_model.test_set s5_model.training_set s6_evaluation.evaluation"
cone_c="s1_raw_input.c s2_clean_input.c s3_transformed_data.cc s3_transformed_data.completeness_check s4_features.eager_features s4_features.features s5_model.model_training s5_model.prepare_split s5_model.test_set s5_model.training_set s6_evaluation.evaluation"
cone_eager="s4_features.eager_features s4_features.features s5_model.model_training s5_model.prepare_split s5_model.test_set s5_model.training_set s6_evaluation.evaluation"

scenario() { # STORE
    store=$1
    work=$root/$store
    mkdir -p "$work/data"
    cp "$example/flow.yaml" "$lib" "$work/"
    cp "$example"/data/*.csv.gz "$work/data/"
    cd "$work" || return
    if [ "$store" = pg ]; then
        state=${PD_TEST_PG_STATE:-/tmp/pipedag-pg-test}
        pgbase=$(cat "$state/url") || { bad "pg: no test cluster URL in $state/url"; return; }
        db="pd_realistic_$$"
        dbs="$dbs $db"
        cat >pipedag.yaml <<YAML
name: realistic
instances:
  default:
    instance_id: realistic
    table_store:
      class: SQLTableStore
      args:
        url: "${pgbase%/*}/$db"
        create_database_if_not_exists: true
    lock_manager:
      class: DatabaseLockManager
YAML
    elif [ "$store" = duckdb ]; then
        cat >pipedag.yaml <<YAML
name: realistic
instances:
  default:
    instance_id: realistic
    table_store:
      class: SQLTableStore
      args:
        url: "duckdb:///db/{instance_id}.duckdb"
        create_database_if_not_exists: true
    lock_manager:
      class: FileLockManager
      args:
        base_path: locks
YAML
    elif [ "$store" = parquet ]; then
        cat >pipedag.yaml <<YAML
name: realistic
instances:
  default:
    instance_id: realistic
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "files/"
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
    lock_manager:
      class: FileLockManager
      args:
        base_path: locks
YAML
    fi

    run r1
    got=$(in_state r1 completed)
    [ "$got" = "$all_tasks" ] && pass "$store: first run, all completed" ||
        { bad "$store: first run: completed '$got'"; cat r1.err >&2; }
    run r2
    got=$(in_state r2 cache_valid)
    [ "$got" = "$all_tasks" ] && pass "$store: second run, all cache-valid" ||
        { bad "$store: second run: cache-valid '$got'"; cat r2.err >&2; }
    evaluation >"$root/eval_$store.txt"
    [ "$(wc -l <"$root/eval_$store.txt")" -eq 100 ] && pass "$store: evaluation has 100 rows" ||
        bad "$store: evaluation rows: $(wc -l <"$root/eval_$store.txt")"

    # a touched file (same content): the cache key follows content, not time
    touch data/b.csv.gz
    run r2b
    got=$(in_state r2b cache_valid)
    [ "$got" = "$all_tasks" ] && pass "$store: touched b.csv.gz (same content) re-runs nothing" ||
        bad "$store: touched b.csv.gz: cache-valid '$got'"

    # a changed file: one value of c's second row
    cp data/c.csv.gz c.orig
    gzip -dc c.orig | awk -F, -v OFS=, 'NR == 2 { $2 = $2 + 1 } { print }' | gzip -n >data/c.csv.gz
    run r3
    got=$(in_state r3 completed)
    [ "$got" = "$cone_c" ] && pass "$store: changed c.csv.gz re-runs exactly its cone" ||
        { bad "$store: changed c.csv.gz: completed '$got', want '$cone_c'"; cat r3.err >&2; }
    run r4
    got=$(in_state r4 cache_valid)
    [ "$got" = "$all_tasks" ] && pass "$store: then all cache-valid" || bad "$store: after c: '$got'"

    # a bumped version of the eager C task
    sed 's/version: "2.3.5"/version: "2.3.6"/' flow.yaml >flow.new && mv flow.new flow.yaml
    run r5
    got=$(in_state r5 completed)
    [ "$got" = "$cone_eager" ] && pass "$store: bumped eager_features version re-runs it and its dependents" ||
        { bad "$store: version bump: completed '$got', want '$cone_eager'"; cat r5.err >&2; }
    # a changed check is part of aa's key, and explain names it
    sed 's/age: {not_null: true, min: 0}/age: {not_null: true, min: -100}/' flow.yaml >flow_chk.yaml
    "$bin" explain flow_chk.yaml s3_transformed_data.aa >explain.txt 2>&1
    grep -q "checks: CHANGED" explain.txt && pass "$store: explain names a changed check" ||
        { bad "$store: explain of a changed check"; cat explain.txt >&2; }

    # a corrupted row: age = -1 in a's second row
    before_aa=$("$bin" query "SELECT COUNT(*) AS n, MIN(age) AS m FROM s3_transformed_data.aa" 2>/dev/null)
    before_eval=$(evaluation)
    cp data/a.csv.gz a.orig
    gzip -dc a.orig | awk -F, -v OFS=, 'NR == 2 { $2 = -1 } { print }' | gzip -n >data/a.csv.gz
    bad_pk=$(gzip -dc data/a.csv.gz | awk -F, 'NR == 2 { print $1 }')
    if run r6; then
        bad "$store: corrupted row: the run succeeded"
    else
        if grep -q "check min 0 failed on column 'age' of table 'aa': offending value -1" r6.err; then
            pass "$store: corrupted row fails the check naming column and value"
        else
            bad "$store: corrupted row: message"; cat r6.err >&2
        fi
        got=$(states r6.json | awk '$1 == "s3_transformed_data.aa" { print $2 }')
        [ "$got" = failed ] && pass "$store: aa failed" || bad "$store: aa state '$got'"
    fi
    after_aa=$("$bin" query "SELECT COUNT(*) AS n, MIN(age) AS m FROM s3_transformed_data.aa" 2>/dev/null)
    [ "$after_aa" = "$before_aa" ] && pass "$store: published aa unchanged" ||
        bad "$store: published aa changed: '$before_aa' -> '$after_aa'"
    [ "$(evaluation)" = "$before_eval" ] && pass "$store: published evaluation unchanged" ||
        bad "$store: published evaluation changed"
    [ -n "$bad_pk" ] || bad "$store: no corrupted pk"

    # a duplicated key: a's third row gets the pk of its second row; the
    # primary key of aa is checked (created where the store has keys,
    # queried on the Parquet store, which has none) and names the value
    dup_pk=$(gzip -dc a.orig | awk -F, 'NR == 2 { print $1 }')
    gzip -dc a.orig | awk -F, -v OFS=, -v k="$dup_pk" 'NR == 3 { $1 = k } { print }' | gzip -n >data/a.csv.gz
    if run r7; then
        bad "$store: duplicated key: the run succeeded"
    else
        if grep -q "primary key check unique failed on column 'pk' of table 'aa': offending value $dup_pk (2 rows)" r7.err; then
            pass "$store: duplicated key fails naming the value"
        else
            bad "$store: duplicated key: message"; cat r7.err >&2
        fi
    fi
    [ "$("$bin" query "SELECT COUNT(*) AS n, MIN(age) AS m FROM s3_transformed_data.aa" 2>/dev/null)" = "$before_aa" ] &&
        pass "$store: published aa unchanged after the key failure" ||
        bad "$store: published aa changed after the key failure"
    # the original file back: stages 1 and 2 hold the last (bad) a, so its
    # load and trim run again; from aa on, the inputs equal those of the
    # published tables, so everything else is cache-valid
    cp a.orig data/a.csv.gz
    run r8
    got=$(in_state r8 completed)
    [ "$got" = "s1_raw_input.a s2_clean_input.a" ] &&
        [ "$(in_state r8 cache_valid | wc -w)" -eq $(($(echo $all_tasks | wc -w) - 2)) ] &&
        pass "$store: original a.csv.gz back: a reloaded, the rest cache-valid" ||
        { bad "$store: a.csv.gz restored: completed '$got'"; cat r8.err >&2; }
    [ "$(evaluation)" = "$before_eval" ] && pass "$store: evaluation as before" ||
        bad "$store: evaluation changed after restoring a.csv.gz"
    cd "$root" || return
}

for s in "$@"; do
    scenario "$s"
done
if [ $# -gt 1 ]; then
    first=$1
    shift
    for s in "$@"; do
        if cmp -s "$root/eval_$first.txt" "$root/eval_$s.txt"; then
            pass "evaluation equal on $first and $s"
        else
            bad "evaluation differs between $first and $s"
            diff "$root/eval_$first.txt" "$root/eval_$s.txt" | head -10 >&2
        fi
    done
fi
[ "$failures" -eq 0 ] && echo "realistic: all passed" || echo "realistic: $failures failure(s)" >&2
exit "$failures"
