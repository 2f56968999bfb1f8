"""Reads `go test -json` on stdin, prints what a person needs (each package's result, the
output of failed tests) and ends with one plain line: "tests: N passed, N failed, N skipped".
Exits non-zero when any test or package failed."""
import json
import sys

passed = failed = skipped = 0
outputs = {}
failed_pkgs = []
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        print(line)
        continue
    ev = json.loads(line)
    key = (ev.get("Package"), ev.get("Test"))
    action = ev.get("Action")
    if action == "output":
        outputs.setdefault(key, []).append(ev.get("Output", ""))
        if ev.get("Test") is None and ev.get("Output", "").startswith(("ok ", "FAIL", "?", "---", "panic")):
            sys.stdout.write(ev["Output"])
    elif ev.get("Test") is not None and action in ("pass", "fail", "skip"):
        if action == "pass":
            passed += 1
        elif action == "skip":
            skipped += 1
        else:
            failed += 1
            sys.stdout.write("".join(outputs.get(key, [])))
    elif ev.get("Test") is None and action == "fail":
        failed_pkgs.append(ev.get("Package"))
        sys.stdout.write("".join(outputs.get(key, [])))
summary = f"tests: {passed} passed, {failed} failed, {skipped} skipped"
print(summary)
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        f.write(summary + "\n")
sys.exit(1 if failed or failed_pkgs else 0)
