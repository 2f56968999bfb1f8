#!/usr/bin/env bash
# The API fuzzing gate of `make test` (and `make fuzz-api`): schemathesis generates
# requests for every operation of the committed OpenAPI document and sends them to the
# local server (infra/localserver, as `make run` serves it: every route on one loopback
# port, the embedded engine, the demo data), signed in as the demo Owner and acting in the
# demo organization. Every response must pass not_a_server_error,
# status_code_conformance, content_type_conformance, response_headers_conformance and
# response_schema_conformance; any finding fails the gate, printed with its curl
# reproduction.
#
# What it starts, each in its own process group and stopped on exit whatever happens:
#   - moto's server (Cognito only), with a user pool and app client, so the organization's
#     own Entra ID sign-in (PUT /api/settings/authentication/sso) is reachable instead of
#     the 503 `sso-unavailable` of a server without a user pool;
#   - the local server, built from ./infra/localserver, on a free 127.0.0.1 port.
# Env in:  SWITCHBOARD_CACHE           (default $HOME/.cache/switchboard; filled by install.sh)
#          SWITCHBOARD_FUZZ_SEED       schemathesis seed (default 20261124)
#          SWITCHBOARD_FUZZ_EXAMPLES   max examples per operation in the fuzzing phase (default 25)
#          SWITCHBOARD_FUZZ_BUDGET     seconds the schemathesis run may take (default 600: a cap for a loaded machine; a quiet one needs about 90)
#          SWITCHBOARD_FUZZ_REPORT_DIR keep the NDJSON/JUnit reports there (default: a
#                                      temporary directory, removed on exit)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}
SEED=${SWITCHBOARD_FUZZ_SEED:-20261124}
EXAMPLES=${SWITCHBOARD_FUZZ_EXAMPLES:-25}
BUDGET=${SWITCHBOARD_FUZZ_BUDGET:-600}
MIN_REQUESTS=1000
ST_VENV=$CACHE/schemathesis-venv
MOTO_VENV=$CACHE/venv
ORG=contoso-msp
OWNER=megan.bowen@contosomsp.com

log() { printf 'fuzz-api.sh: %s\n' "$*" >&2; }
die() { printf 'fuzz-api.sh: FAILED: %s\n' "$*" >&2; exit 1; }

[[ $SEED =~ ^[0-9]+$ && $EXAMPLES =~ ^[0-9]+$ && $BUDGET =~ ^[0-9]+$ ]] \
  || die "SWITCHBOARD_FUZZ_SEED, SWITCHBOARD_FUZZ_EXAMPLES and SWITCHBOARD_FUZZ_BUDGET must be numbers"
command -v curl >/dev/null 2>&1 || die "curl is not on PATH"
"$HERE/install.sh" moto schemathesis >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-fuzz.XXXXXX")
REPORTS=${SWITCHBOARD_FUZZ_REPORT_DIR:-$WORK/reports}
PGIDS=()
cleanup() {
  local pg i
  for pg in "${PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
  for pg in "${PGIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pg" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME CMD...: runs CMD in a new session (so its whole process group can be
# stopped), output in $WORK/NAME.log; sets STARTED_PID.
start() {
  local name=$1; shift
  setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}

# wait_for NAME PID URL: until URL answers 2xx, as long as PID lives (60 s at most).
wait_for() {
  local name=$1 pid=$2 url=$3 i
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$WORK/$name.log" >&2 || true
      die "$name exited before it answered (log above)"
    fi
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  tail -n 40 "$WORK/$name.log" >&2 || true
  die "$name did not answer $url within 60 s (log above)"
}

# moto's Cognito: a user pool with the attributes the Entra provider maps, and the
# console's app client, as template.yaml declares them.
MOTO_PORT=$(free_port)
MOTO=http://127.0.0.1:$MOTO_PORT
start moto env MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
wait_for moto "$STARTED_PID" "$MOTO/moto-api/data.json"
read -r POOL_ID CLIENT_ID < <(AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
  "$MOTO_VENV/bin/python" - "$MOTO" <<'EOF'
import sys, boto3
c = boto3.client("cognito-idp", endpoint_url=sys.argv[1], region_name="us-east-1")
pool = c.create_user_pool(PoolName="switchboard-fuzz", Schema=[
    {"Name": "tid", "AttributeDataType": "String", "Mutable": True},
    {"Name": "amr", "AttributeDataType": "String", "Mutable": True},
])["UserPool"]["Id"]
app = c.create_user_pool_client(UserPoolId=pool, ClientName="console",
                                SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]
print(pool, app)
EOF
) || die "could not create the user pool in moto"
[[ -n ${CLIENT_ID:-} ]] || die "moto gave no user pool or app client"

# The local server, on the embedded engine whatever the caller's environment says.
log "building ./infra/localserver"
(cd "$ROOT" && go build -o "$WORK/localserver" ./infra/localserver)
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
# The table: DynamoDB Local's when the caller runs the gate in the stack (test.sh does:
# its semantics are DynamoDB's, so a finding is the API's and not the engine's), else the
# embedded engine, as `make run` serves it.
ENGINE_ENV=(DYNAMODB_ENDPOINT= TABLE_NAME=)
if [[ -n ${DYNAMODB_ENDPOINT:-} ]]; then
  ENGINE_ENV=(DYNAMODB_ENDPOINT="$DYNAMODB_ENDPOINT" TABLE_NAME="switchboard-fuzz-$$-$RANDOM")
fi
start localserver env -u JOBS_QUEUE_URL -u DOCUMENTS_BUCKET \
  -u S3_ENDPOINT -u S3_PORT -u MAIL_FROM -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  -u SWITCHBOARD_AWS_CALLS_DIR \
  "${ENGINE_ENV[@]}" PORT="$PORT" AWS_REGION=us-east-1 USER_POOL_ID="$POOL_ID" USER_POOL_CLIENT_ID="$CLIENT_ID" \
  COGNITO_ENDPOINT="$MOTO" "$WORK/localserver"
SERVER_PID=$STARTED_PID
wait_for localserver "$SERVER_PID" "$BASE/api/openapi.json"

# schemathesis reads the document as the server serves it, which must be the committed one.
curl -fsS -o "$WORK/openapi.json" "$BASE/api/openapi.json"
cmp -s "$WORK/openapi.json" "$ROOT/shared/openapi/openapi.json" \
  || die "GET /api/openapi.json does not serve shared/openapi/openapi.json as committed"

SWITCHBOARD_FUZZ_TOKEN=$(curl -fsS -X POST "$BASE/dev/sign-in" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$OWNER\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') \
  || die "the development sign-in gave no token"
export SWITCHBOARD_FUZZ_TOKEN

# One customer, tenant, contact, ticket, document, invitation, job and sub-organization
# for the operations that name one (schemathesis.toml reads their ids).
FIXTURES=$(python3 "$HERE/fuzz-fixtures.py" "$BASE" "$SWITCHBOARD_FUZZ_TOKEN" "$ORG" "$ROOT/events") \
  || die "could not make the objects the run names (see above)"
eval "$FIXTURES"

# The document is loaded from the file just fetched rather than from the URL: schemathesis
# leaves out the operation that serves the document it was loaded from, and
# GET /api/openapi.json is an operation like the others.
mkdir -p "$REPORTS"
log "schemathesis: seed $SEED, $EXAMPLES examples per operation in the fuzzing phase, budget ${BUDGET}s, against $BASE as $OWNER in $ORG"
started=$(date +%s)
status=0
(cd "$WORK" && timeout --kill-after=10 "$BUDGET" "$ST_VENV/bin/schemathesis" \
  --config-file "$HERE/schemathesis.toml" --no-color run "$WORK/openapi.json" --url "$BASE" \
  --seed "$SEED" --max-examples "$EXAMPLES" --workers 1 \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --report ndjson,junit --report-dir "$REPORTS" \
  --report-ndjson-path "$REPORTS/schemathesis.ndjson" --report-junit-path "$REPORTS/schemathesis.xml") || status=$?
elapsed=$(($(date +%s) - started))

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  tail -n 40 "$WORK/localserver.log" >&2 || true
  die "the local server died during the run (log above)"
fi
if [[ $status -eq 124 || $status -eq 137 ]]; then
  die "schemathesis did not finish within the budget of ${BUDGET}s"
fi
# Requests counted from the report: the total, per phase and per documented operation.
python3 "$HERE/fuzz-summary.py" "$REPORTS/schemathesis.ndjson" "$WORK/openapi.json" "$MIN_REQUESTS" "$elapsed" \
  || die "the run fell short (see above)"
if [[ $status -ne 0 ]]; then
  grep -E '"level":"ERROR"' "$WORK/localserver.log" | tail -n 20 >&2 || true
  die "schemathesis reported findings (exit $status): each is printed above with a curl reproduction"
fi
log "passed"
