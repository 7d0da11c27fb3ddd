"""Do the phantom's label maps give back its true sizes? Reads TCD, cisterna magna depth, atrial width
and HC from the label maps of cases 0..N-1 of a seed (``neocus.fetal.phantom_masks.measure_labels``)
and compares them with the truth each case carries.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_phantom_truth.py [--cases 60] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from neocus.fetal.phantom_anatomy import atria
from neocus.fetal.phantom_dataset import simulate_case
from neocus.fetal.phantom_masks import measure_labels
from neocus.vocab import FetalPlane


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    err: dict[str, list[float]] = {"hc_mm": [], "tcd_mm": [], "cisterna_magna_mm": [], "atrium_mm": []}
    px_all = []
    for i in range(args.cases):
        spec, img = simulate_case(args.seed, i)
        a = atria(img.params)[0]
        tv = spec.plane is FetalPlane.TRANS_VENTRICULAR
        m = measure_labels(img.labels, grid=img.grid, pose=img.pose, atrium_centre_uv=a[:2] if tv else None, atrium_angle=a[2])
        px_all.append(img.pixel_mm)
        for k in err:
            got = getattr(m, k)
            if got is not None:
                err[k].append((got - getattr(img.truth, k)) / img.pixel_mm)
    print(f"{args.cases} cases, pixel size {min(px_all):.3f}-{max(px_all):.3f} mm")
    for k, v in err.items():
        v = np.asarray(v)
        print(f"{k}: {len(v)} cases, error in pixels mean {v.mean():+.2f}, max abs {np.abs(v).max():.2f}")


if __name__ == "__main__":
    main()
