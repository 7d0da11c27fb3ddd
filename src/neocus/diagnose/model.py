"""The multi-view diagnosis network (NCLS, Lin et al. 2025, with a Papile grade head).

One ConvNeXt is shared over the 1-6 standard views of a case. Each image gets multi-label finding
logits (over :data:`FINDINGS`); its pooled feature plus a learned view embedding becomes a token. A
class token (and optionally a metadata token: GA, age, birth weight) joins the view tokens in a
transformer encoder (multi-head self-attention) whose key-padding mask hides the missing views. The
class token's output feeds the case head (severe vs non-severe, two logits) and the grade head.

Input of :meth:`DiagnosisNet.forward`: ``images [B, V, 1, H, W]`` float (standardised grey), ``views
[B, V]`` long (index into :data:`VIEWS`), ``present [B, V]`` bool, optional ``metadata [B, 2M]`` (values
then 0/1 "known" flags).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neocus.diagnose.config import FINDINGS, METADATA_FIELDS, N_GRADES, VIEWS, GradeLoss, ModelConfig
from neocus.nets.convnext import ConvNeXt


@dataclass
class NetOutput:
    """Raw logits of one forward pass."""

    image_logits: torch.Tensor  # [B, V, F]
    case_logits: torch.Tensor  # [B, 2]
    grade_logits: torch.Tensor  # [B, 5] (ce) or [B, 4] (ordinal cumulative)

    def severe_prob(self, temperature: float = 1.0) -> torch.Tensor:
        return torch.softmax(self.case_logits / temperature, dim=-1)[:, 1]

    def grade_probs(self) -> torch.Tensor:
        return grade_probabilities(self.grade_logits)


def grade_probabilities(grade_logits: torch.Tensor) -> torch.Tensor:
    """Probabilities of grades 0-4 from CE logits [.., 5] or ordinal cumulative logits [.., 4]."""
    if grade_logits.shape[-1] == N_GRADES:
        return torch.softmax(grade_logits, dim=-1)
    above = torch.sigmoid(grade_logits)  # P(grade > k)
    above = torch.cummin(above, dim=-1).values  # keep the cumulative probabilities monotone
    ones = torch.ones_like(above[..., :1])
    zeros = torch.zeros_like(above[..., :1])
    cum = torch.cat([ones, above, zeros], dim=-1)
    return (cum[..., :-1] - cum[..., 1:]).clamp_min(0.0)


class DiagnosisNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config = config.check()
        self.config = config
        self.backbone = ConvNeXt(config.backbone, in_chans=1, num_classes=0, drop_path_rate=config.drop_path_rate,
                                 ls_init_value=config.layer_scale_init)
        dim = self.backbone.num_features
        self.image_head = nn.Linear(dim, len(FINDINGS))
        self.view_embed = nn.Embedding(len(VIEWS), dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.meta_proj = nn.Linear(2 * len(METADATA_FIELDS), dim) if config.use_metadata else None
        layer = nn.TransformerEncoderLayer(
            dim, config.num_heads, dim_feedforward=2 * dim, dropout=config.dropout, batch_first=True, norm_first=True
        )
        self.fusion = nn.TransformerEncoder(layer, config.fusion_layers, enable_nested_tensor=False)
        self.fusion_norm = nn.LayerNorm(dim)
        self.case_head = nn.Linear(dim, 2)
        self.grade_head = nn.Linear(dim, N_GRADES if config.grade_loss is GradeLoss.CE else N_GRADES - 1)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.view_embed.weight, std=0.02)

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Last backbone feature maps ``[N, C, h, w]`` of ``[N, 1, H, W]`` images (what CAMs look at)."""
        return self.backbone.forward_features(images)

    def forward(
        self, images: torch.Tensor, views: torch.Tensor, present: torch.Tensor, metadata: torch.Tensor | None = None
    ) -> NetOutput:
        b, v = images.shape[:2]
        maps = self.image_features(images.flatten(0, 1))
        return self.forward_from_features(maps, views, present, metadata, batch_views=(b, v))

    def forward_from_features(
        self, maps: torch.Tensor, views: torch.Tensor, present: torch.Tensor, metadata: torch.Tensor | None,
        *, batch_views: tuple[int, int],
    ) -> NetOutput:
        b, v = batch_views
        pooled = self.backbone.forward_head(maps)  # [B*V, C]
        image_logits = self.image_head(pooled).reshape(b, v, -1)
        tokens = pooled.reshape(b, v, -1) + self.view_embed(views)
        extra = [self.cls_token.expand(b, -1, -1)]
        if self.meta_proj is not None:
            meta = metadata if metadata is not None else torch.zeros(b, 2 * len(METADATA_FIELDS), device=tokens.device)
            extra.append(self.meta_proj(meta).unsqueeze(1))
        seq = torch.cat([*extra, tokens], dim=1)
        keep = torch.cat([torch.ones(b, len(extra), dtype=torch.bool, device=present.device), present.bool()], dim=1)
        fused = self.fusion(seq, src_key_padding_mask=~keep)
        cls = self.fusion_norm(fused[:, 0])
        return NetOutput(image_logits, self.case_head(cls), self.grade_head(cls))
