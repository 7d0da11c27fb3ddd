"""Propose rotated boxes of dark fluid structures (ventricles, cavum) on the 16 real NCLS stills.

    PYTHONPATH=src python scripts/propose_real_boxes.py propose --sheet /tmp/proposals.png --out /tmp/proposals.json
    PYTHONPATH=src python scripts/propose_real_boxes.py keep --proposals /tmp/proposals.json --labels LABELS.json --out docs/real_still_boxes.json

``propose``: inside the central part of the ROI (neocus.io.roi), pixels at less than half the
brightness of the tissue around them (a 30 px blur) that lie in bright surroundings are fluid
candidates; connected regions of a plausible size become minimum-area rotated boxes, and a sheet
shows them numbered. A person checks every box by eye and writes LABELS.json:
``{"<exam>/<still>": {"<number>": "<structure>", ...}}`` (structures from neocus.vocab); ``keep``
writes only those, in pixels of the source PNG. The images stay in ../shared/data; only boxes go in
the repository, and nothing trains on them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from neocus.geometry import corners_to_rbox, rbox_to_corners
from neocus.io import load_sweep
from neocus.io.roi import apply_roi, detect_sweep_roi
from neocus.vocab import Structure

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples"  # ../shared/data (override: --real)


def propose(still: Path) -> tuple[np.ndarray, list[tuple[float, ...]], tuple[int, int]]:
    sweep = load_sweep(still)
    roi = detect_sweep_roi(sweep)
    cropped = apply_roi(sweep, roi)
    img = cv2.GaussianBlur(cropped.frames[0].astype(np.float32), (0, 0), 3)
    around = cv2.GaussianBlur(img, (0, 0), 30)  # the tissue around: fluid is much darker than it
    h, w = img.shape
    central = np.zeros_like(roi.mask)
    central[int(0.08 * h):int(0.75 * h), int(0.2 * w):int(0.8 * w)] = True
    dark = (img < 0.5 * around) & (around > np.percentile(around[roi.mask], 40)) & central & roi.mask
    dark = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), 8)
    boxes = []
    for k in range(1, n):
        if 600 <= stats[k, cv2.CC_STAT_AREA] <= 30000:
            ys, xs = np.nonzero(lab == k)
            boxes.append(corners_to_rbox(np.column_stack([xs, ys])))
    return cropped.frames[0], boxes, (cropped.meta.crop.x, cropped.meta.crop.y)


def cmd_propose(args: argparse.Namespace) -> None:
    tiles, out = [], {}
    for still in sorted(args.real.glob("*/*.png")):
        key = f"{still.parent.name}/{still.stem}"
        frame, boxes, (ox, oy) = propose(still)
        out[key] = [[b[0] + ox, b[1] + oy, *b[2:]] for b in boxes]
        img = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        for i, b in enumerate(boxes):
            c = rbox_to_corners(b).round().astype(np.int32)
            cv2.polylines(img, [c], True, (0, 255, 0), 2)
            cv2.putText(img, str(i), tuple(c[0]), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 255, 255), 2)
        s = 420 / max(img.shape[:2])
        img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)))
        tile = np.zeros((440, 420, 3), np.uint8)
        tile[20:20 + img.shape[0], :img.shape[1]] = img
        cv2.putText(tile, key, (2, 15), cv2.FONT_HERSHEY_PLAIN, 1.0, (255, 255, 255), 1)
        tiles.append(tile)
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    cv2.imwrite(str(args.sheet), np.vstack([np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]))
    Path(args.out).write_text(json.dumps(out, indent=1))


def cmd_keep(args: argparse.Namespace) -> None:
    proposals = json.loads(Path(args.proposals).read_text())
    labels = json.loads(Path(args.labels).read_text())
    out = {}
    for key, chosen in sorted(labels.items()):
        out[key] = [{"label": Structure(lbl).value, **dict(zip(("cx", "cy", "w", "h", "angle"), (round(v, 1) for v in proposals[key][int(i)])))}
                    for i, lbl in sorted(chosen.items(), key=lambda kv: int(kv[0]))]
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("propose")
    p.add_argument("--sheet", type=Path, required=True)
    p.add_argument("--real", type=Path, default=REAL, help="the ncls-examples folder")
    p.add_argument("--out", type=Path, required=True)
    k = sub.add_parser("keep")
    k.add_argument("--proposals", type=Path, required=True)
    k.add_argument("--labels", type=Path, required=True)
    k.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    {"propose": cmd_propose, "keep": cmd_keep}[args.cmd](args)


if __name__ == "__main__":
    main()
