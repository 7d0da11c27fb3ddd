#!/usr/bin/env bash
# Install neocus (torch first) and run the main job on the built-in default: simulate one phantom
# case, validate the dataset, and inspect its coronal sweep. Output goes to ./neocus-demo (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-neocus-demo}"
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e .
# Replace only an earlier demo's output (a folder holding dataset.json), never some other folder.
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  [ -f "$out/dataset.json" ] || { echo "demo: $out is not empty and not a neocus dataset; give another folder" >&2; exit 1; }
  rm -rf "$out"
fi
neocus simulate --out "$out" --cases 1 --seed 0
neocus validate "$out"
sweep=$(find "$out/cases" -name 'coronal*.mp4' | sort | head -n 1)
neocus inspect "$sweep" --overlay "$out/coronal_roi.png"
echo "Demo dataset in $out (ROI overlay: $out/coronal_roi.png)"
