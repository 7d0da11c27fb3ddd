"""CPU time of the head model's sampling (``NeonatalHead.sample``) on bench_phantom's sweep frames.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_phantom_sample.py [--repeats 4]

Renders the 12 coronal sweep frames of ``bench_phantom.py``'s section 1 (subject 0, internal preset)
once at 256 x 256 and at 640 x 480, records the points every ``sample`` call gets (the image plane
and the two elevation planes), then times ``sample`` on them again with ``time.process_time`` and
prints CPU ms per frame (median and minimum over the repeats). Only the sampling stage, in CPU time:
less moved by other jobs than the wall-clock frames/s of ``bench_phantom.py``.

Comparing two versions of the code: run this file with each tree's ``src`` on ``PYTHONPATH`` (it
also runs against the older API of b5d36be), in turn, several rounds, e.g.

    for r in 1 2 3 4; do for d in /path/old/src src; do PYTHONPATH=$d python benchmarks/bench_phantom_sample.py; done; done
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _planes(subject: object, n: int) -> list:
    from neocus.phantom.api import subject_views
    from neocus.phantom.sweep import plan_sweep
    from neocus.vocab import Plane, views_of_plane

    views = subject_views(subject)
    tilts = {v: views[v].tilt_deg for v in views_of_plane(Plane.CORONAL)}
    apex = subject.head.fontanelle.centre  # type: ignore[attr-defined]
    try:
        plan = plan_sweep(rng=np.random.default_rng(0), plane=Plane.CORONAL, apex=apex, view_tilts=tilts)
    except TypeError:  # the older positional API (b5d36be)
        plan = plan_sweep(np.random.default_rng(0), Plane.CORONAL, apex, view_tilts=tilts)
    step = max(1, plan.n_frames // n)
    return [plan.frame_plane(i) for i in range(0, plan.n_frames, step)][:n]


def main(argv: list[str] | None = None) -> int:
    from neocus.phantom.api import new_subject
    from neocus.phantom.bmode import render_plane
    from neocus.phantom.presets import get_preset

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--frames", type=int, default=12)
    args = ap.parse_args(argv)
    subject = new_subject(0)
    head = subject.head
    preset = get_preset("internal")
    planes = _planes(subject, args.frames)
    out = []
    for size in ((256, 256), (480, 640)):
        calls: list[np.ndarray] = []

        class Recorder:  # the head, with every sample call's points kept
            def __getattr__(self, name: str) -> object:
                return getattr(head, name)

            def sample(self, points: np.ndarray) -> object:
                calls.append(np.array(points))
                return head.sample(points)

        rng = np.random.default_rng(0)
        for plane in planes:
            try:
                render_plane(Recorder(), plane, preset, rng=rng, out_size_hw=size)
            except TypeError:  # older API
                render_plane(Recorder(), plane, preset, rng, size)
        times = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            for pts in calls:
                head.sample(pts)
            times.append(1000 * (time.process_time() - t0) / len(planes))
        out.append(f"{size[1]}x{size[0]}: sample {np.median(times):.1f} CPU ms/frame (min {min(times):.1f})")
    print(" | ".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
