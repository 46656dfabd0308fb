# Kafka module for scripts/services (sourced, not run): one local Kafka node in KRaft combined mode
# (broker + controller in one JVM) on 127.0.0.1:9092, controller on 127.0.0.1:9093.
#
#   kafka_start   fetch the jars from Maven Central (first run only), format the storage (first run only),
#                 start the node in the background and wait until it answers a real Metadata request
#   kafka_stop    SIGTERM, wait, clean up
#   kafka_status  one line; exit 0 when running, 3 otherwise
#
# Supporting files are in scripts/services.d/kafka/ (pom.xml, server.properties template, log4j2.properties,
# metadata_check.py). Everything made at run time is under .local/: kafka/libs (jars), kafka/data (topics and
# the KRaft metadata log), kafka/cluster.id, kafka/server.properties (rendered), log/kafka.log, run/kafka.pid.
# Settings (environment): NEXUSCART_KAFKA_PORT (9092), NEXUSCART_KAFKA_CONTROLLER_PORT (9093),
# NEXUSCART_KAFKA_ADVERTISED_PORT (the port advertised to clients; NEXUSCART_KAFKA_PORT),
# NEXUSCART_KAFKA_START_TIMEOUT (seconds, 120), NEXUSCART_KAFKA_HEAP ("-Xmx512m -Xms256m").

# shellcheck disable=SC1091  # _lib.sh is beside this file; scripts/services sources it first
declare -F say >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

KAFKA_SRC="$ROOT/scripts/services.d/kafka"
KAFKA_HOME="$LOCAL/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME/cluster.id"
KAFKA_LOG="$LOG_DIR/kafka.log"
KAFKA_INSTALL_LOG="$LOG_DIR/kafka-install.log"
KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${NEXUSCART_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${NEXUSCART_KAFKA_CONTROLLER_PORT:-9093}"
# The port clients are told to connect to (a proxy in front of the node: tests/faults' toxiproxy).
KAFKA_ADVERTISED_PORT="${NEXUSCART_KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}"
KAFKA_START_TIMEOUT="${NEXUSCART_KAFKA_START_TIMEOUT:-120}"
KAFKA_HEAP="${NEXUSCART_KAFKA_HEAP:--Xmx512m -Xms256m}"

# kafka_version: the Kafka version pinned in the pom.
kafka_version() { sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$KAFKA_SRC/pom.xml"; }

# kafka_pom_sum: fingerprint of the pom; the libs folder is complete when its stamp holds this value.
kafka_pom_sum() { cksum <"$KAFKA_SRC/pom.xml"; }

# kafka_installed: cheap check (one stamp file, written last by kafka_install) that the jars are all there.
kafka_installed() {
  [ -f "$KAFKA_LIBS/.complete" ] && [ "$(cat "$KAFKA_LIBS/.complete")" = "$(kafka_pom_sum)" ]
}

kafka_install() {
  kafka_installed && return 0
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null 2>&1 || apt_install maven
  local version tmp="$KAFKA_HOME/libs.tmp"
  version="$(kafka_version)"
  say "fetching Kafka $version from Maven Central into ${KAFKA_LIBS#"$ROOT"/} (first run only)"
  mkdir -p "$KAFKA_HOME"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$KAFKA_SRC/pom.xml" -Dkafka.libs="$tmp" dependency:copy-dependencies >"$KAFKA_INSTALL_LOG" 2>&1; then
    tail -n 20 "$KAFKA_INSTALL_LOG" >&2
    die "could not fetch Kafka $version with Maven (log: ${KAFKA_INSTALL_LOG#"$ROOT"/})"
  fi
  [ -f "$tmp/kafka_2.13-$version.jar" ] || die "Maven ran but $tmp/kafka_2.13-$version.jar is missing"
  kafka_pom_sum >"$tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  # The target/ folder Maven may leave beside the pom is not ours to keep in the source tree.
  rm -rf "$KAFKA_SRC/target"
}

# kafka_java ARGS...: run java with the Kafka jars and our logging setup.
kafka_java() {
  java -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.properties" \
    -Dkafka.logs.dir="$LOG_DIR" -cp "$KAFKA_LIBS/*" "$@"
}

# kafka_render_props: write .local/kafka/server.properties from the template.
kafka_render_props() {
  local data="$KAFKA_DATA"
  data="${data//\\/\\\\}"; data="${data//|/\\|}"; data="${data//&/\\&}"
  mkdir -p "$KAFKA_DATA"
  sed -e "s|@HOST@|$KAFKA_HOST|g" -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@ADVERTISED_PORT@|$KAFKA_ADVERTISED_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$data|g" \
    "$KAFKA_SRC/server.properties" >"$KAFKA_PROPS.tmp"
  mv "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"
}

# kafka_cluster_id: the id the storage was (or will be) formatted with.
kafka_cluster_id() {
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties"
  elif [ -s "$KAFKA_CLUSTER_ID_FILE" ]; then
    cat "$KAFKA_CLUSTER_ID_FILE"
  fi
}

# kafka_format: format the storage once; the cluster id is kept in .local/kafka/cluster.id.
kafka_format() {
  local id
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    id="$(kafka_cluster_id)"
    [ -s "$KAFKA_CLUSTER_ID_FILE" ] || printf '%s\n' "$id" >"$KAFKA_CLUSTER_ID_FILE"
    return 0
  fi
  id="$(kafka_cluster_id)"
  if [ -z "$id" ]; then
    id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | grep -E '^[A-Za-z0-9_-]{22}$' | tail -n 1)"
    [ -n "$id" ] || { tail -n 20 "$KAFKA_LOG" >&2; die "kafka StorageTool random-uuid gave no cluster id"; }
    printf '%s\n' "$id" >"$KAFKA_CLUSTER_ID_FILE"
  fi
  say "formatting Kafka storage (cluster id $id, first run only)"
  kafka_java kafka.tools.StorageTool format --standalone -t "$id" -c "$KAFKA_PROPS" --ignore-formatted \
    >>"$KAFKA_LOG" 2>&1 || { tail -n 20 "$KAFKA_LOG" >&2; die "formatting the Kafka storage failed"; }
}

# kafka_pid: the recorded pid, if it is a live Kafka node of this checkout (guards against a recycled pid).
kafka_pid() {
  local pid cmd
  [ -f "$KAFKA_PID_FILE" ] || return 1
  pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  [[ "$cmd" == *kafka.Kafka*"$KAFKA_PROPS"* ]] || return 1
  printf '%s\n' "$pid"
}

# kafka_probe: the node answers a Metadata request with our cluster id, a controller and a broker.
kafka_probe() {
  python3 "$KAFKA_SRC/metadata_check.py" "$KAFKA_HOST" "$KAFKA_PORT" "$(kafka_cluster_id)"
}

# kafka_fail MESSAGE: show the end of the log, stop a half-started node, and exit.
kafka_fail() {
  say "last lines of ${KAFKA_LOG#"$ROOT"/}:"
  tail -n 30 "$KAFKA_LOG" 2>/dev/null | sed 's/^/    /' >&2
  if kafka_pid >/dev/null; then stop_pid kafka 20; fi
  rm -f "$KAFKA_PID_FILE"
  die "$1"
}

# kafka_wait_ready TIMEOUT: wait for the log line "Kafka Server started" of this run, then a real Metadata answer.
kafka_wait_ready() {
  local deadline=$((SECONDS + $1)) reason
  while :; do
    kafka_pid >/dev/null || kafka_fail "kafka exited while starting"
    if grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null && reason="$(kafka_probe 2>&1)"; then
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || kafka_fail "kafka not ready after $1s (${reason:-no \"Kafka Server started\" in the log})"
    sleep 0.5
  done
}

kafka_start() {
  local pid started
  if pid="$(kafka_pid)"; then
    # Already running (maybe still starting): make sure it answers, then say so.
    if ! kafka_probe >/dev/null 2>&1; then kafka_wait_ready "$KAFKA_START_TIMEOUT"; fi
    say "kafka already running on $KAFKA_HOST:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  rm -f "$KAFKA_PID_FILE"
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$port" && die "port $port is taken by another process: cannot start kafka"
  done
  command -v python3 >/dev/null 2>&1 || apt_install python3
  kafka_install
  kafka_render_props
  [ -s "$KAFKA_LOG" ] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  : >"$KAFKA_LOG"
  kafka_format
  started="${EPOCHREALTIME/./}"
  # setsid: the node outlives the calling shell and its Ctrl-C; the inner shell records its own pid, then
  # becomes java (exec), so the pid file holds the JVM's pid whether or not setsid had to fork.
  # shellcheck disable=SC2016,SC2086  # $$ is the inner shell's; KAFKA_HEAP holds several options
  (
    cd "$KAFKA_HOME" &&
      setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID_FILE" \
        java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.properties" -Dkafka.logs.dir="$LOG_DIR" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" >>"$KAFKA_LOG" 2>&1 </dev/null &
  )
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$KAFKA_PID_FILE" ] && break; sleep 0.1; done
  [ -s "$KAFKA_PID_FILE" ] || kafka_fail "kafka did not start (no pid recorded)"
  kafka_wait_ready "$KAFKA_START_TIMEOUT"
  local ms=$(((${EPOCHREALTIME/./} - started) / 1000))
  say "kafka $(kafka_version) ready on $KAFKA_HOST:$KAFKA_PORT in $((ms / 1000)).$((ms % 1000 / 100))s (pid $(cat "$KAFKA_PID_FILE"))"
}

kafka_stop() {
  local pid
  if pid="$(kafka_pid)"; then
    say "stopping kafka (pid $pid)"
    stop_pid kafka 60
  else
    say "kafka not running"
  fi
  # Clean up: stale pid file, rendered config left half-written, an interrupted download.
  rm -f "$KAFKA_PID_FILE" "$KAFKA_PROPS.tmp"
  rm -rf "$KAFKA_HOME/libs.tmp"
}

kafka_status() {
  local pid
  if pid="$(kafka_pid)"; then
    if port_open "$KAFKA_PORT"; then
      printf '%-12s%-9s%s  pid %s  log %s\n' kafka running "$KAFKA_HOST:$KAFKA_PORT" "$pid" "${KAFKA_LOG#"$ROOT"/}"
      return 0
    fi
    printf '%-12s%-9s%s  pid %s  log %s\n' kafka starting "$KAFKA_HOST:$KAFKA_PORT" "$pid" "${KAFKA_LOG#"$ROOT"/}"
    return 3
  fi
  printf '%-12s%s\n' kafka stopped
  return 3
}
