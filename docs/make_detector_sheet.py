"""Contact sheet of the detector on real frames (the 16 NCLS stills and frames of the 2 real sweeps)
and its mAP@0.5 on the eye-checked boxes of docs/real_still_boxes.json.

    PYTHONPATH=src python docs/make_detector_sheet.py --model runs/detector/model.pt --out docs/detector-real-frames.png

Each frame is ROI-cropped (neocus.io.roi), run through the detector, and drawn with its rotated boxes
(colour per structure, score beside; annotated boxes in white). The mAP covers the annotated stills
and only the annotated classes (dark fluid structures), as one JSON line. Reads
../shared/data/real/ncls-examples; writes one PNG.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from neocus.detect.classes import CLASS_INDEX, DETECTOR_CLASSES
from neocus.detect.data import MIN_SHORT_SIDE
from neocus.detect.evaluate import FramePrediction, evaluate_detections
from neocus.detect.infer import Detector
from neocus.geometry import rbox_to_corners
from neocus.io import load_sweep
from neocus.io.roi import apply_roi, detect_sweep_roi
from neocus.vocab import Structure

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples"  # ../shared/data (override: --real)
BOXES = Path(__file__).resolve().parent / "real_still_boxes.json"
TILE = 320


def colour(i: int) -> tuple[int, int, int]:
    hue = int(180 * i / len(DETECTOR_CLASSES))
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw(frame: np.ndarray, dets, crop, title: str, truth=(), *, threshold: float = 0.3) -> np.ndarray:  # noqa: ANN001
    img = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    scale = TILE / max(img.shape[:2])
    img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)))
    idx = {s: i for i, s in enumerate(DETECTOR_CLASSES)}
    for t in truth:
        c = rbox_to_corners(t) if crop is None else crop.from_source(rbox_to_corners(t))
        cv2.polylines(img, [(c * scale).round().astype(np.int32)], True, (255, 255, 255), 1, cv2.LINE_AA)
    for d in (d for d in dets.detections if d.score >= threshold):
        c = rbox_to_corners(d.box.as_tuple())
        c = (crop.from_source(c) if crop is not None else c) * scale
        col = colour(idx[d.structure])
        cv2.polylines(img, [c.round().astype(np.int32)], True, col, 1, cv2.LINE_AA)
        cv2.putText(img, f"{d.structure.value[:10]} {d.score:.2f}", tuple(c[0].round().astype(int)), cv2.FONT_HERSHEY_PLAIN, 0.7, col, 1)
    tile = np.zeros((TILE + 16, TILE, 3), np.uint8)
    tile[16:16 + img.shape[0], :img.shape[1]] = img
    cv2.putText(tile, title, (2, 12), cv2.FONT_HERSHEY_PLAIN, 0.9, (255, 255, 255), 1)
    return tile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--real", type=Path, default=REAL, help="the ncls-examples folder")
    ap.add_argument("--threshold", type=float, default=0.3, help="draw detections scoring at least this")
    ap.add_argument("--sweep-frames", type=int, default=4)
    args = ap.parse_args()
    det = Detector(args.model, score_threshold=0.001, max_detections=100)  # all, for the mAP; drawn above --threshold
    tiles = []
    truth = json.loads(BOXES.read_text()) if BOXES.is_file() else {}
    preds, gts = [], []
    for still in sorted(args.real.glob("*/*.png")):
        key = f"{still.parent.name}/{still.stem}"
        sweep = load_sweep(still)
        cropped = apply_roi(sweep, detect_sweep_roi(sweep))
        fd = det.detect_frames(cropped.frames, crop=cropped.meta.crop)[0]  # boxes in source pixels
        gt = [(b["cx"], b["cy"], b["w"], b["h"], b["angle"]) for b in truth.get(key, [])]
        tiles.append(draw(cropped.frames[0], fd, cropped.meta.crop, key[-8:], gt, threshold=args.threshold))
        if key in truth:
            preds.append(FramePrediction(*fd.arrays()))
            boxes = np.array(gt, float).reshape(-1, 5)  # widened to the detector's convention, in source pixels
            boxes[:, 2:4] = np.maximum(boxes[:, 2:4], MIN_SHORT_SIDE * max(cropped.frames[0].shape) / cropped.meta.crop.scale)
            gts.append((boxes, np.array([CLASS_INDEX[Structure(b["label"])] for b in truth[key]])))
    if gts:
        m = evaluate_detections(preds, gts)
        print(json.dumps({"real_stills": len(gts), "boxes": m.n_true, "map50": round(m.map50, 4), "map50_95": round(m.map50_95, 4),
                          "per_class_ap50": {c.structure: round(c.ap50, 4) for c in m.per_class}}))
    for video in sorted(args.real.glob("*/*.mp4")):
        sweep = load_sweep(video, show_progress=False)
        cropped = apply_roi(sweep, detect_sweep_roi(sweep))
        pick = np.linspace(0, cropped.n_frames - 1, args.sweep_frames + 2).round().astype(int)[1:-1]
        fds = det.detect_frames(cropped.frames[pick])  # boxes in the cropped frames
        for k, fd in zip(pick, fds):
            tiles.append(draw(cropped.frames[k], fd, None, f"{video.stem[:9]} f{k}", threshold=args.threshold))
    cols = 6
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet)
    print(f"wrote {args.out} ({len(tiles)} tiles)")


if __name__ == "__main__":
    main()
