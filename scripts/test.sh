#!/usr/bin/env bash
# Runs every test of the project (installing missing Debian packages first) and
# ends with one line "N passed, N failed", counted from the test cases that ran.
# Usage: scripts/test.sh [--config=asan] [--label=NAME] [--record=FILE]
#                        [BAZEL_FLAG...] [TARGET_PATTERN...]   (default: //...)
#   --config=asan  the same tests built with ASan + UBSan (see README "Tests")
#   --label=NAME   the last line reads "NAME: N passed, N failed"
#   --record=FILE  append one "PASS name" / "FAIL name" line per test case to
#                  FILE (.ci/run adds up all its stages from these)
# Other arguments starting with "-" are passed to bazel test.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh || exit 1

bazel_flags=(--test_output=errors --test_summary=short)
if [ "${CI:-}" = "true" ]; then
  # CI proves every run: each test runs again, none is answered from the
  # (disk or local) cache of an earlier run with the same inputs.
  bazel_flags+=(--curses=no --noshow_progress --show_timestamps --nocache_test_results)
fi
count_flags=()
targets=()
for arg in "$@"; do
  case "$arg" in
    --label=* | --record=*) count_flags+=("$arg") ;;
    -*) bazel_flags+=("$arg") ;;
    *) targets+=("$arg") ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] || targets=(//...)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
testlogs="$(bazel info "${bazel_flags[@]}" bazel-testlogs 2>/dev/null)"

# Sanitized builds: every process of a test (the test and the servers it
# starts, whose exit codes a test may not see) writes its sanitizer reports
# to files in one directory (a fixed one, so test results stay cacheable); any
# report fails the run. The compiled-in options (fuzz/sanitizer_defaults.cc)
# still apply; log_path only moves the output.
reports=""
if [[ " ${bazel_flags[*]} " == *" --config=asan "* ]]; then
  reports="$(dirname "$(dirname "$testlogs")")/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  bazel_flags+=("--test_env=ASAN_OPTIONS=log_path=$reports/report"
                "--test_env=UBSAN_OPTIONS=log_path=$reports/report")
fi

bazel test "${bazel_flags[@]}" -- "${targets[@]}" 2>&1 | tee "$log"
bazel_status=${PIPESTATUS[0]}
if [ -n "$reports" ] && [ -n "$(ls -A "$reports")" ]; then
  for report in "$reports"/*; do
    echo "==== sanitizer report $report:"
    cat "$report"
    for arg in "${count_flags[@]}"; do
      [[ "$arg" == --record=* ]] && echo "FAIL sanitizer-report:$(basename "$report")" >>"${arg#--record=}"
    done
  done
  echo "sanitizer reports found: the run fails"
  bazel_status=1
fi
python3 scripts/count_test_results.py "${count_flags[@]}" "$log" "$testlogs"
exit "$bazel_status"
