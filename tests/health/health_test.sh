#!/usr/bin/env bash
# Runs health_test.py with Debian's python3 (python3-grpcio).
exec /usr/bin/python3 "$(dirname "$0")/health_test.py" "$@"
