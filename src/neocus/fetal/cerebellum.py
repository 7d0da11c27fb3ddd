"""Segmentation of the posterior fossa on a fetal trans-cerebellar image: skull, brain, cerebellum and
cisterna magna, one MONAI 2-D network (the skull model's :func:`~neocus.fetal.skull_model.build_network`
with 5 output channels), trained on the fetal head phantom only (:mod:`neocus.fetal.cerebellum_train`).

Classes: 0 background, then :data:`~neocus.fetal.phantom_masks.MASK_NAMES` in order (skull, brain,
cerebellum, cistern); the cerebellum and cistern classes win over brain, the skull over all.

Prediction is a cascade with the same network: the whole image letterboxed into the square input
finds the head (:func:`head_region`: the connected region of non-background classes with the most skull
pixels; the bounding box of *every* non-background pixel, as before, was thrown far off by a false
positive in the maternal tissue on 8 of 30 hold-out images, and the largest region was a fetal body
part larger than the head on 2 of 60), then a square crop around the head (the head fills :data:`HEAD_FILL` of it) is
segmented again, ``refine`` more times with the box of the head found in the previous crop, and the
class probabilities are warped back onto the full-resolution image. A model folder is the skull
model's (``config.json``, float16 ``weights.pt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.bundled import bundled_model_dir
from neocus.fetal.phantom_masks import MASK_NAMES, structure_masks
from neocus.fetal.skull_model import SkullModelConfig, network_input, read_model_folder

__all__ = ["CLASS_NAMES", "HEAD_FILL", "CerebellumModel", "class_map", "default_cerebellum_dir", "head_crop_matrix", "head_region", "load_cerebellum_model",
           "main_components", "mask_box_xywh", "masks_from_classes", "predict_posterior_fossa"]

CLASS_NAMES = ("background", *MASK_NAMES)
N_CLASSES = len(CLASS_NAMES)
HEAD_FILL = 0.8


def class_map(labels: np.ndarray) -> np.ndarray:
    """The training target ``[H, W]`` uint8 of a phantom label map (class indices into :data:`CLASS_NAMES`)."""
    masks = structure_masks(labels)
    out = np.zeros(np.asarray(labels).shape, np.uint8)
    for name in ("brain", "cerebellum", "cistern", "skull"):
        out[masks[name]] = CLASS_NAMES.index(name)
    return out


@dataclass(frozen=True)
class CerebellumModel:
    """A loaded posterior-fossa model: its configuration (input size square), network in eval mode, folder,
    and the zoom stage that refines its cerebellum and cistern (:mod:`neocus.fetal.fossa_zoom`; ``None``: none)."""

    config: SkullModelConfig
    network: Any
    path: Path | None
    zoom: Any = None


def default_cerebellum_dir() -> Path:
    """The bundled model: ``models/fetal/cerebellum`` at the top of the source tree."""
    return bundled_model_dir("fetal", "cerebellum")


def load_cerebellum_model(model_dir: str | Path, *, device: str = "cpu", zoom: str | Path | bool = True) -> CerebellumModel:
    """Load a model folder written by ``fetal train cerebellum``; a missing or corrupt file is an ``InputFileError``.
    ``zoom``: the zoom stage's folder (``fetal train fossa``), ``True`` for the bundled one when it is there, ``False`` for none."""
    from neocus.fetal.fossa_zoom import default_zoom_dir, load_zoom_model

    path = Path(model_dir)
    config, network = read_model_folder(path, out_channels=N_CLASSES, kind="cerebellum")
    network.to(device).eval()
    zoom_dir = default_zoom_dir() if zoom is True else (None if zoom is False else Path(zoom))
    if zoom is True and not zoom_dir.is_dir():
        zoom_dir = None
    zoom_model = load_zoom_model(zoom_dir, device=device) if zoom_dir is not None else None
    return CerebellumModel(config=config, network=network, path=path, zoom=zoom_model)


def head_crop_matrix(box_xywh: tuple[float, float, float, float], *, out_side: int, fill: float = HEAD_FILL,
                     aspect_x: float = 1.0) -> np.ndarray:
    """Affine 2x3 map from an image to a square ``out_side`` input centred on a head box (x0, y0, w, h):
    the head's larger side fills ``fill`` of it; ``aspect_x`` stretches x (1: isotropic)."""
    x0, y0, w, h = box_xywh
    cx, cy = x0 + w / 2.0, y0 + h / 2.0
    sy = out_side * fill / max(w * aspect_x, h)
    sx = sy * aspect_x
    return np.array([[sx, 0.0, out_side / 2 - sx * cx], [0.0, sy, out_side / 2 - sy * cy]], np.float64)


def _probabilities(network: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return torch.softmax(network(torch.from_numpy(x)[None, None]).float(), dim=1)[0].numpy()


def _standardise(x: np.ndarray) -> np.ndarray:
    return ((x - x.mean()) / max(float(x.std()), 1e-3)).astype(np.float32)


def mask_box_xywh(mask: np.ndarray, *, scale: float = 1.0, offset_xy: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, w, h) of a non-empty bool mask, mapped back by ``(v - offset) / scale`` (a letterbox or crop)."""
    ys, xs = np.nonzero(mask)
    ox, oy = offset_xy
    return ((xs.min() - ox) / scale, (ys.min() - oy) / scale, (xs.max() - xs.min() + 1) / scale, (ys.max() - ys.min() + 1) / scale)


def _crop_pass(image: np.ndarray, model: CerebellumModel, box_xywh: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``[C, side, side]`` of the square crop around ``box_xywh`` and the crop's affine matrix."""
    side = model.config.input_shape_hw[0]
    m = head_crop_matrix(box_xywh, out_side=side)
    crop = cv2.warpAffine(image.astype(np.float32) / 255.0, m, (side, side), flags=cv2.INTER_AREA if m[0, 0] < 1 else cv2.INTER_LINEAR)
    return _probabilities(model.network, _standardise(crop)), m


def head_region(classes: np.ndarray, *, min_fraction: float = 0.3) -> np.ndarray:
    """Of the connected regions of non-background classes at least ``min_fraction`` of the largest one's
    area, the one with the most skull-class pixels (the largest when none has any): the head, not a
    fetal body part or maternal tissue beside it."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats((classes > 0).astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(classes.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    skull = np.bincount(labels[classes == CLASS_NAMES.index("skull")], minlength=n)[1:] * (areas >= min_fraction * areas.max())
    return labels == 1 + int(np.argmax(skull) if skull.max() > 0 else np.argmax(areas))


def predict_posterior_fossa(image: np.ndarray, model: CerebellumModel, *, refine: int = 1,
                            head_box_xywh: tuple[float, float, float, float] | None = None, zoom: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``[C, H, W]`` and the class map ``[H, W]`` of a grey uint8 image at full
    resolution (the cascade of the module docstring, ``refine`` extra crops). ``head_box_xywh`` (x0, y0,
    w, h in pixels, e.g. from the skull model) replaces the whole-image pass. No head found: all background.
    With ``zoom`` and a zoom stage in ``model`` (:func:`neocus.fetal.fossa_zoom.apply_zoom`), the cerebellum
    and cistern come from it."""
    side = model.config.input_shape_hw[0]
    h, w = image.shape[:2]
    box = head_box_xywh
    if box is None:
        x, lb = network_input(image, input_shape_hw=(side, side))
        coarse = head_region(_probabilities(model.network, x).argmax(0))
        if coarse.sum() < 20:
            prob = np.zeros((N_CLASSES, h, w), np.float32)
            prob[0] = 1.0
            return prob, np.zeros((h, w), np.uint8)
        box = mask_box_xywh(coarse, scale=lb.scale, offset_xy=lb.offset_xy)
    for k in range(refine + 1):
        fine, m = _crop_pass(image, model, box)
        head = head_region(fine.argmax(0)) if k < refine else None
        if head is None or head.sum() < 20:
            break
        box = mask_box_xywh(head, scale=m[0, 0], offset_xy=(m[0, 2], m[1, 2]))  # the crop is scale + shift: back to the image
    prob = np.stack([cv2.warpAffine(fine[c], m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                    borderValue=1.0 if c == 0 else 0.0) for c in range(N_CLASSES)])
    if zoom and model.zoom is not None:
        from neocus.fetal.fossa_zoom import apply_zoom

        prob = apply_zoom(image, prob, model.zoom)
    return prob, prob.argmax(0).astype(np.uint8)


def main_components(mask: np.ndarray, *, keep_fraction: float = 0.3) -> np.ndarray:
    """The largest connected region of a bool mask and every other region at least ``keep_fraction`` of
    its area (a hemisphere cut off from the vermis stays; specks do not)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(np.asarray(mask, np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.nonzero(areas >= keep_fraction * areas.max())[0]
    return np.isin(labels, keep)


def masks_from_classes(classes: np.ndarray) -> dict[str, np.ndarray]:
    """Bool masks ``head`` (:func:`head_region`), ``skull``, ``brain``, ``cerebellum`` and ``cistern``
    (their main regions inside the head) of a predicted class map."""
    head = head_region(classes)
    out = {"head": head}
    for name in MASK_NAMES:
        m = (classes == CLASS_NAMES.index(name)) & head
        out[name] = main_components(m) if name in ("cerebellum", "cistern") else m
    return out
