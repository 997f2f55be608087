#!/bin/bash
# The Micro Ledger benchmark suite (BENCHMARKS.md): builds the binaries, starts
# ml-host on loopback with temporary directories, runs every ml-load scenario
# and the Hypercore reference script, prints the table and stops everything.
# The end-to-end rows (agent-append, agent-bulk) also start ml-owner in front
# of a fresh ml-host. About 8 minutes on a 2-core machine with every section.
#
#   bench/run_all.sh [--no-build] [--out=DIR] [--flat_blocks=N] [--flat_only] [--agent_only]
#                    [--bulk_only] [--million [--million_ledgers=N]]
#                    [--agent_start [--agent_ledgers=N]]
#
# --agent_only: only the end-to-end agent row, host-append unary (same
# settings, for comparison) and the Hypercore reference (~2 minutes).
#
# The bulk rows (issue #16, one ledger): "agent bulk" streams 100,000 events
# into one ledger through ml-owner's AppendEvents (ml-load
# --scenario=agent-bulk, one stream, a fresh ml-host --sync=true behind the
# agent; target >= 5000 blocks/s), and "hypercore batched append" is its
# reference: Hypercore appending 512 blocks per awaited call (the agent's
# window), 200,000 blocks. --bulk_only runs these two rows alone (~25 s).
#
# --flat_blocks=N (default 100000): the "append cost vs ledger size" row grows
# one ledger to N blocks with ml-load --sample_sizes: AppendStream fills it to
# 1000, 10000, 30000, 100000, 300000, ... and N blocks (blocks signed as it
# goes), and at each size, once the host is idle, 5000 unary appends (one in
# flight) are measured: host CPU per block (and its RocksDB flush/compaction
# part), blocks/s, host RSS. ml-host: --sync=true --rocksdb_cache_mb=64; the
# table also gives the database's size on disk. The fills run at ~3500-5000
# blocks/s on 2 cores: N=100000 takes ~1 minute, N=10000000 ~45 minutes and
# ~5.5 GB of disk (/tmp).
#
# --flat_only: only that row (with --flat_blocks), then its table.
#
# The mirror section (bench/mirror_bench.sh) and the discovery section
# (bench/discovery_bench.sh: resolve latency and announce cost on private
# loopback OpenDHT networks of 3 and 20 dhtnode processes, and appends with and
# without announcing, ~2.5 minutes) run last; --mirror_only / --discovery_only
# run one alone, --no_mirror / --no_discovery leave one out.
#
# --million: only the "million ledgers per host" row (issue #16; never part
# of the default run): ml-load --scenario=many-ledgers creates N ledgers
# (--million_ledgers=N, default 1000000) on one ml-host (--sync=true
# --rocksdb_cache_mb=64, ledger cache 10000) and writes genesis + one block to
# each over 8 AppendStreams; at 1000, 10000, 100000, ... and N ledgers, once
# the host is idle: its CPU over 10 s with no request, p50/p99 of 1000 unary
# appends to distinct random ledgers, its RSS (now and peak), and its bytes on
# disk per ledger (again after it stops). Then prints its table
# (bench/million_table.py). ~1200-2000 ledgers/s on a loaded 2-core machine:
# N=1000000 takes 12-15 minutes and ~1.7 GB of disk (/tmp).
#
# --agent_start: only the owner agent's start with many ledgers
# (bench/agent_start.sh; --agent_ledgers=N, default 100000; never part of the
# default run): N ledgers created through ml-owner, then its start time
# (until it listens, until its first call is answered) and RSS, ~8 minutes.
#
# The witness section (bench/witness_bench.sh: cosignatures per core beside
# the floor, bytes per ledger, the extra host CPU per append with two
# witnesses, ~2.5 minutes) runs after them; --witness_only runs it alone,
# --no_witness leaves it out.
#
# The HTTP section (bench/http_bench.sh: tiles and bundles served per second
# and host CPU per request beside a page-file floor, bytes per block, the web
# page verifying a 10,000-block ledger in headless Chromium beside mlctl and
# node, ~2 minutes) runs last; --http_only runs it alone, --no_http leaves it
# out.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
OUT=""
FLAT_BLOCKS=100000
FLAT_ONLY=0
AGENT_ONLY=0
BULK_ONLY=0
BULK_BLOCKS=100000
HYPERCORE_BATCH=512
MIRROR_ONLY=0
NO_MIRROR=0
DISCOVERY_ONLY=0
NO_DISCOVERY=0
WITNESS_ONLY=0
NO_WITNESS=0
HTTP_ONLY=0
NO_HTTP=0
MILLION=0
MILLION_LEDGERS=1000000
AGENT_START=0
AGENT_LEDGERS=100000
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --out=*) OUT="${arg#--out=}" ;;
    --flat_blocks=*) FLAT_BLOCKS="${arg#--flat_blocks=}" ;;
    --flat_only) FLAT_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --agent_only) AGENT_ONLY=1 ;;
    --bulk_only) BULK_ONLY=1 ;;
    --mirror_only) MIRROR_ONLY=1 ;;
    --no_mirror) NO_MIRROR=1 ;;
    --discovery_only) DISCOVERY_ONLY=1 ;;
    --no_discovery) NO_DISCOVERY=1 ;;
    --witness_only) WITNESS_ONLY=1 ;;
    --no_witness) NO_WITNESS=1 ;;
    --http_only) HTTP_ONLY=1 ;;
    --no_http) NO_HTTP=1 ;;
    --million) MILLION=1 ;;
    --million_ledgers=*) MILLION_LEDGERS="${arg#--million_ledgers=}" ;;
    --agent_start) AGENT_START=1 ;;
    --agent_ledgers=*) AGENT_LEDGERS="${arg#--agent_ledgers=}" ;;
    *) echo "usage: $0 [--no-build] [--out=DIR] [--flat_blocks=N] [--flat_only] [--agent_only] [--bulk_only] [--mirror_only] [--no_mirror] [--discovery_only] [--no_discovery] [--witness_only] [--no_witness] [--http_only] [--no_http] [--million [--million_ledgers=N]] [--agent_start [--agent_ledgers=N]]"
       echo "(options: the comment at the top of $0)"; exit 2 ;;
  esac
done
cd "$ROOT"
if [[ $BUILD == 1 ]]; then
  bazel build -c opt //host_service:ml-host //tools/load:ml-load //tools:mlctl \
    //owner_agent:ml-owner //mirror:ml-mirror //tools/load:ml-mirror-bench \
    //tools/load:ml-discovery-bench //witness:ml-witness //tools/load:ml-witness-bench >&2
fi
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
ML_HOST="$BIN/host_service/ml-host"
ML_LOAD="$BIN/tools/load/ml-load"
ML_OWNER="$BIN/owner_agent/ml-owner"
WORK="$(mktemp -d /tmp/ml-bench.XXXXXX)"
OUT="${OUT:-$WORK}"
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK/db-"*
}
trap cleanup EXIT

HOST_PID=""; HOST_ADDR=""
start_host() {  # start_host NAME FLAGS...
  local name="$1"; shift
  "$ML_HOST" --listen=127.0.0.1:0 "$@" 2>"$WORK/$name.err" &
  HOST_PID=$!
  PIDS+=("$HOST_PID")
  HOST_ADDR=""
  for _ in $(seq 1 400); do
    HOST_ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/$name.err" | head -1)
    [[ -n "$HOST_ADDR" ]] && return 0
    sleep 0.05
  done
  echo "ml-host did not start:"; cat "$WORK/$name.err"; exit 1
}
stop_host() {
  kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true
}
rss_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

AGENT_PID=""; AGENT_ADDR=""
start_agent() {  # start_agent NAME: ml-owner in front of the running ml-host
  local name="$1"
  : >"$WORK/$name.err"
  ML_PASSPHRASE="ml-bench passphrase" "$ML_OWNER" --keystore="$WORK/db-$name-keystore" \
    --keystore_kdf=min --host="$HOST_ADDR" --listen=127.0.0.1:0 2>>"$WORK/$name.err" &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  for _ in $(seq 1 400); do
    AGENT_ADDR=$(sed -n 's/.*ml-owner: listening on \([^ ]*\).*/\1/p' "$WORK/$name.err" | head -1)
    [[ -n "$AGENT_ADDR" ]] && return 0
    sleep 0.05
  done
  echo "ml-owner did not start:"; cat "$WORK/$name.err"; exit 1
}
stop_agent() {
  kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=""
}

run() {  # run LABEL SETTING ml-load-flags...  (RUN_DB_DIR=DIR run ...: adds its size on disk)
  local label="$1" setting="$2"; shift 2
  echo ">> $label: ml-load $*" >&2
  local json load db_bytes=""
  load=$(cut -d' ' -f1 /proc/loadavg)
  json=$("$ML_LOAD" --format=json "$@") || true
  [[ -n "$json" ]] || { echo "ml-load failed for $label" >&2; return 0; }
  [[ -z "${RUN_DB_DIR:-}" ]] || db_bytes=$(du -sb "$RUN_DB_DIR" | cut -f1)
  python3 - "$label" "$setting" "$json" "${HOST_PID:-0}" "$load" "${AGENT_PID:-0}" "$db_bytes" \
    >>"$RESULTS" <<'PY'
import json, sys
label, setting, text, pid, load, agent_pid, db_bytes = sys.argv[1:8]
r = json.loads(text)
r["loadavg_before"] = float(load)
r["label"] = label
r["setting"] = setting
if db_bytes:
    r["db_mib"] = int(db_bytes) / 2**20
try:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            r["host_peak_rss_mib"] = int(line.split()[1]) / 1024
except OSError:
    pass
try:
    for line in open(f"/proc/{agent_pid}/status"):
        if line.startswith("VmHWM"):
            r["agent_peak_rss_mib"] = int(line.split()[1]) / 1024
except OSError:
    pass
print(json.dumps(r))
PY
}

# The ledger sizes of the "append cost vs ledger size" row: 1000, then 1 and 3
# times each power of ten from 10000 below FLAT_BLOCKS, then FLAT_BLOCKS; each
# at least a window (FLAT_WINDOW blocks) past the one before.
FLAT_WINDOW=5000
FLAT_SIZES=$(python3 - "$FLAT_BLOCKS" "$FLAT_WINDOW" <<'PY'
import sys
top, window = int(sys.argv[1]), int(sys.argv[2])
sizes = []
for size in [1000] + [m * 10**k for k in range(4, 13) for m in (1, 3)] + [top]:
    if size <= top and (not sizes or size >= sizes[-1] + window):
        sizes.append(size)
print(",".join(map(str, sizes or [top])))
PY
)
run_flat() {
  start_host flat --storage=rocksdb --data_dir="$WORK/db-flat" --sync=true --rocksdb_cache_mb=64
  RUN_DB_DIR="$WORK/db-flat" run "append cost vs size" \
    "sync=true, RocksDB cache 64 MiB, 1 ledger grown to $FLAT_BLOCKS blocks" \
    --scenario=host-append --addr="$HOST_ADDR" --ledgers=1 --concurrency=1 --window=64 \
    --sample_sizes="$FLAT_SIZES" --sample_window="$FLAT_WINDOW" --host_pid="$HOST_PID"
  stop_host
  HOST_PID=""
  rm -rf "$WORK/db-flat"
}

# One ledger, bulk, end to end (issue #16): one AppendEvents stream of
# BULK_BLOCKS events (256 per message) into one ledger through ml-owner, which
# keeps up to 512 events unanswered, owner-signs every block, streams it to a
# fresh durable ml-host and verifies every reply (host signature, checkpoint).
# The ledger is created through the agent before the clock starts.
run_agent_bulk() {
  start_host bulk --storage=rocksdb --data_dir="$WORK/db-bulk" --sync=true
  start_agent bulk
  run "agent bulk" "AppendEvents via ml-owner (512 events in flight), ml-host sync=true, 1 ledger, 1 stream of $BULK_BLOCKS events, 256 per message" \
    --scenario=agent-bulk --addr="$AGENT_ADDR" --concurrency=1 --total="$BULK_BLOCKS" \
    --events_per_message=256 --host_pid="$HOST_PID" --agent_pid="$AGENT_PID"
  stop_agent
  stop_host
  HOST_PID=""
  rm -rf "$WORK/db-bulk" "$WORK/db-bulk-keystore"
}

# Hypercore reference rows (bench/hypercore/append_bench.mjs): on disk, one
# core, same machine, same run; its node_modules come from package-lock.json.
hypercore_ready() {
  [[ -d "$ROOT/bench/hypercore/node_modules/hypercore" ]] ||
    (cd "$ROOT/bench/hypercore" && npm ci --no-audit --no-fund >&2)
}
run_hypercore() {  # run_hypercore LABEL SETTING append_bench.mjs-flags...  (setting after "Hypercore VERSION, ")
  local label="$1" setting="$2"; shift 2
  echo ">> $label: node append_bench.mjs $*" >&2
  local load dir="$WORK/db-hypercore"
  load=$(cut -d' ' -f1 /proc/loadavg)
  (cd "$ROOT/bench/hypercore" && node append_bench.mjs --bytes=470 --dir="$dir" "$@") \
    | python3 -c 'import json, sys
r = json.loads(sys.stdin.read())
r["loadavg_before"] = float(sys.argv[3])
r["label"] = sys.argv[1]
r["setting"] = "Hypercore " + r["hypercore_version"] + ", " + sys.argv[2]
print(json.dumps(r))' "$label" "$setting" "$load" >>"$RESULTS" || echo "hypercore script failed for $label" >&2
  rm -rf "$dir"
}
run_hypercore_batched() {
  run_hypercore "hypercore batched append" \
    "1 core, awaited append of $HYPERCORE_BATCH blocks per call (one signature per batch), no fsync" \
    --blocks=200000 --batch="$HYPERCORE_BATCH"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r)" | tee "$OUT/machine.txt" >&2

# The mirror section: its own processes (bench/mirror_bench.sh) and table.
run_mirror() {
  echo ">> mirror (bench/mirror_bench.sh)" >&2
  "$ROOT/bench/mirror_bench.sh" --no-build --out="$OUT" >/dev/null ||
    echo "mirror section failed" >&2
}
print_mirror() {
  [[ -s "$OUT/mirror_table.md" ]] || return 0
  echo
  cat "$OUT/mirror_table.md"
}

# The discovery section: its own processes (bench/discovery_bench.sh) and table.
run_discovery() {
  echo ">> discovery (bench/discovery_bench.sh)" >&2
  "$ROOT/bench/discovery_bench.sh" --no-build --out="$OUT" >/dev/null ||
    echo "discovery section failed" >&2
}
print_discovery() {
  [[ -s "$OUT/discovery_table.md" ]] || return 0
  echo
  cat "$OUT/discovery_table.md"
}

# The witness section: its own processes (bench/witness_bench.sh) and table.
run_witness() {
  echo ">> witness (bench/witness_bench.sh)" >&2
  "$ROOT/bench/witness_bench.sh" --no-build --out="$OUT" >/dev/null ||
    echo "witness section failed" >&2
}
print_witness() {
  [[ -s "$OUT/witness_table.md" ]] || return 0
  echo
  cat "$OUT/witness_table.md"
}

# The HTTP section: its own processes (bench/http_bench.sh) and table.
run_http() {
  echo ">> HTTP read API and web page (bench/http_bench.sh)" >&2
  "$ROOT/bench/http_bench.sh" --no-build --out="$OUT" >/dev/null ||
    echo "HTTP section failed" >&2
}
print_http() {
  [[ -s "$OUT/http_table.md" ]] || return 0
  echo
  cat "$OUT/http_table.md"
}

# A million ledgers per host (--million only): ml-load many-ledgers.
run_million() {
  local sizes
  sizes=$(python3 -c 'import sys; n=int(sys.argv[1]); print(",".join(str(10**k) for k in range(3, 13) if 10**k < n))' "$MILLION_LEDGERS")
  start_host million --storage=rocksdb --data_dir="$WORK/db-million" --sync=true \
    --rocksdb_cache_mb=64 --ledger_cache_size=10000
  local started=$SECONDS
  run "million ledgers" "sync=true, RocksDB cache 64 MiB, ledger cache 10000, $MILLION_LEDGERS ledgers x 2 blocks" \
    --scenario=many-ledgers --addr="$HOST_ADDR" --ledgers="$MILLION_LEDGERS" \
    ${sizes:+--sample_sizes="$sizes"} --sample_window=1000 --idle_seconds=10 \
    --concurrency=8 --window=64 --host_pid="$HOST_PID" --host_data_dir="$WORK/db-million"
  echo ">> million ledgers: $((SECONDS - started)) s; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  stop_host
  HOST_PID=""
  echo "{\"label\": \"million ledgers, stopped\", \"disk_bytes\": $(du -sb "$WORK/db-million" | cut -f1), \"ledgers\": $MILLION_LEDGERS, \"seconds\": $((SECONDS - started))}" >>"$RESULTS"
  rm -rf "$WORK/db-million"
}

if [[ $AGENT_START == 1 ]]; then
  "$ROOT/bench/agent_start.sh" --no-build --ledgers="$AGENT_LEDGERS" --out="$OUT"
  exit 0
fi

if [[ $MILLION == 1 ]]; then
  run_million
  python3 "$ROOT/bench/million_table.py" "$RESULTS" | tee "$OUT/million_table.md"
  echo "results: $RESULTS" >&2
  exit 0
fi

if [[ $HTTP_ONLY == 1 ]]; then
  run_http
  print_http
  exit 0
fi

if [[ $WITNESS_ONLY == 1 ]]; then
  run_witness
  print_witness
  exit 0
fi

if [[ $MIRROR_ONLY == 1 ]]; then
  run_mirror
  print_mirror
  exit 0
fi

if [[ $DISCOVERY_ONLY == 1 ]]; then
  run_discovery
  print_discovery
  exit 0
fi

if [[ $BULK_ONLY == 1 ]]; then
  run_agent_bulk
  if hypercore_ready; then run_hypercore_batched; fi
  python3 "$ROOT/bench/table.py" "$RESULTS" | tee "$OUT/table.md"
  echo "results: $RESULTS" >&2
  exit 0
fi

if [[ $FLAT_ONLY == 1 ]]; then
  run_flat
  python3 "$ROOT/bench/table.py" "$RESULTS" | tee "$OUT/table.md"
  echo "results: $RESULTS" >&2
  exit 0
fi

if [[ $AGENT_ONLY == 1 ]]; then
  start_host sync --storage=rocksdb --data_dir="$WORK/db-sync" --sync=true
  run "append unary" "sync=true, 64 ledgers, c=64" --scenario=host-append --addr="$HOST_ADDR" \
    --ledgers=64 --concurrency=64 --total=30000 --host_pid="$HOST_PID"
  stop_host
  HOST_PID=""
else
# (a)/(b) appends, durable: RocksDB, WAL fsync before each reply (group commit).
start_host sync --storage=rocksdb --data_dir="$WORK/db-sync" --sync=true
run "append unary" "sync=true, 64 ledgers, c=64" --scenario=host-append --addr="$HOST_ADDR" \
  --ledgers=64 --concurrency=64 --total=30000 --host_pid="$HOST_PID"
run "append stream" "sync=true, 64 ledgers, 16 streams, window 32" --scenario=host-append-stream \
  --addr="$HOST_ADDR" --ledgers=64 --concurrency=16 --window=32 --total=30000 --host_pid="$HOST_PID"
run "append unary 1 ledger" "sync=true, 1 ledger, c=1" --scenario=host-append --addr="$HOST_ADDR" \
  --ledgers=1 --concurrency=1 --total=3000 --host_pid="$HOST_PID"
# (c) range reads and (d) proofs on the same durable store.
run "read-range" "8 ledgers x 2000 blocks, c=4, whole ledger per call" --scenario=read-range \
  --addr="$HOST_ADDR" --ledgers=8 --blocks_per_ledger=2000 --concurrency=4 --duration=10 \
  --host_pid="$HOST_PID"
run "read-range batched" "as read-range, 16 blocks per message (max_blocks_per_message)" \
  --scenario=read-range --addr="$HOST_ADDR" --ledgers=8 --blocks_per_ledger=2000 \
  --concurrency=4 --duration=10 --blocks_per_message=16 --host_pid="$HOST_PID"
run "proof" "8 ledgers x 1000 blocks, c=32, random leaf, latest size" --scenario=proof \
  --addr="$HOST_ADDR" --ledgers=8 --blocks_per_ledger=1000 --concurrency=32 --duration=10 \
  --host_pid="$HOST_PID"
stop_host

# Appends without fsync (Hypercore does not fsync either).
start_host nosync --storage=rocksdb --data_dir="$WORK/db-nosync" --sync=false
run "append unary nosync" "sync=false, 64 ledgers, c=64" --scenario=host-append \
  --addr="$HOST_ADDR" --ledgers=64 --concurrency=64 --total=30000 --host_pid="$HOST_PID"
stop_host

# Append cost vs ledger size: one ledger grown to FLAT_BLOCKS blocks.
run_flat

# (e) offline verify of a large bundle (in-process VerifyBundle, as mlctl verify).
run "verify" "100k-block bundle, one VerifyBundle on both cores (as mlctl verify)" --scenario=verify \
  --bundle_blocks=100000 --concurrency=1 --total=1
run "verify x2" "100k-block bundle, 2 bundles at once (each on both cores)" --scenario=verify \
  --bundle_blocks=100000 --concurrency=2 --total=2
fi  # AGENT_ONLY

# (b') End to end through the owner agent: AppendEvent on ml-owner, which signs,
# streams to a durable ml-host and verifies every reply (host signature,
# checkpoint, Merkle root) before answering. Ledgers are created through the
# agent before the clock starts.
start_host agent --storage=rocksdb --data_dir="$WORK/db-agent" --sync=true
start_agent agent
run "agent append" "AppendEvent via ml-owner, ml-host sync=true, 64 ledgers, c=64" \
  --scenario=agent-append --addr="$AGENT_ADDR" --ledgers=64 --concurrency=64 --total=30000 \
  --host_pid="$HOST_PID" --agent_pid="$AGENT_PID"
stop_agent
stop_host
HOST_PID=""

[[ $AGENT_ONLY == 1 ]] || run_agent_bulk

# Hypercore references: one awaited append per block; then (not with
# --agent_only) HYPERCORE_BATCH blocks per awaited append, for the bulk row.
if hypercore_ready; then
  run_hypercore "hypercore append" "1 core, awaited append, no fsync" --blocks=20000
  [[ $AGENT_ONLY == 1 ]] || run_hypercore_batched
fi

[[ $NO_MIRROR == 1 || $AGENT_ONLY == 1 ]] || run_mirror
[[ $NO_DISCOVERY == 1 || $AGENT_ONLY == 1 ]] || run_discovery
[[ $NO_WITNESS == 1 || $AGENT_ONLY == 1 ]] || run_witness
[[ $NO_HTTP == 1 || $AGENT_ONLY == 1 ]] || run_http

python3 "$ROOT/bench/table.py" "$RESULTS" | tee "$OUT/table.md"
print_mirror
print_discovery
print_witness
print_http
echo "results: $RESULTS" >&2
