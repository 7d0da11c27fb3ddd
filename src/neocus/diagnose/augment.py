"""Ultrasound-safe augmentation of a whole case, and the left/right mirror used for TTA.

Mirroring a head left to right mirrors every coronal image and swaps the right and left parasagittal
views (a parasagittal image itself is not mirrored: anterior stays on the left). Other operations are
per image: grey-level (gamma), gain, small rotation about the image centre, blur, multiplicative
speckle; views may be dropped so the fusion learns with missing views.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from neocus.diagnose.data import ViewImage
from neocus.results import AsDict
from neocus.vocab import VIEW_PLANE, Plane, View

MIRROR_VIEW: dict[View, View] = {View.RPSV: View.LPSV, View.LPSV: View.RPSV}


def mirror_case(views: dict[View, ViewImage]) -> dict[View, ViewImage]:
    """The case of the mirrored head: coronal images flipped, RPSV and LPSV swapped."""
    out = {}
    for v, vi in views.items():
        if VIEW_PLANE[v] is Plane.CORONAL:
            vi = ViewImage(
                np.ascontiguousarray(vi.image[:, ::-1]), vi.findings,
                None if vi.target_mask is None else np.ascontiguousarray(vi.target_mask[:, ::-1]),
            )
        out[MIRROR_VIEW.get(v, v)] = vi
    return out


@dataclass(frozen=True)
class AugmentConfig(AsDict):
    flip_p: float = 0.5
    gamma: tuple[float, float] = (0.7, 1.4)
    gain: tuple[float, float] = (0.8, 1.25)
    rotate_deg: float = 8.0
    blur_p: float = 0.25
    blur_sigma: tuple[float, float] = (0.5, 1.2)
    speckle_p: float = 0.3
    speckle_sd: float = 0.15
    drop_view_p: float = 0.2  # chance that a case loses one or two of its views (at least 3 remain)


def _augment_image(image: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    x = image.astype(np.float32) / 255.0
    x = np.power(x, rng.uniform(*cfg.gamma)) * rng.uniform(*cfg.gain)
    if cfg.rotate_deg > 0:
        h, w = x.shape
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)), 1.0)
        x = cv2.warpAffine(x, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    if rng.random() < cfg.blur_p:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(*cfg.blur_sigma)))
    if rng.random() < cfg.speckle_p:
        x = x * (1.0 + cfg.speckle_sd * rng.standard_normal(x.shape).astype(np.float32))
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def augment_case(views: dict[View, ViewImage], cfg: AugmentConfig, *, rng: np.random.Generator) -> dict[View, ViewImage]:
    """A randomly augmented copy of a case (labels follow the views; masks are not rotated, so an
    augmented case is for training only)."""
    if rng.random() < cfg.flip_p:
        views = mirror_case(views)
    out = {v: replace(vi, image=_augment_image(vi.image, cfg, rng), target_mask=None) for v, vi in views.items()}
    if len(out) > 3 and rng.random() < cfg.drop_view_p:
        n_drop = int(rng.integers(1, min(2, len(out) - 3) + 1))
        for v in rng.choice(sorted(out), size=n_drop, replace=False):
            del out[View(v)]
    return out
