"""Summarizes a schemathesis NDJSON report for infra/stack/fuzz-api.sh.

Usage: fuzz-summary.py REPORT.ndjson OPENAPI.json MIN_REQUESTS ELAPSED_SECONDS

Counts the requests schemathesis sent (every recorded interaction), per phase and per
documented operation, and exits 1 when they are fewer than MIN_REQUESTS or when an
operation of the document got none. Requests with a method the document does not list
for the path (the coverage phase probes those) are counted apart.
"""

import json
import re
import sys
from collections import Counter

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations(doc):
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                ops[(method.upper(), path)] = op.get("operationId", f"{method.upper()} {path}")
    return ops


def template_of(path, templates):
    """Maps a concrete or template path to the document's template."""
    if path in templates:
        return path
    for t in templates:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$"
        if re.match(pattern, path):
            return t
    return path


def main():
    report, spec, minimum, elapsed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(spec) as f:
        ops = operations(json.load(f))
    templates = sorted({p for _, p in ops}, key=lambda p: (p.count("{"), p))
    per_op, per_phase, statuses = Counter(), Counter(), Counter()
    probes = 0
    with open(report) as f:
        for line in f:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            cases = recorder.get("cases", {})
            for case_id, interaction in recorder.get("interactions", {}).items():
                case = cases.get(case_id, {}).get("value", {})
                method = (case.get("method") or interaction["request"]["method"]).upper()
                key = (method, template_of(case.get("path", ""), templates))
                per_phase[finished["phase"]] += 1
                response = interaction.get("response") or {}
                statuses[response.get("status_code", "no response")] += 1
                if key in ops:
                    per_op[ops[key]] += 1
                else:
                    probes += 1
    total = sum(per_phase.values())
    print("== schemathesis requests per operation")
    for (method, path), op_id in sorted(ops.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"  {per_op[op_id]:5d}  {method:6s} {path}")
    print(f"  {probes:5d}  (methods the document does not list for a path: each must be refused)")
    print("  by phase: " + ", ".join(f"{phase} {n}" for phase, n in sorted(per_phase.items())))
    print("  by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=lambda kv: str(kv[0]))))
    untested = sorted(op_id for op_id in ops.values() if per_op[op_id] == 0)
    print(f"schemathesis: {total} requests over {len(ops) - len(untested)} of {len(ops)} operations in {elapsed}s")
    ok = True
    if untested:
        print("fuzz-summary: operations with no request: " + ", ".join(untested), file=sys.stderr)
        ok = False
    if total < minimum:
        print(f"fuzz-summary: {total} requests, fewer than the {minimum} required", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
