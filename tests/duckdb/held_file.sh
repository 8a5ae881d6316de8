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
HELD_DB=db/held.duckdb
HELD_WHAT=file
. "$(dirname "$0")/../support/held.sh"
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
held_flow

conf 1 SCHEMA_SWAP
"$PD" run flow.yaml >out 2>err && fail "SCHEMA_SWAP on DuckDB was accepted"
grep -q "DuckDB cannot rename schemas" err || fail "no reason for refusing SCHEMA_SWAP: $(cat err)"
grep -q "pipedag.yaml:" err || fail "the SCHEMA_SWAP error names no file:line: $(cat err)"

conf 1
"$PD" run flow.yaml >out 2>err || fail "first run failed: $(cat err)"
[ "$("$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1)" = "s
3" ] || fail "pipedag query on the DuckDB store: $("$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1)"

# held longer than lock_wait_seconds: fails after waiting, naming the holder
held_gives_up

# released in time: the run waits, then finishes
conf 20
held_waits
[ "$("$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1)" = "s
4" ] || fail "the second version is not published"
echo "ok"
