#!/usr/bin/env bash
# Metrics end to end: a real ml-host, ml-owner and ml-mirror on loopback
# (port 0, temporary directories) with --metrics_listen=127.0.0.1:0; a ledger
# written through the agent with mlctl; each /metrics output checked by
# Debian's promtool (`promtool check metrics`, strict about names), specific
# counters checked to have moved, and the ledger id checked to appear nowhere.
# Then a real Prometheus server (Debian's prometheus, its own storage in a
# temporary directory, listening on loopback) scrapes the host and the agent
# every second while three more events are written, until its query API
# returns the committed appends of both, those three included.
# Installs nothing (scripts/install_deps.sh installs prometheus); bounded:
# every wait has a timeout; stops what it starts.
# Usage: metrics_test.sh ML_HOST ML_OWNER ML_MIRROR MLCTL ML_WITNESS
set -u
host_bin="$1"; owner_bin="$2"; mirror_bin="$3"; mlctl="$4"; witness_bin="$5"
for tool in promtool prometheus python3; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (scripts/install_deps.sh)"; exit 1; }
done
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/metrics.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
trap cleanup EXIT
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
# wait_line LOG PATTERN: prints the first match of the sed PATTERN in LOG.
wait_line() {
  for _ in $(seq 300); do
    found=$(sed -n "$2" "$1" | head -n1)
    if [ -n "$found" ]; then echo "$found"; return 0; fi
    sleep 0.1
  done
  echo "no start line in $1:" >&2; cat "$1" >&2
  return 1
}
listening() { wait_line "$1" 's/.*: listening on \([^ ]*\).*/\1/p'; }
metrics_url() { wait_line "$1" 's/.*: metrics on \(http:[^ ]*\)$/\1/p'; }
# fetch URL: the body, or exit 1 (10 s timeout).
fetch() {
  python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
}
# sample FILE NAME_AND_LABELS: the value of that exact sample, or empty.
sample() { awk -v key="$2" '$1 == key { print $2 }' "$1"; }
positive() { awk -v v="${1:-0}" 'BEGIN { exit !(v > 0) }'; }

mkdir -p "$tmp/agent"
# A witness the host submits its checkpoints to (its metrics and the host's
# witness metrics are checked below).
witness_vkey=$("$mlctl" witness keygen --name=metrics.test/w1 --out="$tmp/witness.key")
"$witness_bin" --key_file="$tmp/witness.key" --storage=memory --listen=127.0.0.1:0 \
  --http_listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 2>"$tmp/witness.log" & pids+=($!)
witness_http=$(wait_line "$tmp/witness.log" 's/.*http: listening on \([^ ]*\).*/\1/p') || exit 1
witness_metrics=$(metrics_url "$tmp/witness.log") || exit 1
"$host_bin" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$tmp/host" \
  --metrics_listen=127.0.0.1:0 --witness="$witness_vkey@http://$witness_http" \
  2>"$tmp/host.log" & pids+=($!)
host=$(listening "$tmp/host.log") || exit 1
host_metrics=$(metrics_url "$tmp/host.log") || exit 1
printf 'correct horse battery staple\n' >"$tmp/agent/pass"; chmod 600 "$tmp/agent/pass"
printf 's3cret-token\n' >"$tmp/agent/token"; chmod 600 "$tmp/agent/token"
"$owner_bin" --listen=127.0.0.1:0 --keystore="$tmp/agent/keys" --keystore_kdf=min \
  --passphrase_file="$tmp/agent/pass" --token_file="$tmp/agent/token" --host="$host" \
  --metrics_listen=127.0.0.1:0 2>"$tmp/agent.log" & pids+=($!)
agent=$(listening "$tmp/agent.log") || exit 1
agent_metrics=$(metrics_url "$tmp/agent.log") || exit 1
echo "host $host ($host_metrics), agent $agent ($agent_metrics)"
echo "$host_metrics $agent_metrics" | grep -Eq '^http://127\.0\.0\.1:[1-9][0-9]*/metrics http://127\.0\.0\.1:[1-9][0-9]*/metrics$'
check "start lines name the bound metrics ports" $?
m() { timeout 30 "$mlctl" --agent="$agent" --token_file="$tmp/agent/token" "$@"; }

ledger=$(m ledger create --type=invoice); check "ledger create exits 0" $?
m append "$ledger" '{"event":"paid","amount":5}' >/dev/null; check "append exits 0" $?
m append "$ledger" '{"event":"shipped"}' >/dev/null; check "second append exits 0" $?
m append "$ledger" '{"no event":1}' >/dev/null 2>&1; [ $? -eq 1 ]; check "a malformed append exits 1" $?
id_part="${ledger#jlinx:}"

"$mirror_bin" --listen=127.0.0.1:0 --storage=memory --follow="$ledger@$host" \
  --metrics_listen=127.0.0.1:0 2>"$tmp/mirror.log" & pids+=($!)
listening "$tmp/mirror.log" >/dev/null || exit 1
mirror_metrics=$(metrics_url "$tmp/mirror.log") || exit 1

for service in host agent; do
  url_var="${service}_metrics"
  fetch "${!url_var}" >"$tmp/$service.prom"; check "$service: /metrics answers" $?
  promtool check metrics <"$tmp/$service.prom" >"$tmp/$service.promtool" 2>&1
  check "$service: promtool check metrics passes" $?
  cat "$tmp/$service.promtool"
  ! grep -qF -- "$id_part" "$tmp/$service.prom"; check "$service: the ledger id appears nowhere" $?
  for name in process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
              process_max_fds process_start_time_seconds process_virtual_memory_bytes; do
    positive "$(sample "$tmp/$service.prom" "$name")"; check "$service: $name > 0" $?
  done
done

h="$tmp/host.prom"
[ "$(sample "$h" 'microledger_host_appends_total{outcome="committed",rule="OK"}')" = 3 ]
check "host: 3 appends committed (genesis and two events)" $?
[ "$(sample "$h" 'microledger_host_commit_group_appends_count')" -ge 1 ] 2>/dev/null
check "host: commit groups observed" $?
positive "$(sample "$h" 'microledger_host_checkpoint_sign_seconds_count')"
check "host: checkpoint signing observed" $?
positive "$(sample "$h" 'microledger_host_ledgers_cached')"; check "host: a ledger cached" $?
positive "$(sample "$h" 'microledger_host_rocksdb_estimate_live_data_bytes')" ||
  [ -n "$(sample "$h" 'microledger_host_rocksdb_total_sst_files_bytes')" ]
check "host: RocksDB properties read" $?
positive "$(sample "$h" 'grpc_server_handled_total{grpc_type="unary",grpc_service="microledger.v1.HostService",grpc_method="CreateLedger",grpc_code="OK"}')"
check "host: grpc_server_handled_total of CreateLedger, OK" $?
positive "$(sample "$h" 'grpc_server_msg_received_total{grpc_type="bidi_stream",grpc_service="microledger.v1.HostService",grpc_method="AppendStream"}')"
check "host: AppendStream messages received" $?

a="$tmp/agent.prom"
[ "$(sample "$a" 'microledger_agent_appends_total{outcome="committed",rule="OK"}')" = 2 ]
check "agent: 2 appends committed" $?
[ "$(sample "$a" 'microledger_agent_appends_total{outcome="rejected",rule="InvalidArgument"}')" = 1 ]
check "agent: the malformed append counted rejected, InvalidArgument" $?
[ "$(sample "$a" 'grpc_server_handled_total{grpc_type="unary",grpc_service="microledger.v1.OwnerAgentService",grpc_method="AppendEvent",grpc_code="OK"}')" = 2 ]
check "agent: grpc_server_handled_total of AppendEvent, OK = 2" $?
[ "$(sample "$a" 'grpc_server_handled_total{grpc_type="unary",grpc_service="microledger.v1.OwnerAgentService",grpc_method="AppendEvent",grpc_code="InvalidArgument"}')" = 1 ]
check "agent: grpc_server_handled_total of AppendEvent, InvalidArgument = 1" $?
[ "$(sample "$a" 'microledger_agent_host_replies_rejected_total')" = 0 ] &&
  [ "$(sample "$a" 'microledger_agent_equivocations_detected_total')" = 0 ]
check "agent: no host reply rejected, no equivocation" $?

# The mirror: it follows the ledger's 3 blocks.
stored=""
for _ in $(seq 100); do
  fetch "$mirror_metrics" >"$tmp/mirror.prom" 2>/dev/null
  stored=$(sample "$tmp/mirror.prom" 'microledger_mirror_blocks_stored_total')
  [ "$stored" = 3 ] && break
  sleep 0.1
done
[ "$stored" = 3 ]; check "mirror: 3 blocks verified and stored" $?
[ "$(sample "$tmp/mirror.prom" 'microledger_mirror_ledgers_followed')" = 1 ]
check "mirror: 1 ledger followed" $?
promtool check metrics <"$tmp/mirror.prom" >/dev/null 2>&1; check "mirror: promtool check metrics passes" $?
! grep -qF -- "$id_part" "$tmp/mirror.prom"; check "mirror: the ledger id appears nowhere" $?

# The witness, and the host's submissions to it (asynchronous: bounded wait).
cosigned=""
for _ in $(seq 100); do
  fetch "$witness_metrics" >"$tmp/witness.prom" 2>/dev/null
  cosigned=$(sample "$tmp/witness.prom" 'microledger_witness_cosignatures_total')
  positive "$cosigned" && break
  sleep 0.1
done
positive "$cosigned"; check "witness: cosigned the host's checkpoints ($cosigned)" $?
promtool check metrics <"$tmp/witness.prom" >/dev/null 2>&1; check "witness: promtool check metrics passes" $?
! grep -qF -- "$id_part" "$tmp/witness.prom"; check "witness: the ledger id appears nowhere" $?
fetch "$host_metrics" >"$tmp/host-witness.prom"
positive "$(sample "$tmp/host-witness.prom" 'microledger_host_witness_submissions_total{outcome="cosigned"}')"
check "host: witness submissions counted as cosigned" $?
promtool check metrics <"$tmp/host-witness.prom" >/dev/null 2>&1
check "host with a witness: promtool check metrics passes" $?

# A real Prometheus scrapes both. Its port: a free one found by binding port
# 0 (it cannot report a port 0 it was given); retried if taken meanwhile.
target() { echo "$1" | sed 's|^http://\([^/]*\)/metrics$|\1|'; }
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ml-host
    static_configs:
      - targets: ['$(target "$host_metrics")']
  - job_name: ml-owner
    static_configs:
      - targets: ['$(target "$agent_metrics")']
EOF
promtool check config "$tmp/prometheus.yml" >/dev/null; check "the Prometheus configuration is valid" $?
prometheus_up=1
for attempt in 1 2 3; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$tmp/tsdb$attempt"
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb$attempt" \
    --web.listen-address="127.0.0.1:$port" 2>"$tmp/prometheus$attempt.log" & prometheus=$!
  pids+=($prometheus)
  for _ in $(seq 300); do
    if fetch "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then prometheus_up=0; break; fi
    kill -0 "$prometheus" 2>/dev/null || break
    sleep 0.1
  done
  [ $prometheus_up -eq 0 ] && break
  kill "$prometheus" 2>/dev/null; wait "$prometheus" 2>/dev/null
done
check "Prometheus starts on 127.0.0.1:$port" $prometheus_up
[ $prometheus_up -eq 0 ] || tail -n 20 "$tmp"/prometheus*.log
# query PROMQL: the first result's value, or empty.
query() {
  python3 -c 'import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
result = json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]
print(result[0]["value"][1] if result else "")' "$port" "$1" 2>/dev/null
}
# The ledger is written on while Prometheus scrapes: three more events, so the
# scraped counters must reach the totals (host: genesis + 5 events; agent: 5).
for event in one two three; do
  m append "$ledger" "{\"event\":\"while scraped $event\"}" >/dev/null
  check "append $event while Prometheus scrapes exits 0" $?
  sleep 1
done
# reaches PROMQL WANT: within 30 s, the query's value is at least WANT.
reaches() {
  local value=""
  for _ in $(seq 60); do
    value=$(query "$1")
    [ -n "$value" ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) < float(sys.argv[2]))' \
      "$value" "$2" && break
    sleep 0.5
  done
  echo "${value:-nothing}"
  [ -n "$value" ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) < float(sys.argv[2]))' "$value" "$2"
}
for pair in 'sum(microledger_host_appends_total{outcome="committed"}) 6' \
            'sum(microledger_agent_appends_total{outcome="committed"}) 5' \
            'sum(grpc_server_handled_total{job="ml-owner",grpc_method="AppendEvent",grpc_code="OK"}) 5'; do
  q=${pair% *}; want=${pair##* }
  value=$(reaches "$q" "$want"); ok=$?
  check "Prometheus scraped while writing: $q = $value >= $want" $ok
done
kill "$prometheus" 2>/dev/null; wait "$prometheus" 2>/dev/null

echo "$failures failed"
[ "$failures" -eq 0 ]
