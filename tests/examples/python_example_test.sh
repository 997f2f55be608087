#!/bin/sh
# Runs the Python example test with Debian's python3 (python3-grpcio,
# python3-grpc-tools, python3-cryptography), not whatever python3 is first on PATH.
exec /usr/bin/python3 "$(dirname "$0")/python_example_test.py" "$@"
