#!/bin/sh
# with-odbc.sh STATE_DIR CMD... - run CMD with a private unixODBC
# configuration (ODBCSYSINI in a temp dir, so nothing depends on the
# machine's odbcinst.ini): drivers "PostgreSQL Unicode" and "SQLite3"
# registered by the library paths in $PD_TEST_PSQLODBC / $PD_TEST_SQLITEODBC,
# and a DSN "pd_test_pg" for the private Postgres cluster of STATE_DIR.
# Exports the cluster's URL as postgresql+odbc:// in PD_ACC_PG_URL (the
# acceptance suite) and PD_TEST_ODBC_PG_URL, and the plain one in
# PD_TEST_PG_URL.
set -eu
state=$1
shift
url=$(cat "$state/url")
dir=$(mktemp -d /tmp/pd-odbcini-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
cat >"$dir/odbcinst.ini" <<INI
[PostgreSQL Unicode]
Description=psqlODBC (test registration)
Driver=${PD_TEST_PSQLODBC:?PD_TEST_PSQLODBC is not set}

[SQLite3]
Description=SQLite ODBC (test registration)
Driver=${PD_TEST_SQLITEODBC:?PD_TEST_SQLITEODBC is not set}
INI
# postgresql://user:pw@host:port/db
rest=${url#*://}
hostport=${rest#*@}
hostport=${hostport%%/*}
cat >"$dir/odbc.ini" <<INI
[pd_test_pg]
Driver=PostgreSQL Unicode
Servername=${hostport%:*}
Port=${hostport##*:}
Database=postgres
BoolsAsChar=0
ByteaAsLongVarBinary=1
BatchSize=1
INI
ODBCSYSINI=$dir
PD_TEST_PG_URL=$url
PD_TEST_ODBC_PG_URL=postgresql+odbc://$rest
PD_ACC_PG_URL=$PD_TEST_ODBC_PG_URL
export ODBCSYSINI PD_TEST_PG_URL PD_TEST_ODBC_PG_URL PD_ACC_PG_URL
"$@"
