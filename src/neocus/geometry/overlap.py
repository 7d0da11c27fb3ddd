"""Exact overlap of rotated boxes: polygon IoU (pairs and all-pairs) and rotated NMS.

Boxes follow the one convention of :mod:`neocus.geometry.rotated`: ``(cx, cy, w, h, angle)`` with
``angle`` in degrees from +x toward +y. Any ``(w, h, angle)`` is accepted (``h > w`` or an angle
outside [-90, 90) describe the same rectangle), so the IoU is unchanged by the wrap-around at
±90 degrees and by swapping ``w`` and ``h`` with a quarter turn.

The intersection of two convex quadrilaterals is the convex hull of (corners of A inside B) +
(corners of B inside A) + (edge crossings), at most 8 distinct vertices out of 24 candidates. The
candidates are sorted by angle around their mean and the shoelace formula gives the area; every
step is a fixed-shape tensor operation, so the same code runs batched in float64 for evaluation and
differentiably in float32 for the detector's rotated-IoU loss.
"""

from __future__ import annotations

import numpy as np
import torch

_EPS = 1e-9


def rbox_corners_t(boxes: torch.Tensor) -> torch.Tensor:
    """Corners ``[..., 4, 2]`` of boxes ``[..., 5]`` (angle in degrees), in the order of ``rbox_to_corners``."""
    cx, cy, w, h, a = boxes.unbind(-1)
    t = torch.deg2rad(a)
    cos, sin = torch.cos(t), torch.sin(t)
    hw, hh = w / 2, h / 2
    ax, ay = hw * cos, hw * sin  # half of the long side
    bx, by = -hh * sin, hh * cos  # half of the short side
    xs = torch.stack([cx - ax - bx, cx + ax - bx, cx + ax + bx, cx - ax + bx], -1)
    ys = torch.stack([cy - ay - by, cy + ay - by, cy + ay + by, cy - ay + by], -1)
    return torch.stack([xs, ys], -1)


def _inside(points: torch.Tensor, boxes: torch.Tensor, tol: float) -> torch.Tensor:
    """Whether each of ``points [..., P, 2]`` lies in (or on) its box ``[..., 5]``."""
    cx, cy, w, h, a = (v.unsqueeze(-1) for v in boxes.unbind(-1))
    t = torch.deg2rad(a)
    dx, dy = points[..., 0] - cx, points[..., 1] - cy
    u = dx * torch.cos(t) + dy * torch.sin(t)
    v = -dx * torch.sin(t) + dy * torch.cos(t)
    return (u.abs() <= w / 2 + tol) & (v.abs() <= h / 2 + tol)


def _edge_crossings(c1: torch.Tensor, c2: torch.Tensor, tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Crossing points ``[..., 16, 2]`` of the 4 edges of each polygon and whether each exists."""
    p = c1.unsqueeze(-2)  # [..., 4, 1, 2]
    r = (torch.roll(c1, -1, dims=-2) - c1).unsqueeze(-2)
    q = c2.unsqueeze(-3)  # [..., 1, 4, 2]
    s = (torch.roll(c2, -1, dims=-2) - c2).unsqueeze(-3)
    qp = q - p

    def cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]

    den = cross(r, s)
    ok_den = den.abs() > 1e-12
    safe = torch.where(ok_den, den, torch.ones_like(den))
    t = cross(qp, s) / safe
    u = cross(qp, r) / safe
    valid = ok_den & (t >= -tol) & (t <= 1 + tol) & (u >= -tol) & (u <= 1 + tol)
    pts = p + t.unsqueeze(-1) * r
    return pts.flatten(-3, -2), valid.flatten(-2)


def intersection_area_t(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Area of the intersection of boxes ``a`` and ``b`` (``[..., 5]`` each, broadcast), differentiable."""
    a, b = torch.broadcast_tensors(a, b)
    tol = 1e-9 if a.dtype == torch.float64 else 1e-4
    c1, c2 = rbox_corners_t(a), rbox_corners_t(b)
    cross_pts, cross_ok = _edge_crossings(c1, c2, tol)
    pts = torch.cat([c1, c2, cross_pts], -2)  # [..., 24, 2]
    ok = torch.cat([_inside(c1, b, tol * (1 + b[..., 2:4].abs().amax(-1, keepdim=True))),
                    _inside(c2, a, tol * (1 + a[..., 2:4].abs().amax(-1, keepdim=True))), cross_ok], -1)
    n = ok.sum(-1, keepdim=True)
    okf = ok.to(pts.dtype).unsqueeze(-1)
    centre = (pts * okf).sum(-2, keepdim=True) / n.clamp(min=1).unsqueeze(-1)
    rel = pts - centre
    ang = torch.atan2(rel[..., 1], rel[..., 0])
    ang = torch.where(ok, ang, torch.full_like(ang, 10.0))  # invalid candidates sort last
    order = ang.argsort(-1)
    rel = torch.gather(rel, -2, order.unsqueeze(-1).expand_as(rel))
    ok_sorted = torch.gather(ok, -1, order)
    first = rel[..., :1, :].expand_as(rel)
    rel = torch.where(ok_sorted.unsqueeze(-1), rel, first)  # padding repeats the first vertex: zero area
    nxt = torch.roll(rel, -1, dims=-2)
    area2 = (rel[..., 0] * nxt[..., 1] - rel[..., 1] * nxt[..., 0]).sum(-1)
    return torch.where(n.squeeze(-1) >= 3, area2.abs() / 2, torch.zeros_like(area2))


def rbox_iou_t(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes ``a`` and ``b`` (``[..., 5]``, broadcast), exact and differentiable."""
    inter = intersection_area_t(a, b)
    union = a[..., 2].abs() * a[..., 3].abs() + b[..., 2].abs() * b[..., 3].abs() - inter
    return inter / union.clamp(min=_EPS)


def _as_boxes(boxes: np.ndarray | list, what: str) -> torch.Tensor:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 or arr.size == 0:
        arr = arr.reshape(-1, 5) if arr.size % 5 == 0 else arr
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise ValueError(f"{what} must be [N, 5] (cx, cy, w, h, angle), got shape {arr.shape}")
    return torch.from_numpy(arr)


def rbox_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of matching pairs of boxes: ``a`` and ``b`` both ``[N, 5]`` -> ``[N]`` (exact polygon IoU)."""
    ta, tb = _as_boxes(a, "a"), _as_boxes(b, "b")
    if ta.shape != tb.shape:
        raise ValueError(f"pairs need equal shapes, got {tuple(ta.shape)} and {tuple(tb.shape)}")
    with torch.no_grad():
        return rbox_iou_t(ta, tb).numpy()


def rbox_iou_matrix(a: np.ndarray, b: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """IoU of every box of ``a [N, 5]`` with every box of ``b [M, 5]`` -> ``[N, M]`` (exact).

    Pairs whose circumscribed circles do not touch are skipped (IoU 0); the rest are computed in
    chunks of ``chunk`` rows x all columns.
    """
    ta, tb = _as_boxes(a, "a"), _as_boxes(b, "b")
    out = np.zeros((len(ta), len(tb)), dtype=np.float64)
    if len(ta) == 0 or len(tb) == 0:
        return out
    ra = torch.hypot(ta[:, 2], ta[:, 3]) / 2
    rb = torch.hypot(tb[:, 2], tb[:, 3]) / 2
    dist = torch.cdist(ta[:, :2], tb[:, :2])
    near = (dist <= ra[:, None] + rb[None, :]).nonzero()
    with torch.no_grad():
        for s in range(0, len(near), chunk):
            i, j = near[s:s + chunk].unbind(1)
            out[i.numpy(), j.numpy()] = rbox_iou_t(ta[i], tb[j]).numpy()
    return out


def rotated_nms(
    boxes: np.ndarray, scores: np.ndarray, *, iou_threshold: float = 0.5, classes: np.ndarray | None = None,
    max_det: int | None = None,
) -> np.ndarray:
    """Greedy rotated non-maximum suppression: indices of the kept boxes, best score first.

    A box is dropped when it overlaps a kept box of the same class (all one class when ``classes`` is
    None) with an IoU above ``iou_threshold``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    if len(order) == 0:
        return order.astype(np.int64)
    iou = rbox_iou_matrix(boxes[order], boxes[order])
    if classes is not None:
        cls = np.asarray(classes)[order]
        iou = np.where(cls[:, None] == cls[None, :], iou, 0.0)
    keep: list[int] = []
    suppressed = np.zeros(len(order), dtype=bool)
    for k in range(len(order)):
        if suppressed[k]:
            continue
        keep.append(k)
        if max_det is not None and len(keep) >= max_det:
            break
        suppressed |= iou[k] > iou_threshold
    return order[np.asarray(keep, dtype=np.int64)]
