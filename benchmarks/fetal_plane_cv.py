"""How much phantom pretraining buys for fetal plane recognition: patient-grouped stratified 5-fold
cross-validation on the 68 labelled normal real fetal-brain images, every recipe on the SAME folds.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_plane_cv.py --phantom-model DIR
       [--data DIR] [--seeds 0 1 2] [--epochs 60] [--recipes scratch phantom ...] [--out OUT_DIR]

Recipes (``--recipes``, default all):
- ``scratch``: the plane network (:mod:`neocus.fetal.plane_model`) trained from random weights on the
  real training folds only (:func:`neocus.fetal.plane_real.train_plane_real`);
- ``phantom``: the same, started from the phantom-trained plane model (``--phantom-model``);
- ``phantom_heavy``: as ``phantom`` with heavy augmentation (elastic deformation, wider ranges);
- ``scratch_heavy``: as ``scratch`` with heavy augmentation;
- ``logreg_phantom``: logistic regression on the frozen phantom network's pooled features (4-flip averaged);
- ``head_phantom``: the same logistic regression folded into the phantom network's last layer
  (:func:`neocus.fetal.plane_cv.fit_logistic_head`) and predicted as ``fetal measure`` predicts
  (4-flip averaged probabilities): the recipe of the bundled models/fetal/plane;
- ``logreg_thumb``: logistic regression on a 16x16 thumbnail and a grey histogram (no network at all).

Each seed draws its own folds (``patient_stratified_folds(seed=seed)``) and its own network seeds; all
recipes of a seed share those folds. Prints per recipe and seed the out-of-fold accuracy and balanced
accuracy, and for the mean of the seeds' out-of-fold probabilities (still out of fold for every image)
the accuracy and per-plane recall with Clopper-Pearson intervals, the balanced accuracy with a
patient-bootstrap interval and the confusion matrix; writes ``summary.json`` and ``oof.csv`` to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from neocus.fetal.plane_cv import network_features, out_of_fold_cnn, out_of_fold_head, out_of_fold_logistic, summarise_planes, thumbnail_features
from neocus.fetal.plane_data import PLANES
from neocus.fetal.plane_model import load_plane_model
from neocus.fetal.plane_real import RealTrainOptions, patient_stratified_folds, read_real_planes
from neocus.results import rounded

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "fetal" / "fetal-brain"
RECIPES = ("scratch", "phantom", "phantom_heavy", "scratch_heavy", "logreg_phantom", "logreg_thumb", "head_phantom")


def _oof(recipe: str, data, folds, *, phantom, epochs: int, seed: int) -> np.ndarray:
    if recipe == "head_phantom":
        return out_of_fold_head(data, folds, model=phantom)
    if recipe.startswith("logreg"):
        feats = network_features(data.images, phantom) if recipe == "logreg_phantom" else thumbnail_features(data.images)
        return out_of_fold_logistic(feats, data.planes, folds)
    options = RealTrainOptions(epochs=epochs, heavy=recipe.endswith("heavy"))
    init = phantom if recipe.startswith("phantom") else None
    return out_of_fold_cnn(data, folds, options=options, init=init, seed=seed, progress=lambda m: print("   ", m, flush=True))


def _print_summary(name: str, s) -> None:
    print(f"== {name}: accuracy {s.accuracy.estimate:.3f} ({s.accuracy.ci.low:.3f}-{s.accuracy.ci.high:.3f}), balanced accuracy "
          f"{s.balanced_accuracy:.3f} ({s.balanced_accuracy_ci.low:.3f}-{s.balanced_accuracy_ci.high:.3f})")
    print("   recall: " + ", ".join(f"{k} {v.count}/{v.total}" for k, v in s.recall.items()))
    for p, row in zip(s.planes, s.confusion):
        print(f"   {p:18s} {row}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--phantom-model", type=Path, required=True, help="phantom-trained plane model folder (neocus fetal train plane)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = read_real_planes(args.data)
    phantom = load_plane_model(args.phantom_model)
    print(f"{len(data.planes)} images, {len(set(data.groups.tolist()))} patients; planes {np.bincount(data.planes, minlength=4).tolist()} "
          f"({', '.join(p.value for p in PLANES)})")
    probs: dict[str, list[np.ndarray]] = {r: [] for r in args.recipes}
    per_seed = []
    for seed in args.seeds:
        folds = patient_stratified_folds(data.planes, data.groups, n_folds=5, seed=seed)
        for recipe in args.recipes:
            t0 = time.perf_counter()
            p = _oof(recipe, data, folds, phantom=phantom, epochs=args.epochs, seed=seed)
            probs[recipe].append(p)
            s = summarise_planes(data.planes, p.argmax(1), data.groups, n_boot=200, rng=np.random.default_rng(seed))
            per_seed.append({"recipe": recipe, "seed": seed, "accuracy": s.accuracy.estimate, "balanced_accuracy": s.balanced_accuracy,
                             "seconds": time.perf_counter() - t0})
            print(f"seed {seed} {recipe:15s} accuracy {s.accuracy.estimate:.3f} balanced {s.balanced_accuracy:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
        _write(args, data, probs, per_seed, seeds=args.seeds[:args.seeds.index(seed) + 1])  # after every seed, so a stopped run keeps its seeds


def _write(args, data, probs, per_seed, *, seeds: list[int]) -> None:
    summary = {"per_seed": per_seed, "seeds": seeds, "epochs": args.epochs, "mean_of_seeds": {}}
    for recipe, plist in probs.items():
        mean_p = np.mean(plist, axis=0)
        s = summarise_planes(data.planes, mean_p.argmax(1), data.groups, rng=np.random.default_rng(0))
        summary["mean_of_seeds"][recipe] = s.to_dict()
        _print_summary(f"{recipe}, mean of {len(plist)} seeds' out-of-fold probabilities", s)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(rounded(summary, 4), indent=1) + "\n", encoding="utf-8")
        with open(args.out / "oof.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "patient", "true", "recipe", "seed", *[f"p_{p.value}" for p in PLANES]])
            for recipe, plist in probs.items():
                for seed, p in zip(seeds, plist):
                    for f, g, t, row in zip(data.files, data.groups, data.planes, p):
                        w.writerow([f, g, PLANES[t].value, recipe, seed, *[f"{v:.4f}" for v in row]])

if __name__ == "__main__":
    main()
