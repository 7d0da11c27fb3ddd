"""Fetal plane recognition: a small CNN that tells trans-thalamic, trans-ventricular, trans-cerebellar
and other planes apart (issue #16 point 4), trained on the fetal head phantom only.

The network (:class:`PlaneNet`, plain torch, about 0.3 M parameters) reads the grey image stretched
to a square (``input_side``), standardised per image. A model folder holds ``config.json``, float16
``weights.pt`` and the training log ``metrics.jsonl``. torch is imported when a function needs it.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.bundled import bundled_model_dir
from neocus.errors import InputFileError
from neocus.fetal.plane_data import PLANES, standardise
from neocus.fetal.skull_model import write_model_folder
from neocus.results import AsDict
from neocus.vocab import FetalPlane

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.pt"


@dataclass(frozen=True)
class PlaneModelConfig:
    """Input side (pixels) and channels of the network's blocks."""

    input_side: int = 96
    channels: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.2
    highpass_sigma: float = 0.0  # > 0: the input minus its Gaussian blur (pixels), see plane_data.standardise


def build_plane_net(config: PlaneModelConfig) -> Any:
    """The CNN: a 5x5 stride-2 stem, then per block two 3x3 conv + batch norm + ReLU and a 2x2 max
    pool; global average pool, dropout and a linear layer to the four planes."""
    import torch.nn as nn

    c_in = config.channels[0]
    layers: list[nn.Module] = [nn.Conv2d(1, c_in, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(c_in), nn.ReLU(inplace=True)]
    for c in config.channels:
        layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                   nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        c_in = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(c_in, len(PLANES)))


@dataclass(frozen=True, eq=False)
class PlaneModel:
    """A loaded plane network and its config."""

    net: Any
    config: PlaneModelConfig


@dataclass(frozen=True)
class PlanePrediction(AsDict):
    """The most probable plane and the probability of each."""

    plane: FetalPlane
    probabilities: dict[str, float]


def default_plane_model_dir() -> Path:
    return bundled_model_dir("fetal", "plane")


def save_plane_model(model: PlaneModel, out_dir: str | Path) -> None:
    write_model_folder(out_dir, model.net, {CONFIG_NAME: asdict(model.config)})


def load_plane_model(model_dir: str | Path | None = None) -> PlaneModel:
    """Load a plane model folder (default: the bundled ``models/fetal/plane``)."""
    import torch

    folder = Path(model_dir) if model_dir is not None else default_plane_model_dir()
    try:
        raw = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        config = PlaneModelConfig(input_side=int(raw["input_side"]), channels=tuple(int(c) for c in raw["channels"]),
                                  dropout=float(raw["dropout"]), highpass_sigma=float(raw.get("highpass_sigma", 0.0)))
        state = torch.load(folder / WEIGHTS_NAME, map_location="cpu", weights_only=True)
        net = build_plane_net(config)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except FileNotFoundError as exc:
        raise InputFileError(f"plane model file missing: {Path(exc.filename).name}", where=folder, hint="give a folder written by the plane training") from None
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, pickle.UnpicklingError) as exc:
        raise InputFileError(f"plane model cannot be read: {exc}", where=folder, hint="train or copy the model again") from None
    net.eval()
    return PlaneModel(net=net, config=config)


def plane_input(grey: np.ndarray, *, side: int, highpass_sigma: float = 0.0) -> np.ndarray:
    """A grey image stretched to ``side x side`` and standardised (float32)."""
    img = cv2.resize(np.asarray(grey, np.float32), (side, side), interpolation=cv2.INTER_AREA)
    return standardise(img, highpass_sigma=highpass_sigma)


def predict_planes(images: list[np.ndarray], model: PlaneModel, *, flip_tta: bool = True) -> list[PlanePrediction]:
    """The plane of each grey image (averaged over the four flips when ``flip_tta``)."""
    import torch

    x = torch.from_numpy(np.stack([plane_input(g, side=model.config.input_side, highpass_sigma=model.config.highpass_sigma) for g in images])[:, None])
    views = [x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2)] if flip_tta else [x]
    with torch.no_grad():
        prob = sum(torch.softmax(model.net(v), dim=1) for v in views) / len(views)
    out = []
    for p in prob.numpy():
        out.append(PlanePrediction(plane=PLANES[int(p.argmax())], probabilities={pl.value: float(q) for pl, q in zip(PLANES, p)}))
    return out
