#!/usr/bin/env bash
# Stops what infra/stack/start.sh started (by the pid files in its state dir) and removes
# the state dir's pid, port and env files; the logs are kept. Safe to run when nothing runs.
# Env in: SWITCHBOARD_CACHE (default $HOME/.cache/switchboard)
#         SWITCHBOARD_STACK_DIR (default $CACHE/run), as given to start.sh
set -euo pipefail

CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
STATE_DIR=${SWITCHBOARD_STACK_DIR:-$CACHE/run}

log() { printf 'stop.sh: %s\n' "$*" >&2; }

# ours PID MARKER: PID runs and its command line contains MARKER (guards against pid reuse).
ours() {
  kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

# signal PID SIG: the process group PID leads (start.sh uses setsid), else the process alone.
signal() {
  kill "-$2" -- "-$1" 2>/dev/null || kill "-$2" "$1" 2>/dev/null || true
}

stop_one() {
  local name=$1 marker=$2 pidfile=$STATE_DIR/$1.pid pid i
  if [[ ! -f $pidfile ]]; then
    return 0
  fi
  pid=$(cat "$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$marker"; then
    signal "$pid" TERM
    for ((i = 0; i < 100; i++)); do
      ours "$pid" "$marker" || break
      sleep 0.1
    done
    if ours "$pid" "$marker"; then
      log "$name (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
      signal "$pid" KILL
      sleep 0.2
    fi
    log "stopped $name (pid $pid)"
  else
    log "$name was not running"
  fi
  rm -f "$pidfile" "$STATE_DIR/$name.port"
}

[[ -d $STATE_DIR ]] || exit 0
stop_one moto moto_server
stop_one dynamodb ServerRunner
rm -f "$STATE_DIR/env"
