"""neocus's views beside NCLS's for the same real exams: `screen()` on the real NCLS sweeps
(../shared/data/real/ncls-examples: the coronal sweep of 20221223027, the parasagittal sweep of
20221231069), and per view a picture of NCLS's own still (ROI-cropped) beside the frame neocus chose
(or why it chose none). Prints the table and writes the picture.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/screen_vs_ncls.py --models DIR --out docs/screen-vs-ncls.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "ncls-examples"
EXAMS = {"20221223027": "coronal_sweep.mp4", "20221231069": "parasagittal_sweep.mp4"}
NCLS_NAMES = {"20221223027": {"AHV": "COR1", "TVV": "COR2", "BV": "COR3"},  # the views of each sweep's plane
              "20221231069": {"MSV": "SAG1", "RPSV": "SAG2", "LPSV": "SAG3"}}
TILE = 220


def _tile(image: np.ndarray | None, text: str) -> np.ndarray:
    tile = np.full((TILE + 22, TILE), 235, np.uint8)
    if image is not None:
        h, w = image.shape
        s = TILE / max(h, w)
        small = cv2.resize(image, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
        y0, x0 = (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
        tile[:TILE] = 0
        tile[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    cv2.putText(tile, text[:34], (3, TILE + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 0, 1, cv2.LINE_AA)
    return tile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    from neocus.diagnose.data import crop_to_roi
    from neocus.io import load_sweep
    from neocus.screen import load_models, screen

    models = load_models(args.models)
    rows = []
    for exam, sweep in EXAMS.items():
        r = screen([REAL / exam / sweep], models=models)
        print(f"{exam}/{sweep}: {r.decision.value} ({r.reason}); {r.timings_s}")
        for view, still in NCLS_NAMES[exam].items():
            path = REAL / exam / f"{still}.png"
            if not path.is_file():
                continue
            ncls = crop_to_roi(load_sweep(path).frames[0])
            v = r.views[view]
            ours = f"{v.status} frame {v.frame} (score {v.score:.2f})" if v.frame is not None else f"missing: {v.reason}"
            print(f"  {view:5s} NCLS {still}.png | neocus {ours}")
            rows.append(np.hstack([_tile(ncls, f"{exam[-3:]} NCLS {still} ({view})"), np.full((TILE + 22, 6), 255, np.uint8),
                                   _tile(v.picture, f"neocus: {ours}")]))
    cv2.imwrite(str(args.out), np.vstack([np.vstack([row, np.full((6, row.shape[1]), 255, np.uint8)]) for row in rows]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
