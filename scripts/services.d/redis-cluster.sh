# shellcheck shell=bash
# Redis Cluster module for scripts/services (sourced, not run): three masters on 127.0.0.1:7101-7103.
#
# Our own Debian redis-server processes with --cluster-enabled yes, no replicas, no persistence; the
# slots are assigned once with `redis-cli --cluster create`. Used to prove the flash-sale Lua scripts
# (hash-tagged keys, #!lua shebang) run unchanged on a cluster. Files: .local/redis-cluster/<port>/
# (nodes.conf), .local/log/redis-cluster-<port>.log, .local/run/redis-cluster-<port>.pid.

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

REDIS_CLUSTER_HOST=127.0.0.1
REDIS_CLUSTER_PORTS=(7101 7102 7103)
REDIS_CLUSTER_DIR="$LOCAL/redis-cluster"

_rc_pid() {
  local pid
  pid="$(cat "$RUN_DIR/redis-cluster-$1.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] && printf '%s\n' "$pid"
}

_rc_ping() { [ "$(redis-cli -h "$REDIS_CLUSTER_HOST" -p "$1" ping 2>/dev/null)" = PONG ]; }

_rc_ok() { redis-cli -h "$REDIS_CLUSTER_HOST" -p "${REDIS_CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

_rc_known() { # every node knows all three masters
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    [ "$(redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" cluster nodes 2>/dev/null | grep -c master)" -ge ${#REDIS_CLUSTER_PORTS[@]} ] || return 1
  done
}

redis_cluster_start() {
  local port dir pid
  apt_install redis-server redis-tools
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    if pid="$(_rc_pid "$port")"; then
      wait_until 20 "redis cluster node $port" _rc_ping "$port"
      continue
    fi
    port_open "$port" && die "$REDIS_CLUSTER_HOST:$port is taken by another process (not this checkout's cluster node)"
    dir="$REDIS_CLUSTER_DIR/$port"
    mkdir -p "$dir" || die "cannot create $dir"
    # shellcheck disable=SC2094 # both only append to the same log
    (
      cd "$dir" && exec redis-server --bind "$REDIS_CLUSTER_HOST" --port "$port" --protected-mode yes \
        --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 \
        --daemonize yes --pidfile "$RUN_DIR/redis-cluster-$port.pid" --logfile "$LOG_DIR/redis-cluster-$port.log" \
        --dir "$dir" --save '' --appendonly no
    ) </dev/null >>"$LOG_DIR/redis-cluster-$port.log" 2>&1 || die "redis-server on $port failed to start"
    wait_until 20 "redis cluster node $port" _rc_ping "$port"
  done
  if ! _rc_ok; then
    # Fresh nodes (no slots yet): assign the 16384 slots to the three masters. A node that kept an
    # old nodes.conf but lost its peers is reset first, so a half-made cluster is rebuilt whole.
    if [ "$(redis-cli -h "$REDIS_CLUSTER_HOST" -p "${REDIS_CLUSTER_PORTS[0]}" cluster info | sed -n 's/^cluster_slots_assigned:\([0-9]*\).*/\1/p')" != 16384 ]; then
      for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" flushall >/dev/null 2>&1
        redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" cluster reset hard >/dev/null 2>&1
      done
      local nodes=()
      for port in "${REDIS_CLUSTER_PORTS[@]}"; do nodes+=("$REDIS_CLUSTER_HOST:$port"); done
      redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >>"$LOG_DIR/redis-cluster.log" 2>&1 \
        || die "redis-cli --cluster create failed, see $LOG_DIR/redis-cluster.log"
    fi
    wait_until 30 "redis cluster state ok" _rc_ok
  fi
  wait_until 30 "redis cluster nodes to know each other" _rc_known
  say "redis cluster ready on $REDIS_CLUSTER_HOST:${REDIS_CLUSTER_PORTS[*]}"
}

redis_cluster_stop() {
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    if _rc_pid "$port" >/dev/null; then
      stop_pid "redis-cluster-$port" 20
    fi
    rm -f "$RUN_DIR/redis-cluster-$port.pid"
  done
}

redis_cluster_status() {
  local port pid pids=() state=stopped rc=3 up=0
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    if pid="$(_rc_pid "$port")"; then pids+=("$pid"); up=$((up + 1)); else pids+=(-); fi
  done
  if [ "$up" -eq ${#REDIS_CLUSTER_PORTS[@]} ]; then
    if _rc_ok; then state=running rc=0; else state=starting; fi
  elif [ "$up" -gt 0 ]; then
    state=partial
  fi
  printf '%-13s%-9s%s  pid %s  log %s\n' redis-cluster "$state" "$REDIS_CLUSTER_HOST:7101-7103" "$(IFS=,; echo "${pids[*]}")" \
    "${LOG_DIR#"$ROOT"/}/redis-cluster-*.log"
  return $rc
}
