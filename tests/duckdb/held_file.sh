#!/bin/sh
# held_file.sh PIPEDAG DUCK_HOLD - a DuckDB store file held by another
# process: the run waits lock_wait_seconds, names the holder and fails; a
# holder that lets go in time lets the run finish. Also: SCHEMA_SWAP on
# DuckDB is a config error naming the reason, and `pipedag query` reads
# the published tables.
set -u
PD=$1
HOLD=$2
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
W=$(mktemp -d /tmp/pd-duck-held-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
conf() { # conf WAIT [TECHNIQUE]
    {
        echo "instances:"
        echo "  default:"
        echo "    instance_id: held"
        [ -z "${2:-}" ] || echo "    stage_commit_technique: $2"
        echo "    table_store:"
        echo "      class: SQLTableStore"
        echo "      args:"
        echo "        url: \"duckdb:///db/{instance_id}.duckdb\""
        echo "        create_database_if_not_exists: true"
        echo "        lock_wait_seconds: $1"
        echo "    lock_manager:"
        echo "      class: FileLockManager"
        echo "      args:"
        echo "        base_path: locks"
    } >pipedag.yaml
}
cat >flow.yaml <<'YAML'
name: held
stages:
  - name: s
    tasks:
      - name: t
        sql: SELECT 1 AS a UNION ALL SELECT 2
YAML

conf 1 SCHEMA_SWAP
"$PD" run flow.yaml >out 2>err && fail "SCHEMA_SWAP on DuckDB was accepted"
grep -q "DuckDB cannot rename schemas" err || fail "no reason for refusing SCHEMA_SWAP: $(cat err)"
grep -q "pipedag.yaml:" err || fail "the SCHEMA_SWAP error names no file:line: $(cat err)"

conf 1
"$PD" run flow.yaml >out 2>err || fail "first run failed: $(cat err)"
[ "$("$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1)" = "s
3" ] || fail "pipedag query on the DuckDB store: $("$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1)"

# The holder lets go when the test creates its release file (not after a
# fixed time: on a loaded machine the run may start late), and the waits
# below are bounded by the life of the process waited for, not by a clock.
hold() { # hold RELEASE_FILE: start the holder; sets hp once it holds the file
    "$HOLD" db/held.duckdb 120000 "$1" >hold.out &
    hp=$!
    while ! grep -q held hold.out 2>/dev/null; do
        kill -0 $hp 2>/dev/null || fail "holder did not start: $(cat hold.out)"
        sleep 0.1
    done
}
hp=
rp=
trap 'for p in $hp $rp; do kill $p 2>/dev/null; done; rm -rf "$W"' EXIT

# held longer than lock_wait_seconds: fails after waiting, naming the holder
hold "$W/release1"
t0=$(date +%s%N)
sed -i 's/SELECT 2/SELECT 3/' flow.yaml
"$PD" run flow.yaml >out 2>err && fail "run succeeded while the file was held"
dt=$((($(date +%s%N) - t0) / 1000000))
[ $dt -ge 1000 ] || fail "gave up after $dt ms, before lock_wait_seconds"
grep -q "held by another process" err || fail "no holder message: $(cat err)"
grep -q "PID $hp" err || fail "the holder (PID $hp) is not named: $(cat err)"
touch "$W/release1"
wait $hp
hp=

# released in time: the run waits, then finishes
conf 20
hold "$W/release2"
"$PD" run flow.yaml >out 2>err &
rp=$!
while ! grep -q "waiting up to 20 s" err 2>/dev/null; do
    kill -0 $rp 2>/dev/null || fail "the run ended without waiting for the holder: $(cat err)"
    sleep 0.1
done
touch "$W/release2"
wait $rp || { rp=; fail "run did not finish after the holder let go: $(cat err)"; }
rp=
wait $hp
hp=
[ "$("$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1)" = "s
4" ] || fail "the second version is not published"
echo "ok"
