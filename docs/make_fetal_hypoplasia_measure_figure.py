"""Figure: ``fetal measure``'s hypoplasia call on four phantom trans-cerebellar images (hypoplasia and normal,
24 and 32 weeks): the overlay (skull ellipse, cerebellum and cisterna magna outlines, calipers) beside
the heatmap ``fetal measure`` writes (``hypoplasia_heatmap.png``), with the call in the caption.
Bundled models only; the images are phantom renders at the phantom's own 432x576.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python docs/make_fetal_hypoplasia_measure_figure.py --out docs/fetal-hypoplasia-measure.png
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

CASES = (("cerebellar_hypoplasia", 24.0), ("normal", 24.0), ("cerebellar_hypoplasia", 32.0), ("normal", 32.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=10)
    args = ap.parse_args()
    from neocus.fetal.cerebellum import default_cerebellum_dir, load_cerebellum_model
    from neocus.fetal.hypoplasia_measure import HEATMAP_SIDE, load_hypoplasia_bundle
    from neocus.fetal.measure import FetalImage, draw_overlay, measure_fetal_head
    from neocus.fetal.phantom_render import simulate_fetal_image
    from neocus.fetal.skull_model import load_skull_model
    from neocus.vocab import FetalCondition, FetalPlane

    skull, fossa, bundle = load_skull_model(None), load_cerebellum_model(default_cerebellum_dir()), load_hypoplasia_bundle()
    rows = []
    for i, (condition, ga) in enumerate(CASES):
        img = simulate_fetal_image(ga, plane=FetalPlane.TRANS_CEREBELLAR, condition=FetalCondition(condition),
                                   rng=np.random.default_rng(args.seed + i))
        result, _ = measure_fetal_head(FetalImage(img.image, img.pixel_mm), skull, ga_weeks=ga, plane="trans_cerebellar",
                                       fossa_model=fossa, hypoplasia_model=bundle)
        h = result.hypoplasia
        overlay = cv2.resize(draw_overlay(img.image, result), (HEATMAP_SIDE * 4 // 3, HEATMAP_SIDE), interpolation=cv2.INTER_AREA)
        row = np.hstack([overlay, result.hypoplasia_heatmap])
        rule = h.tcd_rule
        text = (f"truth: {condition.replace('_', ' ')}, {ga:g} w | P {h.probability:.2f} ({'flag' if h.flag else 'no flag'} at {h.threshold:.2f}) | "
                f"TCD centile {rule['tcd_centile']:.1f}: rule {'hypoplasia' if rule['call'] else 'normal'}")
        caption = np.zeros((24, row.shape[1], 3), np.uint8)
        cv2.putText(caption, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(np.vstack([row, caption]))
    sheet = np.vstack(rows)
    sheet = cv2.resize(sheet, (sheet.shape[1] * 3 // 4, sheet.shape[0] * 3 // 4), interpolation=cv2.INTER_AREA)
    cv2.imwrite(args.out, sheet)


if __name__ == "__main__":
    main()
