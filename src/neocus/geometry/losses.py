"""Differentiable rotated-box losses: ProbIoU (Bhattacharyya / Hellinger), KLD and exact rotated IoU.

Boxes are ``[..., 5]`` tensors ``(cx, cy, w, h, angle)`` with the angle in degrees (the project's
convention). The Gaussian losses model a box as N(centre, R diag(w^2, h^2)/12 R^T): the covariance is
the same for ``angle`` and ``angle + 180``, and for ``(w, h, angle)`` and ``(h, w, angle + 90)``, so
the wrap-around at ±90 degrees and square boxes (``w == h``, any angle) cost nothing extra. The
rotated-IoU loss uses the exact polygon intersection of :mod:`neocus.geometry.overlap`.

References: Llerena et al., "Gaussian Bounding Boxes and Probabilistic IoU" (ProbIoU, 2021);
Yang et al., "Learning High-Precision Bounding Box for Rotated Object Detection via Kullback-Leibler
Divergence" (KLD, NeurIPS 2021).
"""

from __future__ import annotations

from enum import StrEnum

import torch

from neocus.errors import parse_choice
from neocus.geometry.overlap import rbox_iou_t

_EPS = 1e-7


class RotatedLoss(StrEnum):
    PROBIOU = "probiou"
    KLD = "kld"
    IOU = "iou"


def box_gaussian(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean ``[..., 2]`` and covariance entries ``(a, b, c)`` (``[[a, c], [c, b]]``) of each box."""
    t = torch.deg2rad(boxes[..., 4])
    w2 = boxes[..., 2].pow(2) / 12 + _EPS
    h2 = boxes[..., 3].pow(2) / 12 + _EPS
    cos, sin = torch.cos(t), torch.sin(t)
    a = w2 * cos * cos + h2 * sin * sin
    b = w2 * sin * sin + h2 * cos * cos
    c = (w2 - h2) * cos * sin
    return boxes[..., :2], a, b, c


def bhattacharyya_distance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Bhattacharyya distance of the two boxes' Gaussians (0 for identical boxes)."""
    mu1, a1, b1, c1 = box_gaussian(pred)
    mu2, a2, b2, c2 = box_gaussian(target)
    a, b, c = (a1 + a2) / 2, (b1 + b2) / 2, (c1 + c2) / 2
    det = (a * b - c * c).clamp(min=_EPS)
    dx, dy = mu1[..., 0] - mu2[..., 0], mu1[..., 1] - mu2[..., 1]
    maha = (b * dx * dx + a * dy * dy - 2 * c * dx * dy) / det
    det1 = (a1 * b1 - c1 * c1).clamp(min=_EPS)
    det2 = (a2 * b2 - c2 * c2).clamp(min=_EPS)
    return maha / 8 + 0.5 * torch.log(det / torch.sqrt(det1 * det2) + _EPS)


def probiou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """ProbIoU = 1 - Hellinger distance, in [0, 1] (1 for identical boxes)."""
    bd = bhattacharyya_distance(pred, target).clamp(min=_EPS, max=100.0)
    return 1 - torch.sqrt(1 - torch.exp(-bd) + _EPS)


def kld(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL divergence KL(N_pred || N_target) of the boxes' Gaussians."""
    mu_p, ap, bp, cp = box_gaussian(pred)
    mu_t, at, bt, ct = box_gaussian(target)
    det_t = (at * bt - ct * ct).clamp(min=_EPS)
    det_p = (ap * bp - cp * cp).clamp(min=_EPS)
    # trace(inv(S_t) S_p), inv(S_t) = [[bt, -ct], [-ct, at]] / det_t
    tr = (bt * ap + at * bp - 2 * ct * cp) / det_t
    dx, dy = mu_t[..., 0] - mu_p[..., 0], mu_t[..., 1] - mu_p[..., 1]
    maha = (bt * dx * dx + at * dy * dy - 2 * ct * dx * dy) / det_t
    return 0.5 * (tr + maha - 2 + torch.log(det_t / det_p))


def rotated_box_loss(pred: torch.Tensor, target: torch.Tensor, *, kind: RotatedLoss | str = RotatedLoss.PROBIOU) -> torch.Tensor:
    """Per-pair loss in [0, 1] (0 for a perfect box): ``1 - ProbIoU``, ``1 - 1 / (1 + log1p(KLD))`` or ``1 - IoU``."""
    kind = parse_choice(RotatedLoss, kind, what="rotated loss")
    if kind is RotatedLoss.PROBIOU:
        return 1 - probiou(pred, target)
    if kind is RotatedLoss.KLD:
        return 1 - 1 / (1 + torch.log1p(kld(pred, target).clamp(min=0)))
    return 1 - rbox_iou_t(pred, target)
