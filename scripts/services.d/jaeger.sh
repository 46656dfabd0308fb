# shellcheck shell=bash
# jaeger module for scripts/services (sourced, not run): the local trace backend (issue 14).
#
# Jaeger v2 (built on the OpenTelemetry Collector) with in-memory storage: OTLP on 127.0.0.1:4317 (gRPC)
# and 127.0.0.1:4318 (HTTP; the app exports here, OTEL_EXPORTER_OTLP_ENDPOINT), UI and query API on
# http://127.0.0.1:16686. Optional: started by scripts/run and by tests that read traces back, not by
# every `scripts/services start`.
#
# Install: `go install .../cmd/jaeger@v1.76.0` is refused (its go.mod has replace directives), so the
# binary is built from a small module of ours that pins it as a Go tool (scripts/services.d/jaeger/
# go.mod, go.sum: `go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0`), into
# .local/tools/bin/jaeger. A cold build takes ~10 minutes on 2 busy cores; later starts reuse it.
# Files: $LOCAL/log/jaeger.log, $LOCAL/run/jaeger.pid, $LOCAL/run/jaeger.yaml (rendered config).

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

JAEGER_VERSION=v1.76.0
JAEGER_HOST=127.0.0.1
JAEGER_OTLP_GRPC_PORT="${NEXUSCART_JAEGER_OTLP_GRPC_PORT:-4317}"
JAEGER_OTLP_HTTP_PORT="${NEXUSCART_JAEGER_OTLP_HTTP_PORT:-4318}"
JAEGER_UI_PORT="${NEXUSCART_JAEGER_UI_PORT:-16686}"
JAEGER_QUERY_GRPC_PORT="${NEXUSCART_JAEGER_QUERY_GRPC_PORT:-16685}"
JAEGER_HEALTH_PORT="${NEXUSCART_JAEGER_HEALTH_PORT:-13133}"
JAEGER_MODULE="$ROOT/scripts/services.d/jaeger"
JAEGER_BIN="$ROOT/.local/tools/bin/jaeger" # shared by every instance, like stripe-mock's
JAEGER_STAMP="$JAEGER_BIN.version"
JAEGER_LOG="$LOG_DIR/jaeger.log"
JAEGER_PIDFILE="$RUN_DIR/jaeger.pid"
JAEGER_CONFIG="$RUN_DIR/jaeger.yaml"

_jg_install() {
  local go
  [ -x "$JAEGER_BIN" ] && [ "$(cat "$JAEGER_STAMP" 2>/dev/null)" = "$JAEGER_VERSION" ] && return 0
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || die "jaeger: no Go toolchain (go on PATH or /usr/local/go)"
  mkdir -p "$(dirname "$JAEGER_BIN")"
  say "jaeger: go build github.com/jaegertracing/jaeger/cmd/jaeger ($JAEGER_VERSION, pinned in ${JAEGER_MODULE#"$ROOT"/}/go.mod; first run: ~10 min)"
  # GOTOOLCHAIN=local: never switch toolchains behind our back; GOFLAGS=-mod=mod reads our go.sum.
  (cd "$JAEGER_MODULE" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    "$go" build -o "$JAEGER_BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger) </dev/null >>"$JAEGER_LOG" 2>&1 \
    || die "building jaeger failed, see $JAEGER_LOG"
  mv -f "$JAEGER_BIN.tmp" "$JAEGER_BIN"
  printf '%s\n' "$JAEGER_VERSION" >"$JAEGER_STAMP"
}

_jg_pid() {
  local pid
  pid="$(cat "$JAEGER_PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = jaeger ] && printf '%s\n' "$pid"
}

# Ready = the query API answers (storage and UI up), and the OTLP HTTP port is open.
_jg_ready() {
  curl -fsS -o /dev/null --max-time 2 "http://$JAEGER_HOST:$JAEGER_UI_PORT/api/services" && port_open "$JAEGER_OTLP_HTTP_PORT"
}

jaeger_start() {
  local pid p
  command -v curl >/dev/null || apt_install curl ca-certificates
  _jg_install
  if pid="$(_jg_pid)"; then
    wait_until 30 "jaeger (pid $pid)" _jg_ready
    say "jaeger already running, UI http://$JAEGER_HOST:$JAEGER_UI_PORT (pid $pid)"
    return 0
  fi
  for p in "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_UI_PORT" "$JAEGER_QUERY_GRPC_PORT" "$JAEGER_HEALTH_PORT"; do
    port_open "$p" && die "$JAEGER_HOST:$p is taken by another process"
  done
  sed -e "s/@OTLP_GRPC@/$JAEGER_HOST:$JAEGER_OTLP_GRPC_PORT/" -e "s/@OTLP_HTTP@/$JAEGER_HOST:$JAEGER_OTLP_HTTP_PORT/" \
    -e "s/@UI@/$JAEGER_HOST:$JAEGER_UI_PORT/" -e "s/@QUERY_GRPC@/$JAEGER_HOST:$JAEGER_QUERY_GRPC_PORT/" \
    -e "s/@HEALTH@/$JAEGER_HOST:$JAEGER_HEALTH_PORT/" "$JAEGER_MODULE/config.yaml.in" >"$JAEGER_CONFIG"
  # setsid: survives the calling shell and its Ctrl-C; $! is jaeger's own pid (see stripe-mock.sh).
  (cd "$LOCAL" && exec setsid "$JAEGER_BIN" --config "$JAEGER_CONFIG") </dev/null >>"$JAEGER_LOG" 2>&1 &
  printf '%s\n' "$!" >"$JAEGER_PIDFILE"
  wait_until 60 "jaeger on $JAEGER_HOST:$JAEGER_UI_PORT" _jg_ready
  pid="$(_jg_pid)" || die "jaeger answers but pid $(cat "$JAEGER_PIDFILE") is not it"
  say "jaeger $JAEGER_VERSION ready: UI http://$JAEGER_HOST:$JAEGER_UI_PORT, OTLP http://$JAEGER_HOST:$JAEGER_OTLP_HTTP_PORT (pid $pid)"
}

jaeger_stop() {
  if _jg_pid >/dev/null; then
    say "stopping jaeger (pid $(_jg_pid))"
    stop_pid jaeger 10
  fi
  rm -f "$JAEGER_PIDFILE"
}

jaeger_status() {
  local pid state=stopped rc=3
  if pid="$(_jg_pid)"; then
    if _jg_ready 2>/dev/null; then state=running rc=0; else state=starting; fi
  else
    pid=-
  fi
  printf '%-12s%-9s%s  pid %s  log %s\n' jaeger "$state" "$JAEGER_HOST:$JAEGER_UI_PORT" "$pid" "${JAEGER_LOG#"$ROOT"/}"
  return $rc
}
