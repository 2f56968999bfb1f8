#!/usr/bin/env bash
# The console's browser tests (part of `make test`; `make browser-test` alone): Playwright
# (playwright-core, from the console's npm lock file) drives Debian's Chromium against the
# local server as `make run` serves it: the console and every API route on one loopback
# port, the embedded engine, the demo data, the development sign-in and the outbox.
# Screenshots of the main screens are left in the artifacts directory.
#
# What it needs, and installs where missing: Chromium at /usr/bin/chromium (apt-get, as
# root or through passwordless sudo); Node 20+ and npm must be on PATH. The console must
# be built already (make console, which `make browser-test` and test.sh run first).
# It starts the local server in its own process group and stops it on exit.
# Env in:  SWITCHBOARD_BROWSER_ARTIFACTS  screenshots (default functions/console/web/test-artifacts,
#                                         ignored by git; emptied at the start)
#          CHROMIUM                       the browser (default /usr/bin/chromium)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WEB=$ROOT/functions/console/web
ARTIFACTS=${SWITCHBOARD_BROWSER_ARTIFACTS:-$WEB/test-artifacts}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

log() { printf 'browser-test.sh: %s\n' "$*" >&2; }
die() { printf 'browser-test.sh: FAILED: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node is not on PATH: install Node 20+ (e.g. apt-get install nodejs npm)"
command -v curl >/dev/null 2>&1 || die "curl is not on PATH"

# Debian's Chromium; Playwright's own browser download is not used.
if [[ ! -x $CHROMIUM ]]; then
  [[ $CHROMIUM == /usr/bin/chromium ]] || die "CHROMIUM=$CHROMIUM is not an executable"
  log "installing Debian's chromium with apt-get"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); elif sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    die "/usr/bin/chromium is missing and apt-get needs root: run 'sudo apt-get install chromium' once"
  fi
  aptlog=$(mktemp)
  if ! { "${SUDO[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends chromium; } >"$aptlog" 2>&1; then
    tail -n 40 "$aptlog" >&2
    die "apt-get could not install chromium (log above)"
  fi
  rm -f "$aptlog"
fi
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 || die "$CHROMIUM does not start"
[[ -f $WEB/dist/index.html ]] || die "the console is not built: run 'make console' first"
[[ -d $WEB/node_modules/playwright-core ]] || die "playwright-core is not installed: run 'make console' (npm ci) first"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-browser.XXXXXX")
PGID=
cleanup() {
  local i
  if [[ -n $PGID ]]; then
    kill -TERM -- "-$PGID" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 -- "-$PGID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$PGID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The local server with the console just built embedded, on the embedded engine whatever
# the caller's environment says.
log "building ./infra/localserver"
(cd "$ROOT" && go build -o "$WORK/localserver" ./infra/localserver)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
setsid env -u DYNAMODB_ENDPOINT -u TABLE_NAME -u JOBS_QUEUE_URL -u DOCUMENTS_BUCKET -u S3_ENDPOINT -u S3_PORT \
  -u MAIL_FROM -u USER_POOL_ID -u USER_POOL_CLIENT_ID -u COGNITO_ENDPOINT -u SWITCHBOARD_AWS_CALLS_DIR \
  -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  PORT="$PORT" AWS_REGION=us-east-1 "$WORK/localserver" >"$WORK/localserver.log" 2>&1 </dev/null &
PGID=$!
for ((i = 0; ; i++)); do
  curl -fsS -o /dev/null --max-time 2 "$BASE/api/openapi.json" 2>/dev/null && break
  if ! kill -0 "$PGID" 2>/dev/null || ((i > 600)); then
    tail -n 40 "$WORK/localserver.log" >&2 || true
    die "the local server did not start (log above)"
  fi
  sleep 0.1
done
curl -fsS "$BASE/" | grep -q 'src="/assets/' || die "$BASE/ does not serve the built console"

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
log "running the browser tests against $BASE (screenshots in $ARTIFACTS)"
start=$SECONDS
if ! (cd "$WEB" && CONSOLE_URL=$BASE CONSOLE_ARTIFACTS=$ARTIFACTS CHROMIUM=$CHROMIUM node --test --test-concurrency=1 tests/); then
  log "local server log (last lines):"
  tail -n 30 "$WORK/localserver.log" >&2 || true
  die "browser tests failed; screenshots so far are in $ARTIFACTS"
fi
log "browser tests passed in $((SECONDS - start)) s; screenshots in $ARTIFACTS"
