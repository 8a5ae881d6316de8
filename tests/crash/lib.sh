# lib.sh - shared helpers of the crash tests (sourced by the test scripts).
#
# gen_flow DIR V K N writes DIR/flow.yaml and DIR/data.csv: three stages
# (s1: CSV load + slow recursive SQL with a primary key; s2: SQL join + a raw
# SQL script making two tables; s3: slow SQL + summary). Every table carries
# the column v = V (the version tag) and values derived from K, so two
# versions differ in every table of every stage. N sets how slow the big
# tasks are (rows made by a recursive CTE). With a 5th argument (the path of
# the gate.c library), s1 also gets a C task writing the blob "tagblob" = V.

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

note() {
    echo "-- $*" >&2
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

gen_flow() {
    _d=$1 _v=$2 _k=$3 _n=$4 _lib=${5:-}
    mkdir -p "$_d"
    {
        echo "id,name,v"
        _i=1
        while [ $_i -le 20 ]; do
            echo "$_i,name_${_v}_$((_i * _k)),$_v"
            _i=$((_i + 1))
        done
    } >"$_d/data.csv"
    cat >"$_d/flow.yaml" <<YAML
name: crash
stages:
  - name: s1
    tasks:
      - name: csv
        load: data.csv
        primary_key: id
      - name: big
        sql: |
          WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < $_n)
          SELECT i AS id, i * $_k AS x, '$_v' AS v FROM r
        primary_key: id
YAML
    [ -z "$_lib" ] || cat >>"$_d/flow.yaml" <<YAML
      - name: blobtask
        c: {library: "$_lib", symbol: pd_crash_blob}
        inputs: [csv]
        version: "1"
YAML
    cat >>"$_d/flow.yaml" <<YAML
  - name: s2
    tasks:
      - name: joined
        sql: |
          SELECT c.id, c.name, b.x + $_k AS x, '$_v' AS v
          FROM {{ s1.csv }} AS c JOIN {{ s1.big }} AS b ON b.id = c.id
        primary_key: id
      - name: script
        raw_sql: |
          CREATE TABLE {{ this_stage }}.r1 AS
            SELECT id, x + $_k AS x, '$_v' AS v FROM {{ s1.big }} WHERE id % 2 = 0;
          CREATE TABLE {{ this_stage }}.r2 AS
            SELECT COUNT(*) AS n, SUM(x) AS sx, '$_v' AS v FROM {{ this_stage }}.r1;
  - name: s3
    tasks:
      - name: slow
        sql: |
          WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < $_n)
          SELECT i AS id, i + $_k AS x, '$_v' AS v FROM r
        primary_key: id
      - name: summary
        sql: |
          SELECT (SELECT COUNT(*) FROM {{ s2.r1 }}) AS n1,
                 (SELECT SUM(x) FROM {{ s2.joined }}) AS sj, $_k AS k, '$_v' AS v
YAML
}

# The tables of each stage, "stage.table" (all carry the column v).
CRASH_TABLES="s1.csv s1.big s2.joined s2.r1 s2.r2 s3.slow s3.summary"

# digest_sql: one query giving per table: name, rows, a checksum and the
# smallest/largest version tag. A half-written table or a mix of versions
# inside a table changes it.
digest_sql() {
    _q=""
    for _t in $CRASH_TABLES; do
        case $_t in
        s2.r2) _sum="SUM(n + sx)" ;;
        s3.summary) _sum="SUM(n1 + sj + k)" ;;
        s1.csv) _sum="SUM(id)" ;;
        *) _sum="SUM(id + x)" ;;
        esac
        [ -n "$_q" ] && _q="$_q UNION ALL "
        _q="${_q}SELECT '$_t' AS t, COUNT(*) AS n, $_sum AS s, MIN(v) AS vmin, MAX(v) AS vmax FROM $_t"
    done
    echo "$_q ORDER BY t"
}

# stage_digest FILE STAGE: the lines of STAGE from a digest output
stage_digest() {
    grep "^$2\\." "$1" | tr '\n' ' '
}

# store_config_head INSTANCE CLASS [TECHNIQUE]: the start of the
# pipedag.yaml store_config writes, on stdout, up to the table store's
# `args:` (its arguments follow), with stage_commit_technique TECHNIQUE when
# given.
store_config_head() {
    printf '%s\n' "instances:" "  default:" "    instance_id: $1"
    [ -z "${3:-}" ] || echo "    stage_commit_technique: $3"
    printf '%s\n' "    table_store:" "      class: $2" "      args:"
}

# store_config_tail LOCKS [no_blobs]: the end of the pipedag.yaml
# store_config writes, on stdout: the lock manager (LOCKS "file":
# FileLockManager under .pipedag/locks; "database": DatabaseLockManager)
# and, unless no_blobs, the FileBlobStore under .pipedag/blobs.
store_config_tail() {
    if [ "$1" = database ]; then
        cat <<'YAML'
    lock_manager:
      class: DatabaseLockManager
YAML
    else
        cat <<'YAML'
    lock_manager:
      class: FileLockManager
      args:
        base_path: .pipedag/locks
YAML
    fi
    [ "${2:-}" = no_blobs ] || cat <<'YAML'
    blob_store:
      class: FileBlobStore
      args:
        base_path: .pipedag/blobs
YAML
}

# store_config DIR INSTANCE: with PD_CRASH_STORE=sqlite_odbc or odbc_pg,
# DIR/pipedag.yaml for the ODBC backend (SQLite files through libsqliteodbc
# with FileLockManager; Postgres through psqlODBC with DatabaseLockManager);
# with parquet_s3_pg, a ParquetTableStore on S3 with a Postgres metadata
# store; with parquet, a local ParquetTableStore; with duckdb, a DuckDB file
# store (READ_VIEWS, FileLockManager; a run waits up to 120 s for a file
# another run holds); otherwise nothing (the built-in SQLite default
# applies).
store_config() {
    if [ "${PD_CRASH_STORE:-}" = sqlite_odbc ]; then
        # the SQLite store directory through the ODBC backend (libsqliteodbc)
        {
            store_config_head "$2" SQLTableStore
            cat <<YAML
        url: "sqlite+odbc:///.pipedag/{instance_id}?driver=${PD_TEST_SQLITEODBC:?PD_TEST_SQLITEODBC is not set}"
YAML
            store_config_tail file
        } >"$1/pipedag.yaml"
        return 0
    fi
    if [ "${PD_CRASH_STORE:-}" = odbc_pg ]; then
        # Postgres through the ODBC backend (psqlODBC; run under
        # tests/odbc/with-odbc.sh), a fresh database per directory, the
        # DatabaseLockManager (advisory locks through the driver)
        [ -n "${PD_TEST_ODBC_PG_URL:-}" ] || fail "PD_TEST_ODBC_PG_URL is not set (run under tests/odbc/with-odbc.sh)"
        {
            store_config_head "$2" SQLTableStore
            cat <<YAML
        url: "${PD_TEST_ODBC_PG_URL%/*}/pd_conc_$$_$(basename "$1")"
        create_database_if_not_exists: true
YAML
            store_config_tail database no_blobs
        } >"$1/pipedag.yaml"
        return 0
    fi
    if [ "${PD_CRASH_STORE:-}" = parquet_s3_pg ]; then
        # ParquetTableStore on S3 (run under tests/fs/with-s3.sh), metadata
        # and DatabaseLockManager locks in the Postgres test cluster; one S3
        # prefix and one database per directory
        [ -n "${PD_TEST_S3_ENDPOINT:-}" ] || fail "parquet_s3_pg: run under tests/fs/with-s3.sh"
        [ -f "${PD_TEST_PG_STATE:-}/url" ] || fail "parquet_s3_pg: PD_TEST_PG_STATE names no cluster"
        _pgurl=$(cat "$PD_TEST_PG_STATE/url")
        _tag=$(basename "$1" | tr -c 'a-zA-Z0-9_\n' '_')
        _db="pd_${2}_${_tag}_$$"
        PGOPTIONS="-c client_min_messages=warning" psql -q -X "$_pgurl" \
            -c "DROP DATABASE IF EXISTS $_db WITH (FORCE)" >/dev/null || fail "cannot drop $_db"
        {
            store_config_head "$2" ParquetTableStore READ_VIEWS
            cat <<YAML
        parquet_base_path: "s3://$PD_TEST_S3_BUCKET/$2/$_tag/"
        s3_endpoint_url: "${PD_TEST_S3_STORE_ENDPOINT:-$PD_TEST_S3_ENDPOINT}"
        s3_url_style: path
        url: "duckdb:///.pipedag/{instance_id}.duckdb"
        create_database_if_not_exists: true
        lock_wait_seconds: 120
      metadata_table_store:
        class: SQLTableStore
        args:
          url: "${_pgurl%/*}/$_db"
          create_database_if_not_exists: true
YAML
            store_config_tail database
        } >"$1/pipedag.yaml"
        return 0
    fi
    # parquet: the Parquet store with its DuckDB catalog; duckdb: that file
    # as the table store
    case "${PD_CRASH_STORE:-}" in
    parquet) _class=ParquetTableStore ;;
    duckdb) _class=SQLTableStore ;;
    *) return 0 ;;
    esac
    {
        store_config_head "$2" $_class
        [ $_class = SQLTableStore ] || echo '        parquet_base_path: ".pipedag/parquet"'
        cat <<YAML
        url: "duckdb:///.pipedag/{instance_id}.duckdb"
        create_database_if_not_exists: true
        lock_wait_seconds: 120
YAML
        store_config_tail file
    } >"$1/pipedag.yaml"
}
