"""Training images for the posterior-fossa network (:mod:`neocus.fetal.cerebellum`), made from the fetal
head phantom only.

:func:`render_fossa_pool` renders phantom cases, mostly trans-cerebellar (the other planes teach that
a plane without a cerebellum has none), at ``render_hw`` (isotropic pixels, the phantom's aspect) and
keeps a square crop of ``side`` pixels centred on the head, the head's larger side filling
``head_fill`` of it, with the maternal tissue around it: the training crops then zoom, shift and
rotate around the head as the head finder of the prediction does, at about the resolution the network
sees (the plane recogniser's pool, :func:`neocus.fetal.plane_data.render_plane_pool`, is squashed to
160 x 160: about 1 mm per pixel across the cerebellum, too coarse for a TCD within 1 mm).
Conditions are drawn with :data:`FOSSA_CONDITION_WEIGHTS` (the posterior-fossa conditions more often
than in the phantom dataset). Deterministic per seed.

:func:`render_zoom_pool` keeps whole trans-cerebellar images at the phantom's default size instead (the
zoom stage, :mod:`neocus.fetal.fossa_zoom`, crops around the posterior fossa at the source resolution).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from neocus.fetal.phantom_anatomy import LABEL_IDS
from neocus.fetal.phantom_dataset import case_rng
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import DEFAULT_OUT_SIZE_HW, FetalLook, simulate_fetal_image
from neocus.fetal.plane_data import PLANES, PlanePool
from neocus.vocab import FetalCondition, FetalPlane, FetalStructure

__all__ = ["FOSSA_CONDITION_WEIGHTS", "render_fossa_pool", "render_zoom_pool"]

FOSSA_CONDITION_WEIGHTS = {FetalCondition.NORMAL: 0.35, FetalCondition.CEREBELLAR_HYPOPLASIA: 0.25,
                           FetalCondition.MEGA_CISTERNA_MAGNA: 0.25, FetalCondition.VENTRICULOMEGALY: 0.15}
TC = PLANES.index(FetalPlane.TRANS_CEREBELLAR)


def _head_crop(image: np.ndarray, labels: np.ndarray, *, side: int, head_fill: float) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(labels == LABEL_IDS[FetalStructure.SKULL])
    if len(xs) < 10:
        ys, xs = np.nonzero(labels)
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    s = side * head_fill / max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    m = np.array([[s, 0.0, side / 2 - s * cx], [0.0, s, side / 2 - s * cy]])
    img = cv2.warpAffine(image, m, (side, side), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    lab = cv2.warpAffine(labels, m, (side, side), flags=cv2.INTER_NEAREST)
    return img, lab


def render_fossa_pool(n: int, *, seed: int, side: int = 256, head_fill: float = 0.6, tc_fraction: float = 0.75,
                      render_hw: tuple[int, int] = (324, 432), progress: Callable[[int, int], None] | None = None) -> PlanePool:
    """Render ``n`` phantom cases (trans-cerebellar with probability ``tc_fraction``, else one of the other
    planes) and keep their head crops ``[n, side, side]`` with label maps (see the module docstring)."""
    images = np.zeros((n, side, side), np.uint8)
    labels = np.zeros((n, side, side), np.uint8)
    planes = np.zeros(n, np.int64)
    for i, img, plane in _cases(n, seed=seed, tc_fraction=tc_fraction, render_hw=render_hw, progress=progress):
        images[i], labels[i] = _head_crop(img.image, img.labels, side=side, head_fill=head_fill)
        planes[i] = plane
    return PlanePool(images=images, labels=labels, planes=planes)


def _cases(n: int, *, seed: int, tc_fraction: float, render_hw: tuple[int, int], progress: Callable[[int, int], None] | None):
    """Case ``i`` of ``seed`` rendered (condition by :data:`FOSSA_CONDITION_WEIGHTS`, any look, GA uniform), with its plane index."""
    conds, others = list(FOSSA_CONDITION_WEIGHTS), [i for i in range(len(PLANES)) if i != TC]
    for i in range(n):
        rng = case_rng(seed, i)
        cond = conds[int(rng.choice(len(conds), p=list(FOSSA_CONDITION_WEIGHTS.values())))]
        plane = TC if rng.random() < tc_fraction else int(rng.choice(others))
        look = list(FetalLook)[int(rng.integers(len(FetalLook)))]
        img = simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=PLANES[plane], condition=cond, look=look,
                                   out_size_hw=render_hw, rng=rng)
        yield i, img, plane
        if progress is not None:
            progress(i + 1, n)


def render_zoom_pool(n: int, *, seed: int, render_hw: tuple[int, int] = DEFAULT_OUT_SIZE_HW,
                     progress: Callable[[int, int], None] | None = None) -> PlanePool:
    """Render ``n`` trans-cerebellar phantom cases at ``render_hw`` and keep the whole images ``[n, H, W]``
    with their label maps (the zoom stage's training pool; see the module docstring)."""
    images = np.zeros((n, *render_hw), np.uint8)
    labels = np.zeros((n, *render_hw), np.uint8)
    for i, img, _ in _cases(n, seed=seed, tc_fraction=1.0, render_hw=render_hw, progress=progress):
        images[i], labels[i] = img.image, img.labels
    return PlanePool(images=images, labels=labels, planes=np.full(n, TC, np.int64))
