"""Plane recognition of one model on the real labelled fetal-brain images, and on HC18's images.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_plane_real.py [--model DIR] [--data DIR] [--csv OUT.csv] [--no-tta]
       OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_plane_real.py --hc18 [DIR] [--model DIR]

The bundled model (models/fetal/plane) is trained on all 68 of these images, so on them it shows the
training fit, not an estimate: its out-of-fold figures come from benchmarks/fetal_plane_cv.py. A
phantom-trained model never saw them. With ``--hc18`` it predicts the plane of every HC18 image
(../shared/data/real/fetal/hc18/images/*HC.png, another hospital and scanner, never used for plane
training): all of them are taken in the head-circumference plane, which is trans-thalamic, so the
share called trans-thalamic (and, above all, the share called trans-cerebellar, where ``fetal
measure`` would then measure TCD) is a check outside the training source.

Reads ``labels.csv`` of ../shared/data/real/fetal/fetal-brain, keeps the images with a
``brain_plane_fpdb`` (the 68 normal FETAL_PLANES_DB images: Trans-thalamic, Trans-ventricular,
Trans-cerebellum, Other), predicts each plane with the model (default: the bundled
models/fetal/plane) and prints the accuracy, the balanced accuracy (mean recall over the four
planes) and the confusion matrix (rows: true plane, columns: predicted).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from neocus.fetal.plane_data import PLANES
from neocus.fetal.plane_model import load_plane_model, predict_planes
from neocus.vocab import FPDB_BRAIN_PLANE

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "fetal" / "fetal-brain"
DEFAULT_HC18 = DEFAULT_DATA.parent / "hc18"


def hc18_planes(folder: Path, model, *, flip_tta: bool) -> None:
    files = sorted(p for p in (folder / "images").glob("*HC.png"))
    greys = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in files]
    preds = predict_planes(greys, model, flip_tta=flip_tta)
    counts = {p.value: sum(q.plane is p for q in preds) for p in PLANES}
    print(f"{len(files)} HC18 images (all trans-thalamic head-circumference planes): predicted " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--csv", default=None)
    ap.add_argument("--no-tta", action="store_true")
    ap.add_argument("--hc18", nargs="?", const=str(DEFAULT_HC18), default=None, help="predict the HC18 images instead (default folder: shared hc18)")
    args = ap.parse_args()
    if args.hc18:
        hc18_planes(Path(args.hc18), load_plane_model(args.model), flip_tta=not args.no_tta)
        return
    root = Path(args.data)
    rows = [r for r in csv.DictReader(open(root / "labels.csv", encoding="utf-8")) if r["brain_plane_fpdb"]]
    model = load_plane_model(args.model)
    greys = [cv2.imread(str(root / r["file"]), cv2.IMREAD_GRAYSCALE) for r in rows]
    preds = predict_planes(greys, model, flip_tta=not args.no_tta)
    names = [p.value for p in PLANES]
    y_true = [FPDB_BRAIN_PLANE[r["brain_plane_fpdb"]].value for r in rows]
    y_pred = [p.plane.value for p in preds]
    acc = float(np.mean([a == b for a, b in zip(y_true, y_pred)]))
    print(f"{len(rows)} real images: accuracy {acc:.3f}, balanced accuracy {balanced_accuracy_score(y_true, y_pred):.3f}")
    cm = confusion_matrix(y_true, y_pred, labels=names)
    print("true \\ predicted: " + " | ".join(names))
    for name, row in zip(names, cm):
        print(f"{name}: {' | '.join(str(v) for v in row)}")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "true", "predicted", *[f"p_{n}" for n in names]])
            for r, t, p in zip(rows, y_true, preds):
                w.writerow([r["file"], t, p.plane.value, *[f"{p.probabilities[n]:.4f}" for n in names]])


if __name__ == "__main__":
    main()
