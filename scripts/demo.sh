#!/usr/bin/env bash
# The main job: the two-machine signing model in miniature, end to end.
#
# Installs missing Debian packages, builds ml-host, ml-owner, ml-mirror and
# mlctl, starts a private two-node DHT (Debian's dhtnode, a random private
# network id, loopback only), then a host service and an owner agent on
# loopback as separate processes with separate temporary data directories
# (separate "machines"), and drives them with mlctl: create a ledger, append
# events (one with an attachment), show it, follow it, verify it, export the
# bundle and verify it offline, show that a tampered copy fails, verify it in
# headless Chromium from the host's HTTP read API and web page; start a mirror
# that finds the ledger's host through the DHT, resolve the ledger, stop the
# host and read the ledger from the mirror, bring the host back at another
# address (found again through the DHT), close the ledger and show that a
# closed ledger refuses appends. Every process is stopped on exit.
# Runs unattended; exits 0 when every step behaved as described.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh

echo "== building ml-host, ml-owner, ml-mirror, ml-witness and mlctl (bazel build -c opt)"
targets=(//host_service:ml-host //owner_agent:ml-owner //mirror:ml-mirror //witness:ml-witness
         //tools:mlctl)
bazel build -c opt "${targets[@]}" >/dev/null 2>&1 || bazel build -c opt "${targets[@]}"
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
host_bin="$bin/host_service/ml-host"
owner_bin="$bin/owner_agent/ml-owner"
mirror_bin="$bin/mirror/ml-mirror"
witness_bin="$bin/witness/ml-witness"
mlctl_bin="$bin/tools/mlctl"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
explain() { printf '   %s\n' "$@"; }
# wait_listening LOG: the address of the "listening on ADDR" line (20 s at most).
wait_listening() {
  for _ in $(seq 200); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$1" | head -n1)
    if [ -n "$addr" ]; then echo "$addr"; return 0; fi
    sleep 0.1
  done
  echo "demo: no 'listening on' line in $1:" >&2
  cat "$1" >&2
  return 1
}

# free_port udp|tcp: a loopback port nobody uses now.
free_port() {
  python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
# dht_connected PORT: the node behind that REST proxy has a peer.
dht_connected() {
  python3 -c 'import json,sys,urllib.request
info=json.load(urllib.request.urlopen("http://127.0.0.1:%s/node/info" % sys.argv[1], timeout=2))
sys.exit(0 if info["ipv4"]["good"] > 0 else 1)' "$1" 2>/dev/null
}

say "starting a private DHT: two dhtnode (OpenDHT) processes on loopback"
mkdir -p "$work/dht"
network_id=$(( (RANDOM << 15 | RANDOM) + 1 ))
dht_udp1=$(free_port udp) dht_udp2=$(free_port udp)
dht_proxy1=$(free_port tcp) dht_proxy2=$(free_port tcp)
dhtnode -s -n "$network_id" -p "$dht_udp1" --proxyserver "$dht_proxy1" \
  -l "$work/dht/node1.log" >/dev/null 2>&1 &
pids+=($!)
dhtnode -s -n "$network_id" -p "$dht_udp2" -b "127.0.0.1:$dht_udp1" \
  --proxyserver "$dht_proxy2" -l "$work/dht/node2.log" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  if dht_connected "$dht_proxy1" && dht_connected "$dht_proxy2"; then break; fi
  sleep 0.1
done
dht_connected "$dht_proxy2" || { echo "demo: the two DHT nodes did not connect" >&2; exit 1; }
explain "Network id $network_id is private: the nodes bootstrap only to each other on" \
        "127.0.0.1 and never join the public OpenDHT network. Our programs speak to a" \
        "node's REST proxy (http://127.0.0.1:$dht_proxy1 and :$dht_proxy2) and never link OpenDHT."

say "starting a witness (machine 4: its own key; cosigns checkpoints consistent with the last)"
mkdir -p "$work/witness-machine"
witness_vkey=$("$mlctl_bin" witness keygen --name=witness.example/w1 \
  --out="$work/witness-machine/witness.key")
witness_http=$(free_port tcp)
"$witness_bin" --key_file="$work/witness-machine/witness.key" \
  --data_dir="$work/witness-machine/db" --listen=127.0.0.1:0 \
  --http_listen="127.0.0.1:$witness_http" 2>"$work/witness-machine/ml-witness.log" &
pids+=($!)
wait_listening "$work/witness-machine/ml-witness.log" >/dev/null
witness="$witness_vkey@http://127.0.0.1:$witness_http"
explain "Witness key (C2SP vkey): $witness_vkey" \
        "ml-witness speaks C2SP tlog-witness on http://127.0.0.1:$witness_http; it needs no list" \
        "of ledgers (each id names its key) and keeps one cosigned note per ledger."

say "starting the host service (machine 1: holds the host key, stores the ledger)"
mkdir -p "$work/host-machine" "$work/owner-machine"
host_port=$(free_port tcp)
metrics_port=$(free_port tcp)
http_port=$(free_port tcp)
"$host_bin" --listen="127.0.0.1:$host_port" --storage=rocksdb --data_dir="$work/host-machine/db" \
  --dht_proxy="http://127.0.0.1:$dht_proxy1" --announce_url="grpc://127.0.0.1:$host_port" \
  --metrics_listen="127.0.0.1:$metrics_port" --log_format=json --witness="$witness" \
  --http_listen="127.0.0.1:$http_port" \
  2>"$work/host-machine/ml-host.log" &
host_pid=$!
pids+=($host_pid)
host=$(wait_listening "$work/host-machine/ml-host.log")
explain "ml-host listens on $host; its RocksDB and master secret live in $work/host-machine." \
        "It announces each ledger it holds in the DHT (SPEC §13 locator record, encrypted)."

say "starting the owner agent (machine 2: holds the owner keys, encrypted)"
umask 077
head -c 24 /dev/urandom | base64 >"$work/owner-machine/passphrase"
chmod 600 "$work/owner-machine/passphrase"
"$owner_bin" --listen=127.0.0.1:0 --keystore="$work/owner-machine/keystore" \
  --passphrase_file="$work/owner-machine/passphrase" --host="$host" \
  --dht_proxy="http://127.0.0.1:$dht_proxy2" --witness="$witness" \
  2>"$work/owner-machine/ml-owner.log" &
pids+=($!)
agent=$(wait_listening "$work/owner-machine/ml-owner.log")
explain "ml-owner listens on $agent; its keystore (Argon2id + secretbox, passphrase in a" \
        "mode-0600 file) lives in $work/owner-machine, a different directory from the host's"

mlctl() { "$mlctl_bin" --agent="$agent" "$@"; }

say "mlctl ledger create --type=invoice"
ledger=$(mlctl ledger create --type=invoice)
echo "$ledger"
explain "The agent made a new owner key and signed the genesis block (\"opened document\");" \
        "the host checked it, countersigned it with a key derived for this ledger only, and" \
        "that host public key IS the ledger id above."

say "mlctl append: three application events, the last one with an attachment"
mlctl append "$ledger" '{"event":"issued","amount":1200,"currency":"EUR"}'
echo '{"event":"sent","to":"ada@example.org"}' | mlctl append "$ledger" -
printf 'Invoice 2026-001: 1200 EUR, due in 30 days.\n' >"$work/owner-machine/invoice.txt"
mlctl append "$ledger" '{"event":"attached pdf"}' --attach="$work/owner-machine/invoice.txt"
explain "Each number is a committed block. Each block carries two signatures made on two" \
        "machines: the owner's (agent) and the host's. Neither side alone can forge one." \
        "The attachment is not copied into the block: its SHA-256 digest is sealed there."

say "mlctl append --wait_witnessed: the block, then the witness's cosignature"
mlctl append "$ledger" '{"event":"reminder sent"}' --wait_witnessed
# The host's own submissions are asynchronous (at most one a second per ledger and
# witness): wait, up to 20 s, until its newest witnessed checkpoint covers all 5 blocks.
for _ in $(seq 100); do
  "$mlctl_bin" verify "$ledger" --from="$host" --witness="$witness_vkey" 2>/dev/null |
    grep -q " 5 blocks$" && break
  sleep 0.2
done
"$mlctl_bin" verify "$ledger" --from="$host" --witness="$witness_vkey"
explain "Host and agent both submit checkpoints to the witness the owner chose; the agent" \
        "waited until this block's checkpoint carried its cosignature. A reader that trusts" \
        "the witness (--witness=VKEY) accepts only checkpoints it cosigned: a host showing" \
        "another history to someone else could not get it cosigned."

say "mlctl show $ledger"
mlctl show "$ledger"
explain "The checkpoint is the host's signed Merkle tree head (RFC 9162, C2SP note); the" \
        "agent checked it extends every checkpoint it saw before, so a forked or rolled" \
        "back ledger would show up here as evidence."

say "mlctl tail $ledger   (read straight from the host, block by block)"
mlctl tail "$ledger"

say "mlctl verify $ledger   (the agent re-checks the host's copy, SPEC §8)"
mlctl verify "$ledger"

say "operating it: the host's health, Prometheus metrics and JSON log"
/usr/bin/python3 - "$host" "$metrics_port" "$work/host-machine/ml-host.log" <<'PY'
import json, sys, urllib.request
import grpc
host, metrics_port, log = sys.argv[1:4]
check = grpc.insecure_channel(host).unary_unary("/grpc.health.v1.Health/Check")
service = b"microledger.v1.HostService"
reply = check(bytes([10, len(service)]) + service, timeout=5)
print("grpc.health.v1 microledger.v1.HostService:", "SERVING" if reply == b"\x08\x01" else reply)
text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(("microledger_host_appends_total", "microledger_host_ledgers_cached")) or (
            line.startswith("grpc_server_handled_total") and '"CreateLedger"' in line):
        print(line)
events = [json.loads(l) for l in open(log) if l.startswith("{")]
print("log events so far:", ", ".join(sorted({e["event"] for e in events})))
PY
explain "Readiness is the service's name in gRPC health (Kubernetes probes it); /metrics" \
        "is Prometheus text (docs/METRICS.md); the log is one JSON object per event. No" \
        "ledger id appears in any metric label or log line: an id is a capability."

say "mlctl export $ledger ledger.jsonl, then mlctl verify ledger.jsonl (offline)"
mlctl export "$ledger" "$work/ledger.jsonl"
"$mlctl_bin" verify "$work/ledger.jsonl"
explain "This verify uses neither the agent nor the host: only the bundle file. Anyone" \
        "holding it can check every signature, the chain and the checkpoint."

say "tampering: change the amount in a copy of the bundle and verify that copy"
sed 's/"amount":1200/"amount":9999/' "$work/ledger.jsonl" >"$work/tampered.jsonl"
if "$mlctl_bin" verify "$work/tampered.jsonl"; then
  echo "demo: tampering went unnoticed: this is a bug" >&2
  exit 1
fi
explain "The changed block no longer matches its fingerprint and signatures: caught."

say "a browser: the host's HTTP read API, and its page verifying the ledger in headless Chromium"
page="http://127.0.0.1:$http_port/?ledger=$ledger"
/usr/bin/python3 - "$PWD/tests/browser" "$page" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import cdp
with cdp.Browser() as browser:
    browser.open_page()
    browser.navigate(sys.argv[2])
    shown = browser.wait_for(
        "document.body && document.body.dataset.state === 'done' && "
        "(document.getElementById('verdict').textContent || "
        "'error: ' + document.getElementById('error').textContent)", timeout=60)
    events = browser.evaluate(
        "[...document.querySelectorAll('#timeline .event')].map(e => e.textContent).join(', ')")
print("the page says: " + shown)
print("its timeline:  " + events)
sys.exit(0 if shown.startswith("OK ") else 1)
PY
explain "ml-host --http_listen serves each ledger as cacheable files (checkpoint, C2SP" \
        "tlog-tiles Merkle tiles, bundles of 256 blocks, attachments; docs/HTTP.md) and, at" \
        "/, a page that fetches them and verifies every block, signature and the checkpoint" \
        "in the browser (web/verifier.js), printing the same line as mlctl verify." \
        "Open $page in a browser to see it."

say "starting a mirror (machine 3: no key at all) that finds the ledger's host by its id"
mkdir -p "$work/mirror-machine"
chmod 700 "$work/mirror-machine"
mirror_port=$(free_port tcp)
admin="unix:$work/mirror-machine/admin.sock"
"$mirror_bin" --listen="127.0.0.1:$mirror_port" --storage=rocksdb \
  --data_dir="$work/mirror-machine/db" --admin_listen="$admin" \
  --dht_proxy="http://127.0.0.1:$dht_proxy2" --announce_url="grpc://127.0.0.1:$mirror_port" \
  --follow="$ledger" 2>"$work/mirror-machine/ml-mirror.log" &
pids+=($!)
mirror=$(wait_listening "$work/mirror-machine/ml-mirror.log")
explain "ml-mirror listens on $mirror for readers; its admin API (follow, unfollow," \
        "status) is only on the Unix socket $work/mirror-machine/admin.sock. It was given" \
        "the ledger id only (--follow=LEDGER): it found the host in the DHT."
mlctl append "$ledger" '{"event":"reminder sent"}' >/dev/null
for _ in $(seq 200); do
  status=$("$mlctl_bin" mirror status "$ledger" --mirror="$admin" 2>/dev/null || true)
  if grep -q "verified: *6 of 6 (lag 0)" <<<"$status"; then break; fi
  sleep 0.1
done
"$mlctl_bin" mirror status "$ledger" --mirror="$admin"
explain "The mirror verified every block (owner and host signatures, chain rules) and every" \
        "checkpoint (signature, root) before storing it, and follows new blocks as they come."

say "mlctl resolve $ledger   (who serves it, from the DHT)"
for _ in $(seq 100); do
  found=$("$mlctl_bin" resolve "$ledger" --dht_proxy="http://127.0.0.1:$dht_proxy1" 2>/dev/null || true)
  if grep -q "^host" <<<"$found" && grep -q "^mirror" <<<"$found"; then break; fi
  sleep 0.2
done
"$mlctl_bin" resolve "$ledger" --dht_proxy="http://127.0.0.1:$dht_proxy1"
explain "Only someone who knows the ledger id can find or decrypt these records; the DHT" \
        "itself never sees the id. The host's record is signed by the ledger key, the" \
        "mirror's by the mirror's own key; a reader still verifies whatever a URL serves."

say "stopping the host: the ledger stays readable, and verifiable, from the mirror"
kill "$host_pid"
wait "$host_pid" 2>/dev/null || true
"$mlctl_bin" verify "$ledger" --from="$mirror"
"$mlctl_bin" tail "$ledger" --from="$mirror" --start=5
explain "mlctl trusted the mirror for nothing: it checked the blocks, the chain and the" \
        "host-signed checkpoint itself. A mirror can serve a ledger; it can never change one."

say "the host comes back at another address (same data directory)"
new_port=$(free_port tcp)
"$host_bin" --listen="127.0.0.1:$new_port" --storage=rocksdb --data_dir="$work/host-machine/db" \
  --dht_proxy="http://127.0.0.1:$dht_proxy1" --announce_url="grpc://127.0.0.1:$new_port" \
  2>"$work/host-machine/ml-host-2.log" &
host_pid=$!
pids+=($host_pid)
host=$(wait_listening "$work/host-machine/ml-host-2.log")
for _ in $(seq 100); do
  if "$mlctl_bin" resolve "$ledger" --dht_proxy="http://127.0.0.1:$dht_proxy2" 2>/dev/null |
     grep -q "^host grpc://$host "; then break; fi
  sleep 0.2
done
"$mlctl_bin" verify "$ledger" --from=dht --dht_proxy="http://127.0.0.1:$dht_proxy2"
mlctl verify "$ledger"
explain "Nobody told the agent or the mirror the new address: the host announced it, and" \
        "the agent (ml-owner --dht_proxy) found it through the DHT when the old one failed."

say "mlctl close $ledger"
mlctl close "$ledger"
say "mlctl append after close (must be refused)"
if refusal=$(mlctl append "$ledger" '{"event":"edited after closing"}' 2>&1); then
  echo "demo: an append after close was accepted: this is a bug" >&2
  exit 1
fi
echo "$refusal"
explain "\"closed document\" is terminal: no block may follow it, so the append is refused" \
        "(exit code 1, one line naming the gRPC status and the rule). The closed ledger" \
        "still verifies:"
mlctl verify "$ledger"

say "what happened"
explain "1. Two processes with separate data directories played two machines: the owner" \
        "   agent signed every block with the owner key, the host countersigned with the" \
        "   ledger's host key. Every block has both signatures." \
        "2. The ledger id is the host's public key for this ledger, so the id itself says" \
        "   who must have countersigned." \
        "3. The exported bundle verified offline, and a changed amount was caught." \
        "4. A mirror with no key found the ledger by its id through the DHT, followed it," \
        "   verified it, and kept it readable while the host was down; the host came back" \
        "   at another address and was found again." \
        "5. A witness cosigned the ledger's checkpoints, submitted by host and agent; a" \
        "   reader trusting it verified the ledger against its cosignature." \
        "6. A browser read the ledger over plain HTTP and verified it with the same verdict." \
        "7. Closing is final: the closed ledger refused another append." \
        "All processes are stopped now and their temporary directories removed."
