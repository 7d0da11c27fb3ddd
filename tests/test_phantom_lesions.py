"""Phantom lesions: masks where the radiology puts them, echogenicity, and labels via the vocabulary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neocus import vocab
from neocus.errors import NeocusError
from neocus.phantom import norms
from neocus.phantom.lesions import classify_ventricles, lesion_id
from neocus.phantom.parts import LATERAL_VENTRICLE_PARTS, Part
from neocus.phantom.subject import CaseType, Subject, sample_subject
from neocus.phantom.tissues import Tissue
from neocus.vocab import Finding, IvhGrade, LesionKind

_CACHE: dict[tuple[int, str], Subject] = {}


def subject(seed: int, case_type: str, **kw) -> Subject:
    key = (seed, case_type + repr(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = sample_subject(seed, case_type=case_type, **kw)
    return _CACHE[key]


def lesion_points(s: Subject, kind: LesionKind, step: float = 0.4, margin: float = 12.0):
    """Sample grids over the bounding boxes of ``kind``'s painters (each plus a margin): the points,
    the sample, and the mask of ``kind`` in the lesion channel."""
    boxes = [(lo - margin, hi + margin) for lesion in s.lesions if lesion.kind is kind for _, lo, hi, _ in lesion.painters(s.head)]
    if not boxes:
        boxes = [(np.array([-30.0, -45, -25]) * s.head.scale, np.array([30.0, 35, 25]) * s.head.scale)]
    grids = []
    for lo, hi in boxes:
        axes = [np.arange(lo[i], hi[i], step) for i in range(3)]
        gx, gy, gz = np.meshgrid(*axes, indexing="ij")
        grids.append(np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1))
    pts = np.unique(np.concatenate(grids), axis=0)
    ts = s.head.sample(pts)
    return pts, ts, ts.lesion == lesion_id(kind)


def lateral_ventricle_points(s: Subject, step: float = 0.6) -> np.ndarray:
    lo, hi = np.array([-35.0, -60, -30]) * s.head.scale, np.array([35.0, 40, 30]) * s.head.scale
    axes = [np.arange(lo[i], hi[i], step) for i in range(3)]
    gx, gy, gz = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
    return pts[np.isin(s.head.sample(pts).part, list(LATERAL_VENTRICLE_PARTS))]


def test_normal_subject_has_no_lesion_and_normal_labels():
    s = subject(1, "normal")
    _, ts, _ = lesion_points(s, LesionKind.CYSTIC_PVL, step=0.7)
    assert not ts.lesion.any()
    assert s.findings == {Finding.NORMAL} and s.ivh_grade is IvhGrade.NONE
    assert not s.severe and s.tier is vocab.Tier.NORMAL and s.binary is vocab.Binary.NORMAL
    assert s.measurements.vi_max <= norms.ventricular_index(s.ga_weeks).p97


def test_germinal_matrix_haemorrhage_sits_at_the_caudothalamic_groove():
    s = subject(2, "gmh", ga_weeks=30.0)
    pts, ts, m = lesion_points(s, LesionKind.GERMINAL_MATRIX_HAEMORRHAGE, step=0.3, margin=2.0)
    assert m.sum() > 5
    assert (ts.tissue[m] == Tissue.BLOOD).all() and (ts.echo[m] > 2.0).all()
    ctg = np.array([s.head.ctg[1].centre, s.head.ctg[-1].centre])
    d = np.min(np.linalg.norm(pts[m][:, None, :] - ctg[None], axis=2), axis=1)
    assert d.max() < 8.0
    assert s.ivh_grade is IvhGrade.I and s.findings == {Finding.IVH}
    assert not s.severe and s.tier is vocab.Tier.MILD


def test_ivh_clot_is_inside_the_ventricle_and_grade_follows_measured_dilation():
    grades = set()
    for seed in range(3, 13):
        s = subject(seed, "ivh")
        p97 = norms.ventricular_index(s.ga_weeks).p97
        dilated = s.measurements.vi_max > p97
        assert (LesionKind.VENTRICULAR_DILATION in s.lesion_kinds or LesionKind.HYDROCEPHALUS in s.lesion_kinds) == dilated
        assert s.ivh_grade is (IvhGrade.III if dilated else IvhGrade.II)
        assert s.severe is dilated
        grades.add(s.ivh_grade)
    assert grades == {IvhGrade.II, IvhGrade.III}  # the IVH pattern straddles the threshold
    s = subject(5, "ivh")
    _, ts, m = lesion_points(s, LesionKind.INTRAVENTRICULAR_HAEMORRHAGE, step=0.4, margin=1.0)
    assert m.sum() > 10
    lv_or_cp = np.isin(ts.part[m], list(LATERAL_VENTRICLE_PARTS) + [Part.CHOROID_PLEXUS_LEFT, Part.CHOROID_PLEXUS_RIGHT])
    assert lv_or_cp.all()
    assert (ts.echo[m] > 2.0).all()


def test_pvhi_is_unilateral_echogenic_and_parenchymal():
    s = subject(4, "pvhi")
    lesion = next(lesion for lesion in s.lesions if lesion.kind is LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION)
    assert len(lesion.sides) == 1
    pts, ts, m = lesion_points(s, LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION, step=0.6, margin=2.0)
    assert m.sum() > 20
    side = lesion.sides[0]
    assert (np.sign(pts[m, 0]) == side).mean() > 0.98
    assert (ts.tissue[m] == Tissue.INFARCT).all() and ts.echo[m].mean() > 2.0
    assert not np.isin(ts.part[m], list(LATERAL_VENTRICLE_PARTS)).any()
    assert s.ivh_grade is IvhGrade.IV and s.severe and s.tier is vocab.Tier.SEVERE


def test_cystic_pvl_cysts_are_small_anechoic_and_periventricular():
    s = subject(6, "cystic_pvl", ga_weeks=32.0)
    cpvl = next(lesion for lesion in s.lesions if lesion.kind is LesionKind.CYSTIC_PVL)
    radii = np.array([c[4] for c in cpvl.cysts])
    assert radii.min() < 1.5 and len(radii) >= 4
    pts, ts, m = lesion_points(s, LesionKind.CYSTIC_PVL, step=0.3, margin=0.5)
    assert m.sum() > 10
    assert (ts.tissue[m] == Tissue.CYST).all() and (ts.echo[m] < 0.1).all()
    # within ~15 mm of a lateral ventricle and in the hemispheres' white matter
    from scipy.spatial import cKDTree

    d, _ = cKDTree(lateral_ventricle_points(s)).query(pts[m])
    assert d.max() < 15.0
    assert np.isin(ts.part[m], [Part.WHITE_MATTER_LEFT, Part.WHITE_MATTER_RIGHT, Part.CORTEX_LEFT, Part.CORTEX_RIGHT]).all()
    assert Finding.PVL in s.findings and s.severe


def test_pvl_flare_is_brighter_than_white_matter():
    s = subject(7, "pvl_flare")
    _, ts, m = lesion_points(s, LesionKind.PVL_FLARE, step=0.5, margin=3.0)
    assert m.sum() > 10
    wm = ts.tissue == Tissue.WHITE_MATTER
    assert np.median(ts.echo[m]) > 1.4 * np.median(ts.echo[wm])
    assert s.findings == {Finding.PVL} and s.severe


def test_hydrocephalus_dilates_the_third_ventricle_and_is_severe():
    s = subject(8, "hydrocephalus")
    p97 = norms.ventricular_index(s.ga_weeks).p97
    assert s.measurements.vi_max > p97 + norms.VI_HIGH_MARGIN_MM
    assert s.measurements.third_ventricle > norms.third_ventricle_width(s.ga_weeks).p97
    assert LesionKind.HYDROCEPHALUS in s.lesion_kinds and Finding.HYDROCEPHALUS in s.findings and s.severe
    _, ts, m = lesion_points(s, LesionKind.HYDROCEPHALUS, step=0.6, margin=0.0)
    assert (ts.part[m] == Part.THIRD_VENTRICLE).any()
    assert np.isin(ts.part[m], list(LATERAL_VENTRICLE_PARTS)).mean() > 0.5


def test_ventricular_dilation_is_mild_and_continuous_across_p97():
    kinds = []
    for seed in range(20, 30):
        s = subject(seed, "ventricular_dilation")
        k = classify_ventricles(s.measurements.vi_max, s.ga_weeks)
        assert (k in s.lesion_kinds) if k else not (s.lesion_kinds & {LesionKind.VENTRICULAR_DILATION, LesionKind.HYDROCEPHALUS})
        if k is LesionKind.VENTRICULAR_DILATION:
            assert not s.severe and s.tier is vocab.Tier.MILD
        kinds.append(k)
    assert None in kinds and LesionKind.VENTRICULAR_DILATION in kinds


def test_ependymal_cyst_is_subependymal_anechoic_and_mild():
    s = subject(9, "ependymal_cyst")
    pts, ts, m = lesion_points(s, LesionKind.EPENDYMAL_CYST, step=0.25, margin=0.5)
    assert m.sum() > 3
    assert (ts.echo[m] < 0.1).all()
    ctg = np.array([s.head.ctg[1].centre, s.head.ctg[-1].centre])
    from scipy.spatial import cKDTree

    d_lv, _ = cKDTree(lateral_ventricle_points(s)).query(pts[m])
    d_ctg = np.min(np.linalg.norm(pts[m][:, None, :] - ctg[None], axis=2), axis=1)
    assert (np.minimum(d_lv, d_ctg) < 8.0).all()
    assert s.findings == {Finding.EPENDYMAL_CYST} and not s.severe and s.tier is vocab.Tier.MILD


@pytest.mark.parametrize("seed", range(40, 52))
def test_labels_follow_the_clinical_rules(seed):
    """The JSON labels obey the NCLS case rules, written out here (not re-derived through vocab)."""
    s = sample_subject(seed, severe_fraction=0.5)
    lab = json.loads(json.dumps(s.labels()))
    grade, found = IvhGrade(lab["ivh_grade"]), set(lab["findings"])
    kinds = {les["kind"] for les in lab["lesions"]}
    assert kinds == {k.value for k in s.lesion_kinds}
    assert (found == {Finding.NORMAL.value}) == (not kinds)
    assert kinds or grade is IvhGrade.NONE
    assert (grade is IvhGrade.IV) == (LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION.value in kinds)
    severe = grade >= IvhGrade.III or Finding.PVL.value in found or Finding.HYDROCEPHALUS.value in found
    assert lab["severe"] == int(severe)
    tier = vocab.Tier.SEVERE if severe else vocab.Tier.NORMAL if not kinds else vocab.Tier.MILD
    assert lab["tier"] == tier.value
    assert lab["binary"] == (vocab.Binary.NORMAL if tier is vocab.Tier.NORMAL else vocab.Binary.ABNORMAL).value
    assert lab["case_type"] in {c.value for c in CaseType}


def test_severe_fraction_controls_the_mix():
    sev = [sample_subject(seed, severe_fraction=1.0).case_type for seed in range(100, 106)]
    non = [sample_subject(seed, severe_fraction=0.0).case_type for seed in range(100, 106)]
    from neocus.phantom.subject import NON_SEVERE_CASE_TYPES, SEVERE_CASE_TYPES

    assert all(c in SEVERE_CASE_TYPES for c in sev)
    assert all(c in NON_SEVERE_CASE_TYPES for c in non)
    with pytest.raises(NeocusError, match=r"must lie in \[0, 1\], got 1.5"):
        sample_subject(0, severe_fraction=1.5)


def test_dilation_mask_covers_only_the_dilated_side():
    for seed in range(60, 80):
        s = subject(seed, "ventricular_dilation")
        vd = [lesion for lesion in s.lesions if lesion.kind is LesionKind.VENTRICULAR_DILATION]
        if vd and len(vd[0].sides) == 1:
            break
    else:
        pytest.skip("no unilateral dilation among the seeds")
    side = vd[0].sides[0]
    pts, _, m = lesion_points(s, LesionKind.VENTRICULAR_DILATION, step=0.8, margin=0.0)
    assert m.sum() > 50
    assert (np.sign(pts[m, 0]) == side).all()
    p97 = norms.ventricular_index(s.ga_weeks).p97
    vi_side = s.measurements.vi_left if side > 0 else s.measurements.vi_right
    vi_other = s.measurements.vi_right if side > 0 else s.measurements.vi_left
    assert vi_side > p97 >= vi_other
