#!/bin/sh
# s3_bad_input.sh PIPEDAG TASKS_LIB - bad input on a ParquetTableStore on S3
# with metadata and locks in Postgres. Run under tests/fs/with-s3.sh with
# PD_TEST_FAULTS (the shared fault proxy injects transient faults) and
# PD_TEST_PG_STATE (the test cluster). Each case must fail with a clear
# error naming the bucket or object (never a secret), and leave what was
# published readable and unchanged:
#   transient 503s / dropped bodies (retried: the run succeeds), a missing
#   bucket, wrong credentials, a corrupt Parquet object read by a C task and
#   by a SQL task, an S3 server that answers only 503.
set -eu
PD=$1
LIB=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
fail() { echo "s3_bad_input: FAILED: $*" >&2; exit 1; }
[ -f "${PD_TEST_PG_STATE:-}/url" ] || fail "PD_TEST_PG_STATE does not name a running test cluster"
[ -n "${PD_TEST_S3_ENDPOINT:-}" ] || fail "run under tests/fs/with-s3.sh"
PGURL=$(cat "$PD_TEST_PG_STATE/url")
work=$(mktemp -d /tmp/pd-pq-s3bad-XXXXXX)
fpid=
cleanup() {
    [ -z "$fpid" ] || { kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null; }
    rm -rf "$work"
}
trap cleanup EXIT
cp "$LIB" "$work/libview_tasks.so"
cd "$work"
unset PIPEDAG_CONFIG || true
db=pd_pq_s3bad_$$
PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PGURL" -c "DROP DATABASE IF EXISTS $db" >/dev/null

config() { # config ENDPOINT BASE
    cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: s3bad
    stage_commit_technique: READ_VIEWS
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "$2"
        s3_endpoint_url: "$1"
        s3_url_style: path
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
      metadata_table_store:
        class: SQLTableStore
        args:
          url: "${PGURL%/*}/$db"
          create_database_if_not_exists: true
    lock_manager:
      class: DatabaseLockManager
YAML
}
BASE="s3://$PD_TEST_S3_BUCKET/s3bad/"
flow() { # flow C_VERSION SQL_K
    cat >flow.yaml <<YAML
name: s3bad
stages:
  - name: stage_1
    tasks:
      - name: make_rows
        c: {library: ./libview_tasks.so, symbol: make_rows}
        version: "1"
        outputs: [t1, t2]
      - name: v
        view:
          sources: [t1, t2]
          columns: [{key: id}, {label: name}, score]
          sort_by: [{column: score, order: desc}, id]
          limit: 4
      - name: v2
        view: {sources: [t1], columns: {nm: name}, limit: 2}
  - name: stage_2
    tasks:
      - name: by_sql
        sql: SELECT key * $2 AS k, label FROM {{ stage_1.v }}
      - name: read_views
        c: {library: ./libview_tasks.so, symbol: read_views}
        inputs: [stage_1.v, stage_1.v2]
        version: "$1"
        outputs: [c_rows, c_rows2]
YAML
}
expect() { # expect FILE TEXT WHAT
    grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$3: output lacks '$2'"; }
}
published() {
    "$PD" query "SELECT k, label FROM stage_2.by_sql ORDER BY k" 2>&1
    "$PD" query "SELECT pos, row FROM stage_2.c_rows ORDER BY pos" 2>&1
}
unchanged() { # unchanged WHAT (and show the error the case gave)
    echo "s3_bad_input: $1: $(grep -m1 -i 'error\|failed' err)" >&2
    published >pub1
    cmp -s pub0 pub1 || { diff pub0 pub1 >&2; fail "$1: the published stages changed"; }
}

# 0. through the fault proxy (transient 503s, dropped bodies): retried, the
# run succeeds and publishes
config "$PD_TEST_S3_FAULTY" "$BASE"
flow 1 10
"$PD" run flow.yaml >out 2>err || { cat err >&2; fail "run through transient faults"; }
config "$PD_TEST_S3_ENDPOINT" "$BASE"
published >pub0
grep -q '^50,e$' pub0 || { cat pub0 >&2; fail "first run: unexpected tables"; }

# 1. a missing bucket
config "$PD_TEST_S3_ENDPOINT" "s3://no-such-bucket-pd/x/"
flow 2 20
"$PD" run flow.yaml >out 2>err && fail "missing bucket: the run succeeded"
expect err "no-such-bucket-pd" "missing bucket (names it)"
expect err "does not exist" "missing bucket"
config "$PD_TEST_S3_ENDPOINT" "$BASE"
unchanged "missing bucket"

# 2. wrong credentials: refused, the secret never shown
AWS_SECRET_ACCESS_KEY=wrongSECRETvalue42 "$PD" run flow.yaml >out 2>err && fail "bad credentials: the run succeeded"
expect err "$PD_TEST_S3_BUCKET" "bad credentials (names the bucket)"
expect err "403" "bad credentials (status)"
grep -q wrongSECRETvalue42 err out && fail "bad credentials: the secret appears in the output"
unchanged "bad credentials"

# 3. a corrupt Parquet object (t1 of the committed slot, same size): a C
# task and a SQL task reading it fail naming the object; stage_2 stays
obj=$(find "$PD_TEST_S3_DIR" -path '*s3bad/s3bad/stage_1__odd/t1.parquet*' -name '*._S3rver_object' | head -1)
[ -f "$obj" ] || fail "no t1 object under $PD_TEST_S3_DIR"
cp "$obj" t1.good
python3 - "$obj" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[-4:] = b'XXXX'
open(p, 'wb').write(bytes(b))
PY
flow 2 10 # the C task runs again
"$PD" run flow.yaml >out 2>err && fail "corrupt object (C task): the run succeeded"
expect err "stage_1__odd/t1.parquet" "corrupt object, C task (names the object)"
expect err "task stage_2.read_views failed" "corrupt object, C task"
unchanged "corrupt object (C task)"
flow 1 30 # the SQL task runs again
"$PD" run flow.yaml >out 2>err && fail "corrupt object (SQL task): the run succeeded"
expect err "stage_1__odd/t1.parquet" "corrupt object, SQL task (names the object)"
expect err "task stage_2.by_sql failed" "corrupt object, SQL task"
cp t1.good "$obj"
unchanged "corrupt object (SQL task)"

# 4. an S3 server answering only 503 (a private fault proxy: every request)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
node "$ROOT/tests/tools/faultproxy.mjs" --listen "127.0.0.1:$port" \
    --upstream "${PD_TEST_S3_ENDPOINT#http://}" --every 1 >fault.log 2>&1 &
fpid=$!
python3 - "$port" <<'PY' || fail "the fault proxy did not start: $(cat fault.log)"
import socket, sys, time
for _ in range(1200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
config "http://127.0.0.1:$port" "$BASE"
flow 2 40
"$PD" run flow.yaml >out 2>err && fail "503 server: the run succeeded"
expect err "$PD_TEST_S3_BUCKET" "503 server (names the bucket)"
expect err "503" "503 server (status)"
config "$PD_TEST_S3_ENDPOINT" "$BASE"
unchanged "503 server"

# the fixed configuration runs and publishes the new version
"$PD" run flow.yaml >out 2>err || { cat err >&2; fail "run after the bad cases"; }
"$PD" query "SELECT k FROM stage_2.by_sql ORDER BY k" >got 2>&1
[ "$(tr '\n' ' ' <got)" = "k 40 120 160 200 " ] || { cat got >&2; fail "final tables"; }
echo "s3_bad_input: OK"
