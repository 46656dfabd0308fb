# shellcheck shell=bash
# toxiproxy module for scripts/services (sourced, not run): Shopify's TCP proxy that injects network
# faults (latency, timeouts, cut connections) on demand through its HTTP API. Used by the fault suite
# (tests/faults), which starts its own on a free port; not in the default service set.
#
# Built once with `go install` (the module's server command lives at cmd/server in v2.5.0, the newest
# the Go proxy serves) into .local/tools/toxiproxy of the checkout (shared by every instance, even one
# with its own NEXUSCART_LOCAL); API on 127.0.0.1:${NEXUSCART_TOXIPROXY_PORT:-8474}.
# Files: $LOCAL/log/toxiproxy.log, $LOCAL/run/toxiproxy.pid (daemon_* helpers of _lib.sh).

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

TOXIPROXY_VERSION=v2.5.0
TOXIPROXY_HOST=127.0.0.1
TOXIPROXY_PORT="${NEXUSCART_TOXIPROXY_PORT:-8474}"
TOXIPROXY_DIR="$ROOT/.local/tools/toxiproxy"
TOXIPROXY_BIN="$TOXIPROXY_DIR/toxiproxy-server"
TOXIPROXY_LOG="$LOG_DIR/toxiproxy.log"

_tp_install() {
  go_tool_install toxiproxy "$TOXIPROXY_BIN" "$TOXIPROXY_VERSION" "$TOXIPROXY_DIR" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" "first run: ~45 s"
}

_tp_pid() { daemon_pid toxiproxy toxiproxy-serve; }

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
  daemon_spawn toxiproxy toxiproxy-serve "$TOXIPROXY_LOG" 15 _tp_ready \
    "$TOXIPROXY_BIN" -host "$TOXIPROXY_HOST" -port "$TOXIPROXY_PORT"
  say "toxiproxy $TOXIPROXY_VERSION ready on http://$TOXIPROXY_HOST:$TOXIPROXY_PORT (pid $(_tp_pid))"
}

toxiproxy_stop() { daemon_stop toxiproxy toxiproxy-serve 10; }

toxiproxy_status() {
  daemon_status toxiproxy toxiproxy-serve "$TOXIPROXY_HOST:$TOXIPROXY_PORT" "$TOXIPROXY_LOG" _tp_ready
}
