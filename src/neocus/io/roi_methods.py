"""Detection methods of an ultrasound ROI: per-pixel statistics over a sweep, the evidence of changing
(temporal) or dense (still) pixels, outline refinement at full resolution, growing a still's outline to
its fitted side edges, and burned-in overlay pixels (split out of :mod:`neocus.io.roi`, which uses them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from neocus.io.roi_geometry import _MIN_SIDE_SUPPORT, _fitted_outline, _hull, _odd, _polygon_mask, fit_side_line

# Grey-level thresholds (uint8 units) used by detection.
_ACTIVE_RANGE = 3.0  # a pixel whose max - min over the sweep (block-averaged) exceeds this is "changing"
_EDGE_RANGE = 8  # ... and one whose full-resolution max - min exceeds this can extend the outline (refinement)
_STATIC_RANGE = 6  # ... and one below this (full resolution) is "static"
_EDGE_LEVEL = 8  # a still's pixel more than this from the background can extend the outline (refinement)
_DENSE_LEVEL = 2  # a still's pixel more than this from the background counts towards its content density
_OVERLAY_LEVEL = 40  # static overlay pixels are at least this far from the background
_MIN_STATIC_FRAMES = 8  # frames needed before "unchanged" marks a pixel inside the image as overlay
_MIN_GLYPH_AREA = 8  # pixels: smaller static specks are chance, not drawn overlay
_MIN_AREA_FRACTION = 0.02  # the imaging region covers at least this fraction of the frame
_MIN_ACTIVE_FRACTION = 0.01  # below this fraction of changing pixels a sweep is treated as a still


class RoiMethod(StrEnum):
    """Which evidence located the region."""

    TEMPORAL = "temporal"  # pixels that change across the sweep
    STILL = "still"  # intensity, connected components and morphology on one frame
    DICOM_REGION = "dicom_region"  # the DICOM Sequence of Ultrasound Regions
    NONE = "none"  # nothing found: whole frame


@dataclass
class _Stats:
    """Temporal statistics of the analysed area, at work and at full resolution."""

    small: np.ndarray  # float32 [S, h, w]: block-averaged sampled frames
    low: np.ndarray  # uint8 [H, W]: per-pixel minimum over the sampled frames (full resolution)
    high: np.ndarray  # uint8 [H, W]: per-pixel maximum
    middle: np.ndarray  # uint8 [H, W]: the middle sampled frame
    factor: int  # block size of ``small``
    frame_side: int  # longest side of the whole source frame (the analysed area may be a DICOM region)


def _frame_stats(area: np.ndarray, max_frames: int, work_size: int, frame_side: int) -> _Stats:
    """One pass over up to ``max_frames`` evenly spaced frames of ``area`` ``[T, H, W]``."""
    t, h, w = area.shape
    idx = np.unique(np.linspace(0, t - 1, min(t, max_frames)).round().astype(int))
    f = max(1, math.ceil(max(h, w) / work_size))
    hh, ww = max(1, h // f), max(1, w // f)
    small = np.empty((len(idx), hh, ww), np.float32)
    low = area[idx[0]].copy()
    high = area[idx[0]].copy()
    for j, i in enumerate(idx):
        frame = area[i]
        np.minimum(low, frame, out=low)
        np.maximum(high, frame, out=high)
        block = frame[: hh * f, : ww * f]
        small[j] = block if f == 1 else cv2.resize(block, (ww, hh), interpolation=cv2.INTER_AREA)
    return _Stats(small=small, low=low, high=high, middle=area[idx[len(idx) // 2]], factor=f, frame_side=frame_side)


@dataclass
class _Evidence:
    """Imaging evidence at work resolution plus what produced it."""

    content: np.ndarray  # bool [h, w]: changing pixels (sweeps) or non-background content (stills)
    method: RoiMethod
    background: float | None


def _background_level(frame: np.ndarray) -> float | None:
    """The screen's background grey: the most common value of the frame, when it covers >= 5 % of it.

    ``None`` when no value is that common (the image fills the frame: there is no screen background).
    """
    values = frame if frame.dtype == np.uint8 else np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    counts = cv2.calcHist([np.ascontiguousarray(values)], [0], None, [256], [0, 256]).ravel()
    return float(counts.argmax()) if counts.max() >= 0.05 * values.size else None


def _non_background(frame: np.ndarray, background: float | None, level: float) -> np.ndarray:
    """Pixels of a uint8 frame more than ``level`` from the background, after a 3x3 median (speckle, noise)."""
    if background is None:
        return np.ones(frame.shape, bool)
    return np.abs(cv2.medianBlur(np.ascontiguousarray(frame), 3).astype(np.int16) - round(background)) > level


def _density_window(st: _Stats) -> int:
    """Side (full-resolution pixels) of the window over which a still's content density is measured."""
    return max(3, round(st.frame_side / 40))


def _dense_content(frame: np.ndarray, background: float | None, f: int, window: int) -> np.ndarray:
    """Where most pixels around differ from the background, at ``1/f`` resolution (bool).

    Speckle fills the image densely; burned-in glyphs cover only a small part of the area they span,
    so a local density of non-background pixels >= 0.5 keeps the image and drops text. A straight edge
    of a dense region keeps its place (the density there is 0.5).
    """
    h, w = frame.shape
    hh, ww = max(1, h // f), max(1, w // f)
    nonbg = _non_background(frame, background, _DENSE_LEVEL).astype(np.float32)[: hh * f, : ww * f]
    density = nonbg if f == 1 else cv2.resize(nonbg, (ww, hh), interpolation=cv2.INTER_AREA)
    k = _odd(window / f)
    density = cv2.blur(density, (k, k))
    return density >= 0.5


def _evidence(st: _Stats, background: float | None) -> _Evidence:
    """Imaging evidence at work resolution: changing pixels of a sweep, else a still's dense content."""
    small = st.small
    if small.shape[0] >= 3:
        changing = (small.max(axis=0) - small.min(axis=0)) > _ACTIVE_RANGE
        if changing.mean() >= _MIN_ACTIVE_FRACTION:
            return _Evidence(changing, RoiMethod.TEMPORAL, background)
    still = _dense_content(st.middle, background, st.factor, _density_window(st))
    return _Evidence(still, RoiMethod.STILL, background)


def _full_res_evidence(st: _Stats, method: RoiMethod, background: float | None, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    if method is RoiMethod.TEMPORAL:
        return (st.high[y0:y1, x0:x1].astype(np.int16) - st.low[y0:y1, x0:x1]) > _EDGE_RANGE
    return _non_background(st.middle[y0:y1, x0:x1], background, _EDGE_LEVEL)


def _refine_outline(st: _Stats, coarse: np.ndarray, method: RoiMethod, background: float | None) -> np.ndarray:
    """Convex outline at full resolution from the coarse one (work resolution, corners in pixels).

    The outline is the hull of full-resolution evidence within ``pad`` (one or two blocks) of the coarse
    outline together with the coarse outline shrunk by ``pad``: each edge moves by at most ``pad``, so
    sparse full-resolution evidence (faint speckle) cannot shrink the region found at work resolution.
    """
    h, w = st.low.shape
    pad = (2 if method is RoiMethod.TEMPORAL else 1) * st.factor
    x, y, bw, bh = cv2.boundingRect(coarse.astype(np.int32).reshape(-1, 1, 2))
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(w, x + bw + pad), min(h, y + bh + pad)
    evidence = _full_res_evidence(st, method, background, (x0, y0, x1, y1))
    region = _polygon_mask(coarse, y1 - y0, x1 - x0, offset=(x0, y0)).astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pad + 1, 2 * pad + 1))
    near = cv2.dilate(region, disc).astype(bool)
    core = cv2.erode(region, disc).astype(bool)
    keep = (evidence & near).astype(np.uint8)
    keep = cv2.morphologyEx(keep, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool) | core
    # the hull depends only on each row's extreme pixels: hull those (fast) instead of every pixel
    rows = np.flatnonzero(keep.any(axis=1))
    if len(rows) < 2:
        return coarse
    first = np.argmax(keep[rows], axis=1)
    last = keep.shape[1] - 1 - np.argmax(keep[rows, ::-1], axis=1)
    pts = np.concatenate([np.stack([first, rows], 1), np.stack([last, rows], 1)])
    return _hull(pts + np.array([x0, y0]))


def _extend_to_side_lines(
    frame: np.ndarray, outline: np.ndarray, background: float | None, frame_side: int
) -> tuple[np.ndarray, str | None]:
    """A still's outline grown to its fitted side edges: ``(outline, note or None)``.

    Boundary points are each row's first and last non-background pixel (full resolution) within
    ``frame_side / 60`` of the current outline's span of that row. Each side needs support over
    ``_MIN_SIDE_SUPPORT`` of the region's height; the fitted field (:func:`_fitted_outline`) is clipped
    to the frame and to the region's rows, united with the outline (never shrinking it), and refused when
    the area it adds reaches overlay drawn over its edge (:func:`_crosses_overlay`).
    """
    if background is None or len(outline) < 3:
        return outline, None
    h, w = frame.shape
    top, bottom = int(outline[:, 1].min()), int(outline[:, 1].max())
    if bottom - top < 10:
        return outline, None
    inside = _polygon_mask(outline, h, w)
    # the band: each row's span of the outline widened by m on both sides
    m = max(1, round(frame_side / 60))
    span = inside[top : bottom + 1]
    lo = np.argmax(span, axis=1) - m
    hi = w - 1 - np.argmax(span[:, ::-1], axis=1) + m
    cols = np.arange(w)
    band = (cols >= lo[:, None]) & (cols <= hi[:, None]) & span.any(axis=1)[:, None]
    ev = _non_background(frame[top : bottom + 1], background, _DENSE_LEVEL + 1) & band
    ev = cv2.morphologyEx(ev.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    rows = np.flatnonzero(ev.any(axis=1))
    if len(rows) < 10:
        return outline, None
    first = np.argmax(ev[rows], axis=1)
    last = w - 1 - np.argmax(ev[rows, ::-1], axis=1)
    rows = rows + top
    left = fit_side_line(rows, first, -1)
    right = fit_side_line(rows, last, +1)
    need = _MIN_SIDE_SUPPORT * (bottom - top)
    if left is None or right is None or min(left.y_span, right.y_span) < need:
        return outline, None
    poly = _fitted_outline(left, right, outline)
    if poly is None:
        return outline, None
    poly[:, 0] = np.clip(poly[:, 0], 0, w - 1)
    poly[:, 1] = np.clip(poly[:, 1], top, bottom)
    grown = _hull(np.concatenate([outline, np.rint(poly)]))
    added = _polygon_mask(grown, h, w) & ~inside
    if not added.any():
        return outline, None
    if _crosses_overlay(frame, background, grown, added):
        return outline, None
    return grown.astype(np.int32), "outline extended to the fitted side edges"


def _crosses_overlay(frame: np.ndarray, background: float, grown: np.ndarray, added: np.ndarray) -> bool:
    """Whether the area an extension adds reaches burned-in overlay: text, a bar or a scale.

    Overlay-bright components (``_OVERLAY_LEVEL`` from the background) with at least ``_MIN_GLYPH_AREA``
    pixels in the added area and a quarter or more of their pixels outside the grown outline are drawn
    over its edge (echoes in a dark corner lie wholly inside).
    """
    h, w = frame.shape
    x, y, bw, bh = cv2.boundingRect(grown.astype(np.int32).reshape(-1, 1, 2))
    m = 8
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(w, x + bw + m), min(h, y + bh + m)
    bright = (np.abs(frame[y0:y1, x0:x1].astype(np.int16) - round(background)) >= _OVERLAY_LEVEL).astype(np.uint8)
    n, labels = cv2.connectedComponents(bright, connectivity=8)
    if n <= 1:
        return False
    inside = _polygon_mask(grown, y1 - y0, x1 - x0, offset=(x0, y0))
    n_added = np.bincount(labels[added[y0:y1, x0:x1]], minlength=n)
    area = np.bincount(labels.ravel(), minlength=n)
    n_out = area - np.bincount(labels[inside], minlength=n)
    crossing = (n_added >= _MIN_GLYPH_AREA) & (n_out >= np.maximum(3, 0.25 * area))
    crossing[0] = False
    return bool(crossing.any())


def _overlay_pixels(
    low: np.ndarray, high: np.ndarray, inside: np.ndarray, method: RoiMethod, background: float | None, n_frames: int
) -> np.ndarray:
    """Burned-in overlay pixels in a crop (bool ``[h, w]``, dilated by 2 px).

    ``low`` / ``high``: per-pixel min / max over the sampled frames (equal for a still). Candidates are
    pixels far from the background in every frame that do not change (sweeps) -- or, for a still, any
    such pixels -- forming thin strokes (gone after a 5x5 opening: glyphs, ticks, markers, logos). A
    candidate component is overlay when a quarter of it or more lies clearly outside the outline (a logo
    drawn over the sector's edge) or, for sweeps, when it lies inside, is small and is not at the probe
    face (the near field is often still across a sweep) -- given at least ``_MIN_STATIC_FRAMES`` frames,
    fewer leave bright tissue unchanged by chance.
    """
    h, w = inside.shape
    if background is None:  # no screen background: nothing is known to be drawn over it
        return np.zeros((h, w), bool)
    bg = round(background)
    lo, hi = low.astype(np.int16), high.astype(np.int16)
    # min over frames of |value - background|: 0 when the background level lies within [low, high]
    level = np.where(lo > bg, lo - bg, np.where(hi < bg, bg - hi, 0))
    candidates = level >= _OVERLAY_LEVEL
    if method is RoiMethod.TEMPORAL:
        candidates &= (hi - lo) <= _STATIC_RANGE
    if not candidates.any():
        return np.zeros((h, w), bool)
    cand = candidates.astype(np.uint8)
    thick = cv2.morphologyEx(cand, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
    far_outside = ~cv2.dilate(inside.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    lab = labels.ravel()
    n_in = np.bincount(lab, weights=inside.ravel(), minlength=n)
    n_far = np.bincount(lab, weights=far_outside.ravel(), minlength=n)
    n_thick = np.bincount(lab, weights=thick.ravel(), minlength=n)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    thin = n_thick <= 0.3 * area
    small = area <= 0.005 * max(1, int(inside.sum()))
    straddles = (n_far >= np.maximum(3, 0.25 * area)) & (n_in > 0)
    # static specks along the probe face (the near field is often still across a sweep) are image
    below_face = stats[:, cv2.CC_STAT_TOP] > max(2, 0.02 * h)
    static_known = method is RoiMethod.TEMPORAL and n_frames >= _MIN_STATIC_FRAMES
    inner_text = static_known & small & (n_in > 0) & below_face
    overlay = thin & (area >= _MIN_GLYPH_AREA) & (straddles | inner_text)
    overlay[0] = False
    mask = overlay[labels] & inside
    if mask.any():
        mask = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(bool) & inside
    return mask
