"""Rotated boxes in the project's one convention.

A box is ``(cx, cy, w, h, angle)`` in pixels of the frame as stored (x right, y down), long-edge
convention: ``w >= h`` and ``angle`` in degrees in [-90, 90), measured from +x toward +y (clockwise on
screen) to the long side. :func:`rbox_to_corners` and :func:`corners_to_rbox` are the ground truth of
the convention; everything else converts through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RotatedBox:
    cx: float
    cy: float
    w: float
    h: float
    angle: float

    def __post_init__(self) -> None:
        if not (self.w >= self.h >= 0):
            raise ValueError(f"rotated box needs w >= h >= 0 (long-edge convention), got w={self.w}, h={self.h}")
        if not (-90.0 <= self.angle < 90.0):
            raise ValueError(f"rotated box angle must lie in [-90, 90), got {self.angle}")

    @classmethod
    def from_any(cls, cx: float, cy: float, w: float, h: float, angle: float) -> RotatedBox:
        """Build a box from any (w, h, angle), normalising to the long-edge convention."""
        return cls(*normalize_rbox(cx, cy, w, h, angle))

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (self.cx, self.cy, self.w, self.h, self.angle)

    def corners(self) -> np.ndarray:
        return rbox_to_corners(self.as_tuple())

    @property
    def area(self) -> float:
        return self.w * self.h


def _wrap_angle(angle: float) -> float:
    """Wrap degrees into [-90, 90)."""
    a = (float(angle) + 90.0) % 180.0 - 90.0
    return 0.0 if a == -0.0 else a


def normalize_rbox(cx: float, cy: float, w: float, h: float, angle: float) -> tuple[float, float, float, float, float]:
    """Return the same box with ``w >= h`` and ``angle`` in [-90, 90)."""
    w, h = float(abs(w)), float(abs(h))
    if h > w:
        w, h = h, w
        angle = angle + 90.0
    return (float(cx), float(cy), w, h, _wrap_angle(angle))


def rbox_to_corners(box: tuple[float, float, float, float, float] | np.ndarray) -> np.ndarray:
    """Four corners ``[4, 2]`` (x, y), in order around the box, of one ``(cx, cy, w, h, angle)`` box."""
    cx, cy, w, h, angle = (float(v) for v in box)
    t = np.deg2rad(angle)
    along = np.array([np.cos(t), np.sin(t)])  # direction of the long side (+x toward +y)
    across = np.array([-np.sin(t), np.cos(t)])
    c = np.array([cx, cy])
    hw, hh = w / 2.0, h / 2.0
    return np.stack(
        [c - hw * along - hh * across, c + hw * along - hh * across, c + hw * along + hh * across, c - hw * along + hh * across]
    )


def corners_to_rbox(corners: np.ndarray) -> tuple[float, float, float, float, float]:
    """The minimum-area rotated box around a set of points ``[N, 2]`` (4 corners or any point cloud)."""
    import cv2

    pts = np.asarray(corners, dtype=np.float32).reshape(-1, 2)
    if len(pts) < 1:
        raise ValueError("corners_to_rbox needs at least one point")
    (cx, cy), (a, b), theta = cv2.minAreaRect(pts)
    # OpenCV: side ``a`` runs along ``theta`` degrees (image coordinates, +x toward +y).
    return normalize_rbox(cx, cy, a, b, theta)
