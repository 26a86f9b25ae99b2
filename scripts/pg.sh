#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests and prints its SQLAlchemy URL; `pg.sh stop DIR` stops it.
# Uses Debian's server binaries (apt-get install postgresql); as root it runs the server as the postgres user.
set -euo pipefail
if [ "${1:-}" = "stop" ]; then
  dir=$2
  as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u "$(stat -c %U "$dir")" -- "$@"; else "$@"; fi; }
  as_owner "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/payhub-pg.XXXXXX)
echo "$bindir" > "$dir/bindir"
run() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  chown -R postgres "$dir"
  run() { runuser -u postgres -- "$@"; }
fi
port=${PAYHUB_PG_PORT:-$(( 55000 + RANDOM % 5000 ))}
run "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300 -c shared_buffers=256MB" start >/dev/null
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres $dir"
