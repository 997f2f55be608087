#!/usr/bin/env bash
# Runs README.md's "Using it by hand" block (the fenced block between the
# <!-- readme-by-hand:begin --> and <!-- readme-by-hand:end --> markers) exactly
# as it is written: with bash -e -o pipefail, from a directory laid out like the
# repository after `bazel build` (bazel-bin/... holding the real binaries), in a
# fresh $HOME. The block uses the default ports 127.0.0.1:7400, :7401, :7600
# and :7601, so it
# runs in a private network namespace (unshare -rn: its loopback has every port
# free) when the kernel allows one, else on the machine's loopback after
# checking that those ports are free. Then checks what the block printed.
# Bounded: the block gets 240 s (Bazel's medium test timeout is 300 s); its process group is killed at the end.
# Usage: readme_by_hand_test.sh README.md ML_HOST ML_OWNER ML_MIRROR MLCTL ML_WITNESS
set -u
readme="$1"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/readme_by_hand.XXXXXX")"
block_pid=""
cleanup() {
  if [ -n "$block_pid" ]; then
    kill -- "-$block_pid" 2>/dev/null
    wait "$block_pid" 2>/dev/null
  fi
}
trap cleanup EXIT
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

awk '/^<!-- readme-by-hand:end -->$/ { inside = 0 }
     inside && !/^```/ { print }
     /^<!-- readme-by-hand:begin -->$/ { inside = 1 }' "$readme" >"$tmp/block.sh"
[ "$(grep -c . "$tmp/block.sh")" -gt 10 ]; check "README.md has the marked block" $?
[ "$failures" -eq 0 ] || exit 1

repo="$tmp/repo"
for binary in host_service/ml-host owner_agent/ml-owner mirror/ml-mirror tools/mlctl \
              witness/ml-witness; do
  mkdir -p "$repo/bazel-bin/$(dirname "$binary")"
  case "$binary" in
    */ml-host) source_binary="$2" ;; */ml-owner) source_binary="$3" ;;
    */ml-mirror) source_binary="$4" ;; */mlctl) source_binary="$5" ;;
    */ml-witness) source_binary="$6" ;;
  esac
  ln -s "$(realpath "$source_binary")" "$repo/bazel-bin/$binary"
done
mkdir -p "$tmp/home"

runner=(bash -e -o pipefail "$tmp/block.sh")
if unshare -rn true 2>/dev/null && unshare -rn ip link set lo up 2>/dev/null; then
  echo "running the block in a private network namespace"
  runner=(unshare -rn bash -c 'ip link set lo up && exec "$@"' namespace "${runner[@]}")
else
  for port in 7400 7401 7600 7601; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "FAIL port $port is in use and no private network namespace is allowed here"
      exit 1
    fi
  done
  echo "running the block on this machine's loopback (7400, 7401, 7600 and 7601 are free)"
fi

(cd "$repo" && HOME="$tmp/home" exec setsid timeout 240 "${runner[@]}") \
  >"$tmp/out" 2>"$tmp/err" &
block_pid=$!
wait "$block_pid"
status=$?
block_pid=""
echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; echo "---"
[ "$status" -eq 0 ]; check "the block runs to its end with every command succeeding (exit $status)" $?

first_ledger=$(sed -n 's/^ledger: *\(jlinx:u[A-Za-z0-9_-]\{43\}\)$/\1/p' "$tmp/out" | head -n1)
grep -Eq "^original id: *$first_ledger$" "$tmp/out"
check "the ledger made by move names the first ledger as its original id" $?
grep -q '^OK jlinx:u[A-Za-z0-9_-]* 5 blocks$' "$tmp/out"; check "verify printed OK with 5 blocks" $?
[ "$(grep -Ec '^OK jlinx:u[A-Za-z0-9_-]{43} 5 blocks$' "$tmp/out")" -ge 3 ]
check "verify LEDGER, verify FILE and verify --from all printed OK" $?
numbers=$(grep -Ex '[0-9]+' "$tmp/out" | tr '\n' ' ')
[ "$numbers" = "2 3 4 4 5 6 7 2 2 " ]
check "block numbers: appends 2 3 4, the retry 4 again, 5, transfer 6, reminder 7, close 2, witnessed append 2 (got: $numbers)" $?
grep -qx 'witnessed' "$tmp/out"; check "the append that waited for the witness says witnessed" $?
grep -q '^appended 3 blocks 3\.\.5, head u' "$tmp/out"; check "append --from-file appended blocks 3..5" $?
grep -q '^{"block":{"controllers":' "$tmp/out"; check "the HTTP read API served the ledger's blocks" $?
[ -f "$tmp/home/.ml-witness.key" ] && [ "$(stat -c %a "$tmp/home/.ml-witness.key")" = 600 ]
check "witness keygen wrote its key file mode 0600" $?
grep -q '"event":"reminder"' "$tmp/out"; check "tail -f printed the event appended just before the move" $?
grep -q '^status: *closed' "$tmp/out"; check "show of the moved-to ledger says closed" $?
[ -f "$tmp/home/ml-try/invoice.jsonl" ] && [ -f "$tmp/home/ml-try/copy.jsonl" ]
check "export wrote invoice.jsonl and copy.jsonl" $?
[ -f "$tmp/home/carol.key" ] && [ "$(stat -c %a "$tmp/home/carol.key")" = 600 ]
check "keygen wrote the secret key file mode 0600" $?
! grep -q 'a long passphrase' "$tmp/err" "$tmp/out"; check "the passphrase appears in no output" $?

echo "$failures failed"
[ "$failures" -eq 0 ]
