#!/usr/bin/env bash
# with-s3.sh CMD ARGS... - run CMD against a private S3 server on loopback:
# s3rver (npm) on a free port, the strict SigV4 checker (tests/tools/
# s3sigv4proxy.mjs) in front of it on another, and optionally the fault proxy
# (tests/tools/faultproxy.mjs) in front of the checker. Both are stopped after.
#
# Exported to CMD:
#   PD_TEST_S3_ENDPOINT   http://127.0.0.1:<checker port>  (signatures checked)
#   PD_TEST_S3_FAULTY     http://127.0.0.1:<fault port>    (faults, then checker)
#   PD_TEST_S3_HOSTNAME   http://s3.localhost:<checker port> (virtual-host style)
#   PD_TEST_S3_BUCKET     an existing bucket; PD_TEST_S3_DIR the server's files
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY  S3RVER / S3RVER
# Fault proxy settings: PD_TEST_FAULTS="--every 5 --drop-every 3 --slow-every 7"
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
S3RVER=${PD_S3RVER:-$ROOT/.deps/npm/node_modules/s3rver/bin/s3rver.js}
if [ ! -f "$S3RVER" ]; then
    echo "with-s3: s3rver not installed ($S3RVER); run scripts/install-deps.sh" >&2
    exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pd-s3.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# A peer may take long to start on a loaded machine: wait while its process
# lives (up to PD_TEST_S3_START_SECONDS, default 120). If it exits (e.g. its
# port was taken between free_port and its bind), start it again on another
# port, up to 3 times.
wait_port() { # PORT PID: 0 once PORT accepts connections, 1 if PID exited
    local n=0 max=$((${PD_TEST_S3_START_SECONDS:-120} * 20))
    while [ $n -lt $max ]; do
        kill -0 "$2" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}
start_peer() { # NAME LOG CMD... (@PORT@ in CMD is replaced); sets PORT
    local name=$1 log=$2 try pid
    shift 2
    for try in 1 2 3; do
        PORT=$(free_port)
        "${@//@PORT@/$PORT}" >"$log" 2>&1 &
        pid=$!
        pids+=("$pid")
        if wait_port "$PORT" "$pid"; then return 0; fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "with-s3: $name did not start on port $PORT (attempt $try):" >&2
        cat "$log" >&2
    done
    return 1
}

BUCKET=pd-test-bucket
mkdir -p "$WORK/data"
start_peer s3rver "$WORK/s3rver.log" node "$S3RVER" --address 127.0.0.1 --port @PORT@ \
    --directory "$WORK/data" --silent --service-endpoint localhost --configure-bucket "$BUCKET"
P_S3=$PORT
start_peer "SigV4 checker" "$WORK/checker.log" node "$ROOT/tests/tools/s3sigv4proxy.mjs" \
    --listen "127.0.0.1:@PORT@" --upstream "127.0.0.1:$P_S3" ${PD_TEST_S3_LOG:+--log}
P_SIG=$PORT
# shellcheck disable=SC2086
start_peer "fault proxy" "$WORK/fault.log" node "$ROOT/tests/tools/faultproxy.mjs" \
    --listen "127.0.0.1:@PORT@" --upstream "127.0.0.1:$P_SIG" ${PD_TEST_FAULTS:-}
P_FAULT=$PORT

export PD_TEST_S3_ENDPOINT="http://127.0.0.1:$P_SIG"
export PD_TEST_S3_FAULTY="http://127.0.0.1:$P_FAULT"
export PD_TEST_S3_HOSTNAME="http://s3.localhost:$P_SIG"
export PD_TEST_S3_BUCKET=$BUCKET
export PD_TEST_S3_DIR=$WORK/data
export PD_TEST_S3_WORK=$WORK
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 || true
export AWS_REGION=us-east-1
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
status=0
"$@" || status=$?
if [ "$status" -ne 0 ] && [ -n "${PD_TEST_S3_VERBOSE:-1}" ]; then
    echo "--- checker log (tail)" >&2
    tail -20 "$WORK/checker.log" >&2 || true
    echo "--- fault proxy log (tail)" >&2
    tail -20 "$WORK/fault.log" >&2 || true
fi
exit $status
