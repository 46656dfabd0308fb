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
