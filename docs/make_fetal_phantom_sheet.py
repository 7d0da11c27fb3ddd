"""Contact sheet of the fetal head phantom: each plane and condition across gestational age.

    OMP_NUM_THREADS=1 PYTHONPATH=src python docs/make_fetal_phantom_sheet.py [--out docs/fetal-phantom-sheet.png]

Rows: plane / condition; columns: 20, 25, 30, 35 and 39 weeks (the look cycles smooth / grainy /
portable). The right-most tile of each row is the label map of the 30-week image. Fixed seeds, so the
sheet is the same on every run.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from neocus.fetal.phantom_render import FetalLook, simulate_fetal_image
from neocus.vocab import FetalCondition as C
from neocus.vocab import FetalPlane as P

ROWS = [
    (P.TRANS_THALAMIC, C.NORMAL), (P.TRANS_VENTRICULAR, C.NORMAL), (P.TRANS_VENTRICULAR, C.VENTRICULOMEGALY),
    (P.TRANS_CEREBELLAR, C.NORMAL), (P.TRANS_CEREBELLAR, C.CEREBELLAR_HYPOPLASIA), (P.TRANS_CEREBELLAR, C.MEGA_CISTERNA_MAGNA),
    (P.OTHER, C.NORMAL),
]
GAS = (20.0, 25.0, 30.0, 35.0, 39.0)
TILE_WH = (224, 168)


def _palette() -> np.ndarray:
    rng = np.random.default_rng(3)
    pal = rng.integers(60, 255, (256, 3)).astype(np.uint8)
    pal[0] = 0
    return pal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="docs/fetal-phantom-sheet.png")
    args = ap.parse_args()
    pal = _palette()
    rows = []
    for r, (plane, cond) in enumerate(ROWS):
        tiles, labels = [], None
        for c, ga in enumerate(GAS):
            img = simulate_fetal_image(ga, plane=plane, condition=cond, look=list(FetalLook)[(r + c) % 3], rng=np.random.default_rng([r, c]))
            tile = cv2.cvtColor(cv2.resize(img.image, TILE_WH, interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR)
            t = img.truth
            text = f"{ga:.0f}w TCD {t.tcd_mm:.0f} CM {t.cisterna_magna_mm:.1f} At {t.atrium_mm:.1f}"
            cv2.putText(tile, text, (4, TILE_WH[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.32, (0, 255, 255), 1, cv2.LINE_AA)
            if c == 0:
                cv2.putText(tile, f"{plane.value} / {cond.value}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.34, (0, 255, 0), 1, cv2.LINE_AA)
            tiles.append(tile)
            if ga == 30.0:
                labels = cv2.resize(pal[img.labels], TILE_WH, interpolation=cv2.INTER_NEAREST)
        rows.append(np.hstack([*tiles, labels]))
    cv2.imwrite(args.out, np.vstack(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
