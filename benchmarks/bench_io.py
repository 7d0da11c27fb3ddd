"""Benchmark: decoding a real sweep alone vs decoding it and finding its ultrasound ROI.

Usage: python benchmarks/bench_io.py [--file ../shared/data/real/ncls-examples/20221223027/coronal_sweep.mp4]
                                     [--repeats 5]

Each mode runs in a fresh process (so peak RSS belongs to that mode alone), ``--repeats`` times after one
warm-up. Printed per mode: frames/s at the median and at the best run, median wall time, peak memory
traced by tracemalloc (numpy allocations) during one extra run, and the process's peak RSS.

* decode: ``neocus.io.load_sweep`` (OpenCV decode + greyscale).
* roi: ``neocus.io.roi.detect_sweep_roi`` on the already decoded frames (what the ROI adds).
* decode+roi: both, as ``neocus inspect`` does.
* decode+roi+crop: and ``apply_roi`` (crop and blank overlays in every frame) -- the full io stage.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples" / "20221223027" / "coronal_sweep.mp4"
MODES = ("decode", "roi", "decode+roi", "decode+roi+crop")


def _run_mode(mode: str, path: str, repeats: int) -> dict[str, float]:
    from neocus.io import load_sweep
    from neocus.io.roi import apply_roi, detect_sweep_roi

    pre = load_sweep(path, show_progress=False) if mode == "roi" else None

    def once() -> int:
        if mode == "roi":
            detect_sweep_roi(pre)
            return pre.n_frames
        sweep = load_sweep(path, show_progress=False)
        if mode != "decode":
            roi = detect_sweep_roi(sweep)
            if mode == "decode+roi+crop":
                apply_roi(sweep, roi)
        return sweep.n_frames

    n = once()  # warm-up (imports, codec start-up, page cache)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    once()
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    med = statistics.median(times)
    return {"frames": n, "median_s": med, "best_s": min(times), "fps_median": n / med, "fps_best": n / min(times),
            "traced_mib": traced / 2**20, "rss_mib": rss_kib / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not args.file.exists():
        print(f"bench_io: {args.file} not found (the real sweeps live in ../shared/data)", file=sys.stderr)
        return 2
    ctx = mp.get_context("spawn")
    rows = []
    for mode in MODES:
        with ctx.Pool(1) as pool:
            rows.append((mode, pool.apply(_run_mode, (mode, str(args.file), args.repeats))))
    n = rows[0][1]["frames"]
    print(f"{args.file.name}: {n} frames, {args.repeats} runs per mode after a warm-up, one process per mode")
    header = f"{'mode':<17}{'frames/s (median)':>19}{'frames/s (best)':>17}{'median s':>10}{'traced MiB':>12}{'peak RSS MiB':>14}"
    print(header)
    print("-" * len(header))
    for mode, r in rows:
        print(f"{mode:<17}{r['fps_median']:>19.1f}{r['fps_best']:>17.1f}{r['median_s']:>10.3f}{r['traced_mib']:>12.1f}{r['rss_mib']:>14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
