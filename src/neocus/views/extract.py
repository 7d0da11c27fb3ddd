"""The views of a whole exam from per-frame detections: sweeps -> segments -> chosen frames -> a
decision on whether the exam holds enough usable views (``vocab.MIN_VIEWS_FOR_DECISION``).

    from neocus.views import SweepDetections, extract_views
    exam = extract_views([SweepDetections("coronal.mp4", dets, n_frames=118, fps=28.0)])
    exam.views[View.AHV]          # ViewChoice (frame, time, score, confidence) or None
    exam.missing, exam.unsuitable, exam.reason
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from neocus.detect.infer import Detection, FrameDetections
from neocus.phantom.sweep import SweepDirection
from neocus.results import AsDict
from neocus.views.config import ViewsConfig, load_config
from neocus.views.score import VIEWS, score_frames
from neocus.views.sides import coronal_asymmetry, match_sides
from neocus.views.select import (
    COL, CORONAL_ORDER, Cluster, Segment, ViewChoice, best_order, confidence, plane_segments, view_clusters,
)
from neocus.vocab import MIN_VIEWS_FOR_DECISION, VIEW_PLANE, Plane, View

NO_BRAIN = "no brain structures found in any frame (blank, noise or not a head)"


@dataclass(frozen=True)
class SweepDetections:
    """One sweep's detections as the views stage takes them (``name``: how outputs refer to the sweep)."""

    name: str
    frames: tuple[FrameDetections, ...]
    n_frames: int
    fps: float | None = None
    sagittal_direction: SweepDirection | None = None  # when known from outside the images (else the config's default)


@dataclass(frozen=True)
class SweepViews(AsDict):
    sweep: str
    n_frames: int
    segments: tuple[Segment, ...]
    reason: str | None  # why the sweep gave no segment
    scores: np.ndarray = field(metadata={"to_dict": False})  # [T, 6] in VIEWS order


@dataclass(frozen=True)
class ExamViews(AsDict):
    views: dict[View, ViewChoice | None]
    missing: dict[View, str]
    usable: int
    unsuitable: bool
    reason: str | None
    sweeps: tuple[SweepViews, ...]


def _choice(scores: np.ndarray, c: Cluster, view: View, rivals: list[int], *, sweep: SweepDetections, basis: str,
            config: ViewsConfig) -> ViewChoice:
    conf = confidence(scores, c, rivals=rivals, sel=config.selection)
    return ViewChoice(view, sweep.name, c.peak_frame, c.peak_frame / sweep.fps if sweep.fps else None, c.peak_score,
                      round(conf, 4), conf >= config.selection.min_confidence and c.peak_score >= config.selection.min_usable_score,
                      basis)


def _missing_reason(view: View, clusters: Sequence[Cluster]) -> str:
    if not clusters:
        return f"no frame scored as {view.value}"
    return f"{view.value} candidates inconsistent with the sweep order"


def _coronal(scores: np.ndarray, start: int, end: int, sweep: SweepDetections, config: ViewsConfig) -> Segment:
    options = [view_clusters(scores[:, COL[v]], view=v, start=start, end=end, sel=config.selection) for v in CORONAL_ORDER]
    combo, d = best_order(options)
    rivals = {v: [COL[u] for u in CORONAL_ORDER if u is not v] for v in CORONAL_ORDER}
    choices = tuple(_choice(scores, c, v, rivals[v], sweep=sweep, basis="content", config=config)
                    for v, c in zip(CORONAL_ORDER, combo) if c is not None)
    missing = {v: _missing_reason(v, o) for v, o, c in zip(CORONAL_ORDER, options, combo) if c is None}
    kept = {id(c) for c in combo if c is not None}
    clusters = tuple(_kept(c, id(c) in kept) for o in options for c in o)
    direction = {1: SweepDirection.ANTERIOR_TO_POSTERIOR, -1: SweepDirection.POSTERIOR_TO_ANTERIOR}.get(d)
    return Segment(Plane.CORONAL, start, end, direction, clusters, choices, missing)


def _kept(c: Cluster, kept: bool, view: View | None = None) -> Cluster:
    return Cluster(view or c.view, c.start, c.end, c.n, c.centre, c.mass, c.peak_frame, c.peak_score, kept)


def _sagittal(scores: np.ndarray, start: int, end: int, sweep: SweepDetections, config: ViewsConfig) -> Segment:
    sel = config.selection
    psv = view_clusters(scores[:, COL[View.RPSV]], view=View.RPSV, start=start, end=end, sel=sel)
    msv = view_clusters(scores[:, COL[View.MSV]], view=View.MSV, start=start, end=end, sel=sel)
    combo, _ = best_order([psv, msv, psv], distinct=True)
    m = combo[1]
    sides = [c for c in (combo[0], combo[2]) if c is not None]
    sides.sort(key=lambda c: c.centre)
    given = sweep.sagittal_direction is not None
    direction = sweep.sagittal_direction or sel.sagittal_default_direction
    first, second = (View.RPSV, View.LPSV) if direction is SweepDirection.RIGHT_TO_LEFT else (View.LPSV, View.RPSV)
    how = f"order, {direction.value} ({'given' if given else 'assumed'})"
    named: dict[View, Cluster] = {}
    if len(sides) == 2:
        named = {first: sides[0], second: sides[1]}
    elif len(sides) == 1:
        before = m is None or sides[0].centre < m.centre
        named = {first if before else second: sides[0]}
        if m is None:
            how += ", no midsagittal reference"
    rivals_psv, rivals_msv = [COL[View.MSV]], [COL[View.RPSV]]
    choices = [] if m is None else [_choice(scores, m, View.MSV, rivals_msv, sweep=sweep, basis="content", config=config)]
    for v, c in named.items():
        choices.append(_choice(scores, _kept(c, True, v), v, rivals_psv, sweep=sweep, basis=how, config=config))
    missing = {}
    if m is None:
        missing[View.MSV] = _missing_reason(View.MSV, msv)
    for v in (View.RPSV, View.LPSV):
        if v not in named:
            missing[v] = _missing_reason(View.RPSV, psv).replace("RPSV", "parasagittal") if not psv else \
                f"no second parasagittal cluster on the {'right' if v is View.RPSV else 'left'} side of the midsagittal view"
    kept_ids = {id(c) for c in combo if c is not None}
    sided = {id(c): v for v, c in named.items()}
    clusters = tuple(_kept(c, id(c) in kept_ids, sided.get(id(c))) for c in psv + msv)
    sag_dir = direction if sides else None
    return Segment(Plane.SAGITTAL, start, end, sag_dir, clusters, tuple(sorted(choices, key=lambda c: c.frame)), missing)


def sweep_views(sweep: SweepDetections, *, config: ViewsConfig | None = None) -> SweepViews:
    """Segments, clusters and chosen frames of one sweep."""
    config = config or load_config()
    scores = score_frames(sweep.frames, config, n_frames=sweep.n_frames)
    segments = []
    for plane, start, end in plane_segments(scores, config.selection):
        seg = _coronal if plane is Plane.CORONAL else _sagittal
        segments.append(seg(scores, start, end, sweep, config))
    reason = None
    if not segments:
        reason = NO_BRAIN if not any(f.detections for f in sweep.frames) else "no run of frames looks like a coronal or sagittal view"
    return SweepViews(sweep.name, sweep.n_frames, tuple(segments), reason, scores)


def exam_views(sweeps: Sequence[SweepViews]) -> ExamViews:
    """The best choice per view over all sweeps (highest confidence), missing views with reasons, suitability."""
    views: dict[View, ViewChoice | None] = {v: None for v in View}
    missing: dict[View, str] = {}
    for s in sweeps:
        for seg in s.segments:
            for c in seg.choices:
                old = views[c.view]
                if old is None or c.confidence > old.confidence:
                    views[c.view] = c
    planes = {seg.plane for s in sweeps for seg in s.segments}
    for v in View:
        c = views[v]
        if c is not None and not c.usable:
            missing[v] = f"poor: score {c.score:.2f}, confidence {c.confidence:.2f} below the usable minimum"
        elif c is None:
            reasons = [seg.missing[v] for s in sweeps for seg in s.segments if v in seg.missing]
            missing[v] = reasons[0] if reasons else f"no {VIEW_PLANE[v].value} sweep or segment found"
    usable = sum(1 for c in views.values() if c is not None and c.usable)
    reason = None
    if usable < MIN_VIEWS_FOR_DECISION:
        if not planes and all(s.reason == NO_BRAIN for s in sweeps):
            reason = NO_BRAIN
        else:
            have = ", ".join(v.value for v, c in views.items() if c is not None and c.usable) or "none"
            reason = f"only {usable} usable standard views ({have}); at least {MIN_VIEWS_FOR_DECISION} are needed"
    return ExamViews(views, missing, usable, reason is not None, reason, tuple(sweeps))


def extract_views(sweeps: Sequence[SweepDetections], *, config: ViewsConfig | None = None) -> ExamViews:
    """The standard views of an exam (one or more sweeps, any planes, in any order); parasagittal sides
    assumed from a direction are matched to the coronal sweep's asymmetry where both are clear."""
    config = config or load_config()
    results = [sweep_views(s, config=config) for s in sweeps]
    coronal = [r for s, sv in zip(sweeps, results) for r in coronal_asymmetry(s.frames, sv.segments)]
    results = [replace(sv, segments=tuple(match_sides(seg, s.frames, coronal) if seg.plane is Plane.SAGITTAL else seg
                                          for seg in sv.segments)) for s, sv in zip(sweeps, results)]
    return exam_views(results)


@dataclass(frozen=True)
class StillView(AsDict):
    """Which view a still shows (None with the reason when no view scores high enough)."""

    view: View | None
    score: float
    scores: dict[View, float]
    reason: str | None


def classify_still(detections: Sequence[Detection], *, config: ViewsConfig | None = None) -> StillView:
    """The view one image shows, from its detections (parasagittal stills are called RPSV: no side)."""
    config = config or load_config()
    s = score_frames([FrameDetections(0, tuple(detections))], config, n_frames=1)[0]
    scores = {v: round(float(s[i]), 4) for i, v in enumerate(VIEWS)}
    best = max(VIEWS, key=lambda v: scores[v])
    if scores[best] < config.selection.min_score:
        reason = NO_BRAIN if not detections else f"no view scores {config.selection.min_score} or more"
        return StillView(None, scores[best], scores, reason)
    return StillView(best, scores[best], scores, None)

