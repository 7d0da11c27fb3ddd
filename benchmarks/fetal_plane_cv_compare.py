"""Paired comparison of fetal plane recipes from the out-of-fold probabilities that
benchmarks/fetal_plane_cv.py writes (``oof.csv``; several files may be given, e.g. two runs on the same
seeds, hence the same folds).

Usage: python benchmarks/fetal_plane_cv_compare.py CV/oof.csv [CV_HEAD/oof.csv ...] [--base scratch]

For every recipe against ``--base``: on the mean of the seeds' out-of-fold probabilities (one
prediction per image), the images only one of the two gets right and the exact McNemar test (two-sided
binomial test on those discordant images; the images are taken as independent, which frames of one
patient are not quite); and per seed the difference in balanced accuracy.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from neocus.fetal.plane_cv import balanced_accuracy
from neocus.fetal.plane_data import PLANES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("oof", type=Path, nargs="+")
    ap.add_argument("--base", default="scratch")
    args = ap.parse_args()
    names = [p.value for p in PLANES]
    prob: dict[str, dict[int, dict[str, np.ndarray]]] = defaultdict(dict)
    truth: dict[str, int] = {}
    for path in args.oof:
        with open(path, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                prob[r["recipe"]].setdefault(int(r["seed"]), {})[r["file"]] = np.array([float(r[f"p_{n}"]) for n in names])
                truth[r["file"]] = names.index(r["true"])
    files = sorted(truth)
    y = np.array([truth[f] for f in files])

    def pred(recipe: str, seed: int | None) -> np.ndarray:
        seeds = [seed] if seed is not None else sorted(prob[recipe])
        return np.mean([[prob[recipe][s][f] for f in files] for s in seeds], axis=0).argmax(1)

    base = pred(args.base, None)
    print(f"{len(files)} images; base {args.base}: accuracy {np.mean(base == y):.3f}, balanced {balanced_accuracy(y, base):.3f}")
    for recipe in sorted(prob):
        if recipe == args.base:
            continue
        p = pred(recipe, None)
        only_r, only_b = int(np.sum((p == y) & (base != y))), int(np.sum((p != y) & (base == y)))
        pval = binomtest(only_r, only_r + only_b).pvalue if only_r + only_b else 1.0
        per_seed = [balanced_accuracy(y, pred(recipe, s)) - balanced_accuracy(y, pred(args.base, s)) for s in sorted(set(prob[recipe]) & set(prob[args.base]))]
        print(f"{recipe:15s} accuracy {np.mean(p == y):.3f} balanced {balanced_accuracy(y, p):.3f}; right only here {only_r}, only in base {only_b}, "
              f"McNemar p {pval:.3f}; balanced-accuracy difference per seed {', '.join(f'{d:+.3f}' for d in per_seed)}")


if __name__ == "__main__":
    main()
