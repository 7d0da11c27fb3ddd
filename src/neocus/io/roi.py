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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

from neocus.io.types import CropRecord, Sweep

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


class RoiShape(StrEnum):
    """Outline of the imaging region."""

    SECTOR = "sector"  # fan: an apex or a curved top (phased / convex / curvilinear probes)
    TRAPEZOID = "trapezoid"  # flat top, sides diverging with depth (linear probe with steered / virtual-convex field)
    RECTANGLE = "rectangle"  # flat top, parallel sides (linear probe)
    UNKNOWN = "unknown"  # nothing image-like found; the ROI is the whole frame


class RoiMethod(StrEnum):
    """Which evidence located the region."""

    TEMPORAL = "temporal"  # pixels that change across the sweep
    STILL = "still"  # intensity, connected components and morphology on one frame
    DICOM_REGION = "dicom_region"  # the DICOM Sequence of Ultrasound Regions
    NONE = "none"  # nothing found: whole frame


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
class Roi:
    """The imaging region of a sweep.

    ``crop`` is the bounding rectangle in the source frame; ``mask`` (``[crop.h, crop.w]`` bool) marks
    imaging pixels inside it; ``outline`` is the region's convex outline as ``[N, 2]`` (x, y) points in
    source-frame pixels (empty when unknown); ``confidence`` is in [0, 1]; ``notes`` explain choices.
    """

    crop: CropRecord
    shape: RoiShape
    mask: np.ndarray
    outline: np.ndarray
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

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready summary: the box, shape, method, confidence, imaging fraction and notes."""
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


@dataclass
class _Stats:
    """Temporal statistics of the analysed area, at work and at full resolution."""

    small: np.ndarray  # float32 [S, h, w]: block-averaged sampled frames
    low: np.ndarray  # uint8 [H, W]: per-pixel minimum over the sampled frames (full resolution)
    high: np.ndarray  # uint8 [H, W]: per-pixel maximum
    middle: np.ndarray  # uint8 [H, W]: the middle sampled frame
    factor: int  # block size of ``small``
    frame_size: int  # longest side of the whole source frame (the analysed area may be a DICOM region)


def _frame_stats(area: np.ndarray, max_frames: int, work_size: int, frame_size: int) -> _Stats:
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
    return _Stats(small=small, low=low, high=high, middle=area[idx[len(idx) // 2]], factor=f, frame_size=frame_size)


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


def _odd(n: float) -> int:
    k = max(1, round(n))
    return k if k % 2 == 1 else k + 1


def _non_background(frame: np.ndarray, background: float | None, level: float) -> np.ndarray:
    """Pixels of a uint8 frame more than ``level`` from the background, after a 3x3 median (speckle, noise)."""
    if background is None:
        return np.ones(frame.shape, bool)
    return np.abs(cv2.medianBlur(np.ascontiguousarray(frame), 3).astype(np.int16) - round(background)) > level


def _density_window(st: _Stats) -> int:
    """Side (full-resolution pixels) of the window over which a still's content density is measured."""
    return max(3, round(st.frame_size / 40))


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


def _largest_region(content: np.ndarray) -> tuple[np.ndarray, float]:
    """Open (drop thin strokes), close (join speckle), keep the largest component, fill it.

    Returns the filled component (bool) and the share of all cleaned content that it holds.
    """
    size = max(content.shape)
    u8 = content.astype(np.uint8)
    opened = cv2.morphologyEx(u8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    k = _odd(0.025 * size)
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    if n <= 1:
        return np.zeros_like(content, dtype=bool), 0.0
    areas = stats[1:, cv2.CC_STAT_AREA]
    best = 1 + int(np.argmax(areas))
    region = labels == best
    share = float(areas.max() / max(1, areas.sum()))
    return region, share


def _hull(points_xy: np.ndarray) -> np.ndarray:
    if len(points_xy) < 3:
        return np.zeros((0, 2), np.int32)
    return cv2.convexHull(points_xy.astype(np.int32).reshape(-1, 1, 2)).reshape(-1, 2)


def _polygon_mask(polygon: np.ndarray, height: int, width: int, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    if len(polygon) >= 3:
        pts = (np.asarray(polygon) - np.asarray(offset)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)


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


# Side-edge fitting (stills): a still's sector edges are often dark, so the dense-content region stops
# short of them. Where echoes do reach an edge, the region's boundary points lie on a straight line; the
# two side lines and the deepest echo give back the whole outline (see _fitted_outline).
_SIDE_TOL = 3.0  # px: a boundary point this close to a fitted side line supports it
_SIDE_TRIALS = 256  # RANSAC candidate lines per side
_MIN_SIDE_SUPPORT = 0.15  # the supporting points span at least this fraction of the region's height


@dataclass(frozen=True)
class SideLine:
    """A straight side edge ``x = a + b * y`` (source-frame pixels) and the rows that support it."""

    a: float
    b: float
    support: int  # boundary points within ``_SIDE_TOL`` of the line
    y_span: float  # rows between the highest and the lowest supporting point
    y_high: float  # the highest supporting row

    def x_at(self, y: float | np.ndarray) -> float | np.ndarray:
        return self.a + self.b * y


def fit_side_line(ys: np.ndarray, xs: np.ndarray, outward: int, seed: int = 0) -> SideLine | None:
    """RANSAC fit of one side edge to the region's extreme points per row (``xs`` at rows ``ys``).

    ``outward`` is -1 for the left side (outside is smaller x), +1 for the right. Where a row's echoes
    stop short of the edge its extreme point lies inside, so the edge is the line that most points touch
    while few lie beyond it: score = points within ``_SIDE_TOL`` minus twice the points outside, each
    point weighted from 1 (top row) down to 0.25 (deepest row), as the near field echoes out to the edge. Only
    lines along which the field keeps its width or widens with depth are candidates (a rounded echo
    inside cannot pose as a converging edge). Deterministic (seeded); ``None`` with fewer than 3 points.
    """
    n = len(ys)
    if n < 3:
        return None
    y, x = ys.astype(np.float64), xs.astype(np.float64)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, _SIDE_TRIALS)
    j = rng.integers(0, n, _SIDE_TRIALS)
    ok = np.abs(y[i] - y[j]) >= max(2.0, 0.05 * (y.max() - y.min()))
    i, j = i[ok], j[ok]
    if len(i) == 0:
        return None
    b = (x[j] - x[i]) / (y[j] - y[i])
    widens = outward * b >= -0.02  # an imaging field keeps its width or widens with depth
    i, j, b = i[widens], j[widens], b[widens]
    if len(i) == 0:
        return None
    a = x[i] - b * y[i]
    beyond = outward * (x[None, :] - (a[:, None] + b[:, None] * y[None, :]))  # > 0: outside the line
    near = np.abs(beyond) <= _SIDE_TOL
    # rows near the probe face count more: the near field echoes out to the edge, deep rows often do not
    weight = 1.0 - 0.75 * (y - y.min()) / max(1.0, float(np.ptp(y)))
    score = near @ weight - 2 * ((beyond > _SIDE_TOL) @ weight)
    best = int(np.argmax(score))
    inl = near[best]
    if inl.sum() < 3:
        return None
    aa, bb = float(a[best]), float(b[best])
    for tol in (_SIDE_TOL, _SIDE_TOL / 2, _SIDE_TOL / 2):  # least squares on the supporting points, tightened
        inl = np.abs(x - (aa + bb * y)) <= tol
        if inl.sum() < 3:
            return None
        bb, aa = np.polyfit(y[inl], x[inl], 1)
    inl = np.abs(x - (aa + bb * y)) <= _SIDE_TOL
    return SideLine(a=float(aa), b=float(bb), support=int(inl.sum()), y_span=float(np.ptp(y[inl])),
                    y_high=float(y[inl].min()))


def _fitted_outline(left: SideLine, right: SideLine, outline: np.ndarray) -> np.ndarray | None:
    """The field bounded by the two side lines, from each side's highest support down to the far end.

    Diverging sides are rays from a (virtual) apex above the image -- a phased / convex sector, or a
    linear probe's steered virtual-convex trapezoid -- and every ray has the same length, so the far end
    is the arc about that apex through the outline point farthest from it: the sides' lower corners lie
    where the arc meets them even when no echo reaches them. Parallel sides end at the outline's lowest
    row. ``None`` when the sides converge with depth or meet below their highest support.
    """
    spread = right.b - left.b  # width gained per row
    bottom = float(outline[:, 1].max())
    top_l, top_r = left.y_high, right.y_high
    if spread < -0.02:
        return None
    if spread <= 0.02:  # parallel: a rectangle (or a steered parallelogram)
        return np.array([[left.x_at(top_l), top_l], [right.x_at(top_r), top_r],
                         [right.x_at(bottom), bottom], [left.x_at(bottom), bottom]])
    ay = (left.a - right.a) / spread
    ax = float(left.x_at(ay))
    if ay > min(top_l, top_r) + _SIDE_TOL:
        return None
    radius = float(np.hypot(outline[:, 0] - ax, outline[:, 1] - ay).max())
    theta_l = math.atan(left.b)  # each side's angle from straight down (x = a + b y)
    theta_r = math.atan(right.b)
    angles = np.linspace(theta_r, theta_l, 33)
    arc = np.stack([ax + radius * np.sin(angles), ay + radius * np.cos(angles)], 1)
    return np.concatenate([[[left.x_at(top_l), top_l], [right.x_at(top_r), top_r]], arc])


def _extend_to_side_lines(
    frame: np.ndarray, outline: np.ndarray, background: float | None, frame_size: int
) -> tuple[np.ndarray, str | None]:
    """A still's outline grown to its fitted side edges: ``(outline, note or None)``.

    Boundary points are each row's first and last non-background pixel (full resolution) within
    ``frame_size / 60`` of the current outline's span of that row. Each side needs support over
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
    m = max(1, round(frame_size / 60))
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


def classify_shape(mask: np.ndarray) -> RoiShape:
    """Sector, trapezoid or rectangle from a region mask (bool ``[h, w]``; the detected component or its hull).

    Looks at the region's top edge (the first row of each column): within the top cap (the columns whose
    top lies in the upper 10 % of the region) a trapezoid or rectangle has a flat top over most of the
    cap, while a fan -- an apex or a curved top -- reaches its highest row only over a short stretch. A
    top narrower than 15 % of the widest row is a (truncated) apex: a sector too. Flat-topped regions
    whose top row is at least 90 % of the widest row are rectangles.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) < 4 or len(cols) < 4:
        return RoiShape.UNKNOWN
    region = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    rh = region.shape[0]
    present = region.any(axis=0)
    tops = np.argmax(region, axis=0)[present].astype(np.float64)
    cap = tops <= 0.10 * rh
    flat = tops <= max(2.0, 0.004 * rh)
    flat_share = float(flat.sum()) / max(1, int(cap.sum()))
    spans = region.any(axis=1)
    first_col = np.argmax(region, axis=1)
    last_col = region.shape[1] - 1 - np.argmax(region[:, ::-1], axis=1)
    widths = np.where(spans, last_col - first_col + 1, 0).astype(np.float64)  # row spans: holes do not count
    top_width = float(np.median(widths[: max(1, round(0.03 * rh))]))
    widest = float(widths.max())
    if flat_share < 0.5 or top_width < 0.15 * widest:  # curved top, or a (truncated) apex
        return RoiShape.SECTOR
    return RoiShape.RECTANGLE if top_width >= 0.9 * widest else RoiShape.TRAPEZOID


def _as_stack(frames: np.ndarray) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.dtype != np.uint8 or 0 in arr.shape:
        raise ValueError(f"detect_roi expects uint8 frames [T, H, W] or [H, W], got {arr.dtype} {arr.shape}")
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
            outline, side_note = _extend_to_side_lines(st.middle, outline, ev.background, st.frame_size)
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
        raise ValueError(
            f"ROI was detected on {c.source_width}x{c.source_height} frames, sweep is {sweep.width}x{sweep.height}"
        )
    frames = sweep.frames[:, c.y : c.y + c.h, c.x : c.x + c.w].copy()
    if blank and not roi.mask.all():
        frames *= roi.mask  # broadcast over frames: 0 outside the mask, unchanged inside
    prior = sweep.meta.crop
    crop = c
    if prior is not None:
        if prior.scale != 1.0:
            raise ValueError("cannot compose an ROI crop with an earlier resized crop")
        crop = CropRecord(x=prior.x + c.x, y=prior.y + c.y, w=c.w, h=c.h,
                          source_height=prior.source_height, source_width=prior.source_width)
    meta = dataclasses.replace(sweep.meta, crop=crop)
    return Sweep(frames=frames, meta=meta)  # a copy, contiguous
