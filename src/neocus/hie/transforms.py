"""MONAI transforms for HIE diffusion volumes: normalisation, channel stacking, 2.5-D slices, augmentation.

A sample is a dict. After :class:`StackChannelsd` it holds ``image`` ``[C, Z, Y, X]`` float32 (one
channel per :class:`~neocus.hie.models.Channel`), ``brain`` ``[1, Z, Y, X]`` (ADC > 0: the maps are
skull-stripped) and, in training, ``label`` ``[1, Z, Y, X]``. The deterministic part
(:func:`preprocess`) runs once per case; the random part (:func:`train_transforms`) runs per draw.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from monai.config import KeysCollection
from monai.transforms import (
    Compose,
    MapTransform,
    RandCropByPosNegLabeld,
    RandFlipd,
    RandGaussianNoise,
    Randomizable,
    RandRotated,
    RandScaleIntensity,
    RandShiftIntensity,
    Rand2DElasticd,
    SpatialPadd,
    Spacingd,
)

from neocus.hie.models import LOSS_REGION_MARGIN, Channel, LossRegion, ModelConfig
from neocus.hie.reading import HieCase

ZADC_SCALE = 5.0  # z-scores are clipped to +-10 in BONBID; /5 keeps them near unit scale
ZLOW_BELOW = -2.0  # the ``zlow`` channel marks brain voxels with Z-ADC below this (markedly restricted diffusion)


class NormaliseBraind(MapTransform):
    """Brain-mask-aware normalisation: ADC to zero mean / unit variance over the brain (``brain`` key),
    Z-ADC divided by :data:`ZADC_SCALE`; everything outside the brain is 0."""

    def __init__(self, keys: KeysCollection = ("adc", "zadc"), *, brain_key: str = "brain", allow_missing_keys: bool = True):
        super().__init__(keys, allow_missing_keys)
        self.brain_key = brain_key

    def __call__(self, data: Mapping[Hashable, np.ndarray]) -> dict[Hashable, np.ndarray]:
        d = dict(data)
        brain = np.asarray(d[self.brain_key]).astype(bool)
        for key in self.key_iterator(d):
            x = np.asarray(d[key], dtype=np.float32)
            if key == "zadc":
                out = x / ZADC_SCALE
            else:
                inside = x[brain]
                mean = float(inside.mean()) if inside.size else 0.0
                std = float(inside.std()) if inside.size > 1 else 1.0
                out = (x - mean) / max(std, 1e-6)
            d[key] = np.where(brain, out, 0.0).astype(np.float32)
        return d


class StackChannelsd(MapTransform):
    """Stack the named channels (``adc``, ``zadc``) into ``image`` ``[C, ...]``. A channel that is
    absent (ADC alone) is filled with zeros -- the value the network saw when Z-ADC was blanked in
    training (see :class:`RandBlankChanneld`)."""

    def __init__(self, channels: Sequence[Channel | str], *, out_key: str = "image"):
        super().__init__([str(c) for c in channels], allow_missing_keys=True)
        self.channels = [str(c) for c in channels]
        self.out_key = out_key

    def __call__(self, data: Mapping[Hashable, np.ndarray]) -> dict[Hashable, np.ndarray]:
        d = dict(data)
        ref = np.asarray(d["adc"])  # [1, Z, Y, X]
        planes = [np.asarray(d[c], dtype=np.float32) if d.get(c) is not None else np.zeros(ref.shape, np.float32) for c in self.channels]
        d[self.out_key] = np.concatenate(planes, axis=0)
        return d


class RandBlankChanneld(Randomizable, MapTransform):
    """With probability ``prob`` set the planes ``planes`` (a slice or index array) of ``image`` to
    zero: Z-ADC dropout, so that a model also works on ADC alone."""

    def __init__(self, keys: KeysCollection = "image", *, planes: slice | np.ndarray, prob: float = 0.2):
        MapTransform.__init__(self, keys)
        self.planes = planes
        self.prob = prob
        self._do = False

    def randomize(self, data=None) -> None:
        self._do = self.R.rand() < self.prob

    def __call__(self, data):
        self.randomize()
        d = dict(data)
        if self._do:
            for key in self.key_iterator(d):
                x = np.array(d[key], copy=True)
                x[self.planes] = 0
                d[key] = x
        return d


class RandSliceStackd(Randomizable, MapTransform):
    """Lesion-aware 2.5-D draw: pick an axial slice (with probability ``pos_fraction`` one that holds
    lesion, when the case has any; otherwise one that holds brain) and return it with ``context``
    neighbours on each side, channels stacked: ``image`` ``[C * (2k+1), Y, X]``, ``label`` ``[1, Y, X]``.
    Slices beyond the volume repeat the edge slice."""

    def __init__(self, *, context: int = 1, pos_fraction: float = 0.6):
        MapTransform.__init__(self, ["image", "label"])
        self.context = context
        self.pos_fraction = pos_fraction
        self._z = 0

    def randomize(self, data) -> None:
        label = np.asarray(data["label"])[0]
        brain = np.asarray(data["brain"])[0]
        lesion_slices = np.flatnonzero(label.reshape(label.shape[0], -1).any(axis=1))
        brain_slices = np.flatnonzero(brain.reshape(brain.shape[0], -1).any(axis=1))
        if lesion_slices.size and self.R.rand() < self.pos_fraction:
            self._z = int(self.R.choice(lesion_slices))
        else:
            pool = brain_slices if brain_slices.size else np.arange(label.shape[0])
            self._z = int(self.R.choice(pool))

    def __call__(self, data):
        self.randomize(data)
        d = dict(data)
        d["image"] = slice_stack(np.asarray(d["image"]), self._z, context=self.context)
        d["label"] = np.asarray(d["label"])[:, self._z]
        if "region" in d:
            d["region"] = np.asarray(d["region"])[:, self._z]
        d.pop("brain", None)
        return d


def slice_stack(image: np.ndarray, z: int, *, context: int) -> np.ndarray:
    """``image`` ``[C, Z, Y, X]`` -> ``[C * (2k+1), Y, X]`` around slice ``z`` (edges repeated)."""
    n = image.shape[1]
    idx = np.clip(np.arange(z - context, z + context + 1), 0, n - 1)
    return image[:, idx].reshape(-1, *image.shape[2:])


def all_slice_stacks(image: np.ndarray, *, context: int) -> np.ndarray:
    """Every slice's 2.5-D stack: ``[C, Z, Y, X]`` -> ``[Z, C * (2k+1), Y, X]``."""
    n = image.shape[1]
    idx = np.clip(np.arange(n)[:, None] + np.arange(-context, context + 1)[None, :], 0, n - 1)  # [Z, 2k+1]
    stacks = image[:, idx]  # [C, Z, 2k+1, Y, X]
    return np.ascontiguousarray(np.moveaxis(stacks, 1, 0).reshape(n, -1, *image.shape[2:]))


def case_to_dict(case: HieCase) -> dict[str, np.ndarray | None]:
    """Channel-first arrays of a case (``adc``, ``zadc``, ``label``, ``brain``)."""
    adc = np.asarray(case.adc.array, dtype=np.float32)[None]
    d: dict[str, np.ndarray | None] = {"adc": adc, "brain": (adc > 0).astype(np.uint8)}
    d["zadc"] = np.asarray(case.zadc.array, dtype=np.float32)[None] if case.zadc is not None else None
    d["zlow"] = ((d["zadc"] < ZLOW_BELOW) & (adc > 0)).astype(np.float32) if d["zadc"] is not None else None
    if case.label is not None:
        d["label"] = np.asarray(case.label.array, dtype=np.uint8)[None]
    return d


def preprocess(case: HieCase, config: ModelConfig, *, spacing_mm: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """The deterministic part: normalise inside the brain, optionally resample, stack channels.

    ``spacing_mm`` (array order) resamples every array to that spacing (MONAI ``Spacingd``); by default
    the case stays on its own grid, which the 2.5-D models need (slice thickness varies 2-6 mm).
    """
    d = case_to_dict(case)
    for key in ("zadc", "zlow"):
        if d[key] is None:
            d.pop(key)
    d = NormaliseBraind(("adc", "zadc"))(d)
    if spacing_mm is not None:
        keys = [k for k in ("adc", "zadc", "zlow", "brain", "label") if k in d]
        modes = ["bilinear" if k in ("adc", "zadc") else "nearest" for k in keys]
        meta = {k: _meta_tensor(d[k], case) for k in keys}
        d.update(Spacingd(keys, pixdim=tuple(spacing_mm), mode=modes)(meta))
        d = {k: np.asarray(v) for k, v in d.items()}
    d = StackChannelsd(config.channels)(d)
    out = {"image": d["image"], "brain": d["brain"]}
    if "label" in d:
        out["label"] = d["label"]
    return out


def _meta_tensor(array: np.ndarray, case: HieCase):
    from monai.data import MetaTensor

    affine = case.adc.affine()
    return MetaTensor(np.asarray(array), affine=affine)


def train_transforms(config: ModelConfig, *, pos_fraction: float = 0.6) -> Compose:
    """The random part for training: lesion-aware patch draw, flips, small rotations, elastic (2.5-D),
    intensity shift / scale and noise (ADC planes only), and Z-ADC dropout."""
    spatial = len(config.patch)
    keys = ["image", "label"] + (["region"] if config.loss_region is LossRegion.ZLOW else [])
    nearest = ("nearest",) * (len(keys) - 1)
    steps: list = []
    if config.model.is_25d:
        steps.append(RandSliceStackd(context=config.context, pos_fraction=pos_fraction))
    steps += [
        SpatialPadd(keys, spatial_size=config.patch),
        RandCropByPosNegLabeld(keys, label_key="label", spatial_size=config.patch, pos=1.0, neg=1.0, num_samples=1, allow_smaller=False),
        RandFlipd(keys, prob=0.5, spatial_axis=spatial - 1),  # left-right
        RandRotated(keys, range_x=0.26, prob=0.3, mode=("bilinear", *nearest), padding_mode="zeros"),
    ]
    if spatial == 2:
        steps.append(Rand2DElasticd(keys, spacing=(24, 24), magnitude_range=(0.5, 1.5), prob=0.15, mode=("bilinear", *nearest), padding_mode="zeros"))
    adc = channel_planes(config, (Channel.ADC,))  # intensity changes touch ADC only: z-scores keep their meaning
    steps += [
        RandOnPlanesd(RandShiftIntensity(offsets=0.1, prob=0.3), planes=adc),
        RandOnPlanesd(RandScaleIntensity(factors=0.1, prob=0.3), planes=adc),
        RandOnPlanesd(RandGaussianNoise(std=0.05, prob=0.2), planes=adc),
    ]
    z_derived = channel_planes(config, (Channel.ZADC, Channel.ZLOW))
    if z_derived.size and config.zadc_dropout > 0:
        steps.append(RandBlankChanneld("image", planes=z_derived, prob=config.zadc_dropout))
    return Compose(steps)


def loss_region_mask(image: np.ndarray, config: ModelConfig) -> np.ndarray:
    """The training loss region of a preprocessed ``image`` ``[C, Z, Y, X]`` (uint8 ``[1, Z, Y, X]``):
    its ``zlow`` channel (brain voxels with Z-ADC below -2) dilated by :data:`LOSS_REGION_MARGIN`
    voxels in-plane (a square, each slice on its own)."""
    from scipy.ndimage import binary_dilation

    zlow = np.asarray(image[config.channels.index(Channel.ZLOW)]) > 0.5
    side = 2 * LOSS_REGION_MARGIN + 1
    return binary_dilation(zlow, structure=np.ones((1, side, side), dtype=bool))[None].astype(np.uint8)


def channel_planes(config: ModelConfig, channels: Sequence[Channel]) -> np.ndarray:
    """Indices of the network's input planes that hold ``channels`` (stacks are channel-major: every
    slice of the first channel, then every slice of the next)."""
    per = 2 * config.context + 1 if config.model.is_25d else 1
    idx = [i * per + j for i, c in enumerate(config.channels) if c in channels for j in range(per)]
    return np.asarray(idx, dtype=np.int64)


class RandOnPlanesd(Randomizable, MapTransform):
    """Apply a random MONAI array transform to some planes of ``image`` only."""

    def __init__(self, transform: Randomizable, *, planes: np.ndarray, key: str = "image"):
        MapTransform.__init__(self, key)
        self.transform = transform
        self.planes = planes
        self.key = key

    def set_random_state(self, seed=None, state=None):
        super().set_random_state(seed, state)
        self.transform.set_random_state(seed, state)
        return self

    def randomize(self, data=None) -> None:
        return None

    def __call__(self, data):
        d = dict(data)
        x = np.array(d[self.key], dtype=np.float32, copy=True)
        x[self.planes] = np.asarray(self.transform(x[self.planes]))
        d[self.key] = x
        return d
