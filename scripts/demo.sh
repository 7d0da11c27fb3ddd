#!/usr/bin/env bash
# Make (or reuse) the project-local .venv, install neocus (torch first) into it, and run the main job
# on the built-in default: simulate one small phantom case (256x256 frames: well under a minute),
# validate the dataset, and inspect its coronal sweep. Output goes to ./neocus-demo (or $1); an earlier
# demo's dataset there is replaced, any other non-empty folder is refused.
# The python3 on PATH is only used to create .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-neocus-demo}"
. scripts/setup_env.sh
neocus_setup ""
neocus="$(dirname "$NEOCUS_PY")/neocus"
"$neocus" simulate --out "$out" --cases 1 --seed 0 --frame-size 256x256 --force
"$neocus" validate "$out"
sweep=$(find "$out/cases" -name 'coronal*.mp4' | sort | head -n 1)
"$neocus" inspect "$sweep" --overlay "$out/coronal_roi.png"
echo "Demo dataset in $out (ROI overlay: $out/coronal_roi.png)"
echo "This demo simulates one 256x256 case; a full-size case (640x480): neocus simulate --out DIR --cases 1"
neocus_activate_hint
