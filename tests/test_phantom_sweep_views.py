"""Sweeps against a subject's standard views: a freehand sweep passes every view well, a blind sweep
misses or degrades some (geometry only: view quality of each planned frame, nothing rendered)."""

import numpy as np

from neocus.phantom.api import new_subject, subject_views
from neocus.phantom.standard_views import view_quality
from neocus.phantom.sweep import plan_sweep
from neocus.phantom.truth import VIEW_QUALITY_THRESHOLD
from neocus.vocab import Plane, views_of_plane


def _best_qualities(style: str, subjects, n_sweeps: int = 4) -> np.ndarray:
    out = []
    for k, subject in enumerate(subjects):
        views = subject_views(subject)
        for plane in Plane:
            tilts = {v: views[v].tilt_deg for v in views_of_plane(plane)}
            for j in range(n_sweeps):
                plan = plan_sweep(np.random.default_rng(50 * k + j), plane, subject.head.fontanelle.centre, style=style, view_tilts=tilts)
                planes = plan.planes
                out += [max(view_quality(p, views[v], subject.head.scale) for p in planes) for v in views_of_plane(plane)]
    return np.array(out)


def test_freehand_passes_views_blind_misses_some():
    subjects = [new_subject(s) for s in (1, 2, 3)]
    free = _best_qualities("freehand", subjects)
    blind = _best_qualities("blind", subjects)
    assert (free >= VIEW_QUALITY_THRESHOLD).mean() >= 0.95
    assert np.median(free) > 0.85
    missing = (blind < VIEW_QUALITY_THRESHOLD).mean()
    assert 0.05 < missing < 0.6  # some views poor or missing, most still there
    assert np.median(blind) < np.median(free)
