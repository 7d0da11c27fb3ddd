"""Networks and losses for HIE lesion segmentation (all MONAI), chosen by name from a config.

Two kinds of network see the volume differently:

* ``unet3d``: a plain MONAI 3-D U-Net on 3-D patches (the published-baseline shape);
* ``unet25d``: a 2.5-D MONAI U-Net with residual units: each axial slice is segmented from itself and
  its ``context`` neighbours on either side (their channels stacked), so thick, anisotropic slices
  (2-6 mm) and grids of any slice count need no resampling;
* ``dynunet25d``: the same 2.5-D input on a MONAI DynUNet with deep supervision.

Every network outputs two channels (background, lesion) of logits. Losses are MONAI's, all on
softmax over those two channels with the label one-hot encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum

import torch

from neocus.errors import parse_choice


class ModelKind(StrEnum):
    UNET3D = "unet3d"
    UNET25D = "unet25d"
    DYNUNET25D = "dynunet25d"

    @property
    def is_25d(self) -> bool:
        return self is not ModelKind.UNET3D


class LossKind(StrEnum):
    DICE = "dice"
    CE = "ce"
    DICE_CE = "dicece"
    DICE_FOCAL = "dicefocal"
    TVERSKY = "tversky"


class LossRegion(StrEnum):
    ALL = "all"  # every voxel of the patch
    ZLOW = "zlow"  # only the zlow voxels (the post-processing gate) dilated by LOSS_REGION_MARGIN in-plane


LOSS_REGION_MARGIN = 2  # voxels, in-plane (a 5 x 5 square per slice); fixed before any result was seen


class Channel(StrEnum):
    ADC = "adc"
    ZADC = "zadc"
    ZLOW = "zlow"  # brain voxels with Z-ADC below -2 (0 / 1), derived from the Z-ADC map


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network and feed it (saved as ``config.json`` beside the weights)."""

    model: ModelKind = ModelKind.UNET25D
    loss: LossKind = LossKind.DICE_CE
    channels: tuple[Channel, ...] = (Channel.ADC, Channel.ZADC, Channel.ZLOW)
    context: int = 1  # 2.5-D: neighbouring slices on each side
    features: tuple[int, ...] = (16, 32, 64, 128)
    patch: tuple[int, ...] = (128, 128)  # training patch: [H, W] for 2.5-D, [Z, H, W] for 3-D
    zadc_dropout: float = 0.2  # chance to blank the Z-ADC channel in training, so ADC alone still works
    tta_flip: bool = False  # inference: mean of the prediction and that of the left-right mirrored input
    loss_region: LossRegion = LossRegion.ALL  # training: where the loss is computed (zlow needs dicece and the zlow channel)

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", parse_choice(ModelKind, self.model, what="model"))
        object.__setattr__(self, "loss", parse_choice(LossKind, self.loss, what="loss"))
        object.__setattr__(self, "loss_region", parse_choice(LossRegion, self.loss_region, what="loss region"))
        object.__setattr__(self, "channels", tuple(parse_choice(Channel, c, what="channel") for c in self.channels))
        object.__setattr__(self, "features", tuple(int(f) for f in self.features))
        object.__setattr__(self, "patch", tuple(int(p) for p in self.patch))
        if not self.channels or self.channels[0] is not Channel.ADC:
            raise ValueError("the ADC channel is required, first")
        if self.loss_region is LossRegion.ZLOW and (Channel.ZLOW not in self.channels or self.loss is not LossKind.DICE_CE):
            raise ValueError("the zlow loss region needs the zlow channel and the dicece loss")
        want = 2 if self.model.is_25d else 3
        if len(self.patch) != want:
            raise ValueError(f"{self.model.value} needs a {want}-D patch, got {self.patch}")

    @property
    def in_channels(self) -> int:
        per_slice = len(self.channels)
        return per_slice * (2 * self.context + 1) if self.model.is_25d else per_slice

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = [str(v) for v in value] if isinstance(value, tuple) and f.name == "channels" else (list(value) if isinstance(value, tuple) else str(value) if isinstance(value, StrEnum) else value)
        return out

    @classmethod
    def from_json(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known})


def build_network(config: ModelConfig) -> torch.nn.Module:
    """The MONAI network that ``config`` names, with fresh weights."""
    from monai.networks.nets import DynUNet, UNet

    feats = config.features
    if config.model is ModelKind.UNET3D:
        return UNet(spatial_dims=3, in_channels=config.in_channels, out_channels=2, channels=feats, strides=(2,) * (len(feats) - 1))
    if config.model is ModelKind.UNET25D:
        return UNet(
            spatial_dims=2, in_channels=config.in_channels, out_channels=2, channels=feats, strides=(2,) * (len(feats) - 1),
            num_res_units=1, norm="instance", dropout=0.1,
        )
    n = len(feats)
    return DynUNet(
        spatial_dims=2, in_channels=config.in_channels, out_channels=2, kernel_size=[3] * n, strides=[1] + [2] * (n - 1),
        upsample_kernel_size=[2] * (n - 1), filters=list(feats), norm_name="instance", deep_supervision=True, deep_supr_num=max(1, n - 3), res_block=True,
    )


def build_loss(kind: LossKind | str) -> torch.nn.Module:
    """A MONAI loss on two-channel logits and an integer label ``[B, 1, ...]``."""
    from monai.losses import DiceCELoss, DiceFocalLoss, DiceLoss, TverskyLoss

    kind = parse_choice(LossKind, kind, what="loss")
    common = {"to_onehot_y": True, "softmax": True}
    if kind is LossKind.DICE:
        return DiceLoss(**common, include_background=False, batch=True)
    if kind is LossKind.CE:
        return DiceCELoss(**common, lambda_dice=0.0, lambda_ce=1.0)
    if kind is LossKind.DICE_CE:
        return DiceCELoss(**common, include_background=False, batch=True)
    if kind is LossKind.DICE_FOCAL:
        return DiceFocalLoss(**common, include_background=False, batch=True, gamma=2.0)
    return TverskyLoss(**common, include_background=False, batch=True, alpha=0.3, beta=0.7)


class RegionDiceCELoss(torch.nn.Module):
    """Dice + cross-entropy restricted to a region (``[B, 1, ...]``, 0 / 1): outside it the logits are
    replaced by a fixed certain background and the label by background, so that those voxels add
    nothing to MONAI's Dice (batch, lesion channel) and carry no gradient; the cross-entropy is the mean
    over the region's voxels only (0 when the batch has none)."""

    def __init__(self) -> None:
        super().__init__()
        from monai.losses import DiceLoss

        self.dice = DiceLoss(to_onehot_y=True, softmax=True, include_background=False, batch=True)

    def forward(self, output: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        inside = region > 0.5
        certain = torch.zeros_like(output)
        certain[:, 1:] = -1e4
        logits = torch.where(inside, output, certain)
        label = torch.where(inside, target, torch.zeros_like(target))
        ce = torch.nn.functional.cross_entropy(output, target[:, 0].long(), reduction="none")
        keep = inside[:, 0].to(ce.dtype)
        return self.dice(logits, label) + (ce * keep).sum() / keep.sum().clamp(min=1.0)


@dataclass
class DeepSupervisionLoss:
    """Applies ``loss`` to each head of a deep-supervision output (``[B, heads, C, ...]``), weights halving."""

    loss: torch.nn.Module
    weights: list[float] = field(default_factory=list)

    def __call__(self, output: torch.Tensor, target: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
        extra = () if region is None else (region,)
        if output.dim() == target.dim():
            return self.loss(output, target, *extra)
        heads = output.shape[1]
        weights = [0.5**i for i in range(heads)]
        total = sum(w * self.loss(output[:, i], target, *extra) for i, w in enumerate(weights))
        return total / sum(weights)
