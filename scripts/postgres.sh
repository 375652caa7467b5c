#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests (installs it with apt if needed):
# a cluster in a temp directory, loopback only, trust auth. Prints the server URL on stdout.
# Usage: url=$(bash scripts/postgres.sh start DIR PORT); bash scripts/postgres.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data directory}; port=${3:-55432}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
case "$cmd" in
  start)
    rm -rf "$dir"; mkdir -p "$dir"; chown postgres:postgres "$dir"
    runuser -u postgres -- "$pgbin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log"
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >&2
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    ;;
esac
