"""Phantom throughput: frames/s, cases/min, and whether a training set fits in one hour on 2 cores.

Run:  python benchmarks/bench_phantom.py            (about 2 minutes on 2 cores)
      python benchmarks/bench_phantom.py --quick    (smaller samples, about 1 minute)

Measures, on this machine:

1. frames/s of one process rendering sweep frames (render + per-frame ground truth) at 256x256 and
   640x480, with the time split by stage;
2. still-only cases (six standard-view stills + K jittered neighbours per view, with ground truth, in
   memory, as training-time generation uses them) and full-sweep cases (six stills + a coronal and a
   sagittal sweep of natural length, written to disk by the exporter's per-case task) at 256x256, on
   a warmed pool of 2 worker processes: CPU seconds per case, measured cases/min, and how many cores
   the workers actually got (the machine may be shared);
3. the projection for ~1,500 still cases + ~300 full-sweep cases on 2 cores, against the one-hour goal:
   from CPU time (2 free cores) and from the measured rates;
4. peak resident memory of the parent and of the workers.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STILL_CASES = 1500
SWEEP_CASES = 300
HOUR_S = 3600.0


def _peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def bench_frames(size: tuple[int, int], n_frames: int, seed: int = 0) -> tuple[float, dict[str, float]]:
    """Seconds per frame (render + truth) over the first ``n_frames`` planes of a coronal sweep."""
    from neocus.phantom.api import new_subject, subject_views, truth_of
    from neocus.phantom.bmode import render_plane
    from neocus.phantom.presets import get_preset
    from neocus.phantom.sweep import plan_sweep
    from neocus.vocab import Plane, views_of_plane

    subject = new_subject(seed)
    preset = get_preset("internal")
    views = subject_views(subject)
    tilts = {v: views[v].tilt_deg for v in views_of_plane(Plane.CORONAL)}
    plan = plan_sweep(rng=np.random.default_rng(seed), plane=Plane.CORONAL, apex=subject.head.fontanelle.centre, view_tilts=tilts)
    step = max(1, plan.n_frames // n_frames)
    planes = [plan.frame_plane(i) for i in range(0, plan.n_frames, step)][:n_frames]
    rng = np.random.default_rng(seed)
    render_plane(subject.head, planes[0], preset, rng=rng, out_size_hw=size)  # warm caches (pixel grids)
    stages: dict[str, float] = {}
    t_truth = 0.0
    t0 = time.perf_counter()
    for p in planes:
        frame = render_plane(subject.head, p, preset, rng=rng, out_size_hw=size, timings=stages)
        t1 = time.perf_counter()
        truth_of(subject, frame, Plane.CORONAL, views=views)
        t_truth += time.perf_counter() - t1
    total = time.perf_counter() - t0
    stages["truth"] = t_truth
    return total / len(planes), {k: v / len(planes) for k, v in stages.items()}


def still_case(args: tuple[int, int, tuple[int, int]]) -> float:
    """One training-time still case: six stills + ``k`` neighbours per view; returns its CPU seconds."""
    from neocus.phantom.api import jittered_neighbours, new_subject, standard_still
    from neocus.phantom.presets import get_preset
    from neocus.vocab import VIEWS_IN_SWEEP_ORDER

    seed, k, size = args
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    subject = new_subject(seed)
    preset = get_preset("internal").vary(rng=rng)
    for view in VIEWS_IN_SWEEP_ORDER:
        standard_still(subject, view, preset, rng=rng, out_size_hw=size)
        jittered_neighbours(subject, view, preset, rng=rng, n=k, out_size_hw=size)
    return time.process_time() - t0


def sweep_case(args: tuple) -> float:
    """One full-sweep case through the exporter's own per-case task; returns its CPU seconds."""
    from neocus.phantom.export import _simulate_and_write

    t0 = time.process_time()
    _simulate_and_write(args)
    return time.process_time() - t0


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _warm(_: int) -> None:
    """Worker warm-up: imports and geometry caches (a pool's start-up is not part of the rate)."""
    still_case((999, 0, (256, 256)))


def _timed_pool_map(fn, tasks: list, workers: int) -> tuple[float, float]:  # noqa: ANN001
    """(wall seconds, summed task CPU seconds) of ``pool.map(fn, tasks)`` on a started, warmed pool."""
    with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        pool.map(_warm, range(workers), chunksize=1)
        t0 = time.perf_counter()
        cpu = pool.map(fn, tasks, chunksize=1)
        return time.perf_counter() - t0, float(sum(cpu))


def bench_still_cases(n: int, k: int, size: tuple[int, int], workers: int) -> tuple[float, float, float]:
    """(CPU seconds per case, cases/min with ``workers`` processes, cores the workers got)."""
    tasks = [(1000 + i, k, size) for i in range(n)]
    still_case((999, k, size))  # warm-up: imports, grid caches
    wall, cpu = _timed_pool_map(still_case, tasks, workers)
    return cpu / n, 60.0 * n / wall, cpu / wall


def bench_sweep_cases(n: int, size_wh: tuple[int, int], workers: int) -> tuple[float, float, float, float]:
    """(CPU seconds per full-sweep case, cases/min with ``workers``, cores the workers got, frames per case)."""
    from neocus.phantom.export import SimulationConfig

    tmp = Path(tempfile.mkdtemp(prefix="bench_phantom_"))
    try:
        config = SimulationConfig(cases=n, seed=8, frame_size_wh=size_wh)
        wall, cpu = _timed_pool_map(sweep_case, [(config, i, None, str(tmp / "many")) for i in range(n)], workers)
        case = tmp / "many" / "cases" / "phantom-00000" / "annotations"
        frames = sum(len((case / f).read_text().splitlines()) for f in ("coronal.jsonl", "sagittal.jsonl"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cpu / n, 60.0 * n / wall, cpu / wall, float(frames + 6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller samples")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--neighbours", type=int, default=2, help="jittered neighbours per view in a still case")
    args = ap.parse_args(argv)
    n_frames = 12 if args.quick else 30
    n_still = 6 if args.quick else 30
    n_sweep = 2 if args.quick else 6

    print(f"phantom benchmark: {mp.cpu_count()} CPUs, {args.workers} workers, python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("\n1. sweep frames, one process (render + ground truth)")
    print(f"{'frame size':>12} {'frames/s':>9} {'ms/frame':>9}   per stage (ms)")
    for size in ((256, 256), (480, 640)):
        spf, stages = bench_frames(size, n_frames)
        split = "  ".join(f"{k} {1000 * v:.0f}" for k, v in stages.items())
        print(f"{size[1]:>5}x{size[0]:<6} {1 / spf:>9.2f} {1000 * spf:>9.0f}   {split}")

    print(f"\n2. cases at 256x256 on {args.workers} worker processes")
    s_still, still_rate, cores_still = bench_still_cases(n_still, args.neighbours, (256, 256), args.workers)
    frames_still = 6 * (1 + args.neighbours)
    print(f"  still-only case (6 stills + {args.neighbours} neighbours/view = {frames_still} frames): "
          f"{s_still:.2f} CPU s/case; {still_rate:.1f} cases/min measured (workers got {cores_still:.2f} cores)")
    s_sweep, sweep_rate, cores_sweep, frames_sweep = bench_sweep_cases(n_sweep, (256, 256), args.workers)
    print(f"  full-sweep case (6 stills + 2 sweeps, {frames_sweep:.0f} frames, written): "
          f"{s_sweep:.1f} CPU s/case; {sweep_rate:.2f} cases/min measured (workers got {cores_sweep:.2f} cores)")

    print(f"\n3. projection: {STILL_CASES} still cases + {SWEEP_CASES} full-sweep cases on {args.workers} cores")
    full = (STILL_CASES * s_still + SWEEP_CASES * s_sweep) / args.workers
    measured = 60.0 * (STILL_CASES / still_rate + SWEEP_CASES / sweep_rate)
    for label, secs in ((f"{args.workers} free cores (CPU time / {args.workers})", full), ("at the measured rates (this machine, now)", measured)):
        verdict = "fits" if secs <= HOUR_S else "does NOT fit"
        print(f"  {label}: {secs / 60:.1f} min ({verdict} in one hour)")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {mp.cpu_count()} CPUs; when the workers get fewer "
          f"than {args.workers} cores, other processes are using the rest")
    print(f"\n4. peak RSS: parent {_peak_rss_mb():.0f} MB, largest worker {_peak_rss_mb(children=True):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
