#!/usr/bin/env bash
# Installs everything pipedag-c needs to build and test on Debian 12:
# Debian packages (apt-get, as root) and npm peers (into .deps/npm).
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config git
      libsqlite3-dev sqlite3 libpq-dev postgresql postgresql-client
      libcurl4-openssl-dev libssl-dev libyaml-dev zlib1g-dev libzstd-dev
      libsnappy-dev liblz4-dev libbrotli-dev libbz2-dev liblzma-dev unixodbc-dev odbc-postgresql
      libsqliteodbc tdsodbc libcmocka-dev clang-14 libclang-rt-14-dev graphviz
      nodejs npm awscli)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v node >/dev/null 2>&1; then :; else
        # node/npm may come from elsewhere on this machine; don't force Debian's.
        tmp=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
        missing=("${tmp[@]+"${tmp[@]}"}")
    fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${PD_SKIP_NPM:-0}" != 1 ]; then
    mkdir -p .deps/npm
    cp scripts/npm/package.json .deps/npm/package.json
    if [ ! -f .deps/npm/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so ] ||
       [ scripts/npm/package.json -nt .deps/npm/.installed ]; then
        echo "install-deps: installing npm peers into .deps/npm"
        (cd .deps/npm && npm install --no-audit --no-fund --loglevel=error >/dev/null)
        touch .deps/npm/.installed
    fi
fi
