"""Trans-cerebellar phantom images for the cerebellar hypoplasia classifier (issue #16 point 5).

:func:`render_hypoplasia_pool` renders fetal head phantom cases in the trans-cerebellar plane only,
the four conditions in turn (normal, cerebellar hypoplasia, mega cisterna magna, ventriculomegaly:
so a pool is balanced across them; hypoplasia is the positive class), gestational age uniform
18-40 weeks, a random scanner look. Like the plane pool (:mod:`neocus.fetal.plane_data`) each
render (216x288, :data:`RENDER_HW`, by default; ``render_hw`` of the same 3:4 aspect, e.g. the phantom's own
432x576, otherwise) is squashed to a square with its label map; :func:`augment_hypoplasia_batch` randomises
them in the SynthSeg style of :mod:`neocus.fetal.plane_data`, undoing the squash. A pool also keeps, per image,
the GA, the pixel size of the render and the true TCD centile; ``keep_full`` keeps the unsquashed
renders too (the hold-out, where the TCD rule measures on the image at its true aspect).

Case ``i`` of seed ``s`` comes from ``numpy.random.default_rng([s, i])``, like a phantom dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from neocus.atomic import atomic_target
from neocus.errors import InputFileError, NeocusError
from neocus.fetal.cerebellum import HEAD_FILL, class_map, head_crop_matrix
from neocus.fetal.phantom_dataset import case_rng
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import DEFAULT_OUT_SIZE_HW, FetalLook, simulate_fetal_image
from neocus.fetal.plane_data import standardise, synth_from_labels, warp_flip_randomise
from neocus.vocab import FetalCondition, FetalPlane

__all__ = ["CONDITIONS", "DEFAULT_PHANTOM_HW", "AugmentedBatch", "HypoplasiaPool", "augment_hypoplasia_batch", "cached_hypoplasia_pool", "crop_inputs",
           "check_render_hw", "crop_mm_per_px", "fill_for_scale", "head_box_xywh", "is_positive", "render_hypoplasia_pool"]

CONDITIONS: tuple[FetalCondition, ...] = (FetalCondition.NORMAL, FetalCondition.CEREBELLAR_HYPOPLASIA,
                                          FetalCondition.MEGA_CISTERNA_MAGNA, FetalCondition.VENTRICULOMEGALY)
POSITIVE = CONDITIONS.index(FetalCondition.CEREBELLAR_HYPOPLASIA)
RENDER_HW = (216, 288)
POOL_ASPECT_X = RENDER_HW[1] / RENDER_HW[0]  # the square pool shrank x this much more than y
_FIELDS = ("images", "labels", "conditions", "ga_weeks", "pixel_mm", "tcd_centile")
DEFAULT_PHANTOM_HW = DEFAULT_OUT_SIZE_HW  # the fetal phantom's own render size, 432x576 (``fetal simulate``)


@dataclass(frozen=True, eq=False)
class HypoplasiaPool:
    """Squashed images and label maps ``[N, S, S]`` uint8, condition indices into :data:`CONDITIONS`, GA
    (weeks), pixel size of the render (mm) and the true TCD centile; ``full_images`` / ``full_labels``
    ``[N, *render_hw]`` when kept, else ``None``; ``render_hw``: the size the images were rendered at."""

    images: np.ndarray
    labels: np.ndarray
    conditions: np.ndarray
    ga_weeks: np.ndarray
    pixel_mm: np.ndarray
    tcd_centile: np.ndarray
    full_images: np.ndarray | None = None
    full_labels: np.ndarray | None = None
    render_hw: tuple[int, int] = RENDER_HW

    @property
    def positive(self) -> np.ndarray:
        return is_positive(self.conditions)


def is_positive(conditions: np.ndarray) -> np.ndarray:
    """1 for cerebellar hypoplasia, 0 for every other condition (int array)."""
    return (np.asarray(conditions) == POSITIVE).astype(np.int64)


def check_render_hw(render_hw) -> tuple[int, int]:
    """A render size (rows, columns) of the pool's 3:4 aspect (the crops undo the squash by that aspect)."""
    h, w = (int(v) for v in render_hw)
    if h < 64 or h * RENDER_HW[1] != w * RENDER_HW[0]:
        raise NeocusError(f"render size {h}x{w} is not 3:4 with at least 64 rows", where="render_hw", hint="e.g. 216x288 or 432x576")
    return h, w


def render_hypoplasia_pool(n: int, *, seed: int, side: int = 160, keep_full: bool = False, render_hw: tuple[int, int] = RENDER_HW,
                           progress: Callable[[int, int], None] | None = None) -> HypoplasiaPool:
    """Render ``n`` trans-cerebellar phantom cases (condition ``i % 4``) at ``render_hw``, see the module docstring."""
    if n < 1:
        raise NeocusError(f"{n} images asked for; need at least 1", where="n")
    render_hw = check_render_hw(render_hw)
    images = np.zeros((n, side, side), np.uint8)
    labels = np.zeros((n, side, side), np.uint8)
    full_i = np.zeros((n, *render_hw), np.uint8) if keep_full else None
    full_l = np.zeros((n, *render_hw), np.uint8) if keep_full else None
    conds, ga, px, cent = np.zeros(n, np.int64), np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        rng = case_rng(seed, i)
        look = list(FetalLook)[int(rng.integers(len(FetalLook)))]
        ga[i] = float(rng.uniform(*GA_RANGE_WEEKS))
        conds[i] = i % len(CONDITIONS)
        img = simulate_fetal_image(ga[i], plane=FetalPlane.TRANS_CEREBELLAR, condition=CONDITIONS[conds[i]], look=look,
                                   out_size_hw=render_hw, rng=rng)
        images[i] = cv2.resize(img.image, (side, side), interpolation=cv2.INTER_AREA)
        labels[i] = cv2.resize(img.labels, (side, side), interpolation=cv2.INTER_NEAREST)
        if keep_full:
            full_i[i], full_l[i] = img.image, img.labels
        px[i], cent[i] = img.pixel_mm, img.truth.tcd_centile
        if progress is not None:
            progress(i + 1, n)
    return HypoplasiaPool(images, labels, conds, ga, px, cent, full_i, full_l, render_hw)


def cached_hypoplasia_pool(path: str | Path, n: int, *, seed: int, keep_full: bool = False, render_hw: tuple[int, int] = RENDER_HW,
                           progress: Callable[[int, int], None] | None = None) -> HypoplasiaPool:
    """The pool of ``n`` images of ``seed`` rendered at ``render_hw`` kept in ``path`` (``.npz``): read when
    there, else rendered and written atomically; a file holding another number of images or another render
    size (files without one are 216x288) is refused."""
    path = Path(path)
    render_hw = check_render_hw(render_hw)
    if not path.is_file():
        pool = render_hypoplasia_pool(n, seed=seed, keep_full=keep_full, render_hw=render_hw, progress=progress)
        arrays = {k: getattr(pool, k) for k in _FIELDS} | {"render_hw": np.array(render_hw)}
        if keep_full:
            arrays |= {"full_images": pool.full_images, "full_labels": pool.full_labels}
        with atomic_target(path) as tmp:
            np.savez_compressed(tmp, **arrays)
        return pool
    try:
        with np.load(path) as z:
            extra = {k: z[k] for k in ("full_images", "full_labels") if k in z}
            stored_hw = tuple(int(v) for v in z["render_hw"]) if "render_hw" in z else RENDER_HW
            pool = HypoplasiaPool(*(z[k] for k in _FIELDS), **extra, render_hw=stored_hw)
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"not a readable hypoplasia phantom pool ({type(exc).__name__})", where=path,
                             hint="delete it to render it again") from None
    if len(pool.images) != n:
        raise NeocusError(f"holds {len(pool.images)} phantom images, not {n}", where=path,
                          hint="re-run with the same case counts to resume, or choose a new folder")
    if pool.render_hw != render_hw:
        raise NeocusError(f"holds images rendered at {pool.render_hw[0]}x{pool.render_hw[1]}, not {render_hw[0]}x{render_hw[1]}",
                          where=path, hint="give the matching render size, or another file")
    return pool


@dataclass(frozen=True, eq=False)
class AugmentedBatch:
    """Network inputs ``x`` ``[B, 1, S, S]`` float32, class-map targets ``target`` (same shape) and, when the
    pool's pixel sizes were given, the mm per pixel of each crop (``[B]``, else ``None``)."""

    x: np.ndarray
    target: np.ndarray
    mm_per_px: np.ndarray | None = None


def _mm_per_crop_px(m: np.ndarray, pixel_mm: float, *, pool_side: int, aspect_x: float, render_h: int = RENDER_HW[0]) -> float:
    """mm per pixel of a crop made by the 2x3 map ``m`` (crop scale sx = aspect_x * sy, any rotation) from a
    pool image whose ``render_h``-row render of ``pixel_mm`` was squashed to ``pool_side`` rows."""
    sy = float(np.sqrt(abs(np.linalg.det(m[:, :2])) / aspect_x))
    return pixel_mm * render_h / pool_side / sy


def crop_mm_per_px(labels: np.ndarray, pixel_mm: np.ndarray, *, side: int, aspect_x: float = POOL_ASPECT_X,
                   fill: np.ndarray | None = None, render_h: int = RENDER_HW[0]) -> np.ndarray:
    """mm per pixel ``[N]`` of the crops :func:`crop_inputs` makes of a pool's images (its true scale: with it
    the sizes in a crop are real again); ``render_h``: the rows of the renders whose pixel size ``pixel_mm`` is."""
    fills = np.full(len(labels), HEAD_FILL) if fill is None else np.asarray(fill, np.float64)
    return np.array([_mm_per_crop_px(head_crop_matrix(head_box_xywh(class_map(lab)), out_side=side, aspect_x=aspect_x, fill=float(f)),
                                     float(px), pool_side=lab.shape[0], aspect_x=aspect_x, render_h=render_h)
                     for lab, px, f in zip(labels, pixel_mm, fills)])


def fill_for_scale(labels: np.ndarray, pixel_mm: np.ndarray, mm_per_px: np.ndarray, *, side: int,
                   aspect_x: float = POOL_ASPECT_X, render_h: int = RENDER_HW[0]) -> np.ndarray:
    """The head fill ``[N]`` (of :func:`crop_inputs`, :func:`augment_hypoplasia_batch`) that makes each pool
    image's crop ``mm_per_px`` mm per pixel (a head larger than the crop is then cut)."""
    out = []
    for lab, px, mm in zip(labels, pixel_mm, mm_per_px):
        _, _, w, h = head_box_xywh(class_map(lab))
        out.append(float(px) * render_h / lab.shape[0] / float(mm) * max(w * aspect_x, h) / side)
    return np.array(out)


def head_box_xywh(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Box (x0, y0, w, h) of the non-zero pixels of a mask or class map (the whole image when nearly empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 10:
        h, w = np.asarray(mask).shape
        return 0.0, 0.0, float(w), float(h)
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def crop_inputs(images: np.ndarray, labels: np.ndarray, *, side: int, aspect_x: float = POOL_ASPECT_X,
                fill: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs ``[N, 1, side, side]`` (standardised) and class-map targets of a pool's images, cropped
    around the head of the TRUE label map at the prediction's fill (or each image's ``fill``: see
    :func:`fill_for_scale`), no randomisation (phantom validation and hold-out: the head box stands in for
    the sonographer's zoom on the head)."""
    xs, ys = [], []
    fills = np.full(len(images), HEAD_FILL) if fill is None else np.asarray(fill, np.float64)
    for img, lab, f in zip(images, labels, fills):
        target = class_map(lab)
        m = head_crop_matrix(head_box_xywh(target), out_side=side, aspect_x=aspect_x, fill=float(f))
        xs.append(standardise(cv2.warpAffine(img.astype(np.float32) / 255.0, m, (side, side), flags=cv2.INTER_LINEAR)))
        ys.append(cv2.warpAffine(target, m, (side, side), flags=cv2.INTER_NEAREST))
    return np.stack(xs)[:, None].astype(np.float32), np.stack(ys)[:, None].astype(np.float32)


def _random_crop(target: np.ndarray, *, side: int, fill: float | None, rng: np.random.Generator) -> np.ndarray:
    """Crop around the head (it fills 55-95 %, or ``fill`` +-4 %), the pool's squash undone EXACTLY (a stretch
    would change the ratio of TCD to head width that the label depends on), rotation +-25 deg, shift +-8 %."""
    f = rng.uniform(0.55, 0.95) if fill is None else fill * rng.uniform(0.96, 1.04)
    m = np.vstack([head_crop_matrix(head_box_xywh(target), out_side=side, fill=f, aspect_x=POOL_ASPECT_X),
                   [0.0, 0.0, 1.0]])
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), float(rng.uniform(-25.0, 25.0)), 1.0)
    rot[:, 2] += rng.uniform(-0.08, 0.08, 2) * side
    return (np.vstack([rot, [0.0, 0.0, 1.0]]) @ m)[:2]


def augment_hypoplasia_batch(images: np.ndarray, labels: np.ndarray, *, side: int, synth_fraction: float = 0.5,
                             pixel_mm: np.ndarray | None = None, fill: np.ndarray | None = None, render_h: int = RENDER_HW[0],
                             rng: np.random.Generator) -> AugmentedBatch:
    """Randomised inputs ``[B, 1, side, side]`` float32 and class-map targets (SynthSeg style: half painted
    from the label map with a random grey per structure; crop, rotation, shift, flips, blur, gamma,
    contrast, noise; no change of aspect); with the pool's ``pixel_mm`` also each crop's mm per pixel;
    ``fill`` (per image, :func:`fill_for_scale`) sets the zoom to +-4 % instead of a head filling 55-95 %."""
    xs = np.zeros((len(images), 1, side, side), np.float32)
    ys = np.zeros((len(images), 1, side, side), np.float32)
    mm = np.zeros(len(images))
    for k in range(len(images)):
        target = class_map(labels[k])
        img = synth_from_labels(labels[k], rng) if rng.random() < synth_fraction else images[k].astype(np.float32) / 255.0
        m = _random_crop(target, side=side, fill=None if fill is None else float(fill[k]), rng=rng)
        if pixel_mm is not None:
            mm[k] = _mm_per_crop_px(m, float(pixel_mm[k]), pool_side=labels.shape[1], aspect_x=POOL_ASPECT_X, render_h=render_h)
        xs[k, 0], ys[k, 0] = warp_flip_randomise(img, target, m, side=side, rng=rng)
    return AugmentedBatch(xs, ys, mm if pixel_mm is not None else None)
