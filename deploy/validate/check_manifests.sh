#!/usr/bin/env bash
# The manifests stage of .ci/run: builds every overlay of deploy/kubernetes with
# `kubectl kustomize` (throwaway secrets made by make-secrets.sh in a copy of
# the tree; the real tree is not touched) and validates every object it prints
# against the Kubernetes OpenAPI schemas, offline (validate.mjs). One line per
# object, "PASS manifests:<overlay> <Kind>/<name>" or "FAIL ...", appended to
# FILE with --record=FILE; ends with "manifests: N passed, N failed" and exits 1
# when anything failed (an overlay that does not build is one failure).
#   deploy/validate/check_manifests.sh [--record=FILE]
set -uo pipefail
cd "$(dirname "$0")"
validate_dir=$PWD
record=/dev/null
for arg in "$@"; do
  case "$arg" in
    --record=*) record="${arg#--record=}" ;;
    *) echo "usage: check_manifests.sh [--record=FILE]" >&2; exit 2 ;;
  esac
done

npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null ||
  { echo "FAIL manifests:npm-ci" | tee -a "$record"; echo "manifests: 0 passed, 1 failed"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r ../kubernetes "$work/kubernetes"
rm -rf "$work"/kubernetes/overlays/*/secrets

results="$work/results"
: >"$results"
# overlay HOSTS MIRRORS: the replicas make-secrets.sh makes keys and
# certificates for.
for spec in "laptop 1 1" "production 3 2"; do
  read -r overlay hosts mirrors <<<"$spec"
  label="manifests:overlays/$overlay"
  if ! "$work/kubernetes/make-secrets.sh" "$work/kubernetes/overlays/$overlay" \
      "$hosts" "$mirrors" >/dev/null; then
    echo "FAIL $label make-secrets" >>"$results"
  elif ! kubectl kustomize "$work/kubernetes/overlays/$overlay" >"$work/$overlay.yaml" \
      2>"$work/$overlay.err"; then
    echo "FAIL $label kustomize: $(tr '\n' ' ' <"$work/$overlay.err")" >>"$results"
  else
    node "$validate_dir/validate.mjs" --label="$label" "$work/$overlay.yaml" >>"$results"
  fi
done
for overlay_dir in "$work"/kubernetes/overlays/*/; do
  overlay=$(basename "$overlay_dir")
  [ -e "$work/$overlay.yaml" ] || grep -q "overlays/$overlay " "$results" ||
    echo "FAIL manifests:overlays/$overlay not checked (add it to check_manifests.sh)" >>"$results"
done

cat "$results"
cat "$results" >>"$record"
passed=$(grep -c '^PASS' "$results")
failed=$(grep -c '^FAIL' "$results")
echo "manifests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
