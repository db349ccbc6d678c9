#!/usr/bin/env bash
# Start a local PostgreSQL for the test suite (as root, on 127.0.0.1 only) and print its URL.
#
# Installs the Debian package when missing, starts the first cluster (the package does not start
# it in containers: policy-rc.d), and creates the role `resynergy` (password `resynergy`,
# CREATEDB so the tests can make a throw-away database per session) and the database
# `resynergy_test`. Idempotent. Usage:
#   export RESYNERGY_TEST_PG_URL=$(bash .ci/pg_start.sh)
#   bash .ci/pg_start.sh stop
set -euo pipefail
log() { echo "pg_start: $*" >&2; }
if ! command -v pg_ctlcluster >/dev/null; then
  log "installing postgresql"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
read -r PGVER PGCLUSTER PGPORT < <(pg_lsclusters -h | awk 'NR==1{print $1, $2, $3}')
if [ "${1:-}" = "stop" ]; then
  pg_ctlcluster "$PGVER" "$PGCLUSTER" stop >&2 || true
  exit 0
fi
pg_ctlcluster "$PGVER" "$PGCLUSTER" start >&2 2>/dev/null || true   # already running is fine
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.5; done
pg_isready -q -h 127.0.0.1 -p "$PGPORT" || { log "server did not become ready"; exit 1; }
psql_su() { su postgres -c "psql -p $PGPORT -qtAc \"$1\""; }
psql_su "SELECT 1 FROM pg_roles WHERE rolname='resynergy'" | grep -q 1 \
  || psql_su "CREATE ROLE resynergy LOGIN CREATEDB PASSWORD 'resynergy'" >&2
psql_su "SELECT 1 FROM pg_database WHERE datname='resynergy_test'" | grep -q 1 \
  || su postgres -c "createdb -p $PGPORT -O resynergy resynergy_test" >&2
echo "postgresql+psycopg://resynergy:resynergy@127.0.0.1:${PGPORT}/resynergy_test"
