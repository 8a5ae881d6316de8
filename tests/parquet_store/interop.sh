#!/bin/bash
# interop.sh PIPEDAG PQTOOL DUCKDB_SQL LIBDUCKDB NODE_MODULES JS_DIR - the
# Parquet files a ParquetTableStore writes (C/CSV tables by our writer, SQL
# tables by DuckDB's COPY) read right with DuckDB, hyparquet and
# parquet-wasm: each peer's rows compared value by value with DuckDB's
# rendering (tests/interop/js/compare.mjs), normalised by the Arrow schema
# our reader reports.
set -u
PD=$1 PQTOOL=$2 DUCKDB_SQL=$3 LIBDUCKDB=$4
export PD_NODE_MODULES=$5
JS=$6
fail() { echo "parquet_store/interop: FAILED: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/pd-pq-interop-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir data
printf 'id,name,score,day,flag\n1,Ann,1.5,2024-01-31,true\n2,"Bö, b",,2024-02-29,false\n3,,-0.25,,true\n' >data/people.csv
# sorted ids and timestamps, strings: what data page v2 (the default) writes
# with the delta encodings
awk 'BEGIN { print "id,ts,label"; for (i = 0; i < 5000; i++)
    printf "%d,2024-01-01 00:%02d:%02d,k%d\n", 1000 + 3 * i, (i / 60) % 60, i % 60, i }' >data/seq.csv
cat >pipedag.yaml <<'YAML'
instances:
  default:
    instance_id: interop
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "files/"
        url: "duckdb:///catalog.duckdb"
    stage_commit_technique: READ_VIEWS
YAML
cat >flow.yaml <<'YAML'
name: interop
stages:
  - name: raw
    tasks:
      - name: people
        load: data/people.csv
      - name: seq
        load: data/seq.csv
      - name: sql_types
        sql: |
          SELECT i, i * 1.5 AS d, 'x' || i AS s, DATE '2024-01-01' + i::INTEGER AS day,
                 i % 2 = 0 AS even, CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS maybe,
                 SUM(i) OVER () AS total
          FROM range(1000) t(i)
  - name: use
    tasks:
      - name: joined
        sql: SELECT p.id, p.name, s.s FROM {{ raw.people }} p JOIN {{ raw.sql_types }} s ON s.i = p.id
YAML
"$PD" run flow.yaml >/dev/null 2>err.txt || { cat err.txt >&2; fail "run"; }
n=0
for f in files/interop/*/*.parquet; do
    [ -e "$f" ] || fail "no Parquet files written"
    b=$(echo "$f" | tr '/' '_')
    "$PQTOOL" schema "$f" >"$b.schema.json" 2>"$b.err" || fail "$f: our reader: $(cat "$b.err")"
    "$DUCKDB_SQL" "$LIBDUCKDB" --jsonl "$f" >"$b.duck.jsonl" || fail "$f: DuckDB cannot read it"
    node "$JS/hyp_cat.mjs" "$f" >"$b.hyp.jsonl" 2>"$b.err" || fail "$f: hyparquet: $(cat "$b.err")"
    node "$JS/pw_cat.mjs" "$f" >"$b.pw.jsonl" 2>"$b.err" || fail "$f: parquet-wasm: $(cat "$b.err")"
    node "$JS/compare.mjs" --label "$f hyparquet" --lossy-decimal --schema "$b.schema.json" \
        "$b.duck.jsonl" "$b.hyp.jsonl" || fail "$f: hyparquet differs from DuckDB"
    node "$JS/compare.mjs" --label "$f parquet-wasm" --schema "$b.schema.json" \
        "$b.duck.jsonl" "$b.pw.jsonl" || fail "$f: parquet-wasm differs from DuckDB"
    "$PQTOOL" cat "$f" >"$b.ours.jsonl" 2>"$b.err" || fail "$f: our reader: $(cat "$b.err")"
    node "$JS/compare.mjs" --label "$f ours" --schema "$b.schema.json" \
        "$b.duck.jsonl" "$b.ours.jsonl" || fail "$f: our reader differs from DuckDB"
    n=$((n + 1))
done
[ $n -ge 4 ] || fail "expected at least 4 files, found $n"
# the encodings: delta for the sorted integers and the strings with data
# page v2 (the default); PLAIN with parquet_data_page_version: 1
seq=$(ls files/interop/raw__*/seq.parquet)
"$PD" parquet meta "$seq" >meta2.txt || fail "parquet meta $seq"
grep -q "column 0 'id': INT64 .*DELTA_BINARY_PACKED" meta2.txt || fail "v2: id not delta: $(grep "'id'" meta2.txt | head -1)"
grep -q "column 2 'label': .*DELTA_LENGTH_BYTE_ARRAY" meta2.txt || fail "v2: label not DELTA_LENGTH_BYTE_ARRAY"
mkdir v1 && cp -r data v1/ && cd v1
sed 's/^        url: .*/&\n        parquet_data_page_version: 1/' ../pipedag.yaml >pipedag.yaml
cp ../flow.yaml .
"$PD" run flow.yaml >/dev/null 2>err.txt || { cat err.txt >&2; fail "run with data page v1"; }
"$PD" parquet meta files/interop/raw__*/seq.parquet >meta1.txt || fail "parquet meta (v1)"
grep -q "DELTA" meta1.txt && fail "v1: delta encodings written: $(grep DELTA meta1.txt | head -1)"
grep -q "column 0 'id': INT64 .*PLAIN" meta1.txt || fail "v1: id not PLAIN"
"$DUCKDB_SQL" "$LIBDUCKDB" "SELECT count(*), sum(id) FROM read_parquet('$PWD/files/interop/raw__odd/seq.parquet')" >v1.sum ||
    fail "DuckDB cannot read the v1 file"
"$DUCKDB_SQL" "$LIBDUCKDB" "SELECT count(*), sum(id) FROM read_parquet('$work/$seq')" >v2.sum ||
    fail "DuckDB cannot read the v2 file"
cmp -s v1.sum v2.sum || fail "v1 and v2 files differ: $(cat v1.sum) / $(cat v2.sum)"
grep -q 42492500 v1.sum || fail "unexpected sum: $(cat v1.sum)"
# any other value is refused, naming the file and line
sed 's/parquet_data_page_version: 1/parquet_data_page_version: 3/' pipedag.yaml >bad.yaml
mv bad.yaml pipedag.yaml
if "$PD" run flow.yaml >/dev/null 2>err.txt; then fail "parquet_data_page_version: 3 accepted"; fi
grep -q "pipedag.yaml:[0-9]*.*parquet_data_page_version must be 1 or 2" err.txt ||
    fail "bad page version: unexpected message: $(cat err.txt)"
echo "parquet_store/interop: $n files read alike by DuckDB, hyparquet, parquet-wasm and our reader"
