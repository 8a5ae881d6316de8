#!/bin/sh
# pg-test-cluster.sh - a private, throw-away PostgreSQL 15 cluster for tests.
#
#   scripts/pg-test-cluster.sh start [STATE_DIR]  create + start; prints PD_TEST_PG_URL=...
#   scripts/pg-test-cluster.sh env   [STATE_DIR]  print PD_TEST_PG_URL=... of a running cluster
#   scripts/pg-test-cluster.sh stop  [STATE_DIR]  stop and delete it
#
# STATE_DIR (default /tmp/pipedag-pg-test) holds the data directory, the
# socket directory and the file `url`. The cluster listens on 127.0.0.1 on a
# free port, uses scram-sha-256 password authentication for the test user
# `pdtest` (so bad-password tests are real). initdb refuses to run as root,
# so as root the server runs as user postgres (runuser).
set -eu

cmd=${1:-}
state=${2:-${PD_TEST_PG_STATE:-/tmp/pipedag-pg-test}}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
user=pdtest
password=pdtest_pw_4711

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    # a free loopback port: ask the kernel (bind to port 0)
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + $$ % 20000))
}

case "$cmd" in
start)
    if [ -f "$state/url" ] && as_pg "$bindir/pg_ctl" -D "$state/data" status >/dev/null 2>&1; then
        echo "PD_TEST_PG_URL=$(cat "$state/url")"
        exit 0
    fi
    rm -rf "$state"
    mkdir -p "$state"
    chmod 755 "$state"
    if [ "$(id -u)" = 0 ]; then chown postgres "$state"; fi
    pwfile="$state/pw"
    printf '%s\n' "$password" >"$pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres "$pwfile"; fi
    as_pg "$bindir/initdb" -D "$state/data" -U "$user" --pwfile="$pwfile" -A scram-sha-256 \
        --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 || {
        cat "$state/initdb.log" >&2
        exit 1
    }
    rm -f "$pwfile"
    # The port can be taken between free_port and the server's bind (other
    # test runs on the machine): then start again on another port.
    try=1
    while :; do
        port=$(free_port)
        if as_pg "$bindir/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $state -c fsync=off -c max_connections=200 -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            break
        fi
        cat "$state/server.log" >&2
        as_pg "$bindir/pg_ctl" -D "$state/data" -m immediate -w stop >/dev/null 2>&1 || true
        [ $try -lt 3 ] || exit 1
        try=$((try + 1))
        echo "pg-test-cluster: start failed on port $port; trying another port" >&2
    done
    url="postgresql://$user:$password@127.0.0.1:$port/postgres"
    printf '%s\n' "$url" >"$state/url"
    chmod 644 "$state/url"
    echo "PD_TEST_PG_URL=$url"
    ;;
env)
    [ -f "$state/url" ] || { echo "no cluster in $state (run start first)" >&2; exit 1; }
    echo "PD_TEST_PG_URL=$(cat "$state/url")"
    ;;
stop)
    if [ -d "$state/data" ]; then
        as_pg "$bindir/pg_ctl" -D "$state/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$state"
    ;;
*)
    echo "usage: $0 start|stop|env [STATE_DIR]" >&2
    exit 2
    ;;
esac
