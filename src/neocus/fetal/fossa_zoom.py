"""The posterior-fossa zoom stage: a second network that segments the cerebellum and cisterna magna in a
square crop of the *source* image around them (issue #16).

The first stage (:func:`neocus.fetal.cerebellum.predict_posterior_fossa`) sees a crop of the whole head,
so late in gestation one of its pixels is about 0.75 mm while the source pixel is about 0.4 mm, and the
cerebellum's size in its input varies with gestational age. The zoom stage takes the box of the first
stage's cerebellum and cistern (:func:`fossa_box_xywh`), enlarges it by ``margin`` of its larger side on
each side (the occipital bone behind the cistern and some brain around are in view), crops that square
of the source image and resamples it to the network's input side (:func:`zoom_matrix`); there the
cerebellum always has about the same size. The network has the first stage's five classes
(:data:`~neocus.fetal.cerebellum.CLASS_NAMES`); its cerebellum and cistern probabilities go back onto
the image grid with the inverse affine map (``cv2.warpAffine`` with ``WARP_INVERSE_MAP``) and replace
the first stage's inside the crop, blended over the crop's edge; the other classes keep the first
stage's proportions (:func:`apply_zoom`).

A zoom model folder holds ``config.json`` and ``weights.pt`` as every fetal model folder
(:func:`~neocus.fetal.skull_model.write_model_folder`) and ``zoom.json`` (:class:`ZoomSettings`); it is
trained by ``fetal train fossa`` (:mod:`neocus.fetal.fossa_zoom_train`) and bundled in
``models/fetal/cerebellum_zoom``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.bundled import bundled_model_dir
from neocus.errors import InputFileError, NeocusError
from neocus.fetal.skull_model import SkullModelConfig, read_model_folder
from neocus.results import AsDict, from_plain

__all__ = ["ZOOM_NAME", "FossaZoomModel", "ZoomSettings", "apply_zoom", "default_zoom_dir", "fossa_box_xywh", "load_zoom_model",
           "zoom_crop", "zoom_matrix", "zoom_to_image"]

ZOOM_NAME = "zoom.json"
MIN_BOX_PX = 4.0
#: the largest cerebellum + cistern box, as a fraction of the head's larger side, that the zoom stage refines (the true
#: boxes of the 160 validation images: 0.29-0.54)
MAX_BOX_FRACTION = 0.65


@dataclass(frozen=True)
class ZoomSettings(AsDict):
    """How the crop is made: ``margin`` (fraction of the box's larger side added on each side); ``flip_tta``:
    average the network's probabilities over the crop and its left-right, up-down and both flips (one batch
    of four; the network was trained with those flips)."""

    margin: float = 0.3
    flip_tta: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.margin <= 2:
            raise NeocusError(f"zoom margin {self.margin!r} is not in [0, 2]", where="margin")


@dataclass(frozen=True)
class FossaZoomModel:
    """A loaded zoom model: network configuration (square input), crop settings, network in eval mode, folder."""

    config: SkullModelConfig
    settings: ZoomSettings
    network: Any
    path: Path | None


def default_zoom_dir() -> Path:
    """The bundled zoom model: ``models/fetal/cerebellum_zoom`` at the top of the source tree."""
    return bundled_model_dir("fetal", "cerebellum_zoom")


def load_zoom_model(model_dir: str | Path, *, device: str = "cpu") -> FossaZoomModel:
    """Load a zoom model folder; a missing or corrupt file is an ``InputFileError``."""
    from neocus.fetal.cerebellum import N_CLASSES

    path = Path(model_dir)
    settings_path = path / ZOOM_NAME
    if not settings_path.is_file():
        raise InputFileError("is missing", where=settings_path, hint="give a posterior-fossa zoom model folder (`fetal train fossa` writes one)")
    try:
        settings = from_plain(ZoomSettings, json.loads(settings_path.read_text(encoding="utf-8")), where=settings_path)
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise InputFileError(f"is not a zoom model's settings ({exc})", where=settings_path) from None
    config, network = read_model_folder(path, out_channels=N_CLASSES, kind="fossa")
    if config.input_shape_hw[0] != config.input_shape_hw[1]:
        raise InputFileError(f"input {config.input_shape_hw} is not square", where=path / "config.json")
    network.to(device).eval()
    return FossaZoomModel(config=config, settings=settings, network=network, path=path)


def fossa_box_xywh(cerebellum: np.ndarray, cistern: np.ndarray) -> tuple[float, float, float, float] | None:
    """Box (x0, y0: the first pixel's column and row; w, h: pixel counts) of the cerebellum and cistern masks
    together; ``None`` without a cerebellum."""
    cb = np.asarray(cerebellum, bool)
    if cb.sum() < 10:
        return None
    ys, xs = np.nonzero(cb | np.asarray(cistern, bool))
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def zoom_matrix(box_xywh: tuple[float, float, float, float], *, out_side: int, margin: float, scale: float = 1.0,
                shift_xy: tuple[float, float] = (0.0, 0.0), aspect_x: float = 1.0) -> np.ndarray:
    """Affine 2x3 map from an image to the square ``out_side`` crop around a box (x0, y0, w, h as
    :func:`fossa_box_xywh`): the crop's side in the image is the box's larger side times ``(1 + 2 margin) * scale``,
    centred on the box's centre moved by ``shift_xy`` (fractions of that side); ``aspect_x`` stretches x.
    Pixel centres map as cv2.warpAffine samples them."""
    x0, y0, w, h = box_xywh
    side_img = max(w, h, MIN_BOX_PX) * (1 + 2 * margin) * scale
    cx = x0 + w / 2.0 - 0.5 + shift_xy[0] * side_img  # centre in pixel-centre coordinates
    cy = y0 + h / 2.0 - 0.5 + shift_xy[1] * side_img
    sy = out_side / side_img
    sx = sy * aspect_x
    c = (out_side - 1) / 2.0
    return np.array([[sx, 0.0, c - sx * cx], [0.0, sy, c - sy * cy]], np.float64)


def zoom_crop(image: np.ndarray, m: np.ndarray, *, side: int) -> np.ndarray:
    """The ``side x side`` float32 crop (grey scaled to [0, 1], bilinear, zero outside the image) of a uint8 image under ``m``."""
    return cv2.warpAffine(np.asarray(image, np.float32) / 255.0, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0.0)


def zoom_to_image(crop: np.ndarray, m: np.ndarray, *, shape_hw: tuple[int, int], border: float = 0.0,
                  interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """A ``[side, side]`` crop array put back onto the ``shape_hw`` image grid through the inverse of ``m``."""
    h, w = shape_hw
    return cv2.warpAffine(np.asarray(crop, np.float32), m, (w, h), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=float(border))


def _edge_weight(side: int, *, ramp_px: int) -> np.ndarray:
    """1 inside the crop, falling linearly to 0 over ``ramp_px`` pixels at its edge (the blend with the first stage)."""
    r = np.minimum(np.arange(side), np.arange(side)[::-1]).astype(np.float32) + 1
    r = np.clip(r / ramp_px, 0.0, 1.0)
    return np.minimum(r[:, None], r[None, :])


def _flip_averaged_probabilities(network: Any, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``[C, H, W]`` of ``x`` averaged over identity, left-right, up-down and both flips."""
    import torch

    flips = ((), (-1,), (-2,), (-2, -1))
    with torch.inference_mode():
        t = torch.from_numpy(x)[None, None]
        batch = torch.cat([t.flip(f) if f else t for f in flips])
        p = torch.softmax(network(batch).float(), dim=1)
        return torch.stack([p[k].flip(f) if f else p[k] for k, f in enumerate(flips)]).mean(0).numpy()


def apply_zoom(image: np.ndarray, prob: np.ndarray, zoom: FossaZoomModel) -> np.ndarray:
    """The first stage's class probabilities ``[C, H, W]`` of a grey uint8 image with the zoom stage's
    cerebellum and cistern put in their place inside the crop around them (the module docstring; the
    other classes keep the first stage's proportions). Unchanged without a cerebellum in the first
    stage's classes, or when its box is implausibly large (over :data:`MAX_BOX_FRACTION` of the head's
    larger side: a first-stage failure the zoom made worse on the phantom hold-out)."""
    from neocus.fetal.cerebellum import CLASS_NAMES, _probabilities, _standardise, masks_from_classes

    masks = masks_from_classes(prob.argmax(0).astype(np.uint8))
    box = fossa_box_xywh(masks["cerebellum"], masks["cistern"])
    if box is None:
        return prob
    ys, xs = np.nonzero(masks["head"] | masks["cerebellum"])
    if max(box[2], box[3]) > MAX_BOX_FRACTION * max(np.ptp(xs) + 1, np.ptp(ys) + 1):
        return prob
    side = zoom.config.input_shape_hw[0]
    m = zoom_matrix(box, out_side=side, margin=zoom.settings.margin)
    crop = _standardise(zoom_crop(image, m, side=side))
    fine = _flip_averaged_probabilities(zoom.network, crop) if zoom.settings.flip_tta else _probabilities(zoom.network, crop)
    if fine.shape[0] != len(CLASS_NAMES):
        raise NeocusError(f"the zoom model gives {fine.shape[0]} classes, not {len(CLASS_NAMES)}", where="zoom model")
    shape_hw = prob.shape[1:]
    weight = zoom_to_image(_edge_weight(side, ramp_px=max(side // 16, 1)), m, shape_hw=shape_hw)
    out = prob.copy()
    fossa = [CLASS_NAMES.index("cerebellum"), CLASS_NAMES.index("cistern")]
    for c in fossa:
        out[c] = (1.0 - weight) * prob[c] + weight * zoom_to_image(fine[c], m, shape_hw=shape_hw)
    others = [c for c in range(len(CLASS_NAMES)) if c not in fossa]
    rest_after = np.clip(1.0 - out[fossa].sum(0), 0.0, 1.0)
    share = prob[others]
    nothing = share.sum(0) < 1e-3  # the first stage was sure of the fossa here: the zoom stage's own split of the rest
    if nothing.any():
        zoomed = np.stack([zoom_to_image(fine[c], m, shape_hw=shape_hw, border=1.0 if c == 0 else 0.0) for c in others])
        share = np.where(nothing[None], zoomed + 1e-6, share)
    out[others] = share * (rest_after / share.sum(0))[None]
    return out.astype(np.float32)
