"""Rotated boxes and plane geometry shared by the phantom, the detector and view selection."""

from neocus.geometry.losses import RotatedLoss, bhattacharyya_distance, kld, probiou, rotated_box_loss
from neocus.geometry.overlap import intersection_area_t, rbox_corners_t, rbox_iou, rbox_iou_matrix, rbox_iou_t, rotated_nms
from neocus.geometry.rotated import RotatedBox, corners_to_rbox, normalize_rbox, rbox_to_corners

__all__ = [
    "RotatedBox",
    "RotatedLoss",
    "bhattacharyya_distance",
    "corners_to_rbox",
    "intersection_area_t",
    "kld",
    "normalize_rbox",
    "probiou",
    "rbox_corners_t",
    "rbox_iou",
    "rbox_iou_matrix",
    "rbox_iou_t",
    "rbox_to_corners",
    "rotated_box_loss",
    "rotated_nms",
]
