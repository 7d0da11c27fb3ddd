"""Figures of the cerebellar hypoplasia classifier (docs/fetal.md):

* ``--cam``: Grad-CAM of the kept model (the first of ``--models``) on phantom hold-out images (the
  first ``--cam-cases`` hypoplasia and normal cases of ``--holdout``): the input with the true
  cerebellum (green) and cistern (blue) outlined, then Grad-CAM through the last encoder block (3x3 at
  112 px) and through the one before (7x7);
* ``--sheet``: a contact sheet of every cerebellar hypoplasia, mega cisterna magna and normal
  trans-cerebellar image of the real fetal-brain set, each captioned with every model's calibrated
  probability and call (``*`` = called hypoplasia), and a markdown table (``--table``). The real images
  have no pixel size and no GA (and were stretched to 640x640), so the TCD rule cannot run on them;
  the networks get the whole image stretched to their input (no head box). Anecdotal: 19 images, labels
  unverified. A model trained with GA and scale is left out of the sheet: it cannot run without them.

    OMP_NUM_THREADS=1 PYTHONPATH=src python docs/make_fetal_hypoplasia_figures.py --models KEPT [OTHER ...]
        --holdout holdout.npz [--cases 240] [--seed 90017] [--data ../shared/data/real/fetal/fetal-brain] [--cam docs/fetal-hypoplasia-gradcam.png]
        [--sheet docs/fetal-hypoplasia-real.png] [--table rows.md]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from neocus.fetal.hypoplasia_cam import grad_cam, heatmap_overlay
from neocus.fetal.hypoplasia_data import CONDITIONS, POSITIVE, cached_hypoplasia_pool, crop_inputs
from neocus.fetal.hypoplasia_model import hypoplasia_logits, load_hypoplasia_model, predict_hypoplasia
from neocus.fetal.hypoplasia_train import pool_fill, pool_inputs

TILE = 180
REAL = {"cerebellah-hypoplasia": "hypoplasia", "m-magna": "mega cisterna magna"}


def _caption(img: np.ndarray, lines: list[str]) -> np.ndarray:
    canvas = np.zeros((img.shape[0] + 13 * len(lines) + 4, img.shape[1], 3), np.uint8)
    canvas[:img.shape[0]] = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    for k, line in enumerate(lines):
        cv2.putText(canvas, line, (3, img.shape[0] + 12 + 13 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def _grid(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, h - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % cols)
    return np.vstack([np.hstack(tiles[r:r + cols]) for r in range(0, len(tiles), cols)])


def _grey(x: np.ndarray) -> np.ndarray:
    g = (x - x.min()) / max(float(x.max() - x.min()), 1e-6)
    return cv2.cvtColor((g * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def cam_figure(model, pool, n: int, out: str) -> None:
    pick = [i for i in range(len(pool.conditions)) if pool.conditions[i] == POSITIVE][:n]
    pick += [i for i in range(len(pool.conditions)) if pool.conditions[i] == 0][:n]
    side = model.config.input_side
    x, target = crop_inputs(pool.images[pick], pool.labels[pick], side=side, fill=pool_fill(pool, model.config, pick))
    feats = pool_inputs(pool, model.config)[1]
    feats = [None] * len(pick) if feats is None else feats[pick]
    tiles = []
    for k, i in enumerate(pick):
        p = float(model.calibration.probability(hypoplasia_logits(model.net, x[k:k + 1], side=None if feats[k] is None else feats[k:k + 1]))[0])
        truth = _grey(x[k, 0])
        for c, colour in ((3, (0, 220, 0)), (4, (255, 80, 0))):
            contours, _ = cv2.findContours((target[k, 0] == c).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(truth, contours, -1, colour, 1)
        pair = np.hstack([truth, heatmap_overlay(x[k, 0], grad_cam(model, x[k, 0], side=feats[k], block=-1)),
                          heatmap_overlay(x[k, 0], grad_cam(model, x[k, 0], side=feats[k], block=-2))])
        pair = cv2.resize(pair, (3 * TILE, TILE), interpolation=cv2.INTER_NEAREST)
        tiles.append(_caption(pair, [f"hold-out {i}: {CONDITIONS[pool.conditions[i]].value}, GA {pool.ga_weeks[i]:.0f} wk",
                                     f"TCD centile {pool.tcd_centile[i]:.1f}; P(hypoplasia) {p:.2f}"]))
    cv2.imwrite(out, _grid(tiles, 2))


def real_rows(data: Path) -> list[dict]:
    with open(data / "labels.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keep = [r for r in rows if r["class"] in REAL or (r["class"] == "normal" and r["brain_plane_fpdb"] == "Trans-cerebellum")]
    order = {"cerebellah-hypoplasia": 0, "m-magna": 1, "normal": 2}
    return sorted(keep, key=lambda r: (order[r["class"]], r["file"]))


def sheet_figure(models: list, data: Path, out: str, table: str | None) -> None:
    models = [m for m in models if not m.config.ga_and_scale]  # no GA and no pixel size on the real images: cannot run
    lines = ["| image | label | " + " | ".join(f"P {m.config.variant.value}" for m in models) + " | TCD rule |",
             "|---|---|" + "---|" * (len(models) + 1)]
    tiles = []
    for r in real_rows(data):
        grey = cv2.imread(str(data / r["file"]), cv2.IMREAD_GRAYSCALE)
        label = REAL.get(r["class"], "normal (trans-cerebellar)")
        preds = [predict_hypoplasia(grey, m) for m in models]
        calls = [f"{m.config.variant.value[:5]} {p.probability:.2f}{'*' if p.flag else ''}" for m, p in zip(models, preds)]
        small = cv2.resize(grey, (TILE, TILE), interpolation=cv2.INTER_AREA)
        tiles.append(_caption(small, [r["source_id"][:30], label, *calls]))
        lines.append(f"| {r['source_id']} | {label} | " + " | ".join(f"{p.probability:.2f}{' (call)' if p.flag else ''}" for p in preds)
                     + " | cannot run (no pixel size, no GA) |")
    cv2.imwrite(out, _grid(tiles, 5))
    text = "\n".join(lines) + "\n"
    print(text)
    if table:
        Path(table).write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--holdout", help="the hold-out pool (.npz) of the ablation benchmark: read, or rendered and kept")
    ap.add_argument("--cases", type=int, default=240)
    ap.add_argument("--seed", type=int, default=90017)
    ap.add_argument("--data", default="../shared/data/real/fetal/fetal-brain")
    ap.add_argument("--cam")
    ap.add_argument("--cam-cases", type=int, default=3)
    ap.add_argument("--sheet")
    ap.add_argument("--table")
    args = ap.parse_args()
    models = [load_hypoplasia_model(m) for m in args.models]
    if args.cam:
        pool = cached_hypoplasia_pool(args.holdout, args.cases, seed=args.seed, keep_full=True)
        cam_figure(models[0], pool, args.cam_cases, args.cam)
    if args.sheet:
        sheet_figure(models, Path(args.data), args.sheet, args.table)


if __name__ == "__main__":
    main()
