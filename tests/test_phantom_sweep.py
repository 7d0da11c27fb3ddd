"""Sweep trajectories: geometry conventions, operator behaviour, determinism."""

import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.phantom.sweep import (
    STYLES,
    SweepDirection,
    plan_sweep,
    plane_at,
    tilt_of,
)
from neocus.vocab import Plane, View

APEX = np.array([0.0, 12.0, 45.0])
CORONAL_VIEWS = {View.AHV: 22.0, View.TVV: 2.0, View.BV: -18.0}


def test_untilted_planes_follow_display_conventions():
    cor = plane_at(APEX, Plane.CORONAL, 0.0)
    assert np.allclose(cor.lateral, [1, 0, 0]) and np.allclose(cor.axial, [0, 0, -1])
    sag = plane_at(APEX, Plane.SAGITTAL, 0.0)
    assert np.allclose(sag.lateral, [0, -1, 0]) and np.allclose(sag.axial, [0, 0, -1])
    # Positive tilt aims the beam anterior (coronal) and to the patient's left (+x, sagittal).
    assert plane_at(APEX, Plane.CORONAL, 30.0).axial[1] > 0.4
    assert plane_at(APEX, Plane.SAGITTAL, 30.0).axial[0] > 0.4


@pytest.mark.parametrize("plane", list(Plane))
def test_tilt_round_trip_and_orthonormal(plane):
    for tilt in (-44.0, -10.0, 0.0, 7.5, 41.0):
        p = plane_at(APEX, plane, tilt, twist_deg=3.0, rock_deg=-2.0, slide_lateral_mm=1.0)
        assert abs(float(p.lateral @ p.axial)) < 1e-9
        assert np.isclose(np.linalg.norm(p.normal), 1.0)
        # twist and rock move the plane, but only slightly off the nominal tilt
        assert abs(tilt_of(p, plane) - tilt) < 3.0
        assert np.isclose(tilt_of(plane_at(APEX, plane, tilt), plane), tilt)


def test_same_seed_same_sweep_and_different_seed_differs():
    a = plan_sweep(rng=np.random.default_rng(5), plane=Plane.CORONAL, apex=APEX, view_tilts=CORONAL_VIEWS)
    b = plan_sweep(rng=np.random.default_rng(5), plane=Plane.CORONAL, apex=APEX, view_tilts=CORONAL_VIEWS)
    c = plan_sweep(rng=np.random.default_rng(6), plane=Plane.CORONAL, apex=APEX, view_tilts=CORONAL_VIEWS)
    assert a.motion == b.motion and a.direction == b.direction
    assert a.motion != c.motion


@pytest.mark.parametrize("direction", [SweepDirection.ANTERIOR_TO_POSTERIOR, SweepDirection.POSTERIOR_TO_ANTERIOR])
def test_coronal_sweep_covers_the_range_in_its_direction(direction):
    plan = plan_sweep(rng=np.random.default_rng(1), plane=Plane.CORONAL, apex=APEX, direction=direction, view_tilts=CORONAL_VIEWS)
    tilts = np.array([m.tilt_deg for m in plan.motion])
    sign = -1 if direction is SweepDirection.ANTERIOR_TO_POSTERIOR else 1
    assert sign * (tilts[-1] - tilts[0]) > 60  # roughly -45..+45
    assert min(tilts) < -30 and max(tilts) > 30
    # every view's tilt is passed by a freehand sweep
    for vt in CORONAL_VIEWS.values():
        assert tilts.min() < vt < tilts.max()
    # mostly monotonic: tremor only adds small reversals
    assert np.mean(sign * np.diff(tilts) > -1.0) > 0.95


def test_sagittal_direction_must_match_plane():
    with pytest.raises(NeocusError, match="does not belong to a sagittal sweep"):
        plan_sweep(Plane.SAGITTAL, APEX, direction=SweepDirection.ANTERIOR_TO_POSTERIOR, rng=np.random.default_rng(0))
    plan = plan_sweep(rng=np.random.default_rng(0), plane=Plane.SAGITTAL, apex=APEX, direction=SweepDirection.RIGHT_TO_LEFT)
    assert plan.motion[-1].tilt_deg > plan.motion[0].tilt_deg  # right (-) to left (+)


def test_speed_is_uneven_with_pauses_tremor_and_out_of_plane_motion():
    speeds, paused, twists, lost, blurred = [], 0, [], 0, 0
    for seed in range(12):
        plan = plan_sweep(rng=np.random.default_rng(seed), plane=Plane.CORONAL, apex=APEX, view_tilts=CORONAL_VIEWS)
        w = np.abs([m.angular_speed_deg_s for m in plan.motion])
        speeds.append(w.std() / w.mean())
        paused += sum(m.paused for m in plan.motion)
        twists.append(np.ptp([m.twist_deg for m in plan.motion]))
        lost += sum(m.dropped_before for m in plan.motion)
        blurred += sum(m.blur_deg > 0 for m in plan.motion)
        # a paused frame barely moves (tremor only)
        for a, b in zip(plan.motion, plan.motion[1:]):
            if a.paused and b.paused and b.dropped_before == 0:
                assert abs(b.tilt_deg - a.tilt_deg) < 6 * STYLES["freehand"][Plane.CORONAL].tremor_deg
    assert np.mean(speeds) > 0.3  # uneven angular speed
    assert paused > 0 and lost > 0 and blurred > 0
    assert np.mean(twists) > 0.5  # out-of-plane rotation about the beam axis


def test_freehand_operator_slows_down_at_the_views():
    near, far = [], []
    for seed in range(10):
        plan = plan_sweep(rng=np.random.default_rng(seed), plane=Plane.CORONAL, apex=APEX, view_tilts=CORONAL_VIEWS)
        for m in plan.motion:
            d = min(abs(m.tilt_deg - v) for v in CORONAL_VIEWS.values())
            (near if d < 2.0 else far if d > 8.0 else []).append(abs(m.angular_speed_deg_s))
    assert np.median(near) < 0.7 * np.median(far)


def test_blind_sweeps_are_faster_noisier_and_less_aimed():
    def stats(style):
        n, err, tremor = [], [], []
        for seed in range(15):
            plan = plan_sweep(rng=np.random.default_rng(seed), plane=Plane.CORONAL, apex=APEX, style=style, view_tilts=CORONAL_VIEWS)
            n.append(plan.n_frames)
            err.append(abs(np.mean([m.twist_deg for m in plan.motion])))
            tilts = np.array([m.tilt_deg for m in plan.motion])
            tremor.append(np.std(np.diff(tilts, 2)))
        return np.mean(n), np.mean(err), np.mean(tremor)

    n_f, err_f, tr_f = stats("freehand")
    n_b, err_b, tr_b = stats("blind")
    assert n_b < n_f and err_b > err_f and tr_b > tr_f


def test_frame_count_and_dropped_frames_add_up():
    plan = plan_sweep(rng=np.random.default_rng(3), plane=Plane.SAGITTAL, apex=APEX, style="blind", n_frames=40)
    assert plan.n_frames + sum(m.dropped_before for m in plan.motion) == 40
    assert [m.index for m in plan.motion] == list(range(plan.n_frames))
    times = [m.time_s for m in plan.motion]
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))


def test_blurred_frames_average_planes_over_the_blur_span():
    for seed in range(20):
        plan = plan_sweep(rng=np.random.default_rng(seed), plane=Plane.CORONAL, apex=APEX, style="blind")
        blurred = [m for m in plan.motion if m.blur_deg > 0]
        if blurred:
            m = blurred[0]
            planes = plan.exposure_planes(m.index, n=3)
            tilts = [tilt_of(p, Plane.CORONAL) for p in planes]
            assert len(planes) == 3 and np.isclose(max(tilts) - min(tilts), m.blur_deg, atol=0.3)
            sharp = next(x for x in plan.motion if x.blur_deg == 0)
            assert len(plan.exposure_planes(sharp.index)) == 1
            return
    pytest.fail("no blurred frame in 20 blind sweeps")


def test_untilted_sweep_planes_match_the_standard_view_planes():
    from neocus.phantom.standard_views import coronal_plane, sagittal_plane

    for tilt in (-30.0, 0.0, 12.5):
        for mine, theirs in ((plane_at(APEX, Plane.CORONAL, tilt), coronal_plane(APEX, tilt)),
                             (plane_at(APEX, Plane.SAGITTAL, tilt), sagittal_plane(APEX, tilt))):
            assert np.allclose(mine.lateral, theirs.lateral) and np.allclose(mine.axial, theirs.axial)
            assert np.allclose(mine.apex, theirs.apex)


def test_freehand_pauses_at_views_blind_anywhere():
    stops_free, stops_blind = [], []
    for seed in range(30):
        for style, stops in (("freehand", stops_free), ("blind", stops_blind)):
            plan = plan_sweep(rng=np.random.default_rng(seed), plane=Plane.CORONAL, apex=APEX, style=style, view_tilts=CORONAL_VIEWS)
            stops += [min(abs(m.tilt_deg - v) for v in CORONAL_VIEWS.values()) for m in plan.motion if m.paused]
    assert stops_free and max(stops_free) < 3.0  # held at a view, give or take tremor
    assert stops_blind and max(stops_blind) > 5.0
