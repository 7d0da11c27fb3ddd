"""Configuration of the diagnosis model, its read-out rule and inference (a JSON file beside the weights).

Every threshold of the ensemble rule lives here (``RuleConfig``), so a bundle's ``config.json`` says
exactly how its calls were made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.nets.convnext import ConvNextVariant
from neocus.results import AsDict, from_plain
from neocus.vocab import MIN_VIEWS_FOR_DECISION, Finding, IvhGrade, View

FINDINGS: tuple[Finding, ...] = tuple(Finding)
"""Order of the image head's outputs."""

VIEWS: tuple[View, ...] = tuple(View)
"""Order of the view embedding's rows (and of the slots of a case tensor)."""

N_GRADES = len(IvhGrade)

METADATA_FIELDS: tuple[str, ...] = ("ga_weeks", "age_days", "birth_weight_g")
"""Case metadata the optional metadata token reads (names of :class:`neocus.data.schema.CaseMetadata`)."""

METADATA_SCALE: dict[str, tuple[float, float]] = {"ga_weeks": (34.0, 5.0), "age_days": (10.0, 10.0), "birth_weight_g": (2200.0, 1000.0)}
"""(centre, spread) that standardise each metadata value for the network."""


class GradeLoss(StrEnum):
    CE = "ce"  # plain cross-entropy over grades 0-4
    ORDINAL = "ordinal"  # cumulative logits P(grade > k), k = 0..3 (CORAL-style)


class TtaMode(StrEnum):
    NONE = "none"
    FLIP = "flip"  # mean of the original and the left-right mirrored case (parasagittal views swapped)


class CalibrationMethod(StrEnum):
    NONE = "none"
    TEMPERATURE = "temperature"
    ISOTONIC = "isotonic"


@dataclass(frozen=True)
class RuleConfig(AsDict):
    """The paper's ensemble rule: severe when the case head says so, or when at least
    ``min_severe_images`` images show severe findings on the multi-label head (vocab rule);
    ``unsuitable`` below ``min_views`` views."""

    case_threshold: float = 0.5
    finding_threshold: float = 0.5
    min_severe_images: int = 2
    min_views: int = MIN_VIEWS_FOR_DECISION
    use_image_rule: bool = True

    def check(self) -> RuleConfig:
        for name in ("case_threshold", "finding_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise NeocusError(f"{name} must lie in [0, 1], got {value}", where=name)
        if not 1 <= self.min_severe_images <= len(VIEWS):
            raise NeocusError(f"min_severe_images must lie in 1..{len(VIEWS)}, got {self.min_severe_images}", where="min_severe_images")
        if not 1 <= self.min_views <= len(VIEWS):
            raise NeocusError(f"min_views must lie in 1..{len(VIEWS)}, got {self.min_views}", where="min_views")
        return self


@dataclass(frozen=True)
class ModelConfig(AsDict):
    """Architecture: backbone, input size, fusion and heads."""

    backbone: ConvNextVariant = ConvNextVariant.ATTO
    image_size_hw: tuple[int, int] = (128, 128)
    num_heads: int = 4
    fusion_layers: int = 1
    dropout: float = 0.1
    drop_path_rate: float = 0.05
    layer_scale_init: float = 1e-6  # initial ConvNeXt layer scale (timm: 1e-6)
    use_metadata: bool = False
    grade_loss: GradeLoss = GradeLoss.CE

    def check(self) -> ModelConfig:
        object.__setattr__(self, "backbone", parse_choice(ConvNextVariant, self.backbone, what="backbone"))
        object.__setattr__(self, "grade_loss", parse_choice(GradeLoss, self.grade_loss, what="grade_loss"))
        object.__setattr__(self, "image_size_hw", tuple(int(x) for x in self.image_size_hw))
        if any(s < 32 or s % 32 for s in self.image_size_hw):
            raise NeocusError(f"image_size_hw must be multiples of 32 (>= 32), got {self.image_size_hw}", where="image_size_hw")
        return self


@dataclass(frozen=True)
class DiagnosisConfig(AsDict):
    """Everything a bundle needs besides its weights: the model, the rule, TTA and calibration."""

    model: ModelConfig = field(default_factory=ModelConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    tta: TtaMode = TtaMode.FLIP
    calibration: CalibrationMethod = CalibrationMethod.TEMPERATURE
    folds: tuple[int, ...] = ()

    def check(self) -> DiagnosisConfig:
        self.model.check()
        self.rule.check()
        object.__setattr__(self, "tta", parse_choice(TtaMode, self.tta, what="tta"))
        object.__setattr__(self, "calibration", parse_choice(CalibrationMethod, self.calibration, what="calibration"))
        object.__setattr__(self, "folds", tuple(int(f) for f in self.folds))
        return self

    def with_rule(self, **changes: Any) -> DiagnosisConfig:
        return replace(self, rule=replace(self.rule, **changes).check())


def _build(cls: type, data: dict[str, Any], where: Path, prefix: str) -> Any:
    return from_plain(cls, data, where=where, prefix=prefix, error=InputFileError)


def config_from_dict(data: dict[str, Any], *, where: str | Path = "config") -> DiagnosisConfig:
    """A checked :class:`DiagnosisConfig` from its ``to_dict()`` form; unknown fields are errors."""
    where = Path(where)
    if not isinstance(data, dict):
        raise InputFileError("a diagnosis config is a JSON object", where=where)
    data = dict(data)
    model = _build(ModelConfig, dict(data.pop("model", {}) or {}), where, "model.")
    rule = _build(RuleConfig, dict(data.pop("rule", {}) or {}), where, "rule.")
    try:
        return _build(DiagnosisConfig, {**data, "model": model, "rule": rule}, where, "").check()
    except NeocusError as exc:
        raise InputFileError(exc.what, where=where, hint=exc.hint) from None
    except (TypeError, ValueError) as exc:
        raise InputFileError(f"bad value ({exc})", where=where) from None


def load_config(path: str | Path) -> DiagnosisConfig:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError("config file not found", where=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"cannot read as JSON ({exc})", where=path) from None
    return config_from_dict(data, where=path)


def config_json(config: DiagnosisConfig) -> str:
    return json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n"
