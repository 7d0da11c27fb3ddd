"""Anatomical part ids of the phantom (with side) and how they map to vocabulary structures.

A *part* is finer than a vocabulary :class:`~neocus.vocab.Structure`: it carries the side and the
segment of a ventricle (frontal horn, body, atrium, occipital and temporal horn). Ground truth maps
parts to structures per plane with :func:`part_structure` (a frontal horn is an ``ANTERIOR_HORN`` in a
coronal image but part of the ``LATERAL_VENTRICLE`` in a sagittal one) and to sides with
:data:`PART_SIDE`.
"""

from __future__ import annotations

from enum import IntEnum

from neocus.errors import NeocusError
from neocus.vocab import Plane, Side, Structure


class Part(IntEnum):
    """Anatomical part id (uint8) of a phantom point; 0 = none (outside the head)."""

    NONE = 0
    SCALP = 1
    SKULL = 2
    FONTANELLE = 3
    EXTRA_AXIAL_CSF = 4
    CORTEX_LEFT = 5
    CORTEX_RIGHT = 6
    WHITE_MATTER_LEFT = 7
    WHITE_MATTER_RIGHT = 8
    INTERHEMISPHERIC_FISSURE = 9
    SYLVIAN_FISSURE_LEFT = 10
    SYLVIAN_FISSURE_RIGHT = 11
    LV_FRONTAL_LEFT = 12
    LV_FRONTAL_RIGHT = 13
    LV_BODY_LEFT = 14
    LV_BODY_RIGHT = 15
    LV_ATRIUM_LEFT = 16
    LV_ATRIUM_RIGHT = 17
    LV_OCCIPITAL_LEFT = 18
    LV_OCCIPITAL_RIGHT = 19
    LV_TEMPORAL_LEFT = 20
    LV_TEMPORAL_RIGHT = 21
    CHOROID_PLEXUS_LEFT = 22
    CHOROID_PLEXUS_RIGHT = 23
    CAVUM_SEPTI_PELLUCIDI = 24
    CORPUS_CALLOSUM = 25
    THIRD_VENTRICLE = 26
    FORAMEN_OF_MONRO = 27
    AQUEDUCT = 28
    FOURTH_VENTRICLE = 29
    CAUDATE_LEFT = 30
    CAUDATE_RIGHT = 31
    THALAMUS_LEFT = 32
    THALAMUS_RIGHT = 33
    CAUDOTHALAMIC_GROOVE_LEFT = 34
    CAUDOTHALAMIC_GROOVE_RIGHT = 35
    CEREBELLAR_VERMIS = 36
    CEREBELLAR_HEMISPHERE_LEFT = 37
    CEREBELLAR_HEMISPHERE_RIGHT = 38
    BRAINSTEM = 39
    CISTERNA_MAGNA = 40
    TENTORIUM = 41
    CALLOSAL_RADIATION = 42  # the corpus callosum lateral to ~6 mm from the midline (over the ventricles)
    SKULL_BASE = 43  # bone plate and interior of the skull base (anatomy_skullbase)
    ORBIT_LEFT = 44  # bony orbit, orbital fat and globe
    ORBIT_RIGHT = 45
    PETROUS_LEFT = 46  # petrous part of the temporal bone (between middle and posterior fossa)
    PETROUS_RIGHT = 47


N_PARTS = len(Part)

_LEFT = {p for p in Part if p.name.endswith("_LEFT")}
_RIGHT = {p for p in Part if p.name.endswith("_RIGHT")}

#: Side of every part (midline for unpaired parts).
PART_SIDE: dict[Part, Side] = {
    p: (Side.LEFT if p in _LEFT else Side.RIGHT if p in _RIGHT else Side.MIDLINE) for p in Part
}


def paired(stem: str) -> tuple[Part, Part]:
    """The (left, right) parts of a paired part name stem, e.g. ``paired("LV_BODY")``."""
    return Part[f"{stem}_LEFT"], Part[f"{stem}_RIGHT"]


LV_FRONTAL = paired("LV_FRONTAL")
LV_BODY = paired("LV_BODY")
LV_ATRIUM = paired("LV_ATRIUM")
LV_OCCIPITAL = paired("LV_OCCIPITAL")
LV_TEMPORAL = paired("LV_TEMPORAL")

#: All lateral-ventricle lumen parts (choroid plexus excluded).
LATERAL_VENTRICLE_PARTS: frozenset[Part] = frozenset(LV_FRONTAL + LV_BODY + LV_ATRIUM + LV_OCCIPITAL + LV_TEMPORAL)
#: Every ventricular CSF part (lateral, third, fourth, foramina, aqueduct, and cavum septi pellucidi).
VENTRICLE_PARTS: frozenset[Part] = LATERAL_VENTRICLE_PARTS | {
    Part.THIRD_VENTRICLE,
    Part.FOURTH_VENTRICLE,
    Part.FORAMEN_OF_MONRO,
    Part.AQUEDUCT,
}

_COMMON: dict[Part, Structure] = {
    Part.CAVUM_SEPTI_PELLUCIDI: Structure.CAVUM_SEPTI_PELLUCIDI,
    Part.CORPUS_CALLOSUM: Structure.CORPUS_CALLOSUM,
    Part.THIRD_VENTRICLE: Structure.THIRD_VENTRICLE,
    Part.FOURTH_VENTRICLE: Structure.FOURTH_VENTRICLE,
    Part.CAUDATE_LEFT: Structure.CAUDATE_NUCLEUS,
    Part.CAUDATE_RIGHT: Structure.CAUDATE_NUCLEUS,
    Part.THALAMUS_LEFT: Structure.THALAMUS,
    Part.THALAMUS_RIGHT: Structure.THALAMUS,
    Part.CAUDOTHALAMIC_GROOVE_LEFT: Structure.CAUDOTHALAMIC_GROOVE,
    Part.CAUDOTHALAMIC_GROOVE_RIGHT: Structure.CAUDOTHALAMIC_GROOVE,
    Part.CHOROID_PLEXUS_LEFT: Structure.CHOROID_PLEXUS,
    Part.CHOROID_PLEXUS_RIGHT: Structure.CHOROID_PLEXUS,
    Part.SYLVIAN_FISSURE_LEFT: Structure.SYLVIAN_FISSURE,
    Part.SYLVIAN_FISSURE_RIGHT: Structure.SYLVIAN_FISSURE,
    Part.CEREBELLAR_VERMIS: Structure.CEREBELLAR_VERMIS,
    Part.CEREBELLAR_HEMISPHERE_LEFT: Structure.CEREBELLAR_HEMISPHERE,
    Part.CEREBELLAR_HEMISPHERE_RIGHT: Structure.CEREBELLAR_HEMISPHERE,
    Part.BRAINSTEM: Structure.BRAINSTEM,
    Part.CISTERNA_MAGNA: Structure.CISTERNA_MAGNA,
}

_CORONAL: dict[Part, Structure] = {
    **_COMMON,
    Part.CALLOSAL_RADIATION: Structure.CORPUS_CALLOSUM,
    Part.INTERHEMISPHERIC_FISSURE: Structure.INTERHEMISPHERIC_FISSURE,
    **{p: Structure.ANTERIOR_HORN for p in LV_FRONTAL},
    **{p: Structure.LATERAL_VENTRICLE_BODY for p in LV_BODY + LV_ATRIUM},
}

_SAGITTAL: dict[Part, Structure] = {
    **_COMMON,
    **{p: Structure.LATERAL_VENTRICLE for p in LATERAL_VENTRICLE_PARTS},
}

_BY_PLANE: dict[Plane, dict[Part, Structure]] = {Plane.CORONAL: _CORONAL, Plane.SAGITTAL: _SAGITTAL}


def part_structure(part: int, plane_kind: str) -> Structure | None:
    """The vocabulary structure that ``part`` shows as in a ``coronal`` or ``sagittal`` image.

    Coronal: frontal horn -> ``ANTERIOR_HORN``; body and atrium -> ``LATERAL_VENTRICLE_BODY``;
    occipital and temporal horns -> None (not a detection target in a coronal section).
    Sagittal: any lateral-ventricle part -> ``LATERAL_VENTRICLE``; the interhemispheric fissure is
    not a target (a sagittal plane lies along it), nor is the callosum's lateral part (a parasagittal
    plane cuts it as a flat sheet over the ventricle: only the midline callosum is a target).
    Parenchyma, skull etc. -> None.
    """
    try:
        table = _BY_PLANE[Plane(plane_kind)]
    except ValueError as exc:
        raise NeocusError(f"must be 'coronal' or 'sagittal', got {plane_kind!r}", where="plane_kind") from exc
    try:
        return table.get(Part(int(part)))
    except ValueError:
        return None


def part_side(part: int) -> Side:
    return PART_SIDE[Part(int(part))]
