"""Geometry of an ultrasound ROI: connected regions, convex outlines, polygon masks, straight side
edges (RANSAC) and the shape of the imaging region (split out of :mod:`neocus.io.roi`, which uses it)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

class RoiShape(StrEnum):
    """Outline of the imaging region."""

    SECTOR = "sector"  # fan: an apex or a curved top (phased / convex / curvilinear probes)
    TRAPEZOID = "trapezoid"  # flat top, sides diverging with depth (linear probe with steered / virtual-convex field)
    RECTANGLE = "rectangle"  # flat top, parallel sides (linear probe)
    UNKNOWN = "unknown"  # nothing image-like found; the ROI is the whole frame


def _odd(n: float) -> int:
    k = max(1, round(n))
    return k if k % 2 == 1 else k + 1


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


def fit_side_line(ys: np.ndarray, xs: np.ndarray, outward: int, *, seed: int = 0) -> SideLine | None:
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
