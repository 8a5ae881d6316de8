#!/bin/sh
# tests/core/test_exports.sh LIBRARY INCLUDE_DIR CC
# The dynamic symbols libpipedag.so defines must be exactly the functions
# declared in include/pipedag/*.h (both directions): hidden visibility by
# default, PD_API on every public declaration. Names starting with '_' are
# the toolchain's (C reserves them) and are not compared. No internal
# function (hidden or static) may carry the public prefix pd_.
set -eu
lib=$1
inc=$2
cc=${3:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for h in "$inc"/pipedag/*.h; do
    echo "#include \"pipedag/$(basename "$h")\""
done >"$tmp/all.c"
# gcc's -aux-info lists every function declaration with the file it is in.
if ! "$cc" -std=c11 -I"$inc" -fsyntax-only -aux-info "$tmp/aux.txt" "$tmp/all.c" 2>"$tmp/cc.err"; then
    cat "$tmp/cc.err" >&2
    echo "FAIL: $cc cannot list the declarations (-aux-info needs gcc)" >&2
    exit 1
fi
grep "$inc/pipedag/" "$tmp/aux.txt" | grep -v '\*/ *static ' |
    sed -n 's/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\) *(.*/\1/p' | sort -u >"$tmp/declared"
nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
    grep -v '^_' | sort -u >"$tmp/exported"

n_decl=$(wc -l <"$tmp/declared")
if [ "$n_decl" -lt 50 ]; then
    echo "FAIL: only $n_decl declarations found in $inc/pipedag (parser broken?)" >&2
    exit 1
fi
status=0
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
    echo "FAIL: exported from $(basename "$lib") but not declared in include/pipedag:" >&2
    echo "$extra" | sed 's/^/  /' >&2
    status=1
fi
if [ -n "$missing" ]; then
    echo "FAIL: declared in include/pipedag but not exported (PD_API missing or not defined):" >&2
    echo "$missing" | sed 's/^/  /' >&2
    status=1
fi
# Internal functions (hidden or static) use an internal prefix, never pd_.
nm --defined-only "$lib" | awk 'NF >= 3 && ($2 == "t" || $2 == "T") { print $3 }' |
    sed -e 's/@.*//' -e 's/\.localalias$//' | grep '^pd_' | sort -u >"$tmp/pd_functions" || true
internal=$(comm -13 "$tmp/declared" "$tmp/pd_functions")
if [ -n "$internal" ]; then
    echo "FAIL: internal functions named pd_ (the public prefix):" >&2
    echo "$internal" | sed 's/^/  /' >&2
    status=1
fi
[ $status -eq 0 ] && echo "ok: $n_decl public functions, exactly the exported symbols"
exit $status
