#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table from bench/run_all.sh's results.jsonl."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
hyper = next((r for r in rows if r["label"] == "hypercore append"), None)
hyper_batched = next((r for r in rows if r["label"] == "hypercore batched append"), None)


def f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)


def blocks_text(n):
    """1000 -> 1k, 3000000 -> 3M."""
    for unit, suffix in ((10**6, "M"), (10**3, "k")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def over_ed25519(r, process):
    """Issue 16's per-process target: CPU per block <= 1.5 x the Ed25519 work
    the process must do per block (thread CPU floor measured in the same run)."""
    x = r.get(f"{process}_cpu_over_ed25519")
    if x is None:
        return f"{process} CPU / Ed25519 work: not measured"
    met = x <= 1.5 and r["errors"] == 0
    return (f"{process} CPU {x:.2f}x its Ed25519 work "
            f"{r[process + '_ed25519_us_per_block']:.1f} us (<=1.5x: {'met' if met else 'NOT met'})")


def is_size_series(r):
    return bool(r.get("series")) and "ledger_blocks" in r["series"][0]


def last_first(series, cost=lambda w: w["host_cpu_us_per_block"]):
    first, last = cost(series[0]), cost(series[-1])
    return (f"last/first {last / first:.2f} "
            f"(<=1.20: {'met' if last <= 1.2 * first else 'NOT met'})")


def foreground(w):
    """Host CPU per block without RocksDB's background threads (flushes, compactions)."""
    return w["host_cpu_us_per_block"] - (w.get("host_rocksdb_cpu_us_per_block") or 0)


loads = [r["loadavg_before"] for r in rows if "loadavg_before" in r]
if loads and max(loads) > 4.5:
    print(f"WARNING: 1-minute load average before a run reached {max(loads):.1f} on "
          "this machine: other work was running, rates are low.\n")
print("| scenario | setting | result | p50 / p99 ms | errors | floor us/block | "
      "cost us/block | ratio | target |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    label = r["label"]
    if label == "hypercore append":
        print(f"| {label} | {r['setting']} | {r['rps']:.0f} appends/s | "
              f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} | 0 | - | "
              f"{r['cpu_us_per_block']:.0f} (node CPU) | - | reference |")
        continue
    if label == "hypercore batched append":
        print(f"| {label} | {r['setting']} | {r['rps']:.0f} blocks/s "
              f"({r['batches_per_s']:.0f} batches/s) | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} "
              f"per batch | 0 | - | {r['cpu_us_per_block']:.1f} (node CPU) | - | "
              f"reference for agent bulk |")
        continue
    scenario = r["scenario"]
    target = ""
    cost = r.get("host_cpu_us_per_block")
    if scenario.startswith("host-append"):
        result = f"{r['blocks_per_s']:.0f} blocks/s"
        if label in ("append unary", "append stream", "append unary nosync"):
            target = over_ed25519(r, "host")
            if hyper:
                target += f"; {r['blocks_per_s'] / hyper['rps']:.2f}x Hypercore"
        if is_size_series(r):
            s = r["series"]
            per = ", ".join(f"{blocks_text(w['ledger_blocks'])} {w['host_cpu_us_per_block']:.0f}"
                            for w in s)
            target = (f"us/block at {per}; {last_first(s)}; without RocksDB background "
                      f"{last_first(s, foreground)} (table below)")
        elif r.get("series"):
            s = r["series"]
            per = ", ".join("%.0f" % w["host_cpu_us_per_block"] for w in s)
            target = f"windows us/block {per}; {last_first(s)}"
    elif scenario == "agent-append":
        result = f"{r['blocks_per_s']:.0f} blocks/s"
        target = f"{over_ed25519(r, 'agent')}; {over_ed25519(r, 'host')}"
        if hyper:
            x = r["blocks_per_s"] / hyper["rps"]
            target += (f"; {x:.2f}x Hypercore (>=1.5x, p99<=20ms: "
                       f"{'met' if x >= 1.5 and r['p99_ms'] <= 20 and r['errors'] == 0 else 'NOT met'})")
    elif scenario == "agent-bulk":
        result = f"{r['blocks_per_s']:.0f} blocks/s, 1 ledger"
        target = (f">=5000 blocks/s: "
                  f"{'met' if r['blocks_per_s'] >= 5000 and r['errors'] == 0 else 'NOT met'}")
        if hyper_batched:
            target += f"; {r['blocks_per_s'] / hyper_batched['rps']:.3f}x Hypercore batched"
    elif scenario == "read-range":
        result = f"{r['blocks_per_s']:.0f} blocks/s ({r['rps']:.0f} calls/s)"
        target = f">=100000 blocks/s: {'met' if r['blocks_per_s'] >= 100000 else 'NOT met'}"
    elif scenario == "proof":
        result = f"{r['rps']:.0f} proofs/s"
        target = f">=20000/s: {'met' if r['rps'] >= 20000 else 'NOT met'}"
    elif scenario == "verify":
        result = f"{r['blocks_per_s']:.0f} blocks/s"
        cost = r["duration_s"] * 1e6 / r["blocks"] if r["blocks"] else None
        target = f">=0.8 x 2-core floor: {'met' if (r.get('ratio') or 0) >= 0.8 else 'NOT met'}"
    else:
        result = f"{r['rps']:.0f}/s"
    if scenario in ("read-range", "proof") and cost is not None:
        cost_text = f"{cost:.1f} (host CPU per item)"
    elif (scenario in ("agent-append", "agent-bulk")
          and r.get("agent_cpu_us_per_block") is not None):
        cost_text = (f"host {f(cost)} + agent {r['agent_cpu_us_per_block']:.1f} = "
                     f"{f(r.get('e2e_cpu_us_per_block'))}")
    else:
        cost_text = f(cost)
    rss = r.get("host_peak_rss_mib")
    setting = r["setting"] + (f"; host peak RSS {rss:.0f} MiB" if rss else "")
    if r.get("agent_peak_rss_mib"):
        setting += f", agent {r['agent_peak_rss_mib']:.0f} MiB"
    if scenario in ("agent-append", "agent-bulk") and r.get("blocks"):
        # The load generator's own cost, measured and not subtracted.
        setting += f"; ml-load CPU {r['client_cpu_s'] * 1e6 / r['blocks']:.1f} us/block"
    if r.get("db_mib") is not None:
        setting += f"; database on disk {r['db_mib']:.0f} MiB"
    # agent-bulk has one answer per stream, so no per-block latency.
    latency = ("-" if scenario == "agent-bulk"
               else f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}")
    print(f"| {label} | {setting} | {result} | {latency} | "
          f"{r['errors']} | {f(r.get('floor_us_per_block'))} | {cost_text} | "
          f"{f(r.get('ratio'), '{:.3f}')} | {target} |")

# Append cost vs ledger size: each window (fixed size, measured once the host
# is idle) and the fills between them (their cost includes the flushes and
# compactions they cause).
for r in rows:
    if not is_size_series(r):
        continue
    print(f"\n{r['label']}: {r['setting']}; ml-load peak RSS "
          f"{r.get('client_peak_rss_mib') or 0:.0f} MiB\n")
    print("| ledger size (blocks) | append mode | blocks | host CPU us/block | "
          "of which RocksDB background | without it | blocks/s | host RSS MiB (peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    stretches = [("at " + blocks_text(w["ledger_blocks"]), w) for w in r["series"]]
    stretches += [(f"fill {blocks_text(w['ledger_blocks'])} -> "
                   f"{blocks_text(w['ledger_blocks'] + w['blocks'])}", w)
                  for w in r.get("fill", [])]
    for where, w in stretches:
        print(f"| {where} | {w['mode']} | {w['blocks']} | {w['host_cpu_us_per_block']:.1f} | "
              f"{f(w.get('host_rocksdb_cpu_us_per_block'))} | {foreground(w):.1f} | "
              f"{w['blocks_per_s']:.0f} | "
              f"{f(w.get('host_rss_mib'), '{:.0f}')} ({f(w.get('host_peak_rss_mib'), '{:.0f}')}) |")
