# shellcheck shell=bash
# stripe-mock module for scripts/services (sourced, not run).
#
# Stripe's own API mock (stateless: validates requests against Stripe's OpenAPI spec, answers fixtures),
# built with `go install` into .local/tools/bin and run on http://127.0.0.1:12111 (STRIPE_API_BASE in
# tests). Files: .local/log/stripe-mock.log, .local/run/stripe-mock.pid.
# Go: `go` on PATH, else /usr/local/go; if neither is >= 1.22 (stripe-mock's go.mod needs 1.22.1; Debian
# 12's golang-go is 1.19), a Go toolchain is fetched once from the Go module proxy (golang.org/toolchain,
# the module `go` itself uses for toolchain switching) into .local/tools/go.

# shellcheck source-path=SCRIPTDIR source=_lib.sh
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

STRIPE_MOCK_VERSION=v0.203.0 # newest the Go proxy served when written (v0.197.0 resolves too)
STRIPE_MOCK_HOST=127.0.0.1
STRIPE_MOCK_PORT="${NEXUSCART_STRIPE_MOCK_PORT:-12111}"
STRIPE_MOCK_BIN="$TOOLS_DIR/bin/stripe-mock"
STRIPE_MOCK_STAMP="$TOOLS_DIR/bin/stripe-mock.version" # `stripe-mock -version` says "master" when go-installed
STRIPE_MOCK_LOG="$LOG_DIR/stripe-mock.log"
STRIPE_MOCK_PIDFILE="$RUN_DIR/stripe-mock.pid"
STRIPE_MOCK_GO_FALLBACK=go1.24.4

# _sm_go_ok GO: true when GO runs and is at least Go 1.22.
_sm_go_ok() {
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1 # e.g. go1.26.8
  [[ "$v" =~ ^go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 22 ]
}

# _sm_go: print the path of a usable go, fetching a toolchain when there is none.
_sm_go() {
  local g arch dir="$TOOLS_DIR/go" zip
  for g in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "$dir/bin/go"; do
    [ -n "$g" ] && [ -x "$g" ] && _sm_go_ok "$g" && { printf '%s\n' "$g"; return 0; }
  done
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) die "no Go >= 1.22 for $(uname -m)" ;; esac
  say "stripe-mock: no Go >= 1.22 found; fetching $STRIPE_MOCK_GO_FALLBACK from the Go module proxy"
  apt_install curl unzip ca-certificates
  zip="$TOOLS_DIR/go-toolchain.zip"
  curl -fsSL -o "$zip" \
    "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$STRIPE_MOCK_GO_FALLBACK.linux-$arch.zip" \
    || die "downloading the Go toolchain failed"
  rm -rf "$dir" "$TOOLS_DIR/golang.org"
  unzip -q "$zip" -d "$TOOLS_DIR" || die "unzipping the Go toolchain failed"
  mv "$TOOLS_DIR/golang.org/toolchain@v0.0.1-$STRIPE_MOCK_GO_FALLBACK.linux-$arch" "$dir" && rm -rf "$TOOLS_DIR/golang.org" "$zip"
  # Module zips carry no file modes (go itself marks these executable when it switches toolchains).
  chmod -R +x "$dir/bin" "$dir/pkg/tool"
  _sm_go_ok "$dir/bin/go" || die "the fetched Go toolchain does not run"
  printf '%s\n' "$dir/bin/go"
}

_sm_install() {
  local go
  [ -x "$STRIPE_MOCK_BIN" ] && [ "$(cat "$STRIPE_MOCK_STAMP" 2>/dev/null)" = "$STRIPE_MOCK_VERSION" ] && return 0
  go="$(_sm_go)" || die "no usable Go toolchain"
  say "stripe-mock: go install github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION (first run: ~30 s)"
  # GOTOOLCHAIN=local: never switch toolchains behind our back (the Go chosen above is new enough).
  (cd "$TOOLS_DIR" && GOBIN="$TOOLS_DIR/bin" GOTOOLCHAIN=local \
    "$go" install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION") </dev/null >>"$STRIPE_MOCK_LOG" 2>&1 \
    || die "go install stripe-mock@$STRIPE_MOCK_VERSION failed, see $STRIPE_MOCK_LOG"
  printf '%s\n' "$STRIPE_MOCK_VERSION" >"$STRIPE_MOCK_STAMP"
}

# _sm_pid: the recorded pid when it is a live stripe-mock.
_sm_pid() {
  local pid
  pid="$(cat "$STRIPE_MOCK_PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = stripe-mock ] && printf '%s\n' "$pid"
}

# Ready = a real API call succeeds, not just an open port.
_sm_ready() {
  curl -fsS -o /dev/null --max-time 3 -H 'Authorization: Bearer sk_test_123' \
    "http://$STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT/v1/customers"
}

stripe_mock_start() {
  local pid
  command -v curl >/dev/null || apt_install curl ca-certificates
  _sm_install
  if pid="$(_sm_pid)"; then
    wait_until 30 "stripe-mock (pid $pid) on $STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT" _sm_ready
    say "stripe-mock already running on $STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT (pid $pid)"
    return 0
  fi
  port_open "$STRIPE_MOCK_PORT" && die "$STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT is taken by another process"
  # -http-addr binds loopback only (-http-port would bind all interfaces); HTTPS stays off.
  # env -u PORT: stripe-mock also listens (HTTPS, all interfaces) on $PORT, which Django's settings use.
  # setsid: survives the calling shell and its Ctrl-C; a background child is no process-group leader, so
  # setsid execs in place and $! is stripe-mock's own pid.
  (cd "$LOCAL" && exec setsid env -u PORT "$STRIPE_MOCK_BIN" -http-addr "$STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT") \
    </dev/null >>"$STRIPE_MOCK_LOG" 2>&1 &
  printf '%s\n' "$!" >"$STRIPE_MOCK_PIDFILE"
  wait_until 30 "stripe-mock on $STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT" _sm_ready
  pid="$(_sm_pid)" || die "stripe-mock answers but pid $(cat "$STRIPE_MOCK_PIDFILE") is not it"
  say "stripe-mock $STRIPE_MOCK_VERSION ready on http://$STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT (pid $pid)"
}

stripe_mock_stop() {
  local pid
  if pid="$(_sm_pid)"; then
    say "stopping stripe-mock (pid $pid)"
    stop_pid stripe-mock 10
  fi
  rm -f "$STRIPE_MOCK_PIDFILE"
}

stripe_mock_status() {
  local pid state=stopped rc=3
  if pid="$(_sm_pid)"; then
    if _sm_ready 2>/dev/null; then state=running rc=0; else state=starting; fi
  else
    pid=-
  fi
  printf '%-12s%-9s%s  pid %s  log %s\n' stripe-mock "$state" "$STRIPE_MOCK_HOST:$STRIPE_MOCK_PORT" "$pid" \
    "${STRIPE_MOCK_LOG#"$ROOT"/}"
  return $rc
}
