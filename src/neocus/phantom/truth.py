"""Exact ground truth of phantom frames: structure boxes, lesion boxes, view quality, findings, labels.

Everything here reads the renderer's per-pixel label maps (``part``: anatomical part id per pixel,
``lesion``: index into :data:`neocus.phantom.types.LESION_KINDS` + 1 per pixel, 0 = none) and the
anatomy's view-quality scores; nothing looks at the rendered image itself.

Conventions and thresholds (documented here, used everywhere):

* **Structure boxes.** Pixels of parts that map to the same vocabulary structure *and side* form a
  mask; each 8-connected component of it becomes one rotated box (the minimum-area rectangle around
  the component's pixel footprints, :func:`neocus.geometry.corners_to_rbox`, long-edge convention),
  kept inside the frame (at the border, the smallest hull-aligned rectangle that fits, see
  :func:`mask_box`). Left and right structures therefore always give separate boxes. Components smaller than
  :data:`MIN_BOX_AREA_MM2` (mm^2, through the frame's pixel spacing) or :data:`MIN_BOX_AREA_PX`
  pixels are dropped: these are slivers where the plane grazes a structure, which no reader would
  box.
* **View quality.** Each frame gets the anatomy's quality score (0..1) for every standard view of
  the sweep's plane. The frame *shows* the view with the highest score when that score is at least
  :data:`VIEW_QUALITY_THRESHOLD`. The *acceptable window* of a view is the run of consecutive frames
  whose score stays at or above the threshold around the view's best frame (so it always contains
  the best frame); a view whose best score stays below the threshold is missing from the sweep.
* **Findings of a still.** The lesion kinds visible in the still's lesion map over at least
  :data:`MIN_LESION_AREA_MM2`, mapped through :data:`neocus.vocab.LESION_FINDING`, plus ventricular
  dilation / hydrocephalus when the subject's *measured* ventricular state says so and the still
  can show it (the caller decides: :mod:`neocus.phantom.api` counts dilation where a lateral
  ventricle is in the image, hydrocephalus where any ventricle is); ``normal`` when none.
* **Case labels.** :meth:`neocus.data.schema.CaseLabels.derive` from the subject's Papile grade
  (:func:`neocus.vocab.lesion_ivh_grade` of its lesion kinds) and the findings of the six stills, so
  ``severe`` / ``tier`` / ``binary`` follow the vocabulary's rules by construction.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import find_objects

from neocus.geometry import RotatedBox, corners_to_rbox
from neocus.phantom.types import LESION_KINDS
from neocus.vocab import LESION_FINDING, Finding, LesionKind, Side, Structure, View, check_findings

MIN_BOX_AREA_MM2 = 3.0
"""Smallest structure / lesion cross-section (mm^2) that gets a box; smaller components are slivers."""

MIN_BOX_AREA_PX = 8
"""...and never fewer pixels than this, whatever the pixel spacing."""

MIN_LESION_AREA_MM2 = 1.5
"""Smallest visible lesion area (mm^2) in a still for its finding to count (a few pixels are not a finding)."""

VIEW_QUALITY_THRESHOLD = 0.6
"""A frame shows a standard view when its quality score (0..1) for that view reaches this value."""



# --------------------------------------------------------------------------------------------------
# Boxes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StructureBox:
    """One visible cross-section of one structure on one side (pixels of the frame as stored)."""

    structure: Structure
    side: Side
    box: RotatedBox
    area_px: int


@dataclass(frozen=True)
class LesionBox:
    """One visible cross-section of one lesion kind."""

    kind: LesionKind
    box: RotatedBox
    area_px: int


def _min_area_px(spacing_mm: tuple[float, float], min_mm2: float) -> int:
    px_area = float(spacing_mm[0]) * float(spacing_mm[1])
    return max(MIN_BOX_AREA_PX, int(np.ceil(min_mm2 / px_area))) if px_area > 0 else MIN_BOX_AREA_PX


def mask_box(mask: np.ndarray, *, offset: tuple[int, int] = (0, 0), frame_hw: tuple[int, int] | None = None) -> RotatedBox:
    """Minimum-area rotated box around the pixel footprints (unit squares) of a non-empty boolean mask.

    ``offset`` ``(x, y)`` is added to the result (the mask's position in a larger frame, for crops).
    ``frame_hw`` ``(height, width)``: keep the box inside the frame's pixel footprints
    ``[-0.5, width - 0.5] x [-0.5, height - 0.5]``: when the minimum-area rectangle of a component at
    the border pokes out, the smallest rectangle aligned with one of the component's hull edges that
    stays inside is used instead (the axis-aligned one always does).
    """
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pts = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64) + np.asarray(offset, dtype=np.float64)
    corners = (pts[:, None, :] + np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])).reshape(-1, 2)
    box = RotatedBox(*corners_to_rbox(corners))
    if frame_hw is None or _inside(box, frame_hw):
        return box
    return _smallest_box_inside(corners, frame_hw)


_INSIDE_TOL = 1e-3


def _inside(box: RotatedBox, frame_hw: tuple[int, int]) -> bool:
    c = box.corners()
    h, w = frame_hw
    return bool(
        c[:, 0].min() >= -0.5 - _INSIDE_TOL and c[:, 0].max() <= w - 0.5 + _INSIDE_TOL
        and c[:, 1].min() >= -0.5 - _INSIDE_TOL and c[:, 1].max() <= h - 0.5 + _INSIDE_TOL
    )


def _smallest_box_inside(points: np.ndarray, frame_hw: tuple[int, int]) -> RotatedBox:
    """Among rectangles aligned with the convex hull's edges (and the axes), the smallest inside ``frame_hw``."""
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    edges = np.roll(hull, -1, axis=0) - hull
    angles = {0.0, *(round(float(np.degrees(np.arctan2(e[1], e[0]))), 6) for e in edges if np.hypot(*e) > 1e-9)}
    best: RotatedBox | None = None
    for angle in sorted(angles):
        t = np.radians(angle)
        along, across = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
        u, v = hull @ along, hull @ across
        cu, cv_ = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
        centre = cu * along + cv_ * across
        box = RotatedBox.from_any(float(centre[0]), float(centre[1]), float(np.ptp(u)), float(np.ptp(v)), angle)
        if _inside(box, frame_hw) and (best is None or box.area < best.area - 1e-9):
            best = box
    if best is None:  # pragma: no cover - the axis-aligned box of in-frame footprints is always inside
        raise AssertionError("no rectangle inside the frame")
    return best


def _component_boxes(label_map: np.ndarray, value: int, where: tuple[slice, slice], min_px: int) -> list[tuple[RotatedBox, int]]:
    """Boxes and pixel counts of the 8-connected components of ``label_map == value`` (searched within
    ``where``) with at least ``min_px`` pixels, in OpenCV's label order."""
    crop = (label_map[where] == value).astype(np.uint8)
    y0, x0 = where[0].start, where[1].start
    n, labels, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8)
    out = []
    for k in range(1, n):
        area = int(stats[k, cv2.CC_STAT_AREA])
        if area < min_px:
            continue
        x, y, w, h = (int(stats[k, c]) for c in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
        comp = labels[y : y + h, x : x + w] == k
        out.append((mask_box(comp, offset=(x0 + x, y0 + y), frame_hw=label_map.shape), area))
    return out


def _present(label_map: np.ndarray) -> np.ndarray:
    """Non-zero values present in a uint8 label map, ascending."""
    counts = np.bincount(label_map.ravel(), minlength=256)
    return np.flatnonzero(counts[1:]) + 1


def _structure_groups(
    part_map: np.ndarray,
    part_structure: Callable[[int], Structure | None],
    part_side: Callable[[int], Side],
) -> tuple[list[tuple[Structure, Side]], np.ndarray]:
    """The (structure, side) groups present, in vocabulary order, and a map of group ids (index + 1;
    0 = no target structure)."""
    groups: dict[tuple[Structure, Side], list[int]] = {}
    for part in _present(part_map):
        structure = part_structure(int(part))
        if structure is not None:
            groups.setdefault((structure, Side(part_side(int(part)))), []).append(int(part))
    order = {s: i for i, s in enumerate(Structure)}
    sides = {s: i for i, s in enumerate(Side)}
    keys = sorted(groups, key=lambda k: (order[k[0]], sides[k[1]]))
    lut = np.zeros(256, np.uint8)
    for g, key in enumerate(keys, start=1):
        lut[groups[key]] = g
    return keys, lut[part_map]


def structure_boxes(
    part_map: np.ndarray,
    part_structure: Callable[[int], Structure | None],
    part_side: Callable[[int], Side],
    spacing_mm: tuple[float, float],
    *,
    min_area_mm2: float = MIN_BOX_AREA_MM2,
) -> list[StructureBox]:
    """Rotated boxes of every visible structure cross-section in one frame's part map."""
    min_px = _min_area_px(spacing_mm, min_area_mm2)
    keys, group_map = _structure_groups(part_map, part_structure, part_side)
    out: list[StructureBox] = []
    for g, where in enumerate(find_objects(group_map, max_label=len(keys)), start=1):
        if where is None:
            continue
        structure, side = keys[g - 1]
        for box, area in _component_boxes(group_map, g, where, min_px):
            out.append(StructureBox(structure, side, box, area))
    return out


def lesion_boxes(
    lesion_map: np.ndarray, spacing_mm: tuple[float, float], *, min_area_mm2: float = MIN_BOX_AREA_MM2
) -> list[LesionBox]:
    """Rotated boxes of every visible lesion cross-section (one per connected component per kind)."""
    min_px = _min_area_px(spacing_mm, min_area_mm2)
    out: list[LesionBox] = []
    for value, where in enumerate(find_objects(lesion_map, max_label=len(LESION_KINDS)), start=1):
        if where is None:
            continue
        for box, area in _component_boxes(lesion_map, value, where, min_px):
            out.append(LesionBox(LESION_KINDS[value - 1], box, area))
    return out


def ventricle_mask(part_map: np.ndarray, ventricle_parts: Iterable[int]) -> np.ndarray:
    """Pixels of the ventricular system: parts listed in ``ventricle_parts`` (the anatomy's ventricle parts)."""
    lut = np.zeros(256, bool)
    lut[[int(p) for p in ventricle_parts]] = True
    return lut[part_map]


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewWindow:
    """Frames ``start..end`` (inclusive) of a sweep acceptable as ``view``; ``best_frame`` lies inside."""

    view: View
    best_frame: int
    best_quality: float
    start: int
    end: int

    def __contains__(self, frame: int) -> bool:
        return self.start <= frame <= self.end


def view_windows(
    quality: Mapping[View, Sequence[float] | np.ndarray], *, threshold: float = VIEW_QUALITY_THRESHOLD,
) -> dict[View, ViewWindow | None]:
    """The acceptable window of every view from its per-frame quality (None: the sweep misses the view).

    The best frame is the first frame of highest quality; the window grows from it in both directions
    while the quality stays at or above ``threshold``.
    """
    out: dict[View, ViewWindow | None] = {}
    for view, q in quality.items():
        q = np.asarray(q, dtype=np.float64)
        if q.size == 0:
            out[view] = None
            continue
        best = int(np.argmax(q))
        if q[best] < threshold:
            out[view] = None
            continue
        start = best
        while start > 0 and q[start - 1] >= threshold:
            start -= 1
        end = best
        while end < len(q) - 1 and q[end + 1] >= threshold:
            end += 1
        out[view] = ViewWindow(view, best, float(q[best]), start, end)
    return out


def frame_views(
    quality: Mapping[View, Sequence[float] | np.ndarray], *, threshold: float = VIEW_QUALITY_THRESHOLD,
) -> list[tuple[View | None, float]]:
    """Per frame: the view it shows (highest score, if >= ``threshold``) and that score (best score if none)."""
    views = list(quality)
    q = np.stack([np.asarray(quality[v], dtype=np.float64) for v in views])  # [V, T]
    best = np.argmax(q, axis=0)
    out: list[tuple[View | None, float]] = []
    for t, k in enumerate(best):
        score = float(q[k, t])
        out.append((views[k] if score >= threshold else None, score))
    return out


# --------------------------------------------------------------------------------------------------
# Findings and labels
# --------------------------------------------------------------------------------------------------


def visible_lesion_kinds(
    lesion_map: np.ndarray, spacing_mm: tuple[float, float], *, min_area_mm2: float = MIN_LESION_AREA_MM2
) -> frozenset[LesionKind]:
    """Lesion kinds covering at least ``min_area_mm2`` of an image's lesion map."""
    px_area = float(spacing_mm[0]) * float(spacing_mm[1])
    min_px = max(1, int(np.ceil(min_area_mm2 / px_area))) if px_area > 0 else 1
    counts = np.bincount(lesion_map.ravel(), minlength=len(LESION_KINDS) + 1)
    return frozenset(LESION_KINDS[v - 1] for v in range(1, len(counts)) if counts[v] >= min_px)


def still_findings(
    visible: Iterable[LesionKind],
    state_findings: Iterable[Finding],
    shows_ventricles: bool,
) -> frozenset[Finding]:
    """Image findings of one standard-view still.

    ``visible``: lesion kinds visible in the still; ``state_findings``: findings the subject's measured
    ventricular state implies (ventricular dilation and/or hydrocephalus), which count when the still
    shows a ventricle. Returns ``{normal}`` when nothing abnormal is seen.
    """
    found = {LESION_FINDING[k] for k in visible}
    if shows_ventricles:
        found |= {Finding(f) for f in state_findings} & {Finding.VENTRICULAR_DILATION, Finding.HYDROCEPHALUS}
    return check_findings(found or {Finding.NORMAL})


# --------------------------------------------------------------------------------------------------
# Deterministic compressed arrays (masks of whole sweeps)
# --------------------------------------------------------------------------------------------------


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` (readable by ``numpy.load``) whose bytes depend only on the arrays.

    ``numpy.savez_compressed`` stamps the current time into the zip; this writer uses a fixed date.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in sorted(arrays):
            arr = np.ascontiguousarray(arrays[name])
            npy = io.BytesIO()
            np.lib.format.write_array(npy, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compresslevel=6)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------
# One rendered frame
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameTruth:
    """Ground truth of one rendered frame (pixels of the frame as stored).

    ``quality`` holds the view-quality score of every standard view of the frame's plane; ``view`` is
    the view the frame shows (None when no score reaches :data:`VIEW_QUALITY_THRESHOLD`).
    """

    boxes: tuple[StructureBox, ...]
    lesions: tuple[LesionBox, ...]
    quality: dict[View, float]
    view: View | None

    @property
    def view_quality(self) -> float:
        return max(self.quality.values()) if self.quality else 0.0


def frame_truth(
    part_map: np.ndarray,
    lesion_map: np.ndarray,
    spacing_mm: tuple[float, float],
    part_structure: Callable[[int], Structure | None],
    part_side: Callable[[int], Side],
    quality: Mapping[View, float],
    *,
    threshold: float = VIEW_QUALITY_THRESHOLD,
) -> FrameTruth:
    """Boxes of structures and lesions plus the view shown, for one frame's label maps."""
    q = {View(v): float(s) for v, s in quality.items()}
    view = None
    if q:
        best = max(q, key=lambda v: (q[v], -list(q).index(v)))
        view = best if q[best] >= threshold else None
    return FrameTruth(
        boxes=tuple(structure_boxes(part_map, part_structure, part_side, spacing_mm)),
        lesions=tuple(lesion_boxes(lesion_map, spacing_mm)),
        quality=q,
        view=view,
    )
