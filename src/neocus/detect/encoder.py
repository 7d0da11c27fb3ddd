"""RT-DETR's hybrid encoder in plain torch: intra-scale attention on the top level (AIFI) and
cross-scale fusion (CCFM: a top-down then bottom-up path of CSP blocks with RepVGG-style convs)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ConvNormAct(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, *, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.norm = nn.BatchNorm2d(cout)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class RepVggBlock(nn.Module):
    """3x3 + 1x1 conv branches summed (RT-DETR's RepVGG block; not re-parameterised here)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = ConvNormAct(ch, ch, 3, act=False)
        self.conv2 = ConvNormAct(ch, ch, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.conv1(x) + self.conv2(x))


class CspRepLayer(nn.Module):
    def __init__(self, cin: int, cout: int, n: int):
        super().__init__()
        self.conv1 = ConvNormAct(cin, cout)
        self.conv2 = ConvNormAct(cin, cout)
        self.bottlenecks = nn.Sequential(*[RepVggBlock(cout) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottlenecks(self.conv1(x)) + self.conv2(x)


def sincos_pos_embed(h: int, w: int, dim: int, *, temperature: float = 10000.0) -> torch.Tensor:
    """2D sine-cosine position embedding ``[1, h*w, dim]``."""
    gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    pdim = dim // 4
    omega = 1.0 / temperature ** (torch.arange(pdim, dtype=torch.float32) / pdim)
    ox = gx.flatten()[:, None] * omega[None]
    oy = gy.flatten()[:, None] * omega[None]
    return torch.cat([ox.sin(), ox.cos(), oy.sin(), oy.cos()], 1)[None]


class AifiLayer(nn.Module):
    """One transformer encoder layer (post-norm) with position embedding added to queries and keys."""

    def __init__(self, dim: int, heads: int, ffn: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Linear(ffn, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        q = x + pos
        x = self.norm1(x + self.attn(q, q, x, need_weights=False)[0])
        return self.norm2(x + self.ffn(x))


class HybridEncoder(nn.Module):
    """Maps backbone features (strides 8, 16, 32) to ``hidden_dim`` maps fused across scales."""

    def __init__(self, in_channels: list[int], *, hidden_dim: int, heads: int, ffn_dim: int, csp_blocks: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, hidden_dim, 1, bias=False), nn.BatchNorm2d(hidden_dim)) for c in in_channels
        )
        self.aifi = AifiLayer(hidden_dim, heads, ffn_dim)
        n = len(in_channels)
        self.lateral = nn.ModuleList(ConvNormAct(hidden_dim, hidden_dim) for _ in range(n - 1))
        self.fpn = nn.ModuleList(CspRepLayer(2 * hidden_dim, hidden_dim, csp_blocks) for _ in range(n - 1))
        self.down = nn.ModuleList(ConvNormAct(hidden_dim, hidden_dim, 3, 2) for _ in range(n - 1))
        self.pan = nn.ModuleList(CspRepLayer(2 * hidden_dim, hidden_dim, csp_blocks) for _ in range(n - 1))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        proj = [p(f) for p, f in zip(self.input_proj, feats)]
        top = proj[-1]
        b, c, h, w = top.shape
        seq = top.flatten(2).transpose(1, 2)
        seq = self.aifi(seq, sincos_pos_embed(h, w, c).to(seq.dtype))
        proj[-1] = seq.transpose(1, 2).reshape(b, c, h, w)
        # top-down
        inner = [proj[-1]]
        for i in range(len(proj) - 1, 0, -1):
            hi = self.lateral[len(proj) - 1 - i](inner[0])
            inner[0] = hi
            up = F.interpolate(hi, size=proj[i - 1].shape[-2:], mode="nearest")
            inner.insert(0, self.fpn[len(proj) - 1 - i](torch.cat([up, proj[i - 1]], 1)))
        # bottom-up
        outs = [inner[0]]
        for i in range(len(proj) - 1):
            down = self.down[i](outs[-1])
            outs.append(self.pan[i](torch.cat([down, inner[i + 1]], 1)))
        return outs


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    x = x.clamp(min=eps, max=1 - eps)
    return torch.log(x / (1 - x))


def bias_init_with_prob(prior: float) -> float:
    return float(-math.log((1 - prior) / prior))
