#!/usr/bin/env bash
# The body of `make test` after lint: the Go suite against DynamoDB Local and moto (with
# the stack required, so no test may skip for want of it), then cfn-lint and sam build
# of template.yaml with no AWS account.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
cd "$ROOT"

# go test's JSON is summarized into one closing line; the pipeline fails when any test does.
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
SWITCHBOARD_REQUIRE_STACK=1 "$HERE/with-stack.sh" go test -count=1 -json ./... | python3 "$HERE/gotest-summary.py" "$summary"

echo "== cfn-lint template.yaml"
"$CACHE/venv/bin/cfn-lint" template.yaml

echo "== sam build"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
# Compile every function once with the deployment's flags so the parallel per-function
# builds share a warm Go build cache; --build-in-source skips copying the tree per
# function (--cached never hits for makefile builds).
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o /dev/null ./functions/...
"$CACHE/sam-venv/bin/sam" build --parallel --build-in-source
echo "== cfn-lint and sam build passed"
cat "$summary"
