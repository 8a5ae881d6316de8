#!/usr/bin/env bash
# bench/s3/bench.sh BUILD_DIR - run under tests/fs/with-s3.sh (bench/s3/run.sh
# does). Upload and download of 256 MiB to the loopback S3 server (s3rver
# behind the SigV4 checker) with pd_fscp (src/fs), `aws s3 cp` and plain
# `curl --aws-sigv4` (one stream), in the same run; each transfer is checked
# with cmp. Then 2 of 7 columns of a ~1 GB Parquet file on S3.
set -euo pipefail
BUILD=$1
FSCP=$BUILD/bench/s3/pd_fscp
W=$PD_TEST_S3_WORK/bench
mkdir -p "$W"
B=$PD_TEST_S3_BUCKET EP=$PD_TEST_S3_ENDPOINT
export AWS_ENDPOINT_URL=$EP
AWS=aws
[ -x /usr/bin/aws ] && AWS=/usr/bin/aws
MIB=${PD_BENCH_MIB:-256}
REPS=${PD_BENCH_REPS:-2}
# pd_fscp options: 2 transfers in flight suit this 2-core loopback server
# (s3rver and the checker are single-threaded node processes); the library
# default is 4
read -r -a OURS <<<"${PD_BENCH_OURS_OPTS:---concurrency 2}"
# and with one part as large as the file: a single PUT / single GET stream,
# as curl does (s3rver copies every multipart object once more to complete it)
read -r -a OURS1 <<<"${PD_BENCH_OURS1_OPTS:---part-mb 512 --concurrency 1}"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$W/src"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

t() { local a b; a=$(date +%s.%N); "$@" >/dev/null; b=$(date +%s.%N); echo "$b - $a" | bc -l; }
best() { printf '%s\n' "$@" | sort -g | head -1; }
rate() { echo "scale=1; $MIB / $1" | bc -l; }

declare -A UP DOWN
TOOLS=(ours ours1 awscli curl)
for tool in "${TOOLS[@]}"; do
    ups=() downs=()
    for rep in $(seq 1 "$REPS"); do
        key="bench/$tool-$rep"
        rm -f "$W/dst"
        case $tool in
        ours)
            ups+=("$(t "$FSCP" "${OURS[@]}" "$W/src" "s3://$B/$key")")
            downs+=("$(t "$FSCP" "${OURS[@]}" "s3://$B/$key" "$W/dst")") ;;
        ours1)
            ups+=("$(t "$FSCP" "${OURS1[@]}" "$W/src" "s3://$B/$key")")
            downs+=("$(t "$FSCP" "${OURS1[@]}" "s3://$B/$key" "$W/dst")") ;;
        awscli)
            ups+=("$(t "$AWS" --endpoint-url "$EP" --region us-east-1 s3 cp --quiet "$W/src" "s3://$B/$key")")
            downs+=("$(t "$AWS" --endpoint-url "$EP" --region us-east-1 s3 cp --quiet "s3://$B/$key" "$W/dst")") ;;
        curl)
            ups+=("$(t curl -sS --fail --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER \
                -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$W/src" "$EP/$B/$key")")
            downs+=("$(t curl -sS --fail --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER \
                -H "x-amz-content-sha256: $EMPTY" -o "$W/dst" "$EP/$B/$key")") ;;
        esac
        cmp "$W/src" "$W/dst" || { echo "bench: $tool download differs" >&2; exit 1; }
        "$FSCP" --rm "s3://$B/$key"
    done
    UP[$tool]=$(best "${ups[@]}")
    DOWN[$tool]=$(best "${downs[@]}")
done
printf '\nS3 loopback, %d MiB, best of %d (MiB/s); ours: pd_fscp %s; ours1: pd_fscp %s\n' \
    "$MIB" "$REPS" "${OURS[*]}" "${OURS1[*]}"
printf '  %-8s %10s %10s\n' tool upload download
for tool in "${TOOLS[@]}"; do
    printf '  %-8s %10s %10s\n' "$tool" "$(rate "${UP[$tool]}")" "$(rate "${DOWN[$tool]}")"
done
r() { echo "scale=2; $2 / $1" | bc -l; }
printf '  ours / awscli: upload %sx, download %sx (goal >= 1.5x)\n' \
    "$(r "${UP[ours]}" "${UP[awscli]}")" "$(r "${DOWN[ours]}" "${DOWN[awscli]}")"
printf '  ours / curl  : upload %sx, download %sx (goal >= 0.8x)\n' \
    "$(r "${UP[ours]}" "${UP[curl]}")" "$(r "${DOWN[ours]}" "${DOWN[curl]}")"
printf '  ours1 / awscli: upload %sx, download %sx\n' \
    "$(r "${UP[ours1]}" "${UP[awscli]}")" "$(r "${DOWN[ours1]}" "${DOWN[awscli]}")"
printf '  ours1 / curl  : upload %sx, download %sx\n\n' \
    "$(r "${UP[ours1]}" "${UP[curl]}")" "$(r "${DOWN[ours1]}" "${DOWN[curl]}")"
rm -f "$W/src" "$W/dst"

if [ "${PD_BENCH_PARQUET_MB:-1000}" -gt 0 ]; then
    "$BUILD/bench/s3/bench_s3_parquet" "s3://$B/bench/wide.parquet" "${PD_BENCH_PARQUET_MB:-1000}"
fi
