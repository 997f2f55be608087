#!/usr/bin/env bash
# Runs every test of the project (installing missing Debian packages first) and
# ends with one line "N passed, N failed", counted from the test cases that ran.
# Usage: scripts/test.sh [TARGET_PATTERN...]   (default: //...)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh || exit 1

bazel_flags=(--test_output=errors --test_summary=short)
if [ "${CI:-}" = "true" ]; then
  bazel_flags+=(--curses=no --noshow_progress --show_timestamps)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(//...)
bazel test "${bazel_flags[@]}" -- "${targets[@]}" 2>&1 | tee "$log"
bazel_status=${PIPESTATUS[0]}
python3 scripts/count_test_results.py "$log" "$(bazel info bazel-testlogs 2>/dev/null)"
exit "$bazel_status"
