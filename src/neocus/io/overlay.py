"""Pictures of a detected ultrasound ROI: the crop, the outline and the blanked pixels on a frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from neocus.atomic import atomic_write_bytes
from neocus.errors import InputFileError, NeocusError
from neocus.io.roi import Roi

_CROP_BGR = (80, 220, 80)  # green rectangle: the crop
_OUTLINE_BGR = (60, 60, 255)  # red polygon: the imaging region's outline
_DIM = 0.35  # brightness kept outside the imaging mask


def representative_frame(frames: np.ndarray) -> np.ndarray:
    """The frame to draw on: the one with the most content (highest mean) among up to 16 evenly spaced."""
    stack = frames if frames.ndim == 3 else frames[None]
    idx = np.unique(np.linspace(0, stack.shape[0] - 1, min(16, stack.shape[0])).round().astype(int))
    return stack[idx[int(np.argmax([stack[i].mean() for i in idx]))]]


def draw_roi(frame: np.ndarray, roi: Roi) -> np.ndarray:
    """A BGR uint8 picture of ``frame`` (``[H, W]`` uint8, the source frame) with ``roi`` drawn on it.

    Pixels outside the imaging mask are dimmed (burned-in text, bars and scales therefore appear dark),
    the crop is a green rectangle, the outline a red polygon, with a label giving shape and box.
    """
    c = roi.crop
    if frame.shape != (c.source_height, c.source_width):
        raise NeocusError(f"is {frame.shape}, ROI was detected on {(c.source_height, c.source_width)}", where="frame")
    keep = roi.source_mask()
    bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    bgr[~keep] = (bgr[~keep] * _DIM).astype(np.uint8)
    thick = max(1, round(max(frame.shape) / 500))
    cv2.rectangle(bgr, (c.x, c.y), (c.x + c.w - 1, c.y + c.h - 1), _CROP_BGR, thick)
    if len(roi.outline) >= 3:
        cv2.polylines(bgr, [roi.outline.reshape(-1, 1, 2).astype(np.int32)], True, _OUTLINE_BGR, thick)
    label = f"{roi.shape.value} x={c.x} y={c.y} w={c.w} h={c.h} ({roi.method.value}, {roi.confidence:.2f})"
    scale = max(0.4, max(frame.shape) / 1800)
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    ty = min(frame.shape[0] - base - 2, c.y + c.h + th + 6)
    tx = min(max(0, c.x), max(0, frame.shape[1] - tw - 2))
    cv2.putText(bgr, label, (tx, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, _CROP_BGR, thick, cv2.LINE_AA)
    return bgr


def check_overlay_path(path: str | Path) -> Path:
    """``path`` if an overlay PNG can be written there (a ``.png`` name in an existing folder), else a user error."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputFileError("the overlay is written as PNG", where=path, hint="give a file name ending in .png")
    if not path.parent.is_dir():
        raise InputFileError("the folder does not exist", where=path.parent, hint="create it first")
    return path


def save_roi_overlay(frames: np.ndarray, roi: Roi, path: str | Path) -> Path:
    """Draw ``roi`` on a representative frame of ``frames`` and write it as PNG to ``path``.

    Written to a temporary file beside ``path`` and renamed, so a failure leaves nothing behind.
    """
    path = check_overlay_path(path)
    image = draw_roi(representative_frame(frames), roi)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
        raise RuntimeError("PNG encoding failed")
    try:
        return atomic_write_bytes(path, encoded.tobytes())
    except OSError as exc:
        raise InputFileError(f"cannot write the overlay: {exc.strerror or exc}", where=path) from None
