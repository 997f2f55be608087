#!/usr/bin/env bash
# The main job: builds the tools (installing missing Debian packages first),
# makes a sample ledger and verifies it offline, then shows what tampering does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh

echo "== building mlctl"
bazel build -c opt //tools:mlctl >/dev/null 2>&1 || bazel build -c opt //tools:mlctl
mlctl=bazel-bin/tools/mlctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== writing a sample ledger of 1000 blocks"
"$mlctl" sample --blocks=1000 --out="$work/sample.jsonl"
echo "== verifying it offline (SPEC §8/§9)"
"$mlctl" verify "$work/sample.jsonl"

echo "== changing one event in block 500 and verifying again"
python3 - "$work/sample.jsonl" "$work/tampered.jsonl" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
lines[500] = lines[500].replace('"n":500', '"n":501', 1)
open(sys.argv[2], "w").write("\n".join(lines))
PY
if "$mlctl" verify "$work/tampered.jsonl"; then
  echo "tampering went unnoticed: this is a bug" >&2
  exit 1
fi
echo "== done: the untouched ledger verifies, the tampered one fails at block 500"
