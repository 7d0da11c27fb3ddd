"""ResNet-vd backbones (ResNet-18/34/50-D and the small ResNet-10-T) in plain torch, timm's parameter names.

The "vd" / "D" variant that RT-DETR uses: a deep 3-conv stem and average-pool downsampling in the
shortcut. Names follow timm's ``resnet18d``, ``resnet34d``, ``resnet50d`` and ``resnet10t`` (stem
``conv1.0..6`` + ``bn1``, ``layerN.M.conv1/bn1/...``, shortcut ``downsample.1`` conv + ``downsample.2``
norm), so a timm ImageNet checkpoint saved to a local file loads with :func:`load_timm_weights`. A
greyscale input (``in_chans=1``) takes the sum of the RGB filters of the first conv, as timm does.
``width`` < 1 scales every channel count for a faster network (no ImageNet weights then).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import torch
from torch import nn

from neocus.errors import InputFileError, parse_choice


class ResNetVariant(StrEnum):
    RESNET10T = "resnet10t"
    RESNET18D = "resnet18d"
    RESNET34D = "resnet34d"
    RESNET50D = "resnet50d"


@dataclass(frozen=True)
class _Spec:
    layers: tuple[int, int, int, int]
    bottleneck: bool
    tiered_stem: bool


_SPECS = {
    ResNetVariant.RESNET10T: _Spec((1, 1, 1, 1), False, True),
    ResNetVariant.RESNET18D: _Spec((2, 2, 2, 2), False, False),
    ResNetVariant.RESNET34D: _Spec((3, 4, 6, 3), False, False),
    ResNetVariant.RESNET50D: _Spec((3, 4, 6, 3), True, False),
}


def _shortcut(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
    return nn.Sequential(pool, nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(cin, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = _shortcut(cin, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNetVd(nn.Module):
    """Feature extractor: ``forward`` returns the maps of stages 2, 3, 4 (strides 8, 16, 32)."""

    def __init__(self, variant: ResNetVariant | str = ResNetVariant.RESNET18D, *, in_chans: int = 1, width: float = 1.0):
        super().__init__()
        self.variant = parse_choice(ResNetVariant, variant, what="backbone")
        spec = _SPECS[self.variant]
        stem = max(8, int(round(32 * width)))
        s0 = 3 * (stem // 4) if spec.tiered_stem else stem
        base = max(8, int(round(64 * width)))
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_chans, s0, 3, 2, 1, bias=False), nn.BatchNorm2d(s0), nn.ReLU(inplace=True),
            nn.Conv2d(s0, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True),
            nn.Conv2d(stem, base, 3, 1, 1, bias=False),
        )
        self.bn1 = nn.BatchNorm2d(base)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        block = Bottleneck if spec.bottleneck else BasicBlock
        cin = base
        self.out_channels: list[int] = []
        for i, n in enumerate(spec.layers):
            planes = base * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            self.out_channels.append(cin)
        self.out_channels = self.out_channels[1:]
        self.strides = [8, 16, 32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        c3 = self.layer2(x)
        c4 = self.layer3(c3)
        return [c3, c4, self.layer4(c4)]


def load_timm_weights(model: ResNetVd, path: str | Path) -> list[str]:
    """Load a timm ResNet checkpoint (``state_dict`` saved with ``torch.save``) from a local file.

    The classifier (``fc.*``) is ignored; RGB stem filters are summed for a greyscale model. Returns
    the model's parameter names the file did not provide. A missing, unreadable or mismatched file is
    an :class:`InputFileError`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("no such weights file", where=path, hint="give the path of a timm checkpoint saved with torch.save")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's file problem
        raise InputFileError(f"cannot read weights ({type(exc).__name__})", where=path, hint="save the timm model's state_dict with torch.save") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise InputFileError("not a state_dict", where=path, hint="save model.state_dict() with torch.save")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = model.state_dict()
    first = "conv1.0.weight"
    if first in state and state[first].shape[1] != own[first].shape[1] and own[first].shape[1] == 1:
        state[first] = state[first].sum(1, keepdim=True)
    bad = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    unknown = [k for k in state if k not in own]
    if bad or unknown:
        raise InputFileError(
            f"weights do not fit {model.variant.value}: {len(bad)} shapes differ, {len(unknown)} unknown names (e.g. {(bad + unknown)[0]})",
            where=path, hint="use a checkpoint of the same timm model at width 1",
        )
    missing = [k for k in own if k not in state]
    model.load_state_dict(state, strict=False)
    return missing
