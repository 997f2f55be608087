#!/bin/bash
# The HTTP read API and web page benchmarks (BENCHMARKS.md, "HTTP read API and
# browser"; what is measured: bench/http_bench.py). Builds the programs with
# -c opt unless --no-build, installs wrk (Debian) when it is missing, and needs
# chromium and node (scripts/install_deps.sh). About 2 minutes on a 2-core
# machine with the defaults.
#
#   bench/http_bench.sh [--no-build] [--blocks=N] [--seconds=S] [--page_runs=K] [--out=DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=1
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$arg") ;;
  esac
done
cd "$ROOT"
if ! command -v wrk >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi
if [ "$BUILD" = 1 ]; then
  bazel build -c opt //host_service:ml-host //owner_agent:ml-owner //tools:mlctl >&2
fi
exec /usr/bin/python3 bench/http_bench.py "$(bazel info -c opt bazel-bin 2>/dev/null)" "$ROOT" "${ARGS[@]}"
