#!/usr/bin/env bash
# Runs a Node test script (node SCRIPT ARGS...): sh_test cannot start a .mjs
# file itself.
set -euo pipefail
command -v node > /dev/null || { echo "node is not on PATH (scripts/install_deps.sh installs nodejs)"; exit 1; }
exec timeout 120 node "$@"
