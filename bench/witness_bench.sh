#!/bin/bash
# The witness benchmarks (BENCHMARKS.md, "Witness"): makes two witness keys
# (mlctl witness keygen), starts two ml-witness processes (RocksDB, synced
# writes as always; per-client rate limits off: the only clients are this
# script's) on loopback with temporary directories, runs ml-witness-bench
# (tools/load/witness_bench.h) against the first, then measures the extra host
# CPU per append with two witnesses, prints one table and stops everything.
# About 2.5 minutes on a 2-core machine (3 with --host_pairs=4).
#
#   bench/witness_bench.sh [--no-build] [--out=DIR] [--host_total=N] [--host_pairs=K]
#                          [ml-witness-bench flags...]
#
# ml-witness-bench: the add-checkpoint path in process (memory, RocksDB
# sync=true as ml-witness runs it, RocksDB sync=false), CPU per cosignature
# beside the floor (one Ed25519 verify + one sign, thread CPU time, same run);
# bytes per ledger of 10000 and 100000 ledgers cosigned twice each (flushed and
# fully compacted); the running ml-witness over HTTP with 4 clients (its CPU
# per cosignature from /proc/PID/stat).
#
# Host appends: ml-host (RocksDB, --sync=true, a fresh directory each run)
# without and with --witness= both witnesses (its defaults: one request in
# flight per ledger and witness, at least 1 s apart), the same load each time
# (ml-load host-append, 64 ledgers, 64 in flight, N appends, default 30000),
# K pairs run alternately (without, with, without, with, ...; default 2).
# Host CPU per block from /proc/PID/stat, from just before ml-load starts to
# 2 s after it ends (the submissions trail the appends by up to the 1 s
# interval); the witnesses' CPU and cosignatures (their metrics) over the
# same span. Writes DIR/witness_table.md, DIR/witness_results.json and
# DIR/witness_host_runs.jsonl.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
OUT=""
HOST_TOTAL=30000
HOST_PAIRS=2
EXTRA=()
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --out=*) OUT="${arg#--out=}" ;;
    --host_total=*) HOST_TOTAL="${arg#--host_total=}" ;;
    --host_pairs=*) HOST_PAIRS="${arg#--host_pairs=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*=*) EXTRA+=("$arg") ;;
    *) echo "usage: $0 [--no-build] [--out=DIR] [--host_total=N] [--host_pairs=K] [ml-witness-bench flags...]"; exit 2 ;;
  esac
done
cd "$ROOT"
if [[ $BUILD == 1 ]]; then
  bazel build -c opt //witness:ml-witness //tools:mlctl //host_service:ml-host \
    //tools/load:ml-load //tools/load:ml-witness-bench >&2
fi
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
WORK="$(mktemp -d /tmp/ml-witness-bench.XXXXXX)"   # mode 0700: the witness keys live here
OUT="${OUT:-$WORK}"
mkdir -p "$OUT"
PIDS=()
stop_pid() {  # SIGTERM, up to 10 s, then SIGKILL (and say so: a server that hangs in shutdown)
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "WARNING: pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) did not exit 10 s after SIGTERM; killed" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK/db-"* "$WORK/bench" "$WORK/"*.key
}
trap cleanup EXIT

wait_address() {  # LOG TEXT: prints the address ADDR of the first "TEXTADDR" (ADDR ends at a space or /)
  local addr=""
  for _ in $(seq 1 400); do
    addr=$(sed -n "s|.*$2\([^ /]*\).*|\1|p" "$1" | head -1)
    [[ -n "$addr" ]] && { echo "$addr"; return 0; }
    sleep 0.05
  done
  echo "no '$2' in $1:" >&2; cat "$1" >&2; return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of PID
cosignatures() {  # METRICS_ADDR: the witness's microledger_witness_cosignatures_total
  python3 - "$1" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=10).read().decode()
print(sum(float(l.split()[-1]) for l in text.splitlines()
          if l.startswith("microledger_witness_cosignatures_total")))
PY
}

VKEYS=(); HTTP_ADDRS=(); METRICS_ADDRS=(); WITNESS_PIDS=()
for n in 1 2; do
  VKEYS+=("$("$BIN/tools/mlctl" witness keygen --name="bench.example/w$n" --out="$WORK/w$n.key")")
  : >"$WORK/witness$n.err"
  "$BIN/witness/ml-witness" --key_file="$WORK/w$n.key" --storage=rocksdb --data_dir="$WORK/db-w$n" \
    --http_listen=127.0.0.1:0 --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 \
    --client_requests_per_second=0 --client_new_ledgers_per_minute=0 2>"$WORK/witness$n.err" &
  WITNESS_PIDS+=("$!"); PIDS+=("$!")
  HTTP_ADDRS+=("$(wait_address "$WORK/witness$n.err" "ml-witness http: listening on ")")
  METRICS_ADDRS+=("$(wait_address "$WORK/witness$n.err" "ml-witness: metrics on http://")")
done

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$WORK/bench"
echo ">> witness: ml-witness-bench --witness_http=${HTTP_ADDRS[0]} ${EXTRA[*]:-}" >&2
"$BIN/tools/load/ml-witness-bench" --work_dir="$WORK/bench" --bytes_ledgers=10000,100000 \
  --witness_http="${HTTP_ADDRS[0]}" --witness_pid="${WITNESS_PIDS[0]}" \
  --json_out="$OUT/witness_results.json" ${EXTRA[@]+"${EXTRA[@]}"} >"$WORK/bench_table.md" ||
  { echo "ml-witness-bench failed; witness log:" >&2; tail -20 "$WORK/witness1.err" >&2; exit 1; }

# Host appends without and with the two witnesses, alternately.
RUNS="$OUT/witness_host_runs.jsonl"
: >"$RUNS"
WITNESS_FLAGS=("--witness=${VKEYS[0]}@http://${HTTP_ADDRS[0]}" "--witness=${VKEYS[1]}@http://${HTTP_ADDRS[1]}")
host_run() {  # host_run without|with RUN_NUMBER
  local mode="$1" run="$2" flags=()
  [[ $mode == with ]] && flags=("${WITNESS_FLAGS[@]}")
  : >"$WORK/host-$run.err"
  "$BIN/host_service/ml-host" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$WORK/db-host-$run" \
    --sync=true ${flags[@]+"${flags[@]}"} 2>"$WORK/host-$run.err" &
  local host_pid=$!; PIDS+=("$host_pid")
  local host_addr; host_addr=$(wait_address "$WORK/host-$run.err" "ml-host: listening on ")
  local load h0 w10 w20 c10 c20 json
  load=$(cut -d' ' -f1 /proc/loadavg)
  h0=$(cpu_ticks "$host_pid"); w10=$(cpu_ticks "${WITNESS_PIDS[0]}"); w20=$(cpu_ticks "${WITNESS_PIDS[1]}")
  c10=$(cosignatures "${METRICS_ADDRS[0]}"); c20=$(cosignatures "${METRICS_ADDRS[1]}")
  echo ">> witness: host appends $mode witnesses (run $run): ml-load host-append, 64 ledgers, $HOST_TOTAL appends" >&2
  json=$("$BIN/tools/load/ml-load" --format=json --scenario=host-append --addr="$host_addr" \
    --ledgers=64 --concurrency=64 --total="$HOST_TOTAL" --host_pid="$host_pid")
  sleep 2
  python3 - "$mode" "$run" "$load" "$json" "$(getconf CLK_TCK)" \
    "$h0" "$(cpu_ticks "$host_pid")" "$w10" "$(cpu_ticks "${WITNESS_PIDS[0]}")" \
    "$w20" "$(cpu_ticks "${WITNESS_PIDS[1]}")" \
    "$c10" "$(cosignatures "${METRICS_ADDRS[0]}")" "$c20" "$(cosignatures "${METRICS_ADDRS[1]}")" \
    >>"$RUNS" <<'PY'
import json, sys
mode, run, load, text, tck = sys.argv[1:6]
h0, h1, w10, w11, w20, w21, c10, c11, c20, c21 = map(float, sys.argv[6:16])
r = json.loads(text)
tck = float(tck)
blocks = r["blocks"]
print(json.dumps({
    "mode": mode, "run": int(run), "loadavg_before": float(load), "blocks": blocks,
    "errors": r["errors"], "blocks_per_s": r["blocks_per_s"], "p50_ms": r["p50_ms"],
    "host_cpu_us_per_block": (h1 - h0) / tck * 1e6 / blocks,
    "host_cpu_us_per_block_during_load": r["host_cpu_us_per_block"],
    "witness_cpu_s": [(w11 - w10) / tck, (w21 - w20) / tck],
    "witness_cosignatures": [c11 - c10, c21 - c20],
}))
PY
  stop_pid "$host_pid"
  rm -rf "$WORK/db-host-$run"
}
run_number=0
for _ in $(seq 1 "$HOST_PAIRS"); do
  for mode in without with; do
    run_number=$((run_number + 1))
    host_run "$mode" "$run_number"
  done
done

# The table: ml-witness-bench's rows, then the host's.
python3 - "$WORK/bench_table.md" "$RUNS" "$(nproc)" "$LOAD_BEFORE" "$(cut -d' ' -f1 /proc/loadavg)" \
  "$HOST_TOTAL" >"$OUT/witness_table.md" <<'PY'
import json, sys
table_path, runs_path, cores, load_before, load_after, total = sys.argv[1:7]
lines = open(table_path).read().rstrip("\n").split("\n")
floor_note = [l for l in lines if l.startswith("floor:")]
rows = [l for l in lines if l.startswith("|")]
runs = [json.loads(l) for l in open(runs_path)]
without = [r for r in runs if r["mode"] == "without"]
with_ = [r for r in runs if r["mode"] == "with"]
def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0
floor_us = float(floor_note[0].split("sign ")[1].split(" us")[0]) + \
    float(floor_note[0].split("verify ")[1].split(" us")[0]) if floor_note else 0.0
w0 = mean([r["host_cpu_us_per_block"] for r in without])
w1 = mean([r["host_cpu_us_per_block"] for r in with_])
cos = sum(sum(r["witness_cosignatures"]) for r in with_)
wcpu = sum(sum(r["witness_cpu_s"]) for r in with_)
wcpu_us = wcpu * 1e6 / cos if cos else 0.0
per_run = ", ".join(f'{r["mode"]} {r["host_cpu_us_per_block"]:.1f}' for r in runs)
rows.append(
    f"| host appends, 2 witnesses | ml-load host-append, 64 ledgers, c=64, {total} appends; "
    f"ml-host RocksDB sync=true; runs alternated ({per_run} us/block) | "
    f"host CPU {w1:.1f} us/block with / {w0:.1f} without = {w1 / w0 if w0 else 0:.3f} "
    f"(+{w1 - w0:.1f} us); {mean([r['blocks_per_s'] for r in with_]):.0f} vs "
    f"{mean([r['blocks_per_s'] for r in without]):.0f} blocks/s; witnesses cosigned "
    f"{cos / max(1, len(with_)) / 2:.0f} checkpoints each per run | {floor_us:.1f} (verify + sign) | "
    f"{wcpu_us:.1f} (witnesses) | {wcpu_us / floor_us if floor_us else 0:.2f} |")
print(lines[0]); print(lines[1])
for row in rows[2:]:
    print(row)
print()
for note in floor_note:
    print(note)
print(f"setting: 2 ml-witness (RocksDB), loopback, {cores} cores; load average before {load_before}, after {load_after}")
PY
cat "$OUT/witness_table.md"
