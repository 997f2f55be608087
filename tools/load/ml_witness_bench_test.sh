#!/bin/bash
# Runs ml-witness-bench with tiny sizes (20 ledgers in process, 30 for the
# bytes, 10 over HTTP) against a real ml-witness on loopback and checks its
# table and JSON report: every phase is there, every request was cosigned,
# the counts add up, the store has bytes on disk, the floor is measured.
# Behaviour, not speed: no number here is compared with a target.
# Usage: ml_witness_bench_test.sh ML_WITNESS_BENCH ML_WITNESS MLCTL
set -euo pipefail
BENCH="$1"; ML_WITNESS="$2"; MLCTL="$3"
TMP="$(mktemp -d "${TEST_TMPDIR:-/tmp}/ml_witness_bench.XXXXXX")"
WITNESS_PID=""
cleanup() {  # SIGTERM, up to 10 s, then SIGKILL (and say so)
  [[ -n "$WITNESS_PID" ]] || return 0
  kill "$WITNESS_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$WITNESS_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$WITNESS_PID" 2>/dev/null; then
    echo "WARNING: ml-witness did not exit 10 s after SIGTERM; killed"
    kill -9 "$WITNESS_PID" 2>/dev/null || true
  fi
  wait "$WITNESS_PID" 2>/dev/null || true
}
trap cleanup EXIT
"$MLCTL" witness keygen --name=bench.example/test --out="$TMP/w.key" >/dev/null
: >"$TMP/witness.err"
"$ML_WITNESS" --key_file="$TMP/w.key" --storage=memory --http_listen=127.0.0.1:0 \
  --listen=127.0.0.1:0 --client_requests_per_second=0 --client_new_ledgers_per_minute=0 \
  2>"$TMP/witness.err" &
WITNESS_PID=$!
HTTP=""
for _ in $(seq 1 200); do
  HTTP=$(sed -n 's/.*ml-witness http: listening on \([^ ]*\).*/\1/p' "$TMP/witness.err" | head -1)
  [[ -n "$HTTP" ]] && break
  sleep 0.05
done
[[ -n "$HTTP" ]] || { echo "ml-witness did not start:"; cat "$TMP/witness.err"; exit 1; }
mkdir -p "$TMP/work"

"$BENCH" --work_dir="$TMP/work" --ledgers=20 --rounds=3 --bytes_ledgers=30 --bytes_rounds=2 \
  --witness_http="$HTTP" --witness_pid="$WITNESS_PID" --http_ledgers=10 --http_rounds=2 \
  --http_clients=2 --json_out="$TMP/report.json" >"$TMP/table.md" ||
  { echo "ml-witness-bench failed"; tail -20 "$TMP/witness.err"; exit 1; }
cat "$TMP/table.md"
for row in "in process, memory: first" "in process, memory: next" \
    "in process, RocksDB sync=true (as ml-witness): next" "in process, RocksDB sync=false: next" \
    "bytes per ledger, 30 ledgers" "ml-witness over HTTP"; do
  grep -q "^| $row |" "$TMP/table.md" || { echo "FAIL: no row '$row'"; exit 1; }
done
grep -q "^floor: Ed25519 sign" "$TMP/table.md" || { echo "FAIL: no floor line"; exit 1; }
python3 - "$TMP/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["sign_us"] > 0 and r["verify_us"] > 0 and r["floor_us"] > 0, r
phases = {p["name"]: p for p in r["phases"]}
assert len(phases) == 8, list(phases)
for p in r["phases"]:
    assert p["cosigned"] == p["count"], p
    assert p["wall_s"] > 0 and p["cpu_s"] >= 0, p
for storage in ("memory", "RocksDB sync=true (as ml-witness)", "RocksDB sync=false"):
    assert phases[f"in process, {storage}: first"]["count"] == 20, phases
    assert phases[f"in process, {storage}: next"]["count"] == 40, phases
    assert phases[f"in process, {storage}: next"]["proof_hashes"] > 0, phases
b = phases["bytes per ledger, 30 ledgers"]
assert b["count"] == 60 and b["ledgers"] == 30, b
assert b["disk_bytes"] >= b["sst_bytes"] > 0, b
h = phases["ml-witness over HTTP"]
assert h["count"] == 20 and h["cosigned"] == 20 and h["cpu_s"] >= 0, h
print("report OK")
PY
[[ -z "$(ls -A "$TMP/work")" ]] || { echo "FAIL: stores left in the work directory"; ls -A "$TMP/work"; exit 1; }
echo PASS
