#!/bin/sh
# Runs the Python mirror client test with Debian's python3 (python3-grpcio,
# python3-grpc-tools, python3-cryptography), as tests/host does.
exec /usr/bin/python3 "$(dirname "$0")/python_mirror_test.py" "$@"
