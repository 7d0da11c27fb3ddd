"""Check of the fetal measurement chain on real HC18 images, and its speed per image.

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_fetal_hc18.py [--data DIR] [--out DIR] [--repeats 3]

``--data`` is a folder in the HC18 layout (default ../shared/data/real/fetal/hc18 beside the repository).
For every image, from the sonographer's filled skull ellipse (no model):

* HC by ``neocus.fetal.measure_head`` (OpenCV fitEllipse on the outer contour, Ramanujan's perimeter,
  times the CSV pixel size) against the CSV head circumference: mean difference (ours - CSV), MAE, max
  absolute difference, overall and by HC third; the same difference in pixels of radius;
* skull Dice and Hausdorff (mm) between the sonographer's mask and the fitted ellipse drawn back
  (``neocus.fetal.metrics``): checks the fit and the rasteriser, not a segmentation model;
* time per image: annotation PNG read, ellipse fit + measurement, Dice + Hausdorff (median and best of
  ``--repeats`` passes over all images, after one warm-up pass; imports not counted).

Writes ``hc18_check.csv`` (one row per image) to ``--out`` (default /tmp) and prints a summary.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from neocus.fetal import ellipse_mask, load_hc18_annotation, measure_head, read_hc18
from neocus.fetal.metrics import dice, hausdorff_mm

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "fetal" / "hc18"


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _one_pass(items):
    rows, t_read, t_fit, t_metric = [], [], [], []
    for item in items:
        mask, dt = _timed(load_hc18_annotation, item)
        t_read.append(dt)
        m, dt = _timed(measure_head, mask, pixel_mm=item.pixel_mm)
        t_fit.append(dt)
        t0 = time.perf_counter()
        drawn = ellipse_mask(m.ellipses.outer, shape_hw=mask.shape)
        d = dice(drawn, mask)
        hd = hausdorff_mm(drawn, mask, pixel_mm=item.pixel_mm)
        t_metric.append(time.perf_counter() - t0)
        diff = m.hc_mm - item.hc_mm
        rows.append({
            "filename": item.name, "pixel_mm": item.pixel_mm, "hc_csv_mm": item.hc_mm,
            "hc_ours_mm": round(m.hc_mm, 3), "diff_mm": round(diff, 3),
            "diff_radius_px": round(diff / item.pixel_mm / (2 * math.pi), 3),
            "ofd_mm": round(m.ofd_mm, 3), "bpd_outer_outer_mm": round(m.bpd_outer_outer_mm, 3),
            "fit_rms_px": round(m.ellipses.outer.fit_rms_px, 3), "dice": round(d, 5), "hausdorff_mm": round(hd, 4),
        })
    return rows, sum(t_read), sum(t_fit), sum(t_metric)


def _summary(rows, label):
    d = np.array([r["diff_mm"] for r in rows])
    return (f"{label:<22} n={len(d):>3}  mean diff {d.mean():+.2f} mm  MAE {np.abs(d).mean():.2f} mm  "
            f"max |diff| {np.abs(d).max():.2f} mm")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=Path("/tmp"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if not (args.data / "images").is_dir():
        print(f"skipped: no HC18 folder at {args.data}")
        return 0
    items = read_hc18(args.data).items
    rows, *_ = _one_pass(items)  # warm-up (and the numbers: they do not change between passes)
    times = [_one_pass(items)[1:] for _ in range(args.repeats)]
    n = len(items)

    print(f"HC18 check on {n} images of {args.data}")
    print(_summary(rows, "all"))
    hc = np.array([r["hc_csv_mm"] for r in rows])
    cuts = np.quantile(hc, [1 / 3, 2 / 3])
    for lo, hi, name in [(0, cuts[0], "HC lower third"), (cuts[0], cuts[1], "HC middle third"),
                         (cuts[1], math.inf, "HC upper third")]:
        band = [r for r in rows if lo <= r["hc_csv_mm"] < hi]
        print(_summary(band, f"{name} <{hi:.0f}" if math.isfinite(hi) else f"{name} >={lo:.0f}"))
    dr = np.array([r["diff_radius_px"] for r in rows])
    print(f"difference as radius: mean {dr.mean():+.3f} px, SD {dr.std(ddof=1):.3f} px, "
          f"range {dr.min():+.3f} to {dr.max():+.3f} px")
    dices = np.array([r["dice"] for r in rows])
    hds = np.array([r["hausdorff_mm"] for r in rows])
    print(f"skull Dice (mask vs fitted ellipse drawn back): mean {dices.mean():.4f}, min {dices.min():.4f}")
    print(f"Hausdorff (mask vs fitted ellipse drawn back): mean {hds.mean():.3f} mm, max {hds.max():.3f} mm")
    for k, name in enumerate(["annotation read", "fit + measure", "Dice + Hausdorff"]):
        per = [t[k] / n * 1e3 for t in times]
        print(f"time per image, {name:<17}: median {statistics.median(per):.2f} ms, best {min(per):.2f} ms "
              f"({args.repeats} passes)")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "hc18_check.csv"
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"per-image rows: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
