#!/bin/sh
# crash_kill.sh PIPEDAG MODE - kill `pipedag run` at many moments and check
# that every stage is published either completely old or completely new.
#
# MODE: sqlite (embedded store), sqlite_odbc (the same store directory
# through the ODBC backend and libsqliteodbc, the driver's library path in
# $PD_TEST_SQLITEODBC), schema_swap or read_views (Postgres; the URL
# of the private test cluster is read from $PD_TEST_PG_STATE/url), duckdb (a
# DuckDB file store, READ_VIEWS, one transaction per stage commit), parquet
# (ParquetTableStore on local files, metadata in its DuckDB catalog),
# parquet_s3 (the same on S3: run under tests/fs/with-s3.sh), parquet_pg
# (local files, metadata store on the Postgres test cluster).
# A 3-stage flow (lib.sh) is committed as version A; then the changed flow
# (version B, then A again, alternating) is run and stopped with every
# PD_TEST_CRASH_AT point at every stage commit, and with SIGKILL after a
# sweep of delays from 0 to past the full run time. After each kill: each
# stage's tables equal one version (digest of a clean run in a fresh
# directory), stages are published in order, `pipedag show` agrees with the
# published tables, and the next run succeeds, re-running exactly the stages
# that were not published and ending equal to a clean run.
set -u
PD=$1
MODE=$2
LIB=${3:-} # gate.c library: s1 then also publishes a blob with the version
# ($PD_CRASH_DELAYS overrides the number of SIGKILL delays)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

WORK=$(mktemp -d /tmp/pd-crash-XXXXXX)
[ -n "${PD_CRASH_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
STAGES="s1 s2 s3"
POINTS="commit_begin commit_after_journal commit_before_rename commit_after_rename commit_after_promote"

case $MODE in
sqlite | sqlite_odbc)
    N=60000
    NDELAYS=10
    ;;
schema_swap | read_views)
    N=30000
    NDELAYS=8
    [ -n "${PD_TEST_PG_STATE:-}" ] && [ -f "$PD_TEST_PG_STATE/url" ] ||
        fail "PD_TEST_PG_STATE does not name a running test cluster"
    PGURL=$(cat "$PD_TEST_PG_STATE/url")
    PGBASE=${PGURL%/*}
    # $PD_CRASH_URL_SCHEME (e.g. postgresql+odbc): the runs' store URL takes
    # this scheme - the ODBC backend, drivers from tests/odbc/with-odbc.sh;
    # psql keeps the plain URL
    STOREBASE=$PGBASE
    [ -z "${PD_CRASH_URL_SCHEME:-}" ] || STOREBASE="$PD_CRASH_URL_SCHEME://${PGBASE#*://}"
    POINTS="pg_commit_before_commit" # the SQLite points are not on this path
    ;;
duckdb)
    N=4000 # DuckDB runs a recursive CTE one iteration at a time: slow for large N
    NDELAYS=8
    POINTS="pg_commit_before_commit" # the commit transaction, just before COMMIT
    ;;
parquet | parquet_s3 | parquet_pg)
    N=10000
    NDELAYS=8
    POINTS="parquet_after_copy pg_commit_before_commit parquet_mid_repoint"
    [ "$MODE" = parquet_s3 ] && POINTS="$POINTS parquet_after_upload"
    if [ "$MODE" = parquet_pg ]; then
        [ -n "${PD_TEST_PG_STATE:-}" ] && [ -f "$PD_TEST_PG_STATE/url" ] ||
            fail "PD_TEST_PG_STATE does not name a running test cluster"
        PGURL=$(cat "$PD_TEST_PG_STATE/url")
        PGBASE=${PGURL%/*}
        POINTS="$POINTS commit_after_journal commit_before_promote"
    fi
    if [ "$MODE" = parquet_s3 ]; then
        [ -n "${PD_TEST_S3_ENDPOINT:-}" ] || fail "parquet_s3: run under tests/fs/with-s3.sh"
    fi
    ;;
*) fail "unknown mode $MODE" ;;
esac
NDELAYS=${PD_CRASH_DELAYS:-$NDELAYS}

# setup_dir DIR NAME: a fresh instance directory (and database on Postgres)
setup_dir() {
    mkdir -p "$1"
    [ "$MODE" = sqlite ] && return 0
    if [ "$MODE" = sqlite_odbc ]; then
        PD_CRASH_STORE=sqlite_odbc store_config "$1" default
        return 0
    fi
    case $MODE in parquet*)
        _base="./parquet"
        _s3=""
        _meta=""
        if [ "$MODE" = parquet_s3 ]; then
            _base="s3://$PD_TEST_S3_BUCKET/crash/$2/"
            _s3="        s3_endpoint_url: \"$PD_TEST_S3_ENDPOINT\"
        s3_url_style: path"
        fi
        if [ "$MODE" = parquet_pg ]; then
            _db="pd_crash_${MODE}_$2"
            PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PGURL" -c "DROP DATABASE IF EXISTS $_db WITH (FORCE)" >/dev/null ||
                fail "cannot drop database $_db"
            _meta="      metadata_table_store:
        class: SQLTableStore
        args:
          url: \"$PGBASE/$_db\"
          create_database_if_not_exists: true"
        fi
        cat >"$1/pipedag.yaml" <<YAML
instances:
  default:
    instance_id: crash
    stage_commit_technique: READ_VIEWS
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "$_base"
$_s3
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
$_meta
    lock_manager:
      class: FileLockManager
      args:
        base_path: ./locks
YAML
        return 0
        ;;
    esac
    if [ "$MODE" = duckdb ]; then
        cat >"$1/pipedag.yaml" <<YAML
instances:
  default:
    instance_id: crash
    table_store:
      class: SQLTableStore
      args:
        url: "duckdb:///db/{instance_id}.duckdb"
        create_database_if_not_exists: true
    lock_manager:
      class: FileLockManager
      args:
        base_path: ./locks
YAML
        return 0
    fi
    _db="pd_crash_${MODE}_$2"
    PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PGURL" -c "DROP DATABASE IF EXISTS $_db WITH (FORCE)" >/dev/null ||
        fail "cannot drop database $_db"
    _tech=SCHEMA_SWAP
    [ "$MODE" = read_views ] && _tech=READ_VIEWS
    cat >"$1/pipedag.yaml" <<YAML
instances:
  default:
    instance_id: crash
    stage_commit_technique: $_tech
    table_store:
      class: SQLTableStore
      args:
        url: "$STOREBASE/$_db"
        create_database_if_not_exists: true
    lock_manager:
      class: FileLockManager
      args:
        base_path: ./locks
YAML
}

pd_in() { # pd_in DIR ARGS...
    _dir=$1
    shift
    (cd "$_dir" && "$PD" "$@")
}

# digest DIR OUT: per-table digest of the published tables
digest() {
    pd_in "$1" query "$(digest_sql)" >"$2" 2>"$2.err" || {
        cat "$2.err" >&2
        fail "pipedag query failed in $1"
    }
}

# reference digests: clean runs of A and B in fresh directories
for v in A B; do
    k=3
    [ $v = B ] && k=7
    setup_dir "$WORK/ref_$v" ref_$(echo $v | tr AB ab)
    gen_flow "$WORK/ref_$v" $v $k $N "$LIB"
    t0=$(now_ms)
    pd_in "$WORK/ref_$v" run flow.yaml >/dev/null 2>"$WORK/ref.err" || {
        cat "$WORK/ref.err" >&2
        fail "clean run of version $v failed"
    }
    RUNMS=$(($(now_ms) - t0))
    digest "$WORK/ref_$v" "$WORK/dig_$v"
    grep -q "^s1.big,$N,.*,$v,$v\$" "$WORK/dig_$v" || fail "unexpected clean digest $v"
done
cmp -s "$WORK/dig_A" "$WORK/dig_B" && fail "versions A and B have equal digests"
note "$MODE: clean run takes ${RUNMS} ms"

M=$WORK/main
IID=default
[ "$MODE" = sqlite ] || [ "$MODE" = sqlite_odbc ] || IID=crash
BLOB=$M/.pipedag/blobs/$IID/s1/tagblob.blob
setup_dir "$M" main
gen_flow "$M" A 3 $N "$LIB"
pd_in "$M" run flow.yaml >/dev/null 2>"$WORK/run.err" || {
    cat "$WORK/run.err" >&2
    fail "first run of version A failed"
}
digest "$M" "$WORK/dig_now"
cmp -s "$WORK/dig_now" "$WORK/dig_A" || fail "first run of A differs from a clean run of A"
CUR=A

# set_target V: write the flow of version V into the main directory
set_target() {
    TGT=$1
    OLD=A
    [ "$TGT" = A ] && OLD=B
    k=3
    [ "$TGT" = B ] && k=7
    gen_flow "$M" "$TGT" $k $N "$LIB"
}

# check_state WHAT: invariants after a kill; sets PUB (stages with TGT)
check_state() {
    _what=$1
    digest "$M" "$WORK/dig_now"
    PUB=""
    _seen_old=no
    for _s in $STAGES; do
        _dg=$(stage_digest "$WORK/dig_now" $_s)
        if [ "$_dg" = "$(stage_digest "$WORK/dig_$TGT" $_s)" ]; then
            [ $_seen_old = yes ] && fail "$_what: stage $_s is new but an earlier stage is old"
            PUB="$PUB $_s"
        elif [ "$_dg" = "$(stage_digest "$WORK/dig_$OLD" $_s)" ]; then
            _seen_old=yes
        else
            fail "$_what: stage $_s is neither version $OLD nor $TGT: $_dg (expected $(stage_digest "$WORK/dig_$TGT" $_s) or $(stage_digest "$WORK/dig_$OLD" $_s))"
        fi
    done
    BLOB_LAG=no
    if [ -n "$LIB" ]; then # the blob of s1 belongs to the same version
        _want=$OLD
        case " $PUB " in *" s1 "*) _want=$TGT ;; esac
        _b=$(cat "$BLOB" 2>&1)
        if [ "$_b" != "$_want" ]; then
            # Blobs are published right after the stage's tables: a kill
            # between the two leaves the previous blob (never a torn one).
            # Its cache key no longer matches the committed metadata, so the
            # next run must recompute it (checked in recover).
            [ "$_want" = "$TGT" ] && [ "$_b" = "$OLD" ] ||
                fail "$_what: blob s1.tagblob is '$_b' but the tables of s1 are version $_want"
            BLOB_LAG=yes
        fi
    fi
    if [ "$MODE" = sqlite ] || [ "$MODE" = sqlite_odbc ]; then
        for _s in $STAGES; do
            _f=$M/.pipedag/default/$_s.sqlite
            _r=$(sqlite3 -readonly "$_f" "PRAGMA integrity_check" 2>&1)
            [ "$_r" = ok ] || fail "$_what: $_f integrity_check: $_r"
        done
    fi
    [ -n "${PD_CRASH_KEEP:-}" ] && note "$_what: published:$PUB"
    # committed metadata agrees with the published tables
    pd_in "$M" show flow.yaml >"$WORK/show" 2>"$WORK/show.err" || {
        cat "$WORK/show.err" >&2
        fail "$_what: pipedag show failed"
    }
    for _s in $STAGES; do
        case " $PUB " in
        *" $_s "*) _bad=$(grep "^$_s\\." "$WORK/show" | grep -v ": cache valid") ;;
        *) _bad=$(grep "^$_s\\." "$WORK/show" | grep -v ": would run") ;;
        esac
        [ -z "$_bad" ] || fail "$_what: show disagrees with published stage $_s (published:$PUB): $_bad"
    done
}

# recover WHAT: the next run succeeds, re-runs exactly the unpublished stages
# and ends equal to a clean run of TGT.
recover() {
    _what=$1
    pd_in "$M" run flow.yaml --json >"$WORK/rec.json" 2>"$WORK/rec.err" || {
        cat "$WORK/rec.err" "$WORK/rec.json" >&2
        fail "$_what: the run after the kill failed"
    }
    for _s in $STAGES; do
        _st0=completed
        case " $PUB " in *" $_s "*) _st0=cache_valid ;; esac
        for _t in $(grep "^$_s\\." "$WORK/show" | sed 's/^[^.]*\.\([^:]*\):.*/\1/'); do
            _st=$_st0
            # a lagging blob is detected by its key: its task runs again
            [ "$BLOB_LAG" = yes ] && [ "$_s.$_t" = s1.blobtask ] && _st=completed
            grep -q "\"stage\":\"$_s\",\"state\":\"$_st\",\"task\":\"$_t\"" "$WORK/rec.json" ||
                fail "$_what: after the kill (published:$PUB) task $_s.$_t should be $_st: $(cat "$WORK/rec.json")"
        done
    done
    digest "$M" "$WORK/dig_now"
    cmp -s "$WORK/dig_now" "$WORK/dig_$TGT" || {
        diff "$WORK/dig_now" "$WORK/dig_$TGT" >&2
        fail "$_what: tables after recovery differ from a clean run of $TGT"
    }
    if [ -n "$LIB" ]; then
        _b=$(cat "$BLOB" 2>&1)
        [ "$_b" = "$TGT" ] || fail "$_what: after recovery blob s1.tagblob is '$_b', expected $TGT"
    fi
    CUR=$TGT
}

flip() {
    if [ "$CUR" = A ]; then set_target B; else set_target A; fi
}

KILLS=0
# 1. every named crash point at every stage commit: `run --stage sK` with
# the point set dies in the commit of sK; a clean `run --stage sK` then
# recovers and publishes sK, so the next point hits the next stage.
for p in $POINTS; do
    flip
    for stg in $STAGES; do
        PD_TEST_CRASH_AT=$p pd_in "$M" run flow.yaml --stage $stg >/dev/null 2>"$WORK/kill.err"
        rc=$?
        [ $rc = 99 ] || {
            cat "$WORK/kill.err" >&2
            fail "crash point $p in stage $stg: exit status $rc, expected 99"
        }
        KILLS=$((KILLS + 1))
        check_state "crash at $p in stage $stg"
        pd_in "$M" run flow.yaml --stage $stg >/dev/null 2>"$WORK/kill.err" || {
            cat "$WORK/kill.err" >&2
            fail "crash point $p in stage $stg: the next run of the stage failed"
        }
        check_state "run of stage $stg after the crash at $p"
        case " $PUB " in *" $stg "*) ;; *) fail "stage $stg not published by its run after $p" ;; esac
    done
    recover "after the crashes at $p"
done
note "$MODE: crash points ok ($KILLS kills)"

# 2. SIGKILL after a sweep of delays from 0 to past the full run time
i=0
while [ $i -lt $NDELAYS ]; do
    delay=$((i * RUNMS * 11 / 10 / (NDELAYS - 1)))
    flip
    (cd "$M" && exec "$PD" run flow.yaml >/dev/null 2>&1) &
    pid=$!
    sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    KILLS=$((KILLS + 1))
    check_state "SIGKILL after ${delay} ms"
    note "$MODE: SIGKILL after $delay ms: published:$PUB"
    recover "SIGKILL after ${delay} ms"
    i=$((i + 1))
done
note "$MODE: $KILLS kills, all consistent"
echo "ok"
