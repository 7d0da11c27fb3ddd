"""The MRI-derived head (issue #14): labels from ADC, sampling, standard planes, refusals.

A hand-made ADC volume (no ../shared): an ellipsoidal brain of white matter (ADC 1500) with a cortical
rim (1100), two CSF balls deep inside (3000: lateral ventricles) and a CSF cap at the surface (3000:
extra-axial CSF), on an axial grid of 3 mm slices and 2 mm pixels like the BONBID-HIE volumes.
"""

from __future__ import annotations

import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.io.volume import Volume
from neocus.phantom.mri_head import MriHead, mri_still, mri_views
from neocus.phantom.mri_labels import MriLabel, derive_labels, resample_head
from neocus.phantom.standard_views import plane_distance_mm
from neocus.phantom.tissues import Tissue
from neocus.phantom.types import TissueSample
from neocus.vocab import View

SPACING = (3.0, 2.0, 2.0)  # slice, row, column (mm)
SHAPE = (34, 64, 64)
CENTRE = np.array([64.0, -64.0, 50.0])  # head-axis coordinates (x left, y anterior, z up) of the brain's centre
VENTRICLES = [np.array([s * 9.0, 0.0, 8.0]) for s in (1, -1)]  # relative to the centre
SURFACE_CSF = np.array([0.0, 0.0, 38.0])


def _synthetic_volume(*, empty: bool = False) -> Volume:
    k, j, i = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    # LPS: axis 2 -> L, axis 1 -> P, axis 0 -> S; head axes: x = L, y = -P, z = S
    p = np.stack([i * SPACING[2], -(j * SPACING[1]), k * SPACING[0]], axis=-1) - CENTRE
    r = np.sqrt((p[..., 0] / 40.0) ** 2 + (p[..., 1] / 52.0) ** 2 + (p[..., 2] / 42.0) ** 2)
    adc = np.where(r < 1.0, 1500.0, 0.0)
    adc[(r > 0.9) & (r < 1.0)] = 1100.0
    for c in VENTRICLES:  # elongated lateral ventricles
        q = (p - c) / np.array([4.0, 20.0, 6.0])
        adc[(np.einsum("...i,...i", q, q) < 1.0) & (r < 1.0)] = 3000.0
    adc[(np.linalg.norm(p - SURFACE_CSF, axis=-1) < 7.0) & (r < 1.0)] = 3000.0
    if empty:
        adc[:] = 0.0
    direction = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    return Volume(adc.astype(np.float32), SPACING, (0.0, 0.0, 0.0), direction, source="synthetic")


@pytest.fixture(scope="module")
def label_map():
    return derive_labels(resample_head(_synthetic_volume(), spacing_mm=2.0))


@pytest.fixture(scope="module")
def head(label_map):
    return MriHead(label_map)


def _label_at(lm, head_xyz_rel_centre: np.ndarray) -> int:
    # resample_head centres the brain's bounding box at 0, so the synthetic centre maps to ~0
    ijk = np.rint((head_xyz_rel_centre - lm.origin_mm) / lm.spacing_mm).astype(int)
    return int(lm.labels[tuple(ijk)])


def test_deep_csf_ball_is_ventricle_and_surface_csf_is_extra_axial(label_map):
    for c in VENTRICLES:
        assert _label_at(label_map, c) == MriLabel.VENTRICLE
    assert _label_at(label_map, SURFACE_CSF + np.array([0.0, 0.0, -2.0])) == MriLabel.EXTRA_AXIAL_CSF
    assert _label_at(label_map, np.array([0.0, 25.0, -15.0])) == MriLabel.WHITE_MATTER
    # the cortical rim is cortex, not deep grey
    assert _label_at(label_map, np.array([38.0, 0.0, 0.0])) == MriLabel.CORTEX
    assert not (label_map.labels == MriLabel.DEEP_GREY).any()


def test_landmarks_lie_between_the_ventricles(label_map):
    m = label_map.landmarks
    assert abs(m.midline_x) < 2.0
    assert m.body_x[0] > 4.0 and m.body_x[1] < -4.0  # left positive, right negative
    assert -20.0 < m.monro[1] < 20.0 and 0.0 < m.monro[2] < 14.0


def test_sample_returns_tissue_sample_fields(head):
    pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 300.0], [30.0, 5.0, -5.0]])
    ts = head.sample(pts)
    assert isinstance(ts, TissueSample)
    for name, dtype in (("tissue", np.uint8), ("echo", np.float32), ("part", np.uint8), ("lesion", np.uint8)):
        arr = getattr(ts, name)
        assert arr.shape == (3,) and arr.dtype == dtype
    assert ts.tissue[1] == Tissue.BACKGROUND and ts.echo[1] == 0.0
    assert ts.tissue[2] in (Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.SULCUS)
    assert not ts.lesion.any()


def test_ventricle_is_fluid_and_skull_lies_outside_the_brain(head):
    lm = head.label_map
    vent = np.asarray(VENTRICLES[0]) - head.offset + np.array([0.0, 10.0, 0.0])  # frontal part: no choroid
    assert head.sample(vent[None]).tissue[0] == Tissue.CSF
    # walking out along +x from the brain at the ventricles' height: brain, then CSF, bone, scalp, air
    x = np.arange(0.0, 80.0, 0.25)
    pts = np.stack([x, np.zeros_like(x), np.full_like(x, 0.0)], axis=1)
    t = head.sample(pts).tissue
    order = [int(v) for i, v in enumerate(t) if i == 0 or v != t[i - 1]]
    assert order[-4:] == [Tissue.CSF, Tissue.SKULL, Tissue.SCALP, Tissue.BACKGROUND]
    assert lm.landmarks.brain_top_z > 0


def test_planes_land_inside_the_brain(head):
    views = mri_views(head)
    assert set(views) == {View.AHV, View.TVV, View.BV, View.MSV, View.RPSV, View.LPSV}
    for v, sv in views.items():
        assert head.brain_distance(sv.roi[None])[0] < -3.0, v
        assert plane_distance_mm(sv.plane, sv.roi) < 1e-6
        assert sv.plane.axial[2] < -0.7  # the beam points down into the head
    assert views[View.LPSV].roi[0] > 0 > views[View.RPSV].roi[0]
    # the probe sits on the scalp over the brain
    assert 0.0 < head.brain_distance(head.fontanelle.centre[None])[0] < 10.0


def test_still_renders_and_is_deterministic(head):
    a = mri_still(head, View.TVV, "internal", out_size_hw=(64, 64), rng=np.random.default_rng(3))
    b = mri_still(head, View.TVV, "internal", out_size_hw=(64, 64), rng=np.random.default_rng(3))
    assert a.image.shape == (64, 64) and a.image[a.mask].mean() > 5
    assert np.array_equal(a.image, b.image)
    assert (a.tissue == Tissue.CSF).any()


@pytest.mark.parametrize("case", ["2d", "empty", "not a volume"])
def test_bad_input_is_a_one_line_error(case):
    if case == "2d":
        vol = Volume(np.ones((1, 32, 32), np.float32) * 1500, (3.0, 2.0, 2.0), (0.0, 0.0, 0.0), np.eye(3), source="flat.mha")
    elif case == "empty":
        vol = _synthetic_volume(empty=True)
    else:
        vol = np.ones((8, 8, 8))
    with pytest.raises(NeocusError) as exc:
        resample_head(vol, spacing_mm=2.0)  # type: ignore[arg-type]
    assert "\n" not in exc.value.message and exc.value.hint


def test_dilated_ventricles_grow_but_keep_the_septum(label_map):
    from neocus.phantom.mri_labels import dilate_ventricles

    big = dilate_ventricles(label_map, mm=4.0)
    before = int((label_map.labels == MriLabel.VENTRICLE).sum())
    after = int((big.labels == MriLabel.VENTRICLE).sum())
    assert after > 1.5 * before
    xs = big.coords()[0]
    mid = np.abs(xs - big.landmarks.midline_x) < 1.0
    assert not (big.labels[mid] == MriLabel.VENTRICLE).any()  # the two ventricles stay apart
    assert (big.labels[label_map.labels == MriLabel.VENTRICLE] == MriLabel.VENTRICLE).all()
    assert dilate_ventricles(label_map, mm=0.0) is label_map
    with pytest.raises(NeocusError):
        dilate_ventricles(label_map, mm=-1.0)
