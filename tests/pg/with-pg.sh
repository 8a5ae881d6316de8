#!/bin/sh
# with-pg.sh STATE_DIR CMD... - run CMD with the private test cluster's URL
# in PD_TEST_PG_URL and PD_ACC_PG_URL (for the acceptance suite).
set -eu
state=$1
shift
url=$(cat "$state/url")
PD_TEST_PG_URL=$url
PD_ACC_PG_URL=$url
export PD_TEST_PG_URL PD_ACC_PG_URL
exec "$@"
