#!/bin/sh
# s3_requests.sh PIPEDAG TASKS_LIB FLOW - run under tests/fs/with-s3.sh with
# PD_TEST_S3_LOG=1 (the SigV4 checker logs every request). The example flow
# on a ParquetTableStore in the test bucket runs once; the second,
# 100 % cache-valid run must make no S3 write request (PUT, POST, DELETE)
# at all; then one stage changes: only its slot is written.
set -eu
PD=$1
LIB=$2
FLOW=$3
fail() { echo "s3_requests: FAILED: $*" >&2; exit 1; }
log=$PD_TEST_S3_WORK/checker.log
[ -f "$log" ] || fail "no checker log (run under with-s3.sh with PD_TEST_S3_LOG=1)"
work=$(mktemp -d /tmp/pd-pq-s3req-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$FLOW" "$work/flow.yaml"
cp "$LIB" "$work/"
cd "$work"
cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: s3req
    table_store:
      class: "pydiverse.pipedag.backend.table.ParquetTableStore"
      args:
        parquet_base_path: "s3://$PD_TEST_S3_BUCKET/s3req/"
        s3_endpoint_url: "$PD_TEST_S3_ENDPOINT"
        s3_url_style: path
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
    stage_commit_technique: READ_VIEWS
YAML
writes() { # writes FROM_LINE: write requests logged after line FROM_LINE
    tail -n +"$(($1 + 1))" "$log" | grep -E 'sigv4proxy: (PUT|POST|DELETE) ' || true
}
reads() {
    tail -n +"$(($1 + 1))" "$log" | grep -cE 'sigv4proxy: (GET|HEAD) ' || true
}

"$PD" run flow.yaml >/dev/null 2>err.txt || { cat err.txt >&2; fail "first run"; }
n0=$(wc -l <"$log")
[ -n "$(writes 0)" ] || fail "the first run wrote nothing?"

"$PD" run flow.yaml 2>err.txt >/dev/null || { cat err.txt >&2; fail "second run"; }
grep -q "^0 ran, [0-9]* cache-valid, 0 failed" err.txt || { cat err.txt >&2; fail "second run not fully cache-valid"; }
w=$(writes "$n0")
[ -z "$w" ] || { echo "$w" >&2; fail "the 100 % cache-valid run made S3 write requests"; }
echo "s3_requests: cache-valid run: 0 write requests, $(reads "$n0") read requests"

# change one SQL task of stage_3: only stage_3's new slot is written
n1=$(wc -l <"$log")
sed -i 's/SELECT \* FROM {{ stage_2.task_2_out }}/SELECT *, 1 AS changed FROM {{ stage_2.task_2_out }}/' flow.yaml
"$PD" run flow.yaml 2>err.txt >/dev/null || { cat err.txt >&2; fail "third run"; }
w=$(writes "$n1")
echo "$w" | grep -v '/s3req/s3req/stage_3__even/' | grep . && fail "writes outside stage_3's new slot"
echo "$w" | grep -q 'stage_3__even/lazy_task_4.parquet' || fail "the changed table was not written"
echo "s3_requests: one changed stage: $(echo "$w" | wc -l) write requests, all in its new slot"
echo "s3_requests: OK"
