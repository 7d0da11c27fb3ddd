"""Fit the frame-scoring weights on phantom ground truth (``neocus fit views``).

Per view, a class-balanced logistic regression (scikit-learn) predicts "this frame lies in the view's
acceptable window" (truth quality >= the phantom's view threshold) from the frame's features: the
presence and relative size of every structure and the view's geometry check, computed on oracle-degraded detections.
Positive coefficients become weights, negative ones penalties (scaled so the largest is 1); the two
parasagittal views share one model (detections carry no side). The intercept becomes an offset that
puts the model's decision boundary at the selection's ``min_score``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from sklearn.linear_model import LogisticRegression

from neocus.errors import NeocusError
from neocus.phantom.truth import VIEW_QUALITY_THRESHOLD
from neocus.results import AsDict
from neocus.views.config import ViewsConfig, ViewWeights, load_config
from neocus.views.score import STRUCTURES, VIEWS, frame_features
from neocus.views.truthdata import TruthCase
from neocus.vocab import VIEW_PLANE, View

GROUPS: dict[View, tuple[View, ...]] = {View.AHV: (View.AHV,), View.TVV: (View.TVV,), View.BV: (View.BV,),
                                        View.MSV: (View.MSV,), View.RPSV: (View.RPSV, View.LPSV)}


@dataclass(frozen=True)
class FitReport(AsDict):
    n_frames: int
    positives: dict[View, int]
    train_accuracy: dict[View, float]


def _rows(cases: Iterable[TruthCase]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[View, np.ndarray]]:
    pres, geom, planes, quality = [], [], [], {v: [] for v in View}  # presence | size, geometry
    for case in cases:
        for s in case.sweeps:
            f = frame_features(s.detections.frames, n_frames=s.detections.n_frames)
            pres.append(np.concatenate([f.presence, f.size], axis=1))
            geom.append(f.geometry)
            planes.append(np.full(f.n_frames, s.plane.value))
            for v in View:
                q = s.quality.get(v)
                quality[v].append(q if q is not None else np.zeros(f.n_frames))
    if not pres:
        raise NeocusError("no cases to fit on", where="data", hint="give a phantom dataset with sweeps")
    return np.concatenate(pres), np.concatenate(geom), np.concatenate(planes), {v: np.concatenate(q) for v, q in quality.items()}


def fit_weights(cases: Iterable[TruthCase], *, base: ViewsConfig | None = None) -> tuple[ViewsConfig, FitReport]:
    """Fitted weights (selection settings kept from ``base``) and a short report."""
    base = base or load_config()
    presence, geometry, planes, quality = _rows(cases)
    views: dict[View, ViewWeights] = {}
    positives, accuracy = {}, {}
    for head, members in GROUPS.items():
        # every frame of both planes: the other plane's frames are negatives, so scores also tell planes apart
        rows = planes == VIEW_PLANE[head].value
        y = np.max([quality[v] for v in members], axis=0) >= VIEW_QUALITY_THRESHOLD
        y &= rows
        x = np.concatenate([presence, geometry[:, [VIEWS.index(head)]]], axis=1)
        positives[head] = int(y.sum())
        if y.all() or not y.any():
            raise NeocusError(f"the data hold no {'negative' if y.all() else 'positive'} frames of {head.value}",
                              where="data", hint="give more cases with sweeps")
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x, y)
        accuracy[head] = round(float(model.score(x, y)), 4)
        scale = max(np.abs(model.coef_[0]).max(), 1e-9)
        coef = model.coef_[0] / scale
        n = len(STRUCTURES)
        w = {s: float(c) for s, c in zip(STRUCTURES, coef[:n]) if c > 0.02}
        p = {s: float(-c) for s, c in zip(STRUCTURES, coef[:n]) if c < -0.02}
        z = {s: float(c) for s, c in zip(STRUCTURES, coef[n:2 * n]) if abs(c) > 0.02}
        geo = max(0.0, float(coef[-1]))
        norm = sum(w.values()) + sum(c for c in z.values() if c > 0) + geo
        offset = base.selection.min_score + float(model.intercept_[0]) / scale / max(norm, 1e-9)
        for v in members:
            views[v] = ViewWeights(weights=w, penalties=p, geometry=geo, sizes=z, offset=offset)
    return replace(base, views=views, source="fitted"), FitReport(len(planes), positives, accuracy)
