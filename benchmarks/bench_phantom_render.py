"""Benchmark: B-mode rendering speed of the phantom, per preset and output size, on ONE core.

Renders planes of a coronal and a sagittal sweep through the anterior fontanelle of a term
NeonatalHead and prints frames/s and where the time goes: sampling the head model, resampling
onto the beam grid, speckle + PSF, compression (attenuation/TGC/log/filters), scan conversion.
OpenCV, numpy and scipy.fft run single-threaded here, so the figure is per core; N cores render N
independent frames in parallel (the sweeps / export run frames in worker processes). On a shared
machine the CPU-time rate (process time per frame) is the robust per-core figure; the stage split is
in percent of the measured stage times.

    python benchmarks/bench_phantom_render.py [--frames 24] [--sizes 256x256,640x480]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from neocus.phantom.anatomy import AnatomyParams, NeonatalHead  # noqa: E402
from neocus.phantom.bmode import render_plane  # noqa: E402
from neocus.phantom.presets import PRESETS  # noqa: E402
from neocus.phantom.sweep import plane_at  # noqa: E402
from neocus.vocab import Plane  # noqa: E402

STAGES = ("sample", "to_beam", "speckle_psf", "compress", "scan_convert")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24, help="frames per preset and size (half coronal, half sagittal)")
    ap.add_argument("--sizes", default="256x256,640x480", help="comma-separated WxH output sizes")
    ap.add_argument("--presets", default=",".join(PRESETS))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    console = Console(width=160)
    head = NeonatalHead(AnatomyParams.typical(39.0))
    apex = head.fontanelle.centre
    n = max(2, args.frames)
    planes = [plane_at(apex, Plane.CORONAL, t) for t in np.linspace(-30, 30, n // 2)]
    planes += [plane_at(apex, Plane.SAGITTAL, t) for t in np.linspace(-25, 25, n - n // 2)]
    table = Table(title=f"phantom B-mode rendering, 1 core, {n} frames each (NeonatalHead, term)")
    cols = ("preset", "size WxH", "frames/s (wall)", "frames/s (CPU)", "CPU ms/frame", *[f"{s} %" for s in STAGES], "frames/h on 2 cores (CPU)")
    for col in cols:
        table.add_column(col, justify="right")
    for size_s in args.sizes.split(","):
        w, h = (int(v) for v in size_s.lower().split("x"))
        for name in args.presets.split(","):
            preset = PRESETS[name]
            rng = np.random.default_rng(0)
            render_plane(head, planes[0], preset, rng=rng, out_size_hw=(h, w))  # warm the geometry caches
            timings: dict[str, float] = {}
            t0, c0 = time.perf_counter(), time.process_time()
            for pl in planes:
                render_plane(head, pl, preset, rng=rng, out_size_hw=(h, w), timings=timings)
            dt = (time.perf_counter() - t0) / len(planes)
            dc = (time.process_time() - c0) / len(planes)
            total = sum(timings.values())
            table.add_row(
                name, f"{w}x{h}", f"{1 / dt:.1f}", f"{1 / dc:.1f}", f"{1000 * dc:.1f}",
                *[f"{100 * timings.get(s, 0.0) / total:.0f}" for s in STAGES],
                f"{2 * 3600 / dc:,.0f}",
            )
    console.print(table)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
