# shellcheck shell=bash
# Shell functions shared by the bench scripts (sourced, not run).

# listening_address LOGFILE PROGRAM [SECONDS] [POLL]: prints the address of
# the first "PROGRAM: listening on ADDR" line of LOGFILE, looking every POLL
# seconds (default 0.05) for up to SECONDS (default 20); if none comes, prints
# the log on stderr and fails.
listening_address() {
  local address end=$((SECONDS + ${3:-20}))
  while ((SECONDS <= end)); do
    address=$(sed -n "s/.*$2: listening on \([^ ]*\).*/\1/p" "$1" | head -1)
    [[ -n "$address" ]] && { echo "$address"; return 0; }
    sleep "${4:-0.05}"
  done
  echo "$2 did not start:" >&2; cat "$1" >&2; return 1
}
