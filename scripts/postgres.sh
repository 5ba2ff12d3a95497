#!/usr/bin/env bash
# A throwaway PostgreSQL for the grade store's tests: `start` (prints the URL), `url`, `stop`.
# The cluster lives in $PG_DIR (default var/pg), listens on 127.0.0.1 only and trusts every
# local connection, so it must never hold anything worth keeping; `rm -rf $PG_DIR` resets it.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_dir=$(realpath -m "${PG_DIR:-$repo_root/var/pg}")  # absolute: the server runs from /
data_dir=$pg_dir/data
port_file=$pg_dir/port
log_file=$pg_dir/server.log
database=grades

usage() {
  echo "usage: $0 start|stop|url   (PG_DIR=$pg_dir, PG_PORT to prefer a port, PG_BIN for the binaries)" >&2
  exit 2
}

# Debian puts the server binaries under a versioned folder that is not on PATH; take the newest.
find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/pg_ctl" ] || { echo "postgres.sh: PG_BIN=$PG_BIN has no pg_ctl" >&2; exit 1; }
    echo "$PG_BIN"; return
  fi
  local candidate
  candidate=$(compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" | sort -V | tail -n 1 || true)
  if [ -n "$candidate" ]; then dirname "$candidate"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/pg_ctl" ]; then pg_config --bindir; return; fi
  echo "postgres.sh: no PostgreSQL server binaries found (looked for /usr/lib/postgresql/*/bin/pg_ctl);" \
       "run scripts/install_system_packages.sh or apt-get install postgresql" >&2
  exit 1
}
bin=$(find_bin)

# initdb and pg_ctl refuse to run as root, so as root the cluster belongs to Debian's `postgres` user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

port_is_free() {
  python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

choose_port() {
  local preferred=${PG_PORT:-54329}
  if port_is_free "$preferred"; then echo "$preferred"; return; fi
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

is_running() {
  [ -f "$data_dir/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$data_dir" >/dev/null 2>&1
}

url() {
  echo "postgresql+psycopg://postgres@127.0.0.1:$(cat "$port_file")/$database"
}

psql_admin() {
  "$bin/psql" -X -q -h 127.0.0.1 -p "$(cat "$port_file")" -U postgres -d postgres -v ON_ERROR_STOP=1 -tA "$@"
}

start() {
  if is_running; then url; return; fi
  mkdir -p "$pg_dir"

  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "postgres.sh: running as root needs the 'postgres' system user (apt-get install postgresql creates it)" >&2; exit 1; }
    chown -R postgres: "$pg_dir"
    runuser -u postgres -- test -x "$pg_dir" || { echo "postgres.sh: user postgres cannot reach $pg_dir; set PG_DIR to a folder it can (e.g. under /tmp)" >&2; exit 1; }
  fi

  if [ ! -f "$data_dir/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data_dir" --username=postgres --auth=trust --encoding=UTF8 --no-instructions >"$pg_dir/initdb.log" 2>&1 \
      || { echo "postgres.sh: initdb failed:" >&2; cat "$pg_dir/initdb.log" >&2; exit 1; }
  fi

  choose_port >"$port_file"
  # The socket goes in the data folder so that nothing needs /var/run/postgresql;
  # fsync is off because the cluster is thrown away and tests should not wait on the disk.
  if ! as_owner "$bin/pg_ctl" start -D "$data_dir" -l "$log_file" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $(cat "$port_file") -k $data_dir -c fsync=off" >/dev/null; then
    echo "postgres.sh: the server did not start; the end of $log_file:" >&2
    tail -n 30 "$log_file" >&2 || true
    exit 1
  fi

  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $database"
  fi
  url
}

stop() {
  if is_running; then
    as_owner "$bin/pg_ctl" stop -D "$data_dir" -m fast -w >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url)
    is_running || { echo "postgres.sh: not running; use '$0 start'" >&2; exit 1; }
    url ;;
  *) usage ;;
esac
