"""Skull segmentation network for fetal head ultrasound: configuration, the MONAI 2-D networks, the
letterbox geometry between an image and the network input, loading and saving a model folder, and the
prediction of a full-resolution skull mask.

A model folder holds ``config.json`` (:class:`SkullModelConfig`) and ``weights.pt`` (a float16 state
dict, so the bundled model stays small). The network segments the head as the *filled* skull ellipse
(the HC18 annotation); the measurement then fits an ellipse to the predicted mask
(:func:`neocus.fetal.ellipse.measure_head`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.atomic import atomic_target, atomic_write_text
from neocus.bundled import bundled_model_dir
from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.fetal.ellipse import HeadMeasurements, SkullEllipses, fit_iso_contour, measure_ellipses
from neocus.results import AsDict, from_plain

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "Letterbox",
    "SkullModel",
    "SkullModelConfig",
    "SkullNet",
    "build_network",
    "default_model_dir",
    "half_state_dict",
    "write_model_folder",
    "head_measurements",
    "network_identity",
    "letterbox",
    "load_skull_model",
    "network_input",
    "predict_skull_probability",
    "read_model_folder",
    "save_skull_model",
    "skull_mask_from_probability",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.pt"


class SkullNet(StrEnum):
    """The MONAI 2-D networks compared for the skull (docs/fetal.md)."""

    BASICUNET = "basicunet"  # monai.networks.nets.BasicUNet, small feature widths
    ATTENTIONUNET = "attentionunet"  # monai.networks.nets.AttentionUnet (Oktay et al. 2018)


@dataclass(frozen=True)
class SkullModelConfig(AsDict):
    """What a skull model is: its network and width, and the network input size (H, W); and how far
    outside the skull line its head edge lies (``edge_offset_input_px``, in network input pixels: the
    HC18 filled annotations lie about one image pixel outside the ellipse of the sonographer's HC, and a
    model trained on them learns that edge; :func:`head_measurements` takes it off)."""

    net: SkullNet = SkullNet.BASICUNET
    features: tuple[int, ...] = (16, 16, 32, 64, 128, 16)
    input_shape_hw: tuple[int, int] = (176, 256)
    edge_offset_input_px: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "edge_offset_input_px", float(self.edge_offset_input_px))
        if not math.isfinite(self.edge_offset_input_px) or abs(self.edge_offset_input_px) > 8:
            raise NeocusError(f"edge offset {self.edge_offset_input_px} input pixels is impossible", where="edge_offset_input_px",
                              hint="a head edge lies within a few pixels of the skull line")
        object.__setattr__(self, "net", parse_choice(SkullNet, self.net, what="net"))
        object.__setattr__(self, "features", tuple(int(f) for f in self.features))
        object.__setattr__(self, "input_shape_hw", tuple(int(v) for v in self.input_shape_hw))
        h, w = self.input_shape_hw
        if h % 16 or w % 16 or h < 32 or w < 32:
            raise NeocusError(f"input size {h}x{w} must be multiples of 16, at least 32", where="input_shape_hw")
        want = 6 if self.net is SkullNet.BASICUNET else None
        if (want and len(self.features) != want) or (not want and len(self.features) < 3) or min(self.features) < 1:
            raise NeocusError(f"{len(self.features)} feature widths do not fit {self.net.value}", where="features",
                              hint="basicunet takes 6 widths, attentionunet 3 or more")


def build_network(config: SkullModelConfig, *, out_channels: int = 2) -> Any:
    """The torch module of ``config``: 1 input channel (grey), ``out_channels`` output channels (the
    skull model: 2, background and head; the cerebellum model: 5, :mod:`neocus.fetal.cerebellum`)."""
    from monai.networks.nets import AttentionUnet, BasicUNet

    if config.net is SkullNet.BASICUNET:
        return BasicUNet(spatial_dims=2, in_channels=1, out_channels=out_channels, features=config.features, dropout=0.0)
    return AttentionUnet(spatial_dims=2, in_channels=1, out_channels=out_channels, channels=config.features,
                         strides=(2,) * (len(config.features) - 1))


@dataclass(frozen=True)
class Letterbox(AsDict):
    """Where an image of ``image_shape_hw`` sits in the network input: scaled by ``scale`` and placed at
    ``offset_xy`` (the rest is zero padding)."""

    image_shape_hw: tuple[int, int]
    input_shape_hw: tuple[int, int]
    scale: float
    offset_xy: tuple[int, int]
    resized_shape_hw: tuple[int, int]


def letterbox(image_shape_hw: tuple[int, int], *, input_shape_hw: tuple[int, int]) -> Letterbox:
    """Fit an image into the network input keeping its aspect ratio, centred."""
    h, w = image_shape_hw
    ih, iw = input_shape_hw
    scale = min(ih / h, iw / w)
    rh, rw = min(ih, max(1, round(h * scale))), min(iw, max(1, round(w * scale)))
    return Letterbox(image_shape_hw=(h, w), input_shape_hw=(ih, iw), scale=scale,
                     offset_xy=((iw - rw) // 2, (ih - rh) // 2), resized_shape_hw=(rh, rw))


def _place(array: np.ndarray, box: Letterbox, *, interpolation: int) -> np.ndarray:
    rh, rw = box.resized_shape_hw
    out = np.zeros(box.input_shape_hw, np.float32)
    ox, oy = box.offset_xy
    out[oy:oy + rh, ox:ox + rw] = cv2.resize(array.astype(np.float32), (rw, rh), interpolation=interpolation)
    return out


def network_input(image: np.ndarray, *, input_shape_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """A grey uint8 image ``[H, W]`` as the network sees it: letterboxed, scaled to [0, 1], then
    standardised over the image (zero mean, unit SD) so scanner gain matters less."""
    box = letterbox(image.shape[:2], input_shape_hw=input_shape_hw)
    x = _place(image.astype(np.float32) / 255.0, box, interpolation=cv2.INTER_AREA)
    x = (x - x.mean()) / max(float(x.std()), 1e-3)
    return x.astype(np.float32), box


def mask_input(mask: np.ndarray, box: Letterbox) -> np.ndarray:
    """A full-resolution bool mask brought onto the network input grid (area-weighted, then > 0.5)."""
    return _place(mask.astype(np.float32), box, interpolation=cv2.INTER_AREA) > 0.5


def _unplace(prob: np.ndarray, box: Letterbox) -> np.ndarray:
    rh, rw = box.resized_shape_hw
    ox, oy = box.offset_xy
    h, w = box.image_shape_hw
    return cv2.resize(prob[oy:oy + rh, ox:ox + rw], (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class SkullModel:
    """A loaded skull model: its configuration, the torch network in eval mode, and where it came from."""

    config: SkullModelConfig
    network: Any
    path: Path | None


def default_model_dir() -> Path:
    """The bundled model: ``models/fetal/skull`` at the top of the source tree."""
    return bundled_model_dir("fetal", "skull")


def half_state_dict(network: Any) -> dict[str, Any]:
    """The network's parameters and buffers on the CPU, floating-point ones as float16 (how every fetal
    model folder stores its weights)."""
    return {k: v.detach().to("cpu").half() if v.is_floating_point() else v.detach().to("cpu")
            for k, v in network.state_dict().items()}


def write_model_folder(out_dir: str | Path, network: Any, files: dict[str, Any]) -> Path:
    """Write ``weights.pt`` (float16, :func:`half_state_dict`) and each ``files`` entry (name -> a
    JSON-able dict) into ``out_dir``, every file atomically: how every fetal model folder is written."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_target(out / WEIGHTS_NAME) as tmp:
        torch.save(half_state_dict(network), tmp)
    for name, content in files.items():
        atomic_write_text(out / name, json.dumps(content, indent=2) + "\n")
    return out


def save_skull_model(network: Any, config: SkullModelConfig, out_dir: str | Path) -> Path:
    """Write ``config.json`` and ``weights.pt`` (float16) into ``out_dir``."""
    return write_model_folder(out_dir, network, {CONFIG_NAME: config.to_dict()})


def read_model_folder(path: Path, *, out_channels: int = 2, kind: str = "skull") -> tuple[SkullModelConfig, Any]:
    """The configuration and the float32 network (not yet in eval mode) of a model folder of ``kind``
    (``skull``: 2 output channels; ``cerebellum``: 5). A missing or corrupt file is an ``InputFileError``."""
    import torch

    cfg_path, w_path = path / CONFIG_NAME, path / WEIGHTS_NAME
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise InputFileError("is missing", where=p, hint=f"give a {kind} model folder (`fetal train {kind}` writes one)")
    try:
        config = from_plain(SkullModelConfig, json.loads(cfg_path.read_text(encoding="utf-8")), where=cfg_path)
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise InputFileError(f"is not a {kind} model configuration ({exc})", where=cfg_path) from None
    network = build_network(config, out_channels=out_channels)
    try:
        state = torch.load(w_path, map_location="cpu", weights_only=True)
        network.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except Exception as exc:  # noqa: BLE001 - any failure to read weights is the user's file
        raise InputFileError(f"cannot be loaded as weights of a {config.net.value} {kind} model ({type(exc).__name__})", where=w_path,
                             hint="the file is corrupt or belongs to another model") from None
    return config, network


def load_skull_model(model_dir: str | Path | None = None, *, device: str = "cpu") -> SkullModel:
    """Load a model folder (default: the bundled one). A missing or corrupt file is an ``InputFileError``."""
    path = Path(model_dir) if model_dir is not None else default_model_dir()
    config, network = read_model_folder(path)
    network.to(device).eval()
    return SkullModel(config=config, network=network, path=path)


def predict_skull_probability(image: np.ndarray, model: SkullModel, *, device: str = "cpu",
                              flip_tta: bool = False) -> np.ndarray:
    """Head probability ``[H, W]`` at the image's full resolution (float32). ``flip_tta`` averages the
    prediction with that of the left-right mirrored image."""
    import torch

    x, box = network_input(image, input_shape_hw=model.config.input_shape_hw)
    batch = torch.from_numpy(x)[None, None].to(device)
    if flip_tta:
        batch = torch.cat([batch, torch.flip(batch, dims=(3,))])
    with torch.inference_mode():
        prob = torch.softmax(model.network(batch).float(), dim=1)[:, 1]
    if flip_tta:
        prob = 0.5 * (prob[0] + torch.flip(prob[1], dims=(1,)))
    else:
        prob = prob[0]
    return _unplace(prob.cpu().numpy().astype(np.float32), box)


def skull_mask_from_probability(prob: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """The head mask: the largest connected region above ``threshold``, holes filled. Empty when
    nothing passes the threshold."""
    binary = (prob > threshold).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return np.zeros(prob.shape, bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros(prob.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def network_identity(config: SkullModelConfig) -> SkullModelConfig:
    """``config`` without what the measurement adds (the edge offset): what must match to resume a
    training or to warm-start one from another model's weights."""
    return replace(config, edge_offset_input_px=0.0)


def head_measurements(prob: np.ndarray, mask: np.ndarray, config: SkullModelConfig, *, pixel_mm: float) -> HeadMeasurements:
    """HC, OFD and BPD from a head probability map: the sub-pixel ellipse of its 0.5 iso-line around
    ``mask`` (:func:`neocus.fetal.ellipse.fit_iso_contour`), shrunk by the model's edge offset brought to
    the image's pixels. A ``NeocusError`` when there is no ellipse to fit."""
    box = letterbox(prob.shape[:2], input_shape_hw=config.input_shape_hw)
    outer = fit_iso_contour(prob, region=mask)
    return measure_ellipses(SkullEllipses(outer=outer, inner=None), pixel_mm=pixel_mm,
                            edge_offset_px=config.edge_offset_input_px / box.scale)
