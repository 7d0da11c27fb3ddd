#!/usr/bin/env bash
# Install neocus with its test extras (torch first) and run the test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0 || exit 1
python3 -m pip install -q -e ".[test]" || exit 1
python3 -m pytest -q "$@"
rc=$?
# pytest exits 5 when it collected no test: that is a failure of the suite, not a pass.
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
