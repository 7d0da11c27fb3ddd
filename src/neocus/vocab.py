"""The one vocabulary of neocus.

Every name that two stages share lives here: anatomical structures, scan planes, the six standard
views, image findings, lesion kinds, IVH (Papile) grades, and the rules that turn findings into case
labels. Other modules import these names; no other module spells a label as a string literal.

The clinical rules follow Lin et al., Nat Commun 16:7778 (2025):

* severe (label 1): IVH grade III-IV, PVL, or hydrocephalus;
* non-severe (label 0): normal, IVH grade I-II, ependymal cyst, mild ventricular dilation;
* an *image* shows severe findings when it shows PVL, hydrocephalus, or IVH together with
  ventricular dilation (the multi-label head's rule in the paper's ensemble).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum


class Plane(StrEnum):
    """Scan plane of a sweep through the anterior fontanelle."""

    CORONAL = "coronal"
    SAGITTAL = "sagittal"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    MIDLINE = "midline"


class View(StrEnum):
    """The six standard views of neonatal cranial ultrasound (anterior fontanelle)."""

    AHV = "AHV"  # coronal, anterior horns of the lateral ventricles
    TVV = "TVV"  # coronal, third ventricle / foramina of Monro
    BV = "BV"  # coronal, bodies of the lateral ventricles / choroid plexus (trigone)
    MSV = "MSV"  # sagittal, midline
    RPSV = "RPSV"  # sagittal, right parasagittal through the lateral ventricle
    LPSV = "LPSV"  # sagittal, left parasagittal through the lateral ventricle


VIEW_PLANE: dict[View, Plane] = {
    View.AHV: Plane.CORONAL,
    View.TVV: Plane.CORONAL,
    View.BV: Plane.CORONAL,
    View.MSV: Plane.SAGITTAL,
    View.RPSV: Plane.SAGITTAL,
    View.LPSV: Plane.SAGITTAL,
}

VIEW_DESCRIPTION: dict[View, str] = {
    View.AHV: "coronal view through the anterior horns of the lateral ventricles",
    View.TVV: "coronal view through the third ventricle and foramina of Monro",
    View.BV: "coronal view through the bodies of the lateral ventricles and the choroid plexus",
    View.MSV: "midsagittal view (corpus callosum, cavum septi pellucidi, third and fourth ventricles, vermis)",
    View.RPSV: "right parasagittal view through the lateral ventricle and caudothalamic groove",
    View.LPSV: "left parasagittal view through the lateral ventricle and caudothalamic groove",
}

VIEW_SIDE: dict[View, Side] = {
    View.AHV: Side.MIDLINE,
    View.TVV: Side.MIDLINE,
    View.BV: Side.MIDLINE,
    View.MSV: Side.MIDLINE,
    View.RPSV: Side.RIGHT,
    View.LPSV: Side.LEFT,
}


def views_of_plane(plane: Plane) -> tuple[View, ...]:
    """The standard views of one plane, in anatomical sweep order (anterior->posterior, right->left)."""
    return tuple(v for v in VIEWS_IN_SWEEP_ORDER if VIEW_PLANE[v] is Plane(plane))


# Order in which a sweep meets the views: coronal anterior -> posterior, sagittal right -> left.
VIEWS_IN_SWEEP_ORDER: tuple[View, ...] = (View.AHV, View.TVV, View.BV, View.RPSV, View.MSV, View.LPSV)


class Structure(StrEnum):
    """Anatomical structures that the detector finds (one class each; left and right share a class)."""

    INTERHEMISPHERIC_FISSURE = "interhemispheric_fissure"
    ANTERIOR_HORN = "anterior_horn"  # frontal horn of a lateral ventricle (coronal section)
    LATERAL_VENTRICLE_BODY = "lateral_ventricle_body"  # body / atrium of a lateral ventricle (coronal section)
    LATERAL_VENTRICLE = "lateral_ventricle"  # whole lateral ventricle in a parasagittal section
    CAVUM_SEPTI_PELLUCIDI = "cavum_septi_pellucidi"
    CORPUS_CALLOSUM = "corpus_callosum"
    CAUDATE_NUCLEUS = "caudate_nucleus"
    THALAMUS = "thalamus"
    CAUDOTHALAMIC_GROOVE = "caudothalamic_groove"
    CHOROID_PLEXUS = "choroid_plexus"
    THIRD_VENTRICLE = "third_ventricle"
    FOURTH_VENTRICLE = "fourth_ventricle"
    SYLVIAN_FISSURE = "sylvian_fissure"
    CEREBELLAR_VERMIS = "cerebellar_vermis"
    CEREBELLAR_HEMISPHERE = "cerebellar_hemisphere"
    BRAINSTEM = "brainstem"
    CISTERNA_MAGNA = "cisterna_magna"


# Structures whose presence defines each standard view (what a view-quality score looks for).
VIEW_KEY_STRUCTURES: dict[View, tuple[Structure, ...]] = {
    View.AHV: (
        Structure.INTERHEMISPHERIC_FISSURE,
        Structure.ANTERIOR_HORN,
        Structure.CAVUM_SEPTI_PELLUCIDI,
        Structure.CORPUS_CALLOSUM,
        Structure.CAUDATE_NUCLEUS,
        Structure.SYLVIAN_FISSURE,
    ),
    View.TVV: (
        Structure.INTERHEMISPHERIC_FISSURE,
        Structure.ANTERIOR_HORN,
        Structure.THIRD_VENTRICLE,
        Structure.THALAMUS,
        Structure.SYLVIAN_FISSURE,
    ),
    View.BV: (
        Structure.INTERHEMISPHERIC_FISSURE,
        Structure.LATERAL_VENTRICLE_BODY,
        Structure.CHOROID_PLEXUS,
    ),
    View.MSV: (
        Structure.CORPUS_CALLOSUM,
        Structure.CAVUM_SEPTI_PELLUCIDI,
        Structure.THIRD_VENTRICLE,
        Structure.FOURTH_VENTRICLE,
        Structure.CEREBELLAR_VERMIS,
        Structure.BRAINSTEM,
    ),
    View.RPSV: (
        Structure.LATERAL_VENTRICLE,
        Structure.CAUDATE_NUCLEUS,
        Structure.THALAMUS,
        Structure.CAUDOTHALAMIC_GROOVE,
        Structure.CHOROID_PLEXUS,
    ),
    View.LPSV: (
        Structure.LATERAL_VENTRICLE,
        Structure.CAUDATE_NUCLEUS,
        Structure.THALAMUS,
        Structure.CAUDOTHALAMIC_GROOVE,
        Structure.CHOROID_PLEXUS,
    ),
}


class Finding(StrEnum):
    """Image-level findings (multi-label; ``normal`` excludes the others)."""

    NORMAL = "normal"
    IVH = "ivh"
    EPENDYMAL_CYST = "ependymal_cyst"
    VENTRICULAR_DILATION = "ventricular_dilation"
    HYDROCEPHALUS = "hydrocephalus"
    PVL = "pvl"


ABNORMAL_FINDINGS: tuple[Finding, ...] = tuple(f for f in Finding if f is not Finding.NORMAL)


class LesionKind(StrEnum):
    """Lesions that the phantom models and that masks are labelled with."""

    GERMINAL_MATRIX_HAEMORRHAGE = "germinal_matrix_haemorrhage"  # Papile I
    INTRAVENTRICULAR_HAEMORRHAGE = "intraventricular_haemorrhage"  # Papile II / III (III with dilation)
    PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION = "periventricular_haemorrhagic_infarction"  # Papile IV
    PVL_FLARE = "pvl_flare"  # early periventricular echogenicity, before cysts form
    CYSTIC_PVL = "cystic_pvl"
    VENTRICULAR_DILATION = "ventricular_dilation"
    HYDROCEPHALUS = "hydrocephalus"
    EPENDYMAL_CYST = "ependymal_cyst"  # subependymal / ependymal cyst


# The image finding each lesion kind shows as, when it is visible in an image.
LESION_FINDING: dict[LesionKind, Finding] = {
    LesionKind.GERMINAL_MATRIX_HAEMORRHAGE: Finding.IVH,
    LesionKind.INTRAVENTRICULAR_HAEMORRHAGE: Finding.IVH,
    LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION: Finding.IVH,
    LesionKind.PVL_FLARE: Finding.PVL,
    LesionKind.CYSTIC_PVL: Finding.PVL,
    LesionKind.VENTRICULAR_DILATION: Finding.VENTRICULAR_DILATION,
    LesionKind.HYDROCEPHALUS: Finding.HYDROCEPHALUS,
    LesionKind.EPENDYMAL_CYST: Finding.EPENDYMAL_CYST,
}


class IvhGrade(IntEnum):
    """Papile grade of germinal matrix / intraventricular haemorrhage (0 = none)."""

    NONE = 0
    I = 1  # noqa: E741  germinal matrix haemorrhage only
    II = 2  # IVH without ventricular dilation
    III = 3  # IVH with ventricular dilation
    IV = 4  # periventricular haemorrhagic infarction


class Tier(StrEnum):
    """Three-tier read-out."""

    NORMAL = "normal"
    MILD = "mild"
    SEVERE = "severe"


class Binary(StrEnum):
    """Binary read-out (normal vs abnormal)."""

    NORMAL = "normal"
    ABNORMAL = "abnormal"


class Decision(StrEnum):
    """What a screening run concludes for one case."""

    SEVERE = "severe"
    NON_SEVERE = "non_severe"
    UNSUITABLE = "unsuitable"  # too few usable standard views to decide


# How a decision reads in reports and pictures.
DECISION_TEXT: dict[Decision, str] = {
    Decision.SEVERE: "severe",
    Decision.NON_SEVERE: "non-severe",
    Decision.UNSUITABLE: "unsuitable",
}


def _as_findings(findings: Iterable[Finding | str]) -> frozenset[Finding]:
    return frozenset(Finding(f) for f in findings)


def check_findings(findings: Iterable[Finding | str]) -> frozenset[Finding]:
    """Validate one image's (or case's) finding set: ``normal`` cannot stand beside an abnormal finding."""
    found = _as_findings(findings)
    if Finding.NORMAL in found and len(found) > 1:
        others = ", ".join(sorted(f.value for f in found - {Finding.NORMAL}))
        raise ValueError(f"'normal' cannot be combined with other findings ({others})")
    return found


def image_findings_severe(findings: Iterable[Finding | str]) -> bool:
    """The multi-label rule: an image is severe if it shows PVL, hydrocephalus, or IVH with dilation."""
    found = check_findings(findings)
    return (
        Finding.PVL in found
        or Finding.HYDROCEPHALUS in found
        or (Finding.IVH in found and Finding.VENTRICULAR_DILATION in found)
    )


def image_is_abnormal(findings: Iterable[Finding | str]) -> bool:
    """An image counts as abnormal when its findings are not exclusively ``normal``."""
    found = check_findings(findings)
    return bool(found - {Finding.NORMAL})


def is_severe(ivh_grade: int | IvhGrade, findings: Iterable[Finding | str]) -> bool:
    """Case label: severe when IVH grade III-IV, PVL or hydrocephalus."""
    found = check_findings(findings)
    grade = IvhGrade(int(ivh_grade))
    return grade >= IvhGrade.III or Finding.PVL in found or Finding.HYDROCEPHALUS in found


def three_tier(ivh_grade: int | IvhGrade, findings: Iterable[Finding | str]) -> Tier:
    """Normal / mild / severe read-out of a case."""
    found = check_findings(findings)
    if is_severe(ivh_grade, found):
        return Tier.SEVERE
    if IvhGrade(int(ivh_grade)) > IvhGrade.NONE or found - {Finding.NORMAL}:
        return Tier.MILD
    return Tier.NORMAL


def binary(ivh_grade: int | IvhGrade, findings: Iterable[Finding | str]) -> Binary:
    """Normal / abnormal read-out of a case."""
    tier = three_tier(ivh_grade, findings)
    return Binary.NORMAL if tier is Tier.NORMAL else Binary.ABNORMAL


def case_findings(per_image: Iterable[Iterable[Finding | str]]) -> frozenset[Finding]:
    """Union of image findings over a case's images (``normal`` only when no image is abnormal)."""
    union: set[Finding] = set()
    for findings in per_image:
        union |= check_findings(findings)
    abnormal = union - {Finding.NORMAL}
    return frozenset(abnormal) if abnormal else frozenset({Finding.NORMAL})


def lesion_ivh_grade(kinds: Iterable[LesionKind | str]) -> IvhGrade:
    """Papile grade implied by a set of lesion kinds.

    Grade III needs intraventricular blood together with ventricular dilation (or hydrocephalus);
    grade IV is periventricular haemorrhagic infarction whatever else is present.
    """
    present = frozenset(LesionKind(k) for k in kinds)
    if LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION in present:
        return IvhGrade.IV
    if LesionKind.INTRAVENTRICULAR_HAEMORRHAGE in present:
        dilated = LesionKind.VENTRICULAR_DILATION in present or LesionKind.HYDROCEPHALUS in present
        return IvhGrade.III if dilated else IvhGrade.II
    if LesionKind.GERMINAL_MATRIX_HAEMORRHAGE in present:
        return IvhGrade.I
    return IvhGrade.NONE


# Minimum number of standard views for a case to be diagnosable (the paper excluded a blind-sweep
# case with three views; cases with four to six were read).
MIN_VIEWS_FOR_DECISION = 4


# --- fetal head (issue #16) ---------------------------------------------------------------------


class FetalPlane(StrEnum):
    """Axial planes of the fetal head (ISUOG basic examination) and anything else."""

    TRANS_THALAMIC = "trans_thalamic"
    TRANS_VENTRICULAR = "trans_ventricular"
    TRANS_CEREBELLAR = "trans_cerebellar"
    OTHER = "other"


# The brain planes as FETAL_PLANES_DB (Burgos-Artizzu et al., Sci Rep 2020) spells them in its metadata
# (the fetal-brain data's ``brain_plane_fpdb`` column).
FPDB_BRAIN_PLANE: dict[str, FetalPlane] = {
    "Trans-thalamic": FetalPlane.TRANS_THALAMIC,
    "Trans-ventricular": FetalPlane.TRANS_VENTRICULAR,
    "Trans-cerebellum": FetalPlane.TRANS_CEREBELLAR,
    "Other": FetalPlane.OTHER,
}


class FetalCondition(StrEnum):
    """What a fetal head phantom case shows (one per case)."""

    NORMAL = "normal"
    CEREBELLAR_HYPOPLASIA = "cerebellar_hypoplasia"
    MEGA_CISTERNA_MAGNA = "mega_cisterna_magna"
    VENTRICULOMEGALY = "ventriculomegaly"


class FetalStructure(StrEnum):
    """Labels of the fetal head phantom's label map (one id each, 0 = outside the image)."""

    MATERNAL = "maternal"  # abdominal wall, uterus, placenta
    AMNIOTIC_FLUID = "amniotic_fluid"
    FETAL_BODY = "fetal_body"  # limbs and trunk near the head
    SCALP = "scalp"
    SKULL = "skull"
    BRAIN = "brain"  # intracranial tissue not labelled otherwise
    MIDLINE = "midline"  # falx / interhemispheric fissure
    CAVUM_SEPTI_PELLUCIDI = "cavum_septi_pellucidi"
    THALAMUS = "thalamus"
    VENTRICLE = "ventricle"  # CSF of the lateral ventricles (frontal horns, atria)
    CHOROID_PLEXUS = "choroid_plexus"
    CEREBELLAR_HEMISPHERE = "cerebellar_hemisphere"
    VERMIS = "vermis"
    CISTERNA_MAGNA = "cisterna_magna"
    BRAINSTEM = "brainstem"
    SKULL_BASE = "skull_base"  # orbital roofs, sphenoid and petrous ridges (low "other" planes)


class HypoplasiaKind(StrEnum):
    """Which part of the cerebellum is small in cerebellar hypoplasia."""

    HEMISPHERIC = "hemispheric"
    VERMIAN = "vermian"
