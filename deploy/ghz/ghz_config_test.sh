#!/bin/sh
# Runs ghz_config_test.py with Debian's python3 (python3-grpc-tools,
# python3-protobuf) from the repository root of the test's runfiles.
exec /usr/bin/python3 deploy/ghz/ghz_config_test.py "$@"
