"""RT-DETR's decoder for rotated boxes: multi-scale deformable attention written with ``grid_sample``
(sampling points placed in each reference box's own rotated frame), box refinement layer by layer,
and contrastive denoising queries with label, box and angle noise.

Boxes inside the model are ``[..., 5]``: ``cx, cy, w, h`` as fractions of the (square) input and the
angle in degrees (unbounded while training; the rotated losses are periodic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from neocus.detect.encoder import inverse_sigmoid

ANGLE_SCALE = 45.0
DEG = math.pi / 180.0
"""Degrees per unit of the angle outputs of the box heads."""


class Mlp(nn.Module):
    def __init__(self, cin: int, hidden: int, cout: int, layers: int):
        super().__init__()
        dims = [cin] + [hidden] * (layers - 1) + [cout]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


def box_features(boxes: torch.Tensor) -> torch.Tensor:
    """``(cx, cy, w, h, sin 2a, cos 2a)``: a box description that is the same for a and a + 180."""
    t = (boxes[..., 4] * DEG) * 2
    return torch.cat([boxes[..., :4], torch.sin(t)[..., None], torch.cos(t)[..., None]], -1)


class RotatedDeformableAttention(nn.Module):
    def __init__(self, dim: int, heads: int, levels: int, points: int):
        super().__init__()
        self.heads, self.levels, self.points = heads, levels, points
        self.sampling_offsets = nn.Linear(dim, heads * levels * points * 2)
        self.attention_weights = nn.Linear(dim, heads * levels * points)
        self.value_proj = nn.Linear(dim, dim)
        self.output_proj = nn.Linear(dim, dim)
        nn.init.zeros_(self.sampling_offsets.weight)
        theta = torch.arange(heads, dtype=torch.float32) * (2 * math.pi / heads)
        grid = torch.stack([theta.cos(), theta.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True).values
        grid = grid[:, None, None, :].repeat(1, levels, points, 1)
        grid = grid * torch.arange(1, points + 1, dtype=torch.float32)[None, None, :, None]
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)

    def forward(self, query: torch.Tensor, ref: torch.Tensor, value: torch.Tensor, shapes_hw: list[tuple[int, int]]) -> torch.Tensor:
        b, q, d = query.shape
        hd, L, P = self.heads, self.levels, self.points
        v = self.value_proj(value).view(b, -1, hd, d // hd)
        off = self.sampling_offsets(query).view(b, q, hd, L, P, 2)
        attn = self.attention_weights(query).view(b, q, hd, L * P).softmax(-1).view(b, q, hd, L, P)
        scale = ref[:, :, None, None, None, 2:4] * (0.5 / P)
        local = off * scale
        t = (ref[..., 4] * DEG)[:, :, None, None, None, None]
        cos, sin = torch.cos(t), torch.sin(t)
        dx = local[..., 0:1] * cos - local[..., 1:2] * sin
        dy = local[..., 0:1] * sin + local[..., 1:2] * cos
        loc = ref[:, :, None, None, None, :2] + torch.cat([dx, dy], -1)  # [b, q, hd, L, P, 2]
        grid = (2 * loc - 1).permute(0, 2, 1, 3, 4, 5)  # [b, hd, q, L, P, 2]
        sampled = []
        start = 0
        for lvl, (h, w) in enumerate(shapes_hw):
            vl = v[:, start:start + h * w].permute(0, 2, 3, 1).reshape(b * hd, d // hd, h, w)
            start += h * w
            gl = grid[:, :, :, lvl].reshape(b * hd, q, P, 2)
            sampled.append(F.grid_sample(vl, gl, mode="bilinear", padding_mode="zeros", align_corners=False))
        s = torch.stack(sampled, -2).flatten(-2)  # [b*hd, dh, q, L*P]
        a = attn.permute(0, 2, 1, 3, 4).reshape(b * hd, 1, q, L * P)
        out = (s * a).sum(-1).view(b, hd * (d // hd), q).transpose(1, 2)
        return self.output_proj(out)


class DecoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int, levels: int, points: int):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn = RotatedDeformableAttention(dim, heads, levels, points)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(), nn.Linear(ffn, dim))
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, tgt, ref, memory, shapes_hw, pos, attn_mask):  # noqa: ANN001, ANN201
        q = tgt + pos
        tgt = self.norm1(tgt + self.self_attn(q, q, tgt, attn_mask=attn_mask, need_weights=False)[0])
        tgt = self.norm2(tgt + self.cross_attn(tgt + pos, ref, memory, shapes_hw))
        return self.norm3(tgt + self.ffn(tgt))


def refine(ref: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Apply a box head's output to reference boxes (cx, cy, w, h in logit space; angle additive)."""
    xywh = torch.sigmoid(delta[..., :4] + inverse_sigmoid(ref[..., :4]))
    return torch.cat([xywh, ref[..., 4:5] + delta[..., 4:5] * ANGLE_SCALE], -1)


class Decoder(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int, levels: int, points: int, layers: int, num_classes: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ffn, levels, points) for _ in range(layers))
        self.query_pos_head = Mlp(6, 2 * dim, dim, 2)
        self.score_heads = nn.ModuleList(nn.Linear(dim, num_classes) for _ in range(layers))
        self.bbox_heads = nn.ModuleList(Mlp(dim, dim, 5, 3) for _ in range(layers))
        for head in self.bbox_heads:
            nn.init.zeros_(head.layers[-1].weight)
            nn.init.zeros_(head.layers[-1].bias)

    def forward(self, tgt, ref, memory, shapes, attn_mask=None, *, all_layers: bool = True):  # noqa: ANN001, ANN201
        logits, boxes = [], []
        for i, layer in enumerate(self.layers):
            tgt = layer(tgt, ref, memory, shapes, self.query_pos_head(box_features(ref)), attn_mask)
            new = refine(ref, self.bbox_heads[i](tgt))
            if all_layers or i == len(self.layers) - 1:
                logits.append(self.score_heads[i](tgt))
                boxes.append(new)
            ref = new.detach()
        return logits, boxes


@dataclass(frozen=True)
class DenoisingGroup:
    """Denoising queries of one batch: content, reference boxes, the attention mask and the matches."""

    content: torch.Tensor  # [B, N, D]
    ref: torch.Tensor  # [B, N, 5]
    attn_mask: torch.Tensor  # [N + Q, N + Q] bool, True = blocked
    matches: list[tuple[torch.Tensor, torch.Tensor]]  # per image: (query index, target index)
    size: int


def make_denoising(
    targets: list[dict[str, torch.Tensor]], label_embed: nn.Embedding, *, num_classes: int, num_queries: int,
    num_denoising: int, label_noise_ratio: float, box_noise_scale: float, angle_noise_deg: float,
    generator: torch.Generator | None = None,
) -> DenoisingGroup | None:
    """Contrastive denoising groups (RT-DETR): each ground-truth box once with small noise (a positive
    that must be recovered) and once with large noise (a negative that must be called background)."""
    counts = [len(t["labels"]) for t in targets]
    max_gt = max(counts, default=0)
    if max_gt == 0 or num_denoising <= 0:
        return None
    groups = max(1, num_denoising // max_gt)
    bs, dev = len(targets), label_embed.weight.device
    cls = torch.full((bs, max_gt), num_classes, dtype=torch.long, device=dev)
    box = torch.zeros(bs, max_gt, 5, device=dev)
    pad = torch.zeros(bs, max_gt, dtype=torch.bool, device=dev)
    for i, t in enumerate(targets):
        n = counts[i]
        cls[i, :n], box[i, :n], pad[i, :n] = t["labels"], t["boxes"], True
    cls, box, pad = cls.repeat(1, 2 * groups), box.repeat(1, 2 * groups, 1), pad.repeat(1, 2 * groups)
    neg = torch.zeros(bs, 2 * max_gt, 1, device=dev)
    neg[:, max_gt:] = 1
    neg = neg.repeat(1, groups, 1)
    n_dn = 2 * max_gt * groups

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator, device=dev) if generator is not None else torch.rand(*shape, device=dev)

    if label_noise_ratio > 0:
        flip = (rand(bs, n_dn) < label_noise_ratio * 0.5) & pad
        new = (rand(bs, n_dn) * num_classes).long().clamp(max=num_classes - 1)
        cls = torch.where(flip, new, cls)
    if box_noise_scale > 0:
        sign = torch.where(rand(bs, n_dn, 5) < 0.5, -1.0, 1.0)
        part = rand(bs, n_dn, 5) + neg  # positives in [0, 1), negatives in [1, 2)
        size = torch.sqrt(box[..., 2] * box[..., 3]).unsqueeze(-1)
        noisy = box.clone()
        noisy[..., :2] = box[..., :2] + sign[..., :2] * part[..., :2] * size * box_noise_scale * 0.5
        noisy[..., 2:4] = box[..., 2:4] * (1 + sign[..., 2:4] * part[..., 2:4] * box_noise_scale * 0.5)
        noisy[..., 4] = box[..., 4] + sign[..., 4] * part[..., 4] * angle_noise_deg
        noisy[..., :2] = noisy[..., :2].clamp(0.0, 1.0)
        noisy[..., 2:4] = noisy[..., 2:4].clamp(1e-3, 1.0)
        box = noisy
    content = label_embed(cls)
    total = n_dn + num_queries
    mask = torch.zeros(total, total, dtype=torch.bool, device=dev)
    mask[n_dn:, :n_dn] = True
    for g in range(groups):
        lo, hi = 2 * max_gt * g, 2 * max_gt * (g + 1)
        mask[lo:hi, :lo] = True
        mask[lo:hi, hi:n_dn] = True
    matches = []
    for n in counts:
        q_idx = torch.cat([torch.arange(n) + 2 * max_gt * g for g in range(groups)]) if n else torch.zeros(0, dtype=torch.long)
        t_idx = torch.arange(n).repeat(groups) if n else torch.zeros(0, dtype=torch.long)
        matches.append((q_idx, t_idx))
    return DenoisingGroup(content=content, ref=box.detach(), attn_mask=mask, matches=matches, size=n_dn)
