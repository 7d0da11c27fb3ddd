"""Hungarian matching with a rotated cost and the detector's losses (Varifocal with rotated-IoU
targets, L1 on centre and size, a rotated box loss, an angle loss), summed over decoder layers,
encoder proposals and denoising groups as in RT-DETR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from neocus.detect.config import TrainConfig
from neocus.detect.model import DetectorOutputs
from neocus.geometry.losses import probiou, rotated_box_loss
from neocus.geometry.overlap import rbox_iou_t

ALPHA, GAMMA = 0.25, 2.0


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor, boxes: torch.Tensor, targets: list[dict[str, torch.Tensor]], *,
    cost_class: float = 2.0, cost_l1: float = 5.0, cost_rot: float = 2.0,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per image, the (query index, target index) pairs minimising focal class cost + L1 (cx, cy, w, h)
    + (1 - ProbIoU), solved with :func:`scipy.optimize.linear_sum_assignment`."""
    out = []
    for b, t in enumerate(targets):
        n = len(t["labels"])
        if n == 0:
            out.append((torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)))
            continue
        p = torch.sigmoid(logits[b].float())[:, t["labels"]]
        pos = ALPHA * (1 - p) ** GAMMA * -torch.log(p + 1e-8)
        neg = (1 - ALPHA) * p**GAMMA * -torch.log(1 - p + 1e-8)
        c_cls = pos - neg
        c_l1 = torch.cdist(boxes[b, :, :4].float(), t["boxes"][:, :4].float(), p=1)
        c_rot = 1 - probiou(boxes[b].float()[:, None], t["boxes"].float()[None])
        cost = cost_class * c_cls + cost_l1 * c_l1 + cost_rot * c_rot
        cost = torch.nan_to_num(cost, nan=1e6, posinf=1e6, neginf=-1e6)
        qi, ti = linear_sum_assignment(cost.cpu().numpy())
        out.append((torch.as_tensor(qi, dtype=torch.long), torch.as_tensor(ti, dtype=torch.long)))
    return out


def varifocal_loss(logits: torch.Tensor, matches, targets, iou: torch.Tensor, num_boxes: float) -> torch.Tensor:  # noqa: ANN001
    """Varifocal loss: matched queries aim at their box's rotated IoU for its class, the rest at 0."""
    target = torch.zeros_like(logits)
    start = 0
    for b, ((qi, ti), t) in enumerate(zip(matches, targets)):
        if len(qi):
            target[b, qi, t["labels"][ti]] = iou[start:start + len(qi)].to(logits.dtype)
            start += len(qi)
    p = torch.sigmoid(logits).detach()
    weight = 0.75 * p.pow(GAMMA) * (target == 0) + target
    loss = F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction="none")
    return loss.mean(1).sum() * logits.shape[1] / num_boxes


def angle_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per pair ``|sin(angle difference)|`` (0 at the same angle and at 180 degrees apart), weighted by the
    target's elongation ``(w - h) / (w + h)`` so a square box, whose angle means nothing, costs nothing.

    The Gaussian losses alone leave the angle of a thin box that is off centre with a vanishing (or wrongly
    signed) gradient; this term gives it one that always points to the target's angle."""
    d = torch.deg2rad(pred[..., 4] - target[..., 4])
    elong = (target[..., 2] - target[..., 3]).abs() / (target[..., 2] + target[..., 3]).clamp(min=1e-6)
    return elong * torch.sin(d).abs()


def _gather(boxes: torch.Tensor, matches, targets) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    pred = torch.cat([boxes[b, qi] for b, (qi, _) in enumerate(matches)]) if matches else boxes.new_zeros(0, 5)
    gt = torch.cat([t["boxes"][ti] for t, (_, ti) in zip(targets, matches)]) if matches else boxes.new_zeros(0, 5)
    return pred, gt


class DetectionLoss:
    """Total training loss of one batch; ``__call__`` returns the loss and a dict of its parts."""

    def __init__(self, config: TrainConfig):
        self.config = config

    def _rot(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return rotated_box_loss(pred, gt, kind=self.config.rotated_loss)

    def _one(self, logits, boxes, targets, matches, num_boxes):  # noqa: ANN001, ANN202
        c = self.config
        pred, gt = _gather(boxes, matches, targets)
        with torch.no_grad():
            iou = rbox_iou_t(pred.detach().double(), gt.double()).clamp(0, 1) if len(pred) else pred.new_zeros(0)
        vfl = varifocal_loss(logits, matches, targets, iou, num_boxes)
        if len(pred):
            l1 = F.l1_loss(pred[:, :4], gt[:, :4], reduction="sum") / num_boxes
            rot = self._rot(pred, gt).sum() / num_boxes
            ang = angle_loss(pred, gt).sum() / num_boxes
        else:
            l1 = rot = ang = logits.sum() * 0
        return {"vfl": vfl, "l1": l1, "rot": rot, "angle": ang}

    def __call__(self, out: DetectorOutputs, targets: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        num_boxes = max(1.0, float(sum(len(t["labels"]) for t in targets)))
        parts: dict[str, torch.Tensor] = {"vfl": 0, "l1": 0, "rot": 0, "angle": 0}  # type: ignore[dict-item]
        kw = dict(cost_class=c.cost_class, cost_l1=c.cost_l1, cost_rot=c.cost_rot)
        heads = list(zip(out.logits, out.boxes)) + [(out.enc_logits, out.enc_boxes)]
        for logits, boxes in heads:
            matches = hungarian_match(logits, boxes, targets, **kw)
            for k, v in self._one(logits, boxes, targets, matches, num_boxes).items():
                parts[k] = parts[k] + v
        if out.dn is not None:
            groups = out.dn.size // (2 * max(len(t["labels"]) for t in targets))
            for logits, boxes in zip(out.dn_logits, out.dn_boxes):
                for k, v in self._one(logits, boxes, targets, out.dn.matches, num_boxes * groups).items():
                    parts[k] = parts[k] + v
        total = c.weight_vfl * parts["vfl"] + c.weight_l1 * parts["l1"] + c.weight_rot * parts["rot"] + c.weight_angle * parts["angle"]
        return total, {k: float(v.detach() if isinstance(v, torch.Tensor) else v) for k, v in parts.items()} | {"total": float(total.detach())}


def mean_iou_of_matches(boxes: torch.Tensor, targets, matches) -> float:  # noqa: ANN001
    pred, gt = _gather(boxes, matches, targets)
    return float(rbox_iou_t(pred.double(), gt.double()).mean()) if len(pred) else float("nan")

