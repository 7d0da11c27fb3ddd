"""Detector configurations are files: ``neocus/detect/configs/<name>.json`` or any JSON path.

A config has two parts: ``model`` (network shape: backbone, input size, query count, ...) and
``train`` (optimiser, schedule, loss weights, augmentation). ``paper`` is the NCLS setting (ResNet-50-vd,
640 px); ``default`` is the fast model chosen by measurement (see docs/detector.md); ``tiny`` is for
tests. Unknown names and unknown or wrong fields are a :class:`~neocus.errors.NeocusError`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.geometry.losses import RotatedLoss
from neocus.nets.resnet import ResNetVariant
from neocus.results import AsDict, from_plain

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class ModelConfig(AsDict):
    backbone: str = ResNetVariant.RESNET18D.value
    width: float = 1.0
    input_size: int = 320
    hidden_dim: int = 128
    num_queries: int = 100
    num_heads: int = 8
    num_levels: int = 3
    num_points: int = 4
    encoder_ffn_dim: int = 512
    decoder_ffn_dim: int = 512
    num_decoder_layers: int = 3
    csp_blocks: int = 1
    num_denoising: int = 60
    label_noise_ratio: float = 0.5
    box_noise_scale: float = 0.8
    angle_noise_deg: float = 20.0

    def check(self, where: str) -> None:
        parse_choice(ResNetVariant, self.backbone, what="backbone")
        if self.input_size % 32 or self.input_size < 64:
            raise NeocusError(f"input_size {self.input_size} must be a multiple of 32 and >= 64", where=where, hint="e.g. 320 or 640")
        if self.hidden_dim % self.num_heads:
            raise NeocusError("hidden_dim must be a multiple of num_heads", where=where, hint="e.g. hidden_dim 128, num_heads 8")


@dataclass(frozen=True)
class TrainConfig(AsDict):
    batch_size: int = 8
    lr: float = 2e-4
    backbone_lr_mult: float = 0.5
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 0.1
    ema_decay: float = 0.999
    ema_warmup: int = 200
    rotated_loss: str = RotatedLoss.PROBIOU.value
    weight_vfl: float = 1.0
    weight_l1: float = 5.0
    weight_rot: float = 2.0
    weight_angle: float = 1.0
    cost_class: float = 2.0
    cost_l1: float = 5.0
    cost_rot: float = 2.0
    mosaic_prob: float = 0.3
    mixup_prob: float = 0.1

    def check(self, where: str) -> None:
        parse_choice(RotatedLoss, self.rotated_loss, what="rotated_loss")
        if self.batch_size < 1 or self.lr <= 0:
            raise NeocusError("batch_size must be >= 1 and lr > 0", where=where, hint="fix the train section")


@dataclass(frozen=True)
class DetectorConfig(AsDict):
    name: str
    model: ModelConfig
    train: TrainConfig

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def available_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def _section(cls: type, data: Any, where: str) -> Any:
    obj = from_plain(cls, data, where=where)
    for f in fields(cls):
        default = getattr(cls(), f.name)
        value = getattr(obj, f.name)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and not isinstance(value, (int, float)):
            raise NeocusError(f"{f.name} must be a number, got {value!r}", where=where, hint="fix the value")
    obj.check(where)
    return obj


def config_from_dict(data: Any, *, where: str = "config") -> DetectorConfig:
    if not isinstance(data, dict):
        raise NeocusError("a detector config must be a JSON object", where=where, hint="see neocus/detect/configs/default.json")
    unknown = sorted(set(data) - {"name", "model", "train"})
    if unknown:
        raise NeocusError(f"unknown field(s) {', '.join(unknown)}", where=where, hint="allowed: name, model, train")
    return DetectorConfig(
        name=str(data.get("name", "custom")),
        model=_section(ModelConfig, data.get("model", {}), f"{where}: model"),
        train=_section(TrainConfig, data.get("train", {}), f"{where}: train"),
    )


def load_config(name_or_path: str | Path) -> DetectorConfig:
    """A bundled config by name (``paper``, ``default``, ``tiny``) or a JSON file by path."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".json") or "/" in text else CONFIG_DIR / f"{text}.json"
    if not path.is_file():
        if path.parent == CONFIG_DIR:
            raise NeocusError(f"unknown detector config {text!r}", where="config", hint=f"use one of: {', '.join(available_configs())} or a .json path")
        raise InputFileError("no such config file", where=path, hint="give a JSON config path or a bundled name")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"not a readable JSON config ({exc})", where=path, hint="fix the JSON") from None
    return config_from_dict(data, where=str(path))


def config_to_dict(config: DetectorConfig) -> dict[str, Any]:
    return {"name": config.name, "model": asdict(config.model), "train": asdict(config.train)}
