#!/usr/bin/env bash
# `mlctl mirror follow|unfollow|status` end to end: the real mlctl against a
# real ml-mirror's admin API (a Unix socket in a private directory) following
# a real ml-host on loopback, its ledgers written through a real ml-owner.
# Follow, status until caught up (and again after new appends), reads from the
# mirror, a sparse follow, unfollow (data kept, then dropped), and the errors:
# every one exits 2 with one line on stderr. Behaviour only: every wait is a
# bounded poll, never a timing assertion. Stops what it starts.
# Then a second mirror whose admin API needs mutual TLS: status with the client
# certificate, refused without it.
# Usage: mlctl_mirror_test.sh ML_HOST ML_OWNER ML_MIRROR MLCTL MAKE_TEST_CERTS
set -u
host_bin="$1"; owner_bin="$2"; mirror_bin="$3"; mlctl="$4"; make_certs="$5"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/mlctl_mirror.XXXXXX")"
# Unix socket paths must be short (108 bytes) and in a private directory.
sockdir=$(mktemp -d /tmp/mlctl_mirror_sock.XXXXXX)
pids=()
cleanup() {  # SIGTERM, up to 10 s, then SIGKILL (and say so)
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "WARNING: pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) did not exit 10 s after SIGTERM; killed"
      kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  rm -rf "$sockdir"
}
trap cleanup EXIT
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
wait_listening() {  # LOG [PROGRAM]: prints the address of "PROGRAM: listening on ADDR"
  for _ in $(seq 200); do
    addr=$(sed -n "s/.*${2:-}: listening on \([^ ]*\).*/\1/p" "$1" | head -n1)
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "no 'listening on' line in $1:" >&2; cat "$1" >&2
  return 1
}
# expect_error DESCRIPTION PATTERN mlctl-args...: exit 2, one stderr line
# matching PATTERN, nothing on stdout.
expect_error() {
  local description="$1" pattern="$2"; shift 2
  timeout 30 "$mlctl" "$@" >"$tmp/err.out" 2>"$tmp/err.err"
  local code=$?
  [ "$code" -eq 2 ] && [ "$(wc -l <"$tmp/err.err")" -eq 1 ] && [ ! -s "$tmp/err.out" ] &&
    grep -q -- "$pattern" "$tmp/err.err"
  local ok=$?
  check "$description (exit $code: $(head -c 200 "$tmp/err.err"))" $ok
}

: >"$tmp/host.log"; : >"$tmp/agent.log"; : >"$tmp/mirror.log"
"$host_bin" --listen=127.0.0.1:0 --storage=memory 2>"$tmp/host.log" & pids+=($!)
host=$(wait_listening "$tmp/host.log") || exit 1
printf 'correct horse battery staple\n' >"$tmp/pass"; chmod 600 "$tmp/pass"
"$owner_bin" --listen=127.0.0.1:0 --keystore="$tmp/keys" --keystore_kdf=min \
  --passphrase_file="$tmp/pass" --host="$host" 2>"$tmp/agent.log" & pids+=($!)
agent=$(wait_listening "$tmp/agent.log") || exit 1
admin="unix:$sockdir/admin.sock"
"$mirror_bin" --listen=127.0.0.1:0 --data_dir="$tmp/mirror" --admin_listen="$admin" \
  --poll_ms=100 --max_backoff_ms=200 2>"$tmp/mirror.log" & pids+=($!)
mirror=$(wait_listening "$tmp/mirror.log" ml-mirror) || exit 1
wait_listening "$tmp/mirror.log" "ml-mirror admin" >/dev/null || exit 1
echo "host $host, agent $agent, mirror $mirror, admin $admin"
m() { timeout 30 "$mlctl" --agent="$agent" "$@"; }
mc() { timeout 30 "$mlctl" --mirror="$admin" "$@"; }
# wait_status LEDGER PATTERN...: polls "mirror status LEDGER" (up to 20 s)
# until its output matches every PATTERN.
wait_status() {
  local ledger="$1"; shift
  for _ in $(seq 200); do
    mc mirror status "$ledger" >"$tmp/status.out" 2>"$tmp/status.err"
    local all=0
    for pattern in "$@"; do grep -q -- "$pattern" "$tmp/status.out" || all=1; done
    [ "$all" -eq 0 ] && return 0
    sleep 0.1
  done
  cat "$tmp/status.out" "$tmp/status.err" >&2
  return 1
}

ledger=$(m ledger create --type=invoice) || exit 1
for i in 2 3 4 5 6; do m append "$ledger" "{\"event\":\"e$i\"}" >/dev/null || exit 1; done

"$mlctl" help | grep -q "mlctl mirror follow LEDGER --mirror=ADDR --from=UPSTREAM"
check "help lists mirror follow" $?
"$mlctl" --help 2>&1 | grep -q -- "--drop_data"; check "--help lists --drop_data" $?

mc mirror status >"$tmp/empty.out"; check "status of a mirror following nothing exits 0" $?
[ ! -s "$tmp/empty.out" ]; check "... and prints nothing" $?

mc mirror follow "$ledger" --from="$host" >"$tmp/follow.out"; check "follow exits 0" $?
grep -q "^ledger: *$ledger$" "$tmp/follow.out" && grep -q "^upstream: *$host$" "$tmp/follow.out" &&
  grep -q "^mode: *full$" "$tmp/follow.out"
check "follow prints the ledger's status (id, upstream, mode full)" $?
wait_status "$ledger" "^state: *following$" "^verified: *6 of 6 (lag 0)$" "^held: *1-6$" \
  "^last error: *none$" "^evidence: *none$"
check "status: following, caught up (6 of 6, lag 0), holds 1-6, no error" $?
mc mirror follow "$ledger" --from="$host" --mode=full >/dev/null
check "follow again (same upstream and mode) is idempotent" $?

for i in 7 8; do m append "$ledger" "{\"event\":\"e$i\"}" >/dev/null; done
wait_status "$ledger" "^verified: *8 of 8 (lag 0)$" "^held: *1-8$"
check "status after two more appends: 8 of 8, holds 1-8" $?
[ "$(timeout 30 "$mlctl" verify "$ledger" --from="$mirror")" = "OK $ledger 8 blocks" ]
check "the mirror serves what status says (verify --from the mirror: 8 blocks)" $?

sparse=$(m ledger create --type=invoice) || exit 1
for i in 2 3 4 5 6 7 8 9 10; do m append "$sparse" "{\"event\":\"s$i\"}" >/dev/null; done
mc mirror follow "$sparse" --from="$host" --mode=sparse >/dev/null; check "follow --mode=sparse exits 0" $?
wait_status "$sparse" "^mode: *sparse$" "^verified: *10 of 10 (lag 0)$" "^held: *1, 10$"
check "sparse status: 10 of 10, holds genesis and head only" $?
[ "$(timeout 30 "$mlctl" verify "$sparse" --from="$mirror")" = "OK $sparse 10 blocks" ]
check "a read through the sparse mirror (verify --from: 10 blocks)" $?
wait_status "$sparse" "^held: *1-10$"; check "... and status then holds 1-10" $?
mc mirror status >"$tmp/all.out"; check "status without LEDGER exits 0" $?
[ "$(grep -c '^ledger:' "$tmp/all.out")" -eq 2 ] && [ "$(grep -c '^$' "$tmp/all.out")" -eq 1 ]
check "... one block per ledger, separated by an empty line" $?

# Errors: exit 2, one line on stderr.
expect_error "status of a ledger not followed" "NOT_FOUND" \
  --mirror="$admin" mirror status "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_error "follow of a malformed ledger id" "INVALID_ARGUMENT" \
  --mirror="$admin" mirror follow "jlinx:bogus" --from="$host"
expect_error "follow in another mode" "FAILED_PRECONDITION" \
  --mirror="$admin" mirror follow "$ledger" --from="$host" --mode=sparse
expect_error "follow without --from" "needs --from" --mirror="$admin" mirror follow "$ledger"
expect_error "follow with a bad --mode" "--mode=fast" \
  --mirror="$admin" mirror follow "$ledger" --from="$host" --mode=fast
expect_error "a command without --mirror" "--mirror=ADDR is required" mirror status
expect_error "an unknown mirror subcommand" "follow, unfollow or status" \
  --mirror="$admin" mirror list
expect_error "follow of a non-ledger operand" "jlinx:" --mirror="$admin" mirror follow x --from="$host"
expect_error "--drop_data on status" "--drop_data" --mirror="$admin" mirror status --drop_data
expect_error "an unreachable mirror" "cannot reach the mirror admin API" \
  --mirror="unix:$sockdir/none.sock" mirror status
expect_error "a mirror admin port that refuses" "cannot reach the mirror admin API" \
  --mirror=127.0.0.1:1 mirror status
expect_error "--mirror_tls_cert without --mirror_tls_key" "go together" \
  --mirror="$admin" --mirror_tls_cert="$tmp/pass" mirror status
expect_error "--mirror_tls_ca that cannot be read" "--mirror_tls_ca" \
  --mirror=127.0.0.1:1 --mirror_tls_ca="$tmp/no-such.pem" mirror status

# An upstream that cannot be reached: Follow replaces the upstream, status
# shows "connecting" and the last error with its time.
mc mirror follow "$ledger" --from=127.0.0.1:1 >/dev/null; check "follow with a new (dead) upstream" $?
wait_status "$ledger" "^upstream: *127.0.0.1:1$" "^state: *connecting$" \
  "^last error: .*(at [0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T" "^verified: *8 of 8"
check "status: connecting, the last error and when, what was verified kept" $?
mc mirror follow "$ledger" --from="$host" >/dev/null
m append "$ledger" '{"event":"e9"}' >/dev/null
wait_status "$ledger" "^upstream: *$host$" "^state: *following$" "^verified: *9 of 9 (lag 0)$" \
  "^last error: *none$"
check "back to the host: following again, 9 of 9, error cleared" $?

mc mirror unfollow "$ledger" >"$tmp/unfollow.out"; check "unfollow exits 0" $?
[ "$(cat "$tmp/unfollow.out")" = "unfollowed $ledger" ]; check "... and says so" $?
wait_status "$ledger" "^state: *stopped$" "^verified: *9 of" "^held: *1-9$"
check "status after unfollow: stopped, 9 blocks kept" $?
m append "$ledger" '{"event":"e10"}' >/dev/null
sleep 0.5
mc mirror status "$ledger" | grep -q "^held: *1-9$"; check "... and no longer follows (still 1-9)" $?
[ "$(timeout 30 "$mlctl" verify "$ledger" --from="$mirror")" = "OK $ledger 9 blocks" ]
check "what was verified stays served after unfollow" $?
mc mirror unfollow "$ledger" --drop_data >"$tmp/drop.out"; check "unfollow --drop_data exits 0" $?
grep -q "data dropped" "$tmp/drop.out"; check "... and says the data was dropped" $?
expect_error "status after drop_data: not held any more" "NOT_FOUND" \
  --mirror="$admin" mirror status "$ledger"
expect_error "unfollow of a ledger neither followed nor held" "NOT_FOUND" \
  --mirror="$admin" mirror unfollow "$ledger"
[ "$(mc mirror status | grep -c '^ledger:')" -eq 1 ]; check "status lists the sparse ledger only" $?

# Mutual TLS on the admin API (a loopback port here; any address with mTLS).
bash "$make_certs" "$tmp/certs" || exit 1
: >"$tmp/tls_mirror.log"
"$mirror_bin" --listen=127.0.0.1:0 --storage=memory --admin_listen=127.0.0.1:0 \
  --admin_tls_cert="$tmp/certs/server.pem" --admin_tls_key="$tmp/certs/server.key" \
  --admin_tls_client_ca="$tmp/certs/ca.pem" --follow="$sparse@$host" \
  2>"$tmp/tls_mirror.log" & pids+=($!)
tls_admin=$(wait_listening "$tmp/tls_mirror.log" "ml-mirror admin") || exit 1
timeout 30 "$mlctl" mirror status --mirror="$tls_admin" --mirror_tls_ca="$tmp/certs/ca.pem" \
  --mirror_tls_cert="$tmp/certs/client.pem" --mirror_tls_key="$tmp/certs/client.key" \
  >"$tmp/tls_status.out"
check "status over mutual TLS exits 0" $?
grep -q "^ledger: *$sparse$" "$tmp/tls_status.out"; check "... and lists the --follow ledger" $?
expect_error "status over TLS without a client certificate" "see --mirror_tls_cert" \
  --mirror="$tls_admin" --mirror_tls_ca="$tmp/certs/ca.pem" mirror status
expect_error "status in plaintext to a TLS admin API" "cannot reach the mirror admin API" \
  --mirror="$tls_admin" mirror status

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed; mirror log:"; cat "$tmp/mirror.log"
  exit 1
fi
echo "all passed"
