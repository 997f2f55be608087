"""Checks one server's stderr log: no secret and no ledger id on any line, and
with --json every line but the plain start lines ("PROGRAM: listening on",
"PROGRAM: metrics on", "PROGRAM: health checks on") parses as a
JSON object with the fixed keys. Usage: check_log.py LOG [--json] [--expect
EVENT]... -- FORBIDDEN... ; prints one line per problem, exits 1 if any."""
import json
import sys


def main():
    args = sys.argv[1:]
    split = args.index("--")
    options, forbidden = args[:split], [f for f in args[split + 1:] if f]
    path, as_json = options[0], "--json" in options
    expected = [options[i + 1] for i, o in enumerate(options) if o == "--expect"]
    problems = []
    events = set()
    with open(path, "rb") as log:
        lines = log.read().decode("utf-8", errors="replace").splitlines()
    if not lines:
        problems.append("empty log")
    for number, line in enumerate(lines, 1):
        for secret in forbidden:
            if secret in line:
                problems.append(f"line {number} holds a forbidden value ({len(secret)} chars)")
        start_line = any(f": {kind} on " in line
                         for kind in ("listening", "metrics", "health checks"))
        if not as_json or start_line and not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            problems.append(f"line {number} is not JSON: {line[:200]}")
            continue
        if not isinstance(event, dict) or not all(
                k in event for k in ("ts", "level", "program", "event", "msg")):
            problems.append(f"line {number} lacks a fixed key: {line[:200]}")
            continue
        if not event["ts"].endswith("Z") or "T" not in event["ts"]:
            problems.append(f"line {number}: ts is not RFC 3339 UTC: {event['ts']}")
        events.add(event["event"])
    for event in expected:
        if event not in events:
            problems.append(f"no {event} event")
    for problem in problems:
        print(f"{path}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
