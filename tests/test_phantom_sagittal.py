"""The sagittal anatomy of the phantom (issue #14): what the midsagittal and parasagittal standard views
show, on the right side, at sizes within the norms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neocus.phantom.anatomy import AnatomyParams, NeonatalHead
from neocus.phantom.anatomy_sagittal import vermis_height_mm
from neocus.phantom.parts import Part
from neocus.phantom.standard_views import parasagittal_follow_points, sagittal_plane, standard_views, view_quality
from neocus.phantom.sweep import plan_sweep
from neocus.phantom.tissues import Tissue
from neocus.phantom.types import ImagePlane
from neocus.vocab import Plane, View

STEP = 0.25  # mm


@pytest.fixture(scope="module", params=[26, 40])
def head(request) -> NeonatalHead:
    return NeonatalHead(AnatomyParams.typical(float(request.param)))


def _label_map(head: NeonatalHead, plane: ImagePlane) -> tuple[np.ndarray, object]:
    x, d = np.meshgrid(np.arange(-70, 70, STEP), np.arange(0, 100, STEP))
    pts = plane.points(x, d).reshape(-1, 3)
    return pts, head.sample(pts)


def test_midsagittal_view_shows_the_midline_structures(head):
    pts, ts = _label_map(head, standard_views(head)[View.MSV].plane)
    present = set(np.unique(ts.part).tolist())
    for part in (Part.CORPUS_CALLOSUM, Part.CAVUM_SEPTI_PELLUCIDI, Part.THIRD_VENTRICLE, Part.AQUEDUCT, Part.FOURTH_VENTRICLE,
                 Part.BRAINSTEM, Part.CEREBELLAR_VERMIS, Part.CISTERNA_MAGNA):
        assert part in present, part
    # the skull base and face lie under the brain at the bottom, in front of the brainstem (no black there)
    bs = pts[ts.part == Part.BRAINSTEM]
    # face / soft tissue (anatomy_sagittal) or the skull base's interior (anatomy_skullbase paints over it)
    soft = np.isin(ts.part, [Part.SCALP, Part.SKULL_BASE])
    face = soft & (pts[:, 2] < bs[:, 2].min() + 10) & (pts[:, 1] > bs[:, 1].max())
    assert face.sum() * STEP**2 > 100.0
    base = np.isin(ts.part, [Part.SKULL, Part.SKULL_BASE]) & (pts[:, 2] < bs[:, 2].max()) & (ts.echo > 3.0)
    assert base.sum() * STEP**2 > 20.0


def test_third_ventricle_has_its_sagittal_profile_not_a_box(head):
    pts, ts = _label_map(head, standard_views(head)[View.MSV].plane)
    t3 = pts[ts.part == Part.THIRD_VENTRICLE]
    y, z = t3[:, 1], t3[:, 2]
    box = (y.max() - y.min()) * (z.max() - z.min())
    assert len(t3) * STEP**2 < 0.72 * box  # recesses and a sloping floor, not a rounded rectangle
    # the infundibular / optic recesses point down in front: the lowest point is in the anterior half
    assert y[np.argmin(z)] > 0.5 * (y.min() + y.max())
    # it stays a slit: its width (x) follows the third-ventricle norm of the subject
    assert np.abs(t3[:, 0]).max() < 2.0 * head.params.third_mm


def test_vermis_is_foliated_and_its_height_follows_the_norm(head):
    pts, ts = _label_map(head, standard_views(head)[View.MSV].plane)
    v = ts.part == Part.CEREBELLAR_VERMIS
    z = pts[v, 2]
    norm = vermis_height_mm(head.params.ga_weeks)
    assert abs((z.max() - z.min()) - norm) < 0.15 * norm
    echo = ts.echo[v & (ts.tissue == Tissue.VERMIS)]
    base = float(np.median(echo))
    assert np.mean(echo > 1.3 * base) > 0.04  # bright fissures
    assert np.mean(echo < 0.6 * base) > 0.04  # hypoechoic medullary core and branches


@pytest.mark.parametrize(("view", "side"), [(View.RPSV, -1), (View.LPSV, 1)])
def test_parasagittal_view_shows_the_whole_c_on_its_side(head, view, side):
    sv = standard_views(head, follow_ventricle=True)[view]
    pts, ts = _label_map(head, sv.plane)
    own = Part.LV_FRONTAL_LEFT if side > 0 else Part.LV_FRONTAL_RIGHT
    names = ("LV_FRONTAL", "LV_BODY", "LV_ATRIUM", "CHOROID_PLEXUS", "CAUDOTHALAMIC_GROOVE", "THALAMUS", "CAUDATE")
    suffix, other = ("_LEFT", "_RIGHT") if side > 0 else ("_RIGHT", "_LEFT")
    for name in names:
        assert (ts.part == Part[name + suffix]).sum() > 0, name + suffix
        assert (ts.part == Part[name + other]).sum() == 0, name + other
    assert (ts.part == own).sum() > 0
    # the twist brings the atrium into the plane with the groove: several times its area without it
    follow = parasagittal_follow_points(head)[side]
    assert abs(float(sv.plane.normal @ (follow - sv.plane.apex))) < 1e-6
    assert abs(float(sv.plane.normal @ (sv.roi - sv.plane.apex))) < 1e-6
    atrium = Part.LV_ATRIUM_LEFT if side > 0 else Part.LV_ATRIUM_RIGHT
    _, plain = _label_map(head, standard_views(head)[view].plane)
    assert (ts.part == atrium).sum() > 3 * max((plain.part == atrium).sum(), 1)
    # conventions: image +x still posterior, the two sides twisted opposite ways, quality 1 at the ideal
    assert sv.plane.lateral[1] < -0.9 and 3 < abs(sv.twist_deg) < 25
    other = standard_views(head, follow_ventricle=True)[View.LPSV if view is View.RPSV else View.RPSV]
    assert np.sign(other.twist_deg) == -np.sign(sv.twist_deg)
    qs = [view_quality(sagittal_plane(sv.plane.apex, sv.tilt_deg, twist_deg=sv.twist_deg + dw), sv, scale=head.scale) for dw in (0, 5, 10, 20)]
    assert qs[0] == pytest.approx(1.0) and all(a > b for a, b in itertools.pairwise(qs))


def test_sagittal_sweep_follows_the_twist_of_the_parasagittal_views(head):
    views = standard_views(head, follow_ventricle=True)
    sag = (View.RPSV, View.MSV, View.LPSV)
    tilts = {v: views[v].tilt_deg for v in sag}
    twists = {v: views[v].twist_deg for v in sag}
    kw = {"style": "freehand", "view_tilts": tilts}
    plan = plan_sweep(Plane.SAGITTAL, head.fontanelle.centre, **kw, view_twists=twists, rng=np.random.default_rng(3))
    plain = plan_sweep(Plane.SAGITTAL, head.fontanelle.centre, **kw, rng=np.random.default_rng(3))
    assert [m.tilt_deg for m in plan.motion] == [m.tilt_deg for m in plain.motion]  # the same hand, only turned
    added = np.array([a.twist_deg - b.twist_deg for a, b in zip(plan.motion, plain.motion, strict=True)])
    tilt = np.array([m.tilt_deg for m in plan.motion])
    for v in sag:
        near = np.abs(tilt - tilts[v]) < 1.0
        assert near.any(), v
        assert np.all(np.abs(added[near] - twists[v]) < 3.0), v


def test_cavum_vergae_reaches_back_under_the_callosum_in_preterms_only(head):
    pts, ts = _label_map(head, standard_views(head)[View.MSV].plane)
    cav = pts[ts.part == Part.CAVUM_SEPTI_PELLUCIDI]
    behind_monro = cav[:, 1].min() < -6.0 * head.scale  # the foramina of Monro are at y = 0
    assert behind_monro == (head.params.ga_weeks < 30)
