# tests/support/checks.sh - the check helpers of the shell tests, sourced
# (POSIX sh) by tests/cli, tests/load and tests/realistic:
#   . "$(dirname "$0")/../support/checks.sh"
# Each check prints "ok   NAME" or "FAIL NAME ..." (with the evidence, to
# stderr) and counts failures in $failures; the test exits non-zero at the
# end when $failures is not 0.
failures=0
pass() { echo "ok   $1"; }
bad() { echo "FAIL $1" >&2; failures=$((failures + 1)); }
# expect_exit CODE NAME CMD...   (stdout -> out.txt, stderr -> err.txt)
expect_exit() {
    want=$1; name=$2; shift 2
    "$@" >out.txt 2>err.txt
    got=$?
    if [ "$got" -eq "$want" ]; then pass "$name"; else
        bad "$name: exit $got, expected $want"; sed 's/^/    /' err.txt out.txt >&2; fi
}
contains() { # FILE TEXT NAME: grep TEXT (a basic regular expression) in FILE
    if grep -q -- "$2" "$1"; then pass "$3"; else bad "$3: '$2' not in $1"; sed 's/^/    /' "$1" >&2; fi
}
lacks() { # FILE TEXT NAME: TEXT must not match in FILE
    if grep -q -- "$2" "$1"; then bad "$3: '$2' found in $1"; sed 's/^/    /' "$1" >&2; else pass "$3"; fi
}
same() { # GOT WANT NAME
    if [ "$1" = "$2" ]; then pass "$3"; else bad "$3: got '$1', want '$2'"; fi
}
