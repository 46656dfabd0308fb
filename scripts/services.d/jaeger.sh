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
JAEGER_LOG="$LOG_DIR/jaeger.log"
JAEGER_CONFIG="$RUN_DIR/jaeger.yaml"

# Built from our module (JAEGER_MODULE/go.mod pins it as a Go tool): `go install ...@version` is
# refused because of the replace directives in jaeger's own go.mod.
_jg_install() {
  go_tool_install jaeger "$JAEGER_BIN" "$JAEGER_VERSION" "$JAEGER_MODULE" github.com/jaegertracing/jaeger/cmd/jaeger \
    "pinned in ${JAEGER_MODULE#"$ROOT"/}/go.mod; first run: ~10 min"
}

_jg_pid() { daemon_pid jaeger jaeger; }

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
  daemon_spawn jaeger jaeger "$JAEGER_LOG" 60 _jg_ready "$JAEGER_BIN" --config "$JAEGER_CONFIG"
  say "jaeger $JAEGER_VERSION ready: UI http://$JAEGER_HOST:$JAEGER_UI_PORT, OTLP http://$JAEGER_HOST:$JAEGER_OTLP_HTTP_PORT (pid $(_jg_pid))"
}

jaeger_stop() { daemon_stop jaeger jaeger 10; }

jaeger_status() {
  daemon_status jaeger jaeger "$JAEGER_HOST:$JAEGER_UI_PORT" "$JAEGER_LOG" _jg_ready
}
