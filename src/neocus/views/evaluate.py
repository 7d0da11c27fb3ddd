"""Judge chosen views against phantom ground truth: hit rate (chosen frame inside the view's acceptable
window), frame distance to the best frame, chosen-frame quality relative to the best available, and
the `unsuitable` rate, per preset. Detections are oracle-degraded (see :mod:`neocus.views.oracle`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from neocus.results import AsDict
from neocus.views.config import ViewsConfig, load_config
from neocus.phantom.sweep import SweepDirection
from neocus.views.extract import SweepDetections, extract_views
from neocus.views.select import ViewChoice
from neocus.views.truthdata import TruthCase, TruthSweep
from neocus.vocab import VIEW_PLANE, Plane, View


@dataclass(frozen=True)
class ViewOutcome(AsDict):
    case_id: str
    preset: str
    view: View
    present: bool  # the sweeps hold the view (a truth window exists)
    chosen: bool
    hit: bool
    hit_any_side: bool  # parasagittal views: inside either parasagittal window (side not judged)
    frame_distance: int | None
    quality_relative: float | None


@dataclass(frozen=True)
class GroupMetrics(AsDict):
    n_cases: int
    n_views_present: int
    hit_rate: float | None
    hit_rate_per_view: dict[View, float | None]
    parasagittal_hit_rate_any_side: float | None
    mean_frame_distance: float | None
    median_frame_distance: float | None
    mean_quality_relative: float | None
    invented: int  # views chosen where the truth says the sweeps miss them
    unsuitable_rate: float


@dataclass(frozen=True)
class ViewsMetrics(AsDict):
    hit_rate: float | None
    overall: GroupMetrics
    per_preset: dict[str, GroupMetrics]
    note: str


def judge_case(case: TruthCase, choices: Mapping[View, ViewChoice | None]) -> list[ViewOutcome]:
    """One outcome per view of one case, given the chosen view of each (``ExamViews.views``)."""
    out = []
    for v in View:
        truth = [s for s in case.sweeps if s.plane is VIEW_PLANE[v]]
        win = next(((s, s.windows.get(v)) for s in truth if s.windows.get(v) is not None), (None, None))
        c = choices[v]
        sweep, w = win
        hit = hit_any = False
        dist = qual = None
        if c is not None:
            chosen = next((s for s in case.sweeps if s.detections.name == c.sweep), None)
            if chosen is not None and w is not None and chosen is sweep:
                hit = w.start <= c.frame <= w.end
                dist = abs(c.frame - w.best_frame)
                qual = float(sweep.quality[v][c.frame] / w.best_quality) if w.best_quality > 0 else None
            if chosen is not None and v in (View.RPSV, View.LPSV):
                hit_any = any(ws is not None and ws.start <= c.frame <= ws.end
                              for u in (View.RPSV, View.LPSV) for ws in [chosen.windows.get(u)])
        out.append(ViewOutcome(case.case_id, case.preset, v, w is not None, c is not None, hit, hit_any, dist, qual))
    return out


def _mean(x: Sequence[float]) -> float | None:
    return float(np.mean(x)) if len(x) else None


def group_metrics(outcomes: Sequence[ViewOutcome], unsuitable: Sequence[bool]) -> GroupMetrics:
    present = [o for o in outcomes if o.present]
    per_view = {v: _mean([float(o.hit) for o in present if o.view is v]) for v in View}
    psv = [o for o in present if o.view in (View.RPSV, View.LPSV)]
    dist = [o.frame_distance for o in present if o.frame_distance is not None]
    return GroupMetrics(
        n_cases=len(unsuitable),
        n_views_present=len(present),
        hit_rate=_mean([float(o.hit) for o in present]),
        hit_rate_per_view=per_view,
        parasagittal_hit_rate_any_side=_mean([float(o.hit_any_side) for o in psv]),
        mean_frame_distance=_mean(dist),
        median_frame_distance=float(np.median(dist)) if dist else None,
        mean_quality_relative=_mean([o.quality_relative for o in present if o.quality_relative is not None]),
        invented=sum(1 for o in outcomes if o.chosen and not o.present),
        unsuitable_rate=float(np.mean(unsuitable)) if len(unsuitable) else 0.0,
    )


DETECTOR_NOTE = "a trained detector's output on the decoded phantom sweeps"
NOTE = ("oracle-degraded detections (phantom ground-truth boxes with drops, jitter, false positives and score "
        "noise), NOT a trained detector's output")


def _told_side(s: TruthSweep) -> SweepDetections:
    """The sweep's detections with its true sagittal direction given (what a side marker would tell)."""
    if s.plane is not Plane.SAGITTAL or s.direction is None:
        return s.detections
    return replace(s.detections, sagittal_direction=SweepDirection(s.direction))


def evaluate_cases(cases: Iterable[TruthCase], *, config: ViewsConfig | None = None,
                   oracle_side: bool = False, note: str = NOTE) -> tuple[ViewsMetrics, list[ViewOutcome]]:
    """Extract the views of every case and judge them; metrics overall and per preset. ``oracle_side``
    gives each sagittal sweep its true direction (to measure what the unknown side costs); ``note`` says
    where the detections came from (:data:`NOTE`, :data:`DETECTOR_NOTE`)."""
    config = config or load_config()
    outcomes: list[ViewOutcome] = []
    unsuitable: dict[str, list[bool]] = {}
    for case in cases:
        exam = extract_views([_told_side(s) if oracle_side else s.detections for s in case.sweeps], config=config)
        outcomes += judge_case(case, exam.views)
        unsuitable.setdefault(case.preset, []).append(exam.unsuitable)
    per = {p: group_metrics([o for o in outcomes if o.preset == p], u) for p, u in unsuitable.items()}
    overall = group_metrics(outcomes, [x for u in unsuitable.values() for x in u])
    return ViewsMetrics(overall.hit_rate, overall, per, note), outcomes
