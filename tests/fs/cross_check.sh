#!/usr/bin/env bash
# cross_check.sh PIPEDAG PD_FSCP DATA_DIR - run under with-s3.sh.
# 1. awscli cross-check: objects written by us (small PUT and multipart) read
#    right with `aws s3 cp`, and objects written by awscli (also multipart)
#    read right with us.
# 2. `pipedag parquet schema|meta|head|cat|convert` on s3:// URLs, path and
#    virtual-host style, and `--columns` fetching only those column chunks.
set -euo pipefail
PIPEDAG=$1 FSCP=$2 DATA=$3
W=$PD_TEST_S3_WORK/xc
export AWS_ENDPOINT_URL=$PD_TEST_S3_ENDPOINT
mkdir -p "$W"
B=$PD_TEST_S3_BUCKET
AWS=aws
[ -x /usr/bin/aws ] && AWS=/usr/bin/aws
command -v "$AWS" >/dev/null || { echo "cross_check: awscli not installed (scripts/install-deps.sh)"; exit 1; }
aws_() { "$AWS" --endpoint-url "$PD_TEST_S3_ENDPOINT" --region us-east-1 "$@"; }
fail() { echo "cross_check: FAIL: $*" >&2; exit 1; }

head -c 3000 /dev/urandom >"$W/small"
head -c $((21 * 1024 * 1024 + 17)) /dev/urandom >"$W/big"

# ours -> awscli
"$FSCP" --part-mb 5 "$W/small" "s3://$B/xc/ours-small"
"$FSCP" --part-mb 5 "$W/big" "s3://$B/xc/ours-big"
aws_ s3 cp --quiet "s3://$B/xc/ours-small" "$W/aws-small"
aws_ s3 cp --quiet "s3://$B/xc/ours-big" "$W/aws-big"
cmp "$W/small" "$W/aws-small" || fail "awscli reads our small object differently"
cmp "$W/big" "$W/aws-big" || fail "awscli reads our multipart object differently"
echo "ok: awscli reads our objects (small PUT, 5-part upload)"

# awscli -> ours (awscli uses multipart above 8 MiB)
aws_ s3 cp --quiet "$W/small" "s3://$B/xc/aws-small"
aws_ s3 cp --quiet "$W/big" "s3://$B/xc/aws-big"
"$FSCP" "s3://$B/xc/aws-small" "$W/ours-small"
"$FSCP" --part-mb 5 "s3://$B/xc/aws-big" "$W/ours-big"
cmp "$W/small" "$W/ours-small" || fail "we read awscli's small object differently"
cmp "$W/big" "$W/ours-big" || fail "we read awscli's multipart object differently"
"$FSCP" --ls "s3://$B/xc/" | grep -q "22020113 s3://$B/xc/aws-big" || fail "listing"
echo "ok: we read awscli's objects (small PUT, multipart)"

# pipedag parquet on s3://
export AWS_ENDPOINT_URL=$PD_TEST_S3_ENDPOINT
for f in "$DATA"/types.parquet "$DATA"/nested.parquet; do
    n=$(basename "$f")
    aws_ s3 cp --quiet "$f" "s3://$B/pq/$n"
    for cmd in schema meta; do
        "$PIPEDAG" parquet $cmd "$f" >"$W/l.$cmd"
        "$PIPEDAG" parquet $cmd "s3://$B/pq/$n" >"$W/s.$cmd"
        cmp "$W/l.$cmd" "$W/s.$cmd" || fail "parquet $cmd differs on s3 for $n"
    done
    "$PIPEDAG" parquet cat "$f" >"$W/l.cat"
    "$PIPEDAG" parquet cat --threads 3 "s3://$B/pq/$n" >"$W/s.cat"
    cmp "$W/l.cat" "$W/s.cat" || fail "parquet cat differs on s3 for $n"
    "$PIPEDAG" parquet head -n 3 --format csv "$f" >"$W/l.head"
    AWS_ENDPOINT_URL=$PD_TEST_S3_HOSTNAME "$PIPEDAG" parquet head -n 3 --format csv \
        "s3://$B/pq/$n" >"$W/s.head" # virtual-host style (auto: bucket.s3.localhost)
    cmp "$W/l.head" "$W/s.head" || fail "parquet head differs on s3 for $n"
    # convert: s3 -> s3 (streaming multipart writer), read back with awscli
    "$PIPEDAG" parquet convert "s3://$B/pq/$n" "s3://$B/pq/conv-$n" --codec zstd
    aws_ s3 cp --quiet "s3://$B/pq/conv-$n" "$W/conv.parquet"
    "$PIPEDAG" parquet cat "$W/conv.parquet" >"$W/c.cat"
    cmp "$W/l.cat" "$W/c.cat" || fail "parquet convert to s3 changed the rows of $n"
done
echo "ok: pipedag parquet schema/meta/head/cat/convert on s3:// (path and virtual-host style)"

# --columns reads only those columns' chunks
cols=$("$PIPEDAG" parquet schema "$DATA/types.parquet" | head -2 | cut -d: -f1 | paste -sd,)
"$PIPEDAG" parquet cat --columns "$cols" "$DATA/types.parquet" >"$W/l.cols"
"$PIPEDAG" parquet cat --columns "$cols" "s3://$B/pq/types.parquet" >"$W/s.cols"
cmp "$W/l.cols" "$W/s.cols" || fail "parquet cat --columns differs on s3"
[ -s "$W/l.cols" ] || fail "no rows"

# errors: missing object / bucket, wrong secret
if "$PIPEDAG" parquet schema "s3://$B/pq/missing.parquet" 2>"$W/err"; then fail "missing object"; fi
grep -q "does not exist" "$W/err" || fail "missing object message: $(cat "$W/err")"
if "$PIPEDAG" parquet schema "s3://no-such-bucket-zz/x.parquet" 2>"$W/err"; then fail "missing bucket"; fi
grep -q "bucket 'no-such-bucket-zz' does not exist" "$W/err" || fail "missing bucket message: $(cat "$W/err")"
if AWS_SECRET_ACCESS_KEY=not-the-secret-123 "$PIPEDAG" parquet schema "s3://$B/pq/types.parquet" 2>"$W/err"; then
    fail "wrong secret accepted"
fi
grep -q "signature does not match" "$W/err" || fail "wrong secret message: $(cat "$W/err")"
grep -q "$PD_TEST_S3_ENDPOINT" "$W/err" || fail "endpoint not named: $(cat "$W/err")"
if grep -q "not-the-secret-123" "$W/err"; then fail "secret in error message"; fi
echo "ok: clear errors (missing object, missing bucket, wrong secret without the secret)"
