"""Standard-view planes of a phantom subject and the view-quality score."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neocus.phantom.anatomy import AnatomyParams, NeonatalHead
from neocus.phantom.standard_views import (
    coronal_plane,
    plane_angle_deg,
    sagittal_plane,
    standard_views,
    view_qualities,
    view_quality,
)
from neocus.phantom.subject import sample_subject
from neocus.phantom.types import ImagePlane
from neocus.vocab import VIEW_KEY_STRUCTURES, VIEW_PLANE, Plane, View


@pytest.fixture(scope="module", params=[26, 40])
def head(request) -> NeonatalHead:
    return NeonatalHead(AnatomyParams.typical(request.param))


def _structures_in(head: NeonatalHead, plane: ImagePlane, kind: Plane) -> set:
    x = np.linspace(-60, 60, 241)
    d = np.linspace(0, 100, 201)
    gx, gd = np.meshgrid(x, d)
    parts = np.unique(head.sample(plane.points(gx, gd).reshape(-1, 3)).part)
    return {head.part_structure(p, kind) for p in parts} - {None}


def test_quality_is_one_at_the_ideal_plane_and_best_for_its_own_view(head):
    views = standard_views(head)
    assert set(views) == set(View)
    for v, sv in views.items():
        q = view_qualities(head, sv.plane, views=views)
        assert q[v] == pytest.approx(1.0)
        assert max(q, key=q.get) is v
        assert all(q[o] < 0.2 for o in View if o is not v)


def test_ideal_planes_follow_the_conventions(head):
    views = standard_views(head)
    apex = head.fontanelle.centre
    for v, sv in views.items():
        assert np.allclose(sv.plane.apex, apex)
        assert sv.plane.axial[2] < -0.6  # the beam goes down into the head
        if VIEW_PLANE[v] is Plane.CORONAL:
            assert np.allclose(sv.plane.lateral, [1, 0, 0])  # image +x = patient's left
        else:
            assert sv.plane.lateral[1] < -0.95  # image +x = posterior
    tilt = {v: views[v].tilt_deg for v in View}
    assert tilt[View.AHV] > tilt[View.TVV] > tilt[View.BV]  # anterior to posterior
    assert tilt[View.RPSV] < tilt[View.MSV] < tilt[View.LPSV]  # right to left
    assert 5 < tilt[View.LPSV] < 30 and -30 < tilt[View.RPSV] < -5


def test_ideal_planes_show_the_key_structures(head):
    for v, sv in standard_views(head).items():
        shown = _structures_in(head, sv.plane, VIEW_PLANE[v])
        missing = set(VIEW_KEY_STRUCTURES[v]) - shown
        assert not missing, f"{v}: {missing}"


def test_quality_falls_with_angle_and_offset(head):
    views = standard_views(head)
    for v in (View.TVV, View.AHV, View.BV):
        sv = views[v]
        qs = [view_quality(coronal_plane(sv.plane.apex, sv.tilt_deg + dt), sv, scale=head.scale) for dt in (0, 2, 4, 8, 15)]
        assert all(a > b for a, b in itertools.pairwise(qs))
        assert qs[0] == pytest.approx(1.0) and qs[-1] < 0.05
    sv = views[View.LPSV]
    qs = [view_quality(sagittal_plane(sv.plane.apex, sv.tilt_deg + dt), sv, scale=head.scale) for dt in (0, 3, 6, 12)]
    assert all(a > b for a, b in itertools.pairwise(qs))
    # a parallel shift without rotation lowers the score through the distance term alone
    sv = views[View.MSV]
    shifted = ImagePlane(apex=sv.plane.apex + np.array([2.0, 0, 0]), lateral=sv.plane.lateral, axial=sv.plane.axial)
    assert plane_angle_deg(shifted, sv.plane) == pytest.approx(0.0, abs=1e-6)
    q2 = view_quality(shifted, sv, scale=head.scale)
    assert 0.05 < q2 < 0.9


def test_views_of_a_random_subject():
    s = sample_subject(21, severe_fraction=1.0)
    views = standard_views(s.head)
    for v, sv in views.items():
        assert view_qualities(s.head, sv.plane, views=views)[v] == pytest.approx(1.0)
