#!/usr/bin/env bash
# Writes the secret files an overlay's secretGenerator reads, into
# OVERLAY/secrets/ (git ignores it), creating only what is missing: an existing
# master key is never replaced (it derives every ledger key of its host pod).
#   deploy/kubernetes/make-secrets.sh deploy/kubernetes/overlays/laptop 1 1
#   deploy/kubernetes/make-secrets.sh deploy/kubernetes/overlays/production 3 2
# HOSTS and MIRRORS are the replicas of the ml-host and ml-mirror StatefulSets:
# one master key per host pod, named after it. TLS: a self-signed CA of this
# directory signs the agent's certificate and, when the overlay uses TLS for
# hosts and mirrors (its kustomization names host-tls), theirs, with the
# per-pod and Service names of NAMESPACE (default "default"). Bring your own
# certificates by putting them there first. Needs openssl and basenc.
set -euo pipefail

usage="usage: make-secrets.sh OVERLAY_DIR HOSTS MIRRORS [NAMESPACE]"
overlay=${1:?$usage}
hosts=${2:?$usage}
mirrors=${3:?$usage}
namespace=${4:-default}
dir="$overlay/secrets"
umask 077
mkdir -p "$dir/master-keys"

random_base64url() { head -c "$1" /dev/urandom | basenc --base64url | tr -d '=\n'; }

for ((ordinal = 0; ordinal < hosts; ordinal++)); do
  key="$dir/master-keys/ml-host-$ordinal"
  [ -e "$key" ] || random_base64url 32 > "$key"
done
[ -e "$dir/passphrase" ] || random_base64url 32 > "$dir/passphrase"
[ -e "$dir/token" ] || random_base64url 32 > "$dir/token"

if [ ! -e "$dir/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj /CN=microledger-ca -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
fi

# certificate NAME SERVICE PODS [OTHER_SERVICE]: NAME.crt/.key for the Service
# SERVICE, its StatefulSet pods SERVICE-0..PODS-1 by per-pod name, and
# OTHER_SERVICE. One this script made is issued again when those names changed
# (more pods: a new pod must be named in it); NAME.names records them.
certificate() {
  local name=$1 service=$2 pods=$3 other=${4:-$2} names
  names="DNS:$service,DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local"
  names+=",DNS:$other,DNS:$other.$namespace.svc,DNS:$other.$namespace.svc.cluster.local"
  for ((ordinal = 0; ordinal < pods; ordinal++)); do
    names+=",DNS:$service-$ordinal.$service,DNS:$service-$ordinal.$service.$namespace.svc"
    names+=",DNS:$service-$ordinal.$service.$namespace.svc.cluster.local"
  done
  # A certificate without NAME.names was brought by the user: kept as it is.
  if [ -e "$dir/$name.crt" ] && { [ ! -e "$dir/$name.names" ] ||
                                   [ "$(cat "$dir/$name.names")" = "$names" ]; }; then
    return 0
  fi
  printf '%s\n' "$names" >"$dir/$name.names"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$service" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 825 -extfile <(printf 'subjectAltName=%s\n' "$names") \
    -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr"
}

certificate owner-tls ml-owner 0
if grep -q host-tls "$overlay/kustomization.yaml"; then
  certificate host-tls ml-host "$hosts"
  certificate mirror-tls ml-mirror "$mirrors" ml-mirror-read
fi
echo "secrets in $dir"
