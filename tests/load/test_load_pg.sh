#!/bin/sh
# tests/load/test_load_pg.sh PIPEDAG_BIN EXAMPLE_DATA_DIR - `load:` on the
# private Postgres test cluster (ctest fixture pg_cluster; the URL comes from
# $PD_TEST_PG_STATE/url): the example data through a glob, a 20-digit integer
# column stored exactly as numeric, a BOM file read with `SELECT id`, and a
# second run that is all cache-valid. Its own database, dropped at the end.
set -u
. "$(dirname "$0")/../support/checks.sh"
bin=$1
data=$2
state=${PD_TEST_PG_STATE:-/tmp/pipedag-pg-test}
base=$(cat "$state/url") || { echo "no test cluster URL in $state/url" >&2; exit 1; }
db="pd_load_$$"
url="${base%/*}/$db"
work=$(mktemp -d /tmp/pipedag-loadpg-XXXXXX)
cleanup() {
    psql -q "$base" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
unset PIPEDAG_CONFIG || true
q() { "$bin" query "$1" 2>/dev/null | tail -n +2 | tr '\n' ' ' | sed 's/ $//'; }

cat > pipedag.yaml <<EOF
name: loadpg
instances:
  default:
    instance_id: loadpg
    table_store:
      class: SQLTableStore
      args:
        url: "$url"
        create_database_if_not_exists: true
    stage_commit_technique: SCHEMA_SWAP
    lock_manager:
      class: DatabaseLockManager
EOF
mkdir data
cp "$data"/a.csv.gz "$data"/b.csv.gz "$data"/c.csv.gz data/
printf 'k,big\n1,12345678901234567890\n2,-99999999999999999999999999999999999999\n3,7\n' > wide.csv
printf '\357\273\277id,name\n1,Anna\n' > bom.csv
cat > flow.yaml <<'EOF'
name: loadpg
stages:
  - name: raw
    tasks:
      - name: inputs
        load: data/*.csv.gz
      - name: wide
        load: wide.csv
      - name: people
        load: bom.csv
  - name: use
    tasks:
      - name: ids
        sql: SELECT id, name FROM {{ raw.people }}
EOF
expect_exit 0 "first run on Postgres" "$bin" run flow.yaml
same "$(q 'SELECT count(*) FROM raw.a')" 1000 "a.csv.gz: 1000 rows"
same "$(q 'SELECT count(*) FROM raw.c')" 1000 "c.csv.gz: 1000 rows"
same "$(q 'SELECT big::text FROM raw.wide ORDER BY k')" \
     "12345678901234567890 -99999999999999999999999999999999999999 7" \
     "20- and 38-digit integers exact"
same "$(q "SELECT data_type FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'wide' AND column_name = 'big'")" \
     numeric "the wide column is numeric, not double precision"
same "$(q 'SELECT id FROM use.ids')" 1 "BOM: SELECT id works"
expect_exit 0 "second run on Postgres" "$bin" run flow.yaml
if grep -q "0 ran, 4 cache-valid" err.txt; then pass "second run: all cache-valid"; else
    bad "second run not all cache-valid"; cat err.txt >&2; fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "all passed"
