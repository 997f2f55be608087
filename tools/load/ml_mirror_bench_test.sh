#!/bin/bash
# Runs ml-mirror-bench briefly (a 300-block catch-up, 200 paced appends, 4
# sparse ranges) against a real ml-host and ml-mirror on loopback and checks
# its JSON report: every measurement is there, the counts add up, no block
# went missing, the mirror's table prints. Behaviour, not speed: no number
# here is compared with a target.
# Usage: ml_mirror_bench_test.sh ML_MIRROR_BENCH ML_HOST ML_MIRROR
set -euo pipefail
BENCH="$1"; ML_HOST="$2"; ML_MIRROR="$3"
TMP="$(mktemp -d "${TEST_TMPDIR:-/tmp}/ml_mirror_bench.XXXXXX")"
SOCKDIR="$(mktemp -d /tmp/ml_mirror_bench_sock.XXXXXX)"  # short path, mode 0700
PIDS=()
cleanup() {  # SIGTERM, up to 10 s, then SIGKILL (and say so)
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "WARNING: pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) did not exit 10 s after SIGTERM; killed"
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT
wait_listening() {  # LOG PROGRAM
  for _ in $(seq 1 200); do
    addr=$(sed -n "s/.*$2: listening on \([^ ]*\).*/\1/p" "$1" | head -1)
    [[ -n "$addr" ]] && { echo "$addr"; return 0; }
    sleep 0.05
  done
  echo "$2 did not start:" >&2; cat "$1" >&2; return 1
}
: >"$TMP/host.err"; : >"$TMP/mirror.err"
"$ML_HOST" --listen=127.0.0.1:0 --storage=memory 2>"$TMP/host.err" & PIDS+=($!)
HOST_PID=$!
HOST=$(wait_listening "$TMP/host.err" ml-host)
"$ML_MIRROR" --listen=127.0.0.1:0 --storage=memory --admin_listen="unix:$SOCKDIR/admin.sock" \
  2>"$TMP/mirror.err" & PIDS+=($!)
MIRROR_PID=$!
MIRROR=$(wait_listening "$TMP/mirror.err" ml-mirror)
wait_listening "$TMP/mirror.err" "ml-mirror admin" >/dev/null

"$BENCH" --host="$HOST" --host_pid="$HOST_PID" --mirror="$MIRROR" \
  --mirror_admin="unix:$SOCKDIR/admin.sock" --mirror_pid="$MIRROR_PID" --catchup_blocks=300 \
  --lag_rate=200 --lag_seconds=1 --sparse_blocks=200 --sparse_ranges=4 --range_blocks=8 --warm_repeats=2 \
  --wait_seconds=60 --setting="test" --json_out="$TMP/report.json" >"$TMP/table.md" ||
  { echo "ml-mirror-bench failed"; tail -20 "$TMP/mirror.err"; exit 1; }
cat "$TMP/table.md"
for row in "catch-up (full)" "lag behind the host" "sparse read, cold" "sparse read, warm"; do
  grep -q "^| $row |" "$TMP/table.md" || { echo "FAIL: no row '$row'"; exit 1; }
done
python3 - "$TMP/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["verify_us"] > 0 and r["sign_us"] > 0, r
assert r["catchup_blocks"] == 300 and r["catchup_s"] > 0, r
assert r["catchup_mirror_cpu_us_per_block"] >= 0 and r["catchup_status_polls"] >= 1, r
assert r["lag_blocks"] == 200 and r["lag_missing"] == 0, r
assert r["lag"]["count"] == 200 and r["lag_from_ack"]["count"] == 200, r
assert r["lag"]["p50_ms"] <= r["lag"]["p99_ms"] <= r["lag"]["max_ms"], r
assert r["lag_rate_achieved"] > 0, r
assert r["sparse_blocks"] == 200 and r["range_blocks"] == 8, r
assert r["sparse_cold"]["count"] == 4 and r["sparse_warm"]["count"] == 8, r
assert r["note"] == "", r
print("report OK")
PY
