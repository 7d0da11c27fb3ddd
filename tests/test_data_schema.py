"""Schema of the dataset format: vocabulary labels, the box convention, the label rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from neocus.data.schema import (
    SCHEMA_VERSION,
    SKIP_RULES,
    BoxAnnotation,
    CaseLabels,
    CaseMetadata,
    CaseRecord,
    DatasetRecord,
    FrameAnnotation,
    Provenance,
    ViewFrame,
    case_rule_problems,
    label_rule_problems,
)
from neocus.geometry.rotated import RotatedBox
from neocus.vocab import (
    Binary,
    Finding,
    IvhGrade,
    LesionKind,
    Plane,
    Structure,
    Tier,
    View,
    binary,
    case_findings,
    is_severe,
    three_tier,
)


def test_derive_follows_vocab_rules_for_every_grade_and_finding():
    for grade in IvhGrade:
        for extra in ([Finding.NORMAL], [Finding.PVL], [Finding.EPENDYMAL_CYST], [Finding.HYDROCEPHALUS]):
            findings = {View.AHV: extra, View.MSV: [Finding.NORMAL]}
            if grade >= IvhGrade.I:
                findings[View.TVV] = [Finding.IVH]
            labels = CaseLabels.derive(grade, findings)
            union = case_findings(findings.values())
            assert labels.severe == int(is_severe(grade, union))
            assert labels.tier is three_tier(grade, union)
            assert labels.binary is binary(grade, union)
            assert label_rule_problems(labels) == []


def test_derive_known_answers():
    # The paper's rules written out (not re-computed): severe = IVH III-IV, PVL or hydrocephalus.
    cases = [
        (IvhGrade.NONE, [Finding.NORMAL], 0, Tier.NORMAL, Binary.NORMAL),
        (IvhGrade.I, [Finding.IVH], 0, Tier.MILD, Binary.ABNORMAL),
        (IvhGrade.NONE, [Finding.EPENDYMAL_CYST], 0, Tier.MILD, Binary.ABNORMAL),
        (IvhGrade.III, [Finding.IVH], 1, Tier.SEVERE, Binary.ABNORMAL),
        (IvhGrade.NONE, [Finding.PVL], 1, Tier.SEVERE, Binary.ABNORMAL),
        (IvhGrade.II, [Finding.HYDROCEPHALUS, Finding.IVH], 1, Tier.SEVERE, Binary.ABNORMAL),
    ]
    for grade, findings, severe, tier, read_out in cases:
        labels = CaseLabels.derive(grade, {View.AHV: findings, View.MSV: [Finding.NORMAL]})
        assert (labels.severe, labels.tier, labels.binary) == (severe, tier, read_out), (grade, findings)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"severe": 0, "ivh_grade": IvhGrade.III}, "labels.severe"),
        ({"severe": 1, "ivh_grade": IvhGrade.I, "findings": {View.AHV: [Finding.IVH]}}, "labels.severe"),
        ({"severe": 0, "findings": {View.BV: [Finding.PVL]}}, "labels.severe"),
        ({"ivh_grade": IvhGrade.NONE, "findings": {View.TVV: [Finding.IVH]}}, "labels.ivh_grade"),
        ({"tier": Tier.NORMAL, "ivh_grade": IvhGrade.II, "findings": {View.TVV: [Finding.IVH]}}, "labels.tier"),
        ({"binary": Binary.NORMAL, "ivh_grade": IvhGrade.NONE, "findings": {View.TVV: [Finding.EPENDYMAL_CYST]}}, "labels.binary"),
        ({"tier": Tier.SEVERE, "severe": 0}, "labels.tier"),
        ({"tier": Tier.MILD, "binary": Binary.NORMAL}, "labels.binary"),
        ({"findings": {View.AHV: [Finding.NORMAL, Finding.IVH]}}, "labels.findings.AHV"),
    ],
)
def test_inconsistent_labels_are_rejected_and_reported_by_field(kwargs, field):
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        CaseLabels(**kwargs)
    parsed = CaseLabels.model_validate(
        {k: ({vk.value: [f.value for f in vv] for vk, vv in v.items()} if isinstance(v, dict) else v) for k, v in kwargs.items()},
        context={SKIP_RULES: True},
    )
    fields = [f for f, _ in label_rule_problems(parsed)]
    assert field in fields


def test_partial_labels_that_cannot_contradict_pass():
    CaseLabels(severe=1, ivh_grade=IvhGrade.II)  # severe through PVL, say, not yet annotated
    CaseLabels(severe=1, findings={View.TVV: [Finding.IVH, Finding.VENTRICULAR_DILATION]})
    CaseLabels(severe=0)
    CaseLabels(tier=Tier.MILD, severe=0, binary=Binary.ABNORMAL)


def test_labels_must_be_vocabulary_members():
    with pytest.raises(ValidationError):
        CaseLabels.model_validate({"findings": {"AHV": ["bleed"]}})
    with pytest.raises(ValidationError):
        CaseLabels.model_validate({"findings": {"COR1": [Finding.NORMAL.value]}})
    with pytest.raises(ValidationError):
        CaseLabels.model_validate({"ivh_grade": 5})
    with pytest.raises(ValidationError):
        BoxAnnotation.model_validate({"label": LesionKind.CYSTIC_PVL.value, "cx": 0, "cy": 0, "w": 2, "h": 1, "angle": 0})


def test_box_convention_matches_geometry_module():
    box = RotatedBox.from_any(10, 20, 4, 9, 30)  # normalised by the geometry module
    ann = BoxAnnotation(label=Structure.THALAMUS, cx=box.cx, cy=box.cy, w=box.w, h=box.h, angle=box.angle)
    assert RotatedBox(*ann.as_tuple()) == box
    with pytest.raises(ValidationError, match="long-edge"):
        BoxAnnotation(label=Structure.THALAMUS, cx=0, cy=0, w=4, h=9, angle=30)
    for angle in (90.0, -90.5, 120.0):
        with pytest.raises(ValidationError):
            BoxAnnotation(label=Structure.THALAMUS, cx=0, cy=0, w=9, h=4, angle=angle)
    BoxAnnotation(label=Structure.THALAMUS, cx=0, cy=0, w=9, h=4, angle=-90.0)


def test_case_ids_are_safe_and_metadata_has_no_free_fields():
    CaseRecord(case_id="sim-0001_a.b", sweeps={"coronal.mp4": Plane.CORONAL})
    for bad in ("../etc", "a/b", "", ".hidden", "name with space", "x" * 65):
        with pytest.raises(ValidationError):
            CaseRecord(case_id=bad, sweeps={})
    with pytest.raises(ValidationError):
        CaseMetadata.model_validate({"patient_name": "Doe^Jane"})
    with pytest.raises(ValidationError):
        CaseRecord(case_id="c1", sweeps={"../x.mp4": Plane.CORONAL})


def test_view_frames_must_name_a_sweep_of_the_views_plane():
    labels = CaseLabels(view_frames={View.MSV: ViewFrame(sweep="coronal.mp4", frame=2), View.AHV: ViewFrame(sweep="nope.mp4", frame=0)})
    with pytest.raises(ValidationError):
        CaseRecord(case_id="c1", sweeps={"coronal.mp4": Plane.CORONAL}, labels=labels)
    rec = CaseRecord.model_validate(
        {"case_id": "c1", "sweeps": {"coronal.mp4": "coronal"}, "labels": labels.model_dump(mode="json")}, context={SKIP_RULES: True}
    )
    fields = sorted(f for f, _ in case_rule_problems(rec))
    assert fields == ["labels.view_frames.AHV.sweep", "labels.view_frames.MSV.sweep"]


def test_schema_version_is_checked():
    rec = DatasetRecord(name="d", provenance=Provenance(generator="test"))
    assert rec.schema_version == SCHEMA_VERSION
    with pytest.raises(ValidationError, match="unsupported schema version"):
        DatasetRecord(name="d", provenance=Provenance(generator="test"), schema_version="neocus-dataset/0")


def test_frame_annotation_fields():
    ann = FrameAnnotation(frame=0, view=View.TVV, view_quality=0.5, mask="masks/coronal_0000.png")
    assert ann.boxes == [] and ann.lesions == []
    for bad in ({"frame": -1}, {"frame": 1, "view_quality": 1.5}, {"frame": 1, "mask": "../../x.png"}, {"frame": 1, "view": "COR1"}):
        with pytest.raises(ValidationError):
            FrameAnnotation.model_validate(bad)


def test_splits_that_contradict_themselves_are_rejected():
    from neocus.data.schema import Splits, split_rule_problems

    Splits(train=["a", "b", "c"], test=["d"], folds={0: ["a", "b"], 1: ["c"]})
    bad = {
        "splits.folds.1[0]": {"train": ["a", "b"], "folds": {0: ["a"], 1: ["a"]}},
        "splits.test[0]": {"train": ["a"], "test": ["a"]},
        "splits.train[1]": {"train": ["a", "a"]},
        "splits.folds.0[1]": {"train": ["a"], "test": ["d"], "folds": {0: ["a", "d"]}},
        "splits.folds": {"folds": {0: ["a"], 2: ["b"]}},
    }
    for field, kwargs in bad.items():
        with pytest.raises(ValidationError):
            Splits(**kwargs)
        parsed = Splits.model_validate(kwargs, context={SKIP_RULES: True})
        assert field in [f for f, _ in split_rule_problems(parsed)], field
