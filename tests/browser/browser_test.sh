#!/bin/sh
# Runs the browser test with Debian's python3 and chromium (scripts/install_deps.sh
# installs the chromium package), not whatever python3 is first on PATH.
exec /usr/bin/python3 "$(dirname "$0")/browser_test.py" "$@"
