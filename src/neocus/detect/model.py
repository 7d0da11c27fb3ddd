"""The rotated-box RT-DETR: ResNet-vd backbone -> hybrid encoder -> IoU-aware query selection ->
deformable decoder with denoising queries -> class scores and ``(cx, cy, w, h, angle)`` boxes.

``forward`` in training mode (with targets) returns every output the losses need; in eval mode it
returns ``(scores [B, Q, C], boxes [B, Q, 5])`` with boxes in input pixels and angles in degrees, the
two outputs of the ONNX model. Decoding (top-k, thresholds, mapping to source pixels) is in
:mod:`neocus.detect.infer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neocus.detect.classes import DETECTOR_CLASSES
from neocus.detect.config import ModelConfig
from neocus.detect.decoder import ANGLE_SCALE, Decoder, DenoisingGroup, Mlp, make_denoising
from neocus.detect.encoder import HybridEncoder, bias_init_with_prob, inverse_sigmoid
from neocus.nets.resnet import ResNetVd


@dataclass
class DetectorOutputs:
    """Training outputs: per decoder layer logits and boxes, encoder proposals, denoising part."""

    logits: list[torch.Tensor]
    boxes: list[torch.Tensor]
    enc_logits: torch.Tensor
    enc_boxes: torch.Tensor
    dn_logits: list[torch.Tensor]
    dn_boxes: list[torch.Tensor]
    dn: DenoisingGroup | None


def anchors_for(shapes_hw: list[tuple[int, int]], *, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor boxes (logit space, ``[1, S, 4]``) at every cell of every level, and which are valid."""
    out = []
    for lvl, (h, w) in enumerate(shapes_hw):
        gy, gx = torch.meshgrid(torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij")
        xy = torch.stack([(gx + 0.5) / w, (gy + 0.5) / h], -1).reshape(-1, 2)
        wh = torch.full_like(xy, 0.05 * 2.0**lvl)
        out.append(torch.cat([xy, wh], -1))
    anchors = torch.cat(out)[None]
    valid = ((anchors > 0.01) & (anchors < 0.99)).all(-1, keepdim=True)
    return inverse_sigmoid(anchors), valid


class RotatedRtDetr(nn.Module):
    def __init__(self, config: ModelConfig, *, num_classes: int = len(DETECTOR_CLASSES)):
        super().__init__()
        self.config, self.num_classes = config, num_classes
        d = config.hidden_dim
        self.backbone = ResNetVd(config.backbone, in_chans=1, width=config.width)
        self.encoder = HybridEncoder(self.backbone.out_channels, hidden_dim=d, heads=config.num_heads,
                                     ffn_dim=config.encoder_ffn_dim, csp_blocks=config.csp_blocks)
        self.enc_output = nn.Sequential(nn.Linear(d, d), nn.LayerNorm(d))
        self.enc_score_head = nn.Linear(d, num_classes)
        self.enc_bbox_head = Mlp(d, d, 5, 3)
        self.decoder = Decoder(d, config.num_heads, config.decoder_ffn_dim, config.num_levels, config.num_points,
                               config.num_decoder_layers, num_classes)
        self.denoising_class_embed = nn.Embedding(num_classes + 1, d, padding_idx=num_classes)
        prior = bias_init_with_prob(0.01)
        for head in [self.enc_score_head, *self.decoder.score_heads]:
            nn.init.constant_(head.bias, prior)
        nn.init.zeros_(self.enc_bbox_head.layers[-1].weight)
        nn.init.zeros_(self.enc_bbox_head.layers[-1].bias)

    def _memory(self, images: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        feats = self.encoder(self.backbone(images))
        shapes_hw = [(int(f.shape[2]), int(f.shape[3])) for f in feats]
        return torch.cat([f.flatten(2).transpose(1, 2) for f in feats], 1), shapes_hw

    def _select(self, memory: torch.Tensor, shapes_hw: list[tuple[int, int]]):  # noqa: ANN202
        anchors, valid = anchors_for(shapes_hw, device=memory.device, dtype=memory.dtype)
        mem = self.enc_output(memory * valid.to(memory.dtype))
        logits = self.enc_score_head(mem)
        delta = self.enc_bbox_head(mem)
        boxes = torch.cat([torch.sigmoid(delta[..., :4] + anchors), delta[..., 4:5] * ANGLE_SCALE], -1)
        score = logits.max(-1).values.masked_fill(~valid[..., 0], float("-inf"))
        idx = score.topk(self.config.num_queries, dim=1).indices
        take = lambda x: torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # noqa: E731
        return take(mem).detach(), take(boxes), take(logits)

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None,
                *, generator: torch.Generator | None = None):  # noqa: ANN201
        memory, shapes_hw = self._memory(images)
        content, enc_boxes, enc_logits = self._select(memory, shapes_hw)
        ref = enc_boxes.detach()
        if targets is None:
            logits, boxes = self.decoder(content, ref, memory, shapes_hw, all_layers=False)
            scale = torch.tensor([images.shape[-1], images.shape[-2], images.shape[-1], images.shape[-2], 1.0],
                                 device=images.device, dtype=boxes[-1].dtype)
            return torch.sigmoid(logits[-1]), boxes[-1] * scale
        c = self.config
        dn = make_denoising(targets, self.denoising_class_embed, num_classes=self.num_classes, num_queries=c.num_queries,
                            num_denoising=c.num_denoising, label_noise_ratio=c.label_noise_ratio,
                            box_noise_scale=c.box_noise_scale, angle_noise_deg=c.angle_noise_deg, generator=generator)
        mask = None
        if dn is not None:
            content = torch.cat([dn.content, content], 1)
            ref = torch.cat([dn.ref, ref], 1)
            mask = dn.attn_mask
        logits, boxes = self.decoder(content, ref, memory, shapes_hw, mask)
        n = dn.size if dn is not None else 0
        return DetectorOutputs(
            logits=[x[:, n:] for x in logits], boxes=[x[:, n:] for x in boxes], enc_logits=enc_logits, enc_boxes=enc_boxes,
            dn_logits=[x[:, :n] for x in logits], dn_boxes=[x[:, :n] for x in boxes], dn=dn,
        )
