#!/usr/bin/env bash
# Builds the libFuzzer targets (bazel --config=fuzz: clang-14, ASan, UBSan) and
# runs each for a bounded time, starting from its committed seed corpus
# (fuzz/corpus/<name>) and the reproducers of earlier findings
# (fuzz/reproducers/<name>, which therefore fail every run until fixed and
# guard against regressions after); both are read only, new inputs go to a
# scratch directory.
# Any finding (crash, sanitizer report, leak, timeout, out-of-memory, violated
# property) fails the run; its reproducer is copied to fuzz/findings/<target>/
# and named in the output. Prints one line per target with its executions,
# then "fuzz: N passed, N failed".
#
# Usage: fuzz/run_fuzzers.sh [--seconds=N] [--record=FILE] [TARGET...]
#   --seconds=N    time per target (default 20)
#   --record=FILE  also append "PASS fuzz:<target> <executions>" or
#                  "FAIL fuzz:<target> ..." lines to FILE (used by .ci/run)
#   TARGET         e.g. json_fuzzer (default: every target of //fuzz:fuzzers)
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=20
record=""
targets=()
for arg in "$@"; do
  case "$arg" in
    --seconds=*) seconds="${arg#--seconds=}" ;;
    --record=*) record="${arg#--record=}" ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] ||
  targets=(block_fuzzer bundle_fuzzer canonical_block_reader_fuzzer chain_fuzzer checkpoint_fuzzer
           evidence_fuzzer json_fuzzer
           locator_fuzzer merkle_fuzzer)

bazel_flags=(--config=fuzz)
[ "${CI:-}" = "true" ] && bazel_flags+=(--curses=no --noshow_progress)
labels=()
for target in "${targets[@]}"; do labels+=("//fuzz:$target"); done
if ! bazel build "${bazel_flags[@]}" -- "${labels[@]}"; then
  echo "fuzz: the fuzz targets did not build"
  [ -n "$record" ] && echo "FAIL fuzz:build" >>"$record"
  echo "fuzz: 0 passed, ${#targets[@]} failed"
  exit 1
fi
bin_dir="$(bazel info "${bazel_flags[@]}" bazel-bin 2>/dev/null)/fuzz"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/ml-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
total_executions=0
for target in "${targets[@]}"; do
  name="${target%_fuzzer}"
  seeds=("fuzz/corpus/$name")
  [ -d "fuzz/reproducers/$name" ] && seeds+=("fuzz/reproducers/$name")
  artifacts="fuzz/findings/$target"
  mkdir -p "$scratch/$target" "$artifacts"
  log="$scratch/$target.log"
  touch "$scratch/$target.start"
  # -timeout: one input taking longer is a finding; -rss_limit_mb likewise.
  # The time bound is libFuzzer's own (-max_total_time); `timeout` is only a
  # guard against a hung process.
  timeout --signal=KILL $((seconds + 120)) "$bin_dir/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$scratch/$target" "${seeds[@]}" >"$log" 2>&1
  status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  executions=${executions:-0}
  total_executions=$((total_executions + executions))
  findings=$(find "$artifacts" -type f -newer "$scratch/$target.start" | sort)
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    echo "PASS $target: $executions executions in ${seconds}s, no finding"
    [ -n "$record" ] && echo "PASS fuzz:$target $executions" >>"$record"
  else
    failed=$((failed + 1))
    echo "FAIL $target: exit $status after $executions executions; reproducer(s): ${findings:-none written}"
    echo "---- last lines of $target's log:"
    tail -n 60 "$log"
    echo "----"
    [ -n "$record" ] && echo "FAIL fuzz:$target exit $status ${findings//$'\n'/ }" >>"$record"
  fi
done
echo "fuzz: $total_executions executions in total"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
