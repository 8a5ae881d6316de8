#!/bin/sh
# odbc_concurrent.sh PIPEDAG GATE_LIB - two `pipedag run` processes of one
# instance at once on Postgres through the ODBC backend, with the
# DatabaseLockManager (advisory locks taken through psqlODBC). Run under
# with-odbc.sh. Run 1 is held inside stage s1 by the gate task
# (tests/crash/gate.c) until the test releases it: run 2 must not enter s1
# meanwhile; both succeed; the final tables are run 2's. Then both runs
# started at once, 2 rounds: their gates never overlap and each stage holds
# one run's tables. Passing depends on no timing: the one sleep only gives a
# broken lock the chance to show.
set -u
PD=$1
LIB=$2
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
note() {
    echo "-- $*" >&2
}
[ -n "${PD_TEST_ODBC_PG_URL:-}" ] || fail "PD_TEST_ODBC_PG_URL is not set (run under with-odbc.sh)"
WORK=$(mktemp -d /tmp/pd-odbc-conc-XXXXXX)
P1=
P2=
cleanup() {
    for p in $P1 $P2; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
base=${PD_TEST_ODBC_PG_URL%/*}

setup() { # setup DIR DB
    mkdir -p "$1"
    cat >"$1/pipedag.yaml" <<YAML
instances:
  default:
    instance_id: conc
    table_store:
      class: SQLTableStore
      args:
        url: "$base/$2"
        create_database_if_not_exists: true
    lock_manager:
      class: DatabaseLockManager
YAML
    for v in 1 2; do
        cat >"$1/flow$v.yaml" <<YAML
name: conc
stages:
  - name: s1
    tasks:
      - name: gate
        c: {library: "$LIB", symbol: pd_crash_gate}
      - name: after
        sql: SELECT tag, '$v' AS v FROM {{ gate }}
  - name: s2
    tasks:
      - name: down
        sql: SELECT tag, v FROM {{ s1.after }}
YAML
    done
}

wait_file() { # wait_file PATH SECONDS PID
    _n=0
    while [ ! -e "$1" ]; do
        [ $_n -ge $(($2 * 20)) ] && return 1
        kill -0 "$3" 2>/dev/null || { [ -e "$1" ]; return; }
        sleep 0.05
        _n=$((_n + 1))
    done
    return 0
}

tag=$$
# 1. run 1 held in s1, run 2 started meanwhile
L=$WORK/held
setup "$L" "pd_odbc_conc_$tag"
cd "$L" || exit 1
export PD_GATE_DIR="$L"
PD_GATE_TAG=p1 PD_GATE_HOLD=1 "$PD" run flow1.yaml >run1.out 2>&1 &
P1=$!
wait_file "$L/p1.begin" 120 $P1 || fail "run 1 never reached its gate: $(cat run1.out)"
PD_GATE_TAG=p2 "$PD" run flow2.yaml >run2.out 2>&1 &
P2=$!
sleep 1
[ -e "$L/p2.begin" ] && fail "DatabaseLockManager (ODBC): run 2 entered s1 while run 1 holds it"
kill -0 $P2 2>/dev/null || fail "run 2 ended while run 1 holds s1: $(cat run2.out)"
touch "$L/p1.go"
wait $P1
rc1=$?
wait $P2
rc2=$?
P1=
P2=
[ $rc1 = 0 ] || fail "run 1 failed ($rc1): $(cat run1.out)"
[ $rc2 = 0 ] || fail "run 2 failed ($rc2): $(cat run2.out)"
e1=$(cat p1.end)
b2=$(cat p2.begin)
[ "$b2" -ge "$e1" ] || fail "runs overlapped in s1 (run 2 began $b2 < run 1 ended $e1)"
got=$("$PD" query "SELECT a.tag, a.v, d.tag AS dtag, d.v AS dv FROM s1.after a, s2.down d" | tr '\n' ' ')
[ "$got" = "tag,v,dtag,dv p2,2,p2,2 " ] || fail "final tables not run 2's: $got"
note "DatabaseLockManager through ODBC: run 2 entered s1 after run 1 left it"

# 2. both at once, 2 rounds
r=0
while [ $r -lt 2 ]; do
    r=$((r + 1))
    R=$WORK/both$r
    setup "$R" "pd_odbc_conc_${tag}_$r"
    cd "$R" || exit 1
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
    [ $rc1 = 0 ] || fail "round $r: run 1 failed ($rc1): $(cat run1.out)"
    [ $rc2 = 0 ] || fail "round $r: run 2 failed ($rc2): $(cat run2.out)"
    b1=$(cat p1.begin) e1=$(cat p1.end) b2=$(cat p2.begin) e2=$(cat p2.end)
    [ "$b2" -ge "$e1" ] || [ "$b1" -ge "$e2" ] ||
        fail "round $r: the gates overlapped ($b1-$e1, $b2-$e2)"
    got=$("$PD" query "SELECT a.tag, a.v, d.tag AS dtag, d.v AS dv FROM s1.after a, s2.down d" | tr '\n' ' ')
    case "$got" in
    "tag,v,dtag,dv p1,1,p1,1 " | "tag,v,dtag,dv p2,2,p2,2 " | "tag,v,dtag,dv p1,1,p2,2 " | "tag,v,dtag,dv p2,2,p1,1 ") ;;
    *) fail "round $r: inconsistent tables: $got" ;;
    esac
done
note "DatabaseLockManager through ODBC: 2 rounds of simultaneous runs ok"
echo ok
