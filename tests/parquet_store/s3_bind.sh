#!/bin/sh
# s3_bind.sh PIPEDAG - run under tests/fs/with-s3.sh with PD_TEST_S3_LOG=1
# (the SigV4 checker logs every request and the bytes it sent back).
# A changed stage whose big table is cache-valid: the table must be copied
# server-side and its views bound without downloading it - only HEAD and
# a ranged GET of its footer (one 64 KiB block of src/fs) of a 4 MB object.
set -eu
PD=$1
fail() { echo "s3_bind: FAILED: $*" >&2; exit 1; }
log=$PD_TEST_S3_WORK/checker.log
[ -f "$log" ] || fail "no checker log (run under with-s3.sh with PD_TEST_S3_LOG=1)"
work=$(mktemp -d /tmp/pd-pq-s3bind-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
unset PIPEDAG_CONFIG || true
cat >pipedag.yaml <<YAML
instances:
  default:
    instance_id: s3bind
    stage_commit_technique: READ_VIEWS
    table_store:
      class: ParquetTableStore
      args:
        parquet_base_path: "s3://$PD_TEST_S3_BUCKET/s3bind/"
        s3_endpoint_url: "$PD_TEST_S3_ENDPOINT"
        s3_url_style: path
        url: "duckdb:///catalog/{instance_id}.duckdb"
        create_database_if_not_exists: true
YAML
flow() {
    cat >flow.yaml <<YAML
name: s3bind
stages:
  - name: stage_1
    tasks:
      - name: big
        sql: SELECT range AS id, range * 7 % 1000003 AS x, md5(CAST(range AS VARCHAR)) AS h FROM range(100000)
      - name: small
        sql: SELECT $1 AS k
  - name: stage_2
    tasks:
      - name: uses_small
        sql: SELECT k + 1 AS k1 FROM {{ stage_1.small }}
YAML
}
flow 1
"$PD" run flow.yaml >out 2>err || { cat err >&2; fail "first run"; }
n0=$(wc -l <"$log")

flow 2
"$PD" run flow.yaml >out 2>err || { cat err >&2; fail "second run"; }
grep -q "^2 ran, 1 cache-valid, 0 failed" err || { cat err >&2; fail "second run: expected big cache-valid"; }
new=$(tail -n +"$((n0 + 1))" "$log")
size=$(find "$PD_TEST_S3_DIR" -path '*s3bind/stage_1__odd/big.parquet*' -name '*._S3rver_object' -exec stat -c %s {} \; | head -1)
[ -n "$size" ] && [ "$size" -gt 200000 ] || fail "big.parquet is $size bytes; expected > 200 KB"
# the copy: a PUT of the new slot's object (CopyObject), no upload of it
echo "$new" | grep -qE 'sigv4proxy: PUT /[^ ]*/s3bind/s3bind/stage_1__even/big.parquet' ||
    fail "big.parquet was not copied into the new slot"
got=$(echo "$new" | awk '/sigv4proxy: sent GET .*big\.parquet/ { for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) { sub("bytes=", "", $i); s += $i; n++ } } END { printf "%d %d", n, s }')
gets=${got% *}
bytes=${got#* }
echo "s3_bind: changed stage, cache-valid big.parquet ($size bytes): $gets GETs, $bytes bytes read"
[ "$bytes" -lt $((size / 4)) ] || fail "the cache-valid table was downloaded ($bytes of $size bytes)"
[ "$bytes" -le 65536 ] || fail "more than the footer block was read: $bytes bytes"
# still reads right (this query downloads: it reads data)
got=$("$PD" query "SELECT COUNT(*) AS n, SUM(x) AS s FROM stage_1.big" 2>qerr) || { cat qerr >&2; fail "query"; }
[ "$got" = "$(printf 'n,s\n100000,34999650000')" ] || { echo "$got" >&2; fail "wrong content"; }
echo "s3_bind: OK"
