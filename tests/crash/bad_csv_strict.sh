#!/bin/sh
# bad_csv_strict.sh PIPEDAG - CSV input that the loader must not silently
# alter: a NUL byte inside a field, text after a closing quote, and the line
# number of an unterminated quote. Each must fail the load task with a message
# naming the file and line (or, for text after a quote, keep the text).
# (The loader was made strict in commit aeaafa4; this guards it.)
set -u
PD=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/pd-csv-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
cat >flow.yaml <<'YAML'
name: csv
stages:
  - name: s1
    tasks:
      - name: src
        load: d.csv
YAML
errors=0
check() { # check NAME PRINTF-CSV EXPECTED-ROWS-OR-ERROR
    printf "$2" >d.csv
    if "$PD" run flow.yaml >out 2>&1; then
        got=$("$PD" query "SELECT * FROM s1.src" | tr '\n' ' ')
        [ "$got" = "$3" ] && return 0
        echo "FAIL: $1: the load succeeded with rows '$got' (the input was changed silently)" >&2
    else
        grep -q "d.csv:$4" out && return 0
        echo "FAIL: $1: the error does not name d.csv:$4: $(cat out)" >&2
    fi
    errors=$((errors + 1))
}
# a NUL byte inside a field: either kept or an error at line 3
check "NUL byte in a field" 'id,v\n1,a\n2\0003,b\n' "keep-not-possible" 3
# text after a closing quote: "1"x is 1x (as Python's csv module) or an error
check "text after a closing quote" 'id,v\n"1"x,a\n' 'id,v 1x,a ' 2
# an unterminated quote: the error names the line where the field starts
check "unterminated quote" 'id,v\n1,a\n2,"b\n3,c\n' "never" 3
[ $errors = 0 ] || fail "$errors CSV input(s) handled wrongly"
echo ok
