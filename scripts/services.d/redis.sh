# shellcheck shell=bash
# Redis 7 module for scripts/services (sourced, not run).
#
# Our own redis-server on 127.0.0.1:6380 (REDIS_URL=redis://127.0.0.1:6380/0), started from the command
# line, not from Debian's /etc/redis/redis.conf. Installing the package may start Debian's own service on
# 6379: that one is not ours and is left alone.
# Persistence: append-only file, fsync every second (NEXUSCART_REDIS_APPENDFSYNC=always|everysec|no),
# no RDB snapshots, never evict: flash-sale stock, per-user counters and the reservation stream live
# here, and a restart must not forget a unit a buyer was promised (a kill -9 loses at most ~1 s).
# everysec, not always: scripts/bench/redis_fsync (token + purchase, 64 concurrent, 2-core box at
# load 5.6-9.9) measured 4,567 purchases/s p99 33 ms with everysec vs 2,600/s p99 69 ms with always;
# what a crash may still lose in that second is rebuilt from PostgreSQL at the re-warm.
# Files: .local/redis (working dir, appendonlydir/), .local/log/redis.log, .local/run/redis.pid; a
# second instance of its own (fault tests): NEXUSCART_LOCAL=<dir> NEXUSCART_REDIS_PORT=<port>.

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

REDIS_HOST=127.0.0.1
REDIS_PORT="${NEXUSCART_REDIS_PORT:-6380}"
REDIS_DIR="$LOCAL/redis"
REDIS_LOG="$LOG_DIR/redis.log"
REDIS_PIDFILE="$RUN_DIR/redis.pid"
REDIS_MAXCLIENTS=10000
REDIS_APPENDFSYNC="${NEXUSCART_REDIS_APPENDFSYNC:-everysec}"

# _redis_pid: the recorded pid when it is a live redis-server (a stale pid file may name a recycled pid).
_redis_pid() {
  local pid
  pid="$(cat "$REDIS_PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] && printf '%s\n' "$pid"
}

_redis_ping() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_start() {
  local pid
  apt_install redis-server
  if pid="$(_redis_pid)"; then
    wait_until 30 "redis (pid $pid) on $REDIS_HOST:$REDIS_PORT" _redis_ping
    say "redis already running on $REDIS_HOST:$REDIS_PORT (pid $pid)"
    return 0
  fi
  port_open "$REDIS_PORT" && die "$REDIS_HOST:$REDIS_PORT is taken by another process (not this checkout's redis)"
  mkdir -p "$REDIS_DIR" || die "cannot create $REDIS_DIR"
  rm -f "$REDIS_PIDFILE"
  # maxclients needs maxclients + 32 file descriptors: raise the soft limit in this subshell if we can
  # (redis lowers maxclients with a warning in the log otherwise). --daemonize: redis detaches itself
  # (own session) and writes the pid file. Its early errors go to our redirect, later ones to --logfile.
  # shellcheck disable=SC2094 # both only append to the same log
  (
    ulimit -n $((REDIS_MAXCLIENTS + 32)) 2>/dev/null || true
    cd "$REDIS_DIR" && exec redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --protected-mode yes \
      --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
      --save '' --appendonly yes --appendfsync "$REDIS_APPENDFSYNC" --maxmemory-policy noeviction \
      --maxclients "$REDIS_MAXCLIENTS" --databases 64
  ) </dev/null >>"$REDIS_LOG" 2>&1 || die "redis-server failed to start, see $REDIS_LOG"
  wait_until 20 "redis on $REDIS_HOST:$REDIS_PORT" _redis_ping
  wait_until 5 "redis pid file" _redis_pid
  say "redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') ready on $REDIS_HOST:$REDIS_PORT (pid $(_redis_pid))"
}

redis_stop() {
  local pid
  if pid="$(_redis_pid)"; then
    say "stopping redis (pid $pid)"
    stop_pid redis 20 # SIGTERM = clean shutdown (AOF flushed), SIGKILL after 20 s
  fi
  rm -f "$REDIS_PIDFILE"
}

redis_status() {
  local pid state=stopped rc=3
  if pid="$(_redis_pid)"; then
    if _redis_ping; then state=running rc=0; else state=starting; fi
  else
    pid=-
  fi
  printf '%-12s%-9s%s  pid %s  log %s\n' redis "$state" "$REDIS_HOST:$REDIS_PORT" "$pid" "${REDIS_LOG#"$ROOT"/}"
  return $rc
}
