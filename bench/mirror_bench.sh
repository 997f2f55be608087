#!/bin/bash
# The mirror benchmarks (BENCHMARKS.md, "Mirror"): starts ml-host (RocksDB,
# --sync=true) and ml-mirror (RocksDB, its default --sync=false; admin API on
# a Unix socket in a private directory) on loopback with temporary
# directories, runs ml-mirror-bench (tools/load/mirror_bench.h) against them,
# prints its table and stops both. About 40 s on a 2-core machine.
#
#   bench/mirror_bench.sh [--no-build] [--out=DIR] [--catchup_blocks=N]
#                         [--lag_rate=R] [--lag_seconds=S] [ml-mirror-bench flags...]
#
# Measures: catch-up rate of a full mirror (Follow of a ledger of N blocks,
# default 20000, until Status verified_size = N) with the mirror's CPU per
# block beside the floor (3 Ed25519 verifies: owner, host, checkpoint,
# measured in the same run); its lag behind the host taking appends at R
# blocks/s (default 1000 for 10 s: host ack -> arrival at a Subscribe client on
# the mirror, p50/p99); sparse GetBlocks of 16 blocks, cold (fetched from the
# host with inclusion proofs) and warm (from the mirror's store, 10 times).
# Writes DIR/mirror_table.md and DIR/mirror_results.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
OUT=""
EXTRA=()
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --out=*) OUT="${arg#--out=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*=*) EXTRA+=("$arg") ;;
    *) echo "usage: $0 [--no-build] [--out=DIR] [ml-mirror-bench flags...]"; exit 2 ;;
  esac
done
cd "$ROOT"
if [[ $BUILD == 1 ]]; then
  bazel build -c opt //host_service:ml-host //mirror:ml-mirror //tools/load:ml-mirror-bench >&2
fi
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
WORK="$(mktemp -d /tmp/ml-mirror-bench.XXXXXX)"   # mode 0700: the admin socket lives here
OUT="${OUT:-$WORK}"
mkdir -p "$OUT"
PIDS=()
cleanup() {  # SIGTERM, up to 10 s, then SIGKILL (and say so: a server that hangs in shutdown)
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "WARNING: pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) did not exit 10 s after SIGTERM; killed" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK/db-"* "$WORK/admin.sock"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

: >"$WORK/host.err"; : >"$WORK/mirror.err"
"$BIN/host_service/ml-host" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$WORK/db-host" \
  --sync=true 2>"$WORK/host.err" &
HOST_PID=$!; PIDS+=("$HOST_PID")
HOST_ADDR=$(listening_address "$WORK/host.err" ml-host)
"$BIN/mirror/ml-mirror" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$WORK/db-mirror" \
  --admin_listen="unix:$WORK/admin.sock" 2>"$WORK/mirror.err" &
MIRROR_PID=$!; PIDS+=("$MIRROR_PID")
MIRROR_ADDR=$(listening_address "$WORK/mirror.err" ml-mirror)
listening_address "$WORK/mirror.err" "ml-mirror admin" >/dev/null

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
SETTING="ml-host RocksDB sync=true, ml-mirror RocksDB sync=false (default), loopback, $(nproc) cores"
echo ">> mirror: ml-mirror-bench --host=$HOST_ADDR --mirror=$MIRROR_ADDR ${EXTRA[*]:-}" >&2
"$BIN/tools/load/ml-mirror-bench" --host="$HOST_ADDR" --host_pid="$HOST_PID" \
  --mirror="$MIRROR_ADDR" --mirror_admin="unix:$WORK/admin.sock" --mirror_pid="$MIRROR_PID" \
  --setting="$SETTING" --json_out="$OUT/mirror_results.json" ${EXTRA[@]+"${EXTRA[@]}"} \
  >"$OUT/mirror_table.md" ||
  { echo "ml-mirror-bench failed; mirror log:" >&2; tail -20 "$WORK/mirror.err" >&2; exit 1; }
cat "$OUT/mirror_table.md"
MIRROR_RSS=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$MIRROR_PID/status")
echo "mirror peak RSS: $MIRROR_RSS MiB; database on disk: $(du -sm "$WORK/db-mirror" | cut -f1) MiB; load average before $LOAD_BEFORE, after $(cut -d' ' -f1 /proc/loadavg)" \
  | tee -a "$OUT/mirror_table.md"
