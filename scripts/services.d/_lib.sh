# shellcheck shell=bash
# Shared helpers for scripts/services and its per-service modules (sourced, not run).
# Every service keeps its data, logs and pid file under one ignored folder, so a fresh clone starts clean.

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LOCAL="${NEXUSCART_LOCAL:-$ROOT/.local}"
LOG_DIR="$LOCAL/log"
RUN_DIR="$LOCAL/run"
TOOLS_DIR="$LOCAL/tools"
mkdir -p "$LOG_DIR" "$RUN_DIR" "$TOOLS_DIR"

say() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: install Debian packages that are missing (apt-get update once per run).
# Serialised with flock: kafka and opensearch start in parallel and dpkg allows one apt at a time.
# "Installed" means dpkg status "install ok installed" (dpkg -s also succeeds for removed-but-not-purged).
_APT_UPDATED=""
_apt_missing() {
  local p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || printf '%s\n' "$p"
  done
}
apt_install() {
  local missing=()
  mapfile -t missing < <(_apt_missing "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  (
    flock -w 900 9 || die "another apt run held $RUN_DIR/apt.lock for 900s"
    mapfile -t missing < <(_apt_missing "$@")   # a parallel start may have installed them meanwhile
    [ ${#missing[@]} -eq 0 ] && exit 0
    # 9>&-: anything apt's maintainer scripts start must not inherit (and hold) the lock.
    if [ -z "$_APT_UPDATED" ] && [ -z "$(find "$RUN_DIR/apt-updated" -mmin -60 2>/dev/null)" ]; then
      apt-get update -qq >/dev/null 9>&- || die "apt-get update failed"
      touch "$RUN_DIR/apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null 9>&- \
      || die "apt-get install ${missing[*]} failed"
  ) 9>"$RUN_DIR/apt.lock" || exit 1
  _APT_UPDATED=1
}

# proc_alive PID: true when PID is a running process. A zombie (exited, not yet reaped: our daemons are
# orphans, and some container inits reap them only every few seconds) counts as gone, not alive.
proc_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)"
  [ "$state" != Z ] && [ "$state" != X ]
}

# pid_alive NAME: true when the pid recorded for NAME is a live process.
pid_alive() {
  local f="$RUN_DIR/$1.pid"
  [ -f "$f" ] && proc_alive "$(cat "$f")"
}

# stop_pid NAME [TIMEOUT]: SIGTERM the recorded process (and its group), wait, then SIGKILL.
stop_pid() {
  local name="$1" timeout="${2:-30}" f="$RUN_DIR/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if proc_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < timeout * 10; i++)); do proc_alive "$pid" || break; sleep 0.1; done
    proc_alive "$pid" && { say "$name did not stop in ${timeout}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
  fi
  rm -f "$f"
}

# port_open PORT: true when something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until TIMEOUT DESCRIPTION COMMAND...: poll COMMAND every 0.5 s until it succeeds.
wait_until() {
  local timeout="$1" what="$2" i; shift 2
  for ((i = 0; i < timeout * 2; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "$what not ready after ${timeout}s"
}

# go_tool_install NAME BIN VERSION DIR PACKAGE [NOTE]: build a Go tool into BIN once per VERSION.
# Runs `go install PACKAGE` in DIR (PACKAGE@version outside a module, or a package that a go.mod in
# DIR pins, e.g. as a Go tool when the tool's own go.mod has replace directives) and moves the binary
# to BIN, stamped BIN.version; build output goes to $LOG_DIR/NAME.log. GO overrides the toolchain
# (default: go on PATH, else /usr/local/go). GOTOOLCHAIN=local: never switch toolchains behind our back.
go_tool_install() {
  local name="$1" bin="$2" version="$3" dir="$4" package="$5" note="${6:-}" go tmp flags=""
  [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ] && return 0
  go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
  [ -x "$go" ] || die "$name: no Go toolchain (go on PATH or /usr/local/go)"
  [ -f "$dir/go.mod" ] && flags=-mod=mod # read DIR's go.sum as written
  mkdir -p "$(dirname "$bin")"
  tmp="$(mktemp -d "$(dirname "$bin")/.go-install-$name.XXXXXX")"
  say "$name: go install $package ($version${note:+; $note})"
  (cd "$dir" && GOBIN="$tmp" GOTOOLCHAIN=local GOFLAGS="$flags" "$go" install "$package") </dev/null >>"$LOG_DIR/$name.log" 2>&1 \
    || { rm -rf "$tmp"; die "go install $package failed, see $LOG_DIR/$name.log"; }
  package="${package%@*}"
  mv -f "$tmp/${package##*/}" "$bin" && rm -rf "$tmp"
  printf '%s\n' "$version" >"$bin.version"
}

# daemon_pid NAME COMM: the pid recorded in $RUN_DIR/NAME.pid when it is alive and its /proc comm
# is COMM (the kernel keeps 15 characters: "toxiproxy-serve"), so a reused pid is never taken for it.
daemon_pid() {
  local pid
  pid="$(cat "$RUN_DIR/$1.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && printf '%s\n' "$pid"
}

# daemon_spawn NAME COMM LOG TIMEOUT READY_COMMAND COMMAND...: start COMMAND (in $LOCAL) as a daemon,
# record its pid in $RUN_DIR/NAME.pid, wait up to TIMEOUT s for READY_COMMAND, and check the
# answering process is the one recorded. setsid: it survives the calling shell and its Ctrl-C, and
# $! is the daemon's own pid (exec), not a wrapper's.
daemon_spawn() {
  local name="$1" comm="$2" log="$3" timeout="$4" ready="$5"
  shift 5
  (cd "$LOCAL" && exec setsid "$@") </dev/null >>"$log" 2>&1 &
  printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
  wait_until "$timeout" "$name on its port" "$ready"
  daemon_pid "$name" "$comm" >/dev/null || die "$name answers but pid $(cat "$RUN_DIR/$name.pid") is not it"
}

# daemon_stop NAME COMM [TIMEOUT]: stop the recorded daemon if it is ours, and forget its pid file.
daemon_stop() {
  local pid
  if pid="$(daemon_pid "$1" "$2")"; then
    say "stopping $1 (pid $pid)"
    stop_pid "$1" "${3:-10}"
  fi
  rm -f "$RUN_DIR/$1.pid"
}

# daemon_status NAME COMM ADDRESS LOG READY_COMMAND...: one `scripts/services status` line; returns 0
# when running and ready, 3 otherwise.
daemon_status() {
  local name="$1" comm="$2" address="$3" log="$4" pid state=stopped rc=3
  shift 4
  if pid="$(daemon_pid "$name" "$comm")"; then
    if "$@" 2>/dev/null; then state=running rc=0; else state=starting; fi
  else
    pid=-
  fi
  printf '%-12s%-9s%s  pid %s  log %s\n' "$name" "$state" "$address" "$pid" "${log#"$ROOT"/}"
  return $rc
}
