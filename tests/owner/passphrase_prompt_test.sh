#!/usr/bin/env bash
# Runs passphrase_prompt_test.py with Debian's python3.
exec /usr/bin/python3 "$(dirname "$0")/passphrase_prompt_test.py" "$@"
