#!/usr/bin/env bash
# Starts ml-host and ml-owner on loopback (free ports) and probes both with
# grpc_probe.py: health SERVING and reflection listing each service.
set -euo pipefail
host_bin="$1" owner_bin="$2" probe="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait' EXIT

wait_for_address() {  # log file; prints the address from its "listening on" line
  for _ in $(seq 1 200); do
    if address=$(grep -o 'listening on [^ ]*' "$1" | head -n 1 | cut -d' ' -f3) \
        && [ -n "$address" ]; then
      echo "$address"
      return 0
    fi
    sleep 0.1
  done
  echo "no start line in $1" >&2
  return 1
}

"$host_bin" --listen=127.0.0.1:0 --storage=memory 2>"$tmp/host.log" &
pids+=($!)
host_address=$(wait_for_address "$tmp/host.log")
ML_PASSPHRASE=probe-test "$owner_bin" --listen=127.0.0.1:0 --keystore="$tmp/keystore" \
  --keystore_kdf=min --host="$host_address" 2>"$tmp/owner.log" &
pids+=($!)
owner_address=$(wait_for_address "$tmp/owner.log")

/usr/bin/python3 "$probe" "$host_address" microledger.v1.HostService
/usr/bin/python3 "$probe" "$owner_address" microledger.v1.OwnerAgentService
