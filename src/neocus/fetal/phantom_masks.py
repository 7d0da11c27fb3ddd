"""Masks of the fetal head phantom's label map, and the sizes read back from them.

The label map holds one id per :class:`neocus.vocab.FetalStructure` (:data:`LABEL_IDS`). The four
masks the issue asks for are :func:`structure_masks`: ``skull`` (the bone ring), ``brain`` (everything
inside the inner skull), ``cerebellum`` (hemispheres and vermis) and ``cistern`` (cisterna magna).

:func:`measure_labels` reads TCD, cisterna magna depth, atrial width and HC back from a label map and
the head's pose, as a sonographer's calipers would: TCD across the cerebellum perpendicular to the
midline, the cistern on the midline, the atrium across the ventricle at the choroid plexus, HC as
the perimeter of the ellipse fitted to the outer skull. Tests use it to check that masks and truth
agree; it needs the pose, so it is for phantom data only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neocus.fetal.ellipse import fit_skull_ellipses, ramanujan_perimeter
from neocus.fetal.phantom_anatomy import CEREBELLUM, INTRACRANIAL, LABEL_IDS, HeadPose
from neocus.phantom.probe_geometry import PixelGrid
from neocus.results import AsDict
from neocus.vocab import FetalStructure

S = FetalStructure
MASK_NAMES = ("skull", "brain", "cerebellum", "cistern")


def _ids(structures) -> np.ndarray:
    return np.array([LABEL_IDS[s] for s in structures], np.uint8)


def structure_masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean ``[H, W]`` masks ``skull``, ``brain``, ``cerebellum`` and ``cistern`` of a label map."""
    lab = np.asarray(labels)
    return {
        "skull": lab == LABEL_IDS[S.SKULL],
        "brain": np.isin(lab, _ids(INTRACRANIAL)),
        "cerebellum": np.isin(lab, _ids(CEREBELLUM)),
        "cistern": lab == LABEL_IDS[S.CISTERNA_MAGNA],
    }


@dataclass(frozen=True)
class LabelMeasurements(AsDict):
    """Sizes (mm) read from a label map; ``None`` where the plane does not show the structure."""

    hc_mm: float | None
    tcd_mm: float | None
    cisterna_magna_mm: float | None
    atrium_mm: float | None


def _run_length(labels: np.ndarray, grid: PixelGrid, pose: HeadPose, ids: np.ndarray, *, start_uv, direction_uv, step_mm: float) -> float:
    """Length (mm) of the longest run of ``ids`` along a head-frame line, sampled every ``step_mm``."""
    t = np.arange(-80.0, 80.0, step_mm)
    u = start_uv[0] + t * direction_uv[0]
    v = start_uv[1] + t * direction_uv[1]
    x, d = pose.to_plane(u, v)
    col, row = grid.pixel_coords(x, d)
    col, row = np.rint(col).astype(int), np.rint(row).astype(int)
    ok = (col >= 0) & (col < labels.shape[1]) & (row >= 0) & (row < labels.shape[0])
    hit = np.zeros(len(t), bool)
    hit[ok] = np.isin(labels[row[ok], col[ok]], ids)
    best = run = 0
    for h in hit:
        run = run + 1 if h else 0
        best = max(best, run)
    return best * step_mm


def measure_labels(labels: np.ndarray, *, grid: PixelGrid, pose: HeadPose, atrium_centre_uv: tuple[float, float] | None = None, atrium_angle: float = 0.0) -> LabelMeasurements:
    """Read HC, TCD, cisterna magna depth and atrial width back from a phantom label map."""
    masks = structure_masks(labels)
    px = float(grid.spacing_mm[0])
    head = masks["skull"] | masks["brain"]
    hc = None
    if head.sum() > 50:
        e = fit_skull_ellipses(head).outer
        hc = ramanujan_perimeter(e.semi_major_px, e.semi_minor_px) * px
    tcd = cm = atrium = None
    if masks["cerebellum"].any():
        rows, cols = np.nonzero(masks["cerebellum"])
        x, d = grid.plane_coords(cols, rows)
        u, v = _head_uv(pose, x, d)
        tcd = float(v.max() - v.min()) + px
        cm = _run_length(labels, grid, pose, _ids([S.CISTERNA_MAGNA]), start_uv=(0.0, 0.0), direction_uv=(1.0, 0.0), step_mm=px / 4)
    if atrium_centre_uv is not None and masks["brain"].any():
        ids = _ids([S.VENTRICLE, S.CHOROID_PLEXUS])
        atrium = _run_length(labels, grid, pose, ids, start_uv=atrium_centre_uv,
                             direction_uv=(-math.sin(atrium_angle), math.cos(atrium_angle)), step_mm=px / 4) or None
    return LabelMeasurements(hc_mm=hc, tcd_mm=tcd, cisterna_magna_mm=cm or None, atrium_mm=atrium)


def _head_uv(pose: HeadPose, x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pose.to_head(np.asarray(x, float), np.asarray(d, float))
