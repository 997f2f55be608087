#!/usr/bin/env bash
# Smoke test of the container image (run by hand; too slow for .ci/run): builds
# deploy/Containerfile with podman, runs ml-host and ml-owner as two containers
# (the host behind published ports with the image's defaults, the agent on the
# host network: it listens on loopback only), drives a ledger through them with the
# repository's bazel-built mlctl, checks gRPC health on the served ports and
# the health ports (python3-grpcio) and /metrics of both (curl, promtool when
# installed), then plays with `podman kube play` the laptop overlay's ml-host
# StatefulSet pod template and ml-owner Deployment template as two Pods (podman
# 4.3 plays no StatefulSet; deploy/smoke/kube-play-pods.mjs says what it
# changes), checks their health ports as the kubelet's probes would, and drives
# a ledger through the played agent (TLS and bearer token, as in Kubernetes).
# It removes every container, pod and image state it started (trap) and ends
# with one line "smoke: PASS" or "smoke: FAIL (N checks failed)".
# Environment (defaults for a normal machine):
#   BASE_IMAGE=debian:12  BASE_IMAGE_SLIM=debian:12-slim  OCI_RUNTIME=(podman's)
#   IMAGE=localhost/microledger:smoke
# Needs root for apt-get (podman, curl, python3-grpcio, nodejs/npm) when missing.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
BASE_IMAGE=${BASE_IMAGE:-debian:12}
BASE_IMAGE_SLIM=${BASE_IMAGE_SLIM:-debian:12-slim}
IMAGE=${IMAGE:-localhost/microledger:smoke}
runtime=()
[ -n "${OCI_RUNTIME:-}" ] && runtime=(--runtime "$OCI_RUNTIME")

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v curl >/dev/null || missing+=(curl)
/usr/bin/python3 -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get install -y -q "${missing[@]}" >/dev/null || { echo "smoke: FAIL (cannot install ${missing[*]})"; exit 1; }
fi

failures=0
exec 3>&1  # the PASS/FAIL lines, even from a check whose command's output is discarded
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, prints PASS/FAIL DESCRIPTION
  local what=$1; shift
  if "$@"; then echo "PASS $what" >&3; else echo "FAIL $what" >&3; failures=$((failures + 1)); fi
}
# Debian's python3 (python3-grpcio), whatever python3 comes first on PATH.
python=/usr/bin/python3
# own_by_image_user DIR...: owned by the image's uid 10001 (inside podman's
# user namespace when not root).
own_by_image_user() {
  if [ "$(id -u)" -eq 0 ]; then chown -R 10001:10001 "$@"; else podman unshare chown -R 10001:10001 "$@"; fi
}
state=$(mktemp -d)
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman "${runtime[@]}" rm -f -t 5 "$c" >/dev/null 2>&1; done
  [ -e "$state/pods.yaml" ] && podman "${runtime[@]}" kube down "$state/pods.yaml" >/dev/null 2>&1
  podman unshare rm -rf "$state" 2>/dev/null || rm -rf "$state"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# healthy PORT SERVICE: grpc.health.v1 Check answers SERVING within 30 s (the
# messages encoded by hand: Debian ships no grpc_health module).
healthy() {
  "$python" - "$1" "$2" <<'PY'
import sys, time, grpc
check = grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}").unary_unary("/grpc.health.v1.Health/Check")
service = sys.argv[2].encode()
deadline = time.time() + 30
while time.time() < deadline:
    try:
        if check(bytes([10, len(service)]) + service, timeout=2) == b"\x08\x01":
            sys.exit(0)
    except grpc.RpcError:
        pass
    time.sleep(0.5)
sys.exit(1)
PY
}

echo "== building $IMAGE (FROM $BASE_IMAGE / $BASE_IMAGE_SLIM)"
check "image builds" podman "${runtime[@]}" build -q -f deploy/Containerfile \
  --ignorefile deploy/Containerfile.dockerignore --build-arg BASE_IMAGE="$BASE_IMAGE" \
  --build-arg BASE_IMAGE_SLIM="$BASE_IMAGE_SLIM" -t "$IMAGE" . >/dev/null
check "image runs as uid 10001" test "$(podman image inspect -f '{{.Config.User}}' "$IMAGE")" = 10001:10001
check "ml-host --help in the image" podman "${runtime[@]}" run --rm "$IMAGE" ml-host --help >/dev/null
check "ml-witness --version in the image" podman "${runtime[@]}" run --rm "$IMAGE" ml-witness --version >/dev/null

echo "== mlctl from the repository"
(bazel build -c opt //tools:mlctl >/dev/null 2>&1) || { echo "FAIL bazel build //tools:mlctl"; exit 1; }
mlctl=$repo/bazel-bin/tools/mlctl

host_port=$(free_port); agent_port=$(free_port); host_metrics=$(free_port)
agent_metrics=$(free_port); host_health=$(free_port); agent_health=$(free_port)
mkdir -p "$state/host" "$state/agent"
own_by_image_user "$state/host" "$state/agent"
echo 'smoke passphrase' >"$state/passphrase"
echo "== ml-host published on 127.0.0.1:$host_port (image defaults), ml-owner on 127.0.0.1:$agent_port"
containers+=(ml-smoke-host ml-smoke-agent)
# The host in its own network namespace, reached only through published ports:
# the image's defaults (--listen=0.0.0.0:7400, --data_dir=/data/host) as a user
# runs it, plus metrics, the health port and JSON logs.
podman "${runtime[@]}" run -d --name ml-smoke-host -v "$state/host:/data" \
  -p 127.0.0.1:"$host_port":7400 -p 127.0.0.1:"$host_metrics":9400 \
  -p 127.0.0.1:"$host_health":7480 "$IMAGE" \
  ml-host --metrics_listen=0.0.0.0:9400 --health_listen=0.0.0.0:7480 --log_format=json >/dev/null
podman "${runtime[@]}" run -d --name ml-smoke-agent --network=host -v "$state/agent:/data" \
  -e ML_PASSPHRASE="smoke passphrase" "$IMAGE" \
  ml-owner --listen=127.0.0.1:"$agent_port" --host=127.0.0.1:"$host_port" --keystore_kdf=min \
  --metrics_listen=127.0.0.1:"$agent_metrics" --health_listen=127.0.0.1:"$agent_health" >/dev/null
check "ml-host health \"\" SERVING" healthy "$host_port" ""
check "ml-host health microledger.v1.HostService SERVING" healthy "$host_port" microledger.v1.HostService
check "ml-owner health microledger.v1.OwnerAgentService SERVING" healthy "$agent_port" microledger.v1.OwnerAgentService
check "ml-host health port: microledger.v1.HostService SERVING" healthy "$host_health" microledger.v1.HostService
check "ml-owner health port: microledger.v1.OwnerAgentService SERVING" healthy "$agent_health" microledger.v1.OwnerAgentService
ledger=$("$mlctl" --agent=127.0.0.1:"$agent_port" ledger create --type=smoke 2>/dev/null)
check "mlctl ledger create through the agent" test -n "$ledger"
check "mlctl append" "$mlctl" --agent=127.0.0.1:"$agent_port" append "$ledger" '{"event":"smoke"}'
check "mlctl verify through the agent" "$mlctl" --agent=127.0.0.1:"$agent_port" verify "$ledger"
check "mlctl verify from the host container" "$mlctl" verify "$ledger" --from=127.0.0.1:"$host_port"
# counter_at_least METRICS NAME_AND_LABELS MIN: the sample's value is >= MIN.
counter_at_least() {
  awk -v name="$2" -v min="$3" '$1 == name { found = 1; if ($2 + 0 >= min + 0) ok = 1 }
    END { exit !(found && ok) }' <<<"$1"
}
host_metrics_text=$(curl -fsS "http://127.0.0.1:$host_metrics/metrics")
agent_metrics_text=$(curl -fsS "http://127.0.0.1:$agent_metrics/metrics")
check "ml-host /metrics answers" test -n "$host_metrics_text"
check "ml-owner /metrics answers" test -n "$agent_metrics_text"
check "ml-host counted committed appends" counter_at_least "$host_metrics_text" \
  'microledger_host_appends_total{outcome="committed",rule="OK"}' 2
check "ml-owner counted AppendEvent OK" counter_at_least "$agent_metrics_text" \
  'microledger_agent_appends_total{outcome="committed",rule="OK"}' 1
check "ml-host grpc_server_handled_total CreateLedger OK" bash -c 'grep -q "^grpc_server_handled_total{.*grpc_method=\"CreateLedger\".*grpc_code=\"OK\"" <<<"$1"' _ "$host_metrics_text"
check "no ledger id in either /metrics" bash -c '! grep -qF -- "$1" <<<"$2$3"' _ "${ledger#jlinx:}" "$host_metrics_text" "$agent_metrics_text"
if command -v promtool >/dev/null; then
  check "promtool check metrics (ml-host)" bash -c 'promtool check metrics <<<"$1"' _ "$host_metrics_text"
  check "promtool check metrics (ml-owner)" bash -c 'promtool check metrics <<<"$1"' _ "$agent_metrics_text"
fi
check "ml-host logs are JSON lines (but the start line)" bash -c \
  'podman "$@" logs ml-smoke-host 2>&1 | grep -Ev ": (listening on|metrics on|health checks on) " |
   /usr/bin/python3 -c "import json,sys; assert [json.loads(l) for l in sys.stdin if l.strip()]"' _ "${runtime[@]}"
check "ml-host stops within its grace period (SIGTERM)" podman "${runtime[@]}" stop -t 30 ml-smoke-host >/dev/null
check "ml-host exited 0" test "$(podman inspect -f '{{.State.ExitCode}}' ml-smoke-host)" = 0
podman "${runtime[@]}" rm -f -t 30 ml-smoke-host ml-smoke-agent >/dev/null

echo "== podman kube play: Pods from the laptop overlay's ml-host StatefulSet and ml-owner Deployment"
(cd deploy/validate && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
cp -r deploy/kubernetes "$state/kubernetes"
rm -rf "$state"/kubernetes/overlays/*/secrets
deploy/kubernetes/make-secrets.sh "$state/kubernetes/overlays/laptop" 1 1 >/dev/null
secrets="$state/kubernetes/overlays/laptop/secrets"
mkdir -p "$state/host-data" "$state/master-keys" "$state/agent-data" "$state/agent-token" \
  "$state/agent-tls" "$state/certs"
cp "$secrets/master-keys/ml-host-0" "$state/master-keys/"
cp "$secrets/token" "$state/agent-token/token"
cp "$secrets/passphrase" "$state/agent-passphrase"
# The agent's certificate names 127.0.0.1 here (the overlay's names the Service).
tests/tls/make_test_certs.sh "$state/certs"
cp "$state/certs/server.pem" "$state/agent-tls/tls.crt"
cp "$state/certs/server.key" "$state/agent-tls/tls.key"
own_by_image_user "$state/host-data" "$state/master-keys" "$state/agent-data" \
  "$state/agent-token" "$state/agent-tls"
play_port=$(free_port); play_agent_port=$(free_port)
kubectl kustomize "$state/kubernetes/overlays/laptop" |
  node deploy/smoke/kube-play-pods.mjs "$state" "$IMAGE" "$play_port" "$play_agent_port" \
  >"$state/pods.yaml"
# Pods left by an interrupted earlier run would block the names.
podman pod rm -f smoke-ml-host-0 smoke-ml-owner >/dev/null 2>&1
check "kube play ml-host-0 and ml-owner" podman "${runtime[@]}" kube play "$state/pods.yaml" >/dev/null
check "played ml-host-0: liveness \"\" on the health port 7480" healthy 7480 ""
check "played ml-host-0: readiness HostService on the health port 7480" healthy 7480 microledger.v1.HostService
check "played ml-owner: readiness OwnerAgentService on the health port 7481" healthy 7481 microledger.v1.OwnerAgentService
played=("$mlctl" --agent=127.0.0.1:"$play_agent_port" --agent_tls_ca="$state/certs/ca.pem"
  --token_file="$secrets/token")
played_ledger=$("${played[@]}" ledger create --type=smoke 2>/dev/null)
check "played agent (TLS + token): ledger create" test -n "$played_ledger"
check "played agent: append" "${played[@]}" append "$played_ledger" '{"event":"played"}'
check "played host: mlctl verify --from" "$mlctl" verify "$played_ledger" --from=127.0.0.1:"$play_port"
check "played host: /metrics on 9400" bash -c 'curl -fsS http://127.0.0.1:9400/metrics | grep -q "^microledger_host_appends_total"'
check "played agent: a call without the token is refused" bash -c '! "$@" ledger list >/dev/null 2>&1' _ \
  "$mlctl" --agent=127.0.0.1:"$play_agent_port" --agent_tls_ca="$state/certs/ca.pem"

if [ "$failures" -eq 0 ]; then echo "smoke: PASS"; else echo "smoke: FAIL ($failures checks failed)"; exit 1; fi
