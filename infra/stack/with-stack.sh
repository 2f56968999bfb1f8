#!/usr/bin/env bash
# Runs a command with DynamoDB Local and moto started on loopback, exported as
# DYNAMODB_ENDPOINT and MOTO_ENDPOINT, and stops them afterwards whatever happens.
# Usage: infra/stack/with-stack.sh COMMAND [ARGS...]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

"$HERE/install.sh" >&2
SWITCHBOARD_STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-stack.XXXXXX")
export SWITCHBOARD_STACK_DIR
cleanup() {
  "$HERE/stop.sh" >&2 || true
  rm -rf "$SWITCHBOARD_STACK_DIR"
}
trap cleanup EXIT
exports=$("$HERE/start.sh") || { echo "with-stack.sh: the local stack did not start" >&2; exit 1; }
eval "$exports"
[[ -n ${DYNAMODB_ENDPOINT:-} && -n ${MOTO_ENDPOINT:-} ]] || { echo "with-stack.sh: start.sh gave no endpoints" >&2; exit 1; }
export DYNAMODB_ENDPOINT MOTO_ENDPOINT
"$@"
