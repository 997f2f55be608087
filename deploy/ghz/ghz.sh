#!/bin/bash
# ghz command lines for Micro Ledger (see README.md here). ghz is not part of
# this repository's build; install it from https://ghz.sh. Runs from the
# repository root (ghz resolves --proto, --import-paths and a config's "proto"
# and "import-paths" against the working directory). Usage:
#   deploy/ghz/ghz.sh host-read    [HOST:PORT] LEDGER_ID  # ml-host, default 127.0.0.1:7400
#   deploy/ghz/ghz.sh agent-append [HOST:PORT] LEDGER_ID  # ml-owner, default 127.0.0.1:7401
# LEDGER_ID must exist and hold >= 1000 blocks for the proof and range calls
# (make one with: ml-load --scenario=proof --blocks_per_ledger=1000 ..., or mlctl).
set -euo pipefail
cd "$(dirname "$0")/../.."
what="${1:?host-read|agent-append}"
case "$#:$what" in
  2:host-read) addr=127.0.0.1:7400; ledger="$2" ;;
  2:agent-append) addr=127.0.0.1:7401; ledger="$2" ;;
  3:*) addr="$2"; ledger="$3" ;;
  *) echo "usage: $0 host-read|agent-append [HOST:PORT] LEDGER_ID" >&2; exit 2 ;;
esac
case "$what" in
  host-read)
    # Reflection (the server lists its services; no .proto needed).
    ghz --insecure --call microledger.v1.HostService.GetLedger \
        -d "{\"ledger_id\":\"$ledger\"}" -c 50 --connections 2 -n 100000 "$addr"
    ghz --config deploy/ghz/host-getcheckpoint.reflection.json \
        -d "{\"ledger_id\":\"$ledger\",\"tree_size\":0}" "$addr"
    # With the .proto files.
    ghz --insecure --proto proto/microledger/v1/host.proto --import-paths proto \
        --call microledger.v1.HostService.GetInclusionProof \
        -d "{\"ledger_id\":\"$ledger\",\"number\":\"{{randomInt 1 1000}}\",\"tree_size\":0}" \
        -c 50 --connections 2 -n 200000 "$addr"
    ghz --insecure --proto proto/microledger/v1/host.proto --import-paths proto \
        --call microledger.v1.HostService.GetConsistencyProof \
        -d "{\"ledger_id\":\"$ledger\",\"old_size\":\"{{randomInt 1 999}}\",\"new_size\":1000}" \
        -c 50 --connections 2 -n 100000 "$addr"
    ghz --config deploy/ghz/host-getblocks.proto.json \
        -d "{\"ledger_id\":\"$ledger\",\"from_number\":1,\"to_number\":1000}" "$addr"
    ;;
  agent-append)
    # Appends to ONE ledger are serialised by the agent and the host; spread
    # over several ledgers with ml-load --scenario=agent-append instead.
    ghz --config deploy/ghz/owner-appendevent.proto.json \
        -d "{\"ledger_id\":\"$ledger\",\"event_json\":\"{\\\"event\\\":\\\"updated\\\",\\\"n\\\":{{.RequestNumber}}}\"}" \
        "$addr"
    ;;
  *) echo "unknown: $what (host-read or agent-append)" >&2; exit 2 ;;
esac
