"""The fetal head phantom: anatomy per plane, sizes from the norms, conditions beyond their thresholds,
masks that give back the true sizes, determinism, the dataset and the bad inputs."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from neocus.cli import main
from neocus.errors import DatasetError, NeocusError
from neocus.fetal.measure import read_fetal_image
from neocus.fetal.norms import FetalMeasure, value_at_centile
from neocus.fetal.phantom_anatomy import INTRACRANIAL, LABEL_IDS, atria
from neocus.fetal.phantom_dataset import read_fetal_dataset, simulate_case, write_fetal_dataset
from neocus.fetal.phantom_masks import measure_labels, structure_masks
from neocus.fetal.phantom_params import (
    HYPOPLASIA_Z,
    TCD_GA_CAP_WEEKS,
    sample_head_params,
    semi_major_for_perimeter,
    tcd_norm_mm,
)
from neocus.fetal.ellipse import ramanujan_perimeter
from neocus.fetal.phantom_render import simulate_fetal_image
from neocus.vocab import FetalCondition as C
from neocus.vocab import FetalPlane as P
from neocus.vocab import FetalStructure as S

SIZE_HW = (240, 320)
EXPECTED = {
    P.TRANS_THALAMIC: {S.SKULL, S.BRAIN, S.MIDLINE, S.CAVUM_SEPTI_PELLUCIDI, S.THALAMUS},
    P.TRANS_VENTRICULAR: {S.SKULL, S.BRAIN, S.MIDLINE, S.CAVUM_SEPTI_PELLUCIDI, S.VENTRICLE, S.CHOROID_PLEXUS},
    P.TRANS_CEREBELLAR: {S.SKULL, S.BRAIN, S.CAVUM_SEPTI_PELLUCIDI, S.THALAMUS, S.CEREBELLAR_HEMISPHERE, S.VERMIS, S.CISTERNA_MAGNA},
    P.OTHER: {S.SKULL, S.BRAIN, S.MIDLINE},
}
ABSENT = {
    P.TRANS_THALAMIC: {S.CEREBELLAR_HEMISPHERE, S.VERMIS, S.CISTERNA_MAGNA, S.CHOROID_PLEXUS},
    P.TRANS_VENTRICULAR: {S.THALAMUS, S.CEREBELLAR_HEMISPHERE, S.VERMIS, S.CISTERNA_MAGNA},
    P.TRANS_CEREBELLAR: {S.CHOROID_PLEXUS},
    P.OTHER: {S.CAVUM_SEPTI_PELLUCIDI, S.THALAMUS, S.CEREBELLAR_HEMISPHERE, S.VERMIS, S.CISTERNA_MAGNA},
}


def _present(labels: np.ndarray) -> set[S]:
    ids = set(np.unique(labels).tolist())
    return {s for s, i in LABEL_IDS.items() if i in ids}


@pytest.mark.parametrize("plane", list(P))
@pytest.mark.parametrize("ga", [19.0, 37.0])
def test_plane_shows_its_structures_inside_the_skull(plane, ga):
    img = simulate_fetal_image(ga, plane=plane, condition=C.NORMAL, out_size_hw=SIZE_HW, rng=np.random.default_rng(int(ga)))
    present = _present(img.labels)
    assert EXPECTED[plane] <= present, EXPECTED[plane] - present
    assert not (ABSENT[plane] & present)
    skull = (img.labels == LABEL_IDS[S.SKULL]).astype(np.uint8)
    filled = np.zeros_like(skull)
    contours, _ = cv2.findContours(skull, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    intracranial = np.isin(img.labels, [LABEL_IDS[s] for s in INTRACRANIAL])
    assert intracranial.sum() > 500
    assert not (intracranial & (filled == 0)).any(), "an intracranial label lies outside the skull"
    assert img.region[img.labels == LABEL_IDS[S.SKULL]].all(), "the head must lie inside the sector"
    # the image: skull brighter than brain, fluid darkest
    grey = img.image
    assert grey[img.labels == LABEL_IDS[S.SKULL]].mean() > grey[img.labels == LABEL_IDS[S.BRAIN]].mean()


@pytest.mark.parametrize("ga", np.linspace(18, 40, 12).tolist())
def test_sizes_follow_the_norms_and_conditions_cross_their_thresholds(ga):
    rng = np.random.default_rng(int(ga * 10))
    for _ in range(10):
        normal = sample_head_params(ga, plane=P.TRANS_THALAMIC, condition=C.NORMAL, rng=rng)
        lo, hi = (value_at_centile(q, measure=FetalMeasure.HC, ga_weeks=ga) for q in (1, 99))
        assert lo <= normal.hc_mm <= hi
        assert normal.plane_hc_mm == pytest.approx(normal.hc_mm, rel=1e-6)  # the trans-thalamic skull is the HC
        assert tcd_norm_mm(5, ga_weeks=ga) < normal.tcd_mm < tcd_norm_mm(99, ga_weeks=ga)
        assert normal.atrium_mm < 10.0 and normal.cisterna_magna_mm <= 10.0
        assert 0.70 <= normal.semi_minor_mm / normal.semi_major_mm <= 0.90 + 1e-9
        hyp = sample_head_params(ga, plane=P.TRANS_CEREBELLAR, condition=C.CEREBELLAR_HYPOPLASIA, rng=rng)
        assert hyp.tcd_mm < tcd_norm_mm(5, ga_weeks=ga) and hyp.tcd_z < HYPOPLASIA_Z
        assert hyp.cisterna_magna_mm <= 10.0
        assert sample_head_params(ga, plane=P.TRANS_CEREBELLAR, condition=C.MEGA_CISTERNA_MAGNA, rng=rng).cisterna_magna_mm > 10.0
        assert sample_head_params(ga, plane=P.TRANS_VENTRICULAR, condition=C.VENTRICULOMEGALY, rng=rng).atrium_mm >= 10.0


def test_hypoplasia_kinds_and_tcd_cap():
    rng = np.random.default_rng(0)
    kinds = {sample_head_params(30, plane=P.TRANS_CEREBELLAR, condition=C.CEREBELLAR_HYPOPLASIA, rng=rng).hypoplasia_kind for _ in range(30)}
    assert kinds == {"hemispheric", "vermian"}
    assert tcd_norm_mm(50, ga_weeks=40) == pytest.approx(value_at_centile(50, measure=FetalMeasure.TCD, ga_weeks=TCD_GA_CAP_WEEKS))
    assert tcd_norm_mm(50, ga_weeks=30) == pytest.approx(value_at_centile(50, measure=FetalMeasure.TCD, ga_weeks=30))


def test_semi_major_for_perimeter_inverts_ramanujan():
    for b, hc in ((20.0, 150.0), (45.0, 330.0)):
        a = semi_major_for_perimeter(hc, b)
        assert a >= b and ramanujan_perimeter(a, b) == pytest.approx(hc, abs=1e-6)


@pytest.mark.parametrize(("plane", "condition", "seed"), [
    (P.TRANS_CEREBELLAR, C.NORMAL, 1), (P.TRANS_CEREBELLAR, C.CEREBELLAR_HYPOPLASIA, 2), (P.TRANS_CEREBELLAR, C.MEGA_CISTERNA_MAGNA, 3),
    (P.TRANS_VENTRICULAR, C.VENTRICULOMEGALY, 4), (P.TRANS_VENTRICULAR, C.NORMAL, 5),
])
def test_masks_give_back_the_true_sizes(plane, condition, seed):
    img = simulate_fetal_image(20.0 + 3 * seed, plane=plane, condition=condition, out_size_hw=(432, 576), rng=np.random.default_rng(seed))
    px = img.pixel_mm
    a = atria(img.params)[0]
    m = measure_labels(img.labels, grid=img.grid, pose=img.pose, atrium_centre_uv=a[:2] if plane is P.TRANS_VENTRICULAR else None, atrium_angle=a[2])
    t = img.truth
    assert m.hc_mm == pytest.approx(t.hc_mm, abs=2 * math.pi * px)  # within a pixel of radius
    if plane is P.TRANS_CEREBELLAR:
        assert m.tcd_mm == pytest.approx(t.tcd_mm, abs=1.5 * px)
        assert m.cisterna_magna_mm == pytest.approx(t.cisterna_magna_mm, abs=1.5 * px)
        masks = structure_masks(img.labels)
        assert masks["cerebellum"].any() and masks["cistern"].any()
        assert not (masks["cerebellum"] & masks["cistern"]).any()
        assert not (masks["brain"] & masks["skull"]).any()
    else:
        assert m.tcd_mm is None and m.cisterna_magna_mm is None
        assert m.atrium_mm == pytest.approx(t.atrium_mm, abs=1.5 * px)


def test_dataset_is_deterministic_and_readable(tmp_path):
    kw = {"n_cases": 3, "seed": 11, "out_size_hw": (120, 160)}
    a, b, c = (write_fetal_dataset(tmp_path / n, **kw if n != "c" else {**kw, "seed": 12}) for n in "abc")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len(files_a) == 1 + 3 * 3
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "cases/fetal-00000/image.png").read_bytes() != (c / "cases/fetal-00000/image.png").read_bytes()
    cases = read_fetal_dataset(a)
    assert [x.case_id for x in cases] == ["fetal-00000", "fetal-00001", "fetal-00002"]
    rec = cases[0].record
    spec, img = simulate_case(11, 0, out_size_hw=(120, 160))
    assert rec["plane"] == spec.plane and rec["truth"]["tcd_mm"] == pytest.approx(img.truth.tcd_mm, abs=1e-5)
    frame = read_fetal_image(cases[0].image_path)
    assert frame.pixel_mm == pytest.approx(rec["pixel_mm"], rel=1e-3)  # pHYs in metres, as fetal measure reads it
    labels = cv2.imread(str(cases[0].labels_path), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(labels, img.labels)
    meta = json.loads((a / "dataset.json").read_text())
    assert meta["labels"]["cisterna_magna"] == LABEL_IDS[S.CISTERNA_MAGNA] and meta["provenance"]["seed"] == 11


def test_bad_inputs(tmp_path):
    rng = np.random.default_rng(0)
    for ga in (17.9, 40.5, float("nan"), "x"):
        with pytest.raises(NeocusError, match="gestational age"):
            sample_head_params(ga, plane=P.TRANS_THALAMIC, condition=C.NORMAL, rng=rng)
    with pytest.raises(NeocusError, match="plane"):
        sample_head_params(30, plane="sagittal", condition=C.NORMAL, rng=rng)
    with pytest.raises(NeocusError, match="condition"):
        sample_head_params(30, plane=P.OTHER, condition="hydrops", rng=rng)
    for kw in ({"n_cases": 0, "seed": 0}, {"n_cases": 2, "seed": -1}, {"n_cases": 2, "seed": 0, "out_size_hw": (10, 10)}):
        with pytest.raises(NeocusError):
            write_fetal_dataset(tmp_path / "x", **kw)
    with pytest.raises(DatasetError, match="dataset.json"):
        read_fetal_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text('{"schema_version": "neocus-dataset/1"}')
    with pytest.raises(DatasetError, match="schema_version"):
        read_fetal_dataset(tmp_path)


def test_cli_simulate(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["fetal", "simulate", "--cases", "2", "--out", str(out), "--seed", "5", "--size", "96x128"]) == 0
    assert len(read_fetal_dataset(out)) == 2
    assert main(["fetal", "simulate", "--cases", "2", "--out", str(out)]) != 0  # exists, no --force
    assert main(["fetal", "simulate", "--cases", "0", "--out", str(tmp_path / "b")]) != 0
    assert main(["fetal", "simulate", "--cases", "2", "--size", "big", "--out", str(tmp_path / "c")]) != 0
    err = capsys.readouterr().err
    assert "--cases" in err and "--size" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
