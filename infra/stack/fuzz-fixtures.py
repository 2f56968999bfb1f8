"""Objects for the API fuzzing gate to find: schemathesis cannot guess the ids of a
customer, its contact, ticket and document, a tenant, an invitation, a job or a
sub-organization, so operations that name one only ever reached their 404.

This script makes one of each through the API, with the committed sample events'
bodies (events/<function>.json), as the signed-in Owner in the organization, and
prints `export SWITCHBOARD_FUZZ_<NAME>=<id>` lines that schemathesis.toml reads.

usage: fuzz-fixtures.py BASE_URL TOKEN ORG EVENTS_DIR
"""

import json
import sys
import urllib.error
import urllib.request

BASE, TOKEN, ORG, EVENTS = sys.argv[1:5]


def sample(function):
    with open(f"{EVENTS}/{function}.json", encoding="utf-8") as f:
        event = json.load(f)
    return event.get("body") or "", event["headers"].get("content-type", "application/json")


def call(method, path, function=None, body=None):
    data, ctype = (sample(function) if function else ("", "application/json"))
    if body is not None:
        data = json.dumps(body)
    req = urllib.request.Request(BASE + path, method=method, data=data.encode() if data else None, headers={
        "Authorization": "Bearer " + TOKEN, "X-Organization-Id": ORG, "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.load(res)
    except urllib.error.HTTPError as e:
        sys.exit(f"fuzz-fixtures.py: {method} {path}: HTTP {e.code}: {e.read()[:400]!r}")


def sample_json(function):
    return json.loads(sample(function)[0])


out = {}
out["TENANT"] = call("POST", "/api/msp-portal/tenants", "tenants-create")["id"]
out["CUSTOMER"] = call("POST", "/api/msp-portal/customers", "customers-create")["id"]
c = f"/api/msp-portal/customers/{out['CUSTOMER']}"
# With a tenant, the customer cannot be deleted (409): it stays for every other operation.
call("POST", c + "/tenants", body={"tenantId": out["TENANT"]})
out["CONTACT"] = call("POST", c + "/contacts", "customers-contacts-create")["id"]
out["TICKET"] = call("POST", c + "/tickets", "customers-tickets-create")["id"]
out["DOCUMENT"] = call("POST", c + "/documents", "customers-documents-create")["id"]
invite = sample_json("platform-users-invite")
invite["tenantAccess"]["tenantIds"] = [out["TENANT"]]
out["INVITATION"] = call("POST", "/api/settings/platform-users", body=invite)["id"]
out["JOB"] = call("POST", "/api/msp-portal/customers/import", "customers-import")["id"]
sub = call("POST", "/api/msp-admin/sub-organizations", "sub-organizations-create")
out["SUB_ORG"] = sub["id"]
out["SUB_ORG_ADMIN"] = sub["defaultAdmin"]["userId"]

for name, value in out.items():
    if not isinstance(value, str) or not value:
        sys.exit(f"fuzz-fixtures.py: no id for {name}")
    print(f"export SWITCHBOARD_FUZZ_{name}={value}")
