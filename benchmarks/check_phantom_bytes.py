"""Same bytes before and after a phantom speed-up: a digest of the head model's samples and rendered frames.

Run:  OMP_NUM_THREADS=1 python benchmarks/check_phantom_bytes.py --write REF.json     (on the old code)
      OMP_NUM_THREADS=1 python benchmarks/check_phantom_bytes.py --check REF.json     (on the new code)
      add --quick for a smaller set (about a minute), --only samples|frames for one half

What it hashes (SHA-256 of the raw bytes of every output array):

1. ``NeonatalHead.sample`` (tissue, part, lesion, echo) of one subject per case type (all ten) and
   population (internal, external, blind; forced GAs from 24 to 42 weeks), on
   * the six ideal standard-view planes, a 256 x 256 grid over a 90 x 100 mm field,
   * the same planes moved 1.5 mm along their normal (the elevation planes),
   * 60,000 uniform random points in the head's box (every structure, the outside included);
2. rendered output (image, mask, tissue, part, lesion and the frame's ground truth as JSON) of
   standard stills and jittered neighbours (every view, presets internal / external / blind, 256 x 256
   and one 640 x 480 view) and a short sweep of each plane per subject (freehand, 8 frames).

The digests depend on numpy's float32 maths on this machine (SIMD paths differ between CPUs), so
compare a digest only with one written on the same machine and environment: write it from the old
code (``git stash`` / ``git worktree add``), then check the new code. Exit status 1 when any entry
differs (each one is listed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np


def _digest(*arrays: object) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, np.ndarray):
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        else:
            h.update(json.dumps(a, sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def _subjects(quick: bool) -> list:
    from neocus.phantom.subject import CaseType, Population, sample_subject

    gas = [24.5, 27.0, 29.5, 31.0, 33.5, 35.0, 37.5, 39.0, 40.5, 42.0]
    cases = list(CaseType)
    out = []
    for i, (ct, ga) in enumerate(zip(cases, gas, strict=True)):
        if quick and i % 3:
            continue
        out.append((f"{ct.value}-{ga}-seed{100 + i}", sample_subject(100 + i, case_type=ct, ga_weeks=ga, population=Population())))
    return out


def sample_digests(quick: bool) -> dict[str, str]:
    from neocus.phantom.standard_views import standard_views

    res = {}
    x, d = np.meshgrid(np.linspace(-45, 45, 256), np.linspace(0, 100, 256))
    for name, subj in _subjects(quick):
        head = subj.head
        for view, sv in standard_views(head).items():
            pts = sv.plane.points(x, d).reshape(-1, 3)
            for tag, off in (("plane", 0.0), ("elev", 1.5)):
                ts = head.sample(pts + off * sv.plane.normal)
                res[f"sample/{name}/{view.value}/{tag}"] = _digest(ts.tissue, ts.part, ts.lesion, ts.echo)
        lo, hi = head._cull.lo, head._cull.lo + head._cull.cell * np.array(head._cull.shape)
        n_box = 20_000 if quick else 60_000
        ts = head.sample(np.random.default_rng(7).uniform(lo, hi, size=(n_box, 3)))
        res[f"sample/{name}/box{n_box}"] = _digest(ts.tissue, ts.part, ts.lesion, ts.echo)
    return res


def _frame_digest(still: object) -> str:
    f, t = still.frame, still.truth  # type: ignore[attr-defined]
    extra = [round(float(still.quality), 12), sorted(x.value for x in still.findings)]  # type: ignore[attr-defined]
    return _digest(f.image, f.mask, f.tissue, f.part, f.lesion, still.ventricles, repr(t), extra)  # type: ignore[attr-defined]


def frame_digests(quick: bool) -> dict[str, str]:
    from neocus.phantom.api import jittered_neighbours, new_subject, render_sweep, standard_still
    from neocus.vocab import VIEWS_IN_SWEEP_ORDER, Plane

    res = {}
    seeds = (3, 11) if quick else (3, 11, 19, 27, 35, 43)
    presets = ("internal", "external", "blind")
    for k, seed in enumerate(seeds):
        preset = presets[k % len(presets)]
        population = ("internal", "external", "blind")[k % 3]
        subj = new_subject(seed, population=population)
        rng = np.random.default_rng(seed)
        for view in VIEWS_IN_SWEEP_ORDER:
            st = standard_still(subj, view, preset, rng=rng, out_size_hw=(256, 256))
            res[f"still/{seed}/{preset}/{view.value}"] = _frame_digest(st)
            for j, nb in enumerate(jittered_neighbours(subj, view, preset, rng=rng, n=1, out_size_hw=(256, 256))):
                res[f"neighbour/{seed}/{preset}/{view.value}/{j}"] = _frame_digest(nb)
        st = standard_still(subj, VIEWS_IN_SWEEP_ORDER[2], preset, rng=rng, out_size_hw=(480, 640))
        res[f"still640/{seed}/{preset}"] = _frame_digest(st)
        for plane in (Plane.CORONAL, Plane.SAGITTAL):
            sw = render_sweep(subj, plane, preset, n_frames=8, out_size_hw=(256, 256), rng=rng)
            res[f"sweep/{seed}/{preset}/{plane.value}"] = _digest(sw.frames, sw.lesion, sw.ventricles, [repr(t) for t in sw.truth], {k.value: repr(w) for k, w in sw.windows.items()})
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path, help="write the digests to this JSON file")
    g.add_argument("--check", type=Path, help="compare with the digests in this JSON file")
    ap.add_argument("--quick", action="store_true", help="fewer subjects and frames")
    ap.add_argument("--only", choices=("samples", "frames"), default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    res: dict[str, str] = {}
    if args.only in (None, "samples"):
        res.update(sample_digests(args.quick))
    if args.only in (None, "frames"):
        res.update(frame_digests(args.quick))
    print(f"{len(res)} digests in {time.perf_counter() - t0:.0f} s")
    if args.write:
        args.write.write_text(json.dumps(res, indent=1, sort_keys=True))
        print(f"written to {args.write}")
        return 0
    ref = json.loads(args.check.read_text())
    common = sorted(set(ref) & set(res))
    bad = [k for k in common if ref[k] != res[k]]
    missing = sorted(set(res) ^ set(ref))
    for k in bad:
        print(f"DIFFERS  {k}")
    if missing:
        print(f"{len(missing)} entries in only one of the two (different --quick / --only?): {missing[:5]} ...")
    print(f"{len(common) - len(bad)} / {len(common)} identical")
    return 1 if bad or not common else 0


if __name__ == "__main__":
    sys.exit(main())
