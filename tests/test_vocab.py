import pytest

from neocus import vocab
from neocus.vocab import Finding, IvhGrade, LesionKind, Plane, Tier, View


def test_six_views_three_per_plane():
    assert len(View) == 6
    assert vocab.views_of_plane(Plane.CORONAL) == (View.AHV, View.TVV, View.BV)
    assert vocab.views_of_plane(Plane.SAGITTAL) == (View.RPSV, View.MSV, View.LPSV)
    assert set(vocab.VIEW_KEY_STRUCTURES) == set(View)


@pytest.mark.parametrize(
    ("grade", "findings", "severe", "tier", "binary"),
    [
        (0, {Finding.NORMAL}, False, Tier.NORMAL, vocab.Binary.NORMAL),
        (1, {Finding.IVH}, False, Tier.MILD, vocab.Binary.ABNORMAL),
        (2, {Finding.IVH}, False, Tier.MILD, vocab.Binary.ABNORMAL),
        (3, {Finding.IVH, Finding.VENTRICULAR_DILATION}, True, Tier.SEVERE, vocab.Binary.ABNORMAL),
        (4, {Finding.IVH}, True, Tier.SEVERE, vocab.Binary.ABNORMAL),
        (0, {Finding.PVL}, True, Tier.SEVERE, vocab.Binary.ABNORMAL),
        (0, {Finding.HYDROCEPHALUS}, True, Tier.SEVERE, vocab.Binary.ABNORMAL),
        (0, {Finding.EPENDYMAL_CYST}, False, Tier.MILD, vocab.Binary.ABNORMAL),
        (0, {Finding.VENTRICULAR_DILATION}, False, Tier.MILD, vocab.Binary.ABNORMAL),
    ],
)
def test_case_rules_follow_the_paper(grade, findings, severe, tier, binary):
    assert vocab.is_severe(grade, findings) is severe
    assert vocab.three_tier(grade, findings) is tier
    assert vocab.binary(grade, findings) is binary


def test_image_rule_needs_ivh_with_dilation():
    assert not vocab.image_findings_severe({Finding.IVH})
    assert not vocab.image_findings_severe({Finding.VENTRICULAR_DILATION})
    assert vocab.image_findings_severe({Finding.IVH, Finding.VENTRICULAR_DILATION})
    assert vocab.image_findings_severe(["pvl"])
    assert not vocab.image_is_abnormal({Finding.NORMAL})
    assert vocab.image_is_abnormal({Finding.EPENDYMAL_CYST})


def test_normal_cannot_combine():
    with pytest.raises(ValueError, match="normal"):
        vocab.check_findings({Finding.NORMAL, Finding.IVH})
    with pytest.raises(ValueError):
        vocab.check_findings({"not_a_finding"})


def test_case_findings_union():
    assert vocab.case_findings([{Finding.NORMAL}, {Finding.NORMAL}]) == {Finding.NORMAL}
    assert vocab.case_findings([{Finding.NORMAL}, {Finding.IVH}]) == {Finding.IVH}


def test_papile_from_lesions():
    assert vocab.lesion_ivh_grade([]) is IvhGrade.NONE
    assert vocab.lesion_ivh_grade([LesionKind.GERMINAL_MATRIX_HAEMORRHAGE]) is IvhGrade.I
    assert vocab.lesion_ivh_grade([LesionKind.INTRAVENTRICULAR_HAEMORRHAGE]) is IvhGrade.II
    assert (
        vocab.lesion_ivh_grade([LesionKind.INTRAVENTRICULAR_HAEMORRHAGE, LesionKind.VENTRICULAR_DILATION])
        is IvhGrade.III
    )
    assert vocab.lesion_ivh_grade([LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION]) is IvhGrade.IV
    assert set(vocab.LESION_FINDING) == set(LesionKind)
