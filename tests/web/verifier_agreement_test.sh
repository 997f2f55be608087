#!/usr/bin/env bash
# The JavaScript verifier (web/verify_cli.mjs over web/verifier.js) must print
# exactly `mlctl verify`'s verdict line and exit with its code on every bundle
# of the corpus: each bundle the C++ bundle tests verify (written by
# common/bundle_test_util.h when ML_BUNDLE_CORPUS_DIR is set), the fuzz seeds
# of fuzz/corpus/bundle, a few `mlctl sample` bundles and deterministic
# mutations of the valid ones (tests/web/mutate_corpus.mjs). Files are
# deduplicated by content. verify_cli.mjs itself runs on the valid bundles and
# on an unreadable path; the rest go through one Node process
# (tests/web/verify_many.mjs, the same verifyBundle call). Prints a summary
# (files, OK, FAIL, distinct rules) and lists every mismatch.
#
# Usage: verifier_agreement_test.sh MLCTL BUNDLE_TEST VERIFY_CLI VERIFIER_JS
#        VERIFY_MANY MUTATE_CORPUS SEED...
set -euo pipefail

mlctl=$1
bundle_test=$2
verify_cli=$3
verifier_js=$4
verify_many=$5
mutate_corpus=$6
shift 6
# Mutated bundles added to the corpus.
readonly mutations=300

command -v node > /dev/null || { echo "node is not on PATH (scripts/install_deps.sh installs nodejs)"; exit 1; }

work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/verifier-agreement.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
mkdir -p "$corpus"

# Every bundle the C++ bundle tests verify; they must pass as usual. The
# 20,000-block bundle of VerifiesLargeBundleWithProgress is left out: it costs
# both verifiers seconds and breaks no rule (the 300-block sample below crosses
# the JavaScript verifier's window of lines).
if ! ML_BUNDLE_CORPUS_DIR=$corpus timeout 300 "$bundle_test" \
    --gtest_filter=-BundleTest.VerifiesLargeBundleWithProgress > "$work/bundle_test.log" 2>&1; then
  tail -n 40 "$work/bundle_test.log"
  echo "FAIL: $bundle_test failed while collecting the corpus"
  exit 1
fi

add_to_corpus() {
  local digest
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$corpus/$digest"
}
for seed in "$@"; do add_to_corpus "$seed"; done
# Valid bundles of several sizes, one across the JavaScript verifier's
# 256-line window.
for blocks in 1 2 3 300; do
  timeout 60 "$mlctl" sample --blocks=$blocks --out="$work/sample.jsonl" > /dev/null 2>&1
  add_to_corpus "$work/sample.jsonl"
done

valid=()
for file in "$corpus"/*; do
  if timeout 60 "$mlctl" verify "$file" > /dev/null 2>&1; then valid+=("$file"); fi
done
((${#valid[@]} > 0)) || { echo "FAIL: the corpus has no valid bundle"; exit 1; }
timeout 120 node "$mutate_corpus" "$corpus" "$mutations" 15 "${valid[@]}"

files=0 oks=0 fails=0 mismatches=0
declare -A rules=()
mismatch() {
  mismatches=$((mismatches + 1))
  echo "MISMATCH $1"
  echo "  mlctl verify ($2): $3"
  echo "  JavaScript   ($4): $5"
}

# The command-line front: valid bundles, and a file that cannot be read.
for file in "${valid[@]}"; do
  set +e
  want=$(timeout 60 "$mlctl" verify "$file" 2> /dev/null); want_code=$?
  got=$(timeout 60 node "$verify_cli" "$file" 2> /dev/null); got_code=$?
  set -e
  [[ "$want" == "$got" && $want_code -eq $got_code ]] ||
    mismatch "verify_cli.mjs $(basename "$file")" "$want_code" "$want" "$got_code" "$got"
done
set +e
got=$(node "$verify_cli" "$work/missing.jsonl" 2> "$work/node.err"); got_code=$?
set -e
if [[ -n "$got" || $got_code -ne 2 || $(wc -l < "$work/node.err") -ne 1 ]]; then
  mismatch "verify_cli.mjs on a missing file" 2 "(one line on stderr)" "$got_code" "$got"
fi

# Every corpus file, in one Node process.
timeout 300 node "$verify_many" "$verifier_js" "$corpus"/* > "$work/javascript.tsv"
while IFS=$'\t' read -r file got_code got; do
  files=$((files + 1))
  set +e
  want=$(timeout 60 "$mlctl" verify "$file" 2> /dev/null); want_code=$?
  set -e
  [[ "$want" == "$got" && $want_code -eq $got_code ]] ||
    mismatch "$(basename "$file")" "$want_code" "$want" "$got_code" "$got"
  case "$want" in
    OK\ *) oks=$((oks + 1)) ;;
    FAIL\ *)
      fails=$((fails + 1))
      rule=${want#FAIL block * }
      rules["${rule%%:*}"]=1
      ;;
  esac
done < "$work/javascript.tsv"
((files == $(ls "$corpus" | wc -l))) || { echo "FAIL: verify_many.mjs skipped files"; exit 1; }

echo "corpus: $files files, $oks OK, $fails FAIL, ${#rules[@]} distinct rules:"
printf '  %s\n' "${!rules[@]}" | sort
if ((mismatches > 0)); then
  echo "FAIL: $mismatches of $files files give another verdict in JavaScript"
  exit 1
fi
echo "PASS: every verdict agrees"
