"""Time of view extraction after detection (scores -> segments -> DBSCAN -> order -> choices), per sweep.

Detections are oracle-degraded phantom ground truth (the stage's cost does not depend on where the
boxes come from, only on their number). Target: < 50 ms per sweep.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_views.py --data DATASET [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neocus.views import load_config, sweep_views
from neocus.views.truthdata import truth_cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="phantom dataset (neocus simulate)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    config = load_config()
    sweeps = [s.detections for c in truth_cases(args.data) for s in c.sweeps]
    sweep_views(sweeps[0], config=config)  # warm-up (imports, sklearn)
    times = []
    for _ in range(args.repeats):
        for s in sweeps:
            t0 = time.perf_counter()
            sweep_views(s, config=config)
            times.append((time.perf_counter() - t0) * 1000)
    t = np.array(times)
    boxes = np.mean([sum(len(f.detections) for f in s.frames) / s.n_frames for s in sweeps])
    frames = np.mean([s.n_frames for s in sweeps])
    print(f"{len(sweeps)} sweeps x {args.repeats}: mean {frames:.0f} frames, {boxes:.1f} boxes per frame")
    print(f"view extraction per sweep: median {np.median(t):.1f} ms, p95 {np.percentile(t, 95):.1f} ms, max {t.max():.1f} ms")


if __name__ == "__main__":
    main()
