#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing
# (Debian packages, npm peers), builds pipedag-c with ASan + UBSan +
# LeakSanitizer, runs every ctest test (unit, integration against real
# SQLite / Postgres / DuckDB / S3 peers, interop, fuzz-corpus replay), then a
# short libFuzzer smoke run of the Parquet reader and of the Snappy decoder
# (against libsnappy). Two more checks keep documented builds working:
# a Release build (compile only, BUILD-release/; gcc warns differently with
# optimisation) and a clone check: `git clone` of HEAD into an empty temp
# folder (no sibling folders), a plain Debug build of the clone and its
# `parquet_read` test (reads the vendored Parquet files), so nothing may
# depend on a path outside the repository. Uncommitted changes are not part
# of the clone.
#
#   scripts/test.sh            # everything
#   PD_FUZZ_SECONDS=0 scripts/test.sh   # skip the fuzz smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh

BUILD=${PD_TEST_BUILD_DIR:-$ROOT/build-test}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DPD_WERROR=ON \
      -DPD_SANITIZE="address;undefined" -DPD_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0
status=0
failed=() # steps outside ctest that failed; named again after ctest's summary
# The bounded fuzz run goes first so that ctest's summary ends the output.
FUZZ=${PD_FUZZ_SECONDS:-60}
fuzz_smoke() { # TARGET SECONDS
    echo "== fuzz smoke: $1, ${2}s"
    if bash scripts/fuzz-parquet.sh "$2" "$1" > "$BUILD/fuzz-$1.log" 2>&1; then
        grep -E "^Done [0-9]+ runs" "$BUILD/fuzz-$1.log" || true
    else
        tail -40 "$BUILD/fuzz-$1.log"
        echo "fuzz smoke: $1 FAILED (crash input saved under build-fuzz/)"
        failed+=("fuzz smoke $1")
        status=1
    fi
}
if [ "$FUZZ" -gt 0 ] && [ -x scripts/fuzz-parquet.sh ]; then
    fuzz_smoke parquet_read_fuzzer "$FUZZ"
    fuzz_smoke snappy_fuzzer $(( FUZZ / 3 > 0 ? FUZZ / 3 : 1 ))
fi

# Release: compile everything (tests on, -Werror), run nothing.
REL=$BUILD-release
echo "== release build: $REL"
if ! { cmake -S "$ROOT" -B "$REL" -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=ON \
             >"$BUILD/release-build.log" 2>&1 &&
       cmake --build "$REL" -j2 >>"$BUILD/release-build.log" 2>&1; }; then
    grep -E -B2 -A6 "error|Error" "$BUILD/release-build.log" | tail -60
    echo "release build FAILED (log: $BUILD/release-build.log)"
    failed+=("release build")
    status=1
fi

# Clone check: the committed HEAD must build and read its test data alone.
clone_check() {
    local tmp rc=0
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/pipedag-clone.XXXXXX")
    local src=$tmp/pipedag-c log=$BUILD/clone-check.log
    echo "== clone check: HEAD $(git rev-parse --short HEAD) in $src"
    { git clone -q "$ROOT" "$src" &&
      git -C "$src" checkout -q --detach "$(git rev-parse HEAD)" &&
      cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Debug -DPD_BUILD_TESTS=ON &&
      cmake --build "$src/build" -j2 &&
      (cd "$src/build" && ctest --output-on-failure --no-tests=error -R '^parquet_read$'); } >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -40 "$log"
        echo "clone check FAILED (log: $log)"
    else
        grep -E "tests passed" "$log" || true
    fi
    rm -rf "$tmp"
    return "$rc"
}
clone_check || { status=1; failed+=("clone check"); }
(cd "$BUILD" && ctest --output-on-failure -j2 --timeout 900) || status=$?
if [ "${#failed[@]}" -gt 0 ]; then
    printf 'test.sh: FAILED outside ctest (see above):'
    printf ' [%s]' "${failed[@]}"
    echo
fi
exit $status
