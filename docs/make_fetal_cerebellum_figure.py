"""Posterior-fossa masks predicted by a cerebellum model: phantom hold-out cases (top rows) and the real
trans-cerebellar fetal-brain images (normal trans-cerebellar planes, cerebellar hypoplasia, mega
cisterna magna). The real images have no masks and no pixel size, so this is anecdotal: it shows
what the model marks, nothing more. Also writes one CSV row per real image (what was found).

    OMP_NUM_THREADS=1 PYTHONPATH=src python docs/make_fetal_cerebellum_figure.py --model DIR
        [--data ../shared/data/real/fetal/fetal-brain] [--out docs/fetal-cerebellum-masks.png] [--csv rows.csv]

Overlay colours: skull white, cerebellum green, cisterna magna blue (outlines only; brain not drawn).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from neocus.fetal.cerebellum import CLASS_NAMES, load_cerebellum_model, masks_from_classes, predict_posterior_fossa
from neocus.fetal.phantom_dataset import case_rng
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import FetalLook, simulate_fetal_image
from neocus.fetal.posterior_fossa import measure_posterior_fossa
from neocus.vocab import FetalCondition, FetalPlane

TILE = 200
COLOURS = {"skull": (255, 255, 255), "cerebellum": (0, 220, 0), "cistern": (255, 80, 0)}
REAL_CLASSES = ("cerebellah-hypoplasia", "m-magna")


def _tile(grey: np.ndarray, cls: np.ndarray, caption: str) -> np.ndarray:
    s = TILE / max(grey.shape)
    size = (round(grey.shape[1] * s), round(grey.shape[0] * s))
    out = cv2.cvtColor(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR)
    small = cv2.resize(cls, size, interpolation=cv2.INTER_NEAREST)
    for name, colour in COLOURS.items():
        contours, _ = cv2.findContours((small == CLASS_NAMES.index(name)).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, colour, 1)
    canvas = np.zeros((TILE + 16, TILE, 3), np.uint8)
    canvas[:out.shape[0], :out.shape[1]] = out
    cv2.putText(canvas, caption[:34], (2, TILE + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def _grid(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    blank = np.zeros_like(tiles[0])
    tiles = tiles + [blank] * (-len(tiles) % cols)
    return np.vstack([np.hstack(tiles[r:r + cols]) for r in range(0, len(tiles), cols)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="../shared/data/real/fetal/fetal-brain")
    ap.add_argument("--out", default="docs/fetal-cerebellum-masks.png")
    ap.add_argument("--csv")
    args = ap.parse_args()
    model = load_cerebellum_model(args.model)
    tiles = []
    conds = (FetalCondition.NORMAL, FetalCondition.CEREBELLAR_HYPOPLASIA, FetalCondition.MEGA_CISTERNA_MAGNA)
    for i in range(6):  # hold-out seed, as benchmarks/fetal_cerebellum_holdout.py
        rng = case_rng(90016, i)
        img = simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=FetalPlane.TRANS_CEREBELLAR, condition=conds[i % 3],
                                   look=list(FetalLook)[(i // 3) % len(FetalLook)], rng=rng)
        tiles.append(_tile(img.image, predict_posterior_fossa(img.image, model)[1], f"phantom {conds[i % 3].value}"))
    data = Path(args.data)
    with open(data / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["class"] in REAL_CLASSES or (r["class"] == "normal" and r["brain_plane_fpdb"] == "Trans-cerebellum")]
    rows.sort(key=lambda r: (r["class"] == "normal", r["class"], r["file"]))
    out_rows = []
    for r in rows:
        grey = cv2.imread(str(data / r["file"]), cv2.IMREAD_GRAYSCALE)
        _, cls = predict_posterior_fossa(grey, model)
        masks = masks_from_classes(cls)
        cb, cs = masks["cerebellum"], masks["cistern"]
        m = measure_posterior_fossa(cb, cs, masks["head"], pixel_mm=1.0)  # pixels of a stretched 640x640 image, not mm
        out_rows.append({"file": r["file"], "class": r["class"], "head_fraction": round(float(masks["head"].mean()), 3),
                         "cerebellum_px": int(cb.sum()), "cistern_px": int(cs.sum()),
                         "tcd_px": None if m.tcd_mm is None else round(m.tcd_mm, 1),
                         "cm_px": None if m.cisterna_magna_mm is None else round(m.cisterna_magna_mm, 1)})
        tiles.append(_tile(grey, cls, f"{r['class'][:14]} {Path(r['file']).stem[:18]}"))
    cv2.imwrite(args.out, _grid(tiles, 6))
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(out_rows[0]))
            w.writeheader()
            w.writerows(out_rows)
    for row in out_rows:
        print(row)


if __name__ == "__main__":
    main()
