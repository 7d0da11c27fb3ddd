"""Benchmark: neocus's fast greyscale decode paths against the plain ones they replace.

Usage: python benchmarks/bench_io_decode.py [--repeats 5]

Rows (each: one warm-up, then ``--repeats`` timed runs; the two ways of one job alternate run by run;
median and best frames/s, median process CPU time; peak numpy memory traced by tracemalloc in one
extra run):

* video luma: ``read_video`` taking the raw Y plane from FFmpeg (``fast_grey=True``, the default)
* video BGR->grey: ``read_video(fast_grey=False)``: OpenCV's YUV->BGR, then BGR->grey
  (on the real GE sweep ../shared/data/real/ncls-examples/20221223027/coronal_sweep.mp4)
* DICOM JPEG luma: ``read_dicom`` decoding JPEG baseline YBR frames straight to Y with OpenCV
* DICOM pydicom RGB->grey: ``read_dicom(fast_grey=False)``: pydicom decode to RGB, then RGB->grey
  (on pydicom-data's color3d_jpeg_baseline.dcm, 120 frames of 640x480)
* write MP4 / write DICOM cine: the writers on the decoded real sweep.

Rows whose input is absent are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples" / "20221223027" / "coronal_sweep.mp4"


def _measure(fn: Callable[[], int], repeats: int) -> dict[str, float]:
    return _measure_interleaved([fn], repeats)[0]


def _measure_interleaved(fns: list[Callable[[], int]], repeats: int) -> list[dict[str, float]]:
    """Time several ways of doing one job, alternating their order run by run, so that load from
    other processes and drift (caches, CPU clocks) fall on all of them alike."""
    counts = [fn() for fn in fns]  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for r in range(repeats):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            t0, c0 = time.perf_counter(), time.process_time()
            fns[i]()
            times[i].append(time.perf_counter() - t0)
            cpu[i].append(time.process_time() - c0)
    out = []
    for i, fn in enumerate(fns):
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        med, n = statistics.median(times[i]), counts[i]
        out.append({"frames": n, "median_s": med, "cpu_s": statistics.median(cpu[i]), "fps_median": n / med, "fps_best": n / min(times[i]), "peak_mib": peak / 2**20})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from pydicom.data import get_testdata_file

    from neocus.io import write_dicom_cine, write_video
    from neocus.io.dicom import read_dicom
    from neocus.io.video import read_video

    rows: list[tuple[str, str, dict[str, float]]] = []
    notes: list[str] = []
    if REAL.exists():
        luma, bgr = _measure_interleaved(
            [lambda: read_video(REAL, show_progress=False).n_frames, lambda: read_video(REAL, show_progress=False, fast_grey=False).n_frames],
            args.repeats,
        )
        rows += [("video luma (default)", REAL.name, luma), ("video BGR->grey", REAL.name, bgr)]
        sweep = read_video(REAL, show_progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            rows.append(("write MP4 (mp4v)", REAL.name, _measure(lambda: (write_video(out / "s.mp4", sweep.frames, sweep.meta.fps), sweep.n_frames)[1], args.repeats)))
            rows.append(("write DICOM cine", REAL.name, _measure(lambda: (write_dicom_cine(out / "s.dcm", sweep.frames, sweep.meta.fps, spacing_mm=(0.1, 0.1)), sweep.n_frames)[1], args.repeats)))
    else:
        notes.append(f"skipped video rows: {REAL} not found")
    cine = get_testdata_file("color3d_jpeg_baseline.dcm", download=False)
    if cine:
        fast, reference = _measure_interleaved(
            [lambda: read_dicom(cine, show_progress=False).n_frames, lambda: read_dicom(cine, show_progress=False, fast_grey=False).n_frames],
            args.repeats,
        )
        rows += [("DICOM JPEG luma (default)", "color3d_jpeg_baseline.dcm", fast), ("DICOM pydicom RGB->grey", "color3d_jpeg_baseline.dcm", reference)]
    else:
        notes.append("skipped DICOM rows: pydicom-data is not installed")

    header = f"{'path':<27}{'input':<27}{'frames':>7}{'frames/s med':>14}{'frames/s best':>15}{'median s':>10}{'CPU s med':>11}{'peak MiB':>10}"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.repeats} timed runs per row after a warm-up; {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print("(wall times depend on other load; CPU s = process CPU time, all threads, is steadier)")
    print(header)
    print("-" * len(header))
    for name, source, r in rows:
        print(f"{name:<27}{source:<27}{r['frames']:>7.0f}{r['fps_median']:>14.1f}{r['fps_best']:>15.1f}{r['median_s']:>10.3f}{r['cpu_s']:>11.3f}{r['peak_mib']:>10.1f}")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
