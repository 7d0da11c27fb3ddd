"""Recognisability of rendered views: contrast between the structures a reader looks for.

The global grey-level statistics (:mod:`neocus.phantom.image_stats`) can match real captures while
the anatomy is invisible; what makes a view recognisable is local contrast: anechoic ventricles
against the parenchyma around them, the bright choroid plexus, thalami darker than white matter.
This module measures it the same way on phantom renders (regions from the exact label maps of a
:class:`neocus.phantom.bmode.RenderedFrame`) and on real stills (boxes placed by eye, see
``docs/real_contrast_rois.json``).

For two regions ``a`` (the structure) and ``b`` (its reference), on display grey levels 0..255:

* ``contrast_db = 20 log10((mean_a + 1) / (mean_b + 1))`` (negative: the structure is darker);
* ``cnr = (mean_a - mean_b) / sqrt(var_a + var_b)`` (contrast-to-noise ratio, signed).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from neocus.phantom.parts import Part
from neocus.phantom.tissues import Tissue
from neocus.results import AsDict

#: the contrasts measured, ``name -> (structure, reference)`` in words
CONTRASTS: dict[str, tuple[str, str]] = {
    "ventricle": ("ventricular CSF (lateral ventricles, CSP, third ventricle)", "parenchyma 1.5-5 mm around it"),
    "choroid": ("choroid plexus", "parenchyma 1.5-5 mm around the ventricles"),
    "thalamus": ("thalamus", "cerebral white matter 1.5-12 mm around it"),
}

_VENTRICLE_PARTS = (
    Part.LV_FRONTAL_LEFT, Part.LV_FRONTAL_RIGHT, Part.LV_BODY_LEFT, Part.LV_BODY_RIGHT,
    Part.LV_ATRIUM_LEFT, Part.LV_ATRIUM_RIGHT, Part.LV_OCCIPITAL_LEFT, Part.LV_OCCIPITAL_RIGHT,
    Part.LV_TEMPORAL_LEFT, Part.LV_TEMPORAL_RIGHT, Part.CAVUM_SEPTI_PELLUCIDI, Part.THIRD_VENTRICLE,
)  # fmt: skip
_PARENCHYMA_TISSUES = (Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.DEEP_GREY, Tissue.CORPUS_CALLOSUM)
_MIN_PIXELS = 20


@dataclass(frozen=True)
class Contrast(AsDict):
    """Contrast of region ``a`` against region ``b`` (grey levels; see the module docstring)."""

    mean_a: float
    mean_b: float
    contrast_db: float
    cnr: float
    n_a: int
    n_b: int

    def summary(self) -> dict[str, float]:
        """The contrast, rounded for a table (``to_dict()`` has everything)."""
        return {"mean_a": round(self.mean_a, 1), "mean_b": round(self.mean_b, 1), "contrast_db": round(self.contrast_db, 2), "cnr": round(self.cnr, 2)}


def region_contrast(image: np.ndarray, a: np.ndarray, b: np.ndarray) -> Contrast | None:
    """Contrast of the pixels in mask ``a`` against those in mask ``b`` (None if either is too small)."""
    va = image[a].astype(np.float64)
    vb = image[b].astype(np.float64)
    if va.size < _MIN_PIXELS or vb.size < _MIN_PIXELS:
        return None
    ma, mb = float(va.mean()), float(vb.mean())
    cnr = (ma - mb) / math.sqrt(max(float(va.var() + vb.var()), 1e-9))
    return Contrast(ma, mb, 20.0 * math.log10((ma + 1.0) / (mb + 1.0)), cnr, int(va.size), int(vb.size))


def _disk(radius_px: float) -> np.ndarray:
    r = max(1, round(radius_px))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def label_regions(tissue: np.ndarray, part: np.ndarray, mask: np.ndarray, spacing_mm: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The ``(structure, reference)`` masks of :data:`CONTRASTS` from a frame's label maps.

    Structures are eroded by ~0.5 mm (so the point-spread function's blur across their edges does not
    count), references are eroded parenchyma; regions a frame does not show are left out.
    """
    inside = cv2.erode(mask.astype(np.uint8), _disk(1.0 / spacing_mm)).astype(bool)
    edge = _disk(0.5 / spacing_mm)
    parenchyma = np.isin(tissue, [int(t) for t in _PARENCHYMA_TISSUES]) & inside
    parenchyma = cv2.erode(parenchyma.astype(np.uint8), edge).astype(bool)
    vent = np.isin(part, [int(p) for p in _VENTRICLE_PARTS]) & (tissue == int(Tissue.CSF))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    v8 = vent.astype(np.uint8)
    ring = cv2.dilate(v8, _disk(5.0 / spacing_mm)).astype(bool) & ~cv2.dilate(v8, _disk(1.5 / spacing_mm)).astype(bool)
    ring &= parenchyma
    out["ventricle"] = (cv2.erode(v8, edge).astype(bool) & inside, ring)
    chor = cv2.erode((tissue == int(Tissue.CHOROID_PLEXUS)).astype(np.uint8), edge).astype(bool) & inside
    out["choroid"] = (chor, ring)
    thal = np.isin(part, [int(Part.THALAMUS_LEFT), int(Part.THALAMUS_RIGHT)]) & (tissue == int(Tissue.DEEP_GREY))
    thal = cv2.erode(thal.astype(np.uint8), _disk(1.0 / spacing_mm)).astype(bool) & inside
    t8 = thal.astype(np.uint8)
    near = cv2.dilate(t8, _disk(12.0 / spacing_mm)).astype(bool) & ~cv2.dilate(t8, _disk(1.5 / spacing_mm)).astype(bool)
    wm = (tissue == int(Tissue.WHITE_MATTER)) & parenchyma & near
    out["thalamus"] = (thal, wm)
    return out


def frame_contrasts(frame: object) -> dict[str, Contrast]:
    """:data:`CONTRASTS` measured on a :class:`~neocus.phantom.bmode.RenderedFrame` (label maps exact)."""
    regions = label_regions(frame.tissue, frame.part, frame.mask, float(frame.pixel_spacing_mm[0]))  # type: ignore[attr-defined]
    out: dict[str, Contrast] = {}
    for name, (a, b) in regions.items():
        c = region_contrast(frame.image, a, b)  # type: ignore[attr-defined]
        if c is not None:
            out[name] = c
    return out


@dataclass(frozen=True)
class RealRois:
    """Hand-placed ROI boxes of one real still: ``{contrast name: ([structure boxes], [reference boxes])}``,
    boxes ``(x0, y0, x1, y1)`` in pixels of the :func:`~neocus.phantom.image_stats.ge_capture_region` crop."""

    exam: str
    still: str
    boxes: dict[str, tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]]


def load_real_rois(path: str | Path) -> list[RealRois]:
    """Read the ROI file (``docs/real_contrast_rois.json``)."""
    data = json.loads(Path(path).read_text())
    out = []
    for item in data["stills"]:
        boxes = {k: ([tuple(b) for b in v["structure"]], [tuple(b) for b in v["reference"]]) for k, v in item["contrasts"].items()}
        out.append(RealRois(item["exam"], item["still"], boxes))  # type: ignore[arg-type]
    return out


def _box_mask(shape_hw: tuple[int, int], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    m = np.zeros(shape_hw, bool)
    for x0, y0, x1, y1 in boxes:
        m[y0:y1, x0:x1] = True
    return m


def roi_contrasts(image: np.ndarray, rois: RealRois) -> dict[str, Contrast]:
    """:data:`CONTRASTS` measured in the hand-placed boxes of a real still."""
    out: dict[str, Contrast] = {}
    for name, (a, b) in rois.boxes.items():
        c = region_contrast(image, _box_mask(image.shape, a), _box_mask(image.shape, b))
        if c is not None:
            out[name] = c
    return out


def summarise(per_image: list[dict[str, Contrast]]) -> dict[str, dict[str, float]]:
    """Median ``contrast_db`` and ``cnr`` (and the count) of each contrast over images."""
    out: dict[str, dict[str, float]] = {}
    for name in CONTRASTS:
        vals = [d[name] for d in per_image if name in d]
        if vals:
            out[name] = {
                "contrast_db": round(float(np.median([v.contrast_db for v in vals])), 2),
                "cnr": round(float(np.median([v.cnr for v in vals])), 2),
                "n": len(vals),
            }
    return out
