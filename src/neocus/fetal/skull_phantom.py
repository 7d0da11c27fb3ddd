"""Phantom training images for the skull network (pretraining before the real HC18 images).

:func:`render_skull_pool` renders fetal head phantom cases (:func:`neocus.fetal.phantom_render.simulate_fetal_image`,
the three standard axial planes in turn, conditions drawn as in the phantom dataset) and keeps, for each,
a crop framed as an HC18 image is (the head's width 33-75 % of the crop's, the crop of the network
input's aspect, the head shifted off centre at random) at the network input size, with its label map.

The target, :func:`head_target`, is the head up to the **middle of the skull bone**: on the HC18
images the sonographer's ellipse runs along the middle of the bright skull echo, not along its outer
edge (docs/fetal.md, "What the HC18 ellipse traces"), so the phantom target is drawn the same way:
the brain plus the inner half of the skull ring.

:func:`phantom_sample` randomises each training image as the plane pool does
(:mod:`neocus.fetal.plane_data`, after SynthSeg): half of the time the image is drawn from the label
map with a random grey level per structure, then random blur, gamma, contrast and noise, then it is
standardised as :func:`neocus.fetal.skull_model.network_input` standardises a real image.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from neocus.fetal.phantom_anatomy import INTRACRANIAL, LABEL_IDS
from neocus.fetal.phantom_dataset import CONDITION_WEIGHTS, case_rng
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import FetalLook, simulate_fetal_image
from neocus.fetal.plane_data import PlanePool, randomise_appearance, standardise, synth_from_labels
from neocus.vocab import FetalPlane, FetalStructure

__all__ = ["HEAD_WIDTH_FRACTION", "head_target", "phantom_sample", "render_skull_pool"]

# the head's width as a fraction of the image width on the 185 HC18 images: 5th-95th centile 0.33-0.72
HEAD_WIDTH_FRACTION = (0.33, 0.75)
STANDARD_PLANES = (FetalPlane.TRANS_THALAMIC, FetalPlane.TRANS_VENTRICULAR, FetalPlane.TRANS_CEREBELLAR)


def head_target(labels: np.ndarray) -> np.ndarray:
    """The head mask of a phantom label map up to the middle of the skull: every pixel inside the
    skull's outer border except the skull pixels nearer the outside than the brain. Empty when the map
    has no skull."""
    skull = labels == LABEL_IDS[FetalStructure.SKULL]
    if not skull.any():
        return np.zeros(labels.shape, bool)
    inside = np.isin(labels, [LABEL_IDS[s] for s in INTRACRANIAL])  # everything within the inner skull border
    contours, _ = cv2.findContours((skull | inside).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    head = np.zeros(labels.shape, np.uint8)
    cv2.drawContours(head, [max(contours, key=cv2.contourArea)], -1, 1, thickness=cv2.FILLED)
    to_outside = cv2.distanceTransform(head, cv2.DIST_L2, 5)
    to_inside = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)
    return head.astype(bool) & ~(skull & (to_outside < to_inside))


def _hc18_frame(labels: np.ndarray, *, out_hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Affine map from the rendered image to an HC18-like crop of ``out_hw`` around the skull."""
    ys, xs = np.nonzero(labels == LABEL_IDS[FetalStructure.SKULL])
    if len(xs) < 10:
        ys, xs = np.nonzero(labels > 0)
    oh, ow = out_hw
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    w, h = float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)
    fill = rng.uniform(*HEAD_WIDTH_FRACTION)  # of the width; of the height at most 0.88 (HC18: 0.45-0.84)
    crop_w = max(w / fill, h * ow / oh / min(1.2 * fill, 0.88))
    s = ow / crop_w
    cx += rng.uniform(-0.12, 0.12) * crop_w
    cy += rng.uniform(-0.12, 0.12) * crop_w * oh / ow
    return np.array([[s, 0.0, ow / 2 - s * cx], [0.0, s, oh / 2 - s * cy]])


def _random_case(plane: FetalPlane, *, render_hw: tuple[int, int], rng: np.random.Generator):
    """One phantom case of ``plane``: condition drawn as in the phantom dataset, look and GA uniform."""
    conds = list(CONDITION_WEIGHTS)
    condition = conds[int(rng.choice(len(conds), p=list(CONDITION_WEIGHTS.values())))]
    look = list(FetalLook)[int(rng.integers(len(FetalLook)))]
    return simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=plane, condition=condition, look=look,
                                out_size_hw=render_hw, rng=rng)


def render_skull_pool(n: int, *, seed: int, out_hw: tuple[int, int] = (176, 256), render_hw: tuple[int, int] = (324, 480),
                      progress: Callable[[int, int], None] | None = None) -> PlanePool:
    """Render ``n`` phantom cases (the standard planes in turn) as HC18-like crops ``[n, *out_hw]`` with
    their label maps; deterministic per ``seed`` (case ``i`` uses ``default_rng([seed, i])``)."""
    images, labels = np.zeros((n, *out_hw), np.uint8), np.zeros((n, *out_hw), np.uint8)
    planes = np.arange(n, dtype=np.int64) % len(STANDARD_PLANES)
    for i in range(n):
        rng = case_rng(seed, i)
        img = _random_case(STANDARD_PLANES[planes[i]], render_hw=render_hw, rng=rng)
        m = _hc18_frame(img.labels, out_hw=out_hw, rng=rng)
        images[i] = cv2.warpAffine(img.image, m, out_hw[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        labels[i] = cv2.warpAffine(img.labels, m, out_hw[::-1], flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if progress is not None:
            progress(i + 1, n)
    return PlanePool(images=images, labels=labels, planes=planes)


def phantom_sample(image: np.ndarray, labels: np.ndarray, *, synth_fraction: float = 0.5,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One randomised training pair ``([1, H, W] float32, [1, H, W] float32 head mask)`` from a pool image
    and its label map (see the module docstring)."""
    if rng.random() < synth_fraction:
        img = synth_from_labels(labels, rng)
    else:
        img = image.astype(np.float32) / 255.0
    x = standardise(randomise_appearance(img, rng=rng))
    return x[None].astype(np.float32), head_target(labels)[None].astype(np.float32)
