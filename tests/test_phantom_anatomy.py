"""The phantom's 3-D anatomy: tissue layers, landmarks, symmetry, GA-tracking sizes, determinism, speed."""

from __future__ import annotations


import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.phantom import norms
from neocus.phantom.anatomy import AnatomyParams, NeonatalHead
from neocus.phantom.measure import measure_ventricles
from neocus.phantom.parts import (
    LATERAL_VENTRICLE_PARTS,
    PART_SIDE,
    Part,
    part_structure,
)
from neocus.phantom.subject import sample_subject
from neocus.phantom.tissues import Tissue
from neocus.phantom.types import HeadModel
from neocus.vocab import Plane, Side, Structure


@pytest.fixture(scope="module")
def heads() -> dict[int, NeonatalHead]:
    return {ga: NeonatalHead(AnatomyParams.typical(ga)) for ga in (26, 32, 40)}


def _mirror_part(p: int) -> int:
    name = Part(p).name
    if name.endswith("_LEFT"):
        return Part[name[:-5] + "_RIGHT"]
    if name.endswith("_RIGHT"):
        return Part[name[:-6] + "_LEFT"]
    return p


def test_head_model_protocol(heads):
    assert isinstance(heads[40], HeadModel)


@pytest.mark.parametrize("ga", [26, 32, 40])
def test_origin_lies_in_ventricular_csf(heads, ga):
    s = heads[ga].sample(np.zeros((1, 3)))
    assert s.tissue[0] == Tissue.CSF
    assert s.part[0] in (Part.THIRD_VENTRICLE, Part.FORAMEN_OF_MONRO)


def test_far_outside_is_background(heads):
    pts = np.array([[200.0, 0, 0], [0, -300, 0], [0, 0, 150], [-90, 90, -90]])
    s = heads[40].sample(pts)
    assert (s.tissue == Tissue.BACKGROUND).all() and (s.part == Part.NONE).all()
    assert (s.echo == 0).all()


@pytest.mark.parametrize("ga", [26, 40])
def test_layers_in_order_along_a_lateral_ray(heads, ga):
    """From outside in: background, scalp, skull, extra-axial CSF, then brain."""
    z = np.arange(90.0, -5.0, -0.05)
    pts = np.stack([np.full_like(z, 22.0 * heads[ga].scale), np.full_like(z, -15.0), z], axis=1)
    t = heads[ga].sample(pts).tissue
    order = []
    for v in t:
        if not order or order[-1] != v:
            order.append(int(v))
    assert order[:5] == [Tissue.BACKGROUND, Tissue.SCALP, Tissue.SKULL, Tissue.CSF, Tissue.SULCUS]
    p = heads[ga].params
    skull_len = (t == Tissue.SKULL).sum() * 0.05
    assert p.skull_mm * 0.8 < skull_len < p.skull_mm * 1.6


def test_fontanelle_is_an_acoustic_window(heads):
    h = heads[40]
    f = h.fontanelle
    assert f.centre[2] > 30 and 0 < f.centre[1] < 20
    assert f.normal[2] < -0.9  # pointing down into the head
    depth = np.arange(0.0, 12.0, 0.05)
    under = h.sample(f.centre + depth[:, None] * f.normal).tissue
    assert Tissue.FONTANELLE in under and Tissue.SKULL not in under
    # 25 mm to the side there is bone
    side = h.sample(f.centre + np.array([25.0, 0, -4.0]) + depth[:, None] * f.normal).tissue
    assert Tissue.SKULL in side


def test_left_right_symmetric_for_symmetric_params(heads):
    """Deep anatomy mirrors exactly when the parameters are symmetric (the cortex folds are random)."""
    h = heads[32]
    rng = np.random.default_rng(0)
    pts = rng.uniform([-22, -35, -30], [22, 30, 20], size=(40000, 3))
    a = h.sample(pts)
    b = h.sample(pts * np.array([-1.0, 1, 1]))
    deep = ~np.isin(a.tissue, [Tissue.GREY_MATTER, Tissue.SULCUS, Tissue.FALX]) & ~np.isin(
        b.tissue, [Tissue.GREY_MATTER, Tissue.SULCUS, Tissue.FALX]
    )
    deep &= np.abs(pts[:, 0]) > 0.5
    mirrored = np.array([_mirror_part(p) for p in b.part[deep]])
    assert (a.part[deep] == mirrored).mean() > 0.995


def test_subject_asymmetry_is_bounded():
    for seed in range(6):
        s = sample_subject(seed, severe_fraction=0.0, case_type="normal")
        m = s.measurements
        assert abs(m.vi_left - m.vi_right) < 3.0
        assert abs(m.ahw_left - m.ahw_right) < 2.5


@pytest.mark.parametrize("ga", [26, 32, 40])
def test_ventricle_sizes_track_ga_norms(heads, ga):
    h = heads[ga]
    # ventricular index from a line sample: the lateral-most LV point along x at the foramina (y = 0)
    xs = np.arange(0.0, 30.0, 0.05)
    zs = np.arange(-5.0, 15.0, 0.25)
    gx, gz = np.meshgrid(xs, zs, indexing="ij")
    pts = np.stack([gx.ravel(), np.zeros(gx.size), gz.ravel()], axis=1)
    lv = np.isin(h.sample(pts).part, list(LATERAL_VENTRICLE_PARTS))
    vi_line = pts[lv, 0].max()
    vi = norms.ventricular_index(ga)
    assert abs(vi_line - vi.p50) < 0.4
    m = measure_ventricles(h)
    assert abs(m.vi_left - vi.p50) < 0.3 and abs(m.vi_right - vi.p50) < 0.3
    assert abs(m.ahw_left - norms.anterior_horn_width(ga).p50) < 0.4
    assert abs(m.tod_left - norms.thalamo_occipital_distance(ga).p50) < 0.5
    assert abs(m.third_ventricle - norms.third_ventricle_width(ga).p50) < 0.3


@pytest.mark.parametrize("ga", [26, 40])
def test_head_size_follows_head_circumference(heads, ga):
    h = heads[ga]
    bpd, _ = norms.head_axes_mm(norms.head_circumference_mm(ga), cephalic_index=0.80)
    zs = np.arange(-20.0, 40.0, 1.0)
    xs = np.arange(-80.0, 80.0, 0.1)
    widths = []
    for z in zs:
        pts = np.stack([xs, np.full_like(xs, h.outline.c1[1]), np.full_like(xs, z)], axis=1)
        inside = h.sample(pts).tissue != Tissue.BACKGROUND
        widths.append(inside.sum() * 0.1)
    assert abs(max(widths) - bpd) / bpd < 0.04


def test_sulcation_grows_with_ga(heads):
    """Echogenic sulci in the outer 1-8 mm of the convexity: none before ~28 weeks, many at term."""

    def sulcal_fraction(h: NeonatalHead) -> float:
        rng = np.random.default_rng(1)
        pts = rng.uniform(-70, 70, size=(200000, 3)).astype(np.float32)
        d = h.brain_distance(pts)
        shell = (d < -1.0) & (d > -8.0 * h.scale) & (np.abs(pts[:, 0]) > 3.0) & (pts[:, 2] > 0)
        s = h.sample(pts[shell])
        return float((s.tissue == Tissue.SULCUS).mean())

    f26, f32, f40 = (sulcal_fraction(heads[g]) for g in (26, 32, 40))
    assert f26 < 0.002
    assert f40 > 0.03
    assert f26 < f32 < f40


def test_echogenicity_of_landmarks(heads):
    h = heads[40]
    choroid = h.lv[1].at(float(h.lv[1].t_ctrl[5]))
    s = h.sample(np.array([[choroid["x"], choroid["y"], choroid["z"]], [0, 0, 0], [20.0, 5.0, 20.0]]))
    assert s.tissue[0] == Tissue.CHOROID_PLEXUS and s.echo[0] > 2.0  # glomus in the atrium
    assert s.echo[1] < 0.1  # CSF
    assert 0.5 < s.echo[2] < 3.0


def test_part_structure_mapping():
    assert part_structure(Part.LV_FRONTAL_LEFT, "coronal") is Structure.ANTERIOR_HORN
    assert part_structure(Part.LV_BODY_RIGHT, Plane.CORONAL) is Structure.LATERAL_VENTRICLE_BODY
    assert part_structure(Part.LV_ATRIUM_LEFT, "coronal") is Structure.LATERAL_VENTRICLE_BODY
    for p in LATERAL_VENTRICLE_PARTS:
        assert part_structure(p, "sagittal") is Structure.LATERAL_VENTRICLE
    assert part_structure(Part.INTERHEMISPHERIC_FISSURE, "coronal") is Structure.INTERHEMISPHERIC_FISSURE
    assert part_structure(Part.INTERHEMISPHERIC_FISSURE, "sagittal") is None
    assert part_structure(Part.WHITE_MATTER_LEFT, "coronal") is None
    assert PART_SIDE[Part.THALAMUS_LEFT] is Side.LEFT and PART_SIDE[Part.CORPUS_CALLOSUM] is Side.MIDLINE
    with pytest.raises(NeocusError, match="must be 'coronal' or 'sagittal'"):
        part_structure(Part.THALAMUS_LEFT, "axial")


def test_left_is_plus_x(heads):
    h = heads[40]
    th = h.thalamus[1].centre
    assert th[0] > 0
    assert h.sample(th[None, :]).part[0] == Part.THALAMUS_LEFT


def test_subject_is_deterministic():
    a, b = sample_subject(11), sample_subject(11)
    assert a.labels() == b.labels()
    pts = np.random.default_rng(2).uniform(-50, 50, size=(5000, 3))
    sa, sb = a.head.sample(pts), b.head.sample(pts)
    for f in ("tissue", "echo", "part", "lesion"):
        assert np.array_equal(getattr(sa, f), getattr(sb, f))
    assert sample_subject(12).labels() != a.labels()


def test_sample_contract_dtypes_and_shapes(heads):
    pts = np.random.default_rng(4).uniform(-60, 60, size=(1000, 3))  # float64 in, any shape [N, 3]
    s = heads[32].sample(pts)
    assert s.tissue.dtype == np.uint8 and s.part.dtype == np.uint8 and s.lesion.dtype == np.uint8
    assert s.echo.dtype == np.float32
    assert s.tissue.shape == s.echo.shape == s.part.shape == s.lesion.shape == (1000,)
    assert int(s.tissue.max()) < len(Tissue) and int(s.part.max()) < len(Part)
    empty = heads[32].sample(np.zeros((0, 3)))
    assert empty.tissue.shape == (0,)


def test_subject_labels_are_json_ready():
    import json

    lab = sample_subject(31, severe_fraction=1.0).labels()
    text = json.dumps(lab)
    assert json.loads(text) == lab
    assert {"ivh_grade", "findings", "severe", "tier", "binary", "lesions", "measurements"} <= set(lab)


def test_subject_pickles_for_worker_processes():
    import pickle

    s = sample_subject(33, severe_fraction=1.0)
    t = pickle.loads(pickle.dumps(s))
    pts = np.random.default_rng(5).uniform(-40, 40, size=(20000, 3))
    a, b = s.head.sample(pts), t.head.sample(pts)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("tissue", "echo", "part", "lesion"))
    assert t.labels() == s.labels()
