#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests, the demo and CI need,
# when any is missing. Needs root (or sudo) only when something must be
# installed. With --build_only: only what building the four programs needs
# (the container image's build stage).
set -euo pipefail

# What `bazel build -c opt` of ml-host, ml-owner, ml-mirror and mlctl needs:
# the compiler, gRPC, protobuf, libsodium, Abseil, RocksDB, nlohmann/json,
# libcurl (the DHT proxy and witness clients) and cpp-httplib (the /metrics server).
build_packages=(
  bazel-bootstrap g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsodium-dev libabsl-dev librocksdb-dev nlohmann-json3-dev
  libcurl4-openssl-dev libcpp-httplib-dev python3
)
if [ "${1:-}" = "--build_only" ]; then
  packages=("${build_packages[@]}")
else
packages=(
  "${build_packages[@]}"
  libgtest-dev libgmock-dev libbenchmark-dev
  # Discovery (SPEC §13): OpenDHT's dhtnode (with its REST proxy) for the
  # tests that run a private DHT.
  dhtnode
  # Prometheus (prometheus, promtool) for tests/metrics.
  prometheus
  python3 python3-grpcio python3-grpc-tools python3-cryptography openssl
  # tests/readme runs the README's commands in a private network namespace
  # (unshare from util-linux, ip from iproute2 to bring its loopback up; curl
  # is one of the commands).
  iproute2 curl
  # tests/browser: the web page (web/) in headless Chromium.
  chromium
  # The libFuzzer targets (fuzz/, --config=fuzz): clang, its sanitizer and
  # libFuzzer runtimes, LLVM tools (llvm-ar, llvm-symbolizer for reports), lld.
  clang-14 libclang-rt-14-dev llvm-14 lld-14
)
# kubectl's built-in kustomize for the manifests stage of .ci/run; node for the
# JavaScript verifier's tests (tests/web) and, with npm, the manifests' offline
# schema validator (deploy/validate/); each only when no such command is
# installed already (from another source).
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "installing missing Debian packages: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# The dhtnode package ships a system service whose configuration joins the
# public OpenDHT network, and the prometheus package one that listens on all
# interfaces: neither must run. While packages install, a policy-rc.d forbids
# starting services; afterwards the units are disabled and masked (where
# systemd runs), so they do not start at boot either. Micro Ledger only starts
# dhtnode itself, with a private network id, and tests/metrics starts its own
# Prometheus on loopback.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [[ " ${missing[*]} " == *" dhtnode "* || " ${missing[*]} " == *" prometheus "* ]] &&
   [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod 755 "$policy"
  own_policy=true
fi
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ "$own_policy" = true ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in dhtnode.service prometheus.service; do
    "${sudo_cmd[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
    "${sudo_cmd[@]}" systemctl mask "$unit" >/dev/null 2>&1 || true
  done
fi
