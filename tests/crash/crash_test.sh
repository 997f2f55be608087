#!/usr/bin/env bash
# Crash test: kill -9 cycles of ml-host and ml-owner under concurrent appends.
#
# Starts ml-host (RocksDB) and ml-owner on loopback (the host on a free port
# that it keeps across restarts, since the agent's registry records the
# host's address; the agent on a new free port each start), creates several
# ledgers through the agent and runs concurrent writers (`mlctl append`, two
# per ledger). Each cycle lets them append for a few seconds, then kill -9s
# the host, the agent or both (in turn) and restarts what it killed. An append
# is *acknowledged* when `mlctl append` exits 0 and prints its block number.
# At the end both are killed -9 once more and restarted, the writers stopped,
# and for every ledger: the agent verifies the host's copy (mlctl verify
# LEDGER), the exported bundle verifies offline (mlctl export + mlctl verify
# FILE), and every acknowledged append is in the bundle at the block number
# it was acknowledged with (tests/crash/check_acks.py).
#
# Why a script and not a C++ test: it drives the real binaries exactly as an
# operator does, through mlctl, so the kill -9s hit the shipped processes and
# their restart path; the same file runs the short CI campaign and a full one
# (--cycles=20), and checking a bundle is one mlctl call.
#
# Usage: tests/crash/crash_test.sh [--cycles=N] [--ledgers=N] [--load_seconds=S]
#                                  [--config=asan | --bin_dir=DIR] [--record=FILE] [--keep]
#   --cycles=N        kill -9 cycles (default 4, about 1 minute; 20 = a campaign)
#   --ledgers=N       ledgers, each with two writers (default 3)
#   --load_seconds=S  seconds of appends before each kill (default 5)
#   --config=NAME     bazel config of the binaries (e.g. asan)
#   --bin_dir=DIR     use DIR/host_service/ml-host, DIR/owner_agent/ml-owner and
#                     DIR/tools/mlctl as they are (no bazel build)
#   --record=FILE     append "PASS crash:<check>" / "FAIL crash:<check>" lines
#   --keep            keep the work directory (data, logs, bundles)
# Prints "ok   ..." / "FAIL ..." per check and ends with
# "crash: N passed, N failed"; exits non-zero on any failure.
# Loopback only; every wait and loop is bounded; stops everything it starts.
set -uo pipefail
cd "$(dirname "$0")/../.."

cycles=4
ledgers=3
load_seconds=5
config=()
bin=""
record=""
keep=false
for arg in "$@"; do
  case "$arg" in
    --cycles=*) cycles="${arg#--cycles=}" ;;
    --ledgers=*) ledgers="${arg#--ledgers=}" ;;
    --load_seconds=*) load_seconds="${arg#--load_seconds=}" ;;
    --config=*) config=("$arg") ;;
    --bin_dir=*) bin="${arg#--bin_dir=}" ;;
    --record=*) record="${arg#--record=}" ;;
    --keep) keep=true ;;
    *) echo "unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done

passed=0
failed=0
check() {  # check NAME STATUS: records one check (STATUS 0 = passed)
  if [ "$2" -eq 0 ]; then
    echo "ok   $1"; passed=$((passed + 1))
    [ -n "$record" ] && echo "PASS crash:$1" >>"$record"
  else
    echo "FAIL $1"; failed=$((failed + 1))
    [ -n "$record" ] && echo "FAIL crash:$1" >>"$record"
  fi
  return 0
}
finish() {
  echo "crash: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}

if [ -z "$bin" ]; then
  bazel_flags=("${config[@]}")
  [ "${CI:-}" = "true" ] && bazel_flags+=(--curses=no --noshow_progress)
  if ! bazel build "${bazel_flags[@]}" //host_service:ml-host //owner_agent:ml-owner //tools:mlctl; then
    check "build ml-host, ml-owner, mlctl" 1; finish
  fi
  bin="$(bazel info "${bazel_flags[@]}" bazel-bin 2>/dev/null)"
fi
ml_host="$bin/host_service/ml-host"
ml_owner="$bin/owner_agent/ml-owner"
mlctl="$bin/tools/mlctl"

work="$(mktemp -d "${TMPDIR:-/tmp}/ml-crash.XXXXXX")"
host_pid=""
agent_pid=""
writer_pids=()
cleanup() {
  touch "$work/stop"
  for pid in "${writer_pids[@]}"; do wait "$pid" 2>/dev/null; done
  for pid in "$agent_pid" "$host_pid"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for pid in "$agent_pid" "$host_pid"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
  if $keep; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/agent" "$work/acks"
printf 'crash test passphrase\n' >"$work/agent/pass"
chmod 600 "$work/agent/pass"

# wait_listening LOG: prints the address of LOG's last "listening on" line,
# waiting up to 60 s (a restarted agent first re-syncs its ledgers).
wait_listening() {
  local address
  for _ in $(seq 600); do
    address=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$1" | tail -n1)
    if [ -n "$address" ]; then echo "$address"; return 0; fi
    sleep 0.1
  done
  echo "no 'listening on' line in $1:" >&2
  tail -n 20 "$1" >&2
  return 1
}

host_starts=0
start_host() {  # on port 0 the first time, then on the same port
  host_starts=$((host_starts + 1))
  local log="$work/host.$host_starts.log"
  : >"$log"
  "$ml_host" --listen="${host_address:-127.0.0.1:0}" --data_dir="$work/host" 2>"$log" &
  host_pid=$!
  host_address=$(wait_listening "$log")
}
agent_starts=0
start_agent() {
  agent_starts=$((agent_starts + 1))
  local log="$work/agent.$agent_starts.log"
  : >"$log"
  "$ml_owner" --listen=127.0.0.1:0 --keystore="$work/agent/keys" --keystore_kdf=min \
    --passphrase_file="$work/agent/pass" --host="$host_address" 2>"$log" &
  agent_pid=$!
  local address
  address=$(wait_listening "$log") || return 1
  echo "$address" >"$work/agent.address.new"
  mv "$work/agent.address.new" "$work/agent.address"
}
kill9() {  # kill9 PID: SIGKILL and reap
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
m() { timeout 60 "$mlctl" --agent="$(cat "$work/agent.address")" "$@"; }

start_host || { check "ml-host starts" 1; finish; }
start_agent || { check "ml-owner starts" 1; finish; }
echo "host $host_address, agent $(cat "$work/agent.address"), work directory $work"
ledger_ids=()
for l in $(seq "$ledgers"); do
  id=$(m ledger create --type=crash-test) || { check "ledger create $l" 1; finish; }
  ledger_ids+=("$id")
done

# writer LEDGER NAME: appends {"event":"crash test","writer":NAME,"seq":i}
# until $work/stop exists (at most 100000 appends), recording each
# acknowledged one as "BLOCK NAME SEQ TIME" in acks/NAME (TIME: when the
# acknowledgement came, for reading the logs). A failed append (server
# down) is not retried: its event may or may not be stored.
writer() {
  local ledger="$1" name="$2" seq=0 block
  while [ ! -e "$work/stop" ] && [ "$seq" -lt 100000 ]; do
    seq=$((seq + 1))
    if block=$(timeout 30 "$mlctl" --agent="$(cat "$work/agent.address")" --timeout_seconds=20 \
                 append "$ledger" "{\"event\":\"crash test\",\"writer\":\"$name\",\"seq\":$seq}" \
                 2>>"$work/acks/$name.err"); then
      echo "$block $name $seq $EPOCHREALTIME" >>"$work/acks/$name"
    else
      sleep 0.2
    fi
  done
}
for l in $(seq "$ledgers"); do
  for w in a b; do
    writer "${ledger_ids[$((l - 1))]}" "l$l$w" &
    writer_pids+=($!)
  done
done

restart_ok=0
for cycle in $(seq "$cycles"); do
  sleep "$load_seconds"
  case $((cycle % 3)) in
    1) victims="host" ;;
    2) victims="agent" ;;
    0) victims="host agent" ;;
  esac
  echo "cycle $cycle at $EPOCHREALTIME: kill -9 $victims ($(cat "$work"/acks/l* 2>/dev/null | wc -l) appends acknowledged so far)"
  for victim in $victims; do
    if [ "$victim" = host ]; then kill9 "$host_pid"; else kill9 "$agent_pid"; fi
  done
  for victim in $victims; do
    if [ "$victim" = host ]; then start_host || restart_ok=1; else start_agent || restart_ok=1; fi
  done
done
check "ml-host and ml-owner restart after each of $cycles kill -9 cycles" "$restart_ok"

# Stop the writers (each ends within its append's 30 s bound), then one last
# kill -9 of both with nothing in flight, so the checks read what was on disk.
sleep "$load_seconds"
touch "$work/stop"
for pid in "${writer_pids[@]}"; do wait "$pid"; done
writer_pids=()
kill9 "$agent_pid"
kill9 "$host_pid"
start_host && start_agent
check "both restart after the final kill -9" $?

total_acks=$(cat "$work"/acks/l?? 2>/dev/null | wc -l)
for l in $(seq "$ledgers"); do
  id="${ledger_ids[$((l - 1))]}"
  verdict=$(m verify "$id")
  check "ledger $l: the agent verifies the host's copy ($verdict)" $?
  m export "$id" "$work/ledger$l.jsonl" >/dev/null
  check "ledger $l: export" $?
  verdict=$("$mlctl" verify "$work/ledger$l.jsonl")
  check "ledger $l: the bundle verifies offline ($verdict)" $?
  result=$(python3 tests/crash/check_acks.py "$work/ledger$l.jsonl" "$work"/acks/l"$l"? 2>&1)
  check "ledger $l: $result" $?
done
echo "$total_acks acknowledged appends checked over $cycles cycles" \
     "($host_starts host starts, $agent_starts agent starts)"
finish
