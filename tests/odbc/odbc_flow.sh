#!/bin/sh
# odbc_flow.sh PIPEDAG - whole runs of the CLI through the ODBC backend on
# the private Postgres cluster (run under with-odbc.sh: private
# odbcinst.ini/odbc.ini, $PD_TEST_PG_URL, $PD_TEST_PSQLODBC):
#  1. postgresql+odbc:// (driver by name from the private odbcinst.ini):
#     a two-stage flow with a CSV load, SQL tasks and a raw SQL script runs,
#     the second run is fully cache-valid, `pipedag query` reads the tables;
#  2. an unknown dialect, cockroachdb+odbc://...?driver=<psqlodbcw.so path>:
#     the flow runs, the warning naming the scheme is printed exactly once;
#  3. odbc://?dsn=pd_test_pg (the DSN of the private odbc.ini);
#  4. bad input: a driver that is not installed (named, with how to install
#     it and the drivers odbcinst.ini lists), an undefined DSN, a wrong
#     password (never printed), a SQL error (SQLSTATE and the task named).
set -u
PD=$1
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
expect() { # expect FILE TEXT WHAT
    grep -qF -- "$2" "$1" || {
        cat "$1" >&2
        fail "$3: output lacks '$2'"
    }
}
[ -n "${PD_TEST_PG_URL:-}" ] || fail "PD_TEST_PG_URL is not set (run under with-odbc.sh)"
[ -n "${ODBCSYSINI:-}" ] || fail "ODBCSYSINI is not set (run under with-odbc.sh)"
WORK=$(mktemp -d /tmp/pd-odbc-flow-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

rest=${PD_TEST_PG_URL#*://}
userpw=${rest%%@*}
password=${userpw#*:}
hostdb=${rest#*@}
base=${hostdb%/*}
tag=$$

config() { # config URL
    cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: odbc
    table_store:
      class: SQLTableStore
      args:
        url: "$1"
        create_database_if_not_exists: true
    lock_manager:
      class: DatabaseLockManager
YAML
}

cat >flow.yaml <<'YAML'
name: odbcflow
stages:
  - name: raw
    tasks:
      - name: people
        load: people.csv
        primary_key: id
      - name: scores
        sql: SELECT id, length(name) * 10 AS score FROM {{ people }}
  - name: report
    tasks:
      - name: joined
        sql: |
          SELECT p.id, p.name, s.score
          FROM {{ raw.people }} p JOIN {{ raw.scores }} s ON s.id = p.id
        primary_key: id
      - name: script
        raw_sql: |
          CREATE TABLE {{ this_stage }}.extra AS SELECT 1 AS one;
          CREATE TABLE {{ this_stage }}.extra2 AS SELECT 2 AS two;
YAML
printf 'id,name\n1,Ann\n2,Bj\303\266rn\n3,\345\274\240\344\274\237\n' >people.csv

run_ok() { # run_ok WHAT
    "$PD" run flow.yaml >out 2>err || {
        cat out err >&2
        fail "$1: run failed"
    }
}

# 1. postgresql+odbc:// with the driver registered by name
config "postgresql+odbc://$userpw@$base/pd_odbc_a_$tag"
run_ok "postgresql+odbc"
expect err "ran, 0 cache-valid, 0 failed" "postgresql+odbc first run"
"$PD" run flow.yaml >out 2>err || fail "postgresql+odbc second run failed: $(cat err)"
expect err "0 ran" "postgresql+odbc second run (all cache-valid)"
"$PD" query "SELECT id, name, score FROM report.joined ORDER BY id" >q 2>qerr ||
    fail "query failed: $(cat qerr)"
[ "$(tr '\n' ' ' <q)" = "id,name,score 1,Ann,30 2,Björn,50 3,张伟,20 " ] ||
    fail "postgresql+odbc: unexpected table: $(cat q)"
"$PD" query "SELECT one FROM report.extra" >q 2>qerr || fail "raw SQL table missing: $(cat qerr)"
if grep -q "unknown to pipedag-c" err; then fail "postgresql+odbc warned about an unknown dialect"; fi

# 2. unknown dialect: the warning once, the flow runs
config "cockroachdb+odbc://$userpw@$base/pd_odbc_b_$tag?driver=$PD_TEST_PSQLODBC"
run_ok "cockroachdb+odbc"
n=$(grep -c 'dialect "cockroachdb" is unknown to pipedag-c' err)
[ "$n" = 1 ] || {
    cat err >&2
    fail "cockroachdb+odbc: the unknown-dialect warning was printed $n times, expected once"
}
"$PD" query "SELECT count(*) AS n FROM report.joined" >q 2>qerr || fail "query: $(cat qerr)"
[ "$(tr '\n' ' ' <q)" = "n 3 " ] || fail "cockroachdb+odbc: unexpected count: $(cat q)"

# 3. a DSN (database given by the URL's attributes)
config "odbc://$userpw@/?dsn=pd_test_pg&Database=pd_odbc_b_$tag"
"$PD" query "SELECT count(*) AS n FROM report.joined" >q 2>qerr || fail "DSN query: $(cat qerr)"
[ "$(tr '\n' ' ' <q)" = "n 3 " ] || fail "odbc://?dsn=: unexpected count: $(cat q)"

# 4. bad input
config "mssql+pyodbc://sa:hunter2secret@127.0.0.1:1/db?driver=ODBC+Driver+18+for+SQL+Server"
"$PD" run flow.yaml >out 2>err && fail "missing driver: run succeeded"
expect err '"ODBC Driver 18 for SQL Server"' "missing driver (named)"
expect err "msodbcsql18" "missing driver (how to install)"
expect err "odbcinst.ini" "missing driver (odbcinst.ini)"
expect err '"PostgreSQL Unicode"' "missing driver (drivers listed)"
if grep -q hunter2secret err; then fail "missing driver: the password was printed"; fi

config "odbc://u:hunter2secret@/?dsn=pd_no_such_dsn"
"$PD" run flow.yaml >out 2>err && fail "bad DSN: run succeeded"
expect err 'pd_no_such_dsn' "bad DSN (named)"
expect err '"pd_test_pg"' "bad DSN (defined DSNs listed)"
if grep -q hunter2secret err; then fail "bad DSN: the password was printed"; fi

user=${userpw%%:*}
config "postgresql+odbc://$user:wrong_$tag@$base/pd_odbc_a_$tag"
"$PD" run flow.yaml >out 2>err && fail "wrong password: run succeeded"
expect err "password authentication failed" "wrong password"
if grep -q "wrong_$tag" err; then fail "wrong password: the password was printed"; fi
if grep -q "$password" err; then fail "wrong password: the cluster password was printed"; fi

config "postgresql+odbc://$userpw@$base/pd_odbc_a_$tag"
sed 's/length(name) \* 10 AS score FROM/length(name) * 10 AS score FROM nowhere_table_x,/' flow.yaml >bad.yaml
"$PD" run bad.yaml >out 2>err && fail "SQL error: run succeeded"
expect err "task raw.scores failed" "SQL error (task named)"
expect err "42P01" "SQL error (SQLSTATE)"
expect err "nowhere_table_x" "SQL error (database message)"
if grep -q "$password" err; then fail "SQL error: the password was printed"; fi
echo "odbc_flow: all cases passed"
