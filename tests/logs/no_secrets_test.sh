#!/usr/bin/env bash
# No secret and no ledger id in any log line, under every log option: ml-host
# (master key from --master_key_file, then from ML_HOST_MASTER_KEY), ml-owner
# (passphrase from --passphrase_file, then from ML_PASSPHRASE; bearer token
# file) and ml-mirror (following the ledger), each with --log_format=json and
# text and --log_level=debug, drive a ledger (create, appends, a rejected
# append, calls the host and the agent refuse), stop them, then check_log.py
# reads every log: none holds the master key (hex, base64, base64url), the
# passphrase, the token or the ledger id (its full text and its key part), and
# in json mode every line but the start line is a JSON event. (The owner's
# private keys stay encrypted in the keystore: not obtainable here, and not
# checked.) Bounded: every wait has a timeout; stops what it starts.
# Usage: no_secrets_test.sh ML_HOST ML_OWNER ML_MIRROR MLCTL CHECK_LOG_PY
set -u
host_bin="$1"; owner_bin="$2"; mirror_bin="$3"; mlctl="$4"; check_log="$5"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/no_secrets.XXXXXX")"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do timeout 60 tail --pid="$pid" -f /dev/null; done
  pids=()
}
trap stop_all EXIT
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
wait_listening() {  # LOG: prints the address of its "listening on ADDR" line
  for _ in $(seq 300); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n1)
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "no 'listening on' line in $1:" >&2; cat "$1" >&2
  return 1
}
forms() {  # FILE: the bytes of FILE in hex, base64 and base64url (unpadded)
  /usr/bin/python3 -c 'import base64,sys; b=open(sys.argv[1],"rb").read().strip()
print(b.hex()); print(base64.b64encode(b).decode().rstrip("="))
print(base64.urlsafe_b64encode(b).decode().rstrip("="))' "$1"
}

run() {  # FORMAT KEY_SOURCE (file or env)
  local format="$1" source="$2" dir="$tmp/$1-$2"
  mkdir -p "$dir/host" "$dir/agent"
  local host_env=() owner_env=() host_key_flag=() pass_flag=()
  /usr/bin/python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(32))' "$dir/master.raw"
  local passphrase="pass-$RANDOM-$RANDOM-phrase"
  if [ "$source" = file ]; then
    cp "$dir/master.raw" "$dir/host/master.key"; chmod 600 "$dir/host/master.key"
    host_key_flag=(--master_key_file="$dir/host/master.key")
    printf '%s\n' "$passphrase" >"$dir/agent/pass"; chmod 600 "$dir/agent/pass"
    pass_flag=(--passphrase_file="$dir/agent/pass")
  else
    host_env=(ML_HOST_MASTER_KEY="$(/usr/bin/python3 -c 'import base64,sys
print(base64.urlsafe_b64encode(open(sys.argv[1],"rb").read()).decode().rstrip("="))' "$dir/master.raw")")
    owner_env=(ML_PASSPHRASE="$passphrase")
  fi
  local token="tok-$RANDOM-$RANDOM-secret"
  printf '%s\n' "$token" >"$dir/agent/token"; chmod 600 "$dir/agent/token"
  # Every listener on, so their start lines and events are checked too.
  local logging=(--log_format="$format" --log_level=debug --metrics_listen=127.0.0.1:0
                 --health_listen=127.0.0.1:0)

  env "${host_env[@]}" "$host_bin" --listen=127.0.0.1:0 --storage=rocksdb \
    --data_dir="$dir/host/db" "${host_key_flag[@]}" "${logging[@]}" 2>"$dir/host.log" & pids+=($!)
  local host; host=$(wait_listening "$dir/host.log") || return 1
  env "${owner_env[@]}" "$owner_bin" --listen=127.0.0.1:0 --keystore="$dir/agent/keys" \
    --keystore_kdf=min "${pass_flag[@]}" --token_file="$dir/agent/token" --host="$host" \
    "${logging[@]}" 2>"$dir/owner.log" & pids+=($!)
  local agent; agent=$(wait_listening "$dir/owner.log") || return 1
  m() { timeout 30 "$mlctl" --agent="$agent" --token_file="$dir/agent/token" "$@"; }

  local ledger; ledger=$(m ledger create --type=invoice); check "$format/$source: create" $?
  m append "$ledger" '{"event":"paid","amount":5}' >/dev/null; check "$format/$source: append" $?
  m append "$ledger" '{"no event":1}' >/dev/null 2>&1; [ $? -eq 1 ]
  check "$format/$source: a malformed append is refused" $?
  local unknown="jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
  timeout 30 "$mlctl" --from="$host" show "$unknown" >/dev/null 2>&1; [ $? -eq 2 ]
  check "$format/$source: the host refuses an unknown ledger" $?

  "$mirror_bin" --listen=127.0.0.1:0 --storage=memory --follow="$ledger@$host" \
    --poll_ms=100 "${logging[@]}" 2>"$dir/mirror.log" & pids+=($!)
  local mirror; mirror=$(wait_listening "$dir/mirror.log") || return 1
  local verified=1
  for _ in $(seq 100); do
    if timeout 30 "$mlctl" --from="$mirror" verify "$ledger" >/dev/null 2>&1; then verified=0; break; fi
    sleep 0.1
  done
  check "$format/$source: the mirror serves the ledger" $verified
  stop_all

  local forbidden=("$passphrase" "$token" "$ledger" "${ledger#jlinx:}")
  mapfile -t -O "${#forbidden[@]}" forbidden < <(forms "$dir/master.raw")
  local json=(); [ "$format" = json ] && json=(--json)
  for program in host owner mirror; do
    local expect=(--expect start --expect stop)
    [ "$format" = json ] && [ "$program" != mirror ] && expect+=(--expect call_failed)
    [ "$format" = text ] && expect=()
    /usr/bin/python3 "$check_log" "$dir/$program.log" "${json[@]}" "${expect[@]}" -- "${forbidden[@]}"
    check "$format/$source: $program log: no secret, no ledger id, well formed" $?
  done
  grep -q "listening on" "$dir/host.log"; check "$format/$source: plain start line kept" $?
}

for format in json text; do
  for source in file env; do run "$format" "$source" || failures=$((failures + 1)); done
done
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
