#!/bin/bash
# tests/interop/run_interop.sh - one Parquet interop scenario (run by ctest):
#   duckdb_types            Arrow types our reader reports for DuckDB columns
#   duckdb_to_pipedag       DuckDB writes (6 codecs, v1/v2 pages), our reader reads
#   parquetwasm_to_pipedag  parquet-wasm/arrow-rs writes (codecs, options), our reader reads
#   pipedag_to_duckdb       our writer writes, DuckDB reads
#   pipedag_to_parquetwasm  our writer writes, parquet-wasm reads
#   pipedag_to_hyparquet    our writer writes, hyparquet reads (snappy/uncompressed)
# Every comparison is value by value (js/compare.mjs), normalised by the
# Arrow schema our reader reports. Environment (set by CMakeLists.txt):
# PQTOOL DUCKDB_SQL LIBDUCKDB PD_NODE_MODULES SRC WORK.
set -u
scenario=$1
JS=$SRC/js
work=$WORK/$scenario
rm -rf "$work" && mkdir -p "$work" || exit 1
cd "$work" || exit 1
export PD_NODE_MODULES
fails=0
checks=0

note() { printf '%s\n' "$*"; }
fail() { note "FAIL: $*"; fails=$((fails + 1)); }

# compare LABEL SCHEMA EXPECTED ACTUAL [compare options]
compare() {
    local label=$1 schema=$2 exp=$3 act=$4
    shift 4
    checks=$((checks + 1))
    node "$JS/compare.mjs" --label "$label" --schema "$schema" "$@" "$exp" "$act" || fail "$label"
}

duck() { "$DUCKDB_SQL" "$LIBDUCKDB" "$@"; }

# The DuckDB source table, written once uncompressed (source.parquet), with
# DuckDB's own reading of it as the reference rendering (source.jsonl).
make_source() {
    { cat "$SRC/duckdb_types.sql"
      echo "COPY t TO 'source.parquet' (FORMAT parquet, COMPRESSION uncompressed);"; } > source.sql
    duck -f source.sql > /dev/null || { fail "DuckDB could not write source.parquet"; return 1; }
    duck --jsonl source.parquet > source.jsonl || { fail "DuckDB could not read source.parquet"; return 1; }
}

# Our reader on FILE compared with EXPECTED (rendering of the same data).
check_ours_reads() {
    local label=$1 file=$2 expected=$3
    if ! "$PQTOOL" schema "$file" > "$file.schema.json" 2> "$file.err"; then
        fail "$label: our reader cannot open $file: $(cat "$file.err")"; return
    fi
    if ! "$PQTOOL" cat "$file" > "$file.ours.jsonl" 2> "$file.err"; then
        fail "$label: our reader failed on $file: $(cat "$file.err")"; return
    fi
    compare "$label" "$file.schema.json" "$expected" "$file.ours.jsonl"
}

case $scenario in
duckdb_types)
    # Small, focused: the Arrow type our reader reports for each DuckDB
    # column type (a wrong type breaks every downstream comparison).
    duck "COPY (SELECT 1::TINYINT i8, 1::UTINYINT u8, 1::UBIGINT u64, 1.5::FLOAT f32," \
         "DATE '2024-01-02' d, TIME '01:02:03' tm, TIMESTAMP '2024-01-02 03:04:05.123456' ts," \
         "TIMESTAMPTZ '2024-01-02 03:04:05+00' tstz, TIMESTAMP_MS '2024-01-02 03:04:05.123' ts_ms," \
         "TIMESTAMP_NS '2024-01-02 03:04:05.123456789' ts_ns, TIMESTAMP_S '2024-01-02 03:04:05' ts_s," \
         "1.5::DECIMAL(9,2) dec9, 'x' s, 'x'::BLOB b, uuid() u, [1] li, {'a': 1} st, MAP {'k': 1} m)" \
         "TO 'types.parquet' (FORMAT parquet);" > /dev/null || { fail "DuckDB could not write types.parquet"; }
    if "$PQTOOL" schema types.parquet > types.schema.json 2> types.err; then
        got=$(node -e '
            const s = JSON.parse(require("fs").readFileSync("types.schema.json", "utf8"));
            console.log(s.children.map(c => c.name + "=" + c.format).join(" "))')
        want="i8=c u8=C u64=L f32=f d=tdD tm=ttu ts=tsu: tstz=tsu:UTC ts_ms=tsm: ts_ns=tsn: ts_s=tsu: dec9=d:9,2 s=u b=z u=w:16 li=+l st=+s m=+m"
        checks=$((checks + 1))
        if [ "$got" != "$want" ]; then
            fail "Arrow types of DuckDB columns (types.parquet): expected [$want] got [$got]"
        fi
        duck --jsonl types.parquet > types.jsonl
        check_ours_reads "duckdb(types)->pipedag" types.parquet types.jsonl
    else
        fail "our reader cannot open types.parquet: $(cat types.err)"
    fi
    ;;
duckdb_to_pipedag)
    make_source || exit 1
    for codec in uncompressed snappy gzip zstd lz4 brotli; do
        for v in v1 v2; do
            f=duck_${codec}_$v.parquet
            opts="FORMAT parquet, COMPRESSION $codec"
            [ $v = v2 ] && opts="$opts, PARQUET_VERSION v2, ROW_GROUP_SIZE 1000"
            if ! duck "SET TimeZone='UTC'; CREATE TABLE t AS SELECT * FROM read_parquet('source.parquet');" \
                      "COPY t TO '$f' ($opts);" > /dev/null; then
                fail "DuckDB could not write $f"; continue
            fi
            check_ours_reads "duckdb($codec,$v)->pipedag" "$f" source.jsonl
        done
    done
    ;;
parquetwasm_to_pipedag)
    make_source || exit 1
    i=0
    for spec in "uncompressed" "snappy" "gzip" "zstd" "brotli" "lz4_raw" \
                "snappy --v2" "zstd --v2 --nodict" "uncompressed --nodict --rg 700 --page 4096"; do
        i=$((i + 1))
        f=pw_$i.parquet
        # shellcheck disable=SC2086
        if ! node "$JS/pw_rewrite.mjs" source.parquet "$f" $spec 2> "$f.err"; then
            fail "parquet-wasm could not write $f ($spec): $(cat "$f.err")"; continue
        fi
        check_ours_reads "parquet-wasm($spec)->pipedag" "$f" source.jsonl
    done
    ;;
pipedag_to_*)
    peer=${scenario#pipedag_to_}
    make_source || exit 1
    "$PQTOOL" schema source.parquet > source.schema.json 2> source.err ||
        { fail "our reader cannot read source.parquet: $(cat source.err)"; }
    # (label, file, schema, expected) quadruples written by our writer
    cases=()
    specs=("snappy" "zstd" "gzip" "uncompressed --v2" "brotli --nodict" "lz4_raw --v2 --rg 1000" "none --page 2048")
    [ "$peer" = hyparquet ] && specs=("snappy" "uncompressed" "snappy --v2" "uncompressed --nodict --rg 1000" "snappy --page 2048")
    i=0
    for spec in "${specs[@]}"; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        if "$PQTOOL" rewrite source.parquet rw_$i.parquet $spec 2> rw_$i.err; then
            cases+=("rewrite($spec)" rw_$i.parquet source.schema.json source.jsonl)
        else
            fail "our writer failed rewriting the DuckDB table ($spec): $(cat rw_$i.err)"
        fi
        # shellcheck disable=SC2086
        if "$PQTOOL" gen gen_$i.parquet gen_$i.jsonl gen_$i.schema.json $spec 2> gen_$i.err; then
            cases+=("gen($spec)" gen_$i.parquet gen_$i.schema.json gen_$i.jsonl)
        else
            fail "our writer failed on the generated table ($spec): $(cat gen_$i.err)"
        fi
    done
    extra=()
    [ "$peer" = hyparquet ] && extra=(--lossy-decimal)
    for ((k = 0; k < ${#cases[@]}; k += 4)); do
        label=${cases[k]} f=${cases[k + 1]} schema=${cases[k + 2]} exp=${cases[k + 3]}
        case $peer in
        duckdb) duck --jsonl "$f" > "$f.peer.jsonl" 2> "$f.peer.err" ;;
        parquetwasm) node "$JS/pw_cat.mjs" "$f" > "$f.peer.jsonl" 2> "$f.peer.err" ;;
        hyparquet) node "$JS/hyp_cat.mjs" "$f" > "$f.peer.jsonl" 2> "$f.peer.err" ;;
        *) note "unknown peer $peer"; exit 2 ;;
        esac
        if [ $? -ne 0 ]; then
            fail "pipedag $label -> $peer: $peer cannot read $f: $(head -c 600 "$f.peer.err")"
            continue
        fi
        compare "pipedag $label->$peer" "$schema" "$exp" "$f.peer.jsonl" "${extra[@]}"
    done
    ;;
*)
    note "unknown scenario $scenario"
    exit 2
    ;;
esac

note "$scenario: $checks comparisons, $fails failures (files in $work)"
[ $fails -eq 0 ] && [ $checks -gt 0 ]
