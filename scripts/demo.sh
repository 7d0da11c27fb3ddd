#!/usr/bin/env bash
# Make (or reuse) the project-local .venv, install neocus (torch first) into it, and run the main job
# on the built-in default: `neocus demo` simulates one small phantom case (256x256 frames, a severe
# case) and screens it with the bundled models (or the models folder in $NEOCUS_MODELS), then prints
# where the report is. Output goes to ./neocus-demo (or $1); an earlier demo there is replaced, any
# other non-empty folder is refused. The python3 on PATH is only used to create .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-neocus-demo}"
. scripts/setup_env.sh
neocus_setup ""
neocus="$(dirname "$NEOCUS_PY")/neocus"
"$neocus" demo --out "$out" --force ${NEOCUS_MODELS:+--models "$NEOCUS_MODELS"}
echo "Demo in $out: the simulated case in $out/phantom, its screen in $out/screen (open report.html)"
neocus_activate_hint
