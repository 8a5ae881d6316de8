#!/bin/sh
# tests/load/test_load_flow.sh PIPEDAG_BIN EXAMPLE_DATA_DIR LOAD_DATA_DIR - `load:` end to
# end on the SQLite store: the original's gzipped example data through a glob
# (one table per file) and a union, a Parquet file, references to the tables a glob makes,
# cache keys that follow every file (changed, added, removed), a BOM file read
# with `SELECT id`, Latin-1, options errors with file:line:column, a
# truncated gzip file and a bad row failing the task with the file named.
set -u
. "$(dirname "$0")/../support/checks.sh"
bin=$1
data=$2
pqdata=$3
work=$(mktemp -d /tmp/pipedag-load-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
unset PIPEDAG_CONFIG || true
q() { sqlite3 ".pipedag/default/$1.sqlite" "$2"; }

mkdir data
cp "$data"/a.csv.gz "$data"/b.csv.gz "$data"/c.csv.gz data/
printf '\357\273\277id,name\n1,Anna\n2,Bert\n' > bom.csv
printf 'city,n\nZ\374rich,1\n' > latin1.csv
cp "$pqdata"/int32_decimal.parquet decimals.parquet

cat > flow.yaml <<'EOF'
name: loads
stages:
  - name: raw
    tasks:
      - name: inputs
        load: data/*.csv.gz
      - name: bc
        load: {path: "data/[bc].csv.gz", union: true}
      - name: people
        load: bom.csv
      - name: cities
        load: {path: latin1.csv, encoding: latin-1, columns: {n: int32}}
      - name: decimals
        load: decimals.parquet
  - name: use
    tasks:
      - name: joined
        sql: SELECT a.pk, a.age, c.x FROM {{ raw.a }} AS a JOIN {{ raw.c }} AS c ON a.pk = c.pk
      - name: ids
        sql: SELECT id, name FROM {{ raw.people }}
EOF

expect_exit 0 "first run" "$bin" run flow.yaml
contains err.txt "7 ran, 0 cache-valid, 0 failed" "first run: every task ran"
same "$(q raw 'SELECT count(*) FROM a')" 1000 "a.csv.gz: 1000 rows"
same "$(q raw 'SELECT count(*) FROM b')" 1000 "b.csv.gz: 1000 rows"
same "$(q raw 'SELECT count(*) FROM bc')" 2000 "union of b and c: 2000 rows"
same "$(q raw "SELECT typeof(x) FROM bc LIMIT 1")" real "union: x is int in b, real in c -> real"
same "$(q use 'SELECT count(*) FROM joined')" 1000 "SQL over tables a glob made"
same "$(q use 'SELECT group_concat(id) FROM ids')" "1,2" "BOM: SELECT id works"
same "$(q raw 'SELECT city FROM cities')" "Zürich" "Latin-1 read as UTF-8"
same "$(q raw 'SELECT count(*), sum(value) FROM decimals')" "24|300" "Parquet input"

expect_exit 0 "second run" "$bin" run flow.yaml
contains err.txt "0 ran, 7 cache-valid" "second run: all cache-valid"

# a changed file re-runs its load (and what reads it), not the others
zcat data/a.csv.gz | sed 's/^ODM MCXHTK AEU,57,/ODM MCXHTK AEU,58,/' | gzip > data/a2 && mv data/a2 data/a.csv.gz
expect_exit 0 "changed file" "$bin" run flow.yaml
contains err.txt "2 ran, 5 cache-valid" "changed a.csv.gz: inputs and joined re-run"
same "$(q raw "SELECT age FROM a WHERE pk = 'ODM MCXHTK AEU'")" 58 "the new value is loaded"

# a new file matching the glob makes a new table and changes the key
cp data/a.csv.gz data/d.csv.gz
expect_exit 0 "added file" "$bin" run flow.yaml
contains err.txt "2 ran" "added d.csv.gz: the glob's task re-runs"
same "$(q raw 'SELECT count(*) FROM d')" 1000 "table d made"
rm data/d.csv.gz
expect_exit 0 "removed file" "$bin" run flow.yaml
contains err.txt "2 ran" "removed d.csv.gz: the glob's task re-runs"

# options are checked when the flow loads, with file:line:column
cat > bad_opt.yaml <<'EOF'
name: bad
stages:
  - name: raw
    tasks:
      - name: t
        load: {path: bom.csv, delimeter: ";"}
EOF
expect_exit 1 "unknown load option" "$bin" run bad_opt.yaml
contains err.txt "bad_opt.yaml:6:31: unknown key .delimeter. in load (did you mean .delimiter.?)" "unknown load option: positioned"
cat > bad_type.yaml <<'EOF'
name: bad
stages:
  - name: raw
    tasks:
      - name: t
        load: {path: bom.csv, columns: {id: int33}}
EOF
expect_exit 1 "unknown column type" "$bin" run bad_type.yaml
contains err.txt "bad_type.yaml:6.*int33" "unknown column type: positioned"
cat > no_match.yaml <<'EOF'
name: bad
stages:
  - name: raw
    tasks:
      - name: t
        load: nothing/*.csv
EOF
expect_exit 1 "glob without a match" "$bin" run no_match.yaml
contains err.txt "no_match.yaml:6:15: task 't': no file matches 'nothing/\*.csv'" "no match: positioned"

# a truncated gzip file fails the task, naming the file
head -c 5000 data/b.csv.gz > cut.csv.gz
printf 'id,v\n1,2\n3\n' > short.csv
cat > broken.yaml <<'EOF'
name: broken
stages:
  - name: raw
    tasks:
      - name: cut
        load: cut.csv.gz
      - name: short
        load: short.csv
EOF
expect_exit 1 "broken inputs" "$bin" run broken.yaml
contains err.txt "cut.csv.gz: the gzip data ends early" "truncated gzip: file named"
contains err.txt "short.csv:3: expected 2 fields, found 1" "bad row: file:line"

# integers beyond int64 stay exact on SQLite (text affinity, never REAL)
printf 'k,big\n1,12345678901234567890\n2,-99999999999999999999999999999999999999\n3,7\n' > wide.csv
cat > wide.yaml <<'EOF'
name: wide
stages:
  - name: w
    tasks:
      - name: wide
        load: wide.csv
EOF
expect_exit 0 "wide integers" "$bin" run wide.yaml
same "$(q w "SELECT group_concat(big, ' ') FROM (SELECT big FROM wide ORDER BY k)")" \
     "12345678901234567890 -99999999999999999999999999999999999999 7" \
     "20- and 38-digit integers exact on SQLite"
expect_exit 0 "wide integers: query" "$bin" query "SELECT big FROM w.wide WHERE k = 1"
contains out.txt "^12345678901234567890$" "wide integer read back through the store"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "all passed"
