#!/usr/bin/env bash
# The JavaScript verifier (web/verify_cli.mjs over web/verifier.js) must print
# exactly `mlctl verify`'s verdict line and exit with its code on every bundle
# of the corpus: each bundle the C++ bundle tests verify (written by
# common/bundle_test_util.h when ML_BUNDLE_CORPUS_DIR is set), the fuzz seeds
# of fuzz/corpus/bundle and a few `mlctl sample` bundles. Files are deduplicated
# by content. Prints a summary (files, OK, FAIL, distinct rules) and lists
# every mismatch.
#
# Usage: verifier_agreement_test.sh MLCTL BUNDLE_TEST VERIFY_CLI SEED...
set -euo pipefail

mlctl=$1
bundle_test=$2
verify_cli=$3
shift 3

command -v node > /dev/null || { echo "node is not on PATH (scripts/install_deps.sh installs nodejs)"; exit 1; }

work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/verifier-agreement.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
mkdir -p "$corpus"

# Every bundle the C++ bundle tests verify; they must pass as usual.
if ! ML_BUNDLE_CORPUS_DIR=$corpus timeout 300 "$bundle_test" > "$work/bundle_test.log" 2>&1; then
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
  timeout 60 "$mlctl" sample --blocks=$blocks --out="$work/sample.jsonl" > /dev/null
  add_to_corpus "$work/sample.jsonl"
done

files=0 oks=0 fails=0 mismatches=0
declare -A rules=()
for file in "$corpus"/*; do
  files=$((files + 1))
  set +e
  want=$(timeout 60 "$mlctl" verify "$file" 2> /dev/null); want_code=$?
  got=$(timeout 60 node "$verify_cli" "$file" 2> "$work/node.err"); got_code=$?
  set -e
  if [[ "$want" != "$got" || $want_code -ne $got_code ]]; then
    mismatches=$((mismatches + 1))
    echo "MISMATCH $(basename "$file")"
    echo "  mlctl verify ($want_code): $want"
    echo "  verify_cli   ($got_code): $got"
    [[ -s "$work/node.err" ]] && sed 's/^/  node stderr: /' "$work/node.err" | head -n 5
  fi
  case "$want" in
    OK\ *) oks=$((oks + 1)) ;;
    FAIL\ *)
      fails=$((fails + 1))
      rule=${want#FAIL block * }
      rules["${rule%%:*}"]=1
      ;;
  esac
done

echo "corpus: $files files, $oks OK, $fails FAIL, ${#rules[@]} distinct rules:"
printf '  %s\n' "${!rules[@]}" | sort
if ((mismatches > 0)); then
  echo "FAIL: $mismatches of $files files give another verdict in JavaScript"
  exit 1
fi
echo "PASS: every verdict agrees"
