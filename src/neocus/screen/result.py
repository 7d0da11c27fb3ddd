"""The typed result of one screen (:class:`ScreenResult`) and its ``result.json`` form.

The JSON schema is versioned (:data:`SCHEMA_VERSION`) and documented field by field in docs/screen.md.
Pictures (view crops, heatmaps, sweep plots) ride along in memory (left out of ``to_dict``); the
writer (:mod:`neocus.screen.output`) stores them under the relative paths the result names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neocus.results import AsDict, rounded
from neocus.vocab import Decision, View

SCHEMA_VERSION = "neocus-screen/1"
CAVEAT = ("Research software, not a clinical device. The ultrasound models are trained on phantom (simulated) "
          "images only; do not use this result to make decisions about a patient.")


@dataclass(frozen=True)
class InputRecord(AsDict):
    """One input as the result records it: no file name (see :mod:`neocus.screen.inputs`)."""

    name: str  # input_<k>
    kind: str | None  # mp4, dicom, png, image_folder, ... (None: unreadable)
    used_as: str  # "sweep", "still", "ignored" or "unreadable"
    sha256: str | None  # of the file's bytes (None for a folder of frames or an unreadable path)
    n_frames: int | None = None
    fps: float | None = None
    size_wh: tuple[int, int] | None = None
    roi_xywh: tuple[int, int, int, int] | None = None  # imaging region in source pixels
    planes: tuple[str, ...] = ()  # planes the views stage found in it (from content)
    error: str | None = None


@dataclass(frozen=True)
class ViewResult(AsDict):
    """One standard view: the chosen frame (or why there is none), its picture paths and findings."""

    view: View
    status: str  # "usable", "poor" (chosen, below the usable minimum: not diagnosed) or "missing"
    input: str | None = None  # input_<k> the frame comes from
    frame: int | None = None
    time_s: float | None = None
    score: float | None = None
    confidence: float | None = None
    basis: str | None = None  # how the view (and its side) was assigned
    image: str | None = None  # relative path of the PNG, None when there is no picture
    heatmap: str | None = None
    heatmap_target: str | None = None  # the finding the heatmap explains
    reason: str | None = None  # why the view is missing / poor / has no heatmap
    findings: dict[str, float] | None = None  # image-level finding probabilities (diagnosed views only)
    picture: np.ndarray | None = field(default=None, metadata={"to_dict": False}, repr=False)  # uint8 [H, W]
    overlay: np.ndarray | None = field(default=None, metadata={"to_dict": False}, repr=False)  # BGR uint8


@dataclass(frozen=True)
class ScreenResult(AsDict):
    """Everything one screen found. ``decision`` is severe / non_severe / unsuitable; ``reason`` says why."""

    schema_version: str
    case_id: str | None
    decision: Decision
    reason: str
    severe_prob: float | None  # calibrated; None when no diagnosis ran
    severe_prob_raw: float | None
    papile_grade: int | None
    grade_probs: tuple[float, ...] | None
    tier: str | None
    binary: str | None
    readout_consistent: bool | None
    usable_views: int
    views: dict[str, ViewResult]
    rule_trace: dict[str, Any] | None
    warnings: tuple[str, ...]
    errors: tuple[str, ...]
    inputs: tuple[InputRecord, ...]
    sweep_plots: dict[str, str]  # input name -> relative path of its plot
    timings_s: dict[str, float]
    models: tuple[dict[str, Any], ...]
    caveat: str = CAVEAT
    exam: Any = field(default=None, metadata={"to_dict": False}, repr=False)  # neocus.views.ExamViews

    @property
    def decided(self) -> bool:
        return self.decision is not Decision.UNSUITABLE


def result_json(result: ScreenResult) -> str:
    """``result.json``: the result with floats rounded to 6 digits."""
    return json.dumps(rounded(result, 6), indent=2) + "\n"


