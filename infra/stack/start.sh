#!/usr/bin/env bash
# Starts DynamoDB Local and moto's server on free 127.0.0.1 ports, waits until both answer,
# and prints shell export lines for them (also written to $STATE_DIR/env):
#   export DYNAMODB_ENDPOINT=http://127.0.0.1:<port>
#   export MOTO_ENDPOINT=http://127.0.0.1:<port>
# Usage: eval "$(infra/stack/start.sh)"   or   infra/stack/start.sh && . "$STATE_DIR/env"
# Env in:  SWITCHBOARD_CACHE         (default $HOME/.cache/switchboard; filled by install.sh)
#          SWITCHBOARD_STACK_DIR     state dir: pids, ports, logs, env (default $CACHE/run)
#          SWITCHBOARD_STACK_TIMEOUT seconds to wait for each service (default 60)
#          DYNAMODB_PORT, MOTO_PORT  fixed ports instead of free ones (optional)
#          SWITCHBOARD_DYNAMODB_JAVA_OPTS extra JVM options for DynamoDB Local (optional)
# If both services of this state dir are already up, prints their exports and exits 0.
# Stop with infra/stack/stop.sh (same env).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
STATE_DIR=${SWITCHBOARD_STACK_DIR:-$CACHE/run}
TIMEOUT=${SWITCHBOARD_STACK_TIMEOUT:-60}
DEPS=$CACHE/dynamodb/deps
VENV=$CACHE/venv
PY=$VENV/bin/python

log() { printf 'start.sh: %s\n' "$*" >&2; }
die() { printf 'start.sh: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f $DEPS/DynamoDBLocal.jar ]] || die "DynamoDB Local is not installed in $DEPS: run $HERE/install.sh"
[[ -x $VENV/bin/moto_server ]] || die "moto is not installed in $VENV: run $HERE/install.sh"
command -v java >/dev/null 2>&1 || die "java is not on PATH"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "SWITCHBOARD_STACK_TIMEOUT must be a number of seconds"
mkdir -p "$STATE_DIR"

# alive NAME: the pid in $STATE_DIR/NAME.pid runs and is the process we started.
alive() {
  local pidfile=$STATE_DIR/$1.pid pid marker
  case $1 in dynamodb) marker=ServerRunner ;; moto) marker=moto_server ;; esac
  [[ -f $pidfile ]] || return 1
  pid=$(cat "$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$marker"
}

# answers KIND PORT: the process in $STATE_DIR/KIND.pid listens on PORT and the service
# (dynamodb|moto) answers a real request on 127.0.0.1:PORT. Checking the socket's owner keeps
# a port clash from passing for readiness (moto also speaks the DynamoDB API, and DynamoDB
# Local binds the wildcard address, so both can hold "the same" port).
answers() {
  "$PY" - "$1" "$2" "$(cat "$STATE_DIR/$1.pid")" <<'EOF' >/dev/null 2>&1
import json, os, sys, urllib.request
kind, port, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def listen_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes

def owned(pid):
    links = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return links

if os.path.isdir("/proc/net") and not any(f"socket:[{i}]" in owned(pid) for i in listen_inodes(port)):
    sys.exit(1)
if kind == "dynamodb":
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=b"{}", method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=00",
        })
    body = json.load(urllib.request.urlopen(req, timeout=3))
    sys.exit(0 if "TableNames" in body else 1)
else:
    body = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=3))
    sys.exit(0 if isinstance(body, dict) else 1)
EOF
}

print_env() {
  cat "$STATE_DIR/env"
}

if alive dynamodb && alive moto; then
  ddb_port=$(cat "$STATE_DIR/dynamodb.port")
  moto_port=$(cat "$STATE_DIR/moto.port")
  if answers dynamodb "$ddb_port" && answers moto "$moto_port" && [[ -f $STATE_DIR/env ]]; then
    log "already running (state in $STATE_DIR)"
    print_env
    exit 0
  fi
fi
# Leftovers of an earlier, partial or dead stack in this state dir.
SWITCHBOARD_STACK_DIR=$STATE_DIR "$HERE/stop.sh" >/dev/null 2>&1 || true

free_ports() { # prints two distinct free loopback ports
  "$PY" -c '
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()'
}
ports=$(free_ports) || die "could not pick free ports with $PY"
read -r free1 free2 <<<"$ports"
ddb_port=${DYNAMODB_PORT:-$free1}
moto_port=${MOTO_PORT:-$free2}

[[ $ddb_port =~ ^[0-9]+$ && $moto_port =~ ^[0-9]+$ ]] || die "could not pick free ports"

# On any failure from here on, stop what this run started.
started=()
ready=0
on_exit() {
  local rc=$?
  if ((rc != 0 && ready == 0 && ${#started[@]} > 0)); then
    log "stopping what was started"
    SWITCHBOARD_STACK_DIR=$STATE_DIR "$HERE/stop.sh" >&2 || true
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# launch NAME PORT CMD...: starts CMD in its own session (pid = process group id), detached
# from this script's stdin/stdout so `$(start.sh)` returns, logging to $STATE_DIR/NAME.log.
launch() {
  local name=$1 port=$2; shift 2
  rm -f "$STATE_DIR/$name.pid" "$STATE_DIR/$name.port"
  (cd "$STATE_DIR" && exec setsid "$@" </dev/null >"$STATE_DIR/$name.log" 2>&1) &
  local pid=$!
  printf '%s\n' "$pid" >"$STATE_DIR/$name.pid"
  printf '%s\n' "$port" >"$STATE_DIR/$name.port"
  started+=("$name")
  log "started $name (pid $pid) on 127.0.0.1:$port, log $STATE_DIR/$name.log"
}

# exited NAME: the process launched as NAME no longer runs. Unlike alive, it does not ask
# for the service's command line: until the launching subshell has exec'd the service,
# its command line is this script's, and a check then would take a start for an exit.
exited() {
  local pid
  pid=$(cat "$STATE_DIR/$1.pid" 2>/dev/null) || return 0
  ! kill -0 "$pid" 2>/dev/null
}

# wait_ready NAME PORT: waits up to TIMEOUT s for NAME to answer; dies with its log if not.
wait_ready() {
  local name=$1 port=$2 deadline=$((SECONDS + TIMEOUT))
  while :; do
    if exited "$name"; then
      printf 'start.sh: ---- last lines of %s ----\n' "$STATE_DIR/$name.log" >&2
      tail -n 80 "$STATE_DIR/$name.log" >&2 || true
      die "$name exited before answering on 127.0.0.1:$port"
    fi
    if answers "$name" "$port" && alive "$name"; then
      log "$name answers on 127.0.0.1:$port"
      return 0
    fi
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  printf 'start.sh: ---- last lines of %s ----\n' "$STATE_DIR/$name.log" >&2
  tail -n 80 "$STATE_DIR/$name.log" >&2 || true
  die "$name did not answer on 127.0.0.1:$port within ${TIMEOUT}s"
}

# DynamoDB Local 3.x loads sqlite4java's native from -Dorg.sqlite.lib.path/name when given, else
# extracts the copy bundled in its jar into java.io.tmpdir, else searches java.library.path.
# Point it at the file install.sh put in $DEPS so nothing is written to /tmp.
sqlite_opts=(-Dorg.sqlite.tmpdir="$STATE_DIR")
if [[ $(uname -s) == Linux ]]; then
  case $(uname -m) in
    x86_64 | amd64) native=libsqlite4java-linux-amd64.so ;;
    aarch64 | arm64) native=libsqlite4java-linux-aarch64.so ;;
    *) native= ;;
  esac
  if [[ -n $native && -f $DEPS/$native ]]; then
    sqlite_opts+=(-Dorg.sqlite.lib.path="$DEPS" -Dorg.sqlite.lib.name="$native")
  fi
fi
# DynamoDB Local has no bind-address option: it listens on all interfaces; clients use 127.0.0.1.
# shellcheck disable=SC2086 # SWITCHBOARD_DYNAMODB_JAVA_OPTS is a list of words
launch dynamodb "$ddb_port" java ${SWITCHBOARD_DYNAMODB_JAVA_OPTS:-} "${sqlite_opts[@]}" \
  -Djava.library.path="$DEPS" -cp "$DEPS/*" \
  software.amazon.dynamodb.services.local.main.ServerRunner \
  -inMemory -sharedDb -port "$ddb_port" -disableTelemetry
launch moto "$moto_port" env MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH \
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port"

wait_ready dynamodb "$ddb_port"
wait_ready moto "$moto_port"

cat >"$STATE_DIR/env.tmp" <<EOF
export DYNAMODB_ENDPOINT=http://127.0.0.1:$ddb_port
export MOTO_ENDPOINT=http://127.0.0.1:$moto_port
EOF
mv "$STATE_DIR/env.tmp" "$STATE_DIR/env"
ready=1
print_env
