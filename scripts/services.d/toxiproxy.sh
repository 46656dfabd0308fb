# shellcheck shell=bash
# toxiproxy module for scripts/services (sourced, not run): Shopify's TCP proxy that injects network
# faults (latency, timeouts, cut connections) on demand through its HTTP API. Used by the fault suite
# (tests/faults), which starts its own on a free port; not in the default service set.
#
# Built once with `go install` (the module's server command lives at cmd/server in v2.5.0, the newest
# the Go proxy serves) into .local/tools/toxiproxy of the checkout (shared by every instance, even one
# with its own NEXUSCART_LOCAL); API on 127.0.0.1:${NEXUSCART_TOXIPROXY_PORT:-8474}.
# Files: $LOCAL/log/toxiproxy.log, $LOCAL/run/toxiproxy.pid.

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

TOXIPROXY_VERSION=v2.5.0
TOXIPROXY_HOST=127.0.0.1
TOXIPROXY_PORT="${NEXUSCART_TOXIPROXY_PORT:-8474}"
TOXIPROXY_DIR="$ROOT/.local/tools/toxiproxy"
TOXIPROXY_BIN="$TOXIPROXY_DIR/toxiproxy-server"
TOXIPROXY_LOG="$LOG_DIR/toxiproxy.log"
TOXIPROXY_PIDFILE="$RUN_DIR/toxiproxy.pid"

_tp_install() {
  local go
  [ -x "$TOXIPROXY_BIN" ] && [ "$(cat "$TOXIPROXY_BIN.version" 2>/dev/null)" = "$TOXIPROXY_VERSION" ] && return 0
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || die "toxiproxy: no Go toolchain (go on PATH or /usr/local/go)"
  mkdir -p "$TOXIPROXY_DIR"
  say "toxiproxy: go install github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION (first run: ~45 s)"
  (cd "$TOXIPROXY_DIR" && GOBIN="$TOXIPROXY_DIR" "$go" install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION") \
    </dev/null >>"$TOXIPROXY_LOG" 2>&1 || die "go install toxiproxy failed, see $TOXIPROXY_LOG"
  mv -f "$TOXIPROXY_DIR/server" "$TOXIPROXY_BIN"
  printf '%s\n' "$TOXIPROXY_VERSION" >"$TOXIPROXY_BIN.version"
}

_tp_pid() {
  local pid
  pid="$(cat "$TOXIPROXY_PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = toxiproxy-serve ] && printf '%s\n' "$pid"
}

_tp_ready() { curl -fsS -o /dev/null --max-time 2 "http://$TOXIPROXY_HOST:$TOXIPROXY_PORT/version"; }

toxiproxy_start() {
  local pid
  _tp_install
  if pid="$(_tp_pid)"; then
    wait_until 10 "toxiproxy (pid $pid)" _tp_ready
    say "toxiproxy already running on $TOXIPROXY_HOST:$TOXIPROXY_PORT (pid $pid)"
    return 0
  fi
  port_open "$TOXIPROXY_PORT" && die "$TOXIPROXY_HOST:$TOXIPROXY_PORT is taken by another process"
  # setsid: survives the calling shell and its Ctrl-C; $! is the server's own pid (see stripe-mock.sh).
  (cd "$LOCAL" && exec setsid "$TOXIPROXY_BIN" -host "$TOXIPROXY_HOST" -port "$TOXIPROXY_PORT") \
    </dev/null >>"$TOXIPROXY_LOG" 2>&1 &
  printf '%s\n' "$!" >"$TOXIPROXY_PIDFILE"
  wait_until 15 "toxiproxy on $TOXIPROXY_HOST:$TOXIPROXY_PORT" _tp_ready
  pid="$(_tp_pid)" || die "toxiproxy answers but pid $(cat "$TOXIPROXY_PIDFILE") is not it"
  say "toxiproxy $TOXIPROXY_VERSION ready on http://$TOXIPROXY_HOST:$TOXIPROXY_PORT (pid $pid)"
}

toxiproxy_stop() {
  if _tp_pid >/dev/null; then
    say "stopping toxiproxy (pid $(_tp_pid))"
    stop_pid toxiproxy 10
  fi
  rm -f "$TOXIPROXY_PIDFILE"
}

toxiproxy_status() {
  local pid state=stopped rc=3
  if pid="$(_tp_pid)"; then
    if _tp_ready 2>/dev/null; then state=running rc=0; else state=starting; fi
  else
    pid=-
  fi
  printf '%-12s%-9s%s  pid %s  log %s\n' toxiproxy "$state" "$TOXIPROXY_HOST:$TOXIPROXY_PORT" "$pid" "${TOXIPROXY_LOG#"$ROOT"/}"
  return $rc
}
