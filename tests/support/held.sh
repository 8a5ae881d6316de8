# tests/support/held.sh - a DuckDB file held by another process, for the
# tests of lock_wait_seconds (tests/duckdb/held_file.sh,
# tests/parquet_store/held_catalog.sh), sourced (POSIX sh):
#   . "$(dirname "$0")/../support/held.sh"
# The sourcing script sets PD (the pipedag binary), HOLD (the duck_hold
# tool), HELD_DB (the DuckDB file its store uses, relative to the work
# directory) and HELD_WHAT (what messages call it: "file", "catalog"), and
# defines fail. Sourcing makes the work directory $W, removed at exit (with
# a holder or run still going killed), and goes there.
W=$(mktemp -d /tmp/pd-held-XXXXXX)
hp=
rp=
trap 'for p in $hp $rp; do kill $p 2>/dev/null; done; rm -rf "$W"' EXIT
cd "$W" || exit 1

# held_flow: flow.yaml, stage s with the task t (sum(a) = 3)
held_flow() {
    cat >flow.yaml <<'YAML'
name: held
stages:
  - name: s
    tasks:
      - name: t
        sql: SELECT 1 AS a UNION ALL SELECT 2
YAML
}

# The holder lets go when the test creates its release file (not after a
# fixed time: on a loaded machine the run may start late), and the waits
# below are bounded by the life of the process waited for, not by a clock.
hold() { # hold RELEASE_FILE: start the holder; sets hp once it holds $HELD_DB
    # a "held" left in hold.out by an earlier holder must not count: the
    # background shell truncates the file only when it gets to run
    rm -f hold.out
    "$HOLD" "$HELD_DB" 120000 "$1" >hold.out &
    hp=$!
    while ! grep -q held hold.out 2>/dev/null; do
        kill -0 $hp 2>/dev/null || fail "holder did not start: $(cat hold.out)"
        sleep 0.1
    done
}

# held_gives_up: held longer than lock_wait_seconds (1 in pipedag.yaml), a
# run of the next version (sum 4) fails after waiting, naming the holder
held_gives_up() {
    hold "$W/release1"
    sed -i 's/SELECT 2/SELECT 3/' flow.yaml
    t0=$(date +%s%N)
    "$PD" run flow.yaml >out 2>err && fail "run succeeded while the $HELD_WHAT was held"
    dt=$((($(date +%s%N) - t0) / 1000000))
    [ $dt -ge 1000 ] || fail "gave up after $dt ms, before lock_wait_seconds"
    grep -q "held by another process" err || fail "no holder message: $(cat err)"
    grep -q "PID $hp" err || fail "the holder (PID $hp) is not named: $(cat err)"
    touch "$W/release1"
    wait $hp
    hp=
}

# held_waits: released in time (lock_wait_seconds 20 in pipedag.yaml), the
# run waits, then finishes
held_waits() {
    hold "$W/release2"
    rm -f err
    "$PD" run flow.yaml >out 2>err &
    rp=$!
    while ! grep -q "waiting up to 20 s" err 2>/dev/null; do
        kill -0 $rp 2>/dev/null || fail "the run ended without waiting for the holder: $(cat err)"
        sleep 0.1
    done
    touch "$W/release2"
    wait $rp || {
        rp=
        fail "run did not finish after the holder let go: $(cat err)"
    }
    rp=
    wait $hp
    hp=
}
