#!/usr/bin/env bash
# mlctl append LEDGER --from-file=EVENTS.jsonl against a real ml-host and
# ml-owner on loopback (port 0): 1,500 events become blocks 2..1501 and the
# ledger verifies; stdin with "-"; a malformed line is reported with its line
# number and nothing is sent (exit 2); an event the agent refuses mid-file
# keeps the blocks before it and names its line (exit 1); progress appears on
# a terminal (script(1) gives mlctl one) and not in a pipe. Bounded: every
# wait has a timeout; stops what it starts.
# Usage: mlctl_bulk_test.sh ML_HOST ML_OWNER MLCTL
set -u
host_bin="$1"; owner_bin="$2"; mlctl="$3"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/mlctl_bulk.XXXXXX")"
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
wait_listening() {  # LOG: prints the address from the "listening on ADDR" line.
  for _ in $(seq 200); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$1" | head -n1)
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "no 'listening on' line in $1:" >&2; cat "$1" >&2
  return 1
}

"$host_bin" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$tmp/db" --sync=false \
  2>"$tmp/host.log" & pids+=($!)
host=$(wait_listening "$tmp/host.log") || exit 1
ML_PASSPHRASE='correct horse battery staple' "$owner_bin" --listen=127.0.0.1:0 \
  --keystore="$tmp/keys" --keystore_kdf=min --host="$host" 2>"$tmp/agent.log" & pids+=($!)
agent=$(wait_listening "$tmp/agent.log") || exit 1
m() { timeout 120 "$mlctl" --agent="$agent" "$@"; }

ledger=$(m ledger create --type=log); check "ledger create exits 0" $?
for i in $(seq 1 1500); do printf '{"event":"line","i":%d}\n' "$i"; done >"$tmp/events.jsonl"

m append "$ledger" --from-file="$tmp/events.jsonl" >"$tmp/out" 2>"$tmp/err"
check "append --from-file exits 0" $?
grep -Eq "^appended 1500 blocks 2\.\.1501, head u[A-Za-z0-9_-]+$" "$tmp/out"
check "... one summary line: 1500 blocks, 2..1501, the head" $?
[ "$(wc -l <"$tmp/out")" -eq 1 ] && [ ! -s "$tmp/err" ]
check "... nothing else on stdout, nothing on stderr (not a terminal)" $?
[ "$(m verify "$ledger")" = "OK $ledger 1501 blocks" ]; check "verify LEDGER says OK, 1501 blocks" $?

printf '{"event":"a"}\n\n{"event":"b"}\n' | m append "$ledger" --from-file=- >"$tmp/out"
check "--from-file=- reads stdin (blank lines skipped)" $?
grep -q "^appended 2 blocks 1502\.\.1503," "$tmp/out"; check "... blocks 1502..1503" $?

printf '{"event":"a"}\n{"event":"b"}\n{"event":}\n{"event":"d"}\n' >"$tmp/malformed.jsonl"
m append "$ledger" --from-file="$tmp/malformed.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ]; check "a malformed line exits 2" $?
grep -q "malformed.jsonl: line 3: not JSON" "$tmp/err" && grep -q "nothing was sent" "$tmp/err"
check "... naming line 3, nothing sent" $?
printf '{"event":"a"}\n["not an object"]\n' | m append "$ledger" --from-file=- 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "line 2: not a JSON object" "$tmp/err"
check "a line that is not an event object exits 2 naming line 2" $?
[ "$(m verify "$ledger")" = "OK $ledger 1503 blocks" ]; check "... nothing was appended" $?

{ for i in 1 2 3 4 5; do printf '{"event":"ok","i":%d}\n' "$i"; done
  printf '{"event":"closed document"}\n{"event":"never"}\n'; } >"$tmp/refused.jsonl"
m append "$ledger" --from-file="$tmp/refused.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ]; check "an event the agent refuses exits 1" $?
grep -q "^appended 5 blocks 1504\.\.1508," "$tmp/out"; check "... the 5 blocks before it stay" $?
grep -q "refused.jsonl: line 6: FAILED_PRECONDITION: .*reserved" "$tmp/err"
check "... stderr names line 6 and the agent's error" $?
[ "$(m verify "$ledger")" = "OK $ledger 1508 blocks" ]; check "... nothing after it" $?

m append "$ledger" '{"event":"x"}' --from-file="$tmp/events.jsonl" 2>/dev/null
[ $? -eq 2 ]; check "--from-file with an event operand is a usage error" $?
m append "$ledger" --from-file="$tmp/missing.jsonl" 2>/dev/null
[ $? -eq 2 ]; check "an unreadable file exits 2" $?

timeout 120 script -qec "'$mlctl' --agent='$agent' append '$ledger' --from-file='$tmp/events.jsonl'" \
  /dev/null >"$tmp/tty" </dev/null
check "append --from-file on a terminal exits 0" $?
grep -q $'\r1500/1500 blocks' "$tmp/tty"; check "... shows progress SENT/TOTAL blocks" $?

m help append >"$tmp/help" 2>&1
grep -q -- "--from-file=EVENTS.jsonl" "$tmp/help"; check "help append documents --from-file" $?

[ "$failures" -eq 0 ]
