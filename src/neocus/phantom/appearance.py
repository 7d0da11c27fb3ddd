"""Scanner looks applied after rendering: the GE-like post-processing of issue #14.

The renderer (:mod:`neocus.phantom.bmode`) simulates the physics; a real scanner then processes the
image heavily (speckle reduction / SRI, compounding, persistence, its grey map). Side by side with the
NCLS captures (GE LOGIQ E8/E9, 9L) the rendered phantom is a uniform, grainy mid-grey (median ~71-76
inside the sector) where real brain is darker (median ~49) and smoother, shows scattered bright
punctate echoes and fine sulcal lines, and, on sagittal views, no continuous skull rim. The ``ge``
look does, in this order, from the frame's label maps and the generator:

1. **speckle reduction**: an edge-preserving (bilateral) filter, as the scanner's SRI;
2. **grey map**: a per-frame gamma that puts the parenchyma's median grey at a target drawn around the
   captures' 49 (42-58), keeping fluid black and bright echoes bright;
3. **punctate echoes**: sparse bright dots, slightly elongated laterally, in parenchyma;
4. **no calvarial rim on sagittal views**: skull and scalp (and a ~1 mm margin for the echo's blur) in the upper two thirds of a sagittal image are
   dimmed (the skull base, met squarely at the bottom, stays bright); coronal views keep theirs.

``today`` returns the rendered image unchanged (and draws nothing from the generator).
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np

from neocus.errors import parse_choice
from neocus.phantom.bmode import RenderedFrame
from neocus.phantom.tissues import Tissue
from neocus.vocab import Plane


class Appearance(StrEnum):
    """Post-rendering looks."""

    TODAY = "today"  # the renderer's image as it is
    GE = "ge"  # GE-like scanner processing (see the module text)


#: parenchyma median grey of the real NCLS stills (docs/phantom-rendering.md) and the spread drawn around it
GE_PARENCHYMA_MEDIAN = 49.0
GE_MEDIAN_RANGE = (42.0, 58.0)
_PARENCHYMA = (Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.DEEP_GREY, Tissue.CORPUS_CALLOSUM, Tissue.BRAINSTEM)


def _speckle_reduction(img: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    sigma_space = float(rng.uniform(1.5, 2.5)) * img.shape[1] / 256.0
    return cv2.bilateralFilter(img, d=-1, sigmaColor=float(rng.uniform(18.0, 30.0)), sigmaSpace=max(sigma_space, 0.8))


def _grey_map(img: np.ndarray, parenchyma: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    target = float(rng.uniform(*GE_MEDIAN_RANGE))
    if parenchyma.sum() < 50:
        return img
    med = float(np.median(img[parenchyma]))
    med = min(max(med, 5.0), 250.0)
    gamma = float(np.clip(np.log(target / 255.0) / np.log(med / 255.0), 0.5, 2.5))
    return 255.0 * np.power(img / 255.0, gamma)


def _punctate_echoes(img: np.ndarray, parenchyma: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    density = float(rng.uniform(0.002, 0.006))
    ys, xs = np.nonzero(parenchyma)
    n = int(density * ys.size)
    if n == 0:
        return img
    pick = rng.integers(0, ys.size, n)
    dots = np.zeros(img.shape, np.float32)
    dots[ys[pick], xs[pick]] = rng.uniform(120.0, 240.0, n).astype(np.float32)
    scale = img.shape[1] / 256.0
    dots = cv2.GaussianBlur(dots, (0, 0), sigmaX=0.9 * scale + 0.3, sigmaY=0.5 * scale + 0.2) * 3.0
    return np.maximum(img, dots)


def _dim_calvarium(img: np.ndarray, tissue: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    h = img.shape[0]
    rows = np.arange(h, dtype=np.float32)[:, None] / h
    keep = float(rng.uniform(0.15, 0.4))
    weight = np.clip(keep + (1.0 - keep) * (rows - 0.55) / 0.25, keep, 1.0)
    bone = np.isin(tissue, (int(Tissue.SKULL), int(Tissue.SCALP))).astype(np.uint8)
    r = max(1, round(3 * img.shape[1] / 256))
    bone = cv2.dilate(bone, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    skull = cv2.GaussianBlur(bone.astype(np.float32), (0, 0), r / 2)
    return img * (1.0 - skull * (1.0 - weight))


def ge_look(frame: RenderedFrame, *, plane: Plane, rng: np.random.Generator) -> np.ndarray:
    """The GE-like look of a rendered frame (uint8 ``[H, W]``, 0 outside the imaging region)."""
    img = _speckle_reduction(frame.image, rng=rng).astype(np.float32)
    parenchyma = np.isin(frame.tissue, [int(t) for t in _PARENCHYMA]) & frame.mask
    img = _grey_map(img, parenchyma, rng=rng)
    img = _punctate_echoes(img, parenchyma, rng=rng)
    if Plane(plane) is Plane.SAGITTAL:
        img = _dim_calvarium(img, frame.tissue, rng=rng)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    out[~frame.mask] = 0
    return out


def apply_appearance(frame: RenderedFrame, appearance: Appearance | str, *, plane: Plane, rng: np.random.Generator) -> np.ndarray:
    """``frame.image`` with a look applied (``today``: unchanged; ``ge``: :func:`ge_look`)."""
    look = parse_choice(Appearance, appearance, what="appearance")
    if look is Appearance.TODAY:
        return frame.image
    return ge_look(frame, plane=plane, rng=rng)
