"""A tiny analytic head for the renderer's tests (a few ellipsoids; not the phantom's anatomy).

Implements :class:`neocus.phantom.types.HeadModel`: an ellipsoidal head (scalp over a skull shell
with an anterior fontanelle gap on top), brain of white matter, two lateral ventricles of CSF with a
choroid plexus, and optional extras (a bone plate, a homogeneous slab) that tests switch on.
"""

from __future__ import annotations

import numpy as np

from neocus.phantom.tissues import ECHO, Tissue
from neocus.phantom.types import ImagePlane, TissueSample
from neocus.vocab import Structure

CENTRE = np.array([0.0, 0.0, -10.0])
SEMI = np.array([45.0, 55.0, 50.0])  # outer scalp surface
TOP_Z = CENTRE[2] + SEMI[2]  # z of the scalp at the vertex (x = y = 0)
PART_VENTRICLE_R, PART_VENTRICLE_L, PART_CHOROID = 1, 2, 3


def _ell(p: np.ndarray, c, s) -> np.ndarray:
    q = (p - np.asarray(c, float)) / np.asarray(s, float)
    return np.einsum("ij,ij->i", q, q)


class ToyHead:
    """``homogeneous=True``: only scalp-free white matter everywhere (for depth / speckle statistics)."""

    def __init__(self, *, homogeneous: bool = False, fontanelle_mm: float = 24.0, bone_plate: bool = False):
        self.homogeneous = homogeneous
        self.fontanelle_mm = fontanelle_mm
        self.bone_plate = bone_plate

    def sample(self, points: np.ndarray) -> TissueSample:
        p = np.asarray(points, float)
        n = len(p)
        tissue = np.full(n, Tissue.BACKGROUND, np.uint8)
        part = np.zeros(n, np.uint8)
        if self.homogeneous:
            tissue[p[:, 2] <= TOP_Z] = Tissue.WHITE_MATTER
        else:
            r = _ell(p, CENTRE, SEMI)
            tissue[r <= 1.0] = Tissue.SCALP
            skull = r <= _ell(np.array([[0, 0, TOP_Z - 3.0]]), CENTRE, SEMI)[0]
            tissue[skull] = Tissue.SKULL
            fontanelle = skull & (np.abs(p[:, 0]) < self.fontanelle_mm / 2) & (np.abs(p[:, 1]) < self.fontanelle_mm / 2) & (p[:, 2] > TOP_Z - 8)
            tissue[fontanelle] = Tissue.FONTANELLE
            brain = r <= _ell(np.array([[0, 0, TOP_Z - 5.0]]), CENTRE, SEMI)[0]
            tissue[brain] = Tissue.WHITE_MATTER
            for sign, pid in ((-1, PART_VENTRICLE_R), (1, PART_VENTRICLE_L)):
                v = _ell(p, [sign * 12.0, 0.0, 5.0], [5.0, 25.0, 8.0]) <= 1.0
                tissue[v] = Tissue.CSF
                part[v] = pid
                cp = _ell(p, [sign * 12.0, -5.0, 1.0], [3.0, 8.0, 3.0]) <= 1.0
                tissue[cp] = Tissue.CHOROID_PLEXUS
                part[cp] = PART_CHOROID
        if self.bone_plate:  # a 2 mm bone plate under the +x half at depth 20 mm below the vertex
            plate = (p[:, 0] > 5.0) & (np.abs(p[:, 2] - (TOP_Z - 20.0)) < 1.0)
            tissue[plate] = Tissue.SKULL
        echo = ECHO[tissue].astype(np.float32)
        return TissueSample(tissue=tissue, echo=echo, part=part, lesion=np.zeros(n, np.uint8))

    def part_structure(self, part: int, plane_kind: str) -> Structure | None:
        if part in (PART_VENTRICLE_R, PART_VENTRICLE_L):
            return Structure.LATERAL_VENTRICLE_BODY
        if part == PART_CHOROID:
            return Structure.CHOROID_PLEXUS
        return None


def coronal_plane(y: float = 0.0) -> ImagePlane:
    """Coronal plane through ``y`` with the probe on the vertex (image +x = head +x, depth = -z)."""
    return ImagePlane(apex=np.array([0.0, y, TOP_Z]), lateral=np.array([1.0, 0.0, 0.0]), axial=np.array([0.0, 0.0, -1.0]))
