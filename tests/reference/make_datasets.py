"""Write the data sets used for the pROC reference values (fixed seeds), as CSV.

Usage: python tests/reference/make_datasets.py [OUT_DIR] [SEED]
(default OUT_DIR = tests/reference/proc_data, SEED = 20240501).

Two kinds of file, all scores written with 6 decimals so R and Python read identical orderings:
* single/paired sets: columns ``y,score_a,score_b`` (score_b is a second model on the same cases);
* unpaired sets: columns ``group,y,score`` with group ``a`` or ``b`` (independent cases).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

PAIRED = ("balanced", "imbalanced", "heavy_ties", "tiny", "perfect", "paired_correlated", "ordinal_readers")
UNPAIRED = ("unpaired_groups", "unpaired_ties")


def _labels(rng, n_pos: int, n_neg: int) -> np.ndarray:
    y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    return rng.permutation(y)


def make_paired(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two models' scores on the same cases."""
    if name == "balanced":
        y = _labels(rng, 100, 100)
        a = rng.normal(size=y.size) + 1.0 * y
        b = 0.6 * a + 0.8 * rng.normal(size=y.size) + 0.3 * y
    elif name == "imbalanced":
        y = _labels(rng, 25, 475)
        a = rng.normal(size=y.size) + 1.5 * y
        b = rng.normal(size=y.size) + 1.2 * y
    elif name == "heavy_ties":  # scores on 4-6 levels: most pairs tied
        y = _labels(rng, 40, 80)
        a = np.round(np.clip(rng.normal(size=y.size) + y, -2, 2))
        b = np.round(np.clip(rng.normal(size=y.size) * 0.7 + 0.8 * y, -1.5, 1.5) * 2) / 2
    elif name == "tiny":  # 3 positives, 4 negatives
        y = _labels(rng, 3, 4)
        a = rng.normal(size=y.size) + y
        b = rng.normal(size=y.size) + 0.5 * y
    elif name == "perfect":  # model a separates perfectly; b does not
        y = _labels(rng, 12, 15)
        a = np.where(y == 1, rng.uniform(0.6, 1.0, y.size), rng.uniform(0.0, 0.4, y.size))
        b = rng.uniform(size=y.size) * 0.5 + 0.4 * y
    elif name == "paired_correlated":  # two close, strongly correlated models
        y = _labels(rng, 60, 90)
        common = rng.normal(size=y.size)
        a = common + 1.1 * y + 0.4 * rng.normal(size=y.size)
        b = common + 0.9 * y + 0.4 * rng.normal(size=y.size)
    elif name == "ordinal_readers":  # two readers on a 1-5 scale
        y = _labels(rng, 30, 50)
        latent = rng.normal(size=y.size) + 1.2 * y
        a = np.digitize(latent + 0.5 * rng.normal(size=y.size), [-0.5, 0.3, 1.0, 1.8]) + 1.0
        b = np.digitize(latent + 0.9 * rng.normal(size=y.size), [-0.5, 0.3, 1.0, 1.8]) + 1.0
    else:
        raise KeyError(name)
    return y, np.round(a, 6), np.round(b, 6)


def make_unpaired(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group (0 = a, 1 = b), labels and scores for two independent groups of cases."""
    if name == "unpaired_groups":
        ya, yb = _labels(rng, 40, 80), _labels(rng, 25, 65)
        sa = rng.normal(size=ya.size) + 1.3 * ya
        sb = rng.normal(size=yb.size) + 0.8 * yb
    elif name == "unpaired_ties":
        ya, yb = _labels(rng, 15, 30), _labels(rng, 20, 20)
        sa = np.round(rng.normal(size=ya.size) + ya)
        sb = np.round(rng.normal(size=yb.size) + 0.5 * yb)
    else:
        raise KeyError(name)
    group = np.r_[np.zeros(ya.size, int), np.ones(yb.size, int)]
    return group, np.r_[ya, yb], np.round(np.r_[sa, sb], 6)


def write_datasets(out_dir: Path, seed: int = 20240501) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, name in enumerate(PAIRED):
        y, a, b = make_paired(name, np.random.default_rng([seed, i]))
        path = out_dir / f"{name}.csv"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["y", "score_a", "score_b"])
            w.writerows(zip(y.tolist(), [f"{v:.6f}" for v in a], [f"{v:.6f}" for v in b]))
        written.append(path)
    for i, name in enumerate(UNPAIRED, start=len(PAIRED)):
        group, y, s = make_unpaired(name, np.random.default_rng([seed, i]))
        path = out_dir / f"{name}.csv"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["group", "y", "score"])
            w.writerows(zip(["a" if g == 0 else "b" for g in group], y.tolist(), [f"{v:.6f}" for v in s]))
        written.append(path)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "proc_data"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20240501
    for p in write_datasets(out, seed):
        print(p)
