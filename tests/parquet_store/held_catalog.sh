#!/bin/sh
# held_catalog.sh PIPEDAG DUCK_HOLD - the catalog of a ParquetTableStore is
# held only while a run needs it: between runs another process (a SQL UI)
# may open it; a run that finds it held waits lock_wait_seconds, names the
# holder and fails cleanly (the published stage unchanged); a holder that
# lets go in time lets the run finish.
set -u
PD=$1
HOLD=$2
fail() { echo "held_catalog: FAILED: $*" >&2; exit 1; }
HELD_DB=catalog/held.duckdb
HELD_WHAT=catalog
. "$(dirname "$0")/../support/held.sh"
conf() { # conf WAIT
    cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: held
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "files/"
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
        lock_wait_seconds: $1
    lock_manager:
      class: FileLockManager
      args:
        base_path: locks
YAML
}
held_flow
q() { "$PD" query 'SELECT sum(a) AS s FROM s.t' 2>&1 | tail -n +2; }
# SCHEMA_SWAP is a config error with the reason, naming file:line
conf 1
sed -i 's/^    table_store:/    stage_commit_technique: SCHEMA_SWAP\n    table_store:/' pipedag.yaml
"$PD" run flow.yaml >out 2>err && fail "SCHEMA_SWAP on the Parquet store was accepted"
grep -q "supports only READ_VIEWS" err || fail "no reason for refusing SCHEMA_SWAP: $(cat err)"
grep -q "pipedag.yaml:" err || fail "the SCHEMA_SWAP error names no file:line: $(cat err)"
conf 1
"$PD" run flow.yaml >out 2>err || fail "first run failed: $(cat err)"
[ "$(q)" = 3 ] || fail "first version not readable: $(q)"
# between runs, another process can hold the catalog (and read it)
"$HOLD" catalog/held.duckdb 500 >hold.out || fail "the catalog is still held after the run"
# held longer than lock_wait_seconds: the run fails after waiting, naming the holder
held_gives_up
[ "$(q)" = 3 ] || fail "the published stage changed after the failed run: $(q)"
# released in time: the run waits, then finishes
conf 20
held_waits
[ "$(q)" = 4 ] || fail "the second version is not published: $(q)"
echo "held_catalog: OK"
