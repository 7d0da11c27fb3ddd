"""Benchmark: fast DeLong (Sun & Xu 2014) on many cases and several models.

Usage: python benchmarks/bench_delong.py [--cases 100000] [--models 5] [--repeats 7]

Prints a table: median wall time over repeats and peak traced memory (tracemalloc) for
* neocus.stats.delong_covariance on all k models at once (AUCs + k x k covariance),
* a per-model loop with scipy.stats.rankdata (same O(n log n) algorithm, not vectorised over models),
* scikit-learn roc_auc_score per model (AUC only, no variance) as a familiar yardstick,
* the textbook O(n_pos x n_neg) pairwise DeLong on a subsample (it cannot run on all cases:
  n_pos x n_neg x k kernel entries would not fit in memory), to show why the fast algorithm matters;
* for comparison, the stratified bootstrap AUC interval (2000 resamples) of one model.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from neocus.stats import bootstrap_auc_ci, delong_covariance


def per_model_loop(y, s):
    """Same algorithm, one model at a time, with scipy's rankdata."""
    pos = y == 1
    m, n = int(pos.sum()), int((~pos).sum())
    v10, v01 = [], []
    for row in s:
        x, z = row[pos], row[~pos]
        allr = rankdata(np.r_[x, z])
        v10.append((allr[:m] - rankdata(x)) / n)
        v01.append(1 - (allr[m:] - rankdata(z)) / m)
    v10, v01 = np.array(v10), np.array(v01)
    return v10.mean(axis=1), np.cov(v10) / m + np.cov(v01) / n


def pairwise(y, s):
    pos, neg = s[:, y == 1], s[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    return psi.mean(axis=(1, 2)), np.cov(v10) / m + np.cov(v01) / n


def measure(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--models", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--pairwise-cases", type=int, default=4_000)
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (0: skip)")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    y = (rng.uniform(size=args.cases) < 0.2).astype(np.int8)  # 20 % positives
    s = rng.normal(size=(args.models, args.cases)) + np.linspace(0.3, 1.5, args.models)[:, None] * y
    s[::2] = np.round(s[::2], 2)  # every other model has heavy ties
    k, n = args.models, args.cases

    rows = []
    t, mem, fast = measure(lambda: delong_covariance(y, s), args.repeats)
    rows.append((f"neocus fast DeLong, {k} models at once", n, t, mem))
    t, mem, loop = measure(lambda: per_model_loop(y, s), args.repeats)
    rows.append((f"per-model loop, scipy rankdata ({k} models)", n, t, mem))
    assert np.allclose(fast.aucs, loop[0]) and np.allclose(fast.covariance, loop[1])
    t, mem, aucs = measure(lambda: [roc_auc_score(y, row) for row in s], args.repeats)
    rows.append((f"sklearn roc_auc_score x {k} (AUC only)", n, t, mem))
    assert np.allclose(fast.aucs, aucs)

    sub = args.pairwise_cases
    ys, ss = y[:sub], s[:, :sub]
    t, mem, pw = measure(lambda: pairwise(ys, ss), max(1, args.repeats // 2))
    rows.append((f"pairwise O(n_pos*n_neg) DeLong ({k} models)", sub, t, mem))
    t_sub, mem_sub, fast_sub = measure(lambda: delong_covariance(ys, ss), args.repeats)
    rows.append((f"neocus fast DeLong, {k} models at once", sub, t_sub, mem_sub))
    assert np.allclose(fast_sub.covariance, pw[1])

    if args.boot:
        t, mem, _ = measure(lambda: bootstrap_auc_ci(y, s[1], n_boot=args.boot, seed=0), 1)
        rows.append((f"bootstrap AUC CI, {args.boot} resamples, 1 model", n, t, mem))
        t, mem, _ = measure(lambda: bootstrap_auc_ci(y, s[0], n_boot=args.boot, seed=0), 1)
        rows.append((f"  same, tied model ({len(np.unique(s[0]))} distinct)", n, t, mem))

    print(f"DeLong AUC + covariance, {k} models, {int(y.sum())}/{n} positives; median of {args.repeats} runs")
    print(f"{'method':<48} {'cases':>8} {'median s':>10} {'peak MiB':>9}")
    for name, cases, secs, mib in rows:
        print(f"{name:<48} {cases:>8} {secs:>10.4f} {mib:>9.1f}")
    scale = (n / sub) ** 2
    print(f"pairwise extrapolated to {n} cases: ~{rows[3][2] * scale:.0f} s and "
          f"~{rows[3][3] * scale / 1024:.0f} GiB (quadratic in cases)")
    print("(bootstrap rows: a single run each)")


if __name__ == "__main__":
    main()
