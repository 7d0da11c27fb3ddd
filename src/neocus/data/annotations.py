"""Annotation models of a neocus dataset: ``annotations/<sweep stem>.jsonl``, one :class:`FrameAnnotation`
per line (see :mod:`neocus.data.schema` for the layout and conventions)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import Field, ValidationInfo, field_validator

from neocus.data.schema import _Model
from neocus.vocab import LesionKind, Structure, View



LabelT = TypeVar("LabelT", Structure, LesionKind)


class LabelledRotatedBox(_Model, Generic[LabelT]):
    """A labelled rotated box in the long-edge convention of :mod:`neocus.geometry.rotated`.

    ``cx, cy, w, h`` in pixels of the frame as stored (x right, y down); ``w >= h``; ``angle`` in
    degrees from +x toward +y to the long side, in [-90, 90).
    """

    label: LabelT
    cx: float
    cy: float
    w: float = Field(ge=0.0, description="long side, pixels")
    h: float = Field(ge=0.0, description="short side, pixels (h <= w)")
    angle: float = Field(ge=-90.0, lt=90.0, description="degrees from +x toward +y to the long side, in [-90, 90)")

    @field_validator("h")
    @classmethod
    def _long_edge(cls, h: float, info: ValidationInfo) -> float:
        w = info.data.get("w")
        if w is not None and h > w:
            raise ValueError(f"h={h} > w={w}: boxes follow the long-edge convention (w >= h); swap and add 90 degrees")
        return h

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        """``(cx, cy, w, h, angle)``, as :class:`neocus.geometry.rotated.RotatedBox` takes it."""
        return (self.cx, self.cy, self.w, self.h, self.angle)


class BoxAnnotation(LabelledRotatedBox[Structure]):
    """One anatomical structure's rotated box."""


class LesionBoxAnnotation(LabelledRotatedBox[LesionKind]):
    """One lesion's rotated box (optional; for lesion detection / phantom ground truth)."""


class FrameAnnotation(_Model):
    """One annotated frame of a sweep (one line of ``annotations/<sweep stem>.jsonl``).

    ``view`` names the standard view the frame shows (if any) and ``view_quality`` in [0, 1] how well;
    ``mask`` is an optional path, relative to the case folder, of a label image for this frame.
    """

    frame: int = Field(ge=0, description="0-based frame index in the decoded sweep")
    boxes: list[BoxAnnotation] = Field(default_factory=list)
    lesions: list[LesionBoxAnnotation] = Field(default_factory=list)
    view: View | None = None
    view_quality: float | None = Field(default=None, ge=0.0, le=1.0)
    mask: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")

    @field_validator("mask")
    @classmethod
    def _relative_mask(cls, v: str | None) -> str | None:
        if v is not None and (".." in v.split("/") or v.startswith("/")):
            raise ValueError(f"mask {v!r} must be a path inside the case folder")
        return v
