"""Draw docs/sim2real-coronal.png: the coronal views (AHV, TVV, BV) of the real NCLS stills beside the
phantom's, before and after the coronal anatomy of issue #14, as the sim-to-real probe sees them.

Each row: the real COR1-3 of one NCLS exam (../shared/data/real/ncls-examples, MIT licence; read,
never copied into the repository), then the phantom's AHV / TVV / BV of one probe training subject
(seeds 140000, 140003, 140004: presets internal, external, blind, as in the probe's cycle) rendered by
the phantom source given with ``--before-src`` (e.g. an export of an older commit), then by this tree.
Every image goes through the probe's input path (ROI crop with neocus.io.roi, 80 x 112), shown at
twice that size.

    git archive b271328 src | tar -x -C /tmp/before
    python docs/make_coronal_figure.py --before-src /tmp/before/src [--real ...] [--out docs/sim2real-coronal.png]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import sim2real_probe as probe  # noqa: E402

from neocus.atomic import atomic_target  # noqa: E402

SUBJECTS = ((140000, "internal"), (140003, "external"), (140004, "blind"))
SCALE = 2


def phantom_rows() -> np.ndarray:
    """[3 subjects, 3 views, H, W] probe inputs of the phantom on the import path."""
    from neocus.phantom import get_preset, new_subject, standard_still
    from neocus.phantom.api import PRESET_POPULATION
    from neocus.vocab import View

    rows = []
    for seed, preset in SUBJECTS:
        rng = np.random.default_rng(seed)
        subject = new_subject(seed, population=PRESET_POPULATION[preset])
        scan = get_preset(preset).vary(rng=rng)
        row = []
        for view in (View.AHV, View.TVV, View.BV):
            still = standard_still(subject, view=view, preset=scan, rng=rng, out_size_hw=probe.RENDER_HW)
            row.append(probe.to_input(still.frame.image)[0])
        rows.append(row)
    return np.asarray(rows)


def _tile(img: np.ndarray, label: str | None = None) -> np.ndarray:
    out = cv2.resize(img, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    out = cv2.copyMakeBorder(out, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    if label:
        cv2.putText(out, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real/ncls-examples"))
    ap.add_argument("--before-src", type=Path, required=True, help="the phantom source to draw as 'before' (a src/ folder)")
    ap.add_argument("--out", type=Path, default=Path("docs/sim2real-coronal.png"))
    ap.add_argument("--emit", type=Path, help=argparse.SUPPRESS)  # internal: write this tree's rows to an .npy
    args = ap.parse_args()
    if args.emit:
        np.save(args.emit, phantom_rows())
        return
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "before.npy"
        env = {**os.environ, "PYTHONPATH": str(args.before_src.resolve())}
        subprocess.run([sys.executable, __file__, "--before-src", str(args.before_src), "--emit", str(npy)], env=env, check=True)
        before = np.load(npy)
    after = phantom_rows()
    real = {(Path(r[0]).name, r[1][:4].upper()): r[3] for r in probe.real_stills([args.real])}
    exams = sorted({e for e, _ in real})
    names = ("AHV", "TVV", "BV")
    gap = np.zeros((_tile(after[0, 0]).shape[0], 12), np.uint8)
    lines = []
    for k, (exam, (_, preset)) in enumerate(zip(exams, SUBJECTS)):
        parts = [_tile(real[exam, f"COR{i + 1}"], f"real {exam[-3:]} {names[i]}") for i in range(3)] + [gap]
        parts += [_tile(before[k, i], f"before {preset} {names[i]}") for i in range(3)] + [gap]
        parts += [_tile(after[k, i], f"after {preset} {names[i]}") for i in range(3)]
        lines.append(np.concatenate(parts, axis=1))
    figure = np.concatenate(lines, axis=0)
    with atomic_target(args.out, make_parents=True) as tmp:
        cv2.imwrite(str(tmp), figure)


if __name__ == "__main__":
    main()
