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
                plan = plan_sweep(rng=np.random.default_rng(50 * k + j), plane=plane, apex=subject.head.fontanelle.centre, style=style, view_tilts=tilts)
                planes = plan.planes
                out += [max(view_quality(p, views[v], scale=subject.head.scale) for p in planes) for v in views_of_plane(plane)]
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



def test_sweep_speckle_belongs_to_the_head(monkeypatch):
    """Every frame of a subject's sweeps is rendered with the same head-fixed speckle seed."""
    import neocus.phantom.api as api

    seen = []
    real = api.render_plane

    def spy(*args, **kwargs):
        seen.append(kwargs.get("speckle_seed"))
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "render_plane", spy)
    subject = new_subject(3)
    for plane, seed in ((Plane.CORONAL, 0), (Plane.SAGITTAL, 1)):
        api.render_sweep(subject, plane, "internal", rng=np.random.default_rng(seed), n_frames=6, out_size_hw=(48, 64))
    assert len(seen) >= 12 and None not in seen and len(set(seen)) == 1
    first = seen[0]
    seen.clear()
    api.render_sweep(new_subject(4), Plane.CORONAL, "internal", rng=np.random.default_rng(0), n_frames=6, out_size_hw=(48, 64))
    assert None not in seen and len(set(seen)) == 1 and seen[0] != first  # another head, other scatterers
