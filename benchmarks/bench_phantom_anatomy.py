"""Benchmark the phantom head model: subject build time and sample() throughput (one core).

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_phantom_anatomy.py [--subjects 12] [--repeats 5]

Prints a table: subject build (sample_subject: anatomy + lesions + ventricle measurements),
and sample() throughput in points per CPU-second on the six ideal standard-view planes at
256x256 and 640x480 (a sector-like 90 x 100 mm field of view), plus peak memory.
CPU time (time.process_time) is reported so that other load on the machine does not distort it.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from neocus.phantom.standard_views import standard_views
from neocus.phantom.subject import sample_subject


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--subjects", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    console = Console()

    builds, wall = [], []
    subjects = []
    for seed in range(args.subjects):
        t0, w0 = time.process_time(), time.perf_counter()
        s = sample_subject(seed, severe_fraction=0.5)
        builds.append(time.process_time() - t0)
        wall.append(time.perf_counter() - w0)
        subjects.append(s)

    table = Table(title="phantom anatomy (one core, CPU time)")
    table.add_column("what")
    table.add_column("n", justify="right")
    table.add_column("median", justify="right")
    table.add_column("max", justify="right")
    table.add_row("subject build (s)", str(len(builds)), f"{np.median(builds):.3f}", f"{np.max(builds):.3f}")

    for w, h in ((256, 256), (640, 480)):
        rates = []
        for s in subjects[: min(6, len(subjects))]:
            views = standard_views(s.head)
            for sv in views.values():
                x = np.linspace(-45, 45, w)
                d = np.linspace(0, 100, h)
                gx, gd = np.meshgrid(x, d)
                pts = sv.plane.points(gx, gd).reshape(-1, 3).astype(np.float32)
                s.head.sample(pts)  # warm
                t0 = time.process_time()
                for _ in range(args.repeats):
                    s.head.sample(pts)
                dt = (time.process_time() - t0) / args.repeats
                rates.append(len(pts) / dt)
        rates_a = np.array(rates)
        table.add_row(
            f"sample() {w}x{h} (Mpoints/s)", str(len(rates)), f"{np.median(rates_a) / 1e6:.2f}", f"min {rates_a.min() / 1e6:.2f}"
        )
        frame_ms = w * h / np.median(rates_a) * 1e3
        table.add_row(f"  -> one {w}x{h} plane (ms)", "", f"{frame_ms:.1f}", "")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table.add_row("peak RSS (MB)", "", f"{peak_mb:.0f}", "")
    console.print(table)


if __name__ == "__main__":
    main()
