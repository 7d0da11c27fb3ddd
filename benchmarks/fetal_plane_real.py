"""Plane recognition on the real labelled fetal-brain images (never used in training).

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_plane_real.py [--model DIR] [--data DIR] [--csv OUT.csv] [--no-tta]

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

FPDB_PLANES = {"Trans-thalamic": "trans_thalamic", "Trans-ventricular": "trans_ventricular", "Trans-cerebellum": "trans_cerebellar", "Other": "other"}
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "fetal" / "fetal-brain"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--csv", default=None)
    ap.add_argument("--no-tta", action="store_true")
    args = ap.parse_args()
    root = Path(args.data)
    rows = [r for r in csv.DictReader(open(root / "labels.csv", encoding="utf-8")) if r["brain_plane_fpdb"]]
    model = load_plane_model(args.model)
    greys = [cv2.imread(str(root / r["file"]), cv2.IMREAD_GRAYSCALE) for r in rows]
    preds = predict_planes(greys, model, flip_tta=not args.no_tta)
    names = [p.value for p in PLANES]
    y_true = [FPDB_PLANES[r["brain_plane_fpdb"]] for r in rows]
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
