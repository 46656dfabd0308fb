# shellcheck shell=bash
# PostgreSQL 15 module for scripts/services (sourced, not run).
#
# A private cluster of this checkout, NOT Debian's system cluster (that one, if any, stays untouched):
# initdb'd into .local/postgres/data, listening on 127.0.0.1:5433 only, run by the `postgres` OS user
# (the server refuses to run as root). Role `nexuscart` / password `nexuscart` (SUPERUSER: the tests
# create databases) owns database `nexuscart`:
#   DATABASE_URL=postgres://nexuscart:nexuscart@127.0.0.1:5433/nexuscart
# Files: .local/postgres/{data,run}, .local/log/postgres.log, .local/run/postgres.pid (copied from
# postmaster.pid for the status table). If the postgres user cannot reach .local/ (e.g. the checkout is
# under a 700 home), the cluster lives in /var/lib/postgresql/nexuscart-<hash> instead, and
# .local/postgres/external points there.

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
PG_HOST=127.0.0.1
PG_PORT="${NEXUSCART_PG_PORT:-5433}"
PG_LOG="$LOG_DIR/postgres.log"
PG_PIDFILE="$RUN_DIR/postgres.pid"

# _pg_paths: set PG_BASE, PG_DATA and PG_SOCK (unix socket dir) without touching anything.
_pg_paths() {
  PG_BASE="$LOCAL/postgres"
  [ -L "$PG_BASE/external" ] && PG_BASE="$(readlink "$PG_BASE/external")"
  PG_DATA="$PG_BASE/data"
  # Our own socket dir: Debian's /var/run/postgresql is shared with system clusters (a system cluster on
  # 5433 would collide) and vanishes on reboot. A unix socket path is limited to 107 bytes.
  PG_SOCK="$PG_BASE/run"
  if [ $((${#PG_SOCK} + 14)) -gt 107 ]; then
    PG_SOCK="/tmp/nexuscart-pg-$(printf '%s' "$ROOT" | md5sum | cut -c1-10)"
  fi
}
_pg_paths

_pg_as() { (cd / && runuser -u postgres -- "$@"); } # cd /: the cwd may be unreadable to postgres

# _pg_dirs: create the directories, owned by postgres; fall back outside the repo if it is unreachable.
_pg_dirs() {
  local base="$LOCAL/postgres" alt
  mkdir -p "$base" || die "cannot create $base"
  if [ ! -L "$base/external" ]; then
    chown postgres:postgres "$base" && chmod 700 "$base"
    if ! _pg_as test -w "$base" -a -x "$base"; then
      alt="/var/lib/postgresql/nexuscart-$(printf '%s' "$ROOT" | md5sum | cut -c1-10)"
      say "postgres: the postgres user cannot reach $base (a parent directory is not traversable); using $alt"
      { mkdir -p "$alt" && chown postgres:postgres "$alt" && chmod 700 "$alt"; } || die "cannot create $alt"
      ln -sfn "$alt" "$base/external"
    fi
  fi
  _pg_paths
  { mkdir -p "$PG_DATA" "$PG_SOCK" && chown postgres:postgres "$PG_BASE" "$PG_DATA" "$PG_SOCK" \
    && chmod 700 "$PG_DATA" && chmod 755 "$PG_SOCK"; } || die "cannot prepare $PG_BASE"
}

# _pg_pid: pid of our postmaster (first line of postmaster.pid) when it is alive.
_pg_pid() {
  local pid
  pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || return 1
  # comm check: after a reboot a stale postmaster.pid may name a recycled pid.
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] && printf '%s\n' "$pid"
}

_pg_ready() { "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }

_pg_initdb() {
  say "postgres: initdb ${PG_DATA#"$ROOT"/}"
  # A half-made data dir (interrupted initdb) makes initdb refuse: start from empty.
  find "$PG_DATA" -mindepth 1 -delete
  _pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 || die "initdb failed, see $PG_LOG"
  printf "\n# NexusCart settings, rewritten by scripts/services.d/postgres.sh on every start\ninclude 'nexuscart.conf'\n" \
    >>"$PG_DATA/postgresql.conf"
}

# Rewritten on every start, so a change here applies with `scripts/services restart postgres`.
_pg_conf() {
  cat >"$PG_DATA/nexuscart.conf" <<EOF
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
# Concurrency tests open many connections (two xdist workers may each run a few hundred clients).
max_connections = 1000
shared_buffers = 256MB
# Hash-partitioned order tables: each partition is a lock; tests create and drop many of them.
max_locks_per_transaction = 256
# Speed for tests without risking corruption: a crash may lose the last few commits, nothing more.
# fsync and full_page_writes stay on (off would risk a corrupt cluster after a machine crash).
synchronous_commit = off
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  chown postgres:postgres "$PG_DATA/nexuscart.conf"
}

# Role and database, re-asserted on every start (cheap, and repairs a dropped database).
_pg_bootstrap() {
  _pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres >>"$PG_LOG" 2>&1 <<'SQL' \
    || die "postgres: creating role/database nexuscart failed, see $PG_LOG"
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nexuscart') THEN
    CREATE ROLE nexuscart LOGIN SUPERUSER PASSWORD 'nexuscart';
  ELSE
    ALTER ROLE nexuscart LOGIN SUPERUSER PASSWORD 'nexuscart';
  END IF;
END
$$;
SELECT 'CREATE DATABASE nexuscart OWNER nexuscart'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'nexuscart')\gexec
SQL
}

postgres_start() {
  local pid
  apt_install "postgresql-$PG_VERSION"
  _pg_dirs
  if pid="$(_pg_pid)"; then
    # Ours is up (or still starting / recovering: give it time rather than start a second one).
    wait_until 60 "postgres (pid $pid) on $PG_HOST:$PG_PORT" _pg_ready
    printf '%s\n' "$pid" >"$PG_PIDFILE"
    _pg_bootstrap
    say "postgres already running on $PG_HOST:$PG_PORT (pid $pid)"
    return 0
  fi
  port_open "$PG_PORT" && die "$PG_HOST:$PG_PORT is taken by another process (not this checkout's cluster)"
  [ -f "$PG_DATA/PG_VERSION" ] || _pg_initdb
  _pg_conf
  # No -l: the server inherits pg_ctl's output, a log file opened here by root, so the postgres user
  # needs no write access to .local/log. pg_ctl detaches the server (setsid) and -w waits for it.
  _pg_as "$PG_BIN/pg_ctl" start -D "$PG_DATA" -w -t 60 -s </dev/null >>"$PG_LOG" 2>&1 \
    || die "postgres failed to start, see $PG_LOG"
  wait_until 30 "postgres on $PG_HOST:$PG_PORT" _pg_ready
  pid="$(_pg_pid)" || die "postgres started but wrote no pid"
  printf '%s\n' "$pid" >"$PG_PIDFILE"
  _pg_bootstrap
  say "postgres $PG_VERSION ready on $PG_HOST:$PG_PORT (pid $pid)"
}

postgres_stop() {
  local pid
  _pg_paths # re-read: a start in a subshell may have moved the cluster out of the repo
  if pid="$(_pg_pid)"; then
    say "stopping postgres (pid $pid)"
    # fast: roll back open transactions and disconnect clients (tests may leave idle connections).
    _pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s >>"$PG_LOG" 2>&1 || {
      say "pg_ctl stop failed; signalling pid $pid"
      printf '%s\n' "$pid" >"$PG_PIDFILE"
      stop_pid postgres 30
    }
  fi
  rm -f "$PG_PIDFILE"
  ! _pg_pid >/dev/null
}

postgres_status() {
  local pid state=stopped rc=3
  _pg_paths
  if pid="$(_pg_pid)"; then
    if _pg_ready; then state=running rc=0; else state=starting; fi
  else
    pid=-
  fi
  printf '%-12s%-9s%s  pid %s  log %s\n' postgres "$state" "$PG_HOST:$PG_PORT" "$pid" "${PG_LOG#"$ROOT"/}"
  return $rc
}
