#!/usr/bin/env bash
# The body of `make test` after lint: the Go suite against DynamoDB Local and moto (with
# the stack required, so no test may skip for want of it), then cfn-lint and sam build
# of template.yaml with no AWS account.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
cd "$ROOT"

SWITCHBOARD_REQUIRE_STACK=1 "$HERE/with-stack.sh" go test -count=1 ./...

echo "== cfn-lint template.yaml"
"$CACHE/venv/bin/cfn-lint" template.yaml

echo "== sam build"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
"$CACHE/sam-venv/bin/sam" build --parallel --cached
