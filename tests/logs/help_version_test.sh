#!/usr/bin/env bash
# --help prints the usage and the program's own flags (and the shared logging
# and shutdown flags for servers) on stdout and exits 0; --helpfull lists
# Abseil's flags too; --version prints "PROGRAM VERSION" and exits 0; nothing
# of it goes to stderr.
# Usage: help_version_test.sh ML_HOST ML_OWNER ML_MIRROR MLCTL ML_WITNESS
set -u
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
check() {  # description, then a condition already evaluated as $?
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
# PROGRAM BINARY FLAG...: FLAGs that --help must list.
help_lists() {
  local program="$1" binary="$2"; shift 2
  timeout 30 "$binary" --help >"$tmp/$program.help" 2>"$tmp/$program.help.err"
  check "$program --help exits 0" $?
  [ ! -s "$tmp/$program.help.err" ]; check "$program --help: nothing on stderr" $?
  grep -q "Usage\|usage" "$tmp/$program.help"; check "$program --help prints the usage" $?
  for flag in "$@"; do
    grep -q -- "--$flag " "$tmp/$program.help"; check "$program --help lists --$flag" $?
  done
  timeout 30 "$binary" --helpfull >"$tmp/$program.helpfull" 2>/dev/null
  check "$program --helpfull exits 0" $?
  grep -q -- "--flagfile " "$tmp/$program.helpfull"; check "$program --helpfull lists Abseil's flags" $?
  timeout 30 "$binary" --version >"$tmp/$program.version" 2>/dev/null
  check "$program --version exits 0" $?
  grep -Eq "^$program [0-9]+\.[0-9]+\.[0-9]+" "$tmp/$program.version"
  check "$program --version prints \"$program VERSION\"" $?
}
help_lists ml-host "$1" data_dir master_key_file listen log_format log_level drain_seconds \
  shutdown_grace_seconds
help_lists ml-owner "$2" keystore passphrase_file token_file log_format drain_seconds
help_lists ml-mirror "$3" follow admin_listen log_level shutdown_grace_seconds
help_lists mlctl "$4" agent from secret_out
help_lists ml-witness "$5" key_file http_listen data_dir log_format drain_seconds
! grep -q -- "--log_format " "$tmp/mlctl.help"; check "mlctl --help has no server flags" $?
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
