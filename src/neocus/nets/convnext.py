"""ConvNeXt backbones (atto .. tiny) in plain torch with timm's parameter names.

The module tree mirrors ``timm.models.convnext.ConvNeXt`` (``stem.0/1``, ``stages.i.downsample.0/1``,
``stages.i.blocks.j.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}``, ``head.norm``, ``head.fc``), including the
1x1-convolution MLP (``conv_mlp``) that timm uses for atto, femto, pico and nano, so a timm state dict
loads with :func:`load_timm_weights`. Liu et al., "A ConvNet for the 2020s", CVPR 2022.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from neocus.errors import InputFileError, parse_choice


class ConvNextVariant(StrEnum):
    ATTO = "atto"
    FEMTO = "femto"
    PICO = "pico"
    NANO = "nano"
    TINY = "tiny"


@dataclass(frozen=True)
class ConvNextSpec:
    depths: tuple[int, int, int, int]
    dims: tuple[int, int, int, int]
    conv_mlp: bool


# timm's definitions (timm/models/convnext.py: convnext_atto ... convnext_tiny).
CONVNEXT_SPECS: dict[ConvNextVariant, ConvNextSpec] = {
    ConvNextVariant.ATTO: ConvNextSpec((2, 2, 6, 2), (40, 80, 160, 320), True),
    ConvNextVariant.FEMTO: ConvNextSpec((2, 2, 6, 2), (48, 96, 192, 384), True),
    ConvNextVariant.PICO: ConvNextSpec((2, 2, 6, 2), (64, 128, 256, 512), True),
    ConvNextVariant.NANO: ConvNextSpec((2, 2, 8, 2), (80, 160, 320, 640), True),
    ConvNextVariant.TINY: ConvNextSpec((3, 3, 9, 3), (96, 192, 384, 768), False),
}

LN_EPS = 1e-6


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``[N, C, H, W]`` tensor (timm's ``LayerNorm2d``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Mlp(nn.Module):
    """Two-layer MLP; ``conv`` makes fc1 / fc2 1x1 convolutions on ``[N, C, H, W]`` (timm ``ConvMlp``)."""

    def __init__(self, dim: int, hidden: int, *, conv: bool):
        super().__init__()
        layer = (lambda i, o: nn.Conv2d(i, o, 1)) if conv else nn.Linear
        self.fc1 = layer(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = layer(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ConvNextBlock(nn.Module):
    """Depth-wise 7x7 conv, LayerNorm, MLP (x4), layer scale ``gamma``, stochastic depth, residual."""

    def __init__(self, dim: int, *, conv_mlp: bool, drop_path: float = 0.0, ls_init_value: float = 1e-6):
        super().__init__()
        self.conv_mlp = conv_mlp
        self.conv_dw = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim, eps=LN_EPS) if conv_mlp else nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, 4 * dim, conv=conv_mlp)
        self.gamma = nn.Parameter(torch.full((dim,), ls_init_value))
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_dw(x)
        if self.conv_mlp:
            x = self.mlp(self.norm(x)) * self.gamma.reshape(1, -1, 1, 1)
        else:
            x = self.mlp(self.norm(x.permute(0, 2, 3, 1))) * self.gamma
            x = x.permute(0, 3, 1, 2)
        if self.training and self.drop_path > 0.0:
            keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.drop_path
            x = x * keep / (1.0 - self.drop_path)
        return shortcut + x


class ConvNextStage(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, depth: int, *, conv_mlp: bool, drop_paths: list[float], downsample: bool,
                 ls_init_value: float = 1e-6):
        super().__init__()
        if downsample:
            self.downsample = nn.Sequential(LayerNorm2d(in_dim, eps=LN_EPS), nn.Conv2d(in_dim, out_dim, kernel_size=2, stride=2))
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[
            ConvNextBlock(out_dim, conv_mlp=conv_mlp, drop_path=dp, ls_init_value=ls_init_value) for dp in drop_paths[:depth]
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class ConvNextHead(nn.Module):
    """Global average pool + LayerNorm (+ ``fc`` when ``num_classes`` > 0), timm's ``NormMlpClassifierHead``."""

    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.norm = LayerNorm2d(dim, eps=LN_EPS)
        self.fc = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x.mean(dim=(2, 3), keepdim=True)).flatten(1)
        return self.fc(x)


class ConvNeXt(nn.Module):
    """ConvNeXt; ``forward_features`` gives the last feature map, ``forward`` the pooled, normed vector
    (``num_classes`` 0) or class logits."""

    def __init__(self, variant: ConvNextVariant | str = ConvNextVariant.ATTO, *, in_chans: int = 1, num_classes: int = 0,
                 drop_path_rate: float = 0.0, ls_init_value: float = 1e-6):
        super().__init__()
        self.variant = parse_choice(ConvNextVariant, variant, what="backbone")
        spec = CONVNEXT_SPECS[self.variant]
        self.in_chans = in_chans
        self.num_features = spec.dims[-1]
        self.stem = nn.Sequential(nn.Conv2d(in_chans, spec.dims[0], kernel_size=4, stride=4), LayerNorm2d(spec.dims[0], eps=LN_EPS))
        rates = torch.linspace(0, drop_path_rate, sum(spec.depths)).tolist()
        stages, prev, start = [], spec.dims[0], 0
        for i, (depth, dim) in enumerate(zip(spec.depths, spec.dims)):
            stages.append(ConvNextStage(prev, dim, depth, conv_mlp=spec.conv_mlp, drop_paths=rates[start:start + depth], downsample=i > 0,
                                        ls_init_value=ls_init_value))
            prev, start = dim, start + depth
        self.stages = nn.Sequential(*stages)
        self.head = ConvNextHead(self.num_features, num_classes)
        self.apply(_init_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def load_timm_weights(model: ConvNeXt, path: str | Path) -> list[str]:
    """Load a timm ConvNeXt state dict (``.pth`` / ``.pt`` / ``.bin`` saved by torch) from a local file.

    The classifier (``head.fc``) is skipped; a 3-channel stem is summed over its input channels for a
    grey-level model (timm's ``adapt_input_conv``). Returns the names of model parameters the file did
    not provide. A missing file, an unreadable one, or a file of another architecture raises
    :class:`InputFileError`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("backbone weight file not found", where=path, hint="give the path of a timm ConvNeXt state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise InputFileError(f"cannot read as a torch state dict ({type(exc).__name__})", where=path) from None
    state = state.get("state_dict", state.get("model", state)) if isinstance(state, dict) else state
    own = model.state_dict()
    picked = {}
    for name, value in state.items():
        if name.startswith("head.fc") or name not in own:
            continue
        if name == "stem.0.weight" and value.shape[1] != model.in_chans:
            value = value.sum(dim=1, keepdim=True) if model.in_chans == 1 else value.mean(1, keepdim=True).repeat(1, model.in_chans, 1, 1)
        if value.shape != own[name].shape:
            raise InputFileError(
                f"parameter {name} has shape {tuple(value.shape)}, the {model.variant.value} backbone expects {tuple(own[name].shape)}",
                where=path, hint="use weights of the same ConvNeXt variant",
            )
        picked[name] = value
    if not picked:
        raise InputFileError("no ConvNeXt parameter names in this file", where=path, hint="use a timm ConvNeXt state dict")
    model.load_state_dict(picked, strict=False)
    return sorted(set(own) - set(picked))
