"""Benchmark: decoding a real sweep alone vs decoding it and finding its ultrasound ROI.

Usage: python benchmarks/bench_io.py [--file ../shared/data/real/ncls-examples/20221223027/coronal_sweep.mp4]
                                     [--repeats 5]

Each mode runs in its own process (so peak RSS belongs to that mode alone), ``--repeats`` times after one
warm-up, the modes' runs interleaved. Printed per mode: frames/s at the median and at the best run,
median wall time, peak memory traced by tracemalloc (numpy allocations) during one extra run, and the
process's peak RSS.

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
MODES = ("probe", "decode", "roi", "decode+roi", "decode+roi+crop")


_STATE: dict[str, object] = {}


def _setup(mode: str, path: str) -> None:
    """Worker start-up: imports, the pre-decoded sweep for ``roi``, and one warm-up run."""
    _STATE.update(mode=mode, path=path)
    if mode == "roi":
        from neocus.io import load_sweep

        _STATE["sweep"] = load_sweep(path, show_progress=False)
    _once()


def _once() -> int:
    from neocus.io import load_sweep, probe
    from neocus.io.roi import apply_roi, detect_sweep_roi

    mode, path = _STATE["mode"], _STATE["path"]
    if mode == "probe":  # headers only: frames/s here means "frames described per second"
        return int(probe(path).frames or 0)
    if mode == "roi":
        sweep = _STATE["sweep"]
        detect_sweep_roi(sweep)
        return sweep.n_frames
    sweep = load_sweep(path, show_progress=False)
    if mode != "decode":
        roi = detect_sweep_roi(sweep)
        if mode == "decode+roi+crop":
            apply_roi(sweep, roi)
    return sweep.n_frames


def _timed() -> tuple[int, float]:
    t0 = time.perf_counter()
    n = _once()
    return n, time.perf_counter() - t0


def _memory() -> tuple[float, float]:
    """(peak traced MiB during one run, peak RSS MiB of this worker so far)."""
    tracemalloc.start()
    _once()
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return traced / 2**20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss: KiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not args.file.exists():
        print(f"bench_io: {args.file} not found (the real sweeps live in ../shared/data)", file=sys.stderr)
        return 2
    ctx = mp.get_context("spawn")
    # One worker process per mode (peak RSS is that mode's own); runs alternate between modes so that
    # a busy machine slows every mode alike.
    pools = {mode: ctx.Pool(1, initializer=_setup, initargs=(mode, str(args.file))) for mode in MODES}
    try:
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        frames = 0
        for _ in range(args.repeats):
            for mode in MODES:
                frames, dt = pools[mode].apply(_timed)
                times[mode].append(dt)
        memory = {mode: pools[mode].apply(_memory) for mode in MODES}
    finally:
        for pool in pools.values():
            pool.terminate()
    rows = []
    for mode in MODES:
        med, best = statistics.median(times[mode]), min(times[mode])
        traced, rss = memory[mode]
        rows.append((mode, {"frames": frames, "median_s": med, "fps_median": frames / med, "fps_best": frames / best,
                            "traced_mib": traced, "rss_mib": rss}))
    n = rows[0][1]["frames"]
    print(f"{args.file.name}: {n} frames, {args.repeats} runs per mode after a warm-up, one process per mode, runs interleaved")
    header = f"{'mode':<17}{'frames/s (median)':>19}{'frames/s (best)':>17}{'median s':>10}{'traced MiB':>12}{'peak RSS MiB':>14}"
    print(header)
    print("-" * len(header))
    for mode, r in rows:
        print(f"{mode:<17}{r['fps_median']:>19.1f}{r['fps_best']:>17.1f}{r['median_s']:>10.3f}{r['traced_mib']:>12.1f}{r['rss_mib']:>14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
