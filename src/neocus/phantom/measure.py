"""Ventricle measurements of a phantom head, taken the clinical way on the sampled anatomy.

Because they are measured on the model itself (by sampling planes and lines through
:meth:`NeonatalHead.sample`), they are the exact ground truth of what a perfect reader would measure:

* ventricular index (VI): in the coronal plane through the foramina of Monro (y = 0), the largest
  distance from the midline (falx) to the lateral wall of each lateral ventricle;
* anterior horn width (AHW): in the same plane, the widest width of the ventricle's cross-section
  measured perpendicular to its long (diagonal) axis;
* thalamo-occipital distance (TOD): from the posterior pole of the thalamus to the posterior-most
  point of the occipital horn, along y;
* third ventricle width: across the third ventricle (x) above the massa intermedia.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neocus.phantom.anatomy import NeonatalHead
from neocus.phantom.parts import Part
from neocus.results import AsDict

STEP_MM = 0.1


@dataclass(frozen=True)
class VentricleMeasurements(AsDict):
    """Measured ventricle sizes (mm)."""

    vi_left: float
    vi_right: float
    ahw_left: float
    ahw_right: float
    tod_left: float
    tod_right: float
    third_ventricle: float

    @property
    def vi_max(self) -> float:
        return max(self.vi_left, self.vi_right)

    @property
    def ahw_max(self) -> float:
        return max(self.ahw_left, self.ahw_right)

    @property
    def tod_max(self) -> float:
        return max(self.tod_left, self.tod_right)


def _lv_parts(side: int) -> np.ndarray:
    suffix = "_LEFT" if side > 0 else "_RIGHT"
    return np.array([p for p in Part if p.name.startswith("LV_") and p.name.endswith(suffix)], dtype=np.uint8)


def _coronal_section(head: NeonatalHead, side: int) -> np.ndarray:
    """(|x - midline|, z) of the lateral-ventricle points of one side in the plane y = 0 (0.1 mm grid;
    a 0.5 mm pass finds the ventricle first)."""
    mid = 0.0  # the deep midline (falx, septum, third ventricle) is x = 0 by construction
    parts = np.append(_lv_parts(side), Part.CHOROID_PLEXUS_LEFT if side > 0 else Part.CHOROID_PLEXUS_RIGHT)

    def section(x0: float, x1: float, z0: float, z1: float, step: float) -> np.ndarray:
        xs = mid + side * np.arange(x0, x1, step)
        zs = np.arange(z0, z1, step)
        gx, gz = np.meshgrid(xs, zs, indexing="ij")
        pts = np.stack([gx.ravel(), np.zeros(gx.size), gz.ravel()], axis=1)
        m = np.isin(head.sample(pts).part, parts)
        return np.stack([np.abs(pts[m, 0] - mid), pts[m, 2]], axis=1)

    vi_guess = head.params.ventricle(side).vi
    coarse = section(0.0, vi_guess + 15.0, -15.0, 30.0, 0.5)
    if not len(coarse):
        return coarse
    lo, hi = coarse.min(axis=0) - 1.0, coarse.max(axis=0) + 1.0
    return section(max(lo[0], 0.0), hi[0], lo[1], hi[1], STEP_MM)


def _widest_perpendicular(xz: np.ndarray) -> float:
    """Largest width of a 2-D point set perpendicular to its principal axis."""
    if len(xz) < 3:
        return 0.0
    c = xz - xz.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    major, minor = c @ vt[0], c @ vt[1]
    bins = np.floor(major / (2 * STEP_MM)).astype(int)
    order = np.argsort(bins)
    b, mi = bins[order], minor[order]
    starts = np.r_[0, np.flatnonzero(np.diff(b)) + 1]
    widths = np.maximum.reduceat(mi, starts) - np.minimum.reduceat(mi, starts)
    return float(widths.max() + STEP_MM)


def _tod(head: NeonatalHead, side: int) -> float:
    """Thalamo-occipital distance of one side."""
    th = head.thalamus[side]
    occ = head.lv_occ[side]
    y_thal = float(th.lo[1])
    end = occ.at(1.0)
    ys = np.arange(end["y"] - 6.0, end["y"] + 2.0, STEP_MM)
    zs = np.arange(end["z"] - 4.0, end["z"] + 4.0, 2 * STEP_MM)
    xs = end["x"] + np.arange(-2.0, 2.01, 0.5)
    gx, gy, gz = np.meshgrid(xs, ys, zs, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
    part = head.sample(pts).part
    m = np.isin(part, _lv_parts(side))
    if not m.any():
        return 0.0
    return float(y_thal - pts[m, 1].min())


def _third_width(head: NeonatalHead) -> float:
    c = head.third_centre
    xs = c[0] + np.arange(-15.0, 15.0, STEP_MM / 4)
    pts = np.stack([xs, np.full_like(xs, c[1] + 3.0 * head.scale), np.full_like(xs, c[2] + 1.0 * head.scale)], axis=1)
    part = head.sample(pts).part
    return float((part == Part.THIRD_VENTRICLE).sum() * STEP_MM / 4)


def measure_ventricles(head: NeonatalHead) -> VentricleMeasurements:
    """Measure VI, AHW, TOD (each side) and the third ventricle width on ``head``."""
    vals: dict[str, float] = {}
    for side, name in ((1, "left"), (-1, "right")):
        xz = _coronal_section(head, side)
        vals[f"vi_{name}"] = float(xz[:, 0].max() + STEP_MM / 2) if len(xz) else 0.0
        vals[f"ahw_{name}"] = _widest_perpendicular(xz)
        vals[f"tod_{name}"] = _tod(head, side)
    return VentricleMeasurements(**vals, third_ventricle=_third_width(head))
