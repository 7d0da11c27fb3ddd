"""Draw docs/sim2real-sagittal.png: real NCLS sagittal stills beside phantom midsagittal and parasagittal
stills, before and after the sagittal anatomy of issue #14.

Two steps, because "before" is another version of the phantom's source::

    # render the stills of one phantom version (run once per source tree, PYTHONPATH picks the tree)
    PYTHONPATH=OLD/src python docs/make_sagittal_figure.py render --out before.npz
    PYTHONPATH=src python docs/make_sagittal_figure.py render --out after.npz
    # draw the figure
    python docs/make_sagittal_figure.py draw --real ../shared/data/real/ncls-examples \\
        --before before.npz --after after.npz --out docs/sim2real-sagittal.png

The last row is the parasagittal plane twisted to follow the ventricle (``standard_views(head,
follow_ventricle=True)``, opt-in). Each phantom still is the probe's view of it: the ``internal`` preset, ROI-cropped with
``neocus.io.roi`` like every image the sim-to-real probe scores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

TILE_HW = (160, 224)
#: (subject seed, case type) of the phantom columns: a normal subject and two with dilated ventricles
SUBJECTS = ((1, "normal"), (2, "hydrocephalus"), (3, "ivh_dilated"))
VIEWS = ("MSV", "RPSV")


def _crop(image: np.ndarray) -> np.ndarray:
    from neocus.io.roi import detect_roi

    roi = detect_roi(image)
    c = roi.crop
    crop = image[c.y : c.y + c.h, c.x : c.x + c.w].copy()
    crop[~roi.mask] = 0
    return cv2.resize(crop, TILE_HW[::-1], interpolation=cv2.INTER_AREA)


def render(out: Path) -> None:
    from neocus.phantom import get_preset, new_subject, standard_still
    from neocus.phantom.bmode import render_plane
    from neocus.phantom.standard_views import standard_views
    from neocus.vocab import View

    tiles = {}
    for seed, case in SUBJECTS:
        subject = new_subject(seed, case_type=case)
        for view in VIEWS:
            still = standard_still(subject, view, "internal", out_size_hw=(384, 512), rng=np.random.default_rng(seed))
            tiles[f"{view}_{seed}"] = _crop(still.image)
        try:  # the parasagittal plane twisted to follow the ventricle (opt-in; absent before it existed)
            plane = standard_views(subject.head, follow_ventricle=True)[View.RPSV].plane
        except TypeError:
            continue
        frame = render_plane(subject.head, plane, get_preset("internal"), out_size_hw=(384, 512), rng=np.random.default_rng(seed))
        tiles[f"RPSVtwist_{seed}"] = _crop(frame.image)
    np.savez_compressed(out, **tiles)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.putText(tile, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 255, 1, cv2.LINE_AA)
    return tile


def draw(real: Path, before: Path, after: Path, out: Path) -> None:
    exams = sorted(p for p in real.iterdir() if p.is_dir())
    rows = []
    for view, names in (("MSV", ("SAG1",)), ("RPSV", ("SAG2", "SAG3"))):
        reals = [_label(_crop(cv2.imread(str(e / f"{n}.png"), cv2.IMREAD_GRAYSCALE)), f"real {n}") for e in exams for n in names if (e / f"{n}.png").exists()]
        rows.append(np.concatenate(reals[:3], axis=1))
        for tag, path in (("before", before), ("after", after)):
            t = np.load(path)
            rows.append(np.concatenate([_label(t[f"{view}_{seed}"], f"phantom {tag} {view} {case}") for seed, case in SUBJECTS], axis=1))
        if view == "RPSV" and "RPSVtwist_1" in np.load(after).files:
            t = np.load(after)
            rows.append(np.concatenate([_label(t[f"RPSVtwist_{seed}"], f"after, twisted RPSV {case}") for seed, case in SUBJECTS], axis=1))
    cv2.imwrite(str(out), np.concatenate(rows, axis=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--out", type=Path, required=True)
    d = sub.add_parser("draw")
    d.add_argument("--real", type=Path, required=True)
    d.add_argument("--before", type=Path, required=True)
    d.add_argument("--after", type=Path, required=True)
    d.add_argument("--out", type=Path, default=Path("docs/sim2real-sagittal.png"))
    args = ap.parse_args()
    if args.cmd == "render":
        render(args.out)
    else:
        draw(args.real, args.before, args.after, args.out)


if __name__ == "__main__":
    main()
