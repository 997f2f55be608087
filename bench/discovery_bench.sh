#!/bin/bash
# The discovery benchmarks (BENCHMARKS.md, "Discovery"; issue 12, SPEC §13).
# About 2 minutes on a 2-core machine.
#
#   bench/discovery_bench.sh [--no-build] [--out=DIR] [--append_seconds=S]
#                            [--append_ledgers=N] [--append_rounds=R] [--no_appends]
#                            [ml-discovery-bench flags...]
#
# 1. ml-discovery-bench (tools/load/discovery_bench.h) starts private OpenDHT
#    networks of 3 and of 20 dhtnode processes on this machine (random network
#    id, bootstrapped over 127.0.0.1, every node stopped at the end) and, with
#    1000 ledgers announced through node 0: resolve latency (DhtClient::Get +
#    ResolveLocatorValues through other nodes' proxies, p50/p99/max); the CPU
#    of a record (sign + encrypt + put) beside one Ed25519 sign measured in the
#    same run; the records/s and re-puts/s one LocatorAnnouncer (one thread)
#    sustains, and from it the ledgers one host keeps announced with the
#    5-minute re-put interval. Flags such as --cluster_sizes=3,20,
#    --ledgers=N, --samples=N or --dht_rate_limit go to it.
# 2. "Announcing never slows an append": ml-host (RocksDB, --sync=true) under
#    the same ml-load scenario (host-append, N ledgers, default 64, c=64, S
#    seconds, default 20) without discovery and with --dht_proxy (node 0 of a
#    3-node DHT that ml-discovery-bench --hold_cluster keeps up for both) and
#    --announce_url, a fresh ml-host and database per run, in the order
#    without, with, with, without (R=2 rounds, the default; R=1: without,
#    with), so that a machine getting busier or idler weighs on both alike:
#    appends/s, p50/p99 and host CPU per block of each run, and the ratios of
#    the means.
# Writes DIR/discovery_table.md, DIR/discovery_results.json and
# DIR/discovery_appends.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
OUT=""
APPEND_SECONDS=20
APPEND_LEDGERS=64
APPEND_ROUNDS=2
APPENDS=1
EXTRA=()
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --out=*) OUT="${arg#--out=}" ;;
    --append_seconds=*) APPEND_SECONDS="${arg#--append_seconds=}" ;;
    --append_ledgers=*) APPEND_LEDGERS="${arg#--append_ledgers=}" ;;
    --append_rounds=*) APPEND_ROUNDS="${arg#--append_rounds=}" ;;
    --no_appends) APPENDS=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) EXTRA+=("$arg") ;;
    *) echo "usage: $0 [--no-build] [--out=DIR] [--append_seconds=S] [--append_ledgers=N] [--append_rounds=R] [--no_appends] [ml-discovery-bench flags...]"; exit 2 ;;
  esac
done
cd "$ROOT"
command -v dhtnode >/dev/null || { echo "dhtnode not found (Debian package dhtnode)" >&2; exit 1; }
if [[ $BUILD == 1 ]]; then
  bazel build -c opt //host_service:ml-host //tools/load:ml-load //tools/load:ml-discovery-bench >&2
fi
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
BENCH="$BIN/tools/load/ml-discovery-bench"
WORK="$(mktemp -d /tmp/ml-discovery-bench.XXXXXX)"
OUT="${OUT:-$WORK}"
mkdir -p "$OUT"
PIDS=()
cleanup() {  # SIGTERM, up to 10 s, then SIGKILL (and say so); dhtnode dies with its parent
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "WARNING: pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) did not exit 10 s after SIGTERM; killed" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK/db-"*
}
trap cleanup EXIT

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
SETTING="$(nproc) cores, dhtnode $(dhtnode --version 2>/dev/null | sed -n 's/^OpenDHT version //p' | head -1), loopback; load average before $LOAD_BEFORE"
echo ">> discovery: ml-discovery-bench ${EXTRA[*]:-}" >&2
"$BENCH" --work_dir="$WORK/dht" --setting="$SETTING" --json_out="$OUT/discovery_results.json" \
  ${EXTRA[@]+"${EXTRA[@]}"} >"$OUT/discovery_table.md" ||
  { echo "ml-discovery-bench failed" >&2; exit 1; }
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/discovery_table.md"

if [[ $APPENDS == 1 ]]; then
  # A 3-node DHT for ml-host, kept up until cleanup.
  "$BENCH" --hold_cluster=3 --urls_file="$WORK/dht-urls" --work_dir="$WORK" 2>"$WORK/hold.err" &
  PIDS+=("$!")
  for _ in $(seq 1 600); do [[ -s "$WORK/dht-urls" ]] && break; sleep 0.1; done
  [[ -s "$WORK/dht-urls" ]] || { echo "the DHT for ml-host did not start:" >&2; cat "$WORK/hold.err" >&2; exit 1; }
  PROXY=$(head -1 "$WORK/dht-urls")

  HOST_PID=""; HOST_ADDR=""
  start_host() {  # start_host NAME FLAGS...
    local name="$1"; shift
    : >"$WORK/$name.err"
    "$BIN/host_service/ml-host" --listen=127.0.0.1:0 "$@" 2>"$WORK/$name.err" &
    HOST_PID=$!
    PIDS+=("$HOST_PID")
    HOST_ADDR=""
    for _ in $(seq 1 400); do
      HOST_ADDR=$(sed -n 's/.*ml-host: listening on \([^ ]*\).*/\1/p' "$WORK/$name.err" | head -1)
      [[ -n "$HOST_ADDR" ]] && return 0
      sleep 0.05
    done
    echo "ml-host did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1
  }
  stop_host() {
    kill "$HOST_PID"
    for _ in $(seq 1 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$HOST_PID" 2>/dev/null && { echo "WARNING: ml-host did not exit 10 s after SIGTERM; killed" >&2; kill -9 "$HOST_PID"; }
    wait "$HOST_PID" 2>/dev/null || true
  }
  RUNS=()
  append_run() {  # append_run NAME ml-host-flags...: ml-load JSON to $WORK/NAME.json
    local name="$1"; shift
    start_host "$name" --storage=rocksdb --data_dir="$WORK/db-$name" --sync=true "$@"
    echo ">> appends, $name: ml-load host-append ${APPEND_LEDGERS} ledgers, c=64, ${APPEND_SECONDS} s" >&2
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$BIN/tools/load/ml-load" --format=json --scenario=host-append --addr="$HOST_ADDR" \
      --ledgers="$APPEND_LEDGERS" --concurrency=64 --duration="$APPEND_SECONDS" \
      --host_pid="$HOST_PID" >"$WORK/$name.json" ||
      { echo "ml-load failed ($name)" >&2; exit 1; }
    echo "$load" >"$WORK/$name.load"
    stop_host
    if grep -q "unreachable\|cannot make a locator record" "$WORK/$name.err"; then
      echo "WARNING: ml-host's announcer reported a problem ($name):" >&2
      grep "unreachable\|cannot make" "$WORK/$name.err" >&2
    fi
    rm -rf "$WORK/db-$name"
    RUNS+=("$name")
  }
  plain() { append_run "plain-$1"; }
  announcing() { append_run "announcing-$1" --dht_proxy="$PROXY" --announce_url=grpc://127.0.0.1:7400; }
  for round in $(seq 1 "$APPEND_ROUNDS"); do
    if (( round % 2 == 1 )); then plain "$round"; announcing "$round"
    else announcing "$round"; plain "$round"; fi
  done
  python3 - "$WORK" "$OUT/discovery_appends.json" "$APPEND_LEDGERS" "$APPEND_SECONDS" "${RUNS[@]}" \
    >>"$OUT/discovery_table.md" <<'PY'
import json, statistics, sys
work, out, ledgers, seconds = sys.argv[1:5]
names = sys.argv[5:]
runs = []
for name in names:
    r = json.load(open(f"{work}/{name}.json"))
    r["run"] = name
    r["loadavg_before"] = float(open(f"{work}/{name}.load").read())
    runs.append(r)
json.dump(runs, open(out, "w"))
def cpu(r):
    v = r.get("host_cpu_us_per_block")
    return "-" if v is None else f"{v:.1f}"
print()
print(f"ml-host RocksDB sync=true, ml-load host-append, {ledgers} ledgers, c=64, {seconds} s per run, "
      "a fresh host per run; without discovery, and with --dht_proxy (node 0 of a 3-node "
      "loopback DHT, up during every run) --announce_url (--announce=active: every append "
      "touches the announcer), in this order:")
print()
print("| run | ml-host | appends/s | p50 / p99 ms | host CPU us/block | errors | load before |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in runs:
    label = "announcing (--dht_proxy)" if r["run"].startswith("announcing") else "without discovery"
    print(f"| {r['run']} | {label} | {r['blocks_per_s']:.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} | "
          f"{cpu(r)} | {r['errors']} | {r['loadavg_before']:.2f} |")
def mean(kind, key):
    values = [r[key] for r in runs if r["run"].startswith(kind) and r.get(key) is not None]
    return statistics.mean(values) if values else float("nan")
parts = []
for key, what in (("blocks_per_s", "appends/s"), ("p50_ms", "p50"), ("p99_ms", "p99"),
                  ("host_cpu_us_per_block", "host CPU per block")):
    a, b = mean("plain", key), mean("announcing", key)
    parts.append(f"{what} {b / a:.3f}" if a == a and a else f"{what} -")
print()
print("with / without (means): " + ", ".join(parts))
PY
fi
cat "$OUT/discovery_table.md"
