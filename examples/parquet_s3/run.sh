#!/bin/sh
# The seed's Parquet-on-S3 example end to end, on loopback only:
#   sh run.sh PIPEDAG_BIN [libparquet_example_tasks.so]
# starts s3rver (npm) behind the strict SigV4 checker, creates the bucket
# pipedag-test-bucket, starts a private Postgres (the metadata store and the
# DatabaseLockManager of the seed's pipedag.yaml, user sa), runs the flow
# twice (the second run fully cache-valid), checks the Parquet objects, the
# catalog /tmp/pipedag/parquet_duckdb/pipedag_default.duckdb and the tables,
# and stops both servers. PD_EXAMPLE_KEEP=1 leaves them running and prints
# how to reach them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
lib=${2:-$(dirname "$bin")/examples/parquet_local/libparquet_example_tasks.so}
npm=${PD_NPM_DIR:-$root/.deps/npm/node_modules}
work=$(mktemp -d /tmp/pipedag-parquet-s3-XXXXXX)
pgstate=$work-pg   # outside $work: the postgres user must reach it
fail() { echo "parquet_s3: FAILED: $*" >&2; exit 1; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port_free() {
    python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$1))" 2>/dev/null
}
pids=""
cleanup() {
    [ "${PD_EXAMPLE_KEEP:-0}" = 1 ] && return 0
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sh "$root/scripts/pg-test-cluster.sh" stop "$pgstate" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- S3: s3rver behind the SigV4 checker, on the seed's port 9000 if free
s3port=9000
port_free $s3port || s3port=$(free_port)
upport=$(free_port)
mkdir -p "$work/s3"
node "$npm/s3rver/bin/s3rver.js" -d "$work/s3" -a 127.0.0.1 -p "$upport" --silent \
    --configure-bucket pipedag-test-bucket >"$work/s3rver.log" 2>&1 &
pids="$pids $!"
node "$root/tests/tools/s3sigv4proxy.mjs" --listen "127.0.0.1:$s3port" \
    --upstream "127.0.0.1:$upport" --key S3RVER:S3RVER >"$work/proxy.log" 2>&1 &
pids="$pids $!"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE || true

# --- Postgres: a private cluster; the seed's user sa / Pydiverse23
sh "$root/scripts/pg-test-cluster.sh" start "$pgstate" >/dev/null
pgurl=$(cat "$pgstate/url")
pgport=$(printf '%s' "$pgurl" | sed -E 's#.*:([0-9]+)/.*#\1#')
PGPASSWORD=$(printf '%s' "$pgurl" | sed -E 's#^postgresql://[^:]*:([^@]*)@.*#\1#') \
    psql -q -h 127.0.0.1 -p "$pgport" -U pdtest -d postgres \
    -c "CREATE ROLE sa LOGIN CREATEDB PASSWORD 'Pydiverse23'" >/dev/null

for i in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$s3port/" && break
    sleep 0.1
done

# --- the seed's pipedag.yaml with only the ports changed
sed -e "s#http://localhost:9000#http://localhost:$s3port#" \
    -e "s#@127.0.0.1:6543/#@127.0.0.1:$pgport/#" "$here/pipedag.yaml" >"$work/pipedag.yaml"
cp "$here/flow.yaml" "$lib" "$work"/
cd "$work"
unset PIPEDAG_CONFIG || true
rm -f /tmp/pipedag/parquet_duckdb/pipedag_default.duckdb /tmp/pipedag/parquet_duckdb/pipedag_default.duckdb.wal

"$bin" run flow.yaml 2>err1.txt || { cat err1.txt >&2; fail "first run"; }
cat err1.txt >&2
"$bin" run flow.yaml 2>err2.txt || { cat err2.txt >&2; fail "second run"; }
cat err2.txt >&2
grep -q "^0 ran, [0-9]* cache-valid, 0 failed" err2.txt || fail "second run not fully cached"

# one Parquet object per table under table_store/pipedag_default/<stage>__odd/
for f in stage_1__odd/dfa stage_1__odd/dfb stage_1__odd/lazy_1 stage_2__odd/task_2_out \
         stage_2__odd/eager_task stage_3__odd/lazy_task_4; do
    curl -s -f -o /dev/null -I ${PD_EXAMPLE_DEBUG:+-v} --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "http://127.0.0.1:$s3port/pipedag-test-bucket/table_store/pipedag_default/$f.parquet" ||
        fail "missing s3://pipedag-test-bucket/table_store/pipedag_default/$f.parquet"
done
[ -s /tmp/pipedag/parquet_duckdb/pipedag_default.duckdb ] || fail "no catalog file"

expect() {
    got=$("$bin" query "$1") || fail "query $1"
    [ "$got" = "$2" ] || { printf 'query: %s\nexpected:\n%s\ngot:\n%s\n' "$1" "$2" "$got" >&2; fail "query"; }
}
expect "SELECT a, b FROM stage_1.dfa ORDER BY a" "$(printf 'a,b\n0,9\n1,8\n2,7\n4,6')"
expect "SELECT x5, a FROM stage_2.task_2_out ORDER BY a" "$(printf 'x5,a\n5,1\n5,2')"
expect "SELECT x, y, a FROM stage_2.eager_task ORDER BY a" "$(printf 'x,y,a\n1,2,1\n1,2,2')"
echo "parquet_s3: OK"
if [ "${PD_EXAMPLE_KEEP:-0}" = 1 ]; then
    echo "S3: http://127.0.0.1:$s3port (key S3RVER / S3RVER); Postgres: 127.0.0.1:$pgport (sa / Pydiverse23)"
    echo "working directory: $work (stop the servers with: kill$pids)"
fi
