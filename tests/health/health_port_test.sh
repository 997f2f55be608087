#!/usr/bin/env bash
# Runs health_port_test.py with Debian's python3 (python3-grpcio), with
# throwaway TLS certificates for the TLS host.
# Usage: health_port_test.sh ML_OWNER ML_HOST MAKE_TEST_CERTS
set -euo pipefail
certs="$(mktemp -d)"
trap 'rm -rf "$certs"' EXIT
"$3" "$certs"
/usr/bin/python3 "$(dirname "$0")/health_port_test.py" "$1" "$2" "$certs"
