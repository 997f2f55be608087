#!/bin/bash
# Runs ml-discovery-bench briefly on a 3-node private DHT of real dhtnode
# processes (30 ledgers, 20 resolutions) and checks its report: every row
# prints, every ledger announced is resolved, the counts add up. Then
# --hold_cluster: the proxy URLs appear, and SIGTERM stops every node.
# Behaviour, not speed: no number here is compared with a target.
# Usage: ml_discovery_bench_test.sh ML_DISCOVERY_BENCH
set -euo pipefail
BENCH="$1"
TMP="$(mktemp -d "${TEST_TMPDIR:-/tmp}/ml_discovery_bench.XXXXXX")"
HOLD_PID=""
cleanup() {
  if [[ -n "$HOLD_PID" ]] && kill -0 "$HOLD_PID" 2>/dev/null; then
    kill -9 "$HOLD_PID" 2>/dev/null || true  # its nodes die with it (PR_SET_PDEATHSIG)
  fi
}
trap cleanup EXIT

"$BENCH" --cluster_sizes=3 --ledgers=30 --samples=20 --cost_records=10 --refresh_seconds=0.5 \
  --seed=7 --work_dir="$TMP/work" --setting="test" --json_out="$TMP/report.json" >"$TMP/table.md" ||
  { echo "ml-discovery-bench failed"; exit 1; }
cat "$TMP/table.md"
for row in "resolve, first get" "resolve, again" "announce (LocatorAnnouncer)" \
           "refresh (LocatorAnnouncer)" "sign + encrypt" "put (DhtClient)" "re-put (DhtClient)"; do
  grep -q "^| $row |" "$TMP/table.md" || { echo "FAIL: no row '$row'"; exit 1; }
done
python3 - "$TMP/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["sign_us"] > 0 and r["sign_us_end"] > 0, r
assert len(r["clusters"]) == 1, r
c = r["clusters"][0]
assert c["nodes"] == 3 and c["ledgers"] == 30, c
assert c["announce_failures"] == 0 and c["announce_per_s"] > 0, c
assert c["announce_put_latency"]["count"] >= 30, c
assert c["refresh_puts"] > 0, c
assert abs(c["ledgers_per_5min"] - c["refresh_per_s"] * 300) < 1e-6 * c["ledgers_per_5min"], c
for key in ("resolve_cold", "resolve_again"):
    s = c[key]
    assert s["count"] == 20 and s["p50_ms"] <= s["p99_ms"] <= s["max_ms"], (key, s)
assert c["cold_found"] == 20 and c["again_found"] == 20, c
assert c["cost_records"] == 10 and c["sign_encrypt_cpu_us"] > 0, c
assert c["put_latency"]["count"] == 10 and c["reput_latency"]["count"] == 10, c
assert c["note"] == "", c
print("report OK")
PY

# --hold_cluster: URLs of 2 proxies that answer, and SIGTERM stops the nodes.
"$BENCH" --hold_cluster=2 --urls_file="$TMP/urls" --work_dir="$TMP" 2>"$TMP/hold.err" &
HOLD_PID=$!
for _ in $(seq 1 300); do [[ -s "$TMP/urls" ]] && break; sleep 0.1; done
[[ -s "$TMP/urls" ]] || { echo "FAIL: no proxy URLs"; cat "$TMP/hold.err"; exit 1; }
[[ $(wc -l <"$TMP/urls") == 2 ]] || { echo "FAIL: not 2 URLs"; cat "$TMP/urls"; exit 1; }
NODES=$(for stat in /proc/[0-9]*/stat; do
  awk -v p="$HOLD_PID" '$2 == "(dhtnode)" && $4 == p {print $1}' "$stat" 2>/dev/null
done)
[[ $(echo "$NODES" | wc -w) == 2 ]] || { echo "FAIL: expected 2 dhtnode children, got: $NODES"; exit 1; }
grep -q '^http://127.0.0.1:[0-9]*$' "$TMP/urls" || { echo "FAIL: bad URLs"; cat "$TMP/urls"; exit 1; }
kill -TERM "$HOLD_PID"
for _ in $(seq 1 100); do kill -0 "$HOLD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$HOLD_PID" 2>/dev/null && { echo "FAIL: --hold_cluster did not exit 10 s after SIGTERM"; exit 1; }
wait "$HOLD_PID" || { echo "FAIL: --hold_cluster exited with $?"; cat "$TMP/hold.err"; exit 1; }
HOLD_PID=""
for pid in $NODES; do
  [[ -d /proc/$pid ]] && { echo "FAIL: dhtnode $pid still running"; exit 1; }
done
echo "hold OK"
