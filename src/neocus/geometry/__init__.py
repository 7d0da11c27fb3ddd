"""Rotated boxes and plane geometry shared by the phantom, the detector and view selection."""

from neocus.geometry.rotated import RotatedBox, corners_to_rbox, normalize_rbox, rbox_to_corners

__all__ = ["RotatedBox", "corners_to_rbox", "normalize_rbox", "rbox_to_corners"]
