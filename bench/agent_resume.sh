#!/usr/bin/env bash
# Agent resume cost: how long the first append to each ledger takes after
# ml-owner restarts, as ledgers grow. A restarted agent checks each host
# against its saved checkpoint (one GetLedger, one consistency proof) and
# fetches only the blocks appended while it was down, so the first append
# should cost about the same at every ledger size. The floor is the second
# append to the same ledger in the same run (no resume work).
#
# Usage: bench/agent_resume.sh [--ledgers=N] [--sizes=1000,10000,20000] [--no_build]
# Prints a table: blocks per ledger, first append after restart (ms per
# ledger), the floor (ms per ledger) and their ratio.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LEDGERS=4
SIZES=1000,10000,20000
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --ledgers=*) LEDGERS="${arg#*=}" ;;
    --sizes=*) SIZES="${arg#*=}" ;;
    --no_build) BUILD=0 ;;
    *) echo "usage: $0 [--ledgers=N] [--sizes=A,B,...] [--no_build]" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
[[ $BUILD == 0 ]] || bazel build -c opt //host_service:ml-host //owner_agent:ml-owner \
  //tools:mlctl //tools/load:ml-load >&2
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
WORK="$(mktemp -d /tmp/ml-resume.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

"$BIN/host_service/ml-host" --listen=127.0.0.1:0 --data_dir="$WORK/host" 2>"$WORK/host.err" &
PIDS+=($!)
HOST=$(listening_address "$WORK/host.err" ml-host)
AGENT_PID=""
start_agent() {
  : >"$WORK/agent.err"
  ML_PASSPHRASE="resume bench" "$BIN/owner_agent/ml-owner" --keystore="$WORK/ks" \
    --keystore_kdf=min --host="$HOST" --listen=127.0.0.1:0 2>>"$WORK/agent.err" &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  AGENT=$(listening_address "$WORK/agent.err" ml-owner)
}
stop_agent() { kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; }
now_ms() { date +%s%3N; }
ledgers() { "$BIN/tools/mlctl" --agent="$AGENT" ledger list | awk '{print $1}' | sort; }
append_each() {  # ms per ledger for one append to each ledger in file $1, in turn
  local start end
  start=$(now_ms)
  while read -r ledger; do
    "$BIN/tools/mlctl" --agent="$AGENT" append "$ledger" '{"event":"resume"}' >/dev/null
  done <"$1"
  end=$(now_ms)
  echo $(( (end - start) / LEDGERS ))
}

start_agent
printf '| blocks per ledger | first append after restart (ms) | floor: next append (ms) | ratio |\n'
printf '| --- | --- | --- | --- |\n'
IFS=, read -ra sizes <<<"$SIZES"
for size in "${sizes[@]}"; do
  ledgers >"$WORK/before"
  # New ledgers of about `size` blocks each (ml-load spreads --total over them).
  "$BIN/tools/load/ml-load" --scenario=agent-append --addr="$AGENT" --ledgers="$LEDGERS" \
    --concurrency="$LEDGERS" --total=$(( size * LEDGERS )) >/dev/null
  ledgers | comm -13 "$WORK/before" - >"$WORK/new"
  stop_agent
  start_agent
  first=$(append_each "$WORK/new")
  floor=$(append_each "$WORK/new")
  python3 -c "import sys; f,b=int(sys.argv[1]),max(1,int(sys.argv[2])); print(f'| {sys.argv[3]} | {f} | {b} | {f/b:.2f} |')" \
    "$first" "$floor" "$size"
done
