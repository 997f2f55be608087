#!/usr/bin/env python3
"""Checks acknowledged appends against a ledger bundle (tests/crash).

Usage: check_acks.py BUNDLE ACKS...
Each ACKS file holds lines "BLOCK WRITER SEQ TIME": `mlctl append` acknowledged
the event {"event":"crash test","writer":WRITER,"seq":SEQ} as block BLOCK (at
TIME, not used here). Passes
(exit 0) when every one of them is in BUNDLE at that block number. Prints one
line: how many were checked, or the first ones missing. Events that were stored
but never acknowledged (their append failed in a crash) are allowed and
counted; an event stored twice is reported (a failed append is not retried, so
none should be).
"""
import json
import sys
from collections import Counter


def main():
    bundle_path, ack_paths = sys.argv[1], sys.argv[2:]
    stored = {}  # block number -> (writer, seq)
    with open(bundle_path, encoding="utf-8") as bundle:
        for line in bundle:
            record = json.loads(line)
            block = record.get("block")
            if block is None or block["event"].get("event") != "crash test":
                continue
            stored[int(block["number"])] = (block["event"]["writer"], int(block["event"]["seq"]))
    acks = []
    for path in ack_paths:
        with open(path, encoding="utf-8") as file:
            for line in file:
                number, writer, seq = line.split()[:3]
                acks.append((int(number), writer, int(seq)))
    missing = [a for a in acks if stored.get(a[0]) != (a[1], a[2])]
    duplicates = sum(n - 1 for n in Counter(stored.values()).values() if n > 1)
    unacknowledged = len(stored) - len(acks)
    if missing:
        print(f"{len(missing)} of {len(acks)} acknowledged appends missing, e.g. "
              f"block {missing[0][0]} should hold {missing[0][1]} #{missing[0][2]}, "
              f"holds {stored.get(missing[0][0])}")
        return 1
    if duplicates:
        print(f"all {len(acks)} acknowledged appends present, but {duplicates} events "
              "stored twice")
        return 1
    print(f"all {len(acks)} acknowledged appends present "
          f"({unacknowledged} stored events were never acknowledged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
