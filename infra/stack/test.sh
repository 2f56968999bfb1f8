#!/usr/bin/env bash
# The body of `make test` after lint: the console's build (npm ci, type check, vite), the
# Go suite against DynamoDB Local and moto (with the stack required, so no test may skip
# for want of it), the API fuzzing gate, the console's browser tests, then cfn-lint and
# sam build of template.yaml with no AWS account.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
cd "$ROOT"

echo "== console: npm ci, type check and vite build (make console)"
make --no-print-directory console

# go test's JSON is summarized into one closing line; the pipeline fails when any test does.
# -timeout 30m: shared/api (its fault suite above all) runs past go test's default 10 minutes
# per package on DynamoDB Local when the machine is shared.
summary=$(mktemp)
# Least privilege: every test process appends the AWS actions each function's code path
# called to this directory (infra/awsrecord); the check after the suite fails on one
# that the function's route table entry does not list.
SWITCHBOARD_AWS_CALLS_DIR=$(mktemp -d)
export SWITCHBOARD_AWS_CALLS_DIR
trap 'rm -rf "$summary" "$SWITCHBOARD_AWS_CALLS_DIR"' EXIT
SWITCHBOARD_REQUIRE_STACK=1 "$HERE/with-stack.sh" go test -count=1 -timeout 30m -json ./... | python3 "$HERE/gotest-summary.py" "$summary"

echo "== API fuzzing: schemathesis against the local server (fuzz-api.sh)"
"$HERE/with-stack.sh" "$HERE/fuzz-api.sh"

echo "== console browser tests: Playwright in Debian's Chromium against the local server (browser-test.sh)"
"$HERE/browser-test.sh"

echo "== least privilege: the AWS actions each function called are listed in its route table entry"
go run ./infra/awsrecord/check "$SWITCHBOARD_AWS_CALLS_DIR"

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
