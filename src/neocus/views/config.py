"""Frame-scoring weights and selection settings of :mod:`neocus.views`, read from a JSON file.

The bundled file is ``configs/default.json``; ``neocus fit views`` writes a fitted copy in the same
format. A missing or malformed file is a :class:`neocus.errors.NeocusError` naming the file and field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.phantom.sweep import SweepDirection
from neocus.results import AsDict, from_plain
from neocus.vocab import Structure, View

DEFAULT_CONFIG = Path(__file__).with_name("configs") / "default.json"  # fitted on the bundled detector's output
ORACLE_CONFIG = Path(__file__).with_name("configs") / "oracle.json"  # fitted on oracle-degraded ground-truth boxes


@dataclass(frozen=True)
class ViewWeights(AsDict):
    """How one view's frame score is built: expected structures add, unexpected ones subtract."""

    weights: dict[Structure, float]
    penalties: dict[Structure, float]
    geometry: float
    sizes: dict[Structure, float] = field(default_factory=dict)  # signed weights on relative box size
    offset: float = 0.0  # added to the normalised score (a fit puts its decision boundary at `min_score`)


@dataclass(frozen=True)
class Selection(AsDict):
    """Settings of clustering and selection (scores are in [0, 1], distances in frames)."""

    min_score: float = 0.35  # a frame is a candidate for a view from this score on
    eps_frames: float = 3.0  # DBSCAN neighbourhood along the frame axis
    eps_score: float = 0.2  # ... and along the score axis
    min_samples: int = 2  # DBSCAN core size
    plane_min_score: float = 0.3  # a frame votes for a plane when its best view score reaches this
    min_segment_frames: int = 6  # a plane segment of a video holds at least this many voting frames
    min_confidence: float = 0.3  # a chosen view is usable from this confidence on ...
    min_usable_score: float = 0.5  # ... and this peak score (pure-noise clusters peak lower)
    sagittal_default_direction: SweepDirection = SweepDirection.RIGHT_TO_LEFT


@dataclass(frozen=True)
class ViewsConfig(AsDict):
    views: dict[View, ViewWeights]
    selection: Selection = field(default_factory=Selection)
    source: str = ""


def _structures(raw: Any, where: str, *, signed: bool = False) -> dict[Structure, float]:
    if not isinstance(raw, dict):
        raise NeocusError("must be an object of structure -> weight", where=where)
    out = {}
    for name, w in raw.items():
        s = parse_choice(Structure, name, what=f"{where} structure")
        if not isinstance(w, (int, float)) or (w < 0 and not signed):
            raise NeocusError(f"weight of {name} must be a number{'' if signed else ' >= 0'}, got {w!r}", where=where)
        out[s] = float(w)
    return out


def parse_config(raw: Any, *, source: str = "") -> ViewsConfig:
    """A :class:`ViewsConfig` from the JSON object of a config file."""
    where = source or "views config"
    if not isinstance(raw, dict) or not isinstance(raw.get("views"), dict):
        raise NeocusError("needs a 'views' object (view -> weights, penalties, geometry)", where=where)
    views: dict[View, ViewWeights] = {}
    for name, spec in raw["views"].items():
        view = parse_choice(View, name, what="view")
        if not isinstance(spec, dict):
            raise NeocusError(f"views.{name} must be an object", where=where)
        views[view] = ViewWeights(
            weights=_structures(spec.get("weights", {}), f"{where}: views.{name}.weights"),
            penalties=_structures(spec.get("penalties", {}), f"{where}: views.{name}.penalties"),
            geometry=float(spec.get("geometry", 0.0)),
            sizes=_structures(spec.get("sizes", {}), f"{where}: views.{name}.sizes", signed=True),
            offset=float(spec.get("offset", 0.0)),
        )
    missing = [v.value for v in View if v not in views]
    if missing:
        raise NeocusError(f"views {', '.join(missing)} have no weights", where=where, hint="give all six views")
    sel = dict(raw.get("selection", {}))
    if "sagittal_default_direction" in sel:
        sel["sagittal_default_direction"] = parse_choice(SweepDirection, sel["sagittal_default_direction"], what="sagittal_default_direction")
    return ViewsConfig(views=views, selection=from_plain(Selection, sel, where=where, prefix="selection."), source=source)


def load_config(path: str | Path | None = None) -> ViewsConfig:
    """The views config at ``path`` (default: the bundled ``configs/default.json``)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError("views config not found", where=path, hint="give an existing JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"cannot read views config: {exc}", where=path, hint="give a JSON file written by `neocus fit views`") from None
    return parse_config(raw, source=str(path))


def config_json(config: ViewsConfig, *, about: str) -> dict[str, Any]:
    """The JSON object of ``config`` (the file format :func:`load_config` reads)."""
    return {
        "about": about,
        "views": {v.value: {"weights": {s.value: round(w, 4) for s, w in vw.weights.items()},
                            "penalties": {s.value: round(w, 4) for s, w in vw.penalties.items()},
                            "geometry": round(vw.geometry, 4),
                            "sizes": {s.value: round(w, 4) for s, w in vw.sizes.items()},
                            "offset": round(vw.offset, 4)} for v, vw in config.views.items()},
        "selection": config.selection.to_dict(),
    }
