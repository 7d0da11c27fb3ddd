"""Training images for fetal plane recognition, made from the fetal head phantom only.

:func:`render_plane_pool` renders phantom cases with the planes in turn (trans-thalamic,
trans-ventricular, trans-cerebellar, other) and keeps each B-mode image and its label map,
stretched to a square (as the real fetal-brain images are: Roboflow stretched them to 640x640).

:func:`augment_batch` then makes the network learn shape rather than the phantom's look, after
SynthSeg (Billot et al., Med Image Anal 2023;86:102789): half of each batch is drawn from the label
maps with a random grey level per structure, and every image gets a random gamma, contrast,
blur, speckle-like multiplicative noise, additive noise, a crop around the head (the head fills
50-95 % of it, as in real plane images) at a random aspect, shift, rotation and flips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from neocus.atomic import atomic_target
from neocus.errors import InputFileError, NeocusError
from neocus.fetal.phantom_anatomy import LABEL_IDS
from neocus.fetal.phantom_dataset import CONDITION_WEIGHTS, case_rng
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import FetalLook, simulate_fetal_image
from neocus.vocab import FetalPlane, FetalStructure

PLANES: tuple[FetalPlane, ...] = tuple(FetalPlane)
N_LABEL_IDS = 32


@dataclass(frozen=True, eq=False)
class PlanePool:
    """Phantom images ``[N, S, S]`` uint8, their label maps and plane indices (into :data:`PLANES`)."""

    images: np.ndarray
    labels: np.ndarray
    planes: np.ndarray


def render_plane_pool(
    n: int, *, seed: int, side: int = 160, render_hw: tuple[int, int] = (216, 288), progress: Callable[[int, int], None] | None = None
) -> PlanePool:
    """Render ``n`` phantom cases (plane ``i % 4``), squashed to ``side x side``."""
    images = np.zeros((n, side, side), np.uint8)
    labels = np.zeros((n, side, side), np.uint8)
    planes = np.zeros(n, np.int64)
    conds = list(CONDITION_WEIGHTS)
    for i in range(n):
        rng = case_rng(seed, i)
        cond = conds[int(rng.choice(len(conds), p=list(CONDITION_WEIGHTS.values())))]
        look = list(FetalLook)[int(rng.integers(len(FetalLook)))]
        img = simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=PLANES[i % 4], condition=cond, look=look, out_size_hw=render_hw, rng=rng)
        images[i] = cv2.resize(img.image, (side, side), interpolation=cv2.INTER_AREA)
        labels[i] = cv2.resize(img.labels, (side, side), interpolation=cv2.INTER_NEAREST)
        planes[i] = i % 4
        if progress is not None:
            progress(i + 1, n)
    return PlanePool(images=images, labels=labels, planes=planes)


def cached_plane_pool(
    path: str | Path, n: int, *, seed: int, progress: Callable[[int, int], None] | None = None,
    render: Callable[..., PlanePool] = render_plane_pool,
) -> PlanePool:
    """The pool of ``n`` images of ``seed`` kept in ``path`` (``.npz``): read when it is there, rendered
    (``render``: :func:`render_plane_pool`, or :func:`neocus.fetal.fossa_pool.render_fossa_pool`) and
    written atomically otherwise. A file holding another number of
    images (another ``--cases``) is refused rather than silently reused."""
    path = Path(path)
    if not path.is_file():
        pool = render(n, seed=seed, progress=progress)
        with atomic_target(path) as tmp:
            np.savez_compressed(tmp, images=pool.images, labels=pool.labels, planes=pool.planes)
        return pool
    try:
        with np.load(path) as z:
            pool = PlanePool(images=z["images"], labels=z["labels"], planes=z["planes"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"not a readable phantom pool ({type(exc).__name__})", where=path, hint="delete it to render it again") from None
    if len(pool.images) != n:
        raise NeocusError(f"holds {len(pool.images)} phantom images, not {n}", where=path,
                          hint="re-run with the same case counts to resume, or choose a new folder")
    return pool


def synth_from_labels(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random-intensity image of a label map: one grey level per structure, with texture."""
    lut = rng.uniform(0.0, 1.0, N_LABEL_IDS).astype(np.float32)
    lut[0] = rng.uniform(0.0, 0.1)
    img = lut[labels]
    img *= np.clip(1.0 + 0.5 * rng.standard_normal(labels.shape, dtype=np.float32), 0.0, None)  # speckle-like texture
    return img


def _head_box(labels: np.ndarray) -> tuple[float, float, float, float]:
    """Centre (x, y) and size (w, h) of the skull in a label map (the whole map when there is none)."""
    ys, xs = np.nonzero(labels == LABEL_IDS[FetalStructure.SKULL])
    if len(xs) < 10:
        h, w = labels.shape
        return w / 2, h / 2, float(w), float(h)
    return (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2, float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def _crop_matrix(labels: np.ndarray, out_side: int, rng: np.random.Generator) -> np.ndarray:
    """Affine map from the pool image to the network input: a box around the head (the head fills
    50-95 % of its width, as in real plane images), any aspect 0.8-1.25, shifted, rotated +-30 deg."""
    cx, cy, w, h = _head_box(labels)
    crop_w = max(w, h) / rng.uniform(0.5, 0.95)
    crop_h = crop_w * rng.uniform(0.8, 1.25)
    cx += rng.uniform(-0.1, 0.1) * crop_w
    cy += rng.uniform(-0.1, 0.1) * crop_h
    a = np.deg2rad(rng.uniform(-30.0, 30.0))
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    lin = np.diag([out_side / crop_w, out_side / crop_h]) @ rot
    shift = np.array([out_side / 2, out_side / 2]) - lin @ np.array([cx, cy])
    return np.hstack([lin, shift[:, None]]).astype(np.float64)


def head_crop(image: np.ndarray, labels: np.ndarray, *, out_side: int, fill: float = 0.75, highpass_sigma: float = 0.0) -> np.ndarray:
    """A square crop around the head (the head fills ``fill`` of it), standardised: the phantom
    validation input, without randomisation."""
    cx, cy, w, h = _head_box(labels)
    side = max(w, h) / fill
    m = np.array([[out_side / side, 0.0, out_side / 2 - out_side / side * cx], [0.0, out_side / side, out_side / 2 - out_side / side * cy]])
    img = cv2.warpAffine(image.astype(np.float32) / 255.0, m, (out_side, out_side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return standardise(img, highpass_sigma=highpass_sigma)


def elastic(img: np.ndarray, *, amplitude_px: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random deformation (displacements from a 5x5 grid of normals, cubic upsampling)."""
    n = img.shape[0]
    dx, dy = (cv2.resize(rng.normal(0.0, amplitude_px, (5, 5)).astype(np.float32), (n, n), interpolation=cv2.INTER_CUBIC) for _ in range(2))
    gx, gy = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32))
    return cv2.remap(img, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _clutter(img: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Up to 30 short bright lines anywhere (real brains are full of bright echoes: vessels, sulci, the
    insula), so that bright texture does not tell one plane from another."""
    n = img.shape[0]
    top = float(img.max()) or 1.0
    for _ in range(int(rng.integers(0, 31))):
        x0, y0 = rng.uniform(0.15, 0.85, 2) * n
        ang, ln = rng.uniform(0, np.pi), rng.uniform(2.0, 0.08 * n)
        x1, y1 = x0 + ln * np.cos(ang), y0 + ln * np.sin(ang)
        cv2.line(img, (int(x0), int(y0)), (int(x1), int(y1)), float(top * rng.uniform(0.3, 0.9)), 1, cv2.LINE_AA)
    return img


def augment_batch(
    images: np.ndarray, labels: np.ndarray, *, out_side: int, synth_fraction: float = 0.5, clutter: bool = False,
    highpass_sigma: float = 0.0, rng: np.random.Generator,
) -> np.ndarray:
    """Randomised float32 batch ``[B, 1, out_side, out_side]``, each image standardised (see module
    docstring); ``clutter`` adds a random elastic deformation and random bright lines."""
    b = images.shape[0]
    out = np.zeros((b, 1, out_side, out_side), np.float32)
    for k in range(b):
        if rng.random() < synth_fraction:
            img = synth_from_labels(labels[k], rng)
        else:
            img = images[k].astype(np.float32) / 255.0
        img = cv2.warpAffine(img, _crop_matrix(labels[k], out_side, rng), (out_side, out_side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if clutter:
            img = _clutter(elastic(img, amplitude_px=out_side * 0.03, rng=rng), rng=rng)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        if rng.random() < 0.5:
            img = img[::-1, :]
        out[k, 0] = standardise(randomise_appearance(img, rng=rng), highpass_sigma=highpass_sigma)
    return out


def randomise_appearance(img: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Random blur, gamma, contrast and additive noise of a float image (not standardised)."""
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        img = cv2.GaussianBlur(np.ascontiguousarray(img), (0, 0), sigma)
    img = np.clip(img, 0.0, None)
    img = img / max(float(img.max()), 1e-6)
    img = img ** np.float32(np.exp(rng.normal(0.0, 0.35)))
    img = img * np.float32(rng.uniform(0.6, 1.4)) + np.float32(rng.uniform(-0.1, 0.1))
    return img + np.float32(rng.uniform(0.0, 0.08)) * rng.standard_normal(img.shape, dtype=np.float32)


def standardise(img: np.ndarray, *, highpass_sigma: float = 0.0) -> np.ndarray:
    """Zero mean, unit SD (per image); with ``highpass_sigma`` > 0 (pixels) the image minus its
    Gaussian blur first (keeps edges and structures, drops the overall brightness layout)."""
    img = np.asarray(img, np.float32)
    if highpass_sigma > 0:
        img = img - cv2.GaussianBlur(img, (0, 0), highpass_sigma)
    return (img - img.mean()) / max(float(img.std()), 1e-6)


def warp_flip_randomise(img: np.ndarray, target: np.ndarray, m: np.ndarray, *, side: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One training pair from an image and its class map: both warped by the 2x3 affine ``m`` to
    ``side x side``, flipped left-right and up-down at random (together), then the image's appearance
    randomised (:func:`randomise_appearance`) and standardised."""
    img = cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tgt = cv2.warpAffine(target, m, (side, side), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if rng.random() < 0.5:
        img, tgt = img[:, ::-1], tgt[:, ::-1]
    if rng.random() < 0.5:
        img, tgt = img[::-1], tgt[::-1]
    return standardise(randomise_appearance(img, rng=rng)), tgt
