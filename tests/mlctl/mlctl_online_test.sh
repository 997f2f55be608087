#!/usr/bin/env bash
# Runs the real mlctl binary against a real ml-host and ml-owner on loopback
# (port 0, separate temporary directories), through every online command the
# issue names: ledger create, append (argument, stdin, attachment), show,
# verify LEDGER, export + offline verify FILE, tail (with and without -f,
# --start=N), close, append after close (exit 1), a bad token (exit 1), an
# unreachable agent (exit 2); and show, verify, export and tail read from the
# host without the agent (--from=ADDR), unreachable or refusing servers
# (exit 2). Bounded: every wait has a timeout; stops what it starts.
# Usage: mlctl_online_test.sh ML_HOST ML_OWNER MLCTL
set -u
host_bin="$1"; owner_bin="$2"; mlctl="$3"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/mlctl_online.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  [ -n "${sockdir:-}" ] && rm -rf "$sockdir"
}
trap cleanup EXIT
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
# wait_listening LOG: prints the address from the "listening on ADDR" line.
wait_listening() {
  for _ in $(seq 200); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$1" | head -n1)
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "no 'listening on' line in $1:" >&2; cat "$1" >&2
  return 1
}

mkdir -p "$tmp/host" "$tmp/agent"
"$host_bin" --listen=127.0.0.1:0 --storage=rocksdb --data_dir="$tmp/host/db" \
  2>"$tmp/host.log" & pids+=($!)
host=$(wait_listening "$tmp/host.log") || exit 1
printf 'correct horse battery staple\n' >"$tmp/agent/pass"; chmod 600 "$tmp/agent/pass"
printf 's3cret-token\n' >"$tmp/agent/token"; chmod 600 "$tmp/agent/token"
"$owner_bin" --listen=127.0.0.1:0 --keystore="$tmp/agent/keys" --keystore_kdf=min \
  --passphrase_file="$tmp/agent/pass" --token_file="$tmp/agent/token" --host="$host" \
  2>"$tmp/agent.log" & pids+=($!)
agent=$(wait_listening "$tmp/agent.log") || exit 1
echo "host $host, agent $agent"
m() { timeout 30 "$mlctl" --agent="$agent" --token_file="$tmp/agent/token" "$@"; }

ledger=$(m ledger create --type=invoice 2>"$tmp/create.err"); check "ledger create exits 0" $?
echo "$ledger" | grep -Eq '^jlinx:u[A-Za-z0-9_-]{43}$'; check "ledger create prints the id alone" $?

n=$(m append "$ledger" '{"event":"paid","amount":5}'); check "append JSON argument exits 0" $?
[ "$n" = 2 ]; check "append prints block number 2" $?
n=$(echo '{"event":"shipped","to":"Ada"}' | m append "$ledger" -); check "append - (stdin) exits 0" $?
[ "$n" = 3 ]; check "append from stdin prints 3" $?
n=$(echo '{"event":"noted"}' | m append "$ledger"); check "append without JSON reads stdin" $?
[ "$n" = 4 ]; check "... and prints 4" $?
printf 'invoice body' >"$tmp/invoice.txt"
n=$(m append "$ledger" '{"event":"attached"}' --attach="$tmp/invoice.txt"); check "append --attach exits 0" $?
[ "$n" = 5 ]; check "... and prints 5" $?

m append "$ledger" '{"no event":1}' >"$tmp/bad.out" 2>"$tmp/bad.err"; [ $? -eq 1 ]
check "append of a malformed event exits 1" $?
[ "$(wc -l <"$tmp/bad.err")" -eq 1 ] && grep -q 'INVALID_ARGUMENT\|FAILED_PRECONDITION' "$tmp/bad.err"
check "... with one line naming the gRPC status" $?

m show "$ledger" >"$tmp/show.out"; check "show exits 0" $?
grep -q "^status: *open" "$tmp/show.out" && grep -q "^head: *block 5 " "$tmp/show.out" &&
  grep -q "^controllers: *1 of 1: u" "$tmp/show.out" && grep -q "^host: *$host" "$tmp/show.out" &&
  grep -q "^    $ledger$" "$tmp/show.out" && grep -q "^evidence: *none" "$tmp/show.out"
check "show: status, head, controllers, host, checkpoint, evidence" $?

m verify "$ledger" >"$tmp/vl.out"; check "verify LEDGER exits 0" $?
[ "$(cat "$tmp/vl.out")" = "OK $ledger 5 blocks" ]; check "verify LEDGER prints the SPEC §9 OK line" $?

m export "$ledger" "$tmp/bundle.jsonl" >"$tmp/export.out"; check "export exits 0" $?
grep -q "exported 5 blocks" "$tmp/export.out"; check "export says 5 blocks" $?
"$mlctl" verify "$tmp/bundle.jsonl" >"$tmp/vf.out"; check "offline verify FILE exits 0" $?
[ "$(cat "$tmp/vf.out")" = "OK $ledger 5 blocks" ]; check "offline verify FILE says OK" $?
grep -q '"attachment"' "$tmp/bundle.jsonl"; check "bundle carries the attachment" $?
sed 's/"amount":5/"amount":6/' "$tmp/bundle.jsonl" >"$tmp/tampered.jsonl"
"$mlctl" verify "$tmp/tampered.jsonl" >"$tmp/vt.out"; [ $? -eq 1 ]; check "tampered copy exits 1" $?
grep -q '^FAIL block 2: ' "$tmp/vt.out"; check "tampered copy fails at block 2" $?

m tail "$ledger" >"$tmp/tail.out"; check "tail exits 0" $?
[ "$(wc -l <"$tmp/tail.out")" -eq 5 ]; check "tail prints 5 lines" $?
grep -Eq '^2 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z \{"amount":5,"event":"paid"\}$' "$tmp/tail.out"
check "tail line: number, time, event JSON" $?
m tail --start=4 "$ledger" >"$tmp/tail4.out"; check "tail --start=4 exits 0" $?
[ "$(cut -d' ' -f1 "$tmp/tail4.out" | tr '\n' ' ')" = "4 5 " ]; check "tail --start=4 prints 4 and 5" $?

# Reading without an agent: the host's HostService directly, everything verified.
r() { timeout 30 "$mlctl" --from="$host" "$@"; }
r verify "$ledger" >"$tmp/fv.out" 2>"$tmp/fv.err"; check "verify LEDGER --from exits 0" $?
[ "$(cat "$tmp/fv.out")" = "OK $ledger 5 blocks" ] && [ ! -s "$tmp/fv.err" ]
check "... prints the SPEC §9 OK line alone" $?
r export "$ledger" "$tmp/from.jsonl" >"$tmp/fe.out"; check "export --from exits 0" $?
[ "$(cat "$tmp/fe.out")" = "exported 5 blocks to $tmp/from.jsonl" ]; check "... says 5 blocks" $?
"$mlctl" verify "$tmp/from.jsonl" >"$tmp/fev.out"; check "offline verify of the --from export exits 0" $?
grep -q '"attachment"' "$tmp/from.jsonl"; check "the --from export carries the attachment" $?
cmp -s "$tmp/from.jsonl" "$tmp/bundle.jsonl"; check "... and equals the agent's export" $?
r show "$ledger" >"$tmp/fs.out"; check "show --from exits 0" $?
grep -q "^status: *open" "$tmp/fs.out" && grep -q "^head: *block 5 " "$tmp/fs.out" &&
  grep -q "^controllers: *1 of 1: u" "$tmp/fs.out" && grep -q "^frozen: *no" "$tmp/fs.out" &&
  grep -q "^held: " "$tmp/fs.out" && grep -q "^    $ledger$" "$tmp/fs.out"
check "show --from: status, head, controllers, frozen, held, checkpoint" $?
r tail "$ledger" >"$tmp/ft.out"; check "tail --from exits 0" $?
cmp -s "$tmp/ft.out" "$tmp/tail.out"; check "... prints what tail through the agent prints" $?
r tail --start=4 "$ledger" >"$tmp/ft4.out"; check "tail --from --start=4 exits 0" $?
cmp -s "$tmp/ft4.out" "$tmp/tail4.out"; check "... prints 4 and 5" $?
timeout 30 "$mlctl" --from=127.0.0.1:1 --timeout_seconds=2 verify "$ledger" >"$tmp/fu.out" \
  2>"$tmp/fu.err"; [ $? -eq 2 ]; check "verify --from an unreachable address exits 2" $?
[ ! -s "$tmp/fu.out" ] && [ "$(wc -l <"$tmp/fu.err")" -eq 1 ] &&
  grep -q "cannot reach the server at 127.0.0.1:1" "$tmp/fu.err"
check "... with one stderr line naming the address" $?
"$mlctl" --from="unix:$tmp/none.sock" --timeout_seconds=2 show "$ledger" >/dev/null 2>&1
[ $? -eq 2 ]; check "show --from an unreachable unix: address exits 2" $?
r export "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$tmp/none.jsonl" >/dev/null \
  2>"$tmp/fn.err"; [ $? -eq 2 ]; check "export --from of an unknown ledger exits 2" $?
[ ! -e "$tmp/none.jsonl" ] && [ "$(wc -l <"$tmp/fn.err")" -eq 1 ] && grep -q NOT_FOUND "$tmp/fn.err"
check "... writes nothing, one stderr line naming NOT_FOUND" $?
r tail --from=4 "$ledger" >/dev/null 2>"$tmp/fnum.err"; [ $? -eq 2 ]
check "a block number as --from exits 2" $?
"$mlctl" --from=4 tail "$ledger" >/dev/null 2>"$tmp/fnum.err"; [ $? -eq 2 ] &&
  grep -q -- "--start=N" "$tmp/fnum.err"; check "... and points to --start" $?
r ledger list >/dev/null 2>&1; [ $? -eq 2 ]; check "--from with an agent-only command exits 2" $?
r verify "$tmp/from.jsonl" >/dev/null 2>&1; [ $? -eq 2 ]; check "--from with verify FILE exits 2" $?
r evidence get "$ledger" >"$tmp/feg.out" 2>"$tmp/feg.err"; code=$?
# ml-host answers UNIMPLEMENTED until it keeps evidence; then this ledger has none.
{ [ $code -eq 2 ] && [ "$(wc -l <"$tmp/feg.err")" -eq 1 ]; } || { [ $code -eq 0 ] && [ ! -s "$tmp/feg.out" ]; }
check "evidence get --from the host: no evidence, or one error line and exit 2" $?

timeout 30 "$mlctl" --agent="$agent" --token_file="$tmp/agent/token" tail -f "$ledger" \
  >"$tmp/follow.out" 2>"$tmp/follow.err" & follow=$!; pids+=($follow)
timeout 30 "$mlctl" --from="$host" tail -f "$ledger" \
  >"$tmp/ffollow.out" 2>"$tmp/ffollow.err" & ffollow=$!; pids+=($ffollow)
sleep 1
m append "$ledger" '{"event":"late"}' >/dev/null; check "append while tail -f runs" $?
for out in follow ffollow; do
  seen=1
  for _ in $(seq 100); do
    if grep -q '^6 .*{"event":"late"}$' "$tmp/$out.out"; then seen=0; break; fi
    sleep 0.1
  done
  check "tail -f ($out) prints the new block 6" $seen
  grep -q '^[1-5] ' "$tmp/$out.out"; [ $? -ne 0 ]; check "tail -f ($out) starts after the head" $?
done
kill "$follow" "$ffollow" 2>/dev/null; wait "$follow" "$ffollow" 2>/dev/null

n=$(m close "$ledger"); check "close exits 0" $?
[ "$n" = 7 ]; check "close prints 7" $?
m append "$ledger" '{"event":"too late"}' >"$tmp/after.out" 2>"$tmp/after.err"; [ $? -eq 1 ]
check "append after close exits 1" $?
[ ! -s "$tmp/after.out" ] && [ "$(wc -l <"$tmp/after.err")" -eq 1 ] &&
  grep -q 'FAILED_PRECONDITION' "$tmp/after.err"
check "... one stderr line naming FAILED_PRECONDITION" $?
m show "$ledger" | grep -q "^status: *closed"; check "show says closed" $?
m tail -f "$ledger" --start=7 >"$tmp/closed_tail.out"; check "tail -f of a closed ledger ends" $?
grep -q '^7 .*"closed document"' "$tmp/closed_tail.out"; check "... after the closed document block" $?
r tail -f "$ledger" --start=6 >"$tmp/fclosed_tail.out"; check "tail -f --from of a closed ledger ends" $?
[ "$(cut -d' ' -f1 "$tmp/fclosed_tail.out" | tr '\n' ' ')" = "6 7 " ]; check "... after block 7" $?
r show "$ledger" | grep -q "^status: *closed"; check "show --from says closed" $?

key=$(m keys create --label=spare); check "keys create exits 0" $?
m keys list | grep -q "^$key spare$"; check "keys list shows it" $?
m ledger list | grep -q "^$ledger 7 $host$"; check "ledger list shows the ledger" $?

# transfer and move on a second ledger.
second=$(m ledger create --type=note); check "second ledger create exits 0" $?
n=$(m transfer "$second" --controllers="$key" --threshold=1); check "transfer exits 0" $?
[ "$n" = 2 ]; check "transfer prints 2" $?
m show "$second" | grep -q "^controllers: *1 of 1: $key$"; check "show: the new controllers" $?
n=$(m append "$second" '{"event":"by the new key"}'); check "append after transfer exits 0" $?
moved=$(m move "$second"); check "move exits 0" $?
echo "$moved" | grep -Eq '^jlinx:u[A-Za-z0-9_-]{43}$' && [ "$moved" != "$second" ]
check "move prints the new ledger id" $?
m show "$second" | grep -q "^moved to: *$moved$"; check "show: moved to" $?
m show "$moved" | grep -q "^original id: *$second$"; check "show: original id of the successor" $?
m verify "$moved" >/dev/null; check "verify of the successor exits 0" $?
m append "$second" '{"event":"after move"}' >/dev/null 2>&1; [ $? -eq 1 ]
check "append after move exits 1" $?

# The same agent API over a Unix socket (a second agent, its own keystore).
sockdir=$(mktemp -d /tmp/mlctl_sock.XXXXXX)
ML_PASSPHRASE=pw "$owner_bin" --listen="unix:$sockdir/agent.sock" --keystore="$tmp/agent2" \
  --keystore_kdf=min --host="$host" 2>"$tmp/agent2.log" & pids+=($!)
wait_listening "$tmp/agent2.log" >/dev/null; check "second agent on a Unix socket starts" $?
unix_ledger=$(timeout 30 "$mlctl" --agent="unix:$sockdir/agent.sock" ledger create --type=x)
check "ledger create through unix:PATH" $?
timeout 30 "$mlctl" --agent="unix:$sockdir/agent.sock" verify "$unix_ledger" >/dev/null
check "verify through unix:PATH" $?

printf 'wrong\n' >"$tmp/wrong_token"
timeout 30 "$mlctl" --agent="$agent" --token_file="$tmp/wrong_token" show "$ledger" \
  >/dev/null 2>"$tmp/token.err"; [ $? -eq 1 ]; check "wrong token exits 1" $?
grep -q UNAUTHENTICATED "$tmp/token.err"; check "... naming UNAUTHENTICATED" $?
m show "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" >/dev/null 2>"$tmp/nf.err"
[ $? -eq 1 ]; check "show of an unknown ledger exits 1" $?

timeout 30 "$mlctl" --agent=127.0.0.1:1 --timeout_seconds=2 show "$ledger" >"$tmp/un.out" 2>"$tmp/un.err"
[ $? -eq 2 ]; check "unreachable agent exits 2" $?
[ ! -s "$tmp/un.out" ] && [ "$(wc -l <"$tmp/un.err")" -eq 1 ]; check "... with one stderr line" $?
timeout 30 "$mlctl" --agent="unix:$tmp/none.sock" --timeout_seconds=2 keys list >/dev/null 2>&1
[ $? -eq 2 ]; check "unreachable unix: agent exits 2" $?
m append >/dev/null 2>&1; [ $? -eq 2 ]; check "append without LEDGER exits 2" $?
m transfer "$ledger" >/dev/null 2>&1; [ $? -eq 2 ]; check "transfer without --controllers exits 2" $?
m ledger create >/dev/null 2>&1; [ $? -eq 2 ]; check "ledger create without --type exits 2" $?

"$mlctl" help >"$tmp/help" 2>&1; check "help exits 0" $?
for word in "ledger create" "ledger list" "append LEDGER" "close LEDGER" "move LEDGER" \
    "transfer LEDGER" "show LEDGER" "verify LEDGER" "export LEDGER FILE" "tail \[-f\]" \
    "keys create" "keys list" "verify LEDGER --from=ADDR" "export LEDGER FILE --from=ADDR" \
    "show LEDGER --from=ADDR" "tail \[-f\] \[--start=N\] LEDGER --from=ADDR" \
    "evidence get LEDGER --from=ADDR" "evidence verify FILE"; do
  grep -q "mlctl $word" "$tmp/help"; check "help documents $word" $?
done
"$mlctl" --help >"$tmp/long_help" 2>&1
for flag in agent token_file agent_tls_ca host_tls_ca timeout_seconds host type key controllers \
    threshold attach label start from from_tls_ca max_line_bytes out_dir; do
  grep -q -- "--$flag" "$tmp/long_help"; check "--help documents --$flag" $?
done
grep -q -- "-f (" "$tmp/long_help"; check "--help documents -f" $?

[ "$failures" -eq 0 ]
