#!/usr/bin/env bash
# Runs the real mlctl binary: exit codes, stdout and stderr as SPEC §9 and --help say.
set -u
mlctl="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

"$mlctl" help >"$tmp/help" 2>&1; check "help exits 0" $?
grep -q "mlctl verify FILE" "$tmp/help"; check "help lists verify" $?
"$mlctl" --help >"$tmp/long_help" 2>&1
grep -q "secret_out" "$tmp/long_help"; check "--help documents --secret_out" $?

"$mlctl" frobnicate >/dev/null 2>&1; [ $? -eq 2 ]; check "unknown command exits 2" $?
grep -q -- "--from_tls_ca" "$tmp/long_help"; check "--help documents --from_tls_ca" $?
id="jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
"$mlctl" --from=127.0.0.1:0 verify "$id" >"$tmp/f.out" 2>"$tmp/f.err"; [ $? -eq 2 ]
check "--from with port 0 exits 2" $?
[ ! -s "$tmp/f.out" ] && [ "$(wc -l <"$tmp/f.err")" -eq 1 ]; check "... one line on stderr" $?
"$mlctl" --from=127.0.0.1:7400 --from_tls_ca="$tmp/missing.pem" show "$id" >/dev/null 2>"$tmp/ca.err"
[ $? -eq 2 ] && grep -q -- "--from_tls_ca" "$tmp/ca.err"; check "unreadable --from_tls_ca exits 2" $?

printf '{"b":2,"a":[1.50,"x"]}' | "$mlctl" canonicalize >"$tmp/c.out" 2>"$tmp/c.err"
check "canonicalize exits 0" $?
[ "$(cat "$tmp/c.out")" = '{"a":[1.5,"x"],"b":2}' ]; check "canonicalize output" $?
printf '{"a":1,}' | "$mlctl" canonicalize >"$tmp/c2.out" 2>"$tmp/c2.err"
[ $? -eq 2 ]; check "canonicalize bad input exits 2" $?
[ ! -s "$tmp/c2.out" ] && [ "$(wc -l <"$tmp/c2.err")" -eq 1 ]; check "one error line, no output" $?

"$mlctl" keygen --secret_out="$tmp/k.key" >"$tmp/k.out" 2>/dev/null; check "keygen exits 0" $?
[ "$(stat -c %a "$tmp/k.key")" = 600 ]; check "secret file mode 0600" $?
grep -Eq '^u[A-Za-z0-9_-]{43}$' "$tmp/k.out"; check "public key text on stdout" $?

"$mlctl" sample --blocks=30 --out="$tmp/s.jsonl" >/dev/null 2>"$tmp/s.err"; check "sample exits 0" $?
grep -q "NOT the two-machine mode" "$tmp/s.err"; check "sample says it is not two-machine mode" $?
"$mlctl" verify "$tmp/s.jsonl" >"$tmp/v.out" 2>"$tmp/v.err"; check "verify exits 0" $?
grep -Eq '^OK jlinx:u[A-Za-z0-9_-]{43} 30 blocks$' "$tmp/v.out"; check "OK verdict line" $?
[ ! -s "$tmp/v.err" ]; check "no progress noise when stderr is not a terminal" $?

sed '5s/"n":4/"n":6/' "$tmp/s.jsonl" >"$tmp/t.jsonl"
"$mlctl" verify "$tmp/t.jsonl" >"$tmp/t.out" 2>/dev/null; [ $? -eq 1 ]; check "tampered bundle exits 1" $?
grep -q '^FAIL block 4: ' "$tmp/t.out"; check "FAIL verdict names block 4" $?

"$mlctl" verify "$tmp/missing.jsonl" >"$tmp/m.out" 2>"$tmp/m.err"; [ $? -eq 2 ]; check "unreadable file exits 2" $?
[ ! -s "$tmp/m.out" ] && [ "$(wc -l <"$tmp/m.err")" -eq 1 ]; check "nothing on stdout, one line on stderr" $?

grep -q "mlctl evidence verify FILE" "$tmp/help"; check "help lists evidence verify" $?
grep -q "mlctl evidence get LEDGER --from=ADDR" "$tmp/help"; check "help lists evidence get" $?
grep -q -- "--out_dir" "$tmp/long_help"; check "--help documents --out_dir" $?
"$mlctl" evidence verify "$tmp/missing.json" >"$tmp/ev.out" 2>"$tmp/ev.err"; [ $? -eq 2 ]
check "evidence verify of an unreadable file exits 2" $?
[ ! -s "$tmp/ev.out" ] && [ "$(wc -l <"$tmp/ev.err")" -eq 1 ]; check "... nothing on stdout, one line on stderr" $?
printf '{"evidence":"microledger-equivocation-v1"}' >"$tmp/bad_evidence.json"
"$mlctl" evidence verify "$tmp/bad_evidence.json" >"$tmp/ev2.out" 2>/dev/null; [ $? -eq 1 ]
check "evidence verify of an invalid file exits 1" $?
grep -q '^INVALID: ' "$tmp/ev2.out" && [ "$(wc -l <"$tmp/ev2.out")" -eq 1 ]; check "... one INVALID line" $?
"$mlctl" evidence get "$id" >/dev/null 2>&1; [ $? -eq 2 ]; check "evidence get without --from exits 2" $?
"$mlctl" --from=127.0.0.1:1 --timeout_seconds=1 evidence get "$id" >"$tmp/eg.out" 2>"$tmp/eg.err"
[ $? -eq 2 ] && [ ! -s "$tmp/eg.out" ] && [ "$(wc -l <"$tmp/eg.err")" -eq 1 ]
check "evidence get from an unreachable server exits 2, one line" $?

"$mlctl" help append >"$tmp/help_append" 2>"$tmp/help_append.err"; check "help append exits 0" $?
grep -q "^  mlctl append LEDGER" "$tmp/help_append" && ! grep -q "mlctl close" "$tmp/help_append"
check "help append prints append's entry only" $?
"$mlctl" help verify >"$tmp/help_verify"; [ "$(grep -c '^  mlctl verify' "$tmp/help_verify")" -eq 4 ]
check "help verify prints its four entries" $?
"$mlctl" help frobnicate >"$tmp/help_bad.out" 2>"$tmp/help_bad.err"; [ $? -eq 2 ]
check "help of an unknown command exits 2" $?
[ ! -s "$tmp/help_bad.out" ] && [ "$(wc -l <"$tmp/help_bad.err")" -eq 1 ]; check "... one line on stderr" $?
"$mlctl" --help >"$tmp/help_stdout" 2>/dev/null; check "--help exits 0" $?
grep -q -- "--agent" "$tmp/help_stdout"; check "--help prints the flags on stdout" $?
"$mlctl" --version | grep -Eq '^mlctl [0-9]+\.[0-9]+\.[0-9]+$'
check "--version prints mlctl VERSION" $?

# Witnesses (SPEC §12): a key file and its vkey; verify with a witness policy.
"$mlctl" witness keygen --name=witness.example/w1 --out="$tmp/w1.key" >"$tmp/w1.vkey" 2>"$tmp/w1.err"
check "witness keygen exits 0" $?
[ "$(stat -c %a "$tmp/w1.key")" = 600 ]; check "witness key file mode 0600" $?
grep -Eq '^witness\.example/w1\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' "$tmp/w1.vkey"
check "witness keygen prints the vkey" $?
grep -Eq "^PRIVATE\+KEY\+witness\.example/w1\+$(cut -d+ -f2 "$tmp/w1.vkey")\+" "$tmp/w1.key"
check "key file is PRIVATE+KEY+NAME+KEYID+KEY" $?
cp "$tmp/w1.key" "$tmp/w1.copy"
"$mlctl" witness keygen --name=witness.example/w1 --out="$tmp/w1.key" >"$tmp/w1b.out" 2>/dev/null
[ $? -eq 2 ] && [ ! -s "$tmp/w1b.out" ] && cmp -s "$tmp/w1.key" "$tmp/w1.copy"
check "witness keygen never overwrites" $?
"$mlctl" witness keygen --name=jlinx:w --out="$tmp/w2.key" >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$tmp/w2.key" ]; check "witness keygen refuses a jlinx: name" $?
vkey="$(cat "$tmp/w1.vkey")"
"$mlctl" verify "$tmp/s.jsonl" --witness="$vkey" >"$tmp/wv.out" 2>/dev/null; [ $? -eq 1 ]
check "verify with an unmet witness quorum exits 1" $?
[ "$(cat "$tmp/wv.out")" = "FAIL block 0: checkpoint: witnessed by 0 of 1 required witnesses (line 32)" ]
check "... and says by how many of how many" $?
bad_vkey="witness.example/w1+zzzzzzzz+$(cut -d+ -f3- "$tmp/w1.vkey")"
"$mlctl" verify "$tmp/s.jsonl" --witness="$bad_vkey" >"$tmp/wb.out" 2>"$tmp/wb.err"
[ $? -eq 2 ] && [ ! -s "$tmp/wb.out" ] && grep -q -- "--witness=" "$tmp/wb.err"
check "a bad vkey is a usage error" $?
"$mlctl" verify "$tmp/s.jsonl" --witness="$vkey" --witness_quorum=2 >/dev/null 2>&1; [ $? -eq 2 ]
check "a quorum above the witnesses is a usage error" $?
"$mlctl" verify "$id" --witness="$vkey" >/dev/null 2>"$tmp/wa.err"; [ $? -eq 2 ]
check "--witness with the agent's verify LEDGER is a usage error" $?
"$mlctl" witness keygen --name=x --out="$tmp/x.key" --witness="$vkey" >/dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$tmp/x.key" ]; check "--witness applies to verify only" $?

[ "$failures" -eq 0 ]
