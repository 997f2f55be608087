"""The HTTP read API and web page benchmarks (BENCHMARKS.md, "HTTP read API
and browser"): one ml-host (RocksDB, --sync=true, --http_listen, no rate
limit) and one ml-owner on loopback, a ledger of --blocks blocks appended
through the agent (mlctl append --from-file), then

1. wrk (2 threads, 16 connections, --seconds each) on each kind of resource,
   cycling over every one of its paths: requests/s, the host's CPU per request
   (from /proc/PID/stat over the run) and bytes per answer, beside the floor:
   the same server answering a page file from memory (style.css), measured in
   the same run;
2. bytes per block: the block bundles over HTTP, the same gzip-compressed (what
   a compressing proxy or CDN would carry), and the `mlctl export` bundle;
3. the time the web page needs to fetch and verify the whole ledger in headless
   Chromium (the page's own clock, median of --page_runs), beside `mlctl verify
   LEDGER --from=HOST` (gRPC), `mlctl verify FILE` and `node
   web/verify_cli.mjs FILE` on the exported bundle.

Usage: http_bench.py BAZEL_BIN ROOT [--blocks=N] [--seconds=S] [--page_runs=K] [--out=DIR]
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN, ROOT = sys.argv[1], sys.argv[2]
OPTIONS = {"blocks": 10000, "seconds": 10, "page_runs": 3, "out": ""}
for argument in sys.argv[3:]:
    name, _, value = argument.lstrip("-").partition("=")
    if name not in OPTIONS:
        sys.exit(f"http_bench.py: unknown option {argument}")
    OPTIONS[name] = type(OPTIONS[name])(value)
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
import cdp  # noqa: E402
from services import Services  # noqa: E402

WORK = tempfile.mkdtemp(prefix="ml-http-bench-")
SERVICES = Services()
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def encode_index(index):
    groups = []
    while True:
        groups.append(index % 1000)
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join(("x" if i < len(groups) - 1 else "") + f"{g:03d}" for i, g in enumerate(groups))


def wrk(url_base, paths, seconds, host_pid, headers=()):
    script = os.path.join(WORK, "paths.lua")
    with open(script, "w") as out:
        out.write("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n")
        out.write("local headers = {" + ",".join(
            f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers) + "}\n")
        out.write("local i = 0\n")
        out.write("request = function()\n  i = i % #paths + 1\n"
                  "  return wrk.format('GET', paths[i], headers)\nend\n")
    before = cpu_seconds(host_pid)
    result = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script, url_base],
                            capture_output=True, text=True, timeout=seconds + 60)
    used = cpu_seconds(host_pid) - before
    requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error answers on {paths[0]}")
    return rate, used / max(requests, 1) * 1e6


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read()


def timed(args):
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    return elapsed, result.stdout.strip()


def main():
    blocks = OPTIONS["blocks"]
    host, (grpc, http_base) = SERVICES.start(
        [f"{BIN}/host_service/ml-host", "--data_dir=" + os.path.join(WORK, "host"),
         "--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0", "--http_rate_limit=0",
         "--sync=true"],
        [r"listening on (\S+) ", r"HTTP read API on (http://\S+)/"])
    passphrase = os.path.join(WORK, "passphrase")
    with open(passphrase, "w") as out:
        out.write("bench passphrase\n")
    os.chmod(passphrase, 0o600)
    _, (agent,) = SERVICES.start([f"{BIN}/owner_agent/ml-owner", "--keystore=" + os.path.join(WORK, "ks"),
                      "--passphrase_file=" + passphrase, "--host=" + grpc,
                      "--listen=127.0.0.1:0"], [r"listening on (\S+) "])
    mlctl = f"{BIN}/tools/mlctl"
    ledger = subprocess.run([mlctl, "--agent=" + agent, "ledger", "create", "--type=bench"],
                            capture_output=True, text=True, check=True).stdout.strip()
    events = os.path.join(WORK, "events.jsonl")
    with open(events, "w") as out:
        for i in range(blocks - 1):
            out.write(json.dumps({"event": "measured", "n": i, "value": i * 7 % 1000}) + "\n")
    appended, _ = timed([mlctl, "--agent=" + agent, "append", ledger, "--from-file=" + events])
    print(f"appended {blocks - 1} events in {appended:.1f} s", flush=True)

    prefix = f"/{ledger}/"

    full = blocks // 256
    rows = []
    floor_rate, floor_cpu = wrk(http_base, ["/style.css"], OPTIONS["seconds"], host.pid)
    floor_bytes = len(get(http_base + "/style.css"))
    rows.append(("page file (style.css, from memory): the floor", floor_rate, floor_cpu, floor_bytes))
    kinds = [
        ("full tile, level 0", [f"{prefix}tile/0/{encode_index(i)}" for i in range(full)]),
        ("full block bundle (256 blocks)", [f"{prefix}blocks/{encode_index(i)}" for i in range(full)]),
        ("full block bundle, gzip", [f"{prefix}blocks/{encode_index(i)}" for i in range(full)]),
        ("partial block bundle", [f"{prefix}blocks/{encode_index(full)}.p/{blocks % 256}"]),
        ("checkpoint", [f"{prefix}checkpoint"]),
    ]
    for name, paths in kinds:
        headers = [("Accept-Encoding", "gzip")] if name.endswith("gzip") else []
        rate, cpu = wrk(http_base, paths, OPTIONS["seconds"], host.pid, headers=headers)
        size = len(get(http_base + paths[0], dict(headers)))
        rows.append((name, rate, cpu, size))
    tag = urllib.request.urlopen(http_base + kinds[0][1][0]).headers["ETag"]
    rate, cpu = wrk(http_base, [kinds[0][1][0]], OPTIONS["seconds"], host.pid,
                    headers=[("If-None-Match", tag)])
    rows.append(("full tile revalidated (304)", rate, cpu, 0))

    bundle_paths = [f"{prefix}blocks/{encode_index(i)}" for i in range(full)]
    if blocks % 256:
        bundle_paths.append(f"{prefix}blocks/{encode_index(full)}.p/{blocks % 256}")
    bundle_bytes = b"".join(get(http_base + path) for path in bundle_paths)
    gzip_sent = sum(len(get(http_base + path, {"Accept-Encoding": "gzip"})) for path in bundle_paths)
    export = os.path.join(WORK, "ledger.jsonl")
    subprocess.run([mlctl, "--agent=" + agent, "export", ledger, export], check=True,
                   capture_output=True)

    page_times = []
    with cdp.Browser() as browser:
        browser.open_page()
        for _ in range(OPTIONS["page_runs"]):
            browser.navigate(f"{http_base}/?ledger={ledger}&run={time.monotonic()}")
            verdict = browser.wait_for(
                "document.body && document.body.dataset.state === 'done' && "
                "document.getElementById('verdict').textContent", timeout=600)
            if verdict != f"OK {ledger} {blocks} blocks":
                raise RuntimeError(f"the page says {verdict!r}")
            took = browser.evaluate(
                "[...document.querySelectorAll('#summary dt')].find(e => e.textContent === "
                "'Verified in').nextElementSibling.textContent")
            page_times.append(float(took.split()[0]) / 1000)
    from_host, verdict = timed([mlctl, "verify", ledger, "--from=" + grpc])
    if verdict != f"OK {ledger} {blocks} blocks":
        raise RuntimeError(f"mlctl verify --from says {verdict!r}")
    from_file, _ = timed([mlctl, "verify", export])
    node_file, node_verdict = timed(["node", os.path.join(ROOT, "web", "verify_cli.mjs"), export])
    if node_verdict != verdict:
        raise RuntimeError(f"verify_cli.mjs says {node_verdict!r}")

    lines = []
    lines.append(f"| resource | requests/s | host CPU µs per request | × floor (CPU) | bytes per answer |")
    lines.append("| --- | --- | --- | --- | --- |")
    for name, rate, cpu, size in rows:
        lines.append(f"| {name} | {rate:,.0f} | {cpu:.1f} | {cpu / floor_cpu:.2f} | {size:,} |")
    lines.append("")
    lines.append("| bytes per block | |")
    lines.append("| --- | --- |")
    lines.append(f"| block bundles over HTTP, identity | {len(bundle_bytes) / blocks:,.0f} |")
    lines.append(f"| block bundles over HTTP, gzip (Accept-Encoding: gzip, as browsers send) | {gzip_sent / blocks:,.0f} |")
    lines.append(f"| Merkle tiles (level 0, full) | {32:,} |")
    lines.append(f"| `mlctl export` bundle | {os.path.getsize(export) / blocks:,.0f} |")
    lines.append("")
    lines.append(f"| verifying the {blocks:,}-block ledger | seconds |")
    lines.append("| --- | --- |")
    lines.append(f"| web page in headless Chromium, fetch + verify (median of {len(page_times)}: "
                 f"{', '.join(f'{t:.2f}' for t in page_times)}) | {statistics.median(page_times):.2f} |")
    lines.append(f"| `mlctl verify LEDGER --from=HOST` (gRPC, fetch + verify) | {from_host:.2f} |")
    lines.append(f"| `mlctl verify FILE` | {from_file:.2f} |")
    lines.append(f"| `node web/verify_cli.mjs FILE` (Node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}) | {node_file:.2f} |")
    table = "\n".join(lines)
    print(table)
    if OPTIONS["out"]:
        os.makedirs(OPTIONS["out"], exist_ok=True)
        with open(os.path.join(OPTIONS["out"], "http_table.md"), "w") as out:
            out.write(table + "\n")


try:
    main()
finally:
    SERVICES.stop_all()
    shutil.rmtree(WORK, ignore_errors=True)
