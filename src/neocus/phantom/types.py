"""The contract between the phantom's parts: anatomy (a head model), rendering, sweeps and ground truth.

Head coordinates, in millimetres: origin at the midpoint between the foramina of Monro,
+x toward the patient's LEFT, +y ANTERIOR, +z SUPERIOR. The anterior fontanelle lies on the top of
the head, slightly anterior of the origin.

Image conventions (the radiological display conventions of cranial ultrasound):
* coronal images show the patient's right on the screen's left: image +x = head +x (toward left);
* sagittal images show anterior on the screen's left: image +x = head -y (toward posterior);
* depth runs down the screen: image +y is the beam direction away from the probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from neocus.vocab import LesionKind, Structure


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(v))
    if n == 0:
        raise ValueError("zero vector")
    return v / n


@dataclass(frozen=True)
class ImagePlane:
    """An imaging plane in head coordinates.

    ``apex`` is the probe's contact point (the sector's virtual apex for a sector probe, the centre of
    the footprint for a linear probe); ``lateral`` is the image +x direction and ``axial`` the image +y
    (depth) direction, both unit vectors and orthogonal. Point ``(x_mm, d_mm)`` of the plane is
    ``apex + x_mm * lateral + d_mm * axial``.
    """

    apex: np.ndarray
    lateral: np.ndarray
    axial: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "apex", np.asarray(self.apex, dtype=np.float64).reshape(3))
        lat = _unit(self.lateral)
        ax = _unit(self.axial)
        ax = _unit(ax - lat * float(lat @ ax))  # re-orthogonalise against round-off
        object.__setattr__(self, "lateral", lat)
        object.__setattr__(self, "axial", ax)

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.lateral, self.axial)

    def points(self, x_mm: np.ndarray, d_mm: np.ndarray) -> np.ndarray:
        """Head coordinates ``[..., 3]`` of in-plane coordinates (broadcast together)."""
        x = np.asarray(x_mm, dtype=np.float64)[..., None]
        d = np.asarray(d_mm, dtype=np.float64)[..., None]
        return self.apex + x * self.lateral + d * self.axial


@dataclass(frozen=True)
class TissueSample:
    """What the head model says about a set of points ``[N]``.

    * ``tissue``: phantom tissue class id (``neocus.phantom.tissues``), what rendering needs to know
      for attenuation and speckle statistics;
    * ``echo``: mean backscatter amplitude (linear, 1.0 = normal white matter) before speckle;
    * ``part``: anatomical part id (0 = none); ``neocus.phantom`` maps parts to vocabulary structures
      and sides for ground truth;
    * ``lesion``: index into ``LESION_KINDS`` + 1 (0 = no lesion at that point).
    """

    tissue: np.ndarray  # uint8 [N]
    echo: np.ndarray  # float32 [N]
    part: np.ndarray  # uint8 [N]
    lesion: np.ndarray  # uint8 [N]


LESION_KINDS: tuple[LesionKind, ...] = tuple(LesionKind)


@runtime_checkable
class HeadModel(Protocol):
    """A subject's head: anything the renderer and ground truth can sample."""

    def sample(self, points: np.ndarray) -> TissueSample:
        """Tissue, echo, part and lesion at head-coordinate points ``[N, 3]`` (mm)."""
        ...

    def part_structure(self, part: int, plane_kind: str) -> Structure | None:
        """The vocabulary structure a part shows as in a coronal or sagittal image (None: not a target)."""
        ...
