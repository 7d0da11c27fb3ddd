"""The cerebellar hypoplasia classifier: model folder, calibrated probability and prediction.

A model folder (written by :mod:`neocus.fetal.hypoplasia_train`) holds ``config.json`` (variant, input
side, channels), float16 ``weights.pt`` of :class:`~neocus.fetal.hypoplasia_net.HypoplasiaNet`,
``calibration.json`` (temperature scaling fitted on the phantom validation images only, and the
decision threshold on the calibrated probability fixed there: Youden's J) and the training log.

Input: a grey trans-cerebellar still. With a head box (x0, y0, w, h) the image is cropped around
the head (the head fills 80 % of the square, :data:`neocus.fetal.cerebellum.HEAD_FILL`); without
one the whole image is stretched to the square (real plane images are framed on the head). A model
trained with ``ga_and_scale`` also reads the gestational age and the crop's mm per pixel (from the
image's pixel size): it cannot run without them. With ``median_tcd_px`` it also zooms the crop so that
the median TCD for the GA is that many pixels wide (the size of the cerebellum is then read against
its norm by the image itself).
torch is imported when a function needs it.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.bundled import bundled_model_dir
from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.fetal.cerebellum import HEAD_FILL, head_crop_matrix
from neocus.fetal.plane_data import standardise
from neocus.fetal.skull_model import write_model_folder
from neocus.results import AsDict

__all__ = ["HypoplasiaCalibration", "HypoplasiaModel", "HypoplasiaModelConfig", "HypoplasiaPrediction", "HypoplasiaVariant",
           "build_hypoplasia_net", "crop_target_mm_per_px", "default_hypoplasia_model_dir", "hypoplasia_input", "hypoplasia_logits", "load_hypoplasia_model",
           "model_input", "predict_hypoplasia", "prediction_of", "save_hypoplasia_model", "side_features"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.pt"
CALIBRATION_NAME = "calibration.json"


class HypoplasiaVariant(StrEnum):
    """How the classifier uses the anatomy (see :mod:`neocus.fetal.hypoplasia_net`)."""

    UNCONSTRAINED = "unconstrained"
    AUXSEG = "auxseg"
    ATTENTION = "attention"


@dataclass(frozen=True)
class HypoplasiaModelConfig(AsDict):
    variant: HypoplasiaVariant = HypoplasiaVariant.UNCONSTRAINED
    input_side: int = 112
    channels: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.2
    ga_and_scale: bool = False  # the head also reads the GA and the crop's mm per pixel
    # with ga_and_scale: crop at (median TCD for the GA) / median_tcd_px mm per pixel instead of on the head box
    median_tcd_px: float | None = None

    def __post_init__(self) -> None:
        if self.median_tcd_px is not None and not (self.ga_and_scale and 4.0 <= self.median_tcd_px <= self.input_side / 2):
            raise NeocusError(f"a crop scaled to the median TCD ({self.median_tcd_px!r} px) needs the GA and scale inputs and 4 to"
                              f" {self.input_side // 2} px", where="median_tcd_px")
        object.__setattr__(self, "variant", parse_choice(HypoplasiaVariant, self.variant, what="variant"))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))


@dataclass(frozen=True)
class HypoplasiaCalibration(AsDict):
    """Temperature of the logit (1: none) and the threshold on the calibrated probability."""

    temperature: float = 1.0
    threshold: float = 0.5

    def probability(self, logits) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64) / self.temperature))


@dataclass(frozen=True, eq=False)
class HypoplasiaModel:
    net: Any
    config: HypoplasiaModelConfig
    calibration: HypoplasiaCalibration = field(default_factory=HypoplasiaCalibration)


@dataclass(frozen=True)
class HypoplasiaPrediction(AsDict):
    """Calibrated P(cerebellar hypoplasia), the uncalibrated one, and the call at the model's threshold."""

    probability: float
    raw_probability: float
    flag: bool
    threshold: float
    variant: HypoplasiaVariant
    logit: float | None = None  # the network's logit (before the temperature)


def build_hypoplasia_net(config: HypoplasiaModelConfig) -> Any:
    from neocus.fetal.hypoplasia_net import HypoplasiaNet

    return HypoplasiaNet(config.variant.value, channels=config.channels, dropout=config.dropout, ga_and_scale=config.ga_and_scale)


def crop_target_mm_per_px(ga_weeks, config: HypoplasiaModelConfig) -> np.ndarray | None:
    """mm per pixel ``[N]`` of the crop of a ``median_tcd_px`` model: the median TCD for the GA (INTERGROWTH-21st,
    :mod:`neocus.fetal.norms`; held at 15 and 36 weeks outside its range, as the phantom holds it) over
    ``median_tcd_px``: a normal cerebellum is then always about that wide in the crop, a small one smaller.
    ``None`` for a model that crops on the head box."""
    if config.median_tcd_px is None:
        return None
    from neocus.fetal.norms import FetalMeasure, value_at_centile

    return np.array([value_at_centile(50, measure=FetalMeasure.TCD, ga_weeks=float(np.clip(g, 15.0, 36.0))) / config.median_tcd_px
                     for g in np.atleast_1d(ga_weeks)])


def side_features(ga_weeks, mm_per_px) -> np.ndarray:
    """The side input ``[N, 3]`` float32 of a ``ga_and_scale`` network: GA and GA squared, centred on 29 weeks
    in units of 6.5 weeks, and log mm per pixel of the crop (centred on 0.75 mm, in units of 0.5)."""
    g = (np.atleast_1d(np.asarray(ga_weeks, np.float64)) - 29.0) / 6.5
    s = np.log(np.atleast_1d(np.asarray(mm_per_px, np.float64)) / 0.75) / 0.5
    return np.stack([g, g * g, s], axis=1).astype(np.float32)


def default_hypoplasia_model_dir() -> Path:
    return bundled_model_dir("fetal", "hypoplasia")


def save_hypoplasia_model(model: HypoplasiaModel, out_dir: str | Path) -> None:
    write_model_folder(out_dir, model.net, {CONFIG_NAME: config_dict(model.config),
                                            CALIBRATION_NAME: model.calibration.to_dict()})


def load_hypoplasia_model(model_dir: str | Path | None = None) -> HypoplasiaModel:
    """Load a hypoplasia model folder (default: the bundled ``models/fetal/hypoplasia``); a missing or
    corrupt file is an ``InputFileError``."""
    import torch

    folder = Path(model_dir) if model_dir is not None else default_hypoplasia_model_dir()
    try:
        raw = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        config = HypoplasiaModelConfig(variant=raw["variant"], input_side=int(raw["input_side"]), channels=tuple(raw["channels"]),
                                       dropout=float(raw["dropout"]), ga_and_scale=bool(raw.get("ga_and_scale", False)),
                                       median_tcd_px=raw.get("median_tcd_px"))
        cal = json.loads((folder / CALIBRATION_NAME).read_text(encoding="utf-8"))
        calibration = HypoplasiaCalibration(temperature=float(cal["temperature"]), threshold=float(cal["threshold"]))
        state = torch.load(folder / WEIGHTS_NAME, map_location="cpu", weights_only=True)
        net = build_hypoplasia_net(config)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except FileNotFoundError as exc:
        raise InputFileError(f"hypoplasia model file missing: {Path(exc.filename).name}", where=folder,
                             hint="give a folder written by the hypoplasia training") from None
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, pickle.UnpicklingError) as exc:
        raise InputFileError(f"hypoplasia model cannot be read: {exc}", where=folder, hint="train or copy the model again") from None
    net.eval()
    return HypoplasiaModel(net=net, config=config, calibration=calibration)


def hypoplasia_input(grey: np.ndarray, *, side: int, head_box_xywh: tuple[float, float, float, float] | None = None,
                     fill: float = HEAD_FILL) -> np.ndarray:
    """Network input ``[side, side]`` float32 of a grey image (see the module docstring)."""
    img = np.asarray(grey, np.float32) / 255.0
    if head_box_xywh is None:
        return standardise(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA))
    m = head_crop_matrix(head_box_xywh, out_side=side, fill=fill)
    return standardise(cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_AREA if m[0, 0] < 1 else cv2.INTER_LINEAR))


def hypoplasia_logits(net: Any, x: np.ndarray, *, side: np.ndarray | None = None, batch: int = 64) -> np.ndarray:
    """The classification logits of inputs ``[N, 1, S, S]`` (and, for a ``ga_and_scale`` network, their
    :func:`side_features` ``[N, 3]``); the network is in eval mode afterwards."""
    import torch

    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            s = None if side is None else torch.from_numpy(np.ascontiguousarray(side[i:i + batch], np.float32))
            out.append(net(torch.from_numpy(np.ascontiguousarray(x[i:i + batch])), s)[0].numpy())
    return np.concatenate(out)


def model_input(grey: np.ndarray, model: HypoplasiaModel, *, head_box_xywh: tuple[float, float, float, float] | None = None,
                ga_weeks: float | None = None, pixel_mm: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The network input ``[S, S]`` of one grey image and, for a ``ga_and_scale`` model, its side features
    ``[1, 3]`` (see :func:`predict_hypoplasia`)."""
    side = model.config.input_side
    features, fill = None, HEAD_FILL
    if model.config.ga_and_scale:
        for name, value in (("ga_weeks", ga_weeks), ("pixel_mm", pixel_mm)):
            if value is None or not np.isfinite(value) or value <= 0:
                raise NeocusError(f"this hypoplasia model needs the gestational age and the pixel size; {name} is {value!r}", where=name,
                                  hint="give both, or use an image-only model")
        h, w = np.asarray(grey).shape[:2]
        head_box_xywh = head_box_xywh if head_box_xywh is not None else (0.0, 0.0, float(w), float(h))
        target = crop_target_mm_per_px(ga_weeks, model.config)
        if target is not None:  # the zoom that gives the crop that scale
            fill = float(pixel_mm) / float(target[0]) * max(head_box_xywh[2:]) / side
        features = side_features(ga_weeks, float(pixel_mm) / head_crop_matrix(head_box_xywh, out_side=side, fill=fill)[0, 0])
    return hypoplasia_input(grey, side=side, head_box_xywh=head_box_xywh, fill=fill), features


def predict_hypoplasia(grey: np.ndarray, model: HypoplasiaModel, *, head_box_xywh: tuple[float, float, float, float] | None = None,
                       ga_weeks: float | None = None, pixel_mm: float | None = None) -> HypoplasiaPrediction:
    """Calibrated P(cerebellar hypoplasia) of one grey trans-cerebellar image. A ``ga_and_scale`` model
    needs ``ga_weeks`` and ``pixel_mm`` (a ``NeocusError`` without them: it never guesses) and crops
    isotropically (the whole image when there is no head box), so the crop's mm per pixel is known."""
    x, features = model_input(grey, model, head_box_xywh=head_box_xywh, ga_weeks=ga_weeks, pixel_mm=pixel_mm)
    return prediction_of(float(hypoplasia_logits(model.net, x[None, None], side=features)[0]), model)


def prediction_of(logit: float, model: HypoplasiaModel) -> HypoplasiaPrediction:
    """The calibrated prediction of one logit of ``model``."""
    cal = model.calibration
    p = float(cal.probability(logit))
    return HypoplasiaPrediction(probability=p, raw_probability=float(HypoplasiaCalibration().probability(logit)),
                                flag=p >= cal.threshold, threshold=cal.threshold, variant=model.config.variant, logit=float(logit))


def config_dict(config: HypoplasiaModelConfig) -> dict:
    """The config as plain JSON values (the checkpoint compares it on resume)."""
    d = asdict(config)
    d["variant"] = config.variant.value
    d["channels"] = list(config.channels)
    return d
