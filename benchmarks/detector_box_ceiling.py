"""How precise must a box be? Truth boxes of held-out phantom frames moved by uniform errors (±E input
pixels on centre and size at input size S, ±A degrees), scored by exact rotated IoU against the truth:
the share per class still at IoU >= 0.5, and the mean over IoU 0.5:0.95 (a ceiling on mAP for a model
that precise).

    PYTHONPATH=src python benchmarks/detector_box_ceiling.py --cache CACHE [--min-short-side 0.02]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neocus.detect.data import phantom_eval_set, widen_thin_boxes
from neocus.geometry.overlap import rbox_iou


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--min-short-side", type=float, default=0.0, help="widen thin truth boxes first (the detector's floor: 0.02)")
    args = ap.parse_args()
    samples = [widen_thin_boxes(s, min_short_side=args.min_short_side) for s in phantom_eval_set("internal", args.frames, seed=0, cache_dir=args.cache)]
    rng = np.random.default_rng(0)
    thresholds = np.arange(0.5, 0.96, 0.05)
    for size in (256, 192, 160, 128):
        for err_px, err_deg in ((0.5, 2.0), (1.0, 4.0)):
            ious, cls = [], []
            for s in samples:
                b = s.boxes.astype(np.float64)
                moved = b.copy()
                moved[:, :4] += rng.uniform(-err_px, err_px, (len(b), 4)) * max(s.image.shape) / size
                moved[:, 4] += rng.uniform(-err_deg, err_deg, len(b))
                moved[:, 2:4] = np.abs(moved[:, 2:4])
                ious += list(rbox_iou(moved, b))
                cls += list(s.labels)
            ious, cls = np.array(ious), np.array(cls)
            at50 = np.mean([(ious[cls == c] >= 0.5).mean() for c in np.unique(cls)])
            over = np.mean([np.mean([(ious[cls == c] >= t).mean() for t in thresholds]) for c in np.unique(cls)])
            print(f"input {size} px, error ±{err_px} px ±{err_deg}°: share at IoU>=0.5 {at50:.2f}, mean over IoU 0.5:0.95 {over:.2f}")


if __name__ == "__main__":
    main()
