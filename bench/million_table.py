#!/usr/bin/env python3
"""Prints the "million ledgers per host" table (bench/run_all.sh --million)
from results.jsonl: one row per ledger count of the ml-load many-ledgers run,
then the targets of issue #16 checked against it."""
import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    run = next((r for r in rows if r.get("scenario") == "many-ledgers"), None)
    stopped = next((r for r in rows if r.get("label") == "million ledgers, stopped"), None)
    if run is None:
        print("no many-ledgers result in", path)
        return 1
    print("| ledgers | fill ledgers/s | host CPU µs/ledger (fill) | idle host CPU s / s "
          "| append p50 ms | append p99 ms | hot ledger p50 / p99 ms | host RSS MiB (peak) "
          "| disk bytes/ledger | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    counts = run.get("ledger_counts", [])
    for c in counts:
        disk = c.get("disk_bytes_per_ledger")
        print(f"| {c['ledgers']:,} | {c['fill_ledgers_per_s']:.0f} "
              f"| {c['fill_host_cpu_us_per_ledger']:.0f} "
              f"| {c['idle_host_cpu_s']:.2f} / {c['idle_seconds']:.0f} "
              f"| {c['p50_ms']:.2f} | {c['p99_ms']:.2f} "
              f"| {c.get('hot_p50_ms', float('nan')):.2f} / {c.get('hot_p99_ms', float('nan')):.2f} "
              f"| {c['host_rss_mib']:.0f} ({c['host_peak_rss_mib']:.0f}) "
              f"| {'' if disk is None else f'{disk:.0f}'} "
              f"| {c.get('load_average', float('nan')):.1f} |")
    if stopped:
        print(f"\nAfter the host stopped: {stopped['disk_bytes'] / stopped['ledgers']:.0f} bytes "
              f"per ledger on disk ({stopped['disk_bytes'] / 2**20:.0f} MiB); whole run "
              f"{stopped['seconds']} s.")
    if len(counts) >= 2:
        first, last = counts[0], counts[-1]
        peak = max(c["host_peak_rss_mib"] for c in counts)
        idle = max(c["idle_host_cpu_s"] for c in counts)
        print(f"\nTargets: host peak RSS {peak:.0f} MiB (≤ 256); idle CPU at most "
              f"{idle:.2f} s per {last['idle_seconds']:.0f} s (~0); append p50 "
              f"{last['p50_ms'] / first['p50_ms']:.2f}× and p99 "
              f"{last['p99_ms'] / first['p99_ms']:.2f}× at {last['ledgers']:,} vs "
              f"{first['ledgers']:,} ledgers (≤ 1.2×).")
        if first.get("hot_p50_ms") and last.get("hot_p50_ms"):
            def rel(c, q):
                return c[q + "_ms"] / c["hot_" + q + "_ms"]
            print(f"Against the hot ledger of the same moment (the machine's load cancels): "
                  f"p50 {rel(first, 'p50'):.2f}× at {first['ledgers']:,} and "
                  f"{rel(last, 'p50'):.2f}× at {last['ledgers']:,} ledgers "
                  f"({rel(last, 'p50') / rel(first, 'p50'):.2f}×); p99 {rel(first, 'p99'):.2f}× "
                  f"and {rel(last, 'p99'):.2f}× ({rel(last, 'p99') / rel(first, 'p99'):.2f}×).")
    if run.get("note"):
        print(f"\nml-load: {run['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
