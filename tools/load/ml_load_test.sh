#!/bin/bash
# Runs ml-load briefly (a few hundred requests) against a real ml-host on a free loopback
# port for each host scenario, end to end through a real ml-owner
# (agent-append), plus the in-process verify scenario, and checks the JSON
# report: the fields are there, the counts add up, no errors.
# Behaviour, not speed: no number here is compared with a target.
set -euo pipefail
ML_LOAD="$1"
ML_HOST="$2"
ML_OWNER="$3"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
HOST_PID=""
AGENT_PID=""
cleanup() {  # SIGTERM, up to 10 s, then SIGKILL (and say so: a server that ignores SIGTERM)
  for pid in "$AGENT_PID" "$HOST_PID"; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "WARNING: pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) did not exit 10 s after SIGTERM; killed"
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

"$ML_HOST" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$TMP/db" --sync=false \
  2>"$TMP/host.err" &
HOST_PID=$!
ADDR=""
for _ in $(seq 1 200); do
  ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$TMP/host.err" | head -1)
  [[ -n "$ADDR" ]] && break
  sleep 0.05
done
[[ -n "$ADDR" ]] || { echo "ml-host did not start"; cat "$TMP/host.err"; exit 1; }

check() {  # check NAME JSON REQUIRED_FIELDS...
  local name="$1" json="$2"; shift 2
  python3 - "$name" "$json" "$@" <<'PY'
import json, sys
name, text, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
r = json.loads(text)
missing = [f for f in fields if f not in r or r[f] is None]
assert not missing, f"{name}: missing fields {missing}: {text}"
assert r["scenario"] == name, (name, r["scenario"])
assert r["errors"] == 0, f"{name}: errors {r['errors']}: {r.get('note')}"
assert r["total"] > 0 and r["rps"] > 0, text
assert r["status_codes"].get("OK") == r["total"], text
assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"], text
print(f"PASS {name}: total={r['total']} rps={r['rps']:.0f} p99={r['p99_ms']:.2f}ms")
PY
}

# check_over_ed25519 PROCESS JSON: the process's Ed25519 work per block is
# what its role needs (host: 1 verify + 2 signs; agent: 1 sign + 2
# verifies) in the run's thread-CPU floor, and its CPU is divided by it.
check_over_ed25519() {
  python3 - "$1" "$2" <<'PY'
import json, sys
process, r = sys.argv[1], json.loads(sys.argv[2])
sign, verify = r["sign_cpu_us"], r["verify_cpu_us"]
assert 0 < sign < verify, r
work = verify + 2 * sign if process == "host" else sign + 2 * verify
assert abs(r[f"{process}_ed25519_us_per_block"] - work) < 1e-6, r
ratio = r[f"{process}_cpu_us_per_block"] / work
assert abs(r[f"{process}_cpu_over_ed25519"] - ratio) < 1e-6, r
print(f"PASS {process} CPU / Ed25519 work: {ratio:.2f}")
PY
}

COMMON=(--addr="$ADDR" --format=json --draft_threads=1)
APPEND_FIELDS=(scenario total errors rps p50_ms p99_ms floor_us_per_block host_cpu_us_per_block ratio)

# Runs that report CPU per block append enough blocks (400) for the host's CPU
# time, which /proc counts in 10 ms ticks, to be measurable.
for scenario in host-append host-append-stream; do
  out=$("$ML_LOAD" --scenario=$scenario "${COMMON[@]}" --ledgers=4 --concurrency=4 \
        --total=400 --host_pid="$HOST_PID")
  check $scenario "$out" "${APPEND_FIELDS[@]}" host_ed25519_us_per_block host_cpu_over_ed25519
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['blocks']==400, r" "$out"
  check_over_ed25519 host "$out"
done

# --duration ends by itself too.
out=$("$ML_LOAD" --scenario=host-append "${COMMON[@]}" --ledgers=2 --concurrency=2 \
      --duration=0.5 --predraft=100000 --host_pid="$HOST_PID")
check host-append "$out" "${APPEND_FIELDS[@]}"

# Append cost vs ledger size: one ledger filled by stream to each size, a
# window measured at each (unary, then stream); enough blocks per run for
# the CPU per block, as above. Then --windows: mode and host RSS per window.
out=$("$ML_LOAD" --scenario=host-append "${COMMON[@]}" --ledgers=1 --concurrency=1 \
      --sample_sizes=50,500 --sample_window=200 --host_pid="$HOST_PID")
check host-append "$out" "${APPEND_FIELDS[@]}"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["blocks"] == 400, r
assert [s["ledger_blocks"] for s in r["series"]] == [50, 500], r["series"]
assert [(f["ledger_blocks"], f["blocks"]) for f in r["fill"]] == [(1, 49), (250, 250)], r["fill"]
for s in r["series"] + r["fill"]:
    assert s["host_rss_mib"] > 0 and s["host_peak_rss_mib"] >= s["host_rss_mib"], s
assert all(s["mode"].startswith("unary") for s in r["series"]), r["series"]
assert all(f["mode"].startswith("stream") for f in r["fill"]), r["fill"]
assert r["client_peak_rss_mib"] > 0, r
PY
out=$("$ML_LOAD" --scenario=host-append-stream "${COMMON[@]}" --ledgers=1 --window=8 \
      --sample_sizes=30 --sample_window=400 --host_pid="$HOST_PID")
check host-append-stream "$out" "${APPEND_FIELDS[@]}"
python3 -c "import json,sys; r=json.loads(sys.argv[1]); s=r['series']; assert len(s)==1 and s[0]['ledger_blocks']==30 and s[0]['blocks']==400 and s[0]['mode'].startswith('stream'), r" "$out"
if "$ML_LOAD" --scenario=host-append --addr="$ADDR" --ledgers=1 --sample_sizes=50,100 \
     --sample_window=100 --host_pid="$HOST_PID" 2>/dev/null; then
  echo "FAIL: sample sizes closer than --sample_window accepted"; exit 1
fi
out=$("$ML_LOAD" --scenario=host-append "${COMMON[@]}" --ledgers=2 --concurrency=2 \
      --total=400 --windows=2 --host_pid="$HOST_PID")
python3 -c "import json,sys; r=json.loads(sys.argv[1]); s=r['series']; assert len(s)==2 and sum(w['blocks'] for w in s)==400 and s[0]['mode']=='unary, 2 in flight' and s[0]['host_rss_mib']>0, r" "$out"

# Many ledgers: 120 ledgers of two blocks each, measured at 50 and 120.
out=$("$ML_LOAD" --scenario=many-ledgers "${COMMON[@]}" --ledgers=120 --sample_sizes=50 \
      --sample_window=30 --idle_seconds=0.2 --concurrency=3 --window=8 \
      --host_pid="$HOST_PID" --host_data_dir="$TMP/db")
check many-ledgers "$out" scenario total errors rps p50_ms p99_ms ledger_counts
python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
counts = r["ledger_counts"]
assert [c["ledgers"] for c in counts] == [50, 120], counts
assert [c["appends"] for c in counts] == [30, 30] and r["blocks"] == 60, counts
for c in counts:
    assert c["append_errors"] == 0 and 0 < c["p50_ms"] <= c["p99_ms"] <= c["max_ms"], c
    assert 0 < c["hot_p50_ms"] <= c["hot_p99_ms"], c
    assert c["host_rss_mib"] > 0 and c["host_peak_rss_mib"] >= c["host_rss_mib"], c
    assert c["disk_bytes"] > 0 and c["idle_seconds"] >= 0.2 and c["fill_ledgers_per_s"] > 0, c
PY
if "$ML_LOAD" --scenario=many-ledgers --addr="$ADDR" --ledgers=10 --sample_sizes=20 \
     --host_pid="$HOST_PID" 2>/dev/null; then
  echo "FAIL: a ledger count above --ledgers accepted"; exit 1
fi

# End to end through the owner agent (ledgers created through the agent).
: >"$TMP/owner.err"
ML_PASSPHRASE="ml-load test passphrase" "$ML_OWNER" --keystore="$TMP/keystore" \
  --keystore_kdf=min --host="$ADDR" --listen=127.0.0.1:0 2>>"$TMP/owner.err" &
AGENT_PID=$!
AGENT_ADDR=""
for _ in $(seq 1 200); do
  AGENT_ADDR=$(sed -n 's/.*ml-owner: listening on \([^ ]*\).*/\1/p' "$TMP/owner.err" | head -1 || true)
  [[ -n "$AGENT_ADDR" ]] && break
  sleep 0.05
done
[[ -n "$AGENT_ADDR" ]] || { echo "ml-owner did not start"; cat "$TMP/owner.err"; exit 1; }
out=$("$ML_LOAD" --scenario=agent-append --addr="$AGENT_ADDR" --format=json --ledgers=4 \
      --concurrency=4 --total=400 --host_pid="$HOST_PID" --agent_pid="$AGENT_PID")
check agent-append "$out" "${APPEND_FIELDS[@]}" agent_cpu_us_per_block e2e_cpu_us_per_block
python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['blocks']==400 and r['ledgers']==4, r" "$out"
check_over_ed25519 host "$out"
check_over_ed25519 agent "$out"
# More workers than ledgers: the agent pipelines several appends per ledger.
out=$("$ML_LOAD" --scenario=agent-append --addr="$AGENT_ADDR" --format=json --ledgers=2 \
      --concurrency=6 --duration=0.5 --agent_pid="$AGENT_PID")
check agent-append "$out" scenario total errors rps p50_ms p99_ms agent_cpu_us_per_block
# One ledger, bulk: one AppendEvents stream of 600 events, in messages of 64.
out=$("$ML_LOAD" --scenario=agent-bulk --addr="$AGENT_ADDR" --format=json --concurrency=1 \
      --total=600 --events_per_message=64 --host_pid="$HOST_PID" --agent_pid="$AGENT_PID")
# (No per-block latency: one answer per stream.)
python3 -c "
import json, sys
r = json.loads(sys.argv[1])
assert r['scenario'] == 'agent-bulk' and r['blocks'] == 600 and r['total'] == 600, r
assert r['errors'] == 0 and r['status_codes'] == {'OK': 600} and r['ledgers'] == 1, r
assert r['blocks_per_s'] > 0 and r['agent_cpu_us_per_block'] is not None, r
assert r['host_cpu_us_per_block'] is not None and r['e2e_cpu_us_per_block'] is not None, r
" "$out"

out=$("$ML_LOAD" --scenario=read-range "${COMMON[@]}" --ledgers=2 --concurrency=2 \
      --blocks_per_ledger=20 --total=50)
check read-range "$out" scenario total errors rps p50_ms p99_ms blocks
python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['blocks']==50*20, r" "$out"
out=$("$ML_LOAD" --scenario=read-range "${COMMON[@]}" --ledgers=2 --concurrency=2 \
      --blocks_per_ledger=20 --total=50 --blocks_per_message=7)
python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['blocks']==50*20 and r['errors']==0, r" "$out"

out=$("$ML_LOAD" --scenario=proof "${COMMON[@]}" --ledgers=2 --concurrency=2 \
      --blocks_per_ledger=20 --total=50)
check proof "$out" scenario total errors rps p50_ms p99_ms

out=$("$ML_LOAD" --scenario=verify --format=json --bundle_blocks=200 --total=2 --concurrency=1)
check verify "$out" scenario total errors rps p50_ms p99_ms floor_us_per_block ratio
python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['blocks']==400, r" "$out"

# Text format and a bad flag.
"$ML_LOAD" --scenario=proof --addr="$ADDR" --ledgers=1 --concurrency=1 \
  --blocks_per_ledger=5 --total=5 | grep -q "Status code distribution"
if "$ML_LOAD" --scenario=nope --addr="$ADDR" --total=1 2>/dev/null; then
  echo "FAIL: unknown scenario accepted"; exit 1
fi
echo "all ml-load checks passed"
