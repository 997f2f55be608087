#!/bin/bash
# The Micro Ledger benchmark suite (BENCHMARKS.md): builds the binaries, starts
# ml-host on loopback with temporary directories, runs every ml-load scenario
# and the Hypercore reference script, prints the table and stops everything.
# The end-to-end row (agent-append) also starts ml-owner in front of a fresh
# ml-host. About 7 minutes on a 2-core machine.
#
#   bench/run_all.sh [--no-build] [--out=DIR] [--flat_blocks=N] [--agent_only]
#
# --agent_only: only the end-to-end agent row, host-append unary (same
# settings, for comparison) and the Hypercore reference (~2 minutes).
#
# --flat_blocks (default 100000): blocks appended to one ledger for the
# "append cost vs ledger size" series (10 windows). 1000000 takes ~12 minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
OUT=""
FLAT_BLOCKS=100000
AGENT_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --out=*) OUT="${arg#--out=}" ;;
    --flat_blocks=*) FLAT_BLOCKS="${arg#--flat_blocks=}" ;;
    --agent_only) AGENT_ONLY=1 ;;
    *) echo "usage: $0 [--no-build] [--out=DIR] [--flat_blocks=N] [--agent_only]"; exit 2 ;;
  esac
done
cd "$ROOT"
if [[ $BUILD == 1 ]]; then
  bazel build -c opt //host_service:ml-host //tools/load:ml-load //tools:mlctl \
    //owner_agent:ml-owner >&2
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

run() {  # run LABEL SETTING ml-load-flags...
  local label="$1" setting="$2"; shift 2
  echo ">> $label: ml-load $*" >&2
  local json load
  load=$(cut -d' ' -f1 /proc/loadavg)
  json=$("$ML_LOAD" --format=json "$@") || true
  [[ -n "$json" ]] || { echo "ml-load failed for $label" >&2; return 0; }
  python3 - "$label" "$setting" "$json" "${HOST_PID:-0}" "$load" "${AGENT_PID:-0}" >>"$RESULTS" <<'PY'
import json, sys
label, setting, text, pid, load, agent_pid = sys.argv[1:7]
r = json.loads(text)
r["loadavg_before"] = float(load)
r["label"] = label
r["setting"] = setting
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

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r)" | tee "$OUT/machine.txt" >&2

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
run "proof" "8 ledgers x 1000 blocks, c=32, random leaf, latest size" --scenario=proof \
  --addr="$HOST_ADDR" --ledgers=8 --blocks_per_ledger=1000 --concurrency=32 --duration=10 \
  --host_pid="$HOST_PID"
stop_host

# Appends without fsync (Hypercore does not fsync either).
start_host nosync --storage=rocksdb --data_dir="$WORK/db-nosync" --sync=false
run "append unary nosync" "sync=false, 64 ledgers, c=64" --scenario=host-append \
  --addr="$HOST_ADDR" --ledgers=64 --concurrency=64 --total=30000 --host_pid="$HOST_PID"
stop_host

# Append cost vs ledger size: one ledger, FLAT_BLOCKS blocks, 10 windows.
start_host flat --storage=rocksdb --data_dir="$WORK/db-flat" --sync=true \
  --max_clock_skew_seconds=86400
run "append cost vs size" "sync=true, 1 ledger, unary c=1, $FLAT_BLOCKS blocks in 10 windows" \
  --scenario=host-append --addr="$HOST_ADDR" --ledgers=1 --concurrency=1 \
  --total="$FLAT_BLOCKS" --windows=10 --host_pid="$HOST_PID"
stop_host
HOST_PID=""

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

# Hypercore reference: one awaited append per block, on disk, same machine, same run.
if [[ -d "$ROOT/bench/hypercore/node_modules/hypercore" ]] || \
   (cd "$ROOT/bench/hypercore" && npm ci --no-audit --no-fund >&2); then
  echo ">> hypercore" >&2
  (cd "$ROOT/bench/hypercore" && node append_bench.mjs --blocks=20000 --bytes=470 --dir="$WORK/hypercore") \
    | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["label"]="hypercore append"; r["setting"]="Hypercore "+r["hypercore_version"]+", 1 core, awaited append, no fsync"; print(json.dumps(r))' \
    >>"$RESULTS" || echo "hypercore script failed" >&2
fi

python3 "$ROOT/bench/table.py" "$RESULTS" | tee "$OUT/table.md"
echo "results: $RESULTS" >&2
