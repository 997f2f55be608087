#!/bin/bash
# Owner agent start with many ledgers (issue #16: "an owner agent holding
# 100,000 ledgers starts in <= 5 s with bounded memory"). Starts ml-host
# (RocksDB, --sync=false: the host's durability is not what is measured) and
# ml-owner on loopback, creates N ledgers through the agent (ml-load
# agent-append: CreateLedger on the agent, genesis committed and the record
# saved with fsync before each answer), stops the agent, then starts it again
# --starts times on the same keystore and measures, each time, the seconds
# until it logs "listening on" and until its first call (mlctl keys list) is
# answered, and its RSS then (VmRSS, VmHWM). A fresh agent with no ledger is
# the baseline; the agent that made the ledgers is recorded too, before it
# stops (its times are its own start's, with no ledger). Prints a table;
# writes agent_start.jsonl and agent_start_table.md under --out.
#
#   bench/agent_start.sh [--no-build] [--ledgers=N] [--starts=K] [--out=DIR]
#
# N defaults to 100000 (the fill runs at ~200-400 ledgers/s on a loaded
# 2-core machine: 4-8 minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
LEDGERS=100000
STARTS=3
OUT=""
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --ledgers=*) LEDGERS="${arg#--ledgers=}" ;;
    --starts=*) STARTS="${arg#--starts=}" ;;
    --out=*) OUT="${arg#--out=}" ;;
    *) echo "usage: $0 [--no-build] [--ledgers=N] [--starts=K] [--out=DIR]" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
[[ $BUILD == 0 ]] || bazel build -c opt //host_service:ml-host //owner_agent:ml-owner \
  //tools:mlctl //tools/load:ml-load >&2
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
WORK="$(mktemp -d /tmp/ml-agent-start.XXXXXX)"
OUT="${OUT:-$WORK}"
mkdir -p "$OUT"
RESULTS="$OUT/agent_start.jsonl"
: >"$RESULTS"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK/db-"* "$WORK/keystore-"*
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

"$BIN/host_service/ml-host" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$WORK/db-host" \
  --sync=false 2>"$WORK/host.err" &
HOST_PID=$!
PIDS+=("$HOST_PID")
HOST_ADDR=$(listening_address "$WORK/host.err" ml-host 120 0.01)

AGENT_PID=""
start_agent() {  # start_agent KEYSTORE LOG: sets AGENT_PID, AGENT_ADDR, START_S, ANSWER_S
  : >"$2"
  local t0
  t0=$(date +%s.%N)
  ML_PASSPHRASE="ml-bench passphrase" "$BIN/owner_agent/ml-owner" --keystore="$1" \
    --keystore_kdf=min --host="$HOST_ADDR" --listen=127.0.0.1:0 2>>"$2" &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  AGENT_ADDR=$(listening_address "$2" ml-owner 120 0.01)
  START_S=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')
  for _ in $(seq 1 12000); do
    "$BIN/tools/mlctl" --agent="$AGENT_ADDR" keys list >/dev/null 2>&1 && break
    sleep 0.01
  done
  ANSWER_S=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')
}
stop_agent() { kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; }
record() {  # record LABEL LEDGERS KEYSTORE
  python3 - "$1" "$2" "$START_S" "$ANSWER_S" "$AGENT_PID" "$3" "$(cut -d' ' -f1 /proc/loadavg)" \
    >>"$RESULTS" <<'PY'
import json, os, sys
label, ledgers, start_s, answer_s, pid, keystore, load = sys.argv[1:8]
r = {"label": label, "ledgers": int(ledgers), "listening_s": float(start_s),
     "first_answer_s": float(answer_s), "loadavg": float(load)}
for line in open(f"/proc/{pid}/status"):
    if line.startswith(("VmRSS", "VmHWM")):
        r[line.split(":")[0].lower() + "_mib"] = int(line.split()[1]) / 1024
files = 0
size = 0
for root, _, names in os.walk(os.path.join(keystore, "agent")):
    for name in names:
        files += 1
        size += os.path.getsize(os.path.join(root, name))
r["registry_files"] = files
r["registry_bytes"] = size
print(json.dumps(r))
PY
}

start_agent "$WORK/keystore-empty" "$WORK/agent-empty.err"
record "no ledger" 0 "$WORK/keystore-empty"
stop_agent

start_agent "$WORK/keystore-full" "$WORK/agent-fill.err"
fill_start=$SECONDS
echo ">> creating $LEDGERS ledgers through the agent" >&2
"$BIN/tools/load/ml-load" --scenario=agent-append --addr="$AGENT_ADDR" --ledgers="$LEDGERS" \
  --concurrency=8 --total=1 --format=json >"$OUT/agent_fill.json"
echo ">> $LEDGERS ledgers in $((SECONDS - fill_start)) s" >&2
record "the filling agent, after the fill" "$LEDGERS" "$WORK/keystore-full"
stop_agent
for i in $(seq 1 "$STARTS"); do
  start_agent "$WORK/keystore-full" "$WORK/agent-start-$i.err"
  record "start $i" "$LEDGERS" "$WORK/keystore-full"
  stop_agent
done

python3 - "$RESULTS" "$((SECONDS - fill_start))" <<'PY' | tee "$OUT/agent_start_table.md"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| agent | ledgers | listening s | first call answered s | RSS MiB (peak) | registry files | registry MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['label']} | {r['ledgers']:,} | {r['listening_s']:.2f} | {r['first_answer_s']:.2f} "
          f"| {r.get('vmrss_mib', 0):.0f} ({r.get('vmhwm_mib', 0):.0f}) | {r['registry_files']:,} "
          f"| {r['registry_bytes'] / 2**20:.1f} |")
print(f"\n(fill and starts: {sys.argv[2]} s; load average at each start: "
      + ", ".join(f"{r['loadavg']:.1f}" for r in rows) + ")")
PY
