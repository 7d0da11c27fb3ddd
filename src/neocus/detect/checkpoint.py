"""Model files: ``model.pt`` holds the format tag, the config, the class names and the weights.

Bundled weights live in ``models/detector/<config>.pt`` at the repository root (or beside the
installed package in ``neocus/models/``) and are found without a flag. A missing, unreadable or
foreign file is an :class:`~neocus.errors.InputFileError` that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from neocus.atomic import atomic_target
from neocus.detect.classes import DETECTOR_CLASSES
from neocus.detect.config import DetectorConfig, config_from_dict, config_to_dict
from neocus.detect.model import RotatedRtDetr
from neocus.errors import InputFileError

MODEL_FORMAT = "neocus-detector/1"


def bundled_model_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    return [here.parents[3] / "models" / "detector", here.parents[1] / "models" / "detector"]


def default_model_path(name: str = "default") -> Path:
    """The bundled model of config ``name``; an :class:`InputFileError` when none is bundled."""
    for d in bundled_model_dirs():
        if (d / f"{name}.pt").is_file():
            return d / f"{name}.pt"
    raise InputFileError(
        f"no bundled detector model {name!r}", where=bundled_model_dirs()[0] / f"{name}.pt",
        hint="train one with `neocus train detector` and pass its model.pt, or put it in models/detector/",
    )


def save_model(path: Path, model: RotatedRtDetr, config: DetectorConfig, *, info: dict[str, Any] | None = None,
               half: bool = False) -> Path:
    """Write a model file; ``half`` stores the floating-point weights as float16 (half the size, for
    bundling; :func:`load_model` loads them back into a float32 network)."""
    weights = {k: v.half() if half and v.is_floating_point() else v for k, v in model.state_dict().items()}
    state = {"format": MODEL_FORMAT, "config": config_to_dict(config), "classes": [c.value for c in DETECTOR_CLASSES],
             "state_dict": weights, "info": info or {}}
    with atomic_target(path) as tmp:
        torch.save(state, tmp)
    return path


@dataclass(frozen=True)
class LoadedModel:
    """A detector model file, loaded: the network (eval mode), its config and what the file says about it."""

    model: RotatedRtDetr
    config: DetectorConfig
    info: dict[str, Any] = field(default_factory=dict)


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Load a detector model file (default: the bundled ``default`` model) in eval mode."""
    p = Path(path) if path is not None else default_model_path()
    if not p.is_file():
        raise InputFileError("no such model file", where=p, hint="give the model.pt written by `neocus train detector`")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's file problem
        raise InputFileError(f"cannot read the model file ({type(exc).__name__})", where=p,
                             hint="the file is corrupt or not a neocus detector; train or copy it again") from None
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise InputFileError("not a neocus detector model", where=p, hint=f"expected a file with format {MODEL_FORMAT}")
    if state.get("classes") != [c.value for c in DETECTOR_CLASSES]:
        raise InputFileError("the model's classes differ from this neocus version's", where=p, hint="retrain the detector")
    config = config_from_dict(state["config"], where=f"{p}: config")
    model = RotatedRtDetr(config.model)
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise InputFileError(f"weights do not fit the config ({str(exc).splitlines()[0]})", where=p, hint="retrain the detector") from None
    return LoadedModel(model=model.eval(), config=config, info=state.get("info", {}))
