#!/bin/sh
# concurrent.sh PIPEDAG GATE_LIB - two `pipedag run` processes of the same
# instance at once. Run 1 is held inside stage s1 by the gate task
# (gate.c) until the test releases it; run 2 starts meanwhile.
# FileLockManager: run 2 must not enter s1 while run 1 is inside it (its gate
# begins after run 1's gate ended), both succeed, and the final tables are
# consistently run 2's. NoLockManager: run 2 enters s1 while run 1 is held
# (the overlap the lock prevents); only that and termination are asserted.
# Nothing here depends on timing for passing: the only sleep gives a broken
# lock the chance to show. PD_CRASH_STORE=sqlite_odbc: the SQLite store
# through the ODBC backend (libsqliteodbc). PD_CRASH_STORE=odbc_pg: Postgres
# through the ODBC backend with the DatabaseLockManager instead of the
# FileLockManager (run under tests/odbc/with-odbc.sh); the NoLockManager case
# is left out there. PD_CRASH_STORE=duckdb: the same on a DuckDB file
# store, where run 2 waits for the file run 1 holds (lock_wait_seconds)
# before it can reach the stage lock; the NoLockManager case is left out
# there (the file itself keeps the runs apart).
set -u
PD=$1
LIB=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/pd-conc-XXXXXX)
P1=
P2=
cleanup() {
    for p in $P1 $P2; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

flow() { # flow FILE VERSION
    cat >"$1" <<YAML
name: conc
stages:
  - name: s1
    tasks:
      - name: gate
        c: {library: "$LIB", symbol: pd_crash_gate}
      - name: after
        sql: SELECT tag, '$2' AS v FROM {{ gate }}
  - name: s2
    tasks:
      - name: down
        sql: SELECT tag, v FROM {{ s1.after }}
YAML
}

wait_file() { # wait_file PATH SECONDS PID: 0 when it appeared
    _n=0
    while [ ! -e "$1" ]; do
        [ $_n -ge $(($2 * 20)) ] && return 1
        kill -0 "$3" 2>/dev/null || { [ -e "$1" ]; return; }
        sleep 0.05
        _n=$((_n + 1))
    done
    return 0
}

# scenario DIR: start run 1 (held in s1) and run 2; sets P1 P2
start_both() {
    cd "$1" || exit 1
    [ -e pipedag.yaml ] || store_config "$1" conc
    flow flow1.yaml 1
    flow flow2.yaml 2
    export PD_GATE_DIR="$1"
    PD_GATE_TAG=p1 PD_GATE_HOLD=1 "$PD" run flow1.yaml >run1.out 2>&1 &
    P1=$!
    wait_file "$1/p1.begin" 120 $P1 || fail "$1: run 1 never reached its gate: $(cat run1.out)"
    PD_GATE_TAG=p2 "$PD" run flow2.yaml >run2.out 2>&1 &
    P2=$!
}

# 1. FileLockManager (the default configuration; odbc_pg: DatabaseLockManager)
LM=FileLockManager
case "${PD_CRASH_STORE:-}" in odbc_pg | parquet_s3_pg) LM=DatabaseLockManager ;; esac
L=$WORK/filelock
mkdir -p "$L"
start_both "$L"
sleep 1
[ -e "$L/p2.begin" ] && fail "$LM: run 2 entered stage s1 while run 1 holds it"
kill -0 $P2 2>/dev/null || fail "$LM: run 2 ended while run 1 holds s1: $(cat "$L/run2.out")"
[ -e "$L/p1.end" ] && fail "run 1 left its gate before it was released"
touch "$L/p1.go"
wait $P1
rc1=$?
wait $P2
rc2=$?
P1=
P2=
[ $rc1 = 0 ] || fail "$LM: run 1 failed ($rc1): $(cat "$L/run1.out")"
[ $rc2 = 0 ] || fail "$LM: run 2 failed ($rc2): $(cat "$L/run2.out")"
[ -e "$L/p2.begin" ] || fail "$LM: run 2 did not run its gate"
e1=$(cat "$L/p1.end")
b2=$(cat "$L/p2.begin")
[ "$b2" -ge "$e1" ] || fail "$LM: runs overlapped in s1 (run 2 began $b2 < run 1 ended $e1)"
got=$("$PD" query "SELECT a.tag, a.v, d.tag AS dtag, d.v AS dv FROM s1.after a, s2.down d" | tr '\n' ' ')
[ "$got" = "tag,v,dtag,dv p2,2,p2,2 " ] || fail "$LM: final tables not run 2's: $got"
note "$LM: run 2 entered s1 $(((b2 - e1) / 1000000)) ms after run 1 left it"

# 1b. FileLockManager, both runs started at once (no hold), 3 rounds: both
# succeed, their gates never overlap, each stage holds one run's tables
r=0
while [ $r -lt 3 ]; do
    r=$((r + 1))
    R=$WORK/both$r
    mkdir -p "$R"
    cd "$R" || exit 1
    store_config "$R" conc
    flow flow1.yaml 1
    flow flow2.yaml 2
    PD_GATE_DIR=$R PD_GATE_TAG=p1 "$PD" run flow1.yaml >run1.out 2>&1 &
    P1=$!
    PD_GATE_DIR=$R PD_GATE_TAG=p2 "$PD" run flow2.yaml >run2.out 2>&1 &
    P2=$!
    wait $P1
    rc1=$?
    wait $P2
    rc2=$?
    P1=
    P2=
    [ $rc1 = 0 ] || fail "simultaneous round $r: run 1 failed ($rc1): $(cat run1.out)"
    [ $rc2 = 0 ] || fail "simultaneous round $r: run 2 failed ($rc2): $(cat run2.out)"
    b1=$(cat p1.begin) e1=$(cat p1.end) b2=$(cat p2.begin) e2=$(cat p2.end)
    [ "$b2" -ge "$e1" ] || [ "$b1" -ge "$e2" ] ||
        fail "simultaneous round $r: the gates overlapped ($b1-$e1, $b2-$e2)"
    got=$("$PD" query "SELECT a.tag, a.v, d.tag AS dtag, d.v AS dv FROM s1.after a, s2.down d" | tr '\n' ' ')
    case "$got" in
    "tag,v,dtag,dv p1,1,p1,1 " | "tag,v,dtag,dv p2,2,p2,2 " | "tag,v,dtag,dv p1,1,p2,2 " | "tag,v,dtag,dv p2,2,p1,1 ") ;;
    *) fail "simultaneous round $r: inconsistent tables: $got" ;;
    esac
done
note "$LM: 3 rounds of simultaneous runs ok"

case "${PD_CRASH_STORE:-}" in duckdb | parquet | parquet_s3_pg | odbc_pg)
    echo ok
    exit 0
    ;;
esac
URL="sqlite:///.pipedag/{instance_id}"
[ "${PD_CRASH_STORE:-}" = sqlite_odbc ] && URL="sqlite+odbc:///.pipedag/{instance_id}?driver=$PD_TEST_SQLITEODBC"

# 2. NoLockManager: run 2 enters s1 while run 1 is held there
N=$WORK/nolock
mkdir -p "$N"
cat >"$N/pipedag.yaml" <<YAML
instances:
  default:
    instance_id: conc
    table_store:
      class: SQLTableStore
      args:
        url: "$URL"
    lock_manager:
      class: NoLockManager
YAML
start_both "$N"
wait_file "$N/p2.begin" 60 $P2 || {
    touch "$N/p1.go"
    fail "NoLockManager: run 2 never entered s1 while run 1 was held: $(cat "$N/run2.out")"
}
[ -e "$N/p1.end" ] && fail "run 1 left its gate before it was released"
note "NoLockManager: overlap detected (run 2 in s1 while run 1 is held there)"
touch "$N/p1.go"
wait $P1
rc1=$?
wait $P2
rc2=$?
P1=
P2=
note "NoLockManager: run 1 exit $rc1, run 2 exit $rc2 (not asserted): $(grep -h "failed" "$N/run1.out" "$N/run2.out" | head -3)"
echo ok
