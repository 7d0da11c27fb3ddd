"""The cerebellar hypoplasia classifier: model folder, calibrated probability and prediction.

A model folder (written by :mod:`neocus.fetal.hypoplasia_train`) holds ``config.json`` (variant, input
side, channels), float16 ``weights.pt`` of :class:`~neocus.fetal.hypoplasia_net.HypoplasiaNet`,
``calibration.json`` (temperature scaling fitted on the phantom validation images only, and the
decision threshold on the calibrated probability fixed there: Youden's J) and the training log.

Input: a grey trans-cerebellar still. With a head box (x0, y0, w, h) the image is cropped around
the head (the head fills 80 % of the square, :data:`neocus.fetal.cerebellum.HEAD_FILL`); without
one the whole image is stretched to the square (real plane images are framed on the head).
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

from neocus.errors import InputFileError, parse_choice
from neocus.fetal.cerebellum import head_crop_matrix
from neocus.fetal.plane_data import standardise
from neocus.results import AsDict

__all__ = ["HypoplasiaCalibration", "HypoplasiaModel", "HypoplasiaModelConfig", "HypoplasiaPrediction", "HypoplasiaVariant",
           "build_hypoplasia_net", "default_hypoplasia_model_dir", "hypoplasia_input", "hypoplasia_logits", "load_hypoplasia_model",
           "predict_hypoplasia", "save_hypoplasia_model"]

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

    def __post_init__(self) -> None:
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


def build_hypoplasia_net(config: HypoplasiaModelConfig) -> Any:
    from neocus.fetal.hypoplasia_net import HypoplasiaNet

    return HypoplasiaNet(config.variant.value, channels=config.channels, dropout=config.dropout)


def default_hypoplasia_model_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "models" / "fetal" / "hypoplasia"


def save_hypoplasia_model(model: HypoplasiaModel, out_dir: str | Path) -> None:
    import torch

    from neocus.atomic import atomic_target

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_NAME).write_text(json.dumps(config_dict(model.config), indent=1) + "\n", encoding="utf-8")
    (out / CALIBRATION_NAME).write_text(json.dumps(model.calibration.to_dict(), indent=1) + "\n", encoding="utf-8")
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.net.state_dict().items()}
    with atomic_target(out / WEIGHTS_NAME) as tmp:
        torch.save(state, tmp)


def load_hypoplasia_model(model_dir: str | Path | None = None) -> HypoplasiaModel:
    """Load a hypoplasia model folder (default: the bundled ``models/fetal/hypoplasia``); a missing or
    corrupt file is an ``InputFileError``."""
    import torch

    folder = Path(model_dir) if model_dir is not None else default_hypoplasia_model_dir()
    try:
        raw = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        config = HypoplasiaModelConfig(variant=raw["variant"], input_side=int(raw["input_side"]), channels=tuple(raw["channels"]),
                                       dropout=float(raw["dropout"]))
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


def hypoplasia_input(grey: np.ndarray, *, side: int, head_box_xywh: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Network input ``[side, side]`` float32 of a grey image (see the module docstring)."""
    img = np.asarray(grey, np.float32) / 255.0
    if head_box_xywh is None:
        return standardise(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA))
    m = head_crop_matrix(head_box_xywh, out_side=side)
    return standardise(cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_AREA if m[0, 0] < 1 else cv2.INTER_LINEAR))


def hypoplasia_logits(net: Any, x: np.ndarray, *, batch: int = 64) -> np.ndarray:
    """The classification logits of inputs ``[N, 1, S, S]`` (network in eval mode afterwards)."""
    import torch

    net.eval()
    with torch.inference_mode():
        return np.concatenate([net(torch.from_numpy(np.ascontiguousarray(x[i:i + batch])))[0].numpy() for i in range(0, len(x), batch)])


def predict_hypoplasia(grey: np.ndarray, model: HypoplasiaModel, *,
                       head_box_xywh: tuple[float, float, float, float] | None = None) -> HypoplasiaPrediction:
    """Calibrated P(cerebellar hypoplasia) of one grey trans-cerebellar image."""
    x = hypoplasia_input(grey, side=model.config.input_side, head_box_xywh=head_box_xywh)[None, None]
    logit = float(hypoplasia_logits(model.net, x)[0])
    cal = model.calibration
    p = float(cal.probability(logit))
    return HypoplasiaPrediction(probability=p, raw_probability=float(HypoplasiaCalibration().probability(logit)),
                                flag=p >= cal.threshold, threshold=cal.threshold, variant=model.config.variant)


def config_dict(config: HypoplasiaModelConfig) -> dict:
    """The config as plain JSON values (the checkpoint compares it on resume)."""
    d = asdict(config)
    d["variant"] = config.variant.value
    d["channels"] = list(config.channels)
    return d
