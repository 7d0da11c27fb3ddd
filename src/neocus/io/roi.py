"""Ultrasound region of interest: find the imaging sector of a screen capture and crop to it.

A scanner's screen capture holds the image itself (a sector, a trapezoid or a rectangle) surrounded by
burned-in text, a greyscale / colour bar, a depth scale and logos. :func:`detect_roi` finds the image:

* **sweeps** (several frames that differ): pixels whose value changes across the sweep are imaging
  pixels; static overlays (text, bars, scales, logos) do not change. The largest connected region of
  changing pixels, made convex, is the imaging region -- dark parts of a sector that never echo are
  recovered by the convex hull.
* **stills** (one frame, or frames that do not change): where most pixels differ from the screen's
  background (speckle fills the image densely, glyphs do not), opened to remove thin strokes and closed
  to join speckle; the largest component wins. A still's sector edges are often dark, so the region's
  straight side edges are fitted (RANSAC over each row's extreme points, where the near field echoes
  out to the edge) and the outline grown to the field they bound (:func:`fit_side_line`).
* **DICOM** with a Sequence of Ultrasound Regions: the region (2-D, tissue first) *is* the crop; image
  analysis inside it only supplies the mask and the shape. Regions that do not fit the frame are
  distrusted (see :func:`choose_region`).

Conventions: pixel coordinates, x right, y down, origin at the top-left of the source frame. The crop
is a :class:`~neocus.io.types.CropRecord` (``x, y, w, h`` of the source frame), so any point in the
cropped image maps back with ``roi.crop.to_source``. ``roi.mask`` (``[h, w]`` bool, the crop's size)
is True on imaging pixels: inside the detected outline and not under a burned-in overlay.
Detection samples at most ``max_frames`` frames, works on a block-averaged copy (longest side about
``work_size`` pixels) and refines the outline at full resolution: about 0.1-0.3 s for a 118-frame
1442x898 sweep on one CPU core (benchmarks/bench_io.py).

Layout: this module holds the result types and the entry points; the detection methods live in
:mod:`neocus.io.roi_methods` and the geometry (regions, outlines, side lines, shape) in
:mod:`neocus.io.roi_geometry`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from neocus.errors import NeocusError
from neocus.io.roi_geometry import (  # noqa: F401  (SideLine, fit_side_line: re-exported)
    RoiShape,
    SideLine,
    _hull,
    _largest_region,
    _polygon_mask,
    classify_shape,
    fit_side_line,
)
from neocus.io.roi_methods import (
    _MIN_AREA_FRACTION,
    RoiMethod,
    _background_level,
    _evidence,
    _extend_to_side_lines,
    _frame_stats,
    _overlay_pixels,
    _refine_outline,
)
from neocus.io.types import CropRecord, Sweep
from neocus.results import AsDict


@dataclass(frozen=True)
class UltrasoundRegion:
    """One item of a DICOM Sequence of Ultrasound Regions: pixel box, coordinates inclusive as in DICOM."""

    x0: int
    y0: int
    x1: int
    y1: int
    spatial_format: int | None = None  # (0018,6012): 1 = 2D, 2 = M-mode, 3 = spectral, 4 = waveform ...
    data_type: int | None = None  # (0018,6014): 1 = tissue, 2 = colour flow ...

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0 + 1) * max(0, self.y1 - self.y0 + 1)


@dataclass(frozen=True)
class Roi(AsDict):
    """The imaging region of a sweep.

    ``crop`` is the bounding rectangle in the source frame; ``mask`` (``[crop.h, crop.w]`` bool) marks
    imaging pixels inside it; ``outline`` is the region's convex outline as ``[N, 2]`` (x, y) points in
    source-frame pixels (empty when unknown); ``confidence`` is in [0, 1]; ``notes`` explain choices.
    """

    crop: CropRecord
    shape: RoiShape
    mask: np.ndarray = field(metadata={"to_dict": False})
    outline: np.ndarray = field(metadata={"to_dict": False})
    method: RoiMethod
    confidence: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def box(self) -> dict[str, int]:
        """The crop as ``{"x", "y", "w", "h"}`` (source-frame pixels)."""
        return {"x": self.crop.x, "y": self.crop.y, "w": self.crop.w, "h": self.crop.h}

    def source_mask(self) -> np.ndarray:
        """``mask`` placed in the full source frame: ``[source_height, source_width]`` bool."""
        c = self.crop
        full = np.zeros((c.source_height, c.source_width), bool)
        full[c.y : c.y + c.h, c.x : c.x + c.w] = self.mask
        return full

    def summary(self) -> dict[str, object]:
        """Plain JSON-ready summary for people: the box, shape, method, confidence, imaging fraction and
        notes, rounded (``to_dict()`` gives the fields without the mask and outline arrays)."""
        return {
            **self.box(),
            "shape": self.shape.value,
            "method": self.method.value,
            "confidence": round(float(self.confidence), 3),
            "mask_fraction": round(float(self.mask.mean()) if self.mask.size else 0.0, 4),
            "notes": list(self.notes),
        }


# ----------------------------------------------------------------------------------------------------
# DICOM regions


def choose_region(
    regions: Sequence[UltrasoundRegion], height: int, width: int
) -> tuple[tuple[int, int, int, int] | None, str]:
    """Pick the 2-D imaging region that fits a ``height x width`` frame: ``((x, y, w, h) or None, note)``.

    Prefers 2-D tissue regions, then any 2-D region, then any region, largest first. A region whose top-left
    corner lies outside the frame, or that keeps less than half its area once clipped to the frame, is
    distrusted (files that were resized or cropped after the header was written carry such regions).
    """
    if not regions:
        return None, "no DICOM ultrasound region"

    def rank(r: UltrasoundRegion) -> tuple[int, int]:
        tier = 0 if (r.spatial_format == 1 and r.data_type == 1) else 1 if r.spatial_format == 1 else 2
        return tier, -r.area

    rejected = []
    for r in sorted(regions, key=rank):
        if r.spatial_format not in (None, 1):
            continue
        if r.area <= 0 or not (0 <= r.x0 < width and 0 <= r.y0 < height):
            rejected.append(r)
            continue
        x1, y1 = min(r.x1, width - 1), min(r.y1, height - 1)
        clipped = (x1 - r.x0 + 1) * (y1 - r.y0 + 1)
        if clipped < 0.5 * r.area:
            rejected.append(r)
            continue
        note = "DICOM ultrasound region" + (" (clipped to the frame)" if clipped < r.area else "")
        return (r.x0, r.y0, x1 - r.x0 + 1, y1 - r.y0 + 1), note
    if rejected:
        return None, "DICOM ultrasound region does not fit the frame; ignored"
    return None, "no 2-D DICOM ultrasound region"


# ----------------------------------------------------------------------------------------------------
# Detection


def _as_stack(frames: np.ndarray) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.dtype != np.uint8 or 0 in arr.shape:
        raise NeocusError(f"detect_roi expects uint8 frames [T, H, W] or [H, W], got {arr.dtype} {arr.shape}", where="frames")
    return arr


def detect_roi(
    frames: np.ndarray,
    *,
    regions: Sequence[UltrasoundRegion] | None = None,
    max_frames: int = 48,
    work_size: int = 384,
) -> Roi:
    """Find the imaging region of greyscale frames ``[T, H, W]`` (or one ``[H, W]`` still), uint8.

    ``regions``: DICOM ultrasound regions (see :func:`sweep_regions`); one that fits the frame sets the
    crop. ``max_frames``: frames sampled evenly for the temporal statistics.
    ``work_size``: detection runs on a block-averaged copy whose longest side is about this many pixels.
    """
    stack = _as_stack(frames)
    t, h, w = stack.shape
    notes: list[str] = []
    region_box, region_note = choose_region(regions or [], h, w)
    if regions:
        notes.append(region_note)

    # Analyse inside the DICOM region when there is one, else the whole frame.
    ox, oy, aw, ah = region_box if region_box else (0, 0, w, h)
    st = _frame_stats(stack[:, oy : oy + ah, ox : ox + aw], max_frames, work_size, max(h, w))
    f = st.factor
    ev = _evidence(st, _background_level(stack[t // 2]))
    region, share = _largest_region(ev.content)
    min_area = _MIN_AREA_FRACTION * region.size
    found = region.sum() >= max(min_area, 9)

    outline = np.zeros((0, 2), np.int32)
    if found:
        pts = np.argwhere(region)[:, ::-1]  # (x, y) at work resolution
        # each work pixel covers [x f, (x + 1) f): take both corners so the outline spans the block
        coarse = _hull(np.concatenate([pts * f, (pts + 1) * f - 1]))
        outline = _refine_outline(st, coarse, ev.method, ev.background)
        notes.append(
            "imaging region from "
            + ("pixels that change across the sweep" if ev.method is RoiMethod.TEMPORAL else "one still frame")
        )
        if ev.method is RoiMethod.STILL:
            outline, side_note = _extend_to_side_lines(st.middle, outline, ev.background, st.frame_side)
            if side_note:
                notes.append(side_note)
        outline = outline + np.array([ox, oy])
    else:
        notes.append("no image-like region found")

    if region_box is not None:
        x, y, cw, chh = region_box
        method = RoiMethod.DICOM_REGION
        inside = _polygon_mask(outline, chh, cw, offset=(x, y)) if found else np.zeros((chh, cw), bool)
        # Trust the analysis for the mask only when it fills a good part of the region.
        if not found or inside.mean() < 0.3:
            inside = np.ones((chh, cw), bool)
            outline = np.array([[x, y], [x + cw - 1, y], [x + cw - 1, y + chh - 1], [x, y + chh - 1]], np.int32)
            shape = RoiShape.UNKNOWN
            notes.append("outline not resolved inside the DICOM region; using the whole region")
        else:
            shape = classify_shape(region)
        confidence = 0.95
    elif found:
        x, y, cw, chh = cv2.boundingRect(outline.astype(np.int32).reshape(-1, 1, 2))
        method = ev.method
        inside = _polygon_mask(outline, chh, cw, offset=(x, y))
        shape = classify_shape(region)
        coverage = min(1.0, float(region.sum()) / max(1.0, 4 * min_area))
        confidence = float(np.clip(share * coverage * (0.95 if method is RoiMethod.TEMPORAL else 0.8), 0.0, 1.0))
    else:
        x, y, cw, chh = 0, 0, w, h
        method, shape, confidence = RoiMethod.NONE, RoiShape.UNKNOWN, 0.0
        inside = np.ones((h, w), bool)
        notes.append("ROI is the whole frame")

    mask = inside
    if method is not RoiMethod.NONE:
        sx, sy = x - ox, y - oy  # crop position inside the analysed area
        low = st.low[sy : sy + chh, sx : sx + cw]
        high = st.high[sy : sy + chh, sx : sx + cw]
        overlay = _overlay_pixels(low, high, inside, ev.method, ev.background, st.small.shape[0])
        if overlay.any():
            notes.append(f"blanked {int(overlay.sum())} burned-in overlay pixels inside the outline")
            mask = inside & ~overlay

    crop = CropRecord(x=int(x), y=int(y), w=int(cw), h=int(chh), source_height=h, source_width=w)
    return Roi(crop=crop, shape=shape, mask=mask, outline=np.asarray(outline, np.int32), method=method,
               confidence=confidence, notes=tuple(notes))


def sweep_regions(sweep: Sweep) -> list[UltrasoundRegion]:
    """The DICOM ultrasound region the reader chose for a sweep (``kept_tags['us_region_*']``), if any.

    :func:`neocus.io.dicom.read_dicom` keeps the largest 2-D tissue region of the Sequence of Ultrasound
    Regions (its pixel spacing comes from it only when it fits the frame); other formats have none.
    """
    tags = sweep.meta.kept_tags
    keys = ("us_region_x0", "us_region_y0", "us_region_x1", "us_region_y1")
    if sweep.meta.format != "dicom" or not all(k in tags for k in keys):
        return []
    x0, y0, x1, y1 = (int(tags[k]) for k in keys)
    return [UltrasoundRegion(x0, y0, x1, y1, spatial_format=1, data_type=1)]


def detect_sweep_roi(sweep: Sweep, *, max_frames: int = 48, work_size: int = 384) -> Roi:
    """:func:`detect_roi` for a decoded sweep, using its DICOM ultrasound regions when it has any."""
    regions = sweep_regions(sweep)
    return detect_roi(sweep.frames, regions=regions or None, max_frames=max_frames, work_size=work_size)


# ----------------------------------------------------------------------------------------------------
# Applying


def apply_roi(sweep: Sweep, roi: Roi, *, blank: bool = True) -> Sweep:
    """Crop a sweep to ``roi`` (and, with ``blank``, set non-imaging pixels inside the crop to 0).

    The returned sweep's ``meta.crop`` records the crop in the coordinates of the original source frame
    (composed with any earlier crop), so ``meta.crop.to_source`` maps any point back.
    """
    c = roi.crop
    if (c.source_height, c.source_width) != (sweep.height, sweep.width):
        raise NeocusError(
            f"ROI was detected on {c.source_width}x{c.source_height} frames, sweep is {sweep.width}x{sweep.height}",
            where="roi", hint="detect the ROI on this sweep",
        )
    frames = sweep.frames[:, c.y : c.y + c.h, c.x : c.x + c.w].copy()
    if blank and not roi.mask.all():
        frames *= roi.mask  # broadcast over frames: 0 outside the mask, unchanged inside
    prior = sweep.meta.crop
    crop = c
    if prior is not None:
        if prior.scale != 1.0:
            raise NeocusError("cannot compose an ROI crop with an earlier resized crop", where="sweep", hint="crop before resizing")
        crop = CropRecord(x=prior.x + c.x, y=prior.y + c.y, w=c.w, h=c.h,
                          source_height=prior.source_height, source_width=prior.source_width)
    meta = dataclasses.replace(sweep.meta, crop=crop)
    return Sweep(frames=frames, meta=meta)  # a copy, contiguous


@dataclass(frozen=True)
class CroppedSweep:
    """A sweep cut to its imaging region (:func:`crop_to_imaging_region`).

    ``roi`` is None when no imaging region was found; then ``sweep`` is the input, whole, and ``reason``
    says why (the detector and the screen then work on the whole frame).
    """

    sweep: Sweep
    roi: Roi | None
    reason: str | None = None


def crop_to_imaging_region(sweep: Sweep) -> CroppedSweep:
    """The sweep cropped to its imaging region, non-imaging pixels blanked; the whole sweep when none is found.

    The one ROI policy of the pipeline: :meth:`neocus.detect.Detector.detect_sweep`, ``neocus screen``
    and ``neocus views`` all crop through it, so a sweep is seen the same way by each of them.
    """
    try:
        roi = detect_sweep_roi(sweep)
    except NeocusError as exc:
        return CroppedSweep(sweep, None, exc.what)
    return CroppedSweep(apply_roi(sweep, roi), roi)
