"""The cerebellar hypoplasia networks (plain torch): one encoder, three ways to use the anatomy.

All variants share the encoder (a 5x5 stride-2 stem, then per block two 3x3 conv + batch norm + ReLU
and a 2x2 max pool, the plane network's design) and the classification head (global average pool,
dropout, linear to one logit: P(cerebellar hypoplasia) after a sigmoid):

* ``unconstrained``: the image only, no mask is ever used;
* ``auxseg``: a light feature-pyramid decoder on the shared encoder predicts the class map (background,
  skull, brain, cerebellum, cistern) and is trained jointly with a segmentation loss (the masks are
  needed in training only; the classifier does not read the decoder);
* ``attention``: the same decoder, and the classifier also pools the decoder's features inside the
  PREDICTED cerebellum + cistern map (an attention map supervised by the masks) and reads the predicted
  area of every class (soft, as fractions of the image): at test time it uses its own predicted masks,
  never true ones.

With ``ga_and_scale`` the head also gets what a sonographer has beside the image (second pass of issue
#16 point 5): the gestational age and the crop's mm per pixel (three numbers, :data:`N_SIDE`, made by
:func:`neocus.fetal.hypoplasia_model.side_features`), which scale and shift the pooled image features
(FiLM, Perez et al., AAAI 2018) and are concatenated to them before the linear layer: the label is
TCD below the 5th centile FOR THE GA, which a crop on the head (scale gone) cannot tell.

``forward(x, side=None)`` returns ``(logit [B], class logits [B, 5, H, W] or None)``; the class logits are at the
input resolution.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

N_SEG_CLASSES = 5  # neocus.fetal.cerebellum.CLASS_NAMES
ATTENTION_CLASSES = (3, 4)  # cerebellum, cistern
FPN_CHANNELS = 32
N_SIDE = 3  # GA, GA squared, log mm per pixel (standardised)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2))


class HypoplasiaNet(nn.Module):
    """See the module docstring; ``variant`` is ``unconstrained``, ``auxseg`` or ``attention``."""

    def __init__(self, variant: str, channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.2,
                 ga_and_scale: bool = False) -> None:
        super().__init__()
        self.variant = variant
        c0 = channels[0]
        self.stem = nn.Sequential(nn.Conv2d(1, c0, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(_block(a, b) for a, b in zip((c0, *channels[:-1]), channels))
        with_seg = variant != "unconstrained"
        self.lateral = nn.ModuleList(nn.Conv2d(c, FPN_CHANNELS, 1) for c in channels) if with_seg else None
        self.seg_head = nn.Sequential(nn.Conv2d(FPN_CHANNELS, FPN_CHANNELS, 3, padding=1, bias=False), nn.BatchNorm2d(FPN_CHANNELS),
                                      nn.ReLU(inplace=True), nn.Conv2d(FPN_CHANNELS, N_SEG_CLASSES, 1)) if with_seg else None
        n_feat = channels[-1] + (FPN_CHANNELS + N_SEG_CLASSES if variant == "attention" else 0)
        self.drop = nn.Dropout(dropout)
        self.film = nn.Linear(N_SIDE, 2 * n_feat) if ga_and_scale else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
        self.fc = nn.Linear(n_feat + (N_SIDE if ga_and_scale else 0), 1)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats, h = [], self.stem(x)
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        return feats

    def decode(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Top-down pyramid: the finest level's features (``FPN_CHANNELS``, 1/4 of the input size)."""
        p = self.lateral[-1](feats[-1])
        for f, lat in zip(feats[-2::-1], list(self.lateral)[-2::-1]):
            p = F.interpolate(p, size=f.shape[-2:], mode="nearest") + lat(f)
        return p

    def head(self, pooled: torch.Tensor, side: torch.Tensor | None) -> torch.Tensor:
        """The hypoplasia logit ``[B]`` of the pooled features (FiLM by and concatenation of ``side``)."""
        if self.film is None:
            return self.fc(self.drop(pooled))[:, 0]
        if side is None:
            raise ValueError("this network needs the GA and the mm per pixel (side features)")
        gamma, beta = self.film(side).chunk(2, dim=1)
        return self.fc(torch.cat([self.drop(pooled * (1.0 + gamma) + beta), side], dim=1))[:, 0]

    def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats = self.encode(x)
        pooled = feats[-1].mean(dim=(2, 3))
        if self.seg_head is None:
            return self.head(pooled, side), None
        p = self.decode(feats)
        seg = self.seg_head(p)
        if self.variant == "attention":
            prob = torch.softmax(seg, dim=1)
            att = prob[:, list(ATTENTION_CLASSES)].sum(dim=1, keepdim=True)
            inside = (p * att).sum(dim=(2, 3)) / att.sum(dim=(2, 3)).clamp_min(1e-3)
            areas = torch.log(prob.mean(dim=(2, 3)) + 1e-4)
            pooled = torch.cat([pooled, inside, areas], dim=1)
        return self.head(pooled, side), F.interpolate(seg, size=x.shape[-2:], mode="bilinear", align_corners=False)

    def cam_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last encoder block's feature map (the layer Grad-CAM explains)."""
        return self.encode(x)[-1]
