#!/usr/bin/env bash
# Discovery without a DHT (issue #12 (d)): ml-host with --dht_proxy pointing at
# a port where nothing listens keeps serving (ledger create and appends
# through a real ml-owner succeed) and says so once in its log, without the
# ledger id; mlctl resolve and --from=dht against that dead proxy exit 2 with
# one clear line on stderr and nothing on stdout. Bounded waits; stops what
# it starts.
# Usage: dht_unreachable_test.sh ML_HOST ML_OWNER MLCTL
set -u
host_bin="$1"; owner_bin="$2"; mlctl="$3"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/dht_unreachable.XXXXXX")"
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
wait_listening() {  # LOG: prints the address of its "listening on ADDR" line
  for _ in $(seq 200); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$1" | head -n1)
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "no 'listening on' line in $1:" >&2; cat "$1" >&2
  return 1
}
# A loopback TCP port nothing listens on: bound by a probe, then released.
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dead="http://127.0.0.1:$dead_port"

"$host_bin" --listen=127.0.0.1:0 --storage=memory --dht_proxy="$dead" \
  --announce_url=grpc://127.0.0.1:7400 --dht_timeout_ms=200 2>"$tmp/host.log" & pids+=($!)
host=$(wait_listening "$tmp/host.log") || exit 1
printf 'correct horse battery staple\n' >"$tmp/pass"; chmod 600 "$tmp/pass"
"$owner_bin" --listen=127.0.0.1:0 --keystore="$tmp/keys" --keystore_kdf=min \
  --passphrase_file="$tmp/pass" --host="$host" --dht_proxy="$dead" 2>"$tmp/agent.log" & pids+=($!)
agent=$(wait_listening "$tmp/agent.log") || exit 1
m() { timeout 30 "$mlctl" --agent="$agent" "$@"; }

ledger=$(m ledger create --type=invoice); check "ledger create with the DHT down exits 0" $?
ok=0
for i in 1 2 3 4 5; do
  n=$(m append "$ledger" "{\"event\":\"e$i\"}") && [ "$n" = $((i + 1)) ] || ok=1
  sleep 0.3
done
check "appends with the DHT down succeed" $ok
[ "$(m verify "$ledger")" = "OK $ledger 6 blocks" ]; check "verify through the agent says OK" $?

sleep 1  # the announcer's retries (backoff) meanwhile
[ "$(grep -c 'unreachable' "$tmp/host.log")" -eq 1 ]
check "ml-host says once that the DHT proxy is unreachable" $?
grep -q "DHT proxy $dead unreachable" "$tmp/host.log"; check "... naming the proxy" $?
! grep -qF "${ledger#jlinx:}" "$tmp/host.log"; check "... and never the ledger id" $?

timeout 30 "$mlctl" resolve "$ledger" --dht_proxy="$dead" >"$tmp/r.out" 2>"$tmp/r.err"
[ $? -eq 2 ]; check "resolve against a dead proxy exits 2" $?
[ ! -s "$tmp/r.out" ] && [ "$(wc -l <"$tmp/r.err")" -eq 1 ] &&
  grep -q "^mlctl resolve: the DHT proxy did not answer: .*127.0.0.1" "$tmp/r.err"
check "... with one line on stderr naming the proxy" $?
timeout 30 "$mlctl" verify "$ledger" --from=dht --dht_proxy="$dead" >"$tmp/v.out" 2>"$tmp/v.err"
[ $? -eq 2 ] && [ ! -s "$tmp/v.out" ] && [ "$(wc -l <"$tmp/v.err")" -eq 1 ]
check "verify --from=dht against a dead proxy: exit 2, one line" $?
timeout 30 "$mlctl" resolve "$ledger" >/dev/null 2>"$tmp/n.err"
[ $? -eq 2 ] && grep -q "dht_proxy" "$tmp/n.err"; check "resolve without --dht_proxy is a usage error" $?

if [ "$failures" -ne 0 ]; then
  echo "--- host log"; cat "$tmp/host.log"; echo "--- agent log"; cat "$tmp/agent.log"
  echo "$failures check(s) failed"; exit 1
fi
echo "all checks passed"
