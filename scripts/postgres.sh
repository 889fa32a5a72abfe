#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on loopback for the tests (installs Debian's server if
# missing). Prints the URL on stdout. Usage: scripts/postgres.sh start|stop [DIR] [PORT]
set -euo pipefail
action=${1:-start}
dir=${2:-/tmp/pathway-pg}
port=${3:-54329}

find_bin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  return 1
}

if ! bin=$(find_bin); then
  echo "installing postgresql from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi

case "$action" in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir" && chown postgres:postgres "$dir"
      runuser -u postgres -- "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 >/dev/null
      cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    fi
    if ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null
    fi
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
  restart)
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast -w restart -l "$dir/server.log" >/dev/null
    ;;
  *) echo "usage: $0 start|stop|restart [DIR] [PORT]" >&2; exit 2 ;;
esac
