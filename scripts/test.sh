#!/usr/bin/env bash
# Make (or reuse) the project-local .venv, install neocus with its test extras (torch first) into it,
# and run the test suite there. The python3 on PATH is only used to create .venv. Extra arguments go
# to pytest (e.g. bash scripts/test.sh tests/test_cli_docs.py).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
neocus_setup "[test]" || exit 1
"$NEOCUS_PY" -m pytest -q "$@"
rc=$?
# pytest exits 5 when it collected no test: that is a failure of the suite, not a pass.
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; rc=1; fi
neocus_activate_hint
exit "$rc"
