"""Lesion probabilities from trained networks (MONAI sliding-window inference), and the model folder.

A model folder holds ``config.json`` (a :class:`~neocus.hie.models.ModelConfig`), one or more
``fold_*.pt`` state dicts (their mean probability is the prediction: an ensemble of the
cross-validation folds) and ``postprocess.json``. An ensemble folder holds instead one such member per
sub-folder of ``members/`` (``members/<name>/config.json`` and ``fold_*.pt``) beside one
``postprocess.json``: its prediction is the mean of its members' probabilities (each member's the mean
of its folds). Members must share their input channels (the preprocessing, the Z-ADC gate and the
component features depend on them); every member predicts on the input grid. The bundled model lives
in ``models/hie/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neocus.errors import InputFileError
from neocus.hie.models import ModelConfig, build_network
from neocus.hie.postprocess import PostProcess
from neocus.hie.transforms import all_slice_stacks

CONFIG_NAME = "config.json"
POSTPROCESS_NAME = "postprocess.json"


MEMBERS_DIR = "members"


@dataclass(frozen=True)
class ModelMember:
    """One trained run of an ensemble: its config and fold networks (their mean is its probability)."""

    config: ModelConfig
    networks: tuple[torch.nn.Module, ...]
    name: str = ""


@dataclass(frozen=True)
class HieModel:
    """Members (one for a plain model folder) and the post-processing fitted on their mean probability."""

    members: tuple[ModelMember, ...]
    post: PostProcess
    source: str = ""

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a model needs at least one member")
        first = self.members[0]
        for m in self.members[1:]:
            if m.config.channels != first.config.channels:
                raise ValueError(
                    f"member {m.name or '?'} takes channels {','.join(m.config.channels)}, member {first.name or '?'} "
                    f"{','.join(first.config.channels)}: the members of an ensemble must share their input channels"
                )

    @property
    def config(self) -> ModelConfig:
        """The first member's config; its channels (the preprocessing) are every member's."""
        return self.members[0].config

    @property
    def networks(self) -> tuple[torch.nn.Module, ...]:
        """Every member's networks, member after member."""
        return tuple(n for m in self.members for n in m.networks)


def bundled_model_dir() -> Path:
    """``models/hie`` of the neocus source tree (found from this file, no flag needed)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "models" / "hie"
        if candidate.is_dir():
            return candidate
    return here.parents[3] / "models" / "hie"


def load_model(folder: str | Path | None = None, *, device: str = "cpu") -> HieModel:
    """Read a model folder (default: the bundled one), a plain one or an ensemble (``members/``); a
    missing or corrupt file, or members with other channels, is an :class:`InputFileError`."""
    folder = Path(folder) if folder is not None else bundled_model_dir()
    if (folder / MEMBERS_DIR).is_dir():
        if (folder / CONFIG_NAME).is_file():
            raise InputFileError("holds both config.json and members/: a plain model folder or an ensemble, not both", where=folder, hint="remove one of them")
        dirs = sorted(d for d in (folder / MEMBERS_DIR).iterdir() if d.is_dir())
        if not dirs:
            raise InputFileError("has an empty members/ folder", where=folder, hint="put each member's config.json and fold_*.pt in members/<name>/")
        members = tuple(_load_member(d, name=d.name, device=device) for d in dirs)
    else:
        members = (_load_member(folder, name="", device=device),)
    post_path = folder / POSTPROCESS_NAME
    post = PostProcess.load(post_path) if post_path.is_file() else PostProcess()
    try:
        return HieModel(members=members, post=post, source=str(folder))
    except ValueError as exc:
        raise InputFileError(str(exc), where=folder / MEMBERS_DIR, hint="build the ensemble from runs trained with the same `channels`") from None


def _load_member(folder: Path, *, name: str, device: str) -> ModelMember:
    cfg_path = folder / CONFIG_NAME
    if not cfg_path.is_file():
        raise InputFileError("no config.json: not a neocus HIE model folder", where=folder, hint="give the folder written by `neocus hie train` (or use the bundled model)")
    try:
        config = ModelConfig.from_json(json.loads(cfg_path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise InputFileError(f"cannot read the model config: {exc}", where=cfg_path, hint="restore the model folder") from None
    weights = sorted(folder.glob("fold_*.pt"))
    if not weights:
        raise InputFileError("holds no fold_*.pt weights", where=folder, hint="train a model first or restore the weight files")
    nets = []
    for path in weights:
        net = build_network(config)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict({k: v.float() for k, v in state.items()})
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds on damaged files
            raise InputFileError(f"cannot load the weights: {str(exc).splitlines()[0][:200]}", where=path, hint="the file is truncated or from another model; restore it") from None
        nets.append(net.to(device).eval())
    return ModelMember(config=config, networks=tuple(nets), name=name)


def model_proba(model: HieModel, image: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Lesion probability ``[Z, Y, X]`` of a model on a preprocessed ``image``: the mean over its
    members of each member's :func:`predict_proba` (members weigh equally, whatever their fold count)."""
    probs = [predict_proba(m.networks, image, m.config, device=device) for m in model.members]
    return probs[0] if len(probs) == 1 else np.mean(probs, axis=0, dtype=np.float32)


@torch.no_grad()
def predict_proba(
    networks: Sequence[torch.nn.Module], image: np.ndarray, config: ModelConfig, *, device: str = "cpu", batch_size: int = 16
) -> np.ndarray:
    """Mean lesion probability ``[Z, Y, X]`` of ``networks`` on a preprocessed ``image`` ``[C, Z, Y, X]``."""
    total = np.zeros(image.shape[1:], dtype=np.float32)
    if config.model.is_25d:
        batch = torch.from_numpy(all_slice_stacks(image, context=config.context))  # [Z, Cin, Y, X]
    else:
        batch = torch.from_numpy(np.ascontiguousarray(image))[None]  # [1, C, Z, Y, X]
    for net in networks:
        net.eval()
        parts = []
        for start in range(0, batch.shape[0], batch_size if config.model.is_25d else 1):
            chunk = batch[start : start + batch_size].to(device)
            parts.append(_lesion_proba(net, chunk, config, batch_size=batch_size).cpu())
        prob = torch.cat(parts).numpy()
        total += prob if config.model.is_25d else prob[0]
    return total / len(networks)


def _lesion_proba(net: torch.nn.Module, chunk: torch.Tensor, config: ModelConfig, *, batch_size: int) -> torch.Tensor:
    """Lesion probability of one network on a batch; with ``config.tta_flip`` the mean with the
    prediction on the left-right mirrored input (the flip seen in training), mirrored back."""
    from monai.inferers import sliding_window_inference

    def run(x: torch.Tensor) -> torch.Tensor:
        logits = sliding_window_inference(x, roi_size=config.patch, sw_batch_size=batch_size, predictor=net, overlap=0.25, mode="gaussian")
        return torch.softmax(logits, dim=1)[:, 1].float()

    prob = run(chunk)
    if config.tta_flip:
        prob = 0.5 * (prob + run(chunk.flip(-1)).flip(-1))
    return prob
